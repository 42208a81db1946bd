/* Pull mode: serve attest.v1.Attestor over common/rpc. Protobuf types stay
 * inside service.c: requests are unpacked and checked into our structs, the
 * work is done by attestor/tpm/. */
#ifndef ATTEST_SERVICE_H
#define ATTEST_SERVICE_H

#include "config.h"
#include "err.h"

#include <stdint.h>

struct service;
struct tpm;

/* DeliverSecrets is answered by answer_secrets (answer.h): the limits and the
 * proofs are described there. */

/* Open the TPM, create the AK (so the first call is fast), bind cfg->listen
 * (port 0 picks a free one) and start the server; rpc_global_init is called
 * here and undone by service_pull_free (gRPC counts them). AERR_* with detail
 * when the TPM, the TLS files or the address are unusable; *out NULL then. */
int service_pull_start(const struct attestor_config *cfg, struct service **out) ATTEST_WUR;

/* The bound port. */
int service_pull_port(const struct service *s);

/* Serve calls one at a time until service_pull_stop; returns 0 then. */
int service_pull_serve(struct service *s) ATTEST_WUR;

/* Make service_pull_serve return soon: async-signal-safe, any thread. */
void service_pull_stop(struct service *s);

/* Shut the server down, close the TPM. NULL-safe. */
void service_pull_free(struct service *s);

/* start, serve until SIGINT or SIGTERM, free. Returns 0 after a clean stop. */
int service_pull_run(const struct attestor_config *cfg) ATTEST_WUR;

/* --- measurements (benchmark): per method, completed calls, wall time of the
 * handler (unpack done, reply sent) and the part of it spent in ESYS calls. */
enum service_method {
	SERVICE_GET_ENDORSEMENT = 0,
	SERVICE_GET_ATTESTATION_KEY,
	SERVICE_ACTIVATE_CREDENTIAL,
	SERVICE_QUOTE,
	SERVICE_DELIVER_SECRETS,
	SERVICE_DELIVER_RESULT,
	SERVICE_NMETHODS,
};

struct service_stats {
	struct {
		uint64_t calls;
		uint64_t ns;
		uint64_t tpm_ns;
	} m[SERVICE_NMETHODS];
	uint64_t calls;        /* sum over methods */
};

/* Safe from another thread than the serving one; counts a call only once its
 * handler has returned. */
void service_pull_stats(struct service *s, struct service_stats *out);
void service_pull_stats_reset(struct service *s);

/* The service's TPM, for tpm_stats_* and, once serving stopped, checks such
 * as tpm_transient_count. */
struct tpm *service_pull_tpm(struct service *s);

#endif
