/* A key the attestor made in its TPM, certified there by its AK (issue
 * #18): TPM2_Certify's attestation, checked so that the verifier may issue
 * the key an X.509 certificate. The key must be one that cannot leave the
 * TPM: fixedTPM, fixedParent and sensitiveDataOrigin, a signing key only
 * (sign, not decrypt, not restricted: TLS client authentication), used with
 * its auth value (userWithAuth), RSA-2048 or ECC P-256, nameAlg SHA-256. */
#ifndef ATTEST_CERTIFY_H
#define ATTEST_CERTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"

/* key's public area admitted as above: 0, or AERR_CERTIFY (attributes) /
 * AERR_UNSUPPORTED (algorithm, size, nameAlg) naming what is wrong. */
int certify_key_admit(const TPMT_PUBLIC *key) ATTEST_WUR;

/* key_pub (TPM2B_PUBLIC wire bytes) certified by the AK: checks, in order,
 * ak is an AK (akpub_admit: restricted, so it signs only what the TPM
 * made); the key parses and is admitted (certify_key_admit); the
 * attestation (a TPM2B_ATTEST) is signed by ak (sig: TPMT_SIGNATURE), is a
 * TPM_ST_ATTEST_CERTIFY with extraData == nonce; the name it certifies is
 * the name of exactly the bytes of key_pub (AERR_CERTIFY). *out: the key on
 * success. The caller's part: ak is the node's activated AK, and nonce one
 * it issued to this node's session and takes back once used (freshness is
 * only what the nonce gives). */
int certify_verify(const TPMT_PUBLIC *ak, const uint8_t *key_pub, size_t key_pub_len, const uint8_t *attest,
		   size_t attest_len, const uint8_t *sig, size_t sig_len, const uint8_t *nonce, size_t nonce_len,
		   TPMT_PUBLIC *out) ATTEST_WUR;

#endif
