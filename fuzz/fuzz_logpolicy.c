/* The boot and IMA policies over fuzzed logs: what a verifier judges once a
 * log replayed to the quote. The first byte picks:
 *   bit 0 clear: a TCG boot event log, judged by three fixed boot policies
 *     (secure_boot true; secure_boot false with digests for PCRs 4 and 7;
 *     boot_applications) under the quoted selection and replayed PCRs of
 *     bits 1-2; with bit 3 the harness first rewrites every digest of every
 *     event whose type hashes its data to the hash of that data, so that
 *     proven data (SecureBoot, separators) reaches the policy with hostile
 *     contents, as a log of a host that extends what it likes would.
 *   bit 0 set: an IMA list (bit 1: ASCII sha256, else binary), template
 *     hashes verified, judged by a fixed allowlist.
 * Invariants: Secure Boot reads enabled only when a reader of the bytes,
 * independent of policy/bootpolicy.c, finds PCR 7's separator by its digests (the
 * first event whose digests in PCR 7's banks are those of a separator
 * value, whatever its type), every PCR 7 event before it with data proven
 * in those banks, and one of them SecureBoot=1; the secure_boot policy
 * passes exactly then; after the rewrite, every event whose type hashes its
 * data is proven. */
#include <stdlib.h>
#include <string.h>

#include "policy/bootpolicy.h"
#include "array.h"
#include "evdata.h"
#include "eventlog.h"
#include "fuzz.h"
#include "ima.h"
#include "policy/imapolicy.h"

#define SEP256 "\"sha256:df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119\""
#define SEP1 "\"sha1:9069ca78e7450a285173431b3e52c5c25299e473\""
#define CALLING256 "\"sha256:3d6772b4f84ed47595d72a2c4c5ffd15f5bb72c7507fe26f2aaee2c69d5633ba\""
#define GCE_APP256 "\"sha256:d99c93fcb042dbe52707bbde371c75fcf081dd5b0c88a195d44cc57536f6f521\""
#define GCE_APP1 "\"sha1:4f9604e61091095594c206c8a404afe187a92586\""

static const char *const boot_json[] = {
	"{ \"secure_boot\": true }",
	"{ \"secure_boot\": false, \"digests\": { \"4\": [" SEP256 ", " CALLING256 ", " SEP1 "], \"7\": [" SEP256
	", " SEP1 "] } }",
	"{ \"boot_applications\": [" GCE_APP256 ", " GCE_APP1 "] }",
};
#define NPOLICIES ARRAY_LEN(boot_json)

static const char ima_json[] =
	"{ \"allow\": { \"boot_aggregate\": [\"sha1:0000000000000000000000000000000000000000\"],\n"
	"              \"/usr/bin/bash\": [\"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"] },\n"
	"  \"exclude\": [\"^/tmp/\"], \"keyrings\": { \".ima\": [] } }\n";

/* Quoted selections and replayed PCRs: both banks; sha256 only; PCR 4 in the
 * sha1 bank only; PCR 7 quoted but not replayed. */
static const struct {
	const char *pcrs;
	uint32_t replayed;
} quotes[4] = {
	{ "sha256:0-9,14+sha1:0-9,14", 0x43ff },
	{ "sha256:0-9,14", 0x43ff },
	{ "sha256:0-3,5-9+sha1:4,7", 0x43ff },
	{ "sha256:0-9+sha1:0-9", 0x437f },
};

static struct bootpolicy *boot[NPOLICIES];
static struct imapolicy *ima;
static TPML_PCR_SELECTION sel[4];

int fuzz_logpolicy_init(void)
{
	const char *path;

	fuzz_quiet();
	for (size_t i = 0; i < NPOLICIES; i++)
		if (!(path = fuzz_memfile(3, (const uint8_t *)boot_json[i], strlen(boot_json[i]))) ||
		    bootpolicy_load(path, &boot[i]) != 0)
			return -1;
	if (!(path = fuzz_memfile(3, (const uint8_t *)ima_json, sizeof(ima_json) - 1)) || imapolicy_load(path, &ima) != 0)
		return -1;
	for (size_t i = 0; i < 4; i++)
		if (pcrsel_parse(quotes[i].pcrs, &sel[i]) != 0)
			return -1;
	return 0;
}

/* Every digest of every event whose type hashes its data becomes the hash
 * of that data (buf is the log's own writable copy). */
static void honest_digests(uint8_t *buf, const struct eventlog *log)
{
	for (size_t i = 0; i < log->nevents; i++) {
		const struct eventlog_event *e = &log->events[i];
		TPM2_ALG_ID banks[EVENTLOG_MAX_ALGS];
		size_t n = 0;

		if (!evdata_hashes_data(e->type))
			continue;
		for (uint32_t k = 0; k < e->ndigests; k++) {
			const struct eventlog_digest *d = &e->digests[k];

			if (crypto_digest_size(d->alg) != d->size)
				continue;
			FUZZ_CHECK(crypto_digest(d->alg, e->data, e->data_len, buf + (d->value - buf)) == 0);
			banks[n++] = d->alg;
		}
		if (n)
			FUZZ_CHECK(evdata_verify(e, banks, n) == 0);
	}
}

/* 1 when, in each of the n banks, e's digest is the hash of v (4 bytes). */
static int digests_are(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t n, const uint8_t v[4])
{
	uint8_t h[CRYPTO_MAX_DIGEST];

	for (size_t b = 0; b < n; b++) {
		const struct eventlog_digest *d = NULL;

		for (uint32_t k = 0; k < e->ndigests; k++)
			if (e->digests[k].alg == banks[b])
				d = &e->digests[k];
		if (!d || d->size != crypto_digest_size(banks[b]) || crypto_digest(banks[b], v, 4, h) != 0 ||
		    memcmp(h, d->value, d->size) != 0)
			return 0;
	}
	return 1;
}

/* Independently of policy/bootpolicy.c: PCR 7's separator is its first extended
 * event whose digests in every bank proving PCR 7 are those of 00000000,
 * 01000000 or FFFFFFFF; every PCR 7 event before it has data proven in
 * those banks, and one of them is an EV_EFI_VARIABLE_DRIVER_CONFIG of
 * exactly the global variable SecureBoot holding 1. */
static int sb_enabled_oracle(const struct eventlog *log, size_t q)
{
	static const uint8_t name[] = { 'S', 0, 'e', 0, 'c', 0, 'u', 0, 'r', 0, 'e', 0, 'B', 0, 'o', 0, 'o', 0, 't', 0 };
	static const uint8_t lens[16] = { 10, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t seps[3][4] = { { 0, 0, 0, 0 }, { 1, 0, 0, 0 }, { 0xff, 0xff, 0xff, 0xff } };
	TPM2_ALG_ID banks[PCRSEL_MAX_BANKS];
	size_t n = evdata_banks(&sel[q], quotes[q].replayed, 7, banks);
	int enabled = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < log->nevents; i++) {
		const struct eventlog_event *e = &log->events[i];

		if (e->pcr != 7 || e->type == EVENTLOG_EV_NO_ACTION)
			continue;
		if (digests_are(e, banks, n, seps[0]) || digests_are(e, banks, n, seps[1]) ||
		    digests_are(e, banks, n, seps[2]))
			return enabled;
		if (evdata_verify(e, banks, n) != 0)
			return 0;
		if (e->type == EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG && e->data_len == 53 &&
		    !memcmp(e->data, evdata_efi_global_variable, 16) && !memcmp(e->data + 16, lens, 16) &&
		    !memcmp(e->data + 32, name, 20) && e->data[52] == 1)
			enabled = 1;
	}
	return 0;
}

static void judge_boot(const uint8_t *data, size_t size, uint8_t how)
{
	size_t q = (how >> 1) & 3;
	struct eventlog *log = NULL;
	uint8_t *buf;
	int sb = -1, r;

	/* A copy of exactly size bytes: the rewrite writes into it, and the
	 * sanitizers see reads past its end. */
	if (!(buf = malloc(size ? size : 1)))
		return;
	memcpy(buf, data, size);
	if (eventlog_parse(buf, size, &log) != 0) {
		FUZZ_CHECK(log == NULL);
		free(buf);
		return;
	}
	if (how & 8)
		honest_digests(buf, log);
	r = bootpolicy_secure_boot(log, &sel[q], quotes[q].replayed, &sb);
	FUZZ_CHECK(r == 0 || (r == AERR_LOG_POLICY && sb == -1) || r == AERR_CRYPTO);
	FUZZ_CHECK(r != 0 || sb == -1 || sb == 0 || sb == 1);
	if (r == 0 && sb == 1)
		FUZZ_CHECK(sb_enabled_oracle(log, q));
	/* boot[0] is secure_boot alone: it passes exactly when enabled. */
	FUZZ_CHECK((bootpolicy_check(boot[0], log, &sel[q], quotes[q].replayed) == 0) == (r == 0 && sb == 1));
	for (size_t i = 1; i < NPOLICIES; i++)
		fuzz_ignore(bootpolicy_check(boot[i], log, &sel[q], quotes[q].replayed));
	eventlog_free(log);
	free(buf);
}

static void judge_ima(const uint8_t *data, size_t size, int ascii)
{
	struct ima_list *list = NULL;

	if ((ascii ? ima_ascii_parse((const char *)data, size, TPM2_ALG_SHA256, &list) : ima_parse(data, size, 0, &list)) !=
	    0) {
		FUZZ_CHECK(list == NULL);
		return;
	}
	if (ima_list_verify(list, NULL) == 0)
		fuzz_ignore(imapolicy_check(ima, list, list->nentries));
	ima_list_free(list);
}

int fuzz_logpolicy(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		judge_ima(data + 1, size - 1, data[0] & 2);
	else
		judge_boot(data + 1, size - 1, data[0]);
	return 0;
}
