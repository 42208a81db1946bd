#define LOG_MODULE "push"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "attest.pb-c.h"
#include "crypto.h"
#include "evidence.h"
#include "log.h"
#include "push.h"
#include "record.h"
#include "rpc.h"
#include "secret.h"
#include "session.h"
#include "trust.h"

#define PUSH_TAG_LEN 16                           /* random bytes of an id */
#define PUSH_ID_LEN (8 + 2 * PUSH_TAG_LEN)        /* hex slot number + hex tag */
#define PUSH_PEER_MAX 128
#define PUSH_HOST_MAX 64

struct push_entry {
	struct session *s;                        /* NULL = free slot */
	uint8_t tag[PUSH_TAG_LEN];
	char peer[PUSH_PEER_MAX];                 /* TLS identity that said Hello; "" when insecure */
	char host[PUSH_HOST_MAX];                 /* the attestor's claim, for logs only */
	uint64_t expires_ms;
	uint32_t next_free;                       /* free list link */
	struct record_ctx rec;                    /* where this session's verdicts go */
	int64_t att_id;                           /* the recorded passing quote, for its secrets */
};

struct push_service {
	const struct verifier_config *cfg;
	struct verifier_trust trust;
	struct secret_set secrets;
	struct store *store;                      /* NULL without state_dir */
	struct rpc_server *srv;
	int rpc_up;
	struct push_entry *slots;
	uint32_t nslots, free_head, open;         /* free_head == nslots: none free */
	pthread_mutex_t counts_lock;
	struct push_counts counts;
};

static struct push_service *push_signalled;

static uint64_t push_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void push_count(struct push_service *p, uint64_t *field)
{
	pthread_mutex_lock(&p->counts_lock);
	(*field)++;
	pthread_mutex_unlock(&p->counts_lock);
}

/* p->open belongs to the serving thread; readers see this copy. */
static void push_open_changed(struct push_service *p, int delta)
{
	p->open = (uint32_t)((int64_t)p->open + delta);
	pthread_mutex_lock(&p->counts_lock);
	p->counts.open = p->open;
	pthread_mutex_unlock(&p->counts_lock);
}

/* ------------------------------------------------------------ the session table */

static void push_slot_release(struct push_service *p, uint32_t i)
{
	struct push_entry *e = &p->slots[i];

	session_free(e->s);
	OPENSSL_cleanse(e->tag, sizeof(e->tag));
	memset(e, 0, sizeof(*e));
	e->next_free = p->free_head;
	p->free_head = i;
	push_open_changed(p, -1);
}

/* Free every expired session; returns how many. Only when the table is full:
 * an expired session otherwise stays until it is looked up, so its attestor
 * learns "expired" rather than "unknown". */
static uint32_t push_reap(struct push_service *p, uint64_t now)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->nslots; i++) {
		if (p->slots[i].s && p->slots[i].expires_ms <= now) {
			LOG_INFO("session of host '%s' (peer '%s') expired unfinished", p->slots[i].host,
				 p->slots[i].peer);
			push_slot_release(p, i);
			n++;
		}
	}
	return n;
}

static void push_id_format(uint32_t slot, const uint8_t *tag, char *out)
{
	snprintf(out, 9, "%08x", slot);
	for (size_t i = 0; i < PUSH_TAG_LEN; i++)
		snprintf(out + 8 + 2 * i, 3, "%02x", tag[i]);
}

static int push_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The session an id names, checked against the caller's TLS identity.
 * Answers the call itself and returns NULL when there is none. */
static struct push_entry *push_lookup(struct push_service *p, struct rpc_call *call, const char *id, uint32_t *slot)
{
	uint8_t tag[PUSH_TAG_LEN];
	const char *peer = rpc_call_peer_identity(call);
	uint32_t i = 0;
	struct push_entry *e;
	size_t k;

	if (!id || strlen(id) != PUSH_ID_LEN) {
		(void)rpc_call_fail(call, RPC_INVALID_ARGUMENT, "session id must be %d hex digits", PUSH_ID_LEN);
		goto rejected;
	}
	for (k = 0; k < PUSH_ID_LEN; k++)
		if (push_hex(id[k]) < 0) {
			(void)rpc_call_fail(call, RPC_INVALID_ARGUMENT, "session id must be %d lower-case hex digits",
					    PUSH_ID_LEN);
			goto rejected;
		}
	for (k = 0; k < 8; k++)
		i = i << 4 | (uint32_t)push_hex(id[k]);
	for (k = 0; k < PUSH_TAG_LEN; k++)
		tag[k] = (uint8_t)(push_hex(id[8 + 2 * k]) << 4 | push_hex(id[9 + 2 * k]));
	e = i < p->nslots ? &p->slots[i] : NULL;
	if (!e || !e->s || CRYPTO_memcmp(e->tag, tag, PUSH_TAG_LEN) != 0) {
		(void)rpc_call_fail(call, RPC_NOT_FOUND, "unknown or finished session; start again with Hello");
		goto rejected;
	}
	if (strcmp(e->peer, peer ? peer : "") != 0) {
		LOG_WARN("peer '%s' presented the session of peer '%s' (host '%s')", peer ? peer : "", e->peer,
			 e->host);
		(void)rpc_call_fail(call, RPC_PERMISSION_DENIED, "the session belongs to another TLS identity");
		goto rejected;
	}
	if (e->expires_ms <= push_now_ms()) {
		LOG_INFO("session of host '%s' (peer '%s') used after it expired", e->host, e->peer);
		push_slot_release(p, i);
		(void)rpc_call_fail(call, RPC_FAILED_PRECONDITION,
				    "the session expired (session_ttl %u s); start again with Hello", p->cfg->session_ttl);
		goto rejected;
	}
	*slot = i;
	return e;
rejected:
	push_count(p, &p->counts.rejected);
	return NULL;
}

/* ------------------------------------------------------------ verdicts */

/* A failed step: out of order leaves the session as it was (the attestor may
 * still send the right step); a failed check ends it with a verdict. */
static void push_step_failed(struct push_service *p, struct rpc_call *call, uint32_t slot, int code,
			     const struct session_quote *q)
{
	struct push_entry *e = &p->slots[slot];
	const struct session_verdict *v;

	if (session_get_state(e->s) != SESSION_FAILED) {
		(void)rpc_call_fail_err(call, code);
		push_count(p, &p->counts.rejected);
		return;
	}
	v = session_last_verdict(e->s);
	LOG_INFO("verdict FAIL host '%s' peer '%s': %s: %s", e->host, e->peer, session_step_name(v->step), v->reason);
	(void)record_verdict(&e->rec, v, q);
	(void)rpc_call_fail(call, rpc_status_from_err(v->code), "%s: %s", session_step_name(v->step), v->reason);
	push_slot_release(p, slot);
	push_count(p, &p->counts.failed);
}

static void push_reply(struct rpc_call *call, const char *id, Attest__V1__PushChallenge *m)
{
	m->session_id = (char *)id;
	(void)rpc_call_reply(call, &m->base);
}

/* ------------------------------------------------------------ handlers */

/* The untrusted hostname, printable and bounded, for log lines. */
static void push_host_copy(char *dst, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i < PUSH_HOST_MAX - 1; i++)
		dst[i] = src[i] > 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

static void push_hello(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct push_service *p = app;
	const Attest__V1__PushHello *req = (const Attest__V1__PushHello *)in;
	Attest__V1__PushChallenge m = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__CredentialChallenge cm;
	struct evidence_challenge_buf buf;
	struct session_params sp;
	struct session_endorsement en;
	struct session_ak ak;
	struct session_challenge ch;
	const char *peer = rpc_call_peer_identity(call);
	char id[PUSH_ID_LEN + 1];
	struct push_entry *e;
	uint32_t slot;
	int r;

	memset(&ch, 0, sizeof(ch));
	if ((r = evidence_endorsement(req->endorsement, &en)) != 0 || (r = evidence_ak(req->ak, &ak)) != 0) {
		(void)rpc_call_fail_err(call, r);
		push_count(p, &p->counts.rejected);
		return;
	}
	if (p->free_head == p->nslots && push_reap(p, push_now_ms()) == 0) {
		(void)rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "%u sessions open (max_sessions); try again later",
				    p->open);
		push_count(p, &p->counts.rejected);
		return;
	}
	slot = p->free_head;
	e = &p->slots[slot];
	trust_session_params(p->cfg, &p->trust, &sp);
	if ((r = session_new(&sp, &e->s)) != 0 || (r = crypto_random(e->tag, sizeof(e->tag))) != 0) {
		session_free(e->s);
		e->s = NULL;
		(void)rpc_call_fail_err(call, r);
		return;
	}
	p->free_head = e->next_free;
	push_open_changed(p, +1);
	snprintf(e->peer, sizeof(e->peer), "%s", peer ? peer : "");
	push_host_copy(e->host, en.hostname);
	e->expires_ms = push_now_ms() + (uint64_t)p->cfg->session_ttl * 1000u;
	e->rec = (struct record_ctx){ .store = p->store, .mode = "push", .peer = e->peer, .host = e->host,
				      .pcrs = &p->cfg->pcrs };
	e->att_id = 0;

	if ((r = session_endorse(e->s, &en)) != 0) {
		push_step_failed(p, call, slot, r, NULL);
		goto out;
	}
	record_node(&e->rec, e->s, &en, NULL);
	if ((r = session_ak(e->s, &ak, &ch)) != 0) {
		push_step_failed(p, call, slot, r, NULL);
		goto out;
	}
	record_node(&e->rec, e->s, &en, &ak);
	if ((r = evidence_challenge(&ch, &buf, &cm)) != 0) {
		(void)rpc_call_fail_err(call, r);
		push_slot_release(p, slot);
		goto out;
	}
	push_id_format(slot, e->tag, id);
	LOG_DEBUG("session %.8s... opened for host '%s' peer '%s'", id + 8, e->host, e->peer);
	m.credential = &cm;
	push_reply(call, id, &m);
out:
	OPENSSL_cleanse(&ch, sizeof(ch));
}

static void push_activate(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct push_service *p = app;
	const Attest__V1__PushActivation *req = (const Attest__V1__PushActivation *)in;
	Attest__V1__PushChallenge m = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__QuoteRequest qm;
	struct wire_pcrsel_buf selbuf;
	struct session_quote_request qr;
	struct push_entry *e;
	uint32_t slot;
	int r;

	if (!(e = push_lookup(p, call, req->session_id, &slot)))
		return;
	if (!req->response) {
		(void)rpc_call_fail(call, RPC_INVALID_ARGUMENT, "no credential response");
		push_count(p, &p->counts.rejected);
		return;
	}
	r = session_activate(e->s, req->response->secret.data, req->response->secret.len);
	if (req->response->secret.data)
		OPENSSL_cleanse(req->response->secret.data, req->response->secret.len);
	if (r == 0)
		r = session_quote_request(e->s, &qr);
	if (r != 0) {
		push_step_failed(p, call, slot, r, NULL);
		return;
	}
	if ((r = evidence_quote_request(&qr, &selbuf, &qm)) != 0) {
		(void)rpc_call_fail_err(call, r);
		return;
	}
	m.quote = &qm;
	push_reply(call, req->session_id, &m);
}

/* The passing verdict that ends a session. */
static void push_pass(struct push_service *p, struct rpc_call *call, uint32_t slot, const char *id,
		      const struct session_verdict *v)
{
	Attest__V1__PushChallenge m = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__Verdict vm = ATTEST__V1__VERDICT__INIT;
	struct push_entry *e = &p->slots[slot];

	LOG_INFO("verdict PASS host '%s' peer '%s' resetCount %u restartCount %u eventlog %s ima %llu secrets %zu",
		 e->host, e->peer, v->reset_count, v->restart_count, v->event_log_checked ? "ok" : "none",
		 (unsigned long long)v->ima_entries, v->secrets_proven);
	vm.pass = 1;
	vm.reason = "";
	vm.reattest_seconds = p->cfg->reattest_interval;
	m.verdict = &vm;
	push_reply(call, id, &m);
	push_slot_release(p, slot);
	push_count(p, &p->counts.passed);
}

static void push_submit_quote(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct push_service *p = app;
	const Attest__V1__PushQuote *req = (const Attest__V1__PushQuote *)in;
	Attest__V1__PushChallenge m = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__SecretDelivery dm;
	const struct secret_def *defs[SECRET_MAX_PER_HOST];
	const struct secret_blob *blobs;
	struct evidence_delivery_buf *buf = NULL;
	struct session_verdict v;
	struct session_quote q;
	struct pcr_values values;
	struct push_entry *e;
	char ek[65];
	uint32_t slot;
	size_t n;
	int r;

	if (!(e = push_lookup(p, call, req->session_id, &slot)))
		return;
	if ((r = evidence_quote(req->quote, &values, &q)) != 0) {
		(void)rpc_call_fail_err(call, r);
		push_count(p, &p->counts.rejected);
		return;
	}
	if ((r = session_quote(e->s, &q, &v)) != 0) {
		push_step_failed(p, call, slot, r, &q);
		return;
	}
	e->att_id = record_verdict(&e->rec, &v, &q);
	if ((r = session_ek_hash(e->s, ek)) != 0 || (n = secret_set_match(&p->secrets, ek, e->host, defs)) == 0) {
		push_pass(p, call, slot, req->session_id, &v);
		return;
	}
	/* Secrets for this host: the verdict waits for the proofs. */
	if (!(buf = malloc(sizeof(*buf)))) {
		(void)rpc_call_fail_err(call, err_set(AERR_ALLOC, "delivery"));
		return;
	}
	if ((r = session_secrets(e->s, defs, n, &blobs)) != 0) {
		push_step_failed(p, call, slot, r, NULL);
		goto out;
	}
	if ((r = evidence_delivery(blobs, n, buf, &dm)) != 0) {
		(void)rpc_call_fail_err(call, r);
		goto out;
	}
	m.secrets = &dm;
	push_reply(call, req->session_id, &m);
out:
	free(buf);
}

static void push_confirm_secrets(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct push_service *p = app;
	const Attest__V1__PushReceipt *req = (const Attest__V1__PushReceipt *)in;
	struct session_proof proofs[SECRET_MAX_PER_HOST];
	struct session_verdict v;
	struct push_entry *e;
	uint32_t slot;
	size_t n;
	int r;

	if (!(e = push_lookup(p, call, req->session_id, &slot)))
		return;
	if ((r = evidence_receipt(req->receipt, proofs, SECRET_MAX_PER_HOST, &n)) != 0) {
		(void)rpc_call_fail_err(call, r);
		push_count(p, &p->counts.rejected);
		return;
	}
	if ((r = session_receipt(e->s, proofs, n, &v)) != 0) {
		push_step_failed(p, call, slot, r, NULL);
		return;
	}
	for (size_t i = 0; i < n; i++)
		LOG_INFO("secret '%s' delivered to host '%s' peer '%s', proof verified", proofs[i].name, e->host,
			 e->peer);
	record_secrets(&e->rec, e->att_id, proofs, n);
	push_pass(p, call, slot, req->session_id, &v);
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
	};
	rpc_handler_fn handlers[8];
	struct push_service *p;
	int r;

	*out = NULL;
	if (!cfg->listen)
		return err_set(AERR_CONFIG, "push mode needs listen = HOST:PORT");
	if ((r = rpc_handler_table(d, map, sizeof(map) / sizeof(map[0]), handlers, 8)) != 0)
		return r;
	if (!(p = calloc(1, sizeof(*p))) || !(p->slots = calloc(cfg->max_sessions, sizeof(*p->slots)))) {
		free(p);
		return err_set(AERR_ALLOC, "push: %u sessions", cfg->max_sessions);
	}
	pthread_mutex_init(&p->counts_lock, NULL);
	p->cfg = cfg;
	p->nslots = cfg->max_sessions;
	for (uint32_t i = 0; i < p->nslots; i++)
		p->slots[i].next_free = i + 1;
	p->free_head = 0;
	if ((r = trust_load(cfg, &p->trust)) != 0 ||
	    (r = secret_set_load(cfg->secrets, cfg->nsecrets, &p->secrets)) != 0)
		goto out;
	if (cfg->state_dir && (r = store_open(cfg->state_dir, &p->store)) != 0)
		goto out;
	if (!cfg->state_dir)
		LOG_WARN("no state_dir: verdicts are logged but not recorded in a database");
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
	rpc_server_free(p->srv);
	for (uint32_t i = 0; i < p->nslots; i++)
		if (p->slots[i].s)
			push_slot_release(p, i);
	free(p->slots);
	trust_free(&p->trust);
	secret_set_free(&p->secrets);
	store_close(p->store);
	if (p->rpc_up)
		rpc_global_shutdown();
	pthread_mutex_destroy(&p->counts_lock);
	free(p);
}

void push_get_counts(struct push_service *p, struct push_counts *out)
{
	pthread_mutex_lock(&p->counts_lock);
	*out = p->counts;
	pthread_mutex_unlock(&p->counts_lock);
}

static void push_on_signal(int sig)
{
	(void)sig;
	push_stop(push_signalled);
}

int push_run(const struct verifier_config *cfg)
{
	struct sigaction sa;
	struct push_service *p = NULL;
	int r;

	if ((r = push_start(cfg, &p)) != 0)
		return r;
	push_signalled = p;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = push_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	LOG_INFO("serving attest.v1.Verifier on %s (port %d), mutual TLS %s", cfg->listen, push_port(p),
		 cfg->tls.insecure ? "OFF" : "on");
	r = push_serve(p);
	push_signalled = NULL;
	push_free(p);
	return r;
}
