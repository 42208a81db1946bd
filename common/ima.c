#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "crypto.h"
#include "cursor.h"
#include "ima.h"
#include "ima_priv.h"

#define ENTRY_HEADER 28u      /* pcr, template_hash[20], name_len */
#define SIG_TYPE_DIGSIG 3u    /* EVM_IMA_XATTR_DIGSIG */
#define SIG_TYPE_VERITY 6u    /* IMA_VERITY_DIGSIG */

/* A read cursor over hostile bytes: every get checks the remaining length
 * first and advances only on success. */
void ima_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static const struct ima_tmpl_desc tmpls[] = {
	{ "ima", IMA_TEMPLATE_IMA, 0, { 0 } }, /* own layout, see parse_ima_template */
	{ "ima-ng", IMA_TEMPLATE_IMA_NG, 2, { F_DNG, F_NNG } },
	{ "ima-ngv2", IMA_TEMPLATE_IMA_NGV2, 2, { F_DNGV2, F_NNG } },
	{ "ima-sig", IMA_TEMPLATE_IMA_SIG, 3, { F_DNG, F_NNG, F_SIG } },
	{ "ima-sigv2", IMA_TEMPLATE_IMA_SIGV2, 3, { F_DNGV2, F_NNG, F_SIG } },
	{ "ima-buf", IMA_TEMPLATE_IMA_BUF, 3, { F_DNG, F_NNG, F_BUF } },
	{ "ima-modsig", IMA_TEMPLATE_IMA_MODSIG, 5, { F_DNG, F_NNG, F_SIG, F_DMODSIG, F_MODSIG } },
};

const struct ima_tmpl_desc *ima_tmpl_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(tmpls); i++)
		if (strcmp(tmpls[i].name, name) == 0)
			return &tmpls[i];
	return NULL;
}

/* Kernel hash_algo_name[] spellings; SM3 was "sm3-256" before 5.13. */
static TPM2_ALG_ID alg_from_kernel_name(const char *name)
{
	if (strcmp(name, "sm3-256") == 0)
		return TPM2_ALG_SM3_256;
	return crypto_alg_from_name(name);
}

const char *ima_where_text(const struct ima_where *w, char buf[96])
{
	if (w->line)
		snprintf(buf, 96, "line %zu (entry %" PRIu64 ")", w->line, w->index);
	else
		snprintf(buf, 96, "entry %" PRIu64 " at offset %zu", w->index, w->offset);
	return buf;
}

/* d-ng / d-ngv2: "[<type>:]<alg>:" NUL digest. Violations carry a zero digest
 * of the same size, so nothing is special about them here. */
static int parse_digest_field(struct ima_entry *e, const uint8_t *p, uint32_t len, int v2, const struct ima_where *w)
{
	const uint8_t *nul = memchr(p, 0, len);
	char prefix[8 + IMA_MAX_ALG_NAME + 2], wt[96], *alg, *colon;
	size_t plen, known;

	if (!nul)
		return err_set(AERR_PARSE, "IMA %s: digest field has no NUL after its algorithm prefix",
			       ima_where_text(w, wt));
	plen = (size_t)(nul - p);
	if (plen < 2 || plen >= sizeof(prefix) || p[plen - 1] != ':')
		return err_set(AERR_PARSE, "IMA %s: digest field prefix of %zu bytes is not \"<alg>:\"",
			       ima_where_text(w, wt), plen);
	memcpy(prefix, p, plen);
	prefix[plen - 1] = 0; /* drop the final ':' */
	for (size_t i = 0; i + 1 < plen; i++)
		if (!((prefix[i] >= 'a' && prefix[i] <= 'z') || (prefix[i] >= '0' && prefix[i] <= '9') ||
		      prefix[i] == '-' || prefix[i] == '_' || (v2 && prefix[i] == ':')))
			return err_set(AERR_PARSE, "IMA %s: digest field prefix has byte 0x%02x", ima_where_text(w, wt),
				       (uint8_t)prefix[i]);
	alg = prefix;
	if (v2) {
		if (!(colon = strchr(prefix, ':')))
			return err_set(AERR_PARSE, "IMA %s: d-ngv2 prefix lacks \"<type>:\"", ima_where_text(w, wt));
		*colon = 0;
		if (strcmp(prefix, "ima") != 0 && strcmp(prefix, "verity") != 0)
			return err_set(AERR_PARSE, "IMA %s: d-ngv2 digest type \"%s\" is neither ima nor verity",
				       ima_where_text(w, wt), prefix);
		strcpy(e->digest_type, prefix);
		alg = colon + 1;
		if (strchr(alg, ':'))
			return err_set(AERR_PARSE, "IMA %s: d-ngv2 prefix has too many ':'", ima_where_text(w, wt));
	}
	if (!*alg || strlen(alg) > IMA_MAX_ALG_NAME)
		return err_set(AERR_PARSE, "IMA %s: digest algorithm name empty or too long", ima_where_text(w, wt));
	strcpy(e->digest_alg_name, alg);
	e->digest_alg = alg_from_kernel_name(alg);
	e->digest = nul + 1;
	e->digest_len = len - (uint32_t)plen - 1;
	known = crypto_digest_size(e->digest_alg);
	/* Unknown algorithms (md5, sha3-*, ...) are kept: their size is only bounded. */
	if ((known && e->digest_len != known) || e->digest_len == 0 || e->digest_len > CRYPTO_MAX_DIGEST)
		return err_set(AERR_PARSE, "IMA %s: %s digest of %u bytes", ima_where_text(w, wt), alg, e->digest_len);
	return 0;
}

/* Parse the fields of a known template's data (len-prefixed each) and
 * require they fill it exactly. path is copied into *arena. */
static int parse_fields(struct ima_entry *e, const struct ima_tmpl_desc *t, char **arena, const struct ima_where *w)
{
	struct cur c = { e->data, e->data_len, 0 };
	const uint8_t *dmodsig = NULL;
	uint32_t dmodsig_len = 0;
	char wt[96];
	int r;

	for (unsigned i = 0; i < t->nfields; i++) {
		const uint8_t *p;
		uint32_t len;

		if (cur_u32(&c, &len) || cur_bytes(&c, len, &p))
			return err_set(AERR_PARSE, "IMA %s: %s field %u runs past the template data (%u bytes)",
				       ima_where_text(w, wt), t->name, i, e->data_len);
		switch (t->fields[i]) {
		case F_DNG:
		case F_DNGV2:
			if ((r = parse_digest_field(e, p, len, t->fields[i] == F_DNGV2, w)) != 0)
				return r;
			break;
		case F_NNG:
			/* name NUL: exactly one NUL, the last byte */
			if (len == 0 || p[len - 1] != 0 || memchr(p, 0, len - 1))
				return err_set(AERR_PARSE, "IMA %s: name field is not one NUL-terminated string",
					       ima_where_text(w, wt));
			memcpy(*arena, p, len);
			e->path = *arena;
			*arena += len;
			break;
		case F_SIG:
			if (len && p[0] != SIG_TYPE_DIGSIG && p[0] != SIG_TYPE_VERITY)
				return err_set(AERR_PARSE, "IMA %s: sig field of type %u, not an IMA signature (3 or 6)",
					       ima_where_text(w, wt), p[0]);
			e->sig = len ? p : NULL;
			e->sig_len = len;
			break;
		case F_BUF:
			e->buf = p;
			e->buf_len = len;
			break;
		case F_DMODSIG:
			dmodsig = p;
			dmodsig_len = len;
			break;
		case F_MODSIG:
			e->modsig = len ? p : NULL;
			e->modsig_len = len;
			break;
		}
	}
	if (cur_left(&c))
		return err_set(AERR_PARSE, "IMA %s: %zu bytes of %s template data after its last field",
			       ima_where_text(w, wt), cur_left(&c), t->name);
	if (t->id == IMA_TEMPLATE_IMA_MODSIG) {
		struct ima_entry tmp = { 0 };

		/* d-modsig is empty exactly when there is no modsig. */
		if (!dmodsig_len != !e->modsig_len)
			return err_set(AERR_PARSE, "IMA %s: d-modsig and modsig fields disagree on presence",
				       ima_where_text(w, wt));
		if (dmodsig_len && (r = parse_digest_field(&tmp, dmodsig, dmodsig_len, 0, w)) != 0)
			return r;
	}
	return 0;
}

/* "ima" template data as listed: digest[20] | u32 fname_len | fname. */
static int parse_ima_template(struct ima_entry *e, char **arena, const struct ima_where *w)
{
	uint32_t flen = e->data_len - IMA_SHA1_SIZE - 4;
	const uint8_t *fname = e->data + IMA_SHA1_SIZE + 4;
	char wt[96];

	if (memchr(fname, 0, flen))
		return err_set(AERR_PARSE, "IMA %s: ima template file name contains NUL", ima_where_text(w, wt));
	memcpy(*arena, fname, flen);
	(*arena)[flen] = 0;
	e->path = *arena;
	*arena += flen + 1;
	strcpy(e->digest_alg_name, "sha1");
	e->digest_alg = TPM2_ALG_SHA1;
	e->digest = e->data;
	e->digest_len = IMA_SHA1_SIZE;
	return 0;
}

int ima_is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Template name: printable, no spaces (it is a field of the ASCII list). */
int ima_set_template_name(struct ima_entry *e, const uint8_t *p, uint32_t len, const struct ima_where *w)
{
	const struct ima_tmpl_desc *t;
	char wt[96];

	if (len == 0 || len > IMA_MAX_TEMPLATE_NAME)
		return err_set(AERR_PARSE, "IMA %s: template name length %u outside 1-%u", ima_where_text(w, wt), len,
			       IMA_MAX_TEMPLATE_NAME);
	for (uint32_t i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return err_set(AERR_PARSE, "IMA %s: template name has byte 0x%02x", ima_where_text(w, wt), p[i]);
	memcpy(e->template_name, p, len);
	e->template_name[len] = 0;
	t = ima_tmpl_by_name(e->template_name);
	e->tmpl = t ? t->id : IMA_TEMPLATE_UNKNOWN;
	return 0;
}

/* Fields of a known template, once data/data_len are set. */
int ima_parse_template_data(struct ima_entry *e, char **arena, const struct ima_where *w)
{
	const struct ima_tmpl_desc *t = ima_tmpl_by_name(e->template_name);

	e->digest_alg = TPM2_ALG_ERROR;
	if (!t)
		return 0; /* kept raw */
	if (t->id == IMA_TEMPLATE_IMA)
		return parse_ima_template(e, arena, w);
	return parse_fields(e, t, arena, w);
}

static int parse_entry(struct cur *c, struct ima_entry *e, char **arena)
{
	struct ima_where w = { e->index, c->off, 0 };
	const uint8_t *hash, *name;
	uint32_t name_len;
	char wt[96];
	int r;

	e->offset = c->off;
	if (cur_left(c) < ENTRY_HEADER)
		return err_set(AERR_PARSE, "IMA %s: truncated: %zu bytes left, fewer than the %u-byte entry header",
			       ima_where_text(&w, wt), cur_left(c), ENTRY_HEADER);
	if (cur_u32(c, &e->pcr) || cur_bytes(c, IMA_SHA1_SIZE, &hash) || cur_u32(c, &name_len))
		return err_set(AERR_INTERNAL, "IMA entry header bounds");
	if (e->pcr >= IMA_NUM_PCRS)
		return err_set(AERR_PARSE, "IMA %s: PCR index %u out of range 0-%u", ima_where_text(&w, wt), e->pcr,
			       IMA_NUM_PCRS - 1);
	memcpy(e->template_hash, hash, IMA_SHA1_SIZE);
	e->violation = ima_is_zero(hash, IMA_SHA1_SIZE);
	if (name_len > IMA_MAX_TEMPLATE_NAME || name_len == 0)
		return err_set(AERR_PARSE, "IMA %s: template name length %u outside 1-%u", ima_where_text(&w, wt),
			       name_len, IMA_MAX_TEMPLATE_NAME);
	if (cur_bytes(c, name_len, &name))
		return err_set(AERR_PARSE, "IMA %s: truncated in the template name", ima_where_text(&w, wt));
	if ((r = ima_set_template_name(e, name, name_len, &w)) != 0)
		return r;
	if (e->tmpl == IMA_TEMPLATE_IMA) {
		/* No data length: digest[20] | u32 fname_len | fname. */
		uint32_t flen;
		const uint8_t *skip;

		e->data = c->buf + c->off;
		if (cur_bytes(c, IMA_SHA1_SIZE, &skip) || cur_u32(c, &flen))
			return err_set(AERR_PARSE, "IMA %s: truncated in the ima template digest or name length",
				       ima_where_text(&w, wt));
		if (flen > IMA_EVENT_NAME_LEN_MAX)
			return err_set(AERR_PARSE, "IMA %s: ima template file name length %u exceeds %u",
				       ima_where_text(&w, wt), flen, IMA_EVENT_NAME_LEN_MAX);
		if (cur_bytes(c, flen, &skip))
			return err_set(AERR_PARSE, "IMA %s: truncated in the ima template file name (%u bytes, %zu left)",
				       ima_where_text(&w, wt), flen, cur_left(c));
		e->data_len = IMA_SHA1_SIZE + 4 + flen;
	} else {
		uint32_t dlen;

		if (cur_u32(c, &dlen))
			return err_set(AERR_PARSE, "IMA %s: truncated before the template data length", ima_where_text(&w, wt));
		if (dlen > cur_left(c))
			return err_set(AERR_PARSE, "IMA %s: truncated: template data length %u exceeds the %zu bytes left",
				       ima_where_text(&w, wt), dlen, cur_left(c));
		if (dlen > IMA_MAX_TEMPLATE_DATA)
			return err_set(AERR_TOO_LARGE, "IMA %s: template data length %u exceeds the limit %u",
				       ima_where_text(&w, wt), dlen, IMA_MAX_TEMPLATE_DATA);
		if (cur_bytes(c, dlen, &e->data))
			return err_set(AERR_INTERNAL, "IMA template data bounds");
		e->data_len = dlen;
	}
	e->size = c->off - e->offset;
	return ima_parse_template_data(e, arena, &w);
}

int ima_list_new(struct ima_list **out, TPM2_ALG_ID alg, uint64_t first_index)
{
	struct ima_list *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return err_set(AERR_ALLOC, "IMA list: out of memory");
	l->template_hash_alg = alg;
	l->first_index = first_index;
	*out = l;
	return 0;
}

int ima_list_own(struct ima_list *l, size_t size, uint8_t **p)
{
	uint8_t **n;

	*p = NULL;
	if (!(n = realloc(l->owned, (l->nowned + 1) * sizeof(*n))))
		return err_set(AERR_ALLOC, "IMA list: out of memory");
	l->owned = n;
	if (!(l->owned[l->nowned] = malloc(size ? size : 1)))
		return err_set(AERR_ALLOC, "IMA list: out of memory for %zu bytes", size);
	*p = l->owned[l->nowned++];
	return 0;
}

int ima_list_grow(struct ima_list *l, size_t *cap)
{
	struct ima_entry *n;
	size_t ncap;

	if (l->nentries < *cap)
		return 0;
	if (l->nentries >= IMA_MAX_ENTRIES)
		return err_set(AERR_TOO_LARGE, "IMA list: more than %u entries in one chunk", IMA_MAX_ENTRIES);
	ncap = *cap ? *cap * 2 : 256;
	if (ncap > IMA_MAX_ENTRIES)
		ncap = IMA_MAX_ENTRIES;
	if (!(n = realloc(l->entries, ncap * sizeof(*n))))
		return err_set(AERR_ALLOC, "IMA list: out of memory for %zu entries", ncap);
	l->entries = n;
	*cap = ncap;
	return 0;
}

static int ima_frame(struct cur *c);

/* Entries the framing of buf holds (and one more for a malformed tail, which
 * the parse then reports), at most IMA_MAX_ENTRIES + 1: the entry array is
 * allocated once instead of grown, which on a large list spent more time
 * copying than parsing. */
static size_t ima_count(const uint8_t *buf, size_t len)
{
	struct cur c = { buf, len, 0 };
	size_t n = 0;

	while (cur_left(&c) && n <= IMA_MAX_ENTRIES) {
		n++;
		if (ima_frame(&c) != 0)
			break;
	}
	return n;
}

int ima_parse(const uint8_t *buf, size_t len, uint64_t first_index, struct ima_list **out)
{
	struct ima_list *l = NULL;
	struct cur c = { buf, len, 0 };
	uint8_t *arena_buf;
	char *arena;
	size_t cap = 0;
	int r = AERR_INTERNAL;

	if (out)
		*out = NULL;
	if (!out || (!buf && len)) {
		r = err_set(AERR_INVALID_ARG, "ima_parse: NULL argument");
		goto out;
	}
	if (len > IMA_MAX_LIST_SIZE) {
		r = err_set(AERR_TOO_LARGE, "IMA list chunk is %zu bytes, limit %u", len, IMA_MAX_LIST_SIZE);
		goto out;
	}
	if ((r = ima_list_new(&l, TPM2_ALG_SHA1, first_index)) != 0)
		goto out;
	/* Paths copied with their NUL never need more than the chunk's bytes:
	 * each has a 4-byte length (or a NUL) in the list. */
	if ((r = ima_list_own(l, len, &arena_buf)) != 0)
		goto out;
	arena = (char *)arena_buf;
	if ((cap = ima_count(buf, len)) > IMA_MAX_ENTRIES)
		cap = IMA_MAX_ENTRIES;
	if (cap && !(l->entries = malloc(cap * sizeof(*l->entries)))) {
		r = err_set(AERR_ALLOC, "IMA list: out of memory for %zu entries", cap);
		goto out;
	}
	while (cur_left(&c)) {
		struct ima_entry *e;

		if ((r = ima_list_grow(l, &cap)) != 0)
			goto out;
		e = &l->entries[l->nentries];
		memset(e, 0, sizeof(*e));
		e->index = first_index + l->nentries;
		if ((r = parse_entry(&c, e, &arena)) != 0)
			goto out;
		l->nentries++;
	}
	l->size = len;
	*out = l;
	l = NULL; /* transferred */
	r = 0;
out:
	ima_list_free(l);
	return r;
}

void ima_list_free(struct ima_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->nowned; i++)
		free(list->owned[i]);
	free(list->owned);
	free(list->entries);
	free(list);
}

/* One entry's length from its framing: pcr, template hash, name; then "ima"
 * has digest + name, every other template a length-prefixed data field. */
static int ima_frame(struct cur *c)
{
	const uint8_t *name;
	uint32_t pcr, n;
	const uint8_t *skip;

	if (cur_u32(c, &pcr) || pcr >= IMA_NUM_PCRS || cur_bytes(c, IMA_SHA1_SIZE, &skip) || cur_u32(c, &n) ||
	    n == 0 || n > IMA_MAX_TEMPLATE_NAME || cur_bytes(c, n, &name))
		return -1;
	if (n == 3 && !memcmp(name, "ima", 3)) {
		if (cur_bytes(c, IMA_SHA1_SIZE, &skip) || cur_u32(c, &n) || n > IMA_EVENT_NAME_LEN_MAX ||
		    cur_bytes(c, n, &skip))
			return -1;
		return 0;
	}
	if (cur_u32(c, &n) || n > IMA_MAX_TEMPLATE_DATA || cur_bytes(c, n, &skip))
		return -1;
	return 0;
}

int ima_list_offsets(const uint8_t *buf, size_t len, uint64_t skip, size_t *at, size_t *end)
{
	struct cur c = { .buf = buf, .len = len, .off = 0 };
	uint64_t i = 0;
	size_t last = 0;

	*at = *end = 0;
	for (;;) {
		if (i == skip)
			*at = c.off;
		last = c.off;
		if (cur_left(&c) == 0)
			break;
		if (ima_frame(&c) != 0) {
			/* A partial last entry (the kernel was appending): stop before it. */
			c.off = last;
			break;
		}
		i++;
	}
	*end = last;
	if (i < skip)
		return err_set(AERR_NOT_FOUND, "the IMA list holds %llu entries, fewer than the %llu asked to skip",
			       (unsigned long long)i, (unsigned long long)skip);
	return 0;
}
