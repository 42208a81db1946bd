/* The attestor side of the pull benchmark: the real pull service (attestor
 * service.c + tpm/) serving in a thread of the benchmark process, and the
 * measurements it exposes. A separate translation unit because attestor/ and
 * verifier/ both have a config.h; this header uses neither. */
#ifndef BENCH_ATTESTOR_H
#define BENCH_ATTESTOR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define BENCH_METHODS 5   /* GetEndorsement, GetAttestationKey, ActivateCredential, Quote, DeliverSecrets */
#define BENCH_TPM_CMDS 32

struct bench_attestor;

struct bench_attestor_opts {
	const char *tcti;
	const char *ak_alg;     /* "ecc" | "rsa" */
	const char *ek_alg;     /* "rsa" | "ecc" */
	const char *pki_dir;    /* certs/mkpki.sh output: ca.pem, attestor.pem, attestor.key */
	const char *state_dir;  /* secret store; NULL = secrets cannot be received */
};

/* What the attestor spent between two bench_attestor_reset calls. */
struct bench_attestor_sample {
	uint64_t calls;                       /* completed RPC handlers */
	double handler_ms[BENCH_METHODS];     /* handler wall time, per method */
	double tpm_ms[BENCH_METHODS];         /* ESYS time inside each handler */
	double tpm_total_ms;                  /* all ESYS time */
	uint64_t tpm_calls;
	size_t ncmds;
	struct {
		const char *name;                 /* ESYS function without "Esys_" */
		uint64_t count;
		double ms;
	} cmd[BENCH_TPM_CMDS];
};

/* Open the TPM, create the AK, serve on 127.0.0.1:<free port> over mTLS in a
 * new thread. *out NULL and AERR_* on failure. */
int bench_attestor_start(const struct bench_attestor_opts *o, struct bench_attestor **out) ATTEST_WUR;
int bench_attestor_port(const struct bench_attestor *b);

/* Zero the service and TPM counters; call while no exchange is in flight. */
void bench_attestor_reset(struct bench_attestor *b);

/* Wait (up to 2 s) until `calls` handlers have completed since the last reset,
 * then take the sample. AERR_STATE when they do not. */
int bench_attestor_sample(struct bench_attestor *b, uint64_t calls,
			  struct bench_attestor_sample *out) ATTEST_WUR;

/* Stop serving, join the thread; *transient = transient objects left in the
 * TPM (expected 0). Frees b. */
int bench_attestor_stop(struct bench_attestor *b, uint32_t *transient) ATTEST_WUR;

/* AK creation as a fresh attestor process pays it: open the TPM, then the
 * first tpm_ak_get (EK CreatePrimary unless persistent, policy session,
 * TPM2_Create). For each of n runs: first_ms[i] = that first tpm_ak_get,
 * create_ms[i] = its TPM2_Create alone. Needs the TPM to itself (no service
 * running). */
int bench_attestor_ak_cost(const struct bench_attestor_opts *o, size_t n, double *first_ms,
			   double *create_ms) ATTEST_WUR;

#endif
