#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "tpmpolicy.h"

/* Bits of one bank's selection; sizeofSelect was bounded by the caller. */
static uint32_t tpmpolicy_bank_bits(const TPMS_PCR_SELECTION *s)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < s->sizeofSelect; i++)
		mask |= (uint32_t)s->pcrSelect[i] << (8 * i);
	return mask;
}

/* A selection a policy can bind: known banks, each once, PCRs 0..23, at least
 * one PCR (a PolicyPCR over nothing would bind the object to no state). */
static int tpmpolicy_check_sel(const TPML_PCR_SELECTION *sel)
{
	uint32_t total = 0;

	if (sel->count == 0 || sel->count > PCRSEL_MAX_BANKS)
		return err_set(AERR_PCR_SELECTION, "policy PCR selection has %u banks (1..%d)", sel->count,
			       PCRSEL_MAX_BANKS);
	for (uint32_t b = 0; b < sel->count; b++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[b];
		uint32_t mask;

		if (crypto_digest_size(s->hash) == 0)
			return err_set(AERR_UNSUPPORTED, "policy PCR bank hash 0x%04x", s->hash);
		for (uint32_t c = 0; c < b; c++)
			if (sel->pcrSelections[c].hash == s->hash)
				return err_set(AERR_PCR_SELECTION, "policy PCR bank %s selected twice",
					       crypto_alg_name(s->hash));
		if (s->sizeofSelect == 0 || s->sizeofSelect > sizeof(s->pcrSelect))
			return err_set(AERR_PCR_SELECTION, "policy PCR bank %s: sizeofSelect %u",
				       crypto_alg_name(s->hash), s->sizeofSelect);
		mask = tpmpolicy_bank_bits(s);
		if (mask >> PCRSEL_NUM_PCRS)
			return err_set(AERR_PCR_SELECTION, "policy PCR bank %s selects PCRs above %d",
				       crypto_alg_name(s->hash), PCRSEL_NUM_PCRS - 1);
		total |= mask;
	}
	if (total == 0)
		return err_set(AERR_PCR_SELECTION, "policy PCR selection selects no PCR");
	return 0;
}

static int tpmpolicy_check_prev(TPMI_ALG_HASH alg, const TPM2B_DIGEST *prev, size_t dsize)
{
	if (dsize == 0)
		return err_set(AERR_UNSUPPORTED, "policy hash 0x%04x", alg);
	if (prev && prev->size != dsize)
		return err_set(AERR_INVALID_ARG, "previous policy digest of %u bytes, %s needs %zu",
			       prev->size, crypto_alg_name(alg), dsize);
	return 0;
}

int tpmpolicy_pcr_values_digest(TPMI_ALG_HASH alg, const TPML_PCR_SELECTION *sel,
				const struct pcr_values *values, TPM2B_DIGEST *out)
{
	size_t dsize = crypto_digest_size(alg);
	EVP_MD_CTX *ctx = NULL;
	unsigned int n = 0;
	int r = AERR_INTERNAL;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!sel || !values || !out) {
		r = err_set(AERR_INVALID_ARG, "tpmpolicy_pcr_values_digest: NULL argument");
		goto out;
	}
	if (dsize == 0 || !crypto_md(alg)) {
		r = err_set(AERR_UNSUPPORTED, "policy hash 0x%04x", alg);
		goto out;
	}
	if ((r = tpmpolicy_check_sel(sel)) != 0)
		goto out;
	if (!(ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(ctx, crypto_md(alg), NULL)) {
		r = crypto_ossl_err(AERR_CRYPTO, "policy PCR digest");
		goto out;
	}
	for (uint32_t b = 0; b < sel->count; b++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[b];
		uint32_t mask = tpmpolicy_bank_bits(s);
		const struct pcr_bank *bank = pcr_values_bank(values, s->hash);

		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(mask & (1u << i)))
				continue;
			if (!bank || !(bank->mask & (1u << i))) {
				r = err_set(AERR_PCR_SELECTION, "policy PCR %s:%u has no value",
					    crypto_alg_name(s->hash), i);
				goto out;
			}
			if (!EVP_DigestUpdate(ctx, bank->value[i], crypto_digest_size(s->hash))) {
				r = crypto_ossl_err(AERR_CRYPTO, "policy PCR digest");
				goto out;
			}
		}
	}
	if (!EVP_DigestFinal_ex(ctx, out->buffer, &n) || n != dsize) {
		r = crypto_ossl_err(AERR_CRYPTO, "policy PCR digest");
		goto out;
	}
	out->size = (UINT16)dsize;
	r = 0;
out:
	if (r != 0 && out)
		memset(out, 0, sizeof(*out));
	EVP_MD_CTX_free(ctx);
	return r;
}

/* out = H(prev or zeros || tail); out may alias prev. */
static int tpmpolicy_extend(TPMI_ALG_HASH alg, const TPM2B_DIGEST *prev, const uint8_t *tail,
			    size_t tail_len, TPM2B_DIGEST *out)
{
	uint8_t buf[CRYPTO_MAX_DIGEST + sizeof(TPM2_CC) + sizeof(TPML_PCR_SELECTION) + sizeof(TPMU_HA)];
	size_t dsize = crypto_digest_size(alg);
	int r;

	if (dsize + tail_len > sizeof(buf))
		return err_set(AERR_INTERNAL, "policy extend of %zu bytes", tail_len);
	if (prev)
		memcpy(buf, prev->buffer, dsize);
	else
		memset(buf, 0, dsize);
	memcpy(buf + dsize, tail, tail_len);
	if ((r = crypto_digest(alg, buf, dsize + tail_len, out->buffer)) != 0)
		return r;
	out->size = (UINT16)dsize;
	return 0;
}

int tpmpolicy_pcr(TPMI_ALG_HASH alg, const TPM2B_DIGEST *prev, const TPML_PCR_SELECTION *sel,
		  const struct pcr_values *values, TPM2B_DIGEST *out)
{
	uint8_t tail[sizeof(TPM2_CC) + sizeof(TPML_PCR_SELECTION) + sizeof(TPMU_HA)];
	size_t dsize = crypto_digest_size(alg), off = 0;
	TPM2B_DIGEST pcr_digest;
	int r = AERR_INTERNAL;

	memset(&pcr_digest, 0, sizeof(pcr_digest));
	if (!sel || !values || !out) {
		r = err_set(AERR_INVALID_ARG, "tpmpolicy_pcr: NULL argument");
		goto out;
	}
	if ((r = tpmpolicy_check_prev(alg, prev, dsize)) != 0)
		goto out;
	if ((r = tpmpolicy_pcr_values_digest(alg, sel, values, &pcr_digest)) != 0)
		goto out;
	if (Tss2_MU_TPM2_CC_Marshal(TPM2_CC_PolicyPCR, tail, sizeof(tail), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPML_PCR_SELECTION_Marshal(sel, tail, sizeof(tail), &off) != TSS2_RC_SUCCESS ||
	    off + pcr_digest.size > sizeof(tail)) {
		r = err_set(AERR_INTERNAL, "cannot marshal the PolicyPCR selection");
		goto out;
	}
	memcpy(tail + off, pcr_digest.buffer, pcr_digest.size);
	off += pcr_digest.size;
	r = tpmpolicy_extend(alg, prev, tail, off, out);
out:
	if (r != 0 && out && out != prev)
		memset(out, 0, sizeof(*out));
	return r;
}

int tpmpolicy_command_code(TPMI_ALG_HASH alg, const TPM2B_DIGEST *prev, TPM2_CC code,
			   TPM2B_DIGEST *out)
{
	uint8_t tail[2 * sizeof(TPM2_CC)];
	size_t off = 0;
	int r = AERR_INTERNAL;

	if (!out) {
		r = err_set(AERR_INVALID_ARG, "tpmpolicy_command_code: NULL argument");
		goto out;
	}
	if ((r = tpmpolicy_check_prev(alg, prev, crypto_digest_size(alg))) != 0)
		goto out;
	if (Tss2_MU_TPM2_CC_Marshal(TPM2_CC_PolicyCommandCode, tail, sizeof(tail), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2_CC_Marshal(code, tail, sizeof(tail), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "cannot marshal the command code");
		goto out;
	}
	r = tpmpolicy_extend(alg, prev, tail, off, out);
out:
	if (r != 0 && out && out != prev)
		memset(out, 0, sizeof(*out));
	return r;
}
