/* err: details, wrapping, and the operator-only part a peer is never told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"

static void test_public_is_all_by_default(void **state)
{
	(void)state;
	assert_int_equal(err_set(AERR_PARSE, "EK public: %d trailing bytes", 3), AERR_PARSE);
	assert_string_equal(err_detail(), "EK public: 3 trailing bytes");
	assert_string_equal(err_public_detail(), "EK public: 3 trailing bytes");
	assert_int_equal(err_wrap(AERR_PARSE, "endorsement"), AERR_PARSE);
	assert_string_equal(err_public_detail(), "endorsement: EK public: 3 trailing bytes");
	err_clear();
	assert_string_equal(err_detail(), "");
	assert_string_equal(err_public_detail(), "");
}

static void test_private_part(void **state)
{
	(void)state;
	err_set(AERR_PCR_POLICY, "PCR 7 bank sha256 differs from the policy");
	assert_int_equal(err_private(AERR_PCR_POLICY, "quoted %s, policy expects %s", "aa", "bb"), AERR_PCR_POLICY);
	assert_string_equal(err_detail(), "PCR 7 bank sha256 differs from the policy; quoted aa, policy expects bb");
	assert_string_equal(err_public_detail(), "PCR 7 bank sha256 differs from the policy");
	/* Wrapping keeps the tail private, behind the prefix. */
	err_wrap(AERR_PCR_POLICY, "quote");
	assert_string_equal(err_detail(), "quote: PCR 7 bank sha256 differs from the policy; quoted aa, policy expects bb");
	assert_string_equal(err_public_detail(), "quote: PCR 7 bank sha256 differs from the policy");
	/* A new detail is all public again. */
	err_set(AERR_NONCE, "nonce expired");
	assert_string_equal(err_public_detail(), "nonce expired");
}

static void test_private_never_leaks_when_cut(void **state)
{
	char long_prefix[600];

	(void)state;
	memset(long_prefix, 'p', sizeof(long_prefix) - 1);
	long_prefix[sizeof(long_prefix) - 1] = '\0';
	err_set(AERR_PCR_POLICY, "differs");
	err_private(AERR_PCR_POLICY, "GOLDEN");
	err_wrap(AERR_PCR_POLICY, long_prefix);
	assert_null(strstr(err_public_detail(), "GOLDEN"));
	assert_null(strstr(err_public_detail(), "differs"));
}

/* A saved detail comes back whole, its operator-only part still private,
 * whatever was recorded in between. */
static void test_save_restore(void **state)
{
	struct err_saved why;

	(void)state;
	err_set(AERR_RPC, "transport error: connection refused");
	err_private(AERR_RPC, "at 10.0.0.1");
	err_save(&why);
	err_set(AERR_NOT_FOUND, "no node proven at target x");
	err_restore(&why);
	assert_string_equal(err_detail(), "transport error: connection refused; at 10.0.0.1");
	assert_string_equal(err_public_detail(), "transport error: connection refused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_is_all_by_default),
		cmocka_unit_test(test_private_part),
		cmocka_unit_test(test_private_never_leaks_when_cut),
		cmocka_unit_test(test_save_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
