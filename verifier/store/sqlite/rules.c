/* Group rules (store.h): a node's groups by what its verified
 * certificates say, besides an operator's. The rule groups are kept in
 * node_rule_groups, computed again when a rule changes (every node) and
 * when a proof records a node's facts (that node); the queries of a
 * node's groups (schema.c) read them beside the operator's, for lookups,
 * policies and secrets. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_priv.h"

static const char *const store_fact_names[STORE_NFACTS] = {
	"ek_issuer", "tpm_manufacturer", "tpm_model", "platform_manufacturer", "platform_model",
};

const char *store_fact_name(enum store_fact f)
{
	return (unsigned)f < STORE_NFACTS ? store_fact_names[f] : NULL;
}

int store_rule_groups_locked(struct store *st, int64_t node_id, const char *group)
{
	static const char *const one_group[] = {
		"DELETE FROM node_rule_groups WHERE grp = ?1",
		"INSERT OR IGNORE INTO node_rule_groups (node_id, grp) SELECT n.id, r.grp FROM nodes n JOIN group_rules r"
		" ON " STORE_RULE_MATCH " WHERE r.grp = ?1",
	};
	sqlite3_stmt *q = NULL;
	int r;

	if (node_id) {
		/* At a proof: that node's, by prepared statements. */
		sqlite3_bind_int64(st->s[S_RULE_GROUPS_CLEAR], 1, node_id);
		if ((r = store_run(st, S_RULE_GROUPS_CLEAR, "rule groups")) != 0)
			return r;
		sqlite3_bind_int64(st->s[S_RULE_GROUPS_SET], 1, node_id);
		return store_run(st, S_RULE_GROUPS_SET, "rule groups");
	}
	/* A rule of group changed: that group's members, once. */
	for (size_t i = 0; i < sizeof(one_group) / sizeof(one_group[0]); i++) {
		if ((r = store_prepare(st, one_group[i], &q)) != 0)
			return r;
		store_text(q, 1, group);
		r = sqlite3_step(q) == SQLITE_DONE ? 0 : store_err(st, "rule groups");
		sqlite3_finalize(q);
		if (r != 0)
			return r;
	}
	return 0;
}

struct rule_args {
	const struct store_group_rule *rule;
	int64_t id;
};

static int rule_add_txn(struct store *st, void *arg)
{
	struct rule_args *a = arg;
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store_prepare(st, "INSERT INTO group_rules (grp, ek_issuer, tpm_manufacturer, tpm_model,"
			       " platform_manufacturer, platform_model) VALUES (?, nullif(?, ''), nullif(?, ''),"
			       " nullif(?, ''), nullif(?, ''), nullif(?, ''))", &q)) != 0)
		return r;
	store_text(q, 1, a->rule->group);
	for (int f = 0; f < STORE_NFACTS; f++)
		store_text(q, f + 2, a->rule->match[f]);
	r = sqlite3_step(q) == SQLITE_DONE ? 0 : store_err(st, "add group rule");
	sqlite3_finalize(q);
	if (r != 0)
		return r;
	a->id = sqlite3_last_insert_rowid(st->db);
	return store_rule_groups_locked(st, 0, a->rule->group);
}

int store_group_rule_add(struct store *st, const struct store_group_rule *rule, int64_t *id)
{
	struct rule_args a = { .rule = rule };
	int any = 0, r;

	for (int f = 0; f < STORE_NFACTS; f++)
		any |= rule->match[f][0] != '\0';
	if (!any)
		return err_set(AERR_INVALID_ARG, "a group rule needs a condition (ek_issuer, tpm_manufacturer, tpm_model, "
			       "platform_manufacturer or platform_model)");
	r = store_txn(st, rule_add_txn, &a);
	if (id)
		*id = r == 0 ? a.id : 0;
	return r;
}

static int rule_remove_txn(struct store *st, void *arg)
{
	int64_t id = *(int64_t *)arg;
	char group[STORE_NAME_MAX + 1] = "";
	sqlite3_stmt *q = NULL;
	int rc, r;

	if ((r = store_prepare(st, "DELETE FROM group_rules WHERE id = ? RETURNING grp", &q)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		store_column_text(q, 0, group, sizeof(group));
	else if (rc == SQLITE_DONE)
		r = err_set(AERR_NOT_FOUND, "no group rule %lld", (long long)id);
	else
		r = store_err(st, "remove group rule");
	sqlite3_finalize(q);
	return r ? r : store_rule_groups_locked(st, 0, group);
}

int store_group_rule_remove(struct store *st, int64_t id)
{
	return store_txn(st, rule_remove_txn, &id);
}

int store_group_rule_list(struct store *st, int (*fn)(const struct store_group_rule *r, void *arg), void *arg)
{
	/* How many nodes a rule matches is the same match node_rule_groups
	 * was made by, for this rule alone. */
	static const char sql[] =
		"SELECT r.id, r.grp, r.ek_issuer, r.tpm_manufacturer, r.tpm_model, r.platform_manufacturer,"
		" r.platform_model, (SELECT count(*) FROM nodes n WHERE " STORE_RULE_MATCH ")"
		" FROM group_rules r ORDER BY r.grp, r.id";
	struct store_group_rule *g = malloc(sizeof(*g));
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_DONE, r;

	if (!g)
		return err_set(AERR_ALLOC, "group rules");
	pthread_mutex_lock(&st->lock);
	if ((r = store_prepare(st, sql, &q)) == 0) {
		while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
			memset(g, 0, sizeof(*g));
			g->id = sqlite3_column_int64(q, 0);
			store_column_text(q, 1, g->group, sizeof(g->group));
			for (int f = 0; f < STORE_NFACTS; f++)
				store_column_text(q, 2 + f, g->match[f], sizeof(g->match[f]));
			g->nodes = (uint64_t)sqlite3_column_int64(q, 7);
			r = fn(g, arg);
		}
		if (r == 0 && rc != SQLITE_DONE)
			r = store_err(st, "group rules");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	free(g);
	return r;
}

int store_node_facts(struct store *st, int64_t node_id, char facts[STORE_NFACTS][STORE_FACT_MAX])
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	memset(facts, 0, STORE_NFACTS * STORE_FACT_MAX);
	pthread_mutex_lock(&st->lock);
	if ((r = store_prepare(st, "SELECT ek_issuer, tpm_manufacturer, tpm_model, platform_manufacturer,"
			       " platform_model FROM nodes WHERE id = ?", &q)) == 0) {
		sqlite3_bind_int64(q, 1, node_id);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW)
			for (int f = 0; f < STORE_NFACTS; f++)
				store_column_text(q, f, facts[f], STORE_FACT_MAX);
		else
			r = rc == SQLITE_DONE ? err_set(AERR_NOT_FOUND, "no such node") : store_err(st, "node facts");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return r;
}
