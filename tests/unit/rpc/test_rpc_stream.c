/* common/rpc: detached handlers, server streaming (rpc_call_send,
 * rpc_call_stream) and a guest server on a host's workers
 * (rpc_server_attach), over real gRPC on loopback with mutual TLS from
 * certs/mkpki.sh. The streaming method is the Admin service's WatchEvents
 * (the glue does not care what its messages mean); the host serves the
 * Attestor service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "admin.pb-c.h"
#include "attest.pb-c.h"
#include "crypto.h"
#include "fixtures.h"
#include "rpc.h"
#include "rpc_test.h"

static const ProtobufCServiceDescriptor *const HOST = &attest__v1__attestor__descriptor;
static const ProtobufCServiceDescriptor *const GUEST = &attest__v1__admin__descriptor;


static char *pki(const char *name)
{
	static char p[8][512];
	static unsigned k;
	char *s = p[k++ % 8];

	snprintf(s, sizeof(p[0]), "%s/%s", g_pki, name);
	return s;
}

/* What the handlers saw. */
static struct {
	atomic_int ended;          /* a stream's handler saw its client go or the server stop */
	atomic_int host_send_rc;   /* rpc_call_send from a handler that is not detached */
	atomic_int sent;
} seen;

/* ---------------------------------------------------------------- handlers */

/* Host: GetEndorsement answers, and tries to stream (it may not). */
static void h_endorsement(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	Attest__V1__Endorsement e = ATTEST__V1__ENDORSEMENT__INIT;
	Attest__V1__StateChange m = ATTEST__V1__STATE_CHANGE__INIT;

	(void)in;
	(void)app;
	atomic_store(&seen.host_send_rc, rpc_call_send(call, &m.base));
	e.hostname = "host";
	(void)rpc_call_reply(call, &e.base);
}

/* Guest: WatchRequest.node says what to do: "5" streams 5 messages and
 * ends with a sixth and OK; "forever" streams until the client goes or
 * the server stops; "idle" sends nothing and waits for either. */
static void h_watch(struct rpc_call *call, const ProtobufCMessage *in_, void *app)
{
	const Attest__V1__WatchRequest *in = (const Attest__V1__WatchRequest *)in_;
	Attest__V1__StateChange m = ATTEST__V1__STATE_CHANGE__INIT;

	(void)app;
	m.node = "n";
	if (!strcmp(in->node, "5")) {
		for (m.seq = 1; m.seq <= 5; m.seq++)
			if (rpc_call_send(call, &m.base) != 0)
				return (void)rpc_call_fail(call, RPC_INTERNAL, "send %llu failed", (unsigned long long)m.seq);
		(void)rpc_call_reply(call, &m.base); /* seq 6, then OK */
		return;
	}
	/* No cmocka asserts on this thread: a failure is the reader's to see. */
	if (rpc_call_send_header(call) != 0)
		return (void)rpc_call_fail(call, RPC_INTERNAL, "headers failed");
	for (m.seq = 1;; m.seq++) {
		if (!strcmp(in->node, "forever")) {
			if (rpc_call_send(call, &m.base) != 0)
				break;
			atomic_fetch_add(&seen.sent, 1);
			rpc_test_sleep_ms(5);
		}
		if (rpc_call_closed(call, 50))
			break;
	}
	atomic_store(&seen.ended, 1);
	(void)rpc_call_fail(call, RPC_UNAVAILABLE, "stream over");
}

/* Guest: GetFleet, unary, on its own thread too. */
static void h_fleet(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	Attest__V1__Fleet f = ATTEST__V1__FLEET__INIT;

	(void)in;
	(void)app;
	f.mode = "guest";
	(void)rpc_call_reply(call, &f.base);
}

/* Only the verifier's certificate may call the guest. */
static int only_verifier(const char *identity, void *app, char *why, size_t cap)
{
	(void)app;
	if (identity && !strcmp(identity, "verifier"))
		return 0;
	snprintf(why, cap, "not the verifier: %s", identity ? identity : "(none)");
	return -1;
}

/* ------------------------------------------------------------ the servers */

struct pair {
	struct rpc_server *host, *guest;
	pthread_t thread;
	char host_target[64], guest_target[64];
};

static void *host_main(void *arg)
{
	rpc_server_run(arg);
	return NULL;
}

static void pair_start(struct pair *p)
{
	rpc_handler_fn hh[8] = { 0 }, gh[32] = { 0 };
	struct rpc_server_config hc = { 0 }, gc = { 0 };
	struct rpc_server *second = NULL;

	hh[rpc_test_method(HOST, "GetEndorsement")] = h_endorsement;
	gh[rpc_test_method(GUEST, "WatchEvents")] = h_watch;
	gh[rpc_test_method(GUEST, "GetFleet")] = h_fleet;
	hc.listen = gc.listen = "127.0.0.1:0";
	hc.tls.ca_file = gc.tls.ca_file = pki("ca.pem");
	hc.tls.cert_file = gc.tls.cert_file = pki("attestor.pem");
	hc.tls.key_file = gc.tls.key_file = pki("attestor.key");
	hc.threads = 2;
	gc.detach = 1;
	gc.max_calls = 8;
	gc.authorize = only_verifier;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(rpc_server_start(HOST, hh, NULL, &hc, &p->host), 0);
	assert_int_equal(rpc_server_attach(p->host, GUEST, gh, NULL, &gc, &p->guest), 0);
	/* One guest per host; a guest is not run on its own. */
	assert_int_equal(rpc_server_attach(p->host, GUEST, gh, NULL, &gc, &second), AERR_INVALID_ARG);
	assert_null(second);
	assert_int_equal(rpc_server_run(p->guest), AERR_STATE);
	snprintf(p->host_target, sizeof(p->host_target), "127.0.0.1:%d", rpc_server_port(p->host));
	snprintf(p->guest_target, sizeof(p->guest_target), "127.0.0.1:%d", rpc_server_port(p->guest));
	assert_int_equal(pthread_create(&p->thread, NULL, host_main, p->host), 0);
}

/* The order rpc_server_attach asks for: the host's workers stop, the
 * guest goes, then the host. */
static void pair_stop(struct pair *p)
{
	rpc_server_stop(p->host);
	assert_int_equal(pthread_join(p->thread, NULL), 0);
	rpc_server_free(p->guest);
	rpc_server_free(p->host);
}

static struct rpc_channel *channel(const char *target, const char *who)
{
	struct rpc_tls tls = { 0 };
	struct rpc_channel *ch = NULL;
	char cert[64], key[64];

	snprintf(cert, sizeof(cert), "%s.pem", who);
	snprintf(key, sizeof(key), "%s.key", who);
	tls.ca_file = pki("ca.pem");
	tls.cert_file = pki(cert);
	tls.key_file = pki(key);
	tls.server_name = "attestor";
	assert_int_equal(rpc_channel_open(target, &tls, 0, &ch), 0);
	return ch;
}

/* ------------------------------------------------------------ the reader */

struct reader {
	int ready;        /* fn(NULL) calls */
	uint64_t seqs[16];
	size_t n;
	size_t stop_after; /* 0: never */
	int after_ready;  /* messages that came before fn(NULL): must be 0 */
};

static int read_one(ProtobufCMessage *msg, void *arg)
{
	struct reader *r = arg;

	if (!msg) {
		r->ready++;
		return 0;
	}
	if (!r->ready)
		r->after_ready++;
	assert_ptr_equal(msg->descriptor, &attest__v1__state_change__descriptor);
	if (r->n < 16)
		r->seqs[r->n++] = ((Attest__V1__StateChange *)msg)->seq;
	protobuf_c_message_free_unpacked(msg, NULL);
	return r->stop_after && r->n >= r->stop_after;
}

static int watch(struct rpc_channel *ch, const char *what, struct reader *r, volatile const int *stop,
		 struct rpc_result *res)
{
	Attest__V1__WatchRequest req = ATTEST__V1__WATCH_REQUEST__INIT;

	req.node = (char *)what;
	return rpc_call_stream(ch, GUEST, rpc_test_method(GUEST, "WatchEvents"), &req.base, 10000, read_one, r, stop, res);
}

/* ------------------------------------------------------------------ tests */

static void test_stream_in_order(void **state)
{
	struct pair p;
	struct rpc_channel *ch;
	struct rpc_result res;
	struct reader r = { 0 };

	(void)state;
	pair_start(&p);
	ch = channel(p.guest_target, "verifier");
	assert_int_equal(watch(ch, "5", &r, NULL, &res), 0);
	assert_int_equal(res.status, RPC_OK);
	assert_int_equal(r.ready, 1);
	assert_int_equal(r.after_ready, 0);
	assert_int_equal(r.n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(r.seqs[i], i + 1);
	rpc_channel_close(ch);
	pair_stop(&p);
}

static void test_guest_refuses_and_serves(void **state)
{
	Attest__V1__AdminEmpty empty = ATTEST__V1__ADMIN_EMPTY__INIT;
	Attest__V1__Empty e = ATTEST__V1__EMPTY__INIT;
	ProtobufCMessage *out = NULL;
	struct rpc_channel *ch;
	struct rpc_result res;
	struct reader r = { 0 };
	struct pair p;

	(void)state;
	pair_start(&p);
	/* Its own caller check, before any handler: an attestor's certificate
	 * neither calls nor streams. */
	ch = channel(p.guest_target, "attestor");
	assert_int_equal(rpc_call_unary(ch, GUEST, rpc_test_method(GUEST, "GetFleet"), &empty.base, 5000, 0, &out, &res),
			 AERR_RPC);
	assert_int_equal(res.status, RPC_PERMISSION_DENIED);
	assert_non_null(strstr(res.message, "not the verifier: attestor"));
	assert_int_equal(watch(ch, "forever", &r, NULL, &res), AERR_RPC);
	assert_int_equal(res.status, RPC_PERMISSION_DENIED);
	assert_int_equal(r.ready, 0);
	assert_int_equal(r.n, 0);
	rpc_channel_close(ch);
	/* The verifier's: a detached unary call answers. */
	ch = channel(p.guest_target, "verifier");
	assert_int_equal(rpc_call_unary(ch, GUEST, rpc_test_method(GUEST, "GetFleet"), &empty.base, 5000, 0, &out, &res), 0);
	assert_string_equal(((Attest__V1__Fleet *)out)->mode, "guest");
	protobuf_c_message_free_unpacked(out, NULL);
	rpc_channel_close(ch);
	/* The host keeps serving its own service on its port, and a handler
	 * that is not detached cannot stream. */
	ch = channel(p.host_target, "verifier");
	assert_int_equal(rpc_call_unary(ch, HOST, rpc_test_method(HOST, "GetEndorsement"), &e.base, 5000, 0, &out, &res), 0);
	assert_string_equal(((Attest__V1__Endorsement *)out)->hostname, "host");
	protobuf_c_message_free_unpacked(out, NULL);
	assert_int_equal(atomic_load(&seen.host_send_rc), AERR_STATE);
	rpc_channel_close(ch);
	pair_stop(&p);
}

static void test_client_stops(void **state)
{
	struct rpc_channel *ch;
	struct rpc_result res;
	struct reader r = { .stop_after = 3 };
	struct pair p;

	(void)state;
	pair_start(&p);
	ch = channel(p.guest_target, "verifier");
	assert_int_equal(watch(ch, "forever", &r, NULL, &res), 0);
	assert_int_equal(res.status, RPC_CANCELLED);
	assert_int_equal(r.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(r.seqs[i], i + 1);
	/* The handler notices, and its slot is free again. */
	for (int i = 0; i < 200 && !atomic_load(&seen.ended); i++)
		rpc_test_sleep_ms(10);
	assert_int_equal(atomic_load(&seen.ended), 1);
	rpc_channel_close(ch);
	pair_stop(&p);
}

struct bg_watch {
	struct rpc_channel *ch;
	struct reader r;
	struct rpc_result res;
	int rc;
	volatile int stop;
};

static void *bg_watch_main(void *arg)
{
	struct bg_watch *w = arg;

	w->rc = watch(w->ch, "idle", &w->r, &w->stop, &w->res);
	return NULL;
}

/* The servers, and an idle stream on a thread, set up. */
static void bg_watch_start(struct pair *p, struct bg_watch *w, pthread_t *t)
{
	pair_start(p);
	w->ch = channel(p->guest_target, "verifier");
	assert_int_equal(pthread_create(t, NULL, bg_watch_main, w), 0);
	for (int i = 0; i < 500 && !w->r.ready; i++)
		rpc_test_sleep_ms(10);
	assert_int_equal(w->r.ready, 1);
}

/* A stream that outlives its server: the handler sees the stop and ends
 * the stream with its own status, inside the grace time. */
static void test_server_stops_stream(void **state)
{
	struct bg_watch w = { 0 };
	pthread_t t;
	struct pair p;

	(void)state;
	bg_watch_start(&p, &w, &t);
	pair_stop(&p);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, AERR_RPC);
	assert_int_equal(w.res.status, RPC_UNAVAILABLE);
	assert_string_equal(w.res.message, "stream over");
	assert_int_equal(atomic_load(&seen.ended), 1);
	rpc_channel_close(w.ch);
}

/* The reader's stop flag ends a stream with nothing on it. */
static void test_stop_flag(void **state)
{
	struct bg_watch w = { 0 };
	pthread_t t;
	struct pair p;

	(void)state;
	bg_watch_start(&p, &w, &t);
	w.stop = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.res.status, RPC_CANCELLED);
	for (int i = 0; i < 200 && !atomic_load(&seen.ended); i++)
		rpc_test_sleep_ms(10);
	assert_int_equal(atomic_load(&seen.ended), 1);
	rpc_channel_close(w.ch);
	pair_stop(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_in_order),
		cmocka_unit_test(test_guest_refuses_and_serves),
		cmocka_unit_test(test_client_stops),
		cmocka_unit_test(test_server_stops_stream),
		cmocka_unit_test(test_stop_flag),
	};

	crypto_process_init();
	return cmocka_run_group_tests(tests, rpc_test_group_setup, rpc_test_group_teardown);
}
