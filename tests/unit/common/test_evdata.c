/* Event data proven by its digests (common/evdata): real logs' events of
 * the types whose digest is a hash of their data verify in every bank they
 * carry; altered data, a bank without a digest, no bank at all, and types
 * whose digest is of something else never do. Separators found by their
 * digests alone, whatever the log says their type and data are.
 * UEFI_VARIABLE_DATA parsing, including lengths whose sum wraps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "array.h"
#include "crypto.h"
#include "evdata.h"
#include "fixtures.h"

static const TPM2_ALG_ID sha1_sha256[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };

/* The first event of type on pcr. */
static struct eventlog_event *find(const struct fixture_log *c, uint32_t pcr, uint32_t type)
{
	for (size_t i = 0; i < c->log->nevents; i++)
		if (c->log->events[i].pcr == pcr && c->log->events[i].type == type)
			return &c->log->events[i];
	fail_msg("no event of type 0x%08x on PCR %u", type, pcr);
	return NULL;
}

static void verify_fails(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t n, int code,
			 const char *needle)
{
	assert_int_equal(evdata_verify(e, banks, n), code);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static void test_types(void **state)
{
	(void)state;
	assert_true(evdata_hashes_data(EVENTLOG_EV_SEPARATOR));
	assert_true(evdata_hashes_data(EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG));
	assert_true(evdata_hashes_data(EVENTLOG_EV_EFI_VARIABLE_AUTHORITY));
	assert_true(evdata_hashes_data(EVENTLOG_EV_EFI_ACTION));
	/* Digest of the PE image, of firmware code, of a GRUB command. */
	assert_false(evdata_hashes_data(EVENTLOG_EV_EFI_BOOT_SERVICES_APPLICATION));
	assert_false(evdata_hashes_data(0x00000001)); /* EV_POST_CODE */
	assert_false(evdata_hashes_data(0x0000000d)); /* EV_IPL */
	assert_false(evdata_hashes_data(EVENTLOG_EV_NO_ACTION));
}

static void test_banks(void **state)
{
	TPML_PCR_SELECTION sel;
	TPM2_ALG_ID b[PCRSEL_MAX_BANKS];

	(void)state;
	assert_int_equal(pcrsel_parse("sha256:0-7+sha1:4,9", &sel), 0);
	assert_int_equal(evdata_banks(&sel, 0x43ff, 4, b), 2);
	assert_int_equal(b[0], TPM2_ALG_SHA256);
	assert_int_equal(b[1], TPM2_ALG_SHA1);
	assert_int_equal(evdata_banks(&sel, 0x43ff, 7, b), 1);
	assert_int_equal(b[0], TPM2_ALG_SHA256);
	assert_int_equal(evdata_banks(&sel, 0x43ff, 9, b), 1);
	assert_int_equal(b[0], TPM2_ALG_SHA1);
	/* Quoted but not replayed, replayed but not quoted, out of range. */
	assert_int_equal(evdata_banks(&sel, 0x43ff & ~(1u << 4), 4, b), 0);
	assert_int_equal(evdata_banks(&sel, 0x43ff, 8, b), 0);
	assert_int_equal(evdata_banks(&sel, 0xffffffff, 24, b), 0);
}

/* Every event of a real log: those whose type hashes its data verify in
 * every bank the log carries, the others never do. */
static void test_real_log(void **state)
{
	static const TPM2_ALG_ID all[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384 };
	struct fixture_log c;
	size_t verified = 0;

	(void)state;
	fixture_log_load("tpm2tools-event-gce-ubuntu-2104-log.bin", &c);
	for (size_t i = 0; i < c.log->nevents; i++) {
		const struct eventlog_event *e = &c.log->events[i];
		int r = evdata_verify(e, all, 3);

		if (e->type == EVENTLOG_EV_SEPARATOR || e->type == EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG ||
		    e->type == EVENTLOG_EV_EFI_ACTION || e->type == EVENTLOG_EV_S_CRTM_VERSION) {
			if (r != 0)
				fail_msg("event %zu (type 0x%08x): %s", i, e->type, err_detail());
			verified++;
		} else if (!evdata_hashes_data(e->type)) {
			assert_int_equal(r, AERR_EVENTLOG);
		}
	}
	assert_true(verified >= 15);
	verify_fails(find(&c, 4, EVENTLOG_EV_EFI_BOOT_SERVICES_APPLICATION), all, 3, AERR_EVENTLOG,
		     "is not a hash of its data");
	/* EDK2 hashes only the VariableData of Boot####: name and GUID unproven. */
	verify_fails(find(&c, 1, EVENTLOG_EV_EFI_VARIABLE_BOOT), all, 3, AERR_EVENTLOG, "is not the hash of its data");
	fixture_log_free(&c);

	/* Firmware that hashed the whole UEFI_VARIABLE_DATA of Boot####. */
	fixture_log_load("tss-pc_client.bin", &c);
	assert_int_equal(evdata_verify(find(&c, 1, EVENTLOG_EV_EFI_VARIABLE_BOOT), sha1_sha256, 2), 0);
	fixture_log_free(&c);
}

/* The SecureBoot event of a real log: one altered data byte breaks it in
 * each bank; a bank the event has no digest for, or no bank, never proves. */
static void test_altered(void **state)
{
	static const TPM2_ALG_ID sha384[] = { TPM2_ALG_SHA384 };
	struct fixture_log c;
	struct eventlog_event *e;
	uint8_t *data;

	(void)state;
	fixture_log_load("tss-pc_client.bin", &c);
	e = find(&c, 7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG);
	assert_int_equal(evdata_verify(e, sha1_sha256, 2), 0);
	assert_int_equal(evdata_verify(e, sha1_sha256 + 1, 1), 0);
	data = c.buf + (e->data - c.buf);
	data[e->data_len - 1] ^= 1;
	verify_fails(e, sha1_sha256, 2, AERR_EVENTLOG, "its sha1 digest is not the hash of its data");
	verify_fails(e, sha1_sha256 + 1, 1, AERR_EVENTLOG, "its sha256 digest is not the hash of its data");
	data[e->data_len - 1] ^= 1;
	verify_fails(e, sha384, 1, AERR_EVENTLOG, "no sha384 digest");
	verify_fails(e, sha1_sha256, 0, AERR_EVENTLOG, "no quoted and replayed bank");
	fixture_log_free(&c);
}

/* evdata_separator(e, banks, n) succeeds and says want. */
static void separator_is(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t n, int want)
{
	int is = 7;

	assert_int_equal(evdata_separator(e, banks, n, &is), 0);
	assert_int_equal(is, want);
}

/* The banks e carries a digest for, at most 3. */
static size_t banks_of(const struct eventlog_event *e, TPM2_ALG_ID banks[3])
{
	size_t n = 0;

	for (uint32_t k = 0; k < e->ndigests && n < 3; k++)
		banks[n++] = e->digests[k].alg;
	return n;
}

/* Every real log: each EV_SEPARATOR is found by its digests in all the
 * banks it carries, and nothing else is, but the EV_ACTION separators
 * (FFFFFFFF) of OpenPOWER firmware. Relabelled and its data replaced, the
 * GCE log's PCR 7 separator is still found. */
static void test_separator_real_logs(void **state)
{
	static const char *const logs[] = {
		"acs-tpm2bios.bin", "keylime-binary_bios_measurements-secureboot.bin",
		"keylime-binary_bios_measurements.bin", "rustkeylime-uefi_log.bin", "tpm2tools-event-arch-linux.bin",
		"tpm2tools-event-bootorder.bin", "tpm2tools-event-gce-ubuntu-2104-log.bin",
		"tpm2tools-event-moklisttrusted.bin", "tpm2tools-event-postcode.bin",
		"tpm2tools-event-sd-boot-fedora37.bin", "tpm2tools-event-uefi-sha1-log.bin",
		"tpm2tools-event-uefiaction.bin", "tpm2tools-event-uefiservices.bin", "tpm2tools-event-uefivar.bin",
		"tss-hcrtm.bin", "tss-pc_client.bin", "tss-specid-vendordata.bin",
	};
	static const uint8_t ffs[4] = { 0xff, 0xff, 0xff, 0xff };
	TPM2_ALG_ID banks[3];
	struct fixture_log c;
	struct eventlog_event *e;
	size_t found = 0, seps = 0;
	int is;

	(void)state;
	for (size_t l = 0; l < ARRAY_LEN(logs); l++) {
		fixture_log_load(logs[l], &c);
		for (size_t i = 0; i < c.log->nevents; i++) {
			e = &c.log->events[i];
			assert_int_equal(evdata_separator(e, banks, banks_of(e, banks), &is), 0);
			seps += e->type == EVENTLOG_EV_SEPARATOR;
			found += is;
			if (is != (e->type == EVENTLOG_EV_SEPARATOR) &&
			    !(is && e->type == EVENTLOG_EV_ACTION && e->data_len == 4 && !memcmp(e->data, ffs, 4)))
				fail_msg("%s event %zu (type 0x%08x): separator %d", logs[l], i, e->type, is);
		}
		fixture_log_free(&c);
	}
	assert_int_equal(seps, 13 * 8); /* PCRs 0-7 of each log that has separators */
	assert_int_equal(found, seps + 8);

	fixture_log_load("tpm2tools-event-gce-ubuntu-2104-log.bin", &c);
	e = find(&c, 7, EVENTLOG_EV_SEPARATOR);
	memset(c.buf + (e->data - c.buf), 'J', e->data_len);
	c.buf[e->offset + 4] = 0x01; /* EV_POST_CODE */
	fixture_log_reparse(&c);
	e = &c.log->events[8];
	assert_int_equal(e->type, 0x00000001);
	separator_is(e, banks, banks_of(e, banks), 1);
	/* The SecureBoot variable is no separator in any bank. */
	e = find(&c, 7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG);
	separator_is(e, banks, banks_of(e, banks), 0);
	fixture_log_free(&c);
}

/* One value in every bank given: 1 (after an error) in both is a
 * separator; a bank of another value, a bank without a digest, no bank at
 * all are not; a bank we cannot hash is an error. */
static void test_separator(void **state)
{
	static const uint8_t zero[4], one[4] = { 1 }, ffs[4] = { 0xff, 0xff, 0xff, 0xff };
	static const TPM2_ALG_ID sha384[] = { TPM2_ALG_SHA384 }, null[] = { TPM2_ALG_NULL };
	uint8_t h1[20], h256[32];
	struct eventlog_digest d[2] = { { TPM2_ALG_SHA1, 20, h1 }, { TPM2_ALG_SHA256, 32, h256 } };
	struct eventlog_event e = { .pcr = 7, .type = 0x00000001, .ndigests = 2, .digests = d,
				    .data = (const uint8_t *)"junk", .data_len = 4 };
	int is = 7;

	(void)state;
	assert_int_equal(crypto_digest(TPM2_ALG_SHA1, one, 4, h1), 0);
	assert_int_equal(crypto_digest(TPM2_ALG_SHA256, one, 4, h256), 0);
	separator_is(&e, sha1_sha256, 2, 1);
	/* sha1 of 1, sha256 of FFFFFFFF: each bank alone, not both. */
	assert_int_equal(crypto_digest(TPM2_ALG_SHA256, ffs, 4, h256), 0);
	separator_is(&e, sha1_sha256, 2, 0);
	separator_is(&e, sha1_sha256, 1, 1);
	separator_is(&e, sha1_sha256 + 1, 1, 1);
	assert_int_equal(crypto_digest(TPM2_ALG_SHA1, zero, 4, h1), 0);
	separator_is(&e, sha1_sha256, 2, 0);
	separator_is(&e, sha384, 1, 0);
	separator_is(&e, sha1_sha256, 0, 0);
	assert_int_equal(evdata_separator(&e, null, 1, &is), AERR_UNSUPPORTED);
	assert_int_equal(is, 0);
}

/* GUID, UnicodeNameLength, VariableDataLength, name, data. */
static size_t variable(uint8_t *out, uint64_t nlen, uint64_t dlen, const char *name, const uint8_t *data,
		       size_t data_len)
{
	size_t off = 32;

	memcpy(out, evdata_efi_global_variable, 16);
	for (int i = 0; i < 8; i++) {
		out[16 + i] = (uint8_t)(nlen >> (8 * i));
		out[24 + i] = (uint8_t)(dlen >> (8 * i));
	}
	for (size_t i = 0; name[i]; i++) {
		out[off++] = (uint8_t)name[i];
		out[off++] = 0;
	}
	memcpy(out + off, data, data_len);
	return off + data_len;
}

static void parse_fails(const uint8_t *buf, size_t len, int code, const char *needle)
{
	struct evdata_variable v;

	assert_int_equal(evdata_variable_parse(buf, len, &v), code);
	assert_null(v.guid);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static void test_variable(void **state)
{
	static const uint8_t one = 1;
	struct evdata_variable v;
	uint8_t buf[128], other[16] = { 0 };
	size_t n;

	(void)state;
	n = variable(buf, 10, 1, "SecureBoot", &one, 1);
	assert_int_equal(n, 53);
	assert_int_equal(evdata_variable_parse(buf, n, &v), 0);
	assert_int_equal(v.name_len, 10);
	assert_int_equal(v.data_len, 1);
	assert_int_equal(v.data[0], 1);
	assert_true(evdata_variable_is(&v, evdata_efi_global_variable, "SecureBoot"));
	assert_false(evdata_variable_is(&v, evdata_efi_global_variable, "SecureBoo"));
	assert_false(evdata_variable_is(&v, evdata_efi_global_variable, "SecureBootX"));
	assert_false(evdata_variable_is(&v, other, "SecureBoot"));
	buf[32] = 's';
	assert_int_equal(evdata_variable_parse(buf, n, &v), 0);
	assert_false(evdata_variable_is(&v, evdata_efi_global_variable, "SecureBoot"));
	buf[32] = 'S';

	parse_fails(buf, 31, AERR_PARSE, "shorter than its 32-byte header");
	parse_fails(buf, n - 1, AERR_PARSE, "VariableDataLength 1 exceeds the 0 bytes left");
	parse_fails(buf, n + 1, AERR_TRAILING, "1 bytes after");
	variable(buf, 11, 1, "SecureBoot", &one, 1);
	parse_fails(buf, n, AERR_PARSE, "UnicodeNameLength 11 exceeds");
	/* 2 * nlen wraps to 0; nlen + dlen and 32 + 2 * nlen + dlen wrap to
	 * small numbers: each length is checked on its own. */
	variable(buf, 1ull << 63, 1, "", &one, 1);
	parse_fails(buf, 33, AERR_PARSE, "UnicodeNameLength 9223372036854775808 exceeds");
	variable(buf, 10, (uint64_t)-20, "SecureBoot", &one, 0);
	parse_fails(buf, 32, AERR_PARSE, "UnicodeNameLength 10 exceeds the 0 bytes left");
	variable(buf, 10, (uint64_t)-20, "SecureBoot", &one, 1);
	parse_fails(buf, 53, AERR_PARSE, "VariableDataLength 18446744073709551596 exceeds the 1 bytes left");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_banks),
		cmocka_unit_test(test_real_log),
		cmocka_unit_test(test_altered),
		cmocka_unit_test(test_separator_real_logs),
		cmocka_unit_test(test_separator),
		cmocka_unit_test(test_variable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
