/* metrics: counters, gauges and histograms in the exposition format; label
 * escaping; the series bound; threads counting at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static char *format(void)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(metrics_format("extra_line 1\n", &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_families(void **state)
{
	char *out;

	(void)state;
	metrics_reset();
	metrics_inc("attest_attestations_total", "mode=\"push\",result=\"pass\"", 2);
	metrics_inc("attest_attestations_total", "mode=\"push\",result=\"pass\"", 1);
	metrics_gauge_set("attest_push_sessions", "", 5);
	metrics_gauge_add("attest_push_sessions", "", -2);
	metrics_observe("attest_store_commit_seconds", "", 0.003);
	metrics_observe("attest_store_commit_seconds", "", 100);
	metrics_inc("no_such_family", "", 1); /* ignored, logged once */
	out = format();
	assert_non_null(strstr(out, "# TYPE attest_attestations_total counter\n"
				    "attest_attestations_total{mode=\"push\",result=\"pass\"} 3\n"));
	assert_non_null(strstr(out, "# TYPE attest_push_sessions gauge\nattest_push_sessions 3\n"));
	/* Cumulative buckets: 0.003 is in le=0.005 and above, 100 only in +Inf. */
	assert_non_null(strstr(out, "attest_store_commit_seconds_bucket{le=\"0.0025\"} 0\n"));
	assert_non_null(strstr(out, "attest_store_commit_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(out, "attest_store_commit_seconds_bucket{le=\"30\"} 1\n"));
	assert_non_null(strstr(out, "attest_store_commit_seconds_bucket{le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(out, "attest_store_commit_seconds_sum 100.003"));
	assert_non_null(strstr(out, "attest_store_commit_seconds_count 2\n"));
	/* A counter nothing counted still has its HELP and TYPE. */
	assert_non_null(strstr(out, "# TYPE attest_rejected_total counter\n"));
	assert_null(strstr(out, "no_such_family"));
	assert_non_null(strstr(out, "extra_line 1\n"));
	assert_non_null(strstr(out, "process_resident_memory_bytes "));
	assert_non_null(strstr(out, "process_cpu_seconds_total "));
	free(out);
}

static void test_labels(void **state)
{
	char buf[64], labels[128];
	char *out;

	(void)state;
	assert_string_equal(metrics_label("a\"b\\c\nd", buf, sizeof(buf)), "a\\\"b\\\\c\\nd");
	/* Truncated, never cut inside an escape. */
	assert_string_equal(metrics_label("\"\"\"\"", buf, 6), "\\\"\\\"");
	assert_string_equal(metrics_label("\"\"\"\"", buf, 5), "\\\"");
	metrics_reset();
	snprintf(labels, sizeof(labels), "mode=\"push\",step=\"%s\"", metrics_label("x\"}\ny 1", buf, sizeof(buf)));
	metrics_inc("attest_rejected_total", labels, 1);
	out = format();
	assert_non_null(strstr(out, "attest_rejected_total{mode=\"push\",step=\"x\\\"}\\ny 1\"} 1\n"));
	free(out);
}

/* More label values than series: the rest are counted in {overflow="true"},
 * nothing is lost and the text stays bounded. */
static void test_bound(void **state)
{
	char labels[64], *out, *p;
	uint64_t total = 0;

	(void)state;
	metrics_reset();
	for (int i = 0; i < 2 * METRICS_MAX_SERIES; i++) {
		snprintf(labels, sizeof(labels), "step=\"s%d\"", i);
		metrics_inc("attest_rejected_total", labels, 1);
	}
	metrics_gauge_set("attest_hook_queue", "", 7);
	out = format();
	for (p = out; (p = strstr(p, "\nattest_rejected_total{")); p++)
		total += strtoull(strchr(p, '}') + 2, NULL, 10);
	assert_int_equal(total, 2 * METRICS_MAX_SERIES);
	assert_non_null(strstr(out, "attest_rejected_total{overflow=\"true\"} "));
	/* Another family still has its own overflow slot. */
	assert_non_null(strstr(out, "attest_hook_queue{overflow=\"true\"} 7\n"));
	free(out);
}

static void *count_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10000; i++)
		metrics_inc("attest_rpc_calls_total", "service=\"x\",status=\"OK\"", 1);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	char *out;

	(void)state;
	metrics_reset();
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count_many, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	out = format();
	assert_non_null(strstr(out, "attest_rpc_calls_total{service=\"x\",status=\"OK\"} 40000\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
