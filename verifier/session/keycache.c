#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "session/keycache.h"

/* A ring of keys (the oldest is replaced when full) with a chained hash
 * index over it: keys are SHA-256 outputs, so their first bytes are the hash.
 * Links are entry index + 1 (0 ends a chain). */
struct keycache {
	pthread_mutex_t lock;
	size_t cap, n, next;         /* ring: next is the slot replaced when full */
	uint64_t hits, misses;
	uint8_t (*keys)[KEYCACHE_KEY_LEN];
	EVP_PKEY **pkeys;            /* per entry: its key, or NULL */
	uint32_t *chain;             /* per entry: the next entry in its bucket */
	uint32_t *heads;             /* per bucket: its first entry */
	uint32_t mask;               /* buckets - 1 */
};

static uint32_t keycache_bucket(const struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN])
{
	return ((uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24) & c->mask;
}

int keycache_new(size_t capacity, struct keycache **out)
{
	struct keycache *c;

	size_t buckets = 16;

	*out = NULL;
	if (capacity == 0 || capacity > UINT32_MAX / 4)
		return err_set(AERR_INVALID_ARG, "keycache: capacity %zu", capacity);
	while (buckets < 2 * capacity)
		buckets *= 2;
	if (!(c = calloc(1, sizeof(*c))) || !(c->keys = calloc(capacity, KEYCACHE_KEY_LEN)) ||
	    !(c->pkeys = calloc(capacity, sizeof(*c->pkeys))) ||
	    !(c->chain = calloc(capacity, sizeof(*c->chain))) || !(c->heads = calloc(buckets, sizeof(*c->heads)))) {
		keycache_free(c);
		return err_set(AERR_ALLOC, "keycache: out of memory");
	}
	c->mask = (uint32_t)(buckets - 1);
	pthread_mutex_init(&c->lock, NULL);
	c->cap = capacity;
	*out = c;
	return 0;
}

void keycache_free(struct keycache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	for (size_t i = 0; c->pkeys && i < c->cap; i++)
		EVP_PKEY_free(c->pkeys[i]);
	free(c->pkeys);
	free(c->keys);
	free(c->chain);
	free(c->heads);
	free(c);
}

/* Length prefixes keep (A, BC) and (AB, C) apart. */
static int digest_part(EVP_MD_CTX *ctx, const uint8_t *buf, size_t len)
{
	uint8_t n[8];

	for (int i = 0; i < 8; i++)
		n[i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return EVP_DigestUpdate(ctx, n, sizeof(n)) == 1 && (len == 0 || EVP_DigestUpdate(ctx, buf, len) == 1);
}

int keycache_key(const uint8_t *ek_pub, size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
		 const uint8_t *platform_cert, size_t platform_cert_len, uint8_t key[KEYCACHE_KEY_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	int r;

	if (!ctx || EVP_DigestInit_ex(ctx, crypto_md(TPM2_ALG_SHA256), NULL) != 1 ||
	    !digest_part(ctx, ek_pub, ek_pub ? ek_pub_len : 0) ||
	    !digest_part(ctx, ek_cert, ek_cert ? ek_cert_len : 0) ||
	    !digest_part(ctx, platform_cert, platform_cert ? platform_cert_len : 0) ||
	    EVP_DigestFinal_ex(ctx, key, &len) != 1 || len != KEYCACHE_KEY_LEN)
		r = crypto_ossl_err(AERR_CRYPTO, "keycache key");
	else
		r = 0;
	EVP_MD_CTX_free(ctx);
	return r;
}

/* The entry holding key, or 0 (links are entry index + 1). Under c->lock. */
static uint32_t keycache_find(const struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN])
{
	uint32_t e;

	for (e = c->heads[keycache_bucket(c, key)]; e; e = c->chain[e - 1])
		if (memcmp(c->keys[e - 1], key, KEYCACHE_KEY_LEN) == 0)
			break;
	return e;
}

int keycache_contains(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN])
{
	int found;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	found = keycache_find(c, key) != 0;
	if (found)
		c->hits++;
	else
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	return found;
}

int keycache_pkey(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN], EVP_PKEY **out)
{
	uint32_t e;

	*out = NULL;
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	/* The reference is taken under the lock: an eviction may free the
	 * cache's own right after. */
	if ((e = keycache_find(c, key)) != 0 && c->pkeys[e - 1] && EVP_PKEY_up_ref(c->pkeys[e - 1]) == 1)
		*out = c->pkeys[e - 1];
	if (*out)
		c->hits++;
	else
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	return *out != NULL;
}

/* Add key with pkey (NULL: none) unless present. Under c->lock. */
static void keycache_insert(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN], EVP_PKEY *pkey)
{
	uint32_t slot, *link;

	if (keycache_find(c, key))
		return;
	if (pkey && EVP_PKEY_up_ref(pkey) != 1)
		return; /* only a cache */
	slot = (uint32_t)c->next;
	if (c->n == c->cap) {
		/* Unlink the oldest entry from its bucket before reusing it. */
		link = &c->heads[keycache_bucket(c, c->keys[slot])];
		while (*link && *link != slot + 1)
			link = &c->chain[*link - 1];
		if (*link)
			*link = c->chain[slot];
	}
	EVP_PKEY_free(c->pkeys[slot]);
	c->pkeys[slot] = pkey;
	memcpy(c->keys[slot], key, KEYCACHE_KEY_LEN);
	c->chain[slot] = c->heads[keycache_bucket(c, key)];
	c->heads[keycache_bucket(c, key)] = slot + 1;
	c->next = (c->next + 1) % c->cap;
	if (c->n < c->cap)
		c->n++;
}

void keycache_add(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN])
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	keycache_insert(c, key, NULL);
	pthread_mutex_unlock(&c->lock);
}

void keycache_add_pkey(struct keycache *c, const uint8_t key[KEYCACHE_KEY_LEN], EVP_PKEY *pkey)
{
	if (!c || !pkey)
		return;
	pthread_mutex_lock(&c->lock);
	keycache_insert(c, key, pkey);
	pthread_mutex_unlock(&c->lock);
}

void keycache_counts(struct keycache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = *misses = 0;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}
