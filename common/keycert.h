/* An X.509 certificate for a key the TPM holds (issue #18): issued by the
 * verifier's key CA to a key whose TPM2_Certify verified (common/certify.h),
 * so that the host gets an identity bound to its TPM: an end-entity
 * certificate (CA:FALSE), digitalSignature, for TLS client authentication,
 * the node's name as subject CN and DNS name, a random 128-bit serial. */
#ifndef ATTEST_KEYCERT_H
#define ATTEST_KEYCERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"

#define KEYCERT_SERIAL_HEX 32

struct keycert_req {
	const TPMT_PUBLIC *key;       /* the certified key (certify_verify's) */
	const char *cn;               /* subject CN, and the DNS subjectAltName: the caller takes it
				       * from its own record of the node whose AK certified the key,
				       * never from what the host asks for */
	uint32_t days;                /* validity from now (1..3650) */
};

/* The CA's certificate and private key from PEM files (the key held to the
 * rule of key files). AERR_CONFIG with why: unreadable, the key is not the
 * certificate's, the certificate is no CA. */
int keycert_ca_load(const char *cert_path, const char *key_path, X509 **cert, EVP_PKEY **key) ATTEST_WUR;

/* The certificate for req signed by the CA (SHA-256), valid no longer
 * than the CA: DER in *der (OPENSSL_free it), its serial as hex.
 * AERR_INVALID_ARG for a CN that is no DNS host name (RFC 1123 labels, at
 * most 64 characters, not an IPv4 address). */
int keycert_issue(X509 *ca_cert, EVP_PKEY *ca_key, const struct keycert_req *req, uint8_t **der, size_t *len,
		  char serial[KEYCERT_SERIAL_HEX + 1]) ATTEST_WUR;

#endif
