/* The push service's session table: a fixed number of slots, each id the
 * slot number and random bits, a free list, the handler that holds a
 * session (busy), expiry, and the share of the table one TLS identity may
 * hold (docs/design.md, "Push mode"). */
#define LOG_MODULE "push"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>


#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "metrics.h"
#include "push/service_priv.h"

/* With table_lock held. */
static void push_open_changed(struct push_service *p, int delta)
{
	p->open = (uint32_t)((int64_t)p->open + delta);
	metrics_gauge_set("attest_push_sessions", "", (double)p->open);
}

/* With table_lock held. */
void push_slot_release(struct push_service *p, uint32_t i)
{
	struct push_entry *e = &p->slots[i];

	session_free(e->s);
	free(e->quote);
	OPENSSL_cleanse(e->tag, sizeof(e->tag));
	memset(e, 0, sizeof(*e));
	e->next_free = p->free_head;
	p->free_head = i;
	push_open_changed(p, -1);
}

/* With table_lock held. Free every expired session; returns how many. Only when the table is full
 * or an identity holds its share: an expired session otherwise stays until it
 * is looked up, so its attestor learns "expired" rather than "unknown". */
static uint32_t push_reap(struct push_service *p, uint64_t now)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->nslots; i++) {
		if (p->slots[i].s && !p->slots[i].busy && p->slots[i].expires_ms <= now) {
			LOG_INFO("session of host '%s' (peer '%s') expired unfinished", p->slots[i].host,
				 p->slots[i].peer);
			push_slot_release(p, i);
			n++;
		}
	}
	return n;
}

struct push_entry *push_lookup(struct push_service *p, struct rpc_call *call, const char *id, uint32_t *slot)
{
	uint8_t tag[PUSHID_TAG_LEN];
	const char *peer = rpc_call_peer_identity(call);
	uint32_t i;
	struct push_entry *e;

	if (pushid_parse(id, &i, tag) != 0) {
		(void)rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", err_detail());
		goto rejected;
	}
	pthread_mutex_lock(&p->table_lock);
	e = i < p->nslots ? &p->slots[i] : NULL;
	if (!e || !e->s || CRYPTO_memcmp(e->tag, tag, PUSHID_TAG_LEN) != 0) {
		pthread_mutex_unlock(&p->table_lock);
		(void)rpc_call_fail(call, RPC_NOT_FOUND, "unknown or finished session; start again with Hello");
		goto rejected;
	}
	if (strcmp(e->peer, peer ? peer : "") != 0) {
		LOG_WARN("peer '%s' presented the session of peer '%s' (host '%s')", peer ? peer : "", e->peer,
			 e->host);
		pthread_mutex_unlock(&p->table_lock);
		(void)rpc_call_fail(call, RPC_PERMISSION_DENIED, "the session belongs to another TLS identity");
		goto rejected;
	}
	if (e->busy) {
		pthread_mutex_unlock(&p->table_lock);
		(void)rpc_call_fail(call, RPC_ABORTED, "another step of this session is in progress");
		goto rejected;
	}
	if (e->expires_ms <= clock_mono_ms()) {
		LOG_INFO("session of host '%s' (peer '%s') used after it expired", e->host, e->peer);
		push_slot_release(p, i);
		pthread_mutex_unlock(&p->table_lock);
		(void)rpc_call_fail(call, RPC_FAILED_PRECONDITION,
				    "the session expired (session_ttl %u s); start again with Hello", p->cfg->session_ttl);
		goto rejected;
	}
	e->busy = 1;
	pthread_mutex_unlock(&p->table_lock);
	*slot = i;
	return e;
rejected:
	return NULL;
}


void push_put(struct push_service *p, uint32_t slot, enum push_leave how)
{
	pthread_mutex_lock(&p->table_lock);
	p->slots[slot].busy = 0;
	if (how == PUSH_END)
		push_slot_release(p, slot);
	else if (how == PUSH_DEMAND)
		p->slots[slot].active_ms = clock_mono_ms();
	pthread_mutex_unlock(&p->table_lock);
}

/* Sessions of peer open now. With table_lock held. */
static uint32_t push_peer_open(const struct push_service *p, const char *peer)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->nslots; i++)
		if (p->slots[i].s && !strcmp(p->slots[i].peer, peer))
			n++;
	return n;
}

/* The oldest session of peer that has proven nothing, no handler holds and
 * is past its grace (now read under the lock: no session is newer); UINT32_MAX
 * when none. With table_lock held. */
static uint32_t push_peer_idle(const struct push_service *p, const char *peer, uint64_t now)
{
	uint32_t best = UINT32_MAX;

	for (uint32_t i = 0; i < p->nslots; i++) {
		const struct push_entry *e = &p->slots[i];

		if (!e->s || e->busy || strcmp(e->peer, peer) != 0 || session_proven(e->s) ||
		    e->active_ms + PUSH_DISPLACE_GRACE_MS > now)
			continue;
		if (best == UINT32_MAX || e->expires_ms < p->slots[best].expires_ms)
			best = i;
	}
	return best;
}

/* A free slot for peer, marked busy; UINT32_MAX when the table is full, or
 * when peer holds per_identity sessions that proved their TPM or are in
 * their grace (*own set: RESOURCE_EXHAUSTED, the attestor retries). At
 * its share, peer's oldest session that proved nothing and is past its grace
 * makes room (*evicted set): a peer that says Hello and never finishes (a
 * bug, a stolen identity key at a modest rate) only displaces its own stale
 * sessions, and a genuine exchange, which proves its TPM within a call or
 * two, is not displaced meanwhile. A flood fast enough to keep the share
 * young refuses the identity's Hellos, its own and its nodes' alike: that
 * identity's pre-issued requests still pass (docs/threat-model.md).
 * vouched: a pre-issued request's session, whose id only the node was
 * handed, is not held to the share. The count is made only once as many
 * sessions as one identity may hold are open at all. */
static uint32_t push_take_slot(struct push_service *p, const char *peer, int vouched, int *own, int *evicted)
{
	uint32_t slot = UINT32_MAX, victim;
	uint64_t now;

	*own = *evicted = 0;
	pthread_mutex_lock(&p->table_lock);
	now = clock_mono_ms();
	if (!vouched && p->open >= p->per_identity && push_peer_open(p, peer) >= p->per_identity &&
	    (push_reap(p, now), push_peer_open(p, peer) >= p->per_identity)) {
		if ((victim = push_peer_idle(p, peer, now)) == UINT32_MAX) {
			*own = 1;
			goto out;
		}
		push_slot_release(p, victim);
		*evicted = 1;
	}
	if (p->free_head < p->nslots || push_reap(p, clock_mono_ms()) > 0) {
		slot = p->free_head;
		p->free_head = p->slots[slot].next_free;
		p->slots[slot].busy = 1;
		push_open_changed(p, +1);
	}
out:
	pthread_mutex_unlock(&p->table_lock);
	return slot;
}

struct push_entry *push_open(struct push_service *p, struct rpc_call *call, const char *peer, const char *host,
			     int vouched, uint32_t *slot, char id[PUSHID_LEN + 1])
{
	struct record_ctx rec = { .store = p->store, .mode = "push", .peer = peer ? peer : "" };
	struct session_params sp;
	struct push_entry *e;
	int own, evicted, r;

	*slot = push_take_slot(p, peer ? peer : "", vouched, &own, &evicted);
	if (evicted)
		record_rejected(&rec, NULL, "endorsement", "a session that proved nothing was ended: this identity opened "
				"more than max_sessions_per_identity");
	if (*slot == UINT32_MAX) {
		if (own) {
			record_rejected(&rec, NULL, "endorsement", "max_sessions_per_identity sessions open, all proven "
					"or younger than their grace");
			(void)rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
					    "this TLS identity has %u sessions open, the most one identity may "
					    "(max_sessions_per_identity); finish or let them expire", p->per_identity);
		} else {
			(void)rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
					    "%u sessions open (max_sessions); try again later", p->nslots);
		}
		return NULL;
	}
	e = &p->slots[*slot];
	trust_session_params(p->cfg, &p->trust, &sp);
	if ((r = session_new(&sp, &e->s)) != 0 || (r = crypto_random(e->tag, sizeof(e->tag))) != 0) {
		(void)rpc_call_fail_err(call, r);
		push_put(p, *slot, PUSH_END);
		*slot = UINT32_MAX;
		return NULL;
	}
	snprintf(e->peer, sizeof(e->peer), "%s", peer ? peer : "");
	record_host(e->host, host);
	e->active_ms = clock_mono_ms();
	e->expires_ms = e->active_ms + (uint64_t)p->cfg->session_ttl * 1000u;
	e->rec = (struct record_ctx){ .store = p->store, .hook = p->hook, .mode = "push", .peer = e->peer, .host = e->host,
				      .pcrs = &p->cfg->pcrs, .explicit_enrollment = p->cfg->explicit_enrollment,
				      .refs = p->refs, .results = p->results, .ek_cert_required = p->cfg->require_ek_cert,
				      .learn_first_use = p->cfg->learn_first_use ? p->cfg : NULL,
				      .started_ns = clock_mono_ns() };
	e->quote = NULL;
	e->resumed = 0;
	pushid_format(*slot, e->tag, id);
	return e;
}
