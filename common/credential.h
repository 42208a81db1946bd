/* TPM2_MakeCredential done in software, so the verifier needs no TPM. */
#ifndef ATTEST_CREDENTIAL_H
#define ATTEST_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"

/* As TPM2_MakeCredential(handle = ek, credential = secret, objectName = ak_name):
 * a fresh seed shared with ek (RSA: OAEP with the EK's nameAlg and label
 * "IDENTITY"; ECC: ephemeral ECDH + KDFe), symmetric key KDFa(seed, "STORAGE",
 * name), HMAC key KDFa(seed, "INTEGRITY"). Outputs are the TPM structures
 * (marshal them with tss2-mu for the wire). secret_len 1..digest size of the
 * EK's nameAlg (TPM2_MakeCredential refuses longer). */
int credential_make(const TPMT_PUBLIC *ek, const TPM2B_NAME *ak_name, const uint8_t *secret,
		    size_t secret_len, TPM2B_ID_OBJECT *blob, TPM2B_ENCRYPTED_SECRET *enc_seed) ATTEST_WUR;
#endif
