/* IMA template hashes, and the replay of a list into PCR values, checked
 * against quoted ones. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "ima"
#include "crypto.h"
#include "ima.h"
#include "ima_priv.h"
#include "log.h"

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
	struct ima_where w = { e->index, e->offset, 0 };

	/* ASCII lists: entry numbers from 0, lines from 1. */
	if (l->ascii)
		w.line = (size_t)(e->index - l->first_index) + 1;
	ima_where_text(&w, buf);
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

