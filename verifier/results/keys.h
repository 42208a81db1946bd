/* The verifier's result-signing keys (issue #18): the current one signs
 * every attestation result (an EAR, results/ear.h) as a JWS with ES256
 * (ECDSA P-256, SHA-256, the signature as r || s); retired ones are still
 * published in the JWKS, so that tokens they signed verify until they
 * expire, and never sign. A key is named by its RFC 7638 JWK thumbprint
 * (the JWS header's kid). The current key is a PEM private key file held
 * to the rule of key files (common/keyfile.h); made at the first start
 * when absent (mode 0600). */
#ifndef VERIFIER_RESULTS_KEYS_H
#define VERIFIER_RESULTS_KEYS_H

#include <stddef.h>

#include "err.h"

#define RESULT_KEYS_MAX 8
/* base64url of a SHA-256: the kid of a key. */
#define RESULT_KID_LEN 43

struct result_keys;

/* The current key from key_path (made there when create and it does not
 * exist), and the retired keys' files (PEM, public or private). AERR_CONFIG
 * with the file and why (not P-256, unreadable, loose permissions). */
int result_keys_load(const char *key_path, int create, const char *const *retired, size_t nretired,
		     struct result_keys **out) ATTEST_WUR;

/* A JWKS of the keys of a JWKS document (what `verifier jwks` printed):
 * for checking tokens without the private key. AERR_PARSE with why. */
int result_keys_from_jwks(const char *json, struct result_keys **out) ATTEST_WUR;

void result_keys_free(struct result_keys *k);

/* The current key's kid; "" when there is none (keys from a JWKS). */
const char *result_keys_kid(const struct result_keys *k);

/* payload (JSON text) as a compact JWS of the current key, malloc'd in
 * *jws: header {"alg":"ES256","typ":"JWT","kid":KID}. AERR_STATE without a
 * current key, AERR_CRYPTO, AERR_ALLOC. */
int result_sign(const struct result_keys *k, const char *payload, size_t len, char **jws) ATTEST_WUR;

/* The JWKS of every key, current first: {"keys": [{"kty":"EC","crv":"P-256",
 * "x":..,"y":..,"kid":..,"alg":"ES256","use":"sig"}, ...]}, malloc'd. */
int result_jwks(const struct result_keys *k, char **json) ATTEST_WUR;

/* A compact JWS checked: the header's alg ES256 and a kid of one of the
 * keys, the signature by that key. 0 with *payload (the JSON text,
 * malloc'd) and kid; AERR_PARSE (malformed: why), AERR_UNSUPPORTED (another
 * alg), AERR_NOT_FOUND (a kid none of the keys has), AERR_SIGNATURE. */
int result_verify(const struct result_keys *k, const char *jws, char **payload,
		  char kid[RESULT_KID_LEN + 1]) ATTEST_WUR;

#endif
