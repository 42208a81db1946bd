/* Sessions into the store: the node an endorsement names, each verdict with
 * its evidence, each secret delivered. Shared by the push service and the pull
 * driver. A store that cannot be written is logged as an error; the verdict
 * itself still stands (the attestor has been told). NULL store: nothing. */
#ifndef VERIFIER_RECORD_H
#define VERIFIER_RECORD_H

#include <stdint.h>

#include "hook.h"
#include "session.h"
#include "store.h"

struct record_ctx {
	struct store *store;
	struct hook *hook;            /* told of every state change; NULL = none */
	const char *mode;             /* "pull" | "push" */
	const char *peer;             /* TLS identity, or the target in pull mode */
	const char *host;             /* the attestor's claimed hostname */
	const TPML_PCR_SELECTION *pcrs; /* the selection quoted */
	int explicit_enrollment;      /* unknown nodes are refused, not enrolled */
	int64_t node_id;              /* set by record_node; 0 until then */
	char ek_hash[65];             /* the node's identity, set with node_id */
	enum store_state state;       /* the node's state as last recorded */
};

/* After a passing endorsement: enroll the node (or refuse it under explicit
 * enrollment: the session fails) or update it, and give the session what
 * the store knew (session_set_prior). Returns session_set_prior's result. */
int record_node(struct record_ctx *c, struct session *s, const struct session_endorsement *en) ATTEST_WUR;

/* The same for a node known to this process (a push re-attestation resumed
 * without Hello): never enrolls, never updates the EK. AERR_NOT_FOUND when the
 * node is gone (verifier remove); the caller then asks for a Hello. */
int record_node_known(struct record_ctx *c, struct session *s) ATTEST_WUR;

/* After a passing activation: the node's AK, reused without activation by
 * later sessions of the same boot. */
void record_ak(struct record_ctx *c, const struct session *s);

/* A verdict: v is the session's last verdict; q the quote it judged (NULL when
 * the session ended before a quote). Returns the attestation's id (0: none). */
int64_t record_verdict(struct record_ctx *c, const struct session_verdict *v, const struct session_quote *q);

/* A failing verdict without contact (the node missed its re-attestation
 * window): its last-seen time stays. */
void record_missed(struct record_ctx *c, const struct session_verdict *v);

/* Secrets whose proofs verified, in attestation att. */
void record_secrets(struct record_ctx *c, int64_t att, const struct session_proof *proofs, size_t n);

#endif
