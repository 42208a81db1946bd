/* The Admin service's server-streaming method, WatchEvents (admin/watch.c). */
#ifndef VERIFIER_ADMIN_WATCH_H
#define VERIFIER_ADMIN_WATCH_H

#include "rpc.h"

/* Stream every state change from now on to call (a detached handler's),
 * only node's when node (an EK hash) is not "", and end the call when the
 * client goes or the verifier stops. */
void admin_watch_stream(struct rpc_call *call, const char *node, const char *operator_id);

#endif
