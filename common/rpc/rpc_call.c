/* What a handler does with its call: reply, fail with a status and a
 * message, read the caller's TLS identity and the time left. The answer is
 * recorded in the call's slot; rpc_server.c sends it once the handler has
 * returned. */
#define LOG_MODULE "rpc"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


#include "log.h"
#include "rpc_server_priv.h"

/* Records the answer; rpc_slot_send sends it once the handler has returned,
 * so nothing of the slot is touched after its call is handed back to gRPC. */
static int rpc_server_finish(struct rpc_call *c, grpc_byte_buffer *msg, enum rpc_status status,
			     const char *details)
{
	struct rpc_slot *sl = (struct rpc_slot *)((char *)c - offsetof(struct rpc_slot, c));

	sl->reply = msg;
	sl->status = status;
	if (status != RPC_OK) {
		sl->status_details = grpc_slice_from_copied_string(details ? details : "");
		sl->has_status_details = 1;
	}
	c->answered = 1;
	return 0;
}

int rpc_call_reply(struct rpc_call *c, const ProtobufCMessage *out)
{
	grpc_byte_buffer *bb = NULL;
	size_t len;
	int r;

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
	if ((r = rpc_pack(out, c->s->max_message, &bb, &len)) == AERR_TOO_LARGE) {
		(void)rpc_call_fail(c, RPC_RESOURCE_EXHAUSTED, "reply of %zu bytes exceeds the limit of %zu",
				    len, c->s->max_message);
		return err_set(AERR_TOO_LARGE, "%s: reply of %zu bytes exceeds the limit of %zu", c->path,
			       len, c->s->max_message);
	}
	if (r != 0) {
		(void)rpc_call_fail(c, RPC_INTERNAL, r == AERR_ALLOC ? "out of memory" : "internal error: packing the reply");
		return err_wrap(r, c->path);
	}
	/* The slot owns bb from here, until the send completes. */
	return rpc_server_finish(c, bb, RPC_OK, NULL);
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

int rpc_call_set_result(struct rpc_call *c, const char *text)
{
	struct rpc_slot *sl;
	size_t n;

	if (!c || !text)
		return err_set(AERR_INVALID_ARG, "rpc_call_set_result: NULL argument");
	if (c->answered)
		return err_set(AERR_STATE, "%s: call already answered", c->path);
	n = strnlen(text, RPC_RESULT_MAX + 1);
	if (n > RPC_RESULT_MAX)
		return err_set(AERR_INVALID_ARG, "%s: a result over %d bytes", c->path, RPC_RESULT_MAX);
	for (size_t i = 0; i < n; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			return err_set(AERR_INVALID_ARG, "%s: a result with a byte outside printable ASCII", c->path);
	sl = (struct rpc_slot *)((char *)c - offsetof(struct rpc_slot, c));
	if (sl->has_trailer) {
		grpc_slice_unref(sl->trailer.key);
		grpc_slice_unref(sl->trailer.value);
	}
	memset(&sl->trailer, 0, sizeof(sl->trailer));
	sl->trailer.key = grpc_slice_from_static_string(RPC_RESULT_TRAILER);
	sl->trailer.value = grpc_slice_from_copied_buffer(text, n);
	sl->has_trailer = 1;
	return 0;
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

unsigned rpc_call_method_index(const struct rpc_call *c)
{
	return (unsigned)(c->method - c->s->svc->methods);
}
