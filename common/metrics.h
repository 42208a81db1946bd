/* The process's metrics, as Prometheus' text exposition format (0.0.4)
 * shows them: a fixed list of families (metrics.c names and explains
 * each), series by label values made at the first use. Updating one is a
 * lock and an add: the places that count (a verdict, a store commit, a
 * call) happen at most a few thousand times a second. At most
 * METRICS_MAX_SERIES series: later new label values are counted in the
 * family's series {overflow="true"} instead. Thread-safe. */
#ifndef ATTEST_METRICS_H
#define ATTEST_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define METRICS_MAX_SERIES 512

/* labels: the series' label pairs as the exposition writes them
 * (mode="push",result="pass"), "" for none; values the caller made safe
 * (metrics_label). An unknown family name is a no-op (a bug, logged once). */
void metrics_inc(const char *family, const char *labels, uint64_t by);
void metrics_gauge_add(const char *family, const char *labels, double delta);
void metrics_gauge_set(const char *family, const char *labels, double value);
/* A histogram's observation, in seconds. */
void metrics_observe(const char *family, const char *labels, double seconds);

/* value escaped as a label value (backslash, quote, newline) into buf. */
const char *metrics_label(const char *value, char *buf, size_t cap);

/* Every family, then extra (the caller's own lines, already formatted;
 * NULL none), then the process's RSS and CPU time: *out malloc'd. */
int metrics_format(const char *extra, char **out, size_t *len) ATTEST_WUR;

/* Forget every series (tests). */
void metrics_reset(void);

#endif
