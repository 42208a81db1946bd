#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "akpub.h"
#include "array.h"
#include "crypto.h"
#include "tpmpub.h"

/* Hashes an AK may name (nameAlg and signing scheme): SHA-1 is out. */
static int akpub_hash_ok(TPM2_ALG_ID alg)
{
	return alg == TPM2_ALG_SHA256 || alg == TPM2_ALG_SHA384 || alg == TPM2_ALG_SHA512;
}

static const char *akpub_hash_name(TPM2_ALG_ID alg)
{
	const char *n = crypto_alg_name(alg);

	return n ? n : "unknown";
}

/* The attributes that make a key an attestation key, each checked by name so
 * that a rejection says which one is wrong. */
static int akpub_attrs(TPMA_OBJECT a)
{
	static const struct {
		TPMA_OBJECT bit;
		const char *name;
		int want;
	} checks[] = {
		/* created in this TPM and never leaves it: what activation proves */
		{ TPMA_OBJECT_FIXEDTPM, "fixedTPM", 1 },
		{ TPMA_OBJECT_FIXEDPARENT, "fixedParent", 1 },
		{ TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin", 1 },
		{ TPMA_OBJECT_USERWITHAUTH, "userWithAuth", 1 },
		/* restricted signing: the TPM signs only data it produced itself */
		{ TPMA_OBJECT_RESTRICTED, "restricted", 1 },
		{ TPMA_OBJECT_SIGN_ENCRYPT, "sign", 1 },
		{ TPMA_OBJECT_DECRYPT, "decrypt", 0 },
	};

	for (size_t i = 0; i < ARRAY_LEN(checks); i++) {
		int set = (a & checks[i].bit) != 0;

		if (set != checks[i].want)
			return err_set(AERR_AK_ATTRS, "AK attribute %s must be %s (attributes 0x%08x)",
				       checks[i].name, checks[i].want ? "set" : "clear", a);
	}
	return 0;
}

static int akpub_rsa(const TPMT_PUBLIC *ak)
{
	const TPMS_RSA_PARMS *p = &ak->parameters.rsaDetail;

	if (p->symmetric.algorithm != TPM2_ALG_NULL)
		return err_set(AERR_AK_ATTRS, "AK symmetric algorithm 0x%04x must be NULL (a signing key has none)",
			       p->symmetric.algorithm);
	if (p->scheme.scheme == TPM2_ALG_NULL)
		return err_set(AERR_AK_ATTRS, "AK scheme is NULL (the key must pin its signing scheme)");
	if (p->scheme.scheme != TPM2_ALG_RSASSA && p->scheme.scheme != TPM2_ALG_RSAPSS)
		return err_set(AERR_UNSUPPORTED, "AK RSA scheme 0x%04x is not RSASSA or RSAPSS", p->scheme.scheme);
	if (!akpub_hash_ok(p->scheme.details.anySig.hashAlg))
		return err_set(AERR_UNSUPPORTED, "AK scheme hash %s (0x%04x) is not SHA-256/384/512",
			       akpub_hash_name(p->scheme.details.anySig.hashAlg), p->scheme.details.anySig.hashAlg);
	if (p->keyBits < 2048 || p->keyBits > 4096 || p->keyBits % 8)
		return err_set(AERR_UNSUPPORTED, "AK RSA key of %u bits (2048..4096)", p->keyBits);
	if (p->exponent != 0 && p->exponent != 65537)
		return err_set(AERR_UNSUPPORTED, "AK RSA exponent %u (only 65537)", p->exponent);
	if (ak->unique.rsa.size * 8u != p->keyBits)
		return err_set(AERR_AK_ATTRS, "AK RSA modulus of %u bytes for keyBits %u", ak->unique.rsa.size,
			       p->keyBits);
	return 0;
}

static int akpub_ecc(const TPMT_PUBLIC *ak)
{
	const TPMS_ECC_PARMS *p = &ak->parameters.eccDetail;

	if (p->symmetric.algorithm != TPM2_ALG_NULL)
		return err_set(AERR_AK_ATTRS, "AK symmetric algorithm 0x%04x must be NULL (a signing key has none)",
			       p->symmetric.algorithm);
	if (p->scheme.scheme == TPM2_ALG_NULL)
		return err_set(AERR_AK_ATTRS, "AK scheme is NULL (the key must pin its signing scheme)");
	if (p->scheme.scheme != TPM2_ALG_ECDSA)
		return err_set(AERR_UNSUPPORTED, "AK ECC scheme 0x%04x is not ECDSA", p->scheme.scheme);
	if (!akpub_hash_ok(p->scheme.details.anySig.hashAlg))
		return err_set(AERR_UNSUPPORTED, "AK scheme hash %s (0x%04x) is not SHA-256/384/512",
			       akpub_hash_name(p->scheme.details.anySig.hashAlg), p->scheme.details.anySig.hashAlg);
	if (p->curveID != TPM2_ECC_NIST_P256 && p->curveID != TPM2_ECC_NIST_P384)
		return err_set(AERR_UNSUPPORTED, "AK ECC curve 0x%04x is not NIST P-256 or P-384", p->curveID);
	/* A KDF belongs to key agreement, not to a signing key. */
	if (p->kdf.scheme != TPM2_ALG_NULL)
		return err_set(AERR_AK_ATTRS, "AK ECC kdf 0x%04x must be NULL", p->kdf.scheme);
	return 0;
}

int akpub_admit(const TPMT_PUBLIC *ak)
{
	EVP_PKEY *pkey = NULL;
	int r = AERR_INTERNAL;

	if (!ak) {
		r = err_set(AERR_INVALID_ARG, "no AK public area");
		goto out;
	}
	if (ak->type != TPM2_ALG_RSA && ak->type != TPM2_ALG_ECC) {
		r = err_set(AERR_UNSUPPORTED, "AK type 0x%04x is not RSA or ECC", ak->type);
		goto out;
	}
	if (!akpub_hash_ok(ak->nameAlg)) {
		r = err_set(AERR_UNSUPPORTED, "AK nameAlg %s (0x%04x) is not SHA-256/384/512",
			    akpub_hash_name(ak->nameAlg), ak->nameAlg);
		goto out;
	}
	if ((r = akpub_attrs(ak->objectAttributes)) != 0)
		goto out;
	if ((r = ak->type == TPM2_ALG_RSA ? akpub_rsa(ak) : akpub_ecc(ak)) != 0)
		goto out;
	/* Last: the key itself must be usable (ECC point on the curve, RSA modulus sane). */
	if ((r = tpmpub_to_evp(ak, &pkey)) != 0) {
		char why[256];

		/* err_set writes the buffer err_detail() returns: copy it first. */
		snprintf(why, sizeof(why), "%s", err_detail());
		r = err_set(AERR_AK_ATTRS, "AK public key unusable: %s", why);
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_free(pkey);
	return r;
}
