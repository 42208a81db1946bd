/* The attestor's protobuf edge: each verifier demand (as a protocol message)
 * answered through the TPM operations of tpm.h, as a protocol message. The
 * pull handlers (service.c) reply with these; the push driver (driver.c) sends
 * them. One place, so both modes answer exactly alike.
 *
 * Every answer_* fills a->msg, which points into *a (and, for the
 * endorsement, into memory answer_done frees): keep *a until the message is
 * packed, then call answer_done (wipes what may be secret). Requests are
 * hostile: each is checked before any TPM work (AERR_INVALID_ARG/AERR_PARSE). */
#ifndef ATTESTOR_ANSWER_H
#define ATTESTOR_ANSWER_H

#include "attest.pb-c.h"
#include "err.h"
#include "secrets.h"
#include "tpm.h"
#include "wire.h"

#define ANSWER_HOST_MAX 256

struct answer_endorsement {
	struct tpm_endorsement *e;
	Attest__V1__EndorsementKey eks[TPM_MAX_EKS];
	Attest__V1__EndorsementKey *ekp[TPM_MAX_EKS];
	char host[ANSWER_HOST_MAX];
	Attest__V1__Endorsement msg;
};

struct answer_ak {
	struct tpm_ak ak;
	Attest__V1__AttestationKey msg;
};

struct answer_activation {
	uint8_t secret[sizeof(TPMU_HA)];
	Attest__V1__CredentialResponse msg;
};

/* Where the measurement logs are read from; NULL or "" = do not send one. */
struct answer_logs {
	const char *event_log;    /* TCG boot event log (binary_bios_measurements) */
	const char *ima_log;      /* IMA binary_runtime_measurements */
};

struct answer_quote {
	struct tpm_quote *q;
	uint8_t *event_log;       /* file contents, freed by answer_quote_done */
	uint8_t *ima_log;
	struct wire_pcr_values_buf values;
	Attest__V1__QuoteResponse msg;
};

/* DeliverSecrets: at most ANSWER_MAX_SECRETS secrets per delivery, each with
 * a challenge of ANSWER_CHALLENGE_MIN..MAX bytes. */
#define ANSWER_MAX_SECRETS 16
#define ANSWER_CHALLENGE_MIN 16
#define ANSWER_CHALLENGE_MAX 1024

/* One secret of a delivery, on its way to the store. */
struct answer_secret {
	struct secrets_record rec;
	const Attest__V1__Secret *in;
	uint8_t proof[sizeof(TPMT_SIGNATURE)];
	size_t proof_len;
};

struct answer_secrets {
	struct answer_secret *secs;
	size_t n;
	Attest__V1__SecretProof proofs[ANSWER_MAX_SECRETS];
	Attest__V1__SecretProof *proofp[ANSWER_MAX_SECRETS];
	Attest__V1__SecretReceipt msg;
};

int answer_endorsement(struct tpm *t, struct answer_endorsement *a) ATTEST_WUR;
void answer_endorsement_done(struct answer_endorsement *a);

int answer_ak(struct tpm *t, struct answer_ak *a) ATTEST_WUR;

/* AERR_STATE when the challenge names another AK; AERR_CREDENTIAL when the
 * TPM refuses the blob. */
int answer_activation(struct tpm *t, const Attest__V1__CredentialChallenge *req,
		      struct answer_activation *a) ATTEST_WUR;
void answer_activation_done(struct answer_activation *a);

/* The quote, then (so that the logs cover at least what the quote covers) the
 * boot event log when asked for, and the IMA entries from req->ima_offset
 * (whole entries only; when the list is shorter, the host rebooted: from 0,
 * and the response's ima_offset says so). An absent log file sends nothing;
 * an unreadable or oversized one is an error. */
int answer_quote(struct tpm *t, const struct answer_logs *logs, const Attest__V1__QuoteRequest *req,
		 struct answer_quote *a) ATTEST_WUR;
void answer_quote_done(struct answer_quote *a);

/* Every secret is checked first (name, kind against the object, EK, policy
 * selection, challenge size, no name twice), then each is imported under its
 * EK and used once under its PCR policy for the proof (AES: HMAC-SHA256 of the
 * challenge with the unsealed key; RSA: RSASSA-SHA256 over SHA-256 of the
 * challenge); only when all succeeded are they written to the store in
 * state_dir. Errors name the secret. AERR_PCR_POLICY when the host's PCRs do
 * not satisfy a policy; AERR_IMPORT when a blob is not for this TPM. */
int answer_secrets(struct tpm *t, const char *state_dir, const Attest__V1__SecretDelivery *req,
		   struct answer_secrets *a) ATTEST_WUR;
void answer_secrets_done(struct answer_secrets *a);

#endif
