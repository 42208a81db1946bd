/* Static PCR policy: expected values per bank and index, checked against PCR
 * values that a verified quote proved (struct quoted_state) and nothing else. */
#ifndef VERIFIER_POLICY_POLICY_H
#define VERIFIER_POLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"
#include "pcrsel.h"
#include "quote.h"

#define POLICY_MAX_ENTRIES (PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS)

struct policy_entry {
	TPMI_ALG_HASH alg;
	uint32_t index;
	uint8_t value[CRYPTO_MAX_DIGEST];
	size_t len;                    /* == crypto_digest_size(alg) */
};

#define POLICY_MAX_FIRMWARE 16

/* Zero-initialised = no expectations (every quote passes the policy). */
struct policy {
	size_t n;
	struct policy_entry e[POLICY_MAX_ENTRIES];
	size_t nfirmware;              /* 0: any TPM firmware version */
	uint64_t firmware[POLICY_MAX_FIRMWARE]; /* TPMS_ATTEST.firmwareVersion values allowed */
};

/* A digest as the JSON policies write it: "<alg>:<hex>" (alg as the log names
 * it: "sha256", or IMA's kernel names such as "md5"). */
#define POLICY_DIGEST_ALG_MAX 16
struct policy_digest {
	char alg[POLICY_DIGEST_ALG_MAX];
	uint8_t len;
	uint8_t value[CRYPTO_MAX_DIGEST];
};

/* The top-level object of a JSON policy file (boot_policy, ima_policy).
 * AERR_CONFIG with "FILE: why" (unreadable, not JSON, not an object); the
 * caller releases *root with json_object_put. */
struct json_object;
int policy_json_load(const char *path, struct json_object **root) ATTEST_WUR;

/* -1 when text is not "<alg>:<even-length hex of at most CRYPTO_MAX_DIGEST bytes>". */
int policy_digest_parse(const char *text, struct policy_digest *out);

/* Add one expectation from config text: key "sha256.0" (bank name '.' index
 * 0..23), value hex of exactly the bank's digest size; or key
 * "firmware_version", value a list of TPM firmware versions (0x-hex or
 * decimal, comma or space separated; the vendor-defined 64-bit
 * TPMS_ATTEST.firmwareVersion). AERR_CONFIG with detail on bad text or on a
 * second value for the same bank and index. */
int policy_add(struct policy *p, const char *key, const char *hex) ATTEST_WUR;

/* Every policy PCR must be inside the selection the verifier quotes, else the
 * policy could never be checked: AERR_CONFIG naming the first one outside. */
int policy_check_selection(const struct policy *p, const TPML_PCR_SELECTION *sel) ATTEST_WUR;

/* Whether p fixes a value for every PCR of sel: 1, or 0 with the first
 * that it does not in *alg, *index (a secret sealed to the passing quote's
 * values needs its reference to fix them all, or it would follow whatever
 * the host shows). */
int policy_pins(const struct policy *p, const TPML_PCR_SELECTION *sel, TPMI_ALG_HASH *alg, uint32_t *index);

/* Compare the quoted values with the expectations, in insertion order.
 * AERR_PCR_POLICY with detail "PCR <i> bank <alg> ..." for the first PCR that
 * differs or was not quoted (the value expected only in the operator-only
 * part of the detail, err_private); then AERR_FIRMWARE when the quote's
 * firmware version is not one of the allowed. */
int policy_check(const struct policy *p, const struct quoted_state *q) ATTEST_WUR;
#endif
