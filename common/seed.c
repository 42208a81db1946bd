#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "kdf.h"
#include "seed.h"
#include "tpmpub.h"

int seed_check_parent(const TPMT_PUBLIC *parent)
{
	TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;

	if (!parent)
		return err_set(AERR_INVALID_ARG, "no parent public area");
	if (parent->type != TPM2_ALG_RSA && parent->type != TPM2_ALG_ECC)
		return err_set(AERR_UNSUPPORTED, "parent type 0x%04x is not RSA or ECC", parent->type);
	if (crypto_digest_size(parent->nameAlg) == 0 || !crypto_md(parent->nameAlg))
		return err_set(AERR_UNSUPPORTED, "parent nameAlg 0x%04x", parent->nameAlg);
	if ((parent->objectAttributes & need) != need)
		return err_set(AERR_UNSUPPORTED, "parent is not a storage key (restricted|decrypt missing)");
	return 0;
}

static int seed_rsa(const TPMT_PUBLIC *parent, EVP_PKEY *pkey, const char *label,
		    const uint8_t *seed, size_t seed_len, TPM2B_ENCRYPTED_SECRET *enc)
{
	const EVP_MD *md = crypto_md(parent->nameAlg);
	size_t label_len = strlen(label) + 1, outlen = 0;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *lab = NULL;
	int r = AERR_CRYPTO;

	if ((size_t)EVP_PKEY_get_size(pkey) > sizeof(enc->secret)) {
		r = err_set(AERR_UNSUPPORTED, "RSA parent of %d bytes is too large", EVP_PKEY_get_size(pkey));
		goto out;
	}
	/* OpenSSL takes ownership of the label buffer. */
	if (!(lab = OPENSSL_memdup(label, label_len))) {
		r = err_set(AERR_ALLOC, "OAEP label");
		goto out;
	}
	if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) || EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, (int)label_len) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSA-OAEP setup");
		goto out;
	}
	lab = NULL; /* transferred */
	outlen = sizeof(enc->secret);
	if (EVP_PKEY_encrypt(ctx, enc->secret, &outlen, seed, seed_len) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSA-OAEP encrypt of the seed");
		goto out;
	}
	enc->size = (UINT16)outlen;
	r = 0;
out:
	OPENSSL_free(lab);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* x and y of an EC public key, left-padded to cs bytes. */
static int ec_point(EVP_PKEY *key, size_t cs, TPMS_ECC_POINT *pt)
{
	BIGNUM *x = NULL, *y = NULL;
	int r = AERR_CRYPTO;

	memset(pt, 0, sizeof(*pt));
	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2binpad(x, pt->x.buffer, (int)cs) != (int)cs ||
	    BN_bn2binpad(y, pt->y.buffer, (int)cs) != (int)cs) {
		r = crypto_ossl_err(AERR_CRYPTO, "ephemeral EC point");
		goto out;
	}
	pt->x.size = pt->y.size = (UINT16)cs;
	r = 0;
out:
	BN_free(x);
	BN_free(y);
	return r;
}

static int seed_ecc(const TPMT_PUBLIC *parent, EVP_PKEY *pkey, const char *label, uint8_t *seed,
		    size_t seed_len, TPM2B_ENCRYPTED_SECRET *enc)
{
	TPMI_ECC_CURVE curve = parent->parameters.eccDetail.curveID;
	size_t cs = tpmpub_ecc_coord_size(curve), zlen = 0, off = 0;
	const char *group = tpmpub_ecc_group(curve);
	uint8_t z[66];
	EVP_PKEY *eph = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	TPMS_ECC_POINT pt;
	int r = AERR_CRYPTO;

	if (!group || cs == 0 || cs > sizeof(z)) {
		r = err_set(AERR_UNSUPPORTED, "parent ECC curve 0x%04x", curve);
		goto out;
	}
	if (!(eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group))) {
		r = crypto_ossl_err(AERR_CRYPTO, "ephemeral EC key");
		goto out;
	}
	zlen = sizeof(z);
	/* OpenSSL's ECDH result is the x-coordinate, padded to the field size: Z. */
	if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, pkey) <= 0 || EVP_PKEY_derive(ctx, z, &zlen) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "ECDH with the parent key");
		goto out;
	}
	if (zlen != cs) {
		r = err_set(AERR_INTERNAL, "ECDH gave %zu bytes for a %zu-byte curve", zlen, cs);
		goto out;
	}
	if ((r = ec_point(eph, cs, &pt)) != 0)
		goto out;
	/* PartyVInfo is the parent's x exactly as its public area holds it: the
	 * TPM uses its own stored value, whatever its length. */
	if ((r = kdf_e(parent->nameAlg, z, zlen, label, pt.x.buffer, pt.x.size,
		       parent->unique.ecc.x.buffer, parent->unique.ecc.x.size,
		       (uint32_t)(seed_len * 8), seed)) != 0)
		goto out;
	if (Tss2_MU_TPMS_ECC_POINT_Marshal(&pt, enc->secret, sizeof(enc->secret), &off) !=
	    TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "cannot marshal the ephemeral point");
		goto out;
	}
	enc->size = (UINT16)off;
	r = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph); /* the ephemeral private key dies here */
	return r;
}

int seed_make(const TPMT_PUBLIC *parent, const char *label, uint8_t *seed, size_t *seed_len,
	      TPM2B_ENCRYPTED_SECRET *enc)
{
	EVP_PKEY *pkey = NULL;
	size_t dsize;
	int r = AERR_INTERNAL;

	if (seed_len)
		*seed_len = 0;
	if (enc)
		memset(enc, 0, sizeof(*enc));
	if (!seed || !seed_len || !enc || !label) {
		r = err_set(AERR_INVALID_ARG, "seed_make: NULL argument");
		goto out;
	}
	if ((r = seed_check_parent(parent)) != 0)
		goto out;
	dsize = crypto_digest_size(parent->nameAlg);
	if ((r = tpmpub_to_evp(parent, &pkey)) != 0)
		goto out;
	if (parent->type == TPM2_ALG_RSA) {
		if ((r = crypto_random(seed, dsize)) != 0)
			goto out;
		r = seed_rsa(parent, pkey, label, seed, dsize, enc);
	} else {
		r = seed_ecc(parent, pkey, label, seed, dsize, enc);
	}
	if (r != 0)
		goto out;
	*seed_len = dsize;
	r = 0;
out:
	if (r != 0) {
		if (seed)
			OPENSSL_cleanse(seed, SEED_MAX);
		if (enc)
			memset(enc, 0, sizeof(*enc));
	}
	EVP_PKEY_free(pkey);
	return r;
}
