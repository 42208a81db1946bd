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
#include "config.h"
#include "hex.h"
#include "jsonout.h"
#include "pcrsel.h"
#include "policy/named.h"
#include "record/reference.h"

static void print_node_json(const struct store_node *n)
{
	printf("{\"ek_hash\": \"%s\", \"hostname\": ", n->ek_hash);
	jsonout_str(stdout, n->hostname);
	printf(", \"name\": ");
	jsonout_str(stdout, n->name);
	printf(", \"identity\": ");
	jsonout_str(stdout, n->identity);
	printf(", \"target\": ");
	jsonout_str(stdout, n->target);
	printf(", \"groups\": ");
	jsonout_str(stdout, n->groups);
	printf(", \"state\": \"%s\", \"reason\": ", store_state_name(n->state));
	jsonout_str(stdout, n->reason);
	printf(", \"enrolled_ms\": %lld, \"last_seen_ms\": %lld, \"attestations\": %llu, \"passes\": %llu",
	       (long long)n->enrolled_ms, (long long)n->last_seen_ms, (unsigned long long)n->attestations,
	       (unsigned long long)n->passes);
	if (n->has_counts)
		printf(", \"reset_count\": %u, \"restart_count\": %u", n->reset_count, n->restart_count);
}

#define LIST_HEADER "NODE              NAME                 STATE     LAST SEEN             PASSED/VERDICTS\n"

static void print_row(const struct store_node *n)
{
	char host[1024];

	printf("%.16s  %-20s %-9s ", n->ek_hash, nodes_shown(n->name[0] ? n->name : n->hostname, host, sizeof(host)),
	       store_state_name(n->state));
	nodes_print_time(stdout, n->last_seen_ms);
	printf("%s  %llu/%llu\n", n->last_seen_ms ? "" : "               ", (unsigned long long)n->passes,
	       (unsigned long long)n->attestations);
}

/* ------------------------------------------------------------ the fleet */

/* A node as the lists of rejected attempts name it (store_node_list's
 * callback may not call the store, so list_one keeps what they need). */
struct fleet_node {
	char ek_hash[65];
	char shown[1024];
};

struct fleet {
	struct store *st;
	int json, n;
	size_t passing, failed, orphans, claims;
	struct fleet_node *nodes;     /* every node, sorted by ek_hash once listed */
	size_t nnodes, cap;
	int oom;
};

static int fleet_node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fleet_node *)a)->ek_hash, ((const struct fleet_node *)b)->ek_hash);
}

static int list_one(const struct store_node *n, void *arg)
{
	struct fleet *f = arg;

	if (f->json) {
		printf("%s\n    ", f->n ? "," : "");
		print_node_json(n);
		printf("}");
	} else {
		print_row(n);
	}
	f->n++;
	f->passing += n->state == STORE_PASSING;
	f->failed += n->state == STORE_FAILED;
	if (f->nnodes == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct fleet_node *p = realloc(f->nodes, cap * sizeof(*p));

		if (!p) {
			f->oom = 1;
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

/* The config's pull targets and the node each answers for. */
static int list_targets(struct fleet *f, const struct verifier_config *cfg)
{
	struct store_node n;
	char host[1024];

	if (cfg->mode != CONFIG_MODE_PULL || !cfg->ntargets)
		return 0;
	printf(f->json ? ",\n  \"targets\": [" : "\ntargets (pull)\n");
	for (size_t i = 0; i < cfg->ntargets; i++) {
		int r = store_node_at_target(f->st, cfg->targets[i], &n);

		if (r != 0 && r != AERR_NOT_FOUND)
			return r;
		if (f->json) {
			printf("%s\n    {\"target\": ", i ? "," : "");
			jsonout_str(stdout, cfg->targets[i]);
			printf(", \"node\": ");
			if (r == 0)
				printf("\"%s\"}", n.ek_hash);
			else
				printf("null}");
		} else if (r == 0) {
			printf("  %-28s node %.16s  %-20s %s\n", cfg->targets[i], n.ek_hash,
			       nodes_shown(n.name[0] ? n.name : n.hostname, host, sizeof(host)), store_state_name(n.state));
		} else {
			printf("  %-28s no node yet (never passed its endorsement and activation there)\n",
			       cfg->targets[i]);
		}
	}
	if (f->json)
		printf("\n  ]");
	return 0;
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
static void print_rejected_json(const struct store_rejected *r, const struct rejected_view *v, int first)
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
static void print_rejected_tail(const struct store_rejected *r, const struct rejected_view *v)
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
static int orphan_one(const struct store_rejected *r, void *arg)
{
	struct fleet *f = arg;
	struct rejected_view v = { r->orphan_ek, "endorsement", r->orphan_reason, r->orphan_ms };
	char ident[520], mode[40];

	/* An EK that became a node since is no orphan. */
	if (!r->has_orphan || fleet_node_find(f, r->orphan_ek))
		return 0;
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
	return 0;
}

static int claim_one(const struct store_rejected *r, void *arg)
{
	struct fleet *f = arg;
	struct rejected_view v = { r->claim_ek, r->claim_step, r->claim_reason, r->claim_ms };
	const struct fleet_node *n = fleet_node_find(f, r->claim_ek);
	char ident[520], mode[40];

	if (!n)
		return 0;
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
	return 0;
}

/* Every node, the targets, the orphaned endorsement failures, the claims
 * on nodes, then the counts; -1 on a store error, else whether anything
 * needs an operator (failed nodes, orphans or claims: 1). */
static int list_all(struct store *st, const struct verifier_config *cfg, int json)
{
	struct fleet f = { .st = st, .json = json };
	uint64_t pass = 0, fail = 0;
	int rc;

	printf(json ? "{\"nodes\": [" : LIST_HEADER);
	if (store_node_list(st, list_one, &f) != 0) {
		if (f.oom)
			err_set(AERR_ALLOC, "the list of nodes");
		goto err;
	}
	if (f.nnodes) /* qsort and bsearch take no NULL array */
		qsort(f.nodes, f.nnodes, sizeof(*f.nodes), fleet_node_cmp);
	if (json)
		printf("\n  ]");
	if (list_targets(&f, cfg) != 0)
		goto err;
	if (json)
		printf(",\n  \"endorsement_failures\": [");
	if (store_rejected_list(st, orphan_one, &f) != 0)
		goto err;
	if (json)
		printf("\n  ],\n  \"claims_on_nodes\": [");
	if (store_rejected_list(st, claim_one, &f) != 0)
		goto err;
	if (store_count_verdicts(st, 1, &pass) != 0 || store_count_verdicts(st, 0, &fail) != 0)
		goto err;
	if (json)
		printf("\n  ], \"verdicts\": {\"pass\": %llu, \"fail\": %llu}}\n", (unsigned long long)pass,
		       (unsigned long long)fail);
	else {
		printf("\n%d nodes: %zu passing, %zu failed; verdicts recorded: %llu pass, %llu fail\n", f.n, f.passing,
		       f.failed, (unsigned long long)pass, (unsigned long long)fail);
		if (f.orphans)
			printf("%zu TLS identities failed the endorsement with an EK that is no node: see above\n",
			       f.orphans);
		if (f.claims)
			printf("%zu TLS identities were rejected claiming a node's EK: see above\n", f.claims);
	}
	rc = f.failed || f.orphans || f.claims;
	free(f.nodes);
	return rc;
err:
	fprintf(stderr, "verifier: %s\n", err_detail());
	free(f.nodes);
	return -1;
}

int nodes_list_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	int rc;

	if ((rc = nodes_open(argc, argv, 0, CLI_LIST_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	rc = list_all(st, a.cfg, a.json) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
	nodes_close(st, &a);
	return rc;
}

/* ------------------------------------------------------------ one node */

/* One "sha256.0 = <hex>" line of quoted_pcrs (pcr_values_format's text),
 * from *p on; *p moves past it. 0 at the end, or at a line of another form
 * (the text is ours, so that is its end too). */
struct quoted_line {
	char key[32];
	char hex[2 * CRYPTO_MAX_DIGEST + 1];
};

static int quoted_next(const char **p, struct quoted_line *out)
{
	const char *l = *p, *eq = strstr(l, " = "), *end = strchr(l, '\n');

	if (!*l || !eq || !end || eq > end || (size_t)(eq - l) >= sizeof(out->key) ||
	    (size_t)(end - eq - 3) >= sizeof(out->hex))
		return 0;
	snprintf(out->key, sizeof(out->key), "%.*s", (int)(eq - l), l);
	snprintf(out->hex, sizeof(out->hex), "%.*s", (int)(end - eq - 3), eq + 3);
	*p = end + 1;
	return 1;
}

/* The hex quoted_pcrs holds for key ("sha256.0"), into out; 0 when none. */
static int quoted_value(const char *quoted, const char *key, char *out, size_t cap)
{
	struct quoted_line q;

	while (quoted_next(&quoted, &q))
		if (!strcmp(q.key, key)) {
			snprintf(out, cap, "%s", q.hex);
			return 1;
		}
	return 0;
}

/* The secrets n receives: those its named policy names, else those whose
 * hosts select it (record_secret_defs's rule). */
static size_t node_secrets(const struct verifier_config *cfg, const struct store_node *n,
			   const struct named_policy *named, const struct secret_conf **out, size_t cap)
{
	char groups[sizeof(n->groups)], *save = NULL, *g;
	struct secret_node sn = { .ek_hash = n->ek_hash, .name = n->name };
	size_t k = 0;

	if (named && named->has_secrets) {
		for (size_t j = 0; j < named->nsecrets; j++)
			for (size_t i = 0; i < cfg->nsecrets && k < cap; i++)
				if (!strcmp(cfg->secrets[i].name, named->secrets[j]))
					out[k++] = &cfg->secrets[i];
		return k;
	}

	snprintf(groups, sizeof(groups), "%s", n->groups);
	for (g = strtok_r(groups, ",", &save); g && sn.ngroups < SECRET_NODE_GROUPS; g = strtok_r(NULL, ",", &save))
		sn.groups[sn.ngroups++] = g;
	for (size_t i = 0; i < cfg->nsecrets && k < cap; i++)
		if (secret_conf_selects(&cfg->secrets[i], &sn))
			out[k++] = &cfg->secrets[i];
	return k;
}

static void print_quoted_json(const char *quoted)
{
	struct quoted_line q;
	int first = 1;

	printf("{");
	for (; quoted_next(&quoted, &q); first = 0)
		printf("%s\"%s\": \"%s\"", first ? "" : ", ", q.key, q.hex);
	printf("}");
}

/* The reference the node is judged by: [policy], boot_policy, ima_policy,
 * and the secrets it would receive. Each [policy] value is marked against
 * the last quote's (the cause of most failures, side by side). */
/* The reference node n is judged by (record/reference.h's rule): its
 * named policy, loaded as the service loads it (reference_load), or the
 * config file's.
 * *named NULL for the config file's; *why says when the named one cannot
 * be applied (the node fails its next quote with that). */
struct node_reference {
	char name[STORE_NAME_MAX + 1], via[STORE_NAME_MAX + 8];
	uint32_t version;
	struct named_policy *named;
	char why[300];
};

static void node_reference(struct store *st, const struct verifier_config *cfg, const struct store_node *n,
			   struct node_reference *ref)
{
	struct named_policy_limits lim = verifier_config_limits(cfg);
	int r;

	memset(ref, 0, sizeof(*ref));
	if ((r = store_policy_of(st, n->id, ref->name, ref->via, &ref->version)) == 0 && ref->name[0])
		r = reference_load(st, ref->name, ref->version, &lim, &ref->named);
	if (r != 0)
		snprintf(ref->why, sizeof(ref->why), "%s", err_detail());
}

static void print_policy(const struct verifier_config *cfg, const char *config, const struct store_node *n,
			 const struct store_node_history *h, const struct node_reference *ref, int json)
{
	const struct policy *pol = ref->named ? &ref->named->pcr : &cfg->policy;
	const char *boot = ref->named ? (ref->named->boot ? "(in the policy)" : NULL) : cfg->boot_policy;
	const char *ima = ref->named ? (ref->named->ima ? "(in the policy)" : NULL) : cfg->ima_policy;
	const struct secret_conf *sec[SECRET_MAX_PER_HOST];
	size_t nsec = node_secrets(cfg, n, ref->named, sec, SECRET_MAX_PER_HOST);
	char sel[256] = "", want[2 * CRYPTO_MAX_DIGEST + 1], have[2 * CRYPTO_MAX_DIGEST + 1], key[32];

	if (pcrsel_format(&cfg->pcrs, sel, sizeof(sel)) != 0)
		sel[0] = '\0';
	if (json) {
		printf(", \"policy\": {\"config\": ");
		jsonout_str(stdout, config);
		printf(", \"name\": ");
		jsonout_str(stdout, ref->name[0] ? ref->name : "config");
		printf(", \"version\": %u, \"via\": ", ref->name[0] ? ref->version : 0);
		jsonout_str(stdout, ref->via);
		printf(", \"broken\": ");
		jsonout_str(stdout, ref->why);
		printf(", \"pcrs\": \"%s\", \"values\": {", sel);
	} else if (ref->why[0]) {
		printf("policy    %s%s%s: cannot be applied, the next quote fails: %s\n", ref->name[0] ? ref->name : "?",
		       ref->via[0] ? " by " : "", ref->via, ref->why);
	} else if (ref->named) {
		printf("policy    %s version %u (by %s): quotes %s\n", ref->name, ref->version, ref->via, sel);
	} else {
		printf("policy    %s: quotes %s\n", config, sel);
	}
	for (size_t i = 0; i < pol->n && !ref->why[0]; i++) {
		const struct policy_entry *e = &pol->e[i];
		int quoted;

		snprintf(key, sizeof(key), "%s.%u", crypto_alg_name(e->alg), e->index);
		hex_encode(e->value, e->len, want);
		quoted = quoted_value(h->quoted_pcrs, key, have, sizeof(have));
		if (json)
			printf("%s\"%s\": \"%s\"", i ? ", " : "", key, want);
		else
			printf("          %s = %s%s\n", key, want,
			       !quoted ? "" : strcmp(have, want) ? "  <- the last quote differs" : "  (as quoted)");
	}
	if (json) {
		printf("}, \"firmware_versions\": [");
		for (size_t i = 0; i < pol->nfirmware; i++)
			printf("%s%llu", i ? ", " : "", (unsigned long long)pol->firmware[i]);
		printf("], \"boot_policy\": ");
		jsonout_str(stdout, boot ? boot : "");
		printf(", \"ima_policy\": ");
		jsonout_str(stdout, ima ? ima : "");
		printf("}, \"secrets\": [");
		for (size_t i = 0; i < nsec; i++)
			printf("%s\"%s\"", i ? ", " : "", sec[i]->name);
		printf("]");
		return;
	}
	if (!ref->why[0]) {
		for (size_t i = 0; i < pol->nfirmware; i++)
			printf("          firmware_version 0x%016llx\n", (unsigned long long)pol->firmware[i]);
		if (boot)
			printf("          boot_policy %s\n", boot);
		if (ima)
			printf("          ima_policy %s\n", ima);
		if (!pol->n && !boot && !ima)
			printf("          no reference: the node can be verified, never passing\n");
	}
	printf("secrets   ");
	for (size_t i = 0; i < nsec; i++)
		printf("%s%s (%s)", i ? ", " : "", sec[i]->name, sec[i]->kind == SECRET_RSA ? "rsa" : "aes256");
	printf("%s\n", nsec ? "" : "none");
}

/* What the node's verified certificates say (the facts group rules match). */
static void print_facts(char facts[STORE_NFACTS][STORE_FACT_MAX], int json)
{
	int any = 0;

	if (json)
		printf(", \"facts\": {");
	for (int f = 0; f < STORE_NFACTS; f++) {
		if (!facts[f][0])
			continue;
		if (json) {
			printf("%s\"%s\": ", any ? ", " : "", store_fact_name((enum store_fact)f));
			jsonout_str(stdout, facts[f]);
		} else {
			printf("%s%s = %s\n", any ? "          " : "proven    ", store_fact_name((enum store_fact)f), facts[f]);
		}
		any = 1;
	}
	if (json)
		printf("}");
	else if (!any)
		printf("proven    nothing by a verified certificate (require_ek_cert, platform_ca)\n");
}

static void print_node_long(const struct store_node *n, const struct store_node_history *h)
{
	char host[1024], name[280], ident[520], groups[4200], reason[2100], target[TARGET_MAX * 4 + 1];

	printf("node      %s\nname      %s\nhostname  %s (claimed by the attestor)\nidentity  %s\n%s%s%sgroups    %s\n"
	       "state     %s\n",
	       n->ek_hash, nodes_shown(n->name, name, sizeof(name)), nodes_shown(n->hostname, host, sizeof(host)),
	       nodes_shown(n->identity, ident, sizeof(ident)), n->target[0] ? "target    " : "",
	       n->target[0] ? nodes_shown(n->target, target, sizeof(target)) : "",
	       n->target[0] ? "\n" : "", nodes_shown(n->groups, groups, sizeof(groups)), store_state_name(n->state));
	if (n->state == STORE_FAILED || n->state == STORE_VERIFIED)
		printf("why       %s\n", nodes_shown(n->reason, reason, sizeof(reason)));
	printf("enrolled  ");
	nodes_print_time(stdout, n->enrolled_ms);
	printf("\nlast seen ");
	nodes_print_time(stdout, n->last_seen_ms);
	printf("\nlast pass ");
	nodes_print_time(stdout, h->last_pass_ms);
	printf("\nlast fail ");
	nodes_print_time(stdout, h->last_fail_ms);
	printf("\nverdicts  %llu, %llu passed\n", (unsigned long long)n->attestations, (unsigned long long)n->passes);
	if (n->has_counts)
		printf("boot      resetCount %u restartCount %u\n", n->reset_count, n->restart_count);
	if (h->quoted_at_ms) {
		printf("quoted    at ");
		nodes_print_time(stdout, h->quoted_at_ms);
		printf(" (the last quote whose signature and digest verified)\n");
		const char *l = h->quoted_pcrs;
		struct quoted_line q;

		while (quoted_next(&l, &q))
			printf("          %s = %s\n", q.key, q.hex);
	} else {
		printf("quoted    nothing yet\n");
	}
}

/* The rejected attempts that claimed n's EK (claim_one's, of one node). */
struct node_claims {
	const char *ek_hash;
	int json;
	size_t n;
};

static int node_claim_one(const struct store_rejected *r, void *arg)
{
	struct node_claims *c = arg;
	struct rejected_view v = { r->claim_ek, r->claim_step, r->claim_reason, r->claim_ms };
	char ident[520], mode[40];

	if (strcmp(r->claim_ek, c->ek_hash) != 0)
		return 0;
	if (c->json) {
		print_rejected_json(r, &v, !c->n);
	} else {
		printf("%s %s identity %s ", c->n ? "         " : "claimed  ", nodes_shown(r->mode, mode, sizeof(mode)),
		       nodes_shown(r->identity, ident, sizeof(ident)));
		print_rejected_tail(r, &v);
	}
	c->n++;
	return 0;
}

static int print_node_claims(struct store *st, const struct store_node *n, int json)
{
	struct node_claims c = { .ek_hash = n->ek_hash, .json = json };

	if (json)
		printf(", \"claims\": [");
	if (store_rejected_list(st, node_claim_one, &c) != 0)
		return -1;
	if (json)
		printf("%s]", c.n ? "\n  " : "");
	else if (!c.n)
		printf("claimed   by no rejected attempt\n");
	else
		printf("          (attempts in this node's name that did not prove its TPM)\n");
	return 0;
}

int nodes_status_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct store_node n;
	struct store_node_history *h = NULL;
	struct node_reference ref;
	char facts[STORE_NFACTS][STORE_FACT_MAX];
	int rc;

	if ((rc = nodes_open(argc, argv, 2, CLI_STATUS_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (!a.node) {
		rc = list_all(st, a.cfg, a.json);
		nodes_close(st, &a);
		return rc == 0 ? CLI_EXIT_PASS : CLI_EXIT_FAIL;
	}
	if (!(h = malloc(sizeof(*h)))) {
		fprintf(stderr, "verifier: out of memory\n");
		nodes_close(st, &a);
		return CLI_EXIT_FAIL;
	}
	if (store_node_get(st, a.node, STORE_KEY_ANY, &n) != 0 || store_node_history(st, n.ek_hash, h) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		free(h);
		nodes_close(st, &a);
		return CLI_EXIT_FAIL;
	}
	node_reference(st, a.cfg, &n, &ref);
	if (store_node_facts(st, n.id, facts) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		free(h);
		named_policy_free(ref.named);
		nodes_close(st, &a);
		return CLI_EXIT_FAIL;
	}
	if (a.json) {
		print_node_json(&n);
		print_facts(facts, 1);
		printf(", \"last_pass_ms\": %lld, \"last_fail_ms\": %lld, \"quoted_at_ms\": %lld, \"quoted_pcrs\": ",
		       (long long)h->last_pass_ms, (long long)h->last_fail_ms, (long long)h->quoted_at_ms);
		print_quoted_json(h->quoted_pcrs);
		print_policy(a.cfg, a.config, &n, h, &ref, 1);
		rc = print_node_claims(st, &n, 1);
		printf("}\n");
	} else {
		print_node_long(&n, h);
		print_facts(facts, 0);
		rc = print_node_claims(st, &n, 0);
		print_policy(a.cfg, a.config, &n, h, &ref, 0);
	}
	free(h);
	named_policy_free(ref.named);
	if (rc != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		nodes_close(st, &a);
		return CLI_EXIT_FAIL;
	}
	nodes_close(st, &a);
	return n.state == STORE_FAILED ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
}
