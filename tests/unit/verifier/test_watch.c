/* record/watch: every subscriber gets every change from its subscription
 * on, in order; one that falls behind gets what came before and then the
 * loss, never a gap; the table of subscribers is bounded; publishing
 * without subscribers does nothing. Publishers on several threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "record/watch.h"

static void publish(const char *node, const char *to, int64_t att)
{
	struct hook_event ev = { .node = node, .hostname = "h", .from = "passing", .to = to, .reason = "",
				 .mode = "push", .time_ms = 1000, .attestation_id = att };

	watch_publish(&ev);
}

static void test_order_and_fields(void **state)
{
	struct watch_sub *a, *b;
	struct watch_event *e;
	uint64_t first;

	(void)state;
	publish("before", "failed", 1); /* nobody watches: nothing kept */
	assert_int_equal(watch_subscribe(&a), 0);
	publish("n1", "failed", 2);
	assert_int_equal(watch_subscribe(&b), 0);
	assert_int_equal(watch_subscribers(), 2);
	publish("n2", "passing", 3);
	assert_int_equal(watch_next(a, 0, &e), 0);
	assert_string_equal(e->node, "n1");
	assert_string_equal(e->to, "failed");
	assert_string_equal(e->mode, "push");
	assert_int_equal(e->attestation_id, 2);
	assert_int_equal(e->time_ms, 1000);
	first = e->seq;
	watch_event_free(e);
	assert_int_equal(watch_next(a, 0, &e), 0);
	assert_string_equal(e->node, "n2");
	assert_int_equal(e->seq, first + 1);
	watch_event_free(e);
	assert_int_equal(watch_next(a, 20, &e), AERR_NOT_FOUND);
	assert_null(e);
	/* b subscribed after n1. */
	assert_int_equal(watch_next(b, 0, &e), 0);
	assert_string_equal(e->node, "n2");
	assert_int_equal(e->seq, first + 1);
	watch_event_free(e);
	watch_unsubscribe(a);
	watch_unsubscribe(b);
	assert_int_equal(watch_subscribers(), 0);
}

static void test_fell_behind(void **state)
{
	struct watch_sub *slow, *fast;
	struct watch_event *e;
	char node[32];

	(void)state;
	assert_int_equal(watch_subscribe(&slow), 0);
	assert_int_equal(watch_subscribe(&fast), 0);
	for (int i = 0; i < WATCH_QUEUE_MAX + 10; i++) {
		snprintf(node, sizeof(node), "n%d", i);
		publish(node, "failed", i + 1);
		if (watch_next(fast, 0, &e) == 0) {
			assert_string_equal(e->node, node);
			watch_event_free(e);
		} else {
			fail_msg("the reading subscriber lost event %d", i);
		}
	}
	/* The slow one is off the bus: the first WATCH_QUEUE_MAX, in order,
	 * then the loss, every time it asks. */
	assert_int_equal(watch_subscribers(), 1);
	for (int i = 0; i < WATCH_QUEUE_MAX; i++) {
		assert_int_equal(watch_next(slow, 0, &e), 0);
		snprintf(node, sizeof(node), "n%d", i);
		assert_string_equal(e->node, node);
		watch_event_free(e);
	}
	assert_int_equal(watch_next(slow, 0, &e), AERR_TOO_LARGE);
	assert_int_equal(watch_next(slow, 10, &e), AERR_TOO_LARGE);
	watch_unsubscribe(slow);
	watch_unsubscribe(fast);
}

static void test_bounded(void **state)
{
	struct watch_sub *s[WATCH_SUBSCRIBERS_MAX + 1];

	(void)state;
	for (int i = 0; i < WATCH_SUBSCRIBERS_MAX; i++)
		assert_int_equal(watch_subscribe(&s[i]), 0);
	assert_int_equal(watch_subscribe(&s[WATCH_SUBSCRIBERS_MAX]), AERR_TOO_LARGE);
	assert_null(s[WATCH_SUBSCRIBERS_MAX]);
	watch_unsubscribe(s[0]);
	assert_int_equal(watch_subscribe(&s[0]), 0);
	for (int i = 0; i < WATCH_SUBSCRIBERS_MAX; i++)
		watch_unsubscribe(s[i]);
	watch_unsubscribe(NULL);
}

#define THREADS 4
#define PER_THREAD 500

static void *publisher(void *arg)
{
	char node[16];

	snprintf(node, sizeof(node), "t%d", (int)(intptr_t)arg);
	for (int i = 0; i < PER_THREAD; i++)
		publish(node, "failed", i + 1);
	return NULL;
}

/* Each thread's changes arrive in its order, seq rises by one, none lost. */
static void test_threads(void **state)
{
	pthread_t t[THREADS];
	struct watch_sub *s;
	struct watch_event *e;
	int64_t last[THREADS] = { 0 };
	uint64_t seq = 0;

	(void)state;
	assert_int_equal(watch_subscribe(&s), 0);
	for (intptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, publisher, (void *)i), 0);
	for (int n = 0; n < THREADS * PER_THREAD; n++) {
		int k;

		assert_int_equal(watch_next(s, 5000, &e), 0);
		k = e->node[1] - '0';
		assert_int_equal(e->attestation_id, last[k] + 1);
		last[k] = e->attestation_id;
		if (seq)
			assert_int_equal(e->seq, seq + 1);
		seq = e->seq;
		watch_event_free(e);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	watch_unsubscribe(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_fields),
		cmocka_unit_test(test_fell_behind),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
