/* Boot policy over real event logs: the Secure Boot state as measured (the
 * tpm2_eventlog YAML of each log says 01 or 00), allowed digests per PCR,
 * allowed boot applications, and refusal of malformed policy files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bootpolicy.h"
#include "fixtures.h"

static char path[64];

static struct eventlog *load(const char *name, uint8_t **buf)
{
	char rel[256];
	size_t len;
	struct eventlog *log = NULL;

	snprintf(rel, sizeof(rel), "eventlog/%s", name);
	*buf = fixture_read(fixture_testdata(rel), &len);
	assert_non_null(*buf);
	assert_int_equal(eventlog_parse(*buf, len, &log), 0);
	return log;
}

static struct bootpolicy *policy(const char *json)
{
	struct bootpolicy *p = NULL;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	if (bootpolicy_load(path, &p) != 0)
		fail_msg("%s", err_detail());
	return p;
}

static void load_fails(const char *json, const char *needle)
{
	struct bootpolicy *p = (void *)1;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	assert_int_equal(bootpolicy_load(path, &p), AERR_CONFIG);
	assert_null(p);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_bootpolicy.%d.json", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_secure_boot(void **state)
{
	uint8_t *b1, *b2;
	struct eventlog *on = load("keylime-binary_bios_measurements-secureboot.bin", &b1);
	struct eventlog *off = load("tpm2tools-event-gce-ubuntu-2104-log.bin", &b2);
	struct bootpolicy *want_on = policy("{\"secure_boot\": true}");
	struct bootpolicy *want_off = policy("{\"secure_boot\": false}");
	struct bootpolicy *any = policy("{}");

	(void)state;
	assert_int_equal(bootpolicy_secure_boot(on), 1);
	assert_int_equal(bootpolicy_secure_boot(off), 0);
	assert_int_equal(bootpolicy_check(want_on, on), 0);
	assert_int_equal(bootpolicy_check(want_on, off), AERR_LOG_POLICY);
	assert_non_null(strstr(err_detail(), "Secure Boot is disabled"));
	assert_int_equal(bootpolicy_check(want_off, off), 0);
	assert_int_equal(bootpolicy_check(want_off, on), AERR_LOG_POLICY);
	assert_int_equal(bootpolicy_check(any, on), 0);
	assert_int_equal(bootpolicy_check(any, off), 0);
	bootpolicy_free(want_on);
	bootpolicy_free(want_off);
	bootpolicy_free(any);
	eventlog_free(on);
	eventlog_free(off);
	free(b1);
	free(b2);
}

/* A policy listing exactly the PCR 4 digests and boot applications of the
 * log passes it; without one of them it fails naming the event. */
static void test_digests(void **state)
{
	uint8_t *buf;
	struct eventlog *log = load("tpm2tools-event-gce-ubuntu-2104-log.bin", &buf);
	char json[8192], list[6000] = "", apps[6000] = "";
	size_t used = 0, aused = 0, n4 = 0;
	struct bootpolicy *p;

	(void)state;
	for (size_t i = 0; i < log->nevents; i++) {
		const struct eventlog_event *e = &log->events[i];
		for (uint32_t k = 0; k < e->ndigests; k++) {
			char hex[2 * 64 + 1];
			if (e->digests[k].alg != TPM2_ALG_SHA256)
				continue;
			for (size_t j = 0; j < e->digests[k].size; j++)
				sprintf(hex + 2 * j, "%02x", e->digests[k].value[j]);
			if (e->pcr == 4 && e->type != EVENTLOG_EV_NO_ACTION) {
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"sha256:%s\"", n4++ ? "," : "", hex);
			}
			if (e->type == 0x80000003u)
				aused += (size_t)snprintf(apps + aused, sizeof(apps) - aused, "%s\"sha256:%s\"", aused ? "," : "",
							  hex);
		}
	}
	assert_true(n4 >= 2);
	snprintf(json, sizeof(json), "{\"digests\": {\"4\": [%s]}, \"boot_applications\": [%s]}", list, apps);
	p = policy(json);
	assert_int_equal(bootpolicy_check(p, log), 0);
	bootpolicy_free(p);

	/* Drop the first PCR 4 digest: that event breaks the policy. */
	snprintf(json, sizeof(json), "{\"digests\": {\"4\": [%s]}}", strchr(list, ',') + 1);
	p = policy(json);
	assert_int_equal(bootpolicy_check(p, log), AERR_LOG_POLICY);
	assert_non_null(strstr(err_detail(), "PCR 4"));
	assert_non_null(strstr(err_detail(), "digest not allowed"));
	bootpolicy_free(p);

	/* No boot application allowed. */
	p = policy("{\"boot_applications\": []}");
	assert_int_equal(bootpolicy_check(p, log), AERR_LOG_POLICY);
	assert_non_null(strstr(err_detail(), "boot application not allowed"));
	bootpolicy_free(p);
	eventlog_free(log);
	free(buf);
}

static void test_bad_files(void **state)
{
	(void)state;
	load_fails("{\"secure_boot\": \"yes\"}", "secure_boot must be true or false");
	load_fails("{\"secureboot\": true}", "unknown key \"secureboot\"");
	load_fails("{\"digests\": {\"24\": []}}", "is not a PCR index");
	load_fails("{\"digests\": {\"4\": [\"sha256:00\"]}}", "entry 0 is not");
	load_fails("{\"digests\": {\"4\": [\"md5:00112233445566778899aabbccddeeff\"]}}", "entry 0 is not");
	load_fails("{\"boot_applications\": \"sha256:00\"}", "must be a list");
	load_fails("[1, 2]", "must be a JSON object");
	load_fails("{\"digests\": ", path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secure_boot),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
