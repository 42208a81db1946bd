#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "ima"
#include "array.h"
#include "cursor.h"
#include "hex.h"
#include "ima.h"
#include "log.h"

#define ENTRY_HEADER 28u      /* pcr, template_hash[20], name_len */
#define IMA_FNAME_PAD 256u    /* "ima" template: fname hashed padded to IMA_EVENT_NAME_LEN_MAX + 1 */
#define SIG_TYPE_DIGSIG 3u    /* EVM_IMA_XATTR_DIGSIG */
#define SIG_TYPE_VERITY 6u    /* IMA_VERITY_DIGSIG */
#define MAX_FIELDS 5u

/* A read cursor over hostile bytes: every get checks the remaining length
 * first and advances only on success. */
static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Field layouts of the templates we parse (kernel ima_template.c). */
enum field { F_DNG, F_DNGV2, F_NNG, F_SIG, F_BUF, F_DMODSIG, F_MODSIG };

struct tmpl_desc {
	const char *name;
	enum ima_template id;
	unsigned nfields;
	enum field fields[MAX_FIELDS];
};

static const struct tmpl_desc tmpls[] = {
	{ "ima", IMA_TEMPLATE_IMA, 0, { 0 } }, /* own layout, see parse_ima_template */
	{ "ima-ng", IMA_TEMPLATE_IMA_NG, 2, { F_DNG, F_NNG } },
	{ "ima-ngv2", IMA_TEMPLATE_IMA_NGV2, 2, { F_DNGV2, F_NNG } },
	{ "ima-sig", IMA_TEMPLATE_IMA_SIG, 3, { F_DNG, F_NNG, F_SIG } },
	{ "ima-sigv2", IMA_TEMPLATE_IMA_SIGV2, 3, { F_DNGV2, F_NNG, F_SIG } },
	{ "ima-buf", IMA_TEMPLATE_IMA_BUF, 3, { F_DNG, F_NNG, F_BUF } },
	{ "ima-modsig", IMA_TEMPLATE_IMA_MODSIG, 5, { F_DNG, F_NNG, F_SIG, F_DMODSIG, F_MODSIG } },
};

static const struct tmpl_desc *tmpl_by_name(const char *name)
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

/* Where errors point: entry number and offset (binary) or line (ASCII). */
struct where {
	uint64_t index;
	size_t offset;
	size_t line;          /* 0 for binary lists */
};

static const char *where_text(const struct where *w, char buf[96])
{
	if (w->line)
		snprintf(buf, 96, "line %zu (entry %" PRIu64 ")", w->line, w->index);
	else
		snprintf(buf, 96, "entry %" PRIu64 " at offset %zu", w->index, w->offset);
	return buf;
}

/* d-ng / d-ngv2: "[<type>:]<alg>:" NUL digest. Violations carry a zero digest
 * of the same size, so nothing is special about them here. */
static int parse_digest_field(struct ima_entry *e, const uint8_t *p, uint32_t len, int v2, const struct where *w)
{
	const uint8_t *nul = memchr(p, 0, len);
	char prefix[8 + IMA_MAX_ALG_NAME + 2], wt[96], *alg, *colon;
	size_t plen, known;

	if (!nul)
		return err_set(AERR_PARSE, "IMA %s: digest field has no NUL after its algorithm prefix",
			       where_text(w, wt));
	plen = (size_t)(nul - p);
	if (plen < 2 || plen >= sizeof(prefix) || p[plen - 1] != ':')
		return err_set(AERR_PARSE, "IMA %s: digest field prefix of %zu bytes is not \"<alg>:\"",
			       where_text(w, wt), plen);
	memcpy(prefix, p, plen);
	prefix[plen - 1] = 0; /* drop the final ':' */
	for (size_t i = 0; i + 1 < plen; i++)
		if (!((prefix[i] >= 'a' && prefix[i] <= 'z') || (prefix[i] >= '0' && prefix[i] <= '9') ||
		      prefix[i] == '-' || prefix[i] == '_' || (v2 && prefix[i] == ':')))
			return err_set(AERR_PARSE, "IMA %s: digest field prefix has byte 0x%02x", where_text(w, wt),
				       (uint8_t)prefix[i]);
	alg = prefix;
	if (v2) {
		if (!(colon = strchr(prefix, ':')))
			return err_set(AERR_PARSE, "IMA %s: d-ngv2 prefix lacks \"<type>:\"", where_text(w, wt));
		*colon = 0;
		if (strcmp(prefix, "ima") != 0 && strcmp(prefix, "verity") != 0)
			return err_set(AERR_PARSE, "IMA %s: d-ngv2 digest type \"%s\" is neither ima nor verity",
				       where_text(w, wt), prefix);
		strcpy(e->digest_type, prefix);
		alg = colon + 1;
		if (strchr(alg, ':'))
			return err_set(AERR_PARSE, "IMA %s: d-ngv2 prefix has too many ':'", where_text(w, wt));
	}
	if (!*alg || strlen(alg) > IMA_MAX_ALG_NAME)
		return err_set(AERR_PARSE, "IMA %s: digest algorithm name empty or too long", where_text(w, wt));
	strcpy(e->digest_alg_name, alg);
	e->digest_alg = alg_from_kernel_name(alg);
	e->digest = nul + 1;
	e->digest_len = len - (uint32_t)plen - 1;
	known = crypto_digest_size(e->digest_alg);
	/* Unknown algorithms (md5, sha3-*, ...) are kept: their size is only bounded. */
	if ((known && e->digest_len != known) || e->digest_len == 0 || e->digest_len > CRYPTO_MAX_DIGEST)
		return err_set(AERR_PARSE, "IMA %s: %s digest of %u bytes", where_text(w, wt), alg, e->digest_len);
	return 0;
}

/* Parse the fields of a known template's data (len-prefixed each) and
 * require they fill it exactly. path is copied into *arena. */
static int parse_fields(struct ima_entry *e, const struct tmpl_desc *t, char **arena, const struct where *w)
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
				       where_text(w, wt), t->name, i, e->data_len);
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
					       where_text(w, wt));
			memcpy(*arena, p, len);
			e->path = *arena;
			*arena += len;
			break;
		case F_SIG:
			if (len && p[0] != SIG_TYPE_DIGSIG && p[0] != SIG_TYPE_VERITY)
				return err_set(AERR_PARSE, "IMA %s: sig field of type %u, not an IMA signature (3 or 6)",
					       where_text(w, wt), p[0]);
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
			       where_text(w, wt), cur_left(&c), t->name);
	if (t->id == IMA_TEMPLATE_IMA_MODSIG) {
		struct ima_entry tmp = { 0 };

		/* d-modsig is empty exactly when there is no modsig. */
		if (!dmodsig_len != !e->modsig_len)
			return err_set(AERR_PARSE, "IMA %s: d-modsig and modsig fields disagree on presence",
				       where_text(w, wt));
		if (dmodsig_len && (r = parse_digest_field(&tmp, dmodsig, dmodsig_len, 0, w)) != 0)
			return r;
	}
	return 0;
}

/* "ima" template data as listed: digest[20] | u32 fname_len | fname. */
static int parse_ima_template(struct ima_entry *e, char **arena, const struct where *w)
{
	uint32_t flen = e->data_len - IMA_SHA1_SIZE - 4;
	const uint8_t *fname = e->data + IMA_SHA1_SIZE + 4;
	char wt[96];

	if (memchr(fname, 0, flen))
		return err_set(AERR_PARSE, "IMA %s: ima template file name contains NUL", where_text(w, wt));
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

static int is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Template name: printable, no spaces (it is a field of the ASCII list). */
static int set_template_name(struct ima_entry *e, const uint8_t *p, uint32_t len, const struct where *w)
{
	const struct tmpl_desc *t;
	char wt[96];

	if (len == 0 || len > IMA_MAX_TEMPLATE_NAME)
		return err_set(AERR_PARSE, "IMA %s: template name length %u outside 1-%u", where_text(w, wt), len,
			       IMA_MAX_TEMPLATE_NAME);
	for (uint32_t i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return err_set(AERR_PARSE, "IMA %s: template name has byte 0x%02x", where_text(w, wt), p[i]);
	memcpy(e->template_name, p, len);
	e->template_name[len] = 0;
	t = tmpl_by_name(e->template_name);
	e->tmpl = t ? t->id : IMA_TEMPLATE_UNKNOWN;
	return 0;
}

/* Fields of a known template, once data/data_len are set. */
static int parse_template_data(struct ima_entry *e, char **arena, const struct where *w)
{
	const struct tmpl_desc *t = tmpl_by_name(e->template_name);

	e->digest_alg = TPM2_ALG_ERROR;
	if (!t)
		return 0; /* kept raw */
	if (t->id == IMA_TEMPLATE_IMA)
		return parse_ima_template(e, arena, w);
	return parse_fields(e, t, arena, w);
}

static int parse_entry(struct cur *c, struct ima_entry *e, char **arena)
{
	struct where w = { e->index, c->off, 0 };
	const uint8_t *hash, *name;
	uint32_t name_len;
	char wt[96];
	int r;

	e->offset = c->off;
	if (cur_left(c) < ENTRY_HEADER)
		return err_set(AERR_PARSE, "IMA %s: truncated: %zu bytes left, fewer than the %u-byte entry header",
			       where_text(&w, wt), cur_left(c), ENTRY_HEADER);
	if (cur_u32(c, &e->pcr) || cur_bytes(c, IMA_SHA1_SIZE, &hash) || cur_u32(c, &name_len))
		return err_set(AERR_INTERNAL, "IMA entry header bounds");
	if (e->pcr >= IMA_NUM_PCRS)
		return err_set(AERR_PARSE, "IMA %s: PCR index %u out of range 0-%u", where_text(&w, wt), e->pcr,
			       IMA_NUM_PCRS - 1);
	memcpy(e->template_hash, hash, IMA_SHA1_SIZE);
	e->violation = is_zero(hash, IMA_SHA1_SIZE);
	if (name_len > IMA_MAX_TEMPLATE_NAME || name_len == 0)
		return err_set(AERR_PARSE, "IMA %s: template name length %u outside 1-%u", where_text(&w, wt),
			       name_len, IMA_MAX_TEMPLATE_NAME);
	if (cur_bytes(c, name_len, &name))
		return err_set(AERR_PARSE, "IMA %s: truncated in the template name", where_text(&w, wt));
	if ((r = set_template_name(e, name, name_len, &w)) != 0)
		return r;
	if (e->tmpl == IMA_TEMPLATE_IMA) {
		/* No data length: digest[20] | u32 fname_len | fname. */
		uint32_t flen;
		const uint8_t *skip;

		e->data = c->buf + c->off;
		if (cur_bytes(c, IMA_SHA1_SIZE, &skip) || cur_u32(c, &flen))
			return err_set(AERR_PARSE, "IMA %s: truncated in the ima template digest or name length",
				       where_text(&w, wt));
		if (flen > IMA_EVENT_NAME_LEN_MAX)
			return err_set(AERR_PARSE, "IMA %s: ima template file name length %u exceeds %u",
				       where_text(&w, wt), flen, IMA_EVENT_NAME_LEN_MAX);
		if (cur_bytes(c, flen, &skip))
			return err_set(AERR_PARSE, "IMA %s: truncated in the ima template file name (%u bytes, %zu left)",
				       where_text(&w, wt), flen, cur_left(c));
		e->data_len = IMA_SHA1_SIZE + 4 + flen;
	} else {
		uint32_t dlen;

		if (cur_u32(c, &dlen))
			return err_set(AERR_PARSE, "IMA %s: truncated before the template data length", where_text(&w, wt));
		if (dlen > cur_left(c))
			return err_set(AERR_PARSE, "IMA %s: truncated: template data length %u exceeds the %zu bytes left",
				       where_text(&w, wt), dlen, cur_left(c));
		if (dlen > IMA_MAX_TEMPLATE_DATA)
			return err_set(AERR_TOO_LARGE, "IMA %s: template data length %u exceeds the limit %u",
				       where_text(&w, wt), dlen, IMA_MAX_TEMPLATE_DATA);
		if (cur_bytes(c, dlen, &e->data))
			return err_set(AERR_INTERNAL, "IMA template data bounds");
		e->data_len = dlen;
	}
	e->size = c->off - e->offset;
	return parse_template_data(e, arena, &w);
}

static int list_new(struct ima_list **out, TPM2_ALG_ID alg, uint64_t first_index)
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

static int list_own(struct ima_list *l, size_t size, uint8_t **p)
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

static int grow(struct ima_list *l, size_t *cap)
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
	if ((r = list_new(&l, TPM2_ALG_SHA1, first_index)) != 0)
		goto out;
	/* Paths copied with their NUL never need more than the chunk's bytes:
	 * each has a 4-byte length (or a NUL) in the list. */
	if ((r = list_own(l, len, &arena_buf)) != 0)
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

		if ((r = grow(l, &cap)) != 0)
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

/* ---- ASCII lists ---- */

/* A hex field of the text list; an empty one decodes to nothing. */
static int unhex(const char *s, size_t n, uint8_t *out)
{
	return n == 0 || hex_decode(s, n, out, n / 2) >= 0 ? 0 : -1;
}

struct tok {
	const char *p;
	size_t n;
};

/* Rebuild the binary template data of one ASCII entry from its fields. */
static int ascii_rebuild(struct ima_list *l, struct ima_entry *e, const struct tok *f, size_t nf, const struct where *w)
{
	const struct tmpl_desc *t = tmpl_by_name(e->template_name);
	uint8_t *data, *p;
	size_t cap = 0, want;
	char wt[96];
	int r;

	if (!t || t->id == IMA_TEMPLATE_IMA_MODSIG)
		return err_set(AERR_UNSUPPORTED, "IMA %s: template %s not supported in ASCII lists",
			       where_text(w, wt), e->template_name);
	want = t->id == IMA_TEMPLATE_IMA ? 2 : t->nfields;
	/* An empty sig as the last field may be written "path " or "path". */
	if (!(nf == want || (nf + 1 == want && t->nfields == 3 && t->fields[2] == F_SIG)))
		return err_set(AERR_PARSE, "IMA %s: %zu fields for template %s, expected %zu", where_text(w, wt), nf,
			       e->template_name, want);
	for (size_t i = 0; i < nf; i++)
		cap += 4 + f[i].n + 1; /* hex shrinks; prefixes keep their size plus a NUL */
	if (cap > IMA_MAX_TEMPLATE_DATA)
		return err_set(AERR_TOO_LARGE, "IMA %s: fields exceed the template data limit", where_text(w, wt));
	if ((r = list_own(l, cap + IMA_SHA1_SIZE + 8, &data)) != 0)
		return r;
	p = data;
	if (t->id == IMA_TEMPLATE_IMA) {
		if (f[0].n != 2 * IMA_SHA1_SIZE || unhex(f[0].p, f[0].n, p))
			return err_set(AERR_PARSE, "IMA %s: ima template digest is not 40 hex digits", where_text(w, wt));
		p += IMA_SHA1_SIZE;
		if (f[1].n > IMA_EVENT_NAME_LEN_MAX)
			return err_set(AERR_PARSE, "IMA %s: ima template file name longer than %u", where_text(w, wt),
				       IMA_EVENT_NAME_LEN_MAX);
		put_u32(p, (uint32_t)f[1].n);
		memcpy(p + 4, f[1].p, f[1].n);
		p += 4 + f[1].n;
	} else {
		for (unsigned i = 0; i < t->nfields; i++) {
			struct tok tk = i < nf ? f[i] : (struct tok){ "", 0 };
			uint8_t *len_at = p;
			const char *colon;

			p += 4;
			switch (t->fields[i]) {
			case F_DNG:
			case F_DNGV2:
				/* "<alg>:<hex>" or "<type>:<alg>:<hex>": split at the last ':' */
				colon = NULL;
				for (size_t k = 0; k < tk.n; k++)
					if (tk.p[k] == ':')
						colon = tk.p + k;
				if (!colon)
					return err_set(AERR_PARSE, "IMA %s: digest field lacks \"<alg>:\"", where_text(w, wt));
				memcpy(p, tk.p, (size_t)(colon - tk.p) + 1);
				p += (colon - tk.p) + 1;
				*p++ = 0;
				if (unhex(colon + 1, tk.n - (size_t)(colon - tk.p) - 1, p))
					return err_set(AERR_PARSE, "IMA %s: digest is not hex", where_text(w, wt));
				p += (tk.n - (size_t)(colon - tk.p) - 1) / 2;
				break;
			case F_NNG:
				memcpy(p, tk.p, tk.n);
				p += tk.n;
				*p++ = 0;
				break;
			case F_SIG:
			case F_BUF:
				if (unhex(tk.p, tk.n, p))
					return err_set(AERR_PARSE, "IMA %s: field %u is not hex", where_text(w, wt), i);
				p += tk.n / 2;
				break;
			default:
				return err_set(AERR_INTERNAL, "IMA ASCII field");
			}
			put_u32(len_at, (uint32_t)(p - len_at - 4));
		}
	}
	e->data = data;
	e->data_len = (uint32_t)(p - data);
	return 0;
}

static int ascii_line(struct ima_list *l, struct ima_entry *e, const char *s, size_t n, const struct where *w,
		      char **arena)
{
	struct tok f[3 + MAX_FIELDS + 1];
	size_t nf = 0, hsize = crypto_digest_size(l->template_hash_alg);
	char wt[96];
	unsigned long pcr = 0;
	int r;

	/* Split on single spaces; empty fields are kept (an empty sig). */
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (nf == ARRAY_LEN(f))
			return err_set(AERR_PARSE, "IMA %s: too many fields", where_text(w, wt));
		f[nf].p = s + start;
		f[nf].n = i - start;
		nf++;
		start = i + 1;
	}
	if (nf < 4)
		return err_set(AERR_PARSE, "IMA %s: fewer than 4 fields", where_text(w, wt));
	if (f[0].n == 0 || f[0].n > 2)
		return err_set(AERR_PARSE, "IMA %s: PCR field is not a number 0-%u", where_text(w, wt), IMA_NUM_PCRS - 1);
	for (size_t i = 0; i < f[0].n; i++) {
		if (f[0].p[i] < '0' || f[0].p[i] > '9')
			return err_set(AERR_PARSE, "IMA %s: PCR field is not a number", where_text(w, wt));
		pcr = pcr * 10 + (unsigned long)(f[0].p[i] - '0');
	}
	if (pcr >= IMA_NUM_PCRS)
		return err_set(AERR_PARSE, "IMA %s: PCR index %lu out of range 0-%u", where_text(w, wt), pcr,
			       IMA_NUM_PCRS - 1);
	e->pcr = (uint32_t)pcr;
	if (f[1].n != 2 * hsize || unhex(f[1].p, f[1].n, e->template_hash))
		return err_set(AERR_PARSE, "IMA %s: template hash is not %zu hex digits", where_text(w, wt), 2 * hsize);
	e->violation = is_zero(e->template_hash, hsize);
	if ((r = set_template_name(e, (const uint8_t *)f[2].p, (uint32_t)(f[2].n > 64 ? 64 : f[2].n), w)) != 0)
		return r;
	if ((r = ascii_rebuild(l, e, f + 3, nf - 3, w)) != 0)
		return r;
	return parse_template_data(e, arena, w);
}

int ima_ascii_parse(const char *text, size_t len, TPM2_ALG_ID template_hash_alg, struct ima_list **out)
{
	struct ima_list *l = NULL;
	uint8_t *arena_buf;
	char *arena, name[16];
	size_t cap = 0, off = 0;
	int r = AERR_INTERNAL;

	if (out)
		*out = NULL;
	if (!out || (!text && len)) {
		r = err_set(AERR_INVALID_ARG, "ima_ascii_parse: NULL argument");
		goto out;
	}
	if (!crypto_digest_size(template_hash_alg)) {
		r = err_set(AERR_UNSUPPORTED, "IMA ASCII list: template hash algorithm %s",
			    crypto_alg_label(template_hash_alg, name));
		goto out;
	}
	if (len > IMA_MAX_LIST_SIZE) {
		r = err_set(AERR_TOO_LARGE, "IMA ASCII list is %zu bytes, limit %u", len, IMA_MAX_LIST_SIZE);
		goto out;
	}
	if ((r = list_new(&l, template_hash_alg, 0)) != 0)
		goto out;
	l->ascii = 1;
	if ((r = list_own(l, len + 1, &arena_buf)) != 0)
		goto out;
	arena = (char *)arena_buf;
	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		struct where w = { l->nentries, off, l->nentries + 1 };
		struct ima_entry *e;

		if (n == 0 || memchr(s, 0, n)) {
			r = err_set(AERR_PARSE, "IMA ASCII list: line %zu is empty or holds a NUL", w.line);
			goto out;
		}
		if ((r = grow(l, &cap)) != 0)
			goto out;
		e = &l->entries[l->nentries];
		memset(e, 0, sizeof(*e));
		e->index = l->nentries;
		e->offset = off;
		e->size = n + (nl ? 1 : 0);
		if ((r = ascii_line(l, e, s, n, &w, &arena)) != 0)
			goto out;
		l->nentries++;
		off += e->size;
	}
	l->size = len;
	*out = l;
	l = NULL; /* transferred */
	r = 0;
out:
	ima_list_free(l);
	return r;
}

/* ---- template hashes ---- */

int ima_template_digest(const struct ima_entry *e, TPM2_ALG_ID alg, uint8_t *out)
{
	uint8_t buf[IMA_SHA1_SIZE + IMA_FNAME_PAD];
	uint32_t flen;
	int r = AERR_INTERNAL;

	if (!e || !out) {
		r = err_set(AERR_INVALID_ARG, "ima_template_digest: NULL argument");
		goto out;
	}
	if (e->tmpl != IMA_TEMPLATE_IMA) {
		r = crypto_hash(alg, e->data, e->data_len, out);
		goto out;
	}
	/* Kernel ima_calc_field_array_hash: "ima" hashes the digest and the
	 * name zero-padded to 256 bytes, without the name's length. */
	if (e->data_len < IMA_SHA1_SIZE + 4 || (flen = e->data_len - IMA_SHA1_SIZE - 4) > IMA_EVENT_NAME_LEN_MAX) {
		r = err_set(AERR_INVALID_ARG, "IMA entry %" PRIu64 ": ima template data of %u bytes", e->index,
			    e->data_len);
		goto out;
	}
	memset(buf, 0, sizeof(buf));
	memcpy(buf, e->data, IMA_SHA1_SIZE);
	memcpy(buf + IMA_SHA1_SIZE, e->data + IMA_SHA1_SIZE + 4, flen);
	r = crypto_hash(alg, buf, sizeof(buf), out);
out:
	return r;
}

static void entry_where(const struct ima_list *l, const struct ima_entry *e, char buf[96])
{
	struct where w = { e->index, e->offset, 0 };

	/* ASCII lists: entry numbers from 0, lines from 1. */
	if (l->ascii)
		w.line = (size_t)(e->index - l->first_index) + 1;
	where_text(&w, buf);
}

int ima_list_verify(const struct ima_list *list, size_t *nviolations)
{
	uint8_t d[CRYPTO_MAX_DIGEST];
	size_t nv = 0, hsize;
	char wt[96];
	int r = AERR_INTERNAL;

	if (nviolations)
		*nviolations = 0;
	if (!list) {
		r = err_set(AERR_INVALID_ARG, "ima_list_verify: NULL argument");
		goto out;
	}
	hsize = crypto_digest_size(list->template_hash_alg);
	for (size_t i = 0; i < list->nentries; i++) {
		const struct ima_entry *e = &list->entries[i];

		if (e->violation) {
			nv++;
			continue;
		}
		if ((r = ima_template_digest(e, list->template_hash_alg, d)) != 0)
			goto out;
		if (memcmp(d, e->template_hash, hsize) != 0) {
			entry_where(list, e, wt);
			r = err_set(AERR_PCR_DIGEST, "IMA %s (%s %s): template hash does not match the template data",
				    wt, e->template_name, e->path ? e->path : "");
			goto out;
		}
	}
	if (nviolations)
		*nviolations = nv;
	r = 0;
out:
	return r;
}

/* ---- replay ---- */

static int bank_of(const struct ima_replay_state *st, TPM2_ALG_ID alg)
{
	for (uint32_t b = 0; b < st->nbanks && b < IMA_MAX_BANKS; b++)
		if (st->algs[b] == alg)
			return (int)b;
	return -1;
}

int ima_replay_init(struct ima_replay_state *st, const TPM2_ALG_ID *algs, uint32_t nalgs, uint32_t flags)
{
	char name[16];
	int r = AERR_INTERNAL;

	if (!st || !algs || nalgs == 0 || nalgs > IMA_MAX_BANKS ||
	    (flags != IMA_REPLAY_PER_BANK && flags != IMA_REPLAY_PAD_SHA1)) {
		r = err_set(AERR_INVALID_ARG, "ima_replay_init: %u banks (1-%u), flags %u", nalgs, IMA_MAX_BANKS, flags);
		goto out;
	}
	memset(st, 0, sizeof(*st));
	for (uint32_t b = 0; b < nalgs; b++) {
		size_t size = crypto_digest_size(algs[b]);

		if (!size) {
			r = err_set(AERR_UNSUPPORTED, "IMA replay: bank %s unknown", crypto_alg_label(algs[b], name));
			goto out;
		}
		for (uint32_t k = 0; k < b; k++)
			if (algs[k] == algs[b]) {
				r = err_set(AERR_INVALID_ARG, "IMA replay: bank %s given twice", crypto_alg_label(algs[b], name));
				goto out;
			}
		st->algs[b] = algs[b];
		/* DRTM PCRs 17-22 read all ones after TPM2_Startup. */
		for (uint32_t i = 17; i <= 22; i++)
			memset(st->pcr[b][i], 0xff, size);
	}
	st->nbanks = nalgs;
	st->flags = flags;
	r = 0;
out:
	if (r && st)
		memset(st, 0, sizeof(*st));
	return r;
}

/* What the kernel extended bank alg with for entry e. */
static int extend_value(const struct ima_replay_state *st, const struct ima_list *list, const struct ima_entry *e,
			TPM2_ALG_ID alg, uint8_t *out)
{
	size_t size = crypto_digest_size(alg), hsize = crypto_digest_size(list->template_hash_alg);
	int r;

	if (st->flags == IMA_REPLAY_PAD_SHA1) {
		memset(out, 0, size);
		if (e->violation)
			memset(out, 0xff, IMA_SHA1_SIZE);
		else if (list->template_hash_alg == TPM2_ALG_SHA1)
			memcpy(out, e->template_hash, IMA_SHA1_SIZE);
		else if ((r = ima_template_digest(e, TPM2_ALG_SHA1, out)) != 0)
			return r;
		return 0;
	}
	if (e->violation)
		memset(out, 0xff, size);
	else if (alg == list->template_hash_alg && hsize == size)
		memcpy(out, e->template_hash, size);
	else
		return ima_template_digest(e, alg, out);
	return 0;
}

/* New values of e's PCR in every bank, into nv; st untouched. */
static int replay_compute(const struct ima_replay_state *st, const struct ima_list *list, const struct ima_entry *e,
			  uint8_t nv[IMA_MAX_BANKS][CRYPTO_MAX_DIGEST])
{
	uint8_t value[CRYPTO_MAX_DIGEST];
	char wt[96];
	int r;

	if (e->pcr >= IMA_NUM_PCRS) {
		entry_where(list, e, wt);
		return err_set(AERR_INVALID_ARG, "IMA %s: PCR index %u out of range", wt, e->pcr);
	}
	for (uint32_t b = 0; b < st->nbanks; b++) {
		memcpy(nv[b], st->pcr[b][e->pcr], crypto_digest_size(st->algs[b]));
		if ((r = extend_value(st, list, e, st->algs[b], value)) != 0 ||
		    (r = crypto_extend(st->algs[b], nv[b], value)) != 0)
			return r;
	}
	return 0;
}

static void replay_commit(struct ima_replay_state *st, const struct ima_entry *e,
			  uint8_t nv[IMA_MAX_BANKS][CRYPTO_MAX_DIGEST])
{
	for (uint32_t b = 0; b < st->nbanks; b++)
		memcpy(st->pcr[b][e->pcr], nv[b], crypto_digest_size(st->algs[b]));
	st->extended |= 1u << e->pcr;
	st->nviolations += e->violation ? 1 : 0;
	st->count++;
	st->bytes += e->size;
}

static int check_state(const struct ima_replay_state *st)
{
	if (st->nbanks == 0 || st->nbanks > IMA_MAX_BANKS)
		return err_set(AERR_STATE, "IMA replay state not initialised");
	return 0;
}

int ima_replay_entry(struct ima_replay_state *st, const struct ima_list *list, const struct ima_entry *e)
{
	uint8_t nv[IMA_MAX_BANKS][CRYPTO_MAX_DIGEST];
	int r = AERR_INTERNAL;

	if (!st || !list || !e) {
		r = err_set(AERR_INVALID_ARG, "ima_replay_entry: NULL argument");
		goto out;
	}
	if ((r = check_state(st)) != 0)
		goto out;
	if (e->index != st->count) {
		r = err_set(AERR_STATE, "IMA replay: entry %" PRIu64 " given, the next to replay is %" PRIu64, e->index,
			    st->count);
		goto out;
	}
	if ((r = replay_compute(st, list, e, nv)) != 0)
		goto out;
	replay_commit(st, e, nv);
	r = 0;
out:
	return r;
}

int ima_replay(struct ima_replay_state *st, const uint8_t *buf, size_t len, struct ima_list **out)
{
	struct ima_replay_state tmp;
	struct ima_list *l = NULL;
	int r = AERR_INTERNAL;

	if (out)
		*out = NULL;
	if (!st) {
		r = err_set(AERR_INVALID_ARG, "ima_replay: NULL argument");
		goto out;
	}
	if ((r = check_state(st)) != 0)
		goto out;
	if ((r = ima_parse(buf, len, st->count, &l)) != 0 || (r = ima_list_verify(l, NULL)) != 0)
		goto out;
	tmp = *st;
	for (size_t i = 0; i < l->nentries; i++)
		if ((r = ima_replay_entry(&tmp, l, &l->entries[i])) != 0)
			goto out;
	*st = tmp;
	if (out) {
		*out = l;
		l = NULL; /* transferred */
	}
	r = 0;
out:
	ima_list_free(l);
	return r;
}

const uint8_t *ima_replay_value(const struct ima_replay_state *st, TPM2_ALG_ID alg, uint32_t pcr)
{
	int b;

	if (!st || pcr >= IMA_NUM_PCRS || (b = bank_of(st, alg)) < 0)
		return NULL;
	return st->pcr[b][pcr];
}

int ima_replay_check(const struct ima_replay_state *st, TPM2_ALG_ID alg, uint32_t pcr, const uint8_t *expected,
		     size_t expected_len)
{
	const uint8_t *v;
	char name[16];
	int r = AERR_INTERNAL;

	if (!st || !expected || pcr >= IMA_NUM_PCRS) {
		r = err_set(AERR_INVALID_ARG, "ima_replay_check: bad argument");
		goto out;
	}
	if (!(v = ima_replay_value(st, alg, pcr))) {
		r = err_set(AERR_NOT_FOUND, "IMA replay: bank %s not replayed", crypto_alg_label(alg, name));
		goto out;
	}
	if (expected_len != crypto_digest_size(alg)) {
		r = err_set(AERR_INVALID_ARG, "IMA replay check: %zu-byte value for bank %s", expected_len,
			    crypto_alg_label(alg, name));
		goto out;
	}
	if (memcmp(v, expected, expected_len) != 0) {
		LOG_DEBUG("IMA replay of %s PCR %u after %" PRIu64 " entries differs from the expected value",
			  crypto_alg_label(alg, name), pcr, st->count);
		r = err_set(AERR_EVENTLOG, "IMA replay of %s PCR %u after %" PRIu64 " entries differs from the quoted value",
			    crypto_alg_label(alg, name), pcr, st->count);
		goto out;
	}
	r = 0;
out:
	return r;
}

int ima_replay_check_pcrs(const struct ima_replay_state *st, const struct pcr_values *values, uint32_t pcr_mask)
{
	uint32_t compared = 0;
	int r = AERR_INTERNAL;

	if (!st || !values || values->nbanks > PCRSEL_MAX_BANKS || (pcr_mask >> IMA_NUM_PCRS) || !pcr_mask) {
		r = err_set(AERR_INVALID_ARG, "ima_replay_check_pcrs: bad argument");
		goto out;
	}
	for (uint32_t b = 0; b < values->nbanks; b++) {
		const struct pcr_bank *bank = &values->banks[b];
		uint32_t want = bank->mask & pcr_mask;

		if (!want || bank_of(st, bank->alg) < 0)
			continue;
		for (uint32_t i = 0; i < IMA_NUM_PCRS; i++) {
			if (!(want & (1u << i)))
				continue;
			if ((r = ima_replay_check(st, bank->alg, i, bank->value[i], crypto_digest_size(bank->alg))) != 0)
				goto out;
			compared |= 1u << i;
		}
	}
	if (compared != pcr_mask) {
		uint32_t missing = pcr_mask & ~compared;

		r = err_set(AERR_PCR_SELECTION, "IMA replay: PCR %d not quoted in any replayed bank",
			    __builtin_ctz(missing));
		goto out;
	}
	r = 0;
out:
	return r;
}

/* Whether every PCR of pcr_mask that a replayed bank of values holds equals
 * the replay. Silent: the prefix search below asks this once per entry, and
 * formatting a detail for each miss would cost more than the replay. */
static int replay_matches(const struct ima_replay_state *st, const struct pcr_values *values, uint32_t pcr_mask)
{
	for (uint32_t b = 0; b < values->nbanks; b++) {
		const struct pcr_bank *bank = &values->banks[b];
		uint32_t want = bank->mask & pcr_mask;
		size_t size = crypto_digest_size(bank->alg);
		int k = bank_of(st, bank->alg);

		if (!want || k < 0)
			continue;
		for (uint32_t i = 0; i < IMA_NUM_PCRS; i++)
			if ((want & (1u << i)) && memcmp(st->pcr[k][i], bank->value[i], size) != 0)
				return 0;
	}
	return 1;
}

int ima_replay_to_quote(struct ima_replay_state *st, const struct ima_list *list, const struct pcr_values *values,
			uint32_t pcr_mask, size_t *used)
{
	struct ima_replay_state tmp;
	size_t n = 0;
	int r = AERR_INTERNAL;

	if (used)
		*used = 0;
	if (!st || !list || !values) {
		r = err_set(AERR_INVALID_ARG, "ima_replay_to_quote: NULL argument");
		goto out;
	}
	if ((r = check_state(st)) != 0)
		goto out;
	if (list->first_index != st->count) {
		r = err_set(AERR_STATE, "IMA replay: list starts at entry %" PRIu64 ", the next to replay is %" PRIu64,
			    list->first_index, st->count);
		goto out;
	}
	/* Selection and sizes once; AERR_EVENTLOG only says this prefix differs. */
	r = ima_replay_check_pcrs(st, values, pcr_mask);
	if (r != 0 && r != AERR_EVENTLOG)
		goto out;
	tmp = *st;
	for (;;) {
		if (replay_matches(&tmp, values, pcr_mask))
			break;
		if (n == list->nentries) {
			r = err_set(AERR_EVENTLOG,
				    "IMA replay: no prefix of the %zu new entries (from entry %" PRIu64
				    ") reproduces the quoted PCRs",
				    list->nentries, st->count);
			goto out;
		}
		if ((r = ima_replay_entry(&tmp, list, &list->entries[n])) != 0)
			goto out;
		n++;
	}
	*st = tmp;
	if (used)
		*used = n;
	r = 0;
out:
	return r;
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
