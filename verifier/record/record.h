/* Sessions into the store, for the push service and the pull driver alike,
 * by the rule of proof before state:
 *   - record_lookup reads what the store knows of the node an endorsement
 *     names and writes nothing;
 *   - record_proven enrolls or updates the node once the peer proved its TPM
 *     (credential activation), binding it to the peer's TLS identity;
 *   - record_verdict records a verdict, only ever of a proven session;
 *   - record_rejected counts a session that failed before any proof as an
 *     anonymous attempt of its TLS identity, never as the node's verdict.
 * A store that cannot be read or written fails closed (AERR_STORE): no
 * session goes on without its node's record, no verdict that is not
 * recorded is a pass. NULL store: verdicts are only logged. */
#ifndef VERIFIER_RECORD_RECORD_H
#define VERIFIER_RECORD_RECORD_H

#include <stdint.h>

#include "record/hook.h"
#include "record/reference.h"
#include "session/session.h"
#include "store/store.h"

struct result_issuer;

struct record_ctx {
	struct store *store;
	struct hook *hook;            /* told of every state change; NULL = none */
	const char *mode;             /* "pull" | "push" */
	const char *peer;             /* the peer's TLS identity ("" when insecure) */
	const char *host;             /* the attestor's claimed hostname, made safe (record_host) */
	const TPML_PCR_SELECTION *pcrs; /* the selection quoted */
	const char *target;           /* pull: this round's HOST:PORT (record_lookup's target rules) */
	int binds_target;             /* target is one of `targets`: a verdict binds an unbound
				       * node to it */
	int explicit_enrollment;      /* unknown nodes are refused, not enrolled */
	struct reference_cache *refs; /* the named policies (record/reference.h); NULL: the config
				       * file's judges every node */
	const struct result_issuer *results; /* signs each verdict's EAR (record_result); NULL: none */
	int ek_cert_required;         /* require_ek_cert: every node's EK chain was checked at its proof */
	uint64_t started_ns;          /* clock_mono_ns at the attestation's first call (pull: its
				       * round's start), for the latency metric; 0: unknown */
	const struct verifier_config *learn_first_use; /* learn_first_use: the config a learned
				       * policy is checked against (review/learn.h); NULL: off */
	/* Set by record_lookup (node_id 0: no such node yet). */
	const struct session *session; /* the session its verdicts are of: the AK that signed
					* a quote is kept with the verdict's evidence */
	int64_t node_id;
	char ek_hash[65];
	enum store_state state;       /* the node's state as last recorded */
	int at_own_target;            /* pull: the node is bound to this round's target */
	char name[STORE_NAME_MAX + 1];  /* what an operator assigned it: secrets select by these */
	size_t ngroups;
	char groups[STORE_GROUPS_MAX][STORE_NAME_MAX + 1];
	char policy[STORE_NAME_MAX + 1]; /* the reference the session judges by ("config": the file's) */
	uint32_t policy_version;
	char ima_judged_by[STORE_NAME_MAX + 16]; /* "POLICY VERSION", kept with the IMA state */
	int has_facts;                /* the store holds facts of the node's certificates */
	int activated;                /* this session proved the TPM by activation (record_proven),
				       * and its verdict has not recorded the facts yet */
};

/* The attestor's hostname claim as the verifier keeps and prints it: at most
 * 63 bytes of letters, digits, '.', '-', '_' (others written \xNN). */
void record_host(char dst[64], const char *claim);

/* After a passing endorsement: what the store knew of the node, into c and
 * the session (session_set_prior), nothing written. Fails the session (the
 * caller counts a rejected attempt): an unknown node under explicit
 * enrollment (AERR_NOT_FOUND), a node bound to another TLS identity, and in
 * pull mode a node attested at another target or a target that answers for
 * another node (AERR_IDENTITY). AERR_STORE, the session untouched, when the store
 * cannot be read: the caller ends it without a verdict (the peer retries). */
int record_lookup(struct record_ctx *c, struct session *s) ATTEST_WUR;

/* The same for a node known to this process (a push re-attestation resumed
 * without Hello): AERR_NOT_FOUND when the node is gone (verifier remove) or
 * bound to another identity since; the caller then asks for a Hello. */
int record_lookup_known(struct record_ctx *c, struct session *s) ATTEST_WUR;

/* After a passing activation (the peer proved the TPM): enroll the node or
 * update it (hostname, EK public and certificate, the AK reused by later
 * sessions of the same boot) and bind it to c->peer when unbound. Fails the
 * session as record_lookup when the node was removed or bound to another
 * identity in the meantime; AERR_STORE when it cannot be written. */
int record_proven(struct record_ctx *c, struct session *s) ATTEST_WUR;

/* A verdict of a proven session: v its last verdict, q the quote it judged
 * (NULL when none) with the evidence sent with it, which is kept
 * (record/evidence.h). *att (may be NULL) receives the attestation's id. 0, or
 * AERR_STORE when it could not be written: then a passing verdict is not a
 * pass (the caller tells the peer to try again), and a failing one still
 * reaches the hook. AERR_IDENTITY, nothing recorded and no hook: a pull round
 * whose node was bound to another target while it was under way (the caller
 * counts a rejected attempt). */
/* The signed attestation result (an EAR, results/ear.h) of a verdict just
 * recorded, for the node's attestor: *jwt malloc'd, or NULL (and 0) when
 * this verifier signs no results. */
int record_result(const struct record_ctx *c, const struct session_verdict *v, char **jwt) ATTEST_WUR;

int record_verdict(struct record_ctx *c, const struct session_verdict *v, const struct session_quote *q,
		   int64_t *att);

/* A failing verdict without contact (the node missed its re-attestation
 * window, or a pull target stopped proving its node): last-seen stays. */
void record_missed(struct record_ctx *c, const struct session_verdict *v);

/* Secrets whose proofs verified, in attestation att. */
void record_secrets(struct record_ctx *c, int64_t att, const struct session_proof *proofs, size_t n);

/* The secrets of set the node of session s receives: those its named
 * policy names (session_reference_secrets), else those whose hosts select
 * it by its EK hash and what an operator or a group rule assigned it, as
 * record_lookup and record_proven read them. At most SECRET_MAX_PER_HOST. */
size_t record_secret_defs(const struct record_ctx *c, const struct session *s, const struct secret_set *set,
			  const struct secret_def **out);

/* An anonymous rejected attempt of c->peer: s (may be NULL) the session that
 * failed before any proof, or step and reason of what failed instead (when s
 * is NULL or has no verdict). Counted per TLS identity (the store's bounded
 * table, else memory) and logged at the 1st, 2nd, 4th, 8th ... attempt. */
void record_rejected(struct record_ctx *c, const struct session *s, const char *step, const char *reason);

#endif
