/* EK and platform certificates: chain validation against trusted roots and
 * binding to the EK public that the TPM returned. */
#ifndef VERIFIER_ENDORSEMENT_EKCERT_H
#define VERIFIER_ENDORSEMENT_EKCERT_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"

struct ekcert_trust;

/* Load every certificate (PEM, possibly several per file, or DER) from the
 * files in dir (non-recursive). Self-signed ones become trust anchors, the
 * rest intermediates. AERR_CONFIG when dir is unreadable or holds no root. */
int ekcert_trust_load(const char *dir, struct ekcert_trust **out) ATTEST_WUR;
void ekcert_trust_free(struct ekcert_trust *t);

/* Distinct certificates loaded (duplicates across files count once). */
void ekcert_trust_count(const struct ekcert_trust *t, size_t *anchors, size_t *intermediates);

/* DER EK certificate: chains to a trust anchor of t (AERR_EK_CERT_CHAIN; only
 * TCG-known critical extensions tolerated), its public key equals ekpub
 * (AERR_EK_CERT_KEY); unparsable => AERR_EK_CERT. Detail via err_detail(). */
int ekcert_verify(const struct ekcert_trust *t, const uint8_t *der, size_t len,
		  const TPMT_PUBLIC *ekpub) ATTEST_WUR;

/* Platform certificate (DER): either an X.509 public-key certificate over the
 * EK key (swtpm's kind) or a TCG platform attribute certificate (RFC 5755)
 * whose holder names the EK certificate (issuer + serial). Signature must
 * chain to t. AERR_PLATFORM_CERT with detail on any failure. */
int platformcert_verify(const struct ekcert_trust *t, const uint8_t *der, size_t len,
			const uint8_t *ek_cert_der, size_t ek_cert_len, const TPMT_PUBLIC *ekpub) ATTEST_WUR;
#endif
