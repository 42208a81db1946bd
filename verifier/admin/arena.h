/* Memory for one Admin answer (admin/methods.h): the protobuf-c message a
 * method builds lives here, packed once and freed at once, however many
 * nodes, strings and repeated fields it holds. */
#ifndef VERIFIER_ADMIN_ARENA_H
#define VERIFIER_ADMIN_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct arena;

/* NULL when out of memory. */
struct arena *arena_new(void);
/* NULL-safe. */
void arena_free(struct arena *a);

/* n zeroed bytes, NULL when out of memory (and arena_failed says so
 * from then on). */
void *arena_alloc(struct arena *a, size_t n);

/* A copy of s (NULL: ""); NULL when out of memory. */
char *arena_strdup(struct arena *a, const char *s);
/* printf into the arena; NULL when out of memory. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A repeated field (protobuf-c's T **items and its n) about to take one
 * more: *items grown in the arena to twice *cap (at least 16), the n
 * pointers it held copied; 0, or -1 when out of memory. Call it when
 * n == *cap. */
int arena_grow(struct arena *a, void *items, size_t n, size_t *cap);

/* A bytes field: len bytes of data copied into the arena (none when len
 * is 0); 0, or -1 when out of memory. */
int arena_bytes(struct arena *a, ProtobufCBinaryData *field, const void *data, size_t len);

/* An allocation failed since arena_new. */
int arena_failed(const struct arena *a);

/* A protobuf-c message of type T with its INIT, in the arena (NULL when out of memory). */
#define ARENA_MSG(a, T, INIT)                                   \
	__extension__({                                         \
		T *m_ = arena_alloc((a), sizeof(T));            \
		if (m_) {                                       \
			T init_ = INIT;                         \
			*m_ = init_;                            \
		}                                               \
		m_;                                             \
	})

#endif
