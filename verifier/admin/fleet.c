/* admin/methods.h: the fleet beside its nodes. GetFleet (the pull targets
 * and the node each answers for, the verdicts recorded), ListRejected,
 * ClearRejected. */
#include <stdlib.h>
#include <string.h>

#include "admin/methods.h"

int admin_get_fleet(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const struct verifier_config *cfg = ctx->cfg;
	Attest__V1__Fleet *res = ARENA_MSG(a, Attest__V1__Fleet, ATTEST__V1__FLEET__INIT);
	int r;

	(void)in_;
	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	res->mode = cfg->mode == CONFIG_MODE_PUSH ? "push" : "pull";
	if (cfg->mode == CONFIG_MODE_PULL && cfg->ntargets) {
		if (!(res->targets = arena_alloc(a, cfg->ntargets * sizeof(*res->targets))))
			return err_set(AERR_ALLOC, "admin: out of memory");
		for (size_t i = 0; i < cfg->ntargets; i++) {
			Attest__V1__TargetNode *t = ARENA_MSG(a, Attest__V1__TargetNode, ATTEST__V1__TARGET_NODE__INIT);
			struct store_node n;

			if (!t)
				return err_set(AERR_ALLOC, "admin: out of memory");
			t->target = arena_strdup(a, cfg->targets[i]);
			if ((r = store_node_at_target(ctx->st, cfg->targets[i], &n)) == 0)
				t->node = admin_node_msg(a, &n);
			else if (r != AERR_NOT_FOUND)
				return r;
			res->targets[res->n_targets++] = t;
		}
	}
	if ((r = store_count_verdicts(ctx->st, 1, &res->verdicts_pass)) != 0 ||
	    (r = store_count_verdicts(ctx->st, 0, &res->verdicts_fail)) != 0)
		return r;
	*out = &res->base;
	return arena_failed(a) ? err_set(AERR_ALLOC, "admin: out of memory") : 0;
}

struct rejected_acc {
	struct arena *a;
	Attest__V1__RejectedList *m;
	size_t cap;
};

static int rejected_one(const struct store_rejected *r, void *arg)
{
	struct rejected_acc *acc = arg;

	if (acc->m->n_rejected == acc->cap && arena_grow(acc->a, &acc->m->rejected, acc->m->n_rejected, &acc->cap) != 0)
		return AERR_ALLOC;
	if (!(acc->m->rejected[acc->m->n_rejected] = admin_rejected_msg(acc->a, r)))
		return AERR_ALLOC;
	acc->m->n_rejected++;
	return 0;
}

int admin_list_rejected(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	Attest__V1__RejectedList *res = ARENA_MSG(a, Attest__V1__RejectedList, ATTEST__V1__REJECTED_LIST__INIT);
	struct rejected_acc acc = { .a = a, .m = res };
	int r;

	(void)in_;
	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if ((r = store_rejected_list(ctx->st, rejected_one, &acc)) != 0)
		return r == AERR_ALLOC ? err_set(AERR_ALLOC, "admin: out of memory") : r;
	*out = &res->base;
	return 0;
}

int admin_clear_rejected(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	Attest__V1__ClearRejectedResponse *res = ARENA_MSG(a, Attest__V1__ClearRejectedResponse,
							   ATTEST__V1__CLEAR_REJECTED_RESPONSE__INIT);
	int r;

	(void)in_;
	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if ((r = store_rejected_clear(ctx->st, &res->cleared)) != 0)
		return r;
	*out = &res->base;
	return 0;
}
