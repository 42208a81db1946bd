/* admin/methods.h: the nodes. ListNodes, GetNode, EnrollNode, RemoveNode,
 * GetHistory, Reattest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/methods.h"
#include "admin/status.h"
#include "hex.h"
#include "pull/target.h"
#include "strsafe.h"
#include "tpmpub.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define HISTORY_DEFAULT 100
#define HISTORY_MAX 10000

/* ------------------------------------------------------------ ListNodes */

struct page {
	struct arena *a;
	Attest__V1__Node **v;
	size_t n, cap, seen;
	int64_t last_id;
};

static int page_one(const struct store_node *n, void *arg)
{
	struct page *p = arg;

	if (++p->seen > p->cap)
		return 0; /* the one past the page: another page follows */
	if (!(p->v[p->n] = admin_node_msg(p->a, n)))
		return err_set(AERR_ALLOC, "admin: out of memory");
	p->n++;
	p->last_id = n->id;
	return 0;
}

/* A page token is the last node's row id in decimal: opaque to clients. */
static int page_token_parse(const char *text, int64_t *id)
{
	char *end;
	long long v;

	*id = 0;
	if (!*text)
		return 0;
	v = strtoll(text, &end, 10);
	if (*end || v <= 0 || text[0] < '0' || text[0] > '9')
		return err_set(AERR_INVALID_ARG, "page_token '%.40s' is not one this verifier gave", text);
	*id = v;
	return 0;
}

static int state_check(const char *state)
{
	static const enum store_state all[] = { STORE_ENROLLED, STORE_ATTESTING, STORE_PASSING, STORE_FAILED,
						STORE_VERIFIED };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(state, store_state_name(all[i])))
			return 0;
	return err_set(AERR_INVALID_ARG, "state '%.40s': enrolled, attesting, passing, failed or verified", state);
}

int admin_list_nodes(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__ListNodesRequest *in = (const Attest__V1__ListNodesRequest *)in_;
	Attest__V1__ListNodesResponse *res = ARENA_MSG(a, Attest__V1__ListNodesResponse,
						       ATTEST__V1__LIST_NODES_RESPONSE__INIT);
	size_t size = in->page_size ? in->page_size : PAGE_DEFAULT;
	struct page p = { .a = a };
	int64_t after;
	int r;

	if (size > PAGE_MAX) /* as AIP-158 has it: coerced, not refused */
		size = PAGE_MAX;
	if ((r = page_token_parse(in->page_token, &after)) != 0 || (*in->state && (r = state_check(in->state)) != 0))
		return r;
	if (!res || !(p.v = arena_alloc(a, size * sizeof(*p.v))))
		return err_set(AERR_ALLOC, "admin: out of memory");
	p.cap = size;
	if ((r = store_node_page(ctx->st, after, size + 1, *in->state ? in->state : NULL,
				 *in->group ? in->group : NULL, page_one, &p)) != 0)
		return r;
	res->nodes = p.v;
	res->n_nodes = p.n;
	res->next_page_token = p.seen > p.cap ? arena_printf(a, "%lld", (long long)p.last_id) : "";
	*out = &res->base;
	return 0;
}

/* ------------------------------------------------------------ GetNode */

int admin_get_node(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__NodeRef *in = (const Attest__V1__NodeRef *)in_;
	Attest__V1__NodeStatus *res;
	int r;

	if (!*in->key)
		return err_set(AERR_INVALID_ARG, "key: an EK hash prefix, a name or a hostname");
	if ((r = admin_node_status(ctx, a, in->key, &res)) != 0)
		return r;
	*out = &res->base;
	return 0;
}

/* ------------------------------------------------------------ EnrollNode */

/* The EK an enrollment names: *hash from the public (kept in *pub and its
 * wire form) or from 64 hex digits; 1 when the key names a node the store
 * has. */
static int enroll_ek(struct admin_ctx *ctx, const Attest__V1__EnrollNodeRequest *in, char hash[65], TPMT_PUBLIC *pub,
		     uint8_t *wire, size_t cap, size_t *wlen, struct store_node *known)
{
	uint8_t d[32];
	int r;

	memset(pub, 0, sizeof(*pub));
	*wlen = 0;
	if (in->ek_public.len) {
		if (*in->key)
			return err_set(AERR_INVALID_ARG, "ek_public and key: give one");
		if ((r = tpmpub_parse(in->ek_public.data, in->ek_public.len, pub)) != 0)
			return err_wrap(r, "ek_public");
		if (pub->type != TPM2_ALG_RSA && pub->type != TPM2_ALG_ECC)
			return err_set(AERR_UNSUPPORTED, "ek_public: an EK is RSA or ECC");
		if ((r = tpmpub_identity(pub, hash)) != 0 || (r = tpmpub_marshal(pub, wire, cap, wlen)) != 0)
			return r;
		return 0;
	}
	if (!*in->key)
		return err_set(AERR_INVALID_ARG, "ek_public or key: which node");
	if ((r = store_node_get(ctx->st, in->key, STORE_KEY_OPERATOR, known)) == 0) {
		memcpy(hash, known->ek_hash, 65);
		return 1;
	}
	if (r != AERR_NOT_FOUND && r != AERR_INVALID_ARG)
		return r;
	if (strlen(in->key) != 64 || hex_decode(in->key, 64, d, sizeof(d)) != 32)
		return err_set(AERR_INVALID_ARG, "'%s' is neither 64 hex digits (the SHA-256 of an EK public) nor a "
			       "node's EK hash prefix or operator name (a hostname is the node's own claim and never "
			       "names it here)", in->key);
	hex_encode(d, sizeof(d), hash);
	return 0;
}

/* What an operator names and groups nodes by, and binds them to: a name
 * is a name (never 8+ hex digits, which would read as an EK hash prefix);
 * a group one printable word of the comma-separated lists; an identity a
 * TLS identity as rpc_call_peer_identity reads one. */
static int enroll_check(const Attest__V1__EnrollNodeRequest *in)
{
	if (in->set_name && *in->name) {
		if (strsafe_name_check("node", in->name, STORE_NAME_MAX) != 0)
			return AERR_INVALID_ARG;
		if (strlen(in->name) >= 8 && strspn(in->name, "0123456789abcdefABCDEF") == strlen(in->name))
			return err_set(AERR_INVALID_ARG, "node name '%s' reads as an EK hash prefix: give it a letter "
				       "beyond a-f", in->name);
	}
	for (size_t i = 0; in->set_groups && i < in->n_groups; i++) {
		const char *g = in->groups[i];

		if (!*g || strlen(g) > STORE_NAME_MAX || !strsafe_is(g, STRSAFE_LINE) || strchr(g, ',') || strchr(g, ' '))
			return err_set(AERR_INVALID_ARG, "group '%.70s': 1..%d printable characters, no space or comma", g,
				       STORE_NAME_MAX);
	}
	if (in->set_identity && *in->identity &&
	    (strlen(in->identity) > RPC_IDENTITY_MAX || !strsafe_is(in->identity, STRSAFE_QUOTED) ||
	     strchr(in->identity, ' ')))
		return err_set(AERR_INVALID_ARG, "identity '%.70s' is no TLS identity (printable, no spaces or quotes, at "
			       "most %d)", in->identity, RPC_IDENTITY_MAX);
	return 0;
}

int admin_enroll_node(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__EnrollNodeRequest *in = (const Attest__V1__EnrollNodeRequest *)in_;
	Attest__V1__EnrollNodeResponse *res = ARENA_MSG(a, Attest__V1__EnrollNodeResponse,
							ATTEST__V1__ENROLL_NODE_RESPONSE__INIT);
	struct store_assign as = { 0 };
	struct store_node n;
	struct store_prior pr;
	TPMT_PUBLIC pub;
	uint8_t wire[sizeof(TPM2B_PUBLIC)];
	char hash[65], target[TARGET_MAX];
	size_t wlen = 0;
	int64_t id;
	int r, known;

	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if (in->n_groups > STORE_GROUPS_MAX)
		return err_set(AERR_INVALID_ARG, "a node is in at most %d groups", STORE_GROUPS_MAX);
	if ((r = enroll_check(in)) != 0)
		return r;
	as.name = in->set_name ? in->name : NULL;
	as.identity = in->set_identity ? in->identity : NULL;
	as.set_groups = in->set_groups;
	as.ngroups = in->n_groups;
	as.groups = (const char *const *)in->groups;
	if (in->set_target && *in->target) {
		/* One spelling per target: the one the config's targets have. */
		if ((r = target_canonical(in->target, target)) != 0)
			return r;
		as.target = target;
		if (!target_listed(target, ctx->cfg->targets, ctx->cfg->ntargets))
			res->warning = arena_printf(a, "%s is not one of %s's targets: serve does not attest the node "
						    "there", target, ctx->config_path);
	} else if (in->set_target) {
		as.target = "";
	}
	if ((known = enroll_ek(ctx, in, hash, &pub, wire, sizeof(wire), &wlen, &n)) < 0)
		return known;
	if (!known && (r = store_node_lookup(ctx->st, hash, &pr)) != 0)
		return r;
	if (!known && pr.existed)
		known = 1;
	if (known) {
		/* A node the store has: what is assigned to it changes (a
		 * re-bind to another TLS identity among them). */
		if (!as.name && !as.identity && !as.target && !as.set_groups)
			return err_set(AERR_STATE, "node %.16s... is enrolled already; say what to change: "
				       "name, identity, target or groups", hash);
		r = store_node_assign(ctx->st, hash, &as);
	} else {
		r = store_node_enroll(ctx->st, hash, pub.type, wlen ? wire : NULL, wlen, &as, &id);
	}
	/* The store's "taken" (a name another node has): the request is
	 * well-formed, the fleet's state refuses it. */
	if (r != 0)
		return r == AERR_INVALID_ARG ? AERR_STATE : r;
	if ((r = store_node_get(ctx->st, hash, STORE_KEY_OPERATOR, &n)) != 0)
		return r;
	res->created = !known;
	if (!(res->node = admin_node_msg(a, &n)))
		return err_set(AERR_ALLOC, "admin: out of memory");
	*out = &res->base;
	return 0;
}

/* ------------------------------------------------------------ RemoveNode */

int admin_remove_node(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__NodeRef *in = (const Attest__V1__NodeRef *)in_;
	Attest__V1__Node *res;
	struct store_node n;
	int r;

	if ((r = store_node_get(ctx->st, in->key, STORE_KEY_OPERATOR, &n)) != 0 ||
	    (r = store_node_remove(ctx->st, n.ek_hash)) != 0)
		return r;
	if (!(res = admin_node_msg(a, &n)))
		return err_set(AERR_ALLOC, "admin: out of memory");
	*out = &res->base;
	return 0;
}

/* ------------------------------------------------------------ GetHistory */

static Attest__V1__VerdictRecord *verdict_msg(struct arena *a, const struct store_evidence *e)
{
	Attest__V1__VerdictRecord *v = ARENA_MSG(a, Attest__V1__VerdictRecord, ATTEST__V1__VERDICT_RECORD__INIT);

	if (!v)
		return NULL;
	v->id = e->id;
	v->time_ms = e->time_ms;
	v->mode = arena_strdup(a, e->mode);
	v->pass = e->pass;
	v->unjudged = e->unjudged;
	v->verified = e->verified;
	v->step = arena_strdup(a, e->step);
	v->reason = arena_strdup(a, e->reason);
	v->policy_name = arena_strdup(a, e->policy_name);
	v->policy_version = e->policy_version;
	v->pcr_selection = arena_strdup(a, e->pcr_selection);
	v->has_counts = e->has_counts;
	v->reset_count = e->reset_count;
	v->restart_count = e->restart_count;
	v->clock = e->clock;
	v->ima_entries = e->ima_entries;
	v->ima_first = e->ima_first;
	v->ak_digest = arena_strdup(a, e->ak);
	v->values_digest = arena_strdup(a, e->values);
	v->event_log_digest = arena_strdup(a, e->event_log);
	v->ima_digest = arena_strdup(a, e->ima);
	v->pruned = e->pruned;
	/* The bytes the TPM signed and its signature: what a client checks
	 * for itself with the AK of ak_digest. */
	if (arena_bytes(a, &v->nonce, e->nonce, e->nonce_len) != 0 || arena_bytes(a, &v->quote, e->quote, e->quote_len) != 0 ||
	    arena_bytes(a, &v->signature, e->signature, e->signature_len) != 0)
		return NULL;
	return arena_failed(a) ? NULL : v;
}

int admin_get_history(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__HistoryRequest *in = (const Attest__V1__HistoryRequest *)in_;
	Attest__V1__HistoryResponse *res = ARENA_MSG(a, Attest__V1__HistoryResponse,
						     ATTEST__V1__HISTORY_RESPONSE__INIT);
	size_t max = in->max ? in->max : HISTORY_DEFAULT, n = 0;
	struct store_evidence *rows = NULL;
	struct store_node node;
	int r;

	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if (max > HISTORY_MAX)
		max = HISTORY_MAX;
	if (in->since_ms < 0)
		return err_set(AERR_INVALID_ARG, "since_ms: a Unix time in milliseconds, or 0 for all");
	if ((r = store_node_get(ctx->st, in->key, STORE_KEY_ANY, &node)) != 0 ||
	    (r = store_evidence_list(ctx->st, node.id, in->since_ms, max, &rows, &n)) != 0)
		return r;
	res->ek_hash = arena_strdup(a, node.ek_hash);
	if (n && (res->verdicts = arena_alloc(a, n * sizeof(*res->verdicts))))
		for (size_t i = 0; i < n; i++)
			if ((res->verdicts[i] = verdict_msg(a, &rows[i])))
				res->n_verdicts++;
	free(rows);
	if (arena_failed(a))
		return err_set(AERR_ALLOC, "admin: out of memory");
	*out = &res->base;
	return 0;
}

/* ------------------------------------------------------------ Reattest */

int admin_reattest(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__NodeRef *in = (const Attest__V1__NodeRef *)in_;
	Attest__V1__ReattestResponse *res = ARENA_MSG(a, Attest__V1__ReattestResponse,
						      ATTEST__V1__REATTEST_RESPONSE__INIT);
	struct store_node n;
	int r;

	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if ((r = store_node_get(ctx->st, in->key, STORE_KEY_OPERATOR, &n)) != 0)
		return r;
	/* Push: the attestor connects on its own schedule (the reattest
	 * interval each verdict tells it); nothing here can reach it. */
	if (ctx->cfg->mode == CONFIG_MODE_PUSH)
		return err_set(AERR_STATE, "node %.16s: push mode: its attestor attests every %u s on its own "
			       "(reattest_interval); the verifier cannot reach it", n.ek_hash,
			       ctx->cfg->reattest_interval);
	if (!ctx->reattest)
		return err_set(AERR_STATE, "only a running verifier serve attests: use verifier attest %s",
			       n.target[0] ? n.target : "HOST:PORT");
	if (!n.target[0])
		return err_set(AERR_STATE, "node %.16s is attested at no target yet", n.ek_hash);
	if ((r = ctx->reattest(n.target, ctx->reattest_arg)) != 0)
		return r;
	res->target = arena_strdup(a, n.target);
	*out = &res->base;
	return 0;
}
