#include <string.h>

#include "crypto.h"
#include "wire.h"

/* A bank id from the wire: a supported hash, not seen before among the first n. */
static int wire_bank(uint32_t alg, const TPMI_ALG_HASH *seen, size_t n, const char *what)
{
	if (alg > 0xffff || crypto_digest_size((TPM2_ALG_ID)alg) == 0)
		return err_set(AERR_INVALID_ARG, "%s: bank 0x%x is not a supported hash algorithm", what, alg);
	for (size_t i = 0; i < n; i++)
		if (seen[i] == alg)
			return err_set(AERR_INVALID_ARG, "%s: bank %s given twice", what,
				       crypto_alg_name((TPM2_ALG_ID)alg));
	return 0;
}

int wire_pcrsel_from_proto(Attest__V1__PcrSelection *const *sel, size_t n, TPML_PCR_SELECTION *out)
{
	TPMI_ALG_HASH seen[PCRSEL_MAX_BANKS];
	int r;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return err_set(AERR_INVALID_ARG, "PCR selection: no PCR bank selected");
	if (n > PCRSEL_MAX_BANKS)
		return err_set(AERR_TOO_LARGE, "PCR selection: %zu banks, at most %d", n, PCRSEL_MAX_BANKS);
	for (size_t i = 0; i < n; i++) {
		TPMS_PCR_SELECTION *s = &out->pcrSelections[i];

		if ((r = wire_bank(sel[i]->hash_alg, seen, i, "PCR selection")) != 0)
			return r;
		seen[i] = (TPMI_ALG_HASH)sel[i]->hash_alg;
		s->hash = seen[i];
		s->sizeofSelect = 3;
		for (size_t j = 0; j < sel[i]->n_pcrs; j++) {
			uint32_t pcr = sel[i]->pcrs[j];

			if (pcr >= PCRSEL_NUM_PCRS)
				return err_set(AERR_INVALID_ARG, "PCR selection: bank %s: PCR index %u out of range 0..%d",
					       crypto_alg_name(s->hash), pcr, PCRSEL_NUM_PCRS - 1);
			if (s->pcrSelect[pcr / 8] & (1u << (pcr % 8)))
				return err_set(AERR_INVALID_ARG, "PCR selection: bank %s: PCR %u listed twice",
					       crypto_alg_name(s->hash), pcr);
			s->pcrSelect[pcr / 8] |= (uint8_t)(1u << (pcr % 8));
		}
	}
	out->count = (uint32_t)n;
	return 0;
}

int wire_pcrsel_to_proto(const TPML_PCR_SELECTION *in, struct wire_pcrsel_buf *buf,
			 Attest__V1__PcrSelection ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (in->count > PCRSEL_MAX_BANKS)
		return err_set(AERR_TOO_LARGE, "PCR selection of %u banks, at most %d", in->count, PCRSEL_MAX_BANKS);
	for (uint32_t i = 0; i < in->count; i++) {
		const TPMS_PCR_SELECTION *ps = &in->pcrSelections[i];
		Attest__V1__PcrSelection *m = &buf->sel[i];

		attest__v1__pcr_selection__init(m);
		m->hash_alg = ps->hash;
		for (uint32_t p = 0; p < PCRSEL_NUM_PCRS && p / 8 < ps->sizeofSelect; p++)
			if (ps->pcrSelect[p / 8] & (1u << (p % 8)))
				buf->idx[i][m->n_pcrs++] = p;
		m->pcrs = buf->idx[i];
		buf->ptr[i] = m;
	}
	*out = buf->ptr;
	*n = in->count;
	return 0;
}

int wire_pcr_values_from_proto(Attest__V1__PcrBank *const *banks, size_t n, struct pcr_values *out)
{
	TPMI_ALG_HASH seen[PCRSEL_MAX_BANKS];
	int r;

	memset(out, 0, sizeof(*out));
	if (n > PCRSEL_MAX_BANKS)
		return err_set(AERR_TOO_LARGE, "PCR values: %zu banks, at most %d", n, PCRSEL_MAX_BANKS);
	for (size_t i = 0; i < n; i++) {
		const Attest__V1__PcrBank *pb = banks[i];
		struct pcr_bank *b = &out->banks[i];
		size_t dsize;

		if ((r = wire_bank(pb->hash_alg, seen, i, "PCR values")) != 0)
			return r;
		seen[i] = (TPMI_ALG_HASH)pb->hash_alg;
		b->alg = seen[i];
		dsize = crypto_digest_size(b->alg);
		for (size_t j = 0; j < pb->n_values; j++) {
			const Attest__V1__PcrValue *pv = pb->values[j];

			if (pv->index >= PCRSEL_NUM_PCRS)
				return err_set(AERR_PARSE, "PCR values: bank %s: PCR index %u out of range",
					       crypto_alg_name(b->alg), pv->index);
			if (b->mask & (1u << pv->index))
				return err_set(AERR_PARSE, "PCR values: PCR %u of bank %s given twice", pv->index,
					       crypto_alg_name(b->alg));
			if (pv->digest.len != dsize)
				return err_set(AERR_PARSE, "PCR values: PCR %u of bank %s: %zu bytes, expected %zu",
					       pv->index, crypto_alg_name(b->alg), pv->digest.len, dsize);
			memcpy(b->value[pv->index], pv->digest.data, dsize);
			b->mask |= 1u << pv->index;
		}
		out->nbanks++;
	}
	return 0;
}

void wire_pcr_values_to_proto(const struct pcr_values *in, struct wire_pcr_values_buf *buf,
			      Attest__V1__PcrBank ***out, size_t *n)
{
	uint32_t nbanks = in->nbanks < PCRSEL_MAX_BANKS ? in->nbanks : PCRSEL_MAX_BANKS;

	for (uint32_t i = 0; i < nbanks; i++) {
		const struct pcr_bank *b = &in->banks[i];
		Attest__V1__PcrBank *m = &buf->bank[i];
		size_t k = 0;

		attest__v1__pcr_bank__init(m);
		m->hash_alg = b->alg;
		for (uint32_t pcr = 0; pcr < PCRSEL_NUM_PCRS; pcr++) {
			if (!(b->mask & (1u << pcr)))
				continue;
			attest__v1__pcr_value__init(&buf->val[i][k]);
			buf->val[i][k].index = pcr;
			buf->val[i][k].digest.data = (uint8_t *)b->value[pcr];
			buf->val[i][k].digest.len = crypto_digest_size(b->alg);
			buf->vptr[i][k] = &buf->val[i][k];
			k++;
		}
		m->n_values = k;
		m->values = buf->vptr[i];
		buf->ptr[i] = m;
	}
	*out = buf->ptr;
	*n = nbanks;
}
