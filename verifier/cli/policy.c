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

/* create (create 1) or update: read, send (the verifier checks it against
 * its configuration and stores it). */
static int policy_put(struct nodes_args *a, int create)
{
	Attest__V1__PutPolicyRequest req = ATTEST__V1__PUT_POLICY_REQUEST__INIT;
	Attest__V1__PolicyInfo *res = NULL;
	struct rpc_result rr;
	uint8_t *text = NULL;
	size_t len = 0;
	int st;

	if (!a->file) {
		fprintf(stderr, "verifier: policy %s needs --file POLICY.json\n", create ? "create" : "update");
		return CLI_EXIT_USAGE;
	}
	if (file_read_all(a->file, NAMED_POLICY_TEXT_MAX, &text, &len) != 0) {
		fprintf(stderr, "verifier: %s (%s)\n", err_detail(), a->file);
		return CLI_EXIT_USAGE;
	}
	text[len] = '\0'; /* the spare byte file_read_all leaves */
	if (memchr(text, '\0', len)) {
		fprintf(stderr, "verifier: %s: a policy is JSON text, this holds a NUL byte\n", a->file);
		free(text);
		return CLI_EXIT_USAGE;
	}
	req.name = (char *)a->node;
	req.body = (char *)text;
	req.create = create;
	st = source_call(a->src, "PutPolicy", &req.base, (ProtobufCMessage **)&res, &rr);
	free(text);
	if (st == RPC_INVALID_ARGUMENT) {
		fprintf(stderr, "verifier: %s (%s)\n", rr.message, a->file);
		return CLI_EXIT_USAGE;
	}
	if (st != 0) {
		fprintf(stderr, "verifier: %s\n", rr.message);
		return CLI_EXIT_FAIL;
	}
	printf("policy %s version %u %s\n", res->name, res->version, create ? "created" : "stored: nodes it judges "
											      "follow it from their next attestation");
	source_done(&res->base);
	return CLI_EXIT_PASS;
}

static int policy_show(struct nodes_args *a)
{
	Attest__V1__PolicyRef req = ATTEST__V1__POLICY_REF__INIT;
	Attest__V1__PolicyInfo *p = NULL;
	size_t len;

	req.name = (char *)a->node;
	req.version = a->version;
	if (source_call_or_say(a->src, "GetPolicy", &req.base, (ProtobufCMessage **)&p) != 0)
		return CLI_EXIT_FAIL;
	len = strlen(p->body);
	if (a->json) {
		printf("{\"name\": ");
		jsonout_str(stdout, p->name);
		/* The body was a JSON object when it was stored. */
		while (len && (p->body[len - 1] == '\n' || p->body[len - 1] == ' '))
			p->body[--len] = '\0';
		printf(", \"version\": %u, \"created_ms\": %lld, \"policy\": %s}\n", p->version, (long long)p->created_ms,
		       p->body);
	} else {
		printf("policy %s version %u, created ", p->name, p->version);
		nodes_print_time(stdout, p->created_ms);
		printf("\n%s%s", p->body, len && p->body[len - 1] == '\n' ? "" : "\n");
	}
	source_done(&p->base);
	return CLI_EXIT_PASS;
}

static int policy_list(struct nodes_args *a)
{
	Attest__V1__AdminEmpty req = ATTEST__V1__ADMIN_EMPTY__INIT;
	Attest__V1__PolicyList *l = NULL;

	if (source_call_or_say(a->src, "ListPolicies", &req.base, (ProtobufCMessage **)&l) != 0)
		return CLI_EXIT_FAIL;
	if (a->json)
		printf("{\"policies\": [");
	for (size_t i = 0; i < l->n_policies; i++) {
		const Attest__V1__PolicyInfo *p = l->policies[i];

		if (a->json) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			jsonout_str(stdout, p->name);
			printf(", \"version\": %u, \"created_ms\": %lld, \"nodes\": %llu, \"groups\": %llu}", p->version,
			       (long long)p->created_ms, (unsigned long long)p->nodes, (unsigned long long)p->groups);
		} else {
			if (!i)
				printf("POLICY                VERSION  CREATED               ASSIGNED\n");
			printf("%-21s %7u  ", p->name, p->version);
			nodes_print_time(stdout, p->created_ms);
			printf("  %llu nodes, %llu groups\n", (unsigned long long)p->nodes, (unsigned long long)p->groups);
		}
	}
	if (a->json)
		printf("%s]}\n", l->n_policies ? "\n" : "");
	else if (!l->n_policies)
		printf("no policies: every node is judged by the config file's\n");
	source_done(&l->base);
	return CLI_EXIT_PASS;
}

static int policy_delete(struct nodes_args *a)
{
	Attest__V1__PolicyRef req = ATTEST__V1__POLICY_REF__INIT;
	Attest__V1__AdminEmpty *res = NULL;

	req.name = (char *)a->node;
	if (source_call_or_say(a->src, "DeletePolicy", &req.base, (ProtobufCMessage **)&res) != 0)
		return CLI_EXIT_FAIL;
	printf("policy %s deleted (its versions stay for audit)\n", a->node);
	source_done(&res->base);
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
static int policy_assign(struct nodes_args *a, const char *name)
{
	Attest__V1__AssignPolicyRequest req = ATTEST__V1__ASSIGN_POLICY_REQUEST__INIT;
	Attest__V1__AdminEmpty *res = NULL;
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
	req.name = name ? (char *)name : "";
	req.node = a->node_opt ? (char *)a->node_opt : "";
	req.group = group ? (char *)group : "";
	if (source_call_or_say(a->src, "AssignPolicy", &req.base, (ProtobufCMessage **)&res) != 0)
		return CLI_EXIT_FAIL;
	if (name)
		printf("policy %s assigned to %s %s: it judges from the next attestation\n", name,
		       group ? "group" : "node", group ? group : a->node_opt);
	else
		printf("%s %s has no policy of its own now\n", group ? "group" : "node", group ? group : a->node_opt);
	source_done(&res->base);
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
	size_t i;
	int rc, local;

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
	/* from-eventlog, check and from-ima read files with this config's
	 * checks: nothing of the verifier's state. */
	local = i >= 7 && i <= 9;
	if ((rc = (local ? nodes_open_local : nodes_open)(argc - 1, argv + 1, subs[i].want_name == 3 ? 2
					  : subs[i].want_name == 4 ? 3 : subs[i].want_name ? 1 : 0, CLI_POLICY_USAGE, &a)) !=
	    CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (subs[i].want_name == 1 && named_policy_name_check(a.node) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = CLI_EXIT_USAGE;
	} else if (i <= 1) {
		rc = policy_put(&a, i == 0);
	} else if (i == 2) {
		rc = policy_show(&a);
	} else if (i == 3) {
		rc = policy_list(&a);
	} else if (i == 4) {
		rc = policy_delete(&a);
	} else if (i <= 6) {
		rc = policy_assign(&a, i == 5 ? a.node : NULL);
	} else if (i == 7) {
		rc = policy_from_eventlog(&a);
	} else if (i == 8) {
		rc = policy_check_log(&a);
	} else if (i == 9) {
		rc = policy_from_ima(&a);
	} else if (i == 10) {
		rc = policy_test(&a);
	} else if (i == 11) {
		rc = policy_learn(&a);
	} else if (i == 12) {
		rc = policy_proposal(&a);
	} else {
		rc = policy_approve(&a);
	}
	nodes_close(&a);
	return rc;
}
