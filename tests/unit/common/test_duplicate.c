/* dup_make_sealed / dup_make_rsa for RSA and ECC EKs built from the TCG
 * templates with key pairs generated here, opened by a test-side TPM2_Import
 * that shares no code with ours: OpenSSL OAEP decrypt / ECDH + SSKDF (= KDFe),
 * OpenSSL KBKDF (= KDFa), HMAC over the encrypted sensitive and a Name computed
 * here from the tss2-mu marshalling, AES-CFB decrypt, tss2-mu unmarshalling of
 * the TPM2B_SENSITIVE. Then the checks TPM2_Import makes: unique = H(seedValue
 * || data) for sealed data, p divides the modulus for RSA. Flipped bytes in
 * the duplicate, the seed or the public area, and another EK's private key,
 * must fail that import. The swtpm interop is tests/integration/
 * test_duplicate_interop.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "array.h"
#include "duplicate.h"
#include "err.h"
#include "tpmpub.h"

/* fixedTPM|fixedParent|sensitiveDataOrigin|adminWithPolicy|restricted|decrypt */
#define EK_ATTRS 0x000300b2u

struct ek {
	EVP_PKEY *priv;
	TPMT_PUBLIC pub;
};

enum { IMP_OK = 0, IMP_SEED, IMP_HMAC, IMP_FORMAT, IMP_SENSITIVE };

static const char *md_name(TPM2_ALG_ID h)
{
	return h == TPM2_ALG_SHA384 ? "SHA384" : "SHA256";
}

static size_t md_size(TPM2_ALG_ID h)
{
	return h == TPM2_ALG_SHA384 ? 48 : 32;
}

static void bn_out(EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, out, (int)len), (int)len);
	BN_free(bn);
}

/* RSA-2048 EK, template L-1: AES-128-CFB. */
static void ek_rsa(struct ek *ek)
{
	TPMT_PUBLIC *p = &ek->pub;

	memset(ek, 0, sizeof(*ek));
	assert_non_null(ek->priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	p->type = TPM2_ALG_RSA;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = EK_ATTRS;
	p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.rsaDetail.symmetric.keyBits.aes = 128;
	p->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.rsaDetail.keyBits = 2048;
	p->unique.rsa.size = 256;
	bn_out(ek->priv, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, 256);
}

/* ECC EK: template L-2 (P-256, SHA-256, AES-128) or the P-384 one (SHA-384, AES-256). */
static void ek_ecc(struct ek *ek, TPMI_ECC_CURVE curve)
{
	TPMT_PUBLIC *p = &ek->pub;
	size_t cs = curve == TPM2_ECC_NIST_P256 ? 32 : 48;

	memset(ek, 0, sizeof(*ek));
	assert_non_null(ek->priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", cs == 32 ? "P-256" : "P-384"));
	p->type = TPM2_ALG_ECC;
	p->nameAlg = cs == 32 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384;
	p->objectAttributes = EK_ATTRS;
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.eccDetail.symmetric.keyBits.aes = cs == 32 ? 128 : 256;
	p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.curveID = curve;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->unique.ecc.x.size = p->unique.ecc.y.size = (UINT16)cs;
	bn_out(ek->priv, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, cs);
	bn_out(ek->priv, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, cs);
}

static void ek_free(struct ek *ek)
{
	EVP_PKEY_free(ek->priv);
	ek->priv = NULL;
}

static void policy_of(TPM2B_DIGEST *d, uint8_t salt)
{
	d->size = 32;
	for (int i = 0; i < 32; i++)
		d->buffer[i] = (uint8_t)(salt + 7 * i);
}

/* ---- the test-side TPM2_Import -------------------------------------------- */

static int ossl_kdf(const char *alg, OSSL_PARAM *params, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, alg, NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int ok = ctx && EVP_KDF_derive(ctx, out, len, params) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

/* KDFa = SP800-108 counter mode with HMAC: OpenSSL adds the 0x00 after the label and [L]32. */
static int kdfa(TPM2_ALG_ID h, const uint8_t *key, size_t klen, const char *label, const uint8_t *ctx,
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

static int seed_rsa(const struct ek *ek, const TPM2B_ENCRYPTED_SECRET *enc, uint8_t *seed, size_t len)
{
	const EVP_MD *md = EVP_get_digestbyname(md_name(ek->pub.nameAlg));
	unsigned char *lab = (unsigned char *)OPENSSL_strdup("DUPLICATE");
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t buf[512];
	size_t n = sizeof(buf);
	int rc = -1;

	/* The TPM's label includes its NUL: 10 bytes. */
	if (!lab || !(ctx = EVP_PKEY_CTX_new(ek->priv, NULL)) || EVP_PKEY_decrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, 10) <= 0) {
		OPENSSL_free(lab);
		goto out;
	}
	if (EVP_PKEY_decrypt(ctx, buf, &n, enc->secret, enc->size) <= 0 || n != len)
		goto out;
	memcpy(seed, buf, n);
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int seed_ecc(const struct ek *ek, const TPM2B_ENCRYPTED_SECRET *enc, uint8_t *seed, size_t len)
{
	size_t cs = ek->pub.unique.ecc.x.size, off = 0, zlen;
	uint8_t point[1 + 2 * 48], z[48], info[10 + 2 * 48];
	EVP_PKEY_CTX *ctx = NULL, *pctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *peer = NULL;
	TPMS_ECC_POINT pt;
	int rc = -1;

	if (Tss2_MU_TPMS_ECC_POINT_Unmarshal(enc->secret, enc->size, &off, &pt) != TSS2_RC_SUCCESS ||
	    off != enc->size || pt.x.size != cs || pt.y.size != cs)
		goto out;
	point[0] = 4;
	memcpy(point + 1, pt.x.buffer, cs);
	memcpy(point + 1 + cs, pt.y.buffer, cs);
	zlen = cs;
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cs == 32 ? "P-256" : "P-384", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * cs) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 || EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    !(ctx = EVP_PKEY_CTX_new(ek->priv, NULL)) || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) <= 0 || EVP_PKEY_derive(ctx, z, &zlen) <= 0 || zlen != cs)
		goto out;
	/* KDFe other info: label with NUL, ephemeral x, EK x. */
	memcpy(info, "DUPLICATE", 10);
	memcpy(info + 10, pt.x.buffer, cs);
	memcpy(info + 10 + cs, ek->pub.unique.ecc.x.buffer, cs);
	{
		OSSL_PARAM kp[] = {
			OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name(ek->pub.nameAlg), 0),
			OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SECRET, z, zlen),
			OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, info, 10 + 2 * cs),
			OSSL_PARAM_END,
		};
		rc = ossl_kdf("SSKDF", kp, seed, len);
	}
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(peer);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

/* Name of the object: nameAlg || SHA-256(marshalled TPMT_PUBLIC), from tss2-mu. */
static void name_of(const TPM2B_PUBLIC *pub, uint8_t name[34])
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;

	assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
	assert_int_equal(off, pub->size);
	name[0] = 0x00;
	name[1] = 0x0b;
	assert_non_null(SHA256(buf, off, name + 2));
}

/* Open dup under ek like TPM2_Import (no inner wrapper); IMP_* result. */
static int import(const struct ek *ek, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup,
		  const TPM2B_ENCRYPTED_SECRET *enc, TPMT_SENSITIVE *sens)
{
	TPM2_ALG_ID h = ek->pub.nameAlg;
	size_t ds = md_size(h), kb = ek->pub.parameters.asymDetail.symmetric.keyBits.aes, enc_len, off = 0;
	uint8_t seed[48], key[32], hkey[48], mac[48], name[34], macin[sizeof(dup->buffer) + 34];
	uint8_t plain[sizeof(dup->buffer)];
	static const uint8_t iv[16];
	EVP_CIPHER_CTX *c = NULL;
	TPM2B_SENSITIVE s2;
	unsigned int ml = 0;
	int n1 = 0, n2 = 0, rc;

	memset(sens, 0, sizeof(*sens));
	rc = ek->pub.type == TPM2_ALG_RSA ? seed_rsa(ek, enc, seed, ds) : seed_ecc(ek, enc, seed, ds);
	ERR_clear_error();
	if (rc != 0)
		return IMP_SEED;
	if (dup->size < 2 + ds + 1 || ((size_t)dup->buffer[0] << 8 | dup->buffer[1]) != ds)
		return IMP_FORMAT;
	enc_len = dup->size - 2 - ds;
	name_of(pub, name);
	assert_int_equal(kdfa(h, seed, ds, "STORAGE", name, sizeof(name), key, kb / 8), 0);
	assert_int_equal(kdfa(h, seed, ds, "INTEGRITY", NULL, 0, hkey, ds), 0);
	memcpy(macin, dup->buffer + 2 + ds, enc_len);
	memcpy(macin + enc_len, name, sizeof(name));
	assert_non_null(HMAC(EVP_get_digestbyname(md_name(h)), hkey, (int)ds, macin, enc_len + sizeof(name), mac, &ml));
	if (CRYPTO_memcmp(mac, dup->buffer + 2, ds) != 0)
		return IMP_HMAC;
	assert_non_null(c = EVP_CIPHER_CTX_new());
	assert_int_equal(EVP_DecryptInit_ex(c, kb == 128 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128(), NULL, key, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(c, plain, &n1, dup->buffer + 2 + ds, (int)enc_len), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, plain + n1, &n2), 1);
	EVP_CIPHER_CTX_free(c);
	assert_int_equal((size_t)(n1 + n2), enc_len);
	/* The whole plaintext is exactly one TPM2B_SENSITIVE (tss2-mu wants size 0 on entry). */
	memset(&s2, 0, sizeof(s2));
	if (Tss2_MU_TPM2B_SENSITIVE_Unmarshal(plain, enc_len, &off, &s2) != TSS2_RC_SUCCESS || off != enc_len ||
	    ((size_t)plain[0] << 8 | plain[1]) + 2 != enc_len)
		return IMP_SENSITIVE;
	*sens = s2.sensitiveArea;
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(&s2, sizeof(s2));
	return IMP_OK;
}

/* ---- tests ------------------------------------------------------------------ */

static void check_common_public(const TPM2B_PUBLIC *pub, const TPM2B_DIGEST *policy)
{
	TPMA_OBJECT a = pub->publicArea.objectAttributes;
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	TPM2B_NAME ours;
	uint8_t name[34];
	size_t off = 0;

	assert_int_equal(pub->publicArea.nameAlg, TPM2_ALG_SHA256);
	/* TPM2_Import requires fixedTPM and fixedParent clear; sensitiveDataOrigin is false here. */
	assert_int_equal(a & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN), 0);
	/* Only the policy opens it. */
	assert_int_equal(a & TPMA_OBJECT_USERWITHAUTH, 0);
	assert_int_equal(a & (TPMA_OBJECT_NODA | TPMA_OBJECT_ADMINWITHPOLICY),
			 TPMA_OBJECT_NODA | TPMA_OBJECT_ADMINWITHPOLICY);
	assert_int_equal(a & (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_ENCRYPTEDDUPLICATION), 0);
	assert_int_equal(pub->publicArea.authPolicy.size, 32);
	assert_memory_equal(pub->publicArea.authPolicy.buffer, policy->buffer, 32);
	/* size field = what the structure marshals to */
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
	assert_int_equal(off, 2 + pub->size);
	/* tpmpub_name of the public area = the Name computed here */
	name_of(pub, name);
	assert_int_equal(tpmpub_name(&pub->publicArea, &ours), 0);
	assert_int_equal(ours.size, 34);
	assert_memory_equal(ours.name, name, 34);
}

static void sealed_roundtrip(struct ek *ek)
{
	static const size_t lens[] = { 1, 16, 32, 64, DUP_MAX_SEALED };
	TPM2B_PUBLIC pub, pub2;
	TPM2B_PRIVATE dup, dup2;
	TPM2B_ENCRYPTED_SECRET seed, seed2;
	TPMT_SENSITIVE sens, sens2;
	TPM2B_DIGEST policy;
	uint8_t data[DUP_MAX_SEALED], un[32 + DUP_MAX_SEALED], h[32];

	policy_of(&policy, 3);
	for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
		size_t len = lens[i];

		assert_int_equal(RAND_bytes(data, (int)len), 1);
		assert_int_equal(dup_make_sealed(&ek->pub, data, len, &policy, &pub, &dup, &seed), 0);
		check_common_public(&pub, &policy);
		assert_int_equal(pub.publicArea.type, TPM2_ALG_KEYEDHASH);
		assert_int_equal(pub.publicArea.objectAttributes, TPMA_OBJECT_NODA | TPMA_OBJECT_ADMINWITHPOLICY);
		assert_int_equal(pub.publicArea.parameters.keyedHashDetail.scheme.scheme, TPM2_ALG_NULL);
		assert_int_equal(import(ek, &pub, &dup, &seed, &sens), IMP_OK);
		assert_int_equal(sens.sensitiveType, TPM2_ALG_KEYEDHASH);
		assert_int_equal(sens.authValue.size, 0);
		assert_int_equal(sens.seedValue.size, 32);
		assert_int_equal(sens.sensitive.bits.size, len);
		assert_memory_equal(sens.sensitive.bits.buffer, data, len);
		/* TPM2_Import's check: unique = H_nameAlg(seedValue || data). */
		memcpy(un, sens.seedValue.buffer, 32);
		memcpy(un + 32, data, len);
		assert_non_null(SHA256(un, 32 + len, h));
		assert_int_equal(pub.publicArea.unique.keyedHash.size, 32);
		assert_memory_equal(pub.publicArea.unique.keyedHash.buffer, h, 32);
		/* duplicate = 2 + digest + TPM2B_SENSITIVE (2 + type 2 + auth 2 + seed 2+32 + data 2+len) */
		assert_int_equal(dup.size, 2 + md_size(ek->pub.nameAlg) + 2 + 2 + 2 + 34 + 2 + len);

		/* Fresh every call: another seed, another seedValue, so another unique and Name. */
		assert_int_equal(dup_make_sealed(&ek->pub, data, len, &policy, &pub2, &dup2, &seed2), 0);
		assert_int_equal(seed2.size, seed.size);
		assert_memory_not_equal(seed.secret, seed2.secret, seed.size);
		assert_memory_not_equal(pub.publicArea.unique.keyedHash.buffer, pub2.publicArea.unique.keyedHash.buffer, 32);
		assert_int_equal(dup2.size, dup.size);
		assert_memory_not_equal(dup.buffer, dup2.buffer, dup.size);
		assert_int_equal(import(ek, &pub2, &dup2, &seed2, &sens2), IMP_OK);
		assert_memory_not_equal(sens.seedValue.buffer, sens2.seedValue.buffer, 32);
		assert_memory_equal(sens2.sensitive.bits.buffer, data, len);
		/* The blobs are bound together: one call's duplicate with the other's seed or public. */
		assert_int_not_equal(import(ek, &pub, &dup, &seed2, &sens2), IMP_OK);
		assert_int_equal(import(ek, &pub2, &dup, &seed, &sens2), IMP_HMAC);
	}
}

static void rsa_roundtrip(struct ek *ek, EVP_PKEY *key, unsigned bits, uint32_t want_exponent)
{
	TPM2B_PUBLIC pub, pub2;
	TPM2B_PRIVATE dup, dup2;
	TPM2B_ENCRYPTED_SECRET seed, seed2;
	TPMT_SENSITIVE sens;
	TPM2B_DIGEST policy;
	uint8_t n[384], p[192];
	BIGNUM *bp = NULL, *bn = NULL, *rem = NULL;
	BN_CTX *bctx = NULL;
	size_t nb = bits / 8;

	policy_of(&policy, 9);
	assert_int_equal(dup_make_rsa(&ek->pub, key, &policy, &pub, &dup, &seed), 0);
	check_common_public(&pub, &policy);
	assert_int_equal(pub.publicArea.type, TPM2_ALG_RSA);
	assert_int_equal(pub.publicArea.objectAttributes,
			 TPMA_OBJECT_NODA | TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_SIGN_ENCRYPT);
	assert_int_equal(pub.publicArea.parameters.rsaDetail.symmetric.algorithm, TPM2_ALG_NULL);
	assert_int_equal(pub.publicArea.parameters.rsaDetail.scheme.scheme, TPM2_ALG_RSASSA);
	assert_int_equal(pub.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg, TPM2_ALG_SHA256);
	assert_int_equal(pub.publicArea.parameters.rsaDetail.keyBits, bits);
	assert_int_equal(pub.publicArea.parameters.rsaDetail.exponent, want_exponent);
	bn_out(key, OSSL_PKEY_PARAM_RSA_N, n, nb);
	assert_int_equal(pub.publicArea.unique.rsa.size, nb);
	assert_memory_equal(pub.publicArea.unique.rsa.buffer, n, nb);

	assert_int_equal(import(ek, &pub, &dup, &seed, &sens), IMP_OK);
	assert_int_equal(sens.sensitiveType, TPM2_ALG_RSA);
	assert_int_equal(sens.authValue.size, 0);
	assert_int_equal(sens.seedValue.size, 0);
	assert_int_equal(sens.sensitive.rsa.size, nb / 2);
	bn_out(key, OSSL_PKEY_PARAM_RSA_FACTOR1, p, nb / 2);
	assert_memory_equal(sens.sensitive.rsa.buffer, p, nb / 2);
	/* What the TPM checks when it loads: the prime divides the public modulus. */
	assert_non_null(bctx = BN_CTX_new());
	assert_non_null(bp = BN_bin2bn(sens.sensitive.rsa.buffer, sens.sensitive.rsa.size, NULL));
	assert_non_null(bn = BN_bin2bn(pub.publicArea.unique.rsa.buffer, pub.publicArea.unique.rsa.size, NULL));
	assert_non_null(rem = BN_new());
	assert_int_equal(BN_mod(rem, bn, bp, bctx), 1);
	assert_true(BN_is_zero(rem));
	assert_false(BN_is_one(bp));

	/* Same key again: same public area and Name, but a fresh seed and duplicate. */
	assert_int_equal(dup_make_rsa(&ek->pub, key, &policy, &pub2, &dup2, &seed2), 0);
	assert_memory_equal(&pub, &pub2, sizeof(pub));
	assert_memory_not_equal(seed.secret, seed2.secret, seed.size);
	assert_memory_not_equal(dup.buffer, dup2.buffer, dup.size);
	assert_int_equal(import(ek, &pub2, &dup2, &seed2, &sens), IMP_OK);
	OPENSSL_cleanse(&sens, sizeof(sens));
	BN_free(rem);
	BN_clear_free(bp);
	BN_free(bn);
	BN_CTX_free(bctx);
}

static EVP_PKEY *rsa_key(unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	BIGNUM *be = BN_new();

	assert_non_null(ctx);
	assert_non_null(be);
	assert_int_equal(BN_set_word(be, e), 1);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, be), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &key), 1);
	BN_free(be);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* A single flipped byte anywhere: the duplicate, the encrypted seed, the public area. */
static void tampering(struct ek *ek)
{
	TPM2B_PUBLIC pub, bad_pub;
	TPM2B_PRIVATE dup, bad;
	TPM2B_ENCRYPTED_SECRET seed, bad_seed;
	TPMT_SENSITIVE sens;
	TPM2B_DIGEST policy;
	uint8_t data[32];
	struct ek other;

	policy_of(&policy, 5);
	assert_int_equal(RAND_bytes(data, sizeof(data)), 1);
	assert_int_equal(dup_make_sealed(&ek->pub, data, sizeof(data), &policy, &pub, &dup, &seed), 0);
	assert_int_equal(import(ek, &pub, &dup, &seed, &sens), IMP_OK);
	for (size_t i = 0; i < dup.size; i++) {
		bad = dup;
		bad.buffer[i] ^= 0x01;
		int rc = import(ek, &pub, &bad, &seed, &sens);
		if (rc == IMP_OK)
			fail_msg("duplicate byte %zu flipped still imports", i);
		if (i >= 2)
			assert_int_equal(rc, IMP_HMAC);
	}
	bad = dup;
	bad.size--;
	assert_int_equal(import(ek, &pub, &bad, &seed, &sens), IMP_HMAC);
	for (size_t i = 0; i < seed.size; i++) {
		bad_seed = seed;
		bad_seed.secret[i] ^= 0x01;
		if (import(ek, &pub, &dup, &bad_seed, &sens) == IMP_OK)
			fail_msg("seed byte %zu flipped still imports", i);
	}
	/* Public area: the authPolicy, the attributes (userWithAuth), unique. */
	bad_pub = pub;
	bad_pub.publicArea.authPolicy.buffer[0] ^= 0x01;
	assert_int_equal(import(ek, &bad_pub, &dup, &seed, &sens), IMP_HMAC);
	bad_pub = pub;
	bad_pub.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	assert_int_equal(import(ek, &bad_pub, &dup, &seed, &sens), IMP_HMAC);
	bad_pub = pub;
	bad_pub.publicArea.unique.keyedHash.buffer[31] ^= 0x80;
	assert_int_equal(import(ek, &bad_pub, &dup, &seed, &sens), IMP_HMAC);
	/* Another TPM's EK of the same kind cannot recover the seed or the HMAC key. */
	if (ek->pub.type == TPM2_ALG_RSA)
		ek_rsa(&other);
	else
		ek_ecc(&other, ek->pub.parameters.eccDetail.curveID);
	assert_int_not_equal(import(&other, &pub, &dup, &seed, &sens), IMP_OK);
	ek_free(&other);
}

static void test_rsa_ek(void **state)
{
	struct ek ek;
	EVP_PKEY *k;

	(void)state;
	ek_rsa(&ek);
	sealed_roundtrip(&ek);
	assert_non_null(k = rsa_key(2048, 65537));
	rsa_roundtrip(&ek, k, 2048, 0);
	EVP_PKEY_free(k);
	tampering(&ek);
	ek_free(&ek);
}

static void test_p256_ek(void **state)
{
	struct ek ek;
	EVP_PKEY *k;

	(void)state;
	ek_ecc(&ek, TPM2_ECC_NIST_P256);
	sealed_roundtrip(&ek);
	assert_non_null(k = rsa_key(3072, 65537));
	rsa_roundtrip(&ek, k, 3072, 0);
	EVP_PKEY_free(k);
	/* An exponent other than 65537 is spelt out (0 means 65537 to a TPM). */
	assert_non_null(k = rsa_key(2048, 3));
	rsa_roundtrip(&ek, k, 2048, 3);
	EVP_PKEY_free(k);
	tampering(&ek);
	ek_free(&ek);
}

/* The high-range P-384 EK: SHA-384 nameAlg (48-byte seed and HMAC), AES-256. */
static void test_p384_ek(void **state)
{
	struct ek ek;

	(void)state;
	ek_ecc(&ek, TPM2_ECC_NIST_P384);
	sealed_roundtrip(&ek);
	tampering(&ek);
	ek_free(&ek);
}

static void assert_cleared(const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup, const TPM2B_ENCRYPTED_SECRET *seed)
{
	assert_int_equal(pub->size, 0);
	assert_int_equal(pub->publicArea.type, 0);
	assert_int_equal(dup->size, 0);
	assert_int_equal(dup->buffer[0], 0);
	assert_int_equal(seed->size, 0);
}

/* Make both kinds for parent; both must fail with code, outputs cleared. */
static void expect_parent_refused(const TPMT_PUBLIC *parent, EVP_PKEY *key, int code)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_DIGEST policy;
	uint8_t data[16] = { 1 };

	policy_of(&policy, 1);
	memset(&pub, 0xa5, sizeof(pub));
	memset(&dup, 0xa5, sizeof(dup));
	memset(&seed, 0xa5, sizeof(seed));
	assert_int_equal(dup_make_sealed(parent, data, sizeof(data), &policy, &pub, &dup, &seed), code);
	assert_cleared(&pub, &dup, &seed);
	memset(&pub, 0xa5, sizeof(pub));
	assert_int_equal(dup_make_rsa(parent, key, &policy, &pub, &dup, &seed), code);
	assert_cleared(&pub, &dup, &seed);
}

static void test_parent_refused(void **state)
{
	struct ek ek, ecc;
	TPMT_PUBLIC p;
	EVP_PKEY *k;

	(void)state;
	ek_rsa(&ek);
	ek_ecc(&ecc, TPM2_ECC_NIST_P256);
	assert_non_null(k = rsa_key(2048, 65537));
	/* Not a storage key: restricted or decrypt missing (a signing key, an AK). */
	p = ek.pub;
	p.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	p = ek.pub;
	p.objectAttributes = (p.objectAttributes & ~TPMA_OBJECT_DECRYPT) | TPMA_OBJECT_SIGN_ENCRYPT;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	/* Symmetric definitions a parent must not use: none, AES-CTR, SM4. */
	p = ek.pub;
	p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	p = ek.pub;
	p.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CTR;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	p = ek.pub;
	p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_SM4;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	p = ecc.pub;
	p.parameters.eccDetail.symmetric.keyBits.aes = 64;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	/* Wrong curve: BN P-256 and NIST P-192 have no OpenSSL group here. */
	p = ecc.pub;
	p.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	p = ecc.pub;
	p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P192;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	/* Not an asymmetric parent; unknown nameAlg. */
	p = ek.pub;
	p.type = TPM2_ALG_KEYEDHASH;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	p = ek.pub;
	p.nameAlg = TPM2_ALG_NULL;
	expect_parent_refused(&p, k, AERR_UNSUPPORTED);
	EVP_PKEY_free(k);
	ek_free(&ek);
	ek_free(&ecc);
}

static void test_bad_args(void **state)
{
	struct ek ek;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_DIGEST policy, short_policy;
	uint8_t data[DUP_MAX_SEALED + 1] = { 0 };
	EVP_PKEY *k, *small, *ec, *pubonly = NULL;
	unsigned char *der = NULL;
	const unsigned char *pp;
	int dlen;

	(void)state;
	ek_rsa(&ek);
	policy_of(&policy, 2);
	short_policy = policy;
	short_policy.size = 20;
	assert_non_null(k = rsa_key(2048, 65537));

	assert_int_equal(dup_make_sealed(NULL, data, 16, &policy, &pub, &dup, &seed), AERR_INVALID_ARG);
	assert_int_equal(dup_make_sealed(&ek.pub, NULL, 16, &policy, &pub, &dup, &seed), AERR_INVALID_ARG);
	assert_int_equal(dup_make_sealed(&ek.pub, data, 16, NULL, &pub, &dup, &seed), AERR_INVALID_ARG);
	assert_int_equal(dup_make_sealed(&ek.pub, data, 16, &policy, NULL, &dup, &seed), AERR_INVALID_ARG);
	assert_int_equal(dup_make_sealed(&ek.pub, data, 16, &policy, &pub, NULL, &seed), AERR_INVALID_ARG);
	assert_int_equal(dup_make_sealed(&ek.pub, data, 16, &policy, &pub, &dup, NULL), AERR_INVALID_ARG);
	assert_int_equal(dup_make_sealed(&ek.pub, data, 0, &policy, &pub, &dup, &seed), AERR_INVALID_ARG);
	memset(&pub, 0xa5, sizeof(pub));
	memset(&dup, 0xa5, sizeof(dup));
	memset(&seed, 0xa5, sizeof(seed));
	assert_int_equal(dup_make_sealed(&ek.pub, data, DUP_MAX_SEALED + 1, &policy, &pub, &dup, &seed),
			 AERR_INVALID_ARG);
	assert_cleared(&pub, &dup, &seed);
	assert_non_null(strstr(err_detail(), "129"));
	/* A policy digest that is not SHA-256-sized, and none at all. */
	assert_int_equal(dup_make_sealed(&ek.pub, data, 16, &short_policy, &pub, &dup, &seed), AERR_INVALID_ARG);
	short_policy.size = 0;
	assert_int_equal(dup_make_rsa(&ek.pub, k, &short_policy, &pub, &dup, &seed), AERR_INVALID_ARG);
	assert_int_equal(dup_make_rsa(&ek.pub, NULL, &policy, &pub, &dup, &seed), AERR_INVALID_ARG);
	assert_int_equal(dup_make_rsa(&ek.pub, k, &policy, NULL, &dup, &seed), AERR_INVALID_ARG);

	/* Keys the TPM would not take: RSA-1024, an EC key, a public key only. */
	assert_non_null(small = rsa_key(1024, 65537));
	assert_int_equal(dup_make_rsa(&ek.pub, small, &policy, &pub, &dup, &seed), AERR_UNSUPPORTED);
	assert_non_null(strstr(err_detail(), "1024"));
	assert_non_null(ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	assert_int_equal(dup_make_rsa(&ek.pub, ec, &policy, &pub, &dup, &seed), AERR_UNSUPPORTED);
	assert_true((dlen = i2d_PUBKEY(k, &der)) > 0);
	pp = der;
	assert_non_null(pubonly = d2i_PUBKEY(NULL, &pp, dlen));
	memset(&pub, 0xa5, sizeof(pub));
	assert_int_equal(dup_make_rsa(&ek.pub, pubonly, &policy, &pub, &dup, &seed), AERR_INVALID_ARG);
	assert_cleared(&pub, &dup, &seed);
	assert_int_equal(ERR_peek_error(), 0); /* no stale OpenSSL errors left behind */

	OPENSSL_free(der);
	EVP_PKEY_free(pubonly);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(small);
	EVP_PKEY_free(k);
	ek_free(&ek);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_ek),
		cmocka_unit_test(test_p256_ek),
		cmocka_unit_test(test_p384_ek),
		cmocka_unit_test(test_parent_refused),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
