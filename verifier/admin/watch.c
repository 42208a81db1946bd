/* WatchEvents (proto/admin.proto): every state change from the call on
 * (record/watch.h), of every node or of one, streamed until the operator's
 * client goes or the verifier stops. It runs on the call's own thread
 * (the Admin server's handlers are detached), so a stream that lasts
 * hours holds no worker and no store connection. */
#define LOG_MODULE "admin"

#include <stdlib.h>
#include <string.h>

#include "admin/watch.h"
#include "admin.pb-c.h"
#include "log.h"
#include "record/watch.h"
#include "utf8.h"

/* How often a stream with nothing to send looks whether its client went. */
#define ADMIN_WATCH_POLL_MS 250

/* A copy of a recorded string that protobuf's other decoders accept. */
static char *admin_watch_str(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1);

	if (out)
		utf8_clean(out, s, n);
	return out;
}

/* Send e; 0, or the error that ends the stream. */
static int admin_watch_send(struct rpc_call *call, const struct watch_event *e)
{
	Attest__V1__StateChange m = ATTEST__V1__STATE_CHANGE__INIT;
	char *hostname = admin_watch_str(e->hostname), *reason = admin_watch_str(e->reason);
	int r;

	if (!hostname || !reason) {
		r = err_set(AERR_ALLOC, "admin: out of memory for an event");
	} else {
		m.seq = e->seq;
		m.node = e->node;
		m.hostname = hostname;
		m.from_state = e->from;
		m.to_state = e->to;
		m.reason = reason;
		m.mode = e->mode;
		m.time_ms = e->time_ms;
		m.attestation = e->attestation_id > 0 ? e->attestation_id : 0;
		r = rpc_call_send(call, &m.base);
	}
	free(hostname);
	free(reason);
	return r;
}

void admin_watch_stream(struct rpc_call *call, const char *node, const char *operator_id)
{
	struct watch_sub *sub = NULL;
	struct watch_event *e;
	uint64_t sent = 0;
	int r;

	if (watch_subscribe(&sub) != 0) {
		LOG_INFO("operator %s: WatchEvents refused: %s", operator_id, err_detail());
		(void)rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "%s", err_detail());
		return;
	}
	/* The headers tell the client its subscription is in place: a change
	 * it causes after them is on its stream. */
	if (rpc_call_send_header(call) != 0) {
		watch_unsubscribe(sub);
		(void)rpc_call_fail(call, RPC_CANCELLED, "the client went away");
		return;
	}
	LOG_INFO("operator %s: watching the state changes of %s", operator_id, *node ? node : "every node");
	for (;;) {
		r = watch_next(sub, ADMIN_WATCH_POLL_MS, &e);
		if (r == AERR_NOT_FOUND) {
			if (rpc_call_closed(call, 0))
				break;
			continue;
		}
		if (r != 0) {
			LOG_WARN("operator %s: WatchEvents ends: %s", operator_id, err_detail());
			(void)rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "%s: watch again and read the fleet "
					    "(ListNodes) to catch up", err_detail());
			goto out;
		}
		if (!*node || !strcmp(e->node, node)) {
			r = admin_watch_send(call, e);
			sent++;
		}
		watch_event_free(e);
		if (r == AERR_ALLOC) {
			(void)rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "%s", err_detail());
			goto out;
		}
		if (r != 0)
			break;
	}
	/* The client went (nobody reads this), or the verifier stops. */
	(void)rpc_call_fail(call, RPC_UNAVAILABLE, "the stream ends: the verifier stops");
out:
	LOG_INFO("operator %s: stopped watching after %llu events", operator_id, (unsigned long long)sent);
	watch_unsubscribe(sub);
}
