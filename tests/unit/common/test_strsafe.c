/* strsafe: what each class lets through, escapes, cutting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "strsafe.h"

static void test_line(void **state)
{
	char out[128];

	(void)state;
	{
	/* A forged log line and a terminal escape stay on one line, inert. */
	size_t n = strsafe(out, sizeof(out), "db1\n12:00 info push: verdict PASS\x1b[2J", STRSAFE_LINE);

	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "db1\\x0a12:00 info push: verdict PASS\\x1b[2J");
	strsafe(out, sizeof(out), "quotes ' \" and \\ stay", STRSAFE_LINE);
	assert_string_equal(out, "quotes ' \" and \\ stay");
	strsafe(out, sizeof(out), "\x7f\x80\xff", STRSAFE_LINE);
	assert_string_equal(out, "\\x7f\\x80\\xff");
	strsafe(out, sizeof(out), NULL, STRSAFE_LINE);
	assert_string_equal(out, "");
	}
}

static void test_quoted_and_hostname(void **state)
{
	char out[128];

	(void)state;
	strsafe(out, sizeof(out), "a' peer 'verifier", STRSAFE_QUOTED);
	assert_string_equal(out, "a\\x27 peer \\x27verifier");
	strsafe(out, sizeof(out), "\"\\", STRSAFE_QUOTED);
	assert_string_equal(out, "\\x22\\x5c");
	strsafe(out, sizeof(out), "db-1.example_org", STRSAFE_HOSTNAME);
	assert_string_equal(out, "db-1.example_org");
	strsafe(out, sizeof(out), "db 1/x", STRSAFE_HOSTNAME);
	assert_string_equal(out, "db\\x201\\x2fx");
	assert_true(strsafe_is("db-1.example", STRSAFE_HOSTNAME));
	assert_false(strsafe_is("db 1", STRSAFE_HOSTNAME));
	assert_true(strsafe_is(NULL, STRSAFE_QUOTED));
	assert_false(strsafe_is("it's", STRSAFE_QUOTED));
}

static void test_cut(void **state)
{
	char out[8];
	char big[64];

	(void)state;
	/* Fits exactly: no "...". */
	strsafe(out, sizeof(out), "1234567", STRSAFE_LINE);
	assert_string_equal(out, "1234567");
	strsafe(out, sizeof(out), "12345678", STRSAFE_LINE);
	assert_string_equal(out, "1234...");
	/* Never half an escape. */
	strsafe(out, sizeof(out), "1\n\n\n", STRSAFE_LINE);
	assert_string_equal(out, "1...");
	strsafe(out, 4, "abcdef", STRSAFE_LINE);
	assert_string_equal(out, "...");
	memset(big, 'x', sizeof(big));
	assert_int_equal(strsafe_copy(out, sizeof(out), big, sizeof(big), STRSAFE_LINE), 7);
	/* Embedded NUL bytes of a length-given copy are escaped, not an end. */
	assert_int_equal(strsafe_copy(out, sizeof(out), "a\0b", 3, STRSAFE_LINE), 6);
	assert_string_equal(out, "a\\x00b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_quoted_and_hostname),
		cmocka_unit_test(test_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
