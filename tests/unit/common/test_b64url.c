/* common/b64url: RFC 4648 section 10's vectors in the URL alphabet, no
 * padding; one spelling per byte string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "b64url.h"

static void test_vectors(void **state)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	char enc[16];
	uint8_t dec[16];

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		size_t n = strlen(in[i]);

		assert_int_equal(b64url_encode((const uint8_t *)in[i], n, enc), B64URL_LEN(n));
		assert_string_equal(enc, out[i]);
		assert_int_equal(b64url_decode(out[i], strlen(out[i]), dec, sizeof(dec)), (long)n);
		assert_memory_equal(dec, in[i], n);
	}
	/* The URL alphabet: 0xfb 0xff is "-_8" where base64 has "+/8". */
	assert_int_equal(b64url_encode((const uint8_t *)"\xfb\xff", 2, enc), 3);
	assert_string_equal(enc, "-_8");
}

static void test_refused(void **state)
{
	uint8_t dec[16];

	(void)state;
	assert_int_equal(b64url_decode("Zm9v=", 5, dec, sizeof(dec)), -1);  /* padding */
	assert_int_equal(b64url_decode("Zm+v", 4, dec, sizeof(dec)), -1);   /* base64's alphabet */
	assert_int_equal(b64url_decode("Zm9 v", 5, dec, sizeof(dec)), -1);  /* whitespace */
	assert_int_equal(b64url_decode("Z", 1, dec, sizeof(dec)), -1);      /* no byte ends in one character */
	assert_int_equal(b64url_decode("Zh", 2, dec, sizeof(dec)), -1);     /* "Zg" with stray low bits */
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, dec, 5), -1);         /* over cap */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
