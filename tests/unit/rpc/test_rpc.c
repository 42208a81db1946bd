/* common/rpc: a real gRPC server (in a thread) and client over loopback with
 * mutual TLS from certs/mkpki.sh, the attest.v1 Attestor service, and test
 * handlers. Raw gRPC core calls send bytes the glue itself would never send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "array.h"
#include "attest.pb-c.h"
#include "crypto.h"
#include "fixtures.h"
#include "rpc.h"
#include "rpc_test.h"

static const ProtobufCServiceDescriptor *const SVC = &attest__v1__attestor__descriptor;

static char g_path[8][512];

/* ----------------------------------------------------------------- helpers */

static const char *pki(const char *name)
{
	static unsigned slot;
	char *p = g_path[slot++ % 8];

	snprintf(p, sizeof(g_path[0]), "%s/%s", g_pki, name);
	return p;
}

static unsigned method_index(const char *name)
{
	return rpc_test_method(SVC, name);
}

static void sleep_ms(int ms)
{
	rpc_test_sleep_ms(ms);
}

/* What the handlers saw, for the test to assert on. */
static struct {
	char peer[256];
	int64_t time_left_ms;
	int second_reply_rc;
	int bad_type_rc;
	size_t big_reply;
} seen;

/* ---------------------------------------------------------------- handlers */

static void h_get_endorsement(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	Attest__V1__Endorsement e = ATTEST__V1__ENDORSEMENT__INIT;
	Attest__V1__EndorsementKey ek = ATTEST__V1__ENDORSEMENT_KEY__INIT;
	Attest__V1__EndorsementKey *eks[1] = { &ek };
	const char *peer = rpc_call_peer_identity(call);
	static uint8_t pub[] = { 0x00, 0x02, 0xab, 0xcd };

	assert_ptr_equal(in->descriptor, &attest__v1__empty__descriptor);
	assert_ptr_equal(app, &seen);
	snprintf(seen.peer, sizeof(seen.peer), "%s", peer ? peer : "(none)");
	ek.alg = 1;
	ek.public_.data = pub;
	ek.public_.len = sizeof(pub);
	e.n_eks = 1;
	e.eks = eks;
	e.hostname = (char *)(peer ? peer : "(none)");
	assert_int_equal(rpc_call_reply(call, &e.base), 0);
	/* A call is answered once. */
	seen.second_reply_rc = rpc_call_reply(call, &e.base);
}

/* Replies with seen.big_reply bytes of public key: tests the client's limit. */
static void h_get_ak(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	Attest__V1__AttestationKey ak = ATTEST__V1__ATTESTATION_KEY__INIT;
	uint8_t *buf = calloc(1, seen.big_reply ? seen.big_reply : 1);

	assert_non_null(buf);
	ak.public_.data = buf;
	ak.public_.len = seen.big_reply;
	ak.parent_ek_alg = 0x23;
	(void)rpc_call_reply(call, &ak.base);
	free(buf);
}

/* Forgets to answer: the glue must answer INTERNAL. */
static void h_activate(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	Attest__V1__Endorsement wrong = ATTEST__V1__ENDORSEMENT__INIT;
	const Attest__V1__CredentialChallenge *cc = (const Attest__V1__CredentialChallenge *)in;

	if (cc->ek_alg == 99) {
		/* Wrong reply type: refused, and the client gets INTERNAL. */
		seen.bad_type_rc = rpc_call_reply(call, &wrong.base);
	}
}

static void h_quote(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	const Attest__V1__QuoteRequest *q = (const Attest__V1__QuoteRequest *)in;
	Attest__V1__QuoteResponse resp = ATTEST__V1__QUOTE_RESPONSE__INIT;
	const char *nonce = (const char *)q->nonce.data;
	size_t n = q->nonce.len;

	if (n == 4 && memcmp(nonce, "slow", 4) == 0) {
		seen.time_left_ms = rpc_call_time_left_ms(call);
		sleep_ms(800);
	} else if (n == 4 && memcmp(nonce, "time", 4) == 0) {
		seen.time_left_ms = rpc_call_time_left_ms(call);
	} else if (n == 4 && memcmp(nonce, "fail", 4) == 0) {
		(void)rpc_call_fail_err(call, err_set(AERR_NONCE, "nonce %s was already used", "c0ffee"));
		return;
	} else if (n == 7 && memcmp(nonce, "precond", 7) == 0) {
		(void)rpc_call_fail(call, RPC_FAILED_PRECONDITION, "custom failure %d", 42);
		return;
	}
	resp.attest = q->nonce; /* echo */
	resp.ima_offset = q->ima_offset + 1;
	(void)rpc_call_reply(call, &resp.base);
}

/* ------------------------------------------------------------ server thread */

struct srv {
	struct rpc_server *s;
	pthread_t thread;
	char target[64];
};

static void *srv_main(void *arg)
{
	struct srv *t = arg;

	rpc_server_run(t->s);
	return NULL;
}

static const char *g_listen = "127.0.0.1:0";

static void srv_start(struct srv *t, int insecure, size_t max_message)
{
	rpc_handler_fn handlers[6] = { 0 };
	struct rpc_server_config cfg = { 0 };

	handlers[method_index("GetEndorsement")] = h_get_endorsement;
	handlers[method_index("GetAttestationKey")] = h_get_ak;
	handlers[method_index("ActivateCredential")] = h_activate;
	handlers[method_index("Quote")] = h_quote;
	/* DeliverSecrets, DeliverResult: NULL = UNIMPLEMENTED */
	assert_int_equal(SVC->n_methods, 6);
	cfg.listen = g_listen;
	cfg.max_message = max_message;
	cfg.tls.insecure = insecure;
	if (!insecure) {
		cfg.tls.ca_file = strdup(pki("ca.pem"));
		cfg.tls.cert_file = strdup(pki("attestor.pem"));
		cfg.tls.key_file = strdup(pki("attestor.key"));
	}
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(rpc_server_start(SVC, handlers, &seen, &cfg, &t->s), 0);
	free((void *)cfg.tls.ca_file);
	free((void *)cfg.tls.cert_file);
	free((void *)cfg.tls.key_file);
	assert_true(rpc_server_port(t->s) > 0);
	snprintf(t->target, sizeof(t->target), "127.0.0.1:%d", rpc_server_port(t->s));
	assert_int_equal(pthread_create(&t->thread, NULL, srv_main, t), 0);
}

static void srv_stop(struct srv *t)
{
	rpc_server_stop(t->s);
	assert_int_equal(pthread_join(t->thread, NULL), 0);
	rpc_server_free(t->s);
	t->s = NULL;
}

/* A client TLS setup: the verifier's identity by default. */
static struct rpc_tls client_tls(const char *ca, const char *cert, const char *key)
{
	struct rpc_tls tls = { 0 };
	static char c[3][512];

	snprintf(c[0], sizeof(c[0]), "%s/%s", g_pki, ca);
	tls.ca_file = c[0];
	if (cert) {
		snprintf(c[1], sizeof(c[1]), "%s/%s", g_pki, cert);
		snprintf(c[2], sizeof(c[2]), "%s/%s", g_pki, key);
		tls.cert_file = c[1];
		tls.key_file = c[2];
	}
	return tls;
}

/* GetEndorsement through the glue; returns the status, *host the hostname. */
/* The last call_endorsement's result, for its refusal details. */
static struct rpc_result last;

static enum rpc_status call_endorsement(const char *target, const struct rpc_tls *tls, char *host,
					size_t cap)
{
	struct rpc_channel *ch = NULL;
	ProtobufCMessage *out = NULL;
	struct rpc_result res;
	Attest__V1__Empty empty = ATTEST__V1__EMPTY__INIT;
	int r;

	assert_int_equal(rpc_channel_open(target, tls, 0, &ch), 0);
	r = rpc_call_unary(ch, SVC, method_index("GetEndorsement"), &empty.base, 5000, 0, &out, &res);
	if (r == 0) {
		const Attest__V1__Endorsement *e = (const Attest__V1__Endorsement *)out;

		assert_int_equal(res.status, RPC_OK);
		assert_ptr_equal(out->descriptor, &attest__v1__endorsement__descriptor);
		assert_int_equal(e->n_eks, 1);
		assert_int_equal(e->eks[0]->public_.len, 4);
		assert_int_equal(e->eks[0]->public_.data[2], 0xab);
		if (host)
			snprintf(host, cap, "%s", e->hostname);
		protobuf_c_message_free_unpacked(out, NULL);
	} else {
		assert_int_equal(r, AERR_RPC);
		assert_null(out);
		assert_int_not_equal(res.status, RPC_OK);
	}
	rpc_channel_close(ch);
	last = res;
	return res.status;
}

/* The last call failed as our own refusal of the server, saying why. */
static void assert_refused(const char *why)
{
	assert_int_equal(last.status, RPC_UNAVAILABLE);
	assert_int_equal(last.ours, 1);
	if (!strstr(last.message, why))
		fail_msg("refusal '%s' does not say '%s'", last.message, why);
}

/* The last call failed in transport (or the server's refusal): retry may help. */
static void assert_not_refused(void)
{
	assert_int_equal(last.status, RPC_UNAVAILABLE);
	assert_int_equal(last.ours, 0);
}

/* Quote with a nonce through the glue. */
static int call_quote(struct rpc_channel *ch, const char *nonce, size_t nonce_len, int timeout_ms,
		      struct rpc_result *res, Attest__V1__QuoteResponse **resp)
{
	Attest__V1__QuoteRequest q = ATTEST__V1__QUOTE_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	int r;

	q.nonce.data = (uint8_t *)nonce;
	q.nonce.len = nonce_len;
	q.ima_offset = 41;
	r = rpc_call_unary(ch, SVC, method_index("Quote"), &q.base, timeout_ms, 0, &out, res);
	if (resp)
		*resp = (Attest__V1__QuoteResponse *)out;
	else if (out)
		protobuf_c_message_free_unpacked(out, NULL);
	return r;
}

/* A PEM file as a C string (fixture_read leaves room for the terminator). */
static char *read_pem(const char *name)
{
	size_t n;
	char *p = (char *)fixture_read(pki(name), &n);

	assert_non_null(p);
	p[n] = '\0';
	return p;
}

/* Bytes straight through gRPC core, bypassing the glue's packing. */
static grpc_status_code raw_call(const char *target, int tls, const char *path, const void *data,
				 size_t len, char *details_out, size_t cap)
{
	grpc_channel_credentials *creds;
	grpc_channel *channel;
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_call *call;
	grpc_slice slice = grpc_slice_from_copied_buffer(data, len), details = grpc_empty_slice();
	grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&slice, 1), *recv = NULL;
	grpc_metadata_array imd, tmd;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_op ops[6];
	grpc_event ev;
	char tag;

	grpc_slice_unref(slice);
	if (tls) {
		char *ca = read_pem("ca.pem");
		char *cert = read_pem("verifier.pem");
		char *key = read_pem("verifier.key");
		grpc_ssl_pem_key_cert_pair pair;

		pair.private_key = key;
		pair.cert_chain = cert;
		creds = grpc_ssl_credentials_create(ca, &pair, NULL, NULL);
		free(ca);
		free(cert);
		free(key);
	} else {
		creds = grpc_insecure_credentials_create();
	}
	channel = grpc_channel_create(target, creds, NULL);
	grpc_channel_credentials_release(creds);
	call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					grpc_slice_from_static_string(path), NULL,
					gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(5000, GPR_TIMESPAN)),
					NULL);
	grpc_metadata_array_init(&imd);
	grpc_metadata_array_init(&tmd);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	assert_int_equal(grpc_call_start_batch(call, ops, 6, &tag, NULL), GRPC_CALL_OK);
	ev = grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	assert_int_equal(ev.type, GRPC_OP_COMPLETE);
	if (details_out) {
		size_t dl = GRPC_SLICE_LENGTH(details) < cap ? GRPC_SLICE_LENGTH(details) : cap - 1;

		memcpy(details_out, GRPC_SLICE_START_PTR(details), dl);
		details_out[dl] = '\0';
	}
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&imd);
	grpc_metadata_array_destroy(&tmd);
	grpc_call_unref(call);
	grpc_channel_destroy(channel);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	return status;
}

/* ------------------------------------------------------------------- tests */

static void test_status_mapping(void **state)
{
	static const struct { int err; enum rpc_status st; } map[] = {
		{ AERR_OK, RPC_OK },
		{ AERR_PARSE, RPC_INVALID_ARGUMENT }, { AERR_TRAILING, RPC_INVALID_ARGUMENT },
		{ AERR_TOO_LARGE, RPC_INVALID_ARGUMENT }, { AERR_INVALID_ARG, RPC_INVALID_ARGUMENT },
		{ AERR_UNSUPPORTED, RPC_INVALID_ARGUMENT },
		{ AERR_STATE, RPC_FAILED_PRECONDITION }, { AERR_CONFIG, RPC_FAILED_PRECONDITION },
		{ AERR_NOT_FOUND, RPC_NOT_FOUND },
		{ AERR_NONCE, RPC_PERMISSION_DENIED }, { AERR_SIGNATURE, RPC_PERMISSION_DENIED },
		{ AERR_QUOTE_MAGIC, RPC_PERMISSION_DENIED }, { AERR_QUOTE_TYPE, RPC_PERMISSION_DENIED },
		{ AERR_PCR_SELECTION, RPC_PERMISSION_DENIED }, { AERR_PCR_DIGEST, RPC_PERMISSION_DENIED },
		{ AERR_PCR_POLICY, RPC_PERMISSION_DENIED }, { AERR_AK_ATTRS, RPC_PERMISSION_DENIED },
		{ AERR_EK_CERT_CHAIN, RPC_PERMISSION_DENIED }, { AERR_EK_CERT_KEY, RPC_PERMISSION_DENIED },
		{ AERR_EK_CERT, RPC_PERMISSION_DENIED }, { AERR_PLATFORM_CERT, RPC_PERMISSION_DENIED },
		{ AERR_CREDENTIAL, RPC_PERMISSION_DENIED },
		{ AERR_TPM, RPC_INTERNAL }, { AERR_INTERNAL, RPC_INTERNAL }, { AERR_CRYPTO, RPC_INTERNAL },
		{ AERR_ALLOC, RPC_INTERNAL }, { AERR_IO, RPC_INTERNAL },
		{ AERR_RPC, RPC_UNAVAILABLE },
		{ -1000, RPC_INTERNAL },
	};

	for (size_t i = 0; i < ARRAY_LEN(map); i++) {
		if (rpc_status_from_err(map[i].err) != map[i].st)
			fail_msg("err %d (%s): got %s, want %s", map[i].err, err_str(map[i].err),
				 rpc_status_name(rpc_status_from_err(map[i].err)), rpc_status_name(map[i].st));
	}
	assert_string_equal(rpc_status_name(RPC_INVALID_ARGUMENT), "INVALID_ARGUMENT");
	assert_string_equal(rpc_status_name(RPC_UNAUTHENTICATED), "UNAUTHENTICATED");
	assert_string_equal(rpc_status_name((enum rpc_status)99), "UNKNOWN_STATUS");
}

static void test_mtls_round_trip(void **state)
{
	struct srv t;
	struct rpc_tls tls = client_tls("ca.pem", "verifier.pem", "verifier.key");
	char host[256] = "";

	srv_start(&t, 0, 0);
	assert_int_equal(call_endorsement(t.target, &tls, host, sizeof(host)), RPC_OK);
	/* The handler saw the client's certificate identity (first SAN). */
	assert_string_equal(seen.peer, "verifier");
	assert_string_equal(host, "verifier");

	/* Another client identity on the same server. */
	tls = client_tls("ca.pem", "attestor.pem", "attestor.key");
	assert_int_equal(call_endorsement(t.target, &tls, host, sizeof(host)), RPC_OK);
	assert_string_equal(seen.peer, "attestor");

	/* Name override: "localhost" is in the server cert, "verifier" is not. */
	snprintf(t.target, sizeof(t.target), "localhost:%d", rpc_server_port(t.s));
	tls.server_name = NULL;
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_OK);
	snprintf(t.target, sizeof(t.target), "127.0.0.1:%d", rpc_server_port(t.s));
	tls.server_name = "attestor";
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_OK);
	tls.server_name = "verifier";
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_UNAVAILABLE);
	assert_refused("certificate does not carry the name 'verifier' (the name checked is server_name");
	srv_stop(&t);
	/* Set by the handler after its reply went out: read once the thread is joined. */
	assert_int_equal(seen.second_reply_rc, AERR_STATE);
}

static void test_tls_rejections(void **state)
{
	struct srv t;
	struct rpc_tls tls;

	srv_start(&t, 0, 0);
	/* No client certificate: the server requires one. */
	tls = client_tls("ca.pem", NULL, NULL);
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_UNAVAILABLE);
	assert_not_refused(); /* the server hung up: nothing the client can name */
	/* A certificate from another CA, even with the right names. */
	tls = client_tls("ca.pem", "rogue.pem", "rogue.key");
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_UNAVAILABLE);
	assert_not_refused();
	/* The client does not trust the server's CA: its own refusal, naming the file. */
	tls = client_tls("other-ca.pem", "verifier.pem", "verifier.key");
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_UNAVAILABLE);
	assert_refused("certificate is not signed by the CA in ");
	assert_refused("other-ca.pem");
	/* Plaintext to a TLS server. */
	memset(&tls, 0, sizeof(tls));
	tls.insecure = 1;
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_UNAVAILABLE);
	assert_not_refused(); /* a plaintext client cannot tell a TLS server from a broken one */
	assert_string_equal(seen.peer, ""); /* no handler ran */
	/* And the server still serves good clients afterwards. */
	tls = client_tls("ca.pem", "verifier.pem", "verifier.key");
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_OK);
	srv_stop(&t);
}

static void test_insecure(void **state)
{
	struct srv t;
	struct rpc_tls tls = { .insecure = 1 };
	char host[256];

	srv_start(&t, 1, 0);
	assert_int_equal(call_endorsement(t.target, &tls, host, sizeof(host)), RPC_OK);
	assert_string_equal(seen.peer, "(none)"); /* no identity without TLS */
	/* A TLS client to a plaintext server fails. */
	tls = client_tls("ca.pem", "verifier.pem", "verifier.key");
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_UNAVAILABLE);
	assert_refused("does not speak TLS");
	srv_stop(&t);
}

static void test_status_propagation(void **state)
{
	struct srv t;
	struct rpc_tls tls = client_tls("ca.pem", "verifier.pem", "verifier.key");
	struct rpc_channel *ch = NULL;
	struct rpc_result res;
	Attest__V1__QuoteResponse *resp = NULL;
	Attest__V1__CredentialChallenge cc = ATTEST__V1__CREDENTIAL_CHALLENGE__INIT;
	Attest__V1__SecretDelivery sd = ATTEST__V1__SECRET_DELIVERY__INIT;
	ProtobufCMessage *out = NULL;

	srv_start(&t, 0, 0);
	assert_int_equal(rpc_channel_open(t.target, &tls, 0, &ch), 0);

	assert_int_equal(call_quote(ch, "hello nonce", 11, 5000, &res, &resp), 0);
	assert_int_equal(res.status, RPC_OK);
	assert_non_null(resp);
	assert_int_equal(resp->attest.len, 11);
	assert_memory_equal(resp->attest.data, "hello nonce", 11);
	assert_int_equal(resp->ima_offset, 42);
	protobuf_c_message_free_unpacked(&resp->base, NULL);

	assert_int_equal(call_quote(ch, "fail", 4, 5000, &res, &resp), AERR_RPC);
	assert_null(resp);
	assert_int_equal(res.status, RPC_PERMISSION_DENIED);
	assert_non_null(strstr(res.message, "nonce c0ffee was already used"));
	assert_non_null(strstr(res.message, err_str(AERR_NONCE)));

	assert_int_equal(call_quote(ch, "precond", 7, 5000, &res, NULL), AERR_RPC);
	assert_int_equal(res.status, RPC_FAILED_PRECONDITION);
	assert_string_equal(res.message, "custom failure 42");

	/* The handler that never answers. */
	assert_int_equal(rpc_call_unary(ch, SVC, method_index("ActivateCredential"), &cc.base, 5000, 0,
					&out, &res), AERR_RPC);
	assert_null(out);
	assert_int_equal(res.status, RPC_INTERNAL);
	/* The handler that answers with the wrong message type. */
	cc.ek_alg = 99;
	assert_int_equal(rpc_call_unary(ch, SVC, method_index("ActivateCredential"), &cc.base, 5000, 0,
					&out, &res), AERR_RPC);
	assert_int_equal(res.status, RPC_INTERNAL);

	/* A method without a handler. */
	assert_int_equal(rpc_call_unary(ch, SVC, method_index("DeliverSecrets"), &sd.base, 5000, 0,
					&out, &res), AERR_RPC);
	assert_int_equal(res.status, RPC_UNIMPLEMENTED);

	/* The client refuses a request of the wrong type before sending. */
	assert_int_equal(rpc_call_unary(ch, SVC, method_index("Quote"), &sd.base, 5000, 0, &out, &res),
			 AERR_INVALID_ARG);
	assert_int_equal(rpc_call_unary(ch, SVC, 17, &sd.base, 5000, 0, &out, &res), AERR_INVALID_ARG);

	/* The channel still works after all of that. */
	assert_int_equal(call_quote(ch, "again", 5, 5000, &res, NULL), 0);
	rpc_channel_close(ch);
	srv_stop(&t);
	assert_int_equal(seen.bad_type_rc, AERR_INVALID_ARG);
}

static void test_message_limits(void **state)
{
	struct srv t;
	struct rpc_tls tls = client_tls("ca.pem", "verifier.pem", "verifier.key");
	struct rpc_channel *ch = NULL, *small = NULL;
	struct rpc_result res;
	Attest__V1__Empty empty = ATTEST__V1__EMPTY__INIT;
	ProtobufCMessage *out = NULL;
	char *nonce = calloc(1, 8192);

	assert_non_null(nonce);
	srv_start(&t, 0, 4096);
	assert_int_equal(rpc_channel_open(t.target, &tls, 0, &ch), 0);
	/* Just under the server's limit (4096 minus the field's tag and length). */
	assert_int_equal(call_quote(ch, nonce, 4000, 5000, &res, NULL), 0);
	/* Over it: refused by the server. */
	assert_int_equal(call_quote(ch, nonce, 8000, 5000, &res, NULL), AERR_RPC);
	assert_int_equal(res.status, RPC_RESOURCE_EXHAUSTED);
	/* A client with a small limit refuses to send a large request... */
	assert_int_equal(rpc_channel_open(t.target, &tls, 1024, &small), 0);
	assert_int_equal(call_quote(small, nonce, 2000, 5000, &res, NULL), AERR_RPC);
	assert_int_equal(res.status, RPC_RESOURCE_EXHAUSTED);
	/* ...and to receive a large response. */
	seen.big_reply = 2000;
	assert_int_equal(rpc_call_unary(small, SVC, method_index("GetAttestationKey"), &empty.base, 5000, 0,
					&out, &res), AERR_RPC);
	assert_null(out);
	assert_int_equal(res.status, RPC_RESOURCE_EXHAUSTED);
	/* The server refuses to send a reply over its own limit. */
	seen.big_reply = 5000;
	assert_int_equal(rpc_call_unary(ch, SVC, method_index("GetAttestationKey"), &empty.base, 5000, 0,
					&out, &res), AERR_RPC);
	assert_int_equal(res.status, RPC_RESOURCE_EXHAUSTED);
	seen.big_reply = 1000;
	assert_int_equal(rpc_call_unary(small, SVC, method_index("GetAttestationKey"), &empty.base, 5000, 0,
					&out, &res), 0);
	assert_int_equal(((Attest__V1__AttestationKey *)out)->public_.len, 1000);
	protobuf_c_message_free_unpacked(out, NULL);
	rpc_channel_close(small);
	rpc_channel_close(ch);
	srv_stop(&t);
	free(nonce);
}

static void test_malformed_and_unknown(void **state)
{
	struct srv t;
	char details[256];
	/* field 1, length-delimited, claims 16 bytes, has 1 */
	static const uint8_t truncated[] = { 0x0a, 0x10, 0x01 };
	/* wire type 7 does not exist */
	static const uint8_t bad_wiretype[] = { 0x0f, 0x00 };
	/* a varint that never ends */
	static const uint8_t endless[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t good_nonce[] = { 0x0a, 0x02, 'h', 'i' };

	srv_start(&t, 0, 0);
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Attestor/Quote", truncated, sizeof(truncated),
				  details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);
	assert_string_equal(details, "malformed request");
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Attestor/Quote", bad_wiretype,
				  sizeof(bad_wiretype), details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Attestor/Quote", endless, sizeof(endless),
				  details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);
	/* Unknown fields hide no garbage either, even in an Empty. */
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Attestor/GetEndorsement", truncated,
				  sizeof(truncated), details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);
	/* The same path with a well-formed message works: the raw client is sound. */
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Attestor/Quote", good_nonce, sizeof(good_nonce),
				  details, sizeof(details)), GRPC_STATUS_OK);
	/* An empty message is a valid empty protobuf. */
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Attestor/GetEndorsement", "", 0, details,
				  sizeof(details)), GRPC_STATUS_OK);
	/* Unknown methods and services. */
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Attestor/Nope", "", 0, details, sizeof(details)),
			 GRPC_STATUS_UNIMPLEMENTED);
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Verifier/Hello", "", 0, details, sizeof(details)),
			 GRPC_STATUS_UNIMPLEMENTED);
	assert_int_equal(raw_call(t.target, 1, "/attest.v1.Attestor/Quote/x", "", 0, details, sizeof(details)),
			 GRPC_STATUS_UNIMPLEMENTED);
	srv_stop(&t);
}

static void test_deadlines(void **state)
{
	struct srv t;
	struct rpc_tls tls = client_tls("ca.pem", "verifier.pem", "verifier.key");
	struct rpc_channel *ch = NULL;
	struct rpc_result res;

	srv_start(&t, 0, 0);
	assert_int_equal(rpc_channel_open(t.target, &tls, 0, &ch), 0);
	/* Connect first so the deadline is all handler time. */
	assert_int_equal(call_quote(ch, "warm", 4, 5000, &res, NULL), 0);

	assert_int_equal(call_quote(ch, "slow", 4, 300, &res, NULL), AERR_RPC);
	assert_int_equal(res.status, RPC_DEADLINE_EXCEEDED);
	/* The handler saw the deadline coming. */
	assert_true(seen.time_left_ms > 0);
	assert_true(seen.time_left_ms <= 310); /* grpc-timeout rounding */

	/* Without a deadline the handler sees none. */
	assert_int_equal(call_quote(ch, "time", 4, 0, &res, NULL), 0);
	assert_true(seen.time_left_ms == INT64_MAX);
	/* A generous deadline is visible too (grpc-timeout on the wire rounds up a little). */
	assert_int_equal(call_quote(ch, "time", 4, 60000, &res, NULL), 0);
	if (!(seen.time_left_ms > 50000 && seen.time_left_ms <= 61000))
		fail_msg("time left %lld", (long long)seen.time_left_ms);
	rpc_channel_close(ch);
	srv_stop(&t);
}

/* Starts the server (on g_listen) after a pause. */
static void *late_server(void *arg)
{
	sleep_ms(300);
	srv_start(arg, 0, 0);
	return NULL;
}

static void test_no_server(void **state)
{
	struct srv t;
	struct rpc_tls tls = client_tls("ca.pem", "verifier.pem", "verifier.key");
	struct rpc_channel *ch = NULL;
	struct rpc_result res;
	char target[64];
	struct timespec a, b;
	long ms;

	/* A port that was just free: start and stop a server to get one. */
	srv_start(&t, 0, 0);
	snprintf(target, sizeof(target), "%s", t.target);
	srv_stop(&t);

	assert_int_equal(rpc_channel_open(target, &tls, 0, &ch), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(call_quote(ch, "x", 1, 2000, &res, NULL), AERR_RPC);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(res.status, RPC_UNAVAILABLE);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms < 1500); /* fails fast */
	rpc_channel_close(ch);

	/* wait_for_ready: waits for the deadline instead of failing at once. */
	assert_int_equal(rpc_channel_open(target, &tls, 0, &ch), 0);
	{
		Attest__V1__QuoteRequest q = ATTEST__V1__QUOTE_REQUEST__INIT;
		ProtobufCMessage *out = NULL;

		assert_int_equal(rpc_call_unary(ch, SVC, method_index("Quote"), &q.base, 300, 1, &out, &res),
				 AERR_RPC);
		assert_int_equal(res.status, RPC_DEADLINE_EXCEEDED);
	}
	rpc_channel_close(ch);

	/* wait_for_ready: a server that comes up while the call waits answers it. */
	{
		pthread_t th;
		Attest__V1__QuoteRequest q = ATTEST__V1__QUOTE_REQUEST__INIT;
		ProtobufCMessage *out = NULL;
		char listen[64];

		assert_int_equal(rpc_channel_open(target, &tls, 0, &ch), 0);
		snprintf(listen, sizeof(listen), "%s", target);
		g_listen = listen;
		assert_int_equal(pthread_create(&th, NULL, late_server, &t), 0);
		clock_gettime(CLOCK_MONOTONIC, &a);
		assert_int_equal(rpc_call_unary(ch, SVC, method_index("Quote"), &q.base, 10000, 1, &out, &res), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		protobuf_c_message_free_unpacked(out, NULL);
		assert_int_equal(pthread_join(th, NULL), 0);
		g_listen = "127.0.0.1:0";
		ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		assert_true(ms >= 200); /* it did wait for the server */
		rpc_channel_close(ch);
		srv_stop(&t);
	}
}

static struct rpc_server *g_sig_server;
static void on_sigusr1(int sig)
{
	rpc_server_stop(g_sig_server);
}

static void test_stop_from_signal(void **state)
{
	struct srv t;
	struct rpc_tls tls = client_tls("ca.pem", "verifier.pem", "verifier.key");

	srv_start(&t, 0, 0);
	assert_int_equal(call_endorsement(t.target, &tls, NULL, 0), RPC_OK);
	g_sig_server = t.s;
	signal(SIGUSR1, on_sigusr1);
	raise(SIGUSR1);
	/* run returns on its own */
	assert_int_equal(pthread_join(t.thread, NULL), 0);
	signal(SIGUSR1, SIG_DFL);
	rpc_server_free(t.s);
}

static void test_config_errors(void **state)
{
	rpc_handler_fn handlers[6] = { 0 };
	struct rpc_server_config cfg = { 0 };
	struct rpc_server *s = (struct rpc_server *)1, *s2 = NULL;
	struct rpc_channel *ch = (struct rpc_channel *)1;
	struct rpc_tls tls;
	char listen[64];

	cfg.listen = "127.0.0.1:0";
	/* Missing files */
	cfg.tls.ca_file = "/nonexistent/ca.pem";
	cfg.tls.cert_file = strdup(pki("attestor.pem"));
	cfg.tls.key_file = strdup(pki("attestor.key"));
	assert_int_equal(rpc_server_start(SVC, handlers, NULL, &cfg, &s), AERR_CONFIG);
	assert_null(s);
	assert_non_null(strstr(err_detail(), "/nonexistent/ca.pem"));
	/* Key of another certificate */
	cfg.tls.ca_file = strdup(pki("ca.pem"));
	free((void *)cfg.tls.key_file);
	cfg.tls.key_file = strdup(pki("verifier.key"));
	assert_int_equal(rpc_server_start(SVC, handlers, NULL, &cfg, &s), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "does not match"));
	/* A key where a CA bundle belongs */
	free((void *)cfg.tls.key_file);
	cfg.tls.key_file = strdup(pki("attestor.key"));
	free((void *)cfg.tls.ca_file);
	cfg.tls.ca_file = strdup(pki("ca.key"));
	assert_int_equal(rpc_server_start(SVC, handlers, NULL, &cfg, &s), AERR_CONFIG);
	free((void *)cfg.tls.ca_file);
	cfg.tls.ca_file = strdup(pki("ca.pem"));
	/* The server needs its own certificate */
	{
		struct rpc_server_config c2 = cfg;

		c2.tls.cert_file = NULL;
		c2.tls.key_file = NULL;
		assert_int_equal(rpc_server_start(SVC, handlers, NULL, &c2, &s), AERR_CONFIG);
	}
	/* Address already in use */
	assert_int_equal(rpc_server_start(SVC, handlers, NULL, &cfg, &s2), 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", rpc_server_port(s2));
	cfg.listen = listen;
	assert_int_equal(rpc_server_start(SVC, handlers, NULL, &cfg, &s), AERR_IO);
	assert_null(s);
	rpc_server_free(s2);
	cfg.listen = "not an address";
	assert_int_equal(rpc_server_start(SVC, handlers, NULL, &cfg, &s), AERR_IO);
	free((void *)cfg.tls.ca_file);
	free((void *)cfg.tls.cert_file);
	free((void *)cfg.tls.key_file);

	/* Client: certificate without key, unreadable CA */
	tls = client_tls("ca.pem", "verifier.pem", "verifier.key");
	tls.key_file = NULL;
	assert_int_equal(rpc_channel_open("127.0.0.1:1", &tls, 0, &ch), AERR_CONFIG);
	assert_null(ch);
	tls = client_tls("nope.pem", NULL, NULL);
	assert_int_equal(rpc_channel_open("127.0.0.1:1", &tls, 0, &ch), AERR_CONFIG);
	rpc_server_free(NULL);
	rpc_channel_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_mtls_round_trip),
		cmocka_unit_test(test_tls_rejections),
		cmocka_unit_test(test_insecure),
		cmocka_unit_test(test_status_propagation),
		cmocka_unit_test(test_message_limits),
		cmocka_unit_test(test_malformed_and_unknown),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_no_server),
		cmocka_unit_test(test_stop_from_signal),
		cmocka_unit_test(test_config_errors),
	};

	crypto_process_init();
	return cmocka_run_group_tests(tests, rpc_test_group_setup, rpc_test_group_teardown);
}
