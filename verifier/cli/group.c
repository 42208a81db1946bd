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
#include "strsafe.h"

/* FACT=GLOB into rule. */
static int group_condition(const char *text, struct store_group_rule *rule)
{
	const char *eq = strchr(text, '=');

	for (int f = 0; eq && f < STORE_NFACTS; f++) {
		const char *name = store_fact_name((enum store_fact)f);

		if (strlen(name) != (size_t)(eq - text) || strncmp(text, name, (size_t)(eq - text)))
			continue;
		if (!eq[1] || strlen(eq + 1) >= sizeof(rule->match[f]) || !strsafe_is(eq + 1, STRSAFE_LINE)) {
			fprintf(stderr, "verifier: %s: a pattern is 1..%zu printable characters\n", text,
				sizeof(rule->match[f]) - 1);
			return CLI_EXIT_USAGE;
		}
		if (rule->match[f][0]) {
			fprintf(stderr, "verifier: %s given twice\n", name);
			return CLI_EXIT_USAGE;
		}
		snprintf(rule->match[f], sizeof(rule->match[f]), "%s", eq + 1);
		return CLI_EXIT_PASS;
	}
	fprintf(stderr, "verifier: %s: a condition is FACT=GLOB, FACT one of ek_issuer, tpm_manufacturer, tpm_model, "
		"platform_manufacturer, platform_model\n", text);
	return CLI_EXIT_USAGE;
}

static int group_rule_add(struct store *st, const struct nodes_args *a)
{
	struct store_group_rule *rule = calloc(1, sizeof(*rule));
	int64_t id = 0;
	int rc = CLI_EXIT_PASS;

	if (!rule)
		return CLI_EXIT_FAIL;
	if (strsafe_name_check("group", a->node, STORE_NAME_MAX) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	snprintf(rule->group, sizeof(rule->group), "%s", a->node);
	for (size_t i = 0; i < a->nmore && rc == CLI_EXIT_PASS; i++)
		rc = group_condition(a->more[i], rule);
	if (rc != CLI_EXIT_PASS)
		goto out;
	if (!a->nmore) {
		fprintf(stderr, "verifier: group rule-add %s needs a condition FACT=GLOB\n", a->node);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (store_group_rule_add(st, rule, &id) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	printf("group rule %lld: nodes whose verified certificates match join group %s (at once for the facts "
	       "recorded, at each proof from now on)\n", (long long)id, a->node);
out:
	free(rule);
	return rc;
}

static int group_rule_remove(struct store *st, const struct nodes_args *a)
{
	char *end;
	long long id = strtoll(a->node, &end, 10);

	if (!*a->node || *end || id < 1) {
		fprintf(stderr, "verifier: %s: a rule is named by its number (verifier group rules)\n", a->node);
		return CLI_EXIT_USAGE;
	}
	if (store_group_rule_remove(st, id) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	printf("group rule %lld removed\n", id);
	return CLI_EXIT_PASS;
}

struct rules_state {
	int json;
	size_t n;
};

static int rules_one(const struct store_group_rule *r, void *arg)
{
	struct rules_state *l = arg;
	int first = 1;

	if (l->json) {
		printf("%s\n  {\"id\": %lld, \"group\": ", l->n ? "," : "", (long long)r->id);
		jsonout_str(stdout, r->group);
		printf(", \"nodes\": %llu, \"match\": {", (unsigned long long)r->nodes);
	} else {
		printf("%-4lld %-20s %4llu nodes  ", (long long)r->id, r->group, (unsigned long long)r->nodes);
	}
	for (int f = 0; f < STORE_NFACTS; f++) {
		if (!r->match[f][0])
			continue;
		if (l->json) {
			printf("%s\"%s\": ", first ? "" : ", ", store_fact_name((enum store_fact)f));
			jsonout_str(stdout, r->match[f]);
		} else {
			printf("%s%s=%s", first ? "" : " ", store_fact_name((enum store_fact)f), r->match[f]);
		}
		first = 0;
	}
	printf(l->json ? "}}" : "\n");
	l->n++;
	return 0;
}

static int group_rules(struct store *st, const struct nodes_args *a)
{
	struct rules_state l = { .json = a->json };

	if (a->json)
		printf("{\"rules\": [");
	else
		printf("RULE GROUP                MATCHES     CONDITIONS\n");
	if (store_group_rule_list(st, rules_one, &l) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	if (a->json)
		printf("%s]}\n", l.n ? "\n" : "");
	return CLI_EXIT_PASS;
}

int group_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
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
	if ((rc = nodes_open(argc - 1, argv + 1, which == 0 ? 3 : which == 1 ? 1 : 0, CLI_GROUP_USAGE, &st, &a)) !=
	    CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	rc = which == 0 ? group_rule_add(st, &a) : which == 1 ? group_rule_remove(st, &a) : group_rules(st, &a);
	nodes_close(st, &a);
	return rc;
}
