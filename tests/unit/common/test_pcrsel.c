#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "array.h"
#include "pcrsel.h"

static void parse_ok(const char *text, TPML_PCR_SELECTION *sel)
{
	int r = pcrsel_parse(text, sel);

	if (r != 0)
		fail_msg("pcrsel_parse(\"%s\") = %d: %s", text, r, err_detail());
}

static void test_parse_banks_and_bits(void **state)
{
	TPML_PCR_SELECTION sel;

	(void)state;
	parse_ok("sha256:0,1,2,7+sha1:0-7", &sel);
	assert_int_equal(sel.count, 2);
	assert_int_equal(sel.pcrSelections[0].hash, TPM2_ALG_SHA256);
	assert_int_equal(sel.pcrSelections[1].hash, TPM2_ALG_SHA1);
	assert_int_equal(sel.pcrSelections[0].sizeofSelect, 3);
	assert_int_equal(sel.pcrSelections[1].sizeofSelect, 3);
	/* PCR i is bit (i % 8) of byte i / 8 (TPM 2.0 Part 2, TPMS_PCR_SELECT). */
	assert_int_equal(sel.pcrSelections[0].pcrSelect[0], 0x87);
	assert_int_equal(sel.pcrSelections[0].pcrSelect[1], 0);
	assert_int_equal(sel.pcrSelections[0].pcrSelect[2], 0);
	assert_int_equal(sel.pcrSelections[1].pcrSelect[0], 0xff);
	assert_int_equal(pcrsel_mask(&sel, TPM2_ALG_SHA256), (1u << 0) | (1u << 1) | (1u << 2) | (1u << 7));
	assert_int_equal(pcrsel_mask(&sel, TPM2_ALG_SHA1), 0xffu);
	assert_int_equal(pcrsel_mask(&sel, TPM2_ALG_SHA384), 0);

	parse_ok("sha384:23", &sel);
	assert_int_equal(sel.count, 1);
	assert_int_equal(sel.pcrSelections[0].pcrSelect[2], 0x80);
	assert_int_equal(pcrsel_mask(&sel, TPM2_ALG_SHA384), 1u << 23);
}

static void test_ranges(void **state)
{
	TPML_PCR_SELECTION sel;

	(void)state;
	parse_ok("sha256:0-23", &sel);
	assert_int_equal(pcrsel_mask(&sel, TPM2_ALG_SHA256), 0xffffffu);
	parse_ok("sha256:3-3", &sel);
	assert_int_equal(pcrsel_mask(&sel, TPM2_ALG_SHA256), 1u << 3);
	parse_ok("sha1:1-2,10,16-17", &sel);
	assert_int_equal(pcrsel_mask(&sel, TPM2_ALG_SHA1), (1u << 1) | (1u << 2) | (1u << 10) | (1u << 16) | (1u << 17));
	assert_int_equal(pcrsel_parse("sha256:5-2", &sel), AERR_CONFIG);
	assert_int_equal(pcrsel_parse("sha256:20-24", &sel), AERR_CONFIG);
}

static void test_round_trip(void **state)
{
	static const struct {
		const char *in, *canonical;
	} cases[] = {
		{ "sha256:0,1,2,7+sha1:0-7", "sha256:0,1,2,7+sha1:0,1,2,3,4,5,6,7" },
		{ "sha1:23,0", "sha1:0,23" },
		{ "sha512:10-12+sha384:0+sha256:1+sha1:2", "sha512:10,11,12+sha384:0+sha256:1+sha1:2" },
		{ "sha256:7", "sha256:7" },
	};
	char buf[256], buf2[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		TPML_PCR_SELECTION a, b;

		parse_ok(cases[i].in, &a);
		assert_int_equal(pcrsel_format(&a, buf, sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].canonical);
		parse_ok(buf, &b);
		assert_true(pcrsel_equal(&a, &b));
		assert_memory_equal(&a, &b, sizeof(a));
		assert_int_equal(pcrsel_format(&b, buf2, sizeof(buf2)), 0);
		assert_string_equal(buf, buf2);
	}
}

static void test_format_limits(void **state)
{
	TPML_PCR_SELECTION sel;
	char buf[64];

	(void)state;
	parse_ok("sha256:0-23", &sel);
	assert_int_equal(pcrsel_format(&sel, buf, 10), AERR_TOO_LARGE);
	assert_string_equal(buf, "");
	memset(&sel, 0, sizeof(sel));
	assert_int_equal(pcrsel_format(&sel, buf, sizeof(buf)), AERR_INVALID_ARG);
	/* A bank selecting nothing cannot be written in our syntax. */
	sel.count = 1;
	sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel.pcrSelections[0].sizeofSelect = 3;
	assert_int_equal(pcrsel_format(&sel, buf, sizeof(buf)), AERR_INVALID_ARG);
	/* PCR 24+ (a 4th select byte) is outside what we model. */
	sel.pcrSelections[0].sizeofSelect = 4;
	sel.pcrSelections[0].pcrSelect[3] = 1;
	assert_int_equal(pcrsel_format(&sel, buf, sizeof(buf)), AERR_INVALID_ARG);
}

static void test_bad_texts(void **state)
{
	static const char *bad[] = {
		"", "md5:0", "sha255:0", "SHA256:0", "sha256:24", "sha256:100", "sha256:0+sha256:1",
		"sha1:0+sha256:1+sha1:2", "sha256:", "sha256", ":0", "sha256:0,", "sha256:,0",
		"sha256:0,,1", "sha256:a", "sha256:0 ", " sha256:0", "sha256: 0", "sha256:0+",
		"+sha256:0", "sha256:0++sha1:0", "sha256:0-", "sha256:-1", "sha256:0--1", "sha256:0,0",
		"sha256:1-3,2", "sha256:99999999999999999999", "sha256:0:1", "sha256:0x1", "sha256:+1",
		"sha256:0;sha1:0", "garbage", "sha256:0-1-2",
		"sha1:0+sha256:0+sha384:0+sha512:0+sm3:0+sha1:1",
	};
	TPML_PCR_SELECTION sel;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		memset(&sel, 0xa5, sizeof(sel));
		int r = pcrsel_parse(bad[i], &sel);
		if (r != AERR_CONFIG)
			fail_msg("pcrsel_parse(\"%s\") = %d, want AERR_CONFIG", bad[i], r);
		assert_true(strlen(err_detail()) > 0);
		/* Nothing half-parsed leaks out. */
		assert_int_equal(sel.count, 0);
	}
	assert_int_equal(pcrsel_parse(NULL, &sel), AERR_CONFIG);
}

static void test_max_banks(void **state)
{
	TPML_PCR_SELECTION sel;
	char buf[128];

	(void)state;
	parse_ok("sha1:0+sha256:0+sha384:0+sha512:0+sm3:0", &sel);
	assert_int_equal(sel.count, PCRSEL_MAX_BANKS);
	assert_int_equal(pcrsel_format(&sel, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "sha1:0+sha256:0+sha384:0+sha512:0+sm3:0");
}

static void test_equal(void **state)
{
	TPML_PCR_SELECTION a, b;

	(void)state;
	parse_ok("sha256:0,1+sha1:2", &a);
	parse_ok("sha256:0,1+sha1:2", &b);
	assert_true(pcrsel_equal(&a, &b));
	parse_ok("sha1:2+sha256:0,1", &b);
	assert_false(pcrsel_equal(&a, &b)); /* order matters: it fixes the digest order */
	parse_ok("sha256:0,1+sha1:3", &b);
	assert_false(pcrsel_equal(&a, &b));
	parse_ok("sha256:0,1", &b);
	assert_false(pcrsel_equal(&a, &b));
	parse_ok("sha256:0,1+sha384:2", &b);
	assert_false(pcrsel_equal(&a, &b));
	/* Same PCRs spelled with 4 select bytes are the same selection. */
	parse_ok("sha256:0,1+sha1:2", &b);
	b.pcrSelections[1].sizeofSelect = 4;
	b.pcrSelections[1].pcrSelect[3] = 0;
	assert_true(pcrsel_equal(&a, &b));
	b.pcrSelections[1].pcrSelect[3] = 1; /* PCR 24 */
	assert_false(pcrsel_equal(&a, &b));
}

/* Values for exactly the selected PCRs, each distinct. */
static void fill_values(const TPML_PCR_SELECTION *sel, struct pcr_values *v)
{
	memset(v, 0, sizeof(*v));
	for (uint32_t b = 0; b < sel->count; b++) {
		struct pcr_bank *bank = &v->banks[v->nbanks++];

		bank->alg = sel->pcrSelections[b].hash;
		bank->mask = pcrsel_mask(sel, bank->alg);
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++)
			memset(bank->value[i], (int)(b * 32 + i), CRYPTO_MAX_DIGEST);
	}
}

static void test_check_values(void **state)
{
	TPML_PCR_SELECTION sel;
	struct pcr_values v;

	(void)state;
	parse_ok("sha256:0,1,7+sha1:3-5", &sel);
	fill_values(&sel, &v);
	assert_int_equal(pcrsel_check_values(&sel, &v), 0);
	assert_ptr_equal(pcr_values_bank(&v, TPM2_ALG_SHA1), &v.banks[1]);
	assert_null(pcr_values_bank(&v, TPM2_ALG_SHA384));

	/* Banks in another order than the selection are fine: matched by algorithm. */
	{
		struct pcr_values w = v;
		w.banks[0] = v.banks[1];
		w.banks[1] = v.banks[0];
		assert_int_equal(pcrsel_check_values(&sel, &w), 0);
	}

	/* Missing PCR. */
	fill_values(&sel, &v);
	v.banks[0].mask &= ~(1u << 7);
	assert_int_equal(pcrsel_check_values(&sel, &v), AERR_PCR_SELECTION);
	assert_non_null(strstr(err_detail(), "sha256:7"));

	/* Extra PCR in a selected bank. */
	fill_values(&sel, &v);
	v.banks[1].mask |= 1u << 6;
	assert_int_equal(pcrsel_check_values(&sel, &v), AERR_PCR_SELECTION);
	assert_non_null(strstr(err_detail(), "sha1:6"));

	/* Missing bank. */
	fill_values(&sel, &v);
	v.nbanks = 1;
	assert_int_equal(pcrsel_check_values(&sel, &v), AERR_PCR_SELECTION);

	/* Extra bank not selected. */
	fill_values(&sel, &v);
	v.banks[2].alg = TPM2_ALG_SHA384;
	v.banks[2].mask = 1;
	v.nbanks = 3;
	assert_int_equal(pcrsel_check_values(&sel, &v), AERR_PCR_SELECTION);
	/* ... but an empty extra bank supplies nothing. */
	v.banks[2].mask = 0;
	assert_int_equal(pcrsel_check_values(&sel, &v), 0);

	/* The same bank supplied twice is ambiguous. */
	fill_values(&sel, &v);
	v.banks[2] = v.banks[0];
	v.nbanks = 3;
	assert_int_equal(pcrsel_check_values(&sel, &v), AERR_PCR_SELECTION);

	/* Hostile counts. */
	fill_values(&sel, &v);
	v.nbanks = PCRSEL_MAX_BANKS + 1;
	assert_int_equal(pcrsel_check_values(&sel, &v), AERR_PCR_SELECTION);
	fill_values(&sel, &v);
	sel.count = TPM2_NUM_PCR_BANKS + 1;
	assert_int_equal(pcrsel_check_values(&sel, &v), AERR_PCR_SELECTION);
}

/* Packed values are the selected ones in selection order, and unpack to
 * exactly them; a short buffer, a missing value and a wrong length fail. */
static void test_pack(void **state)
{
	TPML_PCR_SELECTION sel;
	struct pcr_values v, back;
	uint8_t buf[PCR_VALUES_PACK_MAX];
	size_t len = 0;

	(void)state;
	parse_ok("sha256:0,1,7+sha1:3-5", &sel);
	fill_values(&sel, &v);
	assert_int_equal(pcr_values_pack(&sel, &v, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3 * 32 + 3 * 20);
	assert_int_equal(buf[0], 0);              /* sha256.0 */
	assert_int_equal(buf[2 * 32], 7);         /* sha256.7 */
	assert_int_equal(buf[3 * 32], 32 + 3);    /* sha1.3 */
	assert_int_equal(pcr_values_unpack(&sel, buf, len, &back), 0);
	assert_int_equal(back.nbanks, 2);
	assert_int_equal(back.banks[0].mask, pcrsel_mask(&sel, TPM2_ALG_SHA256));
	assert_memory_equal(back.banks[0].value[7], v.banks[0].value[7], 32);
	assert_memory_equal(back.banks[1].value[5], v.banks[1].value[5], 20);
	assert_int_equal(pcrsel_check_values(&sel, &back), 0);
	assert_int_equal(pcr_values_unpack(&sel, buf, len - 1, &back), AERR_PARSE);
	assert_int_equal(pcr_values_unpack(&sel, buf, len + 0 + 1, &back), AERR_PARSE);
	assert_int_equal(pcr_values_pack(&sel, &v, buf, len - 1, &len), AERR_TOO_LARGE);
	v.banks[1].mask &= ~(1u << 4);
	assert_int_equal(pcr_values_pack(&sel, &v, buf, sizeof(buf), &len), AERR_PCR_SELECTION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_banks_and_bits),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_format_limits),
		cmocka_unit_test(test_bad_texts),
		cmocka_unit_test(test_max_banks),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_check_values),
		cmocka_unit_test(test_pack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
