/* Pull mode: serve attest.v1.Attestor over common/rpc. Protobuf types stay
 * inside service.c: requests are unpacked and checked into our structs, the
 * work is done by tpm.c. */
#ifndef ATTEST_SERVICE_H
#define ATTEST_SERVICE_H

#include "config.h"
#include "err.h"

/* Open the TPM, create the AK (so the first call is fast), serve until
 * SIGINT or SIGTERM. Returns 0 after a clean stop, or an AERR_* code with
 * detail when the TPM, the TLS files or the address are unusable. */
int service_pull_run(const struct attestor_config *cfg) ATTEST_WUR;

#endif
