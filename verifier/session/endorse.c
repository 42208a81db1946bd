/* The endorsement step's checks: the EK the attestor chose for the
 * configured algorithm, its public area against the TCG EK templates,
 * its key material, its certificate chain and the platform certificate
 * bound to it, unless these exact bytes passed before (the cache). */
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "session"
#include "ektemplate.h"
#include "endorsement/ekcert.h"
#include "endorsement/platformcert.h"
#include "log.h"
#include "session/keycache.h"
#include "session/session_priv.h"
#include "tpmpub.h"

/* A configured key type: "rsa", "ecc", or "any" (TPM2_ALG_NULL). */
const char *session_alg_text(TPM2_ALG_ID alg)
{
	const char *name = tpmpub_type_name(alg);

	return name ? name : alg == TPM2_ALG_NULL ? "any" : "unknown";
}

/* The checks of the chosen EK's key material and certificates: what the
 * endorsement cache lets a re-attestation skip. */
static int endorse_certs(struct session *s, const struct session_ek *chosen, const struct session_endorsement *in)
{
	EVP_PKEY *pk = NULL;
	int r;

	/* Proves the key material itself is usable (RSA size, point on curve). */
	if ((r = tpmpub_to_evp(&s->ek, &pk)) != 0)
		return err_wrap(r, "EK public key");
	EVP_PKEY_free(pk);

	if (s->p.require_ek_cert) {
		if (!s->ek_has_cert)
			return err_set(AERR_EK_CERT, "the TPM has no %s EK certificate", session_alg_text(s->p.ek_alg));
		if ((r = ekcert_verify(s->p.ek_trust, chosen->cert, chosen->cert_len, &s->ek)) != 0)
			return r;
	}
	if (s->p.platform_trust) {
		if (in->platform_cert && in->platform_cert_len > 0) {
			if (!s->ek_has_cert)
				return err_set(AERR_PLATFORM_CERT, "platform certificate cannot be bound: no EK certificate");
			if ((r = platformcert_verify(s->p.platform_trust, in->platform_cert, in->platform_cert_len,
						     chosen->cert, chosen->cert_len, &s->ek)) != 0)
				return r;
		} else if (s->p.require_platform_cert) {
			return err_set(AERR_PLATFORM_CERT, "the TPM has no platform certificate");
		}
	}
	return 0;
}

int session_check_endorsement(struct session *s, const struct session_endorsement *in)
{
	const struct session_ek *chosen = NULL;
	uint8_t key[KEYCACHE_KEY_LEN] = { 0 };
	enum ek_kind kind;
	int r;

	if (!in || in->n_eks > SESSION_MAX_EKS)
		return err_set(AERR_PARSE, "endorsement: %zu EKs", in ? in->n_eks : 0);
	for (size_t i = 0; i < in->n_eks; i++) {
		if (in->eks[i].alg != TPM2_ALG_RSA && in->eks[i].alg != TPM2_ALG_ECC)
			return err_set(AERR_UNSUPPORTED, "EK %zu: algorithm 0x%04x", i, in->eks[i].alg);
		if (in->eks[i].alg != s->p.ek_alg)
			continue;
		if (chosen)
			return err_set(AERR_PARSE, "two %s EKs in the endorsement", session_alg_text(s->p.ek_alg));
		chosen = &in->eks[i];
	}
	if (!chosen)
		return err_set(AERR_NOT_FOUND, "the TPM sent no %s EK (ek_alg = %s)", session_alg_text(s->p.ek_alg),
			       session_alg_text(s->p.ek_alg));
	if ((r = tpmpub_parse(chosen->pub, chosen->pub_len, &s->ek)) != 0)
		return err_wrap(r, "EK public");
	if (s->ek.type != chosen->alg)
		return err_set(AERR_PARSE, "EK labelled %s has type 0x%04x", session_alg_text(chosen->alg), s->ek.type);
	/* Only for the record of a rejected attempt: which EK it claimed. */
	if (tpmpub_identity(&s->ek, s->ek_claimed) != 0) {
		s->ek_claimed[0] = '\0';
		err_clear();
	}
	/* The key must come from a TCG EK template: otherwise an attacker
	 * holding a certified EK could present some other decryption key of
	 * the TPM, or an EK with an auth value of its choosing, as "the EK". */
	if ((r = ek_kind_of(&s->ek, &kind)) != 0)
		return r;
	s->ek_has_cert = chosen->cert && chosen->cert_len > 0;
	if (s->ek_has_cert) {
		if (!(s->ek_cert = malloc(chosen->cert_len)))
			return err_set(AERR_ALLOC, "EK certificate");
		memcpy(s->ek_cert, chosen->cert, chosen->cert_len);
		s->ek_cert_len = chosen->cert_len;
	}
	if (!s->p.require_ek_cert)
		LOG_WARN("require_ek_cert = false: the %s EK is not authenticated", session_alg_text(s->p.ek_alg));

	if (s->p.ek_cache &&
	    (r = keycache_key(chosen->pub, chosen->pub_len, chosen->cert, chosen->cert_len, in->platform_cert,
			      in->platform_cert_len, key)) != 0)
		return r;
	if (keycache_contains(s->p.ek_cache, key)) {
		LOG_DEBUG("endorsement: these exact EK and certificate bytes passed before");
	} else {
		if ((r = endorse_certs(s, chosen, in)) != 0)
			return r;
		keycache_add(s->p.ek_cache, key);
	}
	/* Verified now, or these very bytes with these trust stores before:
	 * what the certificates say may be recorded once the TPM is proven. */
	s->ek_cert_verified = s->p.require_ek_cert && s->ek_has_cert;
	free(s->platform_cert);
	s->platform_cert = NULL;
	s->platform_cert_len = 0;
	if (s->p.platform_trust && in->platform_cert && in->platform_cert_len && s->ek_has_cert) {
		if (!(s->platform_cert = malloc(in->platform_cert_len)))
			return err_set(AERR_ALLOC, "platform certificate");
		memcpy(s->platform_cert, in->platform_cert, in->platform_cert_len);
		s->platform_cert_len = in->platform_cert_len;
	}
	s->endorsement_checked = 1;
	LOG_DEBUG("endorsement accepted: %s EK of host '%s' (untrusted name)", ek_kind_name(kind),
		  in->hostname ? in->hostname : "");
	return 0;
}
