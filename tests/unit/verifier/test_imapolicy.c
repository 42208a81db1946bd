/* IMA allowlist over a real list (the first 1000 entries of ACS's ima-sig
 * list): the allowlist of every (path, digest) passes; one path missing, one
 * digest altered, each fails and is named, and every failure is counted;
 * exclude patterns; violations; malformed policy files. Signatures over
 * keys made at test time (tests/tools/imasig_make.sh): good ones pass, and a
 * tampered file, an unknown key and a missing required signature each fail
 * the file, named with its reason, all counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "array.h"
#include "fixtures.h"
#include "policy/imapolicy.h"
#include "imasig_fixture.h"

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
	/* Patterns regcomp would expand beyond any memory. */
	load_fails("{\"exclude\": [\"^/tmp/+++++++\"]}", "a duplication symbol follows another");
	load_fails("{\"exclude\": [\"^/tmp/(a*)?\", \"x{2,9}\"]}", "intervals");
	load_fails("{\"exclude\": [\"(((((((((a)))))))))\"]}", "nested deeper than 8");
	{
		char big[700];

		snprintf(big, sizeof(big), "{\"exclude\": [\"%0600d\"]}", 0);
		load_fails(big, "longer than 512");
	}
	load_fails("{\"allow_violations\": 1}", "allow_violations must be true or false");
	load_fails("[]", "must be a JSON object");
	load_fails("{", path);
}

/* Signed entries: path i is /usr/bin/sN. */
static const struct {
	const char *sig;      /* signature file, NULL: none */
	const char *file;     /* file whose digest is measured */
	const char *tmpl;
} signed_entries[] = {
	{ "rsa", "rsa", "ima-sig" },      /* 0 good */
	{ "ec", "ec", "ima-sig" },        /* 1 good */
	{ "rsa", "ec", "ima-sig" },       /* 2 tampered: another file's digest */
	{ "other", "other", "ima-sig" },  /* 3 unknown key */
	{ NULL, "rsa", "ima-sig" },       /* 4 no signature (empty sig field) */
	{ NULL, "ec", "ima-ng" },         /* 5 no sig field at all */
	{ NULL, "rsa", "ima-sig" },       /* 6 no signature, under /opt: not required by pattern */
};

#define NSIGNED ARRAY_LEN(signed_entries)

static char sigdir[64];
static struct ima_list *siglist;
static uint8_t siglist_buf[NSIGNED * 4096];

static void signed_list(void)
{
	size_t n = 0;

	if (siglist)
		return;
	assert_int_equal(imasig_fx_make(sigdir, ""), 0);
	for (size_t i = 0; i < NSIGNED; i++) {
		uint8_t digest[32], *sig = NULL;
		size_t sig_len = 0;
		char name[64], file[64];

		assert_int_equal(imasig_fx_digest(sigdir, signed_entries[i].file, TPM2_ALG_SHA256, digest), 0);
		if (signed_entries[i].sig) {
			snprintf(file, sizeof(file), "file-%s.sig", signed_entries[i].sig);
			assert_non_null(sig = imasig_fx_read(sigdir, file, &sig_len));
		}
		snprintf(name, sizeof(name), "%s/s%zu", i == 6 ? "/opt" : "/usr/bin", i);
		n += imasig_fx_entry(siglist_buf + n, signed_entries[i].tmpl, "sha256:", digest, 32, name, sig, sig_len);
		free(sig);
	}
	assert_int_equal(ima_parse(siglist_buf, n, 0, &siglist), 0);
	assert_int_equal(siglist->nentries, NSIGNED);
}

/* A policy: keys (in sigdir, by relative names when relative), the signed
 * entries' digests allowed, plus extra keys. */
static struct imapolicy *signed_policy(const char *keys, const char *extra, int allow)
{
	char file[128];
	struct imapolicy *p = NULL;
	FILE *f;

	snprintf(file, sizeof(file), "%s/policy.json", sigdir);
	assert_non_null(f = fopen(file, "w"));
	fprintf(f, "{\"keys\": [%s], %s \"allow\": {", keys, extra);
	for (size_t i = 0; allow && i < siglist->nentries; i++) {
		const struct ima_entry *e = &siglist->entries[i];
		fprintf(f, "%s\"%s\": [\"sha256:", i ? "," : "", e->path);
		for (uint32_t k = 0; k < e->digest_len; k++)
			fprintf(f, "%02x", e->digest[k]);
		fprintf(f, "\"]");
	}
	fprintf(f, "}}\n");
	fclose(f);
	if (imapolicy_load(file, &p) != 0)
		fail_msg("%s", err_detail());
	return p;
}

static void expect_failure(const char *detail, size_t i, const char *why)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "/s%zu (", i);
	const char *at = strstr(detail, needle);
	if (!at || !strstr(at, why))
		fail_msg("entry %zu: \"%s\" not reported in \"%s\"", i, why, detail);
}

static void test_signatures(void **state)
{
	struct imapolicy *p;
	const char *d;

	(void)state;
	signed_list();
	/* Signatures checked where present; none required. */
	p = signed_policy("\"rsa.der\", \"ec.pem\"", "", 1);
	assert_int_equal(imapolicy_check(p, siglist, 2), 0);
	assert_int_equal(imapolicy_check(p, siglist, NSIGNED), AERR_LOG_POLICY);
	d = err_detail();
	assert_non_null(strstr(d, "2 of 7 IMA entries"));
	expect_failure(d, 2, "does not verify");
	expect_failure(d, 3, "not a trusted key");
	imapolicy_free(p);

	/* Required for every file: the unsigned ones fail too, every failure counted. */
	p = signed_policy("\"rsa.der\", \"ec.pem\"", "\"require_signatures\": true,", 1);
	assert_int_equal(imapolicy_check(p, siglist, NSIGNED), AERR_LOG_POLICY);
	d = err_detail();
	assert_non_null(strstr(d, "5 of 7 IMA entries"));
	expect_failure(d, 2, "does not verify");
	expect_failure(d, 3, "not a trusted key");
	expect_failure(d, 4, "no IMA signature, and one is required");
	expect_failure(d, 5, "no IMA signature, and one is required");
	expect_failure(d, 6, "no IMA signature, and one is required");
	assert_null(strstr(d, "/s0 ("));
	assert_null(strstr(d, "/s1 ("));
	imapolicy_free(p);

	/* Required by pattern: /opt/s6 is not; an excluded path is not judged. */
	p = signed_policy("\"rsa.der\", \"ec.pem\"",
			  "\"require_signatures\": [\"^/usr/bin/\"], \"exclude\": [\"^/usr/bin/s3$\"],", 1);
	assert_int_equal(imapolicy_check(p, siglist, NSIGNED), AERR_LOG_POLICY);
	d = err_detail();
	assert_non_null(strstr(d, "3 of 7 IMA entries"));
	assert_null(strstr(d, "/s3 ("));
	assert_null(strstr(d, "/s6 ("));
	imapolicy_free(p);

	/* Only the EC key trusted: the RSA signature's key is unknown. */
	p = signed_policy("\"ec.pem\"", "", 1);
	assert_int_equal(imapolicy_check(p, siglist, 2), AERR_LOG_POLICY);
	expect_failure(err_detail(), 0, "not a trusted key");
	imapolicy_free(p);

	/* No allowlist: good signatures pass only with allow_signed. */
	p = signed_policy("\"rsa.der\", \"ec.pem\"", "", 0);
	assert_int_equal(imapolicy_check(p, siglist, 2), AERR_LOG_POLICY);
	expect_failure(err_detail(), 0, "not in the allowlist");
	imapolicy_free(p);
	p = signed_policy("\"rsa.der\", \"ec.pem\"", "\"allow_signed\": true,", 0);
	assert_int_equal(imapolicy_check(p, siglist, 2), 0);
	assert_int_equal(imapolicy_check(p, siglist, NSIGNED), AERR_LOG_POLICY);
	d = err_detail();
	assert_non_null(strstr(d, "5 of 7 IMA entries"));
	expect_failure(d, 4, "not in the allowlist");
	imapolicy_free(p);
}

static void signed_load_fails(const char *keys, const char *extra, const char *needle)
{
	char file[128];
	struct imapolicy *p = (void *)1;
	FILE *f;

	snprintf(file, sizeof(file), "%s/policy.json", sigdir);
	assert_non_null(f = fopen(file, "w"));
	if (keys)
		fprintf(f, "{\"keys\": [%s] %s}", keys, extra);
	else
		fprintf(f, "{%s}", extra);
	fclose(f);
	assert_int_equal(imapolicy_load(file, &p), AERR_CONFIG);
	assert_null(p);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static void test_signature_config(void **state)
{
	(void)state;
	signed_list();
	signed_load_fails(NULL, "\"require_signatures\": true", "need \"keys\"");
	signed_load_fails(NULL, "\"allow_signed\": true", "need \"keys\"");
	signed_load_fails(NULL, "\"keys\": []", "non-empty list");
	signed_load_fails("\"rsa.key\"", "", "private key");
	signed_load_fails("\"absent.pem\"", "", "absent.pem");
	signed_load_fails("\"rsa.der\"", ", \"require_signatures\": 1", "require_signatures must be true or false");
	signed_load_fails("\"rsa.der\"", ", \"require_signatures\": [\"(\"]", "require_signatures \"(\"");
}

static int teardown_signed(void **state)
{
	(void)state;
	ima_list_free(siglist);
	siglist = NULL;
	if (sigdir[0])
		imasig_fx_remove(sigdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowlist),
		cmocka_unit_test(test_exclude_and_empty),
		cmocka_unit_test(test_violations),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test_teardown(test_signature_config, teardown_signed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
