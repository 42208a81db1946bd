/* admin/methods.h: named policies (policy/named.h). PutPolicy, GetPolicy,
 * ListPolicies, DeletePolicy, AssignPolicy. A document is checked against
 * this verifier's configuration (the PCRs it quotes, the logs it replays,
 * its secrets) before it is stored: a policy the verifier could not apply
 * is refused here, not at a node's next attestation. */
#include <stdlib.h>
#include <string.h>

#include "admin/methods.h"
#include "policy/named.h"
#include "strsafe.h"

static Attest__V1__PolicyInfo *policy_msg(struct arena *a, const struct store_policy *p)
{
	Attest__V1__PolicyInfo *m = ARENA_MSG(a, Attest__V1__PolicyInfo, ATTEST__V1__POLICY_INFO__INIT);

	if (!m)
		return NULL;
	m->name = arena_strdup(a, p->name);
	m->version = p->version;
	m->created_ms = p->created_ms;
	m->nodes = p->nodes;
	m->groups = p->groups;
	if (p->body && !(m->body = arena_strdup(a, p->body)))
		return NULL;
	return m;
}

int admin_put_policy(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__PutPolicyRequest *in = (const Attest__V1__PutPolicyRequest *)in_;
	struct named_policy_limits lim = verifier_config_limits(ctx->cfg);
	struct named_policy *p = NULL;
	struct store_policy sp;
	Attest__V1__PolicyInfo *res;
	size_t len = strlen(in->body);
	uint32_t version = 0;
	int r;

	if ((r = named_policy_name_check(in->name)) != 0)
		return AERR_INVALID_ARG;
	if (len > NAMED_POLICY_TEXT_MAX)
		return err_set(AERR_INVALID_ARG, "policy '%s': %zu bytes, more than %u", in->name, len,
			       NAMED_POLICY_TEXT_MAX);
	if ((r = named_policy_parse(in->name, 1, in->body, len, &lim, &p)) != 0)
		return AERR_INVALID_ARG;
	named_policy_free(p);
	if ((r = store_policy_put(ctx->st, in->name, in->body, len, in->create, &version)) != 0)
		/* The store's "exists already": the request is fine, the state is not. */
		return r == AERR_INVALID_ARG ? AERR_STATE : r;
	if ((r = store_policy_get(ctx->st, in->name, version, &sp)) != 0)
		return r;
	free(sp.body);
	sp.body = NULL;
	if (!(res = policy_msg(a, &sp)))
		return err_set(AERR_ALLOC, "admin: out of memory");
	*out = &res->base;
	return 0;
}

int admin_get_policy(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__PolicyRef *in = (const Attest__V1__PolicyRef *)in_;
	Attest__V1__PolicyInfo *res;
	struct store_policy sp;
	int r;

	if (named_policy_name_check(in->name) != 0)
		return AERR_INVALID_ARG;
	if ((r = store_policy_get(ctx->st, in->name, in->version, &sp)) != 0)
		return r;
	res = policy_msg(a, &sp);
	free(sp.body);
	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	*out = &res->base;
	return 0;
}

struct policy_acc {
	struct arena *a;
	Attest__V1__PolicyList *m;
	size_t cap;
};

static int list_one(const struct store_policy *p, void *arg)
{
	struct policy_acc *acc = arg;

	if (acc->m->n_policies == acc->cap && arena_grow(acc->a, &acc->m->policies, acc->m->n_policies, &acc->cap) != 0)
		return AERR_ALLOC;
	if (!(acc->m->policies[acc->m->n_policies] = policy_msg(acc->a, p)))
		return AERR_ALLOC;
	acc->m->n_policies++;
	return 0;
}

int admin_list_policies(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	Attest__V1__PolicyList *res = ARENA_MSG(a, Attest__V1__PolicyList, ATTEST__V1__POLICY_LIST__INIT);
	struct policy_acc acc = { .a = a, .m = res };
	int r;

	(void)in_;
	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if ((r = store_policy_list(ctx->st, list_one, &acc)) != 0)
		return r == AERR_ALLOC ? err_set(AERR_ALLOC, "admin: out of memory") : r;
	*out = &res->base;
	return 0;
}

int admin_delete_policy(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__PolicyRef *in = (const Attest__V1__PolicyRef *)in_;
	Attest__V1__AdminEmpty *res = ARENA_MSG(a, Attest__V1__AdminEmpty, ATTEST__V1__ADMIN_EMPTY__INIT);
	int r;

	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if (named_policy_name_check(in->name) != 0)
		return AERR_INVALID_ARG;
	if ((r = store_policy_delete(ctx->st, in->name)) != 0)
		return r;
	*out = &res->base;
	return 0;
}

int admin_assign_policy(struct admin_ctx *ctx, const ProtobufCMessage *in_, ProtobufCMessage **out, struct arena *a)
{
	const Attest__V1__AssignPolicyRequest *in = (const Attest__V1__AssignPolicyRequest *)in_;
	Attest__V1__AdminEmpty *res = ARENA_MSG(a, Attest__V1__AdminEmpty, ATTEST__V1__ADMIN_EMPTY__INIT);
	int r;

	if (!res)
		return err_set(AERR_ALLOC, "admin: out of memory");
	if (!*in->node == !*in->group)
		return err_set(AERR_INVALID_ARG, "node or group: one of them");
	if (*in->group && strsafe_name_check("group", in->group, STORE_NAME_MAX) != 0)
		return AERR_INVALID_ARG;
	if (*in->name && named_policy_name_check(in->name) != 0)
		return AERR_INVALID_ARG;
	if ((r = store_policy_assign(ctx->st, *in->node ? in->node : NULL, *in->group ? in->group : NULL,
				     *in->name ? in->name : NULL)) != 0)
		return r;
	*out = &res->base;
	return 0;
}
