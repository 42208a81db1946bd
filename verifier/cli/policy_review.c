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

/* A node as these commands print it: its operator name, else the start
 * of its EK hash. */
static const char *node_label(const Attest__V1__Node *n)
{
	static __thread char buf[24];

	if (n->name[0])
		return n->name;
	snprintf(buf, sizeof(buf), "%.16s", n->ek_hash);
	return buf;
}

/* One node's line of a dry run. */
static void test_print(const struct nodes_args *a, size_t i, const Attest__V1__TestPolicyResult *t)
{
	if (a->json) {
		printf("%s\n  {\"node\": ", i ? "," : "");
		jsonout_str(stdout, t->node->ek_hash);
		printf(", \"name\": ");
		jsonout_str(stdout, t->node->name);
		printf(", \"result\": ");
		jsonout_str(stdout, t->result);
		printf(", \"reason\": ");
		jsonout_str(stdout, t->reason);
		printf("}");
	} else {
		printf("%-4s %s%s%s\n", t->result, node_label(t->node), *t->reason ? ": " : "", t->reason);
	}
}

/* test CANDIDATE [--group G | NODE...]: each node's latest verified
 * evidence judged by the candidate, as its next session would judge it. */
int policy_test(struct nodes_args *a)
{
	Attest__V1__TestPolicyRequest req = ATTEST__V1__TEST_POLICY_REQUEST__INIT;
	Attest__V1__TestPolicyResponse *res = NULL;
	const char *group = a->ngroups ? a->groups[0] : NULL;
	size_t pass = 0, fail = 0, none = 0;
	struct rpc_result rr;
	uint8_t *text = NULL;
	size_t len = 0;
	int st;

	if (a->nmore && group) {
		fprintf(stderr, "verifier: policy test takes --group G or nodes, not both\n");
		return CLI_EXIT_USAGE;
	}
	if (file_read_all(a->node, NAMED_POLICY_TEXT_MAX, &text, &len) != 0) {
		fprintf(stderr, "verifier: %s (%s)\n", err_detail(), a->node);
		return CLI_EXIT_USAGE;
	}
	text[len] = '\0'; /* the spare byte file_read_all leaves */
	req.body = (char *)text;
	req.group = group ? (char *)group : "";
	req.nodes = a->more;
	req.n_nodes = a->nmore;
	st = source_call(a->src, "TestPolicy", &req.base, (ProtobufCMessage **)&res, &rr);
	free(text);
	if (st != 0) {
		/* The candidate's problem names the file; a node's, the node. */
		fprintf(stderr, "verifier: %s%s%s%s\n", rr.message, st == RPC_INVALID_ARGUMENT ? " (" : "",
			st == RPC_INVALID_ARGUMENT ? a->node : "", st == RPC_INVALID_ARGUMENT ? ")" : "");
		return st == RPC_INVALID_ARGUMENT ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
	}
	if (a->json) {
		printf("{\"candidate\": ");
		jsonout_str(stdout, a->node);
		printf(", \"nodes\": [");
	}
	for (size_t i = 0; i < res->n_results; i++) {
		const char *r = res->results[i]->result;

		pass += !strcmp(r, "PASS");
		fail += !strcmp(r, "FAIL");
		none += !strcmp(r, "NONE");
		test_print(a, i, res->results[i]);
	}
	if (a->json)
		printf("%s], \"pass\": %zu, \"fail\": %zu, \"none\": %zu}\n", res->n_results ? "\n" : "", pass, fail, none);
	else
		printf("%zu nodes: %zu would pass, %zu would fail, %zu without evidence to judge\n", res->n_results, pass,
		       fail, none);
	source_done(&res->base);
	return fail || none ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
}

int policy_learn(struct nodes_args *a)
{
	Attest__V1__NodeRef req = ATTEST__V1__NODE_REF__INIT;
	Attest__V1__LearnState *res = NULL;

	req.key = (char *)a->node;
	if (source_call_or_say(a->src, "LearnPolicy", &req.base, (ProtobufCMessage **)&res) != 0)
		return CLI_EXIT_FAIL;
	printf("node %s: its next verified quote becomes a proposed reference (verifier policy proposal %s), "
	       "effective only once approved (verifier policy approve %s)\n", a->node, a->node, a->node);
	source_done(&res->base);
	return CLI_EXIT_PASS;
}

int policy_proposal(struct nodes_args *a)
{
	Attest__V1__NodeRef req = ATTEST__V1__NODE_REF__INIT;
	Attest__V1__LearnState *res = NULL;
	int rc = CLI_EXIT_PASS;

	req.key = (char *)a->node;
	if (source_call_or_say(a->src, "GetProposal", &req.base, (ProtobufCMessage **)&res) != 0)
		return CLI_EXIT_FAIL;
	if (!res->answered_by) {
		printf("node %s: learning since ", a->node);
		nodes_print_time(stdout, res->requested_ms);
		printf(": no verified quote yet\n");
		rc = CLI_EXIT_FAIL;
	} else {
		if (res->ima_violations)
			fprintf(stderr, "verifier: node %s: %llu IMA violation entries (no digest) left out\n", a->node,
				(unsigned long long)res->ima_violations);
		fprintf(stderr, "verifier: node %s: proposed from attestation %lld; not in effect until verifier policy "
			"approve %s\n", a->node, (long long)res->answered_by, a->node);
		printf("%s\n", res->proposal);
	}
	source_done(&res->base);
	return rc;
}

int policy_approve(struct nodes_args *a)
{
	Attest__V1__ApproveRequest req = ATTEST__V1__APPROVE_REQUEST__INIT;
	Attest__V1__ApproveResponse *res = NULL;

	req.node = (char *)a->node;
	req.name = a->name ? (char *)a->name : "";
	if (source_call_or_say(a->src, "ApprovePolicy", &req.base, (ProtobufCMessage **)&res) != 0)
		return CLI_EXIT_FAIL;
	printf("policy %s version %u, learned from attestation %lld, assigned to node %s: it judges from the next "
	       "attestation\n", res->name, res->version, (long long)res->attestation, a->node);
	source_done(&res->base);
	return CLI_EXIT_PASS;
}
