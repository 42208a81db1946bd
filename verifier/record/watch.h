/* State changes as a stream, for the Admin service's WatchEvents: what the
 * hook (record/hook.h) is told, offered to every subscriber in the order
 * the verifier recorded it. One bus per process: record_changed publishes
 * each change beside hook_post, whichever mode and thread recorded it.
 *
 * Each subscriber has a queue of its own of at most WATCH_QUEUE_MAX events.
 * A subscriber that falls that far behind (a client that stopped reading)
 * loses its subscription, never an event in the middle: watch_next then
 * reports the loss, so the client knows to resynchronise (read the fleet
 * again) instead of silently missing a node's "failed". Publishing never
 * blocks on a subscriber and costs one atomic read while nobody watches. */
#ifndef VERIFIER_RECORD_WATCH_H
#define VERIFIER_RECORD_WATCH_H

#include <stdint.h>

#include "err.h"
#include "record/hook.h"

#define WATCH_QUEUE_MAX 4096
#define WATCH_SUBSCRIBERS_MAX 16

/* One change as a subscriber receives it: the hook's fields, copied
 * (peer strings as they were recorded: escape them where they go). */
struct watch_event {
	uint64_t seq;             /* 1, 2, ... per process, in publishing order */
	char *node, *hostname, *from, *to, *reason, *mode;
	int64_t time_ms;          /* Unix ms */
	int64_t attestation_id;   /* <= 0: none */
};

struct watch_sub;

/* A new subscriber, which receives every change published from now on.
 * AERR_TOO_LARGE (with detail) when WATCH_SUBSCRIBERS_MAX watch already,
 * AERR_ALLOC. */
int watch_subscribe(struct watch_sub **out) ATTEST_WUR;

/* Stop receiving and free the queue. NULL-safe. */
void watch_unsubscribe(struct watch_sub *s);

/* Offer ev to every subscriber; returns at once. */
void watch_publish(const struct hook_event *ev);

/* The next event (*out, free with watch_event_free): 0. AERR_NOT_FOUND
 * when none came within wait_ms (0: just look). AERR_TOO_LARGE when the
 * subscriber fell WATCH_QUEUE_MAX events behind and was dropped: events
 * are lost, every later call says so. */
int watch_next(struct watch_sub *s, int wait_ms, struct watch_event **out) ATTEST_WUR;

void watch_event_free(struct watch_event *e);

/* How many subscribe now (metrics, tests). */
unsigned watch_subscribers(void);

#endif
