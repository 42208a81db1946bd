/* common/metrics.h. */
#define LOG_MODULE "metrics"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "array.h"
#include "log.h"
#include "metrics.h"

enum family_type { COUNTER, GAUGE, HISTOGRAM };

static const struct family {
	const char *name, *help;
	enum family_type type;
} families[] = {
	{ "attest_attestations_total", "Verdicts recorded, by mode, result (pass, fail, unjudged) and failed step.",
	  COUNTER },
	{ "attest_attestation_seconds", "Time from an attestation's first call (pull: its round's start) to its "
	  "recorded verdict.", HISTOGRAM },
	{ "attest_rejected_total", "Attempts refused before the peer proved any node's TPM, by mode and step.",
	  COUNTER },
	{ "attest_store_commit_seconds", "Time of one store transaction that writes verdicts (a group commit).",
	  HISTOGRAM },
	{ "attest_push_sessions", "Push sessions open now.", GAUGE },
	{ "attest_hook_queue", "Node state change events waiting for the hook.", GAUGE },
	{ "attest_hook_dropped_total", "Events the hook's full queue dropped.", COUNTER },
	{ "attest_rpc_calls_total", "gRPC calls answered, by service and status.", COUNTER },
	{ "attest_tls_handshake_failures_total", "TLS handshakes gRPC refused (no client certificate, an unknown CA, "
	  "not TLS).", COUNTER },
	{ "attest_web_requests_total", "HTTPS requests to the dashboard and /metrics, by path and status.", COUNTER },
	{ "attest_results_signed_total", "Attestation results (EAR tokens) signed, by their status.", COUNTER },
};

/* Seconds: 1 ms to 30 s, the range of one attestation or one commit. */
static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
#define NBOUNDS ARRAY_LEN(bounds)

struct series {
	const struct family *f;
	char labels[160];
	double value;                 /* counter, gauge; histogram: the sum */
	uint64_t count;               /* histogram */
	uint64_t buckets[NBOUNDS];    /* histogram, not cumulative */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series series[METRICS_MAX_SERIES];
static size_t nseries;

static const struct family *family_of(const char *name)
{
	static int warned;

	for (size_t i = 0; i < ARRAY_LEN(families); i++)
		if (!strcmp(families[i].name, name))
			return &families[i];
	if (!warned) {
		warned = 1;
		LOG_ERR("no metric family %s", name);
	}
	return NULL;
}

/* The series of f with labels, made now when new; under the lock. */
static struct series *series_of(const struct family *f, const char *labels)
{
	static const char overflow[] = "overflow=\"true\"";

	if (strlen(labels) >= sizeof(series[0].labels))
		labels = overflow;
	for (size_t i = 0; i < nseries; i++)
		if (series[i].f == f && !strcmp(series[i].labels, labels))
			return &series[i];
	/* The last slots keep one overflow series per family. */
	if (nseries >= METRICS_MAX_SERIES - ARRAY_LEN(families) && labels != overflow)
		return series_of(f, overflow);
	if (nseries == METRICS_MAX_SERIES)
		return NULL;
	memset(&series[nseries], 0, sizeof(series[0]));
	series[nseries].f = f;
	snprintf(series[nseries].labels, sizeof(series[0].labels), "%s", labels);
	return &series[nseries++];
}

static void update(const char *family, const char *labels, int op, double v)
{
	const struct family *f = family_of(family);
	struct series *s;

	if (!f)
		return;
	pthread_mutex_lock(&lock);
	if ((s = series_of(f, labels ? labels : ""))) {
		if (op == 0)
			s->value += v;
		else if (op == 1)
			s->value = v;
		else {
			size_t b = 0;

			while (b < NBOUNDS && v > bounds[b])
				b++;
			if (b < NBOUNDS)
				s->buckets[b]++;
			s->count++;
			s->value += v;
		}
	}
	pthread_mutex_unlock(&lock);
}

void metrics_inc(const char *family, const char *labels, uint64_t by)
{
	update(family, labels, 0, (double)by);
}

void metrics_gauge_add(const char *family, const char *labels, double delta)
{
	update(family, labels, 0, delta);
}

void metrics_gauge_set(const char *family, const char *labels, double value)
{
	update(family, labels, 1, value);
}

void metrics_observe(const char *family, const char *labels, double seconds)
{
	update(family, labels, 2, seconds);
}

const char *metrics_label(const char *value, char *buf, size_t cap)
{
	size_t k = 0;

	for (const char *p = value ? value : ""; *p && k + 3 < cap; p++) {
		if (*p == '\\' || *p == '"') {
			buf[k++] = '\\';
			buf[k++] = *p;
		} else if (*p == '\n') {
			buf[k++] = '\\';
			buf[k++] = 'n';
		} else {
			buf[k++] = *p;
		}
	}
	buf[k] = '\0';
	return buf;
}

/* One sample line: NAME{LABELS,EXTRA} VALUE. */
static void sample(FILE *f, const char *name, const char *suffix, const char *labels, const char *extra, double v)
{
	int any = labels[0] || extra[0];

	fprintf(f, "%s%s%s%s%s%s%s %.17g\n", name, suffix, any ? "{" : "", labels, labels[0] && extra[0] ? "," : "",
		extra, any ? "}" : "", v);
}

static void format_family(FILE *f, const struct family *fam)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	int shown = 0;

	for (size_t i = 0; i < nseries; i++) {
		const struct series *s = &series[i];

		if (s->f != fam)
			continue;
		if (!shown++)
			fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, types[fam->type]);
		if (fam->type != HISTOGRAM) {
			sample(f, fam->name, "", s->labels, "", s->value);
			continue;
		}
		uint64_t cum = 0;
		char le[32];

		for (size_t b = 0; b < NBOUNDS; b++) {
			cum += s->buckets[b];
			snprintf(le, sizeof(le), "le=\"%g\"", bounds[b]);
			sample(f, fam->name, "_bucket", s->labels, le, (double)cum);
		}
		sample(f, fam->name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count);
		sample(f, fam->name, "_sum", s->labels, "", s->value);
		sample(f, fam->name, "_count", s->labels, "", (double)s->count);
	}
	/* A family nothing counted yet still says what it would count:
	 * a counter at 0, so that rate() has a start. */
	if (!shown && fam->type == COUNTER)
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", fam->name, fam->help, fam->name);
}

/* RSS from /proc/self/statm, CPU from getrusage. */
static void format_process(FILE *f)
{
	struct rusage ru;
	long pages = 0, rss = 0;
	FILE *statm = fopen("/proc/self/statm", "r");

	if (statm) {
		if (fscanf(statm, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(statm);
	}
	fprintf(f, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
		   "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n",
		rss * sysconf(_SC_PAGESIZE));
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		fprintf(f, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
			   "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.6f\n",
			(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
				(double)ru.ru_stime.tv_usec / 1e6);
}

int metrics_format(const char *extra, char **out, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t n = 0;

	*out = NULL;
	*len = 0;
	if (!(f = open_memstream(&buf, &n)))
		return err_set(AERR_ALLOC, "metrics: out of memory");
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ARRAY_LEN(families); i++)
		format_family(f, &families[i]);
	pthread_mutex_unlock(&lock);
	if (extra)
		fputs(extra, f);
	format_process(f);
	if (fclose(f) != 0) {
		free(buf);
		return err_set(AERR_ALLOC, "metrics: out of memory");
	}
	*out = buf;
	*len = n;
	return 0;
}

void metrics_reset(void)
{
	pthread_mutex_lock(&lock);
	nseries = 0;
	pthread_mutex_unlock(&lock);
}
