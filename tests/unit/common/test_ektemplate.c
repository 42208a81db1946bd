/* ektemplate: the four EK templates against the EK Credential Profile's
 * tables (written out here, not taken from the code under test), keys of
 * each size accepted as the TPM's output, and every deviation an attacker
 * could present as "the EK" refused with a message that names what was
 * found and what is accepted. The templates against a real TPM (the key a
 * TPM derives from them matches its certificate) are in
 * tests/integration/test_ek_high_range.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "ektemplate.h"
#include "tpmpub.h"

/* EK Credential Profile 2.x: Policy A (B.3.3), Policy B SHA-384 (B.6), first bytes. */
static const uint8_t policy_a_head[4] = { 0x83, 0x71, 0x97, 0x67 };
static const uint8_t policy_b384_head[4] = { 0xb2, 0x6e, 0x7d, 0x28 };

/* fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy, restricted, decrypt */
#define ATTRS_LOW 0x000300b2u
#define ATTRS_HIGH (ATTRS_LOW | 0x40u) /* and userWithAuth */

static EVP_PKEY *keys[EK_KINDS];

static int setup(void **state)
{
	(void)state;
	keys[EK_L1_RSA2048] = EVP_RSA_gen(2048);
	keys[EK_L2_P256] = EVP_EC_gen("P-256");
	keys[EK_H3_P384] = EVP_EC_gen("P-384");
	keys[EK_H6_RSA3072] = EVP_RSA_gen(3072);
	for (int k = 0; k < EK_KINDS; k++)
		if (!keys[k])
			return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int k = 0; k < EK_KINDS; k++)
		EVP_PKEY_free(keys[k]);
	return 0;
}

/* The EK a TPM would output for template k: the template, unique the key. */
static void tpm_output(enum ek_kind k, TPMT_PUBLIC *p)
{
	ek_template(k, p);
	assert_int_equal(tpmpub_set_unique(p, keys[k]), 0);
}

static void expect_refused(const TPMT_PUBLIC *p, const char *needle)
{
	enum ek_kind k;

	assert_int_equal(ek_kind_of(p, &k), AERR_UNSUPPORTED);
	if (!strstr(err_detail(), needle))
		fail_msg("'%s' does not say '%s'", err_detail(), needle);
}

static void test_tables(void **state)
{
	static const struct {
		enum ek_kind k;
		TPMI_ALG_PUBLIC alg;
		TPMI_ALG_HASH name_alg;
		uint16_t aes_bits, unique, size;
		uint32_t attrs;
		const uint8_t *policy;
		uint16_t policy_len;
	} want[] = {
		{ EK_L1_RSA2048, TPM2_ALG_RSA, TPM2_ALG_SHA256, 128, 256, 2048, ATTRS_LOW, policy_a_head, 32 },
		{ EK_L2_P256, TPM2_ALG_ECC, TPM2_ALG_SHA256, 128, 32, TPM2_ECC_NIST_P256, ATTRS_LOW, policy_a_head, 32 },
		{ EK_H3_P384, TPM2_ALG_ECC, TPM2_ALG_SHA384, 256, 0, TPM2_ECC_NIST_P384, ATTRS_HIGH, policy_b384_head, 48 },
		{ EK_H6_RSA3072, TPM2_ALG_RSA, TPM2_ALG_SHA384, 256, 0, 3072, ATTRS_HIGH, policy_b384_head, 48 },
	};
	TPMT_PUBLIC p;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ek_template(want[i].k, &p);
		assert_int_equal(p.type, want[i].alg);
		assert_int_equal(ek_kind_alg(want[i].k), want[i].alg);
		assert_int_equal(p.nameAlg, want[i].name_alg);
		assert_int_equal(p.objectAttributes, want[i].attrs);
		assert_int_equal(ek_kind_user_auth(want[i].k), !!(want[i].attrs & 0x40u));
		assert_int_equal(p.authPolicy.size, want[i].policy_len);
		assert_memory_equal(p.authPolicy.buffer, want[i].policy, 4);
		assert_int_equal(p.parameters.asymDetail.symmetric.algorithm, TPM2_ALG_AES);
		assert_int_equal(p.parameters.asymDetail.symmetric.keyBits.aes, want[i].aes_bits);
		assert_int_equal(p.parameters.asymDetail.symmetric.mode.aes, TPM2_ALG_CFB);
		if (p.type == TPM2_ALG_RSA) {
			assert_int_equal(p.parameters.rsaDetail.keyBits, want[i].size);
			assert_int_equal(p.parameters.rsaDetail.exponent, 0);
			assert_int_equal(p.unique.rsa.size, want[i].unique);
		} else {
			assert_int_equal(p.parameters.eccDetail.curveID, want[i].size);
			assert_int_equal(p.unique.ecc.x.size, want[i].unique);
			assert_int_equal(p.unique.ecc.y.size, want[i].unique);
		}
	}
	assert_int_equal(ek_kind_low(TPM2_ALG_RSA), EK_L1_RSA2048);
	assert_int_equal(ek_kind_high(TPM2_ALG_RSA), EK_H6_RSA3072);
	assert_int_equal(ek_kind_low(TPM2_ALG_ECC), EK_L2_P256);
	assert_int_equal(ek_kind_high(TPM2_ALG_ECC), EK_H3_P384);
}

static void test_accepted(void **state)
{
	TPMT_PUBLIC p;
	enum ek_kind k;

	(void)state;
	for (int want = 0; want < EK_KINDS; want++) {
		tpm_output((enum ek_kind)want, &p);
		assert_int_equal(ek_kind_of(&p, &k), 0);
		assert_int_equal(k, want);
	}
	/* The exponent is 0 in the template; a TPM may report 65537. */
	tpm_output(EK_H6_RSA3072, &p);
	p.parameters.rsaDetail.exponent = 65537;
	assert_int_equal(ek_kind_of(&p, &k), 0);
}

/* Sizes and curves without a template here: the message names what was
 * found and what is accepted (issue #14: "ek_alg = ecc against a P-384 EK
 * says the curve found and wanted", now for the curves beyond). */
static void test_other_sizes(void **state)
{
	EVP_PKEY *p521 = EVP_EC_gen("P-521");
	TPMT_PUBLIC p;

	(void)state;
	assert_non_null(p521);
	ek_template(EK_H3_P384, &p);
	p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P521;
	assert_int_equal(tpmpub_set_unique(&p, p521), 0);
	expect_refused(&p, "ECC EK on curve P-521: the EK templates accepted are ECC P-256 (L-2) and ECC P-384 (H-3)");
	p.parameters.eccDetail.curveID = TPM2_ECC_SM2_P256;
	expect_refused(&p, "curve SM2 P-256");
	p.parameters.eccDetail.curveID = 0x0077;
	expect_refused(&p, "curve 0x0077");
	ek_template(EK_H6_RSA3072, &p);
	p.parameters.rsaDetail.keyBits = 4096;
	expect_refused(&p, "RSA EK of 4096 bits: the EK templates accepted are RSA-2048 (L-1) and RSA-3072 (H-6)");
	p.type = TPM2_ALG_KEYEDHASH;
	expect_refused(&p, "EK type 0x0008");
	EVP_PKEY_free(p521);
}

/* Each field an attacker would change to pass another key (or an EK it can
 * use with an auth of its own) as the EK, on both ranges. */
static void test_deviations(void **state)
{
	TPMT_PUBLIC p;

	(void)state;
	/* A low-range EK that also takes its auth value: userWithAuth. */
	tpm_output(EK_L1_RSA2048, &p);
	p.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	expect_refused(&p, "RSA-2048 (L-1) EK: attributes 0x000300f2 differ from the template's 0x000300b2");
	/* A high-range one without restricted: a general decryption key. */
	tpm_output(EK_H3_P384, &p);
	p.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	expect_refused(&p, "ECC P-384 (H-3) EK: attributes");
	/* Policy A on a high-range key, Policy B on a low one, an empty policy. */
	tpm_output(EK_H6_RSA3072, &p);
	{
		TPMT_PUBLIC low;

		ek_template(EK_L1_RSA2048, &low);
		p.authPolicy = low.authPolicy;
	}
	expect_refused(&p, "RSA-3072 (H-6) EK: authPolicy is not the template's Policy B");
	tpm_output(EK_L2_P256, &p);
	p.authPolicy.buffer[31] ^= 1;
	expect_refused(&p, "authPolicy is not the template's Policy A");
	tpm_output(EK_L2_P256, &p);
	p.authPolicy.size = 0;
	expect_refused(&p, "authPolicy");
	/* nameAlg, symmetric, scheme, kdf. */
	tpm_output(EK_H3_P384, &p);
	p.nameAlg = TPM2_ALG_SHA256;
	expect_refused(&p, "ECC P-384 (H-3) EK: nameAlg 0x000b, the template's is 0x000c");
	tpm_output(EK_H3_P384, &p);
	p.parameters.eccDetail.symmetric.keyBits.aes = 128;
	expect_refused(&p, "the template's is AES-256-CFB");
	tpm_output(EK_L1_RSA2048, &p);
	p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	expect_refused(&p, "the template's is AES-128-CFB");
	tpm_output(EK_L1_RSA2048, &p);
	p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_OAEP;
	expect_refused(&p, "scheme 0x0017");
	tpm_output(EK_L1_RSA2048, &p);
	p.parameters.rsaDetail.exponent = 3;
	expect_refused(&p, "exponent 3");
	tpm_output(EK_H3_P384, &p);
	p.parameters.eccDetail.kdf.scheme = TPM2_ALG_KDF1_SP800_56A;
	expect_refused(&p, "kdf 0x0020");
	/* A key of the wrong size in unique (a 2048-bit modulus in H-6). */
	ek_template(EK_H6_RSA3072, &p);
	p.unique.rsa.size = 256;
	expect_refused(&p, "modulus of 256 bytes");
	ek_template(EK_H3_P384, &p);
	expect_refused(&p, "point of 0/0 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_other_sizes),
		cmocka_unit_test(test_deviations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
