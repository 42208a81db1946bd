/* bench_push_load: the push-mode verifier under many simulated nodes.
 *
 * Starts the real `verifier serve` (push mode, mutual TLS, SQLite state) as a
 * separate process with a generated configuration, then drives the push
 * protocol from client threads over a few gRPC channels for N simulated nodes
 * (tests/simtpm: software EKs with certificates from a throwaway CA, RSA-2048
 * AKs, software ActivateCredential and Quote). Phase 1 enrolls every node
 * once; phase 2 re-attests them round-robin for a fixed time. Each challenge
 * is answered by what it asks for, so the loop works whether the verifier
 * asks a known AK for a credential again or goes straight to the quote.
 *
 * Reported per node count: attestations/s, latency p50/p99, RPCs per
 * attestation, failures, the verifier's RSS (VmRSS, VmHWM) and its CPU time
 * per attestation, beside `openssl speed rsa2048` measured in the same run.
 * The verifier's own database is read back afterwards (`verifier list`) and
 * must hold exactly the nodes and passing verdicts the bench counted.
 * Exit 0 only when every attestation passed and the record agrees. */
#define LOG_MODULE "bench"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "array.h"
#include "attest.pb-c.h"
#include "bench_fleet.h"
#include "clock.h"
#include "jsonout.h"
#include "crypto.h"
#include "hex.h"
#include "log.h"
#include "pcrsel.h"
#include "rpc.h"
#include "simtpm.h"
#include "wire.h"

extern char **environ;

#define BENCH_MAX_RUNS 4
#define BENCH_MAX_THREADS 256
#define BENCH_MAX_STEPS 8         /* RPCs one attestation may take before we call it a loop */
#define BENCH_TIMEOUT_MS 30000
#define BENCH_ABORT_FAILURES 100  /* a phase stops early after this many */
#define BENCH_PLUCKERS 6          /* gRPC's limit of threads plucking one completion queue */

struct bench_args {
	const char *verifier, *pki, *work, *json, *log_level, *pcrs;
	size_t nodes[BENCH_MAX_RUNS], nruns;
	int threads, channels, speed_seconds;
	int verifier_threads;     /* > 0: written as `threads =` into the verifier's config */
	size_t policies, groups;  /* > 0: nodes spread over named policies and groups (bench_fleet.h) */
	int operator_services;    /* the verifier also serves [admin] and [web], which nobody calls */
	int no_results;           /* [results] sign = false: verdicts without a signed EAR */
	double seconds;
	TPM2_ALG_ID ek_alg;
};

struct bench_speed {
	double rsa_sign, rsa_verify, ecdsa_sign, ecdsa_verify; /* per second, one core; 0 = not measured */
};

struct bench_mem {
	long rss_kb, hwm_kb;
};

/* What one phase measured. */
struct bench_phase {
	const char *name;
	uint64_t ok, failed;
	uint64_t rpcs[BENCH_MAX_STEPS + 1]; /* attestations that took k RPCs */
	double wall_s, p50_ms, p99_ms, max_ms;
	double verifier_cpu_s, bench_cpu_s;
	double operator_cpu_s;              /* of those, the threads attest-admin and attest-web */
	struct bench_mem mem;               /* the verifier's, after the phase */
	double loadavg;                     /* 1-minute load average after the phase: others' work too */
	char first_error[512];
};

struct bench_run {
	size_t nodes;
	struct bench_phase phase[2];
	int verifier_exit;                  /* exit status after SIGTERM; -1 unknown */
	int controls, controls_refused;
	char controls_text[1200];
	long db_nodes, db_passing, db_failed;
	long long db_pass, db_fail;
	int db_ok;
	struct bench_fleet fleet;
};

/* Shared by the client threads of one phase. */
struct bench_ctx {
	struct simtpm **nodes;
	size_t n;
	/* Per node: its last passing verdict, when it handed out the next quote
	 * request (answered without Hello, as the attestor does). Each node
	 * belongs to one client thread. */
	Attest__V1__PushChallenge **pending;
	struct rpc_channel **ch;
	int nch, threads;
	int reattest;                       /* phase 2: loop until deadline */
	double deadline;                    /* monotonic seconds */
	volatile int abort;
	pthread_mutex_t lock;
	uint64_t failed_total;
	int controls_verdicts;              /* refused controls that are verdicts of their node */
};

struct bench_thread {
	struct bench_ctx *ctx;
	int id;
	uint64_t ok, failed;
	uint64_t rpcs[BENCH_MAX_STEPS + 1];
	double *lat_ms;
	size_t nlat, cap;
	char first_error[512];
};

static unsigned bench_m_hello, bench_m_activate, bench_m_quote;

/* Controls: answers altered on purpose, which the verifier must refuse. */
enum bench_tamper { BENCH_HONEST = 0, BENCH_WRONG_SECRET, BENCH_BAD_SIGNATURE };

static double bench_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime from a /proc stat file, in seconds; -1 when unreadable. */
static double bench_stat_cpu(const char *path)
{
	char buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields count from the last ')'. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double bench_proc_cpu(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return bench_stat_cpu(path);
}

/* The CPU seconds of pid's threads named attest-admin and attest-web (the
 * operator services, web/web.h and admin/admin.h name them); 0 without. */
static double bench_operator_cpu(pid_t pid)
{
	char dir[64], path[400], comm[32];
	struct dirent *e;
	double sum = 0, v;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	if (!(d = opendir(dir)))
		return 0;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		if (strcmp(comm, "attest-admin\n") && strcmp(comm, "attest-web\n"))
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
		if ((v = bench_stat_cpu(path)) > 0)
			sum += v;
	}
	closedir(d);
	return sum;
}

static double bench_loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double v = -1;

	if (f) {
		if (fscanf(f, "%lf", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void bench_proc_mem(pid_t pid, struct bench_mem *m)
{
	char path[64], line[256];
	FILE *f;

	m->rss_kb = m->hwm_kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld kB", &m->rss_kb);
		sscanf(line, "VmHWM: %ld kB", &m->hwm_kb);
	}
	fclose(f);
}

/* ------------------------------------------------------------ openssl speed */

static void bench_openssl_speed(int seconds, struct bench_speed *sp)
{
	char cmd[128], line[512];
	FILE *f;

	memset(sp, 0, sizeof(*sp));
	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d rsa2048 2>/dev/null", seconds);
	if ((f = popen(cmd, "r"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "rsa 2048 bits %*fs %*fs %lf %lf", &sp->rsa_sign, &sp->rsa_verify) == 2)
				break;
		while (fgets(line, sizeof(line), f))
			;
		pclose(f);
	}
	/* P-256 always: the results' ES256 signature, and an ECC EK's. */
	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdsap256 2>/dev/null", seconds);
	if ((f = popen(cmd, "r"))) {
		while (fgets(line, sizeof(line), f))
			if (strstr(line, "ecdsa (nistp256)") &&
			    sscanf(strstr(line, ")") + 1, " %*fs %*fs %lf %lf", &sp->ecdsa_sign, &sp->ecdsa_verify) == 2)
				break;
		while (fgets(line, sizeof(line), f))
			;
		pclose(f);
	}
}

/* ------------------------------------------------------------ one attestation */

static void bench_errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bench_errf(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

static int bench_answer_credential(struct simtpm *node, struct rpc_channel *ch, const Attest__V1__PushChallenge *c,
				   enum bench_tamper tamper, ProtobufCMessage **resp, struct rpc_result *res, char *err,
				   size_t cap)
{
	Attest__V1__PushActivation m = ATTEST__V1__PUSH_ACTIVATION__INIT;
	Attest__V1__CredentialResponse cr = ATTEST__V1__CREDENTIAL_RESPONSE__INIT;
	const Attest__V1__CredentialChallenge *cc = c->credential;
	uint8_t secret[64];
	size_t len = 0;
	int r;

	if (cc->ek_alg != simtpm_ek_alg(node)) {
		bench_errf(err, cap, "credential for EK 0x%04x, the node has 0x%04x", cc->ek_alg, simtpm_ek_alg(node));
		return AERR_STATE;
	}
	if ((r = simtpm_activate_wire(node, cc->credential_blob.data, cc->credential_blob.len,
				      cc->encrypted_secret.data, cc->encrypted_secret.len, secret, sizeof(secret),
				      &len)) != 0) {
		bench_errf(err, cap, "ActivateCredential: %s", err_detail());
		return r;
	}
	if (tamper == BENCH_WRONG_SECRET && len)
		secret[0] ^= 1;
	cr.secret.data = secret;
	cr.secret.len = len;
	m.session_id = c->session_id;
	m.response = &cr;
	r = rpc_call_unary(ch, &attest__v1__verifier__descriptor, bench_m_activate, &m.base, BENCH_TIMEOUT_MS, 0,
			   resp, res);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r != 0)
		bench_errf(err, cap, "Activate: %s: %s", rpc_status_name(res->status), res->message);
	return r;
}

static int bench_answer_quote(struct simtpm *node, struct rpc_channel *ch, const Attest__V1__PushChallenge *c,
			      enum bench_tamper tamper, ProtobufCMessage **resp, struct rpc_result *res, char *err,
			      size_t cap)
{
	Attest__V1__PushQuote m = ATTEST__V1__PUSH_QUOTE__INIT;
	Attest__V1__QuoteResponse q = ATTEST__V1__QUOTE_RESPONSE__INIT;
	const Attest__V1__QuoteRequest *qr = c->quote;
	struct wire_pcr_values_buf vbuf;
	struct simtpm_quote sq;
	TPML_PCR_SELECTION sel;
	int r;

	if ((r = wire_pcrsel_from_proto(qr->pcrs, qr->n_pcrs, &sel)) != 0) {
		bench_errf(err, cap, "quote request selection: %s", err_detail());
		return r;
	}
	if ((r = simtpm_quote(node, qr->nonce.data, qr->nonce.len, &sel, &sq)) != 0) {
		bench_errf(err, cap, "Quote: %s", err_detail());
		return r;
	}
	if (tamper == BENCH_BAD_SIGNATURE)
		sq.sig[sq.sig_len - 1] ^= 1;
	q.attest.data = sq.attest;
	q.attest.len = sq.attest_len;
	q.signature.data = sq.sig;
	q.signature.len = sq.sig_len;
	wire_pcr_values_to_proto(&sq.values, &vbuf, &q.pcr_values, &q.n_pcr_values);
	/* No boot log or IMA list: the simulated node has none (the verifier
	 * requires them only with require_event_log / require_ima). */
	q.ima_offset = qr->ima_offset;
	m.session_id = c->session_id;
	m.quote = &q;
	r = rpc_call_unary(ch, &attest__v1__verifier__descriptor, bench_m_quote, &m.base, BENCH_TIMEOUT_MS, 0, resp,
			   res);
	if (r != 0)
		bench_errf(err, cap, "SubmitQuote: %s: %s", rpc_status_name(res->status), res->message);
	return r;
}

/* The quote request the node's last verdict handed out, answered (one call):
 * 0 with *resp, 1 when the verifier no longer knows it (Hello instead). */
static int bench_resume(struct simtpm *node, struct rpc_channel *ch, Attest__V1__PushChallenge **pending,
			ProtobufCMessage **resp, struct rpc_result *res, char *err, size_t cap)
{
	Attest__V1__PushChallenge first = ATTEST__V1__PUSH_CHALLENGE__INIT;
	int r;

	first.session_id = (*pending)->verdict->next_session_id;
	first.quote = (*pending)->verdict->next_quote;
	r = bench_answer_quote(node, ch, &first, BENCH_HONEST, resp, res, err, cap);
	protobuf_c_message_free_unpacked(&(*pending)->base, NULL);
	*pending = NULL;
	if (r == AERR_RPC && (res->status == RPC_NOT_FOUND || res->status == RPC_FAILED_PRECONDITION))
		return 1;
	return r;
}

/* Hello (or the quote request the last verdict handed out, when pending has
 * one), then whatever each challenge demands, until a verdict. 0 on a
 * passing verdict; *nrpc counts the calls made either way. */
static int bench_attest(struct simtpm *node, size_t index, struct rpc_channel *ch, enum bench_tamper tamper,
			Attest__V1__PushChallenge **pending, int *nrpc, char *err, size_t cap)
{
	Attest__V1__PushHello hello = ATTEST__V1__PUSH_HELLO__INIT;
	Attest__V1__Endorsement en = ATTEST__V1__ENDORSEMENT__INIT;
	Attest__V1__EndorsementKey ek = ATTEST__V1__ENDORSEMENT_KEY__INIT;
	Attest__V1__EndorsementKey *eks[1] = { &ek };
	Attest__V1__AttestationKey ak = ATTEST__V1__ATTESTATION_KEY__INIT;
	ProtobufCMessage *resp = NULL, *next = NULL;
	struct rpc_result res;
	char host[32];
	int r = AERR_INTERNAL;

	*nrpc = 0;
	snprintf(host, sizeof(host), "sim%zu", index);
	ek.alg = simtpm_ek_alg(node);
	ek.public_.data = (uint8_t *)simtpm_ek_public(node, &ek.public_.len);
	ek.certificate.data = (uint8_t *)simtpm_ek_cert(node, &ek.certificate.len);
	en.n_eks = 1;
	en.eks = eks;
	en.hostname = host;
	ak.public_.data = (uint8_t *)simtpm_ak_public(node, &ak.public_.len);
	ak.parent_ek_alg = ek.alg;
	hello.endorsement = &en;
	hello.ak = &ak;
	r = 1;
	if (pending && *pending) {
		(*nrpc)++;
		if ((r = bench_resume(node, ch, pending, &resp, &res, err, cap)) < 0)
			goto out;
	}
	if (r == 1) {
		(*nrpc)++;
		if ((r = rpc_call_unary(ch, &attest__v1__verifier__descriptor, bench_m_hello, &hello.base,
					BENCH_TIMEOUT_MS, 0, &resp, &res)) != 0) {
			bench_errf(err, cap, "Hello: %s: %s", rpc_status_name(res.status), res.message);
			goto out;
		}
	}
	for (;;) {
		const Attest__V1__PushChallenge *c = (const Attest__V1__PushChallenge *)resp;

		if (c->verdict) {
			if (!c->verdict->pass) {
				bench_errf(err, cap, "verdict FAIL: %s", c->verdict->reason ? c->verdict->reason : "");
				r = AERR_STATE;
				goto out;
			}
			if (pending && c->verdict->next_session_id && c->verdict->next_session_id[0] &&
			    c->verdict->next_quote) {
				*pending = (Attest__V1__PushChallenge *)resp;
				resp = NULL;
			}
			r = 0;
			goto out;
		}
		if (*nrpc >= BENCH_MAX_STEPS) {
			bench_errf(err, cap, "no verdict after %d RPCs", *nrpc);
			r = AERR_STATE;
			goto out;
		}
		(*nrpc)++;
		if (c->credential) {
			r = bench_answer_credential(node, ch, c, tamper, &next, &res, err, cap);
		} else if (c->quote) {
			r = bench_answer_quote(node, ch, c, tamper, &next, &res, err, cap);
		} else if (c->secrets) {
			bench_errf(err, cap, "the verifier delivers secrets: the simulated node cannot import them "
				   "(configure no [secret] for the benchmark)");
			r = AERR_UNSUPPORTED;
		} else {
			bench_errf(err, cap, "a challenge with no demand and no verdict");
			r = AERR_PARSE;
		}
		if (r != 0)
			goto out;
		protobuf_c_message_free_unpacked(resp, NULL);
		resp = next;
		next = NULL;
	}
out:
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return r;
}

/* ------------------------------------------------------------ client threads */

static int bench_lat_push(struct bench_thread *t, double ms)
{
	if (t->nlat == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4096;
		double *p = realloc(t->lat_ms, cap * sizeof(*p));

		if (!p)
			return err_set(AERR_ALLOC, "latencies");
		t->lat_ms = p;
		t->cap = cap;
	}
	t->lat_ms[t->nlat++] = ms;
	return 0;
}

static void *bench_thread_main(void *arg)
{
	struct bench_thread *t = arg;
	struct bench_ctx *ctx = t->ctx;
	struct rpc_channel *ch = ctx->ch[t->id % ctx->nch];
	char err[512];
	size_t i = (size_t)t->id;
	int nrpc, r;

	if (i >= ctx->n)
		return NULL;
	while (!ctx->abort) {
		double t0 = clock_mono_s(), t1;

		if (ctx->reattest && t0 >= ctx->deadline)
			break;
		err[0] = '\0';
		r = bench_attest(ctx->nodes[i], i, ch, BENCH_HONEST, &ctx->pending[i], &nrpc, err, sizeof(err));
		t1 = clock_mono_s();
		t->rpcs[nrpc <= BENCH_MAX_STEPS ? nrpc : BENCH_MAX_STEPS]++;
		if (r == 0) {
			t->ok++;
			if (bench_lat_push(t, (t1 - t0) * 1e3) != 0)
				ctx->abort = 1;
		} else {
			t->failed++;
			if (!t->first_error[0])
				snprintf(t->first_error, sizeof(t->first_error), "node %zu: %.480s", i, err);
			pthread_mutex_lock(&ctx->lock);
			if (++ctx->failed_total >= BENCH_ABORT_FAILURES)
				ctx->abort = 1;
			pthread_mutex_unlock(&ctx->lock);
		}
		i += (size_t)ctx->threads;
		if (i >= ctx->n) {
			if (!ctx->reattest)
				break;
			i = (size_t)t->id;
		}
	}
	return NULL;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double bench_pct(const double *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(q * (double)(n - 1) + 0.5);
	return v[k < n ? k : n - 1];
}

/* One phase: enroll (every node once) or re-attest (round-robin until
 * seconds have passed). */
static int bench_phase_run(struct bench_ctx *ctx, pid_t vpid, int reattest, double seconds, struct bench_phase *ph)
{
	struct bench_thread *th = NULL;
	pthread_t *tids = NULL;
	double *all = NULL, t0, c0, v0, o0;
	size_t nall = 0, k = 0;
	int started = 0, r = AERR_INTERNAL;

	ph->name = reattest ? "reattest" : "enroll";
	if (!(th = calloc((size_t)ctx->threads, sizeof(*th))) || !(tids = calloc((size_t)ctx->threads, sizeof(*tids)))) {
		r = err_set(AERR_ALLOC, "threads");
		goto out;
	}
	ctx->reattest = reattest;
	ctx->abort = 0;
	ctx->failed_total = 0;
	v0 = bench_proc_cpu(vpid);
	o0 = bench_operator_cpu(vpid);
	c0 = bench_self_cpu();
	t0 = clock_mono_s();
	ctx->deadline = t0 + seconds;
	for (int i = 0; i < ctx->threads; i++) {
		th[i].ctx = ctx;
		th[i].id = i;
		if (pthread_create(&tids[i], NULL, bench_thread_main, &th[i]) != 0) {
			ctx->abort = 1;
			r = err_set(AERR_INTERNAL, "pthread_create");
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	ph->wall_s = clock_mono_s() - t0;
	ph->bench_cpu_s = bench_self_cpu() - c0;
	ph->verifier_cpu_s = bench_proc_cpu(vpid);
	ph->operator_cpu_s = bench_operator_cpu(vpid) - o0;
	/* -1: the verifier is gone (it died during the phase). */
	ph->verifier_cpu_s = ph->verifier_cpu_s >= 0 && v0 >= 0 ? ph->verifier_cpu_s - v0 : -1;
	bench_proc_mem(vpid, &ph->mem);
	ph->loadavg = bench_loadavg();
	if (started != ctx->threads)
		goto out;
	for (int i = 0; i < started; i++) {
		ph->ok += th[i].ok;
		ph->failed += th[i].failed;
		for (int j = 0; j <= BENCH_MAX_STEPS; j++)
			ph->rpcs[j] += th[i].rpcs[j];
		if (!ph->first_error[0] && th[i].first_error[0])
			snprintf(ph->first_error, sizeof(ph->first_error), "%s", th[i].first_error);
		nall += th[i].nlat;
	}
	if (nall && !(all = malloc(nall * sizeof(*all)))) {
		r = err_set(AERR_ALLOC, "latencies");
		goto out;
	}
	for (int i = 0; i < started; i++) {
		if (th[i].nlat)
			memcpy(all + k, th[i].lat_ms, th[i].nlat * sizeof(*all));
		k += th[i].nlat;
	}
	qsort(all, nall, sizeof(*all), bench_cmp_double);
	ph->p50_ms = bench_pct(all, nall, 0.50);
	ph->p99_ms = bench_pct(all, nall, 0.99);
	ph->max_ms = nall ? all[nall - 1] : 0;
	r = 0;
out:
	for (int i = 0; th && i < ctx->threads; i++)
		free(th[i].lat_ms);
	free(all);
	free(th);
	free(tids);
	return r;
}

/* Before the load: a wrong credential secret (node 0) and a quote with a
 * flipped signature bit (node 1) must each be refused at that step, or the
 * figures below would not show that the verifier checked anything. Returns
 * how many were refused as expected; what happened goes to out. */
static int bench_controls(struct bench_ctx *ctx, char *out, size_t cap)
{
	/* verdict: a refusal that is a failing verdict of the node (it proved
	 * its TPM first); a wrong activation proves nothing, so it is a
	 * rejected attempt, never a verdict. */
	static const struct {
		enum bench_tamper tamper;
		const char *name, *step;
		int verdict;
	} controls[] = {
		{ BENCH_WRONG_SECRET, "wrong credential secret", "Activate: PERMISSION_DENIED", 0 },
		{ BENCH_BAD_SIGNATURE, "quote signature bit flipped", "SubmitQuote: PERMISSION_DENIED", 1 },
	};
	char err[512];
	size_t used = 0;
	int refused = 0, nrpc;

	out[0] = '\0';
	for (size_t k = 0; k < ARRAY_LEN(controls) && k < ctx->n; k++) {
		int r, ok;

		err[0] = '\0';
		r = bench_attest(ctx->nodes[k], k, ctx->ch[0], controls[k].tamper, NULL, &nrpc, err, sizeof(err));
		ok = r != 0 && strncmp(err, controls[k].step, strlen(controls[k].step)) == 0;
		refused += ok;
		ctx->controls_verdicts += ok && controls[k].verdict;
		if (used < cap)
			used += (size_t)snprintf(out + used, cap - used, "%s%s: %s (%s)", k ? "; " : "", controls[k].name,
						 ok ? "refused" : "NOT REFUSED AS EXPECTED", r == 0 ? "passed" : err);
	}
	return refused;
}

/* Every simulated node boots the same firmware: these PCR values, which
 * the verifier's policy expects (set once, shared by all nodes). */
static struct pcr_values bench_node_pcrs;

/* ------------------------------------------------------------ the verifier process */

static int bench_mkdir(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return err_set(AERR_IO, "mkdir %s: %s", path, strerror(errno));
	return 0;
}

static int bench_write_config(const struct bench_args *a, const char *dir, size_t nodes, char *conf, size_t cap)
{
	TPML_PCR_SELECTION sel;
	char hex[2 * CRYPTO_MAX_DIGEST + 1];
	FILE *f;
	int r;

	if ((r = pcrsel_parse(a->pcrs, &sel)) != 0)
		return r;
	snprintf(conf, cap, "%s/verifier.conf", dir);
	if (!(f = fopen(conf, "w")))
		return err_set(AERR_IO, "%s: %s", conf, strerror(errno));
	/* Every simulated node uses the load generator's one TLS identity: it
	 * may hold the whole table (a fleet gives each attestor its own). The
	 * window is long enough that nodes waiting between the phases (while
	 * --policies spreads them) are not failed. */
	fprintf(f, "; generated by bench_push_load for %zu simulated nodes\n"
		   "[verifier]\nmode = push\nlisten = 127.0.0.1:0\nsession_ttl = 60\n"
		   "reattest_interval = 1\nreattest_window = 600\nmax_sessions = %d\nmax_sessions_per_identity = %d\n"
		   "ek_roots = %s/ek-roots\nek_alg = %s\nrequire_ek_cert = true\npcrs = %s\nak_alg = rsa\n"
		   "nonce_ttl = 60\nstate_dir = %s/state\nlog_level = %s\n",
		nodes, 4 * a->threads + 64, 4 * a->threads + 64, dir, a->ek_alg == TPM2_ALG_RSA ? "rsa" : "ecc", a->pcrs,
		dir, a->log_level);
	if (a->verifier_threads > 0)
		fprintf(f, "threads = %d\n", a->verifier_threads);
	if (a->no_results)
		fprintf(f, "[results]\nsign = false\n");
	fprintf(f, "[tls]\nca = %s/ca.pem\ncert = %s/verifier.pem\nkey = %s/verifier.key\n", a->pki, a->pki, a->pki);
	if (a->operator_services) {
		/* Served, never called: what they cost an attestation by being there. */
		char token[1000];
		FILE *t;
		int fd;

		snprintf(token, sizeof(token), "%s/web.token", dir);
		if ((fd = open(token, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || !(t = fdopen(fd, "w"))) {
			fclose(f);
			return err_set(AERR_IO, "%s: %s", token, strerror(errno));
		}
		fprintf(t, "bench-token-0123456789abcdef0123456789abcdef\n");
		fclose(t);
		fprintf(f, "[admin]\nlisten = 127.0.0.1:0\noperators = operator\n[web]\nlisten = 127.0.0.1:0\n"
			   "token_file = %s\n", token);
	}
	fprintf(f, "[policy]\n");
	/* The policy expects the nodes' values (bench_node_pcrs). */
	for (uint32_t b = 0; b < sel.count; b++) {
		TPMI_ALG_HASH alg = sel.pcrSelections[b].hash;
		uint32_t mask = pcrsel_mask(&sel, alg);
		const struct pcr_bank *bank = pcr_values_bank(&bench_node_pcrs, alg);

		if (!bank) {
			fclose(f);
			return err_set(AERR_CONFIG, "simulated nodes have no %s bank", crypto_alg_name(alg));
		}

		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(mask & (1u << i)))
				continue;
			hex_encode(bank->value[i], crypto_digest_size(alg), hex);
			fprintf(f, "%s.%u = %s\n", crypto_alg_name(alg), i, hex);
		}
	}
	if (fclose(f) != 0)
		return err_set(AERR_IO, "%s: write failed", conf);
	return 0;
}

static int bench_wait_port(pid_t pid, const char *log, int *port)
{
	char line[1024], *p;
	double end = clock_mono_s() + 20;
	int status;

	*port = 0;
	while (clock_mono_s() < end) {
		FILE *f = fopen(log, "r");

		if (f) {
			while (fgets(line, sizeof(line), f))
				if (strstr(line, "serving attest.v1.Verifier") && (p = strstr(line, "(port ")) &&
				    sscanf(p, "(port %d)", port) == 1) {
					fclose(f);
					return 0;
				}
			fclose(f);
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			return err_set(AERR_IO, "the verifier exited before it served (status 0x%x); see %s", status, log);
		usleep(20000);
	}
	return err_set(AERR_IO, "the verifier did not report its port within 20 s; see %s", log);
}

static int bench_start_verifier(const struct bench_args *a, const char *conf, const char *log, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)a->verifier, "serve", "--config", (char *)conf, NULL };
	int rc;

	*pid = -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawn(pid, a->verifier, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return err_set(AERR_IO, "cannot start %s: %s", a->verifier, strerror(rc));
	return 0;
}

/* SIGTERM, then SIGKILL after 10 s. The exit status, or -1. */
static int bench_stop_verifier(pid_t pid)
{
	double end = clock_mono_s() + 10;
	int status;

	kill(pid, SIGTERM);
	while (clock_mono_s() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* `verifier list`: what the verifier's database recorded. */
static void bench_read_db(const struct bench_args *a, const char *conf, struct bench_run *run)
{
	char cmd[1200], line[512];
	FILE *f;

	run->db_nodes = run->db_passing = run->db_failed = -1;
	run->db_pass = run->db_fail = -1;
	snprintf(cmd, sizeof(cmd), "'%s' list --config '%s' 2>&1", a->verifier, conf);
	if (!(f = popen(cmd, "r")))
		return;
	/* One line per node, then the summary. */
	while (fgets(line, sizeof(line), f)) {
		long nodes, passing, failed;
		long long pass, fail;

		if (sscanf(line, "%ld nodes: %ld passing, %ld failed; verdicts recorded: %lld pass, %lld fail", &nodes,
			   &passing, &failed, &pass, &fail) == 5) {
			run->db_nodes = nodes;
			run->db_passing = passing;
			run->db_failed = failed;
			run->db_pass = pass;
			run->db_fail = fail;
		}
	}
	pclose(f);
}

static int bench_one(const struct bench_args *a, const struct simtpm_ca *ca, struct simtpm **nodes, size_t n,
		     struct bench_run *run)
{
	struct rpc_tls tls = { 0 };
	struct bench_ctx ctx;
	char dir[900], path[1000], conf[1000], log[1000];
	char ca_pem[1000], cert[1000], key[1000];
	TPML_PCR_SELECTION sel;
	pid_t pid = -1;
	int port = 0, r = AERR_INTERNAL;

	memset(run, 0, sizeof(*run));
	memset(&ctx, 0, sizeof(ctx));
	pthread_mutex_init(&ctx.lock, NULL);
	run->nodes = n;
	run->verifier_exit = -1;
	snprintf(dir, sizeof(dir), "%s/nodes-%zu", a->work, n);
	snprintf(path, sizeof(path), "%s/ek-roots", dir);
	if ((r = bench_mkdir(dir)) != 0 || (r = bench_mkdir(path)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/ek-roots/simtpm-ca.pem", dir);
	if ((r = simtpm_ca_write(ca, path)) != 0)
		goto out;
	/* A fresh database per run: every node is new to the verifier. */
	snprintf(path, sizeof(path), "%s/state", dir);
	if ((r = bench_mkdir(path)) != 0)
		goto out;
	for (const char *const *s = (const char *const[]){ "verifier.db", "verifier.db-wal", "verifier.db-shm", NULL };
	     *s; s++) {
		snprintf(path, sizeof(path), "%s/state/%s", dir, *s);
		unlink(path);
	}
	if ((r = bench_write_config(a, dir, n, conf, sizeof(conf))) != 0)
		goto out;
	snprintf(log, sizeof(log), "%s/verifier.log", dir);
	if ((r = bench_start_verifier(a, conf, log, &pid)) != 0 || (r = bench_wait_port(pid, log, &port)) != 0)
		goto out;

	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", a->pki);
	snprintf(cert, sizeof(cert), "%s/attestor.pem", a->pki);
	snprintf(key, sizeof(key), "%s/attestor.key", a->pki);
	tls.ca_file = ca_pem;
	tls.cert_file = cert;
	tls.key_file = key;
	tls.server_name = "verifier";
	snprintf(path, sizeof(path), "127.0.0.1:%d", port);
	if (!(ctx.ch = calloc((size_t)a->channels, sizeof(*ctx.ch)))) {
		r = err_set(AERR_ALLOC, "channels");
		goto out;
	}
	for (int i = 0; i < a->channels; i++)
		if ((r = rpc_channel_open(path, &tls, 0, &ctx.ch[i])) != 0)
			goto out;
	ctx.nch = a->channels;
	ctx.nodes = nodes;
	ctx.n = n;
	if (!(ctx.pending = calloc(n, sizeof(*ctx.pending)))) {
		r = err_set(AERR_ALLOC, "pending quote requests");
		goto out;
	}
	ctx.threads = a->threads;

	run->controls = n >= 2 ? 2 : (int)n;
	run->controls_refused = bench_controls(&ctx, run->controls_text, sizeof(run->controls_text));
	if ((r = bench_phase_run(&ctx, pid, 0, 0, &run->phase[0])) != 0)
		goto out;
	/* Every node enrolled: spread them over the policies before they
	 * re-attest (the running verifier reads each node's at its next
	 * attestation). */
	snprintf(path, sizeof(path), "%s/state", dir);
	run->fleet.policies = a->policies;
	run->fleet.groups = a->groups;
	if (a->policies && (r = pcrsel_parse(a->pcrs, &sel)) == 0)
		r = bench_fleet_spread(path, &sel, &bench_node_pcrs, &run->fleet);
	if (r != 0 || (r = bench_phase_run(&ctx, pid, 1, a->seconds, &run->phase[1])) != 0)
		goto out;
	r = 0;
out:
	for (int i = 0; ctx.ch && i < a->channels; i++)
		rpc_channel_close(ctx.ch[i]);
	free(ctx.ch);
	for (size_t i = 0; ctx.pending && i < n; i++)
		if (ctx.pending[i])
			protobuf_c_message_free_unpacked(&ctx.pending[i]->base, NULL);
	free(ctx.pending);
	pthread_mutex_destroy(&ctx.lock);
	if (pid > 0) {
		run->verifier_exit = bench_stop_verifier(pid);
		if (r == 0) {
			bench_read_db(a, conf, run);
			/* The refused controls that proved their TPM are the only
			 * failing verdicts; their nodes pass afterwards, in phase 1. */
			run->db_ok = run->db_nodes == (long)n && run->db_passing == (long)n && run->db_failed == 0 &&
				     run->db_pass == (long long)(run->phase[0].ok + run->phase[1].ok) &&
				     run->db_fail == ctx.controls_verdicts;
			snprintf(path, sizeof(path), "%s/state", dir);
			if (a->policies && ((r = bench_fleet_check(path, &run->fleet)) != 0 ||
					    (r = bench_fleet_dry_run(a->verifier, conf, dir, &sel, &bench_node_pcrs,
								     &run->fleet)) != 0))
				return r;
		}
	}
	return r;
}

/* ------------------------------------------------------------ report */

static double bench_rate(const struct bench_phase *p)
{
	return p->wall_s > 0 ? (double)p->ok / p->wall_s : 0;
}

static double bench_per_att_us(double cpu_s, const struct bench_phase *p)
{
	if (cpu_s < 0)
		return -1;
	return p->ok + p->failed ? cpu_s * 1e6 / (double)(p->ok + p->failed) : 0;
}

static double bench_mb(long kb)
{
	return kb < 0 ? -1 : (double)kb / 1024.0;
}

static double bench_mean_rpcs(const struct bench_phase *p)
{
	uint64_t n = 0, sum = 0;

	for (int k = 0; k <= BENCH_MAX_STEPS; k++) {
		n += p->rpcs[k];
		sum += (uint64_t)k * p->rpcs[k];
	}
	return n ? (double)sum / (double)n : 0;
}

static void bench_print(const struct bench_args *a, const struct bench_speed *sp, const struct bench_run *runs,
			size_t nruns)
{
	printf("\nopenssl speed -seconds %d (one core, this run): rsa2048 sign %.0f/s verify %.0f/s", a->speed_seconds,
	       sp->rsa_sign, sp->rsa_verify);
	if (sp->ecdsa_verify > 0)
		printf("; ecdsap256 sign %.0f/s verify %.0f/s", sp->ecdsa_sign, sp->ecdsa_verify);
	printf("\nEK %s, AK RSA-2048 RSASSA-SHA256, pcrs %s, %d client threads on %d channels, mTLS, verifier "
	       "threads %s, %ld CPUs\n\n",
	       a->ek_alg == TPM2_ALG_RSA ? "RSA-2048" : "ECC P-256", a->pcrs, a->threads, a->channels,
	       a->verifier_threads > 0 ? "set" : "default", sysconf(_SC_NPROCESSORS_ONLN));
	if (a->verifier_threads > 0)
		printf("(verifier threads = %d)\n", a->verifier_threads);
	printf("%6s %-8s %7s %6s %8s %7s %7s %7s %5s %9s %9s %7s %7s %9s\n", "nodes", "phase", "passed", "secs",
	       "att/s", "p50 ms", "p99 ms", "rpc/att", "fail", "vrf us/at", "gen us/at", "RSS MB", "HWM MB",
	       "att/verif");
	for (size_t i = 0; i < nruns; i++)
		for (int j = 0; j < 2; j++) {
			const struct bench_phase *p = &runs[i].phase[j];

			printf("%6zu %-8s %7llu %6.1f %8.1f %7.2f %7.2f %7.2f %5llu %9.0f %9.0f %7.1f %7.1f %9.4f\n",
			       runs[i].nodes, p->name, (unsigned long long)p->ok, p->wall_s, bench_rate(p), p->p50_ms,
			       p->p99_ms, bench_mean_rpcs(p), (unsigned long long)p->failed,
			       bench_per_att_us(p->verifier_cpu_s, p), bench_per_att_us(p->bench_cpu_s, p),
			       bench_mb(p->mem.rss_kb), bench_mb(p->mem.hwm_kb),
			       sp->rsa_verify > 0 ? bench_rate(p) / sp->rsa_verify : 0);
		}
	printf("\nvrf us/at: the verifier's CPU time (user+sys) per attestation; gen us/at: this load generator's\n"
	       "(software TPMs signing quotes, opening credentials, TLS). att/verif: att/s per RSA-2048 verify/s.\n"
	       "RSS/HWM: the verifier's VmRSS/VmHWM after the phase. -1: not measurable (the verifier was gone).\n");
	for (size_t i = 0; i < nruns; i++) {
		printf("nodes %zu: database %ld nodes (%ld passing, %ld failed), %lld pass / %lld fail verdicts: %s; "
		       "verifier exit %d\n",
		       runs[i].nodes, runs[i].db_nodes, runs[i].db_passing, runs[i].db_failed, runs[i].db_pass,
		       runs[i].db_fail, runs[i].db_ok ? "matches" : "MISMATCH", runs[i].verifier_exit);
		printf("nodes %zu: controls %d/%d refused: %s\n", runs[i].nodes, runs[i].controls_refused,
		       runs[i].controls, runs[i].controls_text);
		printf("nodes %zu: 1-minute load average after enroll %.2f, after reattest %.2f\n", runs[i].nodes,
		       runs[i].phase[0].loadavg, runs[i].phase[1].loadavg);
		if (runs[i].fleet.policies) {
			const struct bench_fleet *fl = &runs[i].fleet;

			printf("nodes %zu: spread over %zu policies and %zu groups in %.2f s; %zu/%zu sampled verdicts name "
			       "the expected policy\n", runs[i].nodes, fl->policies, fl->groups, fl->spread_s, fl->sampled_ok,
			       fl->sampled);
			printf("nodes %zu: dry run (verifier policy test) over %zu nodes' stored evidence: %zu would pass, "
			       "%.2f s, %.0f nodes/s, exit %d\n", runs[i].nodes, fl->dry_nodes, fl->dry_pass, fl->dry_s,
			       fl->dry_s > 0 ? (double)fl->dry_nodes / fl->dry_s : 0, fl->dry_rc);
		}
		for (int j = 0; j < 2; j++)
			if (runs[i].phase[j].first_error[0])
				printf("nodes %zu %s: first failure: %s\n", runs[i].nodes, runs[i].phase[j].name,
				       runs[i].phase[j].first_error);
	}
}

static int bench_json(const struct bench_args *a, const struct bench_speed *sp, double keygen_s, double nodes_s,
		      size_t nprimes, const struct bench_run *runs, size_t nruns)
{
	FILE *f = fopen(a->json, "w");

	if (!f)
		return err_set(AERR_IO, "%s: %s", a->json, strerror(errno));
	fprintf(f, "{\n  \"benchmark\": \"push_load\",\n  \"ek\": \"%s\",\n  \"ak\": \"rsa2048-rsassa-sha256\",\n",
		a->ek_alg == TPM2_ALG_RSA ? "rsa2048" : "ecc-p256");
	fprintf(f, "  \"pcrs\": ");
	jsonout_str(f, a->pcrs);
	fprintf(f, ",\n  \"operator_services\": %s", a->operator_services ? "true" : "false");
	fprintf(f, ",\n  \"results_signed\": %s", a->no_results ? "false" : "true");
	fprintf(f, ",\n  \"verifier_threads\": %d,\n  \"threads\": %d,\n  \"channels\": %d,\n  \"reattest_seconds\": %.1f,\n  \"cpus\": %ld,\n",
		a->verifier_threads, a->threads, a->channels, a->seconds, sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "  \"openssl_speed\": {\"seconds\": %d, \"rsa2048_sign_per_s\": %.1f, \"rsa2048_verify_per_s\": %.1f, "
		   "\"ecdsap256_sign_per_s\": %.1f, \"ecdsap256_verify_per_s\": %.1f},\n",
		a->speed_seconds, sp->rsa_sign, sp->rsa_verify, sp->ecdsa_sign, sp->ecdsa_verify);
	fprintf(f, "  \"setup\": {\"rsa_primes\": %zu, \"prime_search_s\": %.2f, \"node_setup_s\": %.2f},\n", nprimes,
		keygen_s, nodes_s);
	fprintf(f, "  \"runs\": [\n");
	for (size_t i = 0; i < nruns; i++) {
		const struct bench_run *r = &runs[i];

		fprintf(f, "    {\"nodes\": %zu, \"verifier_exit\": %d, \"database\": {\"nodes\": %ld, \"passing\": %ld, "
			   "\"failed\": %ld, \"pass_verdicts\": %lld, \"fail_verdicts\": %lld, \"matches\": %s},\n"
			   "     \"controls\": {\"run\": %d, \"refused\": %d, \"detail\": ",
			r->nodes, r->verifier_exit, r->db_nodes, r->db_passing, r->db_failed, r->db_pass, r->db_fail,
			r->db_ok ? "true" : "false", r->controls, r->controls_refused);
		jsonout_str(f, r->controls_text);
		fprintf(f, "},\n     \"fleet\": {\"policies\": %zu, \"groups\": %zu, \"spread_s\": %.3f, \"sampled\": %zu, "
			   "\"sampled_ok\": %zu, \"dry_run\": {\"ran\": %s, \"nodes\": %zu, \"pass\": %zu, \"seconds\": %.3f, "
			   "\"nodes_per_s\": %.1f, \"exit\": %d}},\n     \"phases\": [\n",
			r->fleet.policies, r->fleet.groups, r->fleet.spread_s, r->fleet.sampled, r->fleet.sampled_ok,
			r->fleet.dry_run ? "true" : "false", r->fleet.dry_nodes, r->fleet.dry_pass, r->fleet.dry_s,
			r->fleet.dry_s > 0 ? (double)r->fleet.dry_nodes / r->fleet.dry_s : 0, r->fleet.dry_rc);
		for (int j = 0; j < 2; j++) {
			const struct bench_phase *p = &r->phase[j];

			fprintf(f, "       {\"phase\": \"%s\", \"passed\": %llu, \"failed\": %llu, \"seconds\": %.3f, "
				   "\"attestations_per_s\": %.1f, \"latency_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}, "
				   "\"rpcs_per_attestation\": %.3f, \"rpc_histogram\": {",
				p->name, (unsigned long long)p->ok, (unsigned long long)p->failed, p->wall_s, bench_rate(p),
				p->p50_ms, p->p99_ms, p->max_ms, bench_mean_rpcs(p));
			for (int k = 0, first = 1; k <= BENCH_MAX_STEPS; k++)
				if (p->rpcs[k]) {
					fprintf(f, "%s\"%d\": %llu", first ? "" : ", ", k, (unsigned long long)p->rpcs[k]);
					first = 0;
				}
			fprintf(f, "}, \"verifier_cpu_s\": %.3f, \"verifier_cpu_us_per_attestation\": %.1f, "
				   "\"operator_threads_cpu_us_per_attestation\": %.3f, \"bench_cpu_s\": %.3f, \"bench_cpu_us_per_attestation\": %.1f, "
				   "\"verifier_vmrss_kb\": %ld, \"verifier_vmhwm_kb\": %ld, "
				   "\"attestations_per_rsa_verify\": %.5f, \"loadavg_1m\": %.2f, \"first_error\": ",
				p->verifier_cpu_s, bench_per_att_us(p->verifier_cpu_s, p),
				bench_per_att_us(p->operator_cpu_s, p), p->bench_cpu_s,
				bench_per_att_us(p->bench_cpu_s, p), p->mem.rss_kb, p->mem.hwm_kb,
				sp->rsa_verify > 0 ? bench_rate(p) / sp->rsa_verify : 0, p->loadavg);
			jsonout_str(f, p->first_error);
			fprintf(f, "}%s\n", j == 0 ? "," : "");
		}
		fprintf(f, "     ]}%s\n", i + 1 < nruns ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0)
		return err_set(AERR_IO, "%s: write failed", a->json);
	return 0;
}

/* ------------------------------------------------------------ main */

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: bench_push_load --verifier PATH --pki DIR --work DIR [--nodes N]... [--seconds S]\n"
		   "       [--threads T] [--channels C] [--ek-alg rsa|ecc] [--pcrs SEL] [--log-level L]\n"
		   "       [--speed-seconds S] [--verifier-threads N] [--policies P --groups G] [--operator-services]\n"
		   "       [--json FILE]\n"
		   "  --pki DIR: ca.pem, verifier.{pem,key}, attestor.{pem,key} (certs/mkpki.sh)\n"
		   "  --nodes N: simulated nodes for one run (repeat for several runs; default 1000)\n"
		   "  --verifier-threads N: `threads = N` in the verifier's config (default: not set)\n"
		   "  --operator-services: the verifier also serves [admin] and [web] (never called)\n"
		   "  --no-results: the verifier signs no attestation results ([results] sign = false)\n"
		   "  --policies P --groups G: after enrolling, spread the nodes over P named policies, G of\n"
		   "    them through groups (bench_fleet.h); then check verdicts and time a dry run\n");
}

static int bench_lookup_methods(void)
{
	const ProtobufCServiceDescriptor *d = &attest__v1__verifier__descriptor;
	const ProtobufCMethodDescriptor *h = protobuf_c_service_descriptor_get_method_by_name(d, "Hello");
	const ProtobufCMethodDescriptor *ac = protobuf_c_service_descriptor_get_method_by_name(d, "Activate");
	const ProtobufCMethodDescriptor *q = protobuf_c_service_descriptor_get_method_by_name(d, "SubmitQuote");

	if (!h || !ac || !q)
		return err_set(AERR_INTERNAL, "Verifier service lacks Hello/Activate/SubmitQuote");
	bench_m_hello = (unsigned)(h - d->methods);
	bench_m_activate = (unsigned)(ac - d->methods);
	bench_m_quote = (unsigned)(q - d->methods);
	return 0;
}

struct bench_setup_job {
	const struct bench_args *a;
	const struct simtpm_keys *keys;
	const struct simtpm_ca *ca;
	struct simtpm **nodes;
	size_t n, first, step;
	int r;
	char detail[256];
};

/* Node i: EK from key 2i and AK from key 2i+1 (RSA EK), or AK from key i and
 * a fresh P-256 EK: every EK public (the node's identity) and every AK distinct. */
static void *bench_setup_thread(void *arg)
{
	struct bench_setup_job *job = arg;
	int rsa = job->a->ek_alg == TPM2_ALG_RSA;

	for (size_t i = job->first; i < job->n && job->r == 0; i += job->step) {
		EVP_PKEY *ek = NULL, *ak = NULL;

		job->r = rsa ? simtpm_keys_get(job->keys, 2 * i, &ek) : 0;
		if (job->r == 0)
			job->r = simtpm_keys_get(job->keys, rsa ? 2 * i + 1 : i, &ak);
		if (job->r == 0) {
			struct simtpm_params p = { .ek_alg = job->a->ek_alg, .ek_key = ek, .ak_key = ak,
						   .ca = job->ca, .serial = (uint64_t)i + 2, .clock_tick_ms = 1 };

			job->r = simtpm_new(&p, &job->nodes[i]);
		}
		if (job->r == 0)
			simtpm_set_pcrs(job->nodes[i], &bench_node_pcrs);
		if (job->r != 0)
			snprintf(job->detail, sizeof(job->detail), "node %zu: %s", i, err_detail());
		EVP_PKEY_free(ek);
		EVP_PKEY_free(ak);
	}
	return NULL;
}

static int bench_nodes_make(const struct bench_args *a, const struct simtpm_keys *keys, const struct simtpm_ca *ca,
			    struct simtpm **nodes, size_t n)
{
	struct bench_setup_job jobs[2];
	pthread_t tids[2];
	int started = 0, r = 0;

	for (int t = 0; t < 2; t++) {
		jobs[t] = (struct bench_setup_job){ .a = a, .keys = keys, .ca = ca, .nodes = nodes, .n = n,
						    .first = (size_t)t, .step = 2 };
		if (pthread_create(&tids[t], NULL, bench_setup_thread, &jobs[t]) != 0) {
			r = err_set(AERR_INTERNAL, "pthread_create");
			break;
		}
		started++;
	}
	for (int t = 0; t < started; t++) {
		pthread_join(tids[t], NULL);
		if (jobs[t].r != 0 && r == 0)
			r = err_set(jobs[t].r, "%s", jobs[t].detail);
	}
	return r;
}

static int bench_parse_args(int argc, char **argv, struct bench_args *a)
{
	static const struct option opts[] = {
		{ "verifier", required_argument, NULL, 'v' }, { "pki", required_argument, NULL, 'p' },
		{ "work", required_argument, NULL, 'w' },     { "json", required_argument, NULL, 'j' },
		{ "nodes", required_argument, NULL, 'n' },    { "seconds", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },  { "channels", required_argument, NULL, 'c' },
		{ "ek-alg", required_argument, NULL, 'e' },   { "pcrs", required_argument, NULL, 'P' },
		{ "log-level", required_argument, NULL, 'l' }, { "speed-seconds", required_argument, NULL, 'S' },
		{ "verifier-threads", required_argument, NULL, 'T' },
		{ "policies", required_argument, NULL, 'Q' }, { "groups", required_argument, NULL, 'G' },
		{ "operator-services", no_argument, NULL, 'O' },
		{ "no-results", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	memset(a, 0, sizeof(*a));
	a->threads = 8;
	a->seconds = 10;
	a->ek_alg = TPM2_ALG_RSA;
	a->pcrs = "sha256:0-7";
	a->log_level = "info";
	a->speed_seconds = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': a->verifier = optarg; break;
		case 'O': a->operator_services = 1; break;
		case 'R': a->no_results = 1; break;
		case 'p': a->pki = optarg; break;
		case 'w': a->work = optarg; break;
		case 'j': a->json = optarg; break;
		case 'P': a->pcrs = optarg; break;
		case 'l': a->log_level = optarg; break;
		case 'n':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 1000000 || a->nruns == BENCH_MAX_RUNS)
				return -1;
			a->nodes[a->nruns++] = (size_t)v;
			break;
		case 's':
			a->seconds = strtod(optarg, &end);
			if (*end || a->seconds < 0.1 || a->seconds > 3600)
				return -1;
			break;
		case 't':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > BENCH_MAX_THREADS)
				return -1;
			a->threads = (int)v;
			break;
		case 'c':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > BENCH_MAX_THREADS)
				return -1;
			a->channels = (int)v;
			break;
		case 'T':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > BENCH_MAX_THREADS)
				return -1;
			a->verifier_threads = (int)v;
			break;
		case 'Q':
		case 'G':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 1000)
				return -1;
			*(c == 'Q' ? &a->policies : &a->groups) = (size_t)v;
			break;
		case 'S':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 60)
				return -1;
			a->speed_seconds = (int)v;
			break;
		case 'e':
			if (!strcmp(optarg, "rsa"))
				a->ek_alg = TPM2_ALG_RSA;
			else if (!strcmp(optarg, "ecc"))
				a->ek_alg = TPM2_ALG_ECC;
			else
				return -1;
			break;
		case 'h': bench_usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || !a->verifier || !a->pki || !a->work || (!a->policies != !a->groups) ||
	    a->groups > a->policies)
		return -1;
	if (a->nruns == 0)
		a->nodes[a->nruns++] = 1000;
	/* gRPC lets at most 6 threads wait on one completion queue. */
	if (a->channels == 0)
		a->channels = (a->threads + 3) / 4;
	if (a->channels * BENCH_PLUCKERS < a->threads)
		a->channels = (a->threads + BENCH_PLUCKERS - 1) / BENCH_PLUCKERS;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct bench_speed sp;
	struct bench_run runs[BENCH_MAX_RUNS];
	struct simtpm_keys *keys = NULL;
	struct simtpm_ca *ca = NULL;
	struct simtpm **nodes = NULL;
	size_t maxn = 0, nkeys;
	double t0, keygen_s = 0, nodes_s = 0;
	int r = AERR_INTERNAL, rpc_up = 0, failed = 0;
	size_t done = 0;

	crypto_process_init();
	memset(runs, 0, sizeof(runs));
	if (bench_parse_args(argc, argv, &a) != 0) {
		bench_usage(stderr);
		return 2;
	}
	if (!a.json) {
		static char json[1024];

		snprintf(json, sizeof(json), "%s/bench-push-load.json", a.work);
		a.json = json;
	}
	for (size_t i = 0; i < a.nruns; i++)
		if (a.nodes[i] > maxn)
			maxn = a.nodes[i];
	/* The generator is a busy gRPC client: the same heap setting as the
	 * verifier's server, so neither side pays for trimming. */
	rpc_heap_keep();
	if ((r = bench_lookup_methods()) != 0 || (r = bench_mkdir(a.work)) != 0)
		goto out;

	printf("openssl speed rsa2048%s (%d s each)...\n", a.ek_alg == TPM2_ALG_ECC ? " and ecdsap256" : "",
	       a.speed_seconds);
	fflush(stdout);
	bench_openssl_speed(a.speed_seconds, &sp);
	if (sp.rsa_verify <= 0) {
		r = err_set(AERR_IO, "could not read `openssl speed rsa2048`");
		goto out;
	}

	/* Distinct keys for every node: an EK (when RSA) and an AK each. */
	nkeys = a.ek_alg == TPM2_ALG_RSA ? 2 * maxn : maxn;
	t0 = clock_mono_s();
	if ((r = simtpm_keys_make(nkeys, 2, &keys)) != 0)
		goto out;
	keygen_s = clock_mono_s() - t0;
	t0 = clock_mono_s();
	if ((r = simtpm_ca_new(NULL, "simtpm throwaway EK CA", &ca)) != 0 ||
	    (r = simtpm_pcrs_reproducible(&bench_node_pcrs)) != 0)
		goto out;
	if (!(nodes = calloc(maxn, sizeof(*nodes)))) {
		r = err_set(AERR_ALLOC, "%zu nodes", maxn);
		goto out;
	}
	if ((r = bench_nodes_make(&a, keys, ca, nodes, maxn)) != 0)
		goto out;
	nodes_s = clock_mono_s() - t0;
	printf("%zu simulated nodes: %zu distinct RSA-2048 keys from %zu primes in %.1f s, nodes and EK certificates "
	       "in %.1f s\n",
	       maxn, nkeys, simtpm_keys_primes(keys), keygen_s, nodes_s);
	fflush(stdout);

	rpc_global_init();
	rpc_up = 1;
	for (size_t i = 0; i < a.nruns; i++) {
		printf("run %zu: %zu nodes: enroll, then re-attest for %.0f s...\n", i + 1, a.nodes[i], a.seconds);
		fflush(stdout);
		if ((r = bench_one(&a, ca, nodes, a.nodes[i], &runs[i])) != 0)
			goto out;
		done++;
		if (runs[i].phase[0].failed || runs[i].phase[1].failed || !runs[i].db_ok || runs[i].verifier_exit != 0 ||
		    runs[i].controls_refused != runs[i].controls)
			failed = 1;
		/* Spread: the verdicts name their policies, and the dry run
		 * passes every node as the service did. */
		if (runs[i].fleet.policies &&
		    (runs[i].fleet.sampled_ok != runs[i].fleet.sampled || !runs[i].fleet.sampled ||
		     runs[i].fleet.dry_rc != 0 || runs[i].fleet.dry_pass != runs[i].nodes))
			failed = 1;
	}
	r = 0;
out:
	if (done) {
		bench_print(&a, &sp, runs, done);
		if (bench_json(&a, &sp, keygen_s, nodes_s, simtpm_keys_primes(keys), runs, done) != 0)
			fprintf(stderr, "bench_push_load: %s\n", err_detail());
		else
			printf("JSON: %s\n", a.json);
	}
	if (r != 0)
		fprintf(stderr, "bench_push_load: %s: %s\n", err_str(r), err_detail());
	for (size_t i = 0; nodes && i < maxn; i++)
		simtpm_free(nodes[i]);
	free(nodes);
	simtpm_ca_free(ca);
	simtpm_keys_free(keys);
	if (rpc_up)
		rpc_global_shutdown();
	if (r != 0)
		return 2;
	if (failed) {
		fprintf(stderr, "bench_push_load: FAILED: attestations failed, or the verifier's record disagrees\n");
		return 1;
	}
	return 0;
}
