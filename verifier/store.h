/* The verifier's durable state: one SQLite database (WAL) in its state
 * directory. Nodes are known by the SHA-256 of their EK public (what the TPM
 * proves); every attestation is recorded with its verdict and evidence, and
 * every secret delivery with whether its proof verified. The schema is created
 * and migrated here (PRAGMA user_version); statements are prepared once. This
 * module does no crypto, and nothing else touches the database handle.
 * Thread-safe: one connection per struct store, every call under its lock
 * (the push service handles calls on several threads). */
#ifndef VERIFIER_STORE_H
#define VERIFIER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define STORE_FILE "verifier.db"

enum store_state { STORE_ENROLLED = 0, STORE_ATTESTING, STORE_PASSING, STORE_FAILED };

struct store;

/* What an endorsement and AK tell about a node. */
struct store_node_in {
	const char *ek_hash;             /* 64 hex digits */
	uint16_t ek_alg;
	const uint8_t *ek_pub;           /* TPM2B_PUBLIC */
	size_t ek_pub_len;
	const uint8_t *ek_cert;          /* DER, may be NULL */
	size_t ek_cert_len;
	const char *hostname;            /* untrusted, informational */
};

#define STORE_AK_NAME_MAX 68             /* sizeof(TPMU_NAME) */

#define STORE_IMA_STATE_MAX 8192        /* >= IMASTATE_MAX (common/imastate.h) */

/* What the store knew of a node before this attestation: the reference for
 * the counter rules, the AK activated earlier, where its IMA list stands. */
struct store_prior {
	int64_t id;
	int existed;                     /* 0: enrolled just now */
	enum store_state state;
	int has_counts;                  /* counters of the last passing quote */
	uint32_t reset_count, restart_count;
	uint64_t clock;
	uint8_t ak_name[STORE_AK_NAME_MAX]; /* the AK activated last (ak_name_len 0: none) */
	size_t ak_name_len;
	uint32_t ima_reset;              /* the boot of ima_state */
	uint8_t ima_state[STORE_IMA_STATE_MAX]; /* opaque to the store (imastate.h); len 0: none */
	size_t ima_state_len;
};

/* A node's state before and after a verdict. */
struct store_change {
	int changed;
	enum store_state from, to;
};

/* One attestation and its verdict. */
struct store_attestation {
	int64_t node_id;                 /* 0: the endorsement itself failed (no node) */
	const char *mode;                /* "pull" | "push" */
	const char *peer;                /* TLS identity */
	const char *hostname;
	int pass;
	const char *step;                /* failed step, or the last one */
	const char *reason;              /* "" on pass */
	const uint8_t *nonce;
	size_t nonce_len;
	const char *pcr_selection;       /* text, "sha256:0,1,..." */
	const uint8_t *quote;            /* TPM2B_ATTEST, may be NULL */
	size_t quote_len;
	const uint8_t *signature;        /* TPMT_SIGNATURE, may be NULL */
	size_t signature_len;
	int has_counts;
	uint32_t reset_count, restart_count;
	uint64_t clock;                  /* TPMS_CLOCK_INFO.clock of the quote, with has_counts */
	uint64_t ima_entries;
	const uint8_t *ima_state;        /* pass: the IMA replay reached (imastate.h), or NULL */
	size_t ima_state_len;
	uint32_t ima_reset;              /* the boot it belongs to */
	int no_contact;                  /* a verdict without the node (a missed window): last_seen stays */
};

struct store_node {
	int64_t id;
	char ek_hash[65];
	uint16_t ek_alg;
	char hostname[256];
	enum store_state state;
	char reason[512];
	int64_t enrolled_ms, last_seen_ms; /* Unix time, ms; last_seen 0 = never */
	int has_counts;
	uint32_t reset_count, restart_count;
	uint64_t attestations, passes;
	int has_ak;                      /* an AK was activated */
};

/* Open (creating and migrating) <dir>/verifier.db. AERR_IO with the path and
 * SQLite's reason; AERR_CONFIG when the database is newer than this verifier. */
int store_open(const char *dir, struct store **out) ATTEST_WUR;
void store_close(struct store *st);

const char *store_state_name(enum store_state s);

/* Update what may change of a known node (hostname, EK certificate; NULL
 * fields keep their value; an operator-enrolled node gets its EK public), or,
 * with may_create, enroll an unknown one (AERR_NOT_FOUND without). *prior
 * receives what was known before. */
int store_node_upsert(struct store *st, const struct store_node_in *in, int may_create,
		      struct store_prior *prior) ATTEST_WUR;

/* The AK this node's TPM activated (TPM2B_PUBLIC and TPM2B_NAME contents). */
int store_node_set_ak(struct store *st, int64_t id, const uint8_t *ak_pub, size_t ak_pub_len, const uint8_t *ak_name,
		      size_t ak_name_len) ATTEST_WUR;

/* Operator enrollment (verifier enroll): a node known by EK hash before it
 * attests, state enrolled; ek_pub may be NULL. AERR_INVALID_ARG when it is
 * enrolled already. */
int store_node_enroll(struct store *st, const char *ek_hash, uint16_t ek_alg, const uint8_t *ek_pub,
		      size_t ek_pub_len, const char *hostname, int64_t *id) ATTEST_WUR;

/* Record a verdict and move its node to passing or failed with the reason, in
 * one transaction. *id (may be NULL) receives the attestation's row id,
 * *change (may be NULL) the node's state before and after. */
int store_attestation_add(struct store *st, const struct store_attestation *a, int64_t *id,
			  struct store_change *change) ATTEST_WUR;

/* Passing nodes not seen since before cutoff_ms (Unix ms): fn for each, outside
 * any transaction, so fn may record verdicts. */
int store_nodes_overdue(struct store *st, int64_t cutoff_ms,
			int (*fn)(const struct store_node *n, void *arg), void *arg) ATTEST_WUR;

/* Record one secret delivered in attestation attestation_id. */
int store_secret_add(struct store *st, int64_t attestation_id, int64_t node_id, const char *name,
		     int proof_ok) ATTEST_WUR;

/* A node by EK hash (a unique prefix of at least 8 hex digits) or hostname.
 * AERR_NOT_FOUND, or AERR_INVALID_ARG when the key is ambiguous. */
int store_node_get(struct store *st, const char *key, struct store_node *out) ATTEST_WUR;

/* Every node in enrollment order. */
int store_node_list(struct store *st, int (*fn)(const struct store_node *n, void *arg), void *arg) ATTEST_WUR;

/* Remove a node and its history. AERR_NOT_FOUND when there is none. */
int store_node_remove(struct store *st, const char *key) ATTEST_WUR;

/* Verdicts recorded: pass = 1 passing, 0 failing. */
int store_count_verdicts(struct store *st, int pass, uint64_t *n) ATTEST_WUR;

#endif
