/* Boot policy over a replayed TCG event log, a JSON file named by
 * `boot_policy` in the verifier's configuration. Kept deliberately small:
 *
 *   {
 *     "secure_boot": true,
 *     "digests": { "4": ["sha256:...", ...], "8": [...] },
 *     "boot_applications": ["sha256:...", ...]
 *   }
 *
 * Only what the quote proves is judged. A bank proves PCR i when the quoted
 * selection has that bank and PCR i, and i is one of the PCRs the replay was
 * compared on (eventlog_pcrs): the event's digests in that bank are then
 * proven, and its data only when evdata_verify says so (common/evdata.h).
 * Events of PCRs no bank proves are not judged; digests in other banks are
 * never compared.
 *
 * "secure_boot": true requires the UEFI SecureBoot variable, as measured into
 * PCR 7 (EV_EFI_VARIABLE_DRIVER_CONFIG), to be 1; false requires it to be 0,
 * empty or absent; no key, no requirement. PCR 7's separator is its first
 * event whose digests in every bank proving PCR 7 are those of a separator
 * (evdata_separator), whatever type the log gives it. The variable is read
 * only from an event before it, and every PCR 7 event before it must prove
 * its data (evdata_verify) in those banks, whatever its type: an event there
 * that does not (it may be the variable relabelled), a PCR 7 variable event
 * whose data is not proven or not a UEFI_VARIABLE_DATA, the variable under
 * another event type, measured
 * twice or not before the separator, leave the state unproven, and then
 * either requirement fails. "digests": every event of that PCR must carry one
 * of the listed digests. "boot_applications": every
 * EV_EFI_BOOT_SERVICES_APPLICATION, and every PCR 4 event whose data is not
 * proven (its type is the log's claim), must carry one of the listed digests.
 * Only a log whose replay matched the quote is judged. Unknown keys refuse
 * the file. */
#ifndef VERIFIER_POLICY_BOOTPOLICY_H
#define VERIFIER_POLICY_BOOTPOLICY_H

#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "eventlog.h"

struct bootpolicy;

/* AERR_CONFIG with "FILE: what is wrong". */
int bootpolicy_load(const char *path, struct bootpolicy **out) ATTEST_WUR;

/* The same from a JSON object already parsed (a stored policy's
 * "boot_policy"); where names it in messages as FILE does above. root
 * stays the caller's. */
struct json_object;
int bootpolicy_from_json(const char *where, struct json_object *root, struct bootpolicy **out) ATTEST_WUR;
void bootpolicy_free(struct bootpolicy *p);

/* 1 when p has a rule (secure_boot, digests of a PCR, boot_applications): a
 * policy without one judges nothing, and must not count as a reference. */
int bootpolicy_has_rules(const struct bootpolicy *p);

/* A policy must be checkable with what the verifier quotes (sel) and
 * replays (eventlog_pcrs): AERR_CONFIG with the file, the rule and the PCR
 * or bank when "digests" names a PCR that is not quoted and replayed or a
 * digest whose bank does not quote that PCR, when "boot_applications" does so
 * for PCR 4, or "secure_boot" is set and PCR 7 is not quoted and replayed. */
int bootpolicy_check_selection(const struct bootpolicy *p, const TPML_PCR_SELECTION *sel,
			       uint32_t eventlog_pcrs) ATTEST_WUR;

/* The SecureBoot variable as the quote proves it (quoted: the quote's
 * selection; replayed_pcrs: the PCRs the replay matched it on): 0 with
 * *state 1 enabled, 0 disabled (0 or empty), -1 not measured.
 * AERR_LOG_POLICY with the reason when the state is not proven (see above;
 * also when PCR 7 is not proven), *state -1; AERR_CRYPTO. */
int bootpolicy_secure_boot(const struct eventlog *log, const TPML_PCR_SELECTION *quoted, uint32_t replayed_pcrs,
			   int *state) ATTEST_WUR;

/* Whether "boot_applications" must list e, an event of a PCR proven in
 * banks: every EV_EFI_BOOT_SERVICES_APPLICATION, and any event of PCR 4
 * whose data its digests do not prove (its type is only the log's claim;
 * besides the boot manager's code, UEFI firmware measures only separators
 * and EFI actions there, which prove their data). */
int bootpolicy_is_app(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t nbanks);

/* Judge a log whose replay matched the quote (quoted, replayed_pcrs as
 * above). AERR_LOG_POLICY naming the first rule broken (and logging every
 * broken allowlist rule), also when a rule's PCR is not proven; AERR_CRYPTO. */
int bootpolicy_check(const struct bootpolicy *p, const struct eventlog *log, const TPML_PCR_SELECTION *quoted,
		     uint32_t replayed_pcrs) ATTEST_WUR;

#endif
