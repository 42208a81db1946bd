/* TPM2_Import blobs built in software (TPM 2.0 Part 1, 23.3; Part 3,
 * 13.3): an object whose sensitive area only the new parent's TPM can
 * recover, made by the verifier for a host's EK without a TPM of its own.
 *
 * The blobs have no inner wrapper (TPM2_Import symmetricAlg = TPM_ALG_NULL,
 * encryptionKey empty) and encryptedDuplication clear:
 *   seed      = seed_make(parent, "DUPLICATE")           -> inSymSeed
 *   duplicate = wrap_outer(parent, seed, Name(object),
 *                          TPM2B_SENSITIVE marshalled)    -> duplicate
 * The object's attributes are fixed here: fixedTPM, fixedParent and
 * sensitiveDataOrigin clear (TPM2_Import requires it), userWithAuth clear (only
 * a policy session satisfying authPolicy can use it), adminWithPolicy and noDA
 * set, empty authValue, nameAlg SHA-256.
 *
 * Note: fixedParent clear also lets whoever satisfies authPolicy run
 * TPM2_Duplicate on the imported object (DUP role). A policy made of
 * PolicyPCR alone grants that; chain tpmpolicy_command_code(TPM2_CC_Unseal or
 * TPM2_CC_Sign) after it to forbid it (the user must then also run
 * TPM2_PolicyCommandCode in the session). */
#ifndef ATTEST_DUPLICATE_H
#define ATTEST_DUPLICATE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"

/* Most bytes a TPM seals in one KEYEDHASH object (MAX_SYM_DATA of PC Client TPMs). */
#define DUP_MAX_SEALED 128

/* The attributes every object made here has, and per kind. */
#define DUP_ATTRS_COMMON (TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_NODA)
#define DUP_ATTRS_SEALED DUP_ATTRS_COMMON
#define DUP_ATTRS_RSA (DUP_ATTRS_COMMON | TPMA_OBJECT_SIGN_ENCRYPT)

enum dup_kind { DUP_SEALED, DUP_RSA };

/* Seal data (1..DUP_MAX_SEALED bytes) for parent: a KEYEDHASH sealed data
 * object (scheme NULL) with authPolicy = *auth_policy (exactly 32 bytes: a
 * SHA-256 policy digest, e.g. from tpmpolicy_pcr). Its sensitive area holds an
 * empty authValue, a fresh random 32-byte seedValue and data; unique =
 * SHA-256(seedValue || data).
 * parent must be an RSA or ECC storage key with an AES-CFB symmetric
 * definition (an EK from the TCG templates is): AERR_UNSUPPORTED otherwise.
 * Outputs are the TPM2_Import parameters objectPublic (*pub), duplicate (*dup)
 * and inSymSeed (*seed); all three are zeroed on entry and on failure. Every
 * call uses a fresh seed, so no two calls give the same blobs. */
int dup_make_sealed(const TPMT_PUBLIC *parent, const uint8_t *data, size_t len,
		    const TPM2B_DIGEST *auth_policy, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *dup,
		    TPM2B_ENCRYPTED_SECRET *seed) ATTEST_WUR;

/* Import rsa_key (an RSA private key of 2048 or 3072 bits, public exponent
 * below 2^32) for parent as an unrestricted signing key with scheme
 * RSASSA-SHA256 (pinned in the public area: the TPM then signs with nothing
 * else, and quote_verify_signature checks a signature against exactly that
 * scheme). The sensitive area carries the first prime p (the TPM recomputes
 * the rest), an empty authValue and an empty seedValue. Same parent rules,
 * auth_policy rule and outputs as dup_make_sealed; AERR_UNSUPPORTED for a key
 * that is not RSA or of another size. */
int dup_make_rsa(const TPMT_PUBLIC *parent, EVP_PKEY *rsa_key, const TPM2B_DIGEST *auth_policy,
		 TPM2B_PUBLIC *pub, TPM2B_PRIVATE *dup, TPM2B_ENCRYPTED_SECRET *seed) ATTEST_WUR;

#endif
