/* Hash, HMAC and randomness by TPM algorithm id, and the one place where the
 * OpenSSL error queue becomes a project error. */
#ifndef ATTEST_CRYPTO_H
#define ATTEST_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"

#define CRYPTO_MAX_DIGEST 64

/* First thing in main of every program that runs gRPC, before any other use
 * of OpenSSL: OpenSSL then keeps its state to the end of the process instead
 * of freeing it from an atexit handler. gRPC's worker threads are detached,
 * and one may still be finishing a TLS operation while exit runs: after that
 * cleanup it would meet freed state, and its thread-local random generators,
 * whose keys the cleanup deleted, would be left behind (LeakSanitizer reported
 * them in CI as 328-byte objects per thread). */
void crypto_process_init(void);

/* EVP_MD for a TPM hash algorithm (SHA1, SHA256, SHA384, SHA512, SM3_256), NULL when unsupported. */
const EVP_MD *crypto_md(TPM2_ALG_ID alg);

/* Digest size in bytes, 0 when unsupported. */
size_t crypto_digest_size(TPM2_ALG_ID alg);

/* Name of a hash algorithm ("sha256"), or NULL. And the reverse: TPM2_ALG_ERROR when unknown. */
const char *crypto_alg_name(TPM2_ALG_ID alg);
TPM2_ALG_ID crypto_alg_from_name(const char *name);

/* crypto_alg_name, or "0x%04x" of alg in buf when we do not know it (for logs). */
const char *crypto_alg_label(TPM2_ALG_ID alg, char buf[16]);

/* out must hold crypto_digest_size(alg) bytes. */
int crypto_digest(TPM2_ALG_ID alg, const void *data, size_t len, uint8_t *out) ATTEST_WUR;

/* The same digest on the hot paths of log replay (template hashes, PCR
 * extends: millions of short inputs). SHA-1 and SHA-2 go through OpenSSL's
 * block functions on a stack context: an EVP call costs ~90 ns of context and
 * provider dispatch on top of a 64-byte hash that itself takes ~100 ns.
 * Other algorithms (SM3) fall back to crypto_digest. Same result and errors
 * as crypto_digest; out must hold crypto_digest_size(alg) bytes. */
int crypto_hash(TPM2_ALG_ID alg, const void *data, size_t len, uint8_t *out) ATTEST_WUR;

/* PCR extend in place: pcr = H_alg(pcr || value), both crypto_digest_size(alg)
 * bytes (through crypto_hash). Errors as crypto_digest. */
int crypto_extend(TPM2_ALG_ID alg, uint8_t *pcr, const uint8_t *value) ATTEST_WUR;

/* HMAC with a TPM hash; out must hold crypto_digest_size(alg) bytes. */
int crypto_hmac(TPM2_ALG_ID alg, const uint8_t *key, size_t key_len, const uint8_t *data,
		size_t len, uint8_t *out) ATTEST_WUR;

/* CSPRNG bytes. */
int crypto_random(void *buf, size_t len) ATTEST_WUR;

/* Drain the OpenSSL error queue into err_set(code, "<what>: <openssl reason>")
 * (just "<what>" when the queue is empty) and return code. */
int crypto_ossl_err(int code, const char *what);

#endif
