/* TPM "secret sharing" with a storage parent (TPM 2.0 Part 1, 11.4.4 / Annex
 * B.10.3 and C.6.1): a fresh seed that only the parent's TPM can recover.
 * Used by MakeCredential (label "IDENTITY") and by Import blobs ("DUPLICATE"). */
#ifndef ATTEST_SEED_H
#define ATTEST_SEED_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"

#define SEED_MAX CRYPTO_MAX_DIGEST

/* Check that parent can receive a shared seed: type RSA or ECC, a supported
 * nameAlg, restricted and decrypt set (a storage key, as TPM2_MakeCredential
 * and TPM2_Import require). AERR_UNSUPPORTED with a detail otherwise. */
int seed_check_parent(const TPMT_PUBLIC *parent) ATTEST_WUR;

/* Make a seed of the parent's nameAlg digest size and encrypt it to parent:
 * RSA: RSA-OAEP, OAEP and MGF1 hash = nameAlg, OAEP label = label including
 *      its terminating NUL ("IDENTITY\0").
 * ECC: an ephemeral key on the parent's curve; Z = x of ECDH(ephemeral, parent);
 *      seed = KDFe(nameAlg, Z, label, ephemeral.x, parent.x, digest bits);
 *      enc = the ephemeral public point marshalled as TPMS_ECC_POINT (the
 *      x and y coordinates padded to the curve size).
 * seed must hold SEED_MAX bytes; *seed_len gets the digest size. On failure
 * seed is wiped, *seed_len is 0 and enc is zeroed. */
int seed_make(const TPMT_PUBLIC *parent, const char *label, uint8_t *seed, size_t *seed_len,
	      TPM2B_ENCRYPTED_SECRET *enc) ATTEST_WUR;

#endif
