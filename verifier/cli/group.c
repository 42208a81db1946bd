/* verifier group rule-add | rule-remove | rules (cli/commands.h): groups
 * by what nodes' verified certificates say (store.h, group rules), so a
 * policy or a secret assigned to a group reaches every TPM of a vendor,
 * a model or a platform without enrolling each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/nodes.h"
#include "jsonout.h"

/* FACT=GLOB into m's conditions (the verifier checks each). */
static int group_condition(const char *text, Attest__V1__Fact *c)
{
	const char *eq = strchr(text, '=');

	if (!eq || eq == text) {
		fprintf(stderr, "verifier: %s: a condition is FACT=GLOB, FACT one of ek_issuer, tpm_manufacturer, "
			"tpm_model, platform_manufacturer, platform_model\n", text);
		return CLI_EXIT_USAGE;
	}
	if (!(c->name = strndup(text, (size_t)(eq - text)))) {
		fprintf(stderr, "verifier: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	c->value = (char *)eq + 1;
	return CLI_EXIT_PASS;
}

static int group_rule_add(struct nodes_args *a)
{
	Attest__V1__GroupRule req = ATTEST__V1__GROUP_RULE__INIT, *res = NULL;
	Attest__V1__Fact *conds = calloc(a->nmore ? a->nmore : 1, sizeof(*conds));
	Attest__V1__Fact **ptrs = calloc(a->nmore ? a->nmore : 1, sizeof(*ptrs));
	struct rpc_result rr;
	int rc = CLI_EXIT_PASS, st;

	if (!conds || !ptrs) {
		free(conds);
		free(ptrs);
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 0; i < a->nmore && rc == CLI_EXIT_PASS; i++) {
		Attest__V1__Fact init = ATTEST__V1__FACT__INIT;

		conds[i] = init;
		ptrs[i] = &conds[i];
		rc = group_condition(a->more[i], &conds[i]);
		req.n_match = i + 1;
	}
	if (rc != CLI_EXIT_PASS)
		goto out;
	req.group = (char *)a->node;
	req.match = ptrs;
	/* Every check is the verifier's: a malformed rule is a usage error. */
	if ((st = source_call(a->src, "AddGroupRule", &req.base, (ProtobufCMessage **)&res, &rr)) != 0) {
		fprintf(stderr, "verifier: %s\n", rr.message);
		rc = nodes_exit_of(st, 1);
		goto out;
	}
	printf("group rule %lld: nodes whose verified certificates match join group %s (at once for the facts "
	       "recorded, at each proof from now on)\n", (long long)res->id, res->group);
	source_done(&res->base);
out:
	for (size_t i = 0; i < req.n_match; i++)
		free(conds[i].name);
	free(conds);
	free(ptrs);
	return rc;
}

static int group_rule_remove(struct nodes_args *a)
{
	Attest__V1__GroupRuleRef req = ATTEST__V1__GROUP_RULE_REF__INIT;
	Attest__V1__AdminEmpty *res = NULL;
	char *end;
	long long id = strtoll(a->node, &end, 10);

	if (!*a->node || *end || id < 1) {
		fprintf(stderr, "verifier: %s: a rule is named by its number (verifier group rules)\n", a->node);
		return CLI_EXIT_USAGE;
	}
	req.id = id;
	if (source_call_or_say(a->src, "RemoveGroupRule", &req.base, (ProtobufCMessage **)&res) != 0)
		return CLI_EXIT_FAIL;
	printf("group rule %lld removed\n", id);
	source_done(&res->base);
	return CLI_EXIT_PASS;
}

static void rule_print(const Attest__V1__GroupRule *r, int json, int first_rule)
{
	if (json) {
		printf("%s\n  {\"id\": %lld, \"group\": ", first_rule ? "" : ",", (long long)r->id);
		jsonout_str(stdout, r->group);
		printf(", \"nodes\": %llu, \"match\": {", (unsigned long long)r->nodes);
	} else {
		printf("%-4lld %-20s %4llu nodes  ", (long long)r->id, r->group, (unsigned long long)r->nodes);
	}
	for (size_t i = 0; i < r->n_match; i++) {
		if (json) {
			printf("%s", i ? ", " : ""), jsonout_str(stdout, r->match[i]->name), printf(": ");
			jsonout_str(stdout, r->match[i]->value);
		} else {
			printf("%s%s=%s", i ? " " : "", r->match[i]->name, r->match[i]->value);
		}
	}
	printf(json ? "}}" : "\n");
}

static int group_rules(struct nodes_args *a)
{
	Attest__V1__AdminEmpty req = ATTEST__V1__ADMIN_EMPTY__INIT;
	Attest__V1__GroupRuleList *l = NULL;

	if (source_call_or_say(a->src, "ListGroupRules", &req.base, (ProtobufCMessage **)&l) != 0)
		return CLI_EXIT_FAIL;
	if (a->json)
		printf("{\"rules\": [");
	else
		printf("RULE GROUP                MATCHES     CONDITIONS\n");
	for (size_t i = 0; i < l->n_rules; i++)
		rule_print(l->rules[i], a->json, i == 0);
	if (a->json)
		printf("%s]}\n", l->n_rules ? "\n" : "");
	source_done(&l->base);
	return CLI_EXIT_PASS;
}

int group_main(int argc, char **argv)
{
	struct nodes_args a;
	int rc, which;

	if (argc < 2) {
		fprintf(stderr, "usage: verifier %s\n", CLI_GROUP_USAGE);
		return CLI_EXIT_USAGE;
	}
	which = !strcmp(argv[1], "rule-add") ? 0 : !strcmp(argv[1], "rule-remove") ? 1 : !strcmp(argv[1], "rules") ? 2 : -1;
	if (which < 0) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			printf("usage: verifier %s\n", CLI_GROUP_USAGE);
			return CLI_EXIT_PASS;
		}
		fprintf(stderr, "verifier: group %s: no such command\nusage: verifier %s\n", argv[1], CLI_GROUP_USAGE);
		return CLI_EXIT_USAGE;
	}
	if ((rc = nodes_open(argc - 1, argv + 1, which == 0 ? 3 : which == 1 ? 1 : 0, CLI_GROUP_USAGE, &a)) !=
	    CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	rc = which == 0 ? group_rule_add(&a) : which == 1 ? group_rule_remove(&a) : group_rules(&a);
	nodes_close(&a);
	return rc;
}
