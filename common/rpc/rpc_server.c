/* Unary gRPC server on the C core, protobuf-c messages.
 *
 * Calls are served asynchronously from a fixed pool of call slots: each slot
 * asks gRPC for a call, receives its request, runs the handler, sends the
 * reply and asks again. `threads` workers take completions from one queue, so
 * up to that many handlers run at once (1 keeps handlers serial, as the
 * attestor needs for its TPM). A client that stalls holds one slot until the
 * stall limit cancels its call; the others keep being served. One TLS
 * identity holds at most a quarter of the slots, so a peer that opens calls
 * and stalls them (a bug, a stolen attestor key) cannot take them all.
 * About 620 lines, kept whole on purpose: the slots' states and the one
 * event loop that moves them are read together; what a handler does with
 * its call is rpc_call.c. */
#define LOG_MODULE "rpc"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "rpc_priv.h"
#include "rpc_server_priv.h"

/* How often the workers look at the stop flag and the stall sweep runs. */
#define RPC_SERVER_POLL_MS 50
/* A client that never sends its request holds a slot: after this long its
 * call is cancelled. The request follows the call's headers at once from any
 * real client, so this can be short: stalled calls cannot pile up for long. */
#define RPC_SERVER_RECV_STALL_MS 5000
/* A client that never reads its reply (under flow control) holds the slot too;
 * a reply may be large and the link slow, so this one is longer. */
#define RPC_SERVER_STALL_MS 30000
#define RPC_SERVER_DEFAULT_SLOTS 64
#define RPC_SERVER_MAX_THREADS 64
/* How long a stopping server lets detached handlers end their calls
 * themselves before it cancels them. */
#define RPC_SERVER_GRACE_MS 1000
/* A detached server pings an idle connection this often. */
#define RPC_SERVER_KEEPALIVE_MS 60000

static void rpc_slot_set(struct rpc_slot *sl, enum rpc_slot_state st)
{
	pthread_mutex_lock(&sl->lock);
	sl->state = st;
	sl->since_ms = clock_mono_ms();
	pthread_mutex_unlock(&sl->lock);
}

/* The caller's identity into c; -1 (why set) when its certificate's
 * identity is refused. */
static int rpc_server_peer(struct rpc_call *c, char *why, size_t whycap)
{
	grpc_auth_context *ctx = grpc_call_auth_context(c->call);
	int r = rpc_identity_read(ctx, c->peer, why, whycap);

	c->has_peer = r == 1;
	grpc_auth_context_release(ctx);
	return r < 0 ? -1 : 0;
}

/* Ask gRPC for the next call on this slot. */
static int rpc_slot_arm(struct rpc_slot *sl)
{
	struct rpc_server *s = sl->s;
	grpc_call_error e;

	sl->call = NULL;
	grpc_call_details_init(&sl->details);
	grpc_metadata_array_init(&sl->request_md);
	rpc_slot_set(sl, SLOT_REQUESTED);
	e = grpc_server_request_call(s->server, &sl->call, &sl->details, &sl->request_md, s->cq, s->cq, sl);
	if (e != GRPC_CALL_OK) {
		grpc_call_details_destroy(&sl->details);
		grpc_metadata_array_destroy(&sl->request_md);
		rpc_slot_set(sl, SLOT_IDLE);
		return err_set(AERR_RPC, "grpc_server_request_call failed: %d", (int)e);
	}
	return 0;
}

/* The call of this slot is over (answered and closed, or failed): release it
 * and, unless the server stops, arm the slot again. Everything of the slot
 * is released before it is idle: once idle, rpc_server_free may free it
 * (a detached call's thread ends here, with nobody waiting for it). */
void rpc_slot_done(struct rpc_slot *sl)
{
	struct rpc_server *s = sl->s;
	grpc_call *call;

	atomic_fetch_sub(&s->busy, 1);
	pthread_mutex_lock(&sl->lock);
	call = sl->call;
	sl->call = NULL;
	pthread_mutex_unlock(&sl->lock);
	if (call)
		grpc_call_unref(call);
	grpc_call_details_destroy(&sl->details);
	grpc_metadata_array_destroy(&sl->request_md);
	if (sl->request)
		grpc_byte_buffer_destroy(sl->request);
	sl->request = NULL;
	if (sl->reply)
		grpc_byte_buffer_destroy(sl->reply);
	sl->reply = NULL;
	if (sl->has_status_details)
		grpc_slice_unref(sl->status_details);
	sl->has_status_details = 0;
	if (sl->has_trailer) {
		grpc_slice_unref(sl->trailer.key);
		grpc_slice_unref(sl->trailer.value);
	}
	sl->has_trailer = 0;
	if (atomic_load(&s->stop)) {
		rpc_slot_set(sl, SLOT_IDLE); /* the last touch of the slot */
		return;
	}
	if (rpc_slot_arm(sl) != 0)
		LOG_ERR("%s", err_detail());
}

void rpc_slot_count(const struct rpc_slot *sl)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "service=\"%s\",status=\"%s\"", sl->s->svc->name,
		 rpc_status_name(sl->status));
	metrics_inc("attest_rpc_calls_total", labels, 1);
}

/* Send the recorded answer (message + status) and ask for the close; the
 * completion comes back to the queue (rpc_slot_finished). */
static void rpc_slot_send(struct rpc_slot *sl)
{
	grpc_op ops[4];
	grpc_op *op = ops;
	grpc_call_error e;

	memset(ops, 0, sizeof(ops));
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	op++;
	if (sl->reply) {
		op->op = GRPC_OP_SEND_MESSAGE;
		op->data.send_message.send_message = sl->reply;
		op++;
	}
	op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	op->data.send_status_from_server.status = (grpc_status_code)sl->status;
	op->data.send_status_from_server.status_details = sl->has_status_details ? &sl->status_details : NULL;
	op->data.send_status_from_server.trailing_metadata_count = sl->has_trailer ? 1 : 0;
	op->data.send_status_from_server.trailing_metadata = sl->has_trailer ? &sl->trailer : NULL;
	op++;
	op->op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op->data.recv_close_on_server.cancelled = &sl->cancelled;
	op++;
	rpc_slot_count(sl);
	rpc_slot_set(sl, SLOT_FINISHING);
	/* From here another worker may complete and re-arm the slot. */
	e = grpc_call_start_batch(sl->call, ops, (size_t)(op - ops), sl, NULL);
	if (e != GRPC_CALL_OK) {
		/* Nothing will complete: end the call here. */
		LOG_ERR("%s: start_batch(reply) failed: %d", sl->c.path, (int)e);
		rpc_slot_done(sl);
	}
}

/* 1 when the identity of self's call holds per_peer_max other slots already.
 * Only counted when more slots than that are busy at all, so the common case
 * costs one atomic read. Two calls of one identity accepted at the same
 * moment may both pass: the cap holds to within the number of workers. */
static int rpc_server_peer_over(struct rpc_server *s, const struct rpc_slot *self)
{
	unsigned held = 0;

	if (!self->c.has_peer || atomic_load(&s->busy) <= s->per_peer_max)
		return 0;
	for (unsigned i = 0; i < s->nslots && held < s->per_peer_max; i++) {
		struct rpc_slot *sl = &s->slots[i];

		if (sl == self)
			continue;
		pthread_mutex_lock(&sl->lock);
		/* A slot's peer is written before it leaves SLOT_REQUESTED. */
		if ((sl->state == SLOT_RECEIVING || sl->state == SLOT_HANDLING || sl->state == SLOT_FINISHING ||
		     sl->state == SLOT_DETACHED) &&
		    sl->c.has_peer && !strcmp(sl->c.peer, self->c.peer))
			held++;
		pthread_mutex_unlock(&sl->lock);
	}
	return held >= s->per_peer_max;
}

/* A call arrived: find its method and start receiving the request. */
static void rpc_slot_accepted(struct rpc_slot *sl)
{
	struct rpc_server *s = sl->s;
	struct rpc_call *c = &sl->c;
	grpc_op op;
	grpc_call_error e;
	char why[256];
	unsigned i;

	memset(c, 0, sizeof(*c));
	c->s = s;
	c->call = sl->call;
	c->deadline = sl->details.deadline;
	c->path = "(unknown)";
	sl->cancelled = 0;
	sl->refused = 0;
	atomic_fetch_add(&s->busy, 1);
	if (rpc_server_peer(c, why, sizeof(why)) != 0) {
		/* Refused before any handler sees it: every service keeps and
		 * compares identities whole (rpc_identity.c). */
		LOG_WARN("call refused: %s", why);
		rpc_slot_set(sl, SLOT_HANDLING);
		sl->refused = 1;
		(void)rpc_call_fail(c, RPC_UNAUTHENTICATED, "%s", why);
		rpc_slot_send(sl);
		return;
	}
	if (rpc_server_peer_over(s, sl)) {
		LOG_WARN("peer %s holds %u of the %u call slots already: call refused", c->peer, s->per_peer_max,
			 s->nslots);
		rpc_slot_set(sl, SLOT_HANDLING);
		sl->refused = 1;
		(void)rpc_call_fail(c, RPC_RESOURCE_EXHAUSTED,
				    "this identity has %u calls in flight, the most one identity may hold; "
				    "try again when one is over",
				    s->per_peer_max);
		rpc_slot_send(sl);
		return;
	}
	if (s->authorize && s->authorize(c->has_peer ? c->peer : NULL, s->app, why, sizeof(why)) != 0) {
		LOG_WARN("call refused: %s", why);
		rpc_slot_set(sl, SLOT_HANDLING);
		sl->refused = 1;
		(void)rpc_call_fail(c, RPC_PERMISSION_DENIED, "%s", why);
		rpc_slot_send(sl);
		return;
	}
	for (i = 0; i < s->svc->n_methods; i++)
		if (grpc_slice_str_cmp(sl->details.method, s->paths[i]) == 0)
			break;
	if (i == s->svc->n_methods || !s->handlers[i]) {
		char *m = grpc_slice_to_c_string(sl->details.method);

		LOG_INFO("unimplemented method %.200s from %s", m ? m : "?", c->has_peer ? c->peer : "(anonymous)");
		gpr_free(m);
		rpc_slot_set(sl, SLOT_HANDLING);
		(void)rpc_call_fail(c, RPC_UNIMPLEMENTED, "method not implemented");
		rpc_slot_send(sl);
		return;
	}
	c->method = &s->svc->methods[i];
	c->path = s->paths[i];
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &sl->request;
	rpc_slot_set(sl, SLOT_RECEIVING);
	if ((e = grpc_call_start_batch(c->call, &op, 1, sl, NULL)) != GRPC_CALL_OK) {
		LOG_ERR("%s: start_batch(recv) failed: %d", c->path, (int)e);
		rpc_slot_done(sl);
	}
}

/* The request is in (or the receive failed): unpack it and run the handler. */
static void rpc_slot_received(struct rpc_slot *sl, int ok)
{
	struct rpc_server *s = sl->s;
	struct rpc_call *c = &sl->c;
	grpc_byte_buffer_reader reader;
	grpc_slice flat;
	ProtobufCMessage *in = NULL;
	size_t mlen;

	rpc_slot_set(sl, SLOT_HANDLING);
	if (!ok) {
		/* Cancelled by the client, the stall limit or the deadline: nobody
		 * is left to answer. */
		LOG_INFO("%s from %s: receiving the request failed", c->path, c->has_peer ? c->peer : "(anonymous)");
		rpc_slot_done(sl);
		return;
	}
	if (!sl->request) {
		(void)rpc_call_fail(c, RPC_INVALID_ARGUMENT, "missing request message");
		goto out;
	}
	if (!grpc_byte_buffer_reader_init(&reader, sl->request)) {
		/* Compressed with an algorithm that failed to inflate. */
		(void)rpc_call_fail(c, RPC_INVALID_ARGUMENT, "malformed request");
		goto out;
	}
	flat = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	mlen = GRPC_SLICE_LENGTH(flat);
	/* gRPC enforces the limit on the wire; decompressed size is checked here. */
	if (mlen > s->max_message) {
		grpc_slice_unref(flat);
		(void)rpc_call_fail(c, RPC_RESOURCE_EXHAUSTED, "request of %zu bytes exceeds the limit of %zu", mlen,
				    s->max_message);
		goto out;
	}
	in = protobuf_c_message_unpack(c->method->input, NULL, mlen, GRPC_SLICE_START_PTR(flat));
	grpc_slice_unref(flat);
	if (!in) {
		LOG_INFO("%s from %s: malformed %s (%zu bytes)", c->path, c->has_peer ? c->peer : "(anonymous)",
			 c->method->input->name, mlen);
		(void)rpc_call_fail(c, RPC_INVALID_ARGUMENT, "malformed request");
		goto out;
	}
	if (s->detach) {
		if (rpc_slot_detach(sl, in) == 0)
			return; /* the thread ends the call */
		LOG_ERR("%s: %s", c->path, err_detail());
		(void)rpc_call_fail(c, RPC_UNAVAILABLE, "the server cannot take this call now: try again");
		goto out;
	}
	err_clear();
	s->handlers[c->method - s->svc->methods](c, in, s->app);
	if (!c->answered) {
		LOG_ERR("%s: handler returned without answering", c->path);
		(void)rpc_call_fail(c, RPC_INTERNAL, "internal error: no reply");
	}
out:
	if (in)
		protobuf_c_message_free_unpacked(in, NULL);
	if (sl->request)
		grpc_byte_buffer_destroy(sl->request);
	sl->request = NULL;
	rpc_slot_send(sl);
}

void rpc_slot_log_end(const struct rpc_slot *sl, int ok)
{
	const struct rpc_call *c = &sl->c;

	/* A slice is not NUL-terminated: print it by its length. */
	LOG_DEBUG("%s from %s: %s%s%.*s", c->path, c->has_peer ? c->peer : "(anonymous)", rpc_status_name(sl->status),
		  sl->has_status_details ? ": " : "",
		  sl->has_status_details ? (int)GRPC_SLICE_LENGTH(sl->status_details) : 0,
		  sl->has_status_details ? (const char *)GRPC_SLICE_START_PTR(sl->status_details) : "");
	if (!ok || sl->cancelled)
		LOG_INFO("%s from %s: the call was cancelled before the reply was delivered", c->path,
			 c->has_peer ? c->peer : "(anonymous)");
}

static void rpc_slot_finished(struct rpc_slot *sl, int ok)
{
	rpc_slot_log_end(sl, ok);
	rpc_slot_done(sl);
}

/* The slot of s a tag is or lies in (a detached call's tags), if any. */
static struct rpc_slot *rpc_server_slot(struct rpc_server *s, void *tag)
{
	if (s && s->slots && (char *)tag >= (char *)s->slots && (char *)tag < (char *)(s->slots + s->nslots))
		return &s->slots[((char *)tag - (char *)s->slots) / sizeof(*s->slots)];
	return NULL;
}

/* One completion of the queue s serves (as its host or owner): move its
 * slot on, of s or of s's guest, or note a server's shutdown. */
static void rpc_server_event(struct rpc_server *s, grpc_event *ev)
{
	struct rpc_server *q = s->host ? s->host : s;
	struct rpc_slot *sl;
	enum rpc_slot_state st;

	if (ev->tag == &q->shutdown_tag || (q->guest && ev->tag == &q->guest->shutdown_tag)) {
		atomic_store(ev->tag == &q->shutdown_tag ? &q->shut : &q->guest->shut, 1);
		return;
	}
	if (!(sl = rpc_server_slot(q, ev->tag)) && !(sl = rpc_server_slot(q->guest, ev->tag))) {
		LOG_ERR("completion with an unknown tag on the server queue");
		return;
	}
	if (ev->tag != (void *)sl) {
		rpc_slot_detached_event(sl, ev->tag, ev->success);
		return;
	}
	pthread_mutex_lock(&sl->lock);
	st = sl->state;
	pthread_mutex_unlock(&sl->lock);
	switch (st) {
	case SLOT_REQUESTED:
		if (!ev->success) {
			/* Only at shutdown: the request was withdrawn. */
			rpc_slot_set(sl, SLOT_IDLE);
			grpc_call_details_destroy(&sl->details);
			grpc_metadata_array_destroy(&sl->request_md);
			return;
		}
		rpc_slot_accepted(sl);
		break;
	case SLOT_RECEIVING:
		rpc_slot_received(sl, ev->success);
		break;
	case SLOT_FINISHING:
		rpc_slot_finished(sl, ev->success);
		break;
	default:
		LOG_ERR("completion for a slot in state %d", (int)st);
		break;
	}
}

/* Move every pending operation's start forward by ms. */
static void rpc_server_pause(struct rpc_server *s, uint64_t ms)
{
	for (unsigned i = 0; i < s->nslots; i++) {
		pthread_mutex_lock(&s->slots[i].lock);
		s->slots[i].since_ms += ms;
		pthread_mutex_unlock(&s->slots[i].lock);
	}
}

/* Cancel calls that have waited on their peer longer than the stall limit;
 * their pending operation then completes (failed) and frees the slot. */
static void rpc_server_sweep(struct rpc_server *s)
{
	uint64_t now = clock_mono_ms();

	for (unsigned i = 0; i < s->nslots; i++) {
		struct rpc_slot *sl = &s->slots[i];
		uint64_t limit;

		pthread_mutex_lock(&sl->lock);
		/* A refusal is a few bytes: a peer that does not read it holds
		 * its slot no longer than one that sends no request. */
		limit = sl->state == SLOT_RECEIVING || sl->refused ? RPC_SERVER_RECV_STALL_MS : RPC_SERVER_STALL_MS;
		if ((sl->state == SLOT_RECEIVING || sl->state == SLOT_FINISHING) && sl->call &&
		    now - sl->since_ms >= limit) {
			LOG_WARN("%s: peer %s stalled for %llu ms: cancelling the call", sl->c.path,
				 sl->c.has_peer ? sl->c.peer : "(anonymous)", (unsigned long long)limit);
			grpc_call_cancel(sl->call, NULL);
			sl->since_ms = now; /* once per limit */
		}
		pthread_mutex_unlock(&sl->lock);
	}
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

static void rpc_heap_keep_once(void)
{
	if (mallopt(M_TRIM_THRESHOLD, 16 << 20) != 1)
		LOG_WARN("mallopt(M_TRIM_THRESHOLD) refused: the heap is trimmed at glibc's default");
}

void rpc_heap_keep(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, rpc_heap_keep_once);
}

/* The server's settings and method table from cfg, checked. */
static int rpc_server_setup(struct rpc_server *s, const ProtobufCServiceDescriptor *svc,
			    rpc_handler_fn const *handlers, void *app, const struct rpc_server_config *cfg)
{
	s->svc = svc;
	s->app = app;
	s->authorize = cfg->authorize;
	s->insecure = cfg->tls.insecure;
	s->detach = cfg->detach;
	s->max_message = cfg->max_message ? cfg->max_message : RPC_DEFAULT_MAX_MESSAGE;
	s->threads = cfg->threads ? cfg->threads : 1;
	s->nslots = cfg->max_calls ? cfg->max_calls : RPC_SERVER_DEFAULT_SLOTS;
	if (s->threads > RPC_SERVER_MAX_THREADS || s->nslots > 65536)
		return err_set(AERR_CONFIG, "rpc: %u threads, %u concurrent calls (at most %d and 65536)", s->threads,
			       s->nslots, RPC_SERVER_MAX_THREADS);
	s->per_peer_max = s->nslots / 4 ? s->nslots / 4 : 1;
	atomic_init(&s->busy, 0);
	atomic_init(&s->stop, 0);
	atomic_init(&s->shut, 0);
	if (!(s->handlers = calloc(svc->n_methods ? svc->n_methods : 1, sizeof(*s->handlers))) ||
	    !(s->paths = calloc(svc->n_methods ? svc->n_methods : 1, sizeof(*s->paths))))
		return err_set(AERR_ALLOC, "rpc_server_start");
	for (unsigned i = 0; i < svc->n_methods; i++) {
		s->handlers[i] = handlers[i];
		if (!(s->paths[i] = rpc_method_path(svc, i)))
			return err_set(AERR_ALLOC, "rpc_server_start: method path");
	}
	return 0;
}

/* The call slots, the completion queue and the gRPC server (not yet bound). */
static int rpc_server_create(struct rpc_server *s)
{
	grpc_arg args[6];
	grpc_channel_args chargs;
	pthread_condattr_t ca;

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
	if (s->detach) {
		/* A detached call may be a stream that sends nothing for hours:
		 * pings find a client that vanished without a word (its
		 * connection, and so its calls, end), which the stream's own
		 * traffic never would. */
		args[3].type = args[4].type = args[5].type = GRPC_ARG_INTEGER;
		args[3].key = (char *)GRPC_ARG_KEEPALIVE_TIME_MS;
		args[3].value.integer = RPC_SERVER_KEEPALIVE_MS;
		args[4].key = (char *)GRPC_ARG_KEEPALIVE_TIMEOUT_MS;
		args[4].value.integer = RPC_SERVER_KEEPALIVE_MS / 3;
		args[5].key = (char *)GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA;
		args[5].value.integer = 0;
		chargs.num_args = 6;
	}
	chargs.args = args;
	if (!(s->slots = calloc(s->nslots, sizeof(*s->slots))))
		return err_set(AERR_ALLOC, "rpc_server_start: %u call slots", s->nslots);
	/* A detached call's waits are timed on the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (unsigned i = 0; i < s->nslots; i++) {
		s->slots[i].s = s;
		pthread_mutex_init(&s->slots[i].lock, NULL);
		pthread_cond_init(&s->slots[i].cond, &ca);
	}
	pthread_condattr_destroy(&ca);
	s->cq = s->host ? s->host->cq : grpc_completion_queue_create_for_next(NULL);
	s->server = grpc_server_create(&chargs, NULL);
	if (!s->cq || !s->server)
		return err_set(AERR_INTERNAL, "rpc: cannot create gRPC server");
	return 0;
}

/* rpc_server_start, or rpc_server_attach with host set. */
static int rpc_server_open(struct rpc_server *host, const ProtobufCServiceDescriptor *svc,
			   rpc_handler_fn const *handlers, void *app, const struct rpc_server_config *cfg,
			   struct rpc_server **out)
{
	int r = AERR_INTERNAL;
	struct rpc_server *s = NULL;
	grpc_server_credentials *creds = NULL;
	unsigned i;

	*out = NULL;
	rpc_heap_keep();
	if (!svc || !handlers || !cfg || !cfg->listen || !*cfg->listen) {
		r = err_set(AERR_INVALID_ARG, "rpc_server_start: missing service, handlers or listen address");
		goto out;
	}
	if (cfg->max_message > INT32_MAX) {
		r = err_set(AERR_CONFIG, "rpc: max_message %zu exceeds %d", cfg->max_message, INT32_MAX);
		goto out;
	}
	if (host && (host->host || host->guest)) {
		r = err_set(AERR_INVALID_ARG, "rpc_server_attach: the host is a guest or has one already");
		goto out;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		r = err_set(AERR_ALLOC, "rpc_server_start");
		goto out;
	}
	/* Linked at once: the host's queue routes the guest's completions
	 * by it, also those of a start that fails below. */
	s->host = host;
	if (host)
		host->guest = s;
	if ((r = rpc_server_setup(s, svc, handlers, app, cfg)) != 0 ||
	    (r = rpc_tls_server_creds(&cfg->tls, &creds)) != 0 || (r = rpc_server_create(s)) != 0)
		goto out;
	grpc_server_register_completion_queue(s->server, s->cq, NULL);
	s->port = grpc_server_add_http2_port(s->server, cfg->listen, creds);
	if (s->port <= 0) {
		r = err_set(AERR_IO, "rpc: cannot listen on %s (address in use or invalid)", cfg->listen);
		goto out;
	}
	grpc_server_start(s->server);
	s->started = 1;
	for (i = 0; i < s->nslots; i++)
		if ((r = rpc_slot_arm(&s->slots[i])) != 0)
			goto out;
	if (host) {
		LOG_INFO("serving %s on %s (port %d, %s, on the workers of %s, %u concurrent calls)", svc->name,
			 cfg->listen, s->port, s->insecure ? "INSECURE plaintext" : "mutual TLS", host->svc->name,
			 s->nslots);
	} else {
		LOG_INFO("serving %s on %s (port %d, %s, %u threads, %u concurrent calls)", svc->name, cfg->listen,
			 s->port, s->insecure ? "INSECURE plaintext" : "mutual TLS", s->threads, s->nslots);
	}
	*out = s;
	s = NULL; /* transferred */
	r = 0;
out:
	if (creds)
		grpc_server_credentials_release(creds);
	rpc_server_free(s);
	return r;
}

int rpc_server_start(const ProtobufCServiceDescriptor *svc, rpc_handler_fn const *handlers,
		     void *app, const struct rpc_server_config *cfg, struct rpc_server **out)
{
	return rpc_server_open(NULL, svc, handlers, app, cfg, out);
}

int rpc_server_attach(struct rpc_server *host, const ProtobufCServiceDescriptor *svc,
		      rpc_handler_fn const *handlers, void *app, const struct rpc_server_config *cfg,
		      struct rpc_server **out)
{
	*out = NULL;
	if (!host)
		return err_set(AERR_INVALID_ARG, "rpc_server_attach: no host");
	return rpc_server_open(host, svc, handlers, app, cfg, out);
}

int rpc_server_stopping(const struct rpc_server *s)
{
	return atomic_load(&s->stop) || (s->host && atomic_load(&s->host->stop));
}

int rpc_server_port(const struct rpc_server *s)
{
	return s ? s->port : 0;
}

/* A worker: take completions until the stop flag. Worker 0 also sweeps. */
static void rpc_server_work(struct rpc_server *s, int sweeper)
{
	uint64_t last_sweep = clock_mono_ms();
	grpc_event ev;

	while (!atomic_load(&s->stop)) {
		ev = grpc_completion_queue_next(s->cq, rpc_deadline_ms(RPC_SERVER_POLL_MS), NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			rpc_server_event(s, &ev);
		else if (ev.type != GRPC_QUEUE_TIMEOUT) {
			LOG_ERR("unexpected event %d on the server queue", (int)ev.type);
			break;
		}
		if (sweeper && clock_mono_ms() - last_sweep >= 1000) {
			uint64_t now = clock_mono_ms();

			/* The stall clocks run only while the workers poll: when
			 * they were all busy (a long handler, a database sync),
			 * requests that arrived meanwhile are not stalled. */
			if (now - last_sweep > 2000) {
				rpc_server_pause(s, now - last_sweep - 1000);
				if (s->guest)
					rpc_server_pause(s->guest, now - last_sweep - 1000);
			}
			rpc_server_sweep(s);
			if (s->guest)
				rpc_server_sweep(s->guest);
			last_sweep = now;
		}
	}
}

static void *rpc_server_thread(void *arg)
{
	rpc_server_work(arg, 0);
	return NULL;
}

int rpc_server_run(struct rpc_server *s)
{
	pthread_t tids[RPC_SERVER_MAX_THREADS];
	unsigned n = 0;

	if (s->host)
		return err_set(AERR_STATE, "rpc_server_run: a guest is served by its host's workers");

	for (; n + 1 < s->threads; n++)
		if (pthread_create(&tids[n], NULL, rpc_server_thread, s) != 0) {
			LOG_WARN("rpc: only %u of %u worker threads started", n + 1, s->threads);
			break;
		}
	rpc_server_work(s, 1);
	for (unsigned i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	return 0;
}

void rpc_server_stop(struct rpc_server *s)
{
	/* A lock-free atomic store: async-signal-safe. */
	if (s)
		atomic_store(&s->stop, 1);
}

/* 1 while a detached handler runs. */
static int rpc_server_detached(struct rpc_server *s)
{
	int n = 0;

	for (unsigned i = 0; i < s->nslots && !n; i++) {
		pthread_mutex_lock(&s->slots[i].lock);
		n = s->slots[i].state == SLOT_DETACHED;
		pthread_mutex_unlock(&s->slots[i].lock);
	}
	return n;
}

static int rpc_server_busy(struct rpc_server *s)
{
	int busy = 0;

	for (unsigned i = 0; i < s->nslots && !busy; i++) {
		pthread_mutex_lock(&s->slots[i].lock);
		busy = s->slots[i].state != SLOT_IDLE;
		pthread_mutex_unlock(&s->slots[i].lock);
	}
	return busy;
}

void rpc_server_free(struct rpc_server *s)
{
	grpc_event ev;
	unsigned i;

	if (!s)
		return;
	if (s->guest) {
		/* Its slots' tags would complete on a queue no longer there. */
		LOG_ERR("rpc_server_free: %s still has a guest (%s): freeing it first", s->svc->name,
			s->guest->svc->name);
		rpc_server_free(s->guest);
	}
	atomic_store(&s->stop, 1);
	if (s->server) {
		if (s->started) {
			uint64_t grace = clock_mono_ms() + RPC_SERVER_GRACE_MS;
			int cancelled = 0;

			grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
			/* Every slot's pending operation completes (most with
			 * success = 0, once cancelled); slots end their calls and
			 * stay idle. Detached handlers see the stop flag and end
			 * their calls themselves (a stream with its reason) if
			 * they can within the grace time; this loop takes the
			 * completions they wait for meanwhile. */
			while (!atomic_load(&s->shut) || rpc_server_busy(s)) {
				if (!cancelled && (!rpc_server_detached(s) || clock_mono_ms() >= grace)) {
					grpc_server_cancel_all_calls(s->server);
					cancelled = 1;
				}
				ev = grpc_completion_queue_next(s->cq, rpc_deadline_ms(RPC_SERVER_POLL_MS), NULL);
				if (ev.type == GRPC_OP_COMPLETE)
					rpc_server_event(s, &ev);
				else if (ev.type != GRPC_QUEUE_TIMEOUT)
					break;
			}
		}
		grpc_server_destroy(s->server);
	}
	if (s->host)
		s->host->guest = NULL;
	else if (s->cq) {
		grpc_completion_queue_shutdown(s->cq);
		do
			ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		while (ev.type != GRPC_QUEUE_SHUTDOWN);
		grpc_completion_queue_destroy(s->cq);
	}
	if (s->slots)
		for (i = 0; i < s->nslots; i++) {
			pthread_cond_destroy(&s->slots[i].cond);
			pthread_mutex_destroy(&s->slots[i].lock);
		}
	free(s->slots);
	if (s->paths)
		for (i = 0; i < s->svc->n_methods; i++)
			free(s->paths[i]);
	free(s->paths);
	free(s->handlers);
	free(s);
}
