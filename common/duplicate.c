#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "duplicate.h"
#include "seed.h"
#include "tpmpub.h"
#include "wrap.h"

#define DUP_NAME_ALG TPM2_ALG_SHA256
#define DUP_DIGEST 32

static void dup_clear(TPM2B_PUBLIC *pub, TPM2B_PRIVATE *dup, TPM2B_ENCRYPTED_SECRET *seed)
{
	if (pub)
		memset(pub, 0, sizeof(*pub));
	if (dup)
		OPENSSL_cleanse(dup, sizeof(*dup));
	if (seed)
		memset(seed, 0, sizeof(*seed));
}

/* What both kinds check before any work: arguments and the parent. */
static int dup_check_args(const TPMT_PUBLIC *parent, const TPM2B_DIGEST *auth_policy,
			  const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup,
			  const TPM2B_ENCRYPTED_SECRET *seed)
{
	int r;

	if (!parent || !auth_policy || !pub || !dup || !seed)
		return err_set(AERR_INVALID_ARG, "duplicate: NULL argument");
	/* userWithAuth is clear: without a policy the object could never be used,
	 * and the TPM refuses an authPolicy that is not nameAlg-sized. */
	if (auth_policy->size != DUP_DIGEST)
		return err_set(AERR_INVALID_ARG, "duplicate: authPolicy of %u bytes, SHA-256 needs %d",
			       auth_policy->size, DUP_DIGEST);
	if ((r = seed_check_parent(parent)) != 0 || (r = wrap_check_parent(parent)) != 0)
		return err_wrap(r, "new parent");
	return 0;
}

/* The common tail: Name(obj), marshal the sensitive area as TPM2B_SENSITIVE,
 * share a "DUPLICATE" seed with parent, outer-wrap. */
static int dup_wrap(const TPMT_PUBLIC *parent, const TPMT_PUBLIC *obj, const TPMT_SENSITIVE *sens,
		    TPM2B_PUBLIC *pub, TPM2B_PRIVATE *dup, TPM2B_ENCRYPTED_SECRET *enc_seed)
{
	uint8_t plain[2 + sizeof(TPMT_SENSITIVE)], seed[SEED_MAX], pubbuf[sizeof(TPM2B_PUBLIC)];
	size_t off = 2, seed_len = 0, dup_len = 0, pub_len = 0;
	TPM2B_NAME name;
	int r = AERR_INTERNAL;

	if ((r = tpmpub_marshal(obj, pubbuf, sizeof(pubbuf), &pub_len)) != 0)
		goto out;
	if ((r = tpmpub_name(obj, &name)) != 0)
		goto out;
	if (Tss2_MU_TPMT_SENSITIVE_Marshal(sens, plain, sizeof(plain), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "duplicate: cannot marshal the sensitive area");
		goto out;
	}
	plain[0] = (uint8_t)((off - 2) >> 8);
	plain[1] = (uint8_t)(off - 2);
	if ((r = seed_make(parent, "DUPLICATE", seed, &seed_len, enc_seed)) != 0)
		goto out;
	if ((r = wrap_outer(parent, seed, seed_len, &name, plain, off, dup->buffer, sizeof(dup->buffer),
			    &dup_len)) != 0)
		goto out;
	dup->size = (UINT16)dup_len;
	pub->size = (UINT16)(pub_len - 2);
	pub->publicArea = *obj;
	r = 0;
out:
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(seed, sizeof(seed));
	return r;
}

static void dup_public_common(TPMT_PUBLIC *obj, TPMI_ALG_PUBLIC type, TPMA_OBJECT attrs,
			      const TPM2B_DIGEST *auth_policy)
{
	memset(obj, 0, sizeof(*obj));
	obj->type = type;
	obj->nameAlg = DUP_NAME_ALG;
	obj->objectAttributes = attrs;
	obj->authPolicy.size = auth_policy->size;
	memcpy(obj->authPolicy.buffer, auth_policy->buffer, auth_policy->size);
}

int dup_make_sealed(const TPMT_PUBLIC *parent, const uint8_t *data, size_t len,
		    const TPM2B_DIGEST *auth_policy, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *dup,
		    TPM2B_ENCRYPTED_SECRET *seed)
{
	uint8_t unique_in[DUP_DIGEST + DUP_MAX_SEALED];
	TPMT_SENSITIVE sens;
	TPMT_PUBLIC obj;
	int r = AERR_INTERNAL;

	memset(&sens, 0, sizeof(sens));
	dup_clear(pub, dup, seed);
	if ((r = dup_check_args(parent, auth_policy, pub, dup, seed)) != 0)
		goto out;
	if (!data || len == 0 || len > DUP_MAX_SEALED) {
		r = err_set(AERR_INVALID_ARG, "sealed data of %zu bytes (1..%d)", data ? len : 0,
			    DUP_MAX_SEALED);
		goto out;
	}
	dup_public_common(&obj, TPM2_ALG_KEYEDHASH, DUP_ATTRS_SEALED, auth_policy);
	obj.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;

	sens.sensitiveType = TPM2_ALG_KEYEDHASH;
	/* The seedValue keeps unique from revealing a guessable data's hash. */
	sens.seedValue.size = DUP_DIGEST;
	if ((r = crypto_random(sens.seedValue.buffer, DUP_DIGEST)) != 0)
		goto out;
	sens.sensitive.bits.size = (UINT16)len;
	memcpy(sens.sensitive.bits.buffer, data, len);

	/* TPM2_Import checks unique == H_nameAlg(seedValue || data). */
	memcpy(unique_in, sens.seedValue.buffer, DUP_DIGEST);
	memcpy(unique_in + DUP_DIGEST, data, len);
	if ((r = crypto_digest(DUP_NAME_ALG, unique_in, DUP_DIGEST + len, obj.unique.keyedHash.buffer)) != 0)
		goto out;
	obj.unique.keyedHash.size = DUP_DIGEST;

	r = dup_wrap(parent, &obj, &sens, pub, dup, seed);
out:
	if (r != 0)
		dup_clear(pub, dup, seed);
	OPENSSL_cleanse(&sens, sizeof(sens));
	OPENSSL_cleanse(unique_in, sizeof(unique_in));
	return r;
}

/* BIGNUM parameter name of an RSA key as exactly len big-endian bytes. */
static int dup_rsa_param(EVP_PKEY *key, const char *param, const char *what, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;
	int r = AERR_INTERNAL;

	if (!EVP_PKEY_get_bn_param(key, param, &bn)) {
		ERR_clear_error(); /* absent, not broken: a public key has no primes */
		r = err_set(AERR_INVALID_ARG, "RSA key has no %s (a public key?)", what);
		goto out;
	}
	if ((size_t)BN_num_bytes(bn) != len || BN_bn2binpad(bn, out, (int)len) != (int)len) {
		r = err_set(AERR_UNSUPPORTED, "RSA key: %s of %d bytes, want %zu", what, BN_num_bytes(bn), len);
		goto out;
	}
	r = 0;
out:
	BN_clear_free(bn);
	return r;
}

int dup_make_rsa(const TPMT_PUBLIC *parent, EVP_PKEY *rsa_key, const TPM2B_DIGEST *auth_policy,
		 TPM2B_PUBLIC *pub, TPM2B_PRIVATE *dup, TPM2B_ENCRYPTED_SECRET *seed)
{
	TPMT_SENSITIVE sens;
	TPMT_PUBLIC obj;
	BIGNUM *e = NULL, *f3 = NULL;
	size_t nbytes;
	int bits, r = AERR_INTERNAL;

	memset(&sens, 0, sizeof(sens));
	dup_clear(pub, dup, seed);
	if ((r = dup_check_args(parent, auth_policy, pub, dup, seed)) != 0)
		goto out;
	if (!rsa_key) {
		r = err_set(AERR_INVALID_ARG, "duplicate: no RSA key");
		goto out;
	}
	/* RSA-PSS-only keys (EVP_PKEY_RSA_PSS) carry restrictions a TPM key cannot express. */
	if (EVP_PKEY_get_base_id(rsa_key) != EVP_PKEY_RSA) {
		r = err_set(AERR_UNSUPPORTED, "key type %d is not RSA", EVP_PKEY_get_base_id(rsa_key));
		goto out;
	}
	bits = EVP_PKEY_get_bits(rsa_key);
	if (bits != 2048 && bits != 3072) {
		r = err_set(AERR_UNSUPPORTED, "RSA key of %d bits (2048 or 3072)", bits);
		goto out;
	}
	nbytes = (size_t)bits / 8;
	/* The TPM derives q = n / p: a multi-prime key would not survive that. */
	if (EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_FACTOR3, &f3)) {
		r = err_set(AERR_UNSUPPORTED, "multi-prime RSA key");
		goto out;
	}
	ERR_clear_error(); /* the probe's "not found" is no error */
	if (!EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_E, &e)) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSA public exponent");
		goto out;
	}
	if (BN_num_bits(e) > 32 || BN_is_zero(e)) {
		r = err_set(AERR_UNSUPPORTED, "RSA public exponent of %d bits (a TPM holds 32)", BN_num_bits(e));
		goto out;
	}

	dup_public_common(&obj, TPM2_ALG_RSA, DUP_ATTRS_RSA, auth_policy);
	obj.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	obj.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
	obj.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
	obj.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
	/* 0 is the TPM's way of saying 65537; the Name depends on which is used. */
	obj.parameters.rsaDetail.exponent = BN_get_word(e) == 65537 ? 0 : (UINT32)BN_get_word(e);
	if ((r = dup_rsa_param(rsa_key, OSSL_PKEY_PARAM_RSA_N, "modulus", obj.unique.rsa.buffer, nbytes)) != 0)
		goto out;
	obj.unique.rsa.size = (UINT16)nbytes;

	sens.sensitiveType = TPM2_ALG_RSA;
	if ((r = dup_rsa_param(rsa_key, OSSL_PKEY_PARAM_RSA_FACTOR1, "private prime p",
			       sens.sensitive.rsa.buffer, nbytes / 2)) != 0)
		goto out;
	sens.sensitive.rsa.size = (UINT16)(nbytes / 2);

	r = dup_wrap(parent, &obj, &sens, pub, dup, seed);
out:
	if (r != 0)
		dup_clear(pub, dup, seed);
	OPENSSL_cleanse(&sens, sizeof(sens));
	BN_free(e);
	BN_clear_free(f3);
	return r;
}
