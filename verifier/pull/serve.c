#define LOG_MODULE "serve"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pull/driver.h"
#include "record/hook.h"
#include "rpc.h"
#include "store/store.h"
#include "pull/serve.h"
#include "record/window.h"

static volatile int pull_serve_stopping; /* set by the signal handler */

struct pull_serve_target {
	const struct verifier_config *cfg;
	const char *target;
	struct pull_driver *d;
	pthread_t thread;
	int started;
	size_t index;           /* its flag in pull_serve_wakes */
};

/* What ends a target's wait between rounds: a stop, or pull_serve_wake.
 * Static, not in the table: the signal handler touches nothing that is
 * ever freed. */
static volatile int pull_serve_wakes[CONFIG_MAX_TARGETS];
/* The targets being served, for pull_serve_wake. */
static struct pull_serve_target *pull_serve_table;
static size_t pull_serve_n;
static pthread_mutex_t pull_serve_lock = PTHREAD_MUTEX_INITIALIZER;

static void pull_serve_on_signal(int sig)
{
	(void)sig;
	pull_serve_stopping = 1;
	for (size_t i = 0; i < CONFIG_MAX_TARGETS; i++)
		pull_serve_wakes[i] = 1;
}

int pull_serve_wake(const char *target, void *arg)
{
	int r = err_set(AERR_NOT_FOUND, "%s is not one of the targets serve attests", target);

	(void)arg;
	pthread_mutex_lock(&pull_serve_lock);
	if (!pull_serve_table)
		r = err_set(AERR_STATE, "serve attests no targets yet");
	for (size_t i = 0; pull_serve_table && i < pull_serve_n; i++)
		if (!strcmp(pull_serve_table[i].target, target)) {
			pull_serve_wakes[pull_serve_table[i].index] = 1;
			r = 0;
		}
	pthread_mutex_unlock(&pull_serve_lock);
	return r;
}

static void *pull_serve_target_loop(void *arg)
{
	struct pull_serve_target *w = arg;
	struct pull_driver *d = w->d;
	struct pull_result res;
	unsigned long round = 0;
	int activated = 0, r;

	while (!pull_serve_stopping) {
		round++;
		r = activated ? pull_requote(d, &res) : pull_attest(d, &res);
		if (r == 0) {
			LOG_INFO("verdict %s target %s round %lu (%s) resetCount %u restartCount %u ima %llu, %.1f ms",
				 res.verdict.pass ? "PASS" : "VERIFIED (unjudged)", w->target, round,
				 activated ? "quote" : "full", res.verdict.reset_count,
				 res.verdict.restart_count, (unsigned long long)res.verdict.ima_entries, res.total_ms);
			/* A reboot was met by activating the AK again within the round. */
			activated = 1;
			if (res.verdict.reboot_seen)
				LOG_INFO("target %s rebooted (resetCount %u): AK activated again", w->target,
					 res.verdict.reset_count);
		} else {
			LOG_WARN("verdict FAIL target %s round %lu: %s: %s", w->target, round,
				 pull_stage_name(res.failed_stage), res.reason);
			activated = 0;
		}
		/* Waiting polls the channel, so a restarted attestor is
		 * reached again at once (rpc_channel_wait). */
		pull_wait(d, w->cfg->reattest_interval * 1000u, &pull_serve_wakes[w->index]);
		if (pull_serve_wakes[w->index] && !pull_serve_stopping) {
			LOG_INFO("target %s: attested now, as an operator asked", w->target);
			pull_serve_wakes[w->index] = 0;
		}
	}
	return NULL;
}

int pull_serve_run(const struct verifier_config *cfg)
{
	struct pull_serve_target *w;
	struct sigaction sa;
	struct store *store = NULL;
	struct hook *hook = NULL;
	struct window *window = NULL;
	int r = 0;

	if (cfg->ntargets == 0)
		return err_set(AERR_CONFIG, "serve in pull mode needs targets = HOST:PORT, ...");
	if (!(w = calloc(cfg->ntargets, sizeof(*w))))
		return err_set(AERR_ALLOC, "targets");
	pull_serve_stopping = 0;
	for (size_t i = 0; i < CONFIG_MAX_TARGETS; i++)
		pull_serve_wakes[i] = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pull_serve_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rpc_global_init();
	/* Drivers are opened here, one after the other: a problem with the trust
	 * stores or the database stops serve at once, and the first connection
	 * creates the database before any other opens it. */
	for (size_t i = 0; i < cfg->ntargets; i++) {
		w[i].cfg = cfg;
		w[i].target = cfg->targets[i];
		w[i].index = i;
		if ((r = pull_open(cfg, cfg->targets[i], &w[i].d)) != 0) {
			r = err_wrap(r, cfg->targets[i]);
			goto out;
		}
	}
	/* Nodes that stop proving their TPM at their target, and nodes no
	 * target attests any more, fail when their window runs out; old
	 * evidence goes. */
	if (cfg->state_dir && (cfg->reattest_window || cfg->evidence_retention_s) &&
	    ((r = store_open(cfg->state_dir, &store)) != 0 ||
	     (r = hook_start(cfg->hook, cfg->hook_timeout_ms, &hook)) != 0 ||
	     (r = window_start(store, hook, "pull", cfg->reattest_window, cfg->evidence_retention_s, &cfg->pcrs,
			       &window)) != 0))
		goto out;
	LOG_INFO("pull mode: attesting %zu targets every %u s", cfg->ntargets, cfg->reattest_interval);
	pthread_mutex_lock(&pull_serve_lock);
	pull_serve_table = w;
	pull_serve_n = cfg->ntargets;
	pthread_mutex_unlock(&pull_serve_lock);
	for (size_t i = 0; i < cfg->ntargets; i++) {
		if (pthread_create(&w[i].thread, NULL, pull_serve_target_loop, &w[i]) == 0)
			w[i].started = 1;
		else
			LOG_ERR("target %s: cannot start a thread", cfg->targets[i]);
	}
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
out:
	pthread_mutex_lock(&pull_serve_lock);
	pull_serve_table = NULL;
	pull_serve_n = 0;
	pthread_mutex_unlock(&pull_serve_lock);
	window_stop(window);
	hook_stop(hook);
	store_close(store);
	for (size_t i = 0; i < cfg->ntargets; i++)
		pull_close(w[i].d);
	rpc_global_shutdown();
	free(w);
	return r;
}
