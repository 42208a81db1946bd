/* Attestor configuration: defaults, push-mode keys, the verifier identities
 * of pull mode, refusal of bad values with the file and line, whole-file
 * rules, and the shipped examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "array.h"
#include "config.h"
#include "fixtures.h"

static char dir[64];
static char path[128];

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "test_attestor_config");
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
	return 0;
}

static const char *TLS = "[tls]\nca = ca.pem\ncert = a.pem\nkey = a.key\n";
/* TLS for pull mode: with the verifier it answers. */
static const char *PULL_TLS = "[tls]\nca = ca.pem\ncert = a.pem\nkey = a.key\nverifier_identity = verifier\n";

static void load_fails(const char *text, int code, const char *needle)
{
	struct attestor_config c;

	write_conf(text);
	assert_int_equal(attestor_config_load(path, &c), code);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static void test_defaults(void **state)
{
	struct attestor_config c;
	char want[160];

	(void)state;
	write_conf(PULL_TLS);
	assert_int_equal(attestor_config_load(path, &c), 0);
	assert_int_equal(c.mode, CONFIG_MODE_PULL);
	assert_int_equal(c.n_verifier_ids, 1);
	assert_string_equal(c.verifier_ids[0], "verifier");
	assert_string_equal(c.tcti, "device:/dev/tpmrm0");
	assert_int_equal(c.reattest_interval, 300);
	assert_int_equal(c.retry_initial_ms, 500);
	assert_int_equal(c.retry_max_ms, 60000);
	assert_int_equal(c.timeout_ms, 30000);
	assert_string_equal(c.tls.server_name, "");
	/* Relative paths are relative to the file. */
	snprintf(want, sizeof(want), "%s/ca.pem", dir);
	assert_string_equal(c.tls.ca, want);
}

static void test_push_keys(void **state)
{
	struct attestor_config c;
	char text[512];

	(void)state;
	snprintf(text, sizeof(text),
		 "[attestor]\nmode = push\nverifier = v.example:7600\nreattest_interval = 30\n"
		 "retry_initial_ms = 100\nretry_max_ms = 2000\ntimeout_ms = 5000\n%sserver_name = verifier\n", TLS);
	write_conf(text);
	assert_int_equal(attestor_config_load(path, &c), 0);
	assert_int_equal(c.mode, CONFIG_MODE_PUSH);
	assert_string_equal(c.verifier, "v.example:7600");
	assert_int_equal(c.reattest_interval, 30);
	assert_int_equal(c.retry_initial_ms, 100);
	assert_int_equal(c.retry_max_ms, 2000);
	assert_int_equal(c.timeout_ms, 5000);
	assert_string_equal(c.tls.server_name, "verifier");
	assert_int_equal(c.n_verifier_ids, 0);
}

static void test_verifier_identity(void **state)
{
	struct {
		const char *value, *needle;
	} bad[] = {
		{ NULL /* longname */, ":5: verifier_identity: a name of 128 bytes, at most 127" },
		{ "a,b,c,d,e,f,g,h,i", ":5: verifier_identity: more than 8 names" },
		{ "a,,b", ":5: verifier_identity 'a,,b': an empty name" },
		{ "a,", "an empty name" },
		{ "", "an empty name" },
		{ "a\x01" "b", "a name with a control character" },
	};
	struct attestor_config c;
	char text[2048], longname[CONFIG_IDENTITY_MAX + 2];

	(void)state;
	snprintf(text, sizeof(text), "%sverifier_identity = v1 ,v2.example.org,  spiffe://fleet/verifier\n", TLS);
	write_conf(text);
	assert_int_equal(attestor_config_load(path, &c), 0);
	assert_int_equal(c.n_verifier_ids, 3);
	assert_string_equal(c.verifier_ids[0], "v1");
	assert_string_equal(c.verifier_ids[1], "v2.example.org");
	assert_string_equal(c.verifier_ids[2], "spiffe://fleet/verifier");

	/* The most names, one of them as long as a name may be (the line limit
	 * keeps all eight from being that long). */
	memset(longname, 'n', CONFIG_IDENTITY_MAX);
	longname[CONFIG_IDENTITY_MAX] = '\0';
	snprintf(text, sizeof(text), "%sverifier_identity = %s,a,b,c,d,e,f,g\n", TLS, longname);
	write_conf(text);
	assert_int_equal(attestor_config_load(path, &c), 0);
	assert_int_equal(c.n_verifier_ids, CONFIG_VERIFIER_IDS_MAX);
	assert_string_equal(c.verifier_ids[0], longname);
	assert_string_equal(c.verifier_ids[7], "g");

	longname[CONFIG_IDENTITY_MAX] = 'n';
	longname[CONFIG_IDENTITY_MAX + 1] = '\0';
	bad[0].value = longname;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "%sverifier_identity = %s\n", TLS, bad[i].value);
		load_fails(text, AERR_CONFIG, bad[i].needle);
	}

	/* Whole-file rules. */
	load_fails(TLS, AERR_CONFIG, "mode = pull needs [tls] verifier_identity = NAME");
	snprintf(text, sizeof(text), "[attestor]\nmode = push\nverifier = v:1\n%s", PULL_TLS);
	load_fails(text, AERR_CONFIG, "[tls] verifier_identity is for mode = pull");
	/* The key may come before the mode: the rule is checked after the file. */
	snprintf(text, sizeof(text), "%s[attestor]\nmode = push\nverifier = v:1\n", PULL_TLS);
	load_fails(text, AERR_CONFIG, "pins the verifier by its server certificate's name (server_name)");
	load_fails("[tls]\ninsecure = true\nverifier_identity = verifier\n", AERR_CONFIG,
		   "verifier_identity needs TLS");
	write_conf("[tls]\ninsecure = true\n");
	assert_int_equal(attestor_config_load(path, &c), 0);
	assert_int_equal(c.n_verifier_ids, 0);
}

static void test_rejects(void **state)
{
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), "[attestor]\nmode = push\n%s", TLS);
	load_fails(text, AERR_CONFIG, "mode = push needs verifier = HOST:PORT");
	snprintf(text, sizeof(text), "[attestor]\nverifier = nohost\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: verifier must be HOST:PORT, not 'nohost'");
	snprintf(text, sizeof(text), "[attestor]\nreattest_interval = 0\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: reattest_interval must be 1..604800 seconds, not '0'");
	snprintf(text, sizeof(text), "[attestor]\nretry_max_ms = 10s\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: retry_max_ms must be 1..3600000, not '10s'");
	{
		char longline[300];

		memset(longline, 'x', sizeof(longline) - 1);
		longline[sizeof(longline) - 1] = '\0';
		snprintf(text, sizeof(text), "[attestor]\n\nlisten = %s\n%s", longline, TLS);
		load_fails(text, AERR_CONFIG, ":3: line longer than 198 characters");
	}
	snprintf(text, sizeof(text), "[attestor]\ntimeout_ms = -1\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: timeout_ms must be 1..3600000, not '-1'");
	snprintf(text, sizeof(text), "[attestor]\nretry_initial_ms = 5000\nretry_max_ms = 100\n%s", TLS);
	load_fails(text, AERR_CONFIG, "retry_max_ms (100) is below retry_initial_ms (5000)");
	snprintf(text, sizeof(text), "[attestor]\nverifer = v:1\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: unknown key 'verifer' in [attestor]");
	snprintf(text, sizeof(text), "%sserver = x\n", PULL_TLS);
	load_fails(text, AERR_CONFIG, ":6: unknown key 'server' in [tls]");
	load_fails("[attestor]\nmode = push\nverifier = v:1\n", AERR_CONFIG, "[tls] ca, cert and key are required");
}

static void test_examples(void **state)
{
	struct attestor_config c;

	(void)state;
	if (attestor_config_load(fixture_source("examples/attestor-pull.conf"), &c) != 0)
		fail_msg("%s", err_detail());
	assert_int_equal(c.mode, CONFIG_MODE_PULL);
	assert_int_equal(c.n_verifier_ids, 1);
	assert_string_equal(c.verifier_ids[0], "verifier");
	if (attestor_config_load(fixture_source("examples/attestor-push.conf"), &c) != 0)
		fail_msg("%s", err_detail());
	assert_int_equal(c.mode, CONFIG_MODE_PUSH);
	assert_string_equal(c.verifier, "verifier.example.org:7600");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_push_keys),
		cmocka_unit_test(test_verifier_identity),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_examples),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
