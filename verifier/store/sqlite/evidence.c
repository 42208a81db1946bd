/* Evidence (store.h, review/): each attestation's AK, claimed PCR values,
 * boot log and IMA entries, kept once by digest and named by the
 * attestation rows; learn requests. Reading is for operators' commands:
 * statements are prepared per call. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "store/sqlite/sqlite_priv.h"

int store_evidence_put(struct store *st, const char *kind, const struct store_blob *b)
{
	sqlite3_stmt *q = st->s[S_EVIDENCE_PUT];

	if (!b->digest)
		return 0;
	store_text(q, 1, b->digest);
	store_text(q, 2, kind);
	/* An empty piece is a piece (a zero-length blob is not NULL). */
	sqlite3_bind_blob(q, 3, b->len ? (const void *)b->data : "", (int)b->len, SQLITE_STATIC);
	return store_run(st, S_EVIDENCE_PUT, "keep evidence");
}

#define EVIDENCE_COLUMNS                                                                                         \
	"id, node_id, time, mode, pass, unjudged, verified, step, reason, policy_name, policy_version, nonce,"   \
	" pcr_selection, quote, signature, reset_count, restart_count, clock, ima_entries, ima_first, ak_digest," \
	" values_digest, log_digest, ima_digest, evidence_pruned"

static void column_blob(sqlite3_stmt *q, int i, uint8_t *dst, size_t cap, size_t *len)
{
	size_t n = (size_t)sqlite3_column_bytes(q, i);
	const void *p = sqlite3_column_blob(q, i);

	*len = 0;
	if (p && n <= cap) {
		memcpy(dst, p, n);
		*len = n;
	}
}

static void evidence_row(sqlite3_stmt *q, struct store_evidence *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(q, 0);
	e->node_id = sqlite3_column_int64(q, 1);
	e->time_ms = sqlite3_column_int64(q, 2);
	store_column_text(q, 3, e->mode, sizeof(e->mode));
	e->pass = sqlite3_column_int(q, 4);
	e->unjudged = sqlite3_column_int(q, 5);
	e->verified = sqlite3_column_int(q, 6);
	store_column_text(q, 7, e->step, sizeof(e->step));
	store_column_text(q, 8, e->reason, sizeof(e->reason));
	store_column_text(q, 9, e->policy_name, sizeof(e->policy_name));
	e->policy_version = (uint32_t)sqlite3_column_int64(q, 10);
	column_blob(q, 11, e->nonce, sizeof(e->nonce), &e->nonce_len);
	store_column_text(q, 12, e->pcr_selection, sizeof(e->pcr_selection));
	column_blob(q, 13, e->quote, sizeof(e->quote), &e->quote_len);
	column_blob(q, 14, e->signature, sizeof(e->signature), &e->signature_len);
	e->has_counts = sqlite3_column_type(q, 15) != SQLITE_NULL;
	e->reset_count = (uint32_t)sqlite3_column_int64(q, 15);
	e->restart_count = (uint32_t)sqlite3_column_int64(q, 16);
	e->clock = (uint64_t)sqlite3_column_int64(q, 17);
	e->ima_entries = (uint64_t)sqlite3_column_int64(q, 18);
	e->ima_first = (uint64_t)sqlite3_column_int64(q, 19);
	store_column_text(q, 20, e->ak, sizeof(e->ak));
	store_column_text(q, 21, e->values, sizeof(e->values));
	store_column_text(q, 22, e->event_log, sizeof(e->event_log));
	store_column_text(q, 23, e->ima, sizeof(e->ima));
	e->pruned = sqlite3_column_int(q, 24);
}

int store_evidence_list(struct store *st, int64_t node_id, int64_t since_ms, size_t max, struct store_evidence **out,
			size_t *n)
{
	/* The newest max rows, read newest first and handed out oldest first. */
	static const char sql[] = "SELECT " EVIDENCE_COLUMNS " FROM attestations WHERE node_id = ?1 AND time >= ?2"
				  " ORDER BY id DESC LIMIT ?3";
	struct store_evidence *v = NULL, *grown;
	size_t len = 0, cap = 0;
	sqlite3_stmt *q = NULL;
	int rc, r;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->lock);
	if ((r = store_prepare(st, sql, &q)) != 0)
		goto out;
	sqlite3_bind_int64(q, 1, node_id);
	sqlite3_bind_int64(q, 2, since_ms);
	sqlite3_bind_int64(q, 3, max ? (sqlite3_int64)max : -1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(grown = realloc(v, cap * sizeof(*v)))) {
				r = err_set(AERR_ALLOC, "evidence list");
				goto out;
			}
			v = grown;
		}
		evidence_row(q, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		r = store_err(st, "evidence list");
		goto out;
	}
	for (size_t i = 0; i < len / 2; i++) {
		struct store_evidence t = v[i];

		v[i] = v[len - 1 - i];
		v[len - 1 - i] = t;
	}
	*out = v;
	*n = len;
	v = NULL;
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	free(v);
	return r;
}

static int evidence_one(struct store *st, const char *sql, int64_t key, struct store_evidence *out, const char *what)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->lock);
	if ((r = store_prepare(st, sql, &q)) == 0) {
		sqlite3_bind_int64(q, 1, key);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW)
			evidence_row(q, out);
		else if (rc == SQLITE_DONE)
			r = err_set(AERR_NOT_FOUND, "%s", what);
		else
			r = store_err(st, what);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_evidence_latest(struct store *st, int64_t node_id, struct store_evidence *out)
{
	return evidence_one(st, "SELECT " EVIDENCE_COLUMNS " FROM attestations WHERE node_id = ? AND verified = 1"
			    " AND values_digest IS NOT NULL ORDER BY id DESC LIMIT 1",
			    node_id, out, "no verified quote with its evidence kept");
}

int store_evidence_get_row(struct store *st, int64_t id, struct store_evidence *out)
{
	return evidence_one(st, "SELECT " EVIDENCE_COLUMNS " FROM attestations WHERE id = ?", id, out,
			    "no such attestation");
}

int store_evidence_get(struct store *st, const char *digest, uint8_t **data, size_t *len)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	*data = NULL;
	*len = 0;
	pthread_mutex_lock(&st->lock);
	if ((r = store_prepare(st, "SELECT body FROM evidence WHERE digest = ?", &q)) == 0) {
		store_text(q, 1, digest);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			size_t n = (size_t)sqlite3_column_bytes(q, 0);

			if (!(*data = malloc(n ? n : 1)))
				r = err_set(AERR_ALLOC, "evidence");
			else if (n)
				memcpy(*data, sqlite3_column_blob(q, 0), n);
			*len = *data ? n : 0;
		} else if (rc == SQLITE_DONE) {
			r = err_set(AERR_NOT_FOUND, "evidence %.16s... is not kept", digest);
		} else {
			r = store_err(st, "evidence");
		}
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_evidence_ima_chunks(struct store *st, int64_t node_id, uint32_t reset_count, int64_t upto,
			      int (*fn)(uint64_t first, const uint8_t *data, size_t len, void *arg), void *arg)
{
	/* The chunks whose entries a verdict vouched for (a pass or verified:
	 * its IMA list replayed), and upto's own, since the boot began: after
	 * the node's last row of another boot (resetCount starts again after
	 * a TPM2_Clear). In the order they came. */
	static const char sql[] = "SELECT a.ima_first, e.body FROM attestations a JOIN evidence e ON e.digest ="
				  " a.ima_digest WHERE a.node_id = ?1 AND a.reset_count = ?2 AND a.id <= ?3"
				  " AND (a.pass = 1 OR a.unjudged = 1 OR a.id = ?3)"
				  " AND a.id > coalesce((SELECT max(o.id) FROM attestations o WHERE o.node_id = ?1"
				  " AND o.id < ?3 AND o.reset_count <> ?2), 0) ORDER BY a.id";
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_DONE, r;

	pthread_mutex_lock(&st->lock);
	if ((r = store_prepare(st, sql, &q)) == 0) {
		sqlite3_bind_int64(q, 1, node_id);
		sqlite3_bind_int64(q, 2, reset_count);
		sqlite3_bind_int64(q, 3, upto);
		while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW)
			r = fn((uint64_t)sqlite3_column_int64(q, 0), sqlite3_column_blob(q, 1),
			       (size_t)sqlite3_column_bytes(q, 1), arg);
		if (r == 0 && rc != SQLITE_DONE)
			r = store_err(st, "IMA evidence");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}

struct prune_args {
	int64_t cutoff;
	uint64_t rows, pieces;
};

static int prune_step(struct store *st, const char *sql, int64_t cutoff, uint64_t *changed)
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store_prepare(st, sql, &q)) != 0)
		return r;
	if (sqlite3_bind_parameter_count(q))
		sqlite3_bind_int64(q, 1, cutoff);
	r = sqlite3_step(q) == SQLITE_DONE ? 0 : store_err(st, "prune evidence");
	sqlite3_finalize(q);
	if (r == 0 && changed)
		*changed = (uint64_t)sqlite3_changes(st->db);
	return r;
}

static int prune_txn(struct store *st, void *arg)
{
	/* A boot run of a node (node, resetCount) keeps all its evidence while
	 * a row of it is within retention, or while it holds the node's latest
	 * verified quote: later rows continue the earlier ones' IMA entries.
	 * An answered learn request's row stays until it is approved. */
	static const char *const steps[] = {
		"CREATE TEMP TABLE IF NOT EXISTS prune_keep (node_id INTEGER, reset_count INTEGER,"
		" PRIMARY KEY (node_id, reset_count))",
		"DELETE FROM prune_keep",
		"INSERT OR IGNORE INTO prune_keep SELECT node_id, reset_count FROM attestations WHERE time >= ?1"
		" AND reset_count IS NOT NULL",
		"INSERT OR IGNORE INTO prune_keep SELECT node_id, reset_count FROM attestations WHERE reset_count IS NOT"
		" NULL AND id IN (SELECT max(id) FROM attestations WHERE verified = 1 AND values_digest IS NOT NULL"
		" GROUP BY node_id)",
	};
	static const char rows_sql[] =
		"UPDATE attestations SET ak_digest = NULL, values_digest = NULL, log_digest = NULL, ima_digest = NULL,"
		" evidence_pruned = 1 WHERE time < ?1 AND coalesce(ak_digest, values_digest, log_digest, ima_digest)"
		" IS NOT NULL AND id NOT IN (SELECT learned_from FROM nodes WHERE learned_from IS NOT NULL)"
		" AND NOT EXISTS (SELECT 1 FROM prune_keep k WHERE k.node_id = attestations.node_id"
		" AND k.reset_count = attestations.reset_count)";
	static const char pieces_sql[] =
		"DELETE FROM evidence WHERE digest NOT IN (SELECT ak_digest FROM attestations WHERE ak_digest IS NOT NULL"
		" UNION SELECT values_digest FROM attestations WHERE values_digest IS NOT NULL"
		" UNION SELECT log_digest FROM attestations WHERE log_digest IS NOT NULL"
		" UNION SELECT ima_digest FROM attestations WHERE ima_digest IS NOT NULL)";
	struct prune_args *p = arg;
	int r = 0;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && r == 0; i++)
		r = prune_step(st, steps[i], p->cutoff, NULL);
	if (r == 0)
		r = prune_step(st, rows_sql, p->cutoff, &p->rows);
	if (r == 0)
		r = prune_step(st, pieces_sql, p->cutoff, &p->pieces);
	return r;
}

int store_evidence_prune(struct store *st, int64_t cutoff_ms, uint64_t *rows, uint64_t *pieces)
{
	struct prune_args p = { .cutoff = cutoff_ms };
	int r = store_txn(st, prune_txn, &p);

	if (rows)
		*rows = r == 0 ? p.rows : 0;
	if (pieces)
		*pieces = r == 0 ? p.pieces : 0;
	return r;
}

/* ------------------------------------------------------------ learn requests */

struct learn_args {
	const char *key;
	int64_t id;
};

static int learn_txn(struct store *st, void *arg)
{
	struct learn_args *l = arg;
	struct store_node n;
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store_node_get_locked(st, l->key, STORE_KEY_OPERATOR, &n)) != 0)
		return r;
	l->id = n.id;
	if ((r = store_prepare(st, "UPDATE nodes SET learn_at = ?, learned_from = NULL WHERE id = ?", &q)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, clock_wall_ms());
	sqlite3_bind_int64(q, 2, n.id);
	r = sqlite3_step(q) == SQLITE_DONE ? 0 : store_err(st, "learn request");
	sqlite3_finalize(q);
	return r;
}

int store_learn_request(struct store *st, const char *key, int64_t *node_id)
{
	struct learn_args l = { .key = key };
	int r = store_txn(st, learn_txn, &l);

	if (node_id)
		*node_id = r == 0 ? l.id : 0;
	return r;
}

int store_learn_state(struct store *st, int64_t node_id, int64_t *requested_ms, int64_t *attestation)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	*requested_ms = 0;
	*attestation = 0;
	pthread_mutex_lock(&st->lock);
	if ((r = store_prepare(st, "SELECT learn_at, learned_from FROM nodes WHERE id = ?", &q)) == 0) {
		sqlite3_bind_int64(q, 1, node_id);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			*requested_ms = sqlite3_column_int64(q, 0);
			*attestation = sqlite3_column_int64(q, 1);
		} else if (rc == SQLITE_DONE) {
			r = err_set(AERR_NOT_FOUND, "no such node");
		} else {
			r = store_err(st, "learn request");
		}
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_learn_clear(struct store *st, int64_t node_id)
{
	sqlite3_stmt *q = NULL;
	int r;

	pthread_mutex_lock(&st->lock);
	if ((r = store_prepare(st, "UPDATE nodes SET learn_at = NULL, learned_from = NULL WHERE id = ?", &q)) == 0) {
		sqlite3_bind_int64(q, 1, node_id);
		r = sqlite3_step(q) == SQLITE_DONE ? 0 : store_err(st, "learn request");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}
