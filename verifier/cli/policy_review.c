/* verifier policy test | learn | proposal | approve (cli/commands.h): a
 * candidate judged over the fleet's stored evidence before it is applied,
 * and references learned from a node's quote (review/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/review.h"
#include "config.h"
#include "file.h"
#include "jsonout.h"
#include "policy/named.h"
#include "review/learn.h"
#include "review/review.h"

struct review_pick {
	struct store_node *v;
	size_t n, cap;
	const char *group;
	int failed;
};

static int pick_one(const struct store_node *n, void *arg)
{
	struct review_pick *p = arg;
	struct store_node *grown;

	if (p->group) {
		/* groups: comma-separated, each a whole name. */
		size_t gl = strlen(p->group);
		const char *g = n->groups;
		int in = 0;

		while (*g && !in) {
			const char *end = strchr(g, ',');
			size_t len = end ? (size_t)(end - g) : strlen(g);

			in = len == gl && !strncmp(g, p->group, gl);
			g += len + (end ? 1 : 0);
		}
		if (!in)
			return 0;
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		if (!(grown = realloc(p->v, p->cap * sizeof(*grown)))) {
			p->failed = 1;
			return err_set(AERR_ALLOC, "nodes");
		}
		p->v = grown;
	}
	p->v[p->n++] = *n;
	return 0;
}

int review_nodes(struct store *st, const char *const *keys, size_t nkeys, const char *group, struct store_node **out,
		 size_t *n)
{
	struct review_pick p = { .group = group };
	int r = 0;

	*out = NULL;
	*n = 0;
	if (nkeys) {
		if (!(p.v = calloc(nkeys, sizeof(*p.v))))
			return err_set(AERR_ALLOC, "nodes");
		for (size_t i = 0; i < nkeys && r == 0; i++)
			if ((r = store_node_get(st, keys[i], STORE_KEY_OPERATOR, &p.v[i])) != 0)
				r = err_wrap(r, keys[i]);
		p.n = nkeys;
	} else {
		r = store_node_list(st, pick_one, &p);
	}
	if (r != 0) {
		free(p.v);
		return r;
	}
	*out = p.v;
	*n = p.n;
	return 0;
}

struct named_policy *review_candidate(const struct verifier_config *cfg, const char *path)
{
	struct named_policy_limits lim = verifier_config_limits(cfg);
	struct named_policy *p = NULL;
	uint8_t *text = NULL;
	size_t len = 0;

	if (file_read_all(path, NAMED_POLICY_TEXT_MAX, &text, &len) != 0 ||
	    named_policy_parse("candidate", 1, (const char *)text, len, &lim, &p) != 0)
		fprintf(stderr, "verifier: %s (%s)\n", err_detail(), path);
	free(text);
	return p;
}

const char *review_node_label(const struct store_node *n)
{
	static __thread char buf[24];

	if (n->name[0])
		return n->name;
	snprintf(buf, sizeof(buf), "%.16s", n->ek_hash);
	return buf;
}

/* One node's line of a dry run. */
static void test_print(const struct nodes_args *a, size_t i, const struct store_node *n, const char *result,
		       const char *reason)
{
	if (a->json) {
		printf("%s\n  {\"node\": ", i ? "," : "");
		jsonout_str(stdout, n->ek_hash);
		printf(", \"name\": ");
		jsonout_str(stdout, n->name);
		printf(", \"result\": \"%s\", \"reason\": ", result);
		jsonout_str(stdout, reason);
		printf("}");
	} else {
		printf("%-4s %s%s%s\n", result, review_node_label(n), *reason ? ": " : "", reason);
	}
}

/* test CANDIDATE [--group G | NODE...]: each node's latest verified
 * evidence judged by the candidate, as its next session would judge it. */
int policy_test(struct store *st, const struct nodes_args *a)
{
	const char *group = a->ngroups ? a->groups[0] : NULL;
	struct named_policy *p = NULL;
	struct store_node *nodes = NULL;
	struct judge_ref ref;
	size_t n = 0, pass = 0, fail = 0, none = 0;
	char reason[700];
	int r;

	if (a->nmore && group) {
		fprintf(stderr, "verifier: policy test takes --group G or nodes, not both\n");
		return CLI_EXIT_USAGE;
	}
	if (!(p = review_candidate(a->cfg, a->node)))
		return CLI_EXIT_USAGE;
	if (review_nodes(st, (const char *const *)a->more, a->nmore, group, &nodes, &n) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		named_policy_free(p);
		return CLI_EXIT_FAIL;
	}
	review_named_ref(a->cfg, p, &ref);
	if (a->json)
		printf("{\"candidate\": ");
	if (a->json) {
		jsonout_str(stdout, a->node);
		printf(", \"nodes\": [");
	}
	for (size_t i = 0; i < n; i++) {
		struct store_evidence row;
		struct review_quote rq;

		if ((r = store_evidence_latest(st, nodes[i].id, &row)) == AERR_NOT_FOUND) {
			none++;
			test_print(a, i, &nodes[i], "NONE", "no verified quote of it is kept to judge");
			continue;
		}
		if (r != 0 || (r = review_load(st, &row, &rq)) != 0)
			goto store_failed;
		if (!rq.verified) {
			none++;
			snprintf(reason, sizeof(reason), "its latest evidence does not verify: %s", rq.why);
			test_print(a, i, &nodes[i], "NONE", reason);
		} else if (review_judge(&rq, &ref, reason, sizeof(reason)) == 0) {
			pass++;
			test_print(a, i, &nodes[i], "PASS", "");
		} else {
			fail++;
			test_print(a, i, &nodes[i], "FAIL", reason);
		}
		review_free(&rq);
	}
	if (a->json)
		printf("%s], \"pass\": %zu, \"fail\": %zu, \"none\": %zu}\n", n ? "\n" : "", pass, fail, none);
	else
		printf("%zu nodes: %zu would pass, %zu would fail, %zu without evidence to judge\n", n, pass, fail, none);
	free(nodes);
	named_policy_free(p);
	return fail || none ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
store_failed:
	fprintf(stderr, "verifier: %s\n", err_detail());
	free(nodes);
	named_policy_free(p);
	return CLI_EXIT_FAIL;
}

int policy_learn(struct store *st, const struct nodes_args *a)
{
	int64_t id = 0;

	if (store_learn_request(st, a->node, &id) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	printf("node %s: its next verified quote becomes a proposed reference (verifier policy proposal %s), "
	       "effective only once approved (verifier policy approve %s)\n", a->node, a->node, a->node);
	return CLI_EXIT_PASS;
}

/* The node's learn request as it stands: *att the attestation that
 * answered it (0: not yet), or an exit status. */
static int learn_answer(struct store *st, const struct nodes_args *a, struct store_node *n, int64_t *att)
{
	int64_t requested = 0;

	if (store_node_get(st, a->node, STORE_KEY_OPERATOR, n) != 0 ||
	    store_learn_state(st, n->id, &requested, att) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	if (!requested) {
		fprintf(stderr, "verifier: node %s: no learn request (verifier policy learn %s)\n", a->node, a->node);
		return CLI_EXIT_FAIL;
	}
	if (!*att) {
		printf("node %s: learning since ", a->node);
		nodes_print_time(stdout, requested);
		printf(": no verified quote yet\n");
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_PASS;
}

int policy_proposal(struct store *st, const struct nodes_args *a)
{
	struct store_node n;
	size_t violations = 0;
	int64_t att = 0;
	char *json = NULL;
	int rc;

	if ((rc = learn_answer(st, a, &n, &att)) != CLI_EXIT_PASS)
		return rc;
	if (learn_proposal(st, a->cfg, att, &json, &violations) != 0) {
		fprintf(stderr, "verifier: node %s: %s\n", a->node, err_detail());
		return CLI_EXIT_FAIL;
	}
	if (violations)
		fprintf(stderr, "verifier: node %s: %zu IMA violation entries (no digest) left out\n", a->node,
			violations);
	fprintf(stderr, "verifier: node %s: proposed from attestation %lld; not in effect until verifier policy approve %s\n",
		a->node, (long long)att, a->node);
	printf("%s\n", json);
	free(json);
	return CLI_EXIT_PASS;
}

int policy_approve(struct store *st, const struct nodes_args *a)
{
	char name[STORE_NAME_MAX + 1];
	struct store_node n;
	uint32_t version = 0;
	int64_t att = 0;
	int rc;

	if ((rc = learn_answer(st, a, &n, &att)) != CLI_EXIT_PASS)
		return rc;
	if (a->name)
		snprintf(name, sizeof(name), "%s", a->name);
	else
		learn_default_name(n.ek_hash, name);
	if (learn_approve(st, a->cfg, n.id, n.ek_hash, name, &version) != 0) {
		fprintf(stderr, "verifier: node %s: %s\n", a->node, err_detail());
		return CLI_EXIT_FAIL;
	}
	printf("policy %s version %u, learned from attestation %lld, assigned to node %s: it judges from the next "
	       "attestation\n", name, version, (long long)att, a->node);
	return CLI_EXIT_PASS;
}
