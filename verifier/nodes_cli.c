/* verifier list | status | enroll | remove (nodes_cli.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonout.h"
#include "config.h"
#include "file.h"
#include "hex.h"
#include "nodes_cli.h"
#include "store.h"
#include "tpmpub.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* The options of these commands; each takes what it needs. */
struct nodes_args {
	const char *node;             /* the positional argument */
	int json;
	const char *hostname;
	const char *ek_pub;
};

/* --config FILE [options] [NODE]: parse, then open the store named by the
 * config's state_dir. want_node: 0 none, 1 required, 2 optional. */
static int open_store(int argc, char **argv, int want_node, struct store **st, struct nodes_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "hostname", required_argument, NULL, 'n' },
		{ "ek-pub", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier_config *cfg = NULL;
	const char *config = NULL;
	int opt, rc = EXIT_USAGE, rest;

	*st = NULL;
	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:jn:e:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'j': a->json = 1; break;
		case 'n': a->hostname = optarg; break;
		case 'e': a->ek_pub = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	rest = argc - optind;
	if (!config || rest > 1 || (want_node == 1 && rest != 1) || (want_node == 0 && rest != 0))
		return EXIT_USAGE;
	a->node = rest ? argv[optind] : NULL;
	if (verifier_config_load(config, &cfg) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return EXIT_USAGE;
	}
	if (!cfg->state_dir)
		fprintf(stderr, "verifier: %s sets no state_dir: there is no database\n", config);
	else if (store_open(cfg->state_dir, st) != 0)
		fprintf(stderr, "verifier: %s\n", err_detail());
	else
		rc = EXIT_PASS;
	verifier_config_free(cfg);
	return rc == EXIT_PASS ? EXIT_PASS : EXIT_FAIL;
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

static void print_node(const struct store_node *n, int json, int long_form)
{
	if (json) {
		printf("{\"ek_hash\": \"%s\", \"hostname\": ", n->ek_hash);
		jsonout_str(stdout, n->hostname);
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
		printf("%.16s  %-20s %-9s last seen ", n->ek_hash, n->hostname[0] ? n->hostname : "-",
		       store_state_name(n->state));
		print_time(stdout, n->last_seen_ms);
		printf("  %llu/%llu passed\n", (unsigned long long)n->passes, (unsigned long long)n->attestations);
		return;
	}
	printf("node      %s\nhostname  %s (claimed by the attestor)\nstate     %s\n", n->ek_hash,
	       n->hostname[0] ? n->hostname : "-", store_state_name(n->state));
	if (n->state == STORE_FAILED)
		printf("why       %s\n", n->reason);
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

	if ((rc = open_store(argc, argv, 0, &st, &a)) != EXIT_PASS) {
		if (rc == EXIT_USAGE)
			fprintf(stderr, "usage: verifier list --config FILE [--json]\n");
		return rc;
	}
	rc = list_all(st, a.json) < 0 ? EXIT_FAIL : EXIT_PASS;
	store_close(st);
	return rc;
}

int nodes_status_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct store_node n;
	int rc;

	if ((rc = open_store(argc, argv, 2, &st, &a)) != EXIT_PASS) {
		if (rc == EXIT_USAGE)
			fprintf(stderr, "usage: verifier status --config FILE [--json] [NODE]\n");
		return rc;
	}
	if (!a.node) {
		rc = list_all(st, a.json);
		store_close(st);
		return rc == 0 ? EXIT_PASS : EXIT_FAIL;
	}
	if (store_node_get(st, a.node, &n) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		store_close(st);
		return EXIT_FAIL;
	}
	print_node(&n, a.json, 1);
	if (a.json)
		printf("\n");
	store_close(st);
	return n.state == STORE_FAILED ? EXIT_FAIL : EXIT_PASS;
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

int nodes_enroll_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	TPMT_PUBLIC pub;
	uint8_t wire[sizeof(TPM2B_PUBLIC)];
	size_t wlen = 0;
	char hash[65];
	int64_t id;
	int rc;

	if ((rc = open_store(argc, argv, 2, &st, &a)) != EXIT_PASS || (!a.node == !a.ek_pub)) {
		if (rc == EXIT_PASS || rc == EXIT_USAGE)
			fprintf(stderr, "usage: verifier enroll --config FILE [--hostname NAME] (--ek-pub FILE | EK_HASH)\n");
		store_close(st);
		return rc == EXIT_FAIL ? EXIT_FAIL : EXIT_USAGE;
	}
	memset(&pub, 0, sizeof(pub));
	if (a.ek_pub) {
		if (ek_pub_identity(a.ek_pub, hash, &pub) != 0 || tpmpub_marshal(&pub, wire, sizeof(wire), &wlen) != 0) {
			fprintf(stderr, "verifier: %s\n", err_detail());
			store_close(st);
			return EXIT_USAGE;
		}
	} else {
		uint8_t d[32];

		if (strlen(a.node) != 64 || hex_decode(a.node, 64, d, sizeof(d)) != 32) {
			fprintf(stderr, "verifier: EK_HASH must be 64 hex digits (SHA-256 of the EK public), not '%s'\n",
				a.node);
			store_close(st);
			return EXIT_USAGE;
		}
		hex_encode(d, sizeof(d), hash);
	}
	if (store_node_enroll(st, hash, pub.type, wlen ? wire : NULL, wlen, a.hostname, &id) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		store_close(st);
		return EXIT_FAIL;
	}
	printf("enrolled node %s%s%s\n", hash, a.hostname ? " as " : "", a.hostname ? a.hostname : "");
	store_close(st);
	return EXIT_PASS;
}

int nodes_remove_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct store_node n;
	int rc;

	if ((rc = open_store(argc, argv, 1, &st, &a)) != EXIT_PASS) {
		if (rc == EXIT_USAGE)
			fprintf(stderr, "usage: verifier remove --config FILE NODE\n");
		return rc;
	}
	if (store_node_get(st, a.node, &n) != 0 || store_node_remove(st, n.ek_hash) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		store_close(st);
		return EXIT_FAIL;
	}
	printf("removed node %s (%s) and its %llu verdicts\n", n.ek_hash, n.hostname[0] ? n.hostname : "-",
	       (unsigned long long)n.attestations);
	store_close(st);
	return EXIT_PASS;
}
