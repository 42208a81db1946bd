#define LOG_MODULE "store"

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "array.h"
#include "clock.h"
#include "log.h"
#include "store/store.h"

/* Versioned migrations: migration i brings user_version from i to i + 1. */
static const char *const store_migrations[] = {
	"CREATE TABLE nodes ("
	" id INTEGER PRIMARY KEY,"
	" ek_hash TEXT NOT NULL UNIQUE,"
	" ek_alg INTEGER NOT NULL,"
	" ek_pub BLOB NOT NULL,"
	" ek_cert BLOB,"
	" hostname TEXT,"
	" ak_pub BLOB,"
	" ak_name BLOB,"
	" enrolled_at INTEGER NOT NULL,"
	" last_seen INTEGER,"
	" reset_count INTEGER,"
	" restart_count INTEGER,"
	" state TEXT NOT NULL CHECK (state IN ('enrolled','attesting','passing','failed')),"
	" reason TEXT);"
	"CREATE TABLE attestations ("
	" id INTEGER PRIMARY KEY,"
	" node_id INTEGER REFERENCES nodes(id) ON DELETE CASCADE,"
	" time INTEGER NOT NULL,"
	" mode TEXT NOT NULL,"
	" peer TEXT, hostname TEXT,"
	" pass INTEGER NOT NULL,"
	" step TEXT, reason TEXT,"
	" nonce BLOB, pcr_selection TEXT, quote BLOB, signature BLOB,"
	" reset_count INTEGER, restart_count INTEGER, ima_entries INTEGER);"
	"CREATE INDEX attestations_node ON attestations(node_id, time);"
	"CREATE TABLE secret_deliveries ("
	" id INTEGER PRIMARY KEY,"
	" attestation_id INTEGER NOT NULL REFERENCES attestations(id) ON DELETE CASCADE,"
	" node_id INTEGER REFERENCES nodes(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" proof_ok INTEGER NOT NULL,"
	" time INTEGER NOT NULL);",
	/* 2: the TPM clock for the counter rules; the AK recorded only once
	 * activated (earlier versions stored it at admission: forget those).
	 * No index for the re-attestation window's scan of passing nodes: it
	 * would be rewritten with last_seen on every verdict, while a scan of
	 * 10,000 nodes once a second costs about a millisecond. */
	("ALTER TABLE nodes ADD COLUMN clock INTEGER;"
	 "ALTER TABLE attestations ADD COLUMN clock INTEGER;"
	 "UPDATE nodes SET ak_pub = NULL, ak_name = NULL;"),
	/* 3: where each node's IMA list stands, so a session asks only for
	 * what is new in the same boot. */
	("ALTER TABLE nodes ADD COLUMN ima_reset INTEGER;"
	 "ALTER TABLE nodes ADD COLUMN ima_state BLOB;"),
	/* 4: proof before state. A node is bound to the TLS identity that
	 * proved its TPM (push nodes: the peer of their last passing verdict),
	 * and in pull mode to its target (one node a target: a unique index,
	 * looked up every round), may carry an operator's name and groups, and
	 * may be 'verified' (no reference to judge it by). Peers that fail before any proof are
	 * counted per identity in rejected, never as verdicts of a node. The
	 * state's CHECK changes, so nodes is rebuilt (foreign keys are off
	 * during migrations). */
	("CREATE TABLE nodes_v4 ("
	 " id INTEGER PRIMARY KEY,"
	 " ek_hash TEXT NOT NULL UNIQUE,"
	 " ek_alg INTEGER NOT NULL,"
	 " ek_pub BLOB NOT NULL,"
	 " ek_cert BLOB,"
	 " hostname TEXT,"
	 " ak_pub BLOB,"
	 " ak_name BLOB,"
	 " enrolled_at INTEGER NOT NULL,"
	 " last_seen INTEGER,"
	 " reset_count INTEGER,"
	 " restart_count INTEGER,"
	 " state TEXT NOT NULL CHECK (state IN ('enrolled','attesting','passing','failed','verified')),"
	 " reason TEXT,"
	 " clock INTEGER,"
	 " ima_reset INTEGER,"
	 " ima_state BLOB,"
	 " identity TEXT,"
	 " name TEXT UNIQUE,"
	 " target TEXT);"
	 "INSERT INTO nodes_v4 (id, ek_hash, ek_alg, ek_pub, ek_cert, hostname, ak_pub, ak_name, enrolled_at,"
	 " last_seen, reset_count, restart_count, state, reason, clock, ima_reset, ima_state)"
	 " SELECT id, ek_hash, ek_alg, ek_pub, ek_cert, hostname, ak_pub, ak_name, enrolled_at, last_seen,"
	 " reset_count, restart_count, state, reason, clock, ima_reset, ima_state FROM nodes;"
	 "UPDATE nodes_v4 SET identity = (SELECT a.peer FROM attestations a WHERE a.node_id = nodes_v4.id"
	 " AND a.pass = 1 AND a.mode = 'push' AND a.peer <> '' ORDER BY a.id DESC LIMIT 1);"
	 "DROP TABLE nodes;"
	 "ALTER TABLE nodes_v4 RENAME TO nodes;"
	 "CREATE TABLE node_groups ("
	 " node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	 " grp TEXT NOT NULL,"
	 " PRIMARY KEY (node_id, grp));"
	 "ALTER TABLE attestations ADD COLUMN unjudged INTEGER NOT NULL DEFAULT 0;"
	 "CREATE TABLE rejected ("
	 " id INTEGER PRIMARY KEY,"
	 " mode TEXT NOT NULL,"
	 " identity TEXT NOT NULL,"
	 " count INTEGER NOT NULL,"
	 " first_at INTEGER NOT NULL,"
	 " last_at INTEGER NOT NULL,"
	 " step TEXT, reason TEXT, ek_hash TEXT,"
	 " UNIQUE (mode, identity));"
	 "CREATE INDEX rejected_last ON rejected(last_at);"
	 "CREATE UNIQUE INDEX nodes_target ON nodes(target);"),
};

#define STORE_VERSION ((int)ARRAY_LEN(store_migrations))

enum {
	S_NODE_FIND, S_NODE_GROUPS, S_NODE_GET_OP, S_NODE_INSERT, S_NODE_UPDATE, S_NODE_BIND, S_ATT_INSERT, S_NODE_VERDICT,
	S_SECRET_INSERT, S_COUNT, S_NODE_GET, S_NODE_LIST, S_NODE_DELETE, S_NODE_STATE, S_NODE_OVERDUE,
	S_NODE_NAME, S_NODE_IDENTITY, S_GROUPS_CLEAR, S_GROUP_ADD, S_REJ_UPSERT, S_REJ_COUNT, S_REJ_EVICT,
	S_REJ_LIST, S_NODE_TARGET, S_TARGET_CLEAR, S_TARGET_SET, S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_N
};

#define STORE_NODE_COLUMNS                                                                                 \
	"id, ek_hash, ek_alg, hostname, state, reason, enrolled_at, last_seen, reset_count, restart_count," \
	" (SELECT count(*) FROM attestations a WHERE a.node_id = nodes.id),"                             \
	" (SELECT count(*) FROM attestations a WHERE a.node_id = nodes.id AND a.pass = 1),"              \
	" ak_name IS NOT NULL, name, identity, target,"                                                  \
	" (SELECT group_concat(grp, ',') FROM (SELECT grp FROM node_groups g WHERE g.node_id = nodes.id"  \
	" ORDER BY grp))"

static const char *const store_sql[S_N] = {
	[S_NODE_FIND] = "SELECT id, state, reset_count, restart_count, clock, ak_name, identity, name,"
			" length(ek_pub), ima_reset, ima_state, target FROM nodes WHERE ek_hash = ?",
	[S_NODE_GROUPS] = "SELECT grp FROM node_groups WHERE node_id = ? ORDER BY grp",
	[S_NODE_INSERT] = "INSERT INTO nodes (ek_hash, ek_alg, ek_pub, ek_cert, hostname, enrolled_at, state, name,"
			  " identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_NODE_UPDATE] = "UPDATE nodes SET hostname = coalesce(?1, hostname), ek_cert = coalesce(?2, ek_cert),"
			  " ek_pub = CASE WHEN length(ek_pub) = 0 THEN coalesce(?3, ek_pub) ELSE ek_pub END,"
			  " ek_alg = CASE WHEN ek_alg = 0 THEN ?4 ELSE ek_alg END,"
			  " ak_pub = coalesce(?5, ak_pub), ak_name = coalesce(?6, ak_name),"
			  " state = CASE WHEN state = 'enrolled' THEN 'attesting' ELSE state END WHERE id = ?7",
	[S_NODE_BIND] = "UPDATE nodes SET identity = ? WHERE id = ? AND identity IS NULL",
	[S_ATT_INSERT] = "INSERT INTO attestations (node_id, time, mode, peer, hostname, pass, step, reason, nonce,"
			 " pcr_selection, quote, signature, reset_count, restart_count, ima_entries, clock, unjudged)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_NODE_VERDICT] = "UPDATE nodes SET last_seen = coalesce(?, last_seen), state = ?, reason = ?,"
			   " reset_count = coalesce(?, reset_count), restart_count = coalesce(?, restart_count),"
			   " clock = coalesce(?, clock), ima_reset = coalesce(?, ima_reset),"
			   " ima_state = coalesce(?, ima_state), hostname = coalesce(?, hostname),"
			   " identity = coalesce(identity, ?),"
			   " target = coalesce(target, (SELECT ?11 WHERE NOT EXISTS (SELECT 1 FROM nodes WHERE target = ?11)))"
			   " WHERE id = ?",
	[S_NODE_STATE] = "SELECT state, target FROM nodes WHERE id = ?",
	[S_NODE_OVERDUE] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE state IN ('passing', 'verified')"
			   " AND last_seen < ?",
	[S_SECRET_INSERT] = "INSERT INTO secret_deliveries (attestation_id, node_id, name, proof_ok, time)"
			    " VALUES (?, ?, ?, ?, ?)",
	[S_COUNT] = "SELECT count(*) FROM attestations WHERE pass = ?",
	[S_NODE_GET] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE substr(ek_hash, 1, length(?1)) = lower(?1)"
		       " OR hostname = ?1 OR name = ?1 LIMIT 2",
	[S_NODE_GET_OP] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE substr(ek_hash, 1, length(?1)) = lower(?1)"
			  " OR name = ?1 LIMIT 2",
	[S_NODE_LIST] = "SELECT " STORE_NODE_COLUMNS " FROM nodes ORDER BY id",
	[S_NODE_DELETE] = "DELETE FROM nodes WHERE id = ?",
	[S_NODE_NAME] = "UPDATE nodes SET name = ? WHERE id = ?",
	[S_NODE_IDENTITY] = "UPDATE nodes SET identity = ? WHERE id = ?",
	[S_GROUPS_CLEAR] = "DELETE FROM node_groups WHERE node_id = ?",
	[S_GROUP_ADD] = "INSERT OR IGNORE INTO node_groups (node_id, grp) VALUES (?, ?)",
	[S_REJ_UPSERT] = "INSERT INTO rejected (mode, identity, count, first_at, last_at, step, reason, ek_hash)"
			 " VALUES (?1, ?2, 1, ?3, ?3, ?4, ?5, ?6) ON CONFLICT (mode, identity) DO UPDATE SET"
			 " count = count + 1, last_at = ?3, step = ?4, reason = ?5, ek_hash = ?6"
			 " RETURNING count",
	[S_REJ_COUNT] = "SELECT count(*) FROM rejected",
	[S_REJ_EVICT] = "DELETE FROM rejected WHERE id IN (SELECT id FROM rejected ORDER BY last_at, id LIMIT ?)",
	[S_REJ_LIST] = "SELECT mode, identity, count, first_at, last_at, step, reason, ek_hash FROM rejected"
		       " ORDER BY last_at DESC, id DESC",
	[S_NODE_TARGET] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE target = ?",
	[S_TARGET_CLEAR] = "UPDATE nodes SET target = NULL WHERE target = ? AND id <> ?",
	[S_TARGET_SET] = "UPDATE nodes SET target = ? WHERE id = ?",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
};

static const char *const store_state_names[] = { "enrolled", "attesting", "passing", "failed", "verified" };
#define STORE_NSTATES ((int)ARRAY_LEN(store_state_names))

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

const char *store_state_name(enum store_state s)
{
	return (unsigned)s < (unsigned)STORE_NSTATES ? store_state_names[s] : "?";
}

/* A state column (the schema's CHECK allows only these names). */
static enum store_state store_state_parse(const char *name)
{
	for (int i = 0; i < STORE_NSTATES; i++)
		if (name && !strcmp(name, store_state_names[i]))
			return (enum store_state)i;
	return STORE_ENROLLED;
}

static int store_err(struct store *st, const char *what)
{
	return err_set(AERR_IO, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

static int store_exec(struct store *st, const char *sql, const char *what)
{
	char *msg = NULL;
	int r = 0;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		r = err_set(AERR_IO, "%s: %s: %s", st->path, what, msg ? msg : "?");
	sqlite3_free(msg);
	return r;
}

static int store_migrate(struct store *st)
{
	sqlite3_stmt *q = NULL;
	int version = 0, r;
	char sql[64];

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
		r = store_err(st, "schema version");
		sqlite3_finalize(q);
		return r;
	}
	version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (version > STORE_VERSION)
		return err_set(AERR_CONFIG, "%s: schema version %d is newer than this verifier's (%d)", st->path, version,
			       STORE_VERSION);
	if (version == STORE_VERSION)
		return 0;
	/* A migration that rebuilds a table must not cascade its DROP to the
	 * rows referencing it (the pragma is a no-op inside a transaction). */
	if ((r = store_exec(st, "PRAGMA foreign_keys = OFF", "migration")) != 0)
		return r;
	for (; version < STORE_VERSION; version++) {
		/* Each migration and its version bump in one transaction. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if ((r = store_exec(st, "BEGIN IMMEDIATE", "migration")) != 0)
			return r;
		if ((r = store_exec(st, store_migrations[version], "migration")) != 0 ||
		    (r = store_exec(st, sql, "migration")) != 0) {
			(void)store_exec(st, "ROLLBACK", "migration");
			return r;
		}
		if ((r = store_exec(st, "COMMIT", "migration")) != 0)
			return r;
		LOG_INFO("%s: schema migrated to version %d", st->path, version + 1);
	}
	return store_exec(st, "PRAGMA foreign_keys = ON", "migration");
}

int store_open(const char *dir, struct store **out)
{
	struct store *st;
	int r;

	*out = NULL;
	if (!(st = calloc(1, sizeof(*st))))
		return err_set(AERR_ALLOC, "store");
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->q_lock, NULL);
	pthread_cond_init(&st->q_done, NULL);
	st->q_tail = &st->q_head;
	if (snprintf(st->path, sizeof(st->path), "%s/%s", dir, STORE_FILE) >= (int)sizeof(st->path)) {
		free(st);
		return err_set(AERR_CONFIG, "%s: path too long", dir);
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		r = err_set(AERR_IO, "%s: cannot create the state directory", dir);
		goto fail;
	}
	if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		r = store_err(st, "open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	/* Switching a new database to WAL takes an exclusive lock that the busy
	 * handler does not wait for: another process (verifier list) or thread
	 * opening it at that moment gets SQLITE_BUSY, so try again a while. */
	for (int tries = 0;; tries++) {
		/* A checkpoint every 4000 pages (16 MiB of WAL) rather than 1000:
		 * each one syncs the database file, and verdicts arrive steadily. */
		r = store_exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
			       " PRAGMA wal_autocheckpoint = 4000",
			       "settings");
		if (r == 0 || sqlite3_errcode(st->db) != SQLITE_BUSY || tries == 50)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
	if (r != 0 || (r = store_migrate(st)) != 0)
		goto fail;
	for (int i = 0; i < S_N; i++)
		if (sqlite3_prepare_v3(st->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->s[i], NULL) != SQLITE_OK) {
			r = store_err(st, "prepare");
			goto fail;
		}
	*out = st;
	return 0;
fail:
	store_close(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(st->s[i]);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->q_lock);
	pthread_cond_destroy(&st->q_done);
	free(st);
}

/* Bind helpers: NULL pointers bind SQL NULL. */
static void store_blob(sqlite3_stmt *q, int i, const uint8_t *p, size_t n)
{
	if (p && n)
		sqlite3_bind_blob(q, i, p, (int)n, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, i);
}

static void store_text(sqlite3_stmt *q, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, i);
}

/* Run a statement that returns no row; reset it either way. */
static int store_run(struct store *st, int k, const char *what)
{
	int rc = sqlite3_step(st->s[k]), r = 0;

	if (rc != SQLITE_DONE)
		r = store_err(st, what);
	sqlite3_reset(st->s[k]);
	sqlite3_clear_bindings(st->s[k]);
	return r;
}

/* The operator's groups of node id into p. */
static int store_node_groups(struct store *st, int64_t id, struct store_prior *p)
{
	sqlite3_stmt *q = st->s[S_NODE_GROUPS];
	int rc, r = 0;

	p->ngroups = 0;
	sqlite3_bind_int64(q, 1, id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (p->ngroups < STORE_GROUPS_MAX)
			snprintf(p->groups[p->ngroups++], sizeof(p->groups[0]), "%s",
				 (const char *)sqlite3_column_text(q, 0));
	if (rc != SQLITE_DONE)
		r = store_err(st, "node groups");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return r;
}

/* A text column into dst ("" for NULL). */
static void store_column_text(sqlite3_stmt *q, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* The node of ek_hash into *p (existed 0 when none). */
static int store_node_find(struct store *st, const char *ek_hash, struct store_prior *p)
{
	sqlite3_stmt *q = st->s[S_NODE_FIND];
	int rc, r = 0;

	memset(p, 0, sizeof(*p));
	store_text(q, 1, ek_hash);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const void *name = sqlite3_column_blob(q, 5);
		int name_len = sqlite3_column_bytes(q, 5);

		p->id = sqlite3_column_int64(q, 0);
		p->existed = 1;
		p->state = store_state_parse((const char *)sqlite3_column_text(q, 1));
		p->has_counts = sqlite3_column_type(q, 2) != SQLITE_NULL;
		p->reset_count = (uint32_t)sqlite3_column_int64(q, 2);
		p->restart_count = (uint32_t)sqlite3_column_int64(q, 3);
		p->clock = (uint64_t)sqlite3_column_int64(q, 4);
		if (name && name_len > 0 && name_len <= STORE_AK_NAME_MAX) {
			memcpy(p->ak_name, name, (size_t)name_len);
			p->ak_name_len = (size_t)name_len;
		}
		store_column_text(q, 6, p->identity, sizeof(p->identity));
		store_column_text(q, 7, p->name, sizeof(p->name));
		store_column_text(q, 11, p->target, sizeof(p->target));
		if (sqlite3_column_type(q, 10) == SQLITE_BLOB && sqlite3_column_bytes(q, 10) > 0 &&
		    sqlite3_column_bytes(q, 10) <= STORE_IMA_STATE_MAX) {
			p->ima_state_len = (size_t)sqlite3_column_bytes(q, 10);
			memcpy(p->ima_state, sqlite3_column_blob(q, 10), p->ima_state_len);
			p->ima_reset = (uint32_t)sqlite3_column_int64(q, 9);
		}
	} else if (rc != SQLITE_DONE) {
		r = store_err(st, "find node");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (r == 0 && p->existed)
		r = store_node_groups(st, p->id, p);
	return r;
}

static int store_insert_node(struct store *st, const struct store_node_in *in, const char *name,
			     enum store_state state, int64_t *id)
{
	sqlite3_stmt *q = st->s[S_NODE_INSERT];
	int r;

	store_text(q, 1, in->ek_hash);
	sqlite3_bind_int(q, 2, in->ek_alg);
	/* An operator may enroll by hash alone: an empty public until it attests. */
	sqlite3_bind_blob(q, 3, in->ek_pub ? (const void *)in->ek_pub : "", in->ek_pub ? (int)in->ek_pub_len : 0,
			  SQLITE_TRANSIENT);
	store_blob(q, 4, in->ek_cert, in->ek_cert_len);
	store_text(q, 5, in->hostname);
	sqlite3_bind_int64(q, 6, clock_wall_ms());
	store_text(q, 7, store_state_names[state]);
	store_text(q, 8, name && *name ? name : NULL);
	store_text(q, 9, in->identity && *in->identity ? in->identity : NULL);
	if ((r = store_run(st, S_NODE_INSERT, "enroll node")) != 0)
		return r;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int store_node_lookup(struct store *st, const char *ek_hash, struct store_prior *prior)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_node_find(st, ek_hash, prior);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* store_node_proven inside its transaction. */
static int store_proven_locked(struct store *st, const struct store_node_in *in, int may_create,
			       struct store_prior *p)
{
	sqlite3_stmt *q;
	int r;

	if ((r = store_node_find(st, in->ek_hash, p)) != 0)
		return r;
	if (!p->existed) {
		if (!may_create)
			return err_set(AERR_NOT_FOUND, "node %.16s... is not enrolled (enrollment = explicit: "
				       "verifier enroll)", in->ek_hash);
		if ((r = store_insert_node(st, in, NULL, STORE_ATTESTING, &p->id)) != 0)
			return r;
		LOG_INFO("enrolled node %.16s... (host '%s')", in->ek_hash, in->hostname ? in->hostname : "");
	} else if (p->identity[0] && in->identity && strcmp(p->identity, in->identity) != 0) {
		return err_set(AERR_STATE, "node %.16s... is bound to another TLS identity", in->ek_hash);
	}
	q = st->s[S_NODE_UPDATE];
	store_text(q, 1, in->hostname);
	store_blob(q, 2, in->ek_cert, in->ek_cert_len);
	store_blob(q, 3, in->ek_pub, in->ek_pub_len);
	sqlite3_bind_int(q, 4, in->ek_alg);
	store_blob(q, 5, in->ak_pub, in->ak_pub_len);
	store_blob(q, 6, in->ak_name, in->ak_name_len);
	sqlite3_bind_int64(q, 7, p->id);
	if ((r = store_run(st, S_NODE_UPDATE, "update node")) != 0)
		return r;
	if (!in->identity || !*in->identity)
		return 0;
	q = st->s[S_NODE_BIND];
	store_text(q, 1, in->identity);
	sqlite3_bind_int64(q, 2, p->id);
	return store_run(st, S_NODE_BIND, "bind node");
}

/* Run fn(st, arg) in a transaction of its own, under the lock. */
static int store_txn(struct store *st, int (*fn)(struct store *st, void *arg), void *arg)
{
	int r;

	pthread_mutex_lock(&st->lock);
	if ((r = store_run(st, S_BEGIN, "begin")) == 0) {
		if ((r = fn(st, arg)) == 0)
			r = store_run(st, S_COMMIT, "commit");
		if (r != 0) {
			char keep[512];

			/* The rollback must not overwrite why. */
			snprintf(keep, sizeof(keep), "%s", err_detail());
			(void)store_run(st, S_ROLLBACK, "rollback");
			err_set(r, "%s", keep);
		}
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

struct store_proven_args {
	const struct store_node_in *in;
	int may_create;
	struct store_prior *p;
};

static int store_proven_fn(struct store *st, void *arg)
{
	struct store_proven_args *a = arg;

	return store_proven_locked(st, a->in, a->may_create, a->p);
}

int store_node_proven(struct store *st, const struct store_node_in *in, int may_create, struct store_prior *prior)
{
	struct store_prior mine;
	struct store_proven_args a = { in, may_create, prior ? prior : &mine };

	return store_txn(st, store_proven_fn, &a);
}

/* The operator's assignments of node id (inside a transaction). */
static int store_assign_locked(struct store *st, int64_t id, const struct store_assign *a)
{
	sqlite3_stmt *q;
	int r;

	if (a->name) {
		q = st->s[S_NODE_NAME];
		int rc;

		store_text(q, 1, *a->name ? a->name : NULL);
		sqlite3_bind_int64(q, 2, id);
		rc = sqlite3_step(q);
		r = rc == SQLITE_DONE ? 0
		    : rc == SQLITE_CONSTRAINT ? err_set(AERR_INVALID_ARG, "the name '%s' is another node's", a->name)
					      : store_err(st, "name node");
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
		if (r != 0)
			return r;
	}
	if (a->identity) {
		q = st->s[S_NODE_IDENTITY];
		store_text(q, 1, *a->identity ? a->identity : NULL);
		sqlite3_bind_int64(q, 2, id);
		if ((r = store_run(st, S_NODE_IDENTITY, "bind node")) != 0)
			return r;
	}
	if (a->target) {
		/* A target answers for one node: moving this one here unbinds it
		 * from any other. */
		if (*a->target) {
			q = st->s[S_TARGET_CLEAR];
			store_text(q, 1, a->target);
			sqlite3_bind_int64(q, 2, id);
			if ((r = store_run(st, S_TARGET_CLEAR, "node target")) != 0)
				return r;
		}
		q = st->s[S_TARGET_SET];
		store_text(q, 1, *a->target ? a->target : NULL);
		sqlite3_bind_int64(q, 2, id);
		if ((r = store_run(st, S_TARGET_SET, "node target")) != 0)
			return r;
	}
	if (!a->set_groups)
		return 0;
	sqlite3_bind_int64(st->s[S_GROUPS_CLEAR], 1, id);
	if ((r = store_run(st, S_GROUPS_CLEAR, "node groups")) != 0)
		return r;
	for (size_t i = 0; i < a->ngroups; i++) {
		q = st->s[S_GROUP_ADD];
		sqlite3_bind_int64(q, 1, id);
		store_text(q, 2, a->groups[i]);
		if ((r = store_run(st, S_GROUP_ADD, "node groups")) != 0)
			return r;
	}
	return 0;
}

static int store_assign_check(const struct store_assign *a)
{
	int r;

	if (a->ngroups > STORE_GROUPS_MAX)
		return err_set(AERR_INVALID_ARG, "%zu groups: a node is in at most %d", a->ngroups, STORE_GROUPS_MAX);
	if (a->name && strlen(a->name) > STORE_NAME_MAX)
		return err_set(AERR_INVALID_ARG, "a node name has at most %d characters", STORE_NAME_MAX);
	if (a->identity && strlen(a->identity) >= STORE_IDENTITY_MAX)
		return err_set(AERR_INVALID_ARG, "a TLS identity has at most %d characters", STORE_IDENTITY_MAX - 1);
	if (a->target && *a->target) {
		char canon[TARGET_MAX];

		if ((r = target_canonical(a->target, canon)) != 0)
			return r;
		if (strcmp(canon, a->target) != 0)
			return err_set(AERR_INVALID_ARG, "target '%.64s' is not in its one spelling (%s)", a->target,
				       canon);
	}
	for (size_t i = 0; i < a->ngroups; i++)
		if (!a->groups[i] || !*a->groups[i] || strlen(a->groups[i]) > STORE_NAME_MAX)
			return err_set(AERR_INVALID_ARG, "a group name has 1..%d characters", STORE_NAME_MAX);
	return 0;
}

struct store_enroll_args {
	const struct store_node_in *in;
	const struct store_assign *a;
	int64_t *id;
};

static int store_enroll_fn(struct store *st, void *arg)
{
	struct store_enroll_args *e = arg;
	struct store_prior p;
	int r;

	if ((r = store_node_find(st, e->in->ek_hash, &p)) != 0)
		return r;
	if (p.existed)
		return err_set(AERR_INVALID_ARG, "node %.16s... is enrolled already (state %s); change what is "
			       "assigned to it with verifier enroll NODE --name/--identity/--group",
			       e->in->ek_hash, store_state_names[p.state]);
	if ((r = store_insert_node(st, e->in, NULL, STORE_ENROLLED, e->id)) != 0)
		return r;
	return store_assign_locked(st, *e->id, e->a);
}

int store_node_enroll(struct store *st, const char *ek_hash, uint16_t ek_alg, const uint8_t *ek_pub,
		      size_t ek_pub_len, const struct store_assign *a, int64_t *id)
{
	static const struct store_assign none;
	struct store_node_in in = { .ek_hash = ek_hash, .ek_alg = ek_alg, .ek_pub = ek_pub, .ek_pub_len = ek_pub_len,
				    .identity = a ? a->identity : NULL };
	struct store_enroll_args e = { &in, a ? a : &none, id };
	int r;

	*id = 0;
	if (a && (r = store_assign_check(a)) != 0)
		return r;
	return store_txn(st, store_enroll_fn, &e);
}

/* The node's recorded state, and (into target, when not NULL) the pull
 * target it is bound to, "" for none. */
static int store_node_state(struct store *st, int64_t id, enum store_state *out, char target[STORE_TARGET_MAX])
{
	sqlite3_stmt *q = st->s[S_NODE_STATE];
	int rc, r = 0;

	*out = STORE_ENROLLED;
	if (target)
		target[0] = '\0';
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*out = store_state_parse((const char *)sqlite3_column_text(q, 0));
		if (target && sqlite3_column_type(q, 1) != SQLITE_NULL)
			snprintf(target, STORE_TARGET_MAX, "%s", (const char *)sqlite3_column_text(q, 1));
	} else if (rc != SQLITE_DONE) {
		r = store_err(st, "node state");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return r;
}

/* One verdict, inside the batch's transaction. */
static int store_attestation_one(struct store *st, const struct store_attestation *a, int64_t *id,
				 struct store_change *change)
{
	sqlite3_stmt *q = st->s[S_ATT_INSERT];
	int64_t now = clock_wall_ms(), row;
	char bound[STORE_TARGET_MAX];
	int r;

	if (a->node_id)
		sqlite3_bind_int64(q, 1, a->node_id);
	else
		sqlite3_bind_null(q, 1);
	sqlite3_bind_int64(q, 2, now);
	store_text(q, 3, a->mode);
	store_text(q, 4, a->peer);
	store_text(q, 5, a->hostname);
	sqlite3_bind_int(q, 6, a->pass ? 1 : 0);
	store_text(q, 7, a->step);
	store_text(q, 8, a->reason);
	store_blob(q, 9, a->nonce, a->nonce_len);
	store_text(q, 10, a->pcr_selection);
	store_blob(q, 11, a->quote, a->quote_len);
	store_blob(q, 12, a->signature, a->signature_len);
	if (a->has_counts) {
		sqlite3_bind_int64(q, 13, a->reset_count);
		sqlite3_bind_int64(q, 14, a->restart_count);
	}
	sqlite3_bind_int64(q, 15, (sqlite3_int64)a->ima_entries);
	if (a->has_counts)
		sqlite3_bind_int64(q, 16, (sqlite3_int64)a->clock);
	sqlite3_bind_int(q, 17, !a->pass && a->unjudged);
	if ((r = store_run(st, S_ATT_INSERT, "record attestation")) != 0)
		goto fail;
	row = sqlite3_last_insert_rowid(st->db);
	if (a->node_id) {
		if ((r = store_node_state(st, a->node_id, &change->from, bound)) != 0)
			goto fail;
		/* The target rules were checked when the round began; an operator
		 * may have moved the node since, or its own target proved it
		 * first. Then the round was at someone else's address: no verdict. */
		if (a->target && !a->no_contact && bound[0] && strcmp(bound, a->target) != 0) {
			r = err_set(AERR_IDENTITY, "this TPM's node was bound to another target while the round at %s "
				    "was under way", a->target);
			goto fail;
		}
		change->to = a->pass ? STORE_PASSING : a->unjudged ? STORE_VERIFIED : STORE_FAILED;
		change->changed = change->from != change->to;
		q = st->s[S_NODE_VERDICT];
		if (!a->no_contact)
			sqlite3_bind_int64(q, 1, now);
		store_text(q, 2, store_state_names[change->to]);
		store_text(q, 3, a->pass ? "" : a->reason);
		if (a->has_counts) {
			sqlite3_bind_int64(q, 4, a->reset_count);
			sqlite3_bind_int64(q, 5, a->restart_count);
			sqlite3_bind_int64(q, 6, (sqlite3_int64)a->clock);
		}
		if ((a->pass || a->unjudged) && a->ima_state && a->ima_state_len) {
			sqlite3_bind_int64(q, 7, a->ima_reset);
			store_blob(q, 8, a->ima_state, a->ima_state_len);
		}
		/* Verdicts are only ever of a node whose TPM the session proved:
		 * its claims may update the node now, and it binds an unbound one
		 * to the peer's identity and to the pull target if no node has it
		 * (in one statement, so a round that was under way when an operator
		 * moved another node there, or two first proofs at once, cannot take
		 * it). A verdict never moves a node: only an operator does
		 * (store_node_assign). */
		store_text(q, 9, a->no_contact ? NULL : a->hostname);
		store_text(q, 10, a->no_contact || !a->peer || !*a->peer ? NULL : a->peer);
		store_text(q, 11, a->no_contact || !a->binds_target ? NULL : a->target);
		sqlite3_bind_int64(q, 12, a->node_id);
		if ((r = store_run(st, S_NODE_VERDICT, "node verdict")) != 0)
			goto fail;
	}
	*id = row;
	return 0;
fail:
	memset(change, 0, sizeof(*change));
	return r;
}

/* Write jobs (a list, or one when alone) in one transaction; 0 when all of
 * them and the commit succeeded, else rolled back. */
static int store_write_txn(struct store *st, struct store_job *jobs, int alone)
{
	struct store_job *j;
	int r, failed = 0;

	if ((r = store_run(st, S_BEGIN, "begin")) != 0)
		goto out;
	for (j = jobs; j; j = alone ? NULL : j->next)
		if ((j->r = store_attestation_one(st, j->a, &j->id, &j->change)) != 0) {
			snprintf(j->detail, sizeof(j->detail), "%s", err_detail());
			failed = 1;
		}
	if (failed) {
		(void)store_run(st, S_ROLLBACK, "rollback");
		return AERR_IO;
	}
	if ((r = store_run(st, S_COMMIT, "commit")) != 0)
		(void)store_run(st, S_ROLLBACK, "rollback");
out:
	if (r != 0)
		for (j = jobs; j; j = alone ? NULL : j->next) {
			j->r = r;
			snprintf(j->detail, sizeof(j->detail), "%s", err_detail());
		}
	return r;
}

/* A batch in one transaction. When one verdict of it cannot be written, each
 * is written again in a transaction of its own, so a bad one takes nothing
 * else with it. (Not savepoints: those cost a statement journal per verdict.) */
static void store_write_batch(struct store *st, struct store_job *batch)
{
	struct store_job *j;

	pthread_mutex_lock(&st->lock);
	if (store_write_txn(st, batch, 0) != 0 && batch->next)
		for (j = batch; j; j = j->next)
			(void)store_write_txn(st, j, 1);
	for (j = batch; j; j = j->next)
		if (j->r != 0) {
			j->id = 0;
			memset(&j->change, 0, sizeof(j->change));
		}
	pthread_mutex_unlock(&st->lock);
}

/* Group commit: the caller queues its verdict; the first to find no writer
 * writes everything queued in one transaction while later arrivals queue for
 * the next. Every caller returns only once its verdict is committed (or
 * failed), so nothing is acknowledged before it is durable. */
int store_attestation_add(struct store *st, const struct store_attestation *a, int64_t *id,
			  struct store_change *change)
{
	struct store_job job, *batch, *j;

	memset(&job, 0, sizeof(job));
	job.a = a;
	pthread_mutex_lock(&st->q_lock);
	*st->q_tail = &job;
	st->q_tail = &job.next;
	while (!job.done) {
		if (st->q_leader) {
			pthread_cond_wait(&st->q_done, &st->q_lock);
			continue;
		}
		st->q_leader = 1;
		batch = st->q_head;
		st->q_head = NULL;
		st->q_tail = &st->q_head;
		pthread_mutex_unlock(&st->q_lock);
		store_write_batch(st, batch);
		pthread_mutex_lock(&st->q_lock);
		for (j = batch; j; j = j->next)
			j->done = 1;
		st->q_leader = 0;
		pthread_cond_broadcast(&st->q_done);
	}
	pthread_mutex_unlock(&st->q_lock);
	if (id)
		*id = job.id;
	if (change)
		*change = job.change;
	if (job.r != 0)
		return err_set(job.r, "%s", job.detail);
	return 0;
}

static int store_secret_add_locked(struct store *st, int64_t attestation_id, int64_t node_id, const char *name, int proof_ok)
{
	sqlite3_stmt *q = st->s[S_SECRET_INSERT];

	sqlite3_bind_int64(q, 1, attestation_id);
	if (node_id)
		sqlite3_bind_int64(q, 2, node_id);
	else
		sqlite3_bind_null(q, 2);
	store_text(q, 3, name);
	sqlite3_bind_int(q, 4, proof_ok ? 1 : 0);
	sqlite3_bind_int64(q, 5, clock_wall_ms());
	return store_run(st, S_SECRET_INSERT, "record secret delivery");
}

static void store_row_node(sqlite3_stmt *q, struct store_node *n)
{
	const char *state = (const char *)sqlite3_column_text(q, 4);

	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(q, 0);
	snprintf(n->ek_hash, sizeof(n->ek_hash), "%s", (const char *)sqlite3_column_text(q, 1));
	n->ek_alg = (uint16_t)sqlite3_column_int(q, 2);
	if (sqlite3_column_type(q, 3) != SQLITE_NULL)
		snprintf(n->hostname, sizeof(n->hostname), "%s", (const char *)sqlite3_column_text(q, 3));
	n->state = store_state_parse(state);
	if (sqlite3_column_type(q, 5) != SQLITE_NULL)
		snprintf(n->reason, sizeof(n->reason), "%s", (const char *)sqlite3_column_text(q, 5));
	n->enrolled_ms = sqlite3_column_int64(q, 6);
	n->last_seen_ms = sqlite3_column_type(q, 7) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 7);
	n->has_counts = sqlite3_column_type(q, 8) != SQLITE_NULL;
	n->reset_count = (uint32_t)sqlite3_column_int64(q, 8);
	n->restart_count = (uint32_t)sqlite3_column_int64(q, 9);
	n->attestations = (uint64_t)sqlite3_column_int64(q, 10);
	n->passes = (uint64_t)sqlite3_column_int64(q, 11);
	n->has_ak = sqlite3_column_int(q, 12) != 0;
	store_column_text(q, 13, n->name, sizeof(n->name));
	store_column_text(q, 14, n->identity, sizeof(n->identity));
	store_column_text(q, 15, n->target, sizeof(n->target));
	store_column_text(q, 16, n->groups, sizeof(n->groups));
}

static int store_node_get_locked(struct store *st, const char *key, enum store_key by, struct store_node *out)
{
	sqlite3_stmt *q = st->s[by == STORE_KEY_ANY ? S_NODE_GET : S_NODE_GET_OP];
	int rc, found = 0, r = 0;

	memset(out, 0, sizeof(*out));
	if (!key || strlen(key) < 1)
		return err_set(AERR_INVALID_ARG, "no node named");
	store_text(q, 1, key);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (found++ == 0)
			store_row_node(q, out);
	}
	if (rc != SQLITE_DONE)
		r = store_err(st, "find node");
	else if (found == 0)
		r = err_set(AERR_NOT_FOUND, "no node with EK hash%s '%s'", by == STORE_KEY_ANY ? ", name or hostname"
										  : " or name (an operator's; "
										    "never a hostname claim)", key);
	else if (found > 1)
		r = err_set(AERR_INVALID_ARG, "'%s' names more than one node: give more of the EK hash", key);
	else if (strlen(key) < 8 && (by != STORE_KEY_ANY || strcmp(out->hostname, key) != 0) && strcmp(out->name, key) != 0)
		r = err_set(AERR_INVALID_ARG, "'%s': give at least 8 hex digits of the EK hash", key);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return r;
}

static int store_node_list_locked(struct store *st, int (*fn)(const struct store_node *n, void *arg), void *arg)
{
	sqlite3_stmt *q = st->s[S_NODE_LIST];
	struct store_node n;
	int rc, r = 0;

	while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		store_row_node(q, &n);
		r = fn(&n, arg);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_err(st, "list nodes");
	sqlite3_reset(q);
	return r;
}

static int store_node_remove_locked(struct store *st, const char *key)
{
	struct store_node n;
	int r;

	if ((r = store_node_get_locked(st, key, STORE_KEY_OPERATOR, &n)) != 0)
		return r;
	sqlite3_bind_int64(st->s[S_NODE_DELETE], 1, n.id);
	return store_run(st, S_NODE_DELETE, "remove node");
}

static int store_count_verdicts_locked(struct store *st, int pass, uint64_t *n)
{
	sqlite3_stmt *q = st->s[S_COUNT];
	int r = 0;

	*n = 0;
	sqlite3_bind_int(q, 1, pass ? 1 : 0);
	if (sqlite3_step(q) == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(q, 0);
	else
		r = store_err(st, "count verdicts");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return r;
}

int store_secret_add(struct store *st, int64_t attestation_id, int64_t node_id, const char *name, int proof_ok)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_secret_add_locked(st, attestation_id, node_id, name, proof_ok);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_node_get(struct store *st, const char *key, enum store_key by, struct store_node *out)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_node_get_locked(st, key, by, out);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_node_list(struct store *st, int (*fn)(const struct store_node *n, void *arg), void *arg)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_node_list_locked(st, fn, arg);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_node_remove(struct store *st, const char *key)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_node_remove_locked(st, key);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_count_verdicts(struct store *st, int pass, uint64_t *n)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_count_verdicts_locked(st, pass, n);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* Collected first, then handed out without the lock: fn records verdicts. */
int store_nodes_overdue(struct store *st, int64_t cutoff_ms, int (*fn)(const struct store_node *n, void *arg),
			void *arg)
{
	sqlite3_stmt *q = st->s[S_NODE_OVERDUE];
	struct store_node *nodes = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	pthread_mutex_lock(&st->lock);
	sqlite3_bind_int64(q, 1, cutoff_ms);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(grown = realloc(nodes, cap * sizeof(*nodes)))) {
				r = err_set(AERR_ALLOC, "overdue nodes");
				break;
			}
			nodes = grown;
		}
		store_row_node(q, &nodes[n++]);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_err(st, "overdue nodes");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = fn(&nodes[i], arg);
	free(nodes);
	return r;
}

struct store_assign_args {
	const char *key;
	const struct store_assign *a;
};

static int store_assign_fn(struct store *st, void *arg)
{
	struct store_assign_args *x = arg;
	struct store_node n;
	int r;

	if ((r = store_node_get_locked(st, x->key, STORE_KEY_OPERATOR, &n)) != 0)
		return r;
	return store_assign_locked(st, n.id, x->a);
}

int store_node_assign(struct store *st, const char *key, const struct store_assign *a)
{
	struct store_assign_args x = { key, a };
	int r;

	if ((r = store_assign_check(a)) != 0)
		return r;
	return store_txn(st, store_assign_fn, &x);
}

/* Drop the least recent rows beyond STORE_REJECTED_MAX. */
static int store_rejected_evict(struct store *st)
{
	sqlite3_stmt *q = st->s[S_REJ_COUNT];
	int64_t n = 0;

	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (n <= STORE_REJECTED_MAX)
		return 0;
	sqlite3_bind_int64(st->s[S_REJ_EVICT], 1, n - STORE_REJECTED_MAX);
	return store_run(st, S_REJ_EVICT, "evict rejected attempts");
}

int store_rejected_add(struct store *st, const char *mode, const char *identity, const char *step,
		       const char *reason, const char *ek_hash, uint64_t *count)
{
	sqlite3_stmt *q = st->s[S_REJ_UPSERT];
	int rc, r = 0;

	if (count)
		*count = 0;
	pthread_mutex_lock(&st->lock);
	store_text(q, 1, mode);
	store_text(q, 2, identity ? identity : "");
	sqlite3_bind_int64(q, 3, clock_wall_ms());
	store_text(q, 4, step);
	store_text(q, 5, reason);
	store_text(q, 6, ek_hash && *ek_hash ? ek_hash : NULL);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && count)
		*count = (uint64_t)sqlite3_column_int64(q, 0);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(q);
	if (rc != SQLITE_DONE)
		r = store_err(st, "record a rejected attempt");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (r == 0)
		r = store_rejected_evict(st);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_rejected_list(struct store *st, int (*fn)(const struct store_rejected *r, void *arg), void *arg)
{
	sqlite3_stmt *q = st->s[S_REJ_LIST];
	struct store_rejected x;
	int rc = SQLITE_DONE, r = 0;

	pthread_mutex_lock(&st->lock);
	while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&x, 0, sizeof(x));
		store_column_text(q, 0, x.mode, sizeof(x.mode));
		store_column_text(q, 1, x.identity, sizeof(x.identity));
		x.count = (uint64_t)sqlite3_column_int64(q, 2);
		x.first_ms = sqlite3_column_int64(q, 3);
		x.last_ms = sqlite3_column_int64(q, 4);
		store_column_text(q, 5, x.step, sizeof(x.step));
		store_column_text(q, 6, x.reason, sizeof(x.reason));
		store_column_text(q, 7, x.ek_hash, sizeof(x.ek_hash));
		r = fn(&x, arg);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_err(st, "list rejected attempts");
	sqlite3_reset(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_node_at_target(struct store *st, const char *target, struct store_node *out)
{
	sqlite3_stmt *q = st->s[S_NODE_TARGET];
	int rc, r;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->lock);
	store_text(q, 1, target);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		store_row_node(q, out);
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? err_set(AERR_NOT_FOUND, "target %s answers for no node", target)
				      : store_err(st, "node at target");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}
