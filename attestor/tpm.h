/* The attestor's TPM operations, shared by pull handlers and the push driver.
 * This module is the only one that talks to ESYS: callers see wire bytes and
 * our own structs, never ESYS handles.
 *
 * Transient objects: every function returns with no transient object loaded.
 * The EK and the AK are kept as ContextSave'd blobs (TPM-encrypted, held in
 * memory) and as the AK's private/public blobs, so a call costs a
 * ContextLoad instead of CreatePrimary + Load. When a saved context no longer
 * loads (TPM restarted), the EK is recreated and the AK reloaded from its
 * blobs. The EK and platform certificates are read from NV once per struct
 * tpm (a certificate provisioned later is seen after a restart). Not
 * thread-safe: one call at a time per struct tpm (tpm_stats_* excepted). */
#ifndef ATTEST_TPM_H
#define ATTEST_TPM_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "pcrsel.h"

/* Well-known handle of the platform certificate (TCG EK Credential
 * Profile 2.x); the EKs' are in tpm/endorsement.c, by template. */
#define TPM_NV_PLATFORM_CERT 0x01c08000u

#define TPM_NONCE_MIN 16
#define TPM_NONCE_MAX 64
#define TPM_MAX_EKS 2
#define TPM_MAX_CERT 16384

struct tpm;

struct tpm_opts {
	const char *tcti;          /* e.g. "device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321" */
	TPMI_ALG_PUBLIC ek_alg;    /* EK that parents the AK: TPM2_ALG_RSA or TPM2_ALG_ECC */
	TPMI_ALG_PUBLIC ak_alg;    /* AK type: TPM2_ALG_ECC (P-256 ECDSA-SHA256) or TPM2_ALG_RSA (2048 RSASSA-SHA256) */
	int no_context_cache;      /* 1: recreate EK, reload AK, reread NV certs on every call (measurements) */
};

/* Connect (TCTI loader) and start the TPM (TPM2_RC_INITIALIZE accepted).
 * AERR_TPM / AERR_INVALID_ARG with detail; *out NULL on failure. */
int tpm_open(const struct tpm_opts *opts, struct tpm **out) ATTEST_WUR;

/* Flush anything still loaded, close the TCTI. NULL-safe. */
void tpm_close(struct tpm *t);

struct tpm_ek {
	TPMI_ALG_PUBLIC alg;                   /* TPM2_ALG_RSA / TPM2_ALG_ECC */
	uint8_t pub[sizeof(TPM2B_PUBLIC)];     /* TPM2B_PUBLIC wire bytes */
	size_t pub_len;
	uint8_t *cert;                         /* DER from NV; NULL when the TPM has none */
	size_t cert_len;
};

struct tpm_endorsement {
	size_t neks;
	struct tpm_ek eks[TPM_MAX_EKS];
	uint8_t *platform_cert;                /* DER from NV 0x01c08000; NULL when absent */
	size_t platform_cert_len;
};

/* Every EK (RSA-2048 L-1, ECC P-256 L-2 templates) the TPM holds a certificate
 * for, plus the configured parent EK even without one. An absent NV index
 * means "no certificate", not an error. Callee-allocated; free with
 * tpm_endorsement_free. */
int tpm_endorsement(struct tpm *t, struct tpm_endorsement **out) ATTEST_WUR;
void tpm_endorsement_free(struct tpm_endorsement *e);

struct tpm_ak {
	uint8_t pub[sizeof(TPM2B_PUBLIC)];     /* TPM2B_PUBLIC wire bytes */
	size_t pub_len;
	TPM2B_NAME name;                       /* nameAlg || H(TPMT_PUBLIC) */
	TPMI_ALG_PUBLIC parent_ek_alg;
};


/* Rough cost in ms of creating the AK (for deadline checks): RSA ~170-300, ECC ~10. */
int64_t tpm_ak_create_cost_ms(const struct tpm *t);

/* The process's AK, created under the configured EK on first use. */
int tpm_ak_get(struct tpm *t, struct tpm_ak *out) ATTEST_WUR;

/* Replace the AK with a newly created one (after a TPM reset: the host
 * rebooted, so the verifier is to activate a fresh AK). */
int tpm_ak_renew(struct tpm *t) ATTEST_WUR;

/* TPM2_ActivateCredential(activateHandle = AK, keyHandle = EK of ek_alg).
 * ak_name is TPM2B_NAME wire bytes, id_object TPM2B_ID_OBJECT, enc_secret
 * TPM2B_ENCRYPTED_SECRET, all parsed strictly (AERR_PARSE/AERR_TRAILING).
 * AERR_STATE when ak_name is not this process's AK; AERR_CREDENTIAL when the
 * TPM rejects the blob. secret receives certInfo (cap >= sizeof(TPMU_HA) is
 * enough); the caller wipes it. */
int tpm_activate_credential(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *ak_name,
			    size_t ak_name_len, const uint8_t *id_object, size_t id_object_len,
			    const uint8_t *enc_secret, size_t enc_secret_len, uint8_t *secret,
			    size_t cap, size_t *secret_len) ATTEST_WUR;

struct tpm_quote {
	uint8_t attest[sizeof(TPM2B_ATTEST)];  /* TPM2B_ATTEST wire bytes */
	size_t attest_len;
	uint8_t sig[sizeof(TPMT_SIGNATURE)];   /* TPMT_SIGNATURE wire bytes */
	size_t sig_len;
	struct pcr_values values;              /* banks in selection order; equal to the quoted values */
	uint32_t pcr_update_counter;
};

/* Check a requested selection: 1..PCRSEL_MAX_BANKS banks, each once, a hash
 * we know and the TPM has allocated, sizeofSelect 3, indices 0..23, at least
 * one PCR per bank. AERR_INVALID_ARG with a detail naming the problem. */
int tpm_check_selection(struct tpm *t, const TPML_PCR_SELECTION *sel) ATTEST_WUR;

/* TPM2_Quote with the AK's own scheme over sel, qualifyingData = nonce
 * (TPM_NONCE_MIN..TPM_NONCE_MAX bytes, else AERR_INVALID_ARG), plus the PCR
 * values. The values are read before and checked after the quote: the
 * quote's pcrDigest must equal H(values), else the read is retried (PCRs
 * changed in between); AERR_TPM after a few failed rounds. */
int tpm_quote(struct tpm *t, const uint8_t *nonce, size_t nonce_len,
	      const TPML_PCR_SELECTION *sel, struct tpm_quote *out) ATTEST_WUR;

/* --- Secrets imported under an EK (issue #3). Objects are KEYEDHASH sealed
 * data (AES keys) or RSA signing keys whose authPolicy is PolicyPCR over a
 * selection, followed by PolicyCommandCode(Unseal / Sign) for those of our
 * verifier (PolicyPCR alone for objects duplicated with tpm2-tools); they are
 * used only through a policy session, never by password.
 * All three functions return with nothing of theirs loaded. */

/* A TPM_RC_PCR_CHANGED between PolicyPCR and the command is retried this often. */
#define TPM_POLICY_ROUNDS 3

/* Largest unsealed payload (TPM2B_SENSITIVE_DATA). */
#define TPM_MAX_SEALED 128

/* TPM2_Import under the EK of ek_alg (PolicySecret(endorsement) session).
 * pub is TPM2B_PUBLIC, dup TPM2B_PRIVATE (outer-wrapped, no inner wrapper),
 * seed TPM2B_ENCRYPTED_SECRET wire bytes, parsed strictly (AERR_PARSE /
 * AERR_TRAILING; empty ones are AERR_PARSE). The public area must be a
 * policy-only object (AERR_INVALID_ARG): KEYEDHASH or RSA, userWithAuth
 * clear, an authPolicy of nameAlg's digest size.
 * AERR_IMPORT when the TPM refuses the blob (seed not for this EK, integrity
 * check failed, public area altered), with the TPM's reason in the detail.
 * priv receives the TPM2B_PRIVATE wire bytes the TPM returns (wrapped by the
 * EK: safe at rest); cap >= sizeof(TPM2B_PRIVATE) is enough. */
int tpm_import(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	       const uint8_t *dup, size_t dup_len, const uint8_t *seed, size_t seed_len,
	       uint8_t *priv, size_t cap, size_t *priv_len) ATTEST_WUR;

/* Load (pub, priv) under the EK, satisfy PolicyPCR(sel) with the TPM's
 * current values (and PolicyCommandCode(TPM2_CC_Unseal) when the object's
 * authPolicy asks for it), TPM2_Unseal. AERR_PCR_POLICY with "the PCR policy is no
 * longer met (PCRs changed since the secret was sealed)" when the values (or
 * the selection) no longer give the object's authPolicy; AERR_IMPORT when the
 * blobs do not load under this EK. out receives the data (cap >=
 * TPM_MAX_SEALED is enough); the caller wipes it. */
int tpm_unseal(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	       const uint8_t *priv, size_t priv_len, const TPML_PCR_SELECTION *sel,
	       uint8_t *out, size_t cap, size_t *out_len) ATTEST_WUR;

struct tpm_signature {
	uint8_t wire[sizeof(TPMT_SIGNATURE)];  /* TPMT_SIGNATURE wire bytes */
	size_t wire_len;
	uint8_t raw[TPM2_MAX_RSA_KEY_BYTES];   /* the RSASSA signature alone (PKCS#1 v1.5 bytes) */
	size_t raw_len;
};

/* As tpm_unseal, but TPM2_Sign(RSASSA-SHA256) of a 32-byte SHA-256 digest
 * with the loaded RSA key (AERR_INVALID_ARG for another digest size or a key
 * that is not an RSA signing key). */
int tpm_sign(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	     const uint8_t *priv, size_t priv_len, const TPML_PCR_SELECTION *sel,
	     const uint8_t *digest, size_t digest_len, struct tpm_signature *out) ATTEST_WUR;

/* Time spent in ESYS calls (TPM command round trips: marshalling, sessions,
 * TCTI, the TPM itself), per command and in total, since tpm_open or the last
 * tpm_stats_reset. The benchmark's reference for "the TPM commands it needs".
 * Safe to call from another thread than the one using t. */
#define TPM_STATS_MAX 32
struct tpm_stat_cmd {
	const char *name;      /* ESYS function without "Esys_", e.g. "Quote"; static storage */
	uint64_t count;
	uint64_t ns;
};
struct tpm_stats {
	size_t n;
	struct tpm_stat_cmd cmd[TPM_STATS_MAX]; /* in order of first use */
	uint64_t count;        /* all calls, including any beyond TPM_STATS_MAX names */
	uint64_t ns;
};
void tpm_stats_get(struct tpm *t, struct tpm_stats *out);
void tpm_stats_reset(struct tpm *t);

/* Number of transient objects loaded in the TPM right now (tests, debugging). */
int tpm_transient_count(struct tpm *t, uint32_t *count) ATTEST_WUR;

#endif
