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
	SLOT_DETACHED,      /* a thread of its own runs the handler and ends the call */
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
	/* A detached handler's call (rpc_detach.c). What its thread starts
	 * completes on the server's queue like every operation of the call
	 * (gRPC binds a call to the queue it was requested on); the worker
	 * that takes the completion records it here, under the slot's lock,
	 * and wakes the thread. */
	int detached;
	int sent_md;                /* initial metadata went out */
	int closing;                /* RECV_CLOSE_ON_SERVER pending */
	int closed;                 /* ... and completed: the client went or the call was cancelled */
	int sending;                /* a send pending (tag send_tag) */
	int send_ok;                /* how the last send completed */
	char send_tag, close_tag;   /* tags inside the slot: rpc_server.c tells them from the slot's */
};

/* One concurrent call. Its tag on the queue is the slot itself: a slot has at
 * most one operation pending, and its state says which. */
struct rpc_slot {
	struct rpc_server *s;
	pthread_mutex_t lock;       /* state, call and since vs. the stall sweep; a detached call's flags */
	pthread_cond_t cond;        /* a detached call's operation completed */
	enum rpc_slot_state state;
	uint64_t since_ms;          /* when the pending operation started */
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array request_md;
	grpc_byte_buffer *request;
	grpc_byte_buffer *reply;    /* kept until the send completes */
	grpc_slice status_details;
	int has_status_details;
	grpc_metadata trailer;      /* rpc_call_set_result's, sent with the status */
	int has_trailer;
	int cancelled;              /* RECV_CLOSE_ON_SERVER output */
	int refused;                /* answered before its request was read: a short stall limit */
	enum rpc_status status;     /* what was sent, for the debug line */
	ProtobufCMessage *in;       /* a detached handler's request, until it returns */
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
	grpc_completion_queue *cq;  /* every notification and call operation (a guest's is its host's) */
	struct rpc_server *host;    /* a guest (rpc_server_attach): the server whose queue and workers serve it */
	struct rpc_server *guest;   /* the host of one: its guest */
	int port;
	int insecure;
	int detach;                 /* handlers run on threads of their own (rpc_detach.c) */
	int started;
	unsigned threads;
	struct rpc_slot *slots;
	unsigned nslots;
	unsigned per_peer_max;      /* slots one identity may hold: a quarter, at least 1 */
	atomic_uint busy;           /* slots holding a call, accepted and not yet done */
	atomic_int stop;
	char shutdown_tag;
	atomic_int shut;            /* shutdown_tag completed */
};

/* rpc_server.c, for rpc_detach.c: */
/* The call of this slot is over: release it and arm the slot again. */
void rpc_slot_done(struct rpc_slot *sl);
/* Count the answer about to be sent (the calls metric). */
void rpc_slot_count(const struct rpc_slot *sl);
/* Log how the call ended (ok: its last operation succeeded). */
void rpc_slot_log_end(const struct rpc_slot *sl, int ok);
/* 1 once the server (or the host it is a guest of) is asked to stop. */
int rpc_server_stopping(const struct rpc_server *s);

/* rpc_detach.c: hand the call of sl, its request in (now owned by the
 * thread), to a thread of its own that runs the handler and ends the call.
 * 0, or AERR_INTERNAL when no thread could be started (in still the
 * caller's). */
int rpc_slot_detach(struct rpc_slot *sl, ProtobufCMessage *in);

/* The worker's side: the completion of a detached call's send_tag or
 * close_tag (rpc_server.c found it in sl). */
void rpc_slot_detached_event(struct rpc_slot *sl, void *tag, int success);
#endif
