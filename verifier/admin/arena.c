/* admin/arena.h: blocks of 16 kB, or one of its own for a larger piece. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/arena.h"

#define ARENA_BLOCK 16384

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
	int failed;
};

struct arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

void arena_free(struct arena *a)
{
	struct arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	struct arena_block *b = a->head;
	void *p;

	if (n > SIZE_MAX / 2) {
		a->failed = 1;
		return NULL;
	}
	n = n ? (n + align - 1) / align * align : align;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		if (!(b = malloc(sizeof(*b) + cap))) {
			a->failed = 1;
			return NULL;
		}
		b->used = 0;
		b->cap = cap;
		/* A large piece gets its own block behind the head, so the
		 * head's free room stays usable. */
		if (cap > ARENA_BLOCK && a->head) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	char *p = arena_alloc(a, len + 1);

	if (p && len)
		memcpy(p, s, len);
	return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int len;
	char *p;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || !(p = arena_alloc(a, (size_t)len + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return p;
}

int arena_failed(const struct arena *a)
{
	return a->failed;
}

int arena_grow(struct arena *a, void *items, size_t n, size_t *cap)
{
	void *old, *grown;
	size_t want = *cap ? 2 * *cap : 16;

	/* items points at a T ** of the message: its bytes are a pointer. */
	memcpy(&old, items, sizeof(old));
	if (want < n + 1)
		want = n + 1;
	if (want > SIZE_MAX / sizeof(void *) / 2)
		return -1;
	if (!(grown = arena_alloc(a, want * sizeof(void *))))
		return -1;
	if (n)
		memcpy(grown, old, n * sizeof(void *));
	memcpy(items, &grown, sizeof(grown));
	*cap = want;
	return 0;
}

int arena_bytes(struct arena *a, ProtobufCBinaryData *field, const void *data, size_t len)
{
	uint8_t *p;

	field->data = NULL;
	field->len = 0;
	if (!len)
		return 0;
	if (!(p = arena_alloc(a, len)))
		return -1;
	memcpy(p, data, len);
	field->data = p;
	field->len = len;
	return 0;
}
