/* The TLS identity of a peer, read the same way on both sides of a call:
 * the first subjectAltName of its verified certificate, else its common
 * name. One limit and one alphabet for every identity, so that whatever
 * accepts a peer (the server at a call, the pull driver at a reply) can keep,
 * compare and print it whole: an identity that does not fit is refused with
 * the reason, never cut to a prefix another certificate might share. */
#define LOG_MODULE "rpc"

#include <stdio.h>
#include <string.h>

#include "rpc_priv.h"
#include "strsafe.h"

/* The first property named name: 1 with *p, 0 when there is none. */
static int rpc_identity_prop(const grpc_auth_context *ctx, const char *name, const grpc_auth_property **p)
{
	grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx, name);

	*p = grpc_auth_property_iterator_next(&it);
	return *p != NULL;
}

int rpc_identity_read(const grpc_auth_context *ctx, char out[RPC_IDENTITY_MAX + 1], char *why, size_t whycap)
{
	const grpc_auth_property *p = NULL;
	char shown[64];

	out[0] = '\0';
	why[0] = '\0';
	if (!ctx || !grpc_auth_context_peer_is_authenticated(ctx))
		return 0;
	if (!rpc_identity_prop(ctx, GRPC_X509_SAN_PROPERTY_NAME, &p) &&
	    !rpc_identity_prop(ctx, GRPC_X509_CN_PROPERTY_NAME, &p)) {
		snprintf(why, whycap, "the certificate names no subjectAltName or common name");
		return -1;
	}
	if (!p->value || p->value_length == 0) {
		snprintf(why, whycap, "the certificate's first subjectAltName is empty");
		return -1;
	}
	strsafe_copy(shown, sizeof(shown), p->value, p->value_length, STRSAFE_QUOTED);
	if (p->value_length > RPC_IDENTITY_MAX) {
		snprintf(why, whycap, "TLS identity '%s' (the certificate's first subjectAltName) is %zu bytes, "
			 "at most %d are accepted", shown, p->value_length, RPC_IDENTITY_MAX);
		return -1;
	}
	/* Printable, no spaces, no quotes: an embedded NUL would let "a\0b"
	 * pass for "a", and the identity is printed in logs and compared. */
	for (size_t i = 0; i < p->value_length; i++) {
		unsigned char c = (unsigned char)p->value[i];

		if (c <= 0x20 || c >= 0x7f || c == '\'' || c == '"' || c == '\\') {
			snprintf(why, whycap, "TLS identity '%s' holds byte 0x%02x: only printable ASCII without "
				 "spaces or quotes is accepted", shown, c);
			return -1;
		}
	}
	memcpy(out, p->value, p->value_length);
	out[p->value_length] = '\0';
	return 1;
}
