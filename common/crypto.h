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

/* HMAC with a TPM hash; out must hold crypto_digest_size(alg) bytes. */
int crypto_hmac(TPM2_ALG_ID alg, const uint8_t *key, size_t key_len, const uint8_t *data,
		size_t len, uint8_t *out) ATTEST_WUR;

/* CSPRNG bytes. */
int crypto_random(void *buf, size_t len) ATTEST_WUR;

/* Drain the OpenSSL error queue into err_set(code, "<what>: <openssl reason>")
 * (just "<what>" when the queue is empty) and return code. */
int crypto_ossl_err(int code, const char *what);

#endif
