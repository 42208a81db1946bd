/* Boot policy over a replayed TCG event log, a JSON file named by
 * `boot_policy` in the verifier's configuration. Kept deliberately small:
 *
 *   {
 *     "secure_boot": true,
 *     "digests": { "4": ["sha256:...", ...], "8": [...] },
 *     "boot_applications": ["sha256:...", ...]
 *   }
 *
 * "secure_boot": true requires the UEFI SecureBoot variable, as measured into
 * PCR 7 (EV_EFI_VARIABLE_DRIVER_CONFIG), to be 1; false requires it to be 0 or
 * absent; no key, no requirement. "digests": every event extended into that
 * PCR must carry one of the listed digests (in the bank each names).
 * "boot_applications": every EV_EFI_BOOT_SERVICES_APPLICATION must carry one
 * of the listed digests. Only a log whose replay matched the quote is judged.
 * Unknown keys refuse the file. */
#ifndef VERIFIER_BOOTPOLICY_H
#define VERIFIER_BOOTPOLICY_H

#include "err.h"
#include "eventlog.h"

struct bootpolicy;

/* AERR_CONFIG with "FILE: what is wrong". */
int bootpolicy_load(const char *path, struct bootpolicy **out) ATTEST_WUR;
void bootpolicy_free(struct bootpolicy *p);

/* The SecureBoot variable as measured: 1 enabled, 0 disabled, -1 not measured. */
int bootpolicy_secure_boot(const struct eventlog *log);

/* AERR_LOG_POLICY naming the first rule broken (and logging every one). */
int bootpolicy_check(const struct bootpolicy *p, const struct eventlog *log) ATTEST_WUR;

#endif
