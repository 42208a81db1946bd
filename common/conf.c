/* The table-driven configuration loader of conf.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <tss2/tss2_tpm2_types.h>

#include "conf.h"
#include "log.h"

int conf_bool(const char *v, int *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

int conf_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long x;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (*end || errno || x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

/* An ini_reader over struct conf_reader. */
static char *conf_read_line(char *str, int num, void *reader)
{
	struct conf_reader *c = reader;
	char *r = fgets(str, num, c->f);
	size_t n;

	if (!r)
		return NULL;
	if (c->at_line_start || c->line == 0)
		c->line++;
	n = strlen(r);
	c->at_line_start = n > 0 && r[n - 1] == '\n';
	if (!c->at_line_start && !feof(c->f)) {
		c->too_long_line = c->line;
		c->max = num - 2;
		return NULL;
	}
	return r;
}

int conf_fail(struct conf_load *l, int code, const char *fmt, ...)
{
	char text[400];
	va_list ap;

	if (l->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(l->msg, sizeof(l->msg), "%s:%d: %s", l->path, l->rd.line, text);
	l->failed = 1;
	l->code = code;
	return 0;
}

int conf_each(struct conf_load *l, const char *key, const char *v,
	      int (*each)(struct conf_load *l, void *arg, const char *item), void *arg)
{
	char buf[1024], *save = NULL, *tok;

	/* Longer than any line the reader passes on. */
	if (strlen(v) >= sizeof(buf))
		return conf_fail(l, AERR_CONFIG, "%s is too long", key);
	strcpy(buf, v);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		if (!each(l, arg, tok))
			return 0;
	return 1;
}

/* A relative path taken from the config file's directory, malloc'd. 0, or
 * -1 after conf_fail. */
static int conf_path_dup(struct conf_load *l, const char *v, char **out)
{
	*out = NULL;
	if (v[0] == '/' || !l->dir[0])
		*out = strdup(v);
	else if (asprintf(out, "%s/%s", l->dir, v) < 0)
		*out = NULL;
	if (!*out) {
		conf_fail(l, AERR_ALLOC, "out of memory");
		return -1;
	}
	return 0;
}

/* An unsigned value into a field of `size` bytes (a table's own sizes). */
static void conf_store_uint(void *field, size_t size, unsigned long v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;
	uint64_t u64 = v;

	memcpy(field, size == 1 ? (void *)&u8 : size == 2 ? (void *)&u16 : size == 4 ? (void *)&u32 : (void *)&u64,
	       size);
}

/* "a, b or c" of a choice list. */
static void conf_choice_text(const struct conf_choice *c, char *out, size_t cap)
{
	size_t n = 0, used = 0;

	while (c[n].name)
		n++;
	out[0] = '\0';
	for (size_t i = 0; i < n && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
					 c[i].name);
}

static int conf_text(struct conf_load *l, const struct conf_key *k, void *field, const char *v)
{
	char *s = NULL;

	if (k->flags & CONF_ALLOC) {
		char **dst = field;

		free(*dst);
		*dst = NULL;
		if (!*v)
			return 1;
		if (k->type == CONF_PATH) {
			if (conf_path_dup(l, v, &s) != 0)
				return 0;
		} else if (!(s = strdup(v))) {
			return conf_fail(l, AERR_ALLOC, "out of memory");
		}
		*dst = s;
		return 1;
	}
	if (k->type == CONF_PATH && *v && v[0] != '/' && l->dir[0]) {
		if ((size_t)snprintf(field, k->size, "%s/%s", l->dir, v) >= k->size)
			return conf_fail(l, AERR_CONFIG, "%s: the path is longer than %zu bytes", k->name, k->size - 1);
		return 1;
	}
	if (strlen(v) >= k->size)
		return conf_fail(l, AERR_CONFIG, "%s is longer than %zu bytes", k->name, k->size - 1);
	memcpy(field, v, strlen(v) + 1);
	return 1;
}

static int conf_value(struct conf_load *l, const struct conf_key *k, void *field, const char *v)
{
	char text[256];
	unsigned long n;
	int b;

	if ((k->flags & CONF_NOT_EMPTY) && !*v)
		return conf_fail(l, AERR_CONFIG, "%s is empty", k->name);
	if ((k->flags & CONF_HOSTPORT) && !strchr(v, ':'))
		return conf_fail(l, AERR_CONFIG, "%s must be HOST:PORT, not '%s'", k->name, v);
	switch (k->type) {
	case CONF_BOOL:
		if (conf_bool(v, &b) != 0)
			return conf_fail(l, AERR_CONFIG, "%s must be true or false, not '%s'", k->name, v);
		memcpy(field, &b, sizeof(b));
		return 1;
	case CONF_UINT:
		if (conf_uint(v, k->min, k->max, &n) != 0)
			return conf_fail(l, AERR_CONFIG, "%s must be %lu..%lu%s%s, not '%s'", k->name, k->min, k->max,
					 k->unit ? " " : "", k->unit ? k->unit : "", v);
		conf_store_uint(field, k->size, n * (k->scale ? k->scale : 1));
		return 1;
	case CONF_CHOICE:
		for (const struct conf_choice *c = k->choices; c->name; c++)
			if (!strcmp(v, c->name)) {
				conf_store_uint(field, k->size, c->value);
				return 1;
			}
		conf_choice_text(k->choices, text, sizeof(text));
		return conf_fail(l, AERR_CONFIG, "%s must be %s, not '%s'", k->name, text, v);
	case CONF_TEXT:
	case CONF_PATH:
		return conf_text(l, k, field, v);
	case CONF_FUNC:
		return k->parse(l, field, v);
	}
	return conf_fail(l, AERR_INTERNAL, "%s: key of type %d", k->name, (int)k->type);
}

int conf_apply(struct conf_load *l, const struct conf_key *keys, size_t nkeys, void *base, const char *name,
	       const char *value)
{
	for (size_t i = 0; i < nkeys; i++)
		if (!strcmp(keys[i].name, name))
			return conf_value(l, &keys[i], (char *)base + keys[i].offset, value);
	return -1;
}

static int conf_key_of(struct conf_load *l, const char *section, const char *name, const char *value)
{
	int known_section = 0, r;

	if (l->failed)
		return 0;
	for (size_t s = 0; s < l->nsections; s++) {
		const struct conf_section *sec = &l->sections[s];

		if (strcmp(sec->name, section) != 0)
			continue;
		known_section = 1;
		for (size_t i = 0; i < sec->nkeys; i++)
			if (!strcmp(sec->keys[i].name, name)) {
				l->given[s] |= 1ull << i;
				return conf_value(l, &sec->keys[i], (char *)l->cfg + sec->offset + sec->keys[i].offset,
						  value);
			}
	}
	if (known_section)
		return conf_fail(l, AERR_CONFIG, "unknown key '%s' in [%s]", name, section);
	if (l->other && (r = l->other(l, section, name, value)) >= 0)
		return r;
	return conf_fail(l, AERR_CONFIG, "unknown section [%s]", section);
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_load *l = user;
	int r = conf_key_of(l, section, name, value);

	snprintf(l->prev_section, sizeof(l->prev_section), "%s", section);
	return r;
}

int conf_given(const struct conf_load *l, const char *section, const char *key)
{
	for (size_t s = 0; s < l->nsections; s++) {
		if (strcmp(l->sections[s].name, section) != 0)
			continue;
		for (size_t i = 0; i < l->sections[s].nkeys; i++)
			if (!strcmp(l->sections[s].keys[i].name, key))
				return (l->given[s] >> i & 1) != 0;
	}
	return 0;
}

int conf_load(struct conf_load *l, const char *path)
{
	char *slash;
	int line, r;

	l->path = path;
	l->failed = 0;
	l->prev_section[0] = '\0';
	memset(l->given, 0, sizeof(l->given));
	memset(&l->rd, 0, sizeof(l->rd));
	l->rd.at_line_start = 1;
	if (l->nsections > CONF_MAX_SECTIONS)
		return err_set(AERR_INTERNAL, "%zu config sections", l->nsections);
	for (size_t s = 0; s < l->nsections; s++)
		if (l->sections[s].nkeys > CONF_MAX_KEYS)
			return err_set(AERR_INTERNAL, "[%s]: %zu keys", l->sections[s].name, l->sections[s].nkeys);
	if (strlen(path) >= sizeof(l->dir))
		return err_set(AERR_CONFIG, "%s: path too long", path);
	strcpy(l->dir, path);
	if ((slash = strrchr(l->dir, '/')))
		slash[slash == l->dir ? 1 : 0] = '\0';
	else
		strcpy(l->dir, ".");
	if (!(l->rd.f = fopen(path, "r")))
		return err_set(AERR_CONFIG, "%s: cannot open: %s", path, strerror(errno));
	line = ini_parse_stream(conf_read_line, &l->rd, conf_handler, l);
	fclose(l->rd.f);
	l->rd.f = NULL;
	if (l->rd.too_long_line && !l->failed)
		r = err_set(AERR_CONFIG, "%s:%d: line longer than %d characters (put list values on several lines)",
			    path, l->rd.too_long_line, l->rd.max);
	else if (l->failed)
		r = err_set(l->code, "%s", l->msg);
	else if (line != 0)
		r = err_set(AERR_CONFIG, "%s:%d: syntax error (expected [section] or key = value)", path, line);
	else
		r = 0;
	return r;
}

/* ------------------------------------------------------------ [tls] */

const struct conf_key conf_tls_keys[CONF_TLS_NKEYS] = {
	CONF_KEY_PATH(struct conf_tls, "ca", ca, 0),
	CONF_KEY_PATH(struct conf_tls, "cert", cert, 0),
	CONF_KEY_PATH(struct conf_tls, "key", key, 0),
	CONF_KEY_TEXT(struct conf_tls, "server_name", server_name, 0),
	CONF_KEY_BOOL(struct conf_tls, "insecure", insecure),
};

int conf_tls_check(const struct conf_load *l, const struct conf_tls *tls)
{
	if (!tls->insecure && (!tls->ca[0] || !tls->cert[0] || !tls->key[0]))
		return err_set(AERR_CONFIG, "%s: [tls] ca, cert and key are required (or insecure = true)", l->path);
	return 0;
}

/* ------------------------------------------------------------ shared choices */

const struct conf_choice conf_modes[] = { { "pull", 0 }, { "push", 1 }, { NULL, 0 } };

const struct conf_choice conf_log_levels[] = {
	{ "error", LOG_LEVEL_ERROR }, { "warn", LOG_LEVEL_WARN }, { "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG }, { NULL, 0 },
};

const struct conf_choice conf_key_algs[] = { { "rsa", TPM2_ALG_RSA }, { "ecc", TPM2_ALG_ECC }, { NULL, 0 } };
