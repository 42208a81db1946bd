/* admin/methods.h: group rules (store.h): groups by what nodes' verified
 * certificates say. ListGroupRules, AddGroupRule, RemoveGroupRule. */
#include <stdlib.h>
#include <string.h>

#include "admin/methods.h"
#include "strsafe.h"

static Attest__V1__GroupRule *rule_msg(struct arena *a, const struct store_group_rule *r)
{
	Attest__V1__GroupRule *m = ARENA_MSG(a, Attest__V1__GroupRule, ATTEST__V1__GROUP_RULE__INIT);

	if (!m || !(m->match = arena_alloc(a, STORE_NFACTS * sizeof(*m->match))))
		return NULL;
	m->id = r->id;
	m->group = arena_strdup(a, r->group);
	m->nodes = r->nodes;
	for (int f = 0; f < STORE_NFACTS; f++) {
		Attest__V1__Fact *x;

		if (!r->match[f][0])
			continue;
		if (!(x = ARENA_MSG(a, Attest__V1__Fact, ATTEST__V1__FACT__INIT)))
			return NULL;
		x->name = arena_strdup(a, store_fact_name((enum store_fact)f));
		x->value = arena_strdup(a, r->match[f]);
		m->match[m->n_match++] = x;
	}
	return arena_failed(a) ? NULL : m;
}

struct rules_acc {
	struct arena *a;
	Attest__V1__GroupRuleList *m;
	size_t cap;
};

static int rules_one(const struct store_group_rule *r, void *arg)
{
	struct rules_acc *acc = arg;

	if (acc->m->n_rules == acc->cap && arena_grow(acc->a, &acc->m->rules, acc->m->n_rules, &acc->cap) != 0)
		return AERR_ALLOC;
	if (!(acc->m->rules[acc->m->n_rules] = rule_msg(acc->a, r)))
		return AERR_ALLOC;
	acc->m->n_rules++;
	return 0;
}

int admin_list_group_rules(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out,
			   struct arena *a)
{
	Attest__V1__GroupRuleList *res = ARENA_MSG(a, Attest__V1__GroupRuleList, ATTEST__V1__GROUP_RULE_LIST__INIT);
	struct rules_acc acc = { .a = a, .m = res };
	int r;

	(void)in_;
	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if ((r = store_group_rule_list(ctx->st, rules_one, &acc)) != 0)
		return r == AERR_ALLOC ? err_set(AERR_ALLOC, "admin: out of memory") : r;
	*out = &res->base;
	return 0;
}

/* The conditions of m into rule: each a known fact, once, a pattern of
 * 1..STORE_FACT_MAX-1 printable characters. */
static int rule_conditions(const Attest__V1__GroupRule *m, struct store_group_rule *rule)
{
	if (!m->n_match)
		return err_set(AERR_INVALID_ARG, "group rule for %s needs a condition FACT=GLOB", m->group);
	for (size_t i = 0; i < m->n_match; i++) {
		const Attest__V1__Fact *c = m->match[i];
		int f;

		for (f = 0; f < STORE_NFACTS && strcmp(c->name, store_fact_name((enum store_fact)f)); f++)
			;
		if (f == STORE_NFACTS)
			return err_set(AERR_INVALID_ARG, "%.60s=%.60s: a condition is FACT=GLOB, FACT one of ek_issuer, "
				       "tpm_manufacturer, tpm_model, platform_manufacturer, platform_model",
				       c->name, c->value);
		if (!c->value[0] || strlen(c->value) >= sizeof(rule->match[f]) || !strsafe_is(c->value, STRSAFE_LINE))
			return err_set(AERR_INVALID_ARG, "%s=%.60s: a pattern is 1..%zu printable characters", c->name,
				       c->value, sizeof(rule->match[f]) - 1);
		if (rule->match[f][0])
			return err_set(AERR_INVALID_ARG, "%s given twice", c->name);
		memcpy(rule->match[f], c->value, strlen(c->value) + 1);
	}
	return 0;
}

int admin_add_group_rule(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__GroupRule *in = (const Attest__V1__GroupRule *)in_;
	struct store_group_rule *rule = calloc(1, sizeof(*rule));
	Attest__V1__GroupRule *res = NULL;
	int64_t id = 0;
	int r;

	if (!rule)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if ((r = strsafe_name_check("group", in->group, STORE_NAME_MAX)) != 0) {
		r = AERR_INVALID_ARG;
		goto out;
	}
	memcpy(rule->group, in->group, strlen(in->group) + 1);
	if ((r = rule_conditions(in, rule)) != 0 || (r = store_group_rule_add(ctx->st, rule, &id)) != 0)
		goto out;
	rule->id = id;
	if (!(res = rule_msg(a, rule)))
		r = err_set(AERR_ALLOC, "admin: out of memory");
	else
		*out = &res->base;
out:
	free(rule);
	return r;
}

int admin_remove_group_rule(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out,
			    struct arena *a)
{
	const Attest__V1__GroupRuleRef *in = (const Attest__V1__GroupRuleRef *)in_;
	Attest__V1__AdminEmpty *res = ARENA_MSG(a, Attest__V1__AdminEmpty, ATTEST__V1__ADMIN_EMPTY__INIT);
	int r;

	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if (in->id < 1)
		return err_set(AERR_INVALID_ARG, "%lld: a rule is named by its number (verifier group rules)",
			       (long long)in->id);
	if ((r = store_group_rule_remove(ctx->st, in->id)) != 0)
		return r;
	*out = &res->base;
	return 0;
}
