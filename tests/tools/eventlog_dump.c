/* eventlog_dump: parse a TCG PC Client boot event log with our parser and
 * print its events and replayed PCRs (a debugging aid; the PCR section uses
 * the layout of tpm2_eventlog's "pcrs:" so the two can be diffed).
 *
 *   eventlog_dump [-q] LOG
 *
 * -q prints only the pcrs section. Exits 0 on success, 1 when the log is
 * rejected (prints "FAIL: <code text>: <detail>"), 2 on usage or I/O errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "eventlog.h"

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *n;
	size_t cap = 0, used = 0, got;
	int ok = 0;

	*len = 0;
	if (!f) {
		perror(path);
		return NULL;
	}
	/* Always one free byte so an empty file still yields a buffer. */
	do {
		if (used + 1 >= cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > 2u * EVENTLOG_MAX_LOG_SIZE || !(n = realloc(buf, cap)))
				goto out;
			buf = n;
		}
		got = fread(buf + used, 1, cap - used - 1, f);
		used += got;
	} while (got > 0);
	ok = !ferror(f);
out:
	fclose(f);
	if (!ok) {
		free(buf);
		return NULL;
	}
	*len = used;
	return buf;
}

static void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int main(int argc, char **argv)
{
	struct eventlog *log = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int quiet = 0, rc = 2, r;
	const char *path;

	if (argc == 3 && strcmp(argv[1], "-q") == 0)
		quiet = 1;
	else if (argc != 2) {
		fprintf(stderr, "usage: eventlog_dump [-q] LOG\n");
		return 2;
	}
	path = argv[argc - 1];
	if (!(buf = read_all(path, &len))) {
		fprintf(stderr, "%s: cannot read\n", path);
		goto out;
	}
	if ((r = eventlog_parse(buf, len, &log)) != 0) {
		printf("FAIL: %s: %s\n", err_str(r), err_detail());
		rc = 1;
		goto out;
	}
	if (!quiet) {
		printf("format: %s\nalgorithms:", log->format == EVENTLOG_FORMAT_SHA1 ? "sha1-legacy" : "crypto-agile");
		for (uint32_t i = 0; i < log->nalgs; i++)
			printf(" %s(0x%04x)/%u", crypto_alg_name(log->algs[i].alg) ? crypto_alg_name(log->algs[i].alg) : "?",
			       log->algs[i].alg, log->algs[i].size);
		printf("\nspecid_digest_nonzero: %d\n", log->specid_digest_nonzero);
		if (log->has_startup_locality)
			printf("startup_locality: %u\n", log->startup_locality);
		printf("hcrtm: %d\npcr0_locality: %u\n", log->hcrtm, log->pcr0_locality);
		printf("events:\n");
		for (size_t n = 0; n < log->nevents; n++) {
			const struct eventlog_event *ev = &log->events[n];

			printf("- %zu: offset %zu pcr %u type 0x%08x size %u\n", n, ev->offset, ev->pcr, ev->type,
			       ev->data_len);
			for (uint32_t i = 0; i < ev->ndigests; i++) {
				printf("    0x%04x ", ev->digests[i].alg);
				hex(ev->digests[i].value, ev->digests[i].size);
				printf("\n");
			}
		}
	}
	printf("pcrs:\n");
	for (uint32_t b = 0; b < log->nalgs; b++) {
		uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
		uint32_t ext = 0;
		TPM2_ALG_ID alg = log->algs[b].alg;

		if ((r = eventlog_replay(log, alg, v, &ext)) != 0) {
			printf("  # 0x%04x: %s: %s\n", alg, err_str(r), err_detail());
			continue;
		}
		if (!ext)
			continue;
		printf("  %s:\n", crypto_alg_name(alg));
		for (int i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(ext & (1u << i)))
				continue;
			printf("    %-3d: 0x", i);
			hex(v[i], crypto_digest_size(alg));
			printf("\n");
		}
	}
	rc = 0;
out:
	eventlog_free(log);
	free(buf);
	return rc;
}
