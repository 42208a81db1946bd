/* The operations of service attest.v1.Admin (proto/admin.proto), each
 * once: the gRPC server (admin/server.c) and the CLI without a server
 * (cli/source.h, over the local store) both run these, so the two
 * answer alike by construction.
 *
 * A method reads its request, does what an operator asked through the
 * store interface, and builds its answer in the arena. It returns 0, or
 * an AERR_* code with err_detail() saying what was wrong with the request
 * or why it cannot be done now (admin_status maps it to a gRPC status).
 * What a method refuses leaves the store as it was. */
#ifndef VERIFIER_ADMIN_METHODS_H
#define VERIFIER_ADMIN_METHODS_H

#include <protobuf-c/protobuf-c.h>

#include "admin.pb-c.h"
#include "admin/arena.h"
#include "config.h"
#include "err.h"
#include "rpc.h"
#include "store/store.h"

/* What a method runs against. */
struct admin_ctx {
	struct store *st;
	const struct verifier_config *cfg;
	const char *config_path;         /* the verifier's config file, as status shows it */
	const char *operator_id;         /* the caller's TLS identity ("local": the CLI on the store) */
	/* Attest the node at pull target now (serve in pull mode); NULL when
	 * this verifier cannot start an attestation (push mode, the CLI). */
	int (*reattest)(const char *target, void *arg);
	void *reattest_arg;
};

typedef int (*admin_method_fn)(struct admin_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out,
			       struct arena *a);

/* The method of attest__v1__admin__descriptor.methods[i]; NULL past the end. */
admin_method_fn admin_method(unsigned i);

/* The gRPC status of a method's error code. */
enum rpc_status admin_status(int err);

/* Run method i on in: *out (packed-then-unpacked, as a remote answer would
 * arrive: free with protobuf_c_message_free_unpacked) or an error as the
 * method returned it. */
int admin_call_local(struct admin_ctx *ctx, unsigned i, const ProtobufCMessage *in, ProtobufCMessage **out) ATTEST_WUR;

/* The methods, by file. nodes.c: */
int admin_list_nodes(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_get_node(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_enroll_node(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_remove_node(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_get_history(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_reattest(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
/* fleet.c: */
int admin_get_fleet(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_list_rejected(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_clear_rejected(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
/* policies.c: */
int admin_put_policy(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_get_policy(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_list_policies(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_delete_policy(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_assign_policy(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
/* review.c: */
int admin_test_policy(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_learn_policy(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_get_proposal(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_approve_policy(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
/* groups.c: */
int admin_list_group_rules(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_add_group_rule(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);
int admin_remove_group_rule(struct admin_ctx *, const ProtobufCMessage *, ProtobufCMessage **, struct arena *);

/* convert.c: a node as the store has it, into the arena (NULL: out of memory). */
Attest__V1__Node *admin_node_msg(struct arena *a, const struct store_node *n);
Attest__V1__Rejected *admin_rejected_msg(struct arena *a, const struct store_rejected *r);

#endif
