/* TPM2_Quote and signatures of simtpm.h (TPM 2.0 Part 3, 18.4): the
 * TPMS_ATTEST a TPM builds, signed in the AK's scheme and marshalled as
 * TPMT_SIGNATURE. Written apart from common/quote.c, which it tests. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "array.h"
#include "crypto.h"
#include "simtpm_priv.h"

#define SIMTPM_MAX_SIG 512

/* ECDSA's DER (r, s) as the TPM's two fixed-size big-endian halves. */
static int simtpm_ecdsa_halves(const uint8_t *der, size_t der_len, size_t half, TPMS_SIGNATURE_ECC *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	int ok;

	if (!es)
		return crypto_ossl_err(AERR_CRYPTO, "ECDSA signature DER");
	out->signatureR.size = out->signatureS.size = (UINT16)half;
	ok = half <= sizeof(out->signatureR.buffer) &&
	     BN_bn2binpad(ECDSA_SIG_get0_r(es), out->signatureR.buffer, (int)half) == (int)half &&
	     BN_bn2binpad(ECDSA_SIG_get0_s(es), out->signatureS.buffer, (int)half) == (int)half;
	ECDSA_SIG_free(es);
	return ok ? 0 : err_set(AERR_CRYPTO, "ECDSA signature halves of %zu bytes", half);
}

int simtpm_sign_with(EVP_PKEY *key, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, int pss_saltlen, const uint8_t *data,
		     size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t raw[SIMTPM_MAX_SIG];
	size_t raw_len = sizeof(raw), off = 0;
	TPMT_SIGNATURE ts;
	int r = AERR_CRYPTO;

	*sig_len = 0;
	memset(&ts, 0, sizeof(ts));
	if (scheme != TPM2_ALG_RSASSA && scheme != TPM2_ALG_RSAPSS && scheme != TPM2_ALG_ECDSA)
		return err_set(AERR_INVALID_ARG, "signature scheme 0x%04x", scheme);
	if (!crypto_md(hash))
		return err_set(AERR_INVALID_ARG, "signature hash 0x%04x", hash);
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, &pctx, crypto_md(hash), NULL, key) != 1 ||
	    (scheme == TPM2_ALG_RSAPSS &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_saltlen ? pss_saltlen : RSA_PSS_SALTLEN_DIGEST) != 1)) ||
	    (scheme == TPM2_ALG_RSASSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_DigestSign(md, raw, &raw_len, data, len) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "signature");
		goto out;
	}
	ts.sigAlg = scheme;
	if (scheme == TPM2_ALG_ECDSA) {
		ts.signature.ecdsa.hash = hash;
		if ((r = simtpm_ecdsa_halves(raw, raw_len, ((size_t)EVP_PKEY_get_bits(key) + 7) / 8,
					     &ts.signature.ecdsa)) != 0)
			goto out;
	} else {
		/* RSASSA and RSAPSS share one layout. */
		ts.signature.rsassa.hash = hash;
		ts.signature.rsassa.sig.size = (UINT16)raw_len;
		memcpy(ts.signature.rsassa.sig.buffer, raw, raw_len);
	}
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&ts, sig, cap, &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_TOO_LARGE, "TPMT_SIGNATURE does not fit in %zu bytes", cap);
		goto out;
	}
	*sig_len = off;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

int simtpm_sign(const struct simtpm *s, const uint8_t *data, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	const TPMT_PUBLIC *p = &s->akpub;
	TPM2_ALG_ID scheme = p->type == TPM2_ALG_ECC ? p->parameters.eccDetail.scheme.scheme
						     : p->parameters.rsaDetail.scheme.scheme;

	return simtpm_sign_with(s->ak, scheme, p->parameters.asymDetail.scheme.details.anySig.hashAlg, 0, data, len,
				sig, cap, sig_len);
}

int simtpm_pcrs_reproducible(struct pcr_values *out)
{
	static const TPM2_ALG_ID algs[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384 };
	char text[32];
	int r;

	memset(out, 0, sizeof(*out));
	for (size_t b = 0; b < ARRAY_LEN(algs); b++) {
		struct pcr_bank *bank = &out->banks[out->nbanks++];

		bank->alg = algs[b];
		bank->mask = (1u << PCRSEL_NUM_PCRS) - 1;
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			int n = snprintf(text, sizeof(text), "simtpm pcr %u", i);

			if ((r = crypto_digest(algs[b], text, (size_t)n, bank->value[i])) != 0)
				return r;
		}
	}
	return 0;
}

int simtpm_pcr_digest(TPM2_ALG_ID hash, const TPML_PCR_SELECTION *sel, const struct pcr_values *values,
		      TPM2B_DIGEST *digest, struct pcr_values *picked)
{
	static const uint8_t zeros[CRYPTO_MAX_DIGEST];
	uint8_t cat[PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS * CRYPTO_MAX_DIGEST];
	size_t n = 0;

	if (picked)
		memset(picked, 0, sizeof(*picked));
	if (sel->count == 0 || sel->count > PCRSEL_MAX_BANKS)
		return err_set(AERR_INVALID_ARG, "selection of %u banks", sel->count);
	for (uint32_t b = 0; b < sel->count; b++) {
		const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[b];
		const struct pcr_bank *have = values ? pcr_values_bank(values, ps->hash) : NULL;
		struct pcr_bank *out = picked ? &picked->banks[picked->nbanks++] : NULL;
		size_t size = crypto_digest_size(ps->hash);

		if (size == 0 || ps->sizeofSelect > PCRSEL_NUM_PCRS / 8)
			return err_set(AERR_UNSUPPORTED, "bank 0x%04x, sizeofSelect %u", ps->hash, ps->sizeofSelect);
		if (out)
			out->alg = ps->hash;
		for (unsigned i = 0; i < 8u * ps->sizeofSelect; i++) {
			const uint8_t *v = have && (have->mask >> i & 1) ? have->value[i] : zeros;

			if (!(ps->pcrSelect[i / 8] & (1u << (i % 8))))
				continue;
			memcpy(cat + n, v, size);
			n += size;
			if (out) {
				out->mask |= 1u << i;
				memcpy(out->value[i], v, size);
			}
		}
	}
	digest->size = (UINT16)crypto_digest_size(hash);
	if (digest->size == 0)
		return err_set(AERR_INVALID_ARG, "digest hash 0x%04x", hash);
	return crypto_digest(hash, cat, n, digest->buffer);
}

int simtpm_quote(struct simtpm *s, const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		 struct simtpm_quote *out)
{
	TPMS_ATTEST a;
	size_t off = 0;
	int r;

	out->attest_len = out->sig_len = 0;
	memset(&a, 0, sizeof(a));
	if (nonce_len > sizeof(a.extraData.buffer))
		return err_set(AERR_INVALID_ARG, "qualifyingData of %zu bytes", nonce_len);
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.qualifiedSigner = s->ak_name;
	a.extraData.size = (UINT16)nonce_len;
	memcpy(a.extraData.buffer, nonce, nonce_len);
	a.clockInfo = s->clock;
	a.firmwareVersion = SIMTPM_FIRMWARE;
	a.attested.quote.pcrSelect = *sel;
	if ((r = simtpm_pcr_digest(s->akpub.parameters.asymDetail.scheme.details.anySig.hashAlg, sel, s->pcrs,
				   &a.attested.quote.pcrDigest, &out->values)) != 0)
		return r;
	if (Tss2_MU_TPMS_ATTEST_Marshal(&a, out->attest + 2, sizeof(out->attest) - 2, &off) != TSS2_RC_SUCCESS)
		return err_set(AERR_TOO_LARGE, "TPMS_ATTEST does not fit");
	out->attest[0] = (uint8_t)(off >> 8);
	out->attest[1] = (uint8_t)off;
	out->attest_len = off + 2;
	if ((r = simtpm_sign(s, out->attest + 2, off, out->sig, sizeof(out->sig), &out->sig_len)) != 0)
		return r;
	s->clock.clock += s->clock_tick_ms;
	return 0;
}
