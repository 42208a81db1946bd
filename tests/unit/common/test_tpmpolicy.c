/* tpmpolicy_pcr / tpmpolicy_pcr_values_digest / tpmpolicy_command_code against
 * the arithmetic of TPM 2.0 Part 3 (23.7 PolicyPCR, 23.11 PolicyCommandCode)
 * done here byte by byte with OpenSSL's one-shot digests (no tss2-mu, no code
 * of ours). The swtpm/tpm2-tools cross-check (tpm2_policypcr and
 * tpm2_policycommandcode trial sessions) is in tests/integration/
 * test_duplicate_interop.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "err.h"
#include "pcrsel.h"
#include "tpmpolicy.h"

/* Deterministic, distinct PCR values: value of (bank, i) = H_bank("pcr <bank> <i>"). */
static void fill_bank(struct pcr_values *v, TPMI_ALG_HASH alg, const char *mdname, uint32_t mask)
{
	struct pcr_bank *b = &v->banks[v->nbanks++];
	char text[32];

	b->alg = alg;
	b->mask = mask;
	for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
		if (!(mask & (1u << i)))
			continue;
		snprintf(text, sizeof(text), "pcr %s %u", mdname, i);
		assert_int_equal(EVP_Digest(text, strlen(text), b->value[i], NULL, EVP_get_digestbyname(mdname), NULL), 1);
	}
}

static size_t put(uint8_t *buf, size_t off, const void *src, size_t len)
{
	memcpy(buf + off, src, len);
	return off + len;
}

static size_t put_be(uint8_t *buf, size_t off, uint32_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return off + n;
}

static void md(const char *name, const uint8_t *in, size_t len, uint8_t *out, unsigned *out_len)
{
	assert_int_equal(EVP_Digest(in, len, out, out_len, EVP_get_digestbyname(name), NULL), 1);
}

/* sha256:0,1,2,3 with the all-zero start: the common case, spelt out. */
static void test_pcr_single_bank(void **state)
{
	struct pcr_values v = { 0 };
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST out, vd;
	uint8_t cat[4 * 32], buf[256], want[32], want_vd[32];
	unsigned n = 0;
	size_t off = 0;

	(void)state;
	assert_int_equal(pcrsel_parse("sha256:0,1,2,3", &sel), 0);
	fill_bank(&v, TPM2_ALG_SHA256, "SHA256", 0xf);
	for (int i = 0; i < 4; i++)
		memcpy(cat + 32 * i, v.banks[0].value[i], 32);
	md("SHA256", cat, sizeof(cat), want_vd, &n);

	memset(buf, 0, 32);                         /* policyDigest of a fresh session */
	off = put_be(buf, 32, 0x0000017f, 4);       /* TPM_CC_PolicyPCR */
	off = put_be(buf, off, 1, 4);               /* TPML_PCR_SELECTION.count */
	off = put_be(buf, off, 0x000b, 2);          /* hash = SHA256 */
	off = put_be(buf, off, 3, 1);               /* sizeofSelect */
	off = put(buf, off, "\x0f\x00\x00", 3);     /* PCRs 0..3 */
	off = put(buf, off, want_vd, 32);
	md("SHA256", buf, off, want, &n);

	assert_int_equal(tpmpolicy_pcr_values_digest(TPM2_ALG_SHA256, &sel, &v, &vd), 0);
	assert_int_equal(vd.size, 32);
	assert_memory_equal(vd.buffer, want_vd, 32);
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &sel, &v, &out), 0);
	assert_int_equal(out.size, 32);
	assert_memory_equal(out.buffer, want, 32);

	/* An explicit all-zero prev is the same start. */
	memset(&vd, 0, sizeof(vd));
	vd.size = 32;
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, &vd, &sel, &v, &out), 0);
	assert_memory_equal(out.buffer, want, 32);

	/* One bit of one PCR changes the policy. */
	v.banks[0].value[2][31] ^= 1;
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &sel, &v, &out), 0);
	assert_memory_not_equal(out.buffer, want, 32);
}

/* Two banks, the sha1 one first in the selection, indices given out of order,
 * values stored in a different bank order, extra values present; a SHA-384
 * session hash and a non-zero previous digest. */
static void test_pcr_multi_bank(void **state)
{
	struct pcr_values v = { 0 }, exact = { 0 };
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST prev, out, out2;
	uint8_t cat[3 * 20 + 2 * 32], buf[512], want[48], vd[48];
	unsigned n = 0;
	size_t off = 0;

	(void)state;
	assert_int_equal(pcrsel_parse("sha1:7,0,16+sha256:23,1", &sel), 0);
	/* values hold more than selected: sha256 0..23, sha1 0..23 */
	fill_bank(&v, TPM2_ALG_SHA256, "SHA256", 0xffffff);
	fill_bank(&v, TPM2_ALG_SHA1, "SHA1", 0xffffff);
	/* TPM order: sha1 bank first (selection order), 0, 7, 16; then sha256 1, 23. */
	off = put(cat, 0, v.banks[1].value[0], 20);
	off = put(cat, off, v.banks[1].value[7], 20);
	off = put(cat, off, v.banks[1].value[16], 20);
	off = put(cat, off, v.banks[0].value[1], 32);
	off = put(cat, off, v.banks[0].value[23], 32);
	md("SHA384", cat, off, vd, &n);
	assert_int_equal(n, 48);

	prev.size = 48;
	for (int i = 0; i < 48; i++)
		prev.buffer[i] = (uint8_t)(0xc0 ^ i);
	off = put(buf, 0, prev.buffer, 48);
	off = put_be(buf, off, 0x0000017f, 4);
	off = put_be(buf, off, 2, 4);
	off = put_be(buf, off, 0x0004, 2);
	off = put_be(buf, off, 3, 1);
	off = put(buf, off, "\x81\x00\x01", 3);     /* 0, 7, 16 */
	off = put_be(buf, off, 0x000b, 2);
	off = put_be(buf, off, 3, 1);
	off = put(buf, off, "\x02\x00\x80", 3);     /* 1, 23 */
	off = put(buf, off, vd, 48);
	md("SHA384", buf, off, want, &n);

	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA384, &prev, &sel, &v, &out), 0);
	assert_int_equal(out.size, 48);
	assert_memory_equal(out.buffer, want, 48);
	/* Extra values are ignored: only the selected ones count. */
	fill_bank(&exact, TPM2_ALG_SHA1, "SHA1", 1u << 0 | 1u << 7 | 1u << 16);
	fill_bank(&exact, TPM2_ALG_SHA256, "SHA256", 1u << 1 | 1u << 23);
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA384, &prev, &sel, &exact, &out2), 0);
	assert_memory_equal(out2.buffer, want, 48);
	/* out may be prev: chaining in place. */
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA384, &prev, &sel, &v, &prev), 0);
	assert_memory_equal(prev.buffer, want, 48);
	/* Bank order matters: the same PCRs selected sha256 first give another policy. */
	assert_int_equal(pcrsel_parse("sha256:1,23+sha1:0,7,16", &sel), 0);
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA384, NULL, &sel, &v, &out2), 0);
	assert_memory_not_equal(out2.buffer, want, 48);
}

static void test_command_code(void **state)
{
	TPM2B_DIGEST out, prev;
	uint8_t buf[64 + 8], want[32];
	unsigned n = 0;
	size_t off;

	(void)state;
	memset(buf, 0, 32);
	off = put_be(buf, 32, 0x0000016c, 4);       /* TPM_CC_PolicyCommandCode */
	off = put_be(buf, off, 0x0000015e, 4);      /* TPM_CC_Unseal */
	md("SHA256", buf, off, want, &n);
	assert_int_equal(tpmpolicy_command_code(TPM2_ALG_SHA256, NULL, TPM2_CC_Unseal, &out), 0);
	assert_int_equal(out.size, 32);
	assert_memory_equal(out.buffer, want, 32);

	prev.size = 32;
	memset(prev.buffer, 0x5a, 32);
	memcpy(buf, prev.buffer, 32);
	off = put_be(buf, 32, 0x0000016c, 4);
	off = put_be(buf, off, 0x0000015d, 4);      /* TPM_CC_Sign */
	md("SHA256", buf, off, want, &n);
	assert_int_equal(tpmpolicy_command_code(TPM2_ALG_SHA256, &prev, TPM2_CC_Sign, &prev), 0);
	assert_memory_equal(prev.buffer, want, 32);

	prev.size = 31;
	assert_int_equal(tpmpolicy_command_code(TPM2_ALG_SHA256, &prev, TPM2_CC_Sign, &out), AERR_INVALID_ARG);
	assert_int_equal(tpmpolicy_command_code(TPM2_ALG_NULL, NULL, TPM2_CC_Sign, &out), AERR_UNSUPPORTED);
	assert_int_equal(tpmpolicy_command_code(TPM2_ALG_SHA256, NULL, TPM2_CC_Sign, NULL), AERR_INVALID_ARG);
}

static void test_missing_and_bad(void **state)
{
	struct pcr_values v = { 0 };
	TPML_PCR_SELECTION sel, bad;
	TPM2B_DIGEST out, prev;

	(void)state;
	assert_int_equal(pcrsel_parse("sha256:0,1,2,3+sha1:7", &sel), 0);
	fill_bank(&v, TPM2_ALG_SHA256, "SHA256", 0x0b); /* 0, 1, 3: PCR 2 missing */
	fill_bank(&v, TPM2_ALG_SHA1, "SHA1", 1u << 7);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &sel, &v, &out), AERR_PCR_SELECTION);
	assert_non_null(strstr(err_detail(), "sha256:2"));
	assert_int_equal(out.size, 0);
	/* A whole bank missing: named too. */
	v.banks[0].mask = 0xf;
	v.nbanks = 1;
	assert_int_equal(tpmpolicy_pcr_values_digest(TPM2_ALG_SHA256, &sel, &v, &out), AERR_PCR_SELECTION);
	assert_non_null(strstr(err_detail(), "sha1:7"));
	v.nbanks = 2;
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &sel, &v, &out), 0);

	/* NULL arguments, unknown session hash, prev of the wrong size. */
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, NULL, &v, &out), AERR_INVALID_ARG);
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &sel, NULL, &out), AERR_INVALID_ARG);
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &sel, &v, NULL), AERR_INVALID_ARG);
	assert_int_equal(tpmpolicy_pcr_values_digest(TPM2_ALG_SHA256, &sel, &v, NULL), AERR_INVALID_ARG);
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_NULL, NULL, &sel, &v, &out), AERR_UNSUPPORTED);
	assert_int_equal(tpmpolicy_pcr_values_digest(0x1234, &sel, &v, &out), AERR_UNSUPPORTED);
	prev.size = 48;
	memset(prev.buffer, 0, 48);
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, &prev, &sel, &v, &out), AERR_INVALID_ARG);

	/* Selections a policy cannot bind. */
	bad = sel;
	bad.count = 0;
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &bad, &v, &out), AERR_PCR_SELECTION);
	bad = sel;
	memset(bad.pcrSelections[0].pcrSelect, 0, 3);
	memset(bad.pcrSelections[1].pcrSelect, 0, 3);
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &bad, &v, &out), AERR_PCR_SELECTION);
	bad = sel;
	bad.pcrSelections[1].hash = TPM2_ALG_SHA256;          /* a bank twice */
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &bad, &v, &out), AERR_PCR_SELECTION);
	bad = sel;
	bad.pcrSelections[0].sizeofSelect = 4;                /* PCR 24 */
	bad.pcrSelections[0].pcrSelect[3] = 1;
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &bad, &v, &out), AERR_PCR_SELECTION);
	bad = sel;
	bad.pcrSelections[0].sizeofSelect = 200;              /* hostile size */
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &bad, &v, &out), AERR_PCR_SELECTION);
	bad = sel;
	bad.count = 200;
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &bad, &v, &out), AERR_PCR_SELECTION);
	bad = sel;
	bad.pcrSelections[1].hash = 0x7777;                   /* unknown bank */
	assert_int_equal(tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &bad, &v, &out), AERR_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcr_single_bank),
		cmocka_unit_test(test_pcr_multi_bank),
		cmocka_unit_test(test_command_code),
		cmocka_unit_test(test_missing_and_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
