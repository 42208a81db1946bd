/* KDFa and KDFe against OpenSSL 3's own implementations of the same NIST
 * constructions: KBKDF (SP800-108 counter mode, HMAC, with the 0x00 separator
 * and the [L]32 suffix) is exactly KDFa; SSKDF (SP800-56C one-step with a hash:
 * H([i]32 || Z || FixedInfo)) is exactly KDFe with FixedInfo = label 00 || U || V.
 * Output lengths that are not multiples of 8 bits are checked against a
 * hand-built HMAC/hash in this file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "array.h"
#include "crypto.h"
#include "kdf.h"

static const TPM2_ALG_ID hashes[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512 };
static const size_t lengths[] = { 1, 16, 20, 31, 32, 33, 48, 64, 65, 100, 257 };

static const char *ossl_md(TPM2_ALG_ID h)
{
	switch (h) {
	case TPM2_ALG_SHA1: return "SHA1";
	case TPM2_ALG_SHA256: return "SHA256";
	case TPM2_ALG_SHA384: return "SHA384";
	case TPM2_ALG_SHA512: return "SHA512";
	}
	fail_msg("no OpenSSL name for 0x%04x", h);
	return NULL;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i + (i >> 3));
}

/* OpenSSL KBKDF, counter mode, HMAC: label is the "salt", context the "info". */
static void ref_kbkdf(TPM2_ALG_ID h, const uint8_t *key, size_t key_len, const char *label,
		      const uint8_t *ctx_in, size_t ctx_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
	EVP_KDF_CTX *kctx;
	int yes = 1;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_MODE, "counter", 0),
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_MAC, "HMAC", 0),
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)ossl_md(h), 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, strlen(label)),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, (void *)ctx_in, ctx_len),
		OSSL_PARAM_int(OSSL_KDF_PARAM_KBKDF_USE_L, &yes),
		OSSL_PARAM_int(OSSL_KDF_PARAM_KBKDF_USE_SEPARATOR, &yes),
		OSSL_PARAM_END,
	};

	assert_non_null(kdf);
	assert_non_null(kctx = EVP_KDF_CTX_new(kdf));
	assert_int_equal(EVP_KDF_derive(kctx, out, out_len, params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

/* OpenSSL SSKDF with a hash: H([i]32 || Z || info). */
static void ref_sskdf(TPM2_ALG_ID h, const uint8_t *z, size_t z_len, const uint8_t *info,
		      size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)ossl_md(h), 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SECRET, (void *)z, z_len),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
		OSSL_PARAM_END,
	};

	assert_non_null(kdf);
	assert_non_null(kctx = EVP_KDF_CTX_new(kdf));
	assert_int_equal(EVP_KDF_derive(kctx, out, out_len, params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

static void test_kdfa_matches_kbkdf(void **state)
{
	uint8_t key[64], u[40], v[24], uv[64], ours[300], ref[300];
	const char *labels[] = { "STORAGE", "INTEGRITY", "ATH", "X" };

	(void)state;
	for (size_t hi = 0; hi < ARRAY_LEN(hashes); hi++) {
		TPM2_ALG_ID h = hashes[hi];
		size_t ks = crypto_digest_size(h);

		fill(key, ks, (uint8_t)(0x11 * hi));
		fill(u, sizeof(u), 0xa0);
		fill(v, sizeof(v), 0x3c);
		memcpy(uv, u, sizeof(u));
		memcpy(uv + sizeof(u), v, sizeof(v));
		for (size_t li = 0; li < ARRAY_LEN(lengths); li++) {
			size_t n = lengths[li];
			const char *label = labels[li % 4];

			/* both contexts */
			assert_int_equal(kdf_a(h, key, ks, label, u, sizeof(u), v, sizeof(v), (uint32_t)n * 8, ours), 0);
			ref_kbkdf(h, key, ks, label, uv, sizeof(uv), ref, n);
			assert_memory_equal(ours, ref, n);
			/* contextU only (the "STORAGE" use: the object's name) */
			assert_int_equal(kdf_a(h, key, ks, label, u, sizeof(u), NULL, 0, (uint32_t)n * 8, ours), 0);
			ref_kbkdf(h, key, ks, label, u, sizeof(u), ref, n);
			assert_memory_equal(ours, ref, n);
			/* no context (the "INTEGRITY" use) */
			assert_int_equal(kdf_a(h, key, ks, label, NULL, 0, NULL, 0, (uint32_t)n * 8, ours), 0);
			ref_kbkdf(h, key, ks, label, NULL, 0, ref, n);
			assert_memory_equal(ours, ref, n);
			/* a different key must change the output (the test can fail) */
			key[0] ^= 1;
			assert_int_equal(kdf_a(h, key, ks, label, NULL, 0, NULL, 0, (uint32_t)n * 8, ours), 0);
			key[0] ^= 1;
			if (n >= 4)
				assert_memory_not_equal(ours, ref, n);
		}
	}
}

static void put32(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)(x >> 24);
	p[1] = (uint8_t)(x >> 16);
	p[2] = (uint8_t)(x >> 8);
	p[3] = (uint8_t)x;
}

/* KDFa with bits % 8 != 0: [L] is the bit count, and the high bits of the first
 * byte are cleared. Built by hand from one HMAC block per counter. */
static void test_kdfa_odd_bits(void **state)
{
	static const uint32_t bits_list[] = { 1, 7, 9, 13, 255, 257, 263 };
	uint8_t key[32], msg[64], block[EVP_MAX_MD_SIZE], expect[64], ours[64];
	size_t ml;
	unsigned int bl;

	(void)state;
	fill(key, sizeof(key), 0x42);
	for (size_t i = 0; i < ARRAY_LEN(bits_list); i++) {
		uint32_t bits = bits_list[i];
		size_t nbytes = (bits + 7) / 8;

		for (uint32_t c = 1; (c - 1) * 32 < nbytes; c++) {
			put32(msg, c);
			memcpy(msg + 4, "INTEGRITY", 10);
			memcpy(msg + 14, "ctx", 3);
			put32(msg + 17, bits);
			ml = 21;
			assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), msg, ml, block, &bl));
			memcpy(expect + (c - 1) * 32, block, nbytes - (c - 1) * 32 < 32 ? nbytes - (c - 1) * 32 : 32);
		}
		expect[0] &= (uint8_t)((1u << (bits % 8)) - 1);
		assert_int_equal(kdf_a(TPM2_ALG_SHA256, key, sizeof(key), "INTEGRITY", (const uint8_t *)"ctx", 3,
				       NULL, 0, bits, ours), 0);
		assert_memory_equal(ours, expect, nbytes);
		assert_true(ours[0] < (1u << (bits % 8)));
	}
}

static void test_kdfe_matches_sskdf(void **state)
{
	uint8_t z[66], u[66], v[66], info[10 + 132], ours[300], ref[300];

	(void)state;
	for (size_t hi = 0; hi < ARRAY_LEN(hashes); hi++) {
		TPM2_ALG_ID h = hashes[hi];

		for (size_t li = 0; li < ARRAY_LEN(lengths); li++) {
			size_t n = lengths[li], cs = li % 2 ? 32 : 48, il;

			fill(z, cs, (uint8_t)(li + hi));
			fill(u, cs, 0x55);
			fill(v, cs, 0x99);
			memcpy(info, "IDENTITY", 9); /* the label with its NUL */
			memcpy(info + 9, u, cs);
			memcpy(info + 9 + cs, v, cs);
			il = 9 + 2 * cs;
			assert_int_equal(kdf_e(h, z, cs, "IDENTITY", u, cs, v, cs, (uint32_t)n * 8, ours), 0);
			ref_sskdf(h, z, cs, info, il, ref, n);
			assert_memory_equal(ours, ref, n);
			/* swapping party U and V must change the seed */
			assert_int_equal(kdf_e(h, z, cs, "IDENTITY", v, cs, u, cs, (uint32_t)n * 8, ours), 0);
			if (n >= 4)
				assert_memory_not_equal(ours, ref, n);
		}
	}
}

/* KDFe's bit count is not hashed: 13 bits are the first 2 bytes, masked. */
static void test_kdfe_odd_bits(void **state)
{
	uint8_t z[32], ref[40], ours[40], info[9 + 64];

	(void)state;
	fill(z, sizeof(z), 0x17);
	memcpy(info, "DUPLICATE", 10);
	assert_int_equal(kdf_e(TPM2_ALG_SHA256, z, sizeof(z), "DUPLICATE", NULL, 0, NULL, 0, 13, ours), 0);
	ref_sskdf(TPM2_ALG_SHA256, z, sizeof(z), info, 10, ref, 2);
	ref[0] &= 0x1f;
	assert_memory_equal(ours, ref, 2);
	assert_int_equal(kdf_e(TPM2_ALG_SHA256, z, sizeof(z), "DUPLICATE", NULL, 0, NULL, 0, 260, ours), 0);
	ref_sskdf(TPM2_ALG_SHA256, z, sizeof(z), info, 10, ref, 33);
	ref[0] &= 0x0f;
	assert_memory_equal(ours, ref, 33);
}

static void test_kdf_errors(void **state)
{
	uint8_t key[32] = { 1 }, out[64];

	(void)state;
	assert_int_equal(kdf_a(TPM2_ALG_NULL, key, 32, "STORAGE", NULL, 0, NULL, 0, 128, out), AERR_UNSUPPORTED);
	assert_int_equal(kdf_a(TPM2_ALG_SHA256, key, 32, "STORAGE", NULL, 0, NULL, 0, 0, out), AERR_INVALID_ARG);
	assert_int_equal(kdf_a(TPM2_ALG_SHA256, key, 32, "STORAGE", NULL, 0, NULL, 0, KDF_MAX_BITS + 1, out),
			 AERR_INVALID_ARG);
	assert_int_equal(kdf_a(TPM2_ALG_SHA256, key, 32, "STORAGE", NULL, 5, NULL, 0, 128, out), AERR_INVALID_ARG);
	assert_int_equal(kdf_e(TPM2_ALG_AES, key, 32, "IDENTITY", NULL, 0, NULL, 0, 128, out), AERR_UNSUPPORTED);
	assert_int_equal(kdf_e(TPM2_ALG_SHA256, key, 32, "IDENTITY", NULL, 0, NULL, 0, 0, out), AERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdfa_matches_kbkdf),
		cmocka_unit_test(test_kdfa_odd_bits),
		cmocka_unit_test(test_kdfe_matches_sskdf),
		cmocka_unit_test(test_kdfe_odd_bits),
		cmocka_unit_test(test_kdf_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
