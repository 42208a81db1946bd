/* What a node's verified certificates say of its TPM and platform: the
 * facts group rules match (issue #15: nodes join groups "by a rule over
 * what the TPM proves"). Only certificates that verified count (the EK
 * certificate against ek_roots, the platform certificate against
 * platform_ca): with require_ek_cert = false the EK certificate is a
 * claim, and gives no facts. */
#ifndef VERIFIER_ENDORSEMENT_FACTS_H
#define VERIFIER_ENDORSEMENT_FACTS_H

#include <stddef.h>
#include <stdint.h>

#define FACTS_TEXT_MAX 256

/* Each "" when nothing proven says it (or it is longer than fits);
 * printable ASCII (strsafe: other bytes as \xNN). Names, not keys: any CA
 * of ek_roots with that subject gives the same ek_issuer, and a TPM model
 * is what the CA that signed wrote. */
struct endorsement_facts {
	char ek_issuer[FACTS_TEXT_MAX];            /* the EK certificate's issuer, RFC 2253 */
	char tpm_manufacturer[FACTS_TEXT_MAX];     /* its subjectAltName TPMManufacturer (2.23.133.2.1) */
	char tpm_model[FACTS_TEXT_MAX];            /* TPMModel (2.23.133.2.2) */
	char platform_manufacturer[FACTS_TEXT_MAX]; /* the platform certificate's (2.23.133.2.4 or 2.23.133.5.1.1) */
	char platform_model[FACTS_TEXT_MAX];       /* (2.23.133.2.5 or 2.23.133.5.1.4) */
};

/* The facts of a verified EK certificate (ek DER, NULL: none) and a
 * verified platform certificate (X.509 or attribute certificate, NULL:
 * none). What does not parse gives no facts. */
void endorsement_facts(const uint8_t *ek, size_t ek_len, const uint8_t *platform, size_t platform_len,
		       struct endorsement_facts *out);

#endif
