/* Sessions into the store: the node an endorsement names, each verdict with
 * its evidence, each secret delivered. Shared by the push service and the pull
 * driver. A store that cannot be written is logged as an error; the verdict
 * itself still stands (the attestor has been told). NULL store: nothing. */
#ifndef VERIFIER_RECORD_H
#define VERIFIER_RECORD_H

#include <stdint.h>

#include "session.h"
#include "store.h"

struct record_ctx {
	struct store *store;
	const char *mode;             /* "pull" | "push" */
	const char *peer;             /* TLS identity, or the target in pull mode */
	const char *host;             /* the attestor's claimed hostname */
	const TPML_PCR_SELECTION *pcrs; /* the selection quoted */
	int64_t node_id;              /* set by record_node; 0 until then */
};

/* After a passing endorsement (and, when given, the AK): enroll or update. en
 * may be NULL once the node is enrolled (then only the AK is added). */
void record_node(struct record_ctx *c, const struct session *s, const struct session_endorsement *en,
		 const struct session_ak *ak);

/* A verdict: v is the session's last verdict; q the quote it judged (NULL when
 * the session ended before a quote). Returns the attestation's id (0: none). */
int64_t record_verdict(struct record_ctx *c, const struct session_verdict *v, const struct session_quote *q);

/* Secrets whose proofs verified, in attestation att. */
void record_secrets(struct record_ctx *c, int64_t att, const struct session_proof *proofs, size_t n);

#endif
