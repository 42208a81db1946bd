/* hex: both directions, both cases, every refusal; the id helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

static void test_round_trip(void **state)
{
	uint8_t all[256], back[256];
	char text[513];

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	hex_encode(all, sizeof(all), text);
	assert_int_equal(strlen(text), 512);
	assert_memory_equal(text, "000102", 6);
	assert_string_equal(text + 506, "fdfeff");
	assert_int_equal(hex_decode(text, 512, back, sizeof(back)), 256);
	assert_memory_equal(back, all, sizeof(all));
	assert_int_equal(hex_decode("DeAdBeEf", 8, back, 4), 4);
	assert_memory_equal(back, "\xde\xad\xbe\xef", 4);
	hex_encode(all, 0, text);
	assert_string_equal(text, "");
}

static void test_refusals(void **state)
{
	uint8_t out[4];

	(void)state;
	assert_int_equal(hex_decode("", 0, out, sizeof(out)), -1);
	assert_int_equal(hex_decode("abc", 3, out, sizeof(out)), -1);
	assert_int_equal(hex_decode("0g", 2, out, sizeof(out)), -1);
	assert_int_equal(hex_decode(" 0", 2, out, sizeof(out)), -1);
	assert_int_equal(hex_decode("0011223344", 10, out, sizeof(out)), -1); /* 5 bytes into 4 */
	assert_int_equal(hex_decode("00112233", 8, out, sizeof(out)), 4);
}

/* The id helpers: one spelling (lower case), numbers of 1..16 digits. */
static void test_ids(void **state)
{
	uint64_t n = 7;

	(void)state;
	assert_int_equal(hex_is_lower("0123456789abcdef", 16), 1);
	assert_int_equal(hex_is_lower("", 0), 1);
	assert_int_equal(hex_is_lower("0A", 2), 0);
	assert_int_equal(hex_is_lower("0g", 2), 0);
	assert_int_equal(hex_is_lower("ab\0", 3), 0);
	assert_int_equal(hex_number("ffffffffffffffff", 16, &n), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(hex_number("0000002a", 8, &n), 0);
	assert_true(n == 42);
	n = 7;
	assert_int_equal(hex_number("0", 0, &n), -1);
	assert_int_equal(hex_number("10000000000000000", 17, &n), -1);
	assert_int_equal(hex_number("12x4", 4, &n), -1);
	assert_true(n == 7); /* untouched on refusal */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
