/* The attestation key: created under the EK, loaded again from its saved
 * context, and activated (TPM2_ActivateCredential). */
#define LOG_MODULE "tpm"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "tpm/tpm_priv.h"
#include "tpmpub.h"
#include "tpmwire.h"

int64_t tpm_ak_create_cost_ms(const struct tpm *t)
{
	if (t->ak.have)
		return 0;
	/* RSA key generation in swtpm: prime search, 66-276 ms measured; plus an
	 * RSA EK CreatePrimary when not cached. */
	return (t->ak_alg == TPM2_ALG_RSA ? 400 : 20) + (t->ek_alg == TPM2_ALG_RSA ? 60 : 5);
}

static int tpm_ak_create(struct tpm *t)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC in = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION no_pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int ek_flush = 0, r;

	if ((r = tpm_ek_load(t, t->ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, t->ek_alg, &s)) != 0)
		goto out;
	tpmpub_ak_template(t->ak_alg, &in.publicArea);
	if ((r = ESYS(t, Create, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &in, &outside, &no_pcrs,
		      &priv, &pub, NULL, NULL, NULL)) != 0)
		goto out;
	if ((r = tpmpub_name(&pub->publicArea, &t->ak.name)) != 0)
		goto out;
	t->ak.priv = *priv;
	t->ak.pub = *pub;
	Esys_Free(t->ak.saved);
	t->ak.saved = NULL;
	t->ak.have = 1;
	LOG_INFO("created a new AK (%s) under the %s EK", tpmpub_type_name(t->ak_alg),
		 ek_kind_name(t->ek[tpm_ek_index(t->ek_alg)].kind));
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	Esys_Free(priv);
	Esys_Free(pub);
	return r;
}

/* Load the AK (creating it on first use); the caller flushes *h. */
int tpm_ak_load(struct tpm *t, ESYS_TR *h)
{
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE, obj = ESYS_TR_NONE;
	int ek_flush = 0, r;

	*h = ESYS_TR_NONE;
	if (!t->ak.have && (r = tpm_ak_create(t)) != 0)
		goto out;
	if ((r = tpm_context_reload(t, &t->ak.saved, "AK", h)) != 0) {
		r = r > 0 ? 0 : r;
		goto out;
	}
	if ((r = tpm_ek_load(t, t->ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, t->ek_alg, &s)) != 0)
		goto out;
	if ((r = ESYS(t, Load, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &t->ak.priv, &t->ak.pub, &obj)) != 0)
		goto out;
	if (!t->no_cache && ESYS(t, ContextSave, obj, &t->ak.saved) != 0)
		t->ak.saved = NULL; /* only a cache */
	*h = obj;
	obj = ESYS_TR_NONE; /* transferred */
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	(void)tpm_flush(t, &obj);
	return r;
}

int tpm_ak_renew(struct tpm *t)
{
	/* The old AK's blobs and saved context are simply forgotten: it was never
	 * persistent, and a verifier that activated it learns of the new one in
	 * the next exchange. */
	int r = tpm_ready(t);

	if (r != 0)
		return r;
	Esys_Free(t->ak.saved);
	t->ak.saved = NULL;
	t->ak.have = 0;
	OPENSSL_cleanse(&t->ak.priv, sizeof(t->ak.priv));
	return tpm_ak_create(t);
}

int tpm_ak_get(struct tpm *t, struct tpm_ak *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = tpm_ready(t)) != 0)
		return r;
	if (!t->ak.have && (r = tpm_ak_create(t)) != 0)
		return r;
	if ((r = tpmpub_marshal(&t->ak.pub.publicArea, out->pub, sizeof(out->pub), &out->pub_len)) != 0)
		return r;
	out->name = t->ak.name;
	out->parent_ek_alg = t->ek_alg;
	return 0;
}

int tpm_activate_credential(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *ak_name,
			    size_t ak_name_len, const uint8_t *id_object, size_t id_object_len,
			    const uint8_t *enc_secret, size_t enc_secret_len, uint8_t *secret,
			    size_t cap, size_t *secret_len)
{
	TPM2B_NAME name;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_DIGEST *cert_info = NULL;
	ESYS_TR ak = ESYS_TR_NONE, ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int ek_flush = 0, r;

	*secret_len = 0;
	if ((r = tpm_ready(t)) != 0 || (r = tpm_ek_alg_check(ek_alg)) != 0)
		goto out;
	if ((r = tpmwire_credential(ak_name, ak_name_len, id_object, id_object_len, enc_secret, enc_secret_len,
				    &name, &blob, &seed)) != 0)
		goto out;
	if (!t->ak.have) {
		r = err_set(AERR_STATE, "no AK yet: call GetAttestationKey first");
		goto out;
	}
	if (name.size != t->ak.name.size || memcmp(name.name, t->ak.name.name, name.size) != 0) {
		r = err_set(AERR_STATE, "ak_name is not the name of this attestor's AK");
		goto out;
	}
	if ((r = tpm_ak_load(t, &ak)) != 0)
		goto out;
	if ((r = tpm_ek_load(t, ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, ek_alg, &s)) != 0)
		goto out;
	/* AK: admin role by its (empty) password, adminWithPolicy is clear. */
	if ((r = ESYS(t, ActivateCredential, ak, ek, ESYS_TR_PASSWORD, s, ESYS_TR_NONE, &blob, &seed,
		      &cert_info)) != 0) {
		if (tpm_rc_is_param_error(t->last_rc))
			r = err_set(AERR_CREDENTIAL, "the TPM rejected the credential: %s",
				    Tss2_RC_Decode(t->last_rc));
		goto out;
	}
	if (cert_info->size > cap) {
		r = err_set(AERR_INTERNAL, "certInfo of %u bytes exceeds %zu", cert_info->size, cap);
		goto out;
	}
	memcpy(secret, cert_info->buffer, cert_info->size);
	*secret_len = cert_info->size;
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	(void)tpm_flush(t, &ak);
	if (cert_info) {
		OPENSSL_cleanse(cert_info, sizeof(*cert_info));
		Esys_Free(cert_info);
	}
	return r;
}
