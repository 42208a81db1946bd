#include <stdarg.h>
#include <stdio.h>

#include "err.h"

static _Thread_local char detail[512];

const char *err_str(int code)
{
	switch (code) {
	case ERR_OK: return "success";
	case ERR_INTERNAL: return "internal error";
	case ERR_ALLOC: return "out of memory";
	case ERR_INVALID_ARG: return "invalid argument";
	case ERR_PARSE: return "malformed structure";
	case ERR_TRAILING: return "trailing bytes after structure";
	case ERR_TOO_LARGE: return "input too large";
	case ERR_UNSUPPORTED: return "unsupported algorithm or type";
	case ERR_CRYPTO: return "cryptographic operation failed";
	case ERR_SIGNATURE: return "signature verification failed";
	case ERR_QUOTE_MAGIC: return "quote magic is not TPM_GENERATED_VALUE";
	case ERR_QUOTE_TYPE: return "attestation is not a quote";
	case ERR_NONCE: return "nonce mismatch, unknown, reused or expired";
	case ERR_PCR_SELECTION: return "PCR selection mismatch";
	case ERR_PCR_DIGEST: return "PCR digest does not match PCR values";
	case ERR_PCR_POLICY: return "PCR value differs from policy";
	case ERR_AK_ATTRS: return "attestation key rejected";
	case ERR_EK_CERT_CHAIN: return "EK certificate not trusted";
	case ERR_EK_CERT_KEY: return "EK certificate key does not match EK public";
	case ERR_EK_CERT: return "EK certificate missing or invalid";
	case ERR_PLATFORM_CERT: return "platform certificate rejected";
	case ERR_CREDENTIAL: return "credential activation failed";
	case ERR_TPM: return "TPM error";
	case ERR_IO: return "I/O error";
	case ERR_CONFIG: return "configuration error";
	case ERR_RPC: return "RPC failure";
	case ERR_STATE: return "step not allowed in this state";
	case ERR_NOT_FOUND: return "not found";
	}
	return "unknown error";
}

int err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return code;
}

const char *err_detail(void)
{
	return detail;
}

void err_clear(void)
{
	detail[0] = '\0';
}
