/* The protocol's shared PCR messages and our structs, both ways: the attestor
 * and the verifier (in both modes) convert PcrSelection and PcrBank through
 * here, so both sides apply the same structural rules to hostile input.
 *
 * From proto: structure only (known-size banks, each bank once, indices
 * 0..23 once each, digests of the bank's size). Whether a selection is what
 * was asked for, or values are the quoted ones, is for the caller to check.
 * To proto: the message points into caller storage (struct wire_*_buf), valid
 * while that storage and the source struct live; nothing to free. */
#ifndef ATTEST_RPC_WIRE_H
#define ATTEST_RPC_WIRE_H

#include <stddef.h>

#include <tss2/tss2_tpm2_types.h>

#include "attest.pb-c.h"
#include "err.h"
#include "pcrsel.h"

struct wire_pcrsel_buf {
	Attest__V1__PcrSelection sel[PCRSEL_MAX_BANKS];
	Attest__V1__PcrSelection *ptr[PCRSEL_MAX_BANKS];
	uint32_t idx[PCRSEL_MAX_BANKS][PCRSEL_NUM_PCRS];
};

struct wire_pcr_values_buf {
	Attest__V1__PcrBank bank[PCRSEL_MAX_BANKS];
	Attest__V1__PcrBank *ptr[PCRSEL_MAX_BANKS];
	Attest__V1__PcrValue val[PCRSEL_MAX_BANKS][PCRSEL_NUM_PCRS];
	Attest__V1__PcrValue *vptr[PCRSEL_MAX_BANKS][PCRSEL_NUM_PCRS];
};

/* n selections into out. An empty list is AERR_INVALID_ARG ("no PCR bank
 * selected"); more than PCRSEL_MAX_BANKS AERR_TOO_LARGE; a bank that is not a
 * supported hash, a bank twice, an index out of range or twice AERR_INVALID_ARG. */
int wire_pcrsel_from_proto(Attest__V1__PcrSelection *const *sel, size_t n, TPML_PCR_SELECTION *out) ATTEST_WUR;

/* in (at most PCRSEL_MAX_BANKS banks) as *out[0..*n). AERR_TOO_LARGE otherwise. */
int wire_pcrsel_to_proto(const TPML_PCR_SELECTION *in, struct wire_pcrsel_buf *buf,
			 Attest__V1__PcrSelection ***out, size_t *n) ATTEST_WUR;

/* n banks of values into out (errors as for selections; a digest of the wrong
 * size is AERR_PARSE). */
int wire_pcr_values_from_proto(Attest__V1__PcrBank *const *banks, size_t n, struct pcr_values *out) ATTEST_WUR;

/* Every value in in's masks, banks in order, indices ascending. */
void wire_pcr_values_to_proto(const struct pcr_values *in, struct wire_pcr_values_buf *buf,
			      Attest__V1__PcrBank ***out, size_t *n);

#endif
