/* IMA allowlist over a real list (the first 1000 entries of ACS's ima-sig
 * list): the allowlist of every (path, digest) passes; one path missing, one
 * digest altered, each fails and is named, and every failure is counted;
 * exclude patterns; violations; malformed policy files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "imapolicy.h"

#define N 1000

static char path[64];
static uint8_t *buf;
static struct ima_list *list;

static int setup(void **state)
{
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_imapolicy.%d.json", (int)getpid());
	buf = fixture_read(fixture_testdata("ima/acs-imasig.bin"), &len);
	assert_non_null(buf);
	assert_int_equal(ima_parse(buf, len, 0, &list), 0);
	assert_true(list->nentries >= N);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	ima_list_free(list);
	free(buf);
	return 0;
}

/* s as a JSON string body: these paths hold backslashes (systemd escapes). */
static void json_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* The allowlist of entries [0, N) except `skip` (-1: none), the entry `alter`
 * with a changed digest (-1: none), plus `extra` keys. */
static struct imapolicy *allowlist(long skip, long alter, const char *extra)
{
	FILE *f = fopen(path, "w");
	struct imapolicy *p = NULL;
	int first = 1;

	assert_non_null(f);
	fprintf(f, "{%s\"allow\": {", extra);
	for (long i = 0; i < N; i++) {
		const struct ima_entry *e = &list->entries[i];
		if (i == skip || !e->path || !e->digest)
			continue;
		/* JSON object keys are unique: a path measured twice lists both digests. */
		int dup = 0;
		for (long j = 0; j < i && !dup; j++)
			dup = list->entries[j].path && !strcmp(list->entries[j].path, e->path) && j != skip;
		if (dup)
			continue;
		fprintf(f, "%s\n\"", first ? "" : ",");
		json_str(f, e->path);
		fprintf(f, "\": [");
		first = 0;
		int n = 0;
		for (long j = i; j < N; j++) {
			const struct ima_entry *o = &list->entries[j];
			if (!o->path || strcmp(o->path, e->path) || !o->digest)
				continue;
			fprintf(f, "%s\"%s:", n++ ? "," : "", o->digest_alg_name);
			for (uint32_t k = 0; k < o->digest_len; k++)
				fprintf(f, "%02x", (uint8_t)(o->digest[k] ^ (j == alter && k == 0 ? 1 : 0)));
			fprintf(f, "\"");
		}
		fprintf(f, "]");
	}
	fprintf(f, "}}\n");
	fclose(f);
	if (imapolicy_load(path, &p) != 0)
		fail_msg("%s", err_detail());
	return p;
}

static void test_allowlist(void **state)
{
	struct imapolicy *p;
	size_t paths, digests, excludes;

	(void)state;
	p = allowlist(-1, -1, "");
	imapolicy_counts(p, &paths, &digests, &excludes);
	assert_true(paths > 500 && digests >= paths);
	assert_int_equal(excludes, 0);
	assert_int_equal(imapolicy_check(p, list, N), 0);
	/* Entries beyond what the quote vouches for are not judged. */
	assert_int_equal(imapolicy_check(p, list, 10), 0);
	imapolicy_free(p);

	/* Entry 123's path unknown; entry 456's digest altered. */
	p = allowlist(123, -1, "");
	assert_int_equal(imapolicy_check(p, list, N), AERR_LOG_POLICY);
	assert_non_null(strstr(err_detail(), list->entries[123].path));
	assert_non_null(strstr(err_detail(), "not in the allowlist"));
	imapolicy_free(p);
	p = allowlist(-1, 456, "");
	assert_int_equal(imapolicy_check(p, list, N), AERR_LOG_POLICY);
	assert_non_null(strstr(err_detail(), list->entries[456].path));
	assert_non_null(strstr(err_detail(), "digest not allowed"));
	assert_non_null(strstr(err_detail(), "1 of 1000"));
	/* Not yet vouched for by the quote: not judged. */
	assert_int_equal(imapolicy_check(p, list, 456), 0);
	imapolicy_free(p);
}

static void test_exclude_and_empty(void **state)
{
	char extra[512];
	struct imapolicy *p;
	const char *path123 = list->entries[123].path;
	size_t failed;

	(void)state;
	/* The path left out is excluded by an anchored pattern of its own. */
	snprintf(extra, sizeof(extra), "\"exclude\": [\"^%s$\"], ", path123);
	p = allowlist(123, -1, extra);
	assert_int_equal(imapolicy_check(p, list, N), 0);
	imapolicy_free(p);

	/* An empty allowlist: every entry with a path fails, all are counted. */
	{
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("{\"allow\": {}}", f);
		fclose(f);
	}
	assert_int_equal(imapolicy_load(path, &p), 0);
	assert_int_equal(imapolicy_check(p, list, N), AERR_LOG_POLICY);
	assert_int_equal(sscanf(err_detail(), "%zu of 1000", &failed), 1);
	assert_int_equal(failed, N);
	imapolicy_free(p);
}

static void test_violations(void **state)
{
	size_t len;
	uint8_t *vbuf = fixture_read(fixture_testdata("ima/tss-sml-ima-sha1-invalidated.bin"), &len);
	struct ima_list *vl = NULL;
	struct imapolicy *p = NULL;
	FILE *f;
	int found = 0;

	(void)state;
	assert_non_null(vbuf);
	assert_int_equal(ima_parse(vbuf, len, 0, &vl), 0);
	for (size_t i = 0; i < vl->nentries; i++)
		found |= vl->entries[i].violation;
	assert_true(found);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"exclude\": [\".*\"]}", f);
	fclose(f);
	assert_int_equal(imapolicy_load(path, &p), 0);
	assert_int_equal(imapolicy_check(p, vl, vl->nentries), AERR_LOG_POLICY);
	assert_non_null(strstr(err_detail(), "violation"));
	imapolicy_free(p);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"exclude\": [\".*\"], \"allow_violations\": true}", f);
	fclose(f);
	assert_int_equal(imapolicy_load(path, &p), 0);
	assert_int_equal(imapolicy_check(p, vl, vl->nentries), 0);
	imapolicy_free(p);
	ima_list_free(vl);
	free(vbuf);
}

static void load_fails(const char *json, const char *needle)
{
	struct imapolicy *p = (void *)1;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	assert_int_equal(imapolicy_load(path, &p), AERR_CONFIG);
	assert_null(p);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static void test_bad_files(void **state)
{
	(void)state;
	load_fails("{\"alow\": {}}", "unknown key \"alow\"");
	load_fails("{\"allow\": {\"/bin/sh\": \"sha256:00\"}}", "a list of digests");
	load_fails("{\"allow\": {\"/bin/sh\": [\"sha256:0\"]}}", "entry 0 is not");
	load_fails("{\"allow\": {\"/bin/sh\": [\"00ff\"]}}", "entry 0 is not");
	load_fails("{\"exclude\": [\"(\"]}", "exclude \"(\"");
	load_fails("{\"exclude\": \"^/tmp\"}", "must be a list");
	load_fails("{\"allow_violations\": 1}", "allow_violations must be true or false");
	load_fails("[]", "must be a JSON object");
	load_fails("{", path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowlist),
		cmocka_unit_test(test_exclude_and_empty),
		cmocka_unit_test(test_violations),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
