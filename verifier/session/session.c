#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#define LOG_MODULE "session"
#include "akpub.h"
#include "array.h"
#include "credential.h"
#include "clock.h"
#include "crypto.h"
#include "session/keycache.h"
#include "eventlog.h"
#include "ima.h"
#include "log.h"
#include "session/session.h"
#include "tpmpub.h"

enum nonce_state { NONCE_NONE = 0, NONCE_ISSUED, NONCE_USED };

/* Why the AK is bound to the EK. */
enum ak_binding {
	AK_UNBOUND = 0,  /* not yet, or a new challenge is out (session_reactivate) */
	AK_ACTIVATED,    /* the credential was activated in this session */
	AK_FROM_STORE,   /* the store's record: activated in an earlier session */
};

/* Whose IMA replay the session continues. */
enum ima_origin {
	IMA_NONE = 0,
	IMA_REPLAYED,    /* this session replayed it */
	IMA_FROM_STORE,  /* an earlier session's, as the store kept it (maybe of another boot) */
};

struct session {
	struct session_params p;
	enum session_state state;      /* written by enter() and failed() only, along session_machine */

	TPMT_PUBLIC ek;
	char ek_hash[65];              /* tpmpub_identity of ek, from the endorsement on */
	int ek_has_cert;
	uint8_t *ek_cert;              /* a copy of its certificate, for the node's record once proven */
	size_t ek_cert_len;
	TPMT_PUBLIC ak;
	TPM2B_NAME ak_name;

	uint8_t secret[SESSION_SECRET_LEN];
	int secret_live;

	struct {
		uint8_t value[SESSION_NONCE_LEN];
		enum nonce_state state;
		uint64_t issued_ms;
		int preissued;                 /* handed out with the last verdict (session_quote_preissued) */
		struct session_resume resume;  /* ... and what that verdict's quote showed */
	} nonce;

	int quoted_before;
	uint32_t last_reset_count, last_restart_count;
	uint64_t last_clock;
	uint64_t anchor_ms, anchor_clock;  /* of the last quote over a fresh nonce (session_resume) */

	int proven;                    /* the peer proved the EK's TPM (session/session.h) */

	struct session_prior prior;    /* the store's record of this node */
	struct {
		enum ak_binding how;
		int boot_known;
		uint32_t boot;         /* the resetCount the binding holds for (check_counters) */
	} binding;
	char next_reason[256];         /* why the last quote asked for another step (session_next_reason) */

	enum ima_origin ima_origin;
	uint64_t ima_new;              /* entries the last IMA check replayed */
	uint32_t ima_reset_count;      /* the boot the replay below belongs to */
	struct ima_replay_state ima;   /* PCR 10 replayed so far (re-quote rounds continue it) */

	struct secret_blob *blobs;     /* delivered, awaiting proofs */
	size_t nblobs;

	struct session_verdict verdict;
};

static const char *const state_names[] = {
	"NEW", "ENDORSED", "AK_ADMITTED", "REACTIVATE_DUE", "ACTIVATED", "QUOTED", "SECRETS_SENT", "FAILED",
};

/* The state machine in one place: the calls each state admits and the
 * states it may move to (every state but FAILED may also fail). A call a
 * state does not admit is refused with AERR_STATE and changes nothing;
 * some calls have one more guard, named at the call. The unit test
 * (test_session_machine) walks every state with every call. */
enum session_call {
	CALL_ENDORSE,          /* session_endorse, session_endorse_known */
	CALL_SET_PRIOR,
	CALL_AK,
	CALL_ACTIVATE,
	CALL_REACTIVATE,
	CALL_QUOTE_REQUEST,
	CALL_QUOTE_PREISSUED,  /* guard: the AK is bound by the store */
	CALL_QUOTE,            /* guard: a nonce was issued */
	CALL_NEXT_REQUEST,     /* guard: the verdict passed */
	CALL_SECRETS,          /* guard: the verdict passed */
	CALL_RECEIPT,
};

#define ONE(x) (1u << (x))

static const struct {
	uint32_t calls;  /* ONE(enum session_call) */
	uint32_t moves;  /* ONE(enum session_state) */
} session_machine[] = {
	[SESSION_NEW] = { ONE(CALL_ENDORSE), ONE(SESSION_ENDORSED) },
	/* A known AK (the store's) skips the challenge. */
	[SESSION_ENDORSED] = { ONE(CALL_SET_PRIOR) | ONE(CALL_AK), ONE(SESSION_AK_ADMITTED) | ONE(SESSION_ACTIVATED) },
	[SESSION_AK_ADMITTED] = { ONE(CALL_ACTIVATE), ONE(SESSION_ACTIVATED) },
	[SESSION_REACTIVATE_DUE] = { ONE(CALL_REACTIVATE), ONE(SESSION_AK_ADMITTED) },
	/* A quote from another boot than the AK's activation: activation again. */
	[SESSION_ACTIVATED] = { ONE(CALL_QUOTE_REQUEST) | ONE(CALL_QUOTE_PREISSUED) | ONE(CALL_QUOTE),
				ONE(SESSION_QUOTED) | ONE(SESSION_REACTIVATE_DUE) },
	[SESSION_QUOTED] = { ONE(CALL_QUOTE_REQUEST) | ONE(CALL_QUOTE) | ONE(CALL_NEXT_REQUEST) | ONE(CALL_SECRETS),
			     ONE(SESSION_QUOTED) | ONE(SESSION_REACTIVATE_DUE) | ONE(SESSION_SECRETS_SENT) },
	[SESSION_SECRETS_SENT] = { ONE(CALL_RECEIPT), ONE(SESSION_QUOTED) },
	[SESSION_FAILED] = { 0, 0 },
};

static int admits(const struct session *s, enum session_call call)
{
	return (session_machine[s->state].calls & ONE(call)) != 0;
}

static const char *const step_names[] = {
	"endorsement", "ak", "activation", "quote request", "quote", "secrets", "receipt",
};

const char *session_state_name(enum session_state st)
{
	return (unsigned)st < ARRAY_LEN(state_names) ? state_names[st] : "?";
}

const char *session_step_name(enum session_step step)
{
	return (unsigned)step < ARRAY_LEN(step_names) ? step_names[step] : "?";
}

static uint64_t monotonic_ms(void *arg)
{
	(void)arg;
	return clock_mono_ms();
}

static uint64_t now_ms(const struct session *s)
{
	return s->p.clock_ms ? s->p.clock_ms(s->p.clock_arg) : monotonic_ms(NULL);
}

static void drop_blobs(struct session *s)
{
	if (s->blobs) {
		OPENSSL_cleanse(s->blobs, s->nblobs * sizeof(*s->blobs));
		free(s->blobs);
	}
	s->blobs = NULL;
	s->nblobs = 0;
}

static void wipe_secret(struct session *s)
{
	OPENSSL_cleanse(s->secret, sizeof(s->secret));
	s->secret_live = 0;
}

/* A configured key type: "rsa", "ecc", or "any" (TPM2_ALG_NULL). */
static const char *alg_text(TPM2_ALG_ID alg)
{
	const char *name = tpmpub_type_name(alg);

	return name ? name : alg == TPM2_ALG_NULL ? "any" : "unknown";
}

/* A step arrived in the wrong state: refuse it without touching the session,
 * so a confused or hostile peer gains nothing and loses nothing by retrying. */
static int out_of_order(const struct session *s, enum session_step step)
{
	return err_set(AERR_STATE, "%s not allowed in state %s", session_step_name(step),
		       session_state_name(s->state));
}

/* A check failed: the session is over; remember why. */
static int failed(struct session *s, enum session_step step, int code)
{
	struct session_verdict *v = &s->verdict;

	wipe_secret(s);
	drop_blobs(s);
	OPENSSL_cleanse(s->nonce.value, sizeof(s->nonce.value));
	s->state = SESSION_FAILED;
	memset(v, 0, sizeof(*v));
	v->pass = 0;
	v->code = code;
	v->step = step;
	snprintf(v->reason, sizeof(v->reason), "%s: %s", err_str(code), err_detail());
	snprintf(v->peer_reason, sizeof(v->peer_reason), "%s: %s", err_str(code), err_public_detail());
	LOG_INFO("%s failed: %s", session_step_name(step), v->reason);
	return code;
}

/* The one way a step moves the session on: along the table, or (a bug
 * here, never a peer's doing) not at all but to FAILED. */
static int enter(struct session *s, enum session_step step, enum session_state to)
{
	if (!(session_machine[s->state].moves & ONE(to)))
		return failed(s, step, err_set(AERR_INTERNAL, "session: no move %s -> %s", session_state_name(s->state),
					       session_state_name(to)));
	s->state = to;
	return 0;
}

int session_new(const struct session_params *params, struct session **out)
{
	struct session *s;

	*out = NULL;
	if (!params || (params->ek_alg != TPM2_ALG_RSA && params->ek_alg != TPM2_ALG_ECC))
		return err_set(AERR_INVALID_ARG, "session: ek_alg must be RSA or ECC");
	if (params->ak_alg != TPM2_ALG_RSA && params->ak_alg != TPM2_ALG_ECC && params->ak_alg != TPM2_ALG_NULL)
		return err_set(AERR_INVALID_ARG, "session: ak_alg must be RSA, ECC or NULL (any)");
	if (params->require_ek_cert && !params->ek_trust)
		return err_set(AERR_INVALID_ARG, "session: require_ek_cert without an EK trust store");
	if (params->require_platform_cert && !params->platform_trust)
		return err_set(AERR_INVALID_ARG, "session: require_platform_cert without a platform trust store");
	if (params->pcrs.count == 0)
		return err_set(AERR_INVALID_ARG, "session: empty PCR selection");
	if (!(s = calloc(1, sizeof(*s))))
		return err_set(AERR_ALLOC, "out of memory");
	s->p = *params;
	s->state = SESSION_NEW;
	*out = s;
	return 0;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	drop_blobs(s);
	free(s->ek_cert);
	/* The secrets only: the rest (public keys, PCR values, the IMA replay:
	 * kilobytes) is not worth wiping on every re-attestation. */
	wipe_secret(s);
	OPENSSL_cleanse(s->nonce.value, sizeof(s->nonce.value));
	free(s);
}

enum session_state session_get_state(const struct session *s)
{
	return s->state;
}

const struct session_verdict *session_last_verdict(const struct session *s)
{
	return &s->verdict;
}

const TPMT_PUBLIC *session_ak_public(const struct session *s)
{
	return s->state >= SESSION_AK_ADMITTED && s->state != SESSION_FAILED ? &s->ak : NULL;
}

const TPM2B_NAME *session_ak_name(const struct session *s)
{
	return s->state >= SESSION_AK_ADMITTED && s->state != SESSION_FAILED ? &s->ak_name : NULL;
}

const TPMT_PUBLIC *session_ek_public(const struct session *s)
{
	return s->state >= SESSION_ENDORSED && s->state != SESSION_FAILED ? &s->ek : NULL;
}

/* The key must come from the TCG default EK template (L-1 RSA-2048 / L-2 ECC
 * P-256): otherwise an attacker holding a certified EK could present some other
 * decryption key of the TPM, or an EK with a usable auth value, as "the EK". */
static int ek_check_template(const TPMT_PUBLIC *ek)
{
	const TPMT_SYM_DEF_OBJECT *sym;
	TPMT_PUBLIC t;

	if (ek->nameAlg != TPM2_ALG_SHA256)
		return err_set(AERR_UNSUPPORTED, "EK nameAlg 0x%04x is not SHA-256 (TCG default template)",
			       ek->nameAlg);
	tpmpub_ek_template(TPM2_ALG_RSA, &t); /* attributes and policy: the same for ECC */
	if (ek->objectAttributes != t.objectAttributes)
		return err_set(AERR_UNSUPPORTED, "EK attributes 0x%08x differ from the TCG default template 0x%08x",
			       (unsigned)ek->objectAttributes, (unsigned)t.objectAttributes);
	if (ek->authPolicy.size != t.authPolicy.size ||
	    memcmp(ek->authPolicy.buffer, t.authPolicy.buffer, t.authPolicy.size) != 0)
		return err_set(AERR_UNSUPPORTED, "EK authPolicy is not PolicySecret(TPM_RH_ENDORSEMENT)");
	if (ek->type == TPM2_ALG_RSA) {
		const TPMS_RSA_PARMS *r = &ek->parameters.rsaDetail;
		sym = &r->symmetric;
		if (r->scheme.scheme != TPM2_ALG_NULL || r->keyBits != 2048 || (r->exponent != 0 && r->exponent != 65537))
			return err_set(AERR_UNSUPPORTED, "RSA EK parameters (scheme 0x%04x, %u bits, exponent %u) "
				       "differ from the TCG default template", r->scheme.scheme, r->keyBits, r->exponent);
	} else if (ek->type == TPM2_ALG_ECC) {
		const TPMS_ECC_PARMS *e = &ek->parameters.eccDetail;
		sym = &e->symmetric;
		if (e->scheme.scheme != TPM2_ALG_NULL || e->curveID != TPM2_ECC_NIST_P256 || e->kdf.scheme != TPM2_ALG_NULL)
			return err_set(AERR_UNSUPPORTED, "ECC EK parameters (scheme 0x%04x, curve 0x%04x, kdf 0x%04x) "
				       "differ from the TCG default template", e->scheme.scheme, e->curveID, e->kdf.scheme);
	} else {
		return err_set(AERR_UNSUPPORTED, "EK type 0x%04x", ek->type);
	}
	if (sym->algorithm != TPM2_ALG_AES || sym->keyBits.aes != 128 || sym->mode.aes != TPM2_ALG_CFB)
		return err_set(AERR_UNSUPPORTED, "EK symmetric is not AES-128-CFB");
	return 0;
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
			return err_set(AERR_EK_CERT, "the TPM has no %s EK certificate", alg_text(s->p.ek_alg));
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

static int endorse(struct session *s, const struct session_endorsement *in)
{
	const struct session_ek *chosen = NULL;
	uint8_t key[KEYCACHE_KEY_LEN] = { 0 };
	int r;

	if (!in || in->n_eks > SESSION_MAX_EKS)
		return err_set(AERR_PARSE, "endorsement: %zu EKs", in ? in->n_eks : 0);
	for (size_t i = 0; i < in->n_eks; i++) {
		if (in->eks[i].alg != TPM2_ALG_RSA && in->eks[i].alg != TPM2_ALG_ECC)
			return err_set(AERR_UNSUPPORTED, "EK %zu: algorithm 0x%04x", i, in->eks[i].alg);
		if (in->eks[i].alg != s->p.ek_alg)
			continue;
		if (chosen)
			return err_set(AERR_PARSE, "two %s EKs in the endorsement", alg_text(s->p.ek_alg));
		chosen = &in->eks[i];
	}
	if (!chosen)
		return err_set(AERR_NOT_FOUND, "the TPM sent no %s EK (ek_alg = %s)", alg_text(s->p.ek_alg),
			       alg_text(s->p.ek_alg));
	if ((r = tpmpub_parse(chosen->pub, chosen->pub_len, &s->ek)) != 0)
		return err_wrap(r, "EK public");
	if (s->ek.type != chosen->alg)
		return err_set(AERR_PARSE, "EK labelled %s has type 0x%04x", alg_text(chosen->alg), s->ek.type);
	if ((r = ek_check_template(&s->ek)) != 0)
		return r;
	s->ek_has_cert = chosen->cert && chosen->cert_len > 0;
	if (s->ek_has_cert) {
		if (!(s->ek_cert = malloc(chosen->cert_len)))
			return err_set(AERR_ALLOC, "EK certificate");
		memcpy(s->ek_cert, chosen->cert, chosen->cert_len);
		s->ek_cert_len = chosen->cert_len;
	}
	if (!s->p.require_ek_cert)
		LOG_WARN("require_ek_cert = false: the %s EK is not authenticated", alg_text(s->p.ek_alg));

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
	LOG_DEBUG("endorsement accepted: %s EK of host '%s' (untrusted name)", alg_text(s->p.ek_alg),
		  in->hostname ? in->hostname : "");
	return 0;
}

int session_endorse(struct session *s, const struct session_endorsement *in)
{
	int r;

	if (!admits(s, CALL_ENDORSE))
		return out_of_order(s, SESSION_STEP_ENDORSEMENT);
	if ((r = endorse(s, in)) != 0)
		return failed(s, SESSION_STEP_ENDORSEMENT, r);
	/* Computed once: the store, the logs and the secret hosts all ask. */
	if ((r = tpmpub_identity(&s->ek, s->ek_hash)) != 0)
		return failed(s, SESSION_STEP_ENDORSEMENT, r);
	return enter(s, SESSION_STEP_ENDORSEMENT, SESSION_ENDORSED);
}

static int admit_ak(struct session *s, const struct session_ak *in)
{
	int r;

	if ((r = tpmpub_parse(in->pub, in->pub_len, &s->ak)) != 0)
		return err_wrap(r, "AK public");
	if ((r = akpub_admit(&s->ak)) != 0)
		return r;
	if (s->p.ak_alg != TPM2_ALG_NULL && s->ak.type != s->p.ak_alg)
		return err_set(AERR_AK_ATTRS, "AK is %s, configuration accepts %s",
			       tpmpub_type_name(s->ak.type) ? tpmpub_type_name(s->ak.type) : "other",
			       alg_text(s->p.ak_alg));
	if (in->parent_ek_alg != s->p.ek_alg)
		LOG_DEBUG("AK parent is the %s EK; the credential is for the %s EK",
			  alg_text(in->parent_ek_alg), alg_text(s->p.ek_alg));
	return tpmpub_name(&s->ak, &s->ak_name);
}

/* A fresh secret and its credential for (EK, AK name). */
static int make_challenge(struct session *s, struct session_challenge *out)
{
	int r;

	if ((r = crypto_random(s->secret, sizeof(s->secret))) != 0)
		return r;
	s->secret_live = 1;
	out->ek_alg = s->p.ek_alg;
	out->ak_name = s->ak_name;
	if ((r = credential_make(&s->ek, &s->ak_name, s->secret, sizeof(s->secret), &out->blob,
				 &out->enc_seed)) != 0)
		return r;
	return 0;
}

int session_ak(struct session *s, const struct session_ak *in, struct session_challenge *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!admits(s, CALL_AK))
		return out_of_order(s, SESSION_STEP_AK);
	if ((r = admit_ak(s, in)) != 0)
		return failed(s, SESSION_STEP_AK, r);
	/* The AK this TPM activated before: bound to the EK already. Its quotes
	 * still have to show the boot it was activated in (see check_counters). */
	if (s->prior.ak_name_len && s->prior.ak_name_len == s->ak_name.size &&
	    memcmp(s->prior.ak_name, s->ak_name.name, s->ak_name.size) == 0) {
		s->binding.how = AK_FROM_STORE;
		s->binding.boot_known = s->prior.has_counts;
		s->binding.boot = s->prior.reset_count;
		return enter(s, SESSION_STEP_AK, SESSION_ACTIVATED);
	}
	if ((r = make_challenge(s, out)) != 0) {
		memset(out, 0, sizeof(*out));
		return failed(s, SESSION_STEP_AK, r);
	}
	return enter(s, SESSION_STEP_AK, SESSION_AK_ADMITTED);
}

int session_set_prior(struct session *s, const struct session_prior *prior, int enrolled)
{
	if (!admits(s, CALL_SET_PRIOR))
		return err_set(AERR_STATE, "prior state only between endorsement and AK (state %s)",
			       session_state_name(s->state));
	if (!enrolled)
		return failed(s, SESSION_STEP_ENDORSEMENT,
			      err_set(AERR_NOT_FOUND, "this TPM's node is not enrolled (enrollment = explicit; "
				      "an operator enrolls it with verifier enroll)"));
	if (prior->ak_name_len > sizeof(s->prior.ak_name))
		return err_set(AERR_INVALID_ARG, "prior AK name of %zu bytes", prior->ak_name_len);
	s->prior = *prior;
	if (prior->has_ima) {
		s->ima = prior->ima;
		s->ima_reset_count = prior->ima_reset;
		s->ima_origin = IMA_FROM_STORE;
	}
	return 0;
}

int session_ak_preactivated(const struct session *s)
{
	return s->binding.how == AK_FROM_STORE;
}

int session_reactivate(struct session *s, struct session_challenge *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!admits(s, CALL_REACTIVATE))
		return out_of_order(s, SESSION_STEP_ACTIVATION);
	if ((r = make_challenge(s, out)) != 0) {
		memset(out, 0, sizeof(*out));
		return failed(s, SESSION_STEP_ACTIVATION, r);
	}
	s->binding.how = AK_UNBOUND;
	s->binding.boot_known = 0;
	/* A new boot: the stored IMA replay is of the old one. */
	if (s->ima_origin == IMA_FROM_STORE)
		s->ima_origin = IMA_NONE;
	return enter(s, SESSION_STEP_ACTIVATION, SESSION_AK_ADMITTED);
}

int session_activate(struct session *s, const uint8_t *secret, size_t len)
{
	int ok;

	if (!admits(s, CALL_ACTIVATE) || !s->secret_live)
		return out_of_order(s, SESSION_STEP_ACTIVATION);
	/* Length first (it is not secret), then constant time over the bytes. */
	ok = secret && len == sizeof(s->secret) && CRYPTO_memcmp(secret, s->secret, len) == 0;
	wipe_secret(s);
	if (!ok) {
		if (len != sizeof(s->secret))
			err_set(AERR_CREDENTIAL, "activated secret is %zu bytes, issued %zu", len, sizeof(s->secret));
		else
			err_set(AERR_CREDENTIAL, "activated secret differs from the issued one: "
				"the AK is not in the TPM of the EK");
		return failed(s, SESSION_STEP_ACTIVATION, AERR_CREDENTIAL);
	}
	s->binding.how = AK_ACTIVATED;
	s->proven = 1;
	return enter(s, SESSION_STEP_ACTIVATION, SESSION_ACTIVATED);
}

int session_proven(const struct session *s)
{
	return s->proven;
}

int session_reject(struct session *s, enum session_step step, int code)
{
	if (s->state == SESSION_FAILED)
		return code;
	return failed(s, step, code);
}

const uint8_t *session_ek_cert(const struct session *s, size_t *len)
{
	*len = s->ek_cert_len;
	return s->ek_cert;
}

/* What every quote request carries besides its nonce. */
static void request_fill(const struct session *s, const uint8_t nonce[SESSION_NONCE_LEN],
			 struct session_quote_request *out)
{
	memcpy(out->nonce, nonce, SESSION_NONCE_LEN);
	out->nonce_len = SESSION_NONCE_LEN;
	out->pcrs = s->p.pcrs;
	out->ima_offset = s->ima_origin != IMA_NONE ? s->ima.count : 0;
}

int session_next_request(const struct session *s, struct session_resume *resume, struct session_quote_request *out)
{
	int r;

	memset(resume, 0, sizeof(*resume));
	memset(out, 0, sizeof(*out));
	if (!admits(s, CALL_NEXT_REQUEST) || !s->verdict.pass)
		return err_set(AERR_STATE, "no passing verdict to hand the next quote request out with");
	if ((r = crypto_random(resume->nonce, sizeof(resume->nonce))) != 0)
		return r;
	resume->issued_ms = now_ms(s);
	resume->reset_count = s->verdict.reset_count;
	resume->restart_count = s->verdict.restart_count;
	resume->clock = s->verdict.clock;
	resume->anchor_ms = s->anchor_ms;
	resume->anchor_clock = s->anchor_clock;
	request_fill(s, resume->nonce, out);
	return 0;
}

int session_endorse_known(struct session *s, const TPMT_PUBLIC *ek)
{
	int r;

	if (!admits(s, CALL_ENDORSE))
		return out_of_order(s, SESSION_STEP_ENDORSEMENT);
	if (ek->type != s->p.ek_alg)
		return failed(s, SESSION_STEP_ENDORSEMENT,
			      err_set(AERR_NOT_FOUND, "the kept EK is not the configured EK algorithm"));
	s->ek = *ek;
	if ((r = tpmpub_identity(&s->ek, s->ek_hash)) != 0)
		return failed(s, SESSION_STEP_ENDORSEMENT, r);
	return enter(s, SESSION_STEP_ENDORSEMENT, SESSION_ENDORSED);
}

int session_quote_preissued(struct session *s, const struct session_resume *r)
{
	if (!admits(s, CALL_QUOTE_PREISSUED) || s->binding.how != AK_FROM_STORE)
		return out_of_order(s, SESSION_STEP_QUOTE_REQUEST);
	memcpy(s->nonce.value, r->nonce, sizeof(s->nonce.value));
	s->nonce.state = NONCE_ISSUED;
	s->nonce.issued_ms = r->issued_ms;
	s->nonce.preissued = 1;
	s->nonce.resume = *r;
	return 0;
}

/* No verdict yet: the quote verified, but the caller asks for what next
 * (a fresh quote, or activation again) first, for the reason given, which
 * session_next_reason keeps. */
static void ask_next(struct session *s, enum session_next *next, enum session_next what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void ask_next(struct session *s, enum session_next *next, enum session_next what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->next_reason, sizeof(s->next_reason), fmt, ap);
	va_end(ap);
	*next = what;
}

/* A quote answering a pre-issued nonce may have been made any time since the
 * verdict that handed it out: the TPM's clock says when, measured from the
 * anchor (the last quote of this boot over a fresh nonce, made after that
 * nonce was issued). SESSION_NEXT_REQUOTE when it cannot show the quote is
 * as fresh as nonce_ttl, or the clock ran ahead of the verifier's
 * (TPM2_ClockSet forward, to quote now and answer later). */
static void check_preissued(struct session *s, const TPMS_CLOCK_INFO *c, uint64_t now, enum session_next *next)
{
	const struct session_resume *r = &s->nonce.resume;
	uint64_t wall, tpm, ahead_max, age;

	if (c->resetCount != r->reset_count || c->restartCount != r->restart_count || c->clock < r->clock ||
	    c->clock < r->anchor_clock) {
		ask_next(s, next, SESSION_NEXT_REQUOTE, "the pre-issued nonce's quote is from another boot or power "
			 "cycle (resetCount %u -> %u, restartCount %u -> %u): a fresh nonce", r->reset_count,
			 c->resetCount, r->restart_count, c->restartCount);
		return;
	}
	if (c->safe != TPM2_YES) {
		ask_next(s, next, SESSION_NEXT_REQUOTE, "the quote's clockInfo.safe is NO (the TPM may have reported "
			 "a later clock before): its clock cannot date the quote, a fresh nonce");
		return;
	}
	wall = now >= r->anchor_ms ? now - r->anchor_ms : 0;
	tpm = c->clock - r->anchor_clock;
	/* A TPM's clock rate is within a fraction of a percent. */
	ahead_max = wall + 100 + wall / 1000;
	if (tpm > ahead_max) {
		LOG_WARN("TPM clock of EK %.16s... ran %llu ms ahead of the verifier's in %llu ms (TPM2_ClockSet?)",
			 s->ek_hash, (unsigned long long)(tpm - wall), (unsigned long long)wall);
		ask_next(s, next, SESSION_NEXT_REQUOTE, "the TPM clock advanced %llu ms in %llu ms since the last "
			 "fresh quote: it cannot date the quote for the pre-issued nonce, a fresh nonce",
			 (unsigned long long)tpm, (unsigned long long)wall);
		return;
	}
	/* The quote was made at least tpm after the anchor's nonce was issued. */
	age = wall > tpm ? wall - tpm : 0;
	if (age > s->p.nonce_ttl_ms)
		ask_next(s, next, SESSION_NEXT_REQUOTE, "the quote for the pre-issued nonce may have been made %llu ms "
			 "before it came (TPM clock +%llu ms in %llu ms since the last fresh quote), more than "
			 "nonce_ttl allows: a fresh nonce", (unsigned long long)age, (unsigned long long)tpm,
			 (unsigned long long)wall);
}

int session_quote_request(struct session *s, struct session_quote_request *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!admits(s, CALL_QUOTE_REQUEST))
		return out_of_order(s, SESSION_STEP_QUOTE_REQUEST);
	/* A new request retires any older nonce: only the newest one is valid. */
	if ((r = crypto_random(s->nonce.value, sizeof(s->nonce.value))) != 0)
		return failed(s, SESSION_STEP_QUOTE_REQUEST, r);
	s->nonce.state = NONCE_ISSUED;
	s->nonce.issued_ms = now_ms(s);
	s->nonce.preissued = 0;
	request_fill(s, s->nonce.value, out);
	return 0;
}

/* The boot event log, when sent (or required), must reproduce every quoted
 * PCR of eventlog_pcrs in every quoted bank. Only after the quote verified:
 * the values compared with are the proven ones. */
static int check_event_log(struct session *s, const struct session_quote *in, const struct quoted_state *q)
{
	struct eventlog *log = NULL;
	int r;

	if (!in->event_log_len)
		return s->p.require_event_log ? err_set(AERR_EVENTLOG, "no boot event log was sent (require_event_log)")
					      : 0;
	if ((r = eventlog_parse(in->event_log, in->event_log_len, &log)) != 0)
		return err_wrap(r, "boot event log");
	r = eventlog_check_pcrs(log, &q->pcrs, s->p.eventlog_pcrs & pcrsel_mask_any(&s->p.pcrs));
	if (r == 0 && s->p.boot_policy)
		r = bootpolicy_check(s->p.boot_policy, log, &s->p.pcrs, s->p.eventlog_pcrs);
	eventlog_free(log);
	if (r != 0)
		return r == AERR_PCR_DIGEST ? err_wrap(AERR_EVENTLOG, "boot event log") : err_wrap(r, "boot event log");
	return 0;
}

/* The IMA list: entries from ima_first, continuing this session's replay of
 * this boot (entry 0 starts it afresh); replayed up to the prefix the quoted
 * PCR 10 covers. */
static int check_ima(struct session *s, const struct session_quote *in, const struct quoted_state *q,
		     enum session_next *next)
{
	static const TPM2_ALG_ID banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };
	struct ima_replay_state st;
	struct ima_list *list = NULL;
	size_t used = 0;
	int r;

	if (!in->ima_len && !in->ima_first)
		return s->p.require_ima ? err_set(AERR_EVENTLOG, "no IMA list was sent (require_ima)") : 0;
	if (in->ima_first == 0 || s->ima_origin == IMA_NONE || s->ima_reset_count != q->clock.resetCount) {
		if (in->ima_first != 0 && s->ima_origin == IMA_FROM_STORE) {
			/* The offset came from an earlier session, of another boot:
			 * ask again, from entry 0. */
			s->ima_origin = IMA_NONE;
			ask_next(s, next, SESSION_NEXT_REQUOTE, "IMA list continues entry %llu of boot %u, the "
				 "quote is from boot %u", (unsigned long long)in->ima_first, s->ima_reset_count,
				 q->clock.resetCount);
			return 0;
		}
		if (in->ima_first != 0)
			return err_set(AERR_EVENTLOG, "IMA list starts at entry %llu, but this verifier holds none of "
				       "this boot", (unsigned long long)in->ima_first);
		if ((r = ima_replay_init(&st, banks, 2, IMA_REPLAY_PER_BANK)) != 0)
			return r;
	} else {
		st = s->ima;
		if (in->ima_first != st.count)
			return err_set(AERR_EVENTLOG, "IMA list starts at entry %llu, expected %llu",
				       (unsigned long long)in->ima_first, (unsigned long long)st.count);
	}
	if ((r = ima_parse(in->ima, in->ima_len, in->ima_first, &list)) != 0 ||
	    (r = ima_list_verify(list, NULL)) != 0 ||
	    (r = ima_replay_to_quote(&st, list, &q->pcrs, 1u << IMA_PCR, &used)) != 0) {
		r = err_wrap(r == AERR_PCR_DIGEST ? AERR_EVENTLOG : r, "IMA list");
		goto out;
	}
	/* Judged: only the entries the quote vouches for. */
	if (s->p.ima_policy && (r = imapolicy_check(s->p.ima_policy, list, used)) != 0)
		goto out;
	s->ima = st;
	s->ima_origin = IMA_REPLAYED;
	s->ima_new = used;
	s->ima_reset_count = q->clock.resetCount;
	r = 0;
out:
	ima_list_free(list);
	return r;
}

/* The quote's counters against the last ones known (this session's previous
 * quote, else the store's): a TPM never counts backwards, and its clock only
 * moves forward within one boot. Then the activation: a quote from another
 * boot than the AK was activated in asks for activation again (not a failure:
 * a reboot). */
static int check_counters(struct session *s, const TPMS_CLOCK_INFO *c, enum session_next *next)
{
	int known = s->quoted_before || s->prior.has_counts;
	uint32_t reset = s->quoted_before ? s->last_reset_count : s->prior.reset_count;
	uint32_t restart = s->quoted_before ? s->last_restart_count : s->prior.restart_count;
	uint64_t clock = s->quoted_before ? s->last_clock : s->prior.clock;

	if (known && c->resetCount < reset)
		return err_set(AERR_COUNTERS, "resetCount went backwards (%u after %u): the TPM's state was rolled "
			       "back or replaced", c->resetCount, reset);
	if (known && c->resetCount == reset && c->restartCount < restart)
		return err_set(AERR_COUNTERS, "restartCount went backwards (%u after %u) within boot %u",
			       c->restartCount, restart, reset);
	if (known && c->resetCount == reset && c->clock < clock)
		return err_set(AERR_COUNTERS, "the TPM clock went backwards within boot %u (%llu ms after %llu ms)",
			       reset, (unsigned long long)c->clock, (unsigned long long)clock);
	if (s->binding.boot_known && c->resetCount != s->binding.boot) {
		ask_next(s, next, SESSION_NEXT_REACTIVATE, "resetCount %u, the AK was activated in boot %u: "
			 "activate it again", c->resetCount, s->binding.boot);
		return 0;
	}
	s->binding.boot_known = 1;
	s->binding.boot = c->resetCount;
	return 0;
}

/* The AK's EVP_PKEY: from the cache of AKs seen before, else built (and
 * kept there). The caller frees it. */
static int ak_pkey(struct session *s, EVP_PKEY **out)
{
	uint8_t key[KEYCACHE_KEY_LEN];
	int r;

	*out = NULL;
	if (s->p.ak_keys) {
		if ((r = keycache_key(s->ak_name.name, s->ak_name.size, NULL, 0, NULL, 0, key)) != 0)
			return r;
		if (keycache_pkey(s->p.ak_keys, key, out))
			return 0;
	}
	if ((r = tpmpub_to_evp(&s->ak, out)) != 0)
		return r;
	if (s->p.ak_keys)
		keycache_add_pkey(s->p.ak_keys, key, *out);
	return 0;
}

/* A quote that verified but asks for another step before a verdict (*next):
 * the session stays open, its used nonce goes. */
static int not_a_verdict(struct session *s)
{
	LOG_INFO("%s", s->next_reason);
	OPENSSL_cleanse(s->nonce.value, sizeof(s->nonce.value));
	return 0;
}

const char *session_next_reason(const struct session *s)
{
	return s->next_reason;
}

int session_quote(struct session *s, const struct session_quote *in, struct session_verdict *verdict,
		  enum session_next *next)
{
	struct session_verdict *v = &s->verdict;
	struct quoted_state q;
	EVP_PKEY *pkey = NULL;
	uint64_t now, age;
	int r;

	if (verdict)
		memset(verdict, 0, sizeof(*verdict));
	*next = SESSION_NEXT_VERDICT;
	s->next_reason[0] = '\0';
	if (!admits(s, CALL_QUOTE) || s->nonce.state == NONCE_NONE)
		return out_of_order(s, SESSION_STEP_QUOTE);
	if (s->nonce.state == NONCE_USED) {
		r = err_set(AERR_NONCE, "the issued nonce was already used: replayed quote");
		goto fail;
	}
	/* Single use: consumed before anything else can fail. */
	s->nonce.state = NONCE_USED;
	now = now_ms(s);
	age = now >= s->nonce.issued_ms ? now - s->nonce.issued_ms : 0;
	/* A pre-issued nonce is older by design: the TPM clock decides below. */
	if (!s->nonce.preissued && age >= s->p.nonce_ttl_ms) {
		r = err_set(AERR_NONCE, "nonce expired: issued %llu ms ago, ttl %u ms", (unsigned long long)age,
			    s->p.nonce_ttl_ms);
		goto fail;
	}
	if (!in || !in->values) {
		r = err_set(AERR_PARSE, "quote without PCR values");
		goto fail;
	}
	if ((r = ak_pkey(s, &pkey)) != 0)
		goto fail;
	r = quote_verify_pkey(&s->ak, pkey, in->attest, in->attest_len, in->sig, in->sig_len, s->nonce.value,
			      sizeof(s->nonce.value), &s->p.pcrs, in->values, &q);
	EVP_PKEY_free(pkey);
	/* An AK bound to this EK (activated in this session, or before by the
	 * store's record) signed this session's nonce: the TPM is here. */
	if (q.proven)
		s->proven = 1;
	if (r != 0)
		goto fail;
	if ((r = check_counters(s, &q.clock, next)) != 0)
		goto fail;
	if (*next == SESSION_NEXT_REACTIVATE) {
		/* The caller asks for activation (session_reactivate). */
		if ((r = enter(s, SESSION_STEP_QUOTE, SESSION_REACTIVATE_DUE)) != 0)
			return r;
		return not_a_verdict(s);
	}
	if (s->nonce.preissued && (check_preissued(s, &q.clock, now, next), *next != SESSION_NEXT_VERDICT))
		return not_a_verdict(s); /* the caller asks for a quote with a fresh nonce */
	if (s->p.policy && (r = policy_check(s->p.policy, &q)) != 0)
		goto fail;
	if ((r = check_event_log(s, in, &q)) != 0)
		goto fail;
	if ((r = check_ima(s, in, &q, next)) != 0)
		goto fail;
	if (*next != SESSION_NEXT_VERDICT)
		return not_a_verdict(s);

	memset(v, 0, sizeof(*v));
	v->pass = s->p.has_reference;
	v->unjudged = !s->p.has_reference;
	if (v->unjudged) {
		snprintf(v->reason, sizeof(v->reason), "verified, unjudged: the verifier has no reference ([policy] "
			 "PCR values, boot_policy or ima_policy) to judge this node's PCR state by");
		snprintf(v->peer_reason, sizeof(v->peer_reason), "%s", v->reason);
	}
	v->step = SESSION_STEP_QUOTE;
	v->reset_count = q.clock.resetCount;
	v->restart_count = q.clock.restartCount;
	v->clock = q.clock.clock;
	memcpy(v->nonce, s->nonce.value, sizeof(s->nonce.value));
	v->nonce_len = sizeof(s->nonce.value);
	v->reboot_seen = s->quoted_before && q.clock.resetCount != s->last_reset_count;
	v->quoted = q;
	v->event_log_checked = in->event_log_len > 0;
	v->ima_checked = s->ima_origin != IMA_NONE;
	v->ima_entries = v->ima_checked ? s->ima.count : 0;
	v->ima_new = in->ima_len ? s->ima_new : 0;
	v->ima_state = v->ima_checked && (in->ima_len || in->ima_first) ? &s->ima : NULL;
	s->quoted_before = 1;
	s->last_reset_count = q.clock.resetCount;
	s->last_restart_count = q.clock.restartCount;
	s->last_clock = q.clock.clock;
	/* A fresh nonce dates this quote to after its issue: the anchor of
	 * later pre-issued ones. A pre-issued one keeps the anchor it had. */
	if (s->nonce.preissued) {
		s->anchor_ms = s->nonce.resume.anchor_ms;
		s->anchor_clock = s->nonce.resume.anchor_clock;
	} else {
		s->anchor_ms = s->nonce.issued_ms;
		s->anchor_clock = q.clock.clock;
	}
	OPENSSL_cleanse(s->nonce.value, sizeof(s->nonce.value));
	if ((r = enter(s, SESSION_STEP_QUOTE, SESSION_QUOTED)) != 0)
		goto fail;
	if (verdict)
		*verdict = *v;
	return 0;
fail:
	r = failed(s, SESSION_STEP_QUOTE, r);
	if (verdict)
		*verdict = *v;
	return r;
}

int session_secrets(struct session *s, const struct secret_def *const *defs, size_t n,
		    const struct secret_blob **out)
{
	int r;

	*out = NULL;
	if (!admits(s, CALL_SECRETS) || !s->verdict.pass)
		return err_set(AERR_STATE, "secrets only after a passing quote (state %s%s)", session_state_name(s->state),
			       s->state == SESSION_QUOTED ? ", unjudged" : "");
	if (n == 0 || n > SECRET_MAX_PER_HOST)
		return err_set(AERR_INVALID_ARG, "%zu secrets (1..%d)", n, SECRET_MAX_PER_HOST);
	if (!(s->blobs = calloc(n, sizeof(*s->blobs))))
		return err_set(AERR_ALLOC, "secrets");
	s->nblobs = n;
	for (size_t i = 0; i < n; i++)
		if ((r = secret_blob_make(defs[i], &s->ek, &s->p.pcrs, &s->verdict.quoted.pcrs, &s->blobs[i])) != 0)
			return failed(s, SESSION_STEP_SECRETS, r);
	if ((r = enter(s, SESSION_STEP_SECRETS, SESSION_SECRETS_SENT)) != 0)
		return r;
	*out = s->blobs;
	return 0;
}

int session_receipt(struct session *s, const struct session_proof *proofs, size_t n, struct session_verdict *verdict)
{
	int r;

	if (verdict)
		memset(verdict, 0, sizeof(*verdict));
	if (!admits(s, CALL_RECEIPT))
		return out_of_order(s, SESSION_STEP_RECEIPT);
	if (n != s->nblobs) {
		r = err_set(AERR_PROOF, "%zu proofs for %zu secrets", n, s->nblobs);
		goto fail;
	}
	for (size_t i = 0; i < s->nblobs; i++) {
		const char *name = s->blobs[i].def->conf->name;
		const struct session_proof *found = NULL;

		for (size_t j = 0; j < n; j++) {
			if (!proofs[j].name || strcmp(proofs[j].name, name) != 0)
				continue;
			if (found) {
				r = err_set(AERR_PROOF, "secret '%s': two proofs", name);
				goto fail;
			}
			found = &proofs[j];
		}
		if (!found) {
			r = err_set(AERR_PROOF, "secret '%s': no proof", name);
			goto fail;
		}
		if ((r = secret_proof_check(&s->blobs[i], found->proof, found->len)) != 0)
			goto fail;
	}
	s->verdict.step = SESSION_STEP_RECEIPT;
	s->verdict.secrets_proven = s->nblobs;
	drop_blobs(s);
	if ((r = enter(s, SESSION_STEP_RECEIPT, SESSION_QUOTED)) != 0)
		goto fail;
	if (verdict)
		*verdict = s->verdict;
	return 0;
fail:
	r = failed(s, SESSION_STEP_RECEIPT, r);
	if (verdict)
		*verdict = s->verdict;
	return r;
}

int session_ek_hash(const struct session *s, char hex[65])
{
	hex[0] = '\0';
	if (!s->ek_hash[0])
		return err_set(AERR_STATE, "no EK before the endorsement");
	memcpy(hex, s->ek_hash, sizeof(s->ek_hash));
	return 0;
}
