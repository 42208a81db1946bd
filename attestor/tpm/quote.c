/* PCR selections the TPM can quote, PCR reads and TPM2_Quote, retried
 * while the PCRs keep changing between the read and the quote. */
#define LOG_MODULE "tpm"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "quote.h"
#include "tpm/tpm_priv.h"
#include "tpmpub.h"
#include "tpmwire.h"

int tpm_check_selection(struct tpm *t, const TPML_PCR_SELECTION *sel)
{
	uint32_t i, j, k;
	int active;

	if (sel->count == 0)
		return err_set(AERR_INVALID_ARG, "empty PCR selection");
	if (sel->count > PCRSEL_MAX_BANKS)
		return err_set(AERR_INVALID_ARG, "%u PCR banks selected, at most %d", sel->count,
			       PCRSEL_MAX_BANKS);
	for (i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *b = &sel->pcrSelections[i];

		if (!crypto_digest_size(b->hash))
			return err_set(AERR_INVALID_ARG, "PCR bank 0x%04x is not a known hash", b->hash);
		for (j = 0; j < i; j++)
			if (sel->pcrSelections[j].hash == b->hash)
				return err_set(AERR_INVALID_ARG, "PCR bank %s selected twice",
					       crypto_alg_name(b->hash));
		if (b->sizeofSelect != 3)
			return err_set(AERR_INVALID_ARG, "PCR bank %s: sizeofSelect %u, expected 3",
				       crypto_alg_name(b->hash), b->sizeofSelect);
		if (!(b->pcrSelect[0] | b->pcrSelect[1] | b->pcrSelect[2]))
			return err_set(AERR_INVALID_ARG, "PCR bank %s: no PCR selected",
				       crypto_alg_name(b->hash));
		active = 0;
		for (k = 0; k < t->banks.count; k++) {
			const TPMS_PCR_SELECTION *a = &t->banks.pcrSelections[k];

			if (a->hash == b->hash && a->sizeofSelect >= 1 &&
			    (a->pcrSelect[0] | a->pcrSelect[1] | a->pcrSelect[2]))
				active = 1;
		}
		if (!active)
			return err_set(AERR_INVALID_ARG, "PCR bank %s is not allocated in this TPM",
				       crypto_alg_name(b->hash));
	}
	return 0;
}

/* All selected PCR values, in as many PCR_Read calls as needed (a TPM returns
 * at most 8 digests per call). *changed is set when the update counter moved
 * between calls: the values would be inconsistent. */
static int tpm_pcr_read_all(struct tpm *t, const TPML_PCR_SELECTION *sel, struct pcr_values *v,
			    uint32_t *counter, int *changed)
{
	TPML_PCR_SELECTION want = *sel;
	TPML_PCR_SELECTION *got = NULL;
	TPML_DIGEST *dig = NULL;
	uint32_t i, pcr, c = 0, k, calls;
	const struct pcr_bank *bank;
	int r = AERR_INTERNAL, bi;

	memset(v, 0, sizeof(*v));
	*changed = 0;
	v->nbanks = sel->count;
	for (i = 0; i < sel->count; i++)
		v->banks[i].alg = sel->pcrSelections[i].hash;
	for (calls = 0;; calls++) {
		uint32_t left = 0;

		for (i = 0; i < want.count; i++)
			left |= want.pcrSelections[i].pcrSelect[0] | want.pcrSelections[i].pcrSelect[1] |
				want.pcrSelections[i].pcrSelect[2];
		if (!left)
			break;
		if (calls > PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS) {
			r = err_set(AERR_TPM, "PCR_Read makes no progress");
			goto out;
		}
		Esys_Free(got);
		Esys_Free(dig);
		got = NULL;
		dig = NULL;
		if ((r = ESYS(t, PCR_Read, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &want, &c, &got,
			      &dig)) != 0)
			goto out;
		if (calls == 0)
			*counter = c;
		else if (c != *counter)
			*changed = 1;
		k = 0;
		for (i = 0; i < got->count; i++) {
			const TPMS_PCR_SELECTION *b = &got->pcrSelections[i];
			size_t dsize = crypto_digest_size(b->hash);
			uint32_t j;

			if (!(bank = pcr_values_bank(v, b->hash))) {
				r = err_set(AERR_TPM, "PCR_Read returned unrequested bank 0x%04x", b->hash);
				goto out;
			}
			bi = (int)(bank - v->banks);
			for (pcr = 0; pcr < PCRSEL_NUM_PCRS && pcr / 8 < b->sizeofSelect; pcr++) {
				if (!(b->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
					continue;
				if (k >= dig->count || dig->digests[k].size != dsize) {
					r = err_set(AERR_TPM, "PCR_Read: digest list does not match its selection");
					goto out;
				}
				memcpy(v->banks[bi].value[pcr], dig->digests[k].buffer, dsize);
				v->banks[bi].mask |= 1u << pcr;
				k++;
				/* done with this one */
				for (j = 0; j < want.count; j++)
					if (want.pcrSelections[j].hash == b->hash)
						want.pcrSelections[j].pcrSelect[pcr / 8] &= ~(1u << (pcr % 8));
			}
		}
		if (k != dig->count || k == 0) {
			r = err_set(AERR_TPM, "PCR_Read returned %u digests for %u selected", dig->count, k);
			goto out;
		}
	}
	r = 0;
out:
	Esys_Free(got);
	Esys_Free(dig);
	return r;
}

int tpm_quote(struct tpm *t, const uint8_t *nonce, size_t nonce_len,
	      const TPML_PCR_SELECTION *sel, struct tpm_quote *out)
{
	TPM2B_DATA qd = { 0 };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL }; /* the AK's own */
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL;
	TPMS_ATTEST attest;
	ESYS_TR ak = ESYS_TR_NONE;
	TPMI_ALG_HASH halg;
	uint8_t digest[CRYPTO_MAX_DIGEST];
	uint32_t counter = 0;
	int changed = 0, round, r;
	size_t off, dlen = 0;

	memset(out, 0, sizeof(*out));
	if (nonce_len < TPM_NONCE_MIN || nonce_len > TPM_NONCE_MAX) {
		r = err_set(AERR_INVALID_ARG, "nonce of %zu bytes, expected %d..%d", nonce_len,
			    TPM_NONCE_MIN, TPM_NONCE_MAX);
		goto out;
	}
	if ((r = tpm_ready(t)) != 0 || (r = tpm_check_selection(t, sel)) != 0)
		goto out;
	qd.size = (UINT16)nonce_len;
	memcpy(qd.buffer, nonce, nonce_len);
	if ((r = tpm_ak_load(t, &ak)) != 0)
		goto out;
	halg = t->ak.pub.publicArea.type == TPM2_ALG_RSA
		? t->ak.pub.publicArea.parameters.rsaDetail.scheme.details.anySig.hashAlg
		: t->ak.pub.publicArea.parameters.eccDetail.scheme.details.anySig.hashAlg;
	for (round = 0;; round++) {
		if (round == TPM_QUOTE_ROUNDS) {
			r = err_set(AERR_TPM, "PCRs kept changing during %d quote attempts", round);
			goto out;
		}
		Esys_Free(quoted);
		Esys_Free(sig);
		quoted = NULL;
		sig = NULL;
		if ((r = tpm_pcr_read_all(t, sel, &out->values, &counter, &changed)) != 0)
			goto out;
		if (changed)
			continue;
		if ((r = ESYS(t, Quote, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd, &scheme,
			      sel, &quoted, &sig)) != 0)
			goto out;
		if ((r = TPMWIRE_PARSE(TPMS_ATTEST, quoted->attestationData, quoted->size, &attest,
				   "TPM2_Quote output")) != 0)
			goto out;
		if (attest.type != TPM2_ST_ATTEST_QUOTE) {
			r = err_set(AERR_TPM, "TPM2_Quote returned attestation type 0x%04x", attest.type);
			goto out;
		}
		if ((r = quote_pcr_digest(halg, sel, &out->values, digest, &dlen)) != 0)
			goto out;
		/* The values must be the quoted ones: compare with what the TPM
		 * signed, and read again if a PCR was extended in between. */
		if (attest.attested.quote.pcrDigest.size == dlen &&
		    memcmp(attest.attested.quote.pcrDigest.buffer, digest, dlen) == 0)
			break;
		LOG_DEBUG("PCRs changed between PCR_Read and Quote (round %d): again", round);
	}
	off = 0;
	if (Tss2_MU_TPM2B_ATTEST_Marshal(quoted, out->attest, sizeof(out->attest), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "marshal TPM2B_ATTEST");
		goto out;
	}
	out->attest_len = off;
	off = 0;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, out->sig, sizeof(out->sig), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "marshal TPMT_SIGNATURE");
		goto out;
	}
	out->sig_len = off;
	out->pcr_update_counter = counter;
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	(void)tpm_flush(t, &ak);
	Esys_Free(quoted);
	Esys_Free(sig);
	return r;
}
