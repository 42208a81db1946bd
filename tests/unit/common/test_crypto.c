/* crypto: digests and HMACs against the published test vectors (FIPS 180
 * examples, RFC 2202, RFC 4231, GB/T 32905 for SM3), the algorithm table both
 * ways, the CSPRNG, and OpenSSL errors turned into ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "array.h"
#include "crypto.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return n;
}

struct vector {
	TPM2_ALG_ID alg;
	const char *name;
	const char *digest_abc;   /* H("abc") */
};

static const struct vector vectors[] = {
	{ TPM2_ALG_SHA1, "sha1", "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ TPM2_ALG_SHA256, "sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ TPM2_ALG_SHA384, "sha384",
	  "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7" },
	{ TPM2_ALG_SHA512, "sha512",
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
	{ TPM2_ALG_SM3_256, "sm3", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" },
};

#define NVECTORS ARRAY_LEN(vectors)

static void test_digest_vectors(void **state)
{
	uint8_t want[CRYPTO_MAX_DIGEST], got[CRYPTO_MAX_DIGEST];

	(void)state;
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vector *v = &vectors[i];
		size_t n = unhex(v->digest_abc, want, sizeof(want));

		assert_int_equal(crypto_digest_size(v->alg), n);
		if (v->alg == TPM2_ALG_SM3_256 && !crypto_md(v->alg)) {
			/* An OpenSSL built without SM3: refused, never a wrong digest. */
			assert_int_equal(crypto_digest(v->alg, "abc", 3, got), AERR_UNSUPPORTED);
			continue;
		}
		assert_non_null(crypto_md(v->alg));
		assert_int_equal(EVP_MD_get_size(crypto_md(v->alg)), (int)n);
		memset(got, 0, sizeof(got));
		assert_int_equal(crypto_digest(v->alg, "abc", 3, got), 0);
		assert_memory_equal(got, want, n);
		/* The same EVP_MD every time: fetched once. */
		assert_ptr_equal(crypto_md(v->alg), crypto_md(v->alg));
	}
}

static void test_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVECTORS; i++) {
		assert_string_equal(crypto_alg_name(vectors[i].alg), vectors[i].name);
		assert_int_equal(crypto_alg_from_name(vectors[i].name), vectors[i].alg);
	}
	assert_null(crypto_alg_name(TPM2_ALG_NULL));
	assert_null(crypto_alg_name(TPM2_ALG_RSA));
	assert_int_equal(crypto_alg_from_name("SHA256"), TPM2_ALG_ERROR); /* names are lower case */
	assert_int_equal(crypto_alg_from_name("md5"), TPM2_ALG_ERROR);
	assert_int_equal(crypto_alg_from_name(""), TPM2_ALG_ERROR);
	assert_int_equal(crypto_digest_size(TPM2_ALG_AES), 0);
	assert_null(crypto_md(TPM2_ALG_AES));
}

static void test_unsupported(void **state)
{
	uint8_t out[CRYPTO_MAX_DIGEST];

	(void)state;
	assert_int_equal(crypto_digest(TPM2_ALG_NULL, "abc", 3, out), AERR_UNSUPPORTED);
	assert_int_equal(crypto_hmac(TPM2_ALG_RSA, (const uint8_t *)"k", 1, (const uint8_t *)"d", 1, out),
			 AERR_UNSUPPORTED);
	assert_non_null(strstr(err_detail(), "0x0001"));
}

static void test_hmac_vectors(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	uint8_t want[CRYPTO_MAX_DIGEST], got[CRYPTO_MAX_DIGEST], key[131], big[160];
	size_t n;

	(void)state;
	/* RFC 2202 test case 2 (SHA-1) and RFC 4231 test case 2 (SHA-2). */
	n = unhex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", want, sizeof(want));
	assert_int_equal(crypto_hmac(TPM2_ALG_SHA1, (const uint8_t *)"Jefe", 4, (const uint8_t *)data,
				     strlen(data), got), 0);
	assert_memory_equal(got, want, n);
	n = unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, sizeof(want));
	assert_int_equal(crypto_hmac(TPM2_ALG_SHA256, (const uint8_t *)"Jefe", 4, (const uint8_t *)data,
				     strlen(data), got), 0);
	assert_memory_equal(got, want, n);
	n = unhex("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737", want, sizeof(want));
	assert_int_equal(crypto_hmac(TPM2_ALG_SHA512, (const uint8_t *)"Jefe", 4, (const uint8_t *)data,
				     strlen(data), got), 0);
	assert_memory_equal(got, want, n);

	/* RFC 4231 test case 6: a key longer than the block is hashed first. */
	memset(key, 0xaa, sizeof(key));
	snprintf((char *)big, sizeof(big), "Test Using Larger Than Block-Size Key - Hash Key First");
	n = unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want, sizeof(want));
	assert_int_equal(crypto_hmac(TPM2_ALG_SHA256, key, sizeof(key), big, strlen((char *)big), got), 0);
	assert_memory_equal(got, want, n);

	/* The key matters: one changed bit, another MAC. */
	key[0] ^= 1;
	assert_int_equal(crypto_hmac(TPM2_ALG_SHA256, key, sizeof(key), big, strlen((char *)big), got), 0);
	assert_memory_not_equal(got, want, n);
}

static void test_random(void **state)
{
	uint8_t a[64], b[64], zero[64] = { 0 };

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(crypto_random(a, sizeof(a)), 0);
	assert_int_equal(crypto_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(crypto_random(a, 0), 0);
}

static void test_ossl_err(void **state)
{
	(void)state;
	/* An error on the queue becomes the detail, and the queue is drained. */
	assert_null(EVP_MD_fetch(NULL, "NO-SUCH-DIGEST", NULL));
	assert_int_equal(crypto_ossl_err(AERR_CRYPTO, "fetching"), AERR_CRYPTO);
	assert_non_null(strstr(err_detail(), "fetching: "));
	assert_true(strlen(err_detail()) > strlen("fetching: "));
	assert_int_equal(ERR_peek_error(), 0);
	/* Nothing on the queue: the caller's words alone. */
	assert_int_equal(crypto_ossl_err(AERR_PARSE, "signature does not verify"), AERR_PARSE);
	assert_string_equal(err_detail(), "signature does not verify");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_vectors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_ossl_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
