/* A verdict's evidence as the store keeps it (store_blob): the AK that
 * signed the quote, the PCR values the quote claimed, the boot event log
 * and the IMA entries sent with it, each with its SHA-256. A dry run, an
 * audit and a learned reference (review/) read them back. */
#ifndef VERIFIER_RECORD_EVIDENCE_H
#define VERIFIER_RECORD_EVIDENCE_H

#include <tss2/tss2_tpm2_types.h>

#include "pcrsel.h"
#include "session/session.h"
#include "store/store.h"

struct record_evidence {
	uint8_t ak[sizeof(TPM2B_PUBLIC)];
	uint8_t values[PCR_VALUES_PACK_MAX];
	char ak_hex[65], values_hex[65], log_hex[65], ima_hex[65];
};

/* Into a's evidence (pointing into ev, ak public and q): what of it there
 * is. ak NULL, a claim that is not exactly sel's PCRs, or a piece that
 * cannot be hashed leaves that piece out (the audit then says it is
 * missing): a verdict is recorded with the evidence it had. */
void record_evidence(const TPMT_PUBLIC *ak, const TPML_PCR_SELECTION *sel, const struct session_quote *q,
		     struct record_evidence *ev, struct store_attestation *a);

#endif
