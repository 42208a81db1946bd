/* The TPM's key derivation functions (TPM 2.0 Part 1, 11.4.10), in software. */
#ifndef ATTEST_KDF_H
#define ATTEST_KDF_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"

/* Largest output accepted, in bits (far above anything a TPM derives). */
#define KDF_MAX_BITS (8u * 4096u)

/* KDFa (11.4.10.2): SP800-108 counter mode with HMAC-hash:
 *   K(i) = HMAC(key, [i]32 || label || 0x00 || context_u || context_v || [bits]32)
 * label is a C string; its terminating NUL is part of the input (as the TPM
 * does for "STORAGE", "INTEGRITY", ...); NULL means no label and no 0x00.
 * Contexts may be NULL when their length is 0. Writes (bits + 7) / 8 bytes to
 * out; when bits is not a multiple of 8 the excess high bits of out[0] are
 * cleared. AERR_UNSUPPORTED for an unknown hash, AERR_INVALID_ARG for bits 0
 * or above KDF_MAX_BITS. */
int kdf_a(TPM2_ALG_ID hash, const uint8_t *key, size_t key_len, const char *label,
	  const uint8_t *context_u, size_t context_u_len, const uint8_t *context_v,
	  size_t context_v_len, uint32_t bits, uint8_t *out) ATTEST_WUR;

/* KDFe (11.4.10.3): SP800-56A concatenation KDF with hash:
 *   K(i) = H([i]32 || z || label || 0x00 || party_u || party_v)
 * Same label, length and masking rules as kdf_a. z is the ECDH shared secret
 * (x-coordinate), party_u/party_v the x-coordinates of the ephemeral and the
 * static key. */
int kdf_e(TPM2_ALG_ID hash, const uint8_t *z, size_t z_len, const char *label,
	  const uint8_t *party_u, size_t party_u_len, const uint8_t *party_v,
	  size_t party_v_len, uint32_t bits, uint8_t *out) ATTEST_WUR;

#endif
