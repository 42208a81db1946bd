/* Rejected attempts: one bounded row per TLS identity that failed before
 * any proof. */
#include <string.h>

#include "clock.h"
#include "store/sqlite/sqlite_priv.h"

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
	sqlite3_stmt *q = st->s[S_REJ_UPSERT], *n = st->s[S_REJ_IS_NODE];
	int rc, r = 0, claim = 0;

	if (count)
		*count = 0;
	pthread_mutex_lock(&st->lock);
	if (ek_hash && *ek_hash) {
		store_text(n, 1, ek_hash);
		claim = sqlite3_step(n) == SQLITE_ROW;
		sqlite3_reset(n);
		sqlite3_clear_bindings(n);
	}
	store_text(q, 1, mode);
	store_text(q, 2, identity ? identity : "");
	sqlite3_bind_int64(q, 3, clock_wall_ms());
	store_text(q, 4, step);
	store_text(q, 5, reason);
	store_text(q, 6, ek_hash && *ek_hash ? ek_hash : NULL);
	sqlite3_bind_int(q, 7, claim);
	sqlite3_bind_int(q, 8, !claim && step && !strcmp(step, "endorsement"));
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
		store_column_text(q, 8, x.claim_ek, sizeof(x.claim_ek));
		x.claim_ms = sqlite3_column_int64(q, 9);
		store_column_text(q, 10, x.claim_step, sizeof(x.claim_step));
		store_column_text(q, 11, x.claim_reason, sizeof(x.claim_reason));
		x.has_orphan = sqlite3_column_type(q, 13) != SQLITE_NULL;
		store_column_text(q, 12, x.orphan_ek, sizeof(x.orphan_ek));
		x.orphan_ms = sqlite3_column_int64(q, 13);
		store_column_text(q, 14, x.orphan_reason, sizeof(x.orphan_reason));
		r = fn(&x, arg);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_err(st, "list rejected attempts");
	sqlite3_reset(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_rejected_clear(struct store *st, uint64_t *n)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_run(st, S_REJ_CLEAR, "clear rejected attempts");
	if (r == 0 && n)
		*n = (uint64_t)sqlite3_changes(st->db);
	pthread_mutex_unlock(&st->lock);
	return r;
}
