/* admin/admin.h: the gRPC side of the Admin service. One handler serves
 * every unary method: it runs the method of admin/methods.h and answers
 * with its message or its error as a status; WatchEvents streams
 * (admin/watch.c). Handlers are detached (a thread per call), so the
 * store connection they share is taken one call at a time. */
#define LOG_MODULE "admin"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/methods.h"
#include "admin/watch.h"
#include "log.h"
#include "policy/named.h"
#include "rpc.h"
#include "store/store.h"

struct admin_server {
	struct admin_ctx ctx;        /* the template each call copies */
	pthread_mutex_t lock;        /* ctx.st, one call at a time */
	struct rpc_server *rpc;
	pthread_t thread;
	int running;
};

/* Only the operators named; an insecure server is never started
 * (config.c), so an identity is always there to check. */
static int admin_authorize(const char *identity, void *app, char *why, size_t cap)
{
	const struct admin_server *s = app;
	const struct admin_conf *ac = &s->ctx.cfg->admin;

	if (!identity) {
		snprintf(why, cap, "the Admin service answers operators only: an unauthenticated peer");
		return -1;
	}
	for (size_t i = 0; i < ac->noperators; i++)
		if (!strcmp(identity, ac->operators[i]))
			return 0;
	snprintf(why, cap, "TLS identity '%s' is not an operator of this verifier ([admin] operators)", identity);
	return -1;
}

/* Reading methods are logged at debug, those that change something at info. */
static int admin_changes(const char *method)
{
	return strncmp(method, "List", 4) && strncmp(method, "Get", 3) && strcmp(method, "TestPolicy");
}

static void admin_handle(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct admin_server *s = app;
	unsigned i = rpc_call_method_index(call);
	const char *method = attest__v1__admin__descriptor.methods[i].name;
	admin_method_fn fn = admin_method(i);
	struct admin_ctx ctx = s->ctx;
	ProtobufCMessage *out = NULL;
	struct arena *a = arena_new();
	int r;

	ctx.operator_id = rpc_call_peer_identity(call);
	if (!a || !fn) {
		(void)rpc_call_fail(call, RPC_INTERNAL, "admin: %s", a ? "no such method" : "out of memory");
		arena_free(a);
		return;
	}
	err_clear();
	pthread_mutex_lock(&s->lock);
	if ((r = fn(&ctx, in, &out, a)) == 0 && (arena_failed(a) || !out))
		r = err_set(AERR_ALLOC, "admin: out of memory for the answer");
	pthread_mutex_unlock(&s->lock);
	if (r == 0) {
		if (admin_changes(method))
			LOG_INFO("operator %s: %s done", ctx.operator_id, method);
		else
			LOG_DEBUG("operator %s: %s", ctx.operator_id, method);
		if (rpc_call_reply(call, out) != 0)
			LOG_INFO("operator %s: %s: the answer did not reach it: %s", ctx.operator_id, method,
				 err_detail());
	} else {
		LOG_INFO("operator %s: %s refused: %s", ctx.operator_id, method, err_detail());
		(void)rpc_call_fail(call, admin_status(r), "%s", err_detail());
	}
	arena_free(a);
}

/* WatchEvents: the node named (as every method names one) resolved to its
 * EK hash once, then the stream, which needs the store no more. */
static void admin_watch_handle(struct rpc_call *call, const ProtobufCMessage *in_, void *app)
{
	const Attest__V1__WatchRequest *in = (const Attest__V1__WatchRequest *)in_;
	struct admin_server *s = app;
	const char *operator_id = rpc_call_peer_identity(call);
	struct store_node n;
	int r = 0;

	memset(&n, 0, sizeof(n));
	if (*in->node) {
		pthread_mutex_lock(&s->lock);
		r = store_node_get(s->ctx.st, in->node, STORE_KEY_OPERATOR, &n);
		pthread_mutex_unlock(&s->lock);
	}
	if (r != 0) {
		LOG_INFO("operator %s: WatchEvents refused: %s", operator_id, err_detail());
		(void)rpc_call_fail(call, admin_status(r), "%s", err_detail());
		return;
	}
	admin_watch_stream(call, n.ek_hash, operator_id);
}

static void *admin_thread(void *arg)
{
	struct admin_server *s = arg;

	(void)rpc_server_run(s->rpc);
	return NULL;
}

int admin_server_start(const struct verifier_config *cfg, const char *config_path, const struct admin_hooks *hooks,
		       struct rpc_server *host, struct admin_server **out)
{
	const ProtobufCServiceDescriptor *svc = &attest__v1__admin__descriptor;
	rpc_handler_fn *handlers = NULL;
	struct rpc_server_config rc = { 0 };
	struct admin_server *s;
	int r;

	*out = NULL;
	if (!cfg->admin.listen)
		return err_set(AERR_CONFIG, "[admin] listen is not set");
	if (!(s = calloc(1, sizeof(*s))) || !(handlers = calloc(svc->n_methods, sizeof(*handlers)))) {
		free(s);
		return err_set(AERR_ALLOC, "admin: out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	s->ctx.cfg = cfg;
	s->ctx.config_path = config_path;
	if (hooks) {
		s->ctx.reattest = hooks->reattest;
		s->ctx.reattest_arg = hooks->arg;
	}
	for (unsigned i = 0; i < svc->n_methods; i++)
		handlers[i] = admin_method(i) ? admin_handle : NULL;
	handlers[protobuf_c_service_descriptor_get_method_by_name(svc, "WatchEvents") - svc->methods] =
		admin_watch_handle;
	rc.listen = cfg->admin.listen;
	/* Operators by a CA of their own when there is one: an attestor's
	 * certificate then fails the handshake already. */
	rc.tls.ca_file = cfg->admin.ca[0] ? cfg->admin.ca : cfg->tls.ca;
	if (!cfg->admin.ca[0])
		LOG_INFO("[admin] ca is not set: operators' certificates are checked against [tls] ca, the attestors' "
			 "CA, so whoever issues fleet certificates can name an operator");
	rc.tls.cert_file = cfg->tls.cert;
	rc.tls.key_file = cfg->tls.key;
	/* A policy document (an IMA allowlist of a distribution) in one call. */
	rc.max_message = NAMED_POLICY_TEXT_MAX + (1u << 20);
	rc.threads = 1;
	/* Streams (WatchEvents) hold theirs for as long as they last. */
	rc.max_calls = 64;
	rc.authorize = admin_authorize;
	rc.detach = 1;
	if ((r = store_open(cfg->state_dir, &s->ctx.st)) != 0)
		goto fail;
	r = host ? rpc_server_attach(host, svc, handlers, s, &rc, &s->rpc) : rpc_server_start(svc, handlers, s, &rc, &s->rpc);
	if (r != 0)
		goto fail;
	free(handlers);
	handlers = NULL;
	if (host) {
		LOG_INFO("serving attest.v1.Admin on %s (port %d) to %zu operators, on the attestors' server's workers",
			 cfg->admin.listen, rpc_server_port(s->rpc), cfg->admin.noperators);
		*out = s;
		return 0;
	}
	if (pthread_create(&s->thread, NULL, admin_thread, s) != 0) {
		r = err_set(AERR_INTERNAL, "admin: cannot start its thread");
		goto fail;
	}
	s->running = 1;
	/* Named: what it costs while idle is measurable per thread (bench). */
	pthread_setname_np(s->thread, "attest-admin");
	LOG_INFO("serving attest.v1.Admin on %s (port %d) to %zu operators", cfg->admin.listen, rpc_server_port(s->rpc),
		 cfg->admin.noperators);
	*out = s;
	return 0;
fail:
	free(handlers);
	admin_server_free(s);
	return r;
}

int admin_server_port(const struct admin_server *s)
{
	return rpc_server_port(s->rpc);
}

void admin_server_free(struct admin_server *s)
{
	if (!s)
		return;
	if (s->running) {
		rpc_server_stop(s->rpc);
		pthread_join(s->thread, NULL);
	}
	rpc_server_free(s->rpc);
	store_close(s->ctx.st);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
