/* Attestor configuration: defaults, push-mode keys, refusal of bad values with
 * the file and line, whole-file rules, and the shipped examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

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
	strcpy(dir, "/tmp/test_attestor_config.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static const char *TLS = "[tls]\nca = ca.pem\ncert = a.pem\nkey = a.key\n";

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
	write_conf(TLS);
	assert_int_equal(attestor_config_load(path, &c), 0);
	assert_int_equal(c.mode, CONFIG_MODE_PULL);
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
}

static void test_rejects(void **state)
{
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), "[attestor]\nmode = push\n%s", TLS);
	load_fails(text, AERR_CONFIG, "mode = push needs verifier = HOST:PORT");
	snprintf(text, sizeof(text), "[attestor]\nverifier = nohost\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: bad value 'nohost' for verifier");
	snprintf(text, sizeof(text), "[attestor]\nreattest_interval = 0\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: bad value '0' for reattest_interval");
	snprintf(text, sizeof(text), "[attestor]\nretry_max_ms = 10s\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: bad value '10s' for retry_max_ms");
	{
		char longline[300];

		memset(longline, 'x', sizeof(longline) - 1);
		longline[sizeof(longline) - 1] = '\0';
		snprintf(text, sizeof(text), "[attestor]\n\nlisten = %s\n%s", longline, TLS);
		load_fails(text, AERR_CONFIG, ":3: line longer than 198 characters");
	}
	snprintf(text, sizeof(text), "[attestor]\ntimeout_ms = -1\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: bad value '-1' for timeout_ms");
	snprintf(text, sizeof(text), "[attestor]\nretry_initial_ms = 5000\nretry_max_ms = 100\n%s", TLS);
	load_fails(text, AERR_CONFIG, "retry_max_ms (100) is below retry_initial_ms (5000)");
	snprintf(text, sizeof(text), "[attestor]\nverifer = v:1\n%s", TLS);
	load_fails(text, AERR_CONFIG, ":2: unknown key 'verifer' in [attestor]");
	snprintf(text, sizeof(text), "%sserver = x\n", TLS);
	load_fails(text, AERR_CONFIG, ":5: unknown key 'server' in [tls]");
	load_fails("[attestor]\nmode = push\nverifier = v:1\n", AERR_CONFIG, "[tls] ca, cert and key are required");
}

static void test_examples(void **state)
{
	struct attestor_config c;

	(void)state;
	if (attestor_config_load(fixture_source("examples/attestor-pull.conf"), &c) != 0)
		fail_msg("%s", err_detail());
	assert_int_equal(c.mode, CONFIG_MODE_PULL);
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
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_examples),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
