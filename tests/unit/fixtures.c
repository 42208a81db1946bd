#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eventlog.h"
#include "fixtures.h"

uint8_t *fixture_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

void fixture_tmpdir(char *dir, size_t cap, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	assert_true((size_t)snprintf(dir, cap, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name) < cap);
	assert_non_null(mkdtemp(dir));
}

void fixture_rmtree(const char *dir)
{
	char cmd[4200];

	assert_null(strchr(dir, '\''));
	assert_true((size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) < sizeof(cmd));
	assert_int_equal(system(cmd), 0);
}

const char *fixture_testdata(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("TESTDATA_DIR");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : TESTDATA_DIR, rel);
	return path;
}

const char *fixture_source(const char *rel)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", SOURCE_DIR, rel);
	return path;
}

int fixture_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)n / 2;
}

void fixture_log_load(const char *name, struct fixture_log *c)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "eventlog/%s", name);
	memset(c, 0, sizeof(*c));
	if (!(c->buf = fixture_read(fixture_testdata(rel), &c->len)))
		fail_msg("cannot read %s", fixture_testdata(rel));
	fixture_log_reparse(c);
}

void fixture_log_reparse(struct fixture_log *c)
{
	eventlog_free(c->log);
	c->log = NULL;
	if (eventlog_parse(c->buf, c->len, &c->log) != 0)
		fail_msg("event log: %s", err_detail());
}

void fixture_log_free(struct fixture_log *c)
{
	eventlog_free(c->log);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}
