/* Group rules (store.h): a node's groups by what its verified
 * certificates say, besides an operator's. The rule groups are kept in
 * node_rule_groups, computed again when a rule changes (every node) and
 * when a proof records a node's facts (that node); node_all_groups joins
 * them with the operator's, for lookups, policies and secrets. */
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

int store_rule_groups_locked(struct store *st, int64_t node_id)
{
	int r;

	for (int k = S_RULE_GROUPS_CLEAR; k <= S_RULE_GROUPS_SET; k++) {
		if (node_id)
			sqlite3_bind_int64(st->s[k], 1, node_id);
		else
			sqlite3_bind_null(st->s[k], 1);
		if ((r = store_run(st, k, "rule groups")) != 0)
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
	return store_rule_groups_locked(st, 0);
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
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store_prepare(st, "DELETE FROM group_rules WHERE id = ?", &q)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, id);
	r = sqlite3_step(q) == SQLITE_DONE ? 0 : store_err(st, "remove group rule");
	sqlite3_finalize(q);
	if (r == 0 && sqlite3_changes(st->db) == 0)
		return err_set(AERR_NOT_FOUND, "no group rule %lld", (long long)id);
	return r ? r : store_rule_groups_locked(st, 0);
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
		" r.platform_model, (SELECT count(*) FROM nodes n WHERE"
		" (r.ek_issuer IS NULL OR n.ek_issuer GLOB r.ek_issuer)"
		" AND (r.tpm_manufacturer IS NULL OR n.tpm_manufacturer GLOB r.tpm_manufacturer)"
		" AND (r.tpm_model IS NULL OR n.tpm_model GLOB r.tpm_model)"
		" AND (r.platform_manufacturer IS NULL OR n.platform_manufacturer GLOB r.platform_manufacturer)"
		" AND (r.platform_model IS NULL OR n.platform_model GLOB r.platform_model))"
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
