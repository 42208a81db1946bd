/* admin/methods.h: what the store holds, as the messages of
 * proto/admin.proto. */
#include <string.h>

#include "admin/methods.h"

Attest__V1__Node *admin_node_msg(struct arena *a, const struct store_node *n)
{
	Attest__V1__Node *m = ARENA_MSG(a, Attest__V1__Node, ATTEST__V1__NODE__INIT);
	const char *g = n->groups;
	size_t k = 0;

	if (!m)
		return NULL;
	m->ek_hash = arena_strdup(a, n->ek_hash);
	m->ek_alg = n->ek_alg;
	m->hostname = arena_strdup(a, n->hostname);
	m->name = arena_strdup(a, n->name);
	m->identity = arena_strdup(a, n->identity);
	m->target = arena_strdup(a, n->target);
	m->state = arena_strdup(a, store_state_name(n->state));
	m->reason = arena_strdup(a, n->reason);
	m->enrolled_ms = n->enrolled_ms;
	m->last_seen_ms = n->last_seen_ms;
	m->has_counts = n->has_counts;
	m->reset_count = n->reset_count;
	m->restart_count = n->restart_count;
	m->attestations = n->attestations;
	m->passes = n->passes;
	m->has_ak = n->has_ak;
	/* groups: the store's comma-separated list, each a whole name. */
	if (*g) {
		size_t count = 1;

		for (const char *p = g; *p; p++)
			count += *p == ',';
		if (!(m->groups = arena_alloc(a, count * sizeof(*m->groups))))
			return NULL;
		while (*g && k < count) {
			const char *end = strchr(g, ',');
			size_t len = end ? (size_t)(end - g) : strlen(g);

			if ((m->groups[k] = arena_printf(a, "%.*s", (int)len, g)))
				k++;
			g += len + (end ? 1 : 0);
		}
		m->n_groups = k;
	}
	return arena_failed(a) ? NULL : m;
}

Attest__V1__Rejected *admin_rejected_msg(struct arena *a, const struct store_rejected *r)
{
	Attest__V1__Rejected *m = ARENA_MSG(a, Attest__V1__Rejected, ATTEST__V1__REJECTED__INIT);

	if (!m)
		return NULL;
	m->mode = arena_strdup(a, r->mode);
	m->identity = arena_strdup(a, r->identity);
	m->count = r->count;
	m->first_ms = r->first_ms;
	m->last_ms = r->last_ms;
	m->step = arena_strdup(a, r->step);
	m->reason = arena_strdup(a, r->reason);
	m->ek_hash = arena_strdup(a, r->ek_hash);
	m->claim_ek = arena_strdup(a, r->claim_ek);
	m->claim_ms = r->claim_ms;
	m->claim_step = arena_strdup(a, r->claim_step);
	m->claim_reason = arena_strdup(a, r->claim_reason);
	m->has_orphan = r->has_orphan;
	m->orphan_ek = arena_strdup(a, r->orphan_ek);
	m->orphan_ms = r->orphan_ms;
	m->orphan_reason = arena_strdup(a, r->orphan_reason);
	return arena_failed(a) ? NULL : m;
}
