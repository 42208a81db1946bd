/* An attestation result others can check (issue #18): every verdict of a
 * node as an EAR (EAT Attestation Result, draft-ietf-rats-ear), the JSON
 * claims veraison/ear and the confidential-containers trustee read
 * (profile "tag:github.com,2023:veraison/ear", dotted claim names), signed
 * as a JWT by the verifier's result key (results/keys.h).
 *
 * The node is the one submodule, labelled by its EK hash. Its AR4SI
 * trustworthiness vector is derived from what the session proved:
 *   instance-identity  2 the TPM proved its AK (activation, or an AK it
 *                        activated before); 97 endorsement refused; 99 the
 *                        credential did not activate
 *   hardware           2 the EK certificate chained to a trusted root; 97
 *                        it did not; absent when EK certificates are not
 *                        required
 *   storage-opaque     2 with hardware 2: the keys are a genuine TPM's
 *   configuration      2 the PCR values (and firmware) matched the node's
 *                        policy; 36 verified, but no reference judged them
 *                        (an unjudged verdict); 96 they broke the policy;
 *                        99 the quote did not verify (signature, nonce,
 *                        digest, selection, counters)
 *   executables        3 a boot event log replayed and passed its policy;
 *                        2 and an IMA list too; 96 a log broke its policy;
 *                        99 a log did not replay to the quote
 *   file-system        2 an IMA list replayed and passed; 96 broke it
 * The status is the worst tier of the vector (affirming 2..31, warning
 * 32..95, contraindicated 96..127). */
#ifndef VERIFIER_RESULTS_EAR_H
#define VERIFIER_RESULTS_EAR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define EAR_PROFILE "tag:github.com,2023:veraison/ear"
#define EAR_REASON_MAX 255

/* What a verdict says of the node, as the verifier recorded it. */
struct ear_input {
	const char *ek_hash;          /* the submodule's label */
	const char *name;             /* the operator's name for the node ("": none) */
	const char *identity;         /* the TLS identity that proved it ("": insecure): a relying
				       * party that meets the host over mutual TLS can compare */
	int pass, unjudged;
	int code;                     /* 0 on pass, else the failed check's AERR_* */
	const char *step;             /* the failed step's name ("" on pass) */
	const char *reason;           /* why, as the peer is told (no operator-only details); kept to
				       * EAR_REASON_MAX printable ASCII characters */
	const char *policy;           /* the policy that judged ("config": the config file's) */
	uint32_t policy_version;      /* 0 for the config file's */
	const uint8_t *nonce;         /* the quote's nonce (eat_nonce); NULL when none */
	size_t nonce_len;
	int proven;                   /* the TPM proved its AK in this session */
	int ek_cert_checked;          /* its EK certificate chained to a trusted root */
	int ek_cert_required;         /* require_ek_cert: the hardware claim is made */
	int event_log_checked, ima_checked;
	int64_t iat;                  /* Unix seconds */
	uint32_t ttl;                 /* exp = iat + ttl */
	const char *developer, *build; /* ear.verifier-id */
};

/* The AR4SI tier names ear.status takes. */
const char *ear_status_name(int tier);

/* The claims of in as JSON text (malloc'd in *json) and its status tier
 * (0 none, 2 affirming, 32 warning, 96 contraindicated) in *status. */
int ear_claims(const struct ear_input *in, char **json, int *status) ATTEST_WUR;

#endif
