/* AK admission: the explicit checklist an attestation key must pass. */
#ifndef ATTEST_AKPUB_H
#define ATTEST_AKPUB_H

#include <tss2/tss2_tpm2_types.h>

#include "err.h"

/* Accept only: type RSA (2048..4096 bits, scheme RSASSA or RSAPSS) or ECC
 * (NIST P-256/P-384, scheme ECDSA); scheme hash and nameAlg SHA-256/384/512;
 * symmetric NULL; attributes fixedTPM, fixedParent, sensitiveDataOrigin,
 * userWithAuth, restricted, sign set and decrypt clear. Returns AERR_AK_ATTRS
 * (or AERR_UNSUPPORTED) with err_detail() naming the first failed check. */
int akpub_admit(const TPMT_PUBLIC *ak) ATTEST_WUR;
#endif
