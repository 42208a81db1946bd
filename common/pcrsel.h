/* PCR selections (TPML_PCR_SELECTION) and PCR value sets across banks. */
#ifndef ATTEST_PCRSEL_H
#define ATTEST_PCRSEL_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"

#define PCRSEL_NUM_PCRS 24
#define PCRSEL_MAX_BANKS 5

/* Values of selected PCRs, per bank. mask bit i set = value[i] present. */
struct pcr_bank {
	TPMI_ALG_HASH alg;
	uint32_t mask;
	uint8_t value[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
};

struct pcr_values {
	uint32_t nbanks;
	struct pcr_bank banks[PCRSEL_MAX_BANKS];
};

/* Parse text like "sha256:0,1,2,7+sha1:0-7" (banks joined by '+', indices and
 * ranges by ','). Each bank at most once, indices 0..23, sizeofSelect 3.
 * AERR_CONFIG with detail on bad text. */
int pcrsel_parse(const char *text, TPML_PCR_SELECTION *out) ATTEST_WUR;

/* Inverse of pcrsel_parse (canonical form, ranges not compressed). */
int pcrsel_format(const TPML_PCR_SELECTION *sel, char *buf, size_t cap) ATTEST_WUR;

/* Bitmask of a bank's selected PCRs (bit i = PCR i); 0 when the bank is not selected. */
uint32_t pcrsel_mask(const TPML_PCR_SELECTION *sel, TPMI_ALG_HASH alg);

/* Bitmask of the PCRs selected in any bank. */
uint32_t pcrsel_mask_any(const TPML_PCR_SELECTION *sel);

/* 1 when a and b select exactly the same PCRs in the same banks in the same order. */
int pcrsel_equal(const TPML_PCR_SELECTION *a, const TPML_PCR_SELECTION *b);

/* Check that values holds exactly the selected PCRs: every selected PCR
 * supplied, nothing supplied that is not selected (AERR_PCR_SELECTION with detail). */
int pcrsel_check_values(const TPML_PCR_SELECTION *sel, const struct pcr_values *values) ATTEST_WUR;

/* Bank of values for alg, or NULL. */
const struct pcr_bank *pcr_values_bank(const struct pcr_values *values, TPMI_ALG_HASH alg);

/* The values as [policy] writes them, one "sha256.0 = <hex>" line each
 * (banks in order, indices ascending), into buf: what an operator copies
 * into a reference. AERR_TOO_LARGE when cap is short (buf then ""). */
int pcr_values_format(const struct pcr_values *values, char *buf, size_t cap) ATTEST_WUR;
/* The values of sel in selection order (banks as listed, indices
 * ascending), concatenated: the bytes pcrDigest hashes, and how the
 * verifier's store keeps what a quote claimed. AERR_PCR_SELECTION when a
 * selected value is missing, AERR_TOO_LARGE when cap is short. */
int pcr_values_pack(const TPML_PCR_SELECTION *sel, const struct pcr_values *values, uint8_t *buf, size_t cap,
		    size_t *len) ATTEST_WUR;
#define PCR_VALUES_PACK_MAX (PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS * CRYPTO_MAX_DIGEST)

/* The inverse: *out holds exactly sel's PCRs. AERR_PARSE when len is not
 * what sel takes. */
int pcr_values_unpack(const TPML_PCR_SELECTION *sel, const uint8_t *buf, size_t len, struct pcr_values *out) ATTEST_WUR;

#endif
