/* pushid: the ids of push sessions opened by Hello, both ways; every
 * malformed id refused with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "push/pushid.h"
#include "array.h"

static void test_round_trip(void **state)
{
	static const uint32_t slots[] = { 0, 1, 0x2a, 0xffffffffu };
	uint8_t tag[PUSHID_TAG_LEN], back[PUSHID_TAG_LEN];
	char id[PUSHID_LEN + 1];
	uint32_t slot;

	(void)state;
	for (size_t i = 0; i < sizeof(tag); i++)
		tag[i] = (uint8_t)(0xf1 * i + 3);
	for (size_t i = 0; i < ARRAY_LEN(slots); i++) {
		pushid_format(slots[i], tag, id);
		assert_int_equal(strlen(id), PUSHID_LEN);
		assert_int_equal(pushid_parse(id, &slot, back), 0);
		assert_true(slot == slots[i]);
		assert_memory_equal(back, tag, sizeof(tag));
	}
	pushid_format(0x2a, tag, id);
	assert_memory_equal(id, "0000002a03", 10);
}

static void test_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"0000002a",                                   /* the slot alone */
		"0000002a0123456789abcdef0123456789abcde",    /* one digit short */
		"0000002a0123456789abcdef0123456789abcdef0",  /* one too many */
		"0000002A0123456789abcdef0123456789abcdef",   /* upper case */
		"0000002a0123456789abcdef0123456789abcdeg",   /* not a digit */
		" 000002a0123456789abcdef0123456789abcdef",   /* a space */
		"n000000000000002a0123456789abcdef0123456789abcdef", /* a pre-issued id */
	};
	uint8_t tag[PUSHID_TAG_LEN];
	uint32_t slot;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(pushid_parse(bad[i], &slot, tag), AERR_INVALID_ARG);
		assert_non_null(strstr(err_detail(), "40 lower-case hex digits"));
	}
	assert_int_equal(pushid_parse(NULL, &slot, tag), AERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
