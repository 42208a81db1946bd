/* quote_verify against quotes built here field by field as a TPM builds them:
 * AK keys from OpenSSL, TPMS_ATTEST marshalled with tss2-mu, the PCR digest
 * and the TPMT_SIGNATURE from the software TPM (tests/simtpm), which computes
 * them apart from quote.c (TPM 2.0 Part 3, TPM2_Quote: H(PCR values in
 * selection order)). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "array.h"
#include "crypto.h"
#include "quote.h"
#include "simtpm.h"
#include "tpmpub.h"

struct ak {
	EVP_PKEY *key;
	TPMT_PUBLIC pub;
};

static struct ak ak_ecc, ak_ecc_other, ak_rsassa, ak_rsapss;

/* An AK public area of key (the attestor's template) pinned to (scheme, hash). */
static void ak_public(EVP_PKEY *key, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, TPMT_PUBLIC *pub)
{
	tpmpub_ak_template(EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? TPM2_ALG_RSA : TPM2_ALG_ECC, pub);
	pub->parameters.asymDetail.scheme.scheme = scheme;
	pub->parameters.asymDetail.scheme.details.anySig.hashAlg = hash;
	assert_int_equal(tpmpub_set_unique(pub, key), 0);
}

static int group_setup(void **state)
{
	(void)state;
	ak_ecc.key = EVP_EC_gen("P-256");
	ak_ecc_other.key = EVP_EC_gen("P-256");
	ak_rsassa.key = EVP_RSA_gen(2048);
	if (!ak_ecc.key || !ak_ecc_other.key || !ak_rsassa.key)
		return -1;
	/* The PSS AK is the same RSA key with another pinned scheme: lets tests show
	 * that a signature valid under one scheme is refused under the other. */
	ak_rsapss.key = ak_rsassa.key;
	EVP_PKEY_up_ref(ak_rsapss.key);
	ak_public(ak_ecc.key, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, &ak_ecc.pub);
	ak_public(ak_ecc_other.key, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, &ak_ecc_other.pub);
	ak_public(ak_rsassa.key, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &ak_rsassa.pub);
	ak_public(ak_rsapss.key, TPM2_ALG_RSAPSS, TPM2_ALG_SHA256, &ak_rsapss.pub);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ak_ecc.key);
	EVP_PKEY_free(ak_ecc_other.key);
	EVP_PKEY_free(ak_rsassa.key);
	EVP_PKEY_free(ak_rsapss.key);
	return 0;
}

/* The TPM's PSS salt is as long as the digest; tests change it to show nothing else passes. */
static int pss_saltlen = RSA_PSS_SALTLEN_DIGEST;

/* Sign data as the TPM would with (scheme, hash), as a TPMT_SIGNATURE. */
static void tpm_sign(EVP_PKEY *key, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *data, size_t len,
		     uint8_t *out, size_t cap, size_t *out_len)
{
	assert_int_equal(simtpm_sign_with(key, scheme, hash, pss_saltlen, data, len, out, cap, out_len), 0);
}

/* Everything that goes into one quote. */
struct qfx {
	const struct ak *ak;
	TPM2_ALG_ID sig_scheme, sig_hash; /* what the "TPM" signs with */
	EVP_PKEY *sign_key;
	uint8_t nonce[32];
	TPML_PCR_SELECTION requested;
	struct pcr_values values;
	TPMS_ATTEST a;
	uint8_t attest[sizeof(TPM2B_ATTEST)];
	size_t attest_len;
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	size_t sig_len;
};

static TPM2_ALG_ID ak_scheme(const struct ak *ak)
{
	return ak->pub.type == TPM2_ALG_ECC ? ak->pub.parameters.eccDetail.scheme.scheme
					    : ak->pub.parameters.rsaDetail.scheme.scheme;
}

/* The TPM's pcrDigest over v as sel picks them. */
static void digest_values(TPM2_ALG_ID hash, const TPML_PCR_SELECTION *sel, const struct pcr_values *v,
			  TPM2B_DIGEST *out)
{
	assert_int_equal(simtpm_pcr_digest(hash, sel, v, out, NULL), 0);
}

/* Marshal fx->a as TPM2B_ATTEST and sign its contents. */
static void qfx_seal(struct qfx *fx)
{
	size_t off = 2;

	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&fx->a, fx->attest, sizeof(fx->attest), &off), TSS2_RC_SUCCESS);
	fx->attest[0] = (uint8_t)((off - 2) >> 8);
	fx->attest[1] = (uint8_t)(off - 2);
	fx->attest_len = off;
	tpm_sign(fx->sign_key, fx->sig_scheme, fx->sig_hash, fx->attest + 2, fx->attest_len - 2, fx->sig,
		 sizeof(fx->sig), &fx->sig_len);
}

/* Re-sign the attest bytes as they are now (after a raw edit). */
static void qfx_resign(struct qfx *fx)
{
	tpm_sign(fx->sign_key, fx->sig_scheme, fx->sig_hash, fx->attest + 2, fx->attest_len - 2, fx->sig,
		 sizeof(fx->sig), &fx->sig_len);
}

/* A valid quote by ak over "sha256:0,1,2,7,16+sha1:0-3" with random values and nonce. */
static void qfx_init(struct qfx *fx, const struct ak *ak)
{
	memset(fx, 0, sizeof(*fx));
	fx->ak = ak;
	fx->sign_key = ak->key;
	fx->sig_scheme = ak_scheme(ak);
	fx->sig_hash = ak->pub.parameters.asymDetail.scheme.details.anySig.hashAlg;
	assert_int_equal(RAND_bytes(fx->nonce, sizeof(fx->nonce)), 1);
	assert_int_equal(pcrsel_parse("sha256:0,1,2,7,16+sha1:0-3", &fx->requested), 0);
	for (uint32_t b = 0; b < fx->requested.count; b++) {
		struct pcr_bank *bank = &fx->values.banks[fx->values.nbanks++];

		bank->alg = fx->requested.pcrSelections[b].hash;
		bank->mask = pcrsel_mask(&fx->requested, bank->alg);
		assert_int_equal(RAND_bytes(&bank->value[0][0], sizeof(bank->value)), 1);
	}
	fx->a.magic = TPM2_GENERATED_VALUE;
	fx->a.type = TPM2_ST_ATTEST_QUOTE;
	assert_int_equal(tpmpub_name(&ak->pub, &fx->a.qualifiedSigner), 0);
	fx->a.extraData.size = sizeof(fx->nonce);
	memcpy(fx->a.extraData.buffer, fx->nonce, sizeof(fx->nonce));
	fx->a.clockInfo.clock = 0x0123456789ULL;
	fx->a.clockInfo.resetCount = 3;
	fx->a.clockInfo.restartCount = 7;
	fx->a.clockInfo.safe = 1;
	fx->a.firmwareVersion = 0x2010002400000000ULL;
	fx->a.attested.quote.pcrSelect = fx->requested;
	digest_values(fx->sig_hash, &fx->requested, &fx->values, &fx->a.attested.quote.pcrDigest);
	qfx_seal(fx);
}

static int qfx_verify(const struct qfx *fx, struct quoted_state *st)
{
	int r;

	memset(st, 0xa5, sizeof(*st));
	r = quote_verify(&fx->ak->pub, fx->attest, fx->attest_len, fx->sig, fx->sig_len, fx->nonce,
			 sizeof(fx->nonce), &fx->requested, &fx->values, st);
	if (r != 0) {
		/* On failure no PCR value, clock or signer may look proven; only
		 * whether the AK signed this nonce is said. */
		struct quoted_state zero;

		memset(&zero, 0, sizeof(zero));
		zero.proven = st->proven;
		assert_memory_equal(st, &zero, sizeof(zero));
		assert_true(st->proven == 0 || st->proven == 1);
		if (r == AERR_SIGNATURE || r == AERR_QUOTE_MAGIC || r == AERR_QUOTE_TYPE || r == AERR_NONCE)
			assert_false(st->proven);
		if (r == AERR_PCR_SELECTION || r == AERR_PCR_DIGEST)
			assert_true(st->proven);
	} else {
		assert_true(st->proven);
	}
	return r;
}

/* Expect code, showing the detail on mismatch. */
#define expect_verify(fx, code)                                                                      \
	do {                                                                                          \
		struct quoted_state st_;                                                              \
		int r_ = qfx_verify((fx), &st_);                                                      \
		if (r_ != (code))                                                                     \
			fail_msg("quote_verify = %d (%s), want %d", r_, err_detail(), (int)(code));   \
	} while (0)

static const struct ak *all_aks[] = { &ak_ecc, &ak_rsassa, &ak_rsapss };
#define NAKS ARRAY_LEN(all_aks)

static void test_valid(void **state)
{
	(void)state;
	for (size_t k = 0; k < NAKS; k++) {
		struct qfx fx;
		struct quoted_state st;
		int r;

		qfx_init(&fx, all_aks[k]);
		r = qfx_verify(&fx, &st);
		if (r != 0)
			fail_msg("AK %zu: valid quote rejected: %d %s", k, r, err_detail());
		assert_int_equal(st.pcrs.nbanks, 2);
		for (uint32_t b = 0; b < 2; b++) {
			const struct pcr_bank *got = &st.pcrs.banks[b], *want = &fx.values.banks[b];
			size_t ds = crypto_digest_size(want->alg);

			assert_int_equal(got->alg, want->alg);
			assert_int_equal(got->mask, want->mask);
			for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++)
				if (want->mask & (1u << i))
					assert_memory_equal(got->value[i], want->value[i], ds);
		}
		assert_int_equal(st.clock.clock, 0x0123456789ULL);
		assert_int_equal(st.clock.resetCount, 3);
		assert_int_equal(st.clock.restartCount, 7);
		assert_int_equal(st.clock.safe, 1);
		assert_int_equal(st.firmware_version, 0x2010002400000000ULL);
		assert_int_equal(st.signer.size, fx.a.qualifiedSigner.size);
		assert_memory_equal(st.signer.name, fx.a.qualifiedSigner.name, st.signer.size);
	}
}

static void test_values_order_free(void **state)
{
	struct qfx fx;
	struct pcr_bank tmp;

	(void)state;
	/* Values supplied with banks in another order are matched by algorithm. */
	qfx_init(&fx, &ak_ecc);
	tmp = fx.values.banks[0];
	fx.values.banks[0] = fx.values.banks[1];
	fx.values.banks[1] = tmp;
	expect_verify(&fx, 0);
}

static void test_digest_order(void **state)
{
	struct qfx fx;
	TPML_PCR_SELECTION swapped;

	(void)state;
	/* A digest over the right values in the wrong bank order is not the quote's digest. */
	qfx_init(&fx, &ak_ecc);
	assert_int_equal(pcrsel_parse("sha1:0-3+sha256:0,1,2,7,16", &swapped), 0);
	digest_values(fx.sig_hash, &swapped, &fx.values, &fx.a.attested.quote.pcrDigest);
	qfx_seal(&fx);
	expect_verify(&fx, AERR_PCR_DIGEST);
	/* A digest with a hash other than the signing hash neither. */
	qfx_init(&fx, &ak_ecc);
	digest_values(TPM2_ALG_SHA1, &fx.requested, &fx.values, &fx.a.attested.quote.pcrDigest);
	qfx_seal(&fx);
	expect_verify(&fx, AERR_PCR_DIGEST);
}

static void test_wrong_nonce(void **state)
{
	(void)state;
	for (size_t k = 0; k < NAKS; k++) {
		struct qfx fx;

		qfx_init(&fx, all_aks[k]);
		fx.nonce[31] ^= 1;
		expect_verify(&fx, AERR_NONCE);
		fx.nonce[31] ^= 1;
		fx.nonce[0] ^= 0x80;
		expect_verify(&fx, AERR_NONCE);
	}
	{
		struct qfx fx;
		struct quoted_state st;

		/* A quote over a prefix of the nonce. */
		qfx_init(&fx, &ak_ecc);
		fx.a.extraData.size = 16;
		qfx_seal(&fx);
		expect_verify(&fx, AERR_NONCE);
		/* The caller's nonce is a prefix of extraData. */
		qfx_init(&fx, &ak_ecc);
		assert_int_equal(quote_verify(&fx.ak->pub, fx.attest, fx.attest_len, fx.sig, fx.sig_len, fx.nonce,
					      16, &fx.requested, &fx.values, &st),
				 AERR_NONCE);
		/* An empty nonce never matches, even an empty extraData. */
		fx.a.extraData.size = 0;
		qfx_seal(&fx);
		assert_int_equal(quote_verify(&fx.ak->pub, fx.attest, fx.attest_len, fx.sig, fx.sig_len, fx.nonce,
					      0, &fx.requested, &fx.values, &st),
				 AERR_NONCE);
	}
}

static void test_wrong_magic(void **state)
{
	struct qfx fx;

	(void)state;
	qfx_init(&fx, &ak_ecc);
	fx.attest[2] ^= 0x01; /* first byte of magic, re-signed: only the magic is wrong */
	qfx_resign(&fx);
	expect_verify(&fx, AERR_QUOTE_MAGIC);
	qfx_init(&fx, &ak_rsassa);
	fx.a.magic = 0;
	qfx_seal(&fx);
	expect_verify(&fx, AERR_QUOTE_MAGIC);
}

static void test_wrong_type(void **state)
{
	struct qfx fx;

	(void)state;
	/* A genuine TPM2_Certify attestation from the same AK is not a quote. */
	qfx_init(&fx, &ak_ecc);
	memset(&fx.a.attested, 0, sizeof(fx.a.attested));
	fx.a.type = TPM2_ST_ATTEST_CERTIFY;
	fx.a.attested.certify.name = fx.a.qualifiedSigner;
	fx.a.attested.certify.qualifiedName = fx.a.qualifiedSigner;
	qfx_seal(&fx);
	expect_verify(&fx, AERR_QUOTE_TYPE);
	/* Quote body, other type tag: caught by the tag, not by how the body parses. */
	qfx_init(&fx, &ak_rsassa);
	fx.attest[2 + 5] = (uint8_t)(TPM2_ST_ATTEST_TIME & 0xff);
	fx.attest[2 + 4] = (uint8_t)(TPM2_ST_ATTEST_TIME >> 8);
	qfx_resign(&fx);
	expect_verify(&fx, AERR_QUOTE_TYPE);
}

static void test_selection_mismatch(void **state)
{
	static const char *quoted[] = {
		"sha256:0,1,2,7+sha1:0-3",      /* one PCR fewer */
		"sha256:0,1,2,7,16,17+sha1:0-3", /* one PCR more */
		"sha1:0-3+sha256:0,1,2,7,16",   /* banks swapped */
		"sha256:0,1,2,7,16",            /* a bank fewer */
		"sha256:0,1,2,7,16+sha384:0-3", /* another bank */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(quoted); i++) {
		struct qfx fx;

		qfx_init(&fx, &ak_ecc);
		/* The values match what was quoted; only the selection differs from the request. */
		assert_int_equal(pcrsel_parse(quoted[i], &fx.a.attested.quote.pcrSelect), 0);
		memset(&fx.values, 0, sizeof(fx.values));
		for (uint32_t b = 0; b < fx.a.attested.quote.pcrSelect.count; b++) {
			struct pcr_bank *bank = &fx.values.banks[fx.values.nbanks++];

			bank->alg = fx.a.attested.quote.pcrSelect.pcrSelections[b].hash;
			bank->mask = pcrsel_mask(&fx.a.attested.quote.pcrSelect, bank->alg);
		}
		digest_values(fx.sig_hash, &fx.a.attested.quote.pcrSelect, &fx.values, &fx.a.attested.quote.pcrDigest);
		qfx_seal(&fx);
		expect_verify(&fx, AERR_PCR_SELECTION);
	}
}

static void test_values_missing_extra(void **state)
{
	struct qfx fx;

	(void)state;
	qfx_init(&fx, &ak_ecc);
	fx.values.banks[0].mask &= ~(1u << 16);
	expect_verify(&fx, AERR_PCR_SELECTION);
	qfx_init(&fx, &ak_ecc);
	fx.values.banks[1].mask |= 1u << 4;
	expect_verify(&fx, AERR_PCR_SELECTION);
	qfx_init(&fx, &ak_ecc);
	fx.values.nbanks = 1;
	expect_verify(&fx, AERR_PCR_SELECTION);
	qfx_init(&fx, &ak_ecc);
	fx.values.banks[2].alg = TPM2_ALG_SHA384;
	fx.values.banks[2].mask = 1;
	fx.values.nbanks = 3;
	expect_verify(&fx, AERR_PCR_SELECTION);
}

static void test_value_altered(void **state)
{
	(void)state;
	for (size_t k = 0; k < NAKS; k++) {
		struct qfx fx;

		qfx_init(&fx, all_aks[k]);
		for (uint32_t b = 0; b < fx.values.nbanks; b++) {
			struct pcr_bank *bank = &fx.values.banks[b];
			size_t ds = crypto_digest_size(bank->alg);

			for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
				if (!(bank->mask & (1u << i)))
					continue;
				bank->value[i][ds - 1] ^= 0x01;
				expect_verify(&fx, AERR_PCR_DIGEST);
				bank->value[i][ds - 1] ^= 0x01;
				/* Bytes past the bank's digest size are not part of the value. */
				if (ds < CRYPTO_MAX_DIGEST) {
					bank->value[i][ds] ^= 0x01;
					expect_verify(&fx, 0);
					bank->value[i][ds] ^= 0x01;
				}
			}
		}
		expect_verify(&fx, 0);
		/* Values of PCRs that are not selected play no part. */
		fx.values.banks[0].value[5][0] ^= 0xff;
		expect_verify(&fx, 0);
	}
}

static void test_other_key(void **state)
{
	struct qfx fx;

	(void)state;
	qfx_init(&fx, &ak_ecc);
	fx.sign_key = ak_ecc_other.key;
	qfx_resign(&fx);
	expect_verify(&fx, AERR_SIGNATURE);
	/* The right key verifies the same bytes. */
	fx.ak = &ak_ecc_other;
	expect_verify(&fx, 0);
}

static void test_scheme_pinned(void **state)
{
	struct qfx fx;
	struct ak ecc384;

	(void)state;
	/* RSASSA AK, RSAPSS signature by the same key: valid PSS, refused. */
	qfx_init(&fx, &ak_rsassa);
	fx.sig_scheme = TPM2_ALG_RSAPSS;
	qfx_resign(&fx);
	expect_verify(&fx, AERR_SIGNATURE);
	fx.ak = &ak_rsapss; /* proves the signature itself is good */
	expect_verify(&fx, 0);

	/* And the reverse. */
	qfx_init(&fx, &ak_rsapss);
	fx.sig_scheme = TPM2_ALG_RSASSA;
	qfx_resign(&fx);
	expect_verify(&fx, AERR_SIGNATURE);
	fx.ak = &ak_rsassa;
	expect_verify(&fx, 0);

	/* PSS with a maximal salt (what some software signers do) is not what the TPM makes. */
	qfx_init(&fx, &ak_rsapss);
	pss_saltlen = RSA_PSS_SALTLEN_MAX;
	qfx_resign(&fx);
	pss_saltlen = RSA_PSS_SALTLEN_DIGEST;
	expect_verify(&fx, AERR_SIGNATURE);
	qfx_resign(&fx);
	expect_verify(&fx, 0);

	/* ECDSA with SHA-384 instead of the AK's SHA-256. */
	ecc384.key = ak_ecc.key;
	ak_public(ak_ecc.key, TPM2_ALG_ECDSA, TPM2_ALG_SHA384, &ecc384.pub);
	qfx_init(&fx, &ak_ecc);
	fx.sig_hash = TPM2_ALG_SHA384;
	qfx_resign(&fx);
	expect_verify(&fx, AERR_SIGNATURE);
	fx.ak = &ecc384;
	/* The digest inside was made with SHA-256, so the signature passes and the digest fails. */
	expect_verify(&fx, AERR_PCR_DIGEST);

	/* RSASSA with SHA-1. */
	qfx_init(&fx, &ak_rsassa);
	fx.sig_hash = TPM2_ALG_SHA1;
	qfx_resign(&fx);
	expect_verify(&fx, AERR_SIGNATURE);

	/* An AK that pins no scheme is not accepted. */
	{
		struct ak nulls = ak_rsassa;

		qfx_init(&fx, &ak_rsassa);
		nulls.pub.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		fx.ak = &nulls;
		expect_verify(&fx, AERR_UNSUPPORTED);
	}
}

static int is_reject(int r)
{
	return r == AERR_PARSE || r == AERR_TRAILING || r == AERR_SIGNATURE || r == AERR_TOO_LARGE;
}

static void test_bitflip_attest(void **state)
{
	(void)state;
	for (size_t k = 0; k < NAKS; k++) {
		struct qfx fx;
		struct quoted_state st;

		qfx_init(&fx, all_aks[k]);
		for (size_t i = 0; i < fx.attest_len; i++)
			for (unsigned bit = 0; bit < 8; bit++) {
				int r;

				fx.attest[i] ^= (uint8_t)(1u << bit);
				r = qfx_verify(&fx, &st);
				fx.attest[i] ^= (uint8_t)(1u << bit);
				/* Size bytes break the framing; every other bit breaks the signature. */
				if (i < 2 ? !is_reject(r) : r != AERR_SIGNATURE)
					fail_msg("AK %zu attest byte %zu bit %u: %d (%s)", k, i, bit, r, err_detail());
			}
		expect_verify(&fx, 0);
	}
}

static void test_bitflip_signature(void **state)
{
	(void)state;
	for (size_t k = 0; k < NAKS; k++) {
		struct qfx fx;
		struct quoted_state st;

		qfx_init(&fx, all_aks[k]);
		for (size_t i = 0; i < fx.sig_len; i++)
			for (unsigned bit = 0; bit < 8; bit++) {
				int r;

				fx.sig[i] ^= (uint8_t)(1u << bit);
				r = qfx_verify(&fx, &st);
				fx.sig[i] ^= (uint8_t)(1u << bit);
				if (!is_reject(r))
					fail_msg("AK %zu signature byte %zu bit %u: %d (%s)", k, i, bit, r, err_detail());
			}
		expect_verify(&fx, 0);
	}
}

static void test_truncated(void **state)
{
	(void)state;
	for (size_t k = 0; k < NAKS; k++) {
		struct qfx fx;
		struct quoted_state st;
		size_t full;

		qfx_init(&fx, all_aks[k]);
		full = fx.attest_len;
		for (size_t n = 0; n < full; n++) {
			fx.attest_len = n;
			assert_int_equal(qfx_verify(&fx, &st), AERR_PARSE);
		}
		fx.attest_len = full;
		full = fx.sig_len;
		for (size_t n = 0; n < full; n++) {
			fx.sig_len = n;
			assert_int_equal(qfx_verify(&fx, &st), AERR_PARSE);
		}
		fx.sig_len = full;
		expect_verify(&fx, 0);
	}
}

static void test_trailing(void **state)
{
	struct qfx fx;

	(void)state;
	qfx_init(&fx, &ak_ecc);
	fx.attest[fx.attest_len++] = 0;
	expect_verify(&fx, AERR_TRAILING);
	qfx_init(&fx, &ak_rsassa);
	fx.sig[fx.sig_len++] = 0;
	expect_verify(&fx, AERR_TRAILING);

	/* A byte after the TPMS_ATTEST but inside the (signed) TPM2B. */
	qfx_init(&fx, &ak_ecc);
	fx.attest[fx.attest_len++] = 0;
	fx.attest[0] = (uint8_t)((fx.attest_len - 2) >> 8);
	fx.attest[1] = (uint8_t)(fx.attest_len - 2);
	qfx_resign(&fx);
	expect_verify(&fx, AERR_TRAILING);

	/* A signed TPMS_ATTEST cut short inside (size field consistent). */
	qfx_init(&fx, &ak_ecc);
	fx.attest_len -= 1;
	fx.attest[0] = (uint8_t)((fx.attest_len - 2) >> 8);
	fx.attest[1] = (uint8_t)(fx.attest_len - 2);
	qfx_resign(&fx);
	expect_verify(&fx, AERR_PARSE);
}

static void test_oversized_size_field(void **state)
{
	struct qfx fx;
	struct quoted_state st;
	size_t size;
	static uint8_t big[QUOTE_MAX_ATTEST + 2];

	(void)state;
	qfx_init(&fx, &ak_ecc);
	size = fx.attest_len - 2;
	fx.attest[0] = (uint8_t)((size + 1) >> 8);
	fx.attest[1] = (uint8_t)(size + 1);
	expect_verify(&fx, AERR_PARSE);
	fx.attest[0] = 0xff;
	fx.attest[1] = 0xff;
	expect_verify(&fx, AERR_PARSE);
	/* Smaller than the content: the rest is trailing. */
	fx.attest[0] = (uint8_t)((size - 1) >> 8);
	fx.attest[1] = (uint8_t)(size - 1);
	expect_verify(&fx, AERR_TRAILING);

	/* A size field larger than TPM2B_ATTEST can hold, with that many bytes present. */
	memset(big, 0, sizeof(big));
	big[0] = (uint8_t)((sizeof(big) - 2) >> 8);
	big[1] = (uint8_t)(sizeof(big) - 2);
	assert_int_equal(quote_verify(&ak_ecc.pub, big, sizeof(big), fx.sig, fx.sig_len, fx.nonce, sizeof(fx.nonce),
				      &fx.requested, &fx.values, &st),
			 AERR_TOO_LARGE);
	/* Exactly at the limit, framing passes and the signature is what fails. */
	big[0] = (uint8_t)((sizeof(TPMS_ATTEST)) >> 8);
	big[1] = (uint8_t)(sizeof(TPMS_ATTEST));
	assert_int_equal(quote_verify(&ak_ecc.pub, big, sizeof(TPMS_ATTEST) + 2, fx.sig, fx.sig_len, fx.nonce,
				      sizeof(fx.nonce), &fx.requested, &fx.values, &st),
			 AERR_SIGNATURE);
}

static void test_ecdsa_raw_sizes(void **state)
{
	struct qfx fx;
	TPMT_SIGNATURE s;
	size_t off = 0;

	(void)state;
	/* r longer than the curve's coordinates is refused before any arithmetic. */
	qfx_init(&fx, &ak_ecc);
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Unmarshal(fx.sig, fx.sig_len, &off, &s), TSS2_RC_SUCCESS);
	memmove(s.signature.ecdsa.signatureR.buffer + 1, s.signature.ecdsa.signatureR.buffer, 32);
	s.signature.ecdsa.signatureR.buffer[0] = 0;
	s.signature.ecdsa.signatureR.size = 33;
	off = 0;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&s, fx.sig, sizeof(fx.sig), &off), TSS2_RC_SUCCESS);
	fx.sig_len = off;
	expect_verify(&fx, AERR_SIGNATURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_values_order_free),
		cmocka_unit_test(test_digest_order),
		cmocka_unit_test(test_wrong_nonce),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_selection_mismatch),
		cmocka_unit_test(test_values_missing_extra),
		cmocka_unit_test(test_value_altered),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_scheme_pinned),
		cmocka_unit_test(test_bitflip_attest),
		cmocka_unit_test(test_bitflip_signature),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_oversized_size_field),
		cmocka_unit_test(test_ecdsa_raw_sizes),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
