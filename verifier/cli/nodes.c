/* verifier list | status | enroll | remove | rejected (cli/commands.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "config.h"
#include "file.h"
#include "hex.h"
#include "jsonout.h"
#include "store/store.h"
#include "strsafe.h"
#include "tpmpub.h"

/* The options of these commands; each takes what it needs. */
struct nodes_args {
	const char *node;             /* the positional argument */
	int json;
	const char *name;
	const char *identity;
	const char *target;           /* in its one spelling (target_canonical), into target_buf */
	char target_buf[TARGET_MAX];
	const char *ek_pub;
	size_t ngroups;
	int set_groups;
	const char *groups[STORE_GROUPS_MAX];
};

/* --config FILE [options] [NODE]: parse, then open the store named by the
 * config's state_dir. want_node: 0 none, 1 required, 2 optional. */
/* What open_store returns after --help (the usage printed): not an exit
 * status, the command returns CLI_EXIT_PASS. */
#define NODES_HELPED (-1)

/* The command line (usage: the command's, printed to stdout for --help and to
 * stderr when the line is not one) and the store of its config. */
static int open_store(int argc, char **argv, int want_node, const char *usage, struct store **st,
		      struct nodes_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'n' },
		{ "identity", required_argument, NULL, 'i' },
		{ "group", required_argument, NULL, 'g' },
		{ "target", required_argument, NULL, 't' },
		{ "no-groups", no_argument, NULL, 'G' },
		{ "ek-pub", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier_config *cfg = NULL;
	const char *config = NULL;
	int opt, rc = CLI_EXIT_USAGE, rest;

	*st = NULL;
	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:jn:i:g:t:Ge:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'j': a->json = 1; break;
		case 'n': a->name = optarg; break;
		case 'i': a->identity = optarg; break;
		case 't': a->target = optarg; break;
		case 'g':
			if (a->ngroups == STORE_GROUPS_MAX) {
				fprintf(stderr, "verifier: a node is in at most %d groups\n", STORE_GROUPS_MAX);
				return CLI_EXIT_USAGE;
			}
			a->groups[a->ngroups++] = optarg;
			a->set_groups = 1;
			break;
		case 'G': a->set_groups = 1; break;
		case 'e': a->ek_pub = optarg; break;
		case 'h': printf("usage: verifier %s\n", usage); return NODES_HELPED;
		default: goto usage;
		}
	}
	rest = argc - optind;
	if (!config || rest > 1 || (want_node == 1 && rest != 1) || (want_node == 0 && rest != 0))
		goto usage;
	a->node = rest ? argv[optind] : NULL;
	if (verifier_config_load(config, &cfg) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_USAGE;
	}
	if (a->target && *a->target) {
		if (target_canonical(a->target, a->target_buf) != 0) {
			fprintf(stderr, "verifier: %s\n", err_detail());
			verifier_config_free(cfg);
			return CLI_EXIT_FAIL;
		}
		a->target = a->target_buf;
		if (!target_listed(a->target, cfg->targets, cfg->ntargets))
			fprintf(stderr, "verifier: warning: %s is not one of %s's targets: serve does not attest "
				"the node there\n", a->target, config);
	}
	if (!cfg->state_dir)
		fprintf(stderr, "verifier: %s sets no state_dir: there is no database\n", config);
	else if (store_open(cfg->state_dir, st) != 0)
		fprintf(stderr, "verifier: %s\n", err_detail());
	else
		rc = CLI_EXIT_PASS;
	verifier_config_free(cfg);
	return rc == CLI_EXIT_PASS ? CLI_EXIT_PASS : CLI_EXIT_FAIL;
usage:
	fprintf(stderr, "usage: verifier %s\n", usage);
	return CLI_EXIT_USAGE;
}

static void print_time(FILE *f, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (!ms) {
		fprintf(f, "never");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "%s", buf);
}

/* A stored string for a terminal: what a peer claimed may hold anything. */
static const char *shown(const char *s, char *buf, size_t cap)
{
	if (!s || !*s)
		return "-";
	strsafe(buf, cap, s, STRSAFE_LINE);
	return buf;
}

static void print_node(const struct store_node *n, int json, int long_form)
{
	char host[1024], name[280], ident[520], groups[4200], reason[2100];

	if (json) {
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
		printf("}");
		return;
	}
	if (!long_form) {
		printf("%.16s  %-20s %-9s last seen ", n->ek_hash,
		       shown(n->name[0] ? n->name : n->hostname, host, sizeof(host)), store_state_name(n->state));
		print_time(stdout, n->last_seen_ms);
		printf("  %llu/%llu passed\n", (unsigned long long)n->passes, (unsigned long long)n->attestations);
		return;
	}
	printf("node      %s\nname      %s\nhostname  %s (claimed by the attestor)\nidentity  %s\n%s%s%sgroups    %s\n"
	       "state     %s\n",
	       n->ek_hash, shown(n->name, name, sizeof(name)), shown(n->hostname, host, sizeof(host)),
	       shown(n->identity, ident, sizeof(ident)), n->target[0] ? "target    " : "", n->target,
	       n->target[0] ? "\n" : "", shown(n->groups, groups, sizeof(groups)), store_state_name(n->state));
	if (n->state == STORE_FAILED || n->state == STORE_VERIFIED)
		printf("why       %s\n", shown(n->reason, reason, sizeof(reason)));
	printf("enrolled  ");
	print_time(stdout, n->enrolled_ms);
	printf("\nlast seen ");
	print_time(stdout, n->last_seen_ms);
	printf("\nverdicts  %llu, %llu passed\n", (unsigned long long)n->attestations, (unsigned long long)n->passes);
	if (n->has_counts)
		printf("boot      resetCount %u restartCount %u\n", n->reset_count, n->restart_count);
}

struct list_state {
	int json, n;
	size_t passing, failed;
};

static int list_one(const struct store_node *n, void *arg)
{
	struct list_state *ls = arg;

	if (ls->json)
		printf("%s\n    ", ls->n ? "," : "");
	print_node(n, ls->json, 0);
	ls->n++;
	ls->passing += n->state == STORE_PASSING;
	ls->failed += n->state == STORE_FAILED;
	return 0;
}

/* Every node, then the verdict counts. */
static int list_all(struct store *st, int json)
{
	struct list_state ls = { 0 };
	uint64_t pass = 0, fail = 0;

	ls.json = json;
	if (ls.json)
		printf("{\"nodes\": [");
	if (store_node_list(st, list_one, &ls) != 0 || store_count_verdicts(st, 1, &pass) != 0 ||
	    store_count_verdicts(st, 0, &fail) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return -1;
	}
	if (ls.json)
		printf("\n  ], \"verdicts\": {\"pass\": %llu, \"fail\": %llu}}\n", (unsigned long long)pass,
		       (unsigned long long)fail);
	else
		printf("%d nodes: %zu passing, %zu failed; verdicts recorded: %llu pass, %llu fail\n", ls.n, ls.passing,
		       ls.failed, (unsigned long long)pass, (unsigned long long)fail);
	return (int)ls.failed;
}

int nodes_list_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	int rc;

	if ((rc = open_store(argc, argv, 0, CLI_LIST_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	rc = list_all(st, a.json) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
	store_close(st);
	return rc;
}

int nodes_status_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct store_node n;
	int rc;

	if ((rc = open_store(argc, argv, 2, CLI_STATUS_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (!a.node) {
		rc = list_all(st, a.json);
		store_close(st);
		return rc == 0 ? CLI_EXIT_PASS : CLI_EXIT_FAIL;
	}
	if (store_node_get(st, a.node, STORE_KEY_ANY, &n) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		store_close(st);
		return CLI_EXIT_FAIL;
	}
	print_node(&n, a.json, 1);
	if (a.json)
		printf("\n");
	store_close(st);
	return n.state == STORE_FAILED ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
}


/* The identity an attestor's TPM proves (tpmpub_identity of its EK), from
 * the EK public in a file. */
static int ek_pub_identity(const char *path, char hash[65], TPMT_PUBLIC *pub)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = file_read_all(path, sizeof(TPM2B_PUBLIC), &buf, &len)) != 0)
		return r;
	r = tpmpub_parse(buf, len, pub);
	free(buf);
	if (r != 0)
		return err_wrap(r, path);
	if (pub->type != TPM2_ALG_RSA && pub->type != TPM2_ALG_ECC)
		return err_set(AERR_UNSUPPORTED, "%s: an EK is RSA or ECC", path);
	return tpmpub_identity(pub, hash);
}

/* The node an enroll names: its hash from --ek-pub (with the public) or as
 * 64 hex digits; 1 when a.node names a node the store has (by any key). */
static int enroll_target(struct store *st, const struct nodes_args *a, char hash[65], TPMT_PUBLIC *pub,
			 uint8_t *wire, size_t cap, size_t *wlen)
{
	struct store_node n;
	uint8_t d[32];

	memset(pub, 0, sizeof(*pub));
	*wlen = 0;
	if (a->ek_pub) {
		if (ek_pub_identity(a->ek_pub, hash, pub) != 0 || tpmpub_marshal(pub, wire, cap, wlen) != 0)
			return -1;
		return 0;
	}
	if (store_node_get(st, a->node, STORE_KEY_OPERATOR, &n) == 0) {
		memcpy(hash, n.ek_hash, 65);
		return 1;
	}
	if (strlen(a->node) != 64 || hex_decode(a->node, 64, d, sizeof(d)) != 32) {
		err_set(AERR_INVALID_ARG, "'%s' is neither 64 hex digits (the SHA-256 of an EK public) nor a node's EK "
			"hash prefix or operator name (a hostname is the node's own claim and never names it here)",
			a->node);
		return -1;
	}
	hex_encode(d, sizeof(d), hash);
	return 0;
}

int nodes_enroll_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct store_assign as;
	struct store_prior pr;
	TPMT_PUBLIC pub;
	uint8_t wire[sizeof(TPM2B_PUBLIC)];
	size_t wlen = 0;
	char hash[65];
	int64_t id;
	int rc, known;

	if ((rc = open_store(argc, argv, 2, CLI_ENROLL_USAGE, &st, &a)) == NODES_HELPED)
		return CLI_EXIT_PASS;
	if (rc != CLI_EXIT_PASS || (!a.node == !a.ek_pub)) {
		if (rc == CLI_EXIT_PASS)
			fprintf(stderr, "usage: verifier %s\n", CLI_ENROLL_USAGE);
		store_close(st);
		return rc == CLI_EXIT_FAIL ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	}
	memset(&as, 0, sizeof(as));
	as.name = a.name;
	as.identity = a.identity;
	as.target = a.target;
	as.set_groups = a.set_groups;
	as.ngroups = a.ngroups;
	as.groups = a.groups;
	if ((known = enroll_target(st, &a, hash, &pub, wire, sizeof(wire), &wlen)) < 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		store_close(st);
		return CLI_EXIT_USAGE;
	}
	if (!known && store_node_lookup(st, hash, &pr) == 0 && pr.existed)
		known = 1;
	if (known) {
		/* A node the store has: change what is assigned to it (a re-bind
		 * to another TLS identity among them). */
		if (!a.name && !a.identity && !a.target && !a.set_groups) {
			fprintf(stderr, "verifier: node %.16s... is enrolled already; say what to change: --name, "
				"--identity, --target, --group or --no-groups\n", hash);
			store_close(st);
			return CLI_EXIT_FAIL;
		}
		if (store_node_assign(st, hash, &as) != 0) {
			fprintf(stderr, "verifier: %s\n", err_detail());
			store_close(st);
			return CLI_EXIT_FAIL;
		}
		printf("node %s: assigned%s%s%s%s%s%s%s\n", hash, a.name ? " name " : "", a.name ? a.name : "",
		       a.identity ? " identity " : "", a.identity ? (*a.identity ? a.identity : "(none)") : "",
		       a.target ? " target " : "", a.target ? (*a.target ? a.target : "(none)") : "",
		       a.set_groups ? " groups" : "");
		store_close(st);
		return CLI_EXIT_PASS;
	}
	if (store_node_enroll(st, hash, pub.type, wlen ? wire : NULL, wlen, &as, &id) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		store_close(st);
		return CLI_EXIT_FAIL;
	}
	printf("enrolled node %s%s%s\n", hash, a.name ? " as " : "", a.name ? a.name : "");
	store_close(st);
	return CLI_EXIT_PASS;
}

int nodes_remove_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct store_node n;
	int rc;

	if ((rc = open_store(argc, argv, 1, CLI_REMOVE_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (store_node_get(st, a.node, STORE_KEY_OPERATOR, &n) != 0 || store_node_remove(st, n.ek_hash) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		store_close(st);
		return CLI_EXIT_FAIL;
	}
	{
		char host[1024];

		printf("removed node %s (%s) and its %llu verdicts\n", n.ek_hash,
		       shown(n.name[0] ? n.name : n.hostname, host, sizeof(host)), (unsigned long long)n.attestations);
	}
	store_close(st);
	return CLI_EXIT_PASS;
}

struct rejected_state {
	int json, n;
};

static int rejected_one(const struct store_rejected *r, void *arg)
{
	struct rejected_state *rs = arg;
	char ident[520], reason[2100];

	if (rs->json) {
		printf("%s\n    {\"mode\": \"%s\", \"identity\": ", rs->n ? "," : "", r->mode);
		jsonout_str(stdout, r->identity);
		printf(", \"count\": %llu, \"first_ms\": %lld, \"last_ms\": %lld, \"step\": ",
		       (unsigned long long)r->count, (long long)r->first_ms, (long long)r->last_ms);
		jsonout_str(stdout, r->step);
		printf(", \"reason\": ");
		jsonout_str(stdout, r->reason);
		printf(", \"ek_hash\": ");
		jsonout_str(stdout, r->ek_hash);
		printf("}");
	} else {
		printf("%-4s %-24s %6llu  last ", r->mode, shown(r->identity, ident, sizeof(ident)),
		       (unsigned long long)r->count);
		print_time(stdout, r->last_ms);
		printf("  EK %.16s  %s: %s\n", r->ek_hash[0] ? r->ek_hash : "-", r->step,
		       shown(r->reason, reason, sizeof(reason)));
	}
	rs->n++;
	return 0;
}

int nodes_rejected_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct rejected_state rs = { 0 };
	int rc;

	if ((rc = open_store(argc, argv, 0, CLI_REJECTED_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	rs.json = a.json;
	if (rs.json)
		printf("{\"rejected\": [");
	if (store_rejected_list(st, rejected_one, &rs) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		store_close(st);
		return CLI_EXIT_FAIL;
	}
	if (rs.json)
		printf("\n  ]}\n");
	else
		printf("%d TLS identities with rejected attempts (at most %d kept)\n", rs.n, STORE_REJECTED_MAX);
	store_close(st);
	return CLI_EXIT_PASS;
}
