/* The pull driver (pull/driver.h): one exchange with an attestor, stage by
 * stage (endorsement, AK, activation, quote, secrets), each timed, and the
 * re-quote rounds after it, with the target rules of proof before state.
 * About 640 lines, kept whole on purpose: the stages run in order through
 * one session and read best in that order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "attest.pb-c.h"

#define LOG_MODULE "pull"
#include "session/evidence.h"
#include "clock.h"
#include "log.h"
#include "pull/driver.h"
#include "record/hook.h"
#include "record/record.h"
#include "results/issuer.h"
#include "quote.h"
#include "rpc.h"
#include "policy/secret.h"
#include "pull/target.h"
#include "session/trust.h"

/* Method indices of service Attestor, in proto declaration order. */
enum {
	M_GET_ENDORSEMENT = 0,
	M_GET_ATTESTATION_KEY = 1,
	M_ACTIVATE_CREDENTIAL = 2,
	M_QUOTE = 3,
	M_DELIVER_SECRETS = 4,
};

struct pull_driver {
	const struct verifier_config *cfg;
	struct verifier_trust trust;
	struct reference_cache *refs;  /* named policies (record/reference.h); with a store */
	struct result_issuer *results; /* signs each verdict's EAR; NULL: none */
	struct secret_set secrets;
	struct store *store;          /* NULL without state_dir */
	struct hook *hook;            /* NULL without hook */
	const char *target;
	/* The target is one of `targets`: a verdict binds an unbound node to it.
	 * A one-shot `verifier attest` elsewhere binds nothing (a node bound to
	 * an address serve does not attest would be nobody's), and the target
	 * rules (record_lookup) hold there all the same. */
	int binds;
	struct rpc_channel *ch;
	struct session *last;         /* the last passing session: pull_requote continues it */
	/* The node this target answers for, and by whom it was proven: a
	 * round that does not prove it again fails it (without contact), and
	 * pull_requote records its verdicts. */
	struct record_ctx last_rec;
	char last_host[64];
	char last_peer[RPC_IDENTITY_MAX + 1];
};

static const char *const stage_names[PULL_NSTAGES] = { "endorsement", "ak", "activation", "quote", "secrets" };

const char *pull_stage_name(enum pull_stage st)
{
	return (unsigned)st < PULL_NSTAGES ? stage_names[st] : "?";
}

/* The node this target answers for, as the store says (the first proven
 * here, or the one an operator moved here): a round that does not prove it
 * again fails it, also after this verifier restarted. Without a store, what
 * this driver proved last. */
static void pull_restore(struct pull_driver *d)
{
	struct store_node n;
	struct err_saved why; /* the round's failure, which the lookup must not replace */
	int r;

	if (!d->store)
		return;
	err_save(&why);
	r = store_node_at_target(d->store, d->target, &n);
	err_restore(&why);
	if (r == AERR_NOT_FOUND) /* removed, or moved elsewhere: none to fail here */
		memset(&d->last_rec, 0, sizeof(d->last_rec));
	if (r != 0) /* a store that cannot answer: the node known so far stays */
		return;
	record_host(d->last_host, n.hostname); /* as stored: already safe */
	snprintf(d->last_peer, sizeof(d->last_peer), "%s", n.identity);
	d->last_rec = (struct record_ctx){ .store = d->store, .hook = d->hook, .mode = "pull", .peer = d->last_peer,
					   .host = d->last_host, .pcrs = &d->cfg->pcrs, .target = d->target,
					   .binds_target = d->binds,
					   .explicit_enrollment = d->cfg->explicit_enrollment, .node_id = n.id,
					   .state = n.state,
					   /* store_node_at_target found it: bound to this target */
					   .at_own_target = 1 };
	memcpy(d->last_rec.ek_hash, n.ek_hash, sizeof(d->last_rec.ek_hash));
}

int pull_open(const struct verifier_config *cfg, const char *target, struct pull_driver **out)
{
	struct pull_driver *d = NULL;
	struct named_policy_limits lim = verifier_config_limits(cfg);
	struct rpc_tls tls;
	int r = AERR_INTERNAL;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return err_set(AERR_ALLOC, "out of memory");
	d->cfg = cfg;
	if ((r = trust_load(cfg, &d->trust)) != 0 ||
	    (r = secret_set_load(cfg->secrets, cfg->nsecrets, &d->secrets)) != 0 ||
	    (cfg->state_dir && ((r = store_open(cfg->state_dir, &d->store)) != 0 ||
				(r = reference_cache_new(&lim, &d->refs)) != 0)) ||
	    (r = hook_start(cfg->hook, cfg->hook_timeout_ms, &d->hook)) != 0 ||
	    (r = result_issuer_open(cfg, 1, &d->results)) != 0)
		goto out;
	d->target = target;
	d->binds = target_listed(target, cfg->targets, cfg->ntargets);
	pull_restore(d);
	memset(&tls, 0, sizeof(tls));
	tls.ca_file = cfg->tls.ca;
	tls.cert_file = cfg->tls.cert;
	tls.key_file = cfg->tls.key;
	tls.server_name = cfg->tls.server_name[0] ? cfg->tls.server_name : NULL;
	tls.insecure = cfg->tls.insecure;
	if ((r = rpc_channel_open(target, &tls, 0, &d->ch)) != 0)
		goto out;
	*out = d;
	d = NULL; /* transferred */
	r = 0;
out:
	pull_close(d);
	return r;
}

void pull_close(struct pull_driver *d)
{
	if (!d)
		return;
	rpc_channel_close(d->ch);
	session_free(d->last);
	reference_cache_free(d->refs); /* after the session, which may hold one of its policies */
	hook_stop(d->hook);
	store_close(d->store);
	trust_free(&d->trust);
	secret_set_free(&d->secrets);
	result_issuer_free(d->results);
	free(d);
}

/* ------------------------------------------------------------ the exchange */

struct run {
	struct pull_driver *d;
	struct pull_result *res;
	struct session *s;
	ProtobufCMessage *reply;
	char host[64];                /* the attestor's claimed hostname (record_host), for people */
	char peer[RPC_IDENTITY_MAX + 1]; /* the attestor's TLS identity (the target when insecure) */
	int attestor_refused;         /* the call that failed was that attestor's refusal */
	struct record_ctx rec;
	/* The quote the verdict judged and its evidence (views into
	 * quote_reply), kept until the verdict is recorded (after the secrets,
	 * whose delivery the verdict covers). */
	ProtobufCMessage *quote_reply;
	struct session_quote quote;
	struct pcr_values quote_values;
	int has_quote;
	struct session_proof proofs[SECRET_MAX_PER_HOST]; /* into reply, the last one */
	size_t nproofs;
};

static int rpc(struct run *x, enum pull_stage st, unsigned method, const ProtobufCMessage *in)
{
	struct rpc_result rr;
	double t0 = ((double)clock_mono_ns() / 1e6);
	int r;

	protobuf_c_message_free_unpacked(x->reply, NULL);
	x->reply = NULL;
	memset(&rr, 0, sizeof(rr));
	r = rpc_call_unary(x->d->ch, &attest__v1__attestor__descriptor, method, in, x->d->cfg->timeout_ms, 0,
			   &x->reply, &rr);
	x->res->t[st].rpc_ms += ((double)clock_mono_ns() / 1e6) - t0;
	if (r == 0) {
		/* One session, one attestor: the channel may have reconnected to
		 * another server meanwhile. */
		const char *peer = rr.peer[0] ? rr.peer : x->d->target;

		if (!x->peer[0])
			snprintf(x->peer, sizeof(x->peer), "%s", peer);
		else if (strcmp(x->peer, peer) != 0)
			return err_set(AERR_IDENTITY, "the attestor's TLS identity changed within the session "
				       "('%s', then '%s')", x->peer, peer);
		return 0;
	}
	/* The attestor could not be reached (or went away), or it answered
	 * with a refusal of its own, or we refused its certificate: say which. */
	if (rr.ours) {
		x->res->refused_tls = 1;
		return err_set(AERR_RPC, "%s: the attestor's %s", attest__v1__attestor__descriptor.methods[method].name,
			       rr.message);
	}
	switch (rr.status) {
	case RPC_UNAVAILABLE:
	case RPC_DEADLINE_EXCEEDED:
	case RPC_CANCELLED:
	case RPC_UNKNOWN:
		x->res->transport = 1;
		return err_set(AERR_RPC, "transport error in %s: %s: %s",
			       attest__v1__attestor__descriptor.methods[method].name, rpc_status_name(rr.status),
			       rr.message);
	default:
		/* A refusal is the attestor's only from the server the session
		 * started with. */
		if (rr.peer[0] && x->peer[0] && strcmp(rr.peer, x->peer) != 0)
			return err_set(AERR_IDENTITY, "the attestor's TLS identity changed within the session "
				       "('%s', then '%s', which refused %s)", x->peer, rr.peer,
				       attest__v1__attestor__descriptor.methods[method].name);
		x->attestor_refused = 1;
		return err_set(AERR_RPC, "the attestor refused %s: %s: %s",
			       attest__v1__attestor__descriptor.methods[method].name, rpc_status_name(rr.status),
			       rr.message);
	}
}

static int stage_endorsement(struct run *x)
{
	Attest__V1__Empty empty = ATTEST__V1__EMPTY__INIT;
	struct session_endorsement e;
	double t0;
	int r;

	if ((r = rpc(x, PULL_ENDORSEMENT, M_GET_ENDORSEMENT, &empty.base)) != 0)
		return r;
	t0 = ((double)clock_mono_ns() / 1e6);
	if ((r = evidence_endorsement((const Attest__V1__Endorsement *)x->reply, &e)) == 0)
		r = session_endorse(x->s, &e);
	record_host(x->host, e.hostname);
	/* Nothing of the node changes here: only what the store knows is read. */
	if (r == 0)
		r = record_lookup(&x->rec, x->s);
	x->res->t[PULL_ENDORSEMENT].check_ms += ((double)clock_mono_ns() / 1e6) - t0;
	return r;
}

static int stage_ak(struct run *x, struct session_challenge *c)
{
	Attest__V1__Empty empty = ATTEST__V1__EMPTY__INIT;
	struct session_ak ak;
	double t0;
	int r;

	if ((r = rpc(x, PULL_AK, M_GET_ATTESTATION_KEY, &empty.base)) != 0)
		return r;
	t0 = ((double)clock_mono_ns() / 1e6);
	if ((r = evidence_ak((const Attest__V1__AttestationKey *)x->reply, &ak)) == 0)
		r = session_ak(x->s, &ak, c);
	x->res->t[PULL_AK].check_ms += ((double)clock_mono_ns() / 1e6) - t0;
	return r;
}

static int stage_activation(struct run *x, const struct session_challenge *c)
{
	Attest__V1__CredentialChallenge m;
	struct evidence_challenge_buf buf;
	const Attest__V1__CredentialResponse *resp;
	double t0;
	int r;

	if ((r = evidence_challenge(c, &buf, &m)) != 0)
		return r;
	if ((r = rpc(x, PULL_ACTIVATION, M_ACTIVATE_CREDENTIAL, &m.base)) != 0)
		return r;
	t0 = ((double)clock_mono_ns() / 1e6);
	resp = (const Attest__V1__CredentialResponse *)x->reply;
	r = session_activate(x->s, resp->secret.data, resp->secret.len);
	/* The released secret is single use; do not leave it in the reply buffer. */
	if (resp->secret.data)
		OPENSSL_cleanse(resp->secret.data, resp->secret.len);
	/* Proven: the node may be enrolled or updated now. */
	if (r == 0)
		r = record_proven(&x->rec, x->s);
	x->res->t[PULL_ACTIVATION].check_ms += ((double)clock_mono_ns() / 1e6) - t0;
	return r;
}

/* A quote request and its quote; *next says what the quote leads to. */
static int stage_quote(struct run *x, enum session_next *next)
{
	Attest__V1__QuoteRequest m;
	struct wire_pcrsel_buf selbuf;
	struct session_quote_request qr;
	struct session_quote q;
	struct pcr_values values;
	double t0 = ((double)clock_mono_ns() / 1e6);
	int r;

	*next = SESSION_NEXT_VERDICT;
	if ((r = session_quote_request(x->s, &qr)) != 0 || (r = evidence_quote_request(&qr, &selbuf, &m)) != 0)
		goto out;
	x->res->t[PULL_QUOTE].check_ms += ((double)clock_mono_ns() / 1e6) - t0;
	if ((r = rpc(x, PULL_QUOTE, M_QUOTE, &m.base)) != 0)
		return r;
	t0 = ((double)clock_mono_ns() / 1e6);
	if ((r = evidence_quote((const Attest__V1__QuoteResponse *)x->reply, &values, &q)) != 0)
		goto out;
	r = session_quote(x->s, &q, &x->res->verdict, next);
	/* A verdict's quote is kept for the record, which waits for the
	 * secrets (pull_finish). */
	if ((r == 0 && *next == SESSION_NEXT_VERDICT) || session_get_state(x->s) == SESSION_FAILED) {
		protobuf_c_message_free_unpacked(x->quote_reply, NULL);
		x->quote_reply = x->reply;
		x->reply = NULL;
		x->quote = q;
		x->quote_values = values;
		x->quote.values = &x->quote_values;
		x->has_quote = 1;
	}
out:
	x->res->t[PULL_QUOTE].check_ms += ((double)clock_mono_ns() / 1e6) - t0;
	return r;
}

/* A quote round; when its quote shows a reset since the AK's activation,
 * activate the AK again and quote once more. */
static int stage_quote_round(struct run *x)
{
	struct session_challenge c;
	enum session_next next = SESSION_NEXT_VERDICT;
	int r, reactivated = 0;

	/* At most: the IMA list of another boot (quote again), a reboot
	 * (activate again), then the IMA list again. */
	for (int round = 0; round < 4; round++) {
		if ((r = stage_quote(x, &next)) != 0 || next == SESSION_NEXT_VERDICT)
			return r;
		if (next == SESSION_NEXT_REQUOTE)
			continue;
		if (reactivated)
			break;
		reactivated = 1;
		if ((r = session_reactivate(x->s, &c)) == 0)
			r = stage_activation(x, &c);
		OPENSSL_cleanse(&c, sizeof(c));
		if (r != 0)
			return r;
	}
	return err_set(AERR_STATE, "no verdict after 4 quotes, the last: %s", session_next_reason(x->s));
}

/* Secrets configured for this host, after the passing quote: deliver, check
 * every proof. No secrets for the host: nothing to do. */
static int stage_secrets(struct run *x)
{
	const struct secret_def *defs[SECRET_MAX_PER_HOST];
	const struct secret_blob *blobs;
	struct evidence_delivery_buf *buf = NULL;
	Attest__V1__SecretDelivery m;
	char ek[65];
	size_t n, np;
	double t0 = ((double)clock_mono_ns() / 1e6);
	int r;

	/* Only a passing node, judged against a reference, receives secrets. */
	if (!x->res->verdict.pass || (r = session_ek_hash(x->s, ek)) != 0) {
		r = 0;
		goto out;
	}
	if ((n = record_secret_defs(&x->rec, x->s, &x->d->secrets, defs)) == 0)
		goto out;
	if (!(buf = malloc(sizeof(*buf)))) {
		r = err_set(AERR_ALLOC, "delivery");
		goto out;
	}
	if ((r = session_secrets(x->s, defs, n, &blobs)) != 0 || (r = evidence_delivery(blobs, n, buf, &m)) != 0)
		goto out;
	x->res->t[PULL_SECRETS].check_ms += ((double)clock_mono_ns() / 1e6) - t0;
	if ((r = rpc(x, PULL_SECRETS, M_DELIVER_SECRETS, &m.base)) != 0)
		goto done;
	t0 = ((double)clock_mono_ns() / 1e6);
	if ((r = evidence_receipt((const Attest__V1__SecretReceipt *)x->reply, x->proofs, SECRET_MAX_PER_HOST,
				  &np)) != 0 ||
	    (r = session_receipt(x->s, x->proofs, np, &x->res->verdict)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		LOG_INFO("secret '%s' delivered to host '%s' (EK %.16s...), proof verified", defs[i]->conf->name,
			 x->host, ek);
	x->nproofs = np;
	x->res->secrets = n;
out:
	x->res->t[PULL_SECRETS].check_ms += ((double)clock_mono_ns() / 1e6) - t0;
done:
	free(buf);
	return r;
}

static const enum session_step pull_steps[PULL_NSTAGES] = {
	SESSION_STEP_ENDORSEMENT, SESSION_STEP_AK, SESSION_STEP_ACTIVATION, SESSION_STEP_QUOTE, SESSION_STEP_SECRETS,
};

/* A failing verdict of code at stage st, with the current error detail. */
static void pull_failure(struct session_verdict *v, int code, enum pull_stage st, const char *prefix)
{
	memset(v, 0, sizeof(*v));
	v->code = code;
	v->step = pull_steps[st < PULL_NSTAGES ? st : PULL_QUOTE];
	snprintf(v->reason, sizeof(v->reason), "%s%s", prefix, err_detail());
	snprintf(v->peer_reason, sizeof(v->peer_reason), "%s", v->reason);
}

/* The node target d answers for was not proven this round: it fails
 * without contact, for reason. */
static void pull_target_unproven(struct pull_driver *d, int r, enum pull_stage st, const char *reason)
{
	struct session_verdict v;
	char prefix[300];

	pull_restore(d); /* an operator may have moved the target's node meanwhile */
	if (d->last_rec.node_id) {
		snprintf(prefix, sizeof(prefix), "target %s did not prove its node this round: ", d->target);
		err_set(r, "%s", reason);
		pull_failure(&v, r, st, prefix);
		record_missed(&d->last_rec, &v);
	}
}

/* A proven round whose node was bound to another target while it was under
 * way (record_verdict's AERR_IDENTITY): it was someone else's address after
 * all, so a rejected attempt, and the target's own node was not proven. */
static int pull_moved(struct run *x, enum pull_stage st)
{
	struct err_saved why;
	char reason[600];

	err_save(&why);
	snprintf(reason, sizeof(reason), "%s: %s", err_str(AERR_IDENTITY), err_detail());
	record_rejected(&x->rec, x->s, stage_names[st < PULL_NSTAGES ? st : PULL_QUOTE], reason);
	pull_target_unproven(x->d, AERR_IDENTITY, st, reason);
	err_restore(&why); /* pull_finish reports the round's own failure */
	return AERR_IDENTITY;
}

static unsigned pull_m_deliver_result(void)
{
	const ProtobufCServiceDescriptor *svc = &attest__v1__attestor__descriptor;

	return (unsigned)(protobuf_c_service_descriptor_get_method_by_name(svc, "DeliverResult") - svc->methods);
}

/* The verdict just recorded, signed, to the attestor that earned it, on
 * the round's channel. A channel that reconnected to another server
 * meanwhile would carry it there, which the log then says: a token is no
 * secret (it names its node; a relying party binds it to the node's TPM).
 * Outside the round's timing; an attestor that cannot take it (an older
 * one: UNIMPLEMENTED) costs the verdict nothing. */
static void pull_deliver_result(struct run *x, const struct session_verdict *v)
{
	Attest__V1__AttestationResult m = ATTEST__V1__ATTESTATION_RESULT__INIT;
	const ProtobufCServiceDescriptor *svc = &attest__v1__attestor__descriptor;
	ProtobufCMessage *out = NULL;
	struct rpc_result rr;
	struct err_saved why;
	char *ear = NULL;

	err_save(&why);
	if (record_result(&x->rec, v, &ear) != 0 || !ear)
		goto out;
	m.ear = ear;
	if (rpc_call_unary(x->d->ch, svc, pull_m_deliver_result(), &m.base, x->d->cfg->timeout_ms, 0, &out, &rr) != 0)
		LOG_INFO("target %s: the attestation result was not delivered: %s", x->d->target, rr.message);
	else if (strcmp(rr.peer[0] ? rr.peer : x->d->target, x->peer) != 0)
		LOG_WARN("target %s: the attestation result reached '%s', not the attestor proven ('%s')",
			 x->d->target, rr.peer, x->peer);
	protobuf_c_message_free_unpacked(out, NULL);
out:
	free(ear);
	err_restore(&why);
}

/* What the round means, by the rule of proof before state: a proven session
 * gives its node a verdict (a pass the store cannot take is no pass); one
 * that failed before any proof is a rejected attempt of the attestor's
 * identity; and the node this target answers for, not proven again this
 * round, fails without contact. Returns the round's outcome. */
static int pull_record(struct run *x, int r, enum pull_stage st)
{
	const struct session_quote *qp = x->has_quote ? &x->quote : NULL;
	struct session_verdict v;
	struct err_saved why;
	char reason[600];
	int64_t att = 0;
	int rejected;

	if (x->s && session_proven(x->s)) {
		if (r == 0) {
			if ((r = record_verdict(&x->rec, session_last_verdict(x->s), qp, &att)) == AERR_IDENTITY)
				return pull_moved(x, st);
			if (r == 0) {
				record_secrets(&x->rec, att, x->proofs, x->nproofs);
				pull_deliver_result(x, session_last_verdict(x->s));
			}
			return r;
		}
		if (session_get_state(x->s) == SESSION_FAILED) {
			v = *session_last_verdict(x->s);
		} else if (!x->rec.binds_target && !x->rec.at_own_target && !x->attestor_refused) {
			/* At an address that is not the node's (a check elsewhere,
			 * maybe through someone's relay), a round cut after the
			 * proof, or handed to another server, says nothing of the
			 * node; the attestor's own refusal does. */
			snprintf(v.reason, sizeof(v.reason), "%s: %s", err_str(r), err_detail());
			record_rejected(&x->rec, x->s, stage_names[st < PULL_NSTAGES ? st : PULL_QUOTE], v.reason);
			return r;
		} else { /* refused or lost after the proof, e.g. DeliverSecrets */
			pull_failure(&v, r, st, "");
		}
		LOG_WARN("verdict FAIL target %s host '%s': %s: %s", x->d->target, x->host, session_step_name(v.step),
			 v.reason);
		if (record_verdict(&x->rec, &v, qp, NULL) == AERR_IDENTITY)
			return pull_moved(x, st);
		pull_deliver_result(x, &v);
		return r;
	}
	if (r == 0 || r == AERR_STORE)
		return r;
	/* Whatever ended the round before a proof, unreachable, refused or a
	 * reply that does not even convert, the target's node was not proven:
	 * an attestor cannot keep its node passing by answering with garbage. */
	rejected = x->s && session_get_state(x->s) == SESSION_FAILED;
	err_save(&why);
	if (rejected)
		snprintf(reason, sizeof(reason), "%s", session_last_verdict(x->s)->reason);
	else if (r == AERR_RPC)
		snprintf(reason, sizeof(reason), "%s", err_detail());
	else
		snprintf(reason, sizeof(reason), "%s: %s", err_str(r), err_detail());
	if (rejected)
		record_rejected(&x->rec, x->s, NULL, NULL);
	else if (r != AERR_RPC && x->peer[0]) /* it answered, with something unusable */
		record_rejected(&x->rec, x->s, stage_names[st < PULL_NSTAGES ? st : PULL_QUOTE], reason);
	pull_target_unproven(x->d, r, st, reason);
	err_restore(&why);
	return r;
}

/* Time, code and reason of an exchange that ended with r at stage st;
 * returns the outcome once recorded (pull_record). */
static int pull_finish(struct run *x, double t0, int r, enum pull_stage st)
{
	struct pull_result *res = x->res;

	r = pull_record(x, r, st);
	res->total_ms = ((double)clock_mono_ns() / 1e6) - t0;
	res->code = r;
	if (r == 0)
		return 0;
	res->failed_stage = st;
	/* The session's verdict already says "<err_str>: <detail>"; other
	 * failures (transport, conversion) are formatted the same way. */
	if (x->s && session_get_state(x->s) == SESSION_FAILED)
		snprintf(res->reason, sizeof(res->reason), "%s", session_last_verdict(x->s)->reason);
	else if (r == AERR_RPC)
		snprintf(res->reason, sizeof(res->reason), "%s", err_detail());
	else
		snprintf(res->reason, sizeof(res->reason), "%s: %s", err_str(r), err_detail());
	return r;
}

/* A round's record context: the target's attestor, as proven so far. */
static void pull_run_init(struct run *x, struct pull_driver *d, struct pull_result *res)
{
	memset(x, 0, sizeof(*x));
	x->d = d;
	x->res = res;
	x->rec = (struct record_ctx){ .store = d->store, .hook = d->hook, .mode = "pull", .peer = x->peer, .host = x->host,
				      .pcrs = &d->cfg->pcrs, .target = d->target, .binds_target = d->binds,
				      .explicit_enrollment = d->cfg->explicit_enrollment, .refs = d->refs,
				      .results = d->results, .ek_cert_required = d->cfg->require_ek_cert,
				      .learn_first_use = d->cfg->learn_first_use ? d->cfg : NULL,
				      .started_ns = clock_mono_ns() };
}

int pull_attest(struct pull_driver *d, struct pull_result *res)
{
	struct session_params sp;
	struct session_challenge c;
	struct run x;
	double t0 = ((double)clock_mono_ns() / 1e6);
	enum pull_stage st = PULL_ENDORSEMENT;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	pull_run_init(&x, d, res);
	trust_session_params(d->cfg, &d->trust, &sp);
	err_clear();
	if ((r = session_new(&sp, &x.s)) != 0)
		goto out;
	if ((r = stage_endorsement(&x)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_AK;
	if ((r = stage_ak(&x, &c)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_ACTIVATION;
	/* An AK this TPM activated before needs no new activation. */
	if (!session_ak_preactivated(x.s) && (r = stage_activation(&x, &c)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_QUOTE;
	if ((r = stage_quote_round(&x)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_SECRETS;
	if ((r = stage_secrets(&x)) != 0)
		goto out;
	if (res->secrets)
		res->stages_done++;
	r = 0;
out:
	r = pull_finish(&x, t0, r, st);
	protobuf_c_message_free_unpacked(x.reply, NULL);
	protobuf_c_message_free_unpacked(x.quote_reply, NULL);
	OPENSSL_cleanse(&c, sizeof(c));
	/* A passing session is kept for pull_requote; the node it proved is
	 * the target's from now on. */
	session_free(d->last);
	d->last = r == 0 ? x.s : NULL;
	if (x.s && session_proven(x.s) && x.rec.node_id) {
		memcpy(d->last_host, x.host, sizeof(d->last_host));
		memcpy(d->last_peer, x.peer, sizeof(d->last_peer));
		d->last_rec = x.rec;
		d->last_rec.host = d->last_host;
		d->last_rec.peer = d->last_peer;
		d->last_rec.session = d->last; /* NULL when this one ends below */
	}
	if (r != 0)
		session_free(x.s);
	return r;
}

void pull_wait(struct pull_driver *d, uint32_t ms, volatile const int *stop)
{
	rpc_channel_wait(d->ch, (int)ms, stop);
}

/* Whether the node of the last session is now judged by another policy
 * (or version) than that session is: a policy changed or assigned while
 * serve runs judges the next round, which needs a new session. */
static int pull_policy_changed(struct pull_driver *d)
{
	char name[STORE_NAME_MAX + 1], via[STORE_NAME_MAX + 8];
	uint32_t version, have;
	const char *judged = session_reference_name(d->last, &have);

	if (store_policy_of(d->store, d->last_rec.node_id, name, via, &version) != 0)
		return 1; /* the full exchange says why */
	if (!name[0])
		return strcmp(judged, "config") != 0;
	return strcmp(judged, name) != 0 || version != have;
}

int pull_requote(struct pull_driver *d, struct pull_result *res)
{
	struct run x;
	double t0 = ((double)clock_mono_ns() / 1e6);
	int r;

	/* An operator moved or removed this target's node meanwhile: going on
	 * with its session would attest it where it is no longer bound. A full
	 * exchange decides instead (record_lookup). */
	if (d->last && d->store) {
		int64_t node = d->last_rec.node_id;

		pull_restore(d);
		if (d->last_rec.node_id != node) {
			LOG_INFO("target %s answers for another node now: full exchange", d->target);
			session_free(d->last);
			d->last = NULL;
			return pull_attest(d, res);
		}
		if (pull_policy_changed(d)) {
			LOG_INFO("target %s: its node's policy changed: full exchange", d->target);
			session_free(d->last);
			d->last = NULL;
			return pull_attest(d, res);
		}
	}
	memset(res, 0, sizeof(*res));
	pull_run_init(&x, d, res);
	x.s = d->last;
	memcpy(x.host, d->last_host, sizeof(x.host));
	memcpy(x.peer, d->last_peer, sizeof(x.peer));
	x.rec = d->last_rec;
	x.rec.started_ns = clock_mono_ns();
	x.rec.session = x.s;
	x.rec.host = x.host;
	x.rec.peer = x.peer;
	err_clear();
	if (!x.s) {
		r = err_set(AERR_STATE, "no passing attestation to continue");
		goto out;
	}
	/* Secrets went with the full exchange; a quote round only judges. */
	if ((r = stage_quote_round(&x)) == 0)
		res->stages_done = 1;
out:
	r = pull_finish(&x, t0, r, PULL_QUOTE);
	protobuf_c_message_free_unpacked(x.reply, NULL);
	protobuf_c_message_free_unpacked(x.quote_reply, NULL);
	d->last_rec.state = x.rec.state;
	if (r != 0) {
		session_free(d->last);
		d->last = NULL;
	}
	return r;
}
