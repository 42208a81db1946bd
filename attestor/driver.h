/* Push mode: the attestor connects to the verifier and drives.
 *
 *   Hello(endorsement, AK) -> credential challenge -> Activate -> quote request
 *   -> SubmitQuote -> verdict (pass, reattest_seconds)
 *
 * Each demand is answered through answer.h, exactly as the pull handlers
 * answer it. The driver attests when it starts (a boot service), waits for an
 * unreachable verifier with capped exponential backoff and jitter, and then
 * attests again every reattest_seconds the verifier names. When the TPM's
 * resetCount changes (a reboot between rounds) it makes a new AK, which the
 * verifier activates afresh in the next round. */
#ifndef ATTESTOR_DRIVER_H
#define ATTESTOR_DRIVER_H

#include <stdint.h>

#include "err.h"
#include "rpc.h"
#include "answer.h"
#include "tpm.h"

/* The longest interval a verdict may name (the verifier's reattest_interval
 * maximum, 7 days); a longer one is cut to it. */
#define DRIVER_REATTEST_MAX_S (7u * 86400u)

struct driver_opts {
	const char *verifier;          /* "HOST:PORT" */
	struct rpc_tls tls;            /* our client certificate, the CA, server_name */
	struct tpm_opts tpm;
	const char *state_dir;         /* the secret store for delivered secrets */
	struct answer_logs logs;       /* measurement logs sent with quotes */
	uint32_t reattest_default_s;   /* when a verdict names no interval */
	uint32_t retry_initial_ms;     /* first backoff step */
	uint32_t retry_max_ms;         /* backoff cap */
	int timeout_ms;                /* per call */
	/* A relying party's nonce (8 to 64 bytes; NULL: none): each attestation
	 * says Hello with it (never answering a pre-issued request), so that
	 * the verdict's result carries it (attestor token --nonce). */
	const uint8_t *rp_nonce;
	size_t rp_nonce_len;
};

/* One attestation's outcome. */
struct driver_result {
	int verdict;                   /* 1: the verifier gave a verdict (pass or fail) */
	int pass;
	int unjudged;                  /* not pass: verified, but the verifier has no reference */
	char reason[768];              /* fail: "<step>: <why>" from the verifier, or the transport error */
	uint32_t reattest_s;           /* from the verdict, else reattest_default_s */
	double ms;                     /* wall time of the exchange */
	uint32_t reset_count;          /* from our own quote */
	uint32_t restart_count;
	char ear[RPC_RESULT_MAX + 1];  /* the verdict signed (an EAR), kept in state_dir; "" when
				        * the verifier signs none */
};

struct driver;

/* Open the TPM (and create the AK) and the channel; nothing is sent yet. */
int driver_open(const struct driver_opts *o, struct driver **out) ATTEST_WUR;
void driver_close(struct driver *d);

/* One exchange. Returns 0 when the verifier gave a verdict (see res->pass),
 * AERR_RPC when it could not be reached or broke off the exchange (retry),
 * another AERR_* for a local failure (the TPM). */
int driver_attest(struct driver *d, struct driver_result *res) ATTEST_WUR;

/* Attest, retrying an unreachable verifier with backoff until a verdict;
 * then, unless once, sleep reattest_s and go again, until SIGINT/SIGTERM.
 * once: give up after wait_ms, counted from the TPM being open, with no call
 * or backoff outlasting it (0: a single attempt, no retry). A round our side
 * could not complete (the TPM, a secret whose policy no longer holds) is
 * logged and tried again on the interval. once: 0 when a verdict was reached
 * (last->pass says which), AERR_RPC when none came in time, the local AERR_*
 * otherwise, AERR_CONFIG when we refused the verifier's TLS (a name, a CA;
 * last->reason says which) before any call got through. Loop: 0 when
 * stopped by a signal; a refused certificate is logged at error level and
 * retried (whoever answers at the address chooses it). A TPM or channel
 * that cannot be opened at all returns early, with its AERR_*. */
int driver_run(const struct driver_opts *o, int once, uint32_t wait_ms, struct driver_result *last) ATTEST_WUR;

/* The next backoff delay: min(cap, initial * 2^attempt), scaled by a random
 * factor in [0.5, 1.0] so a fleet that booted together does not retry in step. */
uint32_t driver_backoff_ms(uint32_t initial, uint32_t cap, unsigned attempt, uint32_t random32);

#endif
