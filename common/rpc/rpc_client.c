/* Blocking unary gRPC client on the C core, protobuf-c messages. */
#define LOG_MODULE "rpc"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "log.h"
#include "rpc_priv.h"

struct rpc_channel {
	grpc_channel *channel;
	grpc_completion_queue *cq; /* pluck: each call waits for its own tag */
	size_t max_message;
	char target[256];
	char ca_file[256];         /* for a refusal that names the trust file */
	int insecure;
};

#define RPC_RECONNECT_MIN_MS 100 /* first retry */
#define RPC_RECONNECT_MAX_MS 2000

int rpc_channel_open(const char *target, const struct rpc_tls *tls, size_t max_message,
		     struct rpc_channel **out)
{
	int r = AERR_INTERNAL;
	struct rpc_channel *ch = NULL;
	grpc_channel_credentials *creds = NULL;
	grpc_arg args[5];
	grpc_channel_args chargs;

	*out = NULL;
	if (!target || !*target || !tls) {
		r = err_set(AERR_INVALID_ARG, "rpc_channel_open: missing target or TLS settings");
		goto out;
	}
	if (max_message > INT32_MAX) {
		r = err_set(AERR_CONFIG, "rpc: max_message %zu exceeds %d", max_message, INT32_MAX);
		goto out;
	}
	if (!(ch = calloc(1, sizeof(*ch)))) {
		r = err_set(AERR_ALLOC, "rpc_channel_open");
		goto out;
	}
	ch->max_message = max_message ? max_message : RPC_DEFAULT_MAX_MESSAGE;
	snprintf(ch->target, sizeof(ch->target), "%s", target);
	snprintf(ch->ca_file, sizeof(ch->ca_file), "%s", tls->ca_file ? tls->ca_file : "");
	ch->insecure = tls->insecure;
	if ((r = rpc_tls_channel_creds(tls, &creds)) != 0)
		goto out;

	memset(args, 0, sizeof(args));
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)ch->max_message;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = (int)ch->max_message;
	/* gRPC's own reconnect backoff grows to 120 s: a peer that restarts
	 * would stay unreachable long after it is back, on top of our callers'
	 * own retry schedules. Keep reconnecting within a second or two. */
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = (char *)GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
	args[2].value.integer = RPC_RECONNECT_MIN_MS;
	/* Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC takes it as the time a
	 * connection attempt (TCP + TLS + SETTINGS) may take, 20 s by default. */
	args[3].type = GRPC_ARG_INTEGER;
	args[3].key = (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
	args[3].value.integer = RPC_RECONNECT_MAX_MS;
	chargs.num_args = 4;
	chargs.args = args;
	if (!tls->insecure && tls->server_name && *tls->server_name) {
		/* Check this name in the server certificate instead of the target host. */
		args[4].type = GRPC_ARG_STRING;
		args[4].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
		args[4].value.string = (char *)tls->server_name;
		chargs.num_args = 5;
	}
	ch->cq = grpc_completion_queue_create_for_pluck(NULL);
	ch->channel = grpc_channel_create(target, creds, &chargs);
	if (!ch->cq || !ch->channel) {
		r = err_set(AERR_INTERNAL, "rpc: cannot create a channel to %s", target);
		goto out;
	}
	*out = ch;
	ch = NULL; /* transferred */
	r = 0;
out:
	if (creds)
		grpc_channel_credentials_release(creds);
	rpc_channel_close(ch);
	return r;
}

void rpc_channel_close(struct rpc_channel *ch)
{
	grpc_event ev;

	if (!ch)
		return;
	if (ch->channel)
		grpc_channel_destroy(ch->channel);
	if (ch->cq) {
		grpc_completion_queue_shutdown(ch->cq);
		do {
			ev = grpc_completion_queue_pluck(ch->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		} while (ev.type != GRPC_QUEUE_SHUTDOWN);
		grpc_completion_queue_destroy(ch->cq);
	}
	free(ch);
}

/* Connection attempts progress only while a thread polls for the channel:
 * a caller that merely sleeps between calls that fail fast would let every
 * handshake time out. Watching the channel's state polls it. */
void rpc_channel_wait(struct rpc_channel *ch, int ms, volatile const int *stop)
{
	gpr_timespec until;
	grpc_connectivity_state st;
	grpc_event ev;
	char tag;

	if (ms <= 0) /* no wait (rpc_deadline_ms would make it forever) */
		return;
	until = rpc_deadline_ms(ms);
	st = grpc_channel_check_connectivity_state(ch->channel, 1);
	while (!(stop && *stop) && gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), until) < 0) {
		/* Short slices, so a stop request is seen soon. */
		gpr_timespec slice = rpc_deadline_ms(100);

		grpc_channel_watch_connectivity_state(ch->channel, st,
						      gpr_time_cmp(slice, until) < 0 ? slice : until, ch->cq, &tag);
		ev = grpc_completion_queue_pluck(ch->cq, &tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		(void)ev;
		st = grpc_channel_check_connectivity_state(ch->channel, 1);
	}
}

static void rpc_result_set(struct rpc_result *res, enum rpc_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rpc_result_set(struct rpc_result *res, enum rpc_status status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

/* The server's identity into res->peer, read as the server reads ours;
 * -1 (res says why, UNAUTHENTICATED) when its certificate's is refused. */
static int rpc_client_peer(grpc_call *call, struct rpc_result *res)
{
	grpc_auth_context *ctx = grpc_call_auth_context(call);
	char why[256];
	int r = rpc_identity_read(ctx, res->peer, why, sizeof(why));

	grpc_auth_context_release(ctx);
	if (r >= 0)
		return 0;
	rpc_result_set(res, RPC_UNAUTHENTICATED, "server certificate refused: %s", why);
	res->ours = 1;
	return -1;
}

/* A call that failed in our own TLS handshake: gRPC reports it as
 * UNAVAILABLE, like a server that is down, but retrying cannot help until
 * someone changes a certificate or a setting. Recognised by gRPC core's
 * texts (1.51: "Peer name X is not in peer certificate", OpenSSL's
 * "certificate verify failed" and "wrong version number"); res says what
 * to change and res->ours is set. A text not recognised stays a transport
 * failure. */
static void rpc_client_tls_refusal(const struct rpc_channel *ch, struct rpc_result *res)
{
	const char *m = res->message, *p;
	char name[256];
	size_t n;

	/* A call that reached the server carries the server's own words: a
	 * verifier (or anyone holding a fleet certificate it accepts) must not
	 * be able to stop a client by answering with these texts. */
	if (res->status != RPC_UNAVAILABLE || ch->insecure || res->peer[0])
		return;
	if ((p = strstr(m, "Peer name ")) && strstr(p, " is not in peer certificate")) {
		p += strlen("Peer name ");
		n = (size_t)(strstr(p, " is not in peer certificate") - p);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, p, n);
		name[n] = '\0';
		rpc_result_set(res, RPC_UNAVAILABLE,
			       "certificate does not carry the name '%s' (the name checked is server_name when set, "
			       "else the host of %s)", name, ch->target);
	} else if (strstr(m, "certificate verify failed")) {
		rpc_result_set(res, RPC_UNAVAILABLE,
			       "certificate is not signed by the CA in %s (or has expired, or is not yet valid)",
			       ch->ca_file);
	} else if (strstr(m, "wrong version number")) {
		rpc_result_set(res, RPC_UNAVAILABLE, "listener at %s does not speak TLS (insecure = true there?)",
			       ch->target);
	} else {
		return;
	}
	res->ours = 1;
}

/* The status a call ended with into res (with its message and the
 * server's identity); 0 only for OK. */
/* The server's result trailer (rpc_call_set_result) into res->result,
 * when it is one the server could have set. */
static void rpc_client_result(const grpc_metadata_array *trailers, struct rpc_result *res)
{
	for (size_t i = 0; i < trailers->count; i++) {
		const grpc_metadata *m = &trailers->metadata[i];
		size_t n = GRPC_SLICE_LENGTH(m->value);
		const char *v = (const char *)GRPC_SLICE_START_PTR(m->value);
		size_t k;

		if (grpc_slice_str_cmp(m->key, RPC_RESULT_TRAILER) != 0 || n > RPC_RESULT_MAX)
			continue;
		for (k = 0; k < n && v[k] >= 0x20 && v[k] <= 0x7e; k++)
			;
		if (k == n) {
			memcpy(res->result, v, n);
			res->result[n] = '\0';
		}
		return;
	}
}

static int rpc_client_status(struct rpc_channel *ch, grpc_call *call, const char *path, grpc_status_code status,
			     grpc_slice details, const char *error_string, const grpc_metadata_array *trailers,
			     struct rpc_result *res)
{
	size_t dlen;

	rpc_client_result(trailers, res);

	res->status = (enum rpc_status)status;
	if (rpc_client_peer(call, res) != 0)
		return err_set(AERR_RPC, "%s on %s: %s: %s", path, ch->target, rpc_status_name(res->status),
			       res->message);
	dlen = GRPC_SLICE_LENGTH(details);
	if (dlen >= sizeof(res->message))
		dlen = sizeof(res->message) - 1;
	memcpy(res->message, GRPC_SLICE_START_PTR(details), dlen);
	res->message[dlen] = '\0';
	if (status != GRPC_STATUS_OK) {
		if (error_string)
			LOG_DEBUG("%s on %s: %s", path, ch->target, error_string);
		rpc_client_tls_refusal(ch, res);
		return err_set(AERR_RPC, "%s on %s: %s: %s", path, ch->target, rpc_status_name(res->status),
			       res->message);
	}
	return 0;
}

/* One unary call in flight. */
struct rpc_unary {
	char *path;                        /* "/package.Service/Method" */
	grpc_byte_buffer *send, *recv;
	grpc_call *call;
	grpc_metadata_array initial_md, trailing_md;
	grpc_status_code status;
	grpc_slice details;
	const char *error_string;
};

/* The request checked against the method and packed; u->path set. */
static int rpc_unary_prepare(struct rpc_channel *ch, const ProtobufCServiceDescriptor *svc, unsigned method,
			     const ProtobufCMessage *in, struct rpc_unary *u, struct rpc_result *res)
{
	const ProtobufCMethodDescriptor *m;
	size_t len;
	int r;

	if (!ch || !svc || !in || method >= svc->n_methods) {
		rpc_result_set(res, RPC_INTERNAL, "invalid call arguments");
		return err_set(AERR_INVALID_ARG, "rpc_call_unary: bad channel, service, method or request");
	}
	m = &svc->methods[method];
	if (in->descriptor != m->input) {
		rpc_result_set(res, RPC_INTERNAL, "request type mismatch");
		return err_set(AERR_INVALID_ARG, "rpc_call_unary: %s takes %s, not %s", m->name, m->input->name,
			       in->descriptor->name);
	}
	if (!(u->path = rpc_method_path(svc, method))) {
		rpc_result_set(res, RPC_INTERNAL, "out of memory");
		return err_set(AERR_ALLOC, "rpc_call_unary: method path");
	}
	if ((r = rpc_pack(in, ch->max_message, &u->send, &len)) == AERR_TOO_LARGE) {
		rpc_result_set(res, RPC_RESOURCE_EXHAUSTED, "request of %zu bytes exceeds the limit of %zu", len,
			       ch->max_message);
		return err_set(AERR_RPC, "%s: %s", u->path, res->message);
	}
	if (r != 0) {
		rpc_result_set(res, RPC_INTERNAL, r == AERR_ALLOC ? "out of memory" : "packing the request failed");
		return err_wrap(r, u->path);
	}
	return 0;
}

/* The call, and the first four operations of ops: the request with its
 * half-close, and the server's headers. */
static int rpc_unary_create(struct rpc_channel *ch, int timeout_ms, int wait_for_ready, struct rpc_unary *u,
			    grpc_op *ops, struct rpc_result *res)
{
	u->call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, ch->cq,
					   grpc_slice_from_static_string(u->path), NULL, rpc_deadline_ms(timeout_ms),
					   NULL);
	if (!u->call) {
		rpc_result_set(res, RPC_INTERNAL, "cannot create call");
		return err_set(AERR_RPC, "%s: grpc_channel_create_call failed", u->path);
	}
	memset(ops, 0, 4 * sizeof(*ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (wait_for_ready)
		ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY | GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = u->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &u->initial_md;
	return 0;
}

static void rpc_unary_status_op(struct rpc_unary *u, grpc_op *op)
{
	memset(op, 0, sizeof(*op));
	op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op->data.recv_status_on_client.trailing_metadata = &u->trailing_md;
	op->data.recv_status_on_client.status = &u->status;
	op->data.recv_status_on_client.status_details = &u->details;
	op->data.recv_status_on_client.error_string = &u->error_string;
}

/* What a call held, released. */
static void rpc_unary_release(struct rpc_unary *u)
{
	if (u->recv)
		grpc_byte_buffer_destroy(u->recv);
	if (u->send)
		grpc_byte_buffer_destroy(u->send);
	if (u->call)
		grpc_call_unref(u->call);
	grpc_slice_unref(u->details);
	gpr_free((void *)u->error_string);
	grpc_metadata_array_destroy(&u->initial_md);
	grpc_metadata_array_destroy(&u->trailing_md);
	free(u->path);
}

/* Send, then wait for the status (the call's deadline bounds the wait);
 * res gets the status, its message and the peer. 0 only for OK. */
static int rpc_unary_exchange(struct rpc_channel *ch, int timeout_ms, int wait_for_ready, struct rpc_unary *u,
			      struct rpc_result *res)
{
	grpc_op ops[6];
	grpc_call_error e;
	grpc_event ev;
	char tag;

	if (rpc_unary_create(ch, timeout_ms, wait_for_ready, u, ops, res) != 0)
		return AERR_RPC;
	memset(&ops[4], 0, sizeof(ops[4]));
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &u->recv;
	rpc_unary_status_op(u, &ops[5]);
	if ((e = grpc_call_start_batch(u->call, ops, 6, &tag, NULL)) != GRPC_CALL_OK) {
		rpc_result_set(res, RPC_INTERNAL, "start_batch failed: %d", (int)e);
		return err_set(AERR_RPC, "%s: grpc_call_start_batch failed: %d", u->path, (int)e);
	}
	ev = grpc_completion_queue_pluck(ch->cq, &tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	if (ev.type != GRPC_OP_COMPLETE) {
		rpc_result_set(res, RPC_INTERNAL, "completion queue failed");
		return err_set(AERR_RPC, "%s: completion queue event %d", u->path, (int)ev.type);
	}
	/* ev.success is 1 even for failed calls: the status is the truth. */
	return rpc_client_status(ch, u->call, u->path, u->status, u->details, u->error_string, &u->trailing_md, res);
}

/* A response (a message of a stream) within the size limit, as the
 * method's output. */
static int rpc_client_unpack(struct rpc_channel *ch, const ProtobufCMethodDescriptor *m, const char *path,
			     grpc_byte_buffer *recv, ProtobufCMessage **out, struct rpc_result *res)
{
	grpc_byte_buffer_reader reader;
	grpc_slice slice;

	if (!recv) {
		rpc_result_set(res, RPC_INTERNAL, "OK status without a response message");
		return err_set(AERR_RPC, "%s on %s: %s", path, ch->target, res->message);
	}
	if (!grpc_byte_buffer_reader_init(&reader, recv)) {
		rpc_result_set(res, RPC_INTERNAL, "undecodable response");
		return err_set(AERR_RPC, "%s on %s: %s", path, ch->target, res->message);
	}
	slice = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	if (GRPC_SLICE_LENGTH(slice) > ch->max_message) {
		rpc_result_set(res, RPC_RESOURCE_EXHAUSTED, "response of %zu bytes exceeds the limit of %zu",
			       (size_t)GRPC_SLICE_LENGTH(slice), ch->max_message);
		grpc_slice_unref(slice);
		return err_set(AERR_RPC, "%s on %s: %s", path, ch->target, res->message);
	}
	*out = protobuf_c_message_unpack(m->output, NULL, GRPC_SLICE_LENGTH(slice), GRPC_SLICE_START_PTR(slice));
	grpc_slice_unref(slice);
	if (!*out) {
		rpc_result_set(res, RPC_INTERNAL, "malformed response (not a %s)", m->output->name);
		return err_set(AERR_RPC, "%s on %s: %s", path, ch->target, res->message);
	}
	return 0;
}

int rpc_call_unary(struct rpc_channel *ch, const ProtobufCServiceDescriptor *svc, unsigned method,
		   const ProtobufCMessage *in, int timeout_ms, int wait_for_ready,
		   ProtobufCMessage **out, struct rpc_result *res)
{
	struct rpc_unary u = { .status = GRPC_STATUS_UNKNOWN, .details = grpc_empty_slice() };
	int r;

	*out = NULL;
	grpc_metadata_array_init(&u.initial_md);
	grpc_metadata_array_init(&u.trailing_md);
	memset(res, 0, sizeof(*res));
	res->status = RPC_UNKNOWN;
	if ((r = rpc_unary_prepare(ch, svc, method, in, &u, res)) == 0 &&
	    (r = rpc_unary_exchange(ch, timeout_ms, wait_for_ready, &u, res)) == 0)
		r = rpc_client_unpack(ch, &svc->methods[method], u.path, u.recv, out, res);
	rpc_unary_release(&u);
	return r;
}

/* A server-streaming call in flight: its request and status batches are
 * started at once, then one RECV_MESSAGE at a time. */
struct rpc_stream {
	struct rpc_unary u;
	char start_tag, status_tag, msg_tag;
	int started, status_pending;
};

/* Wait for tag, cancelling the call once *stop is set. 1 when it
 * completed. */
static int rpc_stream_wait(struct rpc_channel *ch, struct rpc_stream *st, void *tag, volatile const int *stop)
{
	grpc_event ev;

	for (;;) {
		ev = grpc_completion_queue_pluck(ch->cq, tag, rpc_deadline_ms(200), NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			return 1;
		if (ev.type != GRPC_QUEUE_TIMEOUT)
			return 0;
		if (stop && *stop)
			grpc_call_cancel(st->u.call, NULL);
	}
}

/* Start the call: request, half-close, and the status to come. */
static int rpc_stream_begin(struct rpc_channel *ch, int timeout_ms, struct rpc_stream *st, struct rpc_result *res)
{
	struct rpc_unary *u = &st->u;
	grpc_op ops[4], sop;

	if (rpc_unary_create(ch, timeout_ms, 0, u, ops, res) != 0)
		return AERR_RPC;
	rpc_unary_status_op(u, &sop);
	if (grpc_call_start_batch(u->call, ops, 4, &st->start_tag, NULL) != GRPC_CALL_OK) {
		rpc_result_set(res, RPC_INTERNAL, "start_batch failed");
		return err_set(AERR_RPC, "%s: grpc_call_start_batch failed", u->path);
	}
	st->started = 1;
	if (grpc_call_start_batch(u->call, &sop, 1, &st->status_tag, NULL) != GRPC_CALL_OK) {
		rpc_result_set(res, RPC_INTERNAL, "start_batch failed");
		return err_set(AERR_RPC, "%s: grpc_call_start_batch failed", u->path);
	}
	st->status_pending = 1;
	return 0;
}

/* Wait for the server's headers; unless the status came with them (a
 * refusal), tell fn the stream is set up. 1 when fn stops it then. */
static int rpc_stream_ready(struct rpc_channel *ch, struct rpc_stream *st, rpc_stream_fn fn, void *arg,
			    volatile const int *stop)
{
	grpc_event ev;

	if (!rpc_stream_wait(ch, st, &st->start_tag, stop))
		return 0;
	st->started = 0;
	ev = grpc_completion_queue_pluck(ch->cq, &st->status_tag, gpr_now(GPR_CLOCK_MONOTONIC), NULL);
	if (ev.type == GRPC_OP_COMPLETE) {
		st->status_pending = 0;
		return 0;
	}
	if (fn(NULL, arg) != 0 || (stop && *stop)) {
		grpc_call_cancel(st->u.call, NULL);
		return 1;
	}
	return 0;
}

/* Read messages until the stream ends or the reader stops it. 1 when this
 * side stopped it; 0 when the server ended it; AERR_RPC for a malformed
 * message (res says so). */
static int rpc_stream_read(struct rpc_channel *ch, const ProtobufCMethodDescriptor *m, struct rpc_stream *st,
			   rpc_stream_fn fn, void *arg, volatile const int *stop, struct rpc_result *res)
{
	grpc_byte_buffer *recv;
	ProtobufCMessage *msg;
	grpc_op op;

	for (;;) {
		recv = NULL;
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_RECV_MESSAGE;
		op.data.recv_message.recv_message = &recv;
		if (grpc_call_start_batch(st->u.call, &op, 1, &st->msg_tag, NULL) != GRPC_CALL_OK ||
		    !rpc_stream_wait(ch, st, &st->msg_tag, stop))
			return 0;
		if (!recv) /* the stream is over: the status says how */
			return stop && *stop ? 1 : 0;
		msg = NULL;
		if (rpc_client_unpack(ch, m, st->u.path, recv, &msg, res) != 0) {
			grpc_byte_buffer_destroy(recv);
			grpc_call_cancel(st->u.call, NULL);
			return AERR_RPC;
		}
		grpc_byte_buffer_destroy(recv);
		if (fn(msg, arg) != 0 || (stop && *stop)) {
			grpc_call_cancel(st->u.call, NULL);
			return 1;
		}
	}
}

int rpc_call_stream(struct rpc_channel *ch, const ProtobufCServiceDescriptor *svc, unsigned method,
		    const ProtobufCMessage *in, int timeout_ms, rpc_stream_fn fn, void *arg,
		    volatile const int *stop, struct rpc_result *res)
{
	struct rpc_stream st = { .u = { .status = GRPC_STATUS_UNKNOWN, .details = grpc_empty_slice() } };
	struct rpc_unary *u = &st.u;
	int r, stopped = 0;

	grpc_metadata_array_init(&u->initial_md);
	grpc_metadata_array_init(&u->trailing_md);
	memset(res, 0, sizeof(*res));
	res->status = RPC_UNKNOWN;
	if (!fn) {
		rpc_result_set(res, RPC_INTERNAL, "invalid call arguments");
		r = err_set(AERR_INVALID_ARG, "rpc_call_stream: no reader");
	} else if ((r = rpc_unary_prepare(ch, svc, method, in, u, res)) == 0 &&
		   (r = rpc_stream_begin(ch, timeout_ms, &st, res)) == 0) {
		stopped = rpc_stream_ready(ch, &st, fn, arg, stop);
		if (!stopped && st.status_pending)
			stopped = rpc_stream_read(ch, &svc->methods[method], &st, fn, arg, stop, res);
		r = stopped < 0 ? stopped : 0;
	}
	/* Every batch started completes (the call is cancelled when this
	 * side ended it) before the call may go. */
	if (st.started)
		(void)rpc_stream_wait(ch, &st, &st.start_tag, NULL);
	if (st.status_pending)
		(void)rpc_stream_wait(ch, &st, &st.status_tag, NULL);
	if (st.u.call && r == 0) {
		if (stopped == 1)
			rpc_result_set(res, RPC_CANCELLED, "stopped by the reader");
		else
			r = rpc_client_status(ch, u->call, u->path, u->status, u->details, u->error_string, &u->trailing_md,
					      res);
	}
	rpc_unary_release(u);
	return r;
}
