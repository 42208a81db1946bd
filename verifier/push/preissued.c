#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "push/preissued.h"

struct preissued_slot {
	uint8_t tag[PREISSUED_TAG_LEN];
	struct preissued_entry e;
};

/* Node ids are SQLite rowids, dense from 1: an array indexed by them, grown
 * on demand, holding NULL or an entry. */
struct preissued {
	pthread_mutex_t lock;
	struct preissued_slot **by_node;
	size_t cap, count;
};

int preissued_new(struct preissued **out)
{
	struct preissued *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return err_set(AERR_ALLOC, "preissued");
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

static void preissued_slot_free(struct preissued_slot *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void preissued_free(struct preissued *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		preissued_slot_free(t->by_node[i]);
	free(t->by_node);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int preissued_put(struct preissued *t, int64_t node, const struct preissued_entry *e, char id[PREISSUED_ID_LEN + 1])
{
	struct preissued_slot *s;
	size_t i = (size_t)node;
	int r;

	id[0] = '\0';
	if (node < 1 || node > PREISSUED_MAX_NODE)
		return err_set(AERR_INVALID_ARG, "node id %lld out of range", (long long)node);
	if (!(s = malloc(sizeof(*s))))
		return err_set(AERR_ALLOC, "preissued entry");
	if ((r = crypto_random(s->tag, sizeof(s->tag))) != 0) {
		free(s);
		return r;
	}
	s->e = *e;
	pushid_next_format((uint64_t)node, s->tag, id);
	pthread_mutex_lock(&t->lock);
	if (i >= t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		struct preissued_slot **grown;

		while (cap <= i)
			cap *= 2;
		if (!(grown = realloc(t->by_node, cap * sizeof(*grown)))) {
			pthread_mutex_unlock(&t->lock);
			preissued_slot_free(s);
			id[0] = '\0';
			return err_set(AERR_ALLOC, "preissued table of %zu nodes", cap);
		}
		memset(grown + t->cap, 0, (cap - t->cap) * sizeof(*grown));
		t->by_node = grown;
		t->cap = cap;
	}
	if (t->by_node[i])
		preissued_slot_free(t->by_node[i]);
	else
		t->count++;
	t->by_node[i] = s;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int preissued_take(struct preissued *t, const char *id, const char *peer, uint64_t now_ms, uint64_t max_age_ms,
		   int64_t *node, struct preissued_entry *e)
{
	uint8_t tag[PREISSUED_TAG_LEN];
	struct preissued_slot *s;
	uint64_t n;
	int r = 0;

	*node = 0;
	if ((r = pushid_next_parse(id, &n, tag)) != 0)
		return r;
	pthread_mutex_lock(&t->lock);
	s = n < t->cap ? t->by_node[n] : NULL;
	if (!s || CRYPTO_memcmp(s->tag, tag, sizeof(tag)) != 0) {
		r = err_set(AERR_NOT_FOUND, "unknown, replaced or used pre-issued quote request");
	} else if (strcmp(s->e.peer, peer ? peer : "") != 0) {
		r = err_set(AERR_STATE, "the pre-issued quote request belongs to another TLS identity");
	} else {
		t->by_node[n] = NULL;
		t->count--;
		if (now_ms >= s->e.resume.issued_ms && now_ms - s->e.resume.issued_ms > max_age_ms) {
			r = err_set(AERR_NONCE, "the pre-issued quote request expired (%llu ms old, %llu allowed)",
				    (unsigned long long)(now_ms - s->e.resume.issued_ms),
				    (unsigned long long)max_age_ms);
		} else {
			*e = s->e;
			*node = (int64_t)n;
		}
		preissued_slot_free(s);
	}
	pthread_mutex_unlock(&t->lock);
	OPENSSL_cleanse(tag, sizeof(tag));
	return r;
}

void preissued_drop(struct preissued *t, int64_t node)
{
	struct preissued_slot *s = NULL;

	if (node < 1)
		return;
	pthread_mutex_lock(&t->lock);
	if ((size_t)node < t->cap && (s = t->by_node[node]) != NULL) {
		t->by_node[node] = NULL;
		t->count--;
	}
	pthread_mutex_unlock(&t->lock);
	preissued_slot_free(s);
}

size_t preissued_count(struct preissued *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
