/* verifier policy create | update | show | list | delete | assign |
 * unassign | from-eventlog | from-ima | check (cli/commands.h; test, learn,
 * proposal and approve are cli/policy_review.c's): named policies (policy/named.h) in the
 * store. A document is checked against this verifier's configuration (the
 * PCRs it quotes, the logs it replays) before it is stored: a policy a
 * running verifier could not apply is refused here, not at a node's next
 * attestation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/nodes.h"
#include "cli/review.h"
#include "config.h"
#include "file.h"
#include "jsonout.h"
#include "eventlog.h"
#include "ima.h"
#include "policy/fromima.h"
#include "policy/fromlog.h"
#include "policy/named.h"

/* create (create 1) or update: read, check, store. */
static int policy_put(struct store *st, const struct nodes_args *a, int create)
{
	struct named_policy_limits lim = verifier_config_limits(a->cfg);
	struct named_policy *p = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	uint32_t version = 0;
	int r;

	if (!a->file) {
		fprintf(stderr, "verifier: policy %s needs --file POLICY.json\n", create ? "create" : "update");
		return CLI_EXIT_USAGE;
	}
	if (file_read_all(a->file, NAMED_POLICY_TEXT_MAX, &text, &len) != 0 ||
	    named_policy_parse(a->node, 1, (const char *)text, len, &lim, &p) != 0) {
		fprintf(stderr, "verifier: %s (%s)\n", err_detail(), a->file);
		free(text);
		return CLI_EXIT_USAGE;
	}
	named_policy_free(p);
	r = store_policy_put(st, a->node, (const char *)text, len, create, &version);
	free(text);
	if (r != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	printf("policy %s version %u %s\n", a->node, version, create ? "created" : "stored: nodes it judges "
									      "follow it from their next attestation");
	return CLI_EXIT_PASS;
}

static int policy_show(struct store *st, const struct nodes_args *a)
{
	struct store_policy p;

	if (store_policy_get(st, a->node, a->version, &p) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	if (a->json) {
		printf("{\"name\": ");
		jsonout_str(stdout, p.name);
		/* The body was a JSON object when it was stored. */
		while (p.body_len && (p.body[p.body_len - 1] == '\n' || p.body[p.body_len - 1] == ' '))
			p.body[--p.body_len] = '\0';
		printf(", \"version\": %u, \"created_ms\": %lld, \"policy\": %s}\n", p.version, (long long)p.created_ms,
		       p.body);
	} else {
		printf("policy %s version %u, created ", p.name, p.version);
		nodes_print_time(stdout, p.created_ms);
		printf("\n%s%s", p.body, p.body_len && p.body[p.body_len - 1] == '\n' ? "" : "\n");
	}
	free(p.body);
	return CLI_EXIT_PASS;
}

struct list_state {
	int json;
	size_t n;
};

static int list_one(const struct store_policy *p, void *arg)
{
	struct list_state *l = arg;

	if (l->json) {
		printf("%s\n  {\"name\": ", l->n ? "," : "");
		jsonout_str(stdout, p->name);
		printf(", \"version\": %u, \"created_ms\": %lld, \"nodes\": %llu, \"groups\": %llu}", p->version,
		       (long long)p->created_ms, (unsigned long long)p->nodes, (unsigned long long)p->groups);
	} else {
		if (!l->n)
			printf("POLICY                VERSION  CREATED               ASSIGNED\n");
		printf("%-21s %7u  ", p->name, p->version);
		nodes_print_time(stdout, p->created_ms);
		printf("  %llu nodes, %llu groups\n", (unsigned long long)p->nodes, (unsigned long long)p->groups);
	}
	l->n++;
	return 0;
}

static int policy_list(struct store *st, const struct nodes_args *a)
{
	struct list_state l = { .json = a->json };

	if (a->json)
		printf("{\"policies\": [");
	if (store_policy_list(st, list_one, &l) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	if (a->json)
		printf("%s]}\n", l.n ? "\n" : "");
	else if (!l.n)
		printf("no policies: every node is judged by the config file's\n");
	return CLI_EXIT_PASS;
}

/* from-eventlog LOG: the policy a golden boot event log makes, on stdout. */
static int policy_from_eventlog(const struct nodes_args *a)
{
	uint8_t *log = NULL;
	size_t len = 0;
	char *json = NULL;

	if (file_read_all(a->node, EVENTLOG_MAX_LOG_SIZE, &log, &len) != 0 ||
	    fromlog_policy(log, len, &a->cfg->pcrs, a->cfg->eventlog_pcrs, &json) != 0) {
		fprintf(stderr, "verifier: %s: %s\n", a->node, err_detail());
		free(log);
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", json);
	free(json);
	free(log);
	return CLI_EXIT_PASS;
}

/* from-ima LIST | --rootfs DIR: an IMA allowlist, on stdout. */
static int policy_from_ima(const struct nodes_args *a)
{
	struct ima_list *list = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *json = NULL;
	size_t violations = 0, untrusted = 0;
	int r;

	if (a->rootfs)
		r = fromima_policy_rootfs(a->node, a->excludes, a->nexcludes, &json, &untrusted);
	else if ((r = file_read_all(a->node, IMA_MAX_LIST_SIZE, &buf, &len)) == 0 &&
		 (r = fromima_list(buf, len, &list)) == 0)
		r = fromima_policy_list(list, a->excludes, a->nexcludes, &json, &violations);
	ima_list_free(list);
	free(buf);
	if (r != 0) {
		fprintf(stderr, "verifier: %s: %s\n", a->node, err_detail());
		return r == AERR_CONFIG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
	}
	if (untrusted)
		fprintf(stderr, "verifier: %s: %zu files another user could change left out\n", a->node, untrusted);
	if (violations)
		fprintf(stderr, "verifier: %s: %zu violation entries (no digest) left out: the policy fails them unless "
			"it allows violations (\"allow_violations\": true)\n", a->node, violations);
	printf("%s\n", json);
	free(json);
	return CLI_EXIT_PASS;
}

/* check --ima LIST: the IMA list judged offline by a candidate policy. */
static int policy_check_ima(const struct named_policy *p, const char *path)
{
	struct ima_list *list = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = file_read_all(path, IMA_MAX_LIST_SIZE, &buf, &len)) == 0 && (r = fromima_list(buf, len, &list)) == 0)
		r = fromima_judge(p, list);
	ima_list_free(list);
	free(buf);
	if (r != 0) {
		printf("FAIL %s: %s\n", path, err_detail());
		return r == AERR_NOT_FOUND ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
	}
	printf("PASS %s: every entry passes the IMA policy\n", path);
	return CLI_EXIT_PASS;
}

/* check --file POLICY [LOG] [--ima LIST]: a boot log and an IMA list judged
 * offline by a candidate policy. */
static int policy_check_log(const struct nodes_args *a)
{
	struct named_policy *p = NULL;
	uint8_t *log = NULL;
	size_t len = 0;
	int r;

	if (!a->file) {
		fprintf(stderr, "verifier: policy check needs --file POLICY.json\n");
		return CLI_EXIT_USAGE;
	}
	if (!(p = review_candidate(a->cfg, a->file)))
		return CLI_EXIT_USAGE;
	if (!a->node && !a->ima) {
		named_policy_free(p);
		fprintf(stderr, "verifier: policy check needs a boot event log, --ima LIST, or both\n");
		return CLI_EXIT_USAGE;
	}
	if (a->node) {
		if ((r = file_read_all(a->node, EVENTLOG_MAX_LOG_SIZE, &log, &len)) == 0)
			r = fromlog_judge(p, log, len, &a->cfg->pcrs, a->cfg->eventlog_pcrs);
		free(log);
		if (r != 0) {
			printf("FAIL %s: %s\n", a->node, err_detail());
			named_policy_free(p);
			return r == AERR_UNSUPPORTED || r == AERR_NOT_FOUND ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
		}
		printf("PASS %s: its replay and events pass %s\n", a->node, a->file);
	}
	r = a->ima ? policy_check_ima(p, a->ima) : CLI_EXIT_PASS;
	named_policy_free(p);
	return r;
}

/* assign (name given) or unassign, to --node or --group. */
static int policy_assign(struct store *st, const struct nodes_args *a, const char *name)
{
	const char *group = a->ngroups ? a->groups[0] : NULL;

	if (!a->node_opt == !group || a->ngroups > 1) {
		fprintf(stderr, "verifier: policy %s takes one --node NODE or one --group G\n", name ? "assign" : "unassign");
		return CLI_EXIT_USAGE;
	}
	/* As enroll --group takes them. */
	if (group && (!*group || strlen(group) > STORE_NAME_MAX)) {
		fprintf(stderr, "verifier: a group name has 1..%d characters\n", STORE_NAME_MAX);
		return CLI_EXIT_USAGE;
	}
	if (store_policy_assign(st, a->node_opt, group, name) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	if (name)
		printf("policy %s assigned to %s %s: it judges from the next attestation\n", name,
		       group ? "group" : "node", group ? group : a->node_opt);
	else
		printf("%s %s has no policy of its own now\n", group ? "group" : "node", group ? group : a->node_opt);
	return CLI_EXIT_PASS;
}

int policy_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int want_name;     /* 0 none, 1 a policy name, 2 a file, 3 a file or none,
				    * 4 a file and nodes, 5 a node */
	} subs[] = { { "create", 1 }, { "update", 1 }, { "show", 1 },          { "list", 0 },
		     { "delete", 1 }, { "assign", 1 }, { "unassign", 0 },      { "from-eventlog", 2 },
		     { "check", 3 },  { "from-ima", 2 }, { "test", 4 },       { "learn", 5 },
		     { "proposal", 5 }, { "approve", 5 } };
	struct nodes_args a;
	struct store *st = NULL;
	size_t i;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: verifier %s\n", CLI_POLICY_USAGE);
		return CLI_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]) && strcmp(argv[1], subs[i].name); i++)
		;
	if (i == sizeof(subs) / sizeof(subs[0])) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			printf("usage: verifier %s\n", CLI_POLICY_USAGE);
			return CLI_EXIT_PASS;
		}
		fprintf(stderr, "verifier: policy %s: no such command\nusage: verifier %s\n", argv[1], CLI_POLICY_USAGE);
		return CLI_EXIT_USAGE;
	}
	if ((rc = nodes_open(argc - 1, argv + 1, subs[i].want_name == 3 ? 2 : subs[i].want_name == 4 ? 3
						  : subs[i].want_name ? 1 : 0, CLI_POLICY_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (subs[i].want_name == 1 && named_policy_name_check(a.node) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = CLI_EXIT_USAGE;
	} else if (i <= 1) {
		rc = policy_put(st, &a, i == 0);
	} else if (i == 2) {
		rc = policy_show(st, &a);
	} else if (i == 3) {
		rc = policy_list(st, &a);
	} else if (i == 4) {
		rc = store_policy_delete(st, a.node) == 0 ? (printf("policy %s deleted (its versions stay for audit)\n",
								    a.node), CLI_EXIT_PASS)
							  : (fprintf(stderr, "verifier: %s\n", err_detail()), CLI_EXIT_FAIL);
	} else if (i <= 6) {
		rc = policy_assign(st, &a, i == 5 ? a.node : NULL);
	} else if (i == 7) {
		rc = policy_from_eventlog(&a);
	} else if (i == 8) {
		rc = policy_check_log(&a);
	} else if (i == 9) {
		rc = policy_from_ima(&a);
	} else if (i == 10) {
		rc = policy_test(st, &a);
	} else if (i == 11) {
		rc = policy_learn(st, &a);
	} else if (i == 12) {
		rc = policy_proposal(st, &a);
	} else {
		rc = policy_approve(st, &a);
	}
	nodes_close(st, &a);
	return rc;
}
