/* verifier history | reattest (cli/commands.h): a node's verdicts with what
 * each stands on, and an attestation now (pull mode), through the Admin
 * methods (cli/source.h). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/nodes.h"
#include "hex.h"
#include "jsonout.h"

/* "12ab34cd" of a digest, "-" for none. */
static const char *short_digest(const char *d)
{
	return d[0] ? d : "-";
}

static void verdict_line(const Attest__V1__VerdictRecord *v)
{
	char reason[2100];
	const char *result = v->pass ? "PASS" : v->unjudged ? "VERIFIED" : "FAIL";

	nodes_print_time(stdout, v->time_ms);
	printf("  %-4s %-8s ", v->mode, result);
	if (v->policy_name[0])
		printf("by %s%s", v->policy_name, v->policy_version ? "" : " ");
	if (v->policy_version)
		printf(" v%u ", v->policy_version);
	if (v->has_counts)
		printf("boot %u/%u ", v->reset_count, v->restart_count);
	printf("ak %.8s log %.8s ima %.8s%s", short_digest(v->ak_digest), short_digest(v->event_log_digest),
	       short_digest(v->ima_digest), v->pruned ? " (evidence pruned)" : "");
	if (!v->pass)
		printf("\n          %s: %s", v->step, nodes_shown(v->reason, reason, sizeof(reason)));
	printf("\n");
}

static void verdict_json(const Attest__V1__VerdictRecord *v, int first)
{
	char nonce[2 * 64 + 1] = "";

	if (v->nonce.len <= 64)
		hex_encode(v->nonce.data, v->nonce.len, nonce);
	printf("%s\n  {\"id\": %lld, \"time_ms\": %lld, \"mode\": ", first ? "" : ",", (long long)v->id,
	       (long long)v->time_ms);
	jsonout_str(stdout, v->mode);
	printf(", \"pass\": %s, \"unjudged\": %s, \"verified\": %s, \"step\": ", v->pass ? "true" : "false",
	       v->unjudged ? "true" : "false", v->verified ? "true" : "false");
	jsonout_str(stdout, v->step);
	printf(", \"reason\": ");
	jsonout_str(stdout, v->reason);
	printf(", \"policy\": ");
	jsonout_str(stdout, v->policy_name);
	printf(", \"policy_version\": %u, \"nonce\": \"%s\", \"pcr_selection\": ", v->policy_version, nonce);
	jsonout_str(stdout, v->pcr_selection);
	if (v->has_counts)
		printf(", \"reset_count\": %u, \"restart_count\": %u, \"clock\": %llu", v->reset_count, v->restart_count,
		       (unsigned long long)v->clock);
	printf(", \"ima_entries\": %llu, \"evidence\": {\"ak\": ", (unsigned long long)v->ima_entries);
	jsonout_str(stdout, v->ak_digest);
	printf(", \"values\": ");
	jsonout_str(stdout, v->values_digest);
	printf(", \"event_log\": ");
	jsonout_str(stdout, v->event_log_digest);
	printf(", \"ima\": ");
	jsonout_str(stdout, v->ima_digest);
	printf("}, \"pruned\": %s}", v->pruned ? "true" : "false");
}

int history_main(int argc, char **argv)
{
	Attest__V1__HistoryRequest req = ATTEST__V1__HISTORY_REQUEST__INIT;
	Attest__V1__HistoryResponse *res = NULL;
	struct nodes_args a;
	int rc;

	if ((rc = nodes_open(argc, argv, 1, CLI_HISTORY_USAGE, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	req.key = (char *)a.node;
	req.since_ms = a.since_ms;
	req.max = 10000;
	if (source_call_or_say(a.src, "GetHistory", &req.base, (ProtobufCMessage **)&res) != 0) {
		nodes_close(&a);
		return CLI_EXIT_FAIL;
	}
	if (a.json) {
		printf("{\"node\": ");
		jsonout_str(stdout, res->ek_hash);
		printf(", \"verdicts\": [");
		for (size_t i = 0; i < res->n_verdicts; i++)
			verdict_json(res->verdicts[i], i == 0);
		printf("%s]}\n", res->n_verdicts ? "\n" : "");
	} else {
		printf("node %s: %zu verdicts%s\n", res->ek_hash, res->n_verdicts,
		       res->n_verdicts == req.max ? " (the newest)" : "");
		for (size_t i = 0; i < res->n_verdicts; i++)
			verdict_line(res->verdicts[i]);
	}
	source_done(&res->base);
	nodes_close(&a);
	return CLI_EXIT_PASS;
}

int reattest_main(int argc, char **argv)
{
	Attest__V1__NodeRef req = ATTEST__V1__NODE_REF__INIT;
	Attest__V1__ReattestResponse *res = NULL;
	struct nodes_args a;
	int rc;

	if ((rc = nodes_open(argc, argv, 1, CLI_REATTEST_USAGE, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	req.key = (char *)a.node;
	if (source_call_or_say(a.src, "Reattest", &req.base, (ProtobufCMessage **)&res) != 0) {
		nodes_close(&a);
		return CLI_EXIT_FAIL;
	}
	printf("node %s: attested at %s now (verifier status %s shows the verdict)\n", a.node, res->target, a.node);
	source_done(&res->base);
	nodes_close(&a);
	return CLI_EXIT_PASS;
}
