/* Named policies: every version of each, and their assignment to nodes
 * and groups (store.h). The operator's commands prepare their statements
 * per call; what a session asks at every attestation (store_policy_of,
 * store_policy_get) is prepared once. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "store/sqlite/sqlite_priv.h"

int store_prepare(struct store *st, const char *sql, sqlite3_stmt **q)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK) {
		*q = NULL;
		return store_err(st, "prepare");
	}
	return 0;
}

/* One integer of a one-row query with one text parameter (0 when no row). */
static int query_int(struct store *st, const char *sql, const char *text, int64_t *out)
{
	sqlite3_stmt *q;
	int rc, r;

	*out = 0;
	if ((r = store_prepare(st, sql, &q)) != 0)
		return r;
	store_text(q, 1, text);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*out = sqlite3_column_int64(q, 0);
	else if (rc != SQLITE_DONE)
		r = store_err(st, "policies");
	sqlite3_finalize(q);
	return r;
}

struct put_args {
	const char *name, *body;
	size_t len;
	int create;
	uint32_t version;
};

static int put_txn(struct store *st, void *arg)
{
	struct put_args *a = arg;
	sqlite3_stmt *q;
	int64_t live, last;
	int r;

	if ((r = query_int(st, "SELECT max(version) FROM policies WHERE name = ? AND deleted = 0", a->name, &live)) != 0 ||
	    (r = query_int(st, "SELECT max(version) FROM policies WHERE name = ?", a->name, &last)) != 0)
		return r;
	if (a->create && live)
		return err_set(AERR_INVALID_ARG, "policy '%s' exists (version %lld): verifier policy update changes it",
			       a->name, (long long)live);
	if (!a->create && !live)
		return err_set(AERR_NOT_FOUND, "no policy '%s' (verifier policy create makes one)", a->name);
	if (last >= UINT32_MAX)
		return err_set(AERR_INVALID_ARG, "policy '%s' has no version left", a->name);
	if ((r = store_prepare(st, "INSERT INTO policies (name, version, created_at, body) VALUES (?, ?, ?, ?)", &q)) != 0)
		return r;
	store_text(q, 1, a->name);
	sqlite3_bind_int64(q, 2, last + 1);
	sqlite3_bind_int64(q, 3, clock_wall_ms());
	sqlite3_bind_text(q, 4, a->body, (int)a->len, SQLITE_TRANSIENT);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store_err(st, "store a policy");
	sqlite3_finalize(q);
	a->version = (uint32_t)(last + 1);
	return r;
}

int store_policy_put(struct store *st, const char *name, const char *body, size_t len, int create,
		     uint32_t *version)
{
	struct put_args a = { .name = name, .body = body, .len = len, .create = create };
	int r;

	*version = 0;
	if (len > INT32_MAX)
		return err_set(AERR_TOO_LARGE, "policy '%s': %zu bytes", name, len);
	if ((r = store_txn(st, put_txn, &a)) == 0)
		*version = a.version;
	return r;
}

int store_policy_get(struct store *st, const char *name, uint32_t version, struct store_policy *out)
{
	sqlite3_stmt *q = st->s[S_POLICY_GET];
	const unsigned char *body;
	int rc, r = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->lock);
	store_text(q, 1, name);
	sqlite3_bind_int64(q, 2, version);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		store_column_text(q, 0, out->name, sizeof(out->name));
		out->version = (uint32_t)sqlite3_column_int64(q, 1);
		out->created_ms = sqlite3_column_int64(q, 2);
		body = sqlite3_column_text(q, 3);
		out->body_len = (size_t)sqlite3_column_bytes(q, 3);
		if (!(out->body = malloc(out->body_len + 1)))
			r = err_set(AERR_ALLOC, "policy '%s'", name);
		else {
			memcpy(out->body, body ? (const char *)body : "", out->body_len);
			out->body[out->body_len] = '\0';
		}
	} else if (rc == SQLITE_DONE) {
		r = version ? err_set(AERR_NOT_FOUND, "no version %u of policy '%s'", version, name)
			    : err_set(AERR_NOT_FOUND, "no policy '%s'", name);
	} else {
		r = store_err(st, "read a policy");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_policy_list(struct store *st, int (*fn)(const struct store_policy *p, void *arg), void *arg)
{
	sqlite3_stmt *q;
	struct store_policy p;
	int rc = SQLITE_DONE, r;

	pthread_mutex_lock(&st->lock);
	r = store_prepare(st,
			  "SELECT p.name, p.version, p.created_at,"
			  " (SELECT count(*) FROM node_policy n WHERE n.policy = p.name),"
			  " (SELECT count(*) FROM group_policy g WHERE g.policy = p.name)"
			  " FROM policies p WHERE p.deleted = 0 AND p.version ="
			  " (SELECT max(version) FROM policies WHERE name = p.name) ORDER BY p.name",
			  &q);
	while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		store_column_text(q, 0, p.name, sizeof(p.name));
		p.version = (uint32_t)sqlite3_column_int64(q, 1);
		p.created_ms = sqlite3_column_int64(q, 2);
		p.nodes = (uint64_t)sqlite3_column_int64(q, 3);
		p.groups = (uint64_t)sqlite3_column_int64(q, 4);
		r = fn(&p, arg);
	}
	if (r == 0 && q && rc != SQLITE_DONE)
		r = store_err(st, "list policies");
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}

static int delete_txn(struct store *st, void *arg)
{
	const char *name = arg;
	int64_t live, nodes, groups;
	sqlite3_stmt *q;
	int r;

	if ((r = query_int(st, "SELECT max(version) FROM policies WHERE name = ? AND deleted = 0", name, &live)) != 0 ||
	    (r = query_int(st, "SELECT count(*) FROM node_policy WHERE policy = ?", name, &nodes)) != 0 ||
	    (r = query_int(st, "SELECT count(*) FROM group_policy WHERE policy = ?", name, &groups)) != 0)
		return r;
	if (!live)
		return err_set(AERR_NOT_FOUND, "no policy '%s'", name);
	if (nodes || groups)
		return err_set(AERR_STATE, "policy '%s' is assigned to %lld nodes and %lld groups: unassign it first "
			       "(verifier policy unassign)", name, (long long)nodes, (long long)groups);
	if ((r = store_prepare(st, "UPDATE policies SET deleted = 1 WHERE name = ?", &q)) != 0)
		return r;
	store_text(q, 1, name);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store_err(st, "delete a policy");
	sqlite3_finalize(q);
	return r;
}

int store_policy_delete(struct store *st, const char *name)
{
	return store_txn(st, delete_txn, (void *)name);
}

struct assign_args {
	const char *node_key, *group, *name;
};

static int assign_txn(struct store *st, void *arg)
{
	const struct assign_args *a = arg;
	struct store_node n;
	sqlite3_stmt *q;
	int64_t live;
	int r;

	if (a->name) {
		if ((r = query_int(st, "SELECT max(version) FROM policies WHERE name = ? AND deleted = 0", a->name,
				   &live)) != 0)
			return r;
		if (!live)
			return err_set(AERR_NOT_FOUND, "no policy '%s'", a->name);
	}
	if (a->node_key && (r = store_node_get_locked(st, a->node_key, STORE_KEY_OPERATOR, &n)) != 0)
		return r;
	if (a->node_key)
		r = store_prepare(st, a->name ? "INSERT OR REPLACE INTO node_policy (node_id, policy) VALUES (?1, ?2)"
					      : "DELETE FROM node_policy WHERE node_id = ?1", &q);
	else
		r = store_prepare(st, a->name ? "INSERT OR REPLACE INTO group_policy (grp, policy) VALUES (?1, ?2)"
					      : "DELETE FROM group_policy WHERE grp = ?1", &q);
	if (r != 0)
		return r;
	if (a->node_key)
		sqlite3_bind_int64(q, 1, n.id);
	else
		store_text(q, 1, a->group);
	if (a->name)
		store_text(q, 2, a->name);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store_err(st, "assign a policy");
	else if (!a->name && sqlite3_changes(st->db) == 0)
		r = a->node_key ? err_set(AERR_NOT_FOUND, "node %.16s... has no policy of its own", n.ek_hash)
				: err_set(AERR_NOT_FOUND, "group '%s' has no policy", a->group);
	sqlite3_finalize(q);
	return r;
}

int store_policy_assign(struct store *st, const char *node_key, const char *group, const char *name)
{
	struct assign_args a = { .node_key = node_key, .group = group, .name = name };

	if (!node_key == !group)
		return err_set(AERR_INVALID_ARG, "a policy is assigned to a node or to a group");
	return store_txn(st, assign_txn, &a);
}

int store_policy_of(struct store *st, int64_t node_id, char name[STORE_NAME_MAX + 1], char via[STORE_NAME_MAX + 8],
		    uint32_t *version)
{
	sqlite3_stmt *q = st->s[S_POLICY_OF];
	char other[STORE_NAME_MAX + 1], other_via[STORE_NAME_MAX + 8];
	int rc, n = 0, r = 0;

	name[0] = via[0] = '\0';
	*version = 0;
	pthread_mutex_lock(&st->lock);
	sqlite3_bind_int64(q, 1, node_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n++ == 0) {
			store_column_text(q, 0, name, STORE_NAME_MAX + 1);
			store_column_text(q, 1, via, STORE_NAME_MAX + 8);
			*version = (uint32_t)sqlite3_column_int64(q, 2);
		} else {
			store_column_text(q, 0, other, sizeof(other));
			store_column_text(q, 1, other_via, sizeof(other_via));
		}
	}
	if (rc != SQLITE_DONE)
		r = store_err(st, "find a node's policy");
	else if (n > 1)
		r = err_set(AERR_INVALID_ARG, "its groups assign different policies ('%s' by %s, '%s' by %s): give the "
			    "node a policy of its own or change a group's", name, via, other, other_via);
	else if (n == 1 && *version == 0)
		r = err_set(AERR_NOT_FOUND, "policy '%s' (by %s) is gone", name, via);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}
