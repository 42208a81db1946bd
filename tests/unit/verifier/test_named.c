/* policy/named: a named policy document, parsed and checked as the config
 * file's policy is: each refusal names the policy and what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pcrsel.h"
#include "policy/named.h"

static TPML_PCR_SELECTION sel;
static struct named_policy_limits lim;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(pcrsel_parse("sha256:0-7,10", &sel), 0);
	lim.pcrs = &sel;
	lim.eventlog_pcrs = 0xff;
	return 0;
}

static struct named_policy *parses(const char *text)
{
	struct named_policy *p = NULL;

	if (named_policy_parse("web", 3, text, strlen(text), &lim, &p) != 0)
		fail_msg("'%s' refused: %s", text, err_detail());
	return p;
}

static void refused(const char *text, size_t len, const char *needle)
{
	struct named_policy *p = (struct named_policy *)1;

	assert_int_equal(named_policy_parse("web", 1, text, len, &lim, &p), AERR_CONFIG);
	assert_null(p);
	if (!strstr(err_detail(), "policy 'web'") || !strstr(err_detail(), needle))
		fail_msg("'%s': detail '%s' lacks '%s'", text, err_detail(), needle);
}
#define REFUSED(text, needle) refused(text, strlen(text), needle)

static void test_parse(void **state)
{
	struct named_policy *p;

	(void)state;
	p = parses("{\"pcrs\": {\"sha256.7\": \"" "0000000000000000000000000000000000000000000000000000000000000007"
		   "\"}, \"firmware_version\": \"0x10, 2\"}");
	assert_string_equal(p->name, "web");
	assert_int_equal(p->version, 3);
	assert_int_equal(p->pcr.n, 1);
	assert_int_equal(p->pcr.e[0].index, 7);
	assert_int_equal(p->pcr.e[0].value[31], 7);
	assert_int_equal(p->pcr.nfirmware, 2);
	assert_false(p->require_event_log);
	named_policy_free(p);
	/* A log policy makes its log required. */
	p = parses("{\"boot_policy\": {\"secure_boot\": true}, \"ima_policy\": {\"allow\": {}}}");
	assert_non_null(p->boot);
	assert_non_null(p->ima);
	assert_true(p->require_event_log);
	assert_true(p->require_ima);
	named_policy_free(p);
}

static void test_refusals(void **state)
{
	static const char nul[] = "{\"pcrs\": {}}\0{}";

	(void)state;
	REFUSED("{\"pcrs\": {\"sha256.7\": \"00\"", "not one JSON document: it ends early");
	REFUSED("{} {}", "not one JSON document");
	/* Strict JSON: what json-c would take besides is refused. */
	REFUSED("{\"pcrs\": {\"sha256.7\": '00'}}", "not one JSON document");
	REFUSED("{\"pcrs\": {},}", "not one JSON document");
	REFUSED("{\"pcrs\": {\"sha256.\xff\": \"00\"}}", "not one JSON document");
	REFUSED("[1]", "the policy must be a JSON object");
	refused(nul, sizeof(nul) - 1, "a NUL byte");
	REFUSED("{\"pcr\": {}}", "unknown key \"pcr\"");
	REFUSED("{\"pcrs\": {\"sha256.16\": \"" "0000000000000000000000000000000000000000000000000000000000000000"
		"\"}}", "PCR 16 bank sha256 is not in the quoted selection");
	REFUSED("{\"pcrs\": {\"sha256.7\": \"00\"}}", "sha256.7");
	REFUSED("{\"pcrs\": {\"sha256.7\": 7}}", "must be a string of hex");
	REFUSED("{\"require_ima\": false}", "it judges nothing");
	REFUSED("{\"boot_policy\": {\"secure_boot\": true}, \"require_event_log\": false}",
		"require_event_log cannot be false with it");
	REFUSED("{\"boot_policy\": {}}", "the boot policy has no rule");
	REFUSED("{\"boot_policy\": {\"digests\": {\"9\": [\"sha256:00\"]}}}", "boot_policy");
	REFUSED("{\"ima_policy\": {\"allow\": {}}, \"require_ima\": false}", "require_ima cannot be false");
	REFUSED("{\"ima_policy\": {\"alow\": {}}}", "unknown key \"alow\"");
	REFUSED("{\"require_event_log\": 1, \"pcrs\": {}}", "require_event_log must be true or false");
}

static void test_names(void **state)
{
	struct named_policy *p = NULL;

	(void)state;
	assert_int_equal(named_policy_name_check("web-1.eu_2"), 0);
	assert_int_equal(named_policy_name_check(""), AERR_CONFIG);
	assert_int_equal(named_policy_name_check("-web"), AERR_CONFIG);
	assert_int_equal(named_policy_name_check("we b"), AERR_CONFIG);
	assert_int_equal(named_policy_name_check("config"), AERR_CONFIG);
	assert_int_equal(named_policy_parse("a/b", 1, "{}", 2, &lim, &p), AERR_CONFIG);
	assert_null(p);
	/* Without PCR 10 in the selection an IMA policy cannot be checked. */
	assert_int_equal(pcrsel_parse("sha256:0-7", &sel), 0);
	REFUSED("{\"ima_policy\": {\"allow\": {}}}", "needs PCR 10 in the verifier's pcrs");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse, setup),
		cmocka_unit_test_setup(test_refusals, setup),
		cmocka_unit_test_setup(test_names, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
