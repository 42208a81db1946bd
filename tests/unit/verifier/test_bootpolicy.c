/* Boot policy over real and made-up event logs, judged only on what the
 * quote proves: the Secure Boot state as measured (the tpm2_eventlog YAML of
 * each real log says 01 or 00) and read only from data its PCR 7 digests
 * prove (a forged SecureBoot=1 with the genuine SecureBoot=0 digests fails)
 * before PCR 7's separator as its digests place it (root's genuine
 * SecureBoot=1 and separator, appended to a real log whose own SecureBoot=0
 * event and separator were relabelled, fail), allowed digests per PCR and boot applications compared in quoted and
 * replayed banks only, events of PCRs outside the quote not judged, policies
 * that the selection cannot check refused at load, malformed policy files
 * refused, and UEFI variable lengths that wrap read without overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/bootpolicy.h"
#include "array.h"
#include "crypto.h"
#include "evdata.h"
#include "fixtures.h"

#define EV_POST_CODE 0x00000001u
#define EV_EFI_BOOT_SERVICES_DRIVER 0x80000004u
#define REPLAYED 0x43ffu /* the verifier's default eventlog_pcrs: 0-9, 14 */

static char path[64];

/* Index of the first event of type on pcr. */
static size_t find(const struct fixture_log *c, uint32_t pcr, uint32_t type)
{
	for (size_t i = 0; i < c->log->nevents; i++)
		if (c->log->events[i].pcr == pcr && c->log->events[i].type == type)
			return i;
	fail_msg("no event of type 0x%08x on PCR %u", type, pcr);
	return 0;
}

/* Writable event data of event i of c. */
static uint8_t *data_of(struct fixture_log *c, size_t i)
{
	return c->buf + (c->log->events[i].data - c->buf);
}

/* A parsed selection; the last 16 stay valid. */
static TPML_PCR_SELECTION *sel(const char *text)
{
	static TPML_PCR_SELECTION s[16];
	static unsigned k;
	TPML_PCR_SELECTION *r = &s[k++ % 16];

	assert_int_equal(pcrsel_parse(text, r), 0);
	return r;
}

static void write_policy(const char *json)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(json, f);
	fclose(f);
}

static struct bootpolicy *policy(const char *json)
{
	struct bootpolicy *p = NULL;

	write_policy(json);
	if (bootpolicy_load(path, &p) != 0)
		fail_msg("%s", err_detail());
	return p;
}

static void load_fails(const char *json, const char *needle)
{
	struct bootpolicy *p = (void *)1;

	write_policy(json);
	assert_int_equal(bootpolicy_load(path, &p), AERR_CONFIG);
	assert_null(p);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static void detail_has(const char *needle)
{
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

/* bootpolicy_check of json over log fails with AERR_LOG_POLICY saying needle
 * (or passes, needle NULL). */
static void judge(const char *json, const struct eventlog *log, const TPML_PCR_SELECTION *s, uint32_t replayed,
		  const char *needle)
{
	struct bootpolicy *p = policy(json);
	int r = bootpolicy_check(p, log, s, replayed);

	bootpolicy_free(p);
	if (!needle) {
		if (r != 0)
			fail_msg("%s: %s", json, err_detail());
		return;
	}
	assert_int_equal(r, AERR_LOG_POLICY);
	detail_has(needle);
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

/* --- made-up crypto-agile logs (sha1 and sha256 banks) */

struct mklog {
	uint8_t buf[4096];
	size_t len;
};

static void put32(struct mklog *m, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		m->buf[m->len++] = (uint8_t)(v >> (8 * i));
}

static void put(struct mklog *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->buf));
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static void mk_start(struct mklog *m)
{
	static const uint8_t specid[] = {
		'S', 'p', 'e', 'c', ' ', 'I', 'D', ' ', 'E', 'v', 'e', 'n', 't', '0', '3', 0,
		0, 0, 0, 0,   /* platformClass */
		0, 2, 0, 2,   /* specVersionMinor, Major, errata, uintnSize */
		2, 0, 0, 0,   /* numberOfAlgorithms */
		0x04, 0, 20, 0, 0x0b, 0, 32, 0,
		0,            /* vendorInfoSize */
	};
	static const uint8_t zero[20];

	m->len = 0;
	put32(m, 0);
	put32(m, EVENTLOG_EV_NO_ACTION);
	put(m, zero, sizeof(zero));
	put32(m, sizeof(specid));
	put(m, specid, sizeof(specid));
}

/* One event whose digests are those of hashed (its own data when NULL). */
static void mk_event_digest(struct mklog *m, uint32_t pcr, uint32_t type, const void *data, size_t len,
			    const void *hashed, size_t hashed_len)
{
	uint8_t d[CRYPTO_MAX_DIGEST];

	if (!hashed) {
		hashed = data;
		hashed_len = len;
	}
	put32(m, pcr);
	put32(m, type);
	put32(m, 2);
	m->buf[m->len++] = 0x04;
	m->buf[m->len++] = 0;
	assert_int_equal(crypto_digest(TPM2_ALG_SHA1, hashed, hashed_len, d), 0);
	put(m, d, 20);
	m->buf[m->len++] = 0x0b;
	m->buf[m->len++] = 0;
	assert_int_equal(crypto_digest(TPM2_ALG_SHA256, hashed, hashed_len, d), 0);
	put(m, d, 32);
	put32(m, (uint32_t)len);
	put(m, data, len);
}

static void mk_event(struct mklog *m, uint32_t pcr, uint32_t type, const void *data, size_t len)
{
	mk_event_digest(m, pcr, type, data, len, NULL, 0);
}

static void mk_separator(struct mklog *m, uint32_t pcr)
{
	static const uint8_t zero[4];

	mk_event(m, pcr, EVENTLOG_EV_SEPARATOR, zero, sizeof(zero));
}

/* A UEFI_VARIABLE_DATA of the global variable name holding value (len 0 or 1). */
static size_t mk_variable(uint8_t *out, const uint8_t guid[16], const char *name, const uint8_t *value, size_t len)
{
	size_t n = strlen(name), off = 32;

	memset(out, 0, 32);
	memcpy(out, guid, 16);
	out[16] = (uint8_t)n;
	out[24] = (uint8_t)len;
	for (size_t i = 0; i < n; i++) {
		out[off++] = (uint8_t)name[i];
		out[off++] = 0;
	}
	memcpy(out + off, value, len);
	return off + len;
}

static void mk_secure_boot(struct mklog *m, uint32_t type, uint8_t value)
{
	uint8_t v[64];
	size_t n = mk_variable(v, evdata_efi_global_variable, "SecureBoot", &value, 1);

	mk_event(m, 7, type, v, n);
}

/* The events point into m, which must outlive the log. */
static struct eventlog *mk_parse(const struct mklog *m)
{
	struct eventlog *log = NULL;

	if (eventlog_parse(m->buf, m->len, &log) != 0)
		fail_msg("made-up log: %s", err_detail());
	return log;
}

/* --- tests */

static const char on[] = "{\"secure_boot\": true}";
static const char off[] = "{\"secure_boot\": false}";

/* Real logs: Secure Boot as each one measured it. */
static void test_secure_boot(void **state)
{
	struct fixture_log c1, c2;
	int sb = 7;

	(void)state;
	fixture_log_load("keylime-binary_bios_measurements-secureboot.bin", &c1);
	fixture_log_load("tpm2tools-event-gce-ubuntu-2104-log.bin", &c2);
	assert_int_equal(bootpolicy_secure_boot(c1.log, sel("sha256:0-9,14"), REPLAYED, &sb), 0);
	assert_int_equal(sb, 1);
	assert_int_equal(bootpolicy_secure_boot(c2.log, sel("sha256:0-9,14+sha1:0-9,14"), REPLAYED, &sb), 0);
	assert_int_equal(sb, 0);
	judge(on, c1.log, sel("sha256:0-9,14"), REPLAYED, NULL);
	judge(on, c2.log, sel("sha256:0-9,14+sha1:0-9,14"), REPLAYED, "Secure Boot is disabled");
	judge(off, c2.log, sel("sha256:0-9,14+sha1:0-9,14"), REPLAYED, NULL);
	judge(off, c1.log, sel("sha256:0-9,14"), REPLAYED, "Secure Boot is enabled");
	judge("{}", c1.log, sel("sha256:0-9,14"), REPLAYED, NULL);
	judge("{}", c2.log, sel("sha256:0-9,14"), REPLAYED, NULL);
	fixture_log_free(&c1);
	fixture_log_free(&c2);
}

/* The attack of issue #12: keep the real PCR 7 digests of SecureBoot=0,
 * send data saying 1. The replay still matches (digests unchanged); the
 * data is not proven, so neither requirement can be met. */
static void test_forged_secure_boot(void **state)
{
	const TPML_PCR_SELECTION *both = sel("sha256:0-9,14+sha1:0-9,14");
	struct fixture_log c;
	size_t i;
	uint8_t *d;
	int sb = 7;

	(void)state;
	fixture_log_load("tpm2tools-event-gce-ubuntu-2104-log.bin", &c);
	i = find(&c, 7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG);
	d = data_of(&c, i);
	assert_int_equal(c.log->events[i].data_len, 53);
	assert_int_equal(d[52], 0);
	d[52] = 1;
	fixture_log_reparse(&c);
	assert_int_equal(bootpolicy_secure_boot(c.log, both, REPLAYED, &sb), AERR_LOG_POLICY);
	assert_int_equal(sb, -1);
	detail_has("the SecureBoot variable: its data does not match its PCR 7 digest");
	judge(on, c.log, both, REPLAYED, "the Secure Boot state is not proven: event 3, the SecureBoot variable: "
					 "its data does not match its PCR 7 digest");
	judge(off, c.log, both, REPLAYED, "the Secure Boot state is not proven");
	/* No requirement: the data is never read. */
	judge("{}", c.log, both, REPLAYED, NULL);

	/* Honest in the sha256 bank only: proven when sha256 alone is quoted,
	 * not when the sha1 bank of PCR 7 is quoted too. */
	assert_int_equal(c.log->events[i].digests[1].alg, TPM2_ALG_SHA256);
	assert_int_equal(crypto_digest(TPM2_ALG_SHA256, d, 53, c.buf + (c.log->events[i].digests[1].value - c.buf)), 0);
	fixture_log_reparse(&c);
	judge(on, c.log, sel("sha256:0-9,14"), REPLAYED, NULL);
	judge(on, c.log, sel("sha256:0-9,14+sha1:7"), REPLAYED, "its sha1 digest is not the hash of its data");
	judge(on, c.log, both, REPLAYED, "its sha1 digest is not the hash of its data");
	fixture_log_free(&c);
}

/* Every real log: the Secure Boot state as it measured it (its
 * tpm2_eventlog YAML), in the banks it carries. A log with no PCR 7
 * separator proves no SecureBoot variable. */
static void test_secure_boot_real_logs(void **state)
{
	static const struct {
		const char *log, *pcrs;
		int sb;                /* -2: not proven, saying needle */
		const char *needle;
	} cases[] = {
		/* OpenPOWER: separators of FFFFFFFF, no UEFI variables. */
		{ "acs-tpm2bios.bin", "sha256:0-9,14+sha1:0-9,14", -1, NULL },
		{ "keylime-binary_bios_measurements-secureboot.bin", "sha256:0-9,14", 1, NULL },
		{ "keylime-binary_bios_measurements.bin", "sha256:0-9,14+sha1:0-9,14", 0, NULL },
		{ "keylime-binary_bios_measurements.bin", "sha1:0-9,14", 0, NULL },
		{ "rustkeylime-uefi_log.bin", "sha256:0-9,14", 0, NULL },
		{ "tpm2tools-event-arch-linux.bin", "sha256:0-9,14+sha1:0-9,14", 0, NULL },
		{ "tpm2tools-event-bootorder.bin", "sha256:0-9,14+sha1:0-9,14", 0, NULL },
		{ "tpm2tools-event-gce-ubuntu-2104-log.bin", "sha256:0-9,14+sha1:0-9,14+sha384:0-9,14", 0, NULL },
		{ "tpm2tools-event-gce-ubuntu-2104-log.bin", "sha1:0-9,14", 0, NULL },
		{ "tpm2tools-event-moklisttrusted.bin", "sha256:0-9,14", 1, NULL },
		/* Shim's authority events after the separator do not prove
		 * their data: not read, not needed. */
		{ "tpm2tools-event-postcode.bin", "sha256:0-9,14+sha1:0-9,14", 1, NULL },
		{ "tpm2tools-event-sd-boot-fedora37.bin", "sha256:0-9,14", 0, NULL },
		{ "tpm2tools-event-uefi-sha1-log.bin", "sha1:0-9,14", 0, NULL },
		{ "tpm2tools-event-uefiaction.bin", "sha256:0-9,14+sha1:0-9,14", -1, NULL },
		{ "tpm2tools-event-uefiservices.bin", "sha256:0-9,14+sha1:0-9,14", -1, NULL },
		{ "tpm2tools-event-uefivar.bin", "sha256:0-9,14+sha1:0-9,14", -2,
		  "event 1: the SecureBoot variable is not followed by PCR 7's separator" },
		{ "tss-hcrtm.bin", "sha256:0-9,14+sha1:0-9,14", 0, NULL },
		{ "tss-pc_client.bin", "sha256:0-9,14+sha1:0-9,14", 0, NULL },
		{ "tss-specid-vendordata.bin", "sha256:0-9,14+sha1:0-9,14", -1, NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct fixture_log c;
		int sb = 7, r;

		print_message("  %s %s\n", cases[i].log, cases[i].pcrs);
		fixture_log_load(cases[i].log, &c);
		r = bootpolicy_secure_boot(c.log, sel(cases[i].pcrs), REPLAYED, &sb);
		if (cases[i].sb == -2) {
			assert_int_equal(r, AERR_LOG_POLICY);
			assert_int_equal(sb, -1);
			detail_has(cases[i].needle);
		} else {
			if (r != 0)
				fail_msg("%s: %s", cases[i].log, err_detail());
			assert_int_equal(sb, cases[i].sb);
		}
		fixture_log_free(&c);
	}
}

static void set32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Event i of c relabelled type, its data overwritten with junk when junk is
 * set; its digests, all that the replay proves, stay. */
static void relabel(struct fixture_log *c, size_t i, uint32_t type, int junk)
{
	set32(c->buf + c->log->events[i].offset + 4, type);
	if (junk)
		memset(data_of(c, i), 'J', c->log->events[i].data_len);
}

/* An event appended to c's crypto-agile log with the digests of its data in
 * every bank the log declares: what root extends into the TPM at run time
 * (genuine measurements), then adds to the log it sends. */
static void append_event(struct fixture_log *c, uint32_t pcr, uint32_t type, const void *data, size_t len)
{
	size_t at = c->len, need = 12 + len + 4;
	uint8_t *p;

	assert_int_equal(c->log->format, EVENTLOG_FORMAT_CRYPTO_AGILE);
	for (uint32_t k = 0; k < c->log->nalgs; k++)
		need += 2 + crypto_digest_size(c->log->algs[k].alg);
	assert_non_null(p = realloc(c->buf, c->len + need));
	c->buf = p;
	set32(p + at, pcr);
	set32(p + at + 4, type);
	set32(p + at + 8, c->log->nalgs);
	at += 12;
	for (uint32_t k = 0; k < c->log->nalgs; k++) {
		TPM2_ALG_ID alg = c->log->algs[k].alg;

		p[at] = (uint8_t)alg;
		p[at + 1] = (uint8_t)(alg >> 8);
		assert_int_equal(crypto_digest(alg, data, len, p + at + 2), 0);
		at += 2 + crypto_digest_size(alg);
	}
	set32(p + at, (uint32_t)len);
	memcpy(p + at + 4, data, len);
	c->len = at + 4 + len;
	/* The old parse points into the old buffer: parse the new one. */
	fixture_log_reparse(c);
}

/* The red team's finding: a host booted with Secure Boot off (the GCE log,
 * SecureBoot=0) where root extends PCR 7 at run time with a genuine
 * SecureBoot=1 event and a separator, and sends the log with both appended
 * and the firmware's own SecureBoot=0 event and separator relabelled
 * EV_POST_CODE with junk data: the replay still matches (no digest
 * changed), and a reader going by the claimed types saw root's SecureBoot=1
 * followed by root's separator. The separator is the first PCR 7 event
 * whose digests are a separator's, and before it every event must prove
 * its data: the real SecureBoot event cannot be hidden, and keeping it
 * makes root's a second one. Each way of hiding it, under each quoted bank. */
static void test_relabelled_pcr7(void **state)
{
	static const uint8_t zero[4];
	enum { SB0 = 3, PK = 4, SEP7 = 8 }; /* the firmware's, in the GCE log */
	static const struct {
		const char *what;
		struct {
			size_t at;             /* 0: none (event 0 is the Spec ID event) */
			uint32_t type;
			int junk;
		} relabel[2];
		int append_sb, append_sep;     /* root's genuine SecureBoot=1, separator */
		const char *needle;            /* "twice": followed by the first appended event */
	} cases[] = {
		{ "the red team's", { { SB0, EV_POST_CODE, 1 }, { SEP7, EV_POST_CODE, 1 } }, 1, 1,
		  "event 3 (type 0x00000001), before PCR 7's separator, does not prove its data (the digest of "
		  "event type 0x00000001 is not a hash of its data): it may be the SecureBoot variable relabelled" },
		{ "the real separator typed as such", { { SB0, EV_POST_CODE, 1 } }, 1, 1,
		  "event 3 (type 0x00000001), before PCR 7's separator, does not prove its data" },
		{ "no separator appended", { { SB0, EV_POST_CODE, 1 }, { SEP7, EV_POST_CODE, 1 } }, 1, 0,
		  "event 3 (type 0x00000001), before PCR 7's separator, does not prove its data" },
		{ "SecureBoot=0 as an EFI action of junk",
		  { { SB0, EVENTLOG_EV_EFI_ACTION, 1 }, { SEP7, EV_POST_CODE, 1 } }, 1, 1,
		  "event 3 (type 0x80000007), before PCR 7's separator, does not prove its data (its sha" },
		{ "SecureBoot=0 as a separator of junk", { { SB0, EVENTLOG_EV_SEPARATOR, 1 }, { SEP7, EV_POST_CODE, 1 } },
		  1, 1, "event 3 (type 0x00000004), before PCR 7's separator, does not prove its data" },
		{ "SecureBoot=0 kept, as a variable authority",
		  { { SB0, EVENTLOG_EV_EFI_VARIABLE_AUTHORITY, 0 }, { SEP7, EV_POST_CODE, 1 } }, 1, 1,
		  "event 3 holds the SecureBoot variable but claims type 0x800000e0" },
		{ "SecureBoot=0 kept, as a boot variable",
		  { { SB0, EVENTLOG_EV_EFI_VARIABLE_BOOT, 0 }, { SEP7, EV_POST_CODE, 1 } }, 1, 1,
		  "event 3 holds the SecureBoot variable but claims type 0x80000002" },
		{ "SecureBoot=0 kept, the separator hidden", { { SEP7, EV_POST_CODE, 1 } }, 1, 1,
		  "the SecureBoot variable is measured twice" },
		{ "SecureBoot=0 kept, the separator an EFI action of junk", { { SEP7, EVENTLOG_EV_EFI_ACTION, 1 } }, 1, 1,
		  "the SecureBoot variable is measured twice" },
		{ "SecureBoot=0 kept, the separator typed a variable",
		  { { SEP7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG, 0 } }, 1, 1,
		  "a UEFI variable event, does not hold a UEFI_VARIABLE_DATA" },
		/* Another variable the firmware measured, hidden: it may as well
		 * have been SecureBoot. */
		{ "PK hidden", { { PK, EV_POST_CODE, 1 } }, 0, 0, "event 4 (type 0x00000001), before PCR 7's separator" },
	};
	static const char *const quotes[] = {
		"sha256:0-9,14+sha1:0-9,14+sha384:0-9,14", "sha256:0-9,14+sha1:0-9,14", "sha1:0-9,14",
		"sha256:0-9,14", "sha384:0-9,14",
	};
	struct fixture_log c;
	uint8_t on_data[53];
	char twice[64];
	size_t first;
	int sb = 7;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		fixture_log_load("tpm2tools-event-gce-ubuntu-2104-log.bin", &c);
		assert_int_equal(find(&c, 7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG), SB0);
		assert_int_equal(find(&c, 7, EVENTLOG_EV_SEPARATOR), SEP7);
		assert_int_equal(c.log->events[SB0].data_len, sizeof(on_data));
		memcpy(on_data, c.log->events[SB0].data, sizeof(on_data));
		assert_int_equal(on_data[52], 0);
		on_data[52] = 1;
		for (size_t k = 0; k < 2; k++)
			if (cases[i].relabel[k].at)
				relabel(&c, cases[i].relabel[k].at, cases[i].relabel[k].type, cases[i].relabel[k].junk);
		first = c.log->nevents;
		fixture_log_reparse(&c);
		if (cases[i].append_sb)
			append_event(&c, 7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG, on_data, sizeof(on_data));
		if (cases[i].append_sep)
			append_event(&c, 7, EVENTLOG_EV_SEPARATOR, zero, sizeof(zero));
		snprintf(twice, sizeof(twice), "(events 3 and %zu)", first);
		for (size_t q = 0; q < ARRAY_LEN(quotes); q++) {
			print_message("  %s, %s\n", cases[i].what, quotes[q]);
			sb = 7;
			assert_int_equal(bootpolicy_secure_boot(c.log, sel(quotes[q]), REPLAYED, &sb), AERR_LOG_POLICY);
			assert_int_equal(sb, -1);
			detail_has(cases[i].needle);
			if (strstr(cases[i].needle, "twice"))
				detail_has(twice);
		}
		judge(on, c.log, sel(quotes[1]), REPLAYED, "the Secure Boot state is not proven: ");
		detail_has(cases[i].needle);
		judge(off, c.log, sel(quotes[1]), REPLAYED, "the Secure Boot state is not proven: ");
		/* No requirement: PCR 7 is not read. */
		judge("{}", c.log, sel(quotes[1]), REPLAYED, NULL);
		fixture_log_free(&c);
	}

	/* What root appends after the firmware's separator is never read:
	 * junk there changes nothing, a SecureBoot variable there is refused. */
	fixture_log_load("tpm2tools-event-gce-ubuntu-2104-log.bin", &c);
	append_event(&c, 7, EV_POST_CODE, "junk", 4);
	append_event(&c, 7, EVENTLOG_EV_SEPARATOR, zero, sizeof(zero));
	assert_int_equal(bootpolicy_secure_boot(c.log, sel(quotes[1]), REPLAYED, &sb), 0);
	assert_int_equal(sb, 0);
	memcpy(on_data, c.log->events[SB0].data, sizeof(on_data));
	on_data[52] = 1;
	append_event(&c, 7, EV_POST_CODE, on_data, sizeof(on_data));
	judge(on, c.log, sel(quotes[1]), REPLAYED, "holds the SecureBoot variable but claims type 0x00000001");
	fixture_log_free(&c);
}

/* A made-up PCR 7: SecureBoot variables (as EV_EFI_VARIABLE_DRIVER_CONFIG
 * unless type says otherwise) and separators, digests honest. */
#define SEP { 0, -1 }
#define SB(v) { EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG, v }
struct sb_step {
	uint32_t type;
	int value;                     /* -1: a separator */
};

static struct eventlog *mk_pcr7(struct mklog *m, const struct sb_step *steps, size_t n)
{
	mk_start(m);
	for (size_t i = 0; i < n && (steps[i].type || steps[i].value); i++) {
		if (steps[i].value < 0)
			mk_separator(m, 7);
		else
			mk_secure_boot(m, steps[i].type, (uint8_t)steps[i].value);
	}
	return mk_parse(m);
}

/* Where and how the variable may be measured: before PCR 7's separator,
 * once, as EV_EFI_VARIABLE_DRIVER_CONFIG, 0, 1 or empty; before the
 * separator nothing may hide it. */
static void test_secure_boot_rules(void **state)
{
	static const struct {
		struct sb_step steps[4];
		const char *json, *needle;
	} cases[] = {
		{ { SB(1), SEP }, on, NULL },
		{ { SB(0), SEP }, off, NULL },
		{ { SB(1) }, on, "not followed by PCR 7's separator" },
		/* Appended after the firmware's measurements, by anyone able to
		 * extend PCR 7. */
		{ { SEP, SB(1), SEP }, on, "measured after PCR 7's separator" },
		{ { SB(0), SB(1), SEP }, on, "measured twice (events 1 and 2)" },
		/* The variable under another type: where firmware never puts it. */
		{ { { EVENTLOG_EV_EFI_VARIABLE_AUTHORITY, 1 }, SEP }, on, "claims type 0x800000e0" },
		{ { { EVENTLOG_EV_EFI_VARIABLE_AUTHORITY, 0 }, SEP }, off, "claims type 0x800000e0" },
		{ { SB(2), SEP }, off, "holds 1 bytes (first 0x02), not 0 or 1" },
	};
	const TPML_PCR_SELECTION *s = sel("sha256:0-9+sha1:0-9");
	static const uint8_t two = 2;
	uint8_t v[64], v2[64];
	struct eventlog *log;
	struct mklog m;
	size_t n;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		print_message("  case %zu: %s\n", i, cases[i].needle ? cases[i].needle : "passes");
		log = mk_pcr7(&m, cases[i].steps, 4);
		judge(cases[i].json, log, s, REPLAYED, cases[i].needle);
		eventlog_free(log);
	}

	/* PCR 7 outside the quote, or outside the replay. */
	log = mk_pcr7(&m, (const struct sb_step[]){ SB(1), SEP }, 2);
	judge(on, log, sel("sha256:0-6+sha1:0-6"), REPLAYED, "PCR 7 is not quoted and replayed");
	judge(off, log, s, REPLAYED & ~(1u << 7), "PCR 7 is not quoted and replayed");
	eventlog_free(log);

	/* Empty: the variable is not set, Secure Boot is off. Another
	 * vendor's "SecureBoot" is not the UEFI one. */
	mk_start(&m);
	n = mk_variable(v, evdata_efi_global_variable, "SecureBoot", &two, 0);
	mk_event(&m, 7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n);
	n = mk_variable(v2, (const uint8_t[16]){ 1 }, "SecureBoot", (const uint8_t[]){ 1 }, 1);
	mk_event(&m, 7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG, v2, n);
	mk_separator(&m, 7);
	log = mk_parse(&m);
	judge(off, log, s, REPLAYED, NULL);
	judge(on, log, s, REPLAYED, "Secure Boot is disabled");
	eventlog_free(log);

	/* Any PCR 7 variable event with unproven data: it may be SecureBoot
	 * renamed. */
	mk_start(&m);
	mk_secure_boot(&m, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG, 1);
	n = mk_variable(v, evdata_efi_global_variable, "PK", &two, 1);
	mk_event_digest(&m, 7, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG, v, n, "other", 5);
	mk_separator(&m, 7);
	log = mk_parse(&m);
	judge(on, log, s, REPLAYED, "event 2, a UEFI variable: its data does not match its PCR 7 digest");
	judge("{}", log, s, REPLAYED, NULL);
	eventlog_free(log);

	/* The firmware's SecureBoot=0 and separator relabelled, their data
	 * junk, root's genuine SecureBoot=1 and separator after them: the
	 * separator is found by its digests, whichever value it holds (0, or
	 * 1 or FFFFFFFF after an error), and what comes before it must prove
	 * its data. Without any separator, every PCR 7 event must. */
	for (size_t k = 0; k < 3; k++) {
		static const uint8_t sepv[3][4] = { { 0 }, { 1 }, { 0xff, 0xff, 0xff, 0xff } };

		mk_start(&m);
		n = mk_variable(v, evdata_efi_global_variable, "SecureBoot", (const uint8_t[]){ 0 }, 1);
		mk_event_digest(&m, 7, EV_POST_CODE, "junk", 4, v, n);
		mk_event_digest(&m, 7, EV_POST_CODE, "junk", 4, sepv[k], 4);
		mk_secure_boot(&m, EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG, 1);
		mk_separator(&m, 7);
		log = mk_parse(&m);
		judge(on, log, s, REPLAYED, "event 1 (type 0x00000001), before PCR 7's separator, does not prove its data");
		eventlog_free(log);
	}
	mk_start(&m);
	mk_event(&m, 7, EV_POST_CODE, "junk", 4);
	log = mk_parse(&m);
	judge(off, log, s, REPLAYED, "event 1 (type 0x00000001), in a PCR 7 without a separator, does not prove");
	eventlog_free(log);
}

/* A policy listing exactly the PCR 4 digests and boot applications of the
 * log passes it; without one of them it fails naming the event. Digests of
 * a bank that does not quote PCR 4 never match. */
static void test_digests(void **state)
{
	const TPML_PCR_SELECTION *both = sel("sha256:0-9,14+sha1:0-9,14");
	char json[16384], list[6000] = "", apps[6000] = "", list1[3000] = "";
	size_t used = 0, aused = 0, used1 = 0, n4 = 0;
	struct fixture_log c;

	(void)state;
	fixture_log_load("tpm2tools-event-gce-ubuntu-2104-log.bin", &c);
	for (size_t i = 0; i < c.log->nevents; i++) {
		const struct eventlog_event *e = &c.log->events[i];
		for (uint32_t k = 0; k < e->ndigests; k++) {
			char hex[2 * 64 + 1];
			for (size_t j = 0; j < e->digests[k].size; j++)
				sprintf(hex + 2 * j, "%02x", e->digests[k].value[j]);
			if (e->pcr == 4 && e->type != EVENTLOG_EV_NO_ACTION && e->digests[k].alg == TPM2_ALG_SHA1)
				used1 += (size_t)snprintf(list1 + used1, sizeof(list1) - used1, "%s\"sha1:%s\"",
							  used1 ? "," : "", hex);
			if (e->digests[k].alg != TPM2_ALG_SHA256)
				continue;
			if (e->pcr == 4 && e->type != EVENTLOG_EV_NO_ACTION)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"sha256:%s\"",
							 n4++ ? "," : "", hex);
			if (e->type == EVENTLOG_EV_EFI_BOOT_SERVICES_APPLICATION)
				aused += (size_t)snprintf(apps + aused, sizeof(apps) - aused, "%s\"sha256:%s\"",
							  aused ? "," : "", hex);
		}
	}
	assert_true(n4 >= 2);
	snprintf(json, sizeof(json), "{\"digests\": {\"4\": [%s]}, \"boot_applications\": [%s]}", list, apps);
	judge(json, c.log, both, REPLAYED, NULL);

	/* Drop the first PCR 4 digest: that event breaks the policy. */
	snprintf(json, sizeof(json), "{\"digests\": {\"4\": [%s]}}", strchr(list, ',') + 1);
	judge(json, c.log, both, REPLAYED, "digest not allowed");
	detail_has("PCR 4");

	/* No boot application allowed. */
	judge("{\"boot_applications\": []}", c.log, both, REPLAYED, "boot application not allowed");

	/* The same events listed by their sha1 digests: they count only when
	 * the sha1 bank quotes PCR 4. */
	snprintf(json, sizeof(json), "{\"digests\": {\"4\": [%s]}}", list1);
	judge(json, c.log, both, REPLAYED, NULL);
	judge(json, c.log, sel("sha256:0-9,14+sha1:0-3,5-9,14"), REPLAYED, "digest not allowed for its PCR");
	judge(json, c.log, sel("sha256:0-9,14"), REPLAYED, "digest not allowed for its PCR");
	fixture_log_free(&c);
}

/* A boot application whose type was changed to hide it from the rule is
 * still judged: its data is not proven, and it is on PCR 4. */
static void test_relabeled_application(void **state)
{
	const TPML_PCR_SELECTION *both = sel("sha256:0-9,14+sha1:0-9,14");
	struct fixture_log c;
	size_t i;
	uint8_t *t;

	(void)state;
	fixture_log_load("tpm2tools-event-gce-ubuntu-2104-log.bin", &c);
	i = find(&c, 4, EVENTLOG_EV_EFI_BOOT_SERVICES_APPLICATION);
	t = c.buf + c.log->events[i].offset + 4;
	set32(t, EV_EFI_BOOT_SERVICES_DRIVER);
	fixture_log_reparse(&c);
	assert_int_equal(c.log->events[i].type, EV_EFI_BOOT_SERVICES_DRIVER);
	judge("{\"boot_applications\": []}", c.log, both, REPLAYED, "its data is not proven, and its digest is not "
								    "an allowed boot application");
	/* Relabeled as an EFI action, whose data would prove it: it does not. */
	set32(t, EVENTLOG_EV_EFI_ACTION);
	fixture_log_reparse(&c);
	assert_int_equal(c.log->events[i].type, EVENTLOG_EV_EFI_ACTION);
	judge("{\"boot_applications\": []}", c.log, both, REPLAYED, "its data is not proven");
	fixture_log_free(&c);
}

/* Events of PCRs the quote does not prove are not judged; a rule about such
 * a PCR fails instead of passing everything. */
static void test_unquoted_pcr(void **state)
{
	static const char app[] = "an EFI application";
	static const char json[] = "{\"boot_applications\": []}";
	struct eventlog *log;
	struct mklog m;

	(void)state;
	mk_start(&m);
	mk_event(&m, 2, EVENTLOG_EV_EFI_BOOT_SERVICES_APPLICATION, app, sizeof(app));
	mk_separator(&m, 4);
	log = mk_parse(&m);
	judge(json, log, sel("sha256:4,7+sha1:4,7"), REPLAYED, NULL);
	judge(json, log, sel("sha256:2,4,7"), REPLAYED & ~(1u << 2), NULL);
	judge(json, log, sel("sha256:2,4,7"), REPLAYED, "event 1 (PCR 2, type 0x80000003): boot application not "
							  "allowed");
	judge(json, log, sel("sha256:2,7"), REPLAYED, "boot applications, but PCR 4 is not quoted and replayed");
	judge("{\"digests\": {\"8\": []}}", log, sel("sha256:0-9"), REPLAYED & ~(1u << 8),
	      "digests for PCR 8, which is not quoted and replayed");
	eventlog_free(log);
}

/* What a selection cannot check is refused when the verifier starts. */
static void selection_fails(const char *json, const char *pcrs, uint32_t replayed, const char *needle)
{
	struct bootpolicy *p = policy(json);

	assert_int_equal(bootpolicy_check_selection(p, sel(pcrs), replayed), AERR_CONFIG);
	bootpolicy_free(p);
	detail_has(path);
	detail_has(needle);
}

static void test_check_selection(void **state)
{
	static const char sha1_4[] = "\"sha1:0000000000000000000000000000000000000000\"";
	char json[512];
	struct bootpolicy *p;

	(void)state;
	snprintf(json, sizeof(json), "{\"secure_boot\": true, \"digests\": {\"4\": [%s], \"0\": []}, "
		 "\"boot_applications\": [%s]}", sha1_4, sha1_4);
	p = policy(json);
	assert_int_equal(bootpolicy_check_selection(p, sel("sha1:0,4,7"), 0x91), 0);
	assert_int_equal(bootpolicy_check_selection(p, sel("sha256:0-23+sha1:0-9"), REPLAYED), 0);
	bootpolicy_free(p);
	p = policy("{}");
	assert_int_equal(bootpolicy_check_selection(p, sel("sha256:10"), 0), 0);
	bootpolicy_free(p);

	selection_fails("{\"digests\": {\"8\": []}}", "sha256:0-7", REPLAYED,
			"digests \"8\" needs PCR 8, which is not in the quoted pcrs");
	selection_fails("{\"digests\": {\"10\": []}}", "sha256:0-10", REPLAYED,
			"digests \"10\" needs PCR 10, which is not in eventlog_pcrs");
	snprintf(json, sizeof(json), "{\"digests\": {\"4\": [%s]}}", sha1_4);
	selection_fails(json, "sha256:0-9+sha1:0-3", REPLAYED,
			"digests \"4\" entry 0 is a sha1 digest, but pcrs does not quote PCR 4 in the sha1 bank");
	selection_fails("{\"boot_applications\": []}", "sha256:0-3,5-9", REPLAYED,
			"boot_applications needs PCR 4, which is not in the quoted pcrs");
	snprintf(json, sizeof(json), "{\"boot_applications\": [%s]}", sha1_4);
	selection_fails(json, "sha256:0-9", REPLAYED, "boot_applications entry 0 is a sha1 digest");
	selection_fails(on, "sha256:0-6+sha1:0-6", REPLAYED, "secure_boot needs PCR 7, which is not in the quoted pcrs");
	selection_fails(off, "sha256:0-7", 0x7f, "secure_boot needs PCR 7, which is not in eventlog_pcrs");
}

/* The heap over-read of issue #12: UnicodeNameLength 10 and a
 * VariableDataLength of 2^64 - 20 made 32 + 2 * nlen + dlen wrap to 32, so
 * a 32-byte event passed the bounds check and its name was read past the
 * end. The event's data is not proven either, which is what the check says. */
static void test_lengths_wrap(void **state)
{
	uint8_t *buf = malloc(64);
	struct eventlog *log = NULL;
	int sb = 7;

	(void)state;
	assert_non_null(buf);
	memset(buf, 0, 64);
	buf[0] = 7;
	memcpy(buf + 4, (const uint8_t[]){ 0x01, 0, 0, 0x80 }, 4);
	buf[28] = 32;
	memcpy(buf + 32, evdata_efi_global_variable, 16);
	buf[48] = 10;
	memcpy(buf + 56, (const uint8_t[]){ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8);
	assert_int_equal(eventlog_parse(buf, 64, &log), 0);
	assert_int_equal(bootpolicy_secure_boot(log, sel("sha1:7"), 1u << 7, &sb), AERR_LOG_POLICY);
	detail_has("event 0, a UEFI variable: its data does not match its PCR 7 digest");
	judge(on, log, sel("sha1:7"), 1u << 7, "a UEFI variable: its data does not match");
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
		cmocka_unit_test(test_forged_secure_boot),
		cmocka_unit_test(test_secure_boot_real_logs),
		cmocka_unit_test(test_relabelled_pcr7),
		cmocka_unit_test(test_secure_boot_rules),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_relabeled_application),
		cmocka_unit_test(test_unquoted_pcr),
		cmocka_unit_test(test_check_selection),
		cmocka_unit_test(test_lengths_wrap),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
