#define LOG_MODULE "tpm"

#include <string.h>

#include <tss2/tss2_rc.h>

#include "crypto.h"
#include "log.h"
#include "tpmwire.h"

int tpmwire_rc_err(TSS2_RC rc, int code, const char *what, int quiet)
{
	const char *text = Tss2_RC_Decode(rc);

	if (quiet)
		LOG_DEBUG("%s: %s (0x%x)", what, text, rc);
	else
		LOG_ERR("%s: %s (0x%x)", what, text, rc);
	return err_set(code, "%s: %s (0x%x)", what, text, rc);
}

int tpmwire_rc_lost(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	if (rc == TSS2_RC_SUCCESS)
		return 0;
	if (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER)
		return (rc & ~TSS2_RC_LAYER_MASK) == TPM2_RC_INITIALIZE;
	return 1;
}

int tpmwire_credential(const uint8_t *ak_name, size_t ak_name_len, const uint8_t *id_object, size_t id_object_len,
		       const uint8_t *enc_secret, size_t enc_secret_len, TPM2B_NAME *name, TPM2B_ID_OBJECT *blob,
		       TPM2B_ENCRYPTED_SECRET *seed)
{
	int r;

	if ((r = TPMWIRE_PARSE(TPM2B_NAME, ak_name, ak_name_len, name, "ak_name")) != 0 ||
	    (r = TPMWIRE_PARSE(TPM2B_ID_OBJECT, id_object, id_object_len, blob, "credential_blob")) != 0 ||
	    (r = TPMWIRE_PARSE(TPM2B_ENCRYPTED_SECRET, enc_secret, enc_secret_len, seed, "encrypted_secret")) != 0)
		return r;
	if (name->size == 0 || blob->size == 0 || seed->size == 0)
		return err_set(AERR_PARSE, "ak_name, credential_blob and encrypted_secret must not be empty");
	return 0;
}

int tpmwire_secret_public(const uint8_t *buf, size_t len, TPM2B_PUBLIC *pub)
{
	const TPMT_PUBLIC *p = &pub->publicArea;
	size_t dsize;
	int r;

	memset(pub, 0, sizeof(*pub));
	if ((r = TPMWIRE_PARSE(TPM2B_PUBLIC, buf, len, pub, "public")) != 0)
		return r;
	if (pub->size == 0)
		return err_set(AERR_PARSE, "public: empty TPM2B_PUBLIC");
	if (p->type != TPM2_ALG_KEYEDHASH && p->type != TPM2_ALG_RSA)
		return err_set(AERR_UNSUPPORTED, "public: object type 0x%04x is neither KEYEDHASH nor RSA",
			       p->type);
	if (!(dsize = crypto_digest_size(p->nameAlg)))
		return err_set(AERR_UNSUPPORTED, "public: nameAlg 0x%04x is not a known hash", p->nameAlg);
	if (p->objectAttributes & TPMA_OBJECT_USERWITHAUTH)
		return err_set(AERR_INVALID_ARG,
			       "public: userWithAuth is set: the object would be usable without its PCR policy");
	if (p->authPolicy.size != dsize)
		return err_set(AERR_INVALID_ARG, "public: authPolicy of %u bytes, expected %zu (a PCR policy)",
			       p->authPolicy.size, dsize);
	return 0;
}

int tpmwire_import(const uint8_t *pub, size_t pub_len, const uint8_t *dup, size_t dup_len, const uint8_t *seed,
		   size_t seed_len, TPM2B_PUBLIC *p, TPM2B_PRIVATE *d, TPM2B_ENCRYPTED_SECRET *sd)
{
	int r;

	if ((r = tpmwire_secret_public(pub, pub_len, p)) != 0 ||
	    (r = TPMWIRE_PARSE(TPM2B_PRIVATE, dup, dup_len, d, "duplicate")) != 0 ||
	    (r = TPMWIRE_PARSE(TPM2B_ENCRYPTED_SECRET, seed, seed_len, sd, "encrypted_seed")) != 0)
		return r;
	if (d->size == 0 || sd->size == 0)
		return err_set(AERR_PARSE, "duplicate and encrypted_seed must not be empty");
	return 0;
}

int tpmwire_stored(const uint8_t *pub, size_t pub_len, const uint8_t *priv, size_t priv_len, TPM2B_PUBLIC *p,
		   TPM2B_PRIVATE *v)
{
	int r;

	if ((r = tpmwire_secret_public(pub, pub_len, p)) != 0 ||
	    (r = TPMWIRE_PARSE(TPM2B_PRIVATE, priv, priv_len, v, "private")) != 0)
		return r;
	if (v->size == 0)
		return err_set(AERR_PARSE, "private: empty TPM2B_PRIVATE");
	return 0;
}
