/* Unary gRPC server on the C core: one call at a time, protobuf-c messages. */
#define LOG_MODULE "rpc"

#include <stdarg.h>
#include <stdatomic.h>
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

/* How often rpc_server_run looks at the stop flag. */
#define RPC_SERVER_POLL_MS 50
/* A client that stalls (never sends its request, never reads the reply under
 * flow control) must not block the serial server forever: after this long the
 * call is cancelled. */
#define RPC_SERVER_STALL_MS 30000

struct rpc_server {
	const ProtobufCServiceDescriptor *svc;
	rpc_handler_fn *handlers;
	char **paths;               /* per method: "/pkg.Service/Method" */
	void *app;
	size_t max_message;
	grpc_server *server;
	grpc_completion_queue *cq;      /* server notifications (next) */
	grpc_completion_queue *call_cq; /* operations of the call being served (pluck) */
	int port;
	int insecure;
	int armed;                  /* a grpc_server_request_call is pending */
	int started;
	atomic_int stop;
	/* the pending request */
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array request_md;
	char notify_tag, shutdown_tag;
};

struct rpc_call {
	struct rpc_server *s;
	grpc_call *call;
	const ProtobufCMethodDescriptor *method;
	const char *path;
	gpr_timespec deadline;
	int answered;
	int has_peer;
	char peer[256];
};

/* Wait for tag on the call queue; after RPC_SERVER_STALL_MS cancel the call,
 * which makes the operation complete (failed). */
static int rpc_server_wait(struct rpc_server *s, grpc_call *call, void *tag)
{
	grpc_event ev = grpc_completion_queue_pluck(s->call_cq, tag, rpc_deadline_ms(RPC_SERVER_STALL_MS), NULL);

	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		LOG_WARN("peer stalled for %d ms: cancelling the call", RPC_SERVER_STALL_MS);
		grpc_call_cancel(call, NULL);
		ev = grpc_completion_queue_pluck(s->call_cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	}
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* Sends optional message + status in one batch and waits for the close. */
static int rpc_server_finish(struct rpc_call *c, grpc_byte_buffer *msg, enum rpc_status status,
			     const char *details)
{
	grpc_op ops[4];
	grpc_op *op = ops;
	grpc_slice detail_slice = grpc_slice_from_copied_string(details ? details : "");
	int cancelled = 0;
	char tag;
	grpc_call_error e;
	int ok;

	memset(ops, 0, sizeof(ops));
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	op++;
	if (msg) {
		op->op = GRPC_OP_SEND_MESSAGE;
		op->data.send_message.send_message = msg;
		op++;
	}
	op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	op->data.send_status_from_server.status = (grpc_status_code)status;
	op->data.send_status_from_server.status_details = status == RPC_OK ? NULL : &detail_slice;
	op++;
	op->op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op->data.recv_close_on_server.cancelled = &cancelled;
	op++;
	e = grpc_call_start_batch(c->call, ops, (size_t)(op - ops), &tag, NULL);
	/* gRPC keeps its own reference to the details. */
	grpc_slice_unref(detail_slice);
	if (e != GRPC_CALL_OK) {
		LOG_ERR("%s: start_batch(reply) failed: %d", c->path, (int)e);
		return err_set(AERR_RPC, "%s: cannot send reply (grpc_call_error %d)", c->path, (int)e);
	}
	c->answered = 1;
	ok = rpc_server_wait(c->s, c->call, &tag);
	LOG_DEBUG("%s from %s: %s%s%s", c->path, c->has_peer ? c->peer : "(anonymous)",
		  rpc_status_name(status), status == RPC_OK ? "" : ": ", status == RPC_OK ? "" : details);
	if (!ok || cancelled)
		return err_set(AERR_RPC, "%s: the call was cancelled before the reply was delivered", c->path);
	return 0;
}

int rpc_call_reply(struct rpc_call *c, const ProtobufCMessage *out)
{
	int r = AERR_INTERNAL;
	uint8_t *buf = NULL;
	size_t len;
	grpc_slice slice;
	grpc_byte_buffer *bb = NULL;

	if (!c || !out)
		return err_set(AERR_INVALID_ARG, "rpc_call_reply: NULL argument");
	if (c->answered)
		return err_set(AERR_STATE, "%s: call already answered", c->path);
	if (out->descriptor != c->method->output) {
		LOG_ERR("%s: handler replied with %s, method returns %s", c->path, out->descriptor->name,
			c->method->output->name);
		(void)rpc_call_fail(c, RPC_INTERNAL, "internal error: wrong reply type");
		return err_set(AERR_INVALID_ARG, "%s: reply is a %s, expected %s", c->path,
			       out->descriptor->name, c->method->output->name);
	}
	len = protobuf_c_message_get_packed_size(out);
	if (len > c->s->max_message) {
		(void)rpc_call_fail(c, RPC_RESOURCE_EXHAUSTED, "reply of %zu bytes exceeds the limit of %zu",
				    len, c->s->max_message);
		return err_set(AERR_TOO_LARGE, "%s: reply of %zu bytes exceeds the limit of %zu", c->path,
			       len, c->s->max_message);
	}
	if (!(buf = malloc(len ? len : 1))) {
		(void)rpc_call_fail(c, RPC_INTERNAL, "out of memory");
		return err_set(AERR_ALLOC, "%s: reply buffer", c->path);
	}
	if (protobuf_c_message_pack(out, buf) != len) {
		(void)rpc_call_fail(c, RPC_INTERNAL, "internal error: packing the reply");
		r = err_set(AERR_INTERNAL, "%s: protobuf_c_message_pack size mismatch", c->path);
		goto out;
	}
	slice = grpc_slice_from_copied_buffer((const char *)buf, len);
	bb = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice); /* the buffer holds its own reference */
	r = rpc_server_finish(c, bb, RPC_OK, NULL);
out:
	if (bb)
		grpc_byte_buffer_destroy(bb);
	free(buf);
	return r;
}

static int rpc_call_vfail(struct rpc_call *c, enum rpc_status status, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int rpc_call_vfail(struct rpc_call *c, enum rpc_status status, const char *fmt, va_list ap)
{
	char msg[512];

	if (!c)
		return err_set(AERR_INVALID_ARG, "rpc_call_fail: NULL call");
	if (c->answered)
		return err_set(AERR_STATE, "%s: call already answered", c->path);
	if (status == RPC_OK) {
		/* A failure reported as OK would look like success without a message. */
		LOG_ERR("%s: rpc_call_fail with status OK; sending INTERNAL", c->path);
		status = RPC_INTERNAL;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return rpc_server_finish(c, NULL, status, msg);
}

int rpc_call_fail(struct rpc_call *c, enum rpc_status status, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rpc_call_vfail(c, status, fmt, ap);
	va_end(ap);
	return r;
}

int rpc_call_fail_err(struct rpc_call *c, int err)
{
	const char *detail = err_detail();

	if (*detail)
		return rpc_call_fail(c, rpc_status_from_err(err), "%s: %s", err_str(err), detail);
	return rpc_call_fail(c, rpc_status_from_err(err), "%s", err_str(err));
}

const char *rpc_call_peer_identity(const struct rpc_call *c)
{
	return c && c->has_peer ? c->peer : NULL;
}

int64_t rpc_call_time_left_ms(const struct rpc_call *c)
{
	gpr_timespec deadline, left;
	int64_t ms;

	if (!c)
		return INT64_MAX;
	if (gpr_time_cmp(c->deadline, gpr_inf_future(c->deadline.clock_type)) == 0)
		return INT64_MAX;
	deadline = gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC);
	left = gpr_time_sub(deadline, gpr_now(GPR_CLOCK_MONOTONIC));
	ms = gpr_time_to_millis(left);
	return ms < 0 ? 0 : ms;
}

/* The first property named name, copied as a C string; 0 when none fits. */
static int rpc_server_auth_prop(const grpc_auth_context *ctx, const char *name, char *out, size_t cap)
{
	grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx, name);
	const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);

	if (!p || !p->value || p->value_length == 0 || p->value_length >= cap)
		return 0;
	/* An embedded NUL would let "a\0b" pass for "a". */
	if (memchr(p->value, '\0', p->value_length))
		return 0;
	memcpy(out, p->value, p->value_length);
	out[p->value_length] = '\0';
	return 1;
}

static void rpc_server_peer(struct rpc_call *c)
{
	grpc_auth_context *ctx = grpc_call_auth_context(c->call);

	c->has_peer = 0;
	if (!ctx)
		return;
	if (grpc_auth_context_peer_is_authenticated(ctx))
		c->has_peer = rpc_server_auth_prop(ctx, GRPC_X509_SAN_PROPERTY_NAME, c->peer, sizeof(c->peer)) ||
			      rpc_server_auth_prop(ctx, GRPC_X509_CN_PROPERTY_NAME, c->peer, sizeof(c->peer));
	grpc_auth_context_release(ctx);
}

/* Read the request message; NULL message means the client sent none (or the
 * transport already failed the call, e.g. over the size limit). */
static int rpc_server_recv(struct rpc_call *c, grpc_byte_buffer **msg)
{
	grpc_op op;
	char tag;
	grpc_call_error e;

	*msg = NULL;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = msg;
	if ((e = grpc_call_start_batch(c->call, &op, 1, &tag, NULL)) != GRPC_CALL_OK)
		return err_set(AERR_RPC, "%s: start_batch(recv) failed: %d", c->path, (int)e);
	/* Bounded too: a client that opens a call and never sends its message
	 * would otherwise hold the serial server forever. */
	if (!rpc_server_wait(c->s, c->call, &tag))
		return err_set(AERR_RPC, "%s: receiving the request failed", c->path);
	return 0;
}

static void rpc_server_dispatch(struct rpc_server *s)
{
	struct rpc_call c;
	grpc_byte_buffer *msg = NULL;
	grpc_byte_buffer_reader reader;
	grpc_slice flat;
	ProtobufCMessage *in = NULL;
	int have_reader = 0, reader_ok;
	unsigned i;
	size_t mlen;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.call = s->call;
	c.deadline = s->details.deadline;
	c.path = "(unknown)";
	rpc_server_peer(&c);

	for (i = 0; i < s->svc->n_methods; i++)
		if (grpc_slice_str_cmp(s->details.method, s->paths[i]) == 0)
			break;
	if (i == s->svc->n_methods || !s->handlers[i]) {
		char *m = grpc_slice_to_c_string(s->details.method);

		LOG_INFO("unimplemented method %.200s from %s", m ? m : "?",
			 c.has_peer ? c.peer : "(anonymous)");
		(void)rpc_call_fail(&c, RPC_UNIMPLEMENTED, "method not implemented");
		gpr_free(m);
		goto out;
	}
	c.method = &s->svc->methods[i];
	c.path = s->paths[i];

	if (rpc_server_recv(&c, &msg) != 0) {
		LOG_INFO("%s", err_detail());
		goto out;
	}
	if (!msg) {
		(void)rpc_call_fail(&c, RPC_INVALID_ARGUMENT, "missing request message");
		goto out;
	}
	reader_ok = grpc_byte_buffer_reader_init(&reader, msg);
	if (!reader_ok) {
		/* Compressed with an algorithm that failed to inflate. */
		(void)rpc_call_fail(&c, RPC_INVALID_ARGUMENT, "malformed request");
		goto out;
	}
	have_reader = 1;
	flat = grpc_byte_buffer_reader_readall(&reader);
	mlen = GRPC_SLICE_LENGTH(flat);
	/* gRPC enforces the limit on the wire; decompressed size is checked here. */
	if (mlen > s->max_message) {
		grpc_slice_unref(flat);
		(void)rpc_call_fail(&c, RPC_RESOURCE_EXHAUSTED, "request of %zu bytes exceeds the limit of %zu",
				    mlen, s->max_message);
		goto out;
	}
	in = protobuf_c_message_unpack(c.method->input, NULL, mlen, GRPC_SLICE_START_PTR(flat));
	grpc_slice_unref(flat);
	if (!in) {
		LOG_INFO("%s from %s: malformed %s (%zu bytes)", c.path, c.has_peer ? c.peer : "(anonymous)",
			 c.method->input->name, mlen);
		(void)rpc_call_fail(&c, RPC_INVALID_ARGUMENT, "malformed request");
		goto out;
	}
	err_clear();
	s->handlers[i](&c, in, s->app);
	if (!c.answered) {
		LOG_ERR("%s: handler returned without answering", c.path);
		(void)rpc_call_fail(&c, RPC_INTERNAL, "internal error: no reply");
	}
out:
	if (in)
		protobuf_c_message_free_unpacked(in, NULL);
	if (have_reader)
		grpc_byte_buffer_reader_destroy(&reader);
	if (msg)
		grpc_byte_buffer_destroy(msg);
}

static int rpc_server_arm(struct rpc_server *s)
{
	grpc_call_error e;

	s->call = NULL;
	grpc_call_details_init(&s->details);
	grpc_metadata_array_init(&s->request_md);
	e = grpc_server_request_call(s->server, &s->call, &s->details, &s->request_md, s->call_cq,
				     s->cq, &s->notify_tag);
	if (e != GRPC_CALL_OK) {
		grpc_call_details_destroy(&s->details);
		grpc_metadata_array_destroy(&s->request_md);
		return err_set(AERR_RPC, "grpc_server_request_call failed: %d", (int)e);
	}
	s->armed = 1;
	return 0;
}

/* The pending request completed (call accepted, or cancelled at shutdown). */
static void rpc_server_disarm(struct rpc_server *s)
{
	if (s->call)
		grpc_call_unref(s->call);
	s->call = NULL;
	grpc_call_details_destroy(&s->details);
	grpc_metadata_array_destroy(&s->request_md);
	s->armed = 0;
}

int rpc_handler_table(const ProtobufCServiceDescriptor *svc, const struct rpc_method_handler *map, size_t n,
		      rpc_handler_fn *table, size_t cap)
{
	const ProtobufCMethodDescriptor *m;

	if (svc->n_methods > cap)
		return err_set(AERR_INTERNAL, "service %s has %u methods, table holds %zu", svc->name,
			       svc->n_methods, cap);
	for (size_t i = 0; i < svc->n_methods; i++)
		table[i] = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(m = protobuf_c_service_descriptor_get_method_by_name(svc, map[i].method)))
			return err_set(AERR_INTERNAL, "service %s has no method %s", svc->name, map[i].method);
		table[m - svc->methods] = map[i].fn;
	}
	return 0;
}

int rpc_server_start(const ProtobufCServiceDescriptor *svc, rpc_handler_fn const *handlers,
		     void *app, const struct rpc_server_config *cfg, struct rpc_server **out)
{
	int r = AERR_INTERNAL;
	struct rpc_server *s = NULL;
	grpc_server_credentials *creds = NULL;
	grpc_arg args[3];
	grpc_channel_args chargs;
	unsigned i;

	*out = NULL;
	if (!svc || !handlers || !cfg || !cfg->listen || !*cfg->listen) {
		r = err_set(AERR_INVALID_ARG, "rpc_server_start: missing service, handlers or listen address");
		goto out;
	}
	if (cfg->max_message > INT32_MAX) {
		r = err_set(AERR_CONFIG, "rpc: max_message %zu exceeds %d", cfg->max_message, INT32_MAX);
		goto out;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		r = err_set(AERR_ALLOC, "rpc_server_start");
		goto out;
	}
	s->svc = svc;
	s->app = app;
	s->insecure = cfg->tls.insecure;
	s->max_message = cfg->max_message ? cfg->max_message : RPC_DEFAULT_MAX_MESSAGE;
	atomic_init(&s->stop, 0);
	if (!(s->handlers = calloc(svc->n_methods ? svc->n_methods : 1, sizeof(*s->handlers))) ||
	    !(s->paths = calloc(svc->n_methods ? svc->n_methods : 1, sizeof(*s->paths)))) {
		r = err_set(AERR_ALLOC, "rpc_server_start");
		goto out;
	}
	for (i = 0; i < svc->n_methods; i++) {
		s->handlers[i] = handlers[i];
		if (!(s->paths[i] = rpc_method_path(svc, i))) {
			r = err_set(AERR_ALLOC, "rpc_server_start: method path");
			goto out;
		}
	}
	if ((r = rpc_tls_server_creds(&cfg->tls, &creds)) != 0)
		goto out;

	memset(args, 0, sizeof(args));
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)s->max_message;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = (int)s->max_message;
	/* gRPC binds with SO_REUSEPORT by default: a second server on the same port
	 * would silently share it instead of failing. */
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
	args[2].value.integer = 0;
	chargs.num_args = 3;
	chargs.args = args;

	s->cq = grpc_completion_queue_create_for_next(NULL);
	s->call_cq = grpc_completion_queue_create_for_pluck(NULL);
	s->server = grpc_server_create(&chargs, NULL);
	if (!s->cq || !s->call_cq || !s->server) {
		r = err_set(AERR_INTERNAL, "rpc: cannot create gRPC server");
		goto out;
	}
	grpc_server_register_completion_queue(s->server, s->cq, NULL);
	s->port = grpc_server_add_http2_port(s->server, cfg->listen, creds);
	if (s->port <= 0) {
		r = err_set(AERR_IO, "rpc: cannot listen on %s (address in use or invalid)", cfg->listen);
		goto out;
	}
	grpc_server_start(s->server);
	s->started = 1;
	if ((r = rpc_server_arm(s)) != 0)
		goto out;
	LOG_INFO("serving %s on %s (port %d, %s)", svc->name, cfg->listen, s->port,
		 s->insecure ? "INSECURE plaintext" : "mutual TLS");
	*out = s;
	s = NULL; /* transferred */
	r = 0;
out:
	if (creds)
		grpc_server_credentials_release(creds);
	rpc_server_free(s);
	return r;
}

int rpc_server_port(const struct rpc_server *s)
{
	return s ? s->port : 0;
}

int rpc_server_run(struct rpc_server *s)
{
	grpc_event ev;

	while (!atomic_load(&s->stop)) {
		if (!s->armed && rpc_server_arm(s) != 0) {
			LOG_ERR("%s", err_detail());
			return AERR_RPC;
		}
		ev = grpc_completion_queue_next(s->cq, rpc_deadline_ms(RPC_SERVER_POLL_MS), NULL);
		if (ev.type == GRPC_QUEUE_TIMEOUT)
			continue;
		if (ev.type != GRPC_OP_COMPLETE || ev.tag != &s->notify_tag) {
			LOG_ERR("unexpected event %d on the server queue", (int)ev.type);
			return AERR_INTERNAL;
		}
		if (!ev.success) {
			/* Only happens when the server is shutting down. */
			rpc_server_disarm(s);
			break;
		}
		rpc_server_dispatch(s);
		rpc_server_disarm(s);
	}
	return 0;
}

void rpc_server_stop(struct rpc_server *s)
{
	/* A lock-free atomic store: async-signal-safe. */
	if (s)
		atomic_store(&s->stop, 1);
}

static void rpc_server_drain(grpc_completion_queue *cq, int pluck)
{
	grpc_event ev;

	grpc_completion_queue_shutdown(cq);
	do {
		ev = pluck ? grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
			   : grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	} while (ev.type != GRPC_QUEUE_SHUTDOWN);
}

void rpc_server_free(struct rpc_server *s)
{
	grpc_event ev;
	unsigned i;

	if (!s)
		return;
	if (s->server) {
		if (s->started) {
			grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
			grpc_server_cancel_all_calls(s->server);
			/* The pending request completes (success=0) before the shutdown tag. */
			for (;;) {
				ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
				if (ev.type != GRPC_OP_COMPLETE)
					break;
				if (ev.tag == &s->notify_tag)
					rpc_server_disarm(s);
				else if (ev.tag == &s->shutdown_tag)
					break;
			}
		}
		grpc_server_destroy(s->server);
	}
	if (s->armed)
		rpc_server_disarm(s);
	if (s->cq) {
		rpc_server_drain(s->cq, 0);
		grpc_completion_queue_destroy(s->cq);
	}
	if (s->call_cq) {
		rpc_server_drain(s->call_cq, 1);
		grpc_completion_queue_destroy(s->call_cq);
	}
	if (s->paths)
		for (i = 0; i < s->svc->n_methods; i++)
			free(s->paths[i]);
	free(s->paths);
	free(s->handlers);
	free(s);
}
