/* attestor: subcommands dispatched from a table, one <name>_main each. */
#define LOG_MODULE "attestor"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "service.h"
#include "tpm.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: attestor [serve] --config FILE    serve (pull mode) until SIGINT/SIGTERM\n"
		"       attestor bench --config FILE [--count N] [--no-cache]\n"
		"                                         time the TPM operations of each handler\n"
		"       attestor help | --help\n");
}

/* --config FILE [--count N] [--no-cache]; returns 0 or prints why not. */
static int parse_args(int argc, char **argv, const char **config, long *count, int *no_cache)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "no-cache", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*config = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:n:xh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'n':
			if (!count)
				goto bad;
			*count = strtol(optarg, &end, 10);
			if (*end || *count < 1 || *count > 100000)
				goto bad;
			break;
		case 'x':
			if (!no_cache)
				goto bad;
			*no_cache = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc || !*config)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

static int load_config(const char *path, struct attestor_config *cfg)
{
	if (config_load(path, cfg) != 0) {
		fprintf(stderr, "attestor: %s\n", err_detail());
		return -1;
	}
	if (!getenv("ATTEST_LOG_LEVEL"))
		log_set_level((enum log_level)cfg->log_level);
	return 0;
}

static int serve_main(int argc, char **argv)
{
	struct attestor_config cfg;
	const char *path;

	if (parse_args(argc, argv, &path, NULL, NULL) != 0 || load_config(path, &cfg) != 0)
		return 2;
	if (cfg.mode != CONFIG_MODE_PULL) {
		fprintf(stderr, "attestor: %s: mode = push is not implemented yet\n", path);
		return 2;
	}
	if (service_pull_run(&cfg) != 0) {
		LOG_ERR("%s", err_detail());
		return 1;
	}
	return 0;
}

static double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void bench_report(const char *what, double *ms, long n)
{
	qsort(ms, (size_t)n, sizeof(*ms), bench_cmp);
	printf("%-34s median %8.2f ms  min %8.2f  max %8.2f  (n=%ld)\n", what, ms[n / 2], ms[0],
	       ms[n - 1], n);
}

/* Measures tpm.c alone (no transport): what each handler costs in the TPM. */
static int bench_main(int argc, char **argv)
{
	struct attestor_config cfg;
	struct tpm_opts opts;
	struct tpm *t = NULL;
	struct tpm_endorsement *e = NULL;
	struct tpm_quote *q = NULL;
	struct tpm_ak ak;
	TPML_PCR_SELECTION sel = { .count = 1 };
	uint8_t nonce[32] = { 0 };
	double *ms = NULL, t0;
	const char *path;
	long count = 20, i;
	int no_cache = 0, rc = 1;
	uint32_t before = 0, after = 0;

	if (parse_args(argc, argv, &path, &count, &no_cache) != 0 || load_config(path, &cfg) != 0)
		return 2;
	opts = (struct tpm_opts){ .tcti = cfg.tcti, .ek_alg = cfg.ek_alg, .ak_alg = cfg.ak_alg,
				  .no_context_cache = no_cache };
	sel.pcrSelections[0] = (TPMS_PCR_SELECTION){ .hash = TPM2_ALG_SHA256, .sizeofSelect = 3,
						     .pcrSelect = { 0xff } };
	if (!(ms = calloc((size_t)count, sizeof(*ms))) || !(q = malloc(sizeof(*q))))
		goto out;
	t0 = bench_now_ms();
	if (tpm_open(&opts, &t) != 0 || tpm_transient_count(t, &before) != 0)
		goto fail;
	printf("%-34s %8.2f ms\n", "open + startup", bench_now_ms() - t0);
	t0 = bench_now_ms();
	if (tpm_ak_get(t, &ak) != 0)
		goto fail;
	printf("%-34s %8.2f ms  (%s AK under the %s EK%s)\n", "first GetAttestationKey (create)",
	       bench_now_ms() - t0, tpm_alg_name(cfg.ak_alg), tpm_alg_name(cfg.ek_alg),
	       no_cache ? ", no context cache" : "");
	for (i = 0; i < count; i++) {
		t0 = bench_now_ms();
		if (tpm_endorsement(t, &e) != 0)
			goto fail;
		ms[i] = bench_now_ms() - t0;
		tpm_endorsement_free(e);
		e = NULL;
	}
	bench_report("GetEndorsement", ms, count);
	for (i = 0; i < count; i++) {
		t0 = bench_now_ms();
		if (tpm_ak_get(t, &ak) != 0)
			goto fail;
		ms[i] = bench_now_ms() - t0;
	}
	bench_report("GetAttestationKey", ms, count);
	for (i = 0; i < count; i++) {
		nonce[0] = (uint8_t)i;
		t0 = bench_now_ms();
		if (tpm_quote(t, nonce, sizeof(nonce), &sel, q) != 0)
			goto fail;
		ms[i] = bench_now_ms() - t0;
	}
	bench_report("Quote sha256:0-7", ms, count);
	if (tpm_transient_count(t, &after) != 0)
		goto fail;
	printf("transient objects before %u, after %u\n", before, after);
	rc = after == before ? 0 : 1;
	goto out;
fail:
	fprintf(stderr, "attestor bench: %s\n", err_detail());
out:
	tpm_endorsement_free(e);
	tpm_close(t);
	free(ms);
	free(q);
	return rc;
}

static int help_main(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
	{ "serve", serve_main },
	{ "bench", bench_main },
	{ "help", help_main },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help_main(argc, argv);
	/* "attestor --config FILE" is "attestor serve --config FILE" */
	if (argv[1][0] == '-')
		return serve_main(argc, argv);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "attestor: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
