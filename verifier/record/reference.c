/* record/reference.h: named policies parsed once per version, shared. */
#define LOG_MODULE "policy"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "record/reference.h"

/* Versions kept parsed with no session using them, at most: a fleet of a
 * few hundred policies judged round-robin parses each once. */
#define REFERENCE_IDLE_MAX 256

struct reference_entry {
	struct named_policy *p;
	uint32_t key;                  /* reference_key of its name and version */
	unsigned refs;                 /* sessions judging by it */
	struct reference_entry *next;
};

struct reference_cache {
	pthread_mutex_t lock;
	struct named_policy_limits lim;
	struct reference_entry *head;  /* newest first */
	size_t idle;                   /* entries no session holds */
};

/* A name and version as one number: the list is searched by it before
 * names are compared (a fleet's policies are searched at every
 * attestation). */
static uint32_t reference_key(const char *name, uint32_t version)
{
	uint32_t h = 2166136261u ^ version;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

/* The entry of name, version; under the lock. */
static struct reference_entry *reference_find(struct reference_cache *c, const char *name, uint32_t version,
					      uint32_t key)
{
	struct reference_entry *e;

	for (e = c->head; e; e = e->next)
		if (e->key == key && e->p->version == version && !strcmp(e->p->name, name))
			return e;
	return NULL;
}

/* A session takes e; under the lock. */
static void reference_take(struct reference_cache *c, struct reference_entry *e)
{
	if (e->refs++ == 0)
		c->idle--;
}

int reference_cache_new(const struct named_policy_limits *lim, struct reference_cache **out)
{
	struct reference_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return err_set(AERR_ALLOC, "reference cache");
	pthread_mutex_init(&c->lock, NULL);
	c->lim = *lim;
	*out = c;
	return 0;
}

void reference_cache_free(struct reference_cache *c)
{
	struct reference_entry *e, *next;

	if (!c)
		return;
	for (e = c->head; e; e = next) {
		next = e->next;
		named_policy_free(e->p);
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Entries no session holds, beyond REFERENCE_IDLE_MAX, go (the oldest
 * first: the list is newest first). Under the lock; the walk only when
 * there are too many. */
static void reference_trim(struct reference_cache *c)
{
	struct reference_entry **pp = &c->head, *e;
	size_t idle = 0;

	if (c->idle <= REFERENCE_IDLE_MAX)
		return;
	while ((e = *pp)) {
		if (e->refs == 0 && ++idle > REFERENCE_IDLE_MAX) {
			*pp = e->next;
			named_policy_free(e->p);
			free(e);
			c->idle--;
			continue;
		}
		pp = &e->next;
	}
}

struct reference_hold {
	struct reference_cache *c;
	struct reference_entry *e;
};

static void reference_unref(struct reference_cache *c, struct reference_entry *e)
{
	pthread_mutex_lock(&c->lock);
	if (--e->refs == 0)
		c->idle++;
	reference_trim(c);
	pthread_mutex_unlock(&c->lock);
}

/* The session's release: it no longer judges by the entry. */
static void reference_release(void *arg)
{
	struct reference_hold *h = arg;

	reference_unref(h->c, h->e);
	free(h);
}

int reference_load(struct store *st, const char *name, uint32_t version, const struct named_policy_limits *lim,
		   struct named_policy **out)
{
	struct store_policy sp;
	int r;

	*out = NULL;
	if ((r = store_policy_get(st, name, version, &sp)) != 0)
		return r == AERR_NOT_FOUND ? r : err_wrap(AERR_STORE, "reading a policy");
	r = named_policy_parse(name, version, sp.body, sp.body_len, lim, out);
	free(sp.body);
	return r;
}

/* The entry of name, version, parsed from the store on first use; its
 * reference taken. 0, AERR_STORE (store unreadable), or another code with
 * err_detail() saying why the policy cannot be applied. */
static int reference_get(struct reference_cache *c, struct store *st, const char *name, uint32_t version,
			 struct reference_entry **out)
{
	uint32_t key = reference_key(name, version);
	struct reference_entry *e;
	struct named_policy *p = NULL;
	int r;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if ((e = reference_find(c, name, version, key))) {
		reference_take(c, e);
		pthread_mutex_unlock(&c->lock);
		*out = e;
		return 0;
	}
	pthread_mutex_unlock(&c->lock);
	/* Parsed outside the lock: two sessions may both parse a new version;
	 * the second one's copy is dropped below. */
	if ((r = reference_load(st, name, version, &c->lim, &p)) != 0)
		return r;
	pthread_mutex_lock(&c->lock);
	if ((e = reference_find(c, name, version, key))) {
		reference_take(c, e);
	} else if ((e = calloc(1, sizeof(*e)))) {
		e->p = p;
		p = NULL;
		e->key = key;
		e->refs = 1; /* taken, never idle yet */
		e->next = c->head;
		c->head = e;
		LOG_INFO("policy %s version %u loaded", name, version);
	}
	pthread_mutex_unlock(&c->lock);
	named_policy_free(p);
	if (!e)
		return err_set(AERR_ALLOC, "policy %s", name);
	*out = e;
	return 0;
}

int reference_apply(struct reference_cache *c, struct store *st, int64_t node_id, struct session *s)
{
	char name[STORE_NAME_MAX + 1], via[STORE_NAME_MAX + 8], why[300];
	struct session_reference ref = { 0 };
	struct reference_entry *e = NULL;
	struct reference_hold *h;
	uint32_t version = 0;
	int r;

	r = store_policy_of(st, node_id, name, via, &version);
	if (r == AERR_IO)
		return err_wrap(AERR_STORE, "looking the node's policy up");
	if (r == 0 && !name[0])
		return 0; /* the config file's */
	if (r == 0 && (r = reference_get(c, st, name, version, &e)) == AERR_STORE)
		return r;
	if (r != 0) {
		/* Fail the node, not the session: the operator's to put right. */
		snprintf(why, sizeof(why), "%s", err_detail());
		LOG_WARN("node %lld: %s", (long long)node_id, why);
		ref.name = name[0] ? name : "unknown";
		ref.version = version;
		ref.broken = why;
		return session_set_reference(s, &ref);
	}
	if (!(h = malloc(sizeof(*h)))) {
		reference_unref(c, e);
		return err_set(AERR_ALLOC, "policy hold");
	}
	h->c = c;
	h->e = e;
	ref.name = e->p->name;
	ref.version = e->p->version;
	ref.policy = &e->p->pcr;
	ref.boot_policy = e->p->boot;
	ref.ima_policy = e->p->ima;
	ref.require_event_log = e->p->require_event_log;
	ref.require_ima = e->p->require_ima;
	ref.has_secrets = e->p->has_secrets;
	ref.secrets = e->p->secret_names;
	ref.nsecrets = e->p->nsecrets;
	ref.release = reference_release;
	ref.hold = h;
	return session_set_reference(s, &ref);
}
