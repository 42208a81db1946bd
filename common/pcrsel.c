#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "pcrsel.h"

/* Selections we build always carry 3 select bytes (PCRs 0..23), as PC Client TPMs expect. */
#define PCRSEL_SELECT_BYTES 3

/* Bits of one TPMS_PCR_SELECTION as a mask; bits past sizeofSelect do not exist.
 * sizeofSelect is bounded by the array so a hostile struct cannot make us read past it. */
static uint32_t bank_bits(const TPMS_PCR_SELECTION *s)
{
	uint32_t mask = 0;
	size_t n = s->sizeofSelect;

	if (n > sizeof(s->pcrSelect))
		n = sizeof(s->pcrSelect);
	if (n > 4)
		n = 4;
	for (size_t i = 0; i < n; i++)
		mask |= (uint32_t)s->pcrSelect[i] << (8 * i);
	return mask;
}

static size_t sel_count(const TPML_PCR_SELECTION *sel)
{
	return sel->count > TPM2_NUM_PCR_BANKS ? TPM2_NUM_PCR_BANKS : sel->count;
}

/* Parse a decimal PCR index at *p (digits only, 0..23), advancing *p. */
static int parse_index(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return err_set(AERR_CONFIG, "PCR selection: expected a PCR index at \"%s\"", s);
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= PCRSEL_NUM_PCRS)
			return err_set(AERR_CONFIG, "PCR selection: PCR index at \"%s\" is not in 0..%d",
				       *p, PCRSEL_NUM_PCRS - 1);
		s++;
	}
	*out = v;
	*p = s;
	return 0;
}

/* One bank "name:list" from [start, end). */
static int parse_bank(const char *start, const char *end, TPMS_PCR_SELECTION *out)
{
	char name[16], list[256];
	const char *colon = memchr(start, ':', (size_t)(end - start)), *p;
	uint32_t mask = 0;
	TPM2_ALG_ID alg;
	int r;

	if (!colon)
		return err_set(AERR_CONFIG, "PCR selection: bank \"%.*s\" has no ':'", (int)(end - start), start);
	if (colon == start || (size_t)(colon - start) >= sizeof(name))
		return err_set(AERR_CONFIG, "PCR selection: bad bank name \"%.*s\"", (int)(colon - start), start);
	memcpy(name, start, (size_t)(colon - start));
	name[colon - start] = '\0';
	if ((alg = crypto_alg_from_name(name)) == TPM2_ALG_ERROR)
		return err_set(AERR_CONFIG, "PCR selection: unknown bank \"%s\"", name);
	if ((size_t)(end - colon - 1) >= sizeof(list))
		return err_set(AERR_CONFIG, "PCR selection: index list of bank %s too long", name);
	memcpy(list, colon + 1, (size_t)(end - colon - 1));
	list[end - colon - 1] = '\0';
	if (list[0] == '\0')
		return err_set(AERR_CONFIG, "PCR selection: bank %s selects no PCR", name);
	p = list;
	for (;;) {
		unsigned lo = 0, hi = 0;

		if ((r = parse_index(&p, &lo)) != 0)
			return r;
		hi = lo;
		if (*p == '-') {
			p++;
			if ((r = parse_index(&p, &hi)) != 0)
				return r;
			if (hi < lo)
				return err_set(AERR_CONFIG, "PCR selection: empty range %u-%u in bank %s", lo, hi, name);
		}
		for (unsigned i = lo; i <= hi; i++) {
			if (mask & (1u << i))
				return err_set(AERR_CONFIG, "PCR selection: PCR %u twice in bank %s", i, name);
			mask |= 1u << i;
		}
		if (*p == '\0')
			break;
		if (*p != ',' || p[1] == '\0')
			return err_set(AERR_CONFIG, "PCR selection: unexpected \"%s\" in bank %s", p, name);
		p++;
	}
	memset(out, 0, sizeof(*out));
	out->hash = alg;
	out->sizeofSelect = PCRSEL_SELECT_BYTES;
	for (size_t i = 0; i < PCRSEL_SELECT_BYTES; i++)
		out->pcrSelect[i] = (uint8_t)(mask >> (8 * i));
	return 0;
}

int pcrsel_parse(const char *text, TPML_PCR_SELECTION *out)
{
	TPML_PCR_SELECTION sel;
	const char *p, *end;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&sel, 0, sizeof(sel));
	if (!text || !*text)
		return err_set(AERR_CONFIG, "PCR selection: empty");
	for (p = text;; p = end + 1) {
		end = strchr(p, '+');
		if (!end)
			end = p + strlen(p);
		if (end == p)
			return err_set(AERR_CONFIG, "PCR selection: empty bank in \"%s\"", text);
		if (sel.count == PCRSEL_MAX_BANKS)
			return err_set(AERR_CONFIG, "PCR selection: more than %d banks", PCRSEL_MAX_BANKS);
		if ((r = parse_bank(p, end, &sel.pcrSelections[sel.count])) != 0)
			return r;
		for (uint32_t i = 0; i < sel.count; i++)
			if (sel.pcrSelections[i].hash == sel.pcrSelections[sel.count].hash)
				return err_set(AERR_CONFIG, "PCR selection: bank %s given twice",
					       crypto_alg_name(sel.pcrSelections[i].hash));
		sel.count++;
		if (*end == '\0')
			break;
	}
	*out = sel;
	return 0;
}

int pcrsel_format(const TPML_PCR_SELECTION *sel, char *buf, size_t cap)
{
	size_t len = 0;
	int n;

	if (!buf || cap == 0)
		return err_set(AERR_INVALID_ARG, "PCR selection: no output buffer");
	buf[0] = '\0';
	if (sel->count == 0 || sel->count > PCRSEL_MAX_BANKS)
		return err_set(AERR_INVALID_ARG, "PCR selection: %u banks", sel->count);
	for (uint32_t b = 0; b < sel->count; b++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[b];
		const char *name = crypto_alg_name(s->hash);
		uint32_t mask = bank_bits(s);
		const char *sep = "";

		if (!name)
			return err_set(AERR_UNSUPPORTED, "PCR selection: bank hash 0x%04x", s->hash);
		if (mask == 0 || mask >> PCRSEL_NUM_PCRS)
			return err_set(AERR_INVALID_ARG, "PCR selection: bank %s selects %s", name,
				       mask ? "PCRs above 23" : "no PCR");
		n = snprintf(buf + len, cap - len, "%s%s:", b ? "+" : "", name);
		if (n < 0 || (size_t)n >= cap - len)
			goto toolong;
		len += (size_t)n;
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(mask & (1u << i)))
				continue;
			n = snprintf(buf + len, cap - len, "%s%u", sep, i);
			if (n < 0 || (size_t)n >= cap - len)
				goto toolong;
			len += (size_t)n;
			sep = ",";
		}
	}
	return 0;
toolong:
	buf[0] = '\0';
	return err_set(AERR_TOO_LARGE, "PCR selection text does not fit in %zu bytes", cap);
}

uint32_t pcrsel_mask(const TPML_PCR_SELECTION *sel, TPMI_ALG_HASH alg)
{
	uint32_t mask = 0;

	for (size_t b = 0; b < sel_count(sel); b++)
		if (sel->pcrSelections[b].hash == alg)
			mask |= bank_bits(&sel->pcrSelections[b]);
	return mask;
}

int pcrsel_equal(const TPML_PCR_SELECTION *a, const TPML_PCR_SELECTION *b)
{
	if (a->count != b->count || a->count > TPM2_NUM_PCR_BANKS)
		return 0;
	for (uint32_t i = 0; i < a->count; i++)
		if (a->pcrSelections[i].hash != b->pcrSelections[i].hash ||
		    bank_bits(&a->pcrSelections[i]) != bank_bits(&b->pcrSelections[i]))
			return 0;
	return 1;
}

const struct pcr_bank *pcr_values_bank(const struct pcr_values *values, TPMI_ALG_HASH alg)
{
	uint32_t n = values->nbanks > PCRSEL_MAX_BANKS ? PCRSEL_MAX_BANKS : values->nbanks;

	for (uint32_t i = 0; i < n; i++)
		if (values->banks[i].alg == alg)
			return &values->banks[i];
	return NULL;
}

/* Lowest PCR index set in mask (mask != 0). */
static unsigned first_bit(uint32_t mask)
{
	unsigned i = 0;

	while (!(mask & (1u << i)))
		i++;
	return i;
}

int pcrsel_check_values(const TPML_PCR_SELECTION *sel, const struct pcr_values *values)
{
	if (sel->count > TPM2_NUM_PCR_BANKS)
		return err_set(AERR_PCR_SELECTION, "PCR selection has %u banks", sel->count);
	if (values->nbanks > PCRSEL_MAX_BANKS)
		return err_set(AERR_PCR_SELECTION, "PCR values have %u banks", values->nbanks);
	/* Every selected PCR supplied. */
	for (uint32_t b = 0; b < sel->count; b++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[b];
		uint32_t want = bank_bits(s), have;
		const struct pcr_bank *bank;

		for (uint32_t c = 0; c < b; c++)
			if (sel->pcrSelections[c].hash == s->hash)
				return err_set(AERR_PCR_SELECTION, "bank 0x%04x selected twice", s->hash);
		if (want >> PCRSEL_NUM_PCRS)
			return err_set(AERR_PCR_SELECTION, "bank 0x%04x selects PCR %u (above 23)", s->hash,
				       first_bit(want >> PCRSEL_NUM_PCRS) + PCRSEL_NUM_PCRS);
		if (want && crypto_digest_size(s->hash) == 0)
			return err_set(AERR_UNSUPPORTED, "PCR bank hash 0x%04x", s->hash);
		bank = pcr_values_bank(values, s->hash);
		have = bank ? bank->mask : 0;
		if (want & ~have)
			return err_set(AERR_PCR_SELECTION, "PCR %s:%u is selected but no value was supplied",
				       crypto_alg_name(s->hash), first_bit(want & ~have));
		if (have & ~want)
			return err_set(AERR_PCR_SELECTION, "PCR %s:%u was supplied but is not selected",
				       crypto_alg_name(s->hash), first_bit(have & ~want));
	}
	/* Nothing supplied in a bank the selection does not name; no bank supplied twice. */
	for (uint32_t v = 0; v < values->nbanks; v++) {
		const struct pcr_bank *bank = &values->banks[v];
		const char *name = crypto_alg_name(bank->alg);

		if (pcr_values_bank(values, bank->alg) != bank && bank->mask)
			return err_set(AERR_PCR_SELECTION, "PCR values hold bank 0x%04x twice", bank->alg);
		if (bank->mask && pcrsel_mask(sel, bank->alg) == 0)
			return err_set(AERR_PCR_SELECTION, "PCR %s%s%u was supplied but its bank is not selected",
				       name ? name : "?", ":", first_bit(bank->mask));
	}
	return 0;
}

uint32_t pcrsel_mask_any(const TPML_PCR_SELECTION *sel)
{
	uint32_t m = 0;

	for (uint32_t b = 0; b < sel->count && b < TPM2_NUM_PCR_BANKS; b++)
		m |= pcrsel_mask(sel, sel->pcrSelections[b].hash);
	return m;
}

int pcr_values_format(const struct pcr_values *values, char *buf, size_t cap)
{
	char hex[2 * CRYPTO_MAX_DIGEST + 1];
	size_t len = 0;
	int n;

	if (!buf || cap == 0)
		return err_set(AERR_INVALID_ARG, "PCR values: no output buffer");
	buf[0] = '\0';
	for (uint32_t b = 0; b < values->nbanks && b < PCRSEL_MAX_BANKS; b++) {
		const struct pcr_bank *bank = &values->banks[b];
		const char *name = crypto_alg_name(bank->alg);
		size_t dsize = crypto_digest_size(bank->alg);

		if (!name || !dsize)
			return err_set(AERR_UNSUPPORTED, "PCR values: bank hash 0x%04x", bank->alg);
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(bank->mask & (1u << i)))
				continue;
			hex_encode(bank->value[i], dsize, hex);
			n = snprintf(buf + len, cap - len, "%s.%u = %s\n", name, i, hex);
			if (n < 0 || (size_t)n >= cap - len) {
				buf[0] = '\0';
				return err_set(AERR_TOO_LARGE, "PCR values: more than %zu bytes as text", cap);
			}
			len += (size_t)n;
		}
	}
	return 0;
}

/* The one walk both directions share: each selected PCR of each bank of sel
 * in selection order, with its place in a pcr_values and its size. */
static int pcr_values_walk(const TPML_PCR_SELECTION *sel, struct pcr_values *values, int make,
			   int (*fn)(uint8_t *value, size_t size, void *arg), void *arg)
{
	for (uint32_t b = 0; b < sel->count && b < TPM2_NUM_PCR_BANKS; b++) {
		TPMI_ALG_HASH alg = sel->pcrSelections[b].hash;
		uint32_t mask = pcrsel_mask(sel, alg);
		size_t size = crypto_digest_size(alg);
		struct pcr_bank *bank = (struct pcr_bank *)pcr_values_bank(values, alg);
		int r;

		if (!mask)
			continue;
		if (!size)
			return err_set(AERR_UNSUPPORTED, "PCR values: bank hash 0x%04x", alg);
		if (!bank && make && values->nbanks < PCRSEL_MAX_BANKS) {
			bank = &values->banks[values->nbanks++];
			bank->alg = alg;
			bank->mask = mask;
		}
		if (!bank)
			return err_set(AERR_PCR_SELECTION, "PCR values: no %s bank", crypto_alg_name(alg));
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(mask & (1u << i)))
				continue;
			if (!(bank->mask & (1u << i)))
				return err_set(AERR_PCR_SELECTION, "PCR values: no %s.%u", crypto_alg_name(alg), i);
			if ((r = fn(bank->value[i], size, arg)) != 0)
				return r;
		}
	}
	return 0;
}

struct pcr_values_cursor {
	uint8_t *buf;
	size_t cap, at;
};

static int pcr_values_put(uint8_t *value, size_t size, void *arg)
{
	struct pcr_values_cursor *c = arg;

	if (c->cap - c->at < size)
		return err_set(AERR_TOO_LARGE, "PCR values: more than %zu bytes", c->cap);
	memcpy(c->buf + c->at, value, size);
	c->at += size;
	return 0;
}

static int pcr_values_get(uint8_t *value, size_t size, void *arg)
{
	struct pcr_values_cursor *c = arg;

	if (c->cap - c->at < size)
		return err_set(AERR_PARSE, "PCR values: %zu bytes are fewer than the selection takes", c->cap);
	memcpy(value, c->buf + c->at, size);
	c->at += size;
	return 0;
}

int pcr_values_pack(const TPML_PCR_SELECTION *sel, const struct pcr_values *values, uint8_t *buf, size_t cap,
		    size_t *len)
{
	struct pcr_values_cursor c = { .buf = buf, .cap = cap };
	int r;

	*len = 0;
	/* The walk only reads values when make is 0. */
	if ((r = pcr_values_walk(sel, (struct pcr_values *)values, 0, pcr_values_put, &c)) != 0)
		return r;
	*len = c.at;
	return 0;
}

int pcr_values_unpack(const TPML_PCR_SELECTION *sel, const uint8_t *buf, size_t len, struct pcr_values *out)
{
	struct pcr_values_cursor c = { .buf = (uint8_t *)buf, .cap = len };
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = pcr_values_walk(sel, out, 1, pcr_values_get, &c)) != 0)
		return r;
	if (c.at != len)
		return err_set(AERR_PARSE, "PCR values: %zu bytes, the selection takes %zu", len, c.at);
	return 0;
}
