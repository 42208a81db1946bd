/* common/utf8: what is valid UTF-8 and what becomes U+FFFD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static size_t seq(const char *s)
{
	return utf8_seq((const unsigned char *)s, strlen(s));
}

static void test_seq(void **state)
{
	(void)state;
	assert_int_equal(seq("a"), 1);
	assert_int_equal(seq("\xc3\xa9"), 2);          /* é */
	assert_int_equal(seq("\xe2\x82\xac"), 3);      /* € */
	assert_int_equal(seq("\xf0\x9f\x98\x80"), 4);  /* U+1F600 */
	assert_int_equal(seq("\xc0\xaf"), 0);          /* overlong '/' */
	assert_int_equal(seq("\xe0\x80\xaf"), 0);      /* overlong, three bytes */
	assert_int_equal(seq("\xed\xa0\x80"), 0);      /* a surrogate */
	assert_int_equal(seq("\xf4\x90\x80\x80"), 0);  /* past U+10FFFF */
	assert_int_equal(seq("\xe2\x82"), 0);          /* cut short */
	assert_int_equal(seq("\x80"), 0);              /* a continuation alone */
	assert_int_equal(seq("\xff"), 0);
}

static void test_clean(void **state)
{
	const char in[] = "ok\xff" "caf\xc3\xa9\xed\xa0\x80" "<";
	char out[3 * sizeof(in) + 1];
	size_t n = utf8_clean(out, in, strlen(in));

	(void)state;
	/* Each bad byte of the surrogate is one U+FFFD: nothing is read past
	 * what is valid. */
	assert_string_equal(out, "ok\xef\xbf\xbd" "caf\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd<");
	assert_int_equal(n, strlen(out));
	assert_int_equal(utf8_clean(out, "", 0), 0);
	assert_string_equal(out, "");
}

static void test_cut(void **state)
{
	const char *s = "ab\xe2\x82\xac" "c";

	(void)state;
	assert_int_equal(utf8_cut(s, 2), 2);  /* before € */
	assert_int_equal(utf8_cut(s, 3), 2);  /* would split € */
	assert_int_equal(utf8_cut(s, 4), 2);
	assert_int_equal(utf8_cut(s, 5), 5);  /* after € */
	assert_int_equal(utf8_cut("\x80\x80\x80\x80\x80", 4), 4); /* no start to go back to */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
