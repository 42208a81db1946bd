/* The Admin service (proto/admin.proto) of a running verifier: `verifier
 * serve` binds it on [admin] listen beside the attestors' service, with
 * the same mutual TLS material ([tls]), and answers only the TLS
 * identities [admin] operators names: an attestor's certificate, however
 * valid, gets PERMISSION_DENIED before any method runs. Calls are handled
 * one at a time on a thread of its own, with a store connection of its
 * own, so an operator's request never holds up an attestation's; every
 * call is logged with the operator's identity. The methods are
 * admin/methods.h's. */
#ifndef VERIFIER_ADMIN_ADMIN_H
#define VERIFIER_ADMIN_ADMIN_H

#include "config.h"
#include "err.h"

struct admin_server;

/* What serve can do that a method asks for: attest the node at pull
 * target now (NULL: this mode cannot). */
struct admin_hooks {
	int (*reattest)(const char *target, void *arg);
	void *arg;
};

/* Bind cfg->admin.listen (port 0 picks one) and serve on a thread until
 * admin_server_free. cfg is borrowed and must outlive the server; the
 * caller holds rpc_global_init. AERR_CONFIG / AERR_IO with detail. */
int admin_server_start(const struct verifier_config *cfg, const char *config_path, const struct admin_hooks *hooks,
		       struct admin_server **out) ATTEST_WUR;

int admin_server_port(const struct admin_server *s);

/* Stop, wait for the thread, free. NULL-safe. */
void admin_server_free(struct admin_server *s);

#endif
