/* Named policies (policy/named.h) from a golden boot event log, and the
 * offline judgment of a log by one (issue #15: `verifier policy
 * from-eventlog`, `verifier policy check`), like Keylime's `keylime-policy
 * create` from a measured-boot log. */
#ifndef VERIFIER_POLICY_FROMLOG_H
#define VERIFIER_POLICY_FROMLOG_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "policy/named.h"

/* The policy log (len bytes) makes for a verifier quoting sel and
 * replaying eventlog_pcrs, as JSON text (*json, malloc'd):
 *  - "pcrs": each PCR of sel the log is responsible for (eventlog_pcrs),
 *    in each bank of sel the log declares, as its replay ends (a bank the
 *    log does not declare is left out, and proves nothing below);
 *  - "boot_policy": "secure_boot" when PCR 7 is quoted and replayed and
 *    the log measures the SecureBoot variable; "boot_applications": the
 *    digests (every bank of sel the log declares) of each event of a
 *    proven PCR the boot policy counts as one (bootpolicy_is_app), when
 *    PCR 4 is quoted and replayed; absent when neither rule is made.
 * Errors of parsing and replaying the log (eventlog_parse), AERR_NOT_FOUND
 * when the log declares none of sel's banks. */
int fromlog_policy(const uint8_t *log, size_t len, const TPML_PCR_SELECTION *sel, uint32_t eventlog_pcrs,
		   char **json) ATTEST_WUR;

/* Judge log by policy p as a session would if a quote had proven exactly
 * the log's replay (the PCRs of sel it is responsible for): the PCR values,
 * then the boot policy. 0, or the code of the first check that fails with
 * its reason. A firmware_version rule cannot be judged without a quote:
 * AERR_UNSUPPORTED. */
int fromlog_judge(const struct named_policy *p, const uint8_t *log, size_t len, const TPML_PCR_SELECTION *sel,
		  uint32_t eventlog_pcrs) ATTEST_WUR;

#endif
