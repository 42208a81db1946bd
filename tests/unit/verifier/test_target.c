/* Pull targets in one spelling: a node is bound to its target by this
 * string, so the spellings of one HOST:PORT are one target, and what is
 * not HOST:PORT is refused with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pull/target.h"

static void canon(const char *in, const char *want)
{
	char out[TARGET_MAX], again[TARGET_MAX];

	assert_int_equal(target_canonical(in, out), 0);
	assert_string_equal(out, want);
	/* The canonical form is its own. */
	assert_int_equal(target_canonical(out, again), 0);
	assert_string_equal(again, out);
}

static void refused(const char *in, const char *needle)
{
	char out[TARGET_MAX];

	assert_int_equal(target_canonical(in, out), AERR_INVALID_ARG);
	assert_non_null(strstr(err_detail(), needle));
	assert_string_equal(out, "");
}

static void test_spellings(void **state)
{
	(void)state;
	canon("10.0.0.1:4433", "10.0.0.1:4433");
	canon("DB1.Example.COM:4433", "db1.example.com:4433");
	canon("[FE80::1%Eth0]:443", "[fe80::1%Eth0]:443");
	canon("[ff02::1%lo]:443", "[ff02::1%lo]:443");
	canon("[::1]:65535", "[::1]:65535");
	canon("h_1:1", "h_1:1");
	/* One address, one spelling: what the resolver takes as the same. */
	canon("[0::1]:7", "[::1]:7");
	canon("[0:0:0:0:0:0:0:1]:7", "[::1]:7");
	canon("[::0.0.0.1]:7", "[::1]:7");
	canon("[::FFFF:127.0.0.1]:7", "127.0.0.1:7");
	canon("[::ffff:7f00:1]:7", "127.0.0.1:7");
	canon("127.1:7", "127.0.0.1:7");
	canon("0x7f.0.0.1:7", "127.0.0.1:7");
	canon("2130706433:7", "127.0.0.1:7");
}

static void test_refused(void **state)
{
	char longer[TARGET_MAX + 8];

	(void)state;
	refused("nocolon", "is not HOST:PORT");
	refused(":443", "the host");
	refused("h:", "the port");
	refused("h:0443", "leading zeros");
	refused("h:0", "leading zeros");
	refused("h:+443", "decimal");
	refused("h:44 3", "decimal");
	refused("h:65536", "1..65535");
	refused("h :443", "the host");
	refused("h\x1b[1m:443", "the host");
	refused("[::1:443", "the host");
	refused("[zz]:443", "the host");
	refused("[::1%]:443", "the host");
	refused("[::1%e%0]:443", "the host");
	refused("[1::2::3]:443", "the host");
	refused("a..b:443", "the host");
	/* "db1." and "db1" differ under search domains: not one spelling. */
	refused("localhost.:1", "trailing dot");
	refused("a..:1", "the host");
	/* A zone means something on a link-local address only, and is an
	 * interface's name, not its index. */
	refused("[::1%lo]:443", "link-local");
	refused("[fe80::1%2]:443", "interface name");
	refused(".:443", "the host");
	refused("::1:443", "the host");
	memset(longer, 'h', sizeof(longer));
	memcpy(longer + sizeof(longer) - 6, ":4433", 6);
	refused(longer, "at most");
}

static void test_listed(void **state)
{
	static char a[] = "10.0.0.1:4433", b[] = "h:1";
	char *const targets[] = { a, b };

	(void)state;
	assert_true(target_listed("h:1", targets, 2));
	assert_false(target_listed("h:10", targets, 2));
	assert_false(target_listed("h:1", targets, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spellings),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
