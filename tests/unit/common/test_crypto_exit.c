/* crypto_process_init: OpenSSL keeps working while the process exits, for a
 * thread that is still finishing then, as gRPC's detached workers may be.
 *
 * Without it OpenSSL frees its state from an atexit handler. A thread that
 * uses it afterwards gets failures, and the random generators it already had
 * are left behind (LeakSanitizer's report in CI: 328-byte objects per thread,
 * whose keys the cleanup had deleted). The check runs in an atexit handler
 * registered before OpenSSL's would be, so it runs after it. Not cmocka: the
 * subject is the process's own exit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started, go;
static int late_result = -1;
static pthread_t worker;

static void *worker_main(void *arg)
{
	unsigned char buf[32];
	int r;

	(void)arg;
	/* Gives this thread its own random generators, as a TLS handshake does. */
	r = crypto_random(buf, sizeof(buf));
	pthread_mutex_lock(&mu);
	started = r == 0 ? 1 : -1;
	pthread_cond_broadcast(&cv);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	/* The process is exiting now. */
	late_result = crypto_random(buf, sizeof(buf));
	return NULL;
}

static void at_exit_check(void)
{
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(worker, NULL);
	if (late_result != 0) {
		fprintf(stderr, "FAIL: a thread's crypto_random failed while the process exited (%d): "
				"OpenSSL was cleaned up under it\n", late_result);
		_exit(1);
	}
	printf("ok: OpenSSL still serves a thread that finishes while the process exits\n");
}

int main(void)
{
	/* Registered before OpenSSL initialises, so it runs after OpenSSL's own
	 * atexit handler, if there is one. */
	atexit(at_exit_check);
	crypto_process_init();
	if (pthread_create(&worker, NULL, worker_main, NULL) != 0) {
		fprintf(stderr, "FAIL: pthread_create\n");
		return 1;
	}
	pthread_mutex_lock(&mu);
	while (!started)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	if (started < 0) {
		fprintf(stderr, "FAIL: crypto_random in the worker\n");
		return 1;
	}
	return 0;
}
