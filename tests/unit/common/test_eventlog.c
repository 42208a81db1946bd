/* eventlog_parse / eventlog_replay / eventlog_check_pcrs against real boot
 * event logs from several machines and firmware (shared testdata), checked
 * against an independent implementation: the "pcrs:" section that
 * tpm2_eventlog 5.4 printed for each log (NAME.tpm2_eventlog.yaml).
 *
 * Two logs hit bugs of tpm2_eventlog 5.4 in PCR 0 (for these the test proves
 * the yaml's PCR 0 is what 5.4's bug computes, and checks ours against the
 * correct rule, computed here with OpenSSL directly):
 * - keylime-binary_bios_measurements.bin has a StartupLocality event
 *   (locality 3): 5.4 ignores it and also extends the EV_NO_ACTION event's
 *   zero digests (tpm2-tools issue #3224, PRs #3230 and #3242).
 * - tss-hcrtm.bin has an H-CRTM event: PCR 0 starts at locality 4. tpm2-tss
 *   test/unit/fapi-eventlog.c pins PCR 0 (sha1) read from that machine:
 *   15f4e6ca457d1af6bc49511a93ba3500ad69acc5; 5.4 replays from zero.
 *
 * acs-tpm2bios.bin (no yaml: 5.4 rejects it because the Spec ID event's
 * legacy digest field is not zeros) is checked against tpm2_eventlog 5.4's
 * output for a copy with that field zeroed (the field is never extended). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "array.h"
#include "eventlog.h"
#include "fixtures.h"

#define ALL_PCRS 0x00ffffffu

/* ---- helpers ---- */

static uint8_t *load(const char *name, size_t *len)
{
	char rel[512];
	uint8_t *buf;

	snprintf(rel, sizeof(rel), "eventlog/%s", name);
	buf = fixture_read(fixture_testdata(rel), len);
	if (!buf)
		fail_msg("cannot read %s", fixture_testdata(rel));
	return buf;
}

static char *load_text(const char *name)
{
	size_t len;
	uint8_t *buf = load(name, &len);

	buf[len] = 0; /* fixture_read leaves one spare byte */
	return (char *)buf;
}

static TPM2_ALG_ID yaml_alg(const char *name)
{
	if (strcmp(name, "sha1") == 0)
		return TPM2_ALG_SHA1;
	if (strcmp(name, "sha256") == 0)
		return TPM2_ALG_SHA256;
	if (strcmp(name, "sha384") == 0)
		return TPM2_ALG_SHA384;
	if (strcmp(name, "sha512") == 0)
		return TPM2_ALG_SHA512;
	if (strcmp(name, "sm3_256") == 0)
		return TPM2_ALG_SM3_256;
	fail_msg("unknown bank %s in yaml", name);
	return TPM2_ALG_ERROR;
}

/* The "pcrs:" section of tpm2_eventlog's yaml: "  BANK:" lines, then
 * "    N  : 0xHEX" lines. Simple line parsing; anything unexpected fails. */
static void parse_yaml_pcrs(const char *text, struct pcr_values *out)
{
	const char *p = strstr(text, "\npcrs:\n");
	struct pcr_bank *bank = NULL;

	memset(out, 0, sizeof(*out));
	assert_non_null(p);
	p += strlen("\npcrs:\n");
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char line[256];

		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = 0;
		p += n + (eol ? 1 : 0);
		if (n == 0)
			continue;
		if (strncmp(line, "    ", 4) == 0) {
			unsigned idx;
			char hex[160];
			uint8_t v[CRYPTO_MAX_DIGEST];

			assert_non_null(bank);
			assert_int_equal(sscanf(line, " %u : 0x%159s", &idx, hex), 2);
			assert_true(idx < PCRSEL_NUM_PCRS);
			assert_int_equal(fixture_unhex(hex, v, sizeof(v)), (int)crypto_digest_size(bank->alg));
			memcpy(bank->value[idx], v, crypto_digest_size(bank->alg));
			bank->mask |= 1u << idx;
		} else if (strncmp(line, "  ", 2) == 0 && line[n - 1] == ':') {
			line[n - 1] = 0;
			assert_true(out->nbanks < PCRSEL_MAX_BANKS);
			bank = &out->banks[out->nbanks++];
			bank->alg = yaml_alg(line + 2);
		} else {
			fail_msg("unexpected yaml pcrs line: %s", line);
		}
	}
}

static const EVP_MD *test_md(TPM2_ALG_ID alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1: return EVP_sha1();
	case TPM2_ALG_SHA256: return EVP_sha256();
	case TPM2_ALG_SHA384: return EVP_sha384();
	case TPM2_ALG_SHA512: return EVP_sha512();
	case TPM2_ALG_SM3_256: return EVP_get_digestbyname("SM3");
	default: return NULL;
	}
}

/* Fold one PCR over the parsed events, here with OpenSSL, under a chosen
 * rule: initial last byte = locality, EV_NO_ACTION extended or not. */
static void fold(const struct eventlog *log, TPM2_ALG_ID alg, uint32_t pcr, uint8_t locality, int extend_no_action,
		 uint8_t *out)
{
	const EVP_MD *md = test_md(alg);
	size_t size = (size_t)EVP_MD_get_size(md);
	uint8_t buf[2 * CRYPTO_MAX_DIGEST];

	memset(out, 0, size);
	out[size - 1] = locality;
	for (size_t n = 1; n < log->nevents; n++) {
		const struct eventlog_event *ev = &log->events[n];

		if (ev->pcr != pcr || (ev->type == EVENTLOG_EV_NO_ACTION && !extend_no_action))
			continue;
		for (uint32_t i = 0; i < ev->ndigests; i++) {
			if (ev->digests[i].alg != alg)
				continue;
			memcpy(buf, out, size);
			memcpy(buf + size, ev->digests[i].value, size);
			assert_int_equal(EVP_Digest(buf, 2 * size, out, NULL, md, NULL), 1);
		}
	}
}

static void bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (memcmp(a, b, n) != 0)
		fail_msg("values differ");
}

static void detail_has(const char *what)
{
	if (!strstr(err_detail(), what))
		fail_msg("err_detail \"%s\" lacks \"%s\"", err_detail(), what);
}

/* ---- one test per log with a tpm2_eventlog yaml ---- */

struct pcr0_quirk {
	const char *file;
	uint8_t locality;          /* the correct PCR 0 start */
	const char *real_sha1_pcr0; /* PCR 0 read from the machine, when published */
};

static const struct pcr0_quirk quirks[] = {
	{ "keylime-binary_bios_measurements.bin", 3, NULL },
	{ "tss-hcrtm.bin", 4, "15f4e6ca457d1af6bc49511a93ba3500ad69acc5" },
};

static const struct pcr0_quirk *quirk_for(const char *file)
{
	for (size_t i = 0; i < ARRAY_LEN(quirks); i++)
		if (strcmp(quirks[i].file, file) == 0)
			return &quirks[i];
	return NULL;
}

static void check_against_yaml(const char *file, const uint8_t *buf, size_t len, const char *yaml_text)
{
	const struct pcr0_quirk *q = quirk_for(file);
	struct eventlog *log = NULL;
	struct pcr_values yaml;
	uint32_t mask = ALL_PCRS;
	int r;

	parse_yaml_pcrs(yaml_text, &yaml);
	r = eventlog_parse(buf, len, &log);
	if (r != 0)
		fail_msg("%s: %s: %s", file, err_str(r), err_detail());
	for (uint32_t b = 0; b < yaml.nbanks; b++) {
		const struct pcr_bank *bank = &yaml.banks[b];
		uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
		size_t size = crypto_digest_size(bank->alg);
		uint32_t ext = 0;

		r = eventlog_replay(log, bank->alg, v, &ext);
		if (r != 0)
			fail_msg("%s bank 0x%04x: %s: %s", file, bank->alg, err_str(r), err_detail());
		/* tpm2_eventlog lists exactly the PCRs that events extended. */
		assert_int_equal(ext, bank->mask);
		for (int i = 0; i < PCRSEL_NUM_PCRS; i++) {
			uint8_t expect[CRYPTO_MAX_DIGEST];

			if (!(bank->mask & (1u << i)))
				continue;
			if (i == 0 && q) {
				/* The yaml is what 5.4's rule gives; ours must differ and follow the spec. */
				fold(log, bank->alg, 0, 0, 1, expect);
				bytes_equal(expect, bank->value[0], size);
				assert_memory_not_equal(v[0], bank->value[0], size);
				fold(log, bank->alg, 0, q->locality, 0, expect);
				bytes_equal(v[0], expect, size);
				if (q->real_sha1_pcr0 && bank->alg == TPM2_ALG_SHA1) {
					assert_int_equal(fixture_unhex(q->real_sha1_pcr0, expect, sizeof(expect)), 20);
					bytes_equal(v[0], expect, 20);
				}
				continue;
			}
			if (memcmp(v[i], bank->value[i], size) != 0)
				fail_msg("%s bank 0x%04x PCR %d differs from tpm2_eventlog", file, bank->alg, i);
		}
	}
	if (q) {
		mask &= ~1u;
		/* The helper rejects 5.4's PCR 0 and names it. */
		assert_int_equal(eventlog_check_pcrs(log, &yaml, ALL_PCRS), AERR_EVENTLOG);
		detail_has(" PCR 0 ");
	}
	assert_int_equal(eventlog_check_pcrs(log, &yaml, mask), 0);
	/* Tamper with each listed value in turn: the helper names bank and PCR. */
	for (uint32_t b = 0; b < yaml.nbanks; b++) {
		for (int i = 0; i < PCRSEL_NUM_PCRS; i++) {
			char want[64];

			if (!(yaml.banks[b].mask & mask & (1u << i)))
				continue;
			yaml.banks[b].value[i][3] ^= 0x40;
			assert_int_equal(eventlog_check_pcrs(log, &yaml, mask), AERR_EVENTLOG);
			snprintf(want, sizeof(want), "%s PCR %d ", crypto_alg_name(yaml.banks[b].alg), i);
			detail_has(want);
			yaml.banks[b].value[i][3] ^= 0x40;
		}
	}
	eventlog_free(log);
}

static void test_yaml_log(void **state)
{
	const char *file = *state;
	char yname[512];
	size_t len;
	uint8_t *buf = load(file, &len);
	char *yaml;

	snprintf(yname, sizeof(yname), "%s.tpm2_eventlog.yaml", file);
	yaml = load_text(yname);
	check_against_yaml(file, buf, len, yaml);
	free(yaml);
	free(buf);
}

/* ---- the data set itself ---- */

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* No log is silently skipped: every .bin has a yaml, or is acs (checked
 * against tpm2_eventlog on a fixed copy below), or is a bad-* negative case. */
static void test_every_log_classified(void **state)
{
	DIR *d = opendir(fixture_testdata("eventlog"));
	struct dirent *e;
	int with_yaml = 0, bad = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char y[600];
		size_t len;
		uint8_t *probe;

		if (!has_suffix(e->d_name, ".bin"))
			continue;
		snprintf(y, sizeof(y), "eventlog/%s.tpm2_eventlog.yaml", e->d_name);
		if ((probe = fixture_read(fixture_testdata(y), &len))) {
			free(probe);
			with_yaml++;
		} else if (strncmp(e->d_name, "bad-", 4) == 0) {
			bad++;
		} else if (strcmp(e->d_name, "acs-tpm2bios.bin") != 0) {
			fail_msg("%s: no yaml and no test", e->d_name);
		}
	}
	closedir(d);
	assert_true(with_yaml >= 16);
	assert_int_equal(bad, 2);
}

/* ---- acs-tpm2bios.bin (IBM ACS sample, OpenPOWER Hostboot/Skiboot firmware) ---- */

/* tpm2_eventlog 5.4 on a copy of acs-tpm2bios.bin with bytes 8..27 (the
 * Spec ID event's digest field) zeroed: its "pcrs:" section. */
static const char acs_fixed_yaml[] =
	"\npcrs:\n"
	"  sha1:\n"
	"    0  : 0xf719ce202db9da46e7faa9c1a82bd0c338b43399\n"
	"    1  : 0x9cd9a7c7d1837c758e0cb89f143d56a92bed4a2b\n"
	"    2  : 0x2094dbbfa39d609b6d0b007367f1cbdd400d2ed2\n"
	"    3  : 0xf719ce202db9da46e7faa9c1a82bd0c338b43399\n"
	"    4  : 0x39a0d2d33c40aa6c6cd4c95b88ea440746103df6\n"
	"    5  : 0x88e28ab3c80b56d5ca3debd38083cef582d2155b\n"
	"    6  : 0x88e28ab3c80b56d5ca3debd38083cef582d2155b\n"
	"    7  : 0xf719ce202db9da46e7faa9c1a82bd0c338b43399\n"
	"  sha256:\n"
	"    0  : 0x76a21ebf19b31966352d4a088ac058da21d84cc60078e094958bb56c37715dc1\n"
	"    1  : 0x668215b5305d0e983216736037e6509ddc5c6dcae9d2d74d681666a9d1bf21f8\n"
	"    2  : 0x2d00e1261b48e2b3d6ed32556c3345679d72b07dbb17f4c033bf81de1879e9b6\n"
	"    3  : 0x76a21ebf19b31966352d4a088ac058da21d84cc60078e094958bb56c37715dc1\n"
	"    4  : 0xedd89bdc951650758838e7f242be89eb4b7c4a6d4d5d9db8555179732854e46a\n"
	"    5  : 0xc66d87613b4ba790d866442fb7fafa294e6776cfd4e3460c0596927c289e8871\n"
	"    6  : 0xc66d87613b4ba790d866442fb7fafa294e6776cfd4e3460c0596927c289e8871\n"
	"    7  : 0x76a21ebf19b31966352d4a088ac058da21d84cc60078e094958bb56c37715dc1\n";

static void test_acs(void **state)
{
	static const uint8_t ff[4] = { 0xff, 0xff, 0xff, 0xff };
	struct eventlog *log = NULL;
	uint8_t sha1[20], sha256[32];
	size_t len;
	uint8_t *buf = load("acs-tpm2bios.bin", &len);

	(void)state;
	assert_int_equal(eventlog_parse(buf, len, &log), 0);
	assert_int_equal(log->format, EVENTLOG_FORMAT_CRYPTO_AGILE);
	assert_int_equal(log->specid_digest_nonzero, 1);
	assert_int_equal(log->platform_class, 1); /* server */
	assert_int_equal(log->uintn_size, 1);
	assert_int_equal(log->nalgs, 2);
	assert_int_equal(log->algs[0].alg, TPM2_ALG_SHA256);
	assert_int_equal(log->algs[1].alg, TPM2_ALG_SHA1);
	assert_int_equal(log->vendor_info_len, 4);
	assert_memory_equal(log->vendor_info, "IBM", 4);
	assert_int_equal(log->nevents, 27);
	/* Events 9-16 list sha1 before sha256 (not Spec ID order): both must be
	 * found by id. They measure the separator value 0xFFFFFFFF. */
	assert_int_equal(EVP_Digest(ff, 4, sha1, NULL, EVP_sha1(), NULL), 1);
	assert_int_equal(EVP_Digest(ff, 4, sha256, NULL, EVP_sha256(), NULL), 1);
	for (size_t n = 9; n <= 16; n++) {
		const struct eventlog_event *ev = &log->events[n];

		assert_int_equal(ev->ndigests, 2);
		assert_int_equal(ev->digests[0].alg, TPM2_ALG_SHA1);
		assert_memory_equal(ev->digests[0].value, sha1, 20);
		assert_int_equal(ev->digests[1].alg, TPM2_ALG_SHA256);
		assert_memory_equal(ev->digests[1].value, sha256, 32);
		assert_int_equal(ev->data_len, 4);
		assert_memory_equal(ev->data, ff, 4);
	}
	eventlog_free(log);
	check_against_yaml("acs-tpm2bios.bin", buf, len, acs_fixed_yaml);
	/* The fixed copy parses the same way, minus the flag. */
	memset(buf + 8, 0, 20);
	assert_int_equal(eventlog_parse(buf, len, &log), 0);
	assert_int_equal(log->specid_digest_nonzero, 0);
	eventlog_free(log);
	check_against_yaml("acs-tpm2bios.bin", buf, len, acs_fixed_yaml);
	free(buf);
}

/* ---- negative cases from the data set ---- */

static void test_bad_bogus(void **state)
{
	struct eventlog *log = (void *)1;
	size_t len;
	uint8_t *buf = load("bad-keylime-bogus.bin", &len);

	(void)state;
	assert_int_equal(eventlog_parse(buf, len, &log), AERR_PARSE);
	assert_null(log);
	detail_has("event 0 at offset 0");
	free(buf);
}

static void test_bad_empty(void **state)
{
	struct eventlog *log = (void *)1;
	size_t len;
	uint8_t *buf = load("bad-keylime-empty.bin", &len);

	(void)state;
	assert_int_equal(len, 0);
	assert_int_equal(eventlog_parse(buf, len, &log), AERR_PARSE);
	assert_null(log);
	detail_has("empty");
	free(buf);
}

/* ---- malformed variants of good logs ---- */

static int expect_fail(const uint8_t *buf, size_t len, int code, const char *detail)
{
	struct eventlog *log = NULL;
	int r = eventlog_parse(buf, len, &log);

	if (r != code)
		fail_msg("expected %s, got %s (%s)", err_str(code), err_str(r), err_detail());
	assert_null(log);
	if (detail)
		detail_has(detail);
	return r;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Every prefix: at an event boundary a valid shorter log, elsewhere a
 * precise error (trailing when even the fixed header does not fit). */
static void truncations(const char *file, size_t header)
{
	struct eventlog *full = NULL, *log = NULL;
	size_t len;
	uint8_t *buf = load(file, &len);

	assert_int_equal(eventlog_parse(buf, len, &full), 0);
	for (size_t l = 0; l < len; l++) {
		uint8_t *copy = malloc(l ? l : 1);
		size_t k = 0; /* events wholly inside the prefix */
		int r;

		memcpy(copy, buf, l);
		while (k < full->nevents && (k + 1 == full->nevents ? len : full->events[k + 1].offset) <= l)
			k++;
		r = eventlog_parse(copy, l, &log);
		if (k > 0 && (k == full->nevents ? len : full->events[k].offset) == l) {
			if (r != 0)
				fail_msg("%s prefix %zu (event boundary): %s", file, l, err_detail());
			assert_int_equal(log->nevents, k);
			eventlog_free(log);
			log = NULL;
		} else if (k == 0) {
			if (r != AERR_PARSE)
				fail_msg("%s prefix %zu: got %d (%s)", file, l, r, err_detail());
		} else {
			char at[64];

			if (r != (l - full->events[k].offset < header ? AERR_TRAILING : AERR_PARSE))
				fail_msg("%s prefix %zu: got %d (%s)", file, l, r, err_detail());
			snprintf(at, sizeof(at), "event %zu at offset %zu", k, full->events[k].offset);
			detail_has(at);
			assert_null(log);
		}
		free(copy);
	}
	eventlog_free(full);
	free(buf);
}

static void test_truncated_agile(void **state)
{
	(void)state;
	truncations("tpm2tools-event-sd-boot-fedora37.bin", 16);
	truncations("tpm2tools-event-uefiaction.bin", 16);
}

static void test_truncated_legacy(void **state)
{
	(void)state;
	truncations("tpm2tools-event-uefi-sha1-log.bin", 32);
}

/* Field positions of event n, found through the parse of the intact log. */
struct pos {
	size_t count;  /* TPML_DIGEST_VALUES.count */
	size_t alg0;   /* first digest's algorithm id */
	size_t size;   /* eventSize */
};

static struct pos event_pos(const struct eventlog *log, const uint8_t *buf, size_t n)
{
	struct pos p;

	p.count = log->events[n].offset + 8;
	p.alg0 = p.count + 4;
	p.size = (size_t)(log->events[n].data - buf) - 4;
	return p;
}

static void test_malformed_events(void **state)
{
	struct eventlog *log = NULL;
	size_t len;
	uint8_t *buf = load("tpm2tools-event-arch-linux.bin", &len);
	uint8_t *copy = malloc(len + 1);
	struct pos p;

	(void)state;
	assert_int_equal(eventlog_parse(buf, len, &log), 0);
	p = event_pos(log, buf, 3);
	assert_int_equal(log->nalgs, 2);

	/* Digest count above the declared algorithms, up to the maximum. */
	memcpy(copy, buf, len);
	put_u32(copy + p.count, 3);
	expect_fail(copy, len, AERR_PARSE, "event 3 at offset");
	detail_has("digest count 3 exceeds the 2 algorithms");
	put_u32(copy + p.count, 0xffffffffu);
	expect_fail(copy, len, AERR_PARSE, "digest count 4294967295");

	/* An algorithm the Spec ID event did not declare: its size is unknown. */
	memcpy(copy, buf, len);
	put_u16(copy + p.alg0, 0x1234);
	expect_fail(copy, len, AERR_PARSE, "digest algorithm 0x1234 not declared");
	put_u16(copy + p.alg0, TPM2_ALG_SHA384); /* known to us, not declared here */
	expect_fail(copy, len, AERR_PARSE, "digest algorithm sha384 not declared");
	/* The same bank twice. */
	memcpy(copy, buf, len);
	put_u16(copy + p.alg0 + 2 + 20, TPM2_ALG_SHA1);
	expect_fail(copy, len, AERR_PARSE, "two sha1 digests");

	/* Event sizes bigger than the log, and than what is left. */
	memcpy(copy, buf, len);
	put_u32(copy + p.size, (uint32_t)len);
	expect_fail(copy, len, AERR_PARSE, "event 3 at offset");
	detail_has("exceeds the");
	put_u32(copy + p.size, 0xffffffffu);
	expect_fail(copy, len, AERR_PARSE, "eventSize 4294967295 exceeds");
	memcpy(copy, buf, len);
	p = event_pos(log, buf, log->nevents - 1);
	put_u32(copy + p.size, log->events[log->nevents - 1].data_len + 1);
	expect_fail(copy, len, AERR_PARSE, "exceeds the");

	/* PCR index out of range on an extending event. */
	memcpy(copy, buf, len);
	put_u32(copy + log->events[5].offset, 24);
	expect_fail(copy, len, AERR_PARSE, "PCR index 24 out of range");

	/* One trailing byte. */
	memcpy(copy, buf, len);
	copy[len] = 0;
	{
		char want[64];

		snprintf(want, sizeof(want), "event %zu at offset %zu: 1 bytes left", log->nevents, len);
		expect_fail(copy, len + 1, AERR_TRAILING, want);
	}
	eventlog_free(log);
	free(copy);
	free(buf);
}

static void test_event_size_limit(void **state)
{
	struct eventlog *log = NULL;
	size_t len, big;
	uint8_t *buf = load("tpm2tools-event-uefiaction.bin", &len);
	uint8_t *copy;
	struct pos p;

	(void)state;
	assert_int_equal(eventlog_parse(buf, len, &log), 0);
	p = event_pos(log, buf, 1);
	/* The last event grows beyond the per-event limit; the log holds it all. */
	big = len + EVENTLOG_MAX_EVENT_SIZE + 1;
	copy = calloc(1, big);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	put_u32(copy + p.size, log->events[1].data_len + EVENTLOG_MAX_EVENT_SIZE + 1);
	expect_fail(copy, big, AERR_TOO_LARGE, "exceeds the limit");
	eventlog_free(log);
	free(copy);
	free(buf);
}

/* Spec ID event variants; arch-linux declares sha1, sha256 (offset 0x38 = count). */
static void test_malformed_specid(void **state)
{
	size_t len;
	uint8_t *buf = load("tpm2tools-event-arch-linux.bin", &len);
	uint8_t *copy = malloc(len);

	(void)state;
	assert_int_equal(buf[0x38], 2);
	memcpy(copy, buf, len);
	put_u32(copy + 0x38, 0);
	expect_fail(copy, len, AERR_PARSE, "numberOfAlgorithms is 0");
	put_u32(copy + 0x38, 9);
	expect_fail(copy, len, AERR_PARSE, "numberOfAlgorithms 9 exceeds");
	put_u32(copy + 0x38, 3); /* reads into vendorInfoSize as an algorithm */
	expect_fail(copy, len, AERR_PARSE, "Spec ID event");
	memcpy(copy, buf, len);
	put_u16(copy + 0x42, 31); /* sha256 (second) declared 31 bytes */
	expect_fail(copy, len, AERR_PARSE, "sha256 declared with digestSize 31, not 32");
	memcpy(copy, buf, len);
	put_u16(copy + 0x40, TPM2_ALG_SHA1);
	put_u16(copy + 0x42, 20);
	expect_fail(copy, len, AERR_PARSE, "algorithm sha1 declared twice");
	memcpy(copy, buf, len);
	copy[0x37] = 3;
	expect_fail(copy, len, AERR_PARSE, "uintnSize 3");
	memcpy(copy, buf, len);
	copy[0x44] = 1; /* vendorInfoSize past the event's end */
	expect_fail(copy, len, AERR_PARSE, "vendorInfo");
	memcpy(copy, buf, len);
	put_u32(copy + 0, 1); /* Spec ID event not on PCR 0 */
	expect_fail(copy, len, AERR_PARSE, "must be 0");
	free(copy);
	free(buf);
}

/* An algorithm unknown to us, declared with its size, is carried: the other
 * banks still replay to tpm2_eventlog's values; that bank cannot replay. */
static void test_unknown_declared_alg(void **state)
{
	static const char file[] = "tpm2tools-event-gce-ubuntu-2104-log.bin";
	struct eventlog *log = NULL;
	uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	char *yaml = load_text("tpm2tools-event-gce-ubuntu-2104-log.bin.tpm2_eventlog.yaml");
	size_t len;
	uint8_t *buf = load(file, &len);
	struct pcr_values want;
	int renamed = 0;

	(void)state;
	assert_int_equal(eventlog_parse(buf, len, &log), 0);
	assert_int_equal(log->algs[2].alg, TPM2_ALG_SHA384);
	/* Rename sha384 to 0x00fe in the Spec ID event (0x3c + 2*4) and in every event. */
	put_u16(buf + 0x3c + 8, 0x00fe);
	for (size_t n = 1; n < log->nevents; n++)
		for (uint32_t i = 0; i < log->events[n].ndigests; i++)
			if (log->events[n].digests[i].alg == TPM2_ALG_SHA384) {
				put_u16((uint8_t *)log->events[n].digests[i].value - 2, 0x00fe);
				renamed++;
			}
	assert_true(renamed > 100);
	eventlog_free(log);
	log = NULL;
	assert_int_equal(eventlog_parse(buf, len, &log), 0);
	assert_int_equal(log->algs[2].alg, 0x00fe);
	assert_int_equal(log->algs[2].size, 48);
	assert_int_equal(eventlog_replay(log, 0x00fe, v, NULL), AERR_UNSUPPORTED);
	detail_has("0x00fe");
	assert_int_equal(eventlog_replay(log, TPM2_ALG_SHA512, v, NULL), AERR_NOT_FOUND);
	detail_has("sha512");
	parse_yaml_pcrs(yaml, &want);
	/* yaml lists sha1, sha256, sha384: keep the first two. */
	assert_int_equal(want.banks[2].alg, TPM2_ALG_SHA384);
	want.nbanks = 2;
	assert_int_equal(eventlog_check_pcrs(log, &want, ALL_PCRS), 0);
	want.nbanks = 3;
	want.banks[2].alg = 0x00fe; /* a quote of a bank we cannot replay */
	assert_int_equal(eventlog_check_pcrs(log, &want, ALL_PCRS), AERR_UNSUPPORTED);
	eventlog_free(log);
	free(buf);
	free(yaml);
}

/* A bank declared but missing from an extending event cannot be replayed. */
static void test_bank_missing_in_event(void **state)
{
	struct eventlog *log = NULL;
	uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	size_t len;
	uint8_t *buf = load("tpm2tools-event-uefiaction.bin", &len);

	(void)state;
	assert_int_equal(eventlog_parse(buf, len, &log), 0);
	assert_int_equal(log->nalgs, 4);
	assert_int_equal(log->events[1].ndigests, 2);
	assert_int_equal(eventlog_replay(log, TPM2_ALG_SHA384, v, NULL), AERR_PARSE);
	detail_has("event 1 at offset 77 (PCR 4): no sha384 digest");
	eventlog_free(log);
	free(buf);
}

/* StartupLocality and H-CRTM rules, on the real logs that carry them. */
static void test_locality_rules(void **state)
{
	struct eventlog *log = NULL;
	size_t len, hlen;
	uint8_t *buf = load("keylime-binary_bios_measurements.bin", &len);
	uint8_t *h = load("tss-hcrtm.bin", &hlen);
	uint8_t *copy = malloc(len);
	uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST], expect[32];
	const struct eventlog_event *loc;

	(void)state;
	assert_int_equal(eventlog_parse(buf, len, &log), 0);
	assert_int_equal(log->has_startup_locality, 1);
	assert_int_equal(log->startup_locality, 3);
	assert_int_equal(log->pcr0_locality, 3);
	loc = &log->events[1];
	assert_int_equal(loc->data_len, 17);
	memcpy(copy, buf, len);
	copy[loc->data - buf + 16] = 0; /* locality 0: PCR 0 from zeros */
	eventlog_free(log);
	assert_int_equal(eventlog_parse(copy, len, &log), 0);
	assert_int_equal(eventlog_replay(log, TPM2_ALG_SHA256, v, NULL), 0);
	fold(log, TPM2_ALG_SHA256, 0, 0, 0, expect);
	assert_memory_equal(v[0], expect, 32);
	loc = &log->events[1];
	copy[loc->data - copy + 16] = 5;
	expect_fail(copy, len, AERR_PARSE, "StartupLocality 5 is not a locality");
	copy[loc->data - copy + 16] = 3;
	put_u32(copy + loc->offset, 1);
	expect_fail(copy, len, AERR_PARSE, "StartupLocality event on PCR 1");
	/* Moved after PCR 0's first extend: swap events 1 and 2 wholesale. */
	{
		size_t a = log->events[1].offset, b = log->events[2].offset, c = log->events[3].offset;

		memcpy(copy, buf, len);
		memcpy(copy + a, buf + b, c - b);
		memcpy(copy + a + (c - b), buf + a, b - a);
		expect_fail(copy, len, AERR_PARSE, "StartupLocality event after PCR 0 was extended");
	}
	eventlog_free(log);
	log = NULL;

	/* H-CRTM */
	assert_int_equal(eventlog_parse(h, hlen, &log), 0);
	assert_int_equal(log->hcrtm, 1);
	assert_int_equal(log->has_startup_locality, 0);
	assert_int_equal(log->pcr0_locality, 4);
	put_u32(h + log->events[1].offset, 1);
	expect_fail(h, hlen, AERR_PARSE, "H-CRTM event not on PCR 0");
	eventlog_free(log);
	free(copy);
	free(buf);
	free(h);
}

/* Flip bytes all over small real logs: errors or valid parses, never a crash
 * (run under ASan+UBSan). Whatever parses also replays without faults. */
static void test_byte_flips(void **state)
{
	static const char *const files[] = { "tpm2tools-event-uefiaction.bin", "tpm2tools-event-uefi-sha1-log.bin",
					     "tpm2tools-event-sd-boot-fedora37.bin" };
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	size_t parsed = 0, rejected = 0;

	(void)state;
	for (size_t f = 0; f < ARRAY_LEN(files); f++) {
		size_t len;
		uint8_t *buf = load(files[f], &len);
		uint8_t *copy = malloc(len);

		for (size_t i = 0; i < len; i++) {
			for (size_t m = 0; m < sizeof(masks); m++) {
				struct eventlog *log = NULL;
				int r;

				memcpy(copy, buf, len);
				copy[i] ^= masks[m];
				r = eventlog_parse(copy, len, &log);
				if (r != 0) {
					assert_true(r == AERR_PARSE || r == AERR_TRAILING || r == AERR_TOO_LARGE);
					assert_null(log);
					assert_true(strlen(err_detail()) > 0);
					rejected++;
					continue;
				}
				parsed++;
				for (uint32_t b = 0; b < log->nalgs; b++) {
					uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];

					int rr = eventlog_replay(log, log->algs[b].alg, v, NULL);

					assert_true(rr == 0 || rr == AERR_PARSE || rr == AERR_UNSUPPORTED);
				}
				eventlog_free(log);
			}
		}
		free(copy);
		free(buf);
	}
	assert_true(parsed > 0 && rejected > 0);
}

static void test_args(void **state)
{
	struct eventlog *log = (void *)1;
	uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];

	(void)state;
	assert_int_equal(eventlog_parse(NULL, 5, &log), AERR_INVALID_ARG);
	assert_null(log);
	assert_int_equal(eventlog_parse((const uint8_t *)"", 0, NULL), AERR_INVALID_ARG);
	assert_int_equal(eventlog_replay(NULL, TPM2_ALG_SHA256, v, NULL), AERR_INVALID_ARG);
	eventlog_free(NULL);
}

/* ---- main: one test per yaml-backed log, found in the directory ---- */

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_every_log_classified),
		cmocka_unit_test(test_acs),
		cmocka_unit_test(test_bad_bogus),
		cmocka_unit_test(test_bad_empty),
		cmocka_unit_test(test_truncated_agile),
		cmocka_unit_test(test_truncated_legacy),
		cmocka_unit_test(test_malformed_events),
		cmocka_unit_test(test_event_size_limit),
		cmocka_unit_test(test_malformed_specid),
		cmocka_unit_test(test_unknown_declared_alg),
		cmocka_unit_test(test_bank_missing_in_event),
		cmocka_unit_test(test_locality_rules),
		cmocka_unit_test(test_byte_flips),
		cmocka_unit_test(test_args),
	};
	enum { MAX_LOGS = 64 };
	struct CMUnitTest tests[MAX_LOGS + ARRAY_LEN(fixed)];
	static char names[MAX_LOGS][256];
	size_t n = 0;
	DIR *d = opendir(fixture_testdata("eventlog"));
	struct dirent *e;

	if (!d) {
		fprintf(stderr, "no test data at %s\n", fixture_testdata("eventlog"));
		return 1;
	}
	while ((e = readdir(d)) && n < MAX_LOGS) {
		char y[600];
		size_t len;
		uint8_t *probe;

		if (!has_suffix(e->d_name, ".bin"))
			continue;
		snprintf(y, sizeof(y), "eventlog/%s.tpm2_eventlog.yaml", e->d_name);
		if (!(probe = fixture_read(fixture_testdata(y), &len)))
			continue;
		free(probe);
		snprintf(names[n], sizeof(names[n]), "%s", e->d_name);
		tests[n] = (struct CMUnitTest){ names[n], test_yaml_log, NULL, NULL, names[n] };
		n++;
	}
	closedir(d);
	memcpy(tests + n, fixed, sizeof(fixed));
	n += ARRAY_LEN(fixed);
	return _cmocka_run_group_tests("eventlog", tests, n, NULL, NULL);
}
