/* The only glue between gRPC C core and protobuf-c. Unary calls, and
 * server-streaming ones (rpc_call_send from a detached handler,
 * rpc_call_stream on the client). Mutual TLS by default; plaintext only
 * when tls.insecure is set. */
#ifndef ATTEST_RPC_H
#define ATTEST_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "err.h"

#define RPC_DEFAULT_MAX_MESSAGE (4u * 1024u * 1024u)

/* A call's result (rpc_call_set_result): a text the server attaches to its
 * answer as trailing metadata, OK or not, so that a client keeps it even
 * when the call failed. At most this many bytes of printable ASCII. */
#define RPC_RESULT_MAX 4096
#define RPC_RESULT_TRAILER "attest-result"

/* The longest TLS identity (a certificate's first subjectAltName) either side
 * accepts; a peer whose identity is longer is refused at its call with
 * UNAUTHENTICATED and the reason. Buffers for identities are this + 1. */
#define RPC_IDENTITY_MAX 127

/* Values are grpc_status_code's. */
enum rpc_status {
	RPC_OK = 0, RPC_CANCELLED = 1, RPC_UNKNOWN = 2, RPC_INVALID_ARGUMENT = 3,
	RPC_DEADLINE_EXCEEDED = 4, RPC_NOT_FOUND = 5, RPC_ALREADY_EXISTS = 6,
	RPC_PERMISSION_DENIED = 7, RPC_RESOURCE_EXHAUSTED = 8, RPC_FAILED_PRECONDITION = 9,
	RPC_ABORTED = 10, RPC_OUT_OF_RANGE = 11, RPC_UNIMPLEMENTED = 12, RPC_INTERNAL = 13,
	RPC_UNAVAILABLE = 14, RPC_DATA_LOSS = 15, RPC_UNAUTHENTICATED = 16,
};

struct rpc_tls {
	const char *ca_file;      /* PEM: roots the peer's certificate must chain to */
	const char *cert_file;    /* PEM: our certificate (chain) */
	const char *key_file;     /* PEM: our private key */
	const char *server_name;  /* client only: name to check in the server cert (NULL = host of target) */
	int insecure;             /* plaintext without authentication: explicit opt-in for local tests */
};

/* Call once per process before anything else / after everything is destroyed. */
void rpc_global_init(void);
void rpc_global_shutdown(void);

/* Text name of a status ("INVALID_ARGUMENT"). */
const char *rpc_status_name(enum rpc_status status);

/* Status for a project error code (AERR_PARSE -> INVALID_ARGUMENT, AERR_STATE ->
 * FAILED_PRECONDITION, AERR_NONCE/AERR_SIGNATURE/... -> PERMISSION_DENIED, ...). */
enum rpc_status rpc_status_from_err(int err);

/* ------------------------------------------------------------------ server */

struct rpc_server;
struct rpc_call;  /* one incoming call; valid only inside its handler */

/* Serves one method. in is the unpacked, size-checked request, owned by the
 * glue. The handler ends the call once with rpc_call_reply or rpc_call_fail*;
 * if it returns without doing so the glue answers INTERNAL. */
typedef void (*rpc_handler_fn)(struct rpc_call *call, const ProtobufCMessage *in, void *app);

/* A handler by method name, for building the table rpc_server_start takes. */
struct rpc_method_handler {
	const char *method;       /* as in the .proto, e.g. "Quote" */
	rpc_handler_fn fn;
};

/* table[i] serves svc->methods[i]: the handler named for it in map, else NULL.
 * AERR_INTERNAL when a name is not a method of svc or cap < svc->n_methods. */
int rpc_handler_table(const ProtobufCServiceDescriptor *svc, const struct rpc_method_handler *map, size_t n,
		      rpc_handler_fn *table, size_t cap) ATTEST_WUR;

struct rpc_server_config {
	const char *listen;       /* "127.0.0.1:7500"; port 0 picks a free port */
	struct rpc_tls tls;       /* server: client certificates are required and verified */
	size_t max_message;       /* receive limit in bytes; 0 = RPC_DEFAULT_MAX_MESSAGE */
	unsigned threads;         /* handlers run at once; 0 = 1 (serial handlers) */
	unsigned max_calls;       /* calls in flight (received, handled or replying); 0 = 64.
				   * A stalled client holds one until its call is cancelled. */
	/* Who may call at all (NULL: every peer whose certificate verified):
	 * a peer it returns nonzero for (identity NULL on an insecure server)
	 * is answered PERMISSION_DENIED with the message it wrote to why,
	 * before its request is read and any handler runs. */
	int (*authorize)(const char *identity, void *app, char *why, size_t cap);
	/* Run each handler on a thread of its own (at most max_calls at
	 * once) instead of on a worker: a slow handler (an operator's dry run
	 * over the fleet) then holds up no other call, and a handler may
	 * stream (rpc_call_send). Its thread ends the call. */
	int detach;
};

/* Keep freed heap memory instead of handing it back to the kernel at once.
 * Every call allocates and frees (gRPC's arenas, slices, our sessions) on
 * several threads; glibc's default trims each arena as soon as 128 kB at its
 * top are free, so the next call faults the pages in again: 12-20% of the
 * push verifier's CPU per attestation (bench_load, A/B). The heap then keeps
 * up to 16 MB free per arena. rpc_server_start calls it; a busy client may. */
void rpc_heap_keep(void);

/* Bind and start. handlers[i] serves svc->methods[i] (NULL = UNIMPLEMENTED).
 * AERR_CONFIG with detail when TLS files are unreadable, AERR_IO when the
 * address cannot be bound. */
int rpc_server_start(const ProtobufCServiceDescriptor *svc, rpc_handler_fn const *handlers,
		     void *app, const struct rpc_server_config *cfg, struct rpc_server **out) ATTEST_WUR;

/* A second service on host's completion queue, served by host's workers
 * (cfg->threads is not used): its own listen address, TLS material,
 * caller check and slots, but no poller thread of its own, so that while
 * nobody calls it, it costs the host's calls nothing. At most one guest
 * per host; attach before rpc_server_run(host), and free the guest after
 * rpc_server_run(host) returned and before rpc_server_free(host).
 * rpc_server_run(guest) is AERR_STATE. Errors as rpc_server_start. */
int rpc_server_attach(struct rpc_server *host, const ProtobufCServiceDescriptor *svc,
		      rpc_handler_fn const *handlers, void *app, const struct rpc_server_config *cfg,
		      struct rpc_server **out) ATTEST_WUR;

/* The bound port (useful with port 0). */
int rpc_server_port(const struct rpc_server *s);

/* Serve calls on `threads` workers (this thread is one of them) until
 * rpc_server_stop(). Handlers run concurrently when threads > 1: they must
 * lock what they share. Returns 0. */
int rpc_server_run(struct rpc_server *s);

/* Ask rpc_server_run to return soon; safe from a signal handler. */
void rpc_server_stop(struct rpc_server *s);

/* Shut down, cancel pending calls, free. NULL-safe. */
void rpc_server_free(struct rpc_server *s);

/* These return 0 once the answer reached the transport; AERR_STATE when the
 * call was already answered; AERR_RPC when the client went away (cancelled,
 * deadline). rpc_call_reply answers RESOURCE_EXHAUSTED itself (and returns
 * AERR_TOO_LARGE) when out exceeds max_message, INTERNAL (AERR_INVALID_ARG)
 * when out is not the method's output type. */
int rpc_call_reply(struct rpc_call *call, const ProtobufCMessage *out);
int rpc_call_fail(struct rpc_call *call, enum rpc_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fail with rpc_status_from_err(err) and "err_str(err): err_detail()". */
int rpc_call_fail_err(struct rpc_call *call, int err);

/* A detached handler (rpc_server_config.detach) of a server-streaming
 * method sends one message of the stream and waits until it went out.
 * 0; AERR_RPC when the client has gone (cancelled, deadline, the server
 * stops) or did not read for the stall limit; AERR_STATE when the call is
 * not detached or already answered; AERR_INVALID_ARG for another type
 * than the method's output; AERR_TOO_LARGE over max_message. The stream
 * ends with rpc_call_fail (or rpc_call_reply: one last message, then OK). */
int rpc_call_send(struct rpc_call *call, const ProtobufCMessage *msg) ATTEST_WUR;

/* Send the response headers now, before any message: a client that
 * waits for them (grpcio's initial_metadata(), rpc_call_stream's first
 * fn(NULL)) then knows the stream is set up. 0, or as rpc_call_send. */
int rpc_call_send_header(struct rpc_call *call) ATTEST_WUR;

/* 1 when a detached handler's client has gone (or the server is asked to
 * stop): nothing it sends arrives any more. Waits up to wait_ms for that
 * (0: just look). Always 0 for a handler that is not detached. */
int rpc_call_closed(struct rpc_call *call, int wait_ms);

/* Attach text (printable ASCII, at most RPC_RESULT_MAX bytes) to the
 * call's answer, whichever it is, before rpc_call_reply or rpc_call_fail:
 * the client finds it in rpc_result.result. 0; AERR_STATE once answered;
 * AERR_INVALID_ARG for other text. */
int rpc_call_set_result(struct rpc_call *call, const char *text) ATTEST_WUR;

/* Authenticated peer identity from its verified TLS certificate: the first
 * subject alternative name, else the common name; at most RPC_IDENTITY_MAX
 * bytes of printable ASCII without spaces or quotes (calls of peers whose
 * identity is not are refused before any handler runs). NULL on an insecure
 * server. */
const char *rpc_call_peer_identity(const struct rpc_call *call);

/* Which method of the service the call is: svc->methods[index]. */
unsigned rpc_call_method_index(const struct rpc_call *call);

/* Milliseconds left before the client's deadline (INT64_MAX when none): check
 * before slow TPM work, since gRPC keeps a handler running past the deadline. */
int64_t rpc_call_time_left_ms(const struct rpc_call *call);

/* ------------------------------------------------------------------ client */

struct rpc_channel;

struct rpc_result {
	enum rpc_status status;
	char message[512];        /* status details from the peer, or the local failure */
	char peer[RPC_IDENTITY_MAX + 1]; /* the server's TLS identity (as rpc_call_peer_identity
				   * reads a client's) once the call reached it; "" when
				   * insecure or not reached */
	char result[RPC_RESULT_MAX + 1]; /* the server's rpc_call_set_result text; "" when none
				   * (or not printable ASCII, or too long) */
	int ours;                 /* the status is this client's refusal of the server
				   * (its certificate's identity, the name checked, its
				   * CA; a server without TLS), not the server's answer:
				   * a configuration to fix, which retrying cannot */
};

/* target "host:port". Nothing is connected until the first call. The TLS
 * files are read and checked now (AERR_CONFIG); a client certificate is
 * optional here (cert_file and key_file together or neither). max_message
 * bounds requests and responses (0 = RPC_DEFAULT_MAX_MESSAGE). */
int rpc_channel_open(const char *target, const struct rpc_tls *tls, size_t max_message,
		     struct rpc_channel **out) ATTEST_WUR;
void rpc_channel_close(struct rpc_channel *ch);

/* Wait ms milliseconds (not at all when ms <= 0; less when *stop is set)
 * while the channel keeps (re)connecting: a retry after this finds the
 * connection made, where a plain sleep would let the handshake time out
 * unpolled. */
void rpc_channel_wait(struct rpc_channel *ch, int ms, volatile const int *stop);

/* One unary call of svc->methods[method]. timeout_ms bounds the whole call
 * (<= 0: no deadline); wait_for_ready waits for the server to come up
 * instead of failing at once.
 * On RPC_OK returns 0 and *out holds the response (free it with
 * protobuf_c_message_free_unpacked(*out, NULL)); otherwise returns AERR_RPC,
 * *out is NULL and res says why (a status from the peer, or a local one:
 * RESOURCE_EXHAUSTED for a request over max_message, INTERNAL for a malformed
 * response). A caller bug (method out of range, in of the wrong type) returns
 * AERR_INVALID_ARG without sending. res may not be NULL. */
int rpc_call_unary(struct rpc_channel *ch, const ProtobufCServiceDescriptor *svc, unsigned method,
		   const ProtobufCMessage *in, int timeout_ms, int wait_for_ready,
		   ProtobufCMessage **out, struct rpc_result *res) ATTEST_WUR;

/* A server-streaming call: each message of the stream is unpacked (size
 * checked as a response) and given to fn, which owns it (free with
 * protobuf_c_message_free_unpacked) and returns nonzero to stop reading.
 * fn is called once with msg NULL first, when the server's headers came
 * and the call was not refused with them: the stream is set up.
 * Ends when the server ends the stream, fn stops it, *stop is set (both
 * cancel the call; NULL: no flag) or timeout_ms passed (<= 0: never).
 * 0 when the server ended the stream with OK or this side stopped it
 * (res->status CANCELLED then); else AERR_RPC with res as rpc_call_unary
 * sets it. A malformed message ends the call (INTERNAL). */
typedef int (*rpc_stream_fn)(ProtobufCMessage *msg, void *arg);
int rpc_call_stream(struct rpc_channel *ch, const ProtobufCServiceDescriptor *svc, unsigned method,
		    const ProtobufCMessage *in, int timeout_ms, rpc_stream_fn fn, void *arg,
		    volatile const int *stop, struct rpc_result *res) ATTEST_WUR;
#endif
