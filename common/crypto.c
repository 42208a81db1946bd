/* crypto_hash uses the SHA-1/SHA-2 block API, deprecated in OpenSSL 3 in
 * favour of EVP but kept in 3.x; see crypto.h for why. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "array.h"
#include "crypto.h"

static const struct {
	TPM2_ALG_ID alg;
	const char *name;
	const char *ossl;
	size_t size;
} hashes[] = {
	{ TPM2_ALG_SHA1, "sha1", "SHA1", 20 },
	{ TPM2_ALG_SHA256, "sha256", "SHA256", 32 },
	{ TPM2_ALG_SHA384, "sha384", "SHA384", 48 },
	{ TPM2_ALG_SHA512, "sha512", "SHA512", 64 },
	{ TPM2_ALG_SM3_256, "sm3", "SM3", 32 },
};

#define NHASHES ARRAY_LEN(hashes)

void crypto_process_init(void)
{
	/* Nothing to undo when it fails: OpenSSL then fails every later call,
	 * which reports itself. */
	if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL))
		ERR_clear_error();
}

/* Fetched once: with OpenSSL 3 a digest named by a legacy EVP_MD is fetched
 * again from the provider on every EVP_DigestInit, which costs more than
 * hashing a quote. Kept for the life of the process. */
static EVP_MD *fetched[NHASHES];
static pthread_once_t fetched_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	for (size_t i = 0; i < NHASHES; i++)
		fetched[i] = EVP_MD_fetch(NULL, hashes[i].ossl, NULL);
	ERR_clear_error(); /* an algorithm this OpenSSL lacks (SM3) just stays NULL */
}

const EVP_MD *crypto_md(TPM2_ALG_ID alg)
{
	pthread_once(&fetched_once, fetch_all);
	for (size_t i = 0; i < NHASHES; i++)
		if (hashes[i].alg == alg)
			return fetched[i];
	return NULL;
}

size_t crypto_digest_size(TPM2_ALG_ID alg)
{
	for (size_t i = 0; i < NHASHES; i++)
		if (hashes[i].alg == alg)
			return hashes[i].size;
	return 0;
}

const char *crypto_alg_name(TPM2_ALG_ID alg)
{
	for (size_t i = 0; i < NHASHES; i++)
		if (hashes[i].alg == alg)
			return hashes[i].name;
	return NULL;
}

const char *crypto_alg_label(TPM2_ALG_ID alg, char buf[16])
{
	const char *name = crypto_alg_name(alg);

	if (name)
		return name;
	snprintf(buf, 16, "0x%04x", alg);
	return buf;
}

TPM2_ALG_ID crypto_alg_from_name(const char *name)
{
	for (size_t i = 0; i < NHASHES; i++)
		if (strcmp(hashes[i].name, name) == 0)
			return hashes[i].alg;
	return TPM2_ALG_ERROR;
}

int crypto_ossl_err(int code, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[256];

	ERR_clear_error();
	/* An empty queue (a plain "no", such as ECDSA's verify) adds nothing. */
	if (!e)
		return err_set(code, "%s", what);
	ERR_error_string_n(e, reason, sizeof(reason));
	return err_set(code, "%s: %s", what, reason);
}

int crypto_digest(TPM2_ALG_ID alg, const void *data, size_t len, uint8_t *out)
{
	const EVP_MD *md = crypto_md(alg);
	unsigned int outl = 0;

	if (!md)
		return err_set(AERR_UNSUPPORTED, "hash algorithm 0x%04x", alg);
	if (!EVP_Digest(data, len, out, &outl, md, NULL))
		return crypto_ossl_err(AERR_CRYPTO, "digest");
	return 0;
}

int crypto_hash(TPM2_ALG_ID alg, const void *data, size_t len, uint8_t *out)
{
	union {
		SHA_CTX sha1;
		SHA256_CTX sha256;
		SHA512_CTX sha512;
	} c;
	int ok;

	switch (alg) {
	case TPM2_ALG_SHA1:
		ok = SHA1_Init(&c.sha1) && SHA1_Update(&c.sha1, data, len) && SHA1_Final(out, &c.sha1);
		break;
	case TPM2_ALG_SHA256:
		ok = SHA256_Init(&c.sha256) && SHA256_Update(&c.sha256, data, len) && SHA256_Final(out, &c.sha256);
		break;
	case TPM2_ALG_SHA384:
		ok = SHA384_Init(&c.sha512) && SHA384_Update(&c.sha512, data, len) && SHA384_Final(out, &c.sha512);
		break;
	case TPM2_ALG_SHA512:
		ok = SHA512_Init(&c.sha512) && SHA512_Update(&c.sha512, data, len) && SHA512_Final(out, &c.sha512);
		break;
	default:
		return crypto_digest(alg, data, len, out);
	}
	if (!ok)
		return crypto_ossl_err(AERR_CRYPTO, "digest");
	return 0;
}

int crypto_extend(TPM2_ALG_ID alg, uint8_t *pcr, const uint8_t *value)
{
	uint8_t buf[2 * CRYPTO_MAX_DIGEST];
	size_t size = crypto_digest_size(alg);

	if (!size)
		return err_set(AERR_UNSUPPORTED, "hash algorithm 0x%04x", alg);
	memcpy(buf, pcr, size);
	memcpy(buf + size, value, size);
	return crypto_hash(alg, buf, 2 * size, pcr);
}

int crypto_hmac(TPM2_ALG_ID alg, const uint8_t *key, size_t key_len, const uint8_t *data,
		size_t len, uint8_t *out)
{
	const EVP_MD *md = crypto_md(alg);
	unsigned int outl = 0;

	if (!md)
		return err_set(AERR_UNSUPPORTED, "hash algorithm 0x%04x", alg);
	if (key_len > INT_MAX)
		return err_set(AERR_INVALID_ARG, "HMAC key of %zu bytes", key_len);
	if (!HMAC(md, key, (int)key_len, data, len, out, &outl))
		return crypto_ossl_err(AERR_CRYPTO, "HMAC");
	return 0;
}

int crypto_random(void *buf, size_t len)
{
	if (len > INT_MAX)
		return err_set(AERR_INVALID_ARG, "crypto_random: %zu bytes", len);
	if (RAND_bytes(buf, (int)len) != 1)
		return crypto_ossl_err(AERR_CRYPTO, "RAND_bytes");
	return 0;
}
