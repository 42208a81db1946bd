/* Verdicts: one attestation row and the node's state in one transaction,
 * committed in groups (concurrent verdicts share one fsync); secret
 * deliveries and counts. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "metrics.h"
#include "store/sqlite/sqlite_priv.h"

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
	if (a->has_counts || a->verified) {
		sqlite3_bind_int64(q, 13, a->reset_count);
		sqlite3_bind_int64(q, 14, a->restart_count);
		sqlite3_bind_int64(q, 16, (sqlite3_int64)a->clock);
	}
	sqlite3_bind_int64(q, 15, (sqlite3_int64)a->ima_entries);
	sqlite3_bind_int(q, 17, !a->pass && a->unjudged);
	store_text(q, 18, a->policy_name);
	if (a->policy_name)
		sqlite3_bind_int64(q, 19, a->policy_version);
	store_text(q, 20, a->ak.digest);
	store_text(q, 21, a->values.digest);
	store_text(q, 22, a->event_log.digest);
	store_text(q, 23, a->ima.digest);
	if (a->ima.digest)
		sqlite3_bind_int64(q, 24, (sqlite3_int64)a->ima_first);
	sqlite3_bind_int(q, 25, a->verified ? 1 : 0);
	if ((r = store_evidence_put(st, "ak", &a->ak)) != 0 || (r = store_evidence_put(st, "values", &a->values)) != 0 ||
	    (r = store_evidence_put(st, "eventlog", &a->event_log)) != 0 ||
	    (r = store_evidence_put(st, "ima", &a->ima)) != 0)
		goto fail;
	if ((r = store_run(st, S_ATT_INSERT, "record attestation")) != 0)
		goto fail;
	row = sqlite3_last_insert_rowid(st->db);
	if (a->node_id && a->verified && a->learnable) {
		sqlite3_bind_int64(st->s[S_NODE_LEARNED], 1, row);
		sqlite3_bind_int64(st->s[S_NODE_LEARNED], 2, a->node_id);
		if ((r = store_run(st, S_NODE_LEARNED, "answer a learn request")) != 0)
			goto fail;
		change->learned = sqlite3_changes(st->db) > 0;
	}
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
		store_text(q, 2, store_state_name(change->to));
		store_text(q, 3, a->pass ? "" : a->reason);
		if (a->has_counts) {
			sqlite3_bind_int64(q, 4, a->reset_count);
			sqlite3_bind_int64(q, 5, a->restart_count);
			sqlite3_bind_int64(q, 6, (sqlite3_int64)a->clock);
		}
		if ((a->pass || a->unjudged) && a->ima_state && a->ima_state_len) {
			sqlite3_bind_int64(q, 7, a->ima_reset);
			store_blob(q, 8, a->ima_state, a->ima_state_len);
			store_text(q, 15, a->ima_judged_by);
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
		store_text(q, 13, a->no_contact ? NULL : a->quoted_pcrs);
		sqlite3_bind_int64(q, 14, now);
		if ((r = store_run(st, S_NODE_VERDICT, "node verdict")) != 0)
			goto fail;
		if (a->has_facts && !a->no_contact && (r = store_node_facts_locked(st, a->node_id, a->facts)) != 0)
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
	uint64_t t0 = clock_mono_ns();
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
	else
		metrics_observe("attest_store_commit_seconds", "", (double)(clock_mono_ns() - t0) / 1e9);
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

int store_count_verdicts(struct store *st, int pass, uint64_t *n)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_count_verdicts_locked(st, pass, n);
	pthread_mutex_unlock(&st->lock);
	return r;
}
