/* quote_check: verify a quote made by tpm2-tools with our quote_verify.
 *
 *   quote_check AKPUB ATTEST SIG NONCE_HEX PCRSEL PCRVALUES
 *
 * AKPUB     TPM2B_PUBLIC of the AK (tpm2_createak -u, default tss format)
 * ATTEST    TPMS_ATTEST bytes, no size prefix (tpm2_quote -m)
 * SIG       TPMT_SIGNATURE (tpm2_quote -s, default tss format)
 * NONCE_HEX the qualifying data given to tpm2_quote -q
 * PCRSEL    the requested selection in our syntax ("sha256:0,1,2+sha1:0-7")
 * PCRVALUES the PCR values concatenated in selection order: banks as listed,
 *           PCR indices ascending, each value as long as its bank's digest
 *           (tpm2_quote -F values -o, or tpm2_pcrread -F values -o)
 *
 * Prints "PASS" and exits 0, or "FAIL: <code text>: <detail>" and exits 1.
 * Usage and file errors exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pcrsel.h"
#include "quote.h"
#include "tpmpub.h"
#include "tool_io.h"

static int unhex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	*len = 0;
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* Split the concatenated values file by the selection. */
static int split_values(const TPML_PCR_SELECTION *sel, const uint8_t *buf, size_t len, struct pcr_values *v)
{
	size_t off = 0;

	memset(v, 0, sizeof(*v));
	for (uint32_t b = 0; b < sel->count; b++) {
		struct pcr_bank *bank = &v->banks[v->nbanks++];
		size_t ds;

		bank->alg = sel->pcrSelections[b].hash;
		bank->mask = pcrsel_mask(sel, bank->alg);
		ds = crypto_digest_size(bank->alg);
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(bank->mask & (1u << i)))
				continue;
			if (len - off < ds) {
				fprintf(stderr, "PCR values file: %zu bytes, too short for the selection\n", len);
				return -1;
			}
			memcpy(bank->value[i], buf + off, ds);
			off += ds;
		}
	}
	if (off != len) {
		fprintf(stderr, "PCR values file: %zu bytes, selection needs %zu\n", len, off);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t *akbuf = NULL, *msg = NULL, *sig = NULL, *vals = NULL, *attest = NULL;
	size_t aklen, msglen, siglen, valslen, nonce_len;
	uint8_t nonce[sizeof(TPM2B_DATA)];
	TPML_PCR_SELECTION sel;
	TPMT_PUBLIC ak;
	struct pcr_values values;
	struct quoted_state st;
	int rc = 2, r;

	if (argc != 7) {
		fprintf(stderr, "usage: %s AKPUB ATTEST SIG NONCE_HEX PCRSEL PCRVALUES\n", argv[0]);
		return 2;
	}
	if (!(akbuf = tool_read(argv[1], sizeof(TPM2B_PUBLIC), &aklen)) ||
	    !(msg = tool_read(argv[2], sizeof(TPMS_ATTEST), &msglen)) ||
	    !(sig = tool_read(argv[3], QUOTE_MAX_SIGNATURE, &siglen)) ||
	    !(vals = tool_read(argv[6], PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS * CRYPTO_MAX_DIGEST, &valslen)))
		goto out;
	if (unhex(argv[4], nonce, sizeof(nonce), &nonce_len) != 0) {
		fprintf(stderr, "bad NONCE_HEX\n");
		goto out;
	}
	if ((r = pcrsel_parse(argv[5], &sel)) != 0) {
		fprintf(stderr, "PCRSEL: %s\n", err_detail());
		goto out;
	}
	if ((r = tpmpub_parse(akbuf, aklen, &ak)) != 0) {
		fprintf(stderr, "AKPUB: %s: %s\n", err_str(r), err_detail());
		goto out;
	}
	if (split_values(&sel, vals, valslen, &values) != 0)
		goto out;
	if (!(attest = tool_tpm2b(msg, msglen)))
		goto out;

	r = quote_verify(&ak, attest, msglen + 2, sig, siglen, nonce, nonce_len, &sel, &values, &st);
	if (r != 0) {
		printf("FAIL: %s: %s\n", err_str(r), err_detail());
		rc = 1;
		goto out;
	}
	printf("PASS resetCount=%u restartCount=%u clock=%llu\n", st.clock.resetCount, st.clock.restartCount,
	       (unsigned long long)st.clock.clock);
	rc = 0;
out:
	free(akbuf);
	free(msg);
	free(sig);
	free(vals);
	free(attest);
	return rc;
}
