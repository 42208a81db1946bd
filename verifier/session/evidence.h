/* The verifier's protobuf edge: messages from the attestor into the
 * session's input structs, the session's outputs into messages. Shared by
 * the pull driver and the push service so both modes read evidence the same
 * way. Inputs are views into the unpacked message (valid while it lives);
 * outputs point into caller buffers. */
#ifndef VERIFIER_SESSION_EVIDENCE_H
#define VERIFIER_SESSION_EVIDENCE_H

#include <tss2/tss2_tpm2_types.h>

#include "attest.pb-c.h"
#include "err.h"
#include "session/session.h"
#include "wire.h"

struct evidence_challenge_buf {
	uint8_t name[sizeof(TPM2B_NAME)];
	uint8_t blob[sizeof(TPM2B_ID_OBJECT)];
	uint8_t seed[sizeof(TPM2B_ENCRYPTED_SECRET)];
};

/* AERR_TOO_LARGE for more EKs than SESSION_MAX_EKS, AERR_PARSE for an
 * algorithm id beyond 16 bits. */
int evidence_endorsement(const Attest__V1__Endorsement *m, struct session_endorsement *out) ATTEST_WUR;

/* AERR_PARSE when m is NULL (a push Hello without an AK). */
int evidence_ak(const Attest__V1__AttestationKey *m, struct session_ak *out) ATTEST_WUR;

int evidence_challenge(const struct session_challenge *c, struct evidence_challenge_buf *buf,
		       Attest__V1__CredentialChallenge *out) ATTEST_WUR;

int evidence_quote_request(const struct session_quote_request *qr, struct wire_pcrsel_buf *buf,
			   Attest__V1__QuoteRequest *out) ATTEST_WUR;

struct evidence_delivery_buf {
	Attest__V1__Secret sec[SECRET_MAX_PER_HOST];
	Attest__V1__Secret *ptr[SECRET_MAX_PER_HOST];
	struct wire_pcrsel_buf sel[SECRET_MAX_PER_HOST];
};

/* The n blobs of session_secrets as a SecretDelivery. */
int evidence_delivery(const struct secret_blob *blobs, size_t n, struct evidence_delivery_buf *buf,
		      Attest__V1__SecretDelivery *out) ATTEST_WUR;

/* A SecretReceipt as proofs (at most cap: AERR_TOO_LARGE beyond). */
int evidence_receipt(const Attest__V1__SecretReceipt *m, struct session_proof *proofs, size_t cap,
		     size_t *n) ATTEST_WUR;

/* values receives the claimed PCR values that out->values points to. */
int evidence_quote(const Attest__V1__QuoteResponse *m, struct pcr_values *values,
		   struct session_quote *out) ATTEST_WUR;

#endif
