/* Handlers on threads of their own (rpc_server_config.detach): once a
 * call's request is in, rpc_server.c hands the call to a new thread, which
 * runs the handler and ends the call. Such a handler may take long (an
 * operator's dry run over the fleet) without holding up a worker of the
 * queue, and may stream: rpc_call_send sends one message and waits until
 * it went out, rpc_call_closed tells when the client has gone. gRPC
 * completes every operation of a call on the queue it was requested on,
 * so the workers take these completions too and record them in the slot
 * (rpc_slot_detached_event), where the thread waits for them. The close
 * is asked for first, so that a client that went away is noticed while
 * the handler waits for something to send. */
#define LOG_MODULE "rpc"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "rpc_priv.h"
#include "rpc_server_priv.h"

/* How long one send (or the end of the call) may wait for a client that
 * does not read, before the call is cancelled: rpc_server.c's stall limit. */
#define RPC_DETACH_STALL_MS 30000

static struct rpc_slot *rpc_slot_of(struct rpc_call *c)
{
	return (struct rpc_slot *)((char *)c - offsetof(struct rpc_slot, c));
}

void rpc_slot_detached_event(struct rpc_slot *sl, void *tag, int success)
{
	struct rpc_call *c = &sl->c;

	pthread_mutex_lock(&sl->lock);
	if (tag == &c->send_tag) {
		c->sending = 0;
		c->send_ok = success;
	} else if (tag == &c->close_tag) {
		c->closing = 0;
		c->closed = 1;
	} else {
		LOG_ERR("%s: completion with an unknown tag inside a call slot", c->path);
	}
	pthread_cond_broadcast(&sl->cond);
	pthread_mutex_unlock(&sl->lock);
}

/* Wait until *pending is 0 (1) or ms passed (0); the slot's lock held. */
static int rpc_detach_until(struct rpc_slot *sl, const int *pending, int64_t ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (*pending)
		if (pthread_cond_timedwait(&sl->cond, &sl->lock, &until) != 0)
			return !*pending;
	return 1;
}

/* Wait for an operation that always completes once the call is cancelled:
 * up to the stall limit, then cancel the call and wait for it. */
static void rpc_detach_wait(struct rpc_call *c, const int *pending)
{
	struct rpc_slot *sl = rpc_slot_of(c);

	pthread_mutex_lock(&sl->lock);
	if (!rpc_detach_until(sl, pending, RPC_DETACH_STALL_MS)) {
		LOG_WARN("%s: peer %s did not read for %d ms: cancelling the call", c->path,
			 c->has_peer ? c->peer : "(anonymous)", RPC_DETACH_STALL_MS);
		grpc_call_cancel(c->call, NULL);
		while (!rpc_detach_until(sl, pending, 1000))
			;
	}
	pthread_mutex_unlock(&sl->lock);
}

/* Start ops on the call, to complete as a send (send_tag). 1 when the send
 * then completed with success. */
static int rpc_detach_send(struct rpc_call *c, grpc_op *ops, size_t n)
{
	struct rpc_slot *sl = rpc_slot_of(c);
	int ok;

	pthread_mutex_lock(&sl->lock);
	c->sending = 1;
	pthread_mutex_unlock(&sl->lock);
	if (grpc_call_start_batch(c->call, ops, n, &c->send_tag, NULL) != GRPC_CALL_OK) {
		pthread_mutex_lock(&sl->lock);
		c->sending = 0;
		pthread_mutex_unlock(&sl->lock);
		return 0;
	}
	rpc_detach_wait(c, &c->sending);
	pthread_mutex_lock(&sl->lock);
	ok = c->send_ok;
	pthread_mutex_unlock(&sl->lock);
	return ok;
}

int rpc_call_send(struct rpc_call *c, const ProtobufCMessage *msg)
{
	grpc_byte_buffer *bb = NULL;
	grpc_op ops[2];
	size_t n = 0, len;
	int r;

	if (!c || !msg)
		return err_set(AERR_INVALID_ARG, "rpc_call_send: NULL argument");
	if (!c->detached)
		return err_set(AERR_STATE, "%s: only a detached handler streams", c->path);
	if (c->answered)
		return err_set(AERR_STATE, "%s: call already answered", c->path);
	if (msg->descriptor != c->method->output)
		return err_set(AERR_INVALID_ARG, "%s: message is a %s, the stream carries %s", c->path,
			       msg->descriptor->name, c->method->output->name);
	if (rpc_call_closed(c, 0))
		return err_set(AERR_RPC, "%s: the client has gone", c->path);
	if ((r = rpc_pack(msg, c->s->max_message, &bb, &len)) == AERR_TOO_LARGE)
		return err_set(AERR_TOO_LARGE, "%s: message of %zu bytes exceeds the limit of %zu", c->path, len,
			       c->s->max_message);
	if (r != 0)
		return err_wrap(r, c->path);
	memset(ops, 0, sizeof(ops));
	if (!c->sent_md)
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n++].data.send_message.send_message = bb;
	c->sent_md = 1;
	r = rpc_detach_send(c, ops, n);
	grpc_byte_buffer_destroy(bb);
	return r ? 0 : err_set(AERR_RPC, "%s: the client has gone", c->path);
}

int rpc_call_send_header(struct rpc_call *c)
{
	grpc_op op;

	if (!c || !c->detached)
		return err_set(AERR_STATE, "rpc_call_send_header: only a detached handler streams");
	if (c->sent_md)
		return 0;
	if (rpc_call_closed(c, 0))
		return err_set(AERR_RPC, "%s: the client has gone", c->path);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	c->sent_md = 1;
	return rpc_detach_send(c, &op, 1) ? 0 : err_set(AERR_RPC, "%s: the client has gone", c->path);
}

int rpc_call_closed(struct rpc_call *c, int wait_ms)
{
	struct rpc_slot *sl;
	int closed;

	if (!c || !c->detached)
		return 0;
	sl = rpc_slot_of(c);
	pthread_mutex_lock(&sl->lock);
	if (!c->closed && wait_ms > 0 && !rpc_server_stopping(c->s))
		(void)rpc_detach_until(sl, &c->closing, wait_ms);
	closed = c->closed;
	pthread_mutex_unlock(&sl->lock);
	return closed || rpc_server_stopping(c->s);
}

/* Ask for the close (its completion says the client went). */
static void rpc_detach_close(struct rpc_slot *sl)
{
	struct rpc_call *c = &sl->c;
	grpc_op op;
	int ok;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &sl->cancelled;
	pthread_mutex_lock(&sl->lock);
	c->closing = 1;
	pthread_mutex_unlock(&sl->lock);
	ok = grpc_call_start_batch(c->call, &op, 1, &c->close_tag, NULL) == GRPC_CALL_OK;
	if (!ok) {
		/* Nothing would complete: treat the client as gone. */
		pthread_mutex_lock(&sl->lock);
		c->closing = 0;
		c->closed = 1;
		pthread_mutex_unlock(&sl->lock);
	}
}

/* Send the handler's answer (its last message, if any, and the status)
 * and wait until the call is over. 1 when that went out. */
static int rpc_detach_finish(struct rpc_slot *sl)
{
	struct rpc_call *c = &sl->c;
	grpc_op ops[3];
	size_t n = 0;
	int ok;

	memset(ops, 0, sizeof(ops));
	if (!c->sent_md)
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (sl->reply) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = sl->reply;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = (grpc_status_code)sl->status;
	ops[n].data.send_status_from_server.trailing_metadata_count = sl->has_trailer ? 1 : 0;
	ops[n].data.send_status_from_server.trailing_metadata = sl->has_trailer ? &sl->trailer : NULL;
	ops[n++].data.send_status_from_server.status_details = sl->has_status_details ? &sl->status_details : NULL;
	rpc_slot_count(sl);
	if (!(ok = rpc_detach_send(c, ops, n)))
		LOG_DEBUG("%s: the answer did not go out", c->path);
	/* The close completes once the status went out (or the call was
	 * cancelled): only then may the slot take another call. */
	rpc_detach_wait(c, &c->closing);
	return ok && !sl->cancelled;
}

static void *rpc_detach_run(void *arg)
{
	struct rpc_slot *sl = arg;
	struct rpc_call *c = &sl->c;
	struct rpc_server *s = sl->s;
	int ok;

	pthread_setname_np(pthread_self(), "attest-call");
	rpc_detach_close(sl);
	err_clear();
	s->handlers[c->method - s->svc->methods](c, sl->in, s->app);
	if (!c->answered) {
		LOG_ERR("%s: handler returned without answering", c->path);
		(void)rpc_call_fail(c, RPC_INTERNAL, "internal error: no reply");
	}
	protobuf_c_message_free_unpacked(sl->in, NULL);
	sl->in = NULL;
	if (sl->request)
		grpc_byte_buffer_destroy(sl->request);
	sl->request = NULL;
	ok = rpc_detach_finish(sl);
	rpc_slot_log_end(sl, ok);
	rpc_slot_done(sl);
	return NULL;
}

int rpc_slot_detach(struct rpc_slot *sl, ProtobufCMessage *in)
{
	struct rpc_call *c = &sl->c;
	pthread_attr_t attr;
	pthread_t tid;
	int r;

	c->detached = 1;
	sl->in = in;
	pthread_mutex_lock(&sl->lock);
	sl->state = SLOT_DETACHED;
	sl->since_ms = clock_mono_ms();
	pthread_mutex_unlock(&sl->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&tid, &attr, rpc_detach_run, sl);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		c->detached = 0;
		sl->in = NULL;
		pthread_mutex_lock(&sl->lock);
		sl->state = SLOT_HANDLING;
		pthread_mutex_unlock(&sl->lock);
		return err_set(AERR_INTERNAL, "rpc: cannot start a thread for the call");
	}
	return 0;
}
