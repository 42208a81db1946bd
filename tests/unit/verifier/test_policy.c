/* Static PCR policy: parsing of "bank.index = hex" entries and comparison with
 * quoted values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

static const char *H32 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char *H20 = "00112233445566778899aabbccddeeff00112233";

static void hexval(const char *hex, uint8_t *out)
{
	for (size_t i = 0; i < strlen(hex) / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* A quoted state holding sha256 PCR 0 = H32 and sha1 PCR 7 = H20, plus others. */
static void quoted(struct quoted_state *q)
{
	memset(q, 0, sizeof(*q));
	q->pcrs.nbanks = 2;
	q->pcrs.banks[0].alg = TPM2_ALG_SHA256;
	q->pcrs.banks[0].mask = 0x3;
	hexval(H32, q->pcrs.banks[0].value[0]);
	memset(q->pcrs.banks[0].value[1], 0x11, 32);
	q->pcrs.banks[1].alg = TPM2_ALG_SHA1;
	q->pcrs.banks[1].mask = 0x80;
	hexval(H20, q->pcrs.banks[1].value[7]);
}

static void test_add_rejects(void **state)
{
	struct policy p;
	char longer[80];

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(policy_add(&p, "sha256", H32), AERR_CONFIG);       /* no index */
	assert_int_equal(policy_add(&p, ".0", H32), AERR_CONFIG);           /* no bank */
	assert_int_equal(policy_add(&p, "md5.0", H32), AERR_CONFIG);        /* unknown bank */
	assert_int_equal(policy_add(&p, "sha256.24", H32), AERR_CONFIG);    /* index out of range */
	assert_int_equal(policy_add(&p, "sha256.-1", H32), AERR_CONFIG);
	assert_int_equal(policy_add(&p, "sha256.1x", H32), AERR_CONFIG);
	assert_int_equal(policy_add(&p, "sha256.0", H20), AERR_CONFIG);     /* sha1-sized value */
	assert_int_equal(policy_add(&p, "sha1.0", H32), AERR_CONFIG);
	snprintf(longer, sizeof(longer), "%.62szz", H32);
	assert_int_equal(policy_add(&p, "sha256.0", longer), AERR_CONFIG);  /* not hex */
	assert_int_equal(policy_add(&p, "sha256.0", ""), AERR_CONFIG);
	assert_int_equal(p.n, 0);
	assert_int_equal(policy_add(&p, "sha256.0", H32), 0);
	assert_int_equal(policy_add(&p, "sha256.0", H32), AERR_CONFIG);     /* twice */
	assert_non_null(strstr(err_detail(), "twice"));
	assert_int_equal(p.n, 1);
}

static void test_check(void **state)
{
	struct policy p;
	struct quoted_state q;

	(void)state;
	quoted(&q);
	memset(&p, 0, sizeof(p));
	/* No expectations: anything passes. */
	assert_int_equal(policy_check(&p, &q), 0);
	assert_int_equal(policy_add(&p, "sha256.0", H32), 0);
	assert_int_equal(policy_add(&p, "sha1.7", H20), 0);
	assert_int_equal(policy_check(&p, &q), 0);
	/* Upper-case hex is the same value. */
	{
		struct policy u;
		char up[65];
		memset(&u, 0, sizeof(u));
		for (int i = 0; i < 64; i++)
			up[i] = (char)(H32[i] >= 'a' ? H32[i] - 32 : H32[i]);
		up[64] = '\0';
		assert_int_equal(policy_add(&u, "sha256.0", up), 0);
		assert_int_equal(policy_check(&u, &q), 0);
	}
	/* Every byte position matters. */
	for (int byte = 0; byte < 20; byte++) {
		struct quoted_state t = q;
		t.pcrs.banks[1].value[7][byte] ^= 0x40;
		assert_int_equal(policy_check(&p, &t), AERR_PCR_POLICY);
		assert_non_null(strstr(err_detail(), "PCR 7 bank sha1"));
	}
}

static void test_not_quoted(void **state)
{
	struct policy p;
	struct quoted_state q;

	(void)state;
	quoted(&q);
	memset(&p, 0, sizeof(p));
	assert_int_equal(policy_add(&p, "sha256.2", H32), 0);
	assert_int_equal(policy_check(&p, &q), AERR_PCR_POLICY);
	assert_non_null(strstr(err_detail(), "PCR 2 bank sha256: not in the quote"));
	memset(&p, 0, sizeof(p));
	assert_int_equal(policy_add(&p, "sha384.0", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), 0);
	assert_int_equal(policy_check(&p, &q), AERR_PCR_POLICY);
}

static void test_selection(void **state)
{
	struct policy p;
	TPML_PCR_SELECTION sel;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(pcrsel_parse("sha256:0-7", &sel), 0);
	assert_int_equal(policy_add(&p, "sha256.7", H32), 0);
	assert_int_equal(policy_check_selection(&p, &sel), 0);
	assert_int_equal(policy_add(&p, "sha256.8", H32), 0);
	assert_int_equal(policy_check_selection(&p, &sel), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "PCR 8 bank sha256"));
	memset(&p, 0, sizeof(p));
	assert_int_equal(policy_add(&p, "sha1.0", H20), 0);
	assert_int_equal(policy_check_selection(&p, &sel), AERR_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_rejects),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_not_quoted),
		cmocka_unit_test(test_selection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
