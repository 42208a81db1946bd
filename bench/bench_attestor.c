/* The attestor's pull service in a thread of the benchmark, and its counters. */
#define LOG_MODULE "bench"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_attestor.h"
#include "log.h"
/* attestor/ and verifier/ both have a config.h (and may share more names):
 * name the directory. */
#include "../attestor/config.h"
#include "../attestor/service.h"
#include "../attestor/tpm.h"
#include "tpmpub.h"

/* DeliverResult, the last method, follows the verdict: outside an exchange's timing. */
_Static_assert(BENCH_METHODS == SERVICE_DELIVER_RESULT, "one sample slot per method of an exchange");
_Static_assert(BENCH_TPM_CMDS >= TPM_STATS_MAX, "room for every TPM command name");

struct bench_attestor {
	struct service *svc;
	pthread_t thread;
	int thread_up;
	int serve_rc;
};

static double bench_ns_to_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static int bench_attestor_config(const struct bench_attestor_opts *o, struct attestor_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = CONFIG_MODE_PULL;
	c->ak_alg = tpmpub_type_from_name(o->ak_alg);
	c->ek_alg = tpmpub_type_from_name(o->ek_alg);
	if (c->ak_alg == TPM2_ALG_ERROR || c->ek_alg == TPM2_ALG_ERROR)
		return err_set(AERR_INVALID_ARG, "AK %s / EK %s: expected rsa or ecc", o->ak_alg, o->ek_alg);
	if (snprintf(c->tcti, sizeof(c->tcti), "%s", o->tcti) >= (int)sizeof(c->tcti) ||
	    snprintf(c->tls.ca, sizeof(c->tls.ca), "%s/ca.pem", o->pki_dir) >= (int)sizeof(c->tls.ca) ||
	    snprintf(c->tls.cert, sizeof(c->tls.cert), "%s/attestor.pem", o->pki_dir) >=
		    (int)sizeof(c->tls.cert) ||
	    snprintf(c->tls.key, sizeof(c->tls.key), "%s/attestor.key", o->pki_dir) >=
		    (int)sizeof(c->tls.key))
		return err_set(AERR_INVALID_ARG, "tcti or pki path too long");
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:0");
	/* The demo PKI's verifier (certs/mkpki.sh), whose driver the benchmark runs. */
	snprintf(c->verifier_ids[0], sizeof(c->verifier_ids[0]), "verifier");
	c->n_verifier_ids = 1;
	if (o->state_dir)
		snprintf(c->state_dir, sizeof(c->state_dir), "%s", o->state_dir);
	c->log_level = log_get_level();
	return 0;
}

static void *bench_attestor_thread(void *arg)
{
	struct bench_attestor *b = arg;

	b->serve_rc = service_pull_serve(b->svc);
	return NULL;
}

int bench_attestor_start(const struct bench_attestor_opts *o, struct bench_attestor **out)
{
	struct attestor_config cfg;
	struct bench_attestor *b = NULL;
	int r;

	*out = NULL;
	if ((r = bench_attestor_config(o, &cfg)) != 0)
		return r;
	if (!(b = calloc(1, sizeof(*b))))
		return err_set(AERR_ALLOC, "bench attestor");
	if ((r = service_pull_start(&cfg, &b->svc)) != 0)
		goto out;
	if (pthread_create(&b->thread, NULL, bench_attestor_thread, b) != 0) {
		r = err_set(AERR_INTERNAL, "pthread_create");
		goto out;
	}
	b->thread_up = 1;
	*out = b;
	b = NULL; /* transferred */
	r = 0;
out:
	if (b) {
		service_pull_free(b->svc);
		free(b);
	}
	return r;
}

int bench_attestor_port(const struct bench_attestor *b)
{
	return service_pull_port(b->svc);
}

void bench_attestor_reset(struct bench_attestor *b)
{
	service_pull_stats_reset(b->svc);
	tpm_stats_reset(service_pull_tpm(b->svc));
}

int bench_attestor_sample(struct bench_attestor *b, uint64_t calls, struct bench_attestor_sample *out)
{
	struct service_stats ss;
	struct tpm_stats ts;
	struct timespec pause = { 0, 20000 };
	size_t i;
	int waited;

	memset(out, 0, sizeof(*out));
	/* The client has its reply before the handler returns and is counted. */
	for (waited = 0;; waited++) {
		service_pull_stats(b->svc, &ss);
		if (ss.calls >= calls)
			break;
		if (waited > 100000)
			return err_set(AERR_STATE, "%llu of %llu calls accounted after 2 s",
				       (unsigned long long)ss.calls, (unsigned long long)calls);
		nanosleep(&pause, NULL);
	}
	tpm_stats_get(service_pull_tpm(b->svc), &ts);
	out->calls = ss.calls;
	for (i = 0; i < BENCH_METHODS; i++) {
		out->handler_ms[i] = bench_ns_to_ms(ss.m[i].ns);
		out->tpm_ms[i] = bench_ns_to_ms(ss.m[i].tpm_ns);
	}
	out->tpm_total_ms = bench_ns_to_ms(ts.ns);
	out->tpm_calls = ts.count;
	out->ncmds = ts.n;
	for (i = 0; i < ts.n; i++) {
		out->cmd[i].name = ts.cmd[i].name;
		out->cmd[i].count = ts.cmd[i].count;
		out->cmd[i].ms = bench_ns_to_ms(ts.cmd[i].ns);
	}
	return 0;
}

int bench_attestor_stop(struct bench_attestor *b, uint32_t *transient)
{
	int r = 0;

	*transient = 0;
	if (!b)
		return 0;
	if (b->thread_up) {
		service_pull_stop(b->svc);
		pthread_join(b->thread, NULL);
		if (b->serve_rc != 0)
			r = err_set(b->serve_rc, "attestor service stopped with %s", err_str(b->serve_rc));
	}
	/* Serving stopped: the TPM is ours again. */
	if (r == 0)
		r = tpm_transient_count(service_pull_tpm(b->svc), transient);
	service_pull_free(b->svc);
	free(b);
	return r;
}

int bench_attestor_ak_cost(const struct bench_attestor_opts *o, size_t n, double *first_ms,
			   double *create_ms)
{
	struct attestor_config cfg;
	struct tpm_opts opts;
	struct tpm *t = NULL;
	struct tpm_stats ts;
	struct tpm_ak ak;
	struct timespec t0, t1;
	size_t i, k;
	int r;

	if ((r = bench_attestor_config(o, &cfg)) != 0)
		return r;
	opts = (struct tpm_opts){ .tcti = cfg.tcti, .ek_alg = cfg.ek_alg, .ak_alg = cfg.ak_alg };
	for (i = 0; i < n; i++) {
		if ((r = tpm_open(&opts, &t)) != 0)
			goto out;
		tpm_stats_reset(t);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((r = tpm_ak_get(t, &ak)) != 0)
			goto out;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		tpm_stats_get(t, &ts);
		first_ms[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		create_ms[i] = 0;
		for (k = 0; k < ts.n; k++)
			if (strcmp(ts.cmd[k].name, "Create") == 0)
				create_ms[i] = bench_ns_to_ms(ts.cmd[k].ns);
		tpm_close(t);
		t = NULL;
	}
	r = 0;
out:
	tpm_close(t);
	return r;
}
