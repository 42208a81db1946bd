/* record/watch.h: the process's bus of state changes. Subscribers sit in a
 * fixed table under one lock; each has a ring of its own under its own
 * lock, so a subscriber reading its queue never holds up a publisher for
 * longer than taking one event out. */
#define LOG_MODULE "watch"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "record/watch.h"

struct watch_sub {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct watch_event *ring[WATCH_QUEUE_MAX];
	size_t head, count;
	int lost;                 /* fell behind: dropped from the bus */
	int slot;                 /* index in watch_subs, -1 once dropped */
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch_sub *watch_subs[WATCH_SUBSCRIBERS_MAX];
static atomic_uint watch_count;
static uint64_t watch_seq;

void watch_event_free(struct watch_event *e)
{
	if (!e)
		return;
	free(e->node);
	free(e->hostname);
	free(e->from);
	free(e->to);
	free(e->reason);
	free(e->mode);
	free(e);
}

static char *watch_strdup(const char *s)
{
	return strndup(s ? s : "", HOOK_FIELD_MAX);
}

static struct watch_event *watch_copy(const struct hook_event *ev, uint64_t seq, int64_t now)
{
	struct watch_event *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->seq = seq;
	e->time_ms = ev->time_ms > 0 ? ev->time_ms : now;
	e->attestation_id = ev->attestation_id;
	e->node = watch_strdup(ev->node);
	e->hostname = watch_strdup(ev->hostname);
	e->from = watch_strdup(ev->from);
	e->to = watch_strdup(ev->to);
	e->reason = watch_strdup(ev->reason);
	e->mode = watch_strdup(ev->mode);
	if (!e->node || !e->hostname || !e->from || !e->to || !e->reason || !e->mode) {
		watch_event_free(e);
		return NULL;
	}
	return e;
}

int watch_subscribe(struct watch_sub **out)
{
	struct watch_sub *s;
	pthread_condattr_t ca;
	int slot = -1;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return err_set(AERR_ALLOC, "watch: out of memory");

	pthread_mutex_init(&s->lock, NULL);
	/* watch_next's deadline is on the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&watch_lock);
	for (int i = 0; i < WATCH_SUBSCRIBERS_MAX && slot < 0; i++)
		if (!watch_subs[i])
			slot = i;
	if (slot >= 0) {
		watch_subs[slot] = s;
		s->slot = slot;
		atomic_fetch_add(&watch_count, 1);
	}
	pthread_mutex_unlock(&watch_lock);
	if (slot < 0) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return err_set(AERR_TOO_LARGE, "%d clients watch already, the most this verifier serves",
			       WATCH_SUBSCRIBERS_MAX);
	}
	*out = s;
	return 0;
}

/* Off the bus; watch_lock held. */
static void watch_remove(struct watch_sub *s)
{
	if (s->slot < 0)
		return;
	watch_subs[s->slot] = NULL;
	s->slot = -1;
	atomic_fetch_sub(&watch_count, 1);
}

void watch_unsubscribe(struct watch_sub *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&watch_lock);
	watch_remove(s);
	pthread_mutex_unlock(&watch_lock);
	while (s->count > 0) {
		watch_event_free(s->ring[s->head]);
		s->head = (s->head + 1) % WATCH_QUEUE_MAX;
		s->count--;
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void watch_publish(const struct hook_event *ev)
{
	int64_t now;
	uint64_t seq;

	if (atomic_load(&watch_count) == 0)
		return;
	now = clock_wall_ms();
	pthread_mutex_lock(&watch_lock);
	seq = ++watch_seq;
	for (int i = 0; i < WATCH_SUBSCRIBERS_MAX; i++) {
		struct watch_sub *s = watch_subs[i];
		struct watch_event *e;

		if (!s)
			continue;
		e = watch_copy(ev, seq, now);
		pthread_mutex_lock(&s->lock);
		if (e && s->count < WATCH_QUEUE_MAX) {
			s->ring[(s->head + s->count) % WATCH_QUEUE_MAX] = e;
			s->count++;
		} else {
			/* Full, or no memory for the copy: this subscriber
			 * would miss an event, so it gets none after it. */
			watch_event_free(e);
			s->lost = 1;
			watch_remove(s);
			LOG_WARN("a watcher fell %zu events behind: its stream ends (events lost)", s->count);
		}
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&watch_lock);
}

int watch_next(struct watch_sub *s, int wait_ms, struct watch_event **out)
{
	struct timespec until;
	int r = 0;

	*out = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->count == 0 && !s->lost && wait_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (s->count == 0 && !s->lost && r == 0)
			r = pthread_cond_timedwait(&s->cond, &s->lock, &until);
	}
	if (s->count > 0) {
		/* What came before the loss is still delivered, in order. */
		*out = s->ring[s->head];
		s->head = (s->head + 1) % WATCH_QUEUE_MAX;
		s->count--;
		r = 0;
	} else if (s->lost) {
		r = err_set(AERR_TOO_LARGE, "this watcher fell %d events behind and missed events", WATCH_QUEUE_MAX);
	} else {
		r = AERR_NOT_FOUND;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

unsigned watch_subscribers(void)
{
	return atomic_load(&watch_count);
}
