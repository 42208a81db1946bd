/* Status codes, library lifetime, routing gRPC's own log into ours, and what
 * the client and the server share: method paths, deadlines, packing. */
#define LOG_MODULE "grpc"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "array.h"
#include "log.h"
#include "metrics.h"
#include "rpc_priv.h"

/* gRPC reports the reason for a refused TLS peer only in its own log (the
 * client just sees "Socket closed"), so that log must reach ours. Its ERROR
 * level is mostly about peers misbehaving, hence a warning here. */
static void rpc_status_gpr_log(gpr_log_func_args *args)
{
	enum log_level level;

	/* gRPC core tells of a refused TLS handshake only in its log. */
	if (args->message && strstr(args->message, "Handshake failed"))
		metrics_inc("attest_tls_handshake_failures_total", "", 1);
	switch (args->severity) {
	case GPR_LOG_SEVERITY_ERROR: level = LOG_LEVEL_WARN; break;
	case GPR_LOG_SEVERITY_INFO: level = LOG_LEVEL_INFO; break;
	default: level = LOG_LEVEL_DEBUG; break;
	}
	log_msg(level, LOG_MODULE, "%s (%s:%d)", args->message ? args->message : "",
		args->file ? args->file : "?", args->line);
}

void rpc_global_init(void)
{
	gpr_set_log_function(rpc_status_gpr_log);
	/* gRPC's ERROR lines only, unless the operator asked for GRPC_VERBOSITY. */
	if (!getenv("GRPC_VERBOSITY"))
		gpr_set_log_verbosity(log_get_level() >= LOG_LEVEL_DEBUG ? GPR_LOG_SEVERITY_INFO
									 : GPR_LOG_SEVERITY_ERROR);
	grpc_init();
}

void rpc_global_shutdown(void)
{
	grpc_shutdown();
}

const char *rpc_status_name(enum rpc_status status)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};

	if ((unsigned)status < ARRAY_LEN(names))
		return names[status];
	return "UNKNOWN_STATUS";
}

enum rpc_status rpc_status_from_err(int err)
{
	switch ((enum attest_err)err) {
	case AERR_OK:
		return RPC_OK;
	case AERR_PARSE:
	case AERR_TRAILING:
	case AERR_TOO_LARGE:
	case AERR_INVALID_ARG:
	case AERR_UNSUPPORTED:
	case AERR_IMPORT:
		return RPC_INVALID_ARGUMENT;
	case AERR_STATE:
	case AERR_CONFIG:
	case AERR_WINDOW: /* the verifier's own verdict without contact: never a peer's status */
		return RPC_FAILED_PRECONDITION;
	case AERR_NOT_FOUND:
		return RPC_NOT_FOUND;
	case AERR_NONCE:
	case AERR_SIGNATURE:
	case AERR_CERTIFY:
	case AERR_QUOTE_MAGIC:
	case AERR_QUOTE_TYPE:
	case AERR_PCR_SELECTION:
	case AERR_PCR_DIGEST:
	case AERR_PCR_POLICY:
	case AERR_EVENTLOG:
	case AERR_AK_ATTRS:
	case AERR_EK_CERT_CHAIN:
	case AERR_EK_CERT_KEY:
	case AERR_EK_CERT:
	case AERR_PLATFORM_CERT:
	case AERR_CREDENTIAL:
	case AERR_PROOF:
	case AERR_LOG_POLICY:
	case AERR_COUNTERS:
	case AERR_IDENTITY:
	case AERR_FIRMWARE:
		return RPC_PERMISSION_DENIED;
	case AERR_RPC:
	case AERR_STORE:
		return RPC_UNAVAILABLE;
	case AERR_TPM:
	case AERR_INTERNAL:
	case AERR_CRYPTO:
	case AERR_ALLOC:
	case AERR_IO:
		return RPC_INTERNAL;
	}
	/* An unknown code is a bug on our side, not the peer's. */
	return RPC_INTERNAL;
}

char *rpc_method_path(const ProtobufCServiceDescriptor *svc, unsigned method)
{
	char *path = NULL;

	if (!svc || method >= svc->n_methods)
		return NULL;
	if (asprintf(&path, "/%s/%s", svc->name, svc->methods[method].name) < 0)
		return NULL;
	return path;
}

gpr_timespec rpc_deadline_ms(int timeout_ms)
{
	if (timeout_ms <= 0)
		return gpr_inf_future(GPR_CLOCK_MONOTONIC);
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

int rpc_pack(const ProtobufCMessage *m, size_t max, grpc_byte_buffer **out, size_t *len)
{
	grpc_slice slice;
	uint8_t *buf;

	*out = NULL;
	*len = protobuf_c_message_get_packed_size(m);
	if (*len > max)
		return err_set(AERR_TOO_LARGE, "%s of %zu bytes exceeds the limit of %zu", m->descriptor->name, *len,
			       max);
	if (!(buf = malloc(*len ? *len : 1)))
		return err_set(AERR_ALLOC, "%s: out of memory", m->descriptor->name);
	if (protobuf_c_message_pack(m, buf) != *len) {
		free(buf);
		return err_set(AERR_INTERNAL, "%s: protobuf_c_message_pack size mismatch", m->descriptor->name);
	}
	slice = grpc_slice_from_copied_buffer((const char *)buf, *len);
	free(buf);
	*out = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice); /* the byte buffer holds its own reference */
	return 0;
}
