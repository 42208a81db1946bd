/* Push mode: the verifier serves attest.v1.Verifier and attestors drive.
 *
 *   Hello(endorsement, AK)        -> session id + credential challenge
 *   Activate(id, secret)          -> quote request (fresh nonce)
 *   SubmitQuote(id, quote)        -> verdict (pass, reattest_seconds)
 *
 * Each push session wraps one session/session.c state machine (the same checks as pull
 * mode, in the same order). A session id is unguessable (slot number + 128
 * random bits), bound to the TLS identity that said Hello, and expires after
 * session_ttl; a session ends at its verdict. One identity holds at most
 * max_sessions_per_identity open sessions. A session changes its node only
 * once the peer proved the node's TPM (record/record.h); one that fails before is a
 * rejected attempt of its identity. Rejections are gRPC statuses whose
 * message says why: NOT_FOUND (unknown or finished session), PERMISSION_DENIED
 * (another TLS identity, or a failed check: "<step>: <reason>", without the
 * operator-only details such as a policy's expected values),
 * FAILED_PRECONDITION (a step out of order or repeated, an expired session),
 * RESOURCE_EXHAUSTED (max_sessions open, or this identity's share),
 * INVALID_ARGUMENT (malformed), UNAVAILABLE (the store cannot take the node's
 * record or verdict now: try again). A verdict is also signed for relying
 * parties (record_result): a pass's in Verdict.ear, a failed verdict's, a
 * refused call, in the call's trailer attest-result.
 *
 * Handlers run on `threads` workers: the session table is under a lock, a
 * session is used by the one handler that marked it busy. */
#ifndef VERIFIER_PUSH_SERVICE_H
#define VERIFIER_PUSH_SERVICE_H

#include <stdint.h>

#include "config.h"
#include "err.h"

struct push_service;

/* Load the trust stores, bind cfg->listen (port 0 picks one) and start serving.
 * cfg is borrowed and must outlive the service. Calls rpc_global_init; undone
 * by push_free. AERR_CONFIG / AERR_IO with detail. */
int push_start(const struct verifier_config *cfg, struct push_service **out) ATTEST_WUR;

int push_port(const struct push_service *p);

/* Serve until push_stop; returns 0. */
int push_serve(struct push_service *p);

/* Async-signal-safe. */
void push_stop(struct push_service *p);

/* NULL-safe. */
void push_free(struct push_service *p);

/* The gRPC server, for a guest service on its workers (rpc_server_attach:
 * the Admin service). */
struct rpc_server *push_rpc(struct push_service *p);

/* Serve until SIGINT/SIGTERM. 0 after a clean stop; free it after. */
int push_run(struct push_service *p) ATTEST_WUR;

#endif
