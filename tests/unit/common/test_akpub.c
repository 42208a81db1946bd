/* AK admission: genuine-looking ECC and RSA AK public areas (real keys made
 * here, attributes as tpm2_createak sets them) are admitted; each checklist
 * item violated alone is rejected with its code and a detail naming it. A real
 * AK from swtpm goes through the integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "akpub.h"

/* fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign */
#define AK_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
		  TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

static TPMT_PUBLIC ecc_ak, rsa_ak;

static void bn_param(EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, out, (int)len), (int)len);
	BN_free(bn);
}

static int setup(void **state)
{
	EVP_PKEY *k;

	(void)state;
	memset(&ecc_ak, 0, sizeof(ecc_ak));
	ecc_ak.type = TPM2_ALG_ECC;
	ecc_ak.nameAlg = TPM2_ALG_SHA256;
	ecc_ak.objectAttributes = AK_ATTRS;
	ecc_ak.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	ecc_ak.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	ecc_ak.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	ecc_ak.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	ecc_ak.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")))
		return -1;
	ecc_ak.unique.ecc.x.size = ecc_ak.unique.ecc.y.size = 32;
	bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, ecc_ak.unique.ecc.x.buffer, 32);
	bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, ecc_ak.unique.ecc.y.buffer, 32);
	EVP_PKEY_free(k);

	memset(&rsa_ak, 0, sizeof(rsa_ak));
	rsa_ak.type = TPM2_ALG_RSA;
	rsa_ak.nameAlg = TPM2_ALG_SHA256;
	rsa_ak.objectAttributes = AK_ATTRS;
	rsa_ak.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	rsa_ak.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
	rsa_ak.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
	rsa_ak.parameters.rsaDetail.keyBits = 2048;
	if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)))
		return -1;
	rsa_ak.unique.rsa.size = 256;
	bn_param(k, OSSL_PKEY_PARAM_RSA_N, rsa_ak.unique.rsa.buffer, 256);
	EVP_PKEY_free(k);
	return 0;
}

static void expect(const TPMT_PUBLIC *ak, int code, const char *word)
{
	err_clear();
	int r = akpub_admit(ak);
	if (r != code)
		fail_msg("want %d (%s), got %d: %s", code, word, r, err_detail());
	if (!strstr(err_detail(), word))
		fail_msg("detail '%s' does not name '%s'", err_detail(), word);
}

static void test_valid(void **state)
{
	TPMT_PUBLIC p;

	(void)state;
	assert_int_equal(akpub_admit(&ecc_ak), 0);
	assert_int_equal(akpub_admit(&rsa_ak), 0);
	/* The other accepted choices. */
	p = rsa_ak;
	p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSAPSS;
	p.parameters.rsaDetail.scheme.details.rsapss.hashAlg = TPM2_ALG_SHA384;
	p.parameters.rsaDetail.exponent = 65537;
	assert_int_equal(akpub_admit(&p), 0);
	p = ecc_ak;
	p.nameAlg = TPM2_ALG_SHA384;
	p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA512;
	p.objectAttributes |= TPMA_OBJECT_NODA | TPMA_OBJECT_ADMINWITHPOLICY;
	assert_int_equal(akpub_admit(&p), 0);
}

static void attr_missing(const TPMT_PUBLIC *base, TPMA_OBJECT bit, const char *name)
{
	TPMT_PUBLIC p = *base;

	p.objectAttributes &= ~bit;
	expect(&p, AERR_AK_ATTRS, name);
}

static void test_attributes(void **state)
{
	const TPMT_PUBLIC *bases[] = { &ecc_ak, &rsa_ak };
	TPMT_PUBLIC p;

	(void)state;
	for (int i = 0; i < 2; i++) {
		attr_missing(bases[i], TPMA_OBJECT_FIXEDTPM, "fixedTPM");
		attr_missing(bases[i], TPMA_OBJECT_FIXEDPARENT, "fixedParent");
		attr_missing(bases[i], TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin");
		attr_missing(bases[i], TPMA_OBJECT_USERWITHAUTH, "userWithAuth");
		attr_missing(bases[i], TPMA_OBJECT_RESTRICTED, "restricted");
		attr_missing(bases[i], TPMA_OBJECT_SIGN_ENCRYPT, "sign");
		p = *bases[i];
		p.objectAttributes |= TPMA_OBJECT_DECRYPT;
		expect(&p, AERR_AK_ATTRS, "decrypt");
	}
}

static void test_parameters(void **state)
{
	TPMT_PUBLIC p;

	(void)state;
	p = rsa_ak;
	p.parameters.rsaDetail.keyBits = 1024;
	p.unique.rsa.size = 128;
	expect(&p, AERR_UNSUPPORTED, "1024 bits");
	p = rsa_ak;
	p.parameters.rsaDetail.keyBits = 8192;
	expect(&p, AERR_UNSUPPORTED, "8192 bits");
	p = rsa_ak;
	p.parameters.rsaDetail.exponent = 3;
	expect(&p, AERR_UNSUPPORTED, "exponent");
	p = rsa_ak;
	p.unique.rsa.size = 255;
	expect(&p, AERR_AK_ATTRS, "modulus");

	p = ecc_ak;
	p.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
	expect(&p, AERR_UNSUPPORTED, "curve");
	p = ecc_ak;
	p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P521;
	expect(&p, AERR_UNSUPPORTED, "curve");
	p = ecc_ak;
	p.parameters.eccDetail.kdf.scheme = TPM2_ALG_KDF1_SP800_56A;
	p.parameters.eccDetail.kdf.details.kdf1_sp800_56a.hashAlg = TPM2_ALG_SHA256;
	expect(&p, AERR_AK_ATTRS, "kdf");
	p = ecc_ak;
	p.unique.ecc.y.buffer[31] ^= 1; /* off the curve */
	expect(&p, AERR_AK_ATTRS, "unusable");

	p = ecc_ak;
	p.nameAlg = TPM2_ALG_SHA1;
	expect(&p, AERR_UNSUPPORTED, "nameAlg sha1");
	p = rsa_ak;
	p.nameAlg = TPM2_ALG_SHA1;
	expect(&p, AERR_UNSUPPORTED, "nameAlg sha1");
	p = rsa_ak;
	p.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA1;
	expect(&p, AERR_UNSUPPORTED, "scheme hash sha1");
	p = ecc_ak;
	p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA1;
	expect(&p, AERR_UNSUPPORTED, "scheme hash sha1");

	p = ecc_ak;
	p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	expect(&p, AERR_AK_ATTRS, "scheme is NULL");
	p = rsa_ak;
	p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	expect(&p, AERR_AK_ATTRS, "scheme is NULL");
	p = ecc_ak;
	p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDAA;
	expect(&p, AERR_UNSUPPORTED, "not ECDSA");
	p = rsa_ak;
	p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSAES;
	expect(&p, AERR_UNSUPPORTED, "not RSASSA");

	p = ecc_ak;
	p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p.parameters.eccDetail.symmetric.keyBits.aes = 128;
	p.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	expect(&p, AERR_AK_ATTRS, "symmetric");
	p = rsa_ak;
	p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	expect(&p, AERR_AK_ATTRS, "symmetric");

	memset(&p, 0, sizeof(p));
	p.type = TPM2_ALG_KEYEDHASH;
	p.nameAlg = TPM2_ALG_SHA256;
	p.objectAttributes = AK_ATTRS;
	p.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
	p.parameters.keyedHashDetail.scheme.details.hmac.hashAlg = TPM2_ALG_SHA256;
	expect(&p, AERR_UNSUPPORTED, "type 0x0008");
	p.type = TPM2_ALG_SYMCIPHER;
	expect(&p, AERR_UNSUPPORTED, "type 0x0025");

	expect(NULL, AERR_INVALID_ARG, "no AK");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_parameters),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
