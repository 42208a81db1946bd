/* The TPM wire structures a verifier sends, decoded and checked before any
 * of them reaches the TPM. No ESYS here (tss2-mu and tss2-rc only), so the
 * fuzz targets run the same decoding the attestor does. */
#ifndef ATTESTOR_TPMWIRE_H
#define ATTESTOR_TPMWIRE_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"

/* A TSS2_RC as a project error (code), with what was being done; logged at
 * debug level when quiet, else as an error. The one place TSS2_RCs are
 * turned into AERR_* codes. */
int tpmwire_rc_err(TSS2_RC rc, int code, const char *what, int quiet);

/* Whether an ESYS call's rc means the connection to the TPM is gone or the
 * ESYS context unusable, so that it must be set up again before the next
 * command: anything that is not the TPM's own answer (a TCTI, SYS, ESYS or
 * resource manager failure; ESYS leaves its context in an error state for
 * good after most of them), and TPM_RC_INITIALIZE (a TPM restarted without
 * TPM2_Startup, which setting up again sends). */
int tpmwire_rc_lost(TSS2_RC rc);

/* Strict unmarshal of one wire field: a MU failure is AERR_PARSE, leftover
 * bytes AERR_TRAILING, both naming the field. */
#define TPMWIRE_PARSE(type, buf, len, dst, what)                                                \
	({                                                                                      \
		size_t off_ = 0;                                                                \
		TSS2_RC rc_ = Tss2_MU_##type##_Unmarshal((buf), (len), &off_, (dst));           \
		rc_ != TSS2_RC_SUCCESS ? tpmwire_rc_err(rc_, AERR_PARSE, what, 1)                \
		: off_ != (len) ? err_set(AERR_TRAILING, "%s: %zu bytes after the " #type, what, \
					  (size_t)(len) - off_)                                 \
				: 0;                                                            \
	})

/* ActivateCredential's inputs: the AK name, the credential blob and the
 * encrypted seed, none of them empty. */
int tpmwire_credential(const uint8_t *ak_name, size_t ak_name_len, const uint8_t *id_object, size_t id_object_len,
		       const uint8_t *enc_secret, size_t enc_secret_len, TPM2B_NAME *name, TPM2B_ID_OBJECT *blob,
		       TPM2B_ENCRYPTED_SECRET *seed) ATTEST_WUR;

/* A delivered secret's public area: a KEYEDHASH or RSA object whose only
 * authorization is its policy (no userWithAuth, an authPolicy of its
 * nameAlg's size). Anything else would let a caller use the key without the
 * PCRs it is bound to. */
int tpmwire_secret_public(const uint8_t *buf, size_t len, TPM2B_PUBLIC *pub) ATTEST_WUR;

/* TPM2_Import's inputs: the public (tpmwire_secret_public), the duplicate
 * and the encrypted seed, neither empty (no outer wrapper would mean the
 * sensitive area in the clear). */
int tpmwire_import(const uint8_t *pub, size_t pub_len, const uint8_t *dup, size_t dup_len, const uint8_t *seed,
		   size_t seed_len, TPM2B_PUBLIC *p, TPM2B_PRIVATE *d, TPM2B_ENCRYPTED_SECRET *sd) ATTEST_WUR;

/* A stored secret to load: its public (tpmwire_secret_public) and its
 * TPM-wrapped private, not empty. */
int tpmwire_stored(const uint8_t *pub, size_t pub_len, const uint8_t *priv, size_t priv_len, TPM2B_PUBLIC *p,
		   TPM2B_PRIVATE *v) ATTEST_WUR;

#endif
