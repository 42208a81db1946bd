/* tpmpub: strict TPM2B_PUBLIC parsing (every truncation, trailing bytes,
 * inconsistent size fields), Names checked against SHA-256/384 computed here
 * over the tss2-mu marshalling, conversion to OpenSSL keys compared with the
 * OpenSSL keys the areas were made from, and the marshal round trip. Real
 * keys are generated here; nothing expected comes from the code under test.
 * tpm2-tools made areas go through tests/integration/test_akpub_tpm2tools.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "ektemplate.h"
#include "tpmpub.h"

static EVP_PKEY *rsa_key, *p256_key, *p384_key;
static TPMT_PUBLIC rsa_pub, p256_pub, p384_pub;

static void bn_param(const EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, out, (int)len), (int)len);
	BN_free(bn);
}

static void make_rsa(const EVP_PKEY *k, TPMT_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->type = TPM2_ALG_RSA;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
			      TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	p->authPolicy.size = 0;
	p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
	p->parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
	p->parameters.rsaDetail.keyBits = 2048;
	p->parameters.rsaDetail.exponent = 0;
	p->unique.rsa.size = 256;
	bn_param(k, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, 256);
}

static void make_ecc(const EVP_PKEY *k, TPMI_ECC_CURVE curve, size_t cs, TPMT_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->type = TPM2_ALG_ECC;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
			      TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	/* An authPolicy, so the TPM2B inside the area is exercised too. */
	p->authPolicy.size = 32;
	memset(p->authPolicy.buffer, 0x5a, 32);
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.eccDetail.symmetric.keyBits.aes = 128;
	p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.curveID = curve;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->unique.ecc.x.size = p->unique.ecc.y.size = (UINT16)cs;
	bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, cs);
	bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, cs);
}

static int setup(void **state)
{
	(void)state;
	if (!(rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) ||
	    !(p256_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ||
	    !(p384_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")))
		return -1;
	make_rsa(rsa_key, &rsa_pub);
	make_ecc(p256_key, TPM2_ECC_NIST_P256, 32, &p256_pub);
	make_ecc(p384_key, TPM2_ECC_NIST_P384, 48, &p384_pub);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(p256_key);
	EVP_PKEY_free(p384_key);
	return 0;
}

/* TPM2B_PUBLIC wire bytes by tss2-mu (independent of tpmpub_marshal). */
static size_t wire(const TPMT_PUBLIC *p, uint8_t *buf, size_t cap)
{
	TPM2B_PUBLIC b = { .size = 0, .publicArea = *p };
	size_t off = 0;

	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&b, buf, cap, &off), TSS2_RC_SUCCESS);
	return off;
}

static void expect_parse(const uint8_t *buf, size_t len, int code, const char *what)
{
	TPMT_PUBLIC out;
	int r;

	memset(&out, 0xa5, sizeof(out));
	err_clear();
	r = tpmpub_parse(buf, len, &out);
	if (r != code)
		fail_msg("%s (%zu bytes): want %d, got %d (%s)", what, len, code, r, err_detail());
	if (code != 0 && err_detail()[0] == '\0')
		fail_msg("%s: no detail", what);
}

static void same_area(const TPMT_PUBLIC *a, const TPMT_PUBLIC *b)
{
	uint8_t wa[sizeof(TPM2B_PUBLIC)], wb[sizeof(TPM2B_PUBLIC)];
	size_t la = wire(a, wa, sizeof(wa)), lb = wire(b, wb, sizeof(wb));

	assert_int_equal(la, lb);
	assert_memory_equal(wa, wb, la);
}

static void test_parse_valid(void **state)
{
	const TPMT_PUBLIC *areas[] = { &rsa_pub, &p256_pub, &p384_pub };
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	TPMT_PUBLIC out;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		size_t len = wire(areas[i], buf, sizeof(buf));

		assert_int_equal(tpmpub_parse(buf, len, &out), 0);
		same_area(&out, areas[i]);
		assert_int_equal(out.type, areas[i]->type);
		assert_int_equal(out.objectAttributes, areas[i]->objectAttributes);
	}
}

static void test_parse_truncated(void **state)
{
	const TPMT_PUBLIC *areas[] = { &rsa_pub, &p256_pub, &p384_pub };
	uint8_t buf[sizeof(TPM2B_PUBLIC)], cut[sizeof(TPM2B_PUBLIC)];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		size_t len = wire(areas[i], buf, sizeof(buf));

		/* The buffer ends early; the size field still claims the whole area. */
		for (size_t n = 0; n < len; n++)
			expect_parse(n ? buf : NULL, n, AERR_PARSE, "truncated buffer");
		/* The size field agrees with the shortened buffer: the area itself is cut. */
		for (size_t n = 1; n < len - 2; n++) {
			memcpy(cut, buf, n + 2);
			cut[0] = (uint8_t)(n >> 8);
			cut[1] = (uint8_t)n;
			expect_parse(cut, n + 2, AERR_PARSE, "truncated area");
		}
	}
}

static void test_parse_sizes(void **state)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC) + 8];
	size_t len = wire(&p256_pub, buf, sizeof(buf));
	uint16_t size = (uint16_t)(len - 2);

	(void)state;
	/* One byte after the TPM2B_PUBLIC. */
	buf[len] = 0;
	expect_parse(buf, len + 1, AERR_TRAILING, "one trailing byte");

	/* Size field larger than the buffer. */
	buf[0] = (uint8_t)((size + 1) >> 8);
	buf[1] = (uint8_t)(size + 1);
	expect_parse(buf, len, AERR_PARSE, "size + 1 over the buffer");
	buf[0] = buf[1] = 0xff;
	expect_parse(buf, len, AERR_PARSE, "size 0xffff");

	/* Size field covers one byte more than the TPMT_PUBLIC: a byte is left inside. */
	buf[0] = (uint8_t)((size + 1) >> 8);
	buf[1] = (uint8_t)(size + 1);
	buf[len] = 0x00;
	expect_parse(buf, len + 1, AERR_TRAILING, "byte left inside the TPM2B");

	/* Size field one short of the TPMT_PUBLIC, buffer length unchanged: the
	 * last byte lies outside the TPM2B, and the area misses it. */
	buf[0] = (uint8_t)((size - 1) >> 8);
	buf[1] = (uint8_t)(size - 1);
	{
		TPMT_PUBLIC out;
		int r = tpmpub_parse(buf, len, &out);

		assert_true(r == AERR_TRAILING || r == AERR_PARSE);
		assert_int_equal(tpmpub_parse(buf, len - 1, &out), AERR_PARSE);
	}

	/* Zero size, with and without bytes after it. */
	buf[0] = buf[1] = 0;
	expect_parse(buf, 2, AERR_PARSE, "zero size");
	expect_parse(buf, len, AERR_PARSE, "zero size with bytes after");
	expect_parse(buf, 1, AERR_PARSE, "one byte");
}

static void test_parse_bad_fields(void **state)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t len = wire(&rsa_pub, buf, sizeof(buf));
	TPMT_PUBLIC out;

	(void)state;
	/* An unknown type selects no TPMU member. */
	buf[2] = 0x00;
	buf[3] = 0x99;
	assert_int_equal(tpmpub_parse(buf, len, &out), AERR_PARSE);
	wire(&rsa_pub, buf, sizeof(buf));
	/* unique.rsa.size (the last 258 bytes' first two) claiming more than a
	 * TPM2B_PUBLIC_KEY_RSA holds. */
	buf[len - 258] = 0x02;
	buf[len - 257] = 0x01;
	assert_int_equal(tpmpub_parse(buf, len, &out), AERR_PARSE);
	/* Claiming less: the remainder is left inside the TPM2B. */
	buf[len - 258] = 0x00;
	buf[len - 257] = 0xff;
	assert_int_equal(tpmpub_parse(buf, len, &out), AERR_TRAILING);
}

/* Name = nameAlg || H(marshalled TPMT_PUBLIC), hashed here with EVP. */
static void check_name(const TPMT_PUBLIC *p, const EVP_MD *md)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)], dig[EVP_MAX_MD_SIZE];
	size_t len = wire(p, buf, sizeof(buf));
	unsigned int dlen = 0;
	TPM2B_NAME name;

	assert_int_equal(EVP_Digest(buf + 2, len - 2, dig, &dlen, md, NULL), 1);
	assert_int_equal(tpmpub_name(p, &name), 0);
	assert_int_equal(name.size, 2 + dlen);
	assert_int_equal(name.name[0], p->nameAlg >> 8);
	assert_int_equal(name.name[1], p->nameAlg & 0xff);
	assert_memory_equal(name.name + 2, dig, dlen);
}

static void test_name(void **state)
{
	TPMT_PUBLIC p;
	TPM2B_NAME n1, n2;

	(void)state;
	check_name(&rsa_pub, EVP_sha256());
	check_name(&p256_pub, EVP_sha256());
	p = p384_pub;
	p.nameAlg = TPM2_ALG_SHA384;
	check_name(&p, EVP_sha384());
	p.nameAlg = TPM2_ALG_SHA1;
	check_name(&p, EVP_sha1());

	/* Any change in the area changes the name. */
	p = p256_pub;
	assert_int_equal(tpmpub_name(&p, &n1), 0);
	p.objectAttributes ^= TPMA_OBJECT_NODA;
	assert_int_equal(tpmpub_name(&p, &n2), 0);
	assert_memory_not_equal(n1.name, n2.name, n1.size);

	p.nameAlg = TPM2_ALG_NULL;
	assert_int_equal(tpmpub_name(&p, &n1), AERR_UNSUPPORTED);
	assert_int_equal(n1.size, 0);
	p.nameAlg = TPM2_ALG_AES;
	assert_int_equal(tpmpub_name(&p, &n1), AERR_UNSUPPORTED);
}

static BIGNUM *get_bn(const EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	return bn;
}

static void test_to_evp_rsa(void **state)
{
	TPMT_PUBLIC p = rsa_pub;
	EVP_PKEY *k = NULL;
	BIGNUM *e;

	(void)state;
	/* exponent 0 means 65537: the key equals the one generated (e = 65537). */
	assert_int_equal(tpmpub_to_evp(&p, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, rsa_key), 1);
	e = get_bn(k, OSSL_PKEY_PARAM_RSA_E);
	assert_true(BN_is_word(e, 65537));
	BN_free(e);
	EVP_PKEY_free(k);

	/* An explicit exponent is used as given. */
	p.parameters.rsaDetail.exponent = 3;
	assert_int_equal(tpmpub_to_evp(&p, &k), 0);
	e = get_bn(k, OSSL_PKEY_PARAM_RSA_E);
	assert_true(BN_is_word(e, 3));
	BN_free(e);
	assert_int_equal(EVP_PKEY_eq(k, rsa_key), 0);
	EVP_PKEY_free(k);

	/* Modulus size disagreeing with keyBits, or empty. */
	p = rsa_pub;
	p.unique.rsa.size = 255;
	k = (EVP_PKEY *)1;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_PARSE);
	assert_null(k);
	p.unique.rsa.size = 0;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_PARSE);
	p = rsa_pub;
	p.parameters.rsaDetail.keyBits = 3072;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_PARSE);
	assert_null(k);
}

static void test_to_evp_ecc(void **state)
{
	TPMT_PUBLIC p;
	EVP_PKEY *k = NULL;

	(void)state;
	assert_int_equal(tpmpub_to_evp(&p256_pub, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, p256_key), 1);
	EVP_PKEY_free(k);
	assert_int_equal(tpmpub_to_evp(&p384_pub, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, p384_key), 1);
	assert_int_equal(EVP_PKEY_eq(k, p256_key), 0);
	EVP_PKEY_free(k);

	/* Off the curve: one bit of y (P-256 and P-384). */
	p = p256_pub;
	p.unique.ecc.y.buffer[31] ^= 1;
	k = (EVP_PKEY *)1;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_CRYPTO);
	assert_null(k);
	p = p384_pub;
	p.unique.ecc.x.buffer[0] ^= 0x80;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_CRYPTO);
	assert_null(k);
	/* The P-256 point claimed on P-384 (left-padded, still off that curve). */
	p = p256_pub;
	p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_CRYPTO);

	/* Coordinates longer than the curve, or empty. */
	p = p256_pub;
	p.unique.ecc.x.size = 33;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_PARSE);
	p = p256_pub;
	p.unique.ecc.y.size = 0;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_PARSE);

	/* Curves we do not take, and types without a public key. */
	p = p256_pub;
	p.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_UNSUPPORTED);
	p.parameters.eccDetail.curveID = TPM2_ECC_SM2_P256;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_UNSUPPORTED);
	memset(&p, 0, sizeof(p));
	p.type = TPM2_ALG_KEYEDHASH;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_UNSUPPORTED);
	p.type = TPM2_ALG_SYMCIPHER;
	assert_int_equal(tpmpub_to_evp(&p, &k), AERR_UNSUPPORTED);
	assert_null(k);
}

/* A P-256 key whose x (or y) has a leading zero byte: the TPM may send the
 * coordinate as 31 bytes; it must be left-padded, not right-padded. */
static void test_to_evp_short_coordinate(void **state)
{
	uint8_t xb[32], yb[32];
	EVP_PKEY *key = NULL, *k = NULL;
	TPMT_PUBLIC p;
	int coord = -1;

	(void)state;
	for (int tries = 0; tries < 20000 && coord < 0; tries++) {
		EVP_PKEY_free(key);
		assert_non_null(key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
		bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, xb, 32);
		bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, yb, 32);
		if (xb[0] == 0)
			coord = 0;
		else if (yb[0] == 0)
			coord = 1;
	}
	assert_true(coord >= 0);
	make_ecc(key, TPM2_ECC_NIST_P256, 32, &p);
	if (coord == 0) {
		p.unique.ecc.x.size = 31;
		memmove(p.unique.ecc.x.buffer, xb + 1, 31);
	} else {
		p.unique.ecc.y.size = 31;
		memmove(p.unique.ecc.y.buffer, yb + 1, 31);
	}
	assert_int_equal(tpmpub_to_evp(&p, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, key), 1);
	EVP_PKEY_free(k);
	EVP_PKEY_free(key);
}

static void test_marshal(void **state)
{
	const TPMT_PUBLIC *areas[] = { &rsa_pub, &p256_pub, &p384_pub };
	uint8_t ours[sizeof(TPM2B_PUBLIC)], theirs[sizeof(TPM2B_PUBLIC)], again[sizeof(TPM2B_PUBLIC)];
	TPMT_PUBLIC back;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		size_t len = 99, tlen = wire(areas[i], theirs, sizeof(theirs)), len2 = 0;

		assert_int_equal(tpmpub_marshal(areas[i], ours, sizeof(ours), &len), 0);
		/* Byte for byte what tss2-mu's TPM2B_PUBLIC marshalling writes. */
		assert_int_equal(len, tlen);
		assert_memory_equal(ours, theirs, len);
		/* parse(marshal(x)) == x and marshal(parse(b)) == b */
		assert_int_equal(tpmpub_parse(ours, len, &back), 0);
		same_area(&back, areas[i]);
		assert_int_equal(tpmpub_marshal(&back, again, sizeof(again), &len2), 0);
		assert_int_equal(len2, len);
		assert_memory_equal(again, ours, len);
		/* Exactly len bytes suffice; every smaller capacity is refused. */
		assert_int_equal(tpmpub_marshal(areas[i], again, len, &len2), 0);
		for (size_t cap = 0; cap < len; cap++) {
			len2 = 99;
			assert_int_equal(tpmpub_marshal(areas[i], again, cap, &len2), AERR_TOO_LARGE);
			assert_int_equal(len2, 0);
		}
	}
}

static void test_curve_tables(void **state)
{
	(void)state;
	assert_int_equal(tpmpub_ecc_coord_size(TPM2_ECC_NIST_P256), 32);
	assert_int_equal(tpmpub_ecc_coord_size(TPM2_ECC_NIST_P384), 48);
	assert_int_equal(tpmpub_ecc_coord_size(TPM2_ECC_NIST_P521), 66);
	assert_int_equal(tpmpub_ecc_coord_size(TPM2_ECC_BN_P256), 0);
	assert_string_equal(tpmpub_ecc_group(TPM2_ECC_NIST_P256), "prime256v1");
	assert_string_equal(tpmpub_ecc_group(TPM2_ECC_NIST_P384), "secp384r1");
	assert_null(tpmpub_ecc_group(TPM2_ECC_NONE));
}

/* The templates: the EK's is the TCG default (its Policy A digest checked
 * against the spec's bytes), the AK's a restricted signing key; a software
 * key fills unique and converts back to the same key; keys that do not fit
 * are refused. */
static void test_templates_and_unique(void **state)
{
	static const uint8_t policy_a_prefix[4] = { 0x83, 0x71, 0x97, 0x67 }; /* EK Credential Profile, B.3.3 */
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *p256 = EVP_EC_gen("P-256"), *p384 = EVP_EC_gen("P-384"), *back = NULL;
	TPMT_PUBLIC ek, ak;

	(void)state;
	assert_non_null(rsa);
	assert_non_null(p256);
	assert_non_null(p384);
	ek_template(EK_L1_RSA2048, &ek);
	assert_int_equal(ek.authPolicy.size, 32);
	assert_memory_equal(ek.authPolicy.buffer, policy_a_prefix, 4);
	assert_true(ek.objectAttributes & TPMA_OBJECT_ADMINWITHPOLICY);
	assert_false(ek.objectAttributes & TPMA_OBJECT_USERWITHAUTH);
	assert_int_equal(ek.unique.rsa.size, 256);
	assert_int_equal(tpmpub_set_unique(&ek, rsa), 0);
	assert_int_equal(tpmpub_to_evp(&ek, &back), 0);
	assert_int_equal(EVP_PKEY_eq(back, rsa), 1);
	EVP_PKEY_free(back);
	assert_int_equal(tpmpub_set_unique(&ek, p256), AERR_INVALID_ARG);

	ek_template(EK_L2_P256, &ek);
	assert_int_equal(ek.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
	assert_int_equal(ek.unique.ecc.x.size, 32);
	assert_int_equal(tpmpub_set_unique(&ek, p384), AERR_INVALID_ARG);
	assert_int_equal(tpmpub_set_unique(&ek, rsa), AERR_INVALID_ARG);

	tpmpub_ak_template(TPM2_ALG_ECC, &ak);
	assert_true(ak.objectAttributes & TPMA_OBJECT_RESTRICTED);
	assert_true(ak.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT);
	assert_false(ak.objectAttributes & TPMA_OBJECT_DECRYPT);
	assert_int_equal(ak.parameters.eccDetail.scheme.scheme, TPM2_ALG_ECDSA);
	assert_int_equal(tpmpub_set_unique(&ak, p256), 0);
	assert_int_equal(tpmpub_to_evp(&ak, &back), 0);
	assert_int_equal(EVP_PKEY_eq(back, p256), 1);
	EVP_PKEY_free(back);

	tpmpub_ak_template(TPM2_ALG_RSA, &ak);
	assert_int_equal(ak.parameters.rsaDetail.scheme.scheme, TPM2_ALG_RSASSA);
	assert_int_equal(tpmpub_set_unique(&ak, rsa), 0);
	assert_int_equal(ak.unique.rsa.size, 256);
	ak.type = TPM2_ALG_KEYEDHASH;
	assert_int_equal(tpmpub_set_unique(&ak, rsa), AERR_INVALID_ARG);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_sizes),
		cmocka_unit_test(test_parse_bad_fields),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_to_evp_rsa),
		cmocka_unit_test(test_to_evp_ecc),
		cmocka_unit_test(test_to_evp_short_coordinate),
		cmocka_unit_test(test_marshal),
		cmocka_unit_test(test_curve_tables),
		cmocka_unit_test(test_templates_and_unique),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
