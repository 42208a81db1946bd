/* The store's schema, its migrations and statements; opening, closing,
 * the bind helpers and transactions. */
#define LOG_MODULE "store"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "filerule.h"
#include "log.h"
#include "store/sqlite/sqlite_priv.h"

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
	/* 5: the PCR values the last verified quote of a node proved, for
	 * `verifier status` (on the node, not on every verdict: a fleet
	 * re-attesting every few minutes would store kilobytes a verdict). */
	("ALTER TABLE nodes ADD COLUMN quoted_pcrs TEXT;"
	 "ALTER TABLE nodes ADD COLUMN quoted_at INTEGER;"),
	/* 6: named policies (policy/named.h), every version kept (a verdict
	 * names the one it was judged by; a deleted policy's rows stay for
	 * audit), and their assignment to nodes and groups. */
	("CREATE TABLE policies ("
	 " id INTEGER PRIMARY KEY,"
	 " name TEXT NOT NULL,"
	 " version INTEGER NOT NULL,"
	 " created_at INTEGER NOT NULL,"
	 " body TEXT NOT NULL,"
	 " deleted INTEGER NOT NULL DEFAULT 0,"
	 " UNIQUE (name, version));"
	 "CREATE TABLE node_policy ("
	 " node_id INTEGER PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,"
	 " policy TEXT NOT NULL);"
	 "CREATE TABLE group_policy ("
	 " grp TEXT PRIMARY KEY,"
	 " policy TEXT NOT NULL);"
	 "ALTER TABLE attestations ADD COLUMN policy_name TEXT;"
	 "ALTER TABLE attestations ADD COLUMN policy_version INTEGER;"),
	/* 7: the reference whose IMA policy judged the entries the kept IMA
	 * state covers: another one (a policy assigned or changed since) has
	 * judged none of them, and the next session asks from entry 0. */
	("ALTER TABLE nodes ADD COLUMN ima_judged_by TEXT;"),
	/* 8: what an identity's attempts showed, kept past its later ones (a
	 * row keeps only the last attempt's step and EK): the last that
	 * claimed a node's EK, and the last endorsement failure of an EK that
	 * was no node. Another attempt must not wipe them from `status`. */
	("ALTER TABLE rejected ADD COLUMN claim_ek TEXT;"
	 "ALTER TABLE rejected ADD COLUMN claim_at INTEGER;"
	 "ALTER TABLE rejected ADD COLUMN claim_step TEXT;"
	 "ALTER TABLE rejected ADD COLUMN claim_reason TEXT;"
	 "ALTER TABLE rejected ADD COLUMN orphan_ek TEXT;"
	 "ALTER TABLE rejected ADD COLUMN orphan_at INTEGER;"
	 "ALTER TABLE rejected ADD COLUMN orphan_reason TEXT;"
	 "UPDATE rejected SET claim_ek = ek_hash, claim_at = last_at, claim_step = step, claim_reason = reason"
	 " WHERE ek_hash IN (SELECT ek_hash FROM nodes);"
	 "UPDATE rejected SET orphan_ek = coalesce(ek_hash, ''), orphan_at = last_at, orphan_reason = reason"
	 " WHERE step = 'endorsement' AND claim_ek IS NULL;"),
	/* 9: the evidence of each attestation, content-addressed (a boot log
	 * or an AK that repeats is kept once): what a dry run re-judges, an
	 * audit re-verifies and a learned reference is made of. A node's learn
	 * request, and the attestation that answered it. */
	("CREATE TABLE evidence ("
	 " digest TEXT PRIMARY KEY,"
	 " kind TEXT NOT NULL CHECK (kind IN ('ak','values','eventlog','ima')),"
	 " body BLOB NOT NULL);"
	 "ALTER TABLE attestations ADD COLUMN ak_digest TEXT;"
	 "ALTER TABLE attestations ADD COLUMN values_digest TEXT;"
	 "ALTER TABLE attestations ADD COLUMN log_digest TEXT;"
	 "ALTER TABLE attestations ADD COLUMN ima_digest TEXT;"
	 "ALTER TABLE attestations ADD COLUMN ima_first INTEGER;"
	 "ALTER TABLE attestations ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;"
	 "ALTER TABLE nodes ADD COLUMN learn_at INTEGER;"
	 "ALTER TABLE nodes ADD COLUMN learned_from INTEGER;"),
	/* 10: group rules over what a node's verified certificates say (its
	 * facts, recorded at each proof): a node is in every group one of
	 * whose rules it matches, besides the groups an operator gave it.
	 * Which evidence retention removed. */
	("ALTER TABLE nodes ADD COLUMN ek_issuer TEXT;"
	 "ALTER TABLE nodes ADD COLUMN tpm_manufacturer TEXT;"
	 "ALTER TABLE nodes ADD COLUMN tpm_model TEXT;"
	 "ALTER TABLE nodes ADD COLUMN platform_manufacturer TEXT;"
	 "ALTER TABLE nodes ADD COLUMN platform_model TEXT;"
	 "CREATE TABLE group_rules ("
	 " id INTEGER PRIMARY KEY,"
	 " grp TEXT NOT NULL,"
	 " ek_issuer TEXT, tpm_manufacturer TEXT, tpm_model TEXT, platform_manufacturer TEXT, platform_model TEXT,"
	 " CHECK (coalesce(ek_issuer, tpm_manufacturer, tpm_model, platform_manufacturer, platform_model)"
	 " IS NOT NULL));"
	 "CREATE TABLE node_rule_groups ("
	 " node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	 " grp TEXT NOT NULL,"
	 " PRIMARY KEY (node_id, grp));"
	 /* Evidence removed by retention, or never kept (before schema 9),
	  * is told from evidence removed by someone else. */
	 "ALTER TABLE attestations ADD COLUMN evidence_pruned INTEGER NOT NULL DEFAULT 0;"
	 /* status NODE looks a key up as a hostname claim too: by index. */
	 "CREATE INDEX nodes_hostname ON nodes(hostname);"
	 "UPDATE attestations SET evidence_pruned = 1 WHERE quote IS NOT NULL AND ak_digest IS NULL;"),
};

#define STORE_VERSION ((int)ARRAY_LEN(store_migrations))

static const char *const store_sql[S_N] = {
	[S_NODE_FIND] = "SELECT id, state, reset_count, restart_count, clock, ak_name, identity, name,"
			" length(ek_pub), ima_reset, ima_state, target, ima_judged_by, coalesce(ek_issuer,"
			" tpm_manufacturer, tpm_model, platform_manufacturer, platform_model) IS NOT NULL"
			" FROM nodes WHERE ek_hash = ?",
	/* A node's groups: an operator's and its rules' (each branch by the
	 * node's key: a view of both would be read whole). */
	[S_NODE_GROUPS] = "SELECT grp FROM node_groups WHERE node_id = ?1 UNION SELECT grp FROM node_rule_groups"
			  " WHERE node_id = ?1 ORDER BY grp",
	[S_NODE_INSERT] = "INSERT INTO nodes (ek_hash, ek_alg, ek_pub, ek_cert, hostname, enrolled_at, state, name,"
			  " identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_NODE_UPDATE] = "UPDATE nodes SET hostname = coalesce(?1, hostname), ek_cert = coalesce(?2, ek_cert),"
			  " ek_pub = CASE WHEN length(ek_pub) = 0 THEN coalesce(?3, ek_pub) ELSE ek_pub END,"
			  " ek_alg = CASE WHEN ek_alg = 0 THEN ?4 ELSE ek_alg END,"
			  " ak_pub = coalesce(?5, ak_pub), ak_name = coalesce(?6, ak_name),"
			  " state = CASE WHEN state = 'enrolled' THEN 'attesting' ELSE state END WHERE id = ?7",
	[S_NODE_BIND] = "UPDATE nodes SET identity = ? WHERE id = ? AND identity IS NULL",
	[S_ATT_INSERT] = "INSERT INTO attestations (node_id, time, mode, peer, hostname, pass, step, reason, nonce,"
			 " pcr_selection, quote, signature, reset_count, restart_count, ima_entries, clock, unjudged,"
			 " policy_name, policy_version, ak_digest, values_digest, log_digest, ima_digest, ima_first,"
			 " verified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_EVIDENCE_PUT] = "INSERT OR IGNORE INTO evidence (digest, kind, body) VALUES (?, ?, ?)",
	/* A learn request is answered by the first verified quote after it. */
	[S_NODE_LEARNED] = "UPDATE nodes SET learned_from = ?1 WHERE id = ?2 AND learn_at IS NOT NULL"
			   " AND learned_from IS NULL",
	[S_NODE_VERDICT] = "UPDATE nodes SET last_seen = coalesce(?1, last_seen), state = ?2, reason = ?3,"
			   " reset_count = coalesce(?4, reset_count), restart_count = coalesce(?5, restart_count),"
			   " clock = coalesce(?6, clock), ima_reset = coalesce(?7, ima_reset),"
			   " ima_state = coalesce(?8, ima_state),"
			   " ima_judged_by = CASE WHEN ?8 IS NULL THEN ima_judged_by ELSE ?15 END,"
			   " hostname = coalesce(?9, hostname),"
			   " identity = coalesce(identity, ?10),"
			   " target = coalesce(target, (SELECT ?11 WHERE NOT EXISTS (SELECT 1 FROM nodes WHERE target = ?11))),"
			   " quoted_pcrs = coalesce(?13, quoted_pcrs), quoted_at = CASE WHEN ?13 IS NULL THEN quoted_at"
			   " ELSE ?14 END"
			   " WHERE id = ?12",
	[S_NODE_STATE] = "SELECT state, target FROM nodes WHERE id = ?",
	[S_NODE_HISTORY] = "SELECT n.quoted_pcrs, n.quoted_at,"
			   " (SELECT max(time) FROM attestations WHERE node_id = n.id AND pass = 1),"
			   " (SELECT max(time) FROM attestations WHERE node_id = n.id AND pass = 0 AND unjudged = 0)"
			   " FROM nodes n WHERE n.ek_hash = ?",
	[S_REJ_CLEAR] = "DELETE FROM rejected",
	[S_NODE_OVERDUE] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE state IN ('passing', 'verified')"
			   " AND last_seen < ?",
	[S_SECRET_INSERT] = "INSERT INTO secret_deliveries (attestation_id, node_id, name, proof_ok, time)"
			    " VALUES (?, ?, ?, ?, ?)",
	[S_COUNT] = "SELECT count(*) FROM attestations WHERE pass = ?",
	/* An EK hash prefix as a range of the ek_hash index (hex digits sort
	 * below 'z'), names and hostnames by theirs: a lookup does not scan
	 * 100,000 nodes. */
	[S_NODE_GET] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE ek_hash BETWEEN lower(?1) AND lower(?1) || 'z'"
		       " OR hostname = ?1 OR name = ?1 LIMIT 2",
	[S_NODE_GET_OP] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE ek_hash BETWEEN lower(?1) AND lower(?1) || 'z'"
			  " OR name = ?1 LIMIT 2",
	[S_NODE_LIST] = "SELECT " STORE_NODE_COLUMNS " FROM nodes ORDER BY id",
	/* A page walks the primary key from where the last one ended: as fast
	 * at node 100,000 as at the first. */
	[S_NODE_STATES] = "SELECT state, count(*) FROM nodes GROUP BY state",
	[S_NODE_PAGE] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE id > ?1 AND (?2 IS NULL OR state = ?2)"
			" AND (?3 IS NULL OR id IN (SELECT node_id FROM node_groups WHERE grp = ?3"
			" UNION SELECT node_id FROM node_rule_groups WHERE grp = ?3)) ORDER BY id LIMIT ?4",
	[S_NODE_DELETE] = "DELETE FROM nodes WHERE id = ?",
	[S_NODE_NAME] = "UPDATE nodes SET name = ? WHERE id = ?",
	[S_NODE_IDENTITY] = "UPDATE nodes SET identity = ? WHERE id = ?",
	[S_GROUPS_CLEAR] = "DELETE FROM node_groups WHERE node_id = ?",
	[S_GROUP_ADD] = "INSERT OR IGNORE INTO node_groups (node_id, grp) VALUES (?, ?)",
	/* ?7: the EK is a node's (a claim on it); ?8: an endorsement failure of
	 * an EK that is no node (an orphan). */
	[S_REJ_UPSERT] = "INSERT INTO rejected (mode, identity, count, first_at, last_at, step, reason, ek_hash,"
			 " claim_ek, claim_at, claim_step, claim_reason, orphan_ek, orphan_at, orphan_reason)"
			 " VALUES (?1, ?2, 1, ?3, ?3, ?4, ?5, ?6, CASE WHEN ?7 THEN ?6 END, CASE WHEN ?7 THEN ?3 END,"
			 " CASE WHEN ?7 THEN ?4 END, CASE WHEN ?7 THEN ?5 END, CASE WHEN ?8 THEN coalesce(?6, '') END,"
			 " CASE WHEN ?8 THEN ?3 END, CASE WHEN ?8 THEN ?5 END) ON CONFLICT (mode, identity) DO UPDATE SET"
			 " count = count + 1, last_at = ?3, step = ?4, reason = ?5, ek_hash = ?6,"
			 " claim_ek = CASE WHEN ?7 THEN ?6 ELSE claim_ek END,"
			 " claim_at = CASE WHEN ?7 THEN ?3 ELSE claim_at END,"
			 " claim_step = CASE WHEN ?7 THEN ?4 ELSE claim_step END,"
			 " claim_reason = CASE WHEN ?7 THEN ?5 ELSE claim_reason END,"
			 " orphan_ek = CASE WHEN ?8 THEN coalesce(?6, '') ELSE orphan_ek END,"
			 " orphan_at = CASE WHEN ?8 THEN ?3 ELSE orphan_at END,"
			 " orphan_reason = CASE WHEN ?8 THEN ?5 ELSE orphan_reason END"
			 " RETURNING count",
	[S_REJ_IS_NODE] = "SELECT 1 FROM nodes WHERE ek_hash = ?",
	[S_REJ_COUNT] = "SELECT count(*) FROM rejected",
	[S_REJ_EVICT] = "DELETE FROM rejected WHERE id IN (SELECT id FROM rejected ORDER BY last_at, id LIMIT ?)",
	[S_REJ_LIST] = "SELECT mode, identity, count, first_at, last_at, step, reason, ek_hash, claim_ek, claim_at,"
		       " claim_step, claim_reason, orphan_ek, orphan_at, orphan_reason FROM rejected"
		       " ORDER BY last_at DESC, id DESC",
	[S_NODE_TARGET] = "SELECT " STORE_NODE_COLUMNS " FROM nodes WHERE target = ?",
	[S_TARGET_CLEAR] = "UPDATE nodes SET target = NULL WHERE target = ? AND id <> ?",
	[S_TARGET_SET] = "UPDATE nodes SET target = ? WHERE id = ?",
	/* The node's own policy, else those of its groups (distinct names, at
	 * most two: more than one is a conflict). */
	[S_POLICY_OF] = "SELECT a.policy, a.via, (SELECT max(version) FROM policies p WHERE p.name = a.policy"
			" AND p.deleted = 0) FROM (SELECT policy, 'node' AS via FROM node_policy WHERE node_id = ?1"
			" UNION ALL SELECT * FROM (SELECT g.policy, 'group ' || min(g.grp) FROM group_policy g"
			" JOIN (SELECT grp FROM node_groups WHERE node_id = ?1 UNION SELECT grp FROM node_rule_groups"
			" WHERE node_id = ?1) n ON n.grp = g.grp GROUP BY g.policy ORDER BY g.policy"
			" LIMIT 2) WHERE NOT EXISTS (SELECT 1 FROM node_policy WHERE node_id = ?1)) a",
	[S_POLICY_GET] = "SELECT name, version, created_at, body FROM policies WHERE name = ?1"
			 " AND ((?2 = 0 AND deleted = 0) OR version = ?2) ORDER BY version DESC LIMIT 1",
	/* A fact proven once stays until a proven one replaces it: a session
	 * that shows less (no platform certificate) clears nothing. */
	[S_NODE_FACTS] = "UPDATE nodes SET ek_issuer = coalesce(nullif(?1, ''), ek_issuer),"
			 " tpm_manufacturer = coalesce(nullif(?2, ''), tpm_manufacturer),"
			 " tpm_model = coalesce(nullif(?3, ''), tpm_model),"
			 " platform_manufacturer = coalesce(nullif(?4, ''), platform_manufacturer),"
			 " platform_model = coalesce(nullif(?5, ''), platform_model) WHERE id = ?6",
	/* One node's rule groups again, at its proof (rules.c has every node's). */
	[S_RULE_GROUPS_CLEAR] = "DELETE FROM node_rule_groups WHERE node_id = ?1",
	[S_RULE_GROUPS_SET] = "INSERT OR IGNORE INTO node_rule_groups (node_id, grp) SELECT n.id, r.grp FROM nodes n"
			      " JOIN group_rules r ON " STORE_RULE_MATCH " WHERE n.id = ?1",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
};

static const char *const store_state_names[] = { "enrolled", "attesting", "passing", "failed", "verified" };
_Static_assert(ARRAY_LEN(store_state_names) == STORE_NSTATES, "a name per state");

const char *store_state_name(enum store_state s)
{
	return (unsigned)s < (unsigned)STORE_NSTATES ? store_state_names[s] : "?";
}

/* A state column (the schema's CHECK allows only these names). */
enum store_state store_state_parse(const char *name)
{
	for (int i = 0; i < STORE_NSTATES; i++)
		if (name && !strcmp(name, store_state_names[i]))
			return (enum store_state)i;
	return STORE_ENROLLED;
}

int store_err(struct store *st, const char *what)
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
	int version = 0, from, r;
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
	from = version;
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
	}
	/* One line: a new database is created, not migrated step by step. */
	if (from == 0)
		LOG_INFO("%s: new database, schema version %d", st->path, STORE_VERSION);
	else
		LOG_INFO("%s: schema migrated from version %d to %d", st->path, from, STORE_VERSION);
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
	/* Found there rather than made: someone else's, or one others can
	 * write, would let them plant the database the verdicts go to. */
	if ((r = filerule_made_dir("state_dir", dir)) != 0)
		goto fail;
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
void store_blob(sqlite3_stmt *q, int i, const uint8_t *p, size_t n)
{
	if (p && n)
		sqlite3_bind_blob(q, i, p, (int)n, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, i);
}

void store_text(sqlite3_stmt *q, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, i);
}

/* Run a statement that returns no row; reset it either way. */
int store_run(struct store *st, int k, const char *what)
{
	int rc = sqlite3_step(st->s[k]), r = 0;

	if (rc != SQLITE_DONE)
		r = store_err(st, what);
	sqlite3_reset(st->s[k]);
	sqlite3_clear_bindings(st->s[k]);
	return r;
}

/* A text column into dst ("" for NULL). */
void store_column_text(sqlite3_stmt *q, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Run fn(st, arg) in a transaction of its own, under the lock. */
int store_txn(struct store *st, int (*fn)(struct store *st, void *arg), void *arg)
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
