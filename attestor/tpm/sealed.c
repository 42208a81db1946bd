/* Secrets sealed to PCRs: TPM2_Import under the EK, then Unseal or Sign
 * behind PolicyPCR + PolicyCommandCode. */
#define LOG_MODULE "tpm"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "tpm/tpm_priv.h"
#include "tpmpub.h"
#include "tpmwire.h"

int tpm_import(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	       const uint8_t *dup, size_t dup_len, const uint8_t *seed, size_t seed_len,
	       uint8_t *priv, size_t cap, size_t *priv_len)
{
	TPM2B_PUBLIC p;
	TPM2B_PRIVATE d;
	TPM2B_ENCRYPTED_SECRET sd;
	TPM2B_DATA no_inner_key = { 0 };
	TPMT_SYM_DEF_OBJECT no_inner = { .algorithm = TPM2_ALG_NULL };
	TPM2B_PRIVATE *out = NULL;
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int ek_flush = 0, r;
	size_t off = 0;

	*priv_len = 0;
	if ((r = tpm_ready(t)) != 0 || (r = tpm_ek_alg_check(ek_alg)) != 0)
		goto out;
	if ((r = tpmwire_import(pub, pub_len, dup, dup_len, seed, seed_len, &p, &d, &sd)) != 0)
		goto out;
	if ((r = tpm_ek_load(t, ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, ek_alg, &s)) != 0)
		goto out;
	if ((r = ESYS_QUIET(t, Import, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &no_inner_key, &p, &d, &sd,
			    &no_inner, &out)) != 0) {
		/* Parameter errors are the blob's: a seed the EK cannot decrypt
		 * (another TPM's EK), an outer HMAC that fails (altered bytes or
		 * public area), attributes a duplicate may not have. */
		if (tpm_rc_is_param_error(t->last_rc))
			r = err_set(AERR_IMPORT,
				    "the TPM refused the import blob (%s): it was not made for this TPM's %s EK, or it was altered",
				    Tss2_RC_Decode(t->last_rc), tpmpub_type_name(ek_alg));
		else if (tpm_rc_base(t->last_rc) == TPM2_RC_FAILURE && ek_alg == TPM2_ALG_RSA)
			/* libtpms 0.9.2 (Debian 12's swtpm) enters failure mode when
			 * the OAEP decryption of the seed fails, instead of TPM_RC_VALUE. */
			r = err_set(AERR_TPM,
				    "TPM2_Import put the TPM in failure mode (%s): the encrypted seed does not decrypt with this TPM's RSA EK (a blob for another TPM, or altered); the TPM must be restarted",
				    Tss2_RC_Decode(t->last_rc));
		else
			LOG_ERR("%s", err_detail());
		goto out;
	}
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(out, priv, cap, &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "TPM2B_PRIVATE of %u bytes does not fit %zu", out->size, cap);
		goto out;
	}
	*priv_len = off;
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	Esys_Free(out);
	return r;
}

/* Load a stored secret under the EK of ek_alg; the caller flushes *h. */
static int tpm_secret_load(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const TPM2B_PUBLIC *pub,
			   const TPM2B_PRIVATE *priv, ESYS_TR *h)
{
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int ek_flush = 0, r;

	*h = ESYS_TR_NONE;
	if ((r = tpm_ek_load(t, ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, ek_alg, &s)) != 0)
		goto out;
	if ((r = ESYS_QUIET(t, Load, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, h)) != 0) {
		*h = ESYS_TR_NONE;
		/* The private blob is wrapped by the EK that imported it: another
		 * TPM, a changed endorsement seed or altered bytes all end here. */
		if (tpm_rc_is_param_error(t->last_rc))
			r = err_set(AERR_IMPORT,
				    "the secret does not load under this TPM's %s EK (%s): imported by another TPM or EK, or altered",
				    tpmpub_type_name(ek_alg), Tss2_RC_Decode(t->last_rc));
		else
			LOG_ERR("%s", err_detail());
		goto out;
	}
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	return r;
}

/* A policy session (hash = the object's nameAlg) that has run PolicyPCR(sel)
 * with an empty pcrDigest: the TPM folds in its current values, so whether
 * they are the sealed ones shows when the command checks the authPolicy.
 * Objects from our verifier chain PolicyCommandCode(cc) after PolicyPCR (so
 * that the policy grants this one use and not, say, TPM2_Duplicate of a
 * private key); objects whose policy is PolicyPCR alone (tpm2-tools) do not.
 * When the digest after PolicyPCR is not the object's authPolicy, cc is added;
 * a digest that still differs (PCRs changed) fails at the command. */
static int tpm_pcr_session(struct tpm *t, const TPMT_PUBLIC *obj, const TPML_PCR_SELECTION *sel, TPM2_CC cc,
			   ESYS_TR *out)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TPM2B_DIGEST current = { 0 };
	TPM2B_DIGEST *digest = NULL;
	ESYS_TR s = ESYS_TR_NONE;
	int r;

	*out = ESYS_TR_NONE;
	if ((r = ESYS(t, StartAuthSession, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
		      ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, obj->nameAlg, &s)) != 0)
		goto out;
	/* Flushed by the caller in one place, whatever the command does. */
	if ((r = ESYS(t, TRSess_SetAttributes, s, TPMA_SESSION_CONTINUESESSION,
		      TPMA_SESSION_CONTINUESESSION)) != 0)
		goto out;
	if ((r = ESYS(t, PolicyPCR, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, sel)) != 0)
		goto out;
	if ((r = ESYS(t, PolicyGetDigest, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &digest)) != 0)
		goto out;
	if ((digest->size != obj->authPolicy.size ||
	     memcmp(digest->buffer, obj->authPolicy.buffer, digest->size) != 0) &&
	    (r = ESYS(t, PolicyCommandCode, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, cc)) != 0)
		goto out;
	*out = s;
	s = ESYS_TR_NONE; /* transferred */
	r = 0;
out:
	Esys_Free(digest);
	(void)tpm_flush(t, &s);
	return r;
}

enum tpm_use_op { TPM_USE_UNSEAL, TPM_USE_SIGN };

struct tpm_use {
	enum tpm_use_op op;
	const TPM2B_DIGEST *digest;        /* SIGN */
	TPM2B_SENSITIVE_DATA *data;        /* UNSEAL out, Esys-allocated */
	TPMT_SIGNATURE *sig;               /* SIGN out, Esys-allocated */
};

/* Load, PolicyPCR, Unseal or Sign, flush: the part tpm_unseal and tpm_sign share. */
static int tpm_secret_use(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub,
			  size_t pub_len, const uint8_t *priv, size_t priv_len,
			  const TPML_PCR_SELECTION *sel, struct tpm_use *u)
{
	static const TPMT_SIG_SCHEME rsassa = {
		.scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256,
	};
	/* A NULL ticket: the key is not restricted, the TPM needs no proof
	 * that it hashed the data itself. */
	static const TPMT_TK_HASHCHECK no_ticket = { .tag = TPM2_ST_HASHCHECK,
						     .hierarchy = TPM2_RH_NULL };
	TPM2B_PUBLIC p;
	TPM2B_PRIVATE v;
	ESYS_TR obj = ESYS_TR_NONE, s = ESYS_TR_NONE;
	TSS2_RC base;
	int round, r;

	if ((r = tpm_ready(t)) != 0 || (r = tpm_ek_alg_check(ek_alg)) != 0)
		goto out;
	if ((r = tpmwire_stored(pub, pub_len, priv, priv_len, &p, &v)) != 0)
		goto out;
	if (u->op == TPM_USE_SIGN &&
	    (p.publicArea.type != TPM2_ALG_RSA ||
	     !(p.publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
	     (p.publicArea.objectAttributes & TPMA_OBJECT_RESTRICTED))) {
		r = err_set(AERR_INVALID_ARG, "not an unrestricted RSA signing key");
		goto out;
	}
	if (u->op == TPM_USE_UNSEAL && p.publicArea.type != TPM2_ALG_KEYEDHASH) {
		r = err_set(AERR_INVALID_ARG, "not a sealed data object (type 0x%04x)", p.publicArea.type);
		goto out;
	}
	if ((r = tpm_check_selection(t, sel)) != 0)
		goto out;
	if ((r = tpm_secret_load(t, ek_alg, &p, &v, &obj)) != 0)
		goto out;
	for (round = 0;; round++) {
		(void)tpm_flush(t, &s);
		if ((r = tpm_pcr_session(t, &p.publicArea, sel,
					 u->op == TPM_USE_UNSEAL ? TPM2_CC_Unseal : TPM2_CC_Sign, &s)) != 0)
			goto out;
		if (u->op == TPM_USE_UNSEAL)
			r = ESYS_QUIET(t, Unseal, obj, s, ESYS_TR_NONE, ESYS_TR_NONE, &u->data);
		else
			r = ESYS_QUIET(t, Sign, obj, s, ESYS_TR_NONE, ESYS_TR_NONE, u->digest, &rsassa,
				       &no_ticket, &u->sig);
		if (r == 0)
			break;
		base = tpm_rc_base(t->last_rc);
		/* A PCR extended between PolicyPCR and the command: the policy
		 * may still hold with the new values, so evaluate it again. */
		if (base == TPM2_RC_PCR_CHANGED && round + 1 < TPM_POLICY_ROUNDS) {
			LOG_DEBUG("PCRs changed during the policy session (round %d): again", round);
			continue;
		}
		if (base == TPM2_RC_POLICY_FAIL) {
			r = err_set(AERR_PCR_POLICY,
				    "the PCR policy is no longer met (PCRs changed since the secret was sealed)");
			LOG_DEBUG("%s: %s", u->op == TPM_USE_UNSEAL ? "Unseal" : "Sign",
				  Tss2_RC_Decode(t->last_rc));
		} else if (tpm_rc_is_param_error(t->last_rc) || base == TPM2_RC_ATTRIBUTES ||
			   base == TPM2_RC_KEY || base == TPM2_RC_SCHEME) {
			r = err_set(AERR_INVALID_ARG, "the TPM refused to %s with this object: %s",
				    u->op == TPM_USE_UNSEAL ? "unseal" : "sign", Tss2_RC_Decode(t->last_rc));
		} else {
			LOG_ERR("%s", err_detail());
		}
		goto out;
	}
	r = 0;
out:
	(void)tpm_flush(t, &s);
	(void)tpm_flush(t, &obj);
	return r;
}

int tpm_unseal(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	       const uint8_t *priv, size_t priv_len, const TPML_PCR_SELECTION *sel,
	       uint8_t *out, size_t cap, size_t *out_len)
{
	struct tpm_use u = { .op = TPM_USE_UNSEAL };
	int r;

	*out_len = 0;
	if ((r = tpm_secret_use(t, ek_alg, pub, pub_len, priv, priv_len, sel, &u)) != 0)
		goto out;
	if (u.data->size > cap) {
		r = err_set(AERR_TOO_LARGE, "sealed data of %u bytes exceeds %zu", u.data->size, cap);
		goto out;
	}
	memcpy(out, u.data->buffer, u.data->size);
	*out_len = u.data->size;
	r = 0;
out:
	if (u.data) {
		OPENSSL_cleanse(u.data, sizeof(*u.data));
		Esys_Free(u.data);
	}
	return r;
}

int tpm_sign(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	     const uint8_t *priv, size_t priv_len, const TPML_PCR_SELECTION *sel,
	     const uint8_t *digest, size_t digest_len, struct tpm_signature *out)
{
	TPM2B_DIGEST dg = { 0 };
	struct tpm_use u = { .op = TPM_USE_SIGN, .digest = &dg };
	size_t off = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (digest_len != 32) {
		r = err_set(AERR_INVALID_ARG, "digest of %zu bytes, expected 32 (SHA-256)", digest_len);
		goto out;
	}
	dg.size = 32;
	memcpy(dg.buffer, digest, 32);
	if ((r = tpm_secret_use(t, ek_alg, pub, pub_len, priv, priv_len, sel, &u)) != 0)
		goto out;
	if (u.sig->sigAlg != TPM2_ALG_RSASSA || u.sig->signature.rsassa.hash != TPM2_ALG_SHA256 ||
	    u.sig->signature.rsassa.sig.size > sizeof(out->raw)) {
		r = err_set(AERR_TPM, "TPM2_Sign returned scheme 0x%04x, not RSASSA-SHA256",
			    u.sig->sigAlg);
		goto out;
	}
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(u.sig, out->wire, sizeof(out->wire), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "marshal TPMT_SIGNATURE");
		goto out;
	}
	out->wire_len = off;
	memcpy(out->raw, u.sig->signature.rsassa.sig.buffer, u.sig->signature.rsassa.sig.size);
	out->raw_len = u.sig->signature.rsassa.sig.size;
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	Esys_Free(u.sig);
	return r;
}
