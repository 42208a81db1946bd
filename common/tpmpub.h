/* TPM public areas (TPMT_PUBLIC) from hostile wire bytes: strict parsing,
 * the object's Name, and conversion to an OpenSSL key. */
#ifndef ATTEST_TPMPUB_H
#define ATTEST_TPMPUB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"

/* Parse TPM2B_PUBLIC wire bytes (2-byte size then TPMT_PUBLIC). The size must
 * cover the TPMT_PUBLIC exactly and nothing may follow it: AERR_PARSE,
 * AERR_TRAILING, AERR_TOO_LARGE otherwise. *out is fully overwritten. */
int tpmpub_parse(const uint8_t *buf, size_t len, TPMT_PUBLIC *out) ATTEST_WUR;

/* Marshal as TPM2B_PUBLIC wire bytes into buf (cap bytes); *len set to bytes written. */
int tpmpub_marshal(const TPMT_PUBLIC *pub, uint8_t *buf, size_t cap, size_t *len) ATTEST_WUR;

/* The object's Name: nameAlg (2 bytes, big-endian) || H_nameAlg(TPMT_PUBLIC). */
int tpmpub_name(const TPMT_PUBLIC *pub, TPM2B_NAME *name) ATTEST_WUR;

/* Hex SHA-256 of the area marshaled as TPM2B_PUBLIC: how the verifier names a
 * node (by its EK) in its database, its logs and [secret] hosts = ek:... */
int tpmpub_identity(const TPMT_PUBLIC *pub, char hex[65]) ATTEST_WUR;

/* Public key of an RSA or ECC (P-256/P-384/P-521) area as EVP_PKEY; caller frees
 * with EVP_PKEY_free. *out is NULL on failure. */
int tpmpub_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **out) ATTEST_WUR;

/* The AK the attestor creates: restricted signing, nameAlg SHA-256, RSA-2048
 * RSASSA-SHA256 or ECC P-256 ECDSA-SHA256; unique empty. alg RSA or ECC. */
void tpmpub_ak_template(TPMI_ALG_PUBLIC alg, TPMT_PUBLIC *out);

/* pub's unique from a software key of its type and size (the RSA modulus,
 * or the ECC point padded to the curve): what tests, fuzz targets and the
 * load generator use to stand in for a TPM's key. AERR_INVALID_ARG when the
 * key does not fit the area. */
int tpmpub_set_unique(TPMT_PUBLIC *pub, EVP_PKEY *key) ATTEST_WUR;

/* Key size in bytes of an ECC curve's coordinates (32 for P-256), 0 when unsupported. */
size_t tpmpub_ecc_coord_size(TPMI_ECC_CURVE curve);

/* OpenSSL group name of a TPM curve ("prime256v1"), NULL when unsupported. */
const char *tpmpub_ecc_group(TPMI_ECC_CURVE curve);

/* A key type by its name in configurations and logs: "rsa" / "ecc", NULL
 * for other types; and back, TPM2_ALG_ERROR for other names (and NULL). */
const char *tpmpub_type_name(TPMI_ALG_PUBLIC type);
TPMI_ALG_PUBLIC tpmpub_type_from_name(const char *name);

#endif
