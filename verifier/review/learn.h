/* Learned references (attune, trust on first use): the reference a node's
 * verified quote makes, as IBM ACS and Keylime's first-use flows take a
 * machine's first good measurement. An operator asks (`verifier policy
 * learn NODE`: store_learn_request), the node's next verified quote
 * answers (store_attestation_add), the proposal is shown (`policy
 * proposal`) and becomes the node's policy only when approved (`policy
 * approve`), or at once for a node's first quote when the verifier is
 * configured to learn on first use (learn_first_use). */
#ifndef VERIFIER_REVIEW_LEARN_H
#define VERIFIER_REVIEW_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store/store.h"

/* The named policy (policy/named.h) attestation's evidence makes, as JSON
 * (*json, malloc'd):
 *  - "pcrs": every PCR the quote proved, in each quoted bank (PCR 10 left
 *    out when an IMA list was sent: the IMA policy judges it);
 *  - with a boot event log: "boot_policy" as `policy from-eventlog` makes
 *    it (Secure Boot state, the boot applications), require_event_log;
 *  - with an IMA list: "ima_policy", the digest of each file the quote
 *    vouches for, as `policy from-ima` makes it (*violations: entries
 *    without a digest, left out), require_ima.
 * AERR_STATE when the attestation's quote does not verify again from the
 * store, or its boot log or IMA list does not replay to it (saying why);
 * its checks as named_policy_parse's. */
int learn_proposal(struct store *st, const struct verifier_config *cfg, int64_t attestation, char **json,
		   size_t *violations) ATTEST_WUR;

/* The proposal of attestation, stored as policy name (a new version when
 * it exists, unless mode is LEARN_FIRST_USE: a policy of that name may be
 * shared by now) and assigned to the node of ek_hash: *version receives
 * the version. */
enum learn_mode {
	LEARN_APPROVED = 0,              /* an operator's: a policy of that name gets a new version */
	LEARN_FIRST_USE,                 /* learn_first_use: only a name no policy has */
};
int learn_store(struct store *st, const struct verifier_config *cfg, int64_t attestation, const char *ek_hash,
		const char *name, enum learn_mode mode, uint32_t *version) ATTEST_WUR;

/* The proposal of node node_id's answered learn request, stored as policy
 * name (a new version when it exists) and assigned to the node, the
 * request closed: *version receives the version. AERR_NOT_FOUND when no
 * quote answered a request yet. */
int learn_approve(struct store *st, const struct verifier_config *cfg, int64_t node_id, const char *ek_hash,
		  const char *name, uint32_t *version) ATTEST_WUR;

/* The name a learned policy takes unless the operator gives one. */
void learn_default_name(const char *ek_hash, char name[STORE_NAME_MAX + 1]);

#endif
