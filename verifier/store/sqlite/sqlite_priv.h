/* The SQLite store (store/store.h) as its files share it: sqlite/schema.c
 * (the schema, its migrations, the statements, opening, transactions),
 * sqlite/nodes.c, sqlite/verdicts.c (with group commit), sqlite/rejected.c,
 * sqlite/policies.c, sqlite/evidence.c, sqlite/rules.c.
 * These are the only files that include sqlite3.h. */
#ifndef VERIFIER_STORE_SQLITE_PRIV_H
#define VERIFIER_STORE_SQLITE_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/store.h"

/* The prepared statements, by their SQL in schema.c's store_sql. */
enum {
	S_NODE_FIND, S_NODE_GROUPS, S_NODE_GET_OP, S_NODE_INSERT, S_NODE_UPDATE, S_NODE_BIND, S_ATT_INSERT, S_NODE_VERDICT,
	S_SECRET_INSERT, S_COUNT, S_NODE_GET, S_NODE_LIST, S_NODE_DELETE, S_NODE_STATE, S_NODE_OVERDUE,
	S_NODE_NAME, S_NODE_IDENTITY, S_GROUPS_CLEAR, S_GROUP_ADD, S_REJ_UPSERT, S_REJ_COUNT, S_REJ_EVICT,
	S_REJ_LIST, S_NODE_TARGET, S_TARGET_CLEAR, S_TARGET_SET, S_NODE_HISTORY, S_REJ_CLEAR, S_POLICY_OF,
	S_POLICY_GET, S_REJ_IS_NODE, S_EVIDENCE_PUT, S_NODE_LEARNED, S_NODE_FACTS, S_RULE_GROUPS_CLEAR,
	S_RULE_GROUPS_SET, S_NODE_PAGE, S_NODE_STATES, S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_N
};

/* The columns store_row_node reads, in its order. */
#define STORE_NODE_COLUMNS                                                                                 \
	"id, ek_hash, ek_alg, hostname, state, reason, enrolled_at, last_seen, reset_count, restart_count," \
	" (SELECT count(*) FROM attestations a WHERE a.node_id = nodes.id),"                             \
	" (SELECT count(*) FROM attestations a WHERE a.node_id = nodes.id AND a.pass = 1),"              \
	" ak_name IS NOT NULL, name, identity, target,"                                                  \
	" (SELECT group_concat(grp, ',') FROM (SELECT grp FROM node_groups g WHERE g.node_id = nodes.id"  \
	" UNION SELECT grp FROM node_rule_groups r WHERE r.node_id = nodes.id"  \
	" ORDER BY grp))"

/* One verdict waiting to be written (store_attestation_add). */
struct store_job {
	const struct store_attestation *a;
	int64_t id;
	struct store_change change;
	int r;
	char detail[256];           /* err_detail() of a failure, for the job's own thread */
	int done;
	struct store_job *next;
};

struct store {
	pthread_mutex_t lock;       /* every public call holds it */
	/* Group commit: verdicts that arrive while one transaction is being
	 * written wait and go into the next one together. */
	pthread_mutex_t q_lock;
	pthread_cond_t q_done;
	struct store_job *q_head, **q_tail;
	int q_leader;               /* a thread is writing a batch */
	sqlite3 *db;
	char path[PATH_MAX];
	sqlite3_stmt *s[S_N];
};

/* Helpers of schema.c. */
void store_blob(sqlite3_stmt *q, int i, const uint8_t *p, size_t n);
void store_column_text(sqlite3_stmt *q, int i, char *dst, size_t cap);
int store_err(struct store *st, const char *what);
int store_run(struct store *st, int k, const char *what);
enum store_state store_state_parse(const char *name);
void store_text(sqlite3_stmt *q, int i, const char *s);
int store_txn(struct store *st, int (*fn)(struct store *st, void *arg), void *arg);
/* A row of STORE_NODE_COLUMNS (nodes.c). */
void store_row_node(sqlite3_stmt *q, struct store_node *n);
/* store_node_get with the lock held (nodes.c). */
int store_node_get_locked(struct store *st, const char *key, enum store_key by, struct store_node *out);
/* Keep one piece of evidence of kind (evidence.c); a blob without a
 * digest is none. */
int store_evidence_put(struct store *st, const char *kind, const struct store_blob *b);
/* Rule r matches node n: each fact the rule gives, a GLOB pattern, matches
 * the node's (a NULL fact, unproven, never does). */
#define STORE_RULE_MATCH                                                                       \
	"(r.ek_issuer IS NULL OR n.ek_issuer GLOB r.ek_issuer)"                                \
	" AND (r.tpm_manufacturer IS NULL OR n.tpm_manufacturer GLOB r.tpm_manufacturer)"       \
	" AND (r.tpm_model IS NULL OR n.tpm_model GLOB r.tpm_model)"                           \
	" AND (r.platform_manufacturer IS NULL OR n.platform_manufacturer GLOB r.platform_manufacturer)" \
	" AND (r.platform_model IS NULL OR n.platform_model GLOB r.platform_model)"

/* A node's rule groups (node_id), or every node's in group (node_id 0),
 * computed again from the rules and the facts (rules.c); inside a
 * transaction. */
int store_rule_groups_locked(struct store *st, int64_t node_id, const char *group);
/* Record facts of node id (each "" or NULL keeps the node's) and its rule
 * groups (nodes.c); inside a transaction. */
int store_node_facts_locked(struct store *st, int64_t id, const char *const facts[STORE_NFACTS]);
/* One-off statements of the operator's commands (policies.c): prepared per
 * call, finalized by the caller. */
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **q);
#endif
