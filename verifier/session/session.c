/* The verifier's one attestation state machine (session.h): its table
 * (session_machine), the steps that move along it and the verdict of a
 * quote. About 650 lines, kept whole on purpose: the table and every step
 * that moves by it are read together; the checks a step runs live in
 * endorse.c and quotecheck.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define LOG_MODULE "session"
#include "akpub.h"
#include "array.h"
#include "credential.h"
#include "crypto.h"
#include "clock.h"
#include "log.h"
#include "session/session_priv.h"
#include "tpmpub.h"

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
	free(s->platform_cert);
	if (s->ref_release)
		s->ref_release(s->ref_hold);
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

const TPMT_PUBLIC *session_quote_ak(const struct session *s)
{
	return s->verdict.has_quoted ? &s->ak : NULL;
}

const TPM2B_NAME *session_ak_name(const struct session *s)
{
	return s->state >= SESSION_AK_ADMITTED && s->state != SESSION_FAILED ? &s->ak_name : NULL;
}

const TPMT_PUBLIC *session_ek_public(const struct session *s)
{
	return s->state >= SESSION_ENDORSED && s->state != SESSION_FAILED ? &s->ek : NULL;
}

int session_endorse(struct session *s, const struct session_endorsement *in)
{
	int r;

	if (!admits(s, CALL_ENDORSE))
		return out_of_order(s, SESSION_STEP_ENDORSEMENT);
	if ((r = session_check_endorsement(s, in)) != 0)
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
			       session_alg_text(s->p.ak_alg));
	if (in->parent_ek_alg != s->p.ek_alg)
		LOG_DEBUG("AK parent is the %s EK; the credential is for the %s EK",
			  session_alg_text(in->parent_ek_alg), session_alg_text(s->p.ek_alg));
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

int session_endorsement_checked(const struct session *s)
{
	return s->endorsement_checked;
}

const uint8_t *session_verified_ek_cert(const struct session *s, size_t *len)
{
	*len = s->ek_cert_verified ? s->ek_cert_len : 0;
	return s->ek_cert_verified ? s->ek_cert : NULL;
}

const uint8_t *session_verified_platform_cert(const struct session *s, size_t *len)
{
	*len = s->platform_cert_len;
	return s->platform_cert;
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

/* The fresh nonce made to commit to the relying party's. */
static int rp_commit(struct session *s)
{
	static const char label[] = "tpm-attest rp nonce";
	uint8_t buf[sizeof(label) - 1 + SESSION_NONCE_LEN + SESSION_RP_NONCE_MAX];
	size_t n = 0;
	int r;

	memcpy(buf, label, sizeof(label) - 1);
	n += sizeof(label) - 1;
	memcpy(buf + n, s->nonce.value, SESSION_NONCE_LEN);
	n += SESSION_NONCE_LEN;
	memcpy(buf + n, s->rp_nonce, s->rp_nonce_len);
	n += s->rp_nonce_len;
	r = crypto_digest(TPM2_ALG_SHA256, buf, n, s->nonce.value);
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

int session_set_rp_nonce(struct session *s, const uint8_t *rp, size_t len)
{
	if (len < SESSION_RP_NONCE_MIN || len > SESSION_RP_NONCE_MAX)
		return err_set(AERR_INVALID_ARG, "a relying party's nonce of %zu bytes (%d to %d)", len,
			       SESSION_RP_NONCE_MIN, SESSION_RP_NONCE_MAX);
	memcpy(s->rp_nonce, rp, len);
	s->rp_nonce_len = len;
	return 0;
}

const uint8_t *session_rp_nonce(const struct session *s, size_t *len)
{
	*len = s->rp_nonce_len;
	return s->rp_nonce_len ? s->rp_nonce : NULL;
}

int session_quote_request(struct session *s, struct session_quote_request *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!admits(s, CALL_QUOTE_REQUEST))
		return out_of_order(s, SESSION_STEP_QUOTE_REQUEST);
	/* A new request retires any older nonce: only the newest one is valid. */
	if ((r = crypto_random(s->nonce.value, sizeof(s->nonce.value))) != 0 ||
	    (s->rp_nonce_len && (r = rp_commit(s)) != 0))
		return failed(s, SESSION_STEP_QUOTE_REQUEST, r);
	s->nonce.state = NONCE_ISSUED;
	s->nonce.issued_ms = now_ms(s);
	s->nonce.preissued = 0;
	request_fill(s, s->nonce.value, out);
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

/* The verdict of a quote that passed every check, and what later quotes
 * are measured against: its counters and, for pre-issued nonces, the anchor. */
static void quote_verdict(struct session *s, const struct session_quote *in, const struct quoted_state *qs)
{
	struct session_verdict *v = &s->verdict;
	const TPMS_CLOCK_INFO *c = &qs->clock;

	memset(v, 0, sizeof(*v));
	v->pass = s->p.has_reference;
	v->unjudged = !s->p.has_reference;
	if (v->unjudged) {
		snprintf(v->reason, sizeof(v->reason), "verified, unjudged: the verifier has no reference ([policy] "
			 "PCR values, boot_policy or ima_policy) to judge this node's PCR state by");
		snprintf(v->peer_reason, sizeof(v->peer_reason), "%s", v->reason);
	}
	v->step = SESSION_STEP_QUOTE;
	v->reset_count = c->resetCount;
	v->restart_count = c->restartCount;
	v->clock = c->clock;
	memcpy(v->nonce, s->nonce.value, sizeof(s->nonce.value));
	v->nonce_len = sizeof(s->nonce.value);
	v->reboot_seen = s->quoted_before && c->resetCount != s->last_reset_count;
	v->quoted = *qs;
	v->has_quoted = 1;
	v->event_log_checked = in->event_log_len > 0;
	v->ima_checked = s->ima_origin != IMA_NONE;
	v->ima_entries = v->ima_checked ? s->ima.count : 0;
	v->ima_new = in->ima_len ? s->ima_new : 0;
	v->ima_state = v->ima_checked && (in->ima_len || in->ima_first) ? &s->ima : NULL;
	s->quoted_before = 1;
	s->last_reset_count = c->resetCount;
	s->last_restart_count = c->restartCount;
	s->last_clock = c->clock;
	/* A fresh nonce dates this quote to after its issue: the anchor of
	 * later pre-issued ones. A pre-issued one keeps the anchor it had. */
	if (s->nonce.preissued) {
		s->anchor_ms = s->nonce.resume.anchor_ms;
		s->anchor_clock = s->nonce.resume.anchor_clock;
	} else {
		s->anchor_ms = s->nonce.issued_ms;
		s->anchor_clock = c->clock;
	}
}

int session_quote(struct session *s, const struct session_quote *in, struct session_verdict *verdict,
		  enum session_next *next)
{
	struct session_verdict *v = &s->verdict;
	struct quoted_state q;
	uint8_t used[SESSION_NONCE_LEN];
	EVP_PKEY *pkey = NULL;
	uint64_t now, age;
	int verified = 0, r;

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
	if ((r = quotecheck_ak_pkey(s, &pkey)) != 0)
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
	verified = 1;
	if ((r = quotecheck_counters(s, &q.clock, next)) != 0)
		goto fail;
	if (*next == SESSION_NEXT_REACTIVATE) {
		/* The caller asks for activation (session_reactivate). */
		if ((r = enter(s, SESSION_STEP_QUOTE, SESSION_REACTIVATE_DUE)) != 0)
			return r;
		return not_a_verdict(s);
	}
	if (s->nonce.preissued && (quotecheck_preissued(s, &q.clock, now, next), *next != SESSION_NEXT_VERDICT))
		return not_a_verdict(s); /* the caller asks for a quote with a fresh nonce */
	if (s->ref_broken[0]) {
		/* The policy and group names are the operator's, not the peer's. */
		err_set(AERR_PCR_POLICY, "no reference to judge this node by");
		r = err_private(AERR_PCR_POLICY, "%s", s->ref_broken);
		goto fail;
	}
	if ((r = quotecheck_pcrs(s, &q)) != 0)
		goto fail;
	if ((r = quotecheck_event_log(s, in, &q)) != 0)
		goto fail;
	if ((r = quotecheck_ima(s, in, &q, next)) != 0)
		goto fail;
	if (*next != SESSION_NEXT_VERDICT)
		return not_a_verdict(s);

	quote_verdict(s, in, &q);
	OPENSSL_cleanse(s->nonce.value, sizeof(s->nonce.value));
	if ((r = enter(s, SESSION_STEP_QUOTE, SESSION_QUOTED)) != 0)
		goto fail;
	if (verdict)
		*verdict = *v;
	return 0;
fail:
	/* Used, the nonce is public: the record of a verified quote keeps it
	 * (failed wipes the session's copy). */
	if (verified)
		memcpy(used, s->nonce.value, sizeof(used));
	r = failed(s, SESSION_STEP_QUOTE, r);
	/* The values the quote proved are what an operator compares with the
	 * reference that failed them, and the evidence an audit checks. */
	if (verified) {
		v->quoted = q;
		v->has_quoted = 1;
		memcpy(v->nonce, used, sizeof(used));
		v->nonce_len = sizeof(used);
		OPENSSL_cleanse(used, sizeof(used));
	}
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
	/* A secret sealed to the passing quote's values needs a reference that
	 * fixes them all: the config file's is checked at load (config.c), a
	 * named policy (session_set_reference) here. */
	for (size_t i = 0; i < n && s->ref_name[0]; i++) {
		const struct secret_conf *c = defs[i]->conf;
		TPMI_ALG_HASH alg;
		uint32_t pcr;

		if (!c->values.n && !policy_pins(s->p.policy, c->has_pcrs ? &c->pcrs : &s->p.pcrs, &alg, &pcr)) {
			err_set(AERR_PCR_POLICY, "a secret cannot be sealed under this node's policy");
			return failed(s, SESSION_STEP_SECRETS,
				      err_private(AERR_PCR_POLICY, "secret '%s' has no PCR values of its own and policy "
						  "'%s' does not fix PCR %u bank %s of its selection: not delivered", c->name,
						  session_reference_name(s, &(uint32_t){ 0 }), pcr, crypto_alg_name(alg)));
		}
	}
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

void session_claimed_ek_hash(const struct session *s, char hex[65])
{
	memcpy(hex, s->ek_hash[0] ? s->ek_hash : s->ek_claimed, 65);
}

int session_set_reference(struct session *s, const struct session_reference *ref)
{
	/* Before any quote is judged, and once. */
	if (s->ref_release || s->state >= SESSION_QUOTED) {
		if (ref->release)
			ref->release(ref->hold);
		return err_set(AERR_STATE, "the reference is set once, before the quote");
	}
	snprintf(s->ref_name, sizeof(s->ref_name), "%s", ref->name ? ref->name : "");
	s->ref_version = ref->version;
	snprintf(s->ref_broken, sizeof(s->ref_broken), "%s", ref->broken ? ref->broken : "");
	s->ref_release = ref->release;
	s->ref_hold = ref->hold;
	s->ref_has_secrets = ref->has_secrets;
	s->ref_secrets = ref->secrets;
	s->ref_nsecrets = ref->nsecrets;
	s->p.policy = ref->policy;
	s->p.boot_policy = ref->boot_policy;
	s->p.ima_policy = ref->ima_policy;
	s->p.require_event_log = ref->require_event_log || ref->boot_policy;
	s->p.require_ima = ref->require_ima || ref->ima_policy;
	s->p.has_reference = (ref->policy && (ref->policy->n || ref->policy->nfirmware)) || ref->boot_policy ||
			     ref->ima_policy;
	return 0;
}

int session_reference_secrets(const struct session *s, const char *const **names, size_t *n)
{
	*names = s->ref_secrets;
	*n = s->ref_has_secrets ? s->ref_nsecrets : 0;
	return s->ref_has_secrets;
}

const char *session_reference_name(const struct session *s, uint32_t *version)
{
	*version = s->ref_name[0] ? s->ref_version : 0;
	return s->ref_name[0] ? s->ref_name : "config";
}

int session_ek_hash(const struct session *s, char hex[65])
{
	hex[0] = '\0';
	if (!s->ek_hash[0])
		return err_set(AERR_STATE, "no EK before the endorsement");
	memcpy(hex, s->ek_hash, sizeof(s->ek_hash));
	return 0;
}
