#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static _Thread_local char detail[ERR_DETAIL_MAX];
/* Bytes of detail a peer may be told: all of it unless err_private added a
 * part; the copy for err_public_detail. */
static _Thread_local size_t public_len = sizeof(detail);
static _Thread_local char public_copy[sizeof(detail)];

const char *err_str(int code)
{
	switch (code) {
	case AERR_OK: return "success";
	case AERR_INTERNAL: return "internal error";
	case AERR_ALLOC: return "out of memory";
	case AERR_INVALID_ARG: return "invalid argument";
	case AERR_PARSE: return "malformed structure";
	case AERR_TRAILING: return "trailing bytes after structure";
	case AERR_TOO_LARGE: return "input too large";
	case AERR_UNSUPPORTED: return "unsupported algorithm or type";
	case AERR_CRYPTO: return "cryptographic operation failed";
	case AERR_SIGNATURE: return "signature verification failed";
	case AERR_QUOTE_MAGIC: return "quote magic is not TPM_GENERATED_VALUE";
	case AERR_QUOTE_TYPE: return "attestation is not a quote";
	case AERR_NONCE: return "nonce mismatch, unknown, reused or expired";
	case AERR_PCR_SELECTION: return "PCR selection mismatch";
	case AERR_PCR_DIGEST: return "PCR digest does not match PCR values";
	case AERR_PCR_POLICY: return "PCR value differs from policy";
	case AERR_AK_ATTRS: return "attestation key rejected";
	case AERR_EK_CERT_CHAIN: return "EK certificate not trusted";
	case AERR_EK_CERT_KEY: return "EK certificate key does not match EK public";
	case AERR_EK_CERT: return "EK certificate missing or invalid";
	case AERR_PLATFORM_CERT: return "platform certificate rejected";
	case AERR_CREDENTIAL: return "credential activation failed";
	case AERR_TPM: return "TPM error";
	case AERR_IO: return "I/O error";
	case AERR_CONFIG: return "configuration error";
	case AERR_RPC: return "RPC failure";
	case AERR_STATE: return "step not allowed in this state";
	case AERR_NOT_FOUND: return "not found";
	case AERR_EVENTLOG: return "event log does not match the quoted PCRs";
	case AERR_IMPORT: return "the TPM refused the import blob";
	case AERR_PROOF: return "proof of receipt does not verify";
	case AERR_LOG_POLICY: return "measurements violate the policy";
	case AERR_COUNTERS: return "TPM counters went backwards";
	case AERR_IDENTITY: return "peer not allowed for this node (its TLS identity or pull target)";
	case AERR_STORE: return "verifier store unavailable";
	case AERR_FIRMWARE: return "TPM firmware version not allowed by the policy";
	case AERR_WINDOW: return "no attestation within the re-attestation window";
	case AERR_CERTIFY: return "certified key refused";
	}
	return "unknown error";
}

int err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	public_len = sizeof(detail);
	return code;
}

int err_wrap(int code, const char *prefix)
{
	char d[sizeof(detail)];
	size_t pub = public_len;

	/* Copied first: the detail is the buffer err_set writes into. */
	snprintf(d, sizeof(d), "%s", detail);
	(void)err_set(code, "%s: %s", prefix, d);
	/* An operator-only tail stays operator-only, behind the prefix; what
	 * the buffer cut off of it is gone either way. */
	if (pub < sizeof(detail))
		public_len = pub + strlen(prefix) + 2;
	return code;
}

int err_private(int code, const char *fmt, ...)
{
	size_t at = strlen(detail);
	va_list ap;

	if (at + 2 >= sizeof(detail))
		return code;
	memcpy(detail + at, "; ", 3);
	va_start(ap, fmt);
	vsnprintf(detail + at + 2, sizeof(detail) - at - 2, fmt, ap);
	va_end(ap);
	if (public_len > at)
		public_len = at;
	return code;
}

const char *err_public_detail(void)
{
	size_t n = public_len < strlen(detail) ? public_len : strlen(detail);

	memcpy(public_copy, detail, n);
	public_copy[n] = '\0';
	return public_copy;
}

const char *err_detail(void)
{
	return detail;
}

void err_clear(void)
{
	detail[0] = '\0';
	public_len = sizeof(detail);
}

void err_save(struct err_saved *s)
{
	memcpy(s->detail, detail, sizeof(detail));
	s->public_len = public_len;
}

void err_restore(const struct err_saved *s)
{
	memcpy(detail, s->detail, sizeof(detail));
	public_len = s->public_len;
}
