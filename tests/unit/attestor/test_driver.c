/* The push driver's retry schedule: exponential, capped, jittered into
 * [d/2, d] so attestors that booted together spread out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "driver.h"

static void test_backoff_bounds(void **state)
{
	(void)state;
	/* Lowest and highest random draw at each attempt. */
	assert_int_equal(driver_backoff_ms(500, 30000, 0, 0), 250);
	assert_int_equal(driver_backoff_ms(500, 30000, 0, UINT32_MAX), 500);
	assert_int_equal(driver_backoff_ms(500, 30000, 1, UINT32_MAX), 1000);
	assert_int_equal(driver_backoff_ms(500, 30000, 3, UINT32_MAX), 4000);
	assert_int_equal(driver_backoff_ms(500, 30000, 3, 0), 2000);
	/* Capped, and no overflow however many attempts. */
	assert_int_equal(driver_backoff_ms(500, 30000, 6, UINT32_MAX), 30000);
	assert_int_equal(driver_backoff_ms(500, 30000, 1000, UINT32_MAX), 30000);
	assert_int_equal(driver_backoff_ms(500, 30000, 1000, 0), 15000);
	/* A zero first step still waits. */
	assert_true(driver_backoff_ms(0, 30000, 0, UINT32_MAX) >= 1);
}

static void test_backoff_monotone_spread(void **state)
{
	(void)state;
	for (unsigned a = 0; a < 12; a++) {
		uint32_t lo = driver_backoff_ms(200, 10000, a, 0);
		uint32_t mid = driver_backoff_ms(200, 10000, a, UINT32_MAX / 2);
		uint32_t hi = driver_backoff_ms(200, 10000, a, UINT32_MAX);

		assert_true(lo <= mid && mid <= hi);
		assert_true(hi <= 10000);
		assert_true(lo >= hi / 2);
		if (a > 0)
			assert_true(hi >= driver_backoff_ms(200, 10000, a - 1, UINT32_MAX));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_backoff_monotone_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
