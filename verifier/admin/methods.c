/* admin/methods.h: the method table, the status of an error, the call
 * without a server. */
#include <stdlib.h>
#include <string.h>

#include "admin/methods.h"
#include "array.h"

static const struct {
	const char *name;   /* as in proto/admin.proto */
	admin_method_fn fn;
} admin_methods[] = {
	{ "ListNodes", admin_list_nodes },
	{ "GetNode", admin_get_node },
	{ "EnrollNode", admin_enroll_node },
	{ "RemoveNode", admin_remove_node },
	{ "GetHistory", admin_get_history },
	{ "Reattest", admin_reattest },
	{ "GetFleet", admin_get_fleet },
	{ "ListRejected", admin_list_rejected },
	{ "ClearRejected", admin_clear_rejected },
	{ "PutPolicy", admin_put_policy },
	{ "GetPolicy", admin_get_policy },
	{ "ListPolicies", admin_list_policies },
	{ "DeletePolicy", admin_delete_policy },
	{ "AssignPolicy", admin_assign_policy },
	{ "TestPolicy", admin_test_policy },
	{ "LearnPolicy", admin_learn_policy },
	{ "GetProposal", admin_get_proposal },
	{ "ApprovePolicy", admin_approve_policy },
	{ "ListGroupRules", admin_list_group_rules },
	{ "AddGroupRule", admin_add_group_rule },
	{ "RemoveGroupRule", admin_remove_group_rule },
};

admin_method_fn admin_method(unsigned i)
{
	const ProtobufCServiceDescriptor *svc = &attest__v1__admin__descriptor;

	if (i >= svc->n_methods)
		return NULL;
	for (size_t k = 0; k < ARRAY_LEN(admin_methods); k++)
		if (!strcmp(admin_methods[k].name, svc->methods[i].name))
			return admin_methods[k].fn;
	return NULL;
}

enum rpc_status admin_status(int err)
{
	switch (err) {
	case AERR_IO:    /* the store cannot be read or written */
	case AERR_STORE:
		return RPC_UNAVAILABLE;
	case AERR_ALLOC:
		return RPC_RESOURCE_EXHAUSTED;
	default:
		return rpc_status_from_err(err);
	}
}

int admin_call_local(struct admin_ctx *ctx, unsigned i, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const ProtobufCMethodDescriptor *m = &attest__v1__admin__descriptor.methods[i];
	admin_method_fn fn = admin_method(i);
	ProtobufCMessage *reply = NULL;
	struct arena *a;
	uint8_t *buf = NULL;
	size_t len;
	int r;

	*out = NULL;
	if (!fn || in->descriptor != m->input)
		return err_set(AERR_INTERNAL, "admin: no method %u for %s", i, in->descriptor->name);
	if (!(a = arena_new()))
		return err_set(AERR_ALLOC, "admin: out of memory");
	err_clear();
	if ((r = fn(ctx, in, &reply, a)) == 0 && (arena_failed(a) || !reply))
		r = err_set(AERR_ALLOC, "admin: out of memory for the answer");
	if (r == 0) {
		/* Through the wire format, as a server's answer comes. */
		len = protobuf_c_message_get_packed_size(reply);
		if (!(buf = malloc(len ? len : 1)))
			r = err_set(AERR_ALLOC, "admin: out of memory for the answer");
		else if (protobuf_c_message_pack(reply, buf) != len ||
			 !(*out = protobuf_c_message_unpack(m->output, NULL, len, buf)))
			r = err_set(AERR_INTERNAL, "admin: %s: the answer does not pack", m->name);
	}
	free(buf);
	arena_free(a);
	return r;
}
