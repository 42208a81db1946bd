/* simtpm: a software stand-in for a TPM, for load generation only. One
 * simulated node has an EK from the TCG default template (RSA-2048 or ECC
 * P-256) with an EK certificate from a throwaway CA, and a restricted RSA-2048
 * signing AK (RSASSA-SHA256); it answers ActivateCredential and Quote the way
 * a TPM does, so the real verifier checks it exactly as it checks a TPM.
 *
 * It proves nothing about any machine: keys live in this process. Never link
 * it into a product binary.
 *
 * Distinct RSA keys cheaply: RSA-2048 key generation costs ~150 ms here, too
 * much for 20,000 keys per run. simtpm_keys makes P random 1024-bit primes and
 * pairs them (n = p_i * p_j, i < j): P(P-1)/2 distinct, valid 2-prime RSA-2048
 * keys that cost the verifier exactly what any RSA-2048 key costs. Keys that
 * share primes can be factored by anyone holding two of them: acceptable for
 * a load generator, and the reason this lives under bench/. */
#ifndef BENCH_SIMTPM_H
#define BENCH_SIMTPM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "pcrsel.h"

/* ------------------------------------------------------------ RSA key pool */

struct simtpm_keys;

/* At least n distinct RSA-2048 keys (e = 65537) from generated primes; the
 * primes are searched on `threads` threads. AERR_CRYPTO / AERR_ALLOC. */
int simtpm_keys_make(size_t n, int threads, struct simtpm_keys **out) ATTEST_WUR;
/* Key i (0 <= i < n of simtpm_keys_make): the same modulus for the same i,
 * a new EVP_PKEY each call (caller frees). Thread safe. */
int simtpm_keys_get(const struct simtpm_keys *k, size_t i, EVP_PKEY **out) ATTEST_WUR;
size_t simtpm_keys_primes(const struct simtpm_keys *k);
void simtpm_keys_free(struct simtpm_keys *k);

/* ------------------------------------------------------------ EK CA */

struct simtpm_ca;

/* A self-signed ECDSA P-256 CA for EK certificates (throwaway). */
int simtpm_ca_new(struct simtpm_ca **out) ATTEST_WUR;
/* The CA certificate as PEM at path (the verifier's ek_roots directory). */
int simtpm_ca_write(const struct simtpm_ca *ca, const char *path) ATTEST_WUR;
void simtpm_ca_free(struct simtpm_ca *ca);

/* ------------------------------------------------------------ one node */

struct simtpm;

/* A node. ek_alg TPM2_ALG_RSA takes ek_key (an RSA-2048 key, up-ref'd);
 * TPM2_ALG_ECC generates a fresh P-256 EK (ek_key NULL). ak_key must be
 * RSA-2048 (up-ref'd). The EK certificate has serial number `serial`. */
int simtpm_new(TPM2_ALG_ID ek_alg, EVP_PKEY *ek_key, EVP_PKEY *ak_key, const struct simtpm_ca *ca,
	       uint64_t serial, struct simtpm **out) ATTEST_WUR;
void simtpm_free(struct simtpm *s);

/* Wire bytes, valid while s lives: TPM2B_PUBLIC of EK and AK, DER EK cert. */
const uint8_t *simtpm_ek_public(const struct simtpm *s, size_t *len);
const uint8_t *simtpm_ek_cert(const struct simtpm *s, size_t *len);
const uint8_t *simtpm_ak_public(const struct simtpm *s, size_t *len);
TPM2_ALG_ID simtpm_ek_alg(const struct simtpm *s);

/* TPM2_ActivateCredential(activateHandle = AK, keyHandle = EK): blob is
 * TPM2B_ID_OBJECT and enc_seed TPM2B_ENCRYPTED_SECRET wire bytes (as the
 * verifier sends them). The seed is recovered with the EK private key, the
 * HMAC checked over the AK's own Name, the credential decrypted. secret holds
 * cap bytes; *len gets the credential's size. AERR_PARSE for malformed
 * input, AERR_CREDENTIAL when the seed or the integrity check fails. */
int simtpm_activate(const struct simtpm *s, const uint8_t *blob, size_t blob_len, const uint8_t *enc_seed,
		    size_t enc_seed_len, uint8_t *secret, size_t cap, size_t *len) ATTEST_WUR;

/* TPM2_Quote with the AK over sel, qualifyingData = nonce. attest receives
 * TPM2B_ATTEST, sig TPMT_SIGNATURE (wire bytes; caps of sizeof(TPM2B_ATTEST),
 * sizeof(TPMT_SIGNATURE) suffice); *values the node's PCR values for sel
 * (fixed: the same for every node, see simtpm_pcr_value). Not thread safe for
 * one node (the clock advances). */
int simtpm_quote(struct simtpm *s, const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		 uint8_t *attest, size_t attest_cap, size_t *attest_len, uint8_t *sig, size_t sig_cap,
		 size_t *sig_len, struct pcr_values *values) ATTEST_WUR;

/* The value of PCR index in bank alg on every simulated node:
 * H_alg("simtpm pcr " || decimal index), so a verifier policy can expect it.
 * out holds crypto_digest_size(alg) bytes. */
int simtpm_pcr_value(TPM2_ALG_ID alg, unsigned index, uint8_t *out) ATTEST_WUR;
#endif
