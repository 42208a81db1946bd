/* TCG platform attribute certificates (RFC 5755 AttributeCertificate, TCG
 * Platform Certificate Profile): a strict DER parser. OpenSSL 3.0 has no
 * attribute-certificate API, so the structure is walked here and only the
 * leaf types (names, integers, times, algorithm identifiers, extensions) are
 * handed to OpenSSL's d2i functions. Signature and binding checks live in
 * platformcert_verify() (endorsement/ekcert.h). */
#ifndef VERIFIER_ENDORSEMENT_PLATFORMCERT_H
#define VERIFIER_ENDORSEMENT_PLATFORMCERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "err.h"

struct platformcert {
	long version;                   /* AttCertVersion: 1 means v2 */
	X509_NAME *holder_issuer;       /* holder.baseCertificateID.issuer (the EK cert's issuer) */
	ASN1_INTEGER *holder_serial;    /* holder.baseCertificateID.serial (the EK cert's serial) */
	X509_NAME *issuer;              /* issuer.v2Form.issuerName: who signed this certificate */
	ASN1_INTEGER *serial;
	ASN1_GENERALIZEDTIME *not_before, *not_after;
	X509_ALGOR *sig_alg;            /* outer signatureAlgorithm (== acinfo.signature, checked) */
	uint8_t *tbs;                   /* the DER of acinfo: the signed bytes */
	size_t tbs_len;
	uint8_t *sig;                   /* signatureValue without the unused-bits octet */
	size_t sig_len;
	STACK_OF(X509_EXTENSION) *exts; /* NULL when absent */
	/* Platform identity from the subjectAltName directory name (TCG OIDs
	 * 2.23.133.5.1.{1,4,5,6}, or the older 2.23.133.2.{4,5,6,23}); NULL when absent. */
	char *manufacturer, *model, *platform_version, *platform_serial;
	/* tcgPlatformSpecification (2.23.133.2.17) from the attributes or the
	 * subjectDirectoryAttributes extension; has_spec = 0 when absent. */
	int has_spec;
	long spec_major, spec_minor, spec_revision;
	size_t n_attributes;            /* entries in acinfo.attributes */
};

/* Parse a DER AttributeCertificate. Strict DER lengths, no trailing bytes,
 * v2 only, holder must carry baseCertificateID with exactly one directoryName,
 * issuer must be v2Form with exactly one directoryName, inner and outer
 * signature algorithms must be identical. AERR_PLATFORM_CERT with a detail on
 * any failure; *out (caller frees with platformcert_free) is NULL then. */
int platformcert_parse(const uint8_t *der, size_t len, struct platformcert **out) ATTEST_WUR;
void platformcert_free(struct platformcert *pc);

/* 1 when der looks like an attribute certificate (acinfo starts with the
 * version INTEGER), 0 when it looks like an X.509 public-key certificate or
 * anything else. A cheap dispatch test only: parse to be sure. */
int platformcert_is_attribute_cert(const uint8_t *der, size_t len);

#endif
