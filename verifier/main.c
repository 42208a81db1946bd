/* verifier: command line. One <name>_main per subcommand, dispatched from a table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "verifier"
#include "config.h"
#include "crypto.h"
#include "eventlog.h"
#include "eventlog_print.h"
#include "nodes_cli.h"
#include "file.h"
#include "harden.h"
#include "log.h"
#include "pull.h"
#include "push.h"
#include "rpc.h"
#include "strsafe.h"
#include "target.h"
#include "watch.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_UNJUDGED 3

static int attest_main(int argc, char **argv);
static int serve_main(int argc, char **argv);
static int eventlog_main(int argc, char **argv);
static int help_main(int argc, char **argv);

static const struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
} subcommands[] = {
	{ "attest", attest_main, "attest --config FILE [--rounds N [--interval S]] HOST:PORT",
	  "attest one host (pull mode), print each step and the verdict; --rounds:\n"
	  "then quote again N-1 times, S seconds apart, with the activated AK" },
	{ "serve", serve_main, "serve --config FILE",
	  "push mode: serve attest.v1.Verifier and attest every attestor that connects;\n"
	  "pull mode: keep attesting every target, every reattest_interval" },
	{ "eventlog", eventlog_main, "eventlog [--json] FILE",
	  "parse a TCG boot event log: its events and the PCRs it replays to\n"
	  "(YAML laid out like tpm2_eventlog's, or JSON)" },
	{ "list", nodes_list_main, "list --config FILE [--json]",
	  "the nodes in the verifier's database (state_dir): state, last seen, verdicts" },
	{ "status", nodes_status_main, "status --config FILE [--json] [NODE]",
	  "one node by EK hash prefix (8+ hex digits), name or hostname: state, why it failed,\n"
	  "when; without NODE, every node (exit 1 when any has failed)" },
	{ "enroll", nodes_enroll_main,
	  "enroll --config FILE [--name NAME] [--identity TLS_ID] [--target HOST:PORT]\n"
	  "         [--group G]... [--no-groups] (--ek-pub FILE | EK_HASH | NODE)",
	  "enroll a node before it attests (required with enrollment = explicit): its EK\n"
	  "public (TPM2B_PUBLIC, as tpm2_createek -u writes it) or the SHA-256 of it; a node\n"
	  "the store has: change its name, groups (secrets select by name: and group:) or\n"
	  "the TLS identity or pull target it is bound to (a re-bind; \"\" unbinds, the\n"
	  "next proof binds)" },
	{ "remove", nodes_remove_main, "remove --config FILE NODE",
	  "forget a node, its AK and its history; it has to enroll again" },
	{ "rejected", nodes_rejected_main, "rejected --config FILE [--json]",
	  "peers refused before they proved any node's TPM, per TLS identity: how often,\n"
	  "when last, why, and the EK they presented" },
	{ "help", help_main, "help", "show this help" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: verifier <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		const char *p = subcommands[i].summary, *nl;

		fprintf(f, "  %s\n", subcommands[i].usage);
		for (; (nl = strchr(p, '\n')); p = nl + 1)
			fprintf(f, "      %.*s\n", (int)(nl - p), p);
		fprintf(f, "      %s\n", p);
	}
	fprintf(f, "\nexit status: 0 pass, 1 attestation failed, 2 usage or configuration error,\n"
		   "3 verified but unjudged (no reference to judge the node's state by)\n");
}

static int help_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return EXIT_PASS;
}

/* The verdict line of a passing round (or one verified, but unjudged). */
static void print_pass(const char *target, int round, const struct pull_result *res)
{
	const struct session_verdict *v = &res->verdict;

	printf("%s %s resetCount %u restartCount %u", v->pass ? "PASS" : "VERIFIED", target, v->reset_count,
	       v->restart_count);
	if (round > 0)
		printf(" round %d", round);
	if (v->event_log_checked)
		printf(" eventlog ok");
	if (v->ima_checked)
		printf(" ima %llu entries (%llu new)", (unsigned long long)v->ima_entries,
		       (unsigned long long)v->ima_new);
	if (res->secrets)
		printf(" secrets %zu", res->secrets);
	printf(" total %.2f ms\n", res->total_ms);
	if (!v->pass)
		printf("  (%s)\n", v->reason); /* our own text: no peer string */
	fflush(stdout);
}

static int attest_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier_config *cfg = NULL;
	struct pull_driver *d = NULL;
	struct pull_result res;
	const char *config = NULL;
	char target[TARGET_MAX];
	long rounds = 1, interval = 0;
	char *end;
	int opt, r, rc = EXIT_USAGE, rpc_up = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:r:i:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'r':
			rounds = strtol(optarg, &end, 10);
			if (*end || rounds < 1 || rounds > 1000000) {
				fprintf(stderr, "verifier: --rounds takes 1..1000000, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			interval = strtol(optarg, &end, 10);
			if (*end || interval < 0 || interval > 86400) {
				fprintf(stderr, "verifier: --interval takes 0..86400 seconds, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': printf("usage: verifier %s\n", subcommands[0].usage); return EXIT_PASS;
		default: goto usage;
		}
	}
	if (!config || optind != argc - 1)
		goto usage;
	if (target_canonical(argv[optind], target) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return EXIT_USAGE;
	}
	if (verifier_config_load(config, &cfg) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return EXIT_USAGE;
	}
	/* A node is bound to the target it is attested at, if that is one of
	 * `targets` (pull.c): say so when it is not. */
	if (cfg->mode == CONFIG_MODE_PULL && cfg->state_dir && !target_listed(target, cfg->targets, cfg->ntargets))
		fprintf(stderr, "verifier: note: %s is not one of %s's targets: this check binds no node to it\n",
			target, config);
	log_set_level((enum log_level)cfg->log_level);
	if (cfg->mode != CONFIG_MODE_PULL) {
		fprintf(stderr, "verifier: %s: attest needs mode = pull\n", config);
		goto out;
	}
	rpc_global_init();
	rpc_up = 1;
	if (pull_open(cfg, target, &d) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		goto out;
	}
	r = pull_attest(d, &res);
	for (int i = 0; i < res.stages_done && i < PULL_NSTAGES; i++)
		printf("%-12s ok    rpc %8.2f ms  verify %8.2f ms\n", pull_stage_name((enum pull_stage)i),
		       res.t[i].rpc_ms, res.t[i].check_ms);
	for (long round = 1; r == 0; round++) {
		print_pass(target, rounds > 1 ? (int)round : 0, &res);
		if (round == rounds)
			break;
		pull_wait(d, (uint32_t)interval * 1000u, NULL);
		r = pull_requote(d, &res);
	}
	if (r == 0) {
		rc = res.verdict.pass ? EXIT_PASS : EXIT_UNJUDGED;
	} else {
		/* The reason may quote the attestor (a refusal's message): one
		 * line, no terminal escapes. */
		char why[4 * sizeof(res.reason)];

		strsafe(why, sizeof(why), res.reason, STRSAFE_LINE);
		printf("%-12s FAIL  rpc %8.2f ms  verify %8.2f ms\n", pull_stage_name(res.failed_stage),
		       res.t[res.failed_stage].rpc_ms, res.t[res.failed_stage].check_ms);
		fprintf(stderr, "FAIL %s: %s\n", pull_stage_name(res.failed_stage), why);
		rc = EXIT_FAIL;
	}
out:
	pull_close(d);
	if (rpc_up)
		rpc_global_shutdown();
	verifier_config_free(cfg);
	return rc;
usage:
	fprintf(stderr, "usage: verifier %s\n", subcommands[0].usage);
	return EXIT_USAGE;
}

static int serve_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier_config *cfg = NULL;
	const char *config = NULL;
	int opt, rc = EXIT_USAGE;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'h': printf("usage: verifier serve --config FILE\n"); return EXIT_PASS;
		default: goto usage;
		}
	}
	if (!config || optind != argc)
		goto usage;
	if (verifier_config_load(config, &cfg) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return EXIT_USAGE;
	}
	log_set_level((enum log_level)cfg->log_level);
	if (cfg->mode == CONFIG_MODE_PULL && cfg->ntargets == 0) {
		fprintf(stderr, "verifier: %s: serve in pull mode needs targets = HOST:PORT, ...\n", config);
		goto out;
	}
	if ((cfg->mode == CONFIG_MODE_PUSH ? push_run(cfg) : watch_run(cfg)) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = EXIT_FAIL;
		goto out;
	}
	rc = EXIT_PASS;
out:
	verifier_config_free(cfg);
	return rc;
usage:
	fprintf(stderr, "usage: verifier serve --config FILE\n");
	return EXIT_USAGE;
}

static int eventlog_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct eventlog *log = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int opt, json = 0, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'h': printf("usage: verifier eventlog [--json] FILE\n"); return EXIT_PASS;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	if (file_read_all(argv[optind], EVENTLOG_MAX_LOG_SIZE, &buf, &len) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return EXIT_USAGE;
	}
	if ((r = eventlog_parse(buf, len, &log)) != 0) {
		fprintf(stderr, "FAIL %s: %s: %s\n", argv[optind], err_str(r), err_detail());
		free(buf);
		return EXIT_FAIL;
	}
	if (json)
		eventlog_print_json(stdout, log);
	else
		eventlog_print_yaml(stdout, log);
	eventlog_free(log);
	free(buf);
	return EXIT_PASS;
usage:
	fprintf(stderr, "usage: verifier eventlog [--json] FILE\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	/* serve and attest hold the TLS key, the secrets they deliver and the
	 * nonces; one rule for every command keeps none of them out by mistake. */
	if (harden_process() != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return EXIT_FAIL;
	}
	crypto_process_init();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return EXIT_PASS;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "verifier: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
