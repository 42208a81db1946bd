/* Keys already verified against this process's trust stores: endorsements
 * (EK public and certificates) and, in a second cache of the same kind, AK
 * public keys.
 *
 * Re-attestation asks the same host for the same EK public and certificates
 * every interval; their chain and key binding cannot change while the trust
 * stores stay loaded, so the verifier checks them once and afterwards only
 * compares bytes. An entry is the SHA-256 over the exact bytes that passed
 * (EK public, EK certificate, platform certificate, each length-prefixed),
 * so any difference in any byte is a miss and gets the full checks.
 *
 * The cache belongs next to the trust stores it vouches for (a pull driver, a
 * push service) and dies with them: reloading a trust store means a new cache.
 * Bounded: the oldest entry is replaced when full. Thread-safe.
 *
 * An entry may also carry a public key (keycache_add_pkey): a second cache of
 * the same kind keeps each AK's EVP_PKEY under the digest of its TPM name, so
 * that a re-attestation verifies its quote without building the key again
 * from the TPMT_PUBLIC (7% of the push verifier's CPU per attestation). */
#ifndef VERIFIER_SESSION_KEYCACHE_H
#define VERIFIER_SESSION_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "err.h"

#define KEYCACHE_KEY_LEN 32

struct keycache;

/* capacity entries (>= 1). */
int keycache_new(size_t capacity, struct keycache **out) ATTEST_WUR;
void keycache_free(struct keycache *c);

/* The key of an endorsement: any of the buffers may be NULL/0. */
int keycache_key(const uint8_t *ek_pub, size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
		 const uint8_t *platform_cert, size_t platform_cert_len, uint8_t key[KEYCACHE_KEY_LEN]) ATTEST_WUR;

/* 1 when key was added before, else 0. NULL cache: always 0. */
int keycache_contains(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN]);

/* Remember key (after every check passed). NULL cache: no-op. */
void keycache_add(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN]);

/* The key added with key by keycache_add_pkey: 1 and *out (a reference the
 * caller frees) when present, else 0 and *out NULL. NULL cache: always 0. */
int keycache_pkey(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN], EVP_PKEY **out);

/* Remember pkey under key (the cache takes its own reference) unless key is
 * there already. NULL cache: no-op. */
void keycache_add_pkey(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN], EVP_PKEY *pkey);

/* Hits and misses since keycache_new (logs, benchmark). */
void keycache_counts(struct keycache *c, uint64_t *hits, uint64_t *misses);

#endif
