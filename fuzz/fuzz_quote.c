/* TPM2B_ATTEST / TPMS_ATTEST and TPMT_SIGNATURE, as quote_verify reads them.
 * The first byte picks what is fuzzed:
 *   0: the rest is TPM2B_ATTEST wire bytes, signed here with the software
 *      AK, so everything after the signature check (magic, type, nonce,
 *      selection, PCR digest) sees hostile bytes.
 *   1: the rest is a TPMT_SIGNATURE, checked over a fixed message by an
 *      ECC P-256 key, an RSASSA and an RSAPSS key.
 * Fixed expectations: nonce FUZZ_QUOTE_NONCE, selection sha256:0-7+sha1:0-7
 * with every value zero (fuzz/seeds/quote holds a passing quote of these). */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "fuzz.h"
#include "quote.h"
#include "tpmpub.h"

#define FUZZ_QUOTE_NONCE "attest fuzz nonce, 32 bytes long"

static TPML_PCR_SELECTION sel;
static struct pcr_values values;
static TPMT_PUBLIC rsassa, rsapss;

/* An RSA-2048 AK public area of key k, pinned to scheme. */
static int quote_rsa_public(EVP_PKEY *k, TPM2_ALG_ID scheme, TPMT_PUBLIC *p)
{
	tpmpub_ak_template(TPM2_ALG_RSA, p);
	p->parameters.rsaDetail.scheme.scheme = scheme;
	return tpmpub_set_unique(p, k) == 0 ? 0 : -1;
}

int fuzz_quote_init(void)
{
	EVP_PKEY *k;
	int r;

	fuzz_quiet();
	if (!fuzz_fake_get() || pcrsel_parse("sha256:0-7+sha1:0-7", &sel) != 0)
		return -1;
	memset(&values, 0, sizeof(values));
	values.nbanks = 2;
	values.banks[0].alg = TPM2_ALG_SHA256;
	values.banks[0].mask = 0xff;
	values.banks[1].alg = TPM2_ALG_SHA1;
	values.banks[1].mask = 0xff;
	if (!(k = EVP_RSA_gen(2048)))
		return -1;
	r = quote_rsa_public(k, TPM2_ALG_RSASSA, &rsassa) | quote_rsa_public(k, TPM2_ALG_RSAPSS, &rsapss);
	EVP_PKEY_free(k);
	return r;
}

int fuzz_quote(const uint8_t *data, size_t size)
{
	static const uint8_t msg[] = "the message signed";
	const struct fuzz_fake *f = fuzz_fake_get();
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	struct quoted_state q;
	size_t sig_len = 0;

	if (size < 1 || !f)
		return 0;
	if (data[0] == 1) {
		fuzz_ignore(quote_verify_signature(&f->ak_pub, msg, sizeof(msg), data + 1, size - 1));
		fuzz_ignore(quote_verify_signature(&rsassa, msg, sizeof(msg), data + 1, size - 1));
		fuzz_ignore(quote_verify_signature(&rsapss, msg, sizeof(msg), data + 1, size - 1));
		return 0;
	}
	data++;
	size--;
	if (size < 2 || simtpm_sign(f->tpm, data + 2, size - 2, sig, sizeof(sig), &sig_len) != 0)
		return 0;
	if (quote_verify(&f->ak_pub, data, size, sig, sig_len, (const uint8_t *)FUZZ_QUOTE_NONCE,
			 strlen(FUZZ_QUOTE_NONCE), &sel, &values, &q) == 0) {
		/* Only the expected quote passes: its selection and zero values. */
		FUZZ_CHECK(q.pcrs.nbanks == 2);
		FUZZ_CHECK(pcrsel_check_values(&sel, &q.pcrs) == 0);
	}
	return 0;
}
