/* admin/status.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/status.h"
#include "crypto.h"
#include "hex.h"
#include "pcrsel.h"
#include "policy/named.h"
#include "record/reference.h"

/* "sha256.0 = <hex>" lines (pcr_values_format's text) as messages. */
static int quoted_msgs(struct arena *a, const char *text, Attest__V1__NodeStatus *m)
{
	size_t lines = 0, k = 0;

	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	if (!lines)
		return 0;
	if (!(m->quoted = arena_alloc(a, lines * sizeof(*m->quoted))))
		return AERR_ALLOC;
	for (const char *l = text; *l && k < lines;) {
		const char *eq = strstr(l, " = "), *end = strchr(l, '\n');
		Attest__V1__PcrExpectation *e;

		/* The text is ours: a line of another form is its end. */
		if (!eq || !end || eq > end)
			break;
		if (!(e = ARENA_MSG(a, Attest__V1__PcrExpectation, ATTEST__V1__PCR_EXPECTATION__INIT)) ||
		    !(e->key = arena_printf(a, "%.*s", (int)(eq - l), l)) ||
		    !(e->value = arena_printf(a, "%.*s", (int)(end - eq - 3), eq + 3)))
			return AERR_ALLOC;
		m->quoted[k++] = e;
		l = end + 1;
	}
	m->n_quoted = k;
	return 0;
}

static int facts_msgs(struct admin_ctx *ctx, struct arena *a, int64_t id, Attest__V1__NodeStatus *m)
{
	char facts[STORE_NFACTS][STORE_FACT_MAX];
	int r;

	if ((r = store_node_facts(ctx->st, id, facts)) != 0)
		return r;
	if (!(m->facts = arena_alloc(a, STORE_NFACTS * sizeof(*m->facts))))
		return AERR_ALLOC;
	for (int f = 0; f < STORE_NFACTS; f++) {
		Attest__V1__Fact *x;

		if (!facts[f][0])
			continue;
		if (!(x = ARENA_MSG(a, Attest__V1__Fact, ATTEST__V1__FACT__INIT)))
			return AERR_ALLOC;
		x->name = arena_strdup(a, store_fact_name((enum store_fact)f));
		x->value = arena_strdup(a, facts[f]);
		m->facts[m->n_facts++] = x;
	}
	return 0;
}

/* The secrets n receives: those its named policy names, else those whose
 * hosts select it (record_secret_defs's rule). */
static int secrets_msgs(struct admin_ctx *ctx, struct arena *a, const struct store_node *n,
			const struct named_policy *named, Attest__V1__Reference *ref)
{
	const struct verifier_config *cfg = ctx->cfg;
	const struct secret_conf *sec[SECRET_MAX_PER_HOST];
	char groups[sizeof(n->groups)], *save = NULL, *g;
	struct secret_node sn = { .ek_hash = n->ek_hash, .name = n->name };
	size_t k = 0;

	if (named && named->has_secrets) {
		for (size_t j = 0; j < named->nsecrets; j++)
			for (size_t i = 0; i < cfg->nsecrets && k < SECRET_MAX_PER_HOST; i++)
				if (!strcmp(cfg->secrets[i].name, named->secrets[j]))
					sec[k++] = &cfg->secrets[i];
	} else {
		snprintf(groups, sizeof(groups), "%s", n->groups);
		for (g = strtok_r(groups, ",", &save); g && sn.ngroups < SECRET_NODE_GROUPS; g = strtok_r(NULL, ",", &save))
			sn.groups[sn.ngroups++] = g;
		for (size_t i = 0; i < cfg->nsecrets && k < SECRET_MAX_PER_HOST; i++)
			if (secret_conf_selects(&cfg->secrets[i], &sn))
				sec[k++] = &cfg->secrets[i];
	}
	if (!k)
		return 0;
	if (!(ref->secrets = arena_alloc(a, k * sizeof(*ref->secrets))))
		return AERR_ALLOC;
	for (size_t i = 0; i < k; i++) {
		Attest__V1__NodeSecret *s = ARENA_MSG(a, Attest__V1__NodeSecret, ATTEST__V1__NODE_SECRET__INIT);

		if (!s)
			return AERR_ALLOC;
		s->name = arena_strdup(a, sec[i]->name);
		s->kind = sec[i]->kind == SECRET_RSA ? "rsa" : "aes256";
		ref->secrets[ref->n_secrets++] = s;
	}
	return 0;
}

/* The reference n is judged by (record/reference.h's rule): its named
 * policy, loaded as the service loads it, or the config file's; broken
 * says why a named one cannot be applied (its next quote fails so). */
static int reference_msg(struct admin_ctx *ctx, struct arena *a, const struct store_node *n,
			 Attest__V1__Reference **out)
{
	const struct verifier_config *cfg = ctx->cfg;
	struct named_policy_limits lim = verifier_config_limits(cfg);
	Attest__V1__Reference *ref = ARENA_MSG(a, Attest__V1__Reference, ATTEST__V1__REFERENCE__INIT);
	struct named_policy *named = NULL;
	char name[STORE_NAME_MAX + 1] = "", via[STORE_NAME_MAX + 8] = "", sel[256] = "";
	const struct policy *pol;
	uint32_t version = 0;
	int r;

	if (!ref)
		return AERR_ALLOC;
	if ((r = store_policy_of(ctx->st, n->id, name, via, &version)) == 0 && name[0])
		r = reference_load(ctx->st, name, version, &lim, &named);
	if (r == AERR_IO || r == AERR_STORE)
		return r;
	if (r != 0)
		ref->broken = arena_strdup(a, err_detail());
	ref->config = arena_strdup(a, ctx->config_path);
	ref->name = arena_strdup(a, name);
	ref->version = name[0] ? version : 0;
	ref->via = arena_strdup(a, via);
	if (pcrsel_format(&cfg->pcrs, sel, sizeof(sel)) != 0)
		sel[0] = '\0';
	ref->pcrs = arena_strdup(a, sel);
	pol = named ? &named->pcr : &cfg->policy;
	if (!r && pol->n && (ref->values = arena_alloc(a, pol->n * sizeof(*ref->values))))
		for (size_t i = 0; i < pol->n; i++) {
			const struct policy_entry *e = &pol->e[i];
			Attest__V1__PcrExpectation *x = ARENA_MSG(a, Attest__V1__PcrExpectation,
								  ATTEST__V1__PCR_EXPECTATION__INIT);
			char hex[2 * CRYPTO_MAX_DIGEST + 1];

			if (!x)
				break;
			hex_encode(e->value, e->len, hex);
			x->key = arena_printf(a, "%s.%u", crypto_alg_name(e->alg), e->index);
			x->value = arena_strdup(a, hex);
			ref->values[ref->n_values++] = x;
		}
	if (!r && pol->nfirmware && (ref->firmware_versions = arena_alloc(a, pol->nfirmware * sizeof(uint64_t)))) {
		for (size_t i = 0; i < pol->nfirmware; i++)
			ref->firmware_versions[i] = pol->firmware[i];
		ref->n_firmware_versions = pol->nfirmware;
	}
	if (named) {
		ref->boot_policy = named->boot ? "(in the policy)" : "";
		ref->ima_policy = named->ima ? "(in the policy)" : "";
	} else {
		ref->boot_policy = arena_strdup(a, cfg->boot_policy);
		ref->ima_policy = arena_strdup(a, cfg->ima_policy);
	}
	r = secrets_msgs(ctx, a, n, named, ref);
	named_policy_free(named);
	*out = ref;
	return r;
}

/* The rejected attempts that claimed n's EK. */
struct claims {
	struct arena *a;
	const char *ek_hash;
	Attest__V1__NodeStatus *m;
	size_t cap;
};

static int claim_one(const struct store_rejected *r, void *arg)
{
	struct claims *c = arg;

	if (strcmp(r->claim_ek, c->ek_hash) != 0)
		return 0;
	if (c->m->n_claims == c->cap && arena_grow(c->a, &c->m->claims, c->m->n_claims, &c->cap) != 0)
		return AERR_ALLOC;
	if (!(c->m->claims[c->m->n_claims] = admin_rejected_msg(c->a, r)))
		return AERR_ALLOC;
	c->m->n_claims++;
	return 0;
}

int admin_node_status(struct admin_ctx *ctx, struct arena *a, const char *key, Attest__V1__NodeStatus **out)
{
	Attest__V1__NodeStatus *m = ARENA_MSG(a, Attest__V1__NodeStatus, ATTEST__V1__NODE_STATUS__INIT);
	struct store_node_history *h = NULL;
	struct store_node n;
	struct claims c;
	int r;

	*out = NULL;
	if (!m || !(h = malloc(sizeof(*h))))
		return err_set(AERR_ALLOC, "admin: out of memory");
	if ((r = store_node_get(ctx->st, key, STORE_KEY_ANY, &n)) != 0 ||
	    (r = store_node_history(ctx->st, n.ek_hash, h)) != 0)
		goto out;
	m->last_pass_ms = h->last_pass_ms;
	m->last_fail_ms = h->last_fail_ms;
	m->quoted_at_ms = h->quoted_at_ms;
	c = (struct claims){ .a = a, .ek_hash = n.ek_hash, .m = m };
	if (!(m->node = admin_node_msg(a, &n)) || quoted_msgs(a, h->quoted_pcrs, m) != 0)
		r = AERR_ALLOC;
	else if ((r = facts_msgs(ctx, a, n.id, m)) == 0 && (r = reference_msg(ctx, a, &n, &m->reference)) == 0)
		r = store_rejected_list(ctx->st, claim_one, &c);
	if (r == AERR_ALLOC)
		err_set(AERR_ALLOC, "admin: out of memory");
out:
	free(h);
	if (r == 0)
		*out = m;
	return r;
}
