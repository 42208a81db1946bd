/* cli/source.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/methods.h"
#include "cli/source.h"
#include "config.h"
#include "policy/named.h"
#include "store/store.h"

#define SOURCE_TIMEOUT_MS 60000

static void source_scrub(ProtobufCMessage *m);

struct source {
	/* remote */
	struct rpc_channel *ch;
	int grpc;                     /* rpc_global_init called */
	char server[256];
	/* local */
	struct store *st;
	struct admin_ctx ctx;
};

static int source_open_remote(struct source *s, const struct verifier_config *cfg, const struct source_opts *o)
{
	struct rpc_tls tls = { 0 };
	const char *server = o->server ? o->server : cfg->admin.server;

	tls.ca_file = o->ca ? o->ca : cfg && cfg->tls.ca[0] ? cfg->tls.ca : NULL;
	if (o->cert || o->key) {
		tls.cert_file = o->cert;
		tls.key_file = o->key;
	} else if (cfg && cfg->admin.cert[0]) {
		tls.cert_file = cfg->admin.cert;
		tls.key_file = cfg->admin.key;
	} else if (cfg) {
		tls.cert_file = cfg->tls.cert[0] ? cfg->tls.cert : NULL;
		tls.key_file = cfg->tls.key[0] ? cfg->tls.key : NULL;
	}
	/* The verifier's certificate must name the host dialled: [tls]
	 * server_name is the name of the attestors' certificates (pull). */
	tls.server_name = NULL;
	if (!tls.ca_file || !tls.cert_file || !tls.key_file) {
		fprintf(stderr, "verifier: %s: calling the Admin service needs the CA (--ca, [tls] ca) and an "
			"operator's certificate and key (--cert and --key, [admin] cert and key)\n", server);
		return -1;
	}
	snprintf(s->server, sizeof(s->server), "%s", server);
	rpc_global_init();
	s->grpc = 1;
	if (rpc_channel_open(server, &tls, NAMED_POLICY_TEXT_MAX + (1u << 20), &s->ch) != 0) {
		fprintf(stderr, "verifier: %s: %s\n", server, err_detail());
		return -1;
	}
	return 0;
}

int source_open(const struct verifier_config *cfg, const char *config_path, const struct source_opts *o,
		struct source **out)
{
	struct source *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s) {
		fprintf(stderr, "verifier: out of memory\n");
		return -1;
	}
	if (o->server || (cfg && cfg->admin.server)) {
		if (source_open_remote(s, cfg, o) != 0)
			goto fail;
	} else if (!cfg) {
		fprintf(stderr, "verifier: --config FILE or --server HOST:PORT: where the nodes are\n");
		goto fail;
	} else if (!cfg->state_dir) {
		fprintf(stderr, "verifier: %s sets no state_dir: there is no database\n", config_path);
		goto fail;
	} else if (store_open(cfg->state_dir, &s->st) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		goto fail;
	} else {
		s->ctx.st = s->st;
		s->ctx.cfg = cfg;
		s->ctx.config_path = config_path;
		s->ctx.operator_id = "local";
	}
	*out = s;
	return 0;
fail:
	source_close(s);
	return -1;
}

void source_close(struct source *s)
{
	if (!s)
		return;
	rpc_channel_close(s->ch);
	if (s->grpc)
		rpc_global_shutdown();
	store_close(s->st);
	free(s);
}

const char *source_server(const struct source *s)
{
	return s->ch ? s->server : NULL;
}

struct store *source_store(struct source *s)
{
	return s->st;
}

/* A status message is a server's words: one line, printable. */
static void source_message_scrub(struct rpc_result *res)
{
	for (char *p = res->message; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* The verifier's own words as they are; a failure to reach it (or a
 * refusal of the caller) says where and how. */
static void source_say_where(const struct source *s, struct rpc_result *res)
{
	char msg[sizeof(res->message)];
	int n;

	if (!res->ours && res->status != RPC_UNAVAILABLE && res->status != RPC_DEADLINE_EXCEEDED &&
	    res->status != RPC_UNAUTHENTICATED && res->status != RPC_PERMISSION_DENIED)
		return;
	memcpy(msg, res->message, sizeof(msg));
	n = snprintf(res->message, sizeof(res->message), "%s: %s: ", s->server, rpc_status_name(res->status));
	if (n > 0 && (size_t)n < sizeof(res->message))
		memcpy(res->message + n, msg, strnlen(msg, sizeof(res->message) - (size_t)n - 1) + 1);
	res->message[sizeof(res->message) - 1] = '\0';
}

static int source_call_raw(struct source *s, const char *method, const ProtobufCMessage *in, ProtobufCMessage **out,
			   struct rpc_result *res)
{
	const ProtobufCServiceDescriptor *svc = &attest__v1__admin__descriptor;
	const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(svc, method);
	unsigned i;
	int r;

	*out = NULL;
	memset(res, 0, sizeof(*res));
	if (!m) {
		res->status = RPC_INTERNAL;
		snprintf(res->message, sizeof(res->message), "no Admin method %s", method);
		return res->status;
	}
	i = (unsigned)(m - svc->methods);
	if (s->ch) {
		if (rpc_call_unary(s->ch, svc, i, in, SOURCE_TIMEOUT_MS, 0, out, res) == 0) {
			source_scrub(*out);
			return 0;
		}
		source_say_where(s, res);
		return res->status;
	}
	if ((r = admin_call_local(&s->ctx, i, in, out)) == 0) {
		source_scrub(*out);
		return 0;
	}
	res->status = admin_status(r);
	snprintf(res->message, sizeof(res->message), "%s", err_detail());
	return res->status;
}

/* Every string of m (and of its messages) with control bytes but newline
 * and tab as '?' (a policy document has lines; the one-line fields are
 * escaped where they are printed): what a verifier answers, and what peers
 * told it, goes to a terminal. */
static void source_scrub(ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *base = (char *)m + f->offset;
		size_t n = 1;
		void **items = (void **)base;

		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(size_t *)((char *)m + f->quantifier_offset);
			items = *(void ***)base;
		}
		for (size_t k = 0; items && k < n; k++) {
			if (!items[k])
				continue;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				source_scrub(items[k]);
			else
				for (unsigned char *p = items[k]; *p; p++)
					if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
						*p = '?';
		}
	}
}

void source_done(ProtobufCMessage *out)
{
	if (out)
		protobuf_c_message_free_unpacked(out, NULL);
}

int source_call_or_say(struct source *s, const char *method, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	struct rpc_result res;
	int st = source_call(s, method, in, out, &res);

	if (st != 0)
		fprintf(stderr, "verifier: %s\n", res.message);
	return st;
}

int source_call(struct source *s, const char *method, const ProtobufCMessage *in, ProtobufCMessage **out,
		struct rpc_result *res)
{
	int st = source_call_raw(s, method, in, out, res);

	source_message_scrub(res);
	return st;
}

/* A streamed message, scrubbed before the command's reader sees it. */
struct source_stream {
	rpc_stream_fn fn;
	void *arg;
};

static int source_stream_one(ProtobufCMessage *msg, void *arg)
{
	struct source_stream *st = arg;

	if (msg)
		source_scrub(msg);
	return st->fn(msg, st->arg);
}

int source_watch(struct source *s, const char *node, rpc_stream_fn fn, void *arg, volatile const int *stop,
		 struct rpc_result *res)
{
	const ProtobufCServiceDescriptor *svc = &attest__v1__admin__descriptor;
	Attest__V1__WatchRequest req = ATTEST__V1__WATCH_REQUEST__INIT;
	struct source_stream st = { fn, arg };
	unsigned i = (unsigned)(protobuf_c_service_descriptor_get_method_by_name(svc, "WatchEvents") - svc->methods);

	memset(res, 0, sizeof(*res));
	if (!s->ch) {
		res->status = RPC_FAILED_PRECONDITION;
		snprintf(res->message, sizeof(res->message),
			 "watch follows a running verifier: give --server HOST:PORT or [admin] server");
		return res->status;
	}
	req.node = (char *)(node ? node : "");
	if (rpc_call_stream(s->ch, svc, i, &req.base, 0, source_stream_one, &st, stop, res) == 0)
		return 0;
	source_say_where(s, res);
	source_message_scrub(res);
	return res->status;
}
