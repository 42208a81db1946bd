/* keycache: a bounded set of digests, optionally carrying a public key per
 * entry; the oldest entry (and its key reference) goes when full. Leaks and
 * double frees of the keys show under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "session/keycache.h"

static void key_of(int i, uint8_t key[KEYCACHE_KEY_LEN])
{
	uint8_t b = (uint8_t)i;

	assert_int_equal(keycache_key(&b, 1, NULL, 0, NULL, 0, key), 0);
}

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(pk);
	return pk;
}

static void test_set(void **state)
{
	struct keycache *c = NULL;
	uint8_t k[KEYCACHE_KEY_LEN];
	uint64_t hits, misses;

	(void)state;
	assert_int_equal(keycache_new(0, &c), AERR_INVALID_ARG);
	assert_int_equal(keycache_new(2, &c), 0);
	key_of(1, k);
	assert_false(keycache_contains(c, k));
	keycache_add(c, k);
	keycache_add(c, k); /* present already: still one entry */
	assert_true(keycache_contains(c, k));
	key_of(2, k);
	keycache_add(c, k);
	key_of(1, k);
	assert_true(keycache_contains(c, k)); /* two entries fit */
	key_of(3, k);
	keycache_add(c, k);                   /* replaces the oldest: 1 */
	key_of(1, k);
	assert_false(keycache_contains(c, k));
	key_of(2, k);
	assert_true(keycache_contains(c, k));
	keycache_counts(c, &hits, &misses);
	assert_int_equal(hits, 3);
	assert_int_equal(misses, 2);
	keycache_free(c);
	/* No cache: nothing is ever there, adding is harmless. */
	assert_false(keycache_contains(NULL, k));
	keycache_add(NULL, k);
}

static void test_pkeys(void **state)
{
	struct keycache *c = NULL;
	uint8_t k1[KEYCACHE_KEY_LEN], k2[KEYCACHE_KEY_LEN], k3[KEYCACHE_KEY_LEN];
	EVP_PKEY *a = ec_key(), *b = ec_key(), *got = NULL, *held = NULL;

	(void)state;
	key_of(1, k1);
	key_of(2, k2);
	key_of(3, k3);
	assert_int_equal(keycache_new(2, &c), 0);
	assert_false(keycache_pkey(c, k1, &got));
	assert_null(got);
	keycache_add_pkey(c, k1, a);
	keycache_add_pkey(c, k1, b); /* present already: the first key stays */
	assert_true(keycache_pkey(c, k1, &got));
	assert_ptr_equal(got, a);
	EVP_PKEY_free(got);
	/* A plain entry has no key. */
	keycache_add(c, k2);
	assert_true(keycache_contains(c, k2));
	assert_false(keycache_pkey(c, k2, &got));
	assert_null(got);
	/* The caller's reference outlives the entry's eviction. */
	assert_true(keycache_pkey(c, k1, &held));
	keycache_add_pkey(c, k3, b);  /* replaces k1, the oldest, and drops its reference */
	assert_false(keycache_pkey(c, k1, &got));
	assert_int_equal(EVP_PKEY_get_bits(held), 256);
	EVP_PKEY_free(held);
	assert_true(keycache_pkey(c, k3, &got));
	assert_ptr_equal(got, b);
	EVP_PKEY_free(got);
	keycache_free(c); /* drops b's cache reference */
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	assert_false(keycache_pkey(NULL, k1, &got));
	assert_null(got);
	keycache_add_pkey(NULL, k1, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_pkeys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
