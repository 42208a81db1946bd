/* The outer wrapper the TPM puts around credential blobs (TPM2_MakeCredential)
 * and duplication blobs (TPM2_Duplicate / TPM2_Import), keyed by a seed shared
 * with the parent (seed.h). TPM 2.0 Part 1, 23.3.2.3 and 24. */
#ifndef ATTEST_WRAP_H
#define ATTEST_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"

/* Check the parent's symmetric definition: AES (128/192/256) in CFB mode, the
 * only protection a storage key may name. AERR_UNSUPPORTED otherwise. */
int wrap_check_parent(const TPMT_PUBLIC *parent) ATTEST_WUR;

/* Outer-wrap plain for parent, bound to name (the protected object's Name):
 *   symKey  = KDFa(parent nameAlg, seed, "STORAGE", name, -, parent AES key bits)
 *   enc     = AES-CFB(symKey, IV = 0, plain)
 *   hmacKey = KDFa(parent nameAlg, seed, "INTEGRITY", -, -, digest bits)
 *   out     = [UINT16 size] HMAC(hmacKey, enc || name) || enc
 * which is TPM2B_ID_OBJECT.credential / TPM2B_PRIVATE.buffer. out holds cap
 * bytes; *out_len gets the length used. AERR_TOO_LARGE when it does not fit. */
int wrap_outer(const TPMT_PUBLIC *parent, const uint8_t *seed, size_t seed_len,
	       const TPM2B_NAME *name, const uint8_t *plain, size_t plain_len, uint8_t *out,
	       size_t cap, size_t *out_len) ATTEST_WUR;

#endif
