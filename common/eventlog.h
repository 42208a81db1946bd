/* TCG PC Client boot event log (binary_bios_measurements): parsing and replay.
 *
 * Two wire formats (TCG PC Client Platform Firmware Profile, section 10):
 * - SHA-1 legacy: every event is a TCG_PCR_EVENT (pcrIndex, eventType,
 *   20-byte SHA-1 digest, eventSize, event).
 * - Crypto agile: the first event is a TCG_PCR_EVENT of type EV_NO_ACTION on
 *   PCR 0 whose data is TCG_EfiSpecIDEvent ("Spec ID Event03"), listing the
 *   algorithms and their digest sizes; every later event is a TCG_PCR_EVENT2
 *   (pcrIndex, eventType, TPML_DIGEST_VALUES, eventSize, event).
 *
 * All multi-byte fields are little endian. The log is hostile input: every
 * read is bounds-checked and any malformation is an error naming the event
 * number (0-based, the Spec ID event is event 0, like tpm2_eventlog's
 * EventNum) and its byte offset. */
#ifndef ATTEST_EVENTLOG_H
#define ATTEST_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"
#include "pcrsel.h"

#define EVENTLOG_MAX_ALGS 8                 /* algorithms a Spec ID event may declare */
#define EVENTLOG_MAX_LOG_SIZE (64u << 20)   /* whole log, bytes (AERR_TOO_LARGE) */
#define EVENTLOG_MAX_EVENT_SIZE (16u << 20) /* one event's data, bytes (AERR_TOO_LARGE) */
#define EVENTLOG_MAX_EVENTS 200000u         /* events per log (AERR_TOO_LARGE) */

/* Event types we act on (the rest are kept raw). PFP Table 9. */
#define EVENTLOG_EV_NO_ACTION 0x00000003u
#define EVENTLOG_EV_SEPARATOR 0x00000004u
#define EVENTLOG_EV_ACTION 0x00000005u
#define EVENTLOG_EV_S_CRTM_VERSION 0x00000008u
#define EVENTLOG_EV_OMIT_BOOT_DEVICE_EVENTS 0x00000012u
#define EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define EVENTLOG_EV_EFI_VARIABLE_BOOT 0x80000002u
#define EVENTLOG_EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define EVENTLOG_EV_EFI_GPT_EVENT 0x80000006u
#define EVENTLOG_EV_EFI_ACTION 0x80000007u
#define EVENTLOG_EV_EFI_VARIABLE_BOOT2 0x8000000cu
#define EVENTLOG_EV_EFI_HCRTM_EVENT 0x80000010u
#define EVENTLOG_EV_EFI_VARIABLE_AUTHORITY 0x800000e0u

enum eventlog_format {
	EVENTLOG_FORMAT_SHA1 = 1,       /* legacy TCG_PCR_EVENT throughout */
	EVENTLOG_FORMAT_CRYPTO_AGILE,   /* Spec ID Event03 + TCG_PCR_EVENT2 */
};

/* An algorithm declared by the Spec ID event. size is the declared digest
 * size; for algorithms we know it must equal the real size, for others it is
 * only used to step over their digests (such a bank cannot be replayed). */
struct eventlog_alg {
	TPM2_ALG_ID alg;
	uint16_t size;
};

struct eventlog_digest {
	TPM2_ALG_ID alg;
	uint16_t size;
	const uint8_t *value;           /* points into the caller's buffer */
};

struct eventlog_event {
	size_t offset;                  /* of the event's first byte in the log */
	uint32_t pcr;
	uint32_t type;                  /* EV_* as read; unknown types are kept */
	uint32_t ndigests;              /* 0 for the Spec ID event */
	struct eventlog_digest *digests; /* ndigests of them, in the log's digest store */
	const uint8_t *data;            /* event data, into the caller's buffer */
	uint32_t data_len;
};

struct eventlog {
	enum eventlog_format format;
	uint32_t nalgs;                 /* SHA-1 legacy: 1 (sha1) */
	struct eventlog_alg algs[EVENTLOG_MAX_ALGS];
	/* Spec ID event fields (crypto agile only). */
	uint32_t platform_class;
	uint8_t spec_major, spec_minor, spec_errata, uintn_size;
	const uint8_t *vendor_info;     /* into the caller's buffer */
	uint8_t vendor_info_len;
	/* The Spec ID event's legacy digest field is not all zeros as the PFP
	 * spec requires (e.g. IBM Hostboot logs; tpm2_eventlog rejects those).
	 * Tolerated: EV_NO_ACTION digests are never extended. */
	int specid_digest_nonzero;
	/* StartupLocality EV_NO_ACTION event seen (its value in startup_locality). */
	int has_startup_locality;
	uint8_t startup_locality;
	/* EV_EFI_HCRTM_EVENT seen: an H-CRTM sequence (_TPM_Hash_Start) reset
	 * PCR 0 to locality 4, with or without a StartupLocality event. */
	int hcrtm;
	/* PCR 0's reset value is 0...0<pcr0_locality>: 4 with H-CRTM, else the
	 * StartupLocality, else 0. */
	uint8_t pcr0_locality;
	size_t nevents;
	struct eventlog_event *events;
	/* Every event's digests, room for nalgs per event: event i's are at
	 * i * nalgs. Eight slots inline in each event made a large log's event
	 * array twice the size, and first touching that memory was most of the
	 * time parsing it took. */
	struct eventlog_digest *digest_store;
};

/* Parse a whole event log. buf must outlive *out: events point into it.
 * Errors: AERR_PARSE (malformed, truncated event, empty log, bad Spec ID
 * event, digest algorithm not declared, too many digests, PCR index out of
 * range), AERR_TRAILING (fewer bytes left than an event header), AERR_TOO_LARGE
 * (limits above), AERR_ALLOC. Also AERR_PARSE: a StartupLocality event that
 * is not on PCR 0, not 17 bytes, repeated, > 4, or after PCR 0 was extended;
 * an H-CRTM event that is not the first extend of PCR 0 or contradicts a
 * StartupLocality other than 4. *out is NULL on failure; free with eventlog_free. */
int eventlog_parse(const uint8_t *buf, size_t len, struct eventlog **out) ATTEST_WUR;

/* NULL-safe. */
void eventlog_free(struct eventlog *log);

/* Replay bank alg: start from the reset values (PCR 0: 0...0<pcr0_locality>; PCRs 17-22: all 0xFF as after TPM2_Startup; others zeros),
 * extend every event except EV_NO_ACTION: pcr = H(pcr || digest).
 * out[i] holds crypto_digest_size(alg) bytes; *extended (may be NULL) gets a
 * bit per PCR that at least one event extended.
 * Errors: AERR_NOT_FOUND (log does not declare alg), AERR_UNSUPPORTED (alg
 * declared but unknown to us, so it cannot be hashed), AERR_PARSE (an
 * extending event lacks a digest for alg), AERR_CRYPTO. */
int eventlog_replay(const struct eventlog *log, TPM2_ALG_ID alg,
		    uint8_t out[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST], uint32_t *extended) ATTEST_WUR;

/* Replay every bank of values and compare the PCRs that are both present in
 * values and set in pcr_mask (the PCRs the boot log is responsible for, e.g.
 * 0x0000ffff for the SRTM PCRs 0-15 minus those measured elsewhere such as
 * IMA's PCR 10). Returns 0 when all match; AERR_PCR_DIGEST naming the first
 * mismatching bank and PCR (banks in values order, PCRs ascending); replay
 * errors as eventlog_replay. */
int eventlog_check_pcrs(const struct eventlog *log, const struct pcr_values *values,
			uint32_t pcr_mask) ATTEST_WUR;

#endif
