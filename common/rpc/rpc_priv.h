/* Internals shared by the rpc_*.c files; not part of the public contract. */
#ifndef ATTEST_RPC_PRIV_H
#define ATTEST_RPC_PRIV_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "rpc.h"

/* Upper bound for a PEM file we accept (certificate chains, keys, CA bundles). */
#define RPC_TLS_MAX_PEM (1024 * 1024)

/* Credentials from struct rpc_tls. The files are read and checked with OpenSSL
 * first (parseable, key matches certificate) so a bad file is AERR_CONFIG with
 * the file name, not a silent handshake failure later. */
int rpc_tls_server_creds(const struct rpc_tls *tls, grpc_server_credentials **out) ATTEST_WUR;
int rpc_tls_channel_creds(const struct rpc_tls *tls, grpc_channel_credentials **out) ATTEST_WUR;

/* The peer's TLS identity from a call's auth context (rpc_identity.c): 1 with
 * out set, 0 when the peer is not authenticated (an insecure channel), -1 when
 * its certificate's identity is refused (longer than RPC_IDENTITY_MAX, empty,
 * or bytes outside printable ASCII without spaces and quotes), why saying so. */
int rpc_identity_read(const grpc_auth_context *ctx, char out[RPC_IDENTITY_MAX + 1], char *why, size_t whycap);

/* "/" svc->name "/" method name, malloc'd; NULL on allocation failure. */
char *rpc_method_path(const ProtobufCServiceDescriptor *svc, unsigned method);

/* m packed into a new byte buffer (*out, the caller destroys it) of at most
 * max bytes, for a request or a reply alike. 0; AERR_TOO_LARGE with *len the
 * size it would have; AERR_ALLOC; AERR_INTERNAL when protobuf-c packs another
 * size than it announced. */
int rpc_pack(const ProtobufCMessage *m, size_t max, grpc_byte_buffer **out, size_t *len) ATTEST_WUR;

/* Absolute deadline timeout_ms from now (infinite when timeout_ms <= 0). */
gpr_timespec rpc_deadline_ms(int timeout_ms);

#endif
