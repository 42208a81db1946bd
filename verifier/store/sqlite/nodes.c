/* Nodes: found by EK, proven, enrolled, named and grouped by operators,
 * listed, removed, and the target each is bound to. */
#define LOG_MODULE "store"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "store/sqlite/sqlite_priv.h"

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
		p->has_facts = sqlite3_column_int(q, 13);
		if (sqlite3_column_type(q, 10) == SQLITE_BLOB && sqlite3_column_bytes(q, 10) > 0 &&
		    sqlite3_column_bytes(q, 10) <= STORE_IMA_STATE_MAX) {
			p->ima_state_len = (size_t)sqlite3_column_bytes(q, 10);
			memcpy(p->ima_state, sqlite3_column_blob(q, 10), p->ima_state_len);
			p->ima_reset = (uint32_t)sqlite3_column_int64(q, 9);
			store_column_text(q, 12, p->ima_judged_by, sizeof(p->ima_judged_by));
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
	store_text(q, 7, store_state_name(state));
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

int store_node_facts_locked(struct store *st, int64_t id, const char *const facts[STORE_NFACTS])
{
	sqlite3_stmt *q = st->s[S_NODE_FACTS];
	int r;

	for (int f = 0; f < STORE_NFACTS; f++)
		store_text(q, f + 1, facts[f] ? facts[f] : "");
	sqlite3_bind_int64(q, 6, id);
	if ((r = store_run(st, S_NODE_FACTS, "node facts")) != 0)
		return r;
	return store_rule_groups_locked(st, id, NULL);
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
	if (in->has_facts && !p->existed && (r = store_node_facts_locked(st, p->id, in->facts)) != 0)
		return r;
	if (!in->identity || !*in->identity)
		return 0;
	q = st->s[S_NODE_BIND];
	store_text(q, 1, in->identity);
	sqlite3_bind_int64(q, 2, p->id);
	return store_run(st, S_NODE_BIND, "bind node");
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
			       e->in->ek_hash, store_state_name(p.state));
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

void store_row_node(sqlite3_stmt *q, struct store_node *n)
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

int store_node_get_locked(struct store *st, const char *key, enum store_key by, struct store_node *out)
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

/* fn for each node row of q (bound), then q reset. */
static int store_node_rows(struct store *st, sqlite3_stmt *q, int (*fn)(const struct store_node *n, void *arg),
			   void *arg)
{
	struct store_node n;
	int rc = SQLITE_DONE, r = 0;

	while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		store_row_node(q, &n);
		r = fn(&n, arg);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_err(st, "list nodes");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return r;
}

static int store_node_list_locked(struct store *st, int (*fn)(const struct store_node *n, void *arg), void *arg)
{
	return store_node_rows(st, st->s[S_NODE_LIST], fn, arg);
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

int store_node_page(struct store *st, int64_t after_id, size_t max, const char *state, const char *group,
		    int (*fn)(const struct store_node *n, void *arg), void *arg)
{
	sqlite3_stmt *q = st->s[S_NODE_PAGE];
	int r;

	pthread_mutex_lock(&st->lock);
	sqlite3_bind_int64(q, 1, after_id);
	if (state)
		sqlite3_bind_text(q, 2, state, -1, SQLITE_STATIC);
	if (group)
		sqlite3_bind_text(q, 3, group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)(max > INT32_MAX ? INT32_MAX : max));
	r = store_node_rows(st, q, fn, arg);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_node_states(struct store *st, uint64_t counts[STORE_NSTATES])
{
	sqlite3_stmt *q = st->s[S_NODE_STATES];
	int rc, r = 0;

	memset(counts, 0, STORE_NSTATES * sizeof(counts[0]));
	pthread_mutex_lock(&st->lock);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		enum store_state s = store_state_parse((const char *)sqlite3_column_text(q, 0));

		if ((unsigned)s < STORE_NSTATES)
			counts[s] += (uint64_t)sqlite3_column_int64(q, 1);
	}
	if (rc != SQLITE_DONE)
		r = store_err(st, "count nodes by state");
	sqlite3_reset(q);
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

int store_node_history(struct store *st, const char *ek_hash, struct store_node_history *out)
{
	sqlite3_stmt *q = st->s[S_NODE_HISTORY];
	int rc, r;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->lock);
	store_text(q, 1, ek_hash);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		store_column_text(q, 0, out->quoted_pcrs, sizeof(out->quoted_pcrs));
		out->quoted_at_ms = sqlite3_column_int64(q, 1);
		out->last_pass_ms = sqlite3_column_int64(q, 2);
		out->last_fail_ms = sqlite3_column_int64(q, 3);
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? err_set(AERR_NOT_FOUND, "no node %.16s...", ek_hash)
				      : store_err(st, "node history");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}
