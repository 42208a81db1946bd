/* credential_make for RSA and ECC EKs made from the TCG default templates with
 * key pairs generated here, opened by a test-side ActivateCredential that shares
 * no code with ours: OpenSSL OAEP decrypt / ECDH, OpenSSL's KBKDF (= KDFa) and
 * SSKDF (= KDFe), HMAC check, AES-CFB decrypt. Every single-byte change of the
 * blob or of the encrypted seed, and any other AK name, must fail that check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "array.h"
#include "credential.h"
#include "crypto.h"
#include "seed.h"
#include "tpmpub.h"
#include "wrap.h"

/* TCG EK Credential Profile 2.0, templates L-1/L-2: PolicySecret(TPM_RH_ENDORSEMENT). */
static const uint8_t ek_policy_sha256[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
	0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};
/* fixedTPM|fixedParent|sensitiveDataOrigin|adminWithPolicy|restricted|decrypt */
#define EK_ATTRS 0x000300b2u

struct ek {
	EVP_PKEY *priv;
	TPMT_PUBLIC pub;
};

enum { ACT_OK = 0, ACT_SEED = 1, ACT_HMAC = 2, ACT_FORMAT = 3 };

static const char *md_name(TPM2_ALG_ID h)
{
	return h == TPM2_ALG_SHA384 ? "SHA384" : h == TPM2_ALG_SHA512 ? "SHA512" : "SHA256";
}

static void bn_param(EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, out, (int)len), (int)len);
	BN_free(bn);
}

/* RSA-2048 EK, template L-1: AES-128-CFB, scheme NULL, exponent 0 (65537). */
static void ek_rsa(struct ek *ek)
{
	TPMT_PUBLIC *p = &ek->pub;

	memset(ek, 0, sizeof(*ek));
	assert_non_null(ek->priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	p->type = TPM2_ALG_RSA;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = EK_ATTRS;
	p->authPolicy.size = 32;
	memcpy(p->authPolicy.buffer, ek_policy_sha256, 32);
	p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.rsaDetail.symmetric.keyBits.aes = 128;
	p->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.rsaDetail.keyBits = 2048;
	p->parameters.rsaDetail.exponent = 0;
	p->unique.rsa.size = 256;
	bn_param(ek->priv, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, 256);
}

/* ECC EK: template L-2 (P-256, SHA-256, AES-128) or the high-range P-384 one
 * (SHA-384, AES-256; policy digest not needed by the crypto, left empty). */
static void ek_ecc(struct ek *ek, TPMI_ECC_CURVE curve)
{
	TPMT_PUBLIC *p = &ek->pub;
	size_t cs = curve == TPM2_ECC_NIST_P256 ? 32 : 48;

	memset(ek, 0, sizeof(*ek));
	assert_non_null(ek->priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", cs == 32 ? "P-256" : "P-384"));
	p->type = TPM2_ALG_ECC;
	p->nameAlg = cs == 32 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384;
	p->objectAttributes = EK_ATTRS;
	if (cs == 32) {
		p->authPolicy.size = 32;
		memcpy(p->authPolicy.buffer, ek_policy_sha256, 32);
	}
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.eccDetail.symmetric.keyBits.aes = cs == 32 ? 128 : 256;
	p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.curveID = curve;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->unique.ecc.x.size = p->unique.ecc.y.size = (UINT16)cs;
	bn_param(ek->priv, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, cs);
	bn_param(ek->priv, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, cs);
}

static void ek_free(struct ek *ek)
{
	EVP_PKEY_free(ek->priv);
	ek->priv = NULL;
}

/* ---- the test-side ActivateCredential ---------------------------------- */

static int ossl_kdf(const char *alg, OSSL_PARAM *params, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, alg, NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int ok = ctx && EVP_KDF_derive(ctx, out, len, params) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

static int kbkdf(TPM2_ALG_ID h, const uint8_t *key, size_t klen, const char *label, const uint8_t *ctx,
		 size_t clen, uint8_t *out, size_t len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_MODE, "counter", 0),
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_MAC, "HMAC", 0),
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name(h), 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, klen),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, strlen(label)),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, (void *)ctx, clen),
		OSSL_PARAM_END,
	};
	return ossl_kdf("KBKDF", params, out, len);
}

/* Recover the seed with the EK private key; label as given to the TPM. */
static int recover_seed(const struct ek *ek, const char *label, const TPM2B_ENCRYPTED_SECRET *enc,
			uint8_t *seed, size_t seed_len)
{
	EVP_PKEY_CTX *ctx = NULL, *pctx = NULL;
	EVP_PKEY *peer = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	TPMS_ECC_POINT pt;
	uint8_t point[1 + 2 * 48], z[48], info[16 + 2 * 48];
	size_t off = 0, zlen = sizeof(z), n = seed_len, cs;
	int rc = -1;

	if (ek->pub.type == TPM2_ALG_RSA) {
		const EVP_MD *md = EVP_get_digestbyname(md_name(ek->pub.nameAlg));
		unsigned char *lab = OPENSSL_memdup(label, strlen(label) + 1);
		uint8_t buf[512];

		n = sizeof(buf);
		if (!(ctx = EVP_PKEY_CTX_new(ek->priv, NULL)) || EVP_PKEY_decrypt_init(ctx) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0 ||
		    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, (int)strlen(label) + 1) <= 0) {
			OPENSSL_free(lab);
			goto out;
		}
		if (EVP_PKEY_decrypt(ctx, buf, &n, enc->secret, enc->size) <= 0 || n != seed_len)
			goto out;
		memcpy(seed, buf, n);
		rc = 0;
		goto out;
	}
	cs = ek->pub.unique.ecc.x.size;
	if (Tss2_MU_TPMS_ECC_POINT_Unmarshal(enc->secret, enc->size, &off, &pt) != TSS2_RC_SUCCESS ||
	    off != enc->size || pt.x.size != cs || pt.y.size != cs)
		goto out;
	point[0] = 4;
	memcpy(point + 1, pt.x.buffer, cs);
	memcpy(point + 1 + cs, pt.y.buffer, cs);
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cs == 32 ? "P-256" : "P-384", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * cs) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 || EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	if (!(ctx = EVP_PKEY_CTX_new(ek->priv, NULL)) || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) <= 0 || EVP_PKEY_derive(ctx, z, &zlen) <= 0 || zlen != cs)
		goto out;
	n = strlen(label) + 1;
	memcpy(info, label, n);
	memcpy(info + n, pt.x.buffer, cs);
	memcpy(info + n + cs, ek->pub.unique.ecc.x.buffer, cs);
	{
		OSSL_PARAM kp[] = {
			OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name(ek->pub.nameAlg), 0),
			OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SECRET, z, zlen),
			OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, info, n + 2 * cs),
			OSSL_PARAM_END,
		};
		rc = ossl_kdf("SSKDF", kp, seed, seed_len);
	}
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(peer);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

/* Open the outer wrapper and the TPM2B_DIGEST inside; ACT_* result. */
static int activate(const struct ek *ek, const char *label, const TPM2B_NAME *name, const TPM2B_ID_OBJECT *blob,
		    const TPM2B_ENCRYPTED_SECRET *enc, uint8_t *secret, size_t *secret_len)
{
	TPM2_ALG_ID h = ek->pub.nameAlg;
	size_t ds = h == TPM2_ALG_SHA384 ? 48 : 32, enc_len, kb = ek->pub.parameters.asymDetail.symmetric.keyBits.aes;
	uint8_t seed[64], key[32], hkey[64], mac[64], macin[sizeof(blob->credential) + sizeof(name->name)];
	uint8_t plain[sizeof(blob->credential)];
	const EVP_CIPHER *ciph = kb == 128 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128();
	static const uint8_t iv[16];
	unsigned int ml = 0;
	int n1 = 0, n2 = 0, rc = ACT_FORMAT;
	EVP_CIPHER_CTX *c = NULL;
	size_t inner;

	*secret_len = 0;
	if (recover_seed(ek, label, enc, seed, ds) != 0)
		return ACT_SEED;
	if (blob->size < 2 || ((size_t)blob->credential[0] << 8 | blob->credential[1]) != ds || blob->size < 2 + ds + 2)
		return ACT_FORMAT;
	enc_len = blob->size - 2 - ds;
	assert_int_equal(kbkdf(h, seed, ds, "STORAGE", name->name, name->size, key, kb / 8), 0);
	assert_int_equal(kbkdf(h, seed, ds, "INTEGRITY", NULL, 0, hkey, ds), 0);
	memcpy(macin, blob->credential + 2 + ds, enc_len);
	memcpy(macin + enc_len, name->name, name->size);
	assert_non_null(HMAC(EVP_get_digestbyname(md_name(h)), hkey, (int)ds, macin, enc_len + name->size, mac, &ml));
	if (CRYPTO_memcmp(mac, blob->credential + 2, ds) != 0)
		return ACT_HMAC;
	assert_non_null(c = EVP_CIPHER_CTX_new());
	assert_int_equal(EVP_DecryptInit_ex(c, ciph, NULL, key, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(c, plain, &n1, blob->credential + 2 + ds, (int)enc_len), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, plain + n1, &n2), 1);
	EVP_CIPHER_CTX_free(c);
	inner = (size_t)plain[0] << 8 | plain[1];
	if ((size_t)(n1 + n2) != enc_len || inner + 2 != enc_len)
		return rc;
	memcpy(secret, plain + 2, inner);
	*secret_len = inner;
	return ACT_OK;
}

/* ---- tests --------------------------------------------------------------- */

static void ak_name(TPM2B_NAME *name, uint8_t salt)
{
	name->size = 34;
	name->name[0] = 0x00;
	name->name[1] = 0x0b;
	for (int i = 2; i < 34; i++)
		name->name[i] = (uint8_t)(salt * 31 + i);
}

static void roundtrip(struct ek *ek)
{
	static const size_t lens[] = { 1, 16, 20, 32 };
	TPM2B_ID_OBJECT blob, blob2;
	TPM2B_ENCRYPTED_SECRET enc, enc2;
	TPM2B_NAME name;
	uint8_t secret[64], got[64];
	size_t got_len;

	ak_name(&name, 1);
	for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
		assert_int_equal(crypto_random(secret, lens[i]), 0);
		assert_int_equal(credential_make(&ek->pub, &name, secret, lens[i], &blob, &enc), 0);
		assert_int_equal(activate(ek, "IDENTITY", &name, &blob, &enc, got, &got_len), ACT_OK);
		assert_int_equal(got_len, lens[i]);
		assert_memory_equal(got, secret, lens[i]);
		/* a fresh seed every time */
		assert_int_equal(credential_make(&ek->pub, &name, secret, lens[i], &blob2, &enc2), 0);
		assert_memory_not_equal(enc.secret, enc2.secret, enc.size);
		assert_int_equal(activate(ek, "IDENTITY", &name, &blob2, &enc2, got, &got_len), ACT_OK);
	}
	/* The seed's label is bound: "DUPLICATE" cannot open an "IDENTITY" secret. */
	assert_int_not_equal(activate(ek, "DUPLICATE", &name, &blob, &enc, got, &got_len), ACT_OK);
}

static void tampering(struct ek *ek)
{
	TPM2B_ID_OBJECT blob, bad;
	TPM2B_ENCRYPTED_SECRET enc, bad_enc;
	TPM2B_NAME name, other;
	uint8_t secret[32], got[64];
	size_t got_len;

	ak_name(&name, 2);
	assert_int_equal(crypto_random(secret, sizeof(secret)), 0);
	assert_int_equal(credential_make(&ek->pub, &name, secret, sizeof(secret), &blob, &enc), 0);
	assert_int_equal(activate(ek, "IDENTITY", &name, &blob, &enc, got, &got_len), ACT_OK);

	/* Every byte of the blob: size field, HMAC, encIdentity. */
	for (size_t i = 0; i < blob.size; i++) {
		bad = blob;
		bad.credential[i] ^= 0x01;
		int rc = activate(ek, "IDENTITY", &name, &bad, &enc, got, &got_len);
		if (rc == ACT_OK)
			fail_msg("blob byte %zu flipped still activates", i);
		if (i >= 2)
			assert_int_equal(rc, ACT_HMAC);
	}
	/* Truncated blob. */
	bad = blob;
	bad.size--;
	assert_int_not_equal(activate(ek, "IDENTITY", &name, &bad, &enc, got, &got_len), ACT_OK);
	/* Every byte of the encrypted seed. */
	for (size_t i = 0; i < enc.size; i++) {
		bad_enc = enc;
		bad_enc.secret[i] ^= 0x01;
		if (activate(ek, "IDENTITY", &name, &blob, &bad_enc, got, &got_len) == ACT_OK)
			fail_msg("encrypted seed byte %zu flipped still activates", i);
	}
	/* Any other AK name: the HMAC covers the name (and it keys the cipher). */
	for (size_t i = 0; i < name.size; i++) {
		other = name;
		other.name[i] ^= 0x80;
		assert_int_equal(activate(ek, "IDENTITY", &other, &blob, &enc, got, &got_len), ACT_HMAC);
	}
	other = name;
	other.size--;
	assert_int_equal(activate(ek, "IDENTITY", &other, &blob, &enc, got, &got_len), ACT_HMAC);
}

static void test_rsa_ek(void **state)
{
	struct ek ek;

	(void)state;
	ek_rsa(&ek);
	roundtrip(&ek);
	tampering(&ek);
	ek_free(&ek);
}

static void test_ecc_p256_ek(void **state)
{
	struct ek ek;

	(void)state;
	ek_ecc(&ek, TPM2_ECC_NIST_P256);
	roundtrip(&ek);
	tampering(&ek);
	ek_free(&ek);
}

static void test_ecc_p384_ek(void **state)
{
	struct ek ek;

	(void)state;
	ek_ecc(&ek, TPM2_ECC_NIST_P384);
	roundtrip(&ek);
	tampering(&ek);
	ek_free(&ek);
}

/* A second EK of the same kind cannot open the blob. */
static void test_wrong_ek(void **state)
{
	struct ek a, b;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_NAME name;
	uint8_t secret[32] = { 9 }, got[64];
	size_t got_len;

	(void)state;
	ak_name(&name, 3);
	ek_ecc(&a, TPM2_ECC_NIST_P256);
	ek_ecc(&b, TPM2_ECC_NIST_P256);
	assert_int_equal(credential_make(&a.pub, &name, secret, sizeof(secret), &blob, &enc), 0);
	assert_int_equal(activate(&b, "IDENTITY", &name, &blob, &enc, got, &got_len), ACT_HMAC);
	ek_free(&a);
	ek_free(&b);
	ek_rsa(&a);
	ek_rsa(&b);
	assert_int_equal(credential_make(&a.pub, &name, secret, sizeof(secret), &blob, &enc), 0);
	assert_int_equal(activate(&b, "IDENTITY", &name, &blob, &enc, got, &got_len), ACT_SEED);
	ek_free(&a);
	ek_free(&b);
}

/* seed_make with another label, as the Import path will use it. */
static void test_seed_duplicate_label(void **state)
{
	struct ek ek;
	TPM2B_ENCRYPTED_SECRET enc;
	uint8_t seed[SEED_MAX], got[SEED_MAX];
	size_t seed_len = 99;

	(void)state;
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			ek_rsa(&ek);
		else
			ek_ecc(&ek, TPM2_ECC_NIST_P256);
		assert_int_equal(seed_make(&ek.pub, "DUPLICATE", seed, &seed_len, &enc), 0);
		assert_int_equal(seed_len, 32);
		assert_int_equal(recover_seed(&ek, "DUPLICATE", &enc, got, seed_len), 0);
		assert_memory_equal(got, seed, seed_len);
		if (recover_seed(&ek, "IDENTITY", &enc, got, seed_len) == 0)
			assert_memory_not_equal(got, seed, seed_len);
		ek_free(&ek);
	}
}

static void test_bad_inputs(void **state)
{
	struct ek ek;
	TPMT_PUBLIC p;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_NAME name;
	uint8_t secret[64] = { 1 };

	(void)state;
	ak_name(&name, 4);
	ek_rsa(&ek);
	assert_int_equal(credential_make(&ek.pub, &name, secret, 0, &blob, &enc), AERR_INVALID_ARG);
	assert_int_equal(credential_make(&ek.pub, &name, secret, 33, &blob, &enc), AERR_INVALID_ARG);
	assert_int_equal(blob.size, 0);
	assert_int_equal(enc.size, 0);
	name.size = 0;
	assert_int_equal(credential_make(&ek.pub, &name, secret, 16, &blob, &enc), AERR_INVALID_ARG);
	ak_name(&name, 4);
	p = ek.pub;
	p.objectAttributes &= ~TPMA_OBJECT_DECRYPT;
	assert_int_equal(credential_make(&p, &name, secret, 16, &blob, &enc), AERR_UNSUPPORTED);
	p = ek.pub;
	p.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	assert_int_equal(credential_make(&p, &name, secret, 16, &blob, &enc), AERR_UNSUPPORTED);
	p = ek.pub;
	p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	assert_int_equal(credential_make(&p, &name, secret, 16, &blob, &enc), AERR_UNSUPPORTED);
	p = ek.pub;
	p.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CBC;
	assert_int_equal(credential_make(&p, &name, secret, 16, &blob, &enc), AERR_UNSUPPORTED);
	p = ek.pub;
	p.nameAlg = TPM2_ALG_NULL;
	assert_int_equal(credential_make(&p, &name, secret, 16, &blob, &enc), AERR_UNSUPPORTED);
	p = ek.pub;
	p.type = TPM2_ALG_KEYEDHASH;
	assert_int_equal(credential_make(&p, &name, secret, 16, &blob, &enc), AERR_UNSUPPORTED);
	ek_free(&ek);
	/* An ECC EK whose point is not on the curve. */
	ek_ecc(&ek, TPM2_ECC_NIST_P256);
	p = ek.pub;
	p.unique.ecc.y.buffer[31] ^= 1;
	assert_int_not_equal(credential_make(&p, &name, secret, 16, &blob, &enc), 0);
	assert_int_equal(enc.size, 0);
	ek_free(&ek);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_ek),
		cmocka_unit_test(test_ecc_p256_ek),
		cmocka_unit_test(test_ecc_p384_ek),
		cmocka_unit_test(test_wrong_ek),
		cmocka_unit_test(test_seed_duplicate_label),
		cmocka_unit_test(test_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
