/* verifier enroll | remove | rejected (cli/commands.h), and what every
 * command on the nodes shares (cli/nodes.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/nodes.h"
#include "clock.h"
#include "config.h"
#include "file.h"
#include "hex.h"
#include "jsonout.h"
#include "store/store.h"
#include "strsafe.h"
#include "tpmpub.h"

/* --since: "YYYY-MM-DD[THH:MM:SSZ]" (UTC), or a span back from now
 * ("90m", "24h", "7d"). */
static int nodes_parse_since(const char *text, int64_t *ms)
{
	struct tm tm;
	const char *end;
	char *unit;
	unsigned long n = strtoul(text, &unit, 10);

	if (unit != text && unit[0] && !unit[1] && strchr("smhd", unit[0]) && n <= 36500UL * 86400) {
		static const char units[] = "smhd";
		static const int64_t scale[] = { 1000, 60000, 3600000, 86400000 };

		*ms = clock_wall_ms() - (int64_t)n * scale[strchr(units, unit[0]) - units];
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (!(end = strptime(text, "%Y-%m-%d", &tm)))
		return -1;
	if (*end && (!(end = strptime(end, "T%H:%M:%SZ", &tm)) || *end))
		return -1;
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

/* The command line (usage: the command's, printed to stdout for --help and to
 * stderr when the line is not one) and the store of its config. */
int nodes_open(int argc, char **argv, int want_node, const char *usage, struct store **st, struct nodes_args *a)
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
		{ "clear", no_argument, NULL, 'C' },
		{ "file", required_argument, NULL, 'f' },
		{ "node", required_argument, NULL, 'N' },
		{ "version", required_argument, NULL, 'V' },
		{ "rootfs", no_argument, NULL, 'R' },
		{ "ima", required_argument, NULL, 'I' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "since", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier_config *cfg = NULL;
	const char *config = NULL;
	int opt, rc = CLI_EXIT_USAGE, rest;

	*st = NULL;
	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:jn:i:g:t:Ge:Cf:N:V:RI:x:S:h", opts, NULL)) != -1) {
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
		case 'C': a->clear = 1; break;
		case 'f': a->file = optarg; break;
		case 'R': a->rootfs = 1; break;
		case 'I': a->ima = optarg; break;
		case 'x':
			if (a->nexcludes == sizeof(a->excludes) / sizeof(a->excludes[0])) {
				fprintf(stderr, "verifier: at most %zu --exclude\n", a->nexcludes);
				return CLI_EXIT_USAGE;
			}
			a->excludes[a->nexcludes++] = optarg;
			break;
		case 'N': a->node_opt = optarg; break;
		case 'V': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (!*optarg || *end || v == 0 || v > UINT32_MAX) {
				fprintf(stderr, "verifier: --version %s: a policy version is a number from 1\n", optarg);
				return CLI_EXIT_USAGE;
			}
			a->version = (uint32_t)v;
			break;
		}
		case 'S':
			if (nodes_parse_since(optarg, &a->since_ms) != 0) {
				fprintf(stderr, "verifier: --since %s: a UTC time (2026-12-01 or 2026-12-01T08:00:00Z) or "
					"how long ago (90m, 24h, 7d)\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h': printf("usage: verifier %s\n", usage); return NODES_HELPED;
		default: goto usage;
		}
	}
	rest = argc - optind;
	if (!config || (rest > 1 && want_node != 3) || (want_node == 1 && rest != 1) || (want_node == 0 && rest != 0) ||
	    (want_node == 3 && rest < 1))
		goto usage;
	a->node = rest ? argv[optind] : NULL;
	a->nmore = rest > 1 ? (size_t)rest - 1 : 0;
	a->more = argv + optind + 1;
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
	if (rc != CLI_EXIT_PASS) {
		verifier_config_free(cfg);
		return CLI_EXIT_FAIL;
	}
	a->cfg = cfg;
	a->config = config;
	return CLI_EXIT_PASS;
usage:
	fprintf(stderr, "usage: verifier %s\n", usage);
	return CLI_EXIT_USAGE;
}

void nodes_close(struct store *st, struct nodes_args *a)
{
	store_close(st);
	verifier_config_free(a->cfg);
	a->cfg = NULL;
}

void nodes_print_time(FILE *f, int64_t ms)
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

const char *nodes_shown(const char *s, char *buf, size_t cap)
{
	if (!s || !*s)
		return "-";
	strsafe(buf, cap, s, STRSAFE_LINE);
	return buf;
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

	if ((rc = nodes_open(argc, argv, 2, CLI_ENROLL_USAGE, &st, &a)) == NODES_HELPED)
		return CLI_EXIT_PASS;
	if (rc != CLI_EXIT_PASS || (!a.node == !a.ek_pub)) {
		if (rc == CLI_EXIT_PASS)
			fprintf(stderr, "usage: verifier %s\n", CLI_ENROLL_USAGE);
		nodes_close(st, &a);
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
		nodes_close(st, &a);
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
			nodes_close(st, &a);
			return CLI_EXIT_FAIL;
		}
		if (store_node_assign(st, hash, &as) != 0) {
			fprintf(stderr, "verifier: %s\n", err_detail());
			nodes_close(st, &a);
			return CLI_EXIT_FAIL;
		}
		printf("node %s: assigned%s%s%s%s%s%s%s\n", hash, a.name ? " name " : "", a.name ? a.name : "",
		       a.identity ? " identity " : "", a.identity ? (*a.identity ? a.identity : "(none)") : "",
		       a.target ? " target " : "", a.target ? (*a.target ? a.target : "(none)") : "",
		       a.set_groups ? " groups" : "");
		nodes_close(st, &a);
		return CLI_EXIT_PASS;
	}
	if (store_node_enroll(st, hash, pub.type, wlen ? wire : NULL, wlen, &as, &id) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		nodes_close(st, &a);
		return CLI_EXIT_FAIL;
	}
	printf("enrolled node %s%s%s\n", hash, a.name ? " as " : "", a.name ? a.name : "");
	nodes_close(st, &a);
	return CLI_EXIT_PASS;
}

int nodes_remove_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct store_node n;
	int rc;

	if ((rc = nodes_open(argc, argv, 1, CLI_REMOVE_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (store_node_get(st, a.node, STORE_KEY_OPERATOR, &n) != 0 || store_node_remove(st, n.ek_hash) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		nodes_close(st, &a);
		return CLI_EXIT_FAIL;
	}
	{
		char host[1024];

		printf("removed node %s (%s) and its %llu verdicts\n", n.ek_hash,
		       nodes_shown(n.name[0] ? n.name : n.hostname, host, sizeof(host)), (unsigned long long)n.attestations);
	}
	nodes_close(st, &a);
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
		printf(", \"claimed_ek_hash\": ");
		jsonout_str(stdout, r->ek_hash);
		printf("}");
	} else {
		printf("%-4s %-24s %6llu  last ", r->mode, nodes_shown(r->identity, ident, sizeof(ident)),
		       (unsigned long long)r->count);
		nodes_print_time(stdout, r->last_ms);
		printf("  EK claimed %-16.16s  %s: %s\n", r->ek_hash[0] ? r->ek_hash : "-", r->step,
		       nodes_shown(r->reason, reason, sizeof(reason)));
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

	if ((rc = nodes_open(argc, argv, 0, CLI_REJECTED_USAGE, &st, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (a.clear) {
		uint64_t n = 0;

		if (store_rejected_clear(st, &n) != 0) {
			fprintf(stderr, "verifier: %s\n", err_detail());
			nodes_close(st, &a);
			return CLI_EXIT_FAIL;
		}
		printf("forgot the rejected attempts of %llu TLS identities\n", (unsigned long long)n);
		nodes_close(st, &a);
		return CLI_EXIT_PASS;
	}
	rs.json = a.json;
	if (rs.json)
		printf("{\"rejected\": [");
	if (store_rejected_list(st, rejected_one, &rs) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		nodes_close(st, &a);
		return CLI_EXIT_FAIL;
	}
	if (rs.json)
		printf("\n  ]}\n");
	else
		printf("%d TLS identities with rejected attempts (at most %d kept)\n", rs.n, STORE_REJECTED_MAX);
	nodes_close(st, &a);
	return CLI_EXIT_PASS;
}
