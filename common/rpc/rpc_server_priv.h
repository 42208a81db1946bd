/* The gRPC server as rpc_server.c (slots, the completion queue, workers)
 * and rpc_call.c (what a handler does with its call) share it. */
#ifndef ATTEST_RPC_SERVER_PRIV_H
#define ATTEST_RPC_SERVER_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "rpc_priv.h"

enum rpc_slot_state {
	SLOT_IDLE = 0,      /* nothing pending (not armed, or stopped) */
	SLOT_REQUESTED,     /* grpc_server_request_call pending */
	SLOT_RECEIVING,     /* RECV_MESSAGE pending */
	SLOT_HANDLING,      /* a worker runs the handler */
	SLOT_FINISHING,     /* reply + status sent, close pending */
};

struct rpc_call {
	struct rpc_server *s;
	grpc_call *call;
	const ProtobufCMethodDescriptor *method;
	const char *path;
	gpr_timespec deadline;
	int answered;
	int has_peer;
	char peer[RPC_IDENTITY_MAX + 1];
};

/* One concurrent call. Its tag on the queue is the slot itself: a slot has at
 * most one operation pending, and its state says which. */
struct rpc_slot {
	struct rpc_server *s;
	pthread_mutex_t lock;       /* state, call and since vs. the stall sweep */
	enum rpc_slot_state state;
	uint64_t since_ms;          /* when the pending operation started */
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array request_md;
	grpc_byte_buffer *request;
	grpc_byte_buffer *reply;    /* kept until the send completes */
	grpc_slice status_details;
	int has_status_details;
	int cancelled;              /* RECV_CLOSE_ON_SERVER output */
	enum rpc_status status;     /* what was sent, for the debug line */
	struct rpc_call c;
};

struct rpc_server {
	const ProtobufCServiceDescriptor *svc;
	rpc_handler_fn *handlers;
	char **paths;               /* per method: "/pkg.Service/Method" */
	void *app;
	int (*authorize)(const char *identity, void *app, char *why, size_t cap);
	size_t max_message;
	grpc_server *server;
	grpc_completion_queue *cq;  /* every notification and call operation */
	int port;
	int insecure;
	int started;
	unsigned threads;
	struct rpc_slot *slots;
	unsigned nslots;
	unsigned per_peer_max;      /* slots one identity may hold: a quarter, at least 1 */
	atomic_uint busy;           /* slots holding a call, accepted and not yet done */
	atomic_int stop;
	char shutdown_tag;
};
#endif
