#define LOG_MODULE "window"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "record/record.h"
#include "record/window.h"

struct window {
	struct store *store;
	struct hook *hook;
	const char *mode;
	uint32_t window_s;           /* 0: no re-attestation window */
	uint32_t retention_s;        /* 0: evidence kept */
	int64_t pruned_ms;           /* Unix ms of the last prune, 0 none yet */
	const TPML_PCR_SELECTION *pcrs;
	int64_t started_ms;          /* Unix ms: windows count from here at the earliest */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

static int window_fail(const struct store_node *n, void *arg)
{
	struct window *w = arg;
	struct record_ctx rec = { .store = w->store, .hook = w->hook, .mode = w->mode, .host = n->hostname,
				  .node_id = n->id, .state = n->state, .pcrs = w->pcrs };
	struct session_verdict v;

	snprintf(rec.ek_hash, sizeof(rec.ek_hash), "%s", n->ek_hash);
	memset(&v, 0, sizeof(v));
	v.code = AERR_WINDOW;
	v.step = SESSION_STEP_QUOTE;
	snprintf(v.reason, sizeof(v.reason), "no passing attestation within reattest_window (%u s); last seen %lld s ago",
		 w->window_s, (long long)((clock_wall_ms() - n->last_seen_ms) / 1000));
	LOG_WARN("node %.16s... (host '%s'): %s", n->ek_hash, n->hostname, v.reason);
	record_missed(&rec, &v);
	return 0;
}

/* Hourly, the first time at start. */
static void window_retention(struct window *w)
{
	int64_t now = clock_wall_ms();
	uint64_t rows = 0, pieces = 0;

	if (!w->retention_s || (w->pruned_ms && now - w->pruned_ms < 3600 * 1000))
		return;
	w->pruned_ms = now;
	if (store_evidence_prune(w->store, now - (int64_t)w->retention_s * 1000, &rows, &pieces) != 0)
		LOG_ERR("evidence retention: %s", err_detail());
	else if (rows || pieces)
		LOG_INFO("evidence retention: %llu verdicts older than %u days lost their evidence, %llu pieces went",
			 (unsigned long long)rows, w->retention_s / 86400, (unsigned long long)pieces);
}

static void *window_loop(void *arg)
{
	struct window *w = arg;
	struct timespec ts;
	int64_t cutoff;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->lock);
		cutoff = clock_wall_ms() - (int64_t)w->window_s * 1000;
		if (w->window_s && cutoff >= w->started_ms && store_nodes_overdue(w->store, cutoff, window_fail, w) != 0)
			LOG_ERR("re-attestation window: %s", err_detail());
		window_retention(w);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int window_start(struct store *store, struct hook *hook, const char *mode, uint32_t window_s, uint32_t retention_s,
		 const TPML_PCR_SELECTION *pcrs, struct window **out)
{
	struct window *w;

	*out = NULL;
	if ((!window_s && !retention_s) || !store)
		return 0;
	if (!(w = calloc(1, sizeof(*w))))
		return err_set(AERR_ALLOC, "window");
	w->store = store;
	w->hook = hook;
	w->mode = mode;
	w->window_s = window_s;
	w->retention_s = retention_s;
	w->pcrs = pcrs;
	w->started_ms = clock_wall_ms();
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, window_loop, w) != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		return err_set(AERR_INTERNAL, "cannot start the re-attestation window thread");
	}
	*out = w;
	return 0;
}

void window_stop(struct window *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
