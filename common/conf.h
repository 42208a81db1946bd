/* The configuration loader of both programs: an INI file (libinih) read
 * against tables of keys (name, type, range, field). Each program lists its
 * sections and keys; the loader parses and range-checks every value, stores
 * it in the program's struct, refuses unknown sections and keys and bad
 * values with "FILE:LINE: reason" (a typo never leaves a default, say
 * insecure, in place), resolves relative paths against the file's directory
 * and remembers which keys the file gave. Rules over the whole file stay
 * with each program. [tls] is the same in both (conf_tls). */
#ifndef ATTEST_CONF_H
#define ATTEST_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

struct conf_load;

enum conf_type {
	CONF_BOOL,    /* int: true/yes/on/1 or false/no/off/0 */
	CONF_UINT,    /* an unsigned field (1, 2, 4 or 8 bytes; an int holds 4): decimal
		       * min..max, stored times scale (0: 1) */
	CONF_CHOICE,  /* an unsigned field as CONF_UINT: the value of one of choices */
	CONF_TEXT,    /* char[size], or with CONF_ALLOC a malloc'd char * ("" leaves NULL) */
	CONF_PATH,    /* as CONF_TEXT, a relative path taken from the config file's directory */
	CONF_FUNC,    /* parse(l, field, value) */
};

#define CONF_NOT_EMPTY 0x1u  /* "" is refused */
#define CONF_HOSTPORT 0x2u   /* HOST:PORT (holds a ':') */
#define CONF_ALLOC 0x4u      /* CONF_TEXT / CONF_PATH: the field is a char *, freed by the owner */

struct conf_choice {
	const char *name;
	unsigned long value;
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset, size;                 /* of the field in the section's struct */
	unsigned flags;
	unsigned long min, max, scale;       /* CONF_UINT */
	const char *unit;                    /* CONF_UINT: said after the range ("seconds") */
	const struct conf_choice *choices;   /* CONF_CHOICE: ended by a NULL name */
	/* CONF_FUNC: 1 stored, 0 refused (after conf_fail). */
	int (*parse)(struct conf_load *l, void *field, const char *value);
};

/* A table's entries, by field of struct T. */
#define CONF_FIELD(T, f) .offset = offsetof(T, f), .size = sizeof(((T *)0)->f)
#define CONF_KEY_BOOL(T, key, f) { .name = key, .type = CONF_BOOL, CONF_FIELD(T, f) }
#define CONF_KEY_UINT(T, key, f, lo, hi, scale_, unit_)                                                     \
	{ .name = key, .type = CONF_UINT, CONF_FIELD(T, f), .min = lo, .max = hi, .scale = scale_, .unit = unit_ }
#define CONF_KEY_CHOICE(T, key, f, list) { .name = key, .type = CONF_CHOICE, CONF_FIELD(T, f), .choices = list }
#define CONF_KEY_TEXT(T, key, f, fl) { .name = key, .type = CONF_TEXT, CONF_FIELD(T, f), .flags = fl }
#define CONF_KEY_PATH(T, key, f, fl) { .name = key, .type = CONF_PATH, CONF_FIELD(T, f), .flags = fl }
#define CONF_KEY_FUNC(T, key, f, fn) { .name = key, .type = CONF_FUNC, CONF_FIELD(T, f), .parse = fn }

#define CONF_MAX_SECTIONS 8
#define CONF_MAX_KEYS 64     /* per section table */

struct conf_section {
	const char *name;            /* [name] */
	const struct conf_key *keys;
	size_t nkeys;
	size_t offset;               /* of the section's struct in the config */
};

/* Lines of a config file for ini_parse_stream, counted. inih reads a line in
 * one buffer: a longer line would be cut and its rest read as another line,
 * so the reader stops there instead and says where (too_long_line). */
struct conf_reader {
	FILE *f;
	int line;                  /* the line being read (1-based) */
	int at_line_start;
	int too_long_line;         /* 0, or the line that did not fit */
	int max;                   /* the longest line that fits */
};

struct conf_load {
	/* Set by the caller. */
	const struct conf_section *sections; /* a section may have several tables */
	size_t nsections;
	void *cfg;
	/* Sections of no table ([policy], [secret NAME]): 1 taken, 0 refused
	 * (after conf_fail), -1 not a section of this program. */
	int (*other)(struct conf_load *l, const char *section, const char *name, const char *value);
	void *user;
	/* The loader's. */
	const char *path;
	char dir[PATH_MAX];          /* of the file, for relative paths */
	struct conf_reader rd;
	uint64_t given[CONF_MAX_SECTIONS];
	char prev_section[128];      /* of the key before this one: a section that starts again
				      * after another is a new section ([secret NAME] twice) */
	int failed, code;
	char msg[512];
};

/* Read path into l->cfg (defaults already there). 0, or AERR_CONFIG
 * (AERR_ALLOC) with "FILE:LINE: reason" or "FILE: reason" as detail. */
int conf_load(struct conf_load *l, const char *path) ATTEST_WUR;

/* The first problem, with file and line; later ones are dropped (the first
 * is the one to fix first). Returns 0, what an inih handler returns to stop. */
int conf_fail(struct conf_load *l, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whether the file gave section's key (from its tables). */
int conf_given(const struct conf_load *l, const char *section, const char *key);

/* One key of a table into base: what conf_load does for table sections, for
 * a caller's own sections ([secret NAME]). 1, 0 (refused), -1 (no such key). */
int conf_apply(struct conf_load *l, const struct conf_key *keys, size_t nkeys, void *base, const char *name,
	       const char *value);

/* Each item of a list value (items separated by commas, spaces or tabs) to
 * each(l, arg, item), in order, until one refuses (returns 0 after
 * conf_fail). 1, or 0; key names the value in messages. */
int conf_each(struct conf_load *l, const char *key, const char *v,
	      int (*each)(struct conf_load *l, void *arg, const char *item), void *arg);

/* ------------------------------------------------------------ [tls] */

/* The same [tls] keys in both programs: ca, cert, key (paths), server_name,
 * insecure. The attestor adds verifier_identity in a table of its own. */
struct conf_tls {
	char ca[PATH_MAX];           /* PEM files, absolute; "" when not given */
	char cert[PATH_MAX];
	char key[PATH_MAX];
	char server_name[256];       /* client: the name the server's certificate must hold; "" = the host */
	int insecure;
};

#define CONF_TLS_NKEYS 5
extern const struct conf_key conf_tls_keys[CONF_TLS_NKEYS];

/* ca, cert and key all given, unless insecure. 0, or AERR_CONFIG. */
int conf_tls_check(const struct conf_load *l, const struct conf_tls *tls) ATTEST_WUR;

/* ------------------------------------------------------------ shared choices */

/* mode = pull | push: 0 and 1, CONFIG_MODE_PULL/PUSH of both programs. */
extern const struct conf_choice conf_modes[];
/* log_level = error | warn | info | debug: enum log_level. */
extern const struct conf_choice conf_log_levels[];
/* ek_alg / ak_alg = rsa | ecc: TPM2_ALG_RSA, TPM2_ALG_ECC. */
extern const struct conf_choice conf_key_algs[];

/* ------------------------------------------------------------ values */

/* true/yes/on/1 or false/no/off/0. 0, or -1. */
int conf_bool(const char *v, int *out);

/* Decimal digits only (no sign, no space), min <= value <= max. 0, or -1. */
int conf_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out);

#endif
