/* Project error codes: functions return 0 on success or one of these (negative).
 * A failing function may also record a human-readable detail with err_set();
 * err_detail() returns the last one recorded on this thread. */
#ifndef ATTEST_ERR_H
#define ATTEST_ERR_H

#define ATTEST_WUR __attribute__((warn_unused_result))

enum attest_err {
	AERR_OK = 0,
	AERR_INTERNAL = -1,        /* a bug or an unexpected library failure */
	AERR_ALLOC = -2,           /* out of memory */
	AERR_INVALID_ARG = -3,     /* caller passed something unusable */
	AERR_PARSE = -4,           /* malformed or truncated structure */
	AERR_TRAILING = -5,        /* structure followed by unexpected bytes */
	AERR_TOO_LARGE = -6,       /* input exceeds a size limit */
	AERR_UNSUPPORTED = -7,     /* well-formed but an algorithm/type we do not accept */
	AERR_CRYPTO = -8,          /* a cryptographic library operation failed */
	AERR_SIGNATURE = -9,       /* signature does not verify */
	AERR_QUOTE_MAGIC = -10,    /* TPMS_ATTEST magic is not TPM_GENERATED_VALUE */
	AERR_QUOTE_TYPE = -11,     /* TPMS_ATTEST type is not TPM_ST_ATTEST_QUOTE */
	AERR_NONCE = -12,          /* extraData is not the nonce issued, or nonce unknown/used/expired */
	AERR_PCR_SELECTION = -13,  /* quoted selection differs from requested, or values missing/extra */
	AERR_PCR_DIGEST = -14,     /* quoted PCR digest != hash of the supplied values */
	AERR_PCR_POLICY = -15,     /* a PCR value differs from the policy's expected value */
	AERR_AK_ATTRS = -16,       /* AK public fails the admission checklist */
	AERR_EK_CERT_CHAIN = -17,  /* EK certificate does not chain to a trusted root */
	AERR_EK_CERT_KEY = -18,    /* EK certificate's key is not the EK public the TPM returned */
	AERR_EK_CERT = -19,        /* EK certificate missing or unusable */
	AERR_PLATFORM_CERT = -20,  /* platform certificate invalid or not bound to the EK */
	AERR_CREDENTIAL = -21,     /* activated secret does not match */
	AERR_TPM = -22,            /* the TPM returned an error */
	AERR_IO = -23,             /* file or socket I/O failed */
	AERR_CONFIG = -24,         /* configuration invalid */
	AERR_RPC = -25,            /* transport failure or peer returned an error status */
	AERR_STATE = -26,          /* step not allowed in the current state */
	AERR_NOT_FOUND = -27,      /* requested object does not exist */
	AERR_EVENTLOG = -28,       /* event log replay does not reproduce the quoted PCRs */
	AERR_IMPORT = -29,         /* TPM2_Import refused the blob: made for another TPM's key, or altered */
	AERR_PROOF = -30,            /* a proof of receipt of a secret does not verify */
	AERR_LOG_POLICY = -31,       /* replayed measurements (boot events, IMA entries) break a policy */
	AERR_COUNTERS = -32,         /* TPM resetCount/restartCount/clock went backwards */
	/* -33, -34: retired (a quote that asks for another step is an outcome,
	 * session_next, not an error) */
	AERR_IDENTITY = -35,         /* the peer may not act for this node (bound to another TLS identity or pull target) */
	AERR_STORE = -36,            /* the verifier's store cannot be read or written now: try again */
	AERR_FIRMWARE = -37,         /* the TPM's firmware version is not one the policy allows */
	AERR_WINDOW = -38,           /* no passing attestation within the re-attestation window */
	AERR_CERTIFY = -39,          /* a certified key: its certify does not name it, or it may leave the TPM */
};

/* Static text for a code; never NULL. */
const char *err_str(int code);

/* Record a detail for the current thread and return code (for "return err_set(...)"). */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Put prefix ("what was being done") in front of the current detail and
 * return code: "EK public: 3 trailing bytes". */
int err_wrap(int code, const char *prefix);

/* Last detail recorded on this thread, or "" when none: everything, for the
 * operator (logs, the database). */
const char *err_detail(void);

/* Append an operator-only part to the current detail ("; " and the text) and
 * return code: err_detail() keeps it, err_public_detail() leaves it out. For
 * what the peer must not learn from a refusal, such as the value a policy
 * expected (a golden value an attacker would otherwise be handed). */
int err_private(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current detail without its operator-only part: what a peer is told. */
const char *err_public_detail(void);

/* Forget the recorded detail. */
void err_clear(void);

/* The current detail (and which part a peer may be told), kept across a call
 * that records its own: a lookup on the way out of a failure. */
#define ERR_DETAIL_MAX 512
struct err_saved {
	char detail[ERR_DETAIL_MAX];
	size_t public_len;
};
void err_save(struct err_saved *s);
void err_restore(const struct err_saved *s);

#endif
