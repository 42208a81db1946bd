/* Which boot events' data a quote vouches for (TCG PC Client Platform
 * Firmware Profile, "Event Types" and "Measuring UEFI Variables").
 *
 * A replay that reproduces the quoted PCRs proves an event's digests in the
 * banks it replayed, and nothing else the log says: not the event data, not
 * the event type, not digests of other banks. For some event types the PFP
 * defines the digest as the hash of the event data itself; an event of such
 * a type whose data hashes to its digest in every proven bank has data as
 * proven as the digests. Every other event's data is the peer's claim, and
 * no policy may read it. Like go-attestation (attest/secureboot.go, which
 * checks each event's data against its digest before reading it).
 *
 * The type is a claim too: a caller that relies on "events of type T carry
 * X" must also consider events whose type was changed to hide them. */
#ifndef ATTEST_EVDATA_H
#define ATTEST_EVDATA_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "eventlog.h"
#include "pcrsel.h"

/* EFI_GLOBAL_VARIABLE (8BE4DF61-93CA-11D2-AA0D-00E098032B8C) as an EFI_GUID
 * is stored: SecureBoot, PK, KEK, Boot####, ... */
extern const uint8_t evdata_efi_global_variable[16];

/* 1 when the PFP defines the digest of an event of this type as the hash of
 * its whole event data (for UEFI variable events: of the whole
 * UEFI_VARIABLE_DATA), else 0. EV_EFI_VARIABLE_BOOT is counted, but EDK2
 * firmware hashes only its VariableData, leaving the name and GUID unproven:
 * those events fail evdata_verify, as they should. */
int evdata_hashes_data(uint32_t type);

/* The banks in which a verified quote and a matching replay prove the
 * events of pcr: those of sel that select pcr, when bit pcr of replayed is
 * set (the PCRs the replay was compared on, e.g. eventlog_pcrs). Writes up
 * to PCRSEL_MAX_BANKS algorithms into banks (in sel's order) and returns
 * how many; 0 when pcr is not proven. */
size_t evdata_banks(const TPML_PCR_SELECTION *sel, uint32_t replayed, uint32_t pcr,
		    TPM2_ALG_ID banks[PCRSEL_MAX_BANKS]);

/* 0 when e's data is proven in the nbanks banks given (evdata_banks of its
 * PCR): its type hashes its data (evdata_hashes_data) and, in each bank, e
 * carries a digest that equals H_bank(e->data). Otherwise the data is
 * unverified and must not be read: AERR_EVENTLOG with the reason (no bank
 * given, a type whose digest is not of its data, no digest of a bank, a
 * digest that is not the hash of the data), AERR_UNSUPPORTED for a bank we
 * cannot hash, AERR_CRYPTO. */
int evdata_verify(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t nbanks) ATTEST_WUR;

/* *is 1 when, in each of the nbanks banks given (evdata_banks of its PCR),
 * e carries a digest that is the hash of one and the same separator's data
 * (a UINT32: 0; 1 after an error; FFFFFFFF, as OpenPOWER firmware has it),
 * else 0. Whatever e's type and data say: the
 * digests are what the replay proves, so a separator found this way cannot
 * be hidden by relabelling it, nor made by relabelling another event. *is
 * 0 when no bank is given. AERR_UNSUPPORTED for a bank we cannot hash,
 * AERR_CRYPTO. */
int evdata_separator(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t nbanks, int *is) ATTEST_WUR;

/* UEFI_VARIABLE_DATA: VariableName (an EFI_GUID), UnicodeNameLength and
 * VariableDataLength (UINT64), the UTF-16LE name, the data. Points into the
 * parsed bytes. */
struct evdata_variable {
	const uint8_t *guid;            /* 16 bytes */
	const uint8_t *name;            /* name_len UTF-16LE code units */
	size_t name_len;
	const uint8_t *data;
	size_t data_len;
};

/* Parse exactly len bytes as a UEFI_VARIABLE_DATA. Lengths are checked one
 * at a time against the bytes left, never summed. AERR_PARSE (shorter than
 * its header, name or data), AERR_TRAILING (bytes after the data). The
 * bytes are the peer's: parse only what evdata_verify proved, or say so. */
int evdata_variable_parse(const uint8_t *buf, size_t len, struct evdata_variable *out) ATTEST_WUR;

/* 1 when v is the variable of vendor guid whose name is the ASCII name. */
int evdata_variable_is(const struct evdata_variable *v, const uint8_t guid[16], const char *name);

#endif
