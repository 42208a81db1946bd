/* GetNode's answer (admin/nodes.c): one node in full, as `verifier status
 * NODE` shows it. */
#ifndef VERIFIER_ADMIN_STATUS_H
#define VERIFIER_ADMIN_STATUS_H

#include "admin/methods.h"

/* The node key names (STORE_KEY_ANY: a claimed hostname too, since this
 * only looks): its row, when it last passed and failed, the PCR values its
 * last verified quote proved, its facts, the reference it is judged by
 * (resolved as its next session resolves it) and the rejected attempts
 * that claimed its EK. */
int admin_node_status(struct admin_ctx *ctx, struct arena *a, const char *key, Attest__V1__NodeStatus **out) ATTEST_WUR;

#endif
