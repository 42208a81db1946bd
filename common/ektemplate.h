/* The EK templates of the TCG EK Credential Profile that this project
 * creates (attestor) and accepts (verifier): the low range every TPM has
 * (L-1 RSA-2048, L-2 ECC P-256: SHA-256, AES-128, Policy A) and the high
 * range that recent TPMs and swtpm 0.7 certify (H-3 ECC P-384, H-6
 * RSA-3072: SHA-384, AES-256, Policy B, userWithAuth with an empty auth).
 * One EK per key type is used at a time: the wire names an EK by its type
 * (rsa, ecc), its public area says which template it is. */
#ifndef ATTEST_EKTEMPLATE_H
#define ATTEST_EKTEMPLATE_H

#include <tss2/tss2_tpm2_types.h>

#include "err.h"

enum ek_kind {
	EK_L1_RSA2048,
	EK_L2_P256,
	EK_H3_P384,
	EK_H6_RSA3072,
	EK_KINDS
};

/* "RSA-2048 (L-1)" and so on, for logs and errors. */
const char *ek_kind_name(enum ek_kind k);

/* TPM2_ALG_RSA or TPM2_ALG_ECC. */
TPMI_ALG_PUBLIC ek_kind_alg(enum ek_kind k);

/* Whether the template sets userWithAuth: its EK is used with a password
 * session (the empty auth), not with Policy A's PolicySecret. */
int ek_kind_user_auth(enum ek_kind k);

/* The low- and the high-range template of a key type (RSA or ECC). */
enum ek_kind ek_kind_low(TPMI_ALG_PUBLIC alg);
enum ek_kind ek_kind_high(TPMI_ALG_PUBLIC alg);

/* The template as TPM2_CreatePrimary takes it: the low range with unique
 * zeros of the key's size, the high range with unique empty. */
void ek_template(enum ek_kind k, TPMT_PUBLIC *out);

/* Which template an EK's public area (a TPM's output: unique holds the key)
 * was made from. Anything else is refused (AERR_UNSUPPORTED, naming what
 * was found and what is accepted): a certified EK of another template, or
 * another decryption key of the TPM presented as the EK, is not one whose
 * use this project knows to be bound to the TPM. */
int ek_kind_of(const TPMT_PUBLIC *ek, enum ek_kind *out) ATTEST_WUR;

#endif
