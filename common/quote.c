#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#define LOG_MODULE "quote"
#include "crypto.h"
#include "log.h"
#include "quote.h"
#include "tpmpub.h"

/* The signing scheme a key's public area pins. A key with scheme NULL would let
 * whoever holds the signature choose the scheme; we refuse to guess. */
static int key_scheme(const TPMT_PUBLIC *key, TPM2_ALG_ID *scheme, TPM2_ALG_ID *hash)
{
	switch (key->type) {
	case TPM2_ALG_RSA:
		*scheme = key->parameters.rsaDetail.scheme.scheme;
		*hash = key->parameters.rsaDetail.scheme.details.anySig.hashAlg;
		if (*scheme != TPM2_ALG_RSASSA && *scheme != TPM2_ALG_RSAPSS)
			return err_set(AERR_UNSUPPORTED, "RSA key scheme 0x%04x is not RSASSA or RSAPSS", *scheme);
		break;
	case TPM2_ALG_ECC:
		*scheme = key->parameters.eccDetail.scheme.scheme;
		*hash = key->parameters.eccDetail.scheme.details.anySig.hashAlg;
		if (*scheme != TPM2_ALG_ECDSA)
			return err_set(AERR_UNSUPPORTED, "ECC key scheme 0x%04x is not ECDSA", *scheme);
		break;
	default:
		return err_set(AERR_UNSUPPORTED, "key type 0x%04x cannot sign", key->type);
	}
	if (!crypto_md(*hash))
		return err_set(AERR_UNSUPPORTED, "key scheme hash 0x%04x", *hash);
	return 0;
}

/* TPM ECDSA signatures are raw (r, s); OpenSSL verifies DER. */
static int ecdsa_der(const TPMT_PUBLIC *key, const TPMS_SIGNATURE_ECDSA *e, uint8_t **der, int *der_len)
{
	size_t cs = tpmpub_ecc_coord_size(key->parameters.eccDetail.curveID);
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	int r = AERR_SIGNATURE;

	*der = NULL;
	*der_len = 0;
	if (cs == 0) {
		r = err_set(AERR_UNSUPPORTED, "ECC curve 0x%04x", key->parameters.eccDetail.curveID);
		goto out;
	}
	if (e->signatureR.size == 0 || e->signatureR.size > cs || e->signatureS.size == 0 ||
	    e->signatureS.size > cs) {
		r = err_set(AERR_SIGNATURE, "ECDSA r/s of %u/%u bytes for a %zu-byte curve",
			    e->signatureR.size, e->signatureS.size, cs);
		goto out;
	}
	if (!(br = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL)) ||
	    !(bs = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL)) || !(es = ECDSA_SIG_new())) {
		r = crypto_ossl_err(AERR_CRYPTO, "ECDSA signature");
		goto out;
	}
	if (!ECDSA_SIG_set0(es, br, bs)) {
		r = crypto_ossl_err(AERR_CRYPTO, "ECDSA_SIG_set0");
		goto out;
	}
	br = bs = NULL; /* owned by es */
	if ((*der_len = i2d_ECDSA_SIG(es, der)) <= 0) {
		*der = NULL;
		*der_len = 0;
		r = crypto_ossl_err(AERR_CRYPTO, "i2d_ECDSA_SIG");
		goto out;
	}
	r = 0;
out:
	ECDSA_SIG_free(es);
	BN_free(br);
	BN_free(bs);
	return r;
}

/* quote_verify_signature with key's EVP_PKEY given (NULL: built here). */
/* TPMT_SIGNATURE wire bytes, exactly, in the key's scheme and hash:
 * pinned, even if another combination would verify. */
static int signature_parse(const uint8_t *sig, size_t sig_len, TPM2_ALG_ID scheme, TPM2_ALG_ID hash,
			   TPMT_SIGNATURE *s)
{
	size_t off = 0;

	if (sig_len > QUOTE_MAX_SIGNATURE)
		return err_set(AERR_TOO_LARGE, "TPMT_SIGNATURE of %zu bytes", sig_len);
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, sig_len, &off, s) != TSS2_RC_SUCCESS)
		return err_set(AERR_PARSE, "TPMT_SIGNATURE: malformed or truncated (%zu bytes)", sig_len);
	if (off != sig_len)
		return err_set(AERR_TRAILING, "TPMT_SIGNATURE: %zu trailing bytes", sig_len - off);
	if (s->sigAlg != scheme)
		return err_set(AERR_SIGNATURE, "signature algorithm 0x%04x, key requires 0x%04x", s->sigAlg, scheme);
	if (s->signature.any.hashAlg != hash)
		return err_set(AERR_SIGNATURE, "signature hash 0x%04x, key requires 0x%04x", s->signature.any.hashAlg,
			       hash);
	return 0;
}

/* raw (an RSA signature, or ECDSA's DER) over data by pkey in (scheme, hash). */
static int signature_check(EVP_PKEY *pkey, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *raw,
			   size_t raw_len, const uint8_t *data, size_t len)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r;

	if (!(mctx = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(mctx, &pctx, crypto_md(hash), NULL, pkey) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "EVP_DigestVerifyInit");
		goto out;
	}
	if (scheme == TPM2_ALG_RSASSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSASSA padding");
		goto out;
	}
	/* The TPM signs PSS with a salt as long as the digest (TPM 2.0 Part 1, B.7); nothing else is accepted. */
	if (scheme == TPM2_ALG_RSAPSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, crypto_md(hash)) != 1)) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSAPSS parameters");
		goto out;
	}
	r = 0;
	if (EVP_DigestVerify(mctx, raw, raw_len, data, len) != 1)
		/* ECDSA says only "0"; RSA leaves its reason (bad padding, ...) on the queue. */
		r = crypto_ossl_err(AERR_SIGNATURE, scheme == TPM2_ALG_ECDSA ? "ECDSA signature does not verify"
					 : scheme == TPM2_ALG_RSAPSS ? "RSAPSS signature does not verify"
								      : "RSASSA signature does not verify");
out:
	EVP_MD_CTX_free(mctx);
	return r;
}

static int verify_signature(const TPMT_PUBLIC *key, EVP_PKEY *given, const uint8_t *data, size_t len,
			    const uint8_t *sig, size_t sig_len)
{
	TPMT_SIGNATURE s;
	TPM2_ALG_ID scheme, hash;
	EVP_PKEY *pkey = NULL;
	const uint8_t *raw = NULL;
	uint8_t *der = NULL;
	size_t raw_len = 0;
	int der_len = 0, r = AERR_INTERNAL;

	memset(&s, 0, sizeof(s));
	if (!key || !data || !sig)
		return err_set(AERR_INVALID_ARG, "signature: missing argument");
	if ((r = key_scheme(key, &scheme, &hash)) != 0 || (r = signature_parse(sig, sig_len, scheme, hash, &s)) != 0)
		goto out;
	switch (scheme) {
	case TPM2_ALG_RSASSA:
		raw = s.signature.rsassa.sig.buffer;
		raw_len = s.signature.rsassa.sig.size;
		break;
	case TPM2_ALG_RSAPSS:
		raw = s.signature.rsapss.sig.buffer;
		raw_len = s.signature.rsapss.sig.size;
		break;
	case TPM2_ALG_ECDSA:
		if ((r = ecdsa_der(key, &s.signature.ecdsa, &der, &der_len)) != 0)
			goto out;
		raw = der;
		raw_len = (size_t)der_len;
		break;
	}
	if (scheme != TPM2_ALG_ECDSA && raw_len != key->unique.rsa.size) {
		r = err_set(AERR_SIGNATURE, "RSA signature of %zu bytes for a %u-byte modulus", raw_len,
			    key->unique.rsa.size);
		goto out;
	}
	if (given && EVP_PKEY_up_ref(given) == 1)
		pkey = given;
	else if ((r = tpmpub_to_evp(key, &pkey)) != 0)
		goto out;
	r = signature_check(pkey, scheme, hash, raw, raw_len, data, len);
out:
	EVP_PKEY_free(pkey);
	OPENSSL_free(der);
	return r;
}

int quote_verify_signature(const TPMT_PUBLIC *key, const uint8_t *data, size_t len,
			   const uint8_t *sig, size_t sig_len)
{
	return verify_signature(key, NULL, data, len, sig, sig_len);
}

int quote_pcr_digest(TPM2_ALG_ID hash, const TPML_PCR_SELECTION *sel, const struct pcr_values *values,
		     uint8_t *out, size_t *out_len)
{
	const EVP_MD *md = crypto_md(hash);
	EVP_MD_CTX *ctx = NULL;
	unsigned int dlen = 0;
	int r = AERR_INTERNAL;

	*out_len = 0;
	if (!(ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "PCR digest");
		goto out;
	}
	for (uint32_t b = 0; b < sel->count; b++) {
		TPMI_ALG_HASH alg = sel->pcrSelections[b].hash;
		uint32_t mask = pcrsel_mask(sel, alg);
		const struct pcr_bank *bank = pcr_values_bank(values, alg);
		size_t size = crypto_digest_size(alg);

		if (mask && (!bank || size == 0)) {
			r = err_set(AERR_INTERNAL, "PCR digest: bank 0x%04x unchecked", alg);
			goto out;
		}
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++)
			if ((mask & (1u << i)) && EVP_DigestUpdate(ctx, bank->value[i], size) != 1) {
				r = crypto_ossl_err(AERR_CRYPTO, "PCR digest");
				goto out;
			}
	}
	if (EVP_DigestFinal_ex(ctx, out, &dlen) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "PCR digest");
		goto out;
	}
	*out_len = dlen;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int quote_verify(const TPMT_PUBLIC *ak, const uint8_t *attest, size_t attest_len,
		 const uint8_t *sig, size_t sig_len, const uint8_t *nonce, size_t nonce_len,
		 const TPML_PCR_SELECTION *requested, const struct pcr_values *values,
		 struct quoted_state *out)
{
	return quote_verify_pkey(ak, NULL, attest, attest_len, sig, sig_len, nonce, nonce_len, requested, values,
				 out);
}

/* The TPM2B_ATTEST framing only (its size), so that we know which bytes
 * were signed. */
static int attest_framing(const uint8_t *attest, size_t attest_len, TPM2B_ATTEST *blob)
{
	size_t off = 0, size;

	if (attest_len > QUOTE_MAX_ATTEST)
		return err_set(AERR_TOO_LARGE, "TPM2B_ATTEST of %zu bytes", attest_len);
	if (attest_len < 2)
		return err_set(AERR_PARSE, "TPM2B_ATTEST: truncated size field (%zu bytes)", attest_len);
	size = (size_t)attest[0] << 8 | attest[1];
	if (size + 2 > attest_len)
		return err_set(AERR_PARSE, "TPM2B_ATTEST: size %zu exceeds the %zu bytes present", size, attest_len - 2);
	if (size + 2 < attest_len)
		return err_set(AERR_TRAILING, "TPM2B_ATTEST: %zu trailing bytes", attest_len - 2 - size);
	if (Tss2_MU_TPM2B_ATTEST_Unmarshal(attest, attest_len, &off, blob) != TSS2_RC_SUCCESS ||
	    off != attest_len || blob->size != size)
		return err_set(AERR_PARSE, "TPM2B_ATTEST: malformed (size %zu)", size);
	return 0;
}

/* The signed TPMS_ATTEST: magic and type straight from the bytes (the type
 * decides how the rest parses), then the whole structure, exactly. */
static int attest_parse(const TPM2B_ATTEST *blob, TPM2_ST want, TPMS_ATTEST *a)
{
	const uint8_t *d = blob->attestationData;
	size_t off = 0;
	uint32_t magic;
	uint16_t type;

	if (blob->size < 6)
		return err_set(AERR_PARSE, "TPMS_ATTEST: %u bytes, too short for magic and type", blob->size);
	magic = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	type = (uint16_t)(d[4] << 8 | d[5]);
	if (magic != TPM2_GENERATED_VALUE)
		return err_set(AERR_QUOTE_MAGIC, "TPMS_ATTEST magic 0x%08x is not TPM_GENERATED_VALUE", magic);
	if (type != want)
		return err_set(AERR_QUOTE_TYPE, "TPMS_ATTEST type 0x%04x is not %s", type,
			       want == TPM2_ST_ATTEST_QUOTE ? "TPM_ST_ATTEST_QUOTE" : "TPM_ST_ATTEST_CERTIFY");
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(d, blob->size, &off, a) != TSS2_RC_SUCCESS)
		return err_set(AERR_PARSE, "TPMS_ATTEST: malformed or truncated");
	if (off != blob->size)
		return err_set(AERR_TRAILING, "TPMS_ATTEST: %zu bytes left inside TPM2B_ATTEST", blob->size - off);
	return 0;
}

/* The quoted selection is the requested one, the values cover it exactly
 * and are the ones the TPM hashed; the quoted banks' values into st, in
 * selection order. */
static int quote_values(const TPMS_QUOTE_INFO *q, TPM2_ALG_ID hash, const TPML_PCR_SELECTION *requested,
			const struct pcr_values *values, struct quoted_state *st)
{
	uint8_t digest[CRYPTO_MAX_DIGEST];
	size_t dlen = 0;
	int r;

	if (!pcrsel_equal(&q->pcrSelect, requested)) {
		char got[512], want[512];

		if (pcrsel_format(&q->pcrSelect, got, sizeof(got)) != 0)
			strcpy(got, "(unprintable)");
		if (pcrsel_format(requested, want, sizeof(want)) != 0)
			strcpy(want, "(unprintable)");
		return err_set(AERR_PCR_SELECTION, "quoted selection %s differs from requested %s", got, want);
	}
	if ((r = pcrsel_check_values(&q->pcrSelect, values)) != 0 ||
	    (r = quote_pcr_digest(hash, &q->pcrSelect, values, digest, &dlen)) != 0)
		return r;
	if (q->pcrDigest.size != dlen || CRYPTO_memcmp(q->pcrDigest.buffer, digest, dlen) != 0)
		return err_set(AERR_PCR_DIGEST, "quoted PCR digest (%u bytes) does not match the PCR values supplied",
			       q->pcrDigest.size);
	for (uint32_t b = 0; b < q->pcrSelect.count; b++) {
		TPMI_ALG_HASH alg = q->pcrSelect.pcrSelections[b].hash;
		uint32_t mask = pcrsel_mask(&q->pcrSelect, alg);
		const struct pcr_bank *bank = pcr_values_bank(values, alg);

		if (!mask)
			continue;
		if (st->pcrs.nbanks == PCRSEL_MAX_BANKS || !bank)
			return err_set(AERR_INTERNAL, "quote: bank 0x%04x unchecked", alg);
		st->pcrs.banks[st->pcrs.nbanks] = *bank;
		st->pcrs.banks[st->pcrs.nbanks].mask = mask;
		st->pcrs.nbanks++;
	}
	return 0;
}

int quote_verify_pkey(const TPMT_PUBLIC *ak, EVP_PKEY *ak_pkey, const uint8_t *attest, size_t attest_len,
		      const uint8_t *sig, size_t sig_len, const uint8_t *nonce, size_t nonce_len,
		      const TPML_PCR_SELECTION *requested, const struct pcr_values *values,
		      struct quoted_state *out)
{
	TPM2B_ATTEST blob;
	TPMS_ATTEST a;
	TPM2_ALG_ID scheme, hash;
	struct quoted_state st;
	int r = AERR_INTERNAL;

	if (out)
		memset(out, 0, sizeof(*out));
	memset(&blob, 0, sizeof(blob));
	memset(&a, 0, sizeof(a));
	memset(&st, 0, sizeof(st));
	if (!ak || !attest || !sig || (!nonce && nonce_len) || !requested || !values || !out)
		return err_set(AERR_INVALID_ARG, "quote: missing argument");
	if ((r = key_scheme(ak, &scheme, &hash)) != 0 || (r = attest_framing(attest, attest_len, &blob)) != 0)
		goto out;
	/* 1. Nothing inside is believed before the AK's signature over exactly these bytes. */
	if ((r = verify_signature(ak, ak_pkey, blob.attestationData, blob.size, sig, sig_len)) != 0)
		goto out;
	/* 2. What it is. */
	if ((r = attest_parse(&blob, TPM2_ST_ATTEST_QUOTE, &a)) != 0)
		goto out;
	/* 3. Freshness. */
	if (a.extraData.size != nonce_len || nonce_len == 0 ||
	    CRYPTO_memcmp(a.extraData.buffer, nonce, nonce_len) != 0) {
		r = err_set(AERR_NONCE, "quote extraData (%u bytes) is not the nonce issued (%zu bytes)",
			    a.extraData.size, nonce_len);
		goto out;
	}
	st.proven = 1;
	/* 4. What we asked for, and the values the TPM hashed. */
	if ((r = quote_values(&a.attested.quote, hash, requested, values, &st)) != 0)
		goto out;
	st.clock = a.clockInfo;
	st.firmware_version = a.firmwareVersion;
	st.signer = a.qualifiedSigner;
	*out = st;
	r = 0;
out:
	if (r != 0) {
		LOG_DEBUG("quote rejected: %s", err_detail());
		if (out)
			out->proven = st.proven;
	}
	return r;
}

int quote_attest_verify(const TPMT_PUBLIC *key, const uint8_t *attest, size_t attest_len, const uint8_t *sig,
			size_t sig_len, const uint8_t *nonce, size_t nonce_len, TPM2_ST type, TPMS_ATTEST *out)
{
	TPM2B_ATTEST blob;
	TPM2_ALG_ID scheme, hash;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&blob, 0, sizeof(blob));
	if (!key || !attest || !sig || !nonce || !nonce_len)
		return err_set(AERR_INVALID_ARG, "attestation: missing argument");
	if ((r = key_scheme(key, &scheme, &hash)) != 0 || (r = attest_framing(attest, attest_len, &blob)) != 0 ||
	    (r = verify_signature(key, NULL, blob.attestationData, blob.size, sig, sig_len)) != 0 ||
	    (r = attest_parse(&blob, type, out)) != 0)
		goto fail;
	if (out->extraData.size != nonce_len || CRYPTO_memcmp(out->extraData.buffer, nonce, nonce_len) != 0) {
		r = err_set(AERR_NONCE, "extraData (%u bytes) is not the nonce issued (%zu bytes)", out->extraData.size,
			    nonce_len);
		goto fail;
	}
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return r;
}
