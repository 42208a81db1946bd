/* The Admin service (proto/admin.proto) of a running verifier: `verifier
 * serve` binds it on [admin] listen beside the attestors' service, with
 * the same mutual TLS material ([tls]), and answers only the TLS
 * identities [admin] operators names: an attestor's certificate, however
 * valid, gets PERMISSION_DENIED before any method runs. In push mode it is
 * a guest of the attestors' gRPC server (rpc_server_attach: the same
 * completion queue and workers, so that while idle it costs attestations
 * nothing); in pull mode it has a thread of its own. Either way each call
 * runs on a thread of its own, and the calls share one store connection of
 * the service's own, taken one call at a time, so an operator's request
 * never holds up an attestation's; every call is logged with the
 * operator's identity. The methods are admin/methods.h's and WatchEvents
 * (admin/watch.h). */
#ifndef VERIFIER_ADMIN_ADMIN_H
#define VERIFIER_ADMIN_ADMIN_H

#include "config.h"
#include "rpc.h"
#include "err.h"

struct admin_server;

/* What serve can do that a method asks for: attest the node at pull
 * target now (NULL: this mode cannot). */
struct admin_hooks {
	int (*reattest)(const char *target, void *arg);
	void *arg;
};

/* Bind cfg->admin.listen (port 0 picks one) and serve until
 * admin_server_free: on host's workers (a guest of it, see
 * rpc_server_attach for the order of things), or on a thread of its own
 * when host is NULL. cfg is borrowed and must outlive the server; the
 * caller holds rpc_global_init. AERR_CONFIG / AERR_IO with detail. */
int admin_server_start(const struct verifier_config *cfg, const char *config_path, const struct admin_hooks *hooks,
		       struct rpc_server *host, struct admin_server **out) ATTEST_WUR;

int admin_server_port(const struct admin_server *s);

/* Stop, wait for the thread, free. NULL-safe. */
void admin_server_free(struct admin_server *s);

#endif
