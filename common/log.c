#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "strsafe.h"

static int current_level = -1;

int log_level_parse(const char *text)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (text && strcmp(text, names[i]) == 0)
			return i;
	return -1;
}

enum log_level log_get_level(void)
{
	if (current_level < 0) {
		int l = log_level_parse(getenv("ATTEST_LOG_LEVEL"));
		current_level = l < 0 ? LOG_LEVEL_INFO : l;
	}
	return (enum log_level)current_level;
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	static const char *const tags[] = { "error", "warn", "info", "debug" };
	char line[1024], safe[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if ((int)level > (int)log_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* The edge where peer strings (hostnames, IMA paths, reasons quoting
	 * them) reach the log: a newline or a terminal escape in one must not
	 * start a forged line or drive the operator's terminal. */
	strsafe(safe, sizeof(safe), line, STRSAFE_LINE);
	/* One fprintf per line so concurrent threads do not interleave within a line. */
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, tags[level], module, safe);
}
