/* The push service (push/service.h): the handlers of attest.v1.Verifier,
 * one per protocol step (Hello, Activate, SubmitQuote, ConfirmSecrets), and
 * the service's lifecycle. About 660 lines, kept whole on purpose: each
 * step sits beside the ones it hands over to, as the protocol reads; the
 * session table is push/table.c. */
#define LOG_MODULE "push"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "array.h"
#include "attest.pb-c.h"
#include "clock.h"
#include "log.h"
#include "push/service_priv.h"
#include "record/hook.h"
#include "record/window.h"
#include "results/issuer.h"
#include "session/evidence.h"
#include "store/store.h"
#include "tpmpub.h"
#include "wire.h"

static struct push_service *push_signalled;

/* ------------------------------------------------------------ verdicts */

/* A peer that failed before it proved any node's TPM: counted for its TLS
 * identity, never a verdict of the node whose EK it presented. */
static void push_rejected(struct push_service *p, struct rpc_call *call, enum rpc_status status,
			  const char *step, const char *why)
{
	const char *peer = rpc_call_peer_identity(call);
	struct record_ctx rec = { .store = p->store, .mode = "push", .peer = peer ? peer : "" };

	record_rejected(&rec, NULL, step, why);
	(void)rpc_call_fail(call, status, "%s: %s", step, why);
}

/* The store could not look the node up or take its verdict: no verdict, the
 * attestor tries again (UNAVAILABLE). Ends the session. */
static void push_store_failed(struct push_service *p, struct rpc_call *call, uint32_t slot)
{
	(void)rpc_call_fail(call, RPC_UNAVAILABLE, "%s: try again", err_detail());
	push_put(p, slot, PUSH_END);
}

/* A failed step: out of order leaves the session as it was (the attestor may
 * still send the right step); a failed check ends it, as a verdict of the
 * node once the peer proved its TPM, else as a rejected attempt. Gives the
 * session back either way. */
static void push_step_failed(struct push_service *p, struct rpc_call *call, uint32_t slot, int code,
			     const struct session_quote *q)
{
	struct push_entry *e = &p->slots[slot];
	const struct session_verdict *v;
	char *ear = NULL;

	if (code == AERR_STORE) {
		push_store_failed(p, call, slot);
		return;
	}
	if (session_get_state(e->s) != SESSION_FAILED) {
		(void)rpc_call_fail_err(call, code);
		push_put(p, slot, PUSH_KEEP);
		return;
	}
	v = session_last_verdict(e->s);
	if (!session_proven(e->s)) {
		record_rejected(&e->rec, e->s, NULL, NULL);
		(void)rpc_call_fail(call, rpc_status_from_err(v->code), "%s: %s", session_step_name(v->step),
				    v->peer_reason);
		push_put(p, slot, PUSH_END);
		return;
	}
	LOG_WARN("verdict FAIL host '%s' peer '%s': %s: %s", e->host, e->peer, session_step_name(v->step), v->reason);
	/* Recorded or not, the node failed; the hook hears of it either way,
	 * and the attestor gets it signed. */
	(void)record_verdict(&e->rec, v, q, NULL);
	if (record_result(&e->rec, v, &ear) == 0 && ear && rpc_call_set_result(call, ear) != 0)
		LOG_ERR("%s", err_detail());
	free(ear);
	(void)rpc_call_fail(call, rpc_status_from_err(v->code), "%s: %s", session_step_name(v->step), v->peer_reason);
	push_put(p, slot, PUSH_END);
}

static void push_reply(struct rpc_call *call, const char *id, Attest__V1__PushChallenge *m)
{
	m->session_id = (char *)id;
	(void)rpc_call_reply(call, &m->base);
}

/* ------------------------------------------------------------ handlers */

/* Reply with a quote request: after activation, or at once for an AK this
 * TPM activated before. */
static int push_ask_quote(struct push_entry *e, struct rpc_call *call, const char *id)
{
	Attest__V1__PushChallenge m = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__QuoteRequest qm;
	struct wire_pcrsel_buf selbuf;
	struct session_quote_request qr;
	int r;

	if ((r = session_quote_request(e->s, &qr)) != 0)
		return r;
	if ((r = evidence_quote_request(&qr, &selbuf, &qm)) != 0) {
		(void)rpc_call_fail_err(call, r);
		return 0;
	}
	m.quote = &qm;
	push_reply(call, id, &m);
	return 0;
}

/* Reply with a credential challenge, or fail the call when it cannot be built. */
static void push_ask_activation(struct rpc_call *call, const char *id, const struct session_challenge *ch)
{
	Attest__V1__PushChallenge m = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__CredentialChallenge cm;
	struct evidence_challenge_buf buf;
	int r;

	if ((r = evidence_challenge(ch, &buf, &cm)) != 0) {
		(void)rpc_call_fail_err(call, r);
		return;
	}
	m.credential = &cm;
	push_reply(call, id, &m);
}

static void push_hello(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct push_service *p = app;
	const Attest__V1__PushHello *req = (const Attest__V1__PushHello *)in;
	struct session_endorsement en;
	struct session_ak ak;
	struct session_challenge ch;
	const char *peer = rpc_call_peer_identity(call);
	char id[PUSHID_LEN + 1];
	struct push_entry *e;
	uint32_t slot;
	int r;

	memset(&ch, 0, sizeof(ch));
	if ((r = evidence_endorsement(req->endorsement, &en)) != 0 || (r = evidence_ak(req->ak, &ak)) != 0) {
		char why[600];

		snprintf(why, sizeof(why), "%s: %s", err_str(r), err_detail());
		push_rejected(p, call, rpc_status_from_err(r), "endorsement", why);
		return;
	}
	if (req->rp_nonce.len &&
	    (req->rp_nonce.len < SESSION_RP_NONCE_MIN || req->rp_nonce.len > SESSION_RP_NONCE_MAX)) {
		(void)rpc_call_fail(call, RPC_INVALID_ARGUMENT, "rp_nonce of %zu bytes: %d to %d", req->rp_nonce.len,
				    SESSION_RP_NONCE_MIN, SESSION_RP_NONCE_MAX);
		return;
	}
	if (!(e = push_open(p, call, peer, en.hostname, 0, &slot, id)))
		return;
	/* Nothing of the node changes here: only what the store knows is read. */
	if ((req->rp_nonce.len && (r = session_set_rp_nonce(e->s, req->rp_nonce.data, req->rp_nonce.len)) != 0) ||
	    (r = session_endorse(e->s, &en)) != 0 || (r = record_lookup(&e->rec, e->s)) != 0 ||
	    (r = session_ak(e->s, &ak, &ch)) != 0) {
		push_step_failed(p, call, slot, r, NULL);
		goto out;
	}
	LOG_DEBUG("session %.8s... opened for host '%s' peer '%s'", id + 8, e->host, e->peer);
	if (session_ak_preactivated(e->s)) {
		if ((r = push_ask_quote(e, call, id)) != 0) {
			push_step_failed(p, call, slot, r, NULL);
			goto out;
		}
	} else {
		push_ask_activation(call, id, &ch);
	}
	push_put(p, slot, PUSH_DEMAND);
out:
	OPENSSL_cleanse(&ch, sizeof(ch));
}

/* The peer proved the node's TPM: from here on the session may change it. A
 * request handed out before is superseded (the attestor lost it, or said
 * Hello for another reason); the next verdict hands out a new one. */
static int push_proven(struct push_service *p, struct push_entry *e)
{
	int r;

	if ((r = record_proven(&e->rec, e->s)) != 0)
		return r;
	if (p->next)
		preissued_drop(p->next, e->rec.node_id);
	return 0;
}

static void push_activate(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct push_service *p = app;
	const Attest__V1__PushActivation *req = (const Attest__V1__PushActivation *)in;
	struct push_entry *e;
	uint32_t slot;
	int r;

	if (!(e = push_lookup(p, call, req->session_id, &slot)))
		return;
	if (!req->response) {
		(void)rpc_call_fail(call, RPC_INVALID_ARGUMENT, "no credential response");
		push_put(p, slot, PUSH_KEEP);
		return;
	}
	r = session_activate(e->s, req->response->secret.data, req->response->secret.len);
	if (req->response->secret.data)
		OPENSSL_cleanse(req->response->secret.data, req->response->secret.len);
	if (r == 0 && (r = push_proven(p, e)) == 0)
		r = push_ask_quote(e, call, req->session_id);
	if (r != 0) {
		push_step_failed(p, call, slot, r, NULL);
		return;
	}
	push_put(p, slot, PUSH_DEMAND);
}

/* With a passing verdict: the node's next quote request, kept with what the
 * next session is rebuilt from, so that its next re-attestation is one call
 * (push/preissued.h). The caller has checked there is a store to rebuild from. */
static int push_next_issue(struct push_service *p, struct push_entry *e, struct preissued_entry *n,
			   char id[PREISSUED_ID_LEN + 1], struct session_quote_request *qr,
			   struct wire_pcrsel_buf *selbuf, Attest__V1__QuoteRequest *qm)
{
	const TPMT_PUBLIC *ek = session_ek_public(e->s), *ak = session_ak_public(e->s);
	int r;

	if (e->rec.node_id < 1 || !ek || !ak)
		return AERR_NOT_FOUND;
	memset(n, 0, sizeof(*n));
	if ((r = session_next_request(e->s, &n->resume, qr)) != 0 ||
	    (r = tpmpub_marshal(ak, n->ak, sizeof(n->ak), &n->ak_len)) != 0)
		return r;
	snprintf(n->peer, sizeof(n->peer), "%s", e->peer);
	snprintf(n->host, sizeof(n->host), "%s", e->host);
	n->ek = *ek;
	n->ak_parent = p->cfg->ek_alg;
	/* qm points into qr and selbuf: the caller's, alive until the reply. */
	if ((r = evidence_quote_request(qr, selbuf, qm)) != 0)
		return r;
	return preissued_put(p->next, e->rec.node_id, n, id);
}

/* The verdict that ends a session (passing, or verified but unjudged): the
 * attestor comes back after reattest_interval; a pass also hands out the
 * next quote request. */
static void push_pass(struct push_service *p, struct rpc_call *call, uint32_t slot, const char *id,
		      const struct session_verdict *v)
{
	Attest__V1__PushChallenge m = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__Verdict vm = ATTEST__V1__VERDICT__INIT;
	Attest__V1__QuoteRequest qm;
	struct session_quote_request qr;
	struct wire_pcrsel_buf selbuf;
	struct push_entry *e = &p->slots[slot];
	/* Without a store there is nothing to rebuild the next session from. */
	struct preissued_entry *n = p->next && v->pass && p->cfg->pre_issued_requests ? malloc(sizeof(*n)) : NULL;
	char next_id[PREISSUED_ID_LEN + 1], *ear = NULL;

	LOG_INFO("verdict %s host '%s' peer '%s' resetCount %u restartCount %u ak %s eventlog %s ima %llu "
		 "(%llu new) secrets %zu",
		 v->pass ? "PASS" : "VERIFIED (unjudged)", e->host, e->peer, v->reset_count, v->restart_count,
		 !session_ak_preactivated(e->s) ? "activated" : e->resumed ? "known, resumed" : "known",
		 v->event_log_checked ? "ok" : "none",
		 (unsigned long long)v->ima_entries, (unsigned long long)v->ima_new, v->secrets_proven);
	vm.pass = v->pass;
	vm.unjudged = v->unjudged;
	vm.reason = v->pass ? "" : (char *)v->peer_reason;
	vm.reattest_seconds = p->cfg->reattest_interval;
	if (n && push_next_issue(p, e, n, next_id, &qr, &selbuf, &qm) == 0) {
		vm.next_session_id = next_id;
		vm.next_quote = &qm;
	}
	if (n) {
		OPENSSL_cleanse(n, sizeof(*n));
		free(n);
	}
	if (record_result(&e->rec, v, &ear) == 0 && ear)
		vm.ear = ear;
	m.verdict = &vm;
	push_reply(call, id, &m);
	free(ear);
	push_put(p, slot, PUSH_END);
}

/* Record the verdict that ends a proven session and answer with it; a
 * verdict the store cannot take is not given (UNAVAILABLE: try again). */
static void push_verdict(struct push_service *p, struct rpc_call *call, uint32_t slot, const char *id,
			 const struct session_verdict *v, const struct session_quote *q,
			 const struct session_proof *proofs, size_t nproofs)
{
	struct push_entry *e = &p->slots[slot];
	int64_t att = 0;

	if (record_verdict(&e->rec, v, q, &att) != 0) {
		push_store_failed(p, call, slot);
		return;
	}
	record_secrets(&e->rec, att, proofs, nproofs);
	push_pass(p, call, slot, id, v);
}

/* Refuse a pre-issued quote request's SubmitQuote: the attestor says Hello next. */
static struct push_entry *push_resume_refused(struct push_service *p, struct rpc_call *call, uint32_t slot,
					      enum rpc_status status, const char *why)
{
	if (slot != UINT32_MAX)
		push_put(p, slot, PUSH_END);
	(void)rpc_call_fail(call, status, "%s%s", why,
			    status == RPC_NOT_FOUND || status == RPC_FAILED_PRECONDITION ? "; start again with Hello" : "");
	return NULL;
}

/* A SubmitQuote answering the quote request a verdict handed out: the session
 * is rebuilt from the kept entry and the store in a slot of its own, whose id
 * (sid) names it for any further step. NULL when the call was answered. */
static struct push_entry *push_resume(struct push_service *p, struct rpc_call *call, const char *id, uint32_t *slot,
				      char sid[PUSHID_LEN + 1])
{
	const char *peer = rpc_call_peer_identity(call);
	uint64_t max_age = ((uint64_t)p->cfg->reattest_interval + p->cfg->session_ttl) * 1000u;
	struct preissued_entry *n = NULL;
	struct session_challenge ch;
	struct session_ak ak;
	struct push_entry *e = NULL;
	int64_t node;
	int r;

	*slot = UINT32_MAX;
	memset(&ch, 0, sizeof(ch));
	if (!p->next)
		return push_resume_refused(p, call, UINT32_MAX, RPC_NOT_FOUND, "this verifier hands out no quote requests");
	if (!(n = malloc(sizeof(*n))))
		return push_resume_refused(p, call, UINT32_MAX, RPC_RESOURCE_EXHAUSTED, "out of memory");
	if ((r = preissued_take(p->next, id, peer, clock_mono_ms(), max_age, &node, n)) != 0) {
		if (r == AERR_STATE) {
			struct record_ctx rec = { .store = p->store, .mode = "push", .peer = peer ? peer : "" };

			record_rejected(&rec, NULL, "quote", "presented another TLS identity's pre-issued quote request");
		}
		push_resume_refused(p, call, UINT32_MAX,
				    r == AERR_STATE ? RPC_PERMISSION_DENIED
				    : r == AERR_NONCE ? RPC_FAILED_PRECONDITION : RPC_NOT_FOUND, err_detail());
		goto out;
	}
	if (!(e = push_open(p, call, n->peer, n->host, 1, slot, sid)))
		goto out;
	e->resumed = 1;
	ak = (struct session_ak){ .pub = n->ak, .pub_len = n->ak_len, .parent_ek_alg = n->ak_parent };
	/* What the store says now wins: a node removed, or with another AK
	 * activated since, goes back to Hello. */
	if ((r = session_endorse_known(e->s, &n->ek)) != 0 || (r = record_lookup_known(&e->rec, e->s)) != 0 ||
	    e->rec.node_id != node || (r = session_ak(e->s, &ak, &ch)) != 0 || !session_ak_preactivated(e->s) ||
	    (r = session_quote_preissued(e->s, &n->resume)) != 0) {
		if (r == AERR_STORE) {
			push_store_failed(p, call, *slot);
			e = NULL;
		} else {
			e = push_resume_refused(p, call, *slot, RPC_NOT_FOUND,
						r ? err_detail() : "the node's record changed since the quote request");
		}
		goto out;
	}
	LOG_DEBUG("session %.8s... resumed for host '%s' peer '%s'", sid + 8, e->host, e->peer);
out:
	OPENSSL_cleanse(&ch, sizeof(ch));
	if (n) {
		OPENSSL_cleanse(n, sizeof(*n));
		free(n);
	}
	return e;
}

/* Keep the quote of a passing verdict that waits for its secrets' proofs. */
static int push_keep_quote(struct push_entry *e, const struct session_quote *q)
{
	if (q->attest_len > QUOTE_MAX_ATTEST || q->sig_len > QUOTE_MAX_SIGNATURE)
		return err_set(AERR_TOO_LARGE, "quote");
	if (!e->quote && !(e->quote = malloc(sizeof(*e->quote))))
		return err_set(AERR_ALLOC, "quote");
	memcpy(e->quote->attest, q->attest, q->attest_len);
	e->quote->attest_len = q->attest_len;
	memcpy(e->quote->sig, q->sig, q->sig_len);
	e->quote->sig_len = q->sig_len;
	return 0;
}

/* The kept quote as a session_quote for the record (NULL when none). */
static const struct session_quote *push_kept_quote(const struct push_entry *e, struct session_quote *q)
{
	if (!e->quote)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->attest = e->quote->attest;
	q->attest_len = e->quote->attest_len;
	q->sig = e->quote->sig;
	q->sig_len = e->quote->sig_len;
	return q;
}

/* A quote that verified but asks for another step (next, not
 * SESSION_NEXT_VERDICT): a quote with a fresh nonce (IMA of another boot; a
 * pre-issued nonce not provably fresh), or activation again after a reset.
 * Answers the call. */
static void push_ask_next(struct push_service *p, struct rpc_call *call, uint32_t slot, const char *sid,
			  enum session_next next)
{
	struct push_entry *e = &p->slots[slot];
	struct session_challenge ch;
	int r;

	if (next == SESSION_NEXT_REQUOTE) {
		if ((r = push_ask_quote(e, call, sid)) != 0)
			push_step_failed(p, call, slot, r, NULL);
		else
			push_put(p, slot, PUSH_DEMAND);
		return;
	}
	/* The TPM was reset since its AK was activated: again, then quote. */
	if ((r = session_reactivate(e->s, &ch)) != 0) {
		push_step_failed(p, call, slot, r, NULL);
		return;
	}
	push_ask_activation(call, sid, &ch);
	OPENSSL_cleanse(&ch, sizeof(ch));
	push_put(p, slot, PUSH_DEMAND);
}

/* A passing quote: the secrets selected for this node (by its EK, or the
 * name and groups an operator gave it), else the verdict. */
static void push_after_quote(struct push_service *p, struct rpc_call *call, uint32_t slot, const char *sid,
			     const struct session_verdict *v, const struct session_quote *q)
{
	Attest__V1__PushChallenge m = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__SecretDelivery dm;
	const struct secret_def *defs[SECRET_MAX_PER_HOST];
	const struct secret_blob *blobs;
	struct evidence_delivery_buf *buf = NULL;
	struct push_entry *e = &p->slots[slot];
	size_t n = 0;
	int r;

	if (v->pass)
		n = record_secret_defs(&e->rec, e->s, &p->secrets, defs);
	if (n == 0) {
		push_verdict(p, call, slot, sid, v, q, NULL, 0);
		return;
	}
	/* Secrets for this node: the verdict waits for the proofs. */
	if ((r = push_keep_quote(e, q)) != 0 || !(buf = malloc(sizeof(*buf)))) {
		(void)rpc_call_fail_err(call, r ? r : err_set(AERR_ALLOC, "delivery"));
		push_put(p, slot, PUSH_END);
		return;
	}
	if ((r = session_secrets(e->s, defs, n, &blobs)) != 0) {
		push_step_failed(p, call, slot, r, q);
		goto out;
	}
	if ((r = evidence_delivery(blobs, n, buf, &dm)) != 0)
		(void)rpc_call_fail_err(call, r);
	else {
		m.secrets = &dm;
		push_reply(call, sid, &m);
	}
	push_put(p, slot, r ? PUSH_KEEP : PUSH_DEMAND);
out:
	free(buf);
}

static void push_submit_quote(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct push_service *p = app;
	const Attest__V1__PushQuote *req = (const Attest__V1__PushQuote *)in;
	struct session_verdict v;
	struct session_quote q;
	struct pcr_values values;
	struct push_entry *e;
	char rid[PUSHID_LEN + 1];
	const char *sid = req->session_id;
	enum session_next next;
	int was_proven;
	uint32_t slot;
	int r;

	if (pushid_is_next(req->session_id)) {
		if (!(e = push_resume(p, call, req->session_id, &slot, rid)))
			return;
		sid = rid;
	} else if (!(e = push_lookup(p, call, req->session_id, &slot))) {
		return;
	}
	if ((r = evidence_quote(req->quote, &values, &q)) != 0) {
		(void)rpc_call_fail_err(call, r);
		push_put(p, slot, PUSH_KEEP);
		return;
	}
	was_proven = session_proven(e->s);
	r = session_quote(e->s, &q, &v, &next);
	/* An AK activated before signed this session's nonce: proven now. */
	if (!was_proven && session_proven(e->s) && !e->resumed && p->next)
		preissued_drop(p->next, e->rec.node_id);
	if (r == 0 && next != SESSION_NEXT_VERDICT) {
		push_ask_next(p, call, slot, sid, next);
		return;
	}
	if (r != 0) {
		push_step_failed(p, call, slot, r, &q);
		return;
	}
	push_after_quote(p, call, slot, sid, &v, &q);
}

static void push_confirm_secrets(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct push_service *p = app;
	const Attest__V1__PushReceipt *req = (const Attest__V1__PushReceipt *)in;
	struct session_proof proofs[SECRET_MAX_PER_HOST];
	struct session_verdict v;
	struct session_quote kept;
	struct push_entry *e;
	uint32_t slot;
	size_t n;
	int r;

	if (!(e = push_lookup(p, call, req->session_id, &slot)))
		return;
	if ((r = evidence_receipt(req->receipt, proofs, SECRET_MAX_PER_HOST, &n)) != 0) {
		(void)rpc_call_fail_err(call, r);
		push_put(p, slot, PUSH_KEEP);
		return;
	}
	if ((r = session_receipt(e->s, proofs, n, &v)) != 0) {
		push_step_failed(p, call, slot, r, push_kept_quote(e, &kept));
		return;
	}
	for (size_t i = 0; i < n; i++)
		LOG_INFO("secret '%s' delivered to host '%s' peer '%s', proof verified", proofs[i].name, e->host,
			 e->peer);
	push_verdict(p, call, slot, req->session_id, &v, push_kept_quote(e, &kept), proofs, n);
}

/* ------------------------------------------------------------ lifecycle */

int push_start(const struct verifier_config *cfg, struct push_service **out)
{
	static const struct rpc_method_handler map[] = {
		{ "Hello", push_hello },
		{ "Activate", push_activate },
		{ "SubmitQuote", push_submit_quote },
		{ "ConfirmSecrets", push_confirm_secrets },
	};
	const ProtobufCServiceDescriptor *d = &attest__v1__verifier__descriptor;
	struct rpc_server_config sc = {
		.listen = cfg->listen,
		.tls = { .ca_file = cfg->tls.ca, .cert_file = cfg->tls.cert, .key_file = cfg->tls.key,
			 .insecure = cfg->tls.insecure },
		.threads = cfg->threads,
		/* Enough calls in flight that stalled peers cannot starve the rest. */
		.max_calls = cfg->threads * 64,
	};
	struct named_policy_limits lim = verifier_config_limits(cfg);
	rpc_handler_fn handlers[8];
	struct push_service *p;
	int r;

	*out = NULL;
	if (!cfg->listen)
		return err_set(AERR_CONFIG, "push mode needs listen = HOST:PORT");
	if ((r = rpc_handler_table(d, map, ARRAY_LEN(map), handlers, 8)) != 0)
		return r;
	if (!(p = calloc(1, sizeof(*p))) || !(p->slots = calloc(cfg->max_sessions, sizeof(*p->slots)))) {
		free(p);
		return err_set(AERR_ALLOC, "push: %u sessions", cfg->max_sessions);
	}
	pthread_mutex_init(&p->table_lock, NULL);
	p->cfg = cfg;
	p->nslots = cfg->max_sessions;
	p->per_identity = cfg->max_sessions_per_identity;
	for (uint32_t i = 0; i < p->nslots; i++)
		p->slots[i].next_free = i + 1;
	p->free_head = 0;
	if ((r = trust_load(cfg, &p->trust)) != 0 ||
	    (r = secret_set_load(cfg->secrets, cfg->nsecrets, &p->secrets)) != 0)
		goto out;
	if (cfg->state_dir && ((r = store_open(cfg->state_dir, &p->store)) != 0 || (r = preissued_new(&p->next)) != 0 ||
			       (r = reference_cache_new(&lim, &p->refs)) != 0))
		goto out;
	if ((r = hook_start(cfg->hook, cfg->hook_timeout_ms, &p->hook)) != 0 ||
	    (r = result_issuer_open(cfg, 1, &p->results)) != 0)
		goto out;
	if (!cfg->state_dir)
		LOG_WARN("no state_dir: verdicts are logged but not recorded in a database");
	if ((r = window_start(p->store, p->hook, "push", cfg->reattest_window, cfg->evidence_retention_s, &cfg->pcrs,
				&p->window)) != 0)
		goto out;
	rpc_global_init();
	p->rpc_up = 1;
	if ((r = rpc_server_start(d, handlers, p, &sc, &p->srv)) != 0)
		goto out;
	if (cfg->tls.insecure)
		LOG_WARN("insecure = true: attestors are not authenticated and sessions are not bound to an identity");
	*out = p;
	p = NULL; /* transferred */
	r = 0;
out:
	push_free(p);
	return r;
}

int push_port(const struct push_service *p)
{
	return rpc_server_port(p->srv);
}

int push_serve(struct push_service *p)
{
	return rpc_server_run(p->srv);
}

void push_stop(struct push_service *p)
{
	if (p)
		rpc_server_stop(p->srv);
}

void push_free(struct push_service *p)
{
	if (!p)
		return;
	window_stop(p->window);
	rpc_server_free(p->srv);
	for (uint32_t i = 0; i < p->nslots; i++)
		if (p->slots[i].s)
			push_slot_release(p, i);
	free(p->slots);
	/* After the sessions, which hold its policies. */
	reference_cache_free(p->refs);
	preissued_free(p->next);
	trust_free(&p->trust);
	secret_set_free(&p->secrets);
	result_issuer_free(p->results);
	/* After the server and the window thread: nothing posts any more. */
	hook_stop(p->hook);
	store_close(p->store);
	if (p->rpc_up)
		rpc_global_shutdown();
	pthread_mutex_destroy(&p->table_lock);
	free(p);
}

static void push_on_signal(int sig)
{
	(void)sig;
	push_stop(push_signalled);
}

struct rpc_server *push_rpc(struct push_service *p)
{
	return p->srv;
}

int push_run(struct push_service *p)
{
	struct sigaction sa;
	int r;

	push_signalled = p;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = push_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	LOG_INFO("serving attest.v1.Verifier on %s (port %d), mutual TLS %s", p->cfg->listen, push_port(p),
		 p->cfg->tls.insecure ? "OFF" : "on");
	r = push_serve(p);
	push_signalled = NULL;
	return r;
}
