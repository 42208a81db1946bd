/* IMA runtime measurement list: parsing, template-hash check and PCR replay.
 *
 * Binary format (/sys/kernel/security/ima/binary_runtime_measurements, host
 * byte order; we read little endian as x86/arm64 kernels write it, which is
 * also what ima_canonical_fmt forces), per entry:
 *   u32 pcr | u8 template_hash[20] (SHA-1) | u32 name_len | name |
 *   u32 data_len | data                       (every template but "ima")
 *   u8 digest[20] | u32 fname_len | fname     ("ima": no data_len, no NULs)
 * Template data of the other templates is a sequence of fields, each
 * u32 len | bytes (kernel ima_template.c):
 *   ima-ng     d-ng|n-ng          ima-ngv2   d-ngv2|n-ng
 *   ima-sig    d-ng|n-ng|sig      ima-sigv2  d-ngv2|n-ng|sig
 *   ima-buf    d-ng|n-ng|buf      ima-modsig d-ng|n-ng|sig|d-modsig|modsig
 *   d-ng   = "<alg>:" NUL digest         d-ngv2 = "<ima|verity>:<alg>:" NUL digest
 *   n-ng   = name NUL                    sig    = empty or an IMA xattr
 *                                                 signature (type 3 or 6)
 * Other templates (evm-sig, custom ones) are kept raw: their template hash
 * is still checked and they still replay.
 *
 * Template hash (kernel ima_calc_field_array_hash): for "ima" it is
 * H(digest || fname zero-padded to 256 bytes); for every other template
 * H(template data) as it appears in the list. An all-zero template hash marks
 * a violation (ToMToU / open-writers): its data is not hashed and the kernel
 * extends all 0xFF instead.
 *
 * PCR extend: the SHA-1 bank gets the SHA-1 template hash. Other banks, on
 * kernels since 5.11: a per-bank template digest H_bank(same input), and
 * violations as 0xFF of the bank's size (IMA_REPLAY_PER_BANK, the default).
 * Older kernels extended every bank with the SHA-1 template hash zero-padded
 * to the bank's size, violations as 20 x 0xFF zero-padded
 * (IMA_REPLAY_PAD_SHA1).
 *
 * Entries are numbered from 0 at the start of the kernel's list; a chunk
 * parsed after the first round starts at the verifier's running count. Every
 * error names the entry number and the byte offset within the chunk. */
#ifndef ATTEST_IMA_H
#define ATTEST_IMA_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"
#include "pcrsel.h"

#define IMA_PCR 10u                          /* CONFIG_IMA_MEASURE_PCR_IDX default */
#define IMA_NUM_PCRS 24u
#define IMA_SHA1_SIZE 20u
/* A parsed entry costs ~264 bytes (struct ima_entry): the entry limit bounds
 * a chunk's memory to ~264 MB besides the chunk itself. */
#define IMA_MAX_LIST_SIZE (128u << 20)       /* one chunk, bytes (AERR_TOO_LARGE) */
#define IMA_MAX_ENTRIES 1000000u             /* entries per chunk (AERR_TOO_LARGE) */
#define IMA_MAX_TEMPLATE_NAME 32u            /* kernel: IMA_TEMPLATE_NAME_LEN_MAX 15 */
#define IMA_MAX_TEMPLATE_DATA (1u << 20)     /* one entry's data (AERR_TOO_LARGE) */
#define IMA_EVENT_NAME_LEN_MAX 255u          /* "ima" template file name limit */
#define IMA_MAX_ALG_NAME 32u
#define IMA_MAX_BANKS 4u

enum ima_template {
	IMA_TEMPLATE_UNKNOWN = 0,   /* kept raw: no fields parsed */
	IMA_TEMPLATE_IMA,
	IMA_TEMPLATE_IMA_NG,
	IMA_TEMPLATE_IMA_NGV2,
	IMA_TEMPLATE_IMA_SIG,
	IMA_TEMPLATE_IMA_SIGV2,
	IMA_TEMPLATE_IMA_BUF,
	IMA_TEMPLATE_IMA_MODSIG,
};

struct ima_entry {
	uint64_t index;             /* entry number in the kernel's list */
	size_t offset;              /* of the entry's first byte in the chunk (ASCII: of its line) */
	size_t size;                /* bytes of the whole entry in the chunk (ASCII: line with its newline) */
	uint32_t pcr;
	/* As listed: SHA-1 for binary lists, the list's algorithm for ASCII ones. */
	uint8_t template_hash[CRYPTO_MAX_DIGEST];
	int violation;              /* template hash all zeros */
	char template_name[IMA_MAX_TEMPLATE_NAME + 1];
	enum ima_template tmpl;
	/* Template data ("ima": digest || u32 len || fname as in the list).
	 * Points into the caller's buffer (binary) or the list (ASCII). */
	const uint8_t *data;
	uint32_t data_len;
	/* Parsed fields (known templates only; NULL / 0 when absent). */
	char digest_type[8];        /* d-ngv2: "ima" or "verity"; else "" */
	char digest_alg_name[IMA_MAX_ALG_NAME + 1]; /* as the kernel names it; "sha1" for "ima" */
	TPM2_ALG_ID digest_alg;     /* TPM2_ALG_ERROR when a name we do not know (md5, ...) */
	const uint8_t *digest;      /* file (or buffer) digest */
	uint32_t digest_len;
	char *path;                 /* n / n-ng, NUL-terminated copy owned by the list */
	const uint8_t *sig;         /* sig field; has a signature iff sig_len > 0 */
	uint32_t sig_len;
	const uint8_t *buf;         /* ima-buf buf field */
	uint32_t buf_len;
	const uint8_t *modsig;      /* ima-modsig modsig field (d-modsig is checked, not kept) */
	uint32_t modsig_len;
};

struct ima_list {
	TPM2_ALG_ID template_hash_alg;  /* TPM2_ALG_SHA1 for binary lists */
	int ascii;                      /* parsed by ima_ascii_parse (errors name lines) */
	uint64_t first_index;
	size_t nentries;
	size_t size;                    /* bytes of the chunk parsed */
	struct ima_entry *entries;
	/* Buffers owned by the list: binary lists one arena for the paths;
	 * ASCII lists the reconstructed template data of each entry too. */
	uint8_t **owned;
	size_t nowned;
};

/* Parse a binary list chunk whose first entry is entry number first_index.
 * buf must outlive *out (entries point into it). An empty chunk is a valid
 * empty list. Only structure is checked here, not template hashes.
 * Errors (detail names entry number and offset): AERR_PARSE (malformed field,
 * name, PCR index >= 24, template data that does not match its template's
 * fields, a partial entry at the end: the attestor must send whole entries),
 * AERR_TOO_LARGE (limits above), AERR_ALLOC. *out is NULL on failure; free
 * with ima_list_free. The sig field's type byte is checked (3 or 6), not the
 * signature's inner structure: the kernel records any such xattr as is. */
int ima_parse(const uint8_t *buf, size_t len, uint64_t first_index, struct ima_list **out) ATTEST_WUR;

/* Parse an ASCII list (ascii_runtime_measurements[_<alg>]: one line per entry
 * "pcr template_hash template fields..."), whose template hashes are of
 * template_hash_alg (SHA-1 for the classic file). Template data is rebuilt
 * from the fields, so template hashes can be checked and the list replayed
 * like a binary one. Supports ima, ima-ng, ima-ngv2, ima-sig, ima-sigv2,
 * ima-buf (others: AERR_UNSUPPORTED naming the line). Names cannot contain
 * spaces (the kernel writes '_' for them), so fields are space separated; an
 * empty sig field (the kernel writes "path ") may also be left out. An empty
 * text is an empty list; blank lines are errors. Entry numbers start at 0.
 * Errors as ima_parse, with line numbers (1-based) in the detail. */
int ima_ascii_parse(const char *text, size_t len, TPM2_ALG_ID template_hash_alg,
		    struct ima_list **out) ATTEST_WUR;

/* NULL-safe. */
void ima_list_free(struct ima_list *list);

/* H_alg over the kernel's template-hash input for e ("ima": digest || fname
 * padded to 256 bytes; else the template data). out holds
 * crypto_digest_size(alg) bytes. Errors: AERR_UNSUPPORTED, AERR_CRYPTO. */
int ima_template_digest(const struct ima_entry *e, TPM2_ALG_ID alg, uint8_t *out) ATTEST_WUR;

/* Check every non-violation entry's template hash against its data.
 * A violation entry's data is covered by nothing (the kernel extends 0xFF,
 * whatever the data says): a policy must not trust it.
 * Errors: AERR_PCR_DIGEST naming the first mismatching entry and offset;
 * AERR_UNSUPPORTED / AERR_CRYPTO. *nviolations (may be NULL) gets the number
 * of violation entries, which are not checkable and are the policy's call. */
int ima_list_verify(const struct ima_list *list, size_t *nviolations) ATTEST_WUR;

#define IMA_REPLAY_PER_BANK 0u      /* kernel >= 5.11 (default) */
#define IMA_REPLAY_PAD_SHA1 1u      /* older kernels: SHA-1 hash zero-padded */

/* The verifier's running replay: keep it between rounds and feed each round's
 * new entries. Reset values: zeros, PCRs 17-22 all 0xFF (as TPM2_Startup). */
struct ima_replay_state {
	uint64_t count;             /* entries replayed = number of the next entry */
	uint64_t bytes;             /* binary list bytes replayed = offset of the next entry */
	uint32_t flags;
	uint32_t nbanks;
	TPM2_ALG_ID algs[IMA_MAX_BANKS];
	uint32_t extended;          /* bit per PCR some entry extended */
	uint64_t nviolations;
	uint8_t pcr[IMA_MAX_BANKS][IMA_NUM_PCRS][CRYPTO_MAX_DIGEST];
};

/* Start from the reset values for banks algs[0..nalgs) (distinct, known to
 * crypto_md). Errors: AERR_INVALID_ARG (0 or > IMA_MAX_BANKS banks, repeated
 * bank, unknown flags), AERR_UNSUPPORTED (bank). */
int ima_replay_init(struct ima_replay_state *st, const TPM2_ALG_ID *algs, uint32_t nalgs,
		    uint32_t flags) ATTEST_WUR;

/* Extend one entry, which must be entry number st->count of a list whose
 * template hashes were verified (ima_list_verify), and advance st->count.
 * Lets a verifier stop at the first prefix that matches a quote (the kernel
 * appends before it extends, so a list may run ahead of the quoted PCR).
 * Errors: AERR_STATE (entry number is not st->count), AERR_UNSUPPORTED,
 * AERR_CRYPTO. On error st is unchanged. */
int ima_replay_entry(struct ima_replay_state *st, const struct ima_list *list,
		     const struct ima_entry *e) ATTEST_WUR;

/* Parse a binary chunk whose first entry is entry number st->count, verify
 * its template hashes and extend all of it. All or nothing: on error st is
 * unchanged. *out (may be NULL) receives the parsed list for policy checks.
 * Errors: those of ima_parse, ima_list_verify, ima_replay_entry. */
int ima_replay(struct ima_replay_state *st, const uint8_t *buf, size_t len,
	       struct ima_list **out) ATTEST_WUR;

/* The replayed value of pcr in bank alg (crypto_digest_size(alg) bytes),
 * or NULL when the bank is not replayed or pcr >= 24. */
const uint8_t *ima_replay_value(const struct ima_replay_state *st, TPM2_ALG_ID alg, uint32_t pcr);

/* Compare the replayed pcr of bank alg with an expected (quoted) value.
 * Errors: AERR_NOT_FOUND (bank not replayed), AERR_INVALID_ARG (size, pcr),
 * AERR_EVENTLOG (differs; detail names bank, PCR and entry count). */
int ima_replay_check(const struct ima_replay_state *st, TPM2_ALG_ID alg, uint32_t pcr,
		     const uint8_t *expected, size_t expected_len) ATTEST_WUR;

/* Compare with quoted values: every PCR in pcr_mask (normally 1u << IMA_PCR)
 * in every bank of values that holds it and is replayed. Banks of values that
 * are not replayed are skipped, but each PCR of pcr_mask must be compared in
 * at least one bank. Errors: AERR_EVENTLOG (a value differs: names bank, PCR,
 * entry count), AERR_PCR_SELECTION (a PCR of pcr_mask is in no replayed bank
 * of values), AERR_INVALID_ARG. */
int ima_replay_check_pcrs(const struct ima_replay_state *st, const struct pcr_values *values,
			  uint32_t pcr_mask) ATTEST_WUR;

/* Replay entries of list (verified, its first entry number st->count) one by
 * one until the replay matches values (as ima_replay_check_pcrs), and stop
 * there: the kernel appends an entry before it extends the TPM, and a list
 * read after the quote may hold entries the quote does not cover yet. The
 * empty prefix counts (nothing new since the last round). *used (may be
 * NULL) gets the entries replayed: only list->entries[0..*used) are vouched
 * for by the quote, policy must not judge the rest yet; the next round asks
 * for entries from st->count (byte offset st->bytes). Errors: AERR_EVENTLOG when no prefix
 * matches, AERR_PCR_SELECTION, AERR_STATE (list does not start at st->count),
 * those of ima_replay_entry. On error st is unchanged. */
int ima_replay_to_quote(struct ima_replay_state *st, const struct ima_list *list,
			const struct pcr_values *values, uint32_t pcr_mask, size_t *used) ATTEST_WUR;

/* The attestor's side of "entries after N": walk the framing of the first
 * `skip` entries of a binary list (lengths only, no template parsing) and
 * give the byte offset of entry `skip`, and in *end the offset just after the
 * last whole entry (a list read while the kernel appends may end inside an
 * entry; only whole entries are sent). AERR_NOT_FOUND when the list holds
 * fewer than `skip` entries (a reboot reset it), AERR_PARSE on a framing that
 * cannot be a list. */
int ima_list_offsets(const uint8_t *buf, size_t len, uint64_t skip, size_t *at, size_t *end) ATTEST_WUR;

#endif
