/* The IMA list in its text form (ascii_runtime_measurements): each line
 * rebuilt into the binary entry the kernel hashed. */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "crypto.h"
#include "hex.h"
#include "ima.h"
#include "ima_priv.h"

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
static int ascii_rebuild(struct ima_list *l, struct ima_entry *e, const struct tok *f, size_t nf, const struct ima_where *w)
{
	const struct ima_tmpl_desc *t = ima_tmpl_by_name(e->template_name);
	uint8_t *data, *p;
	size_t cap = 0, want;
	char wt[96];
	int r;

	if (!t || t->id == IMA_TEMPLATE_IMA_MODSIG)
		return err_set(AERR_UNSUPPORTED, "IMA %s: template %s not supported in ASCII lists",
			       ima_where_text(w, wt), e->template_name);
	want = t->id == IMA_TEMPLATE_IMA ? 2 : t->nfields;
	/* An empty sig as the last field may be written "path " or "path". */
	if (!(nf == want || (nf + 1 == want && t->nfields == 3 && t->fields[2] == F_SIG)))
		return err_set(AERR_PARSE, "IMA %s: %zu fields for template %s, expected %zu", ima_where_text(w, wt), nf,
			       e->template_name, want);
	for (size_t i = 0; i < nf; i++)
		cap += 4 + f[i].n + 1; /* hex shrinks; prefixes keep their size plus a NUL */
	if (cap > IMA_MAX_TEMPLATE_DATA)
		return err_set(AERR_TOO_LARGE, "IMA %s: fields exceed the template data limit", ima_where_text(w, wt));
	if ((r = ima_list_own(l, cap + IMA_SHA1_SIZE + 8, &data)) != 0)
		return r;
	p = data;
	if (t->id == IMA_TEMPLATE_IMA) {
		if (f[0].n != 2 * IMA_SHA1_SIZE || unhex(f[0].p, f[0].n, p))
			return err_set(AERR_PARSE, "IMA %s: ima template digest is not 40 hex digits", ima_where_text(w, wt));
		p += IMA_SHA1_SIZE;
		if (f[1].n > IMA_EVENT_NAME_LEN_MAX)
			return err_set(AERR_PARSE, "IMA %s: ima template file name longer than %u", ima_where_text(w, wt),
				       IMA_EVENT_NAME_LEN_MAX);
		ima_put_u32(p, (uint32_t)f[1].n);
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
					return err_set(AERR_PARSE, "IMA %s: digest field lacks \"<alg>:\"", ima_where_text(w, wt));
				memcpy(p, tk.p, (size_t)(colon - tk.p) + 1);
				p += (colon - tk.p) + 1;
				*p++ = 0;
				if (unhex(colon + 1, tk.n - (size_t)(colon - tk.p) - 1, p))
					return err_set(AERR_PARSE, "IMA %s: digest is not hex", ima_where_text(w, wt));
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
					return err_set(AERR_PARSE, "IMA %s: field %u is not hex", ima_where_text(w, wt), i);
				p += tk.n / 2;
				break;
			default:
				return err_set(AERR_INTERNAL, "IMA ASCII field");
			}
			ima_put_u32(len_at, (uint32_t)(p - len_at - 4));
		}
	}
	e->data = data;
	e->data_len = (uint32_t)(p - data);
	return 0;
}

static int ascii_line(struct ima_list *l, struct ima_entry *e, const char *s, size_t n, const struct ima_where *w,
		      char **arena)
{
	struct tok f[3 + IMA_MAX_FIELDS + 1];
	size_t nf = 0, hsize = crypto_digest_size(l->template_hash_alg);
	char wt[96];
	unsigned long pcr = 0;
	int r;

	/* Split on single spaces; empty fields are kept (an empty sig). */
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (nf == ARRAY_LEN(f))
			return err_set(AERR_PARSE, "IMA %s: too many fields", ima_where_text(w, wt));
		f[nf].p = s + start;
		f[nf].n = i - start;
		nf++;
		start = i + 1;
	}
	if (nf < 4)
		return err_set(AERR_PARSE, "IMA %s: fewer than 4 fields", ima_where_text(w, wt));
	if (f[0].n == 0 || f[0].n > 2)
		return err_set(AERR_PARSE, "IMA %s: PCR field is not a number 0-%u", ima_where_text(w, wt), IMA_NUM_PCRS - 1);
	for (size_t i = 0; i < f[0].n; i++) {
		if (f[0].p[i] < '0' || f[0].p[i] > '9')
			return err_set(AERR_PARSE, "IMA %s: PCR field is not a number", ima_where_text(w, wt));
		pcr = pcr * 10 + (unsigned long)(f[0].p[i] - '0');
	}
	if (pcr >= IMA_NUM_PCRS)
		return err_set(AERR_PARSE, "IMA %s: PCR index %lu out of range 0-%u", ima_where_text(w, wt), pcr,
			       IMA_NUM_PCRS - 1);
	e->pcr = (uint32_t)pcr;
	if (f[1].n != 2 * hsize || unhex(f[1].p, f[1].n, e->template_hash))
		return err_set(AERR_PARSE, "IMA %s: template hash is not %zu hex digits", ima_where_text(w, wt), 2 * hsize);
	e->violation = ima_is_zero(e->template_hash, hsize);
	if ((r = ima_set_template_name(e, (const uint8_t *)f[2].p, (uint32_t)(f[2].n > 64 ? 64 : f[2].n), w)) != 0)
		return r;
	if ((r = ascii_rebuild(l, e, f + 3, nf - 3, w)) != 0)
		return r;
	return ima_parse_template_data(e, arena, w);
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
	if ((r = ima_list_new(&l, template_hash_alg, 0)) != 0)
		goto out;
	l->ascii = 1;
	if ((r = ima_list_own(l, len + 1, &arena_buf)) != 0)
		goto out;
	arena = (char *)arena_buf;
	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		struct ima_where w = { l->nentries, off, l->nentries + 1 };
		struct ima_entry *e;

		if (n == 0 || memchr(s, 0, n)) {
			r = err_set(AERR_PARSE, "IMA ASCII list: line %zu is empty or holds a NUL", w.line);
			goto out;
		}
		if ((r = ima_list_grow(l, &cap)) != 0)
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
