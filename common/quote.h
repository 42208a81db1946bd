/* Verification of TPM2_Quote output against the AK, the nonce and the
 * requested selection. Only quote_verify produces a struct quoted_state:
 * policy code accepts PCR values only in that form. */
#ifndef ATTEST_QUOTE_H
#define ATTEST_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "pcrsel.h"

#define QUOTE_MAX_ATTEST sizeof(TPM2B_ATTEST)
#define QUOTE_MAX_SIGNATURE sizeof(TPMT_SIGNATURE)

/* What a valid quote proves. */
struct quoted_state {
	struct pcr_values pcrs;       /* the quoted PCR values, proven by the digest */
	TPMS_CLOCK_INFO clock;        /* clock, resetCount, restartCount, safe */
	uint64_t firmware_version;
	TPM2B_NAME signer;            /* qualifiedSigner from the attest structure */
	int proven;                   /* the AK signed a quote over this nonce (checks 1-3 passed),
				       * set also when a later check failed */
};

/* What TPM2_Quote puts in pcrDigest: H_hash of the values of sel in selection
 * order (banks as listed, PCR indices ascending), into out (at least
 * CRYPTO_MAX_DIGEST bytes). Every selected value must be in values. */
int quote_pcr_digest(TPM2_ALG_ID hash, const TPML_PCR_SELECTION *sel, const struct pcr_values *values,
		     uint8_t *out, size_t *out_len) ATTEST_WUR;

/* Verify a quote. attest is TPM2B_ATTEST wire bytes, sig is TPMT_SIGNATURE wire
 * bytes; both are parsed strictly (no trailing bytes). Order of checks:
 * 1. signature over the attest bytes, scheme and hash pinned by ak's scheme (AERR_SIGNATURE)
 * 2. magic == TPM_GENERATED_VALUE (AERR_QUOTE_MAGIC), type == ATTEST_QUOTE (AERR_QUOTE_TYPE)
 * 3. extraData == nonce, constant time (AERR_NONCE)
 * 4. quoted selection == requested (AERR_PCR_SELECTION)
 * 5. values hold exactly the selected PCRs (AERR_PCR_SELECTION)
 * 6. pcrDigest == H_sighash(selected values in selection order) (AERR_PCR_DIGEST)
 * On success fills *out; on failure *out is zeroed but for out->proven (1 when
 * checks 1-3 passed: whoever sent it holds the AK's TPM now) and
 * err_detail() says why. */
int quote_verify(const TPMT_PUBLIC *ak, const uint8_t *attest, size_t attest_len,
		 const uint8_t *sig, size_t sig_len, const uint8_t *nonce, size_t nonce_len,
		 const TPML_PCR_SELECTION *requested, const struct pcr_values *values,
		 struct quoted_state *out) ATTEST_WUR;

/* quote_verify with ak's key already built (tpmpub_to_evp of ak, e.g. from a
 * cache); NULL builds it. */
int quote_verify_pkey(const TPMT_PUBLIC *ak, EVP_PKEY *ak_pkey, const uint8_t *attest, size_t attest_len,
		      const uint8_t *sig, size_t sig_len, const uint8_t *nonce, size_t nonce_len,
		      const TPML_PCR_SELECTION *requested, const struct pcr_values *values,
		      struct quoted_state *out) ATTEST_WUR;

/* Another attestation than a quote, of type (TPM_ST_ATTEST_CERTIFY, the
 * output of TPM2_Certify): quote_verify's checks 1-3 in its order (the
 * signature by key over exactly the TPM2B_ATTEST's bytes, then magic and
 * type, then extraData == nonce in constant time), its contents into *out
 * (zeroed on failure). */
int quote_attest_verify(const TPMT_PUBLIC *key, const uint8_t *attest, size_t attest_len, const uint8_t *sig,
			size_t sig_len, const uint8_t *nonce, size_t nonce_len, TPM2_ST type, TPMS_ATTEST *out) ATTEST_WUR;

/* Verify a TPMT_SIGNATURE (wire bytes) by key over data with the scheme pinned
 * by key's public area (RSASSA, RSAPSS, ECDSA). Shared by quotes and by proofs
 * of possession of delivered keys. */
int quote_verify_signature(const TPMT_PUBLIC *key, const uint8_t *data, size_t len,
			   const uint8_t *sig, size_t sig_len) ATTEST_WUR;
#endif
