/* verifier attest: one pull-mode check of a target (cli/commands.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "verifier"
#include "cli/commands.h"
#include "config.h"
#include "log.h"
#include "pull/driver.h"
#include "pull/target.h"
#include "rpc.h"
#include "strsafe.h"

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

struct attest_args {
	const char *config;
	const char *target;
	long rounds, interval;
};

/* The command line; -1 when it is not one (said), 1 after --help. */
static int attest_args(int argc, char **argv, struct attest_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt;

	*a = (struct attest_args){ .rounds = 1 };
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:r:i:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->config = optarg; break;
		case 'r':
			a->rounds = strtol(optarg, &end, 10);
			if (*end || a->rounds < 1 || a->rounds > 1000000) {
				fprintf(stderr, "verifier: --rounds takes 1..1000000, not '%s'\n", optarg);
				return -1;
			}
			break;
		case 'i':
			a->interval = strtol(optarg, &end, 10);
			if (*end || a->interval < 0 || a->interval > 86400) {
				fprintf(stderr, "verifier: --interval takes 0..86400 seconds, not '%s'\n", optarg);
				return -1;
			}
			break;
		case 'h': printf("usage: verifier %s\n", CLI_ATTEST_USAGE); return 1;
		default: goto usage;
		}
	}
	if (!a->config || optind != argc - 1)
		goto usage;
	a->target = argv[optind];
	return 0;
usage:
	fprintf(stderr, "usage: verifier %s\n", CLI_ATTEST_USAGE);
	return -1;
}

/* The first round and the requested quote rounds, printed; the exit code. */
static int attest_rounds(struct pull_driver *d, const char *target, const struct attest_args *a)
{
	struct pull_result res;
	int r = pull_attest(d, &res);

	for (int i = 0; i < res.stages_done && i < PULL_NSTAGES; i++)
		printf("%-12s ok    rpc %8.2f ms  verify %8.2f ms\n", pull_stage_name((enum pull_stage)i),
		       res.t[i].rpc_ms, res.t[i].check_ms);
	for (long round = 1; r == 0; round++) {
		print_pass(target, a->rounds > 1 ? (int)round : 0, &res);
		if (round == a->rounds)
			break;
		pull_wait(d, (uint32_t)a->interval * 1000u, NULL);
		r = pull_requote(d, &res);
	}
	if (r == 0)
		return res.verdict.pass ? CLI_EXIT_PASS : CLI_EXIT_UNJUDGED;
	{
		/* The reason may quote the attestor (a refusal's message): one
		 * line, no terminal escapes. */
		char why[4 * sizeof(res.reason)];

		strsafe(why, sizeof(why), res.reason, STRSAFE_LINE);
		printf("%-12s FAIL  rpc %8.2f ms  verify %8.2f ms\n", pull_stage_name(res.failed_stage),
		       res.t[res.failed_stage].rpc_ms, res.t[res.failed_stage].check_ms);
		if (res.refused_tls) {
			/* Not the attestor's failure: ours, to fix in [tls] or its certificate. */
			fprintf(stderr, "FAIL configuration: %s; check [tls] in the verifier's configuration "
				"against the attestor's certificate (or something else answers at that address)\n", why);
			return CLI_EXIT_USAGE;
		}
		fprintf(stderr, "FAIL %s: %s\n", pull_stage_name(res.failed_stage), why);
	}
	return CLI_EXIT_FAIL;
}

int attest_main(int argc, char **argv)
{
	struct verifier_config *cfg = NULL;
	struct pull_driver *d = NULL;
	struct attest_args a;
	char target[TARGET_MAX];
	int rc = CLI_EXIT_USAGE, rpc_up = 0, r;

	if ((r = attest_args(argc, argv, &a)) != 0)
		return r > 0 ? CLI_EXIT_PASS : CLI_EXIT_USAGE;
	if (target_canonical(a.target, target) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_USAGE;
	}
	if (cli_check_config_file(a.config) != 0)
		return CLI_EXIT_USAGE;
	if (verifier_config_load(a.config, &cfg) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_USAGE;
	}
	/* A node is bound to the target it is attested at, if that is one of
	 * `targets` (pull/driver.c): say so when it is not. */
	if (cfg->mode == CONFIG_MODE_PULL && cfg->state_dir && !target_listed(target, cfg->targets, cfg->ntargets))
		fprintf(stderr, "verifier: note: %s is not one of %s's targets: this check binds no node to it\n",
			target, a.config);
	log_set_level((enum log_level)cfg->log_level);
	if (cfg->mode != CONFIG_MODE_PULL) {
		fprintf(stderr, "verifier: %s: attest needs mode = pull\n", a.config);
		goto out;
	}
	if (cli_check_files(cfg) != 0)
		goto out;
	rpc_global_init();
	rpc_up = 1;
	if (pull_open(cfg, target, &d) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		goto out;
	}
	rc = attest_rounds(d, target, &a);
out:
	pull_close(d);
	if (rpc_up)
		rpc_global_shutdown();
	verifier_config_free(cfg);
	return rc;
}

