/* conf: the boolean and number spellings both programs' configs accept, and
 * the table-driven loader: every type, its refusals with file and line,
 * what the file gave, several tables for one section, sections of no table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "array.h"
#include "conf.h"
#include "fixtures.h"

static void test_bool(void **state)
{
	static const char *yes[] = { "true", "yes", "on", "1" }, *no[] = { "false", "no", "off", "0" };
	static const char *bad[] = { "", "True", "y", "2", "on ", "maybe" };
	int b;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		b = -1;
		assert_int_equal(conf_bool(yes[i], &b), 0);
		assert_int_equal(b, 1);
		assert_int_equal(conf_bool(no[i], &b), 0);
		assert_int_equal(b, 0);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(conf_bool(bad[i], &b), -1);
}

static void test_uint(void **state)
{
	static const char *bad[] = { "", "-1", "+5", " 5", "5 ", "5s", "0x10", "99999999999999999999999" };
	unsigned long n = 0;

	(void)state;
	assert_int_equal(conf_uint("300", 1, 86400, &n), 0);
	assert_int_equal(n, 300);
	assert_int_equal(conf_uint("1", 1, 1, &n), 0);
	assert_int_equal(conf_uint("0", 1, 10, &n), -1);
	assert_int_equal(conf_uint("11", 1, 10, &n), -1);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(conf_uint(bad[i], 0, 100, &n), -1);
}

struct t_cfg {
	int flag;
	uint16_t small;
	uint32_t ms;
	int pick;
	char name[8];
	char *dir;
	char where[64];
	struct conf_tls tls;
	int extra;
	int others;
};

static const struct conf_choice t_picks[] = { { "one", 1 }, { "two", 2 }, { "three", 3 }, { NULL, 0 } };

static int t_odd(struct conf_load *l, void *field, const char *v)
{
	if (strlen(v) % 2 == 0)
		return conf_fail(l, AERR_CONFIG, "odd: '%s' has an even length", v);
	*(int *)field = (int)strlen(v);
	return 1;
}

#define T struct t_cfg
static const struct conf_key t_keys[] = {
	CONF_KEY_BOOL(T, "flag", flag),
	CONF_KEY_UINT(T, "small", small, 1, 60000, 1, NULL),
	CONF_KEY_UINT(T, "secs", ms, 1, 3600, 1000, "seconds"),
	CONF_KEY_CHOICE(T, "pick", pick, t_picks),
	CONF_KEY_TEXT(T, "name", name, CONF_NOT_EMPTY),
	CONF_KEY_PATH(T, "dir", dir, CONF_ALLOC),
	CONF_KEY_TEXT(T, "where", where, CONF_HOSTPORT),
};
static const struct conf_key t_more[] = { CONF_KEY_FUNC(T, "odd", extra, t_odd) };
static const struct conf_section t_sections[] = {
	{ "main", t_keys, ARRAY_LEN(t_keys), 0 },
	{ "tls", conf_tls_keys, CONF_TLS_NKEYS, offsetof(T, tls) },
	{ "main", t_more, ARRAY_LEN(t_more), 0 },
};
#undef T

static int t_other(struct conf_load *l, const char *section, const char *name, const char *value)
{
	struct t_cfg *c = l->cfg;

	(void)name;
	(void)value;
	if (strcmp(section, "free") != 0)
		return -1;
	c->others++;
	return 1;
}

static char t_dir[64];

/* Load text into *c (zeroed); the loader's code. */
static int t_load(const char *text, struct t_cfg *c, struct conf_load *l)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.conf", t_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	memset(c, 0, sizeof(*c));
	memset(l, 0, sizeof(*l));
	l->sections = t_sections;
	l->nsections = ARRAY_LEN(t_sections);
	l->cfg = c;
	l->other = t_other;
	return conf_load(l, path);
}

static void t_refused(const char *text, const char *needle)
{
	struct t_cfg c;
	struct conf_load l;

	assert_int_equal(t_load(text, &c, &l), AERR_CONFIG);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
	free(c.dir);
}

static void test_loader(void **state)
{
	struct t_cfg c;
	struct conf_load l;
	char want[128];

	(void)state;
	fixture_tmpdir(t_dir, sizeof(t_dir), "test_conf");
	assert_int_equal(t_load("[main]\nflag = yes\nsmall = 60000\nsecs = 2\npick = three\nname = seven7\n"
				"dir = sub/x\nwhere = h:1\nodd = abc\n[tls]\nca = /ca.pem\ninsecure = on\n"
				"[free]\nanything = at all\n",
				&c, &l),
			 0);
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.small, 60000);
	assert_int_equal(c.ms, 2000);
	assert_int_equal(c.pick, 3);
	assert_string_equal(c.name, "seven7");
	snprintf(want, sizeof(want), "%s/sub/x", t_dir);
	assert_string_equal(c.dir, want);
	assert_string_equal(c.where, "h:1");
	assert_int_equal(c.extra, 3);
	assert_string_equal(c.tls.ca, "/ca.pem");
	assert_int_equal(c.tls.insecure, 1);
	assert_int_equal(c.others, 1);
	assert_true(conf_given(&l, "main", "secs"));
	assert_true(conf_given(&l, "main", "odd"));
	assert_true(conf_given(&l, "tls", "insecure"));
	assert_false(conf_given(&l, "tls", "cert"));
	assert_int_equal(conf_tls_check(&l, &c.tls), 0);
	free(c.dir);

	/* An empty path leaves the field unset; TLS without files and not insecure is refused. */
	assert_int_equal(t_load("[main]\ndir =\n[tls]\nca = ca.pem\n", &c, &l), 0);
	assert_null(c.dir);
	snprintf(want, sizeof(want), "%s/ca.pem", t_dir);
	assert_string_equal(c.tls.ca, want);
	assert_int_equal(conf_tls_check(&l, &c.tls), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "[tls] ca, cert and key are required"));

	t_refused("[main]\nflag = maybe\n", "t.conf:2: flag must be true or false, not 'maybe'");
	t_refused("[main]\n\nsmall = 60001\n", "t.conf:3: small must be 1..60000, not '60001'");
	t_refused("[main]\nsecs = 0\n", ":2: secs must be 1..3600 seconds, not '0'");
	t_refused("[main]\npick = four\n", ":2: pick must be one, two or three, not 'four'");
	t_refused("[main]\nname =\n", ":2: name is empty");
	t_refused("[main]\nname = eightchr\n", ":2: name is longer than 7 bytes");
	t_refused("[main]\nwhere = nohost\n", ":2: where must be HOST:PORT, not 'nohost'");
	t_refused("[main]\nodd = ab\n", ":2: odd: 'ab' has an even length");
	t_refused("[main]\nflg = 1\n", ":2: unknown key 'flg' in [main]");
	t_refused("[tls]\nverifier_identity = x\n", ":2: unknown key 'verifier_identity' in [tls]");
	t_refused("[mian]\nflag = 1\n", ":2: unknown section [mian]");
	t_refused("[main]\nflag\n", ":2: syntax error");
	/* Only the first problem is told. */
	t_refused("[main]\nflag = 2\nsmall = 0\n", ":2: flag");
	{
		struct t_cfg c2;
		struct conf_load l2;

		memset(&l2, 0, sizeof(l2));
		l2.sections = t_sections;
		l2.nsections = ARRAY_LEN(t_sections);
		l2.cfg = &c2;
		assert_int_equal(conf_load(&l2, "/nonexistent/t.conf"), AERR_CONFIG);
		assert_non_null(strstr(err_detail(), "/nonexistent/t.conf: cannot open"));
	}
	fixture_rmtree(t_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_loader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
