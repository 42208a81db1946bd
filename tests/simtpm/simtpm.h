/* simtpm: the project's one software stand-in for a TPM, for the unit tests,
 * the fuzz harnesses and the load generator. A node has an EK from the TCG
 * default template (RSA-2048 or ECC P-256) with an optional certificate from
 * a CA made here, and a restricted signing AK (RSA-2048 RSASSA-SHA256 or ECC
 * P-256 ECDSA-SHA256); it answers ActivateCredential and Quote the way a TPM
 * does, over PCR values and a clock the caller sets, so the real verifier
 * checks it exactly as it checks a TPM.
 *
 * It proves nothing about any machine: keys live in this process and the
 * caller may hand them in (the fuzz harnesses use fixed keys so that seeds
 * made by one process pass in another). Never link it into a product binary.
 * Errors are err.h codes with err_detail(). */
#ifndef ATTEST_SIMTPM_H
#define ATTEST_SIMTPM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "pcrsel.h"

/* ------------------------------------------------------------ EK CA (ca.c) */

struct simtpm_ca;

/* A self-signed CA for EK certificates named cn, with key (up-ref'd) or,
 * key NULL, a fresh ECDSA P-256 key. Two CAs may share a name. */
int simtpm_ca_new(EVP_PKEY *key, const char *cn, struct simtpm_ca **out) ATTEST_WUR;
/* The CA certificate as PEM at path (a verifier's ek_roots directory). */
int simtpm_ca_write(const struct simtpm_ca *ca, const char *path) ATTEST_WUR;
/* An EK certificate over key's public part: subject CN = cn, EKU
 * tcg-kp-EKCertificate, keyEncipherment (RSA) or keyAgreement (ECC). *der is
 * malloc'd; free() it. */
int simtpm_ca_issue(const struct simtpm_ca *ca, EVP_PKEY *key, const char *cn, uint64_t serial, uint8_t **der,
		    size_t *der_len) ATTEST_WUR;
void simtpm_ca_free(struct simtpm_ca *ca);

/* ------------------------------------------------------------ a node (node.c) */

struct simtpm;

struct simtpm_params {
	TPM2_ALG_ID ek_alg;          /* TPM2_ALG_RSA or TPM2_ALG_ECC */
	EVP_PKEY *ek_key;            /* RSA-2048 (e = 65537) / P-256, up-ref'd; NULL: a fresh one */
	EVP_PKEY *ak_key;            /* RSA-2048 or P-256, up-ref'd; NULL: a fresh P-256 one */
	const struct simtpm_ca *ca;  /* issues the EK certificate; NULL: none */
	uint64_t serial;             /* of the EK certificate */
	uint64_t clock_tick_ms;      /* clockInfo.clock advances this much after each quote */
};

int simtpm_new(const struct simtpm_params *p, struct simtpm **out) ATTEST_WUR;
void simtpm_free(struct simtpm *s);

/* What the node shows, valid while s lives: TPM2B_PUBLIC wire bytes of EK
 * and AK, the DER EK certificate (NULL without a CA), the public areas and
 * the AK's Name. */
const uint8_t *simtpm_ek_public(const struct simtpm *s, size_t *len);
const uint8_t *simtpm_ek_cert(const struct simtpm *s, size_t *len);
const uint8_t *simtpm_ak_public(const struct simtpm *s, size_t *len);
const TPMT_PUBLIC *simtpm_ek_pub(const struct simtpm *s);
const TPMT_PUBLIC *simtpm_ak_pub(const struct simtpm *s);
const TPM2B_NAME *simtpm_ak_name(const struct simtpm *s);
TPM2_ALG_ID simtpm_ek_alg(const struct simtpm *s);

/* The node's PCRs: the caller's values (kept by the caller, read at every
 * quote; several nodes may share them). NULL, the start: every PCR zero. A
 * PCR or bank the values leave out reads as zeros, as after a TPM reset. */
void simtpm_set_pcrs(struct simtpm *s, const struct pcr_values *values);
/* The clock the next quote reports (starts at clock 1000, resetCount 1,
 * restartCount 0, safe): the caller may move it, e.g. to a reboot. */
TPMS_CLOCK_INFO *simtpm_clock(struct simtpm *s);

/* ------------------------------------------------------------ commands */

/* TPM2_ActivateCredential(activateHandle = AK, keyHandle = EK) (activate.c):
 * the seed recovered with the EK private key, the HMAC checked over this
 * node's AK Name (not the one the challenge claims: that binds the
 * credential to the AK), the credential decrypted into secret (cap bytes).
 * AERR_CREDENTIAL where a TPM refuses, AERR_PARSE for malformed input. */
int simtpm_activate(const struct simtpm *s, const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *enc_seed,
		    uint8_t *secret, size_t cap, size_t *len) ATTEST_WUR;
/* The same from the wire bytes the verifier sends. */
int simtpm_activate_wire(const struct simtpm *s, const uint8_t *blob, size_t blob_len, const uint8_t *enc_seed,
			 size_t enc_seed_len, uint8_t *secret, size_t cap, size_t *len) ATTEST_WUR;

/* A TPM2_Quote as the attestor sends it: TPM2B_ATTEST and TPMT_SIGNATURE
 * wire bytes, and the node's values of the quoted PCRs. */
struct simtpm_quote {
	uint8_t attest[sizeof(TPM2B_ATTEST)];
	size_t attest_len;
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	size_t sig_len;
	struct pcr_values values;
};

/* TPM2_Quote with the AK over sel, qualifyingData = nonce (quote.c). The
 * clock advances by clock_tick_ms afterwards: not thread safe for one node. */
int simtpm_quote(struct simtpm *s, const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		 struct simtpm_quote *out) ATTEST_WUR;
/* TPM2_Sign-like: TPMT_SIGNATURE wire bytes by the AK in its scheme over data. */
int simtpm_sign(const struct simtpm *s, const uint8_t *data, size_t len, uint8_t *sig, size_t cap,
		size_t *sig_len) ATTEST_WUR;

/* ------------------------------------------------------------ building blocks */

/* A TPMT_SIGNATURE over data by key in (scheme, hash): TPM2_ALG_RSASSA,
 * TPM2_ALG_RSAPSS (salt of pss_saltlen, 0 for the TPM's: the digest's
 * length) or TPM2_ALG_ECDSA. Tests sign in schemes a TPM would not. */
int simtpm_sign_with(EVP_PKEY *key, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, int pss_saltlen, const uint8_t *data,
		     size_t len, uint8_t *sig, size_t cap, size_t *sig_len) ATTEST_WUR;
/* TPM2_Quote's pcrDigest: H_hash(the selected values in selection order,
 * indices ascending), a value missing from values counting as zeros. When
 * picked is not NULL it gets those values (zeros included). */
int simtpm_pcr_digest(TPM2_ALG_ID hash, const TPML_PCR_SELECTION *sel, const struct pcr_values *values,
		      TPM2B_DIGEST *digest, struct pcr_values *picked) ATTEST_WUR;
/* Reproducible values for every PCR of the SHA-1, SHA-256 and SHA-384
 * banks, H_alg("simtpm pcr " || decimal index), so that a verifier policy
 * can expect them. */
int simtpm_pcrs_reproducible(struct pcr_values *out) ATTEST_WUR;

/* ------------------------------------------------------------ RSA key pool (keypool.c) */

/* Distinct RSA keys cheaply, for the load generator: RSA-2048 key generation
 * costs ~150 ms here, too much for 20,000 keys per run. simtpm_keys_make
 * makes P random 1024-bit primes and pairs them (n = p_i * p_j, i < j):
 * P(P-1)/2 distinct, valid 2-prime RSA-2048 keys that cost the verifier
 * exactly what any RSA-2048 key costs. Keys that share primes can be
 * factored by anyone holding two of them: acceptable for test material. */
struct simtpm_keys;

/* At least n distinct RSA-2048 keys (e = 65537) from generated primes; the
 * primes are searched on `threads` threads. AERR_CRYPTO / AERR_ALLOC. */
int simtpm_keys_make(size_t n, int threads, struct simtpm_keys **out) ATTEST_WUR;
/* Key i (0 <= i < n of simtpm_keys_make): the same modulus for the same i,
 * a new EVP_PKEY each call (caller frees). Thread safe. */
int simtpm_keys_get(const struct simtpm_keys *k, size_t i, EVP_PKEY **out) ATTEST_WUR;
size_t simtpm_keys_primes(const struct simtpm_keys *k);
void simtpm_keys_free(struct simtpm_keys *k);
#endif
