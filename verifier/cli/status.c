/* verifier list | status (cli/commands.h): the fleet (every node, the pull
 * targets and the nodes they answer for, the endorsement failures of EKs
 * that never became a node, the rejected attempts that claimed a node's
 * EK) and one node (its record, when it last passed and failed, the PCR
 * values its last verified quote proved, the reference it is judged by:
 * its named policy or the config file's, and the attempts that claimed
 * its EK). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/nodes.h"
#include "jsonout.h"

/* The groups as the store lists them: comma-separated. */
static const char *node_groups(const Attest__V1__Node *n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n->n_groups && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "", n->groups[i]);
	return buf;
}

static void print_node_json(const Attest__V1__Node *n)
{
	char groups[STORE_GROUPS_MAX * (STORE_NAME_MAX + 1) + 1];

	printf("{\"ek_hash\": ");
	jsonout_str(stdout, n->ek_hash);
	printf(", \"hostname\": ");
	jsonout_str(stdout, n->hostname);
	printf(", \"name\": ");
	jsonout_str(stdout, n->name);
	printf(", \"identity\": ");
	jsonout_str(stdout, n->identity);
	printf(", \"target\": ");
	jsonout_str(stdout, n->target);
	printf(", \"groups\": ");
	jsonout_str(stdout, node_groups(n, groups, sizeof(groups)));
	printf(", \"state\": ");
	jsonout_str(stdout, n->state);
	printf(", \"reason\": ");
	jsonout_str(stdout, n->reason);
	printf(", \"enrolled_ms\": %lld, \"last_seen_ms\": %lld, \"attestations\": %llu, \"passes\": %llu",
	       (long long)n->enrolled_ms, (long long)n->last_seen_ms, (unsigned long long)n->attestations,
	       (unsigned long long)n->passes);
	if (n->has_counts)
		printf(", \"reset_count\": %u, \"restart_count\": %u", n->reset_count, n->restart_count);
}

#define LIST_HEADER "NODE              NAME                 STATE     LAST SEEN             PASSED/VERDICTS\n"

static void print_row(const Attest__V1__Node *n)
{
	char host[1024];

	printf("%.16s  %-20s %-9s ", n->ek_hash, nodes_shown(n->name[0] ? n->name : n->hostname, host, sizeof(host)),
	       n->state);
	nodes_print_time(stdout, n->last_seen_ms);
	printf("%s  %llu/%llu\n", n->last_seen_ms ? "" : "               ", (unsigned long long)n->passes,
	       (unsigned long long)n->attestations);
}

/* ------------------------------------------------------------ the fleet */

/* A node as the lists of rejected attempts name it. */
struct fleet_node {
	char ek_hash[65];
	char shown[1024];
};

struct fleet {
	int json, n;
	size_t passing, failed, orphans, claims;
	struct fleet_node *nodes;     /* every node, sorted by ek_hash once listed */
	size_t nnodes, cap;
};

static int fleet_node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fleet_node *)a)->ek_hash, ((const struct fleet_node *)b)->ek_hash);
}

static int list_one(struct fleet *f, const Attest__V1__Node *n)
{
	if (f->json) {
		printf("%s\n    ", f->n ? "," : "");
		print_node_json(n);
		printf("}");
	} else {
		print_row(n);
	}
	f->n++;
	f->passing += !strcmp(n->state, "passing");
	f->failed += !strcmp(n->state, "failed");
	if (f->nnodes == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct fleet_node *p = realloc(f->nodes, cap * sizeof(*p));

		if (!p) {
			fprintf(stderr, "verifier: out of memory for the list of nodes\n");
			return -1;
		}
		f->nodes = p;
		f->cap = cap;
	}
	snprintf(f->nodes[f->nnodes].ek_hash, sizeof(f->nodes[0].ek_hash), "%s", n->ek_hash);
	nodes_shown(n->name[0] ? n->name : n->hostname, f->nodes[f->nnodes].shown, sizeof(f->nodes[0].shown));
	f->nnodes++;
	return 0;
}

/* Every node, page by page. */
static int list_nodes(struct source *src, struct fleet *f)
{
	Attest__V1__ListNodesRequest req = ATTEST__V1__LIST_NODES_REQUEST__INIT;
	char token[32] = "";
	int r = 0;

	req.page_size = 1000;
	do {
		Attest__V1__ListNodesResponse *page = NULL;

		req.page_token = token;
		if (source_call_or_say(src, "ListNodes", &req.base, (ProtobufCMessage **)&page) != 0)
			return -1;
		/* The heading once there is something to head: a refused
		 * call prints only why. */
		if (!token[0])
			printf(f->json ? "{\"nodes\": [" : LIST_HEADER);
		for (size_t i = 0; i < page->n_nodes && r == 0; i++)
			r = list_one(f, page->nodes[i]);
		snprintf(token, sizeof(token), "%s", page->next_page_token);
		source_done(&page->base);
	} while (r == 0 && token[0]);
	return r;
}

/* The config's pull targets and the node each answers for. */
static void list_targets(const struct fleet *f, const Attest__V1__Fleet *fl)
{
	char host[1024];

	if (!fl->n_targets)
		return;
	printf(f->json ? ",\n  \"targets\": [" : "\ntargets (pull)\n");
	for (size_t i = 0; i < fl->n_targets; i++) {
		const Attest__V1__TargetNode *t = fl->targets[i];
		const Attest__V1__Node *n = t->node;

		if (f->json) {
			printf("%s\n    {\"target\": ", i ? "," : "");
			jsonout_str(stdout, t->target);
			printf(", \"node\": ");
			if (n)
				jsonout_str(stdout, n->ek_hash), printf("}");
			else
				printf("null}");
		} else if (n) {
			printf("  %-28s node %.16s  %-20s %s\n", t->target, n->ek_hash,
			       nodes_shown(n->name[0] ? n->name : n->hostname, host, sizeof(host)), n->state);
		} else {
			printf("  %-28s no node yet (never passed its endorsement and activation there)\n", t->target);
		}
	}
	if (f->json)
		printf("\n  ]");
}

/* What one of the lists shows of a rejected identity's row: its last
 * claim on a node, or its last endorsement failure of an EK that is no
 * node. Both are kept past the identity's later attempts (schema 8), so
 * that another attempt cannot take them off the list. */
struct rejected_view {
	const char *ek, *step, *reason;
	int64_t ms;
};

/* A rejected attempt as one JSON object (after a comma when not the first). */
static void print_rejected_json(const Attest__V1__Rejected *r, const struct rejected_view *v, int first)
{
	printf("%s\n    {\"mode\": ", first ? "" : ",");
	jsonout_str(stdout, r->mode);
	printf(", \"identity\": ");
	jsonout_str(stdout, r->identity);
	printf(", \"claimed_ek_hash\": ");
	jsonout_str(stdout, v->ek);
	printf(", \"count\": %llu, \"last_ms\": %lld, \"step\": ", (unsigned long long)r->count, (long long)v->ms);
	jsonout_str(stdout, v->step);
	printf(", \"reason\": ");
	jsonout_str(stdout, v->reason);
	printf("}");
}

/* "N times, last T: step: reason" of a rejected attempt. */
static void print_rejected_tail(const Attest__V1__Rejected *r, const struct rejected_view *v)
{
	char reason[2100], step[140];

	printf("%llu times, last ", (unsigned long long)r->count);
	nodes_print_time(stdout, v->ms);
	printf(": %s: %s\n", nodes_shown(v->step, step, sizeof(step)), nodes_shown(v->reason, reason, sizeof(reason)));
}

static const struct fleet_node *fleet_node_find(const struct fleet *f, const char *ek_hash)
{
	struct fleet_node key;

	if (!ek_hash[0] || !f->nnodes)
		return NULL;
	snprintf(key.ek_hash, sizeof(key.ek_hash), "%s", ek_hash);
	return bsearch(&key, f->nodes, f->nnodes, sizeof(key), fleet_node_cmp);
}

/* The two fleet lists, neither of which any node's state shows: failed
 * endorsements of an EK the store has no node for (a TPM that tried and
 * never became a node: its vendor's CA missing from ek_roots, a template
 * refused), and attempts at any step that claimed a node's EK and did not
 * prove it (another TLS identity or target than the node's, a peer that
 * could not activate the credential: someone acting in the node's name). */
static void orphan_one(struct fleet *f, const Attest__V1__Rejected *r)
{
	struct rejected_view v = { r->orphan_ek, "endorsement", r->orphan_reason, r->orphan_ms };
	char ident[520], mode[40];

	/* An EK that became a node since is no orphan. */
	if (!r->has_orphan || fleet_node_find(f, r->orphan_ek))
		return;
	if (f->json) {
		print_rejected_json(r, &v, !f->orphans);
	} else {
		if (!f->orphans)
			printf("\nendorsement failures of EKs that are no node (verifier rejected; --clear once seen to)\n");
		printf("  %-4s %-24s EK claimed %-16.16s ", nodes_shown(r->mode, mode, sizeof(mode)),
		       nodes_shown(r->identity, ident, sizeof(ident)), r->orphan_ek[0] ? r->orphan_ek : "-");
		print_rejected_tail(r, &v);
	}
	f->orphans++;
}

static void claim_one(struct fleet *f, const Attest__V1__Rejected *r)
{
	struct rejected_view v = { r->claim_ek, r->claim_step, r->claim_reason, r->claim_ms };
	const struct fleet_node *n = fleet_node_find(f, r->claim_ek);
	char ident[520], mode[40];

	if (!n)
		return;
	if (f->json) {
		print_rejected_json(r, &v, !f->claims);
	} else {
		if (!f->claims)
			printf("\nrejected attempts that claimed a node's EK and did not prove it (verifier rejected; "
			       "--clear once seen to)\n");
		printf("  %-4s %-24s node %.16s (%s) ", nodes_shown(r->mode, mode, sizeof(mode)),
		       nodes_shown(r->identity, ident, sizeof(ident)), n->ek_hash, n->shown);
		print_rejected_tail(r, &v);
	}
	f->claims++;
}

/* Every node, the targets, the orphaned endorsement failures, the claims
 * on nodes, then the counts; -1 on a failure, else whether anything
 * needs an operator (failed nodes, orphans or claims: 1). */
static int list_all(struct source *src, int json)
{
	Attest__V1__AdminEmpty none = ATTEST__V1__ADMIN_EMPTY__INIT;
	Attest__V1__Fleet *fl = NULL;
	Attest__V1__RejectedList *rej = NULL;
	struct fleet f = { .json = json };
	int rc = -1;

	if (list_nodes(src, &f) != 0 || source_call_or_say(src, "GetFleet", &none.base, (ProtobufCMessage **)&fl) != 0 ||
	    source_call_or_say(src, "ListRejected", &none.base, (ProtobufCMessage **)&rej) != 0)
		goto out;
	if (f.nnodes) /* qsort and bsearch take no NULL array */
		qsort(f.nodes, f.nnodes, sizeof(*f.nodes), fleet_node_cmp);
	if (json)
		printf("\n  ]");
	list_targets(&f, fl);
	if (json)
		printf(",\n  \"endorsement_failures\": [");
	for (size_t i = 0; i < rej->n_rejected; i++)
		orphan_one(&f, rej->rejected[i]);
	if (json)
		printf("\n  ],\n  \"claims_on_nodes\": [");
	for (size_t i = 0; i < rej->n_rejected; i++)
		claim_one(&f, rej->rejected[i]);
	if (json)
		printf("\n  ], \"verdicts\": {\"pass\": %llu, \"fail\": %llu}}\n", (unsigned long long)fl->verdicts_pass,
		       (unsigned long long)fl->verdicts_fail);
	else {
		printf("\n%d nodes: %zu passing, %zu failed; verdicts recorded: %llu pass, %llu fail\n", f.n, f.passing,
		       f.failed, (unsigned long long)fl->verdicts_pass, (unsigned long long)fl->verdicts_fail);
		if (f.orphans)
			printf("%zu TLS identities failed the endorsement with an EK that is no node: see above\n",
			       f.orphans);
		if (f.claims)
			printf("%zu TLS identities were rejected claiming a node's EK: see above\n", f.claims);
	}
	rc = f.failed || f.orphans || f.claims;
out:
	source_done(fl ? &fl->base : NULL);
	source_done(rej ? &rej->base : NULL);
	free(f.nodes);
	return rc;
}

int nodes_list_main(int argc, char **argv)
{
	struct nodes_args a;
	int rc;

	if ((rc = nodes_open(argc, argv, 0, CLI_LIST_USAGE, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	rc = list_all(a.src, a.json) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
	nodes_close(&a);
	return rc;
}

/* ------------------------------------------------------------ one node */

/* The value the node's last verified quote proved for key ("sha256.0"). */
static const char *quoted_value(const Attest__V1__NodeStatus *st, const char *key)
{
	for (size_t i = 0; i < st->n_quoted; i++)
		if (!strcmp(st->quoted[i]->key, key))
			return st->quoted[i]->value;
	return NULL;
}

/* The reference the node is judged by: [policy] or its named policy's
 * values, boot and IMA policies, and the secrets it would receive. Each
 * value is marked against the last quote's (the cause of most failures,
 * side by side). */
static void print_policy(const Attest__V1__NodeStatus *st, int json)
{
	const Attest__V1__Reference *ref = st->reference;
	int named = ref->name[0] != '\0';

	if (json) {
		printf(", \"policy\": {\"config\": ");
		jsonout_str(stdout, ref->config);
		printf(", \"name\": ");
		jsonout_str(stdout, named ? ref->name : "config");
		printf(", \"version\": %u, \"via\": ", ref->version);
		jsonout_str(stdout, ref->via);
		printf(", \"broken\": ");
		jsonout_str(stdout, ref->broken);
		printf(", \"pcrs\": ");
		jsonout_str(stdout, ref->pcrs);
		printf(", \"values\": {");
	} else if (ref->broken[0]) {
		printf("policy    %s%s%s: cannot be applied, the next quote fails: %s\n", named ? ref->name : "?",
		       ref->via[0] ? " by " : "", ref->via, ref->broken);
	} else if (named) {
		printf("policy    %s version %u (by %s): quotes %s\n", ref->name, ref->version, ref->via, ref->pcrs);
	} else {
		printf("policy    %s: quotes %s\n", ref->config, ref->pcrs);
	}
	for (size_t i = 0; i < ref->n_values; i++) {
		const Attest__V1__PcrExpectation *e = ref->values[i];
		const char *have = quoted_value(st, e->key);

		if (json)
			printf("%s", i ? ", " : ""), jsonout_str(stdout, e->key), printf(": "), jsonout_str(stdout, e->value);
		else
			printf("          %s = %s%s\n", e->key, e->value,
			       !have ? "" : strcmp(have, e->value) ? "  <- the last quote differs" : "  (as quoted)");
	}
	if (json) {
		printf("}, \"firmware_versions\": [");
		for (size_t i = 0; i < ref->n_firmware_versions; i++)
			printf("%s%llu", i ? ", " : "", (unsigned long long)ref->firmware_versions[i]);
		printf("], \"boot_policy\": ");
		jsonout_str(stdout, ref->boot_policy);
		printf(", \"ima_policy\": ");
		jsonout_str(stdout, ref->ima_policy);
		printf("}, \"secrets\": [");
		for (size_t i = 0; i < ref->n_secrets; i++)
			printf("%s", i ? ", " : ""), jsonout_str(stdout, ref->secrets[i]->name);
		printf("]");
		return;
	}
	if (!ref->broken[0]) {
		for (size_t i = 0; i < ref->n_firmware_versions; i++)
			printf("          firmware_version 0x%016llx\n", (unsigned long long)ref->firmware_versions[i]);
		if (ref->boot_policy[0])
			printf("          boot_policy %s\n", ref->boot_policy);
		if (ref->ima_policy[0])
			printf("          ima_policy %s\n", ref->ima_policy);
		if (!ref->n_values && !ref->boot_policy[0] && !ref->ima_policy[0])
			printf("          no reference: the node can be verified, never passing\n");
	}
	printf("secrets   ");
	for (size_t i = 0; i < ref->n_secrets; i++)
		printf("%s%s (%s)", i ? ", " : "", ref->secrets[i]->name, ref->secrets[i]->kind);
	printf("%s\n", ref->n_secrets ? "" : "none");
}

/* What the node's verified certificates say (the facts group rules match). */
static void print_facts(const Attest__V1__NodeStatus *st, int json)
{
	if (json)
		printf(", \"facts\": {");
	for (size_t i = 0; i < st->n_facts; i++) {
		if (json) {
			printf("%s", i ? ", " : ""), jsonout_str(stdout, st->facts[i]->name), printf(": ");
			jsonout_str(stdout, st->facts[i]->value);
		} else {
			printf("%s%s = %s\n", i ? "          " : "proven    ", st->facts[i]->name, st->facts[i]->value);
		}
	}
	if (json)
		printf("}");
	else if (!st->n_facts)
		printf("proven    nothing by a verified certificate (require_ek_cert, platform_ca)\n");
}

static void print_node_long(const Attest__V1__NodeStatus *st)
{
	const Attest__V1__Node *n = st->node;
	char host[1024], name[280], ident[520], groups[4200], reason[2100], target[TARGET_MAX * 4 + 1];
	char list[STORE_GROUPS_MAX * (STORE_NAME_MAX + 1) + 1];

	printf("node      %s\nname      %s\nhostname  %s (claimed by the attestor)\nidentity  %s\n%s%s%sgroups    %s\n"
	       "state     %s\n",
	       n->ek_hash, nodes_shown(n->name, name, sizeof(name)), nodes_shown(n->hostname, host, sizeof(host)),
	       nodes_shown(n->identity, ident, sizeof(ident)), n->target[0] ? "target    " : "",
	       n->target[0] ? nodes_shown(n->target, target, sizeof(target)) : "", n->target[0] ? "\n" : "",
	       nodes_shown(node_groups(n, list, sizeof(list)), groups, sizeof(groups)), n->state);
	if (!strcmp(n->state, "failed") || !strcmp(n->state, "verified"))
		printf("why       %s\n", nodes_shown(n->reason, reason, sizeof(reason)));
	printf("enrolled  ");
	nodes_print_time(stdout, n->enrolled_ms);
	printf("\nlast seen ");
	nodes_print_time(stdout, n->last_seen_ms);
	printf("\nlast pass ");
	nodes_print_time(stdout, st->last_pass_ms);
	printf("\nlast fail ");
	nodes_print_time(stdout, st->last_fail_ms);
	printf("\nverdicts  %llu, %llu passed\n", (unsigned long long)n->attestations, (unsigned long long)n->passes);
	if (n->has_counts)
		printf("boot      resetCount %u restartCount %u\n", n->reset_count, n->restart_count);
	if (st->quoted_at_ms) {
		printf("quoted    at ");
		nodes_print_time(stdout, st->quoted_at_ms);
		printf(" (the last quote whose signature and digest verified)\n");
		for (size_t i = 0; i < st->n_quoted; i++)
			printf("          %s = %s\n", st->quoted[i]->key, st->quoted[i]->value);
	} else {
		printf("quoted    nothing yet\n");
	}
}

/* The rejected attempts that claimed the node's EK. */
static void print_node_claims(const Attest__V1__NodeStatus *st, int json)
{
	char ident[520], mode[40];

	if (json)
		printf(", \"claims\": [");
	for (size_t i = 0; i < st->n_claims; i++) {
		const Attest__V1__Rejected *r = st->claims[i];
		struct rejected_view v = { r->claim_ek, r->claim_step, r->claim_reason, r->claim_ms };

		if (json) {
			print_rejected_json(r, &v, !i);
		} else {
			printf("%s %s identity %s ", i ? "         " : "claimed  ", nodes_shown(r->mode, mode, sizeof(mode)),
			       nodes_shown(r->identity, ident, sizeof(ident)));
			print_rejected_tail(r, &v);
		}
	}
	if (json)
		printf("%s]", st->n_claims ? "\n  " : "");
	else if (!st->n_claims)
		printf("claimed   by no rejected attempt\n");
	else
		printf("          (attempts in this node's name that did not prove its TPM)\n");
}

int nodes_status_main(int argc, char **argv)
{
	Attest__V1__NodeRef req = ATTEST__V1__NODE_REF__INIT;
	Attest__V1__NodeStatus *st = NULL;
	struct nodes_args a;
	int rc;

	if ((rc = nodes_open(argc, argv, 2, CLI_STATUS_USAGE, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (!a.node) {
		rc = list_all(a.src, a.json);
		nodes_close(&a);
		return rc == 0 ? CLI_EXIT_PASS : CLI_EXIT_FAIL;
	}
	req.key = (char *)a.node;
	if (source_call_or_say(a.src, "GetNode", &req.base, (ProtobufCMessage **)&st) != 0) {
		nodes_close(&a);
		return CLI_EXIT_FAIL;
	}
	if (a.json) {
		print_node_json(st->node);
		print_facts(st, 1);
		printf(", \"last_pass_ms\": %lld, \"last_fail_ms\": %lld, \"quoted_at_ms\": %lld, \"quoted_pcrs\": {",
		       (long long)st->last_pass_ms, (long long)st->last_fail_ms, (long long)st->quoted_at_ms);
		for (size_t i = 0; i < st->n_quoted; i++)
			printf("%s", i ? ", " : ""), jsonout_str(stdout, st->quoted[i]->key), printf(": "),
				jsonout_str(stdout, st->quoted[i]->value);
		printf("}");
		print_policy(st, 1);
		print_node_claims(st, 1);
		printf("}\n");
	} else {
		print_node_long(st);
		print_facts(st, 0);
		print_node_claims(st, 0);
		print_policy(st, 0);
	}
	rc = !strcmp(st->node->state, "failed") ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
	source_done(&st->base);
	nodes_close(&a);
	return rc;
}
