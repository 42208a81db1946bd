/* bench_pull: times the pull exchange (verifier pull driver -> attestor pull
 * service -> swtpm) over many runs, and beside it the time the attestor spent
 * in TPM commands during each exchange: the reference the exchange is held
 * to ("within 1.3x the sum of the TPM commands it needs").
 *
 * One process: the attestor's real service (attestor-core) serves in a thread
 * over mTLS on 127.0.0.1, the verifier's real pull driver (verifier-core)
 * drives exchanges against it. A benchmark, not a product binary: the
 * verifier program itself still never links ESYS. scripts/bench.sh runs it. */
#define LOG_MODULE "bench"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_attestor.h"
#include "crypto.h"
#include "log.h"
#include "pull/driver.h" /* verifier-core is linked first: its config.h */
#include "rpc.h"

#define BENCH_MAX_CONFIGS 8
#define BENCH_TARGET_RATIO 1.3

/* Stage k of the pull exchange is answered by the attestor's method k. */
_Static_assert(PULL_NSTAGES == BENCH_METHODS, "one attestor method per pull stage");

static const char *const bench_method_stage[BENCH_METHODS] = {
	"endorsement", "ak", "activation", "quote", "secrets",
};

struct bench_args {
	const char *verifier_config;
	const char *tcti;
	const char *pki_dir;
	const char *state_dir;    /* the attestor's secret store, when secrets are configured */
	const char *json;
	long runs, warmup, ak_runs;
	long requote;             /* quote rounds with the activated AK after the exchanges */
	size_t nconfigs;
	struct {
		char ak[8], ek[8];
	} configs[BENCH_MAX_CONFIGS];
	double check_ratio;       /* > 0: exit 3 when an ECC-AK configuration exceeds it */
};

struct bench_dist {
	double median, p90, min, max, mean;
};

/* Per-exchange series of one configuration. */
struct bench_series {
	long n;
	double *total, *tpm, *ratio;
	double *rpc[PULL_NSTAGES], *check[PULL_NSTAGES];
	double *handler[BENCH_METHODS], *stpm[BENCH_METHODS];
	size_t ncmds;
	const char *cmd_name[BENCH_TPM_CMDS];
	double *cmd_ms[BENCH_TPM_CMDS];
	uint64_t cmd_count[BENCH_TPM_CMDS];  /* summed over exchanges */
	double *ak_first, *ak_create;
	long ak_n;
	double *rq_total, *rq_tpm, *rq_ratio;  /* re-attestation: pull_requote rounds */
	long rq_n;
	uint32_t transient_left;
};

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct bench_dist bench_stats(const double *v, long n)
{
	struct bench_dist d = { 0 };
	double *s;
	long i, k;

	if (n <= 0 || !(s = malloc((size_t)n * sizeof(*s))))
		return d;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), bench_cmp);
	d.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	k = (long)ceil(0.9 * (double)n) - 1;  /* nearest rank */
	d.p90 = s[k < 0 ? 0 : k];
	d.min = s[0];
	d.max = s[n - 1];
	for (i = 0; i < n; i++)
		d.mean += s[i];
	d.mean /= (double)n;
	free(s);
	return d;
}

static double *bench_alloc(long n)
{
	return calloc((size_t)(n > 0 ? n : 1), sizeof(double));
}

static void bench_series_free(struct bench_series *s)
{
	size_t i;

	free(s->total);
	free(s->tpm);
	free(s->ratio);
	for (i = 0; i < PULL_NSTAGES; i++) {
		free(s->rpc[i]);
		free(s->check[i]);
	}
	for (i = 0; i < BENCH_METHODS; i++) {
		free(s->handler[i]);
		free(s->stpm[i]);
	}
	for (i = 0; i < s->ncmds; i++)
		free(s->cmd_ms[i]);
	free(s->ak_first);
	free(s->ak_create);
	free(s->rq_total);
	free(s->rq_tpm);
	free(s->rq_ratio);
	memset(s, 0, sizeof(*s));
}

static int bench_series_init(struct bench_series *s, long n, long ak_n, long rq_n)
{
	size_t i;
	int ok;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->ak_n = ak_n;
	s->rq_n = rq_n;
	ok = (s->total = bench_alloc(n)) && (s->tpm = bench_alloc(n)) && (s->ratio = bench_alloc(n)) &&
	     (s->ak_first = bench_alloc(ak_n)) && (s->ak_create = bench_alloc(ak_n)) &&
	     (s->rq_total = bench_alloc(rq_n)) && (s->rq_tpm = bench_alloc(rq_n)) && (s->rq_ratio = bench_alloc(rq_n));
	for (i = 0; ok && i < PULL_NSTAGES; i++)
		ok = (s->rpc[i] = bench_alloc(n)) && (s->check[i] = bench_alloc(n));
	for (i = 0; ok && i < BENCH_METHODS; i++)
		ok = (s->handler[i] = bench_alloc(n)) && (s->stpm[i] = bench_alloc(n));
	return ok ? 0 : err_set(AERR_ALLOC, "bench series");
}

/* Command name -> column, added in order of first use. */
static int bench_cmd_slot(struct bench_series *s, const char *name, size_t *slot)
{
	size_t i;

	for (i = 0; i < s->ncmds; i++)
		if (strcmp(s->cmd_name[i], name) == 0) {
			*slot = i;
			return 0;
		}
	if (s->ncmds == BENCH_TPM_CMDS)
		return err_set(AERR_TOO_LARGE, "more than %d TPM command names", BENCH_TPM_CMDS);
	if (!(s->cmd_ms[s->ncmds] = bench_alloc(s->n)))
		return err_set(AERR_ALLOC, "bench series");
	s->cmd_name[s->ncmds] = name;
	*slot = s->ncmds++;
	return 0;
}

/* Re-attestation as `verifier serve` does it between full exchanges: a
 * fresh nonce and quote with the AK the last exchange activated. The
 * reference is the TPM time of the same round (the Quote and PCR reads). */
static int bench_requote(struct pull_driver *d, struct bench_attestor *att, struct bench_series *s)
{
	struct bench_attestor_sample smp;
	struct pull_result res;
	long i;
	int r = 0;

	for (i = 0; i < s->rq_n; i++) {
		bench_attestor_reset(att);
		if ((r = pull_requote(d, &res)) != 0) {
			r = err_set(r, "quote round %ld failed: %s", i, res.reason);
			goto out;
		}
		if ((r = bench_attestor_sample(att, (uint64_t)res.stages_done, &smp)) != 0)
			goto out;
		s->rq_total[i] = res.total_ms;
		s->rq_tpm[i] = smp.tpm_total_ms;
		s->rq_ratio[i] = smp.tpm_total_ms > 0 ? res.total_ms / smp.tpm_total_ms : 0;
	}
out:
	return r;
}

static int bench_one_config(const struct bench_args *a, struct verifier_config *vcfg, const char *ak,
			    const char *ek, struct bench_series *s)
{
	struct bench_attestor_opts o = { .tcti = a->tcti, .ak_alg = ak, .ek_alg = ek, .pki_dir = a->pki_dir,
					  .state_dir = a->state_dir };
	struct bench_attestor *att = NULL;
	struct bench_attestor_sample smp;
	struct pull_driver *d = NULL;
	struct pull_result res;
	char target[64];
	long i;
	size_t k, slot = 0;
	int r;

	vcfg->ak_alg = strcmp(ak, "rsa") == 0 ? TPM2_ALG_RSA : TPM2_ALG_ECC;
	vcfg->ek_alg = strcmp(ek, "rsa") == 0 ? TPM2_ALG_RSA : TPM2_ALG_ECC;
	fprintf(stderr, "bench: %s AK / %s EK: AK creation x%ld ...\n", ak, ek, a->ak_runs);
	if ((r = bench_attestor_ak_cost(&o, (size_t)a->ak_runs, s->ak_first, s->ak_create)) != 0)
		goto out;
	if ((r = bench_attestor_start(&o, &att)) != 0)
		goto out;
	snprintf(target, sizeof(target), "127.0.0.1:%d", bench_attestor_port(att));
	if ((r = pull_open(vcfg, target, &d)) != 0)
		goto out;
	fprintf(stderr, "bench: %s AK / %s EK: %ld warm-up + %ld exchanges with %s ...\n", ak, ek,
		a->warmup, a->runs, target);
	for (i = -a->warmup; i < a->runs; i++) {
		bench_attestor_reset(att);
		if ((r = pull_attest(d, &res)) != 0) {
			r = err_set(r, "exchange %ld failed at %s: %s", i, pull_stage_name(res.failed_stage),
				    res.reason);
			goto out;
		}
		if ((r = bench_attestor_sample(att, (uint64_t)res.stages_done, &smp)) != 0)
			goto out;
		if (i < 0)
			continue;
		s->total[i] = res.total_ms;
		s->tpm[i] = smp.tpm_total_ms;
		s->ratio[i] = smp.tpm_total_ms > 0 ? res.total_ms / smp.tpm_total_ms : 0;
		for (k = 0; k < PULL_NSTAGES; k++) {
			s->rpc[k][i] = res.t[k].rpc_ms;
			s->check[k][i] = res.t[k].check_ms;
		}
		for (k = 0; k < BENCH_METHODS; k++) {
			s->handler[k][i] = smp.handler_ms[k];
			s->stpm[k][i] = smp.tpm_ms[k];
		}
		for (k = 0; k < smp.ncmds; k++) {
			if ((r = bench_cmd_slot(s, smp.cmd[k].name, &slot)) != 0)
				goto out;
			s->cmd_ms[slot][i] = smp.cmd[k].ms;
			s->cmd_count[slot] += smp.cmd[k].count;
		}
	}
	if ((r = bench_requote(d, att, s)) != 0)
		goto out;
	r = 0;
out:
	pull_close(d);
	if (att) {
		int r2 = bench_attestor_stop(att, &s->transient_left);

		if (r == 0)
			r = r2;
	}
	return r;
}

/* ------------------------------------------------------------ reporting */

static void bench_print_config(const char *ak, const char *ek, const struct bench_series *s)
{
	struct bench_dist t = bench_stats(s->total, s->n), p = bench_stats(s->tpm, s->n);
	struct bench_dist q = bench_stats(s->ratio, s->n);
	struct bench_dist af = bench_stats(s->ak_first, s->ak_n), ac = bench_stats(s->ak_create, s->ak_n);
	size_t k;

	printf("\n== %s AK, %s EK: %ld exchanges; ms, median [p90]\n", ak, ek, s->n);
	printf("%-12s %17s %17s %17s %17s %17s\n", "stage", "verifier RPC", "attestor TPM",
	       "RPC - TPM", "attestor handler", "verifier checks");
	for (k = 0; k < PULL_NSTAGES; k++) {
		struct bench_dist rp = bench_stats(s->rpc[k], s->n), ck = bench_stats(s->check[k], s->n);
		struct bench_dist h = bench_stats(s->handler[k], s->n), tp = bench_stats(s->stpm[k], s->n);
		double *tr = bench_alloc(s->n);
		struct bench_dist x;
		long i;

		if (!tr)
			continue;
		for (i = 0; i < s->n; i++)
			tr[i] = s->rpc[k][i] - s->stpm[k][i];
		x = bench_stats(tr, s->n);
		free(tr);
		printf("%-12s %8.3f [%6.3f] %8.3f [%6.3f] %8.3f [%6.3f] %8.3f [%6.3f] %8.3f [%6.3f]\n",
		       bench_method_stage[k], rp.median, rp.p90, tp.median, tp.p90, x.median, x.p90,
		       h.median, h.p90, ck.median, ck.p90);
	}
	printf("%-12s %8.3f [%6.3f] (whole exchange)  TPM sum %8.3f [%6.3f]  ratio %.3f [%.3f]\n",
	       "total", t.median, t.p90, p.median, p.p90, q.median, q.p90);
	printf("TPM commands per exchange (ESYS call incl. marshalling, TCTI, swtpm):\n");
	for (k = 0; k < s->ncmds; k++) {
		struct bench_dist c = bench_stats(s->cmd_ms[k], s->n);

		printf("  %-22s x%-5.2f %8.3f [%6.3f] ms\n", s->cmd_name[k],
		       (double)s->cmd_count[k] / (double)s->n, c.median, c.p90);
	}
	printf("AK creation (fresh attestor, %ld runs): first GetAttestationKey %.1f [%.1f] ms "
	       "(min %.1f, max %.1f), of which TPM2_Create %.1f [%.1f] ms\n",
	       s->ak_n, af.median, af.p90, af.min, af.max, ac.median, ac.p90);
	if (s->rq_n > 0) {
		struct bench_dist rt = bench_stats(s->rq_total, s->rq_n), rp = bench_stats(s->rq_tpm, s->rq_n);
		struct bench_dist rr = bench_stats(s->rq_ratio, s->rq_n);

		printf("re-attestation (quote round with the activated AK, %ld rounds): %.3f [%.3f] ms, "
		       "TPM %.3f [%.3f] ms, ratio %.3f [%.3f]\n",
		       s->rq_n, rt.median, rt.p90, rp.median, rp.p90, rr.median, rr.p90);
	}
	printf("transient objects left in the TPM: %u\n", s->transient_left);
}

static void bench_json_dist(FILE *f, const char *key, const double *v, long n, const char *tail)
{
	struct bench_dist d = bench_stats(v, n);

	fprintf(f, "\"%s\": {\"median\": %.4f, \"p90\": %.4f, \"min\": %.4f, \"max\": %.4f, \"mean\": %.4f}%s",
		key, d.median, d.p90, d.min, d.max, d.mean, tail);
}

static int bench_write_json(const struct bench_args *a, struct bench_series *ss)
{
	FILE *f = fopen(a->json, "w");
	size_t c, k;

	if (!f)
		return err_set(AERR_IO, "cannot write %s", a->json);
	fprintf(f, "{\n  \"benchmark\": \"pull exchange\",\n  \"unit\": \"ms\",\n");
	fprintf(f, "  \"setup\": \"one process: verifier pull driver -> attestor pull service "
		   "(thread) over mTLS on 127.0.0.1 -> swtpm over TCP\",\n");
	fprintf(f, "  \"tcti\": \"%s\",\n  \"cpus\": %ld,\n  \"runs\": %ld,\n  \"warmup\": %ld,\n",
		a->tcti, sysconf(_SC_NPROCESSORS_ONLN), a->runs, a->warmup);
	fprintf(f, "  \"target\": {\"ak\": \"ecc\", \"max_ratio_exchange_to_tpm\": %.2f},\n",
		BENCH_TARGET_RATIO);
	fprintf(f, "  \"configs\": [\n");
	for (c = 0; c < a->nconfigs; c++) {
		struct bench_series *s = &ss[c];
		struct bench_dist t = bench_stats(s->total, s->n), p = bench_stats(s->tpm, s->n);

		fprintf(f, "    {\"ak\": \"%s\", \"ek\": \"%s\", \"exchanges\": %ld,\n      ",
			a->configs[c].ak, a->configs[c].ek, s->n);
		bench_json_dist(f, "total_ms", s->total, s->n, ",\n      ");
		bench_json_dist(f, "tpm_ms", s->tpm, s->n, ",\n      ");
		bench_json_dist(f, "ratio", s->ratio, s->n, ",\n      ");
		fprintf(f, "\"ratio_of_medians\": %.4f,\n      \"stages\": {\n", p.median > 0 ? t.median / p.median : 0);
		for (k = 0; k < PULL_NSTAGES; k++) {
			fprintf(f, "        \"%s\": {", bench_method_stage[k]);
			bench_json_dist(f, "rpc_ms", s->rpc[k], s->n, ", ");
			bench_json_dist(f, "check_ms", s->check[k], s->n, ", ");
			bench_json_dist(f, "handler_ms", s->handler[k], s->n, ", ");
			bench_json_dist(f, "tpm_ms", s->stpm[k], s->n, "}");
			fprintf(f, "%s\n", k + 1 < PULL_NSTAGES ? "," : "");
		}
		fprintf(f, "      },\n      \"tpm_commands\": [\n");
		for (k = 0; k < s->ncmds; k++) {
			fprintf(f, "        {\"name\": \"%s\", \"per_exchange\": %.3f, ", s->cmd_name[k],
				(double)s->cmd_count[k] / (double)s->n);
			bench_json_dist(f, "ms", s->cmd_ms[k], s->n, "}");
			fprintf(f, "%s\n", k + 1 < s->ncmds ? "," : "");
		}
		fprintf(f, "      ],\n      \"ak_creation\": {\"runs\": %ld, ", s->ak_n);
		bench_json_dist(f, "first_get_ms", s->ak_first, s->ak_n, ", ");
		bench_json_dist(f, "create_ms", s->ak_create, s->ak_n, "},\n");
		if (s->rq_n > 0) {
			fprintf(f, "      \"requote\": {\"rounds\": %ld, ", s->rq_n);
			bench_json_dist(f, "total_ms", s->rq_total, s->rq_n, ", ");
			bench_json_dist(f, "tpm_ms", s->rq_tpm, s->rq_n, ", ");
			bench_json_dist(f, "ratio", s->rq_ratio, s->rq_n, "},\n");
		}
		fprintf(f, "      \"transient_objects_left\": %u}%s\n", s->transient_left,
			c + 1 < a->nconfigs ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0)
		return err_set(AERR_IO, "cannot write %s", a->json);
	return 0;
}

/* ------------------------------------------------------------ command line */

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: bench_pull --verifier-config FILE --tcti TCTI --pki DIR [--state-dir DIR]\n"
		"                  [--config AK/EK]... [--runs N] [--warmup N] [--ak-runs N]\n"
		"                  [--requote N] [--json FILE] [--check-ratio X]\n"
		"  --config      AK/EK algorithms, rsa|ecc each (default: ecc/rsa rsa/rsa)\n"
		"  --runs        measured exchanges per configuration (default 200)\n"
		"  --warmup      exchanges first, not measured (default 5: TLS handshake, caches)\n"
		"  --ak-runs     AK creations per configuration (default 10)\n"
		"  --requote     quote rounds with the activated AK after the exchanges\n"
		"                (re-attestation; default 0)\n"
		"  --check-ratio exit 3 when an ECC-AK configuration's median exchange exceeds\n"
		"                X times its median TPM time\n"
		"  --state-dir   the attestor's secret store (needed when the verifier config\n"
		"                has [secret] sections: each exchange then delivers them)\n"
		"The verifier config gives ek_roots, pcrs, tls; its ak_alg/ek_alg are overridden.\n");
}

static int bench_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;

	*out = strtol(s, &end, 10);
	return *s && !*end && *out >= lo && *out <= hi ? 0 : -1;
}

static int bench_parse_args(int argc, char **argv, struct bench_args *a)
{
	static const struct option opts[] = {
		{ "verifier-config", required_argument, NULL, 'v' },
		{ "tcti", required_argument, NULL, 't' },
		{ "pki", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "runs", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "ak-runs", required_argument, NULL, 'a' },
		{ "json", required_argument, NULL, 'j' },
		{ "requote", required_argument, NULL, 'q' },
		{ "check-ratio", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char ak[8], ek[8], *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->runs = 200;
	a->warmup = 5;
	a->ak_runs = 10;
	while ((c = getopt_long(argc, argv, "v:t:p:s:c:n:w:a:j:q:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': a->verifier_config = optarg; break;
		case 't': a->tcti = optarg; break;
		case 'p': a->pki_dir = optarg; break;
		case 's': a->state_dir = optarg; break;
		case 'j': a->json = optarg; break;
		case 'n': if (bench_parse_long(optarg, 1, 1000000, &a->runs)) goto bad; break;
		case 'w': if (bench_parse_long(optarg, 0, 1000000, &a->warmup)) goto bad; break;
		case 'a': if (bench_parse_long(optarg, 1, 10000, &a->ak_runs)) goto bad; break;
		case 'q': if (bench_parse_long(optarg, 0, 1000000, &a->requote)) goto bad; break;
		case 'r':
			a->check_ratio = strtod(optarg, &end);
			if (*end || !(a->check_ratio > 0))
				goto bad;
			break;
		case 'c':
			if (a->nconfigs == BENCH_MAX_CONFIGS ||
			    sscanf(optarg, "%3[a-z]/%3[a-z]", ak, ek) != 2 ||
			    (strcmp(ak, "rsa") && strcmp(ak, "ecc")) || (strcmp(ek, "rsa") && strcmp(ek, "ecc")))
				goto bad;
			snprintf(a->configs[a->nconfigs].ak, sizeof(a->configs[0].ak), "%s", ak);
			snprintf(a->configs[a->nconfigs].ek, sizeof(a->configs[0].ek), "%s", ek);
			a->nconfigs++;
			break;
		case 'h': bench_usage(stdout); exit(0);
		default: goto bad;
		}
	}
	if (optind != argc || !a->verifier_config || !a->tcti || !a->pki_dir)
		goto bad;
	if (a->nconfigs == 0) {
		a->nconfigs = 2;
		snprintf(a->configs[0].ak, sizeof(a->configs[0].ak), "ecc");
		snprintf(a->configs[0].ek, sizeof(a->configs[0].ek), "rsa");
		snprintf(a->configs[1].ak, sizeof(a->configs[1].ak), "rsa");
		snprintf(a->configs[1].ek, sizeof(a->configs[1].ek), "rsa");
	}
	return 0;
bad:
	bench_usage(stderr);
	return -1;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct verifier_config *vcfg = NULL;
	struct bench_series ss[BENCH_MAX_CONFIGS];
	size_t c, done = 0;
	int rc = 1, r, rpc_up = 0, missed = 0;

	crypto_process_init();
	memset(ss, 0, sizeof(ss));
	if (bench_parse_args(argc, argv, &a) != 0)
		return 2;
	/* Per-exchange INFO lines would be timed too. */
	if (!getenv("ATTEST_LOG_LEVEL"))
		log_set_level(LOG_LEVEL_WARN);
	if ((r = verifier_config_load(a.verifier_config, &vcfg)) != 0) {
		fprintf(stderr, "bench_pull: %s\n", err_detail());
		return 2;
	}
	rpc_global_init();
	rpc_up = 1;
	for (c = 0; c < a.nconfigs; c++) {
		if ((r = bench_series_init(&ss[c], a.runs, a.ak_runs, a.requote)) != 0 ||
		    (r = bench_one_config(&a, vcfg, a.configs[c].ak, a.configs[c].ek, &ss[c])) != 0) {
			fprintf(stderr, "bench_pull: %s AK / %s EK: %s: %s\n", a.configs[c].ak,
				a.configs[c].ek, err_str(r), err_detail());
			goto out;
		}
		done++;
	}
	printf("pull exchange benchmark: verifier pull driver -> attestor pull service over mTLS "
	       "(127.0.0.1) -> swtpm (%s); %ld exchanges per configuration after %ld warm-up\n",
	       a.tcti, a.runs, a.warmup);
	printf("verifier RPC = round trip seen by the verifier; attestor TPM = ESYS time in the "
	       "handler; RPC - TPM = gRPC/mTLS, protobuf and attestor code;\nattestor handler = "
	       "handler wall time incl. sending the reply (overlaps the client); verifier checks = "
	       "parsing, certificates, MakeCredential, quote verification\n");
	for (c = 0; c < done; c++)
		bench_print_config(a.configs[c].ak, a.configs[c].ek, &ss[c]);
	printf("\n== summary, ms: median [p90]; ratio = exchange / TPM sum of the same exchange\n");
	printf("%-8s %-8s %18s %18s %16s %10s\n", "AK", "EK", "exchange", "TPM sum", "ratio",
	       "ratio of medians");
	for (c = 0; c < done; c++) {
		struct bench_dist t = bench_stats(ss[c].total, ss[c].n), p = bench_stats(ss[c].tpm, ss[c].n);
		struct bench_dist q = bench_stats(ss[c].ratio, ss[c].n);

		printf("%-8s %-8s %8.3f [%7.3f] %8.3f [%7.3f] %6.3f [%6.3f] %10.3f\n", a.configs[c].ak,
		       a.configs[c].ek, t.median, t.p90, p.median, p.p90, q.median, q.p90,
		       p.median > 0 ? t.median / p.median : 0);
		if (strcmp(a.configs[c].ak, "ecc") == 0) {
			int met = q.median <= BENCH_TARGET_RATIO;

			printf("   target (ECC AK): exchange <= %.1fx TPM sum: %s (median ratio %.3f)\n",
			       BENCH_TARGET_RATIO, met ? "met" : "MISSED", q.median);
			if (a.check_ratio > 0 && q.median > a.check_ratio)
				missed = 1;
		}
	}
	if (a.json) {
		if ((r = bench_write_json(&a, ss)) != 0) {
			fprintf(stderr, "bench_pull: %s\n", err_detail());
			goto out;
		}
		printf("\nJSON: %s\n", a.json);
	}
	rc = missed ? 3 : 0;
out:
	for (c = 0; c < BENCH_MAX_CONFIGS; c++)
		bench_series_free(&ss[c]);
	verifier_config_free(vcfg);
	if (rpc_up)
		rpc_global_shutdown();
	return rc;
}
