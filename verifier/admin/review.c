/* admin/methods.h: reviews of stored evidence (review/). TestPolicy (a
 * candidate judged over the fleet's latest verified evidence, as each
 * node's next session would judge it), LearnPolicy, GetProposal,
 * ApprovePolicy (a reference learned from a node's next verified quote,
 * in effect only once approved). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/methods.h"
#include "policy/named.h"
#include "review/learn.h"
#include "review/review.h"
#include "strsafe.h"

/* ------------------------------------------------------------ TestPolicy */

#define TEST_NODES_MAX 1000

struct pick {
	struct store_node *v;
	size_t n, cap;
	const char *group;
};

static int node_in_group(const struct store_node *n, const char *group)
{
	size_t gl = strlen(group);

	/* groups: comma-separated, each a whole name. */
	for (const char *g = n->groups; *g;) {
		const char *end = strchr(g, ',');
		size_t len = end ? (size_t)(end - g) : strlen(g);

		if (len == gl && !strncmp(g, group, gl))
			return 1;
		g += len + (end ? 1 : 0);
	}
	return 0;
}

static int pick_one(const struct store_node *n, void *arg)
{
	struct pick *p = arg;
	struct store_node *grown;

	if (p->group && !node_in_group(n, p->group))
		return 0;
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		if (!(grown = realloc(p->v, p->cap * sizeof(*grown))))
			return err_set(AERR_ALLOC, "admin: out of memory for the nodes");
		p->v = grown;
	}
	p->v[p->n++] = *n;
	return 0;
}

/* The nodes keys name (STORE_KEY_OPERATOR), else those of group (NULL:
 * every node): *out malloc'd. An unknown key is an error naming it. */
static int pick_nodes(struct store *st, char *const *keys, size_t nkeys, const char *group, struct pick *p)
{
	int r = 0;

	memset(p, 0, sizeof(*p));
	p->group = group;
	if (!nkeys)
		return store_node_list(st, pick_one, p);
	if (!(p->v = calloc(nkeys, sizeof(*p->v))))
		return err_set(AERR_ALLOC, "admin: out of memory for the nodes");
	for (size_t i = 0; i < nkeys && r == 0; i++)
		if ((r = store_node_get(st, keys[i], STORE_KEY_OPERATOR, &p->v[i])) != 0)
			r = err_wrap(r, keys[i]);
	p->n = nkeys;
	return r;
}

/* One node's latest verified evidence judged by ref. */
static int test_one(struct admin_ctx *ctx, struct arena *a, const struct judge_ref *ref, const struct store_node *n,
		    Attest__V1__TestPolicyResult **out)
{
	Attest__V1__TestPolicyResult *t = ARENA_MSG(a, Attest__V1__TestPolicyResult,
						    ATTEST__V1__TEST_POLICY_RESULT__INIT);
	struct store_evidence row;
	struct review_quote rq;
	char reason[700];
	int r;

	if (!t || !(t->node = admin_node_msg(a, n)))
		return AERR_ALLOC;
	*out = t;
	if ((r = store_evidence_latest(ctx->st, n->id, &row)) == AERR_NOT_FOUND) {
		t->result = "NONE";
		t->reason = "no verified quote of it is kept to judge";
		return 0;
	}
	if (r != 0 || (r = review_load(ctx->st, &row, &rq)) != 0)
		return r;
	if (!rq.verified) {
		t->result = "NONE";
		t->reason = arena_printf(a, "its latest evidence does not verify: %s", rq.why);
	} else if (review_judge(&rq, ref, reason, sizeof(reason)) == 0) {
		t->result = "PASS";
		t->evidence_ms = row.time_ms;
	} else {
		t->result = "FAIL";
		t->reason = arena_strdup(a, reason);
		t->evidence_ms = row.time_ms;
	}
	review_free(&rq);
	return 0;
}

int admin_test_policy(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__TestPolicyRequest *in = (const Attest__V1__TestPolicyRequest *)in_;
	Attest__V1__TestPolicyResponse *res = ARENA_MSG(a, Attest__V1__TestPolicyResponse,
							ATTEST__V1__TEST_POLICY_RESPONSE__INIT);
	struct named_policy_limits lim = verifier_config_limits(ctx->cfg);
	struct named_policy *p = NULL;
	struct judge_ref ref;
	struct pick nodes;
	int r;

	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if (in->n_nodes && *in->group)
		return err_set(AERR_INVALID_ARG, "policy test takes a group or nodes, not both");
	/* Each node is a replay: a request names a bounded number (a group or
	 * the whole fleet is asked for without naming them). */
	if (in->n_nodes > TEST_NODES_MAX)
		return err_set(AERR_INVALID_ARG, "policy test names at most %d nodes (or a group, or none for all)",
			       TEST_NODES_MAX);
	/* Checked as a stored policy would be: a candidate this verifier could
	 * not apply says so here. */
	if (named_policy_parse("candidate", 1, in->body, strlen(in->body), &lim, &p) != 0)
		return AERR_INVALID_ARG;
	if ((r = pick_nodes(ctx->st, in->nodes, in->n_nodes, *in->group ? in->group : NULL, &nodes)) != 0)
		goto out;
	review_named_ref(ctx->cfg, p, &ref);
	if (nodes.n && !(res->results = arena_alloc(a, nodes.n * sizeof(*res->results))))
		r = AERR_ALLOC;
	for (size_t i = 0; i < nodes.n && r == 0; i++)
		if ((r = test_one(ctx, a, &ref, &nodes.v[i], &res->results[i])) == 0)
			res->n_results++;
out:
	if (r == AERR_ALLOC)
		err_set(AERR_ALLOC, "admin: out of memory");
	free(nodes.v);
	named_policy_free(p);
	if (r == 0)
		*out = &res->base;
	return r;
}

/* ------------------------------------------------------------ learning */

static char *time_text(struct arena *a, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return arena_strdup(a, buf);
}

/* The node key names and its learn request as it stands. */
static int learn_state(struct admin_ctx *ctx, struct arena *a, const char *key, struct store_node *n,
		       Attest__V1__LearnState **out)
{
	Attest__V1__LearnState *m = ARENA_MSG(a, Attest__V1__LearnState, ATTEST__V1__LEARN_STATE__INIT);
	int r;

	if (!m)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if ((r = store_node_get(ctx->st, key, STORE_KEY_OPERATOR, n)) != 0 ||
	    (r = store_learn_state(ctx->st, n->id, &m->requested_ms, &m->answered_by)) != 0)
		return r;
	if (!m->requested_ms)
		return err_set(AERR_STATE, "node %s: no learn request (verifier policy learn %s)", key, key);
	if (!(m->node = admin_node_msg(a, n)))
		return err_set(AERR_ALLOC, "admin: out of memory");
	*out = m;
	return 0;
}

int admin_learn_policy(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__NodeRef *in = (const Attest__V1__NodeRef *)in_;
	Attest__V1__LearnState *m;
	struct store_node n;
	int64_t id = 0;
	int r;

	if ((r = store_learn_request(ctx->st, in->key, &id)) != 0 || (r = learn_state(ctx, a, in->key, &n, &m)) != 0)
		return r;
	*out = &m->base;
	return 0;
}

int admin_get_proposal(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__NodeRef *in = (const Attest__V1__NodeRef *)in_;
	Attest__V1__LearnState *m;
	struct store_node n;
	size_t violations = 0;
	char *json = NULL;
	int r;

	if ((r = learn_state(ctx, a, in->key, &n, &m)) != 0)
		return r;
	if (m->answered_by) {
		if ((r = learn_proposal(ctx->st, ctx->cfg, m->answered_by, &json, &violations)) != 0)
			return err_wrap(r, arena_printf(a, "node %s", in->key) ?: "node");
		m->proposal = arena_strdup(a, json);
		m->ima_violations = violations;
		free(json);
	}
	*out = &m->base;
	return 0;
}

int admin_approve_policy(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__ApproveRequest *in = (const Attest__V1__ApproveRequest *)in_;
	Attest__V1__ApproveResponse *res = ARENA_MSG(a, Attest__V1__ApproveResponse,
						     ATTEST__V1__APPROVE_RESPONSE__INIT);
	char name[STORE_NAME_MAX + 1];
	Attest__V1__LearnState *m;
	struct store_node n;
	int r;

	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if (*in->name && named_policy_name_check(in->name) != 0)
		return AERR_INVALID_ARG;
	if ((r = learn_state(ctx, a, in->node, &n, &m)) != 0)
		return r;
	if (!m->answered_by)
		return err_set(AERR_STATE, "node %s: learning since %s: no verified quote yet", in->node,
			       time_text(a, m->requested_ms) ?: "?");
	if (*in->name)
		snprintf(name, sizeof(name), "%s", in->name);
	else
		learn_default_name(n.ek_hash, name);
	if ((r = learn_approve(ctx->st, ctx->cfg, n.id, n.ek_hash, name, &res->version)) != 0)
		return err_wrap(r, arena_printf(a, "node %s", in->node) ?: "node");
	res->name = arena_strdup(a, name);
	res->attestation = m->answered_by;
	*out = &res->base;
	return 0;
}
