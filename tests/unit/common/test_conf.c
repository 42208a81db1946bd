/* conf: the boolean and number spellings both programs' configs accept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "array.h"
#include "conf.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
