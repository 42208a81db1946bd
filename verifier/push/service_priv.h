/* The push service as service.c (the handlers, the lifecycle) and table.c
 * (the session table: slots, ids, the per-identity share) share it. */
#ifndef VERIFIER_PUSH_SERVICE_PRIV_H
#define VERIFIER_PUSH_SERVICE_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "push/preissued.h"
#include "push/pushid.h"
#include "push/service.h"
#include "quote.h"
#include "record/record.h"
#include "rpc.h"
#include "policy/secret.h"
#include "session/session.h"
#include "session/trust.h"

#define PUSH_PEER_MAX (RPC_IDENTITY_MAX + 1)
#define PUSH_HOST_MAX 64
/* A session that was handed a demand (a credential to activate, a quote to
 * make, secrets to prove) this recently is never displaced by its
 * identity's next Hello: enough for a genuine peer to answer it, and a
 * round trip. Steps the verifier refuses hand out nothing (PUSH_KEEP). */
#define PUSH_DISPLACE_GRACE_MS 2000

/* The quote a passing verdict waits to record until the secrets it brings
 * are proven: the SubmitQuote request that carried it is gone by then. */
struct push_quote_copy {
	uint8_t attest[QUOTE_MAX_ATTEST];
	size_t attest_len;
	uint8_t sig[QUOTE_MAX_SIGNATURE];
	size_t sig_len;
};

struct push_entry {
	struct session *s;                        /* NULL = free slot */
	uint8_t tag[PUSHID_TAG_LEN];
	char peer[PUSH_PEER_MAX];                 /* TLS identity that said Hello; "" when insecure */
	char host[PUSH_HOST_MAX];                 /* the attestor's claim (record_host), for logs */
	uint64_t active_ms;                       /* opened, or last handed a demand (PUSH_DEMAND) */
	uint64_t expires_ms;
	int busy;                                 /* a handler works on it (table lock) */
	uint32_t next_free;                       /* free list link */
	struct record_ctx rec;                    /* where this session's verdicts go */
	struct push_quote_copy *quote;            /* with secrets delivered: the quote to record */
	int resumed;                              /* opened by a pre-issued quote request, not Hello */
};

struct result_issuer;

struct push_service {
	const struct verifier_config *cfg;
	struct verifier_trust trust;
	struct reference_cache *refs;  /* named policies (record/reference.h); with a store */
	struct result_issuer *results; /* signs each verdict's EAR; NULL: none */
	struct secret_set secrets;
	struct store *store;                      /* NULL without state_dir */
	struct hook *hook;                        /* NULL without hook */
	struct preissued *next;                    /* quote requests handed out with verdicts; NULL without store */
	struct rpc_server *srv;
	int rpc_up;
	/* The session table. Handlers run on several threads: the table (free
	 * list, ids, busy flags) is under table_lock; a session itself is used
	 * by the one handler that marked it busy. */
	pthread_mutex_t table_lock;
	struct push_entry *slots;
	uint32_t nslots, free_head, open;         /* free_head == nslots: none free */
	uint32_t per_identity;                    /* sessions one TLS identity may hold open */
	struct window *window;                    /* fails passing nodes that stop attesting */
};

/* How a handler leaves the session it took (push_lookup, push_open). */
enum push_leave {
	PUSH_KEEP,   /* a step refused: the session waits as it was (its grace runs on) */
	PUSH_DEMAND, /* the peer was handed its next demand: its grace starts again */
	PUSH_END,    /* ended: the slot is free */
};

/* table.c. A slot's session ended and the slot freed; with table_lock held. */
void push_slot_release(struct push_service *p, uint32_t i);

/* The session an id names, checked against the caller's TLS identity, and
 * marked busy (push_put gives it back). Answers the call itself and returns
 * NULL when there is none. */
struct push_entry *push_lookup(struct push_service *p, struct rpc_call *call, const char *id, uint32_t *slot);

/* The handler is done with the session. Only a demand handed out restarts
 * its grace: a peer that keeps poking a session with steps it refuses
 * cannot keep it young (push_peer_idle). */
void push_put(struct push_service *p, uint32_t slot, enum push_leave how);

/* A new session in a free slot for peer (host: the attestor's claim), its id
 * into id; vouched as push_take_slot. NULL when the call was answered (table
 * full, this identity's share taken, out of memory). */
struct push_entry *push_open(struct push_service *p, struct rpc_call *call, const char *peer, const char *host,
			     int vouched, uint32_t *slot, char id[PUSHID_LEN + 1]);
#endif
