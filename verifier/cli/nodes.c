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
 * stderr when the line is not one) and the config; with open_source,
 * where the commands go. */
static int nodes_parse(int argc, char **argv, int want_node, const char *usage, struct nodes_args *a, int open_source)
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
		{ "server", required_argument, NULL, 's' },
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'E' },
		{ "key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier_config *cfg = NULL;
	const char *config = NULL;
	int opt, rest;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:jn:i:g:t:Ge:Cf:N:V:RI:x:S:s:A:E:K:h", opts, NULL)) != -1) {
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
		case 's': a->so.server = optarg; break;
		case 'A': a->so.ca = optarg; break;
		case 'E': a->so.cert = optarg; break;
		case 'K': a->so.key = optarg; break;
		case 'h': printf("usage: verifier %s\n", usage); return NODES_HELPED;
		default: goto usage;
		}
	}
	rest = argc - optind;
	if ((!config && !(open_source && a->so.server)) || (rest > 1 && want_node != 3) ||
	    (want_node == 1 && rest != 1) || (want_node == 0 && rest != 0) || (want_node == 3 && rest < 1))
		goto usage;
	if (!a->so.cert != !a->so.key) {
		fprintf(stderr, "verifier: --cert and --key go together\n");
		return CLI_EXIT_USAGE;
	}
	a->node = rest ? argv[optind] : NULL;
	a->nmore = rest > 1 ? (size_t)rest - 1 : 0;
	a->more = argv + optind + 1;
	if (config && verifier_config_load(config, &cfg) != 0) {
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
	}
	a->cfg = cfg;
	a->config = config;
	if (open_source && source_open(cfg, config, &a->so, &a->src) != 0) {
		nodes_close(a);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_PASS;
usage:
	fprintf(stderr, "usage: verifier %s\n", usage);
	return CLI_EXIT_USAGE;
}

int nodes_open(int argc, char **argv, int want_node, const char *usage, struct nodes_args *a)
{
	return nodes_parse(argc, argv, want_node, usage, a, 1);
}

int nodes_open_local(int argc, char **argv, int want_node, const char *usage, struct nodes_args *a)
{
	return nodes_parse(argc, argv, want_node, usage, a, 0);
}

void nodes_close(struct nodes_args *a)
{
	source_close(a->src);
	a->src = NULL;
	verifier_config_free(a->cfg);
	a->cfg = NULL;
}

int nodes_exit_of(int status, int what_is_usage)
{
	return status == RPC_INVALID_ARGUMENT && what_is_usage ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
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

/* The EK public in a file, as the TPM wrote it (TPM2B_PUBLIC). */
static int ek_pub_read(const char *path, uint8_t **buf, size_t *len)
{
	TPMT_PUBLIC pub;
	int r;

	if ((r = file_read_all(path, sizeof(TPM2B_PUBLIC), buf, len)) != 0)
		return r;
	if ((r = tpmpub_parse(*buf, *len, &pub)) != 0) {
		free(*buf);
		*buf = NULL;
		return err_wrap(r, path);
	}
	return 0;
}

int nodes_enroll_main(int argc, char **argv)
{
	Attest__V1__EnrollNodeRequest req = ATTEST__V1__ENROLL_NODE_REQUEST__INIT;
	Attest__V1__EnrollNodeResponse *res = NULL;
	struct nodes_args a;
	uint8_t *pub = NULL;
	size_t len = 0;
	int rc, st;

	if ((rc = nodes_open(argc, argv, 2, CLI_ENROLL_USAGE, &a)) == NODES_HELPED)
		return CLI_EXIT_PASS;
	if (rc != CLI_EXIT_PASS || (!a.node == !a.ek_pub)) {
		if (rc == CLI_EXIT_PASS)
			fprintf(stderr, "usage: verifier %s\n", CLI_ENROLL_USAGE);
		nodes_close(&a);
		return rc == CLI_EXIT_FAIL ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	}
	if (a.ek_pub && ek_pub_read(a.ek_pub, &pub, &len) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		nodes_close(&a);
		return CLI_EXIT_USAGE;
	}
	req.ek_public.data = pub;
	req.ek_public.len = len;
	req.key = a.node ? (char *)a.node : "";
	req.set_name = a.name != NULL;
	req.name = a.name ? (char *)a.name : "";
	req.set_identity = a.identity != NULL;
	req.identity = a.identity ? (char *)a.identity : "";
	req.set_target = a.target != NULL;
	req.target = a.target ? (char *)a.target : "";
	req.set_groups = a.set_groups;
	req.n_groups = a.ngroups;
	req.groups = (char **)a.groups;
	st = source_call_or_say(a.src, "EnrollNode", &req.base, (ProtobufCMessage **)&res);
	free(pub);
	if (st != 0) {
		/* A key that names no node and is no EK hash, a malformed EK
		 * public: usage errors. */
		nodes_close(&a);
		return nodes_exit_of(st, 1);
	}
	if (*res->warning)
		fprintf(stderr, "verifier: warning: %s\n", res->warning);
	if (res->created)
		printf("enrolled node %s%s%s\n", res->node->ek_hash, a.name ? " as " : "", a.name ? a.name : "");
	else
		printf("node %s: assigned%s%s%s%s%s%s%s\n", res->node->ek_hash, a.name ? " name " : "",
		       a.name ? a.name : "", a.identity ? " identity " : "",
		       a.identity ? (*a.identity ? a.identity : "(none)") : "", a.target ? " target " : "",
		       a.target ? (*a.target ? a.target : "(none)") : "", a.set_groups ? " groups" : "");
	source_done(&res->base);
	nodes_close(&a);
	return CLI_EXIT_PASS;
}

int nodes_remove_main(int argc, char **argv)
{
	Attest__V1__NodeRef req = ATTEST__V1__NODE_REF__INIT;
	Attest__V1__Node *n = NULL;
	struct nodes_args a;
	char host[1024];
	int rc;

	if ((rc = nodes_open(argc, argv, 1, CLI_REMOVE_USAGE, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	req.key = (char *)a.node;
	if (source_call_or_say(a.src, "RemoveNode", &req.base, (ProtobufCMessage **)&n) != 0) {
		nodes_close(&a);
		return CLI_EXIT_FAIL;
	}
	printf("removed node %s (%s) and its %llu verdicts\n", n->ek_hash,
	       nodes_shown(n->name[0] ? n->name : n->hostname, host, sizeof(host)), (unsigned long long)n->attestations);
	source_done(&n->base);
	nodes_close(&a);
	return CLI_EXIT_PASS;
}

static void rejected_print(const Attest__V1__Rejected *r, int json, int first)
{
	char ident[520], reason[2100];

	if (json) {
		printf("%s\n    {\"mode\": ", first ? "" : ",");
		jsonout_str(stdout, r->mode);
		printf(", \"identity\": ");
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
}

int nodes_rejected_main(int argc, char **argv)
{
	Attest__V1__AdminEmpty req = ATTEST__V1__ADMIN_EMPTY__INIT;
	struct nodes_args a;
	int rc;

	if ((rc = nodes_open(argc, argv, 0, CLI_REJECTED_USAGE, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	if (a.clear) {
		Attest__V1__ClearRejectedResponse *res = NULL;

		if (source_call_or_say(a.src, "ClearRejected", &req.base, (ProtobufCMessage **)&res) != 0) {
			nodes_close(&a);
			return CLI_EXIT_FAIL;
		}
		printf("forgot the rejected attempts of %llu TLS identities\n", (unsigned long long)res->cleared);
		source_done(&res->base);
	} else {
		Attest__V1__RejectedList *res = NULL;

		if (source_call_or_say(a.src, "ListRejected", &req.base, (ProtobufCMessage **)&res) != 0) {
			nodes_close(&a);
			return CLI_EXIT_FAIL;
		}
		if (a.json)
			printf("{\"rejected\": [");
		for (size_t i = 0; i < res->n_rejected; i++)
			rejected_print(res->rejected[i], a.json, i == 0);
		if (a.json)
			printf("\n  ]}\n");
		else
			printf("%zu TLS identities with rejected attempts (at most %d kept)\n", res->n_rejected,
			       STORE_REJECTED_MAX);
		source_done(&res->base);
	}
	nodes_close(&a);
	return CLI_EXIT_PASS;
}
