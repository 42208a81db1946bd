/* common/imastate: an IMA replay state saved and loaded gives the same
 * replay (continuing from it reproduces the PCRs of a replay in one go), and
 * every damaged encoding is refused with what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "imastate.h"

static const TPM2_ALG_ID banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };

/* A state as a replay leaves it: counters and PCR 10 in both banks. */
static void sample(struct ima_replay_state *st)
{
	assert_int_equal(ima_replay_init(st, banks, 2, IMA_REPLAY_PER_BANK), 0);
	st->count = 1234;
	st->bytes = 456789;
	st->nviolations = 3;
	st->extended = 1u << 10 | 1u << 11;
	for (uint32_t b = 0; b < 2; b++)
		for (uint32_t i = 10; i <= 11; i++)
			memset(st->pcr[b][i], (int)(0x40 + 2 * b + i), crypto_digest_size(banks[b]));
}

static void test_round_trip(void **state)
{
	struct ima_replay_state st, back;
	uint8_t buf[IMASTATE_MAX];
	size_t len;

	(void)state;
	sample(&st);
	assert_int_equal(imastate_save(&st, buf, sizeof(buf), &len), 0);
	/* Header + two PCRs in two banks, nothing for PCRs never extended. */
	assert_int_equal(len, 4 + 1 + 8 + 8 + 4 + 1 + 4 + 4 + 8 + 2 * (20 + 32));
	assert_int_equal(imastate_load(buf, len, &back), 0);
	assert_memory_equal(&back, &st, sizeof(st));
	/* Too small a buffer. */
	assert_int_equal(imastate_save(&st, buf, len - 1, &len), AERR_TOO_LARGE);
}

static void expect_refused(const uint8_t *buf, size_t len, const char *needle)
{
	struct ima_replay_state st;

	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(imastate_load(buf, len, &st), AERR_PARSE);
	if (!strstr(err_detail(), needle))
		fail_msg("'%s' does not mention '%s'", err_detail(), needle);
	/* Untouched on failure. */
	for (size_t i = 0; i < sizeof(st); i++)
		assert_int_equal(((uint8_t *)&st)[i], 0x5a);
}

static void test_refusals(void **state)
{
	struct ima_replay_state st;
	uint8_t buf[IMASTATE_MAX], bad[IMASTATE_MAX];
	size_t len;

	(void)state;
	sample(&st);
	assert_int_equal(imastate_save(&st, buf, sizeof(buf), &len), 0);
	memcpy(bad, buf, len);
	bad[0] = 'X';
	expect_refused(bad, len, "not a version");
	memcpy(bad, buf, len);
	bad[4] = 2;
	expect_refused(bad, len, "not a version");
	memcpy(bad, buf, len);
	bad[25] = 0; /* no banks */
	expect_refused(bad, len, "0 banks");
	memcpy(bad, buf, len);
	bad[26] = 0x99; /* an unknown bank */
	expect_refused(bad, len, "IMA state");
	memcpy(bad, buf, len);
	bad[28] = 0x04; /* the same bank twice: sha1, sha1 */
	bad[29] = 0x00;
	expect_refused(bad, len, "IMA state");
	expect_refused(buf, len - 1, "truncated PCR");
	expect_refused(buf, 20, "truncated");
	memcpy(bad, buf, len);
	bad[len] = 0;
	expect_refused(bad, len + 1, "trailing");
	memcpy(bad, buf, len);
	bad[30 + 3] = 0x80; /* extended: a PCR above 23 */
	expect_refused(bad, len, "PCR mask");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
