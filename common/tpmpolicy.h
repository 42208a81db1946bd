/* Policy digests computed in software (TPM 2.0 Part 3, 23): what a policy
 * session's policyDigest becomes after a sequence of policy commands, so that
 * an object's authPolicy can be set without a TPM (TPM2_PolicyPCR then
 * TPM2_PolicyCommandCode for secrets delivered to an attested host). */
#ifndef ATTEST_TPMPOLICY_H
#define ATTEST_TPMPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "pcrsel.h"

/* pcrDigest of TPM2_PolicyPCR: H_alg(the selected PCR values concatenated in
 * TPM order: banks in selection order, indices ascending within a bank; each
 * value as long as its bank's digest). values must hold every selected PCR
 * (extra ones are ignored): AERR_PCR_SELECTION naming the first one missing.
 * AERR_UNSUPPORTED for an unknown hash (alg or a bank's), AERR_PCR_SELECTION
 * for a selection with no PCR, a bank twice or PCRs above 23. out->size is
 * the digest size of alg; out is zeroed on failure. */
int tpmpolicy_pcr_values_digest(TPMI_ALG_HASH alg, const TPML_PCR_SELECTION *sel,
				const struct pcr_values *values, TPM2B_DIGEST *out) ATTEST_WUR;

/* policyDigest after TPM2_PolicyPCR(sel, pcrDigest of values) in a session of
 * hash alg:
 *   out = H_alg(prev || TPM_CC_PolicyPCR || TPML_PCR_SELECTION sel || pcrDigest)
 * prev is the digest so far (NULL = a fresh session: alg-size zeros; else it
 * must be exactly alg-size bytes, AERR_INVALID_ARG). sel is marshalled as
 * given (sizeofSelect included), as the TPM hashes the command's own bytes.
 * Errors as tpmpolicy_pcr_values_digest. out may alias prev. */
int tpmpolicy_pcr(TPMI_ALG_HASH alg, const TPM2B_DIGEST *prev, const TPML_PCR_SELECTION *sel,
		  const struct pcr_values *values, TPM2B_DIGEST *out) ATTEST_WUR;

/* policyDigest after TPM2_PolicyCommandCode(code):
 *   out = H_alg(prev || TPM_CC_PolicyCommandCode || code)
 * Same rules for prev and out as tpmpolicy_pcr. Chained after tpmpolicy_pcr it
 * restricts an object to one command (e.g. TPM2_CC_Unseal, TPM2_CC_Sign). */
int tpmpolicy_command_code(TPMI_ALG_HASH alg, const TPM2B_DIGEST *prev, TPM2_CC code,
			   TPM2B_DIGEST *out) ATTEST_WUR;

#endif
