/* bench_replay: what replaying measurement logs costs the verifier, on one
 * core, beside OpenSSL's own SHA-256 speed measured in the same run.
 *
 *   bench_replay BOOTLOG IMALIST [--copies N] [--allowlist N] [--rounds N]
 *
 * Boot log: the events after the Spec ID event are repeated --copies times
 * (a longer but valid log), then parsed and replayed in every bank it
 * declares: MB of log per second. IMA: the list's whole entries are repeated
 * to 100,000 entries, then parsed, template-hash checked, replayed into the
 * SHA-1 and SHA-256 banks, and judged by an allowlist of --allowlist paths
 * (the list's own paths, padded with synthetic ones): entries per second.
 * Medians over --rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "eventlog.h"
#include "file.h"
#include "ima.h"
#include "imapolicy.h"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* OpenSSL SHA-256 over 16 KiB blocks, MB/s (what `openssl speed sha256` reports at that size). */
static double bench_sha256_mbs(void)
{
	static uint8_t block[16384];
	uint8_t out[32];
	unsigned int len;
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 256; i++, n++)
			EVP_Digest(block, sizeof(block), out, &len, crypto_md(TPM2_ALG_SHA256), NULL);
		t = bench_now() - t0;
	} while (t < 1.0);
	return (double)n * sizeof(block) / t / 1e6;
}

/* SHA-256 of 64-byte messages per second: the shape of replay's work. */
static double bench_sha256_small(void)
{
	uint8_t block[64] = { 0 }, out[32];
	unsigned int len;
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 4096; i++, n++)
			EVP_Digest(block, sizeof(block), out, &len, crypto_md(TPM2_ALG_SHA256), NULL);
		t = bench_now() - t0;
	} while (t < 1.0);
	return (double)n / t;
}

static int bench_boot(const char *path, long copies, int rounds)
{
	uint8_t *src = NULL, *big = NULL, v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	size_t len, head, body, size;
	struct eventlog *log = NULL;
	double *t = calloc((size_t)rounds, sizeof(*t));
	int r;

	if (!t || file_read_all(path, EVENTLOG_MAX_LOG_SIZE, &src, &len) != 0 || eventlog_parse(src, len, &log) != 0) {
		fprintf(stderr, "bench_replay: %s: %s\n", path, err_detail());
		return 1;
	}
	head = log->nevents > 1 ? log->events[1].offset : len;
	body = len - head;
	/* Stay inside the parser's limits (bytes and events). */
	if ((size_t)copies * body + head > EVENTLOG_MAX_LOG_SIZE)
		copies = (long)((EVENTLOG_MAX_LOG_SIZE - head) / body);
	if (log->nevents > 1 && (size_t)copies * (log->nevents - 1) >= EVENTLOG_MAX_EVENTS)
		copies = (long)((EVENTLOG_MAX_EVENTS - 1) / (log->nevents - 1));
	eventlog_free(log);
	log = NULL;
	size = head + (size_t)copies * body;
	if (!(big = malloc(size)))
		return 1;
	memcpy(big, src, head);
	for (long c = 0; c < copies; c++)
		memcpy(big + head + (size_t)c * body, src + head, body);
	size_t nevents = 0;

	for (int i = 0; i < rounds; i++) {
		double t0 = bench_now();
		uint32_t ext;

		if ((r = eventlog_parse(big, size, &log)) != 0) {
			fprintf(stderr, "bench_replay: boot log: %s\n", err_detail());
			return 1;
		}
		for (uint32_t b = 0; b < log->nalgs; b++)
			if (crypto_md(log->algs[b].alg) && (r = eventlog_replay(log, log->algs[b].alg, v, &ext)) != 0)
				return 1;
		t[i] = bench_now() - t0;
		nevents = log->nevents;
		if (i == 0)
			printf("boot log: %s, events after the Spec ID event x%ld = %.1f MB, %zu events, %u banks\n",
			       path, copies, size / 1e6, log->nevents, log->nalgs);
		eventlog_free(log);
		log = NULL;
	}
	double m = bench_median(t, rounds);
	printf("  parse + replay every bank: %.1f ms median, %.0f MB/s, %.2f M events/s\n", m * 1e3, size / m / 1e6,
	       nevents / m / 1e6);
	free(big);
	free(src);
	free(t);
	return 0;
}

/* An allowlist of the list's own (path, digest) pairs, padded with synthetic
 * paths to `paths` entries, written as JSON to file. */
static int bench_allowlist(const struct ima_list *list, long paths, const char *file)
{
	FILE *f = fopen(file, "w");
	long written = 0;

	if (!f)
		return -1;
	fprintf(f, "{\"allow\": {");
	for (size_t i = 0; i < list->nentries; i++) {
		const struct ima_entry *e = &list->entries[i];
		int seen = 0;

		if (!e->path || !e->digest)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = list->entries[j].path && !strcmp(list->entries[j].path, e->path);
		if (seen)
			continue;
		fprintf(f, "%s\n\"", written++ ? "," : "");
		for (const char *c = e->path; *c; c++)
			fprintf(f, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
		fprintf(f, "\": [");
		for (size_t j = i, n = 0; j < list->nentries; j++) {
			const struct ima_entry *o = &list->entries[j];
			if (!o->path || !o->digest || strcmp(o->path, e->path))
				continue;
			fprintf(f, "%s\"%s:", n++ ? "," : "", o->digest_alg_name);
			for (uint32_t k = 0; k < o->digest_len; k++)
				fprintf(f, "%02x", o->digest[k]);
			fprintf(f, "\"");
		}
		fprintf(f, "]");
	}
	for (; written < paths; written++)
		fprintf(f, ",\n\"/opt/synthetic/file-%ld\": [\"sha256:%064ld\"]", written, written);
	fprintf(f, "}}\n");
	return fclose(f);
}

static int bench_ima(const char *path, long allow_paths, int rounds)
{
	static const TPM2_ALG_ID banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };
	uint8_t *src = NULL, *big = NULL;
	size_t len, at, end, size;
	long copies, whole;
	struct ima_list *list = NULL;
	struct imapolicy *pol = NULL;
	struct ima_replay_state st;
	char file[64];
	double *t = calloc((size_t)rounds, sizeof(*t)), *tp = calloc((size_t)rounds, sizeof(*tp));
	size_t n = 0, paths, digests, excludes;

	if (!t || !tp || file_read_all(path, IMA_MAX_LIST_SIZE, &src, &len) != 0 ||
	    ima_list_offsets(src, len, 0, &at, &end) != 0 || ima_parse(src, end, 0, &list) != 0) {
		fprintf(stderr, "bench_replay: %s: %s\n", path, err_detail());
		return 1;
	}
	/* Whole entries whose template hashes hold (a real list may carry a tampered one). */
	for (whole = 0; whole < (long)list->nentries; whole++) {
		uint8_t d[CRYPTO_MAX_DIGEST];
		const struct ima_entry *e = &list->entries[whole];
		if (!e->violation && (ima_template_digest(e, TPM2_ALG_SHA1, d) != 0 || memcmp(d, e->template_hash, 20)))
			break;
	}
	snprintf(file, sizeof(file), "/tmp/bench_replay.%d.json", (int)getpid());
	if (bench_allowlist(list, allow_paths, file) != 0 || imapolicy_load(file, &pol) != 0) {
		fprintf(stderr, "bench_replay: allowlist: %s\n", err_detail());
		return 1;
	}
	unlink(file);
	imapolicy_counts(pol, &paths, &digests, &excludes);
	size_t chunk = whole < (long)list->nentries ? list->entries[whole].offset : end;
	ima_list_free(list);
	list = NULL;
	copies = 100000 / whole + 1;
	size = (size_t)copies * chunk;
	if (!(big = malloc(size)))
		return 1;
	for (long c = 0; c < copies; c++)
		memcpy(big + (size_t)c * chunk, src, chunk);
	for (int i = 0; i < rounds; i++) {
		double t0 = bench_now(), t1;

		if (ima_replay_init(&st, banks, 2, IMA_REPLAY_PER_BANK) != 0 || ima_parse(big, size, 0, &list) != 0 ||
		    ima_list_verify(list, NULL) != 0) {
			fprintf(stderr, "bench_replay: IMA: %s\n", err_detail());
			return 1;
		}
		for (size_t k = 0; k < list->nentries; k++)
			if (ima_replay_entry(&st, list, &list->entries[k]) != 0)
				return 1;
		t1 = bench_now();
		if (imapolicy_check(pol, list, list->nentries) != 0) {
			fprintf(stderr, "bench_replay: allowlist: %s\n", err_detail());
			return 1;
		}
		tp[i] = bench_now() - t1;
		t[i] = bench_now() - t0;
		n = list->nentries;
		ima_list_free(list);
		list = NULL;
	}
	double m = bench_median(t, rounds), mp = bench_median(tp, rounds);
	printf("IMA: %s, first %ld entries x%ld = %zu entries (%.1f MB); allowlist %zu paths, %zu digests\n", path,
	       whole, copies, n, size / 1e6, paths, digests);
	printf("  parse + template hashes + replay (sha1, sha256) + allowlist: %.1f ms median, %.0f entries/s\n",
	       m * 1e3, n / m);
	printf("  of which the allowlist: %.1f ms, %.0f entries/s\n", mp * 1e3, n / mp);
	imapolicy_free(pol);
	free(big);
	free(src);
	free(t);
	free(tp);
	return 0;
}

int main(int argc, char **argv)
{
	long copies = 2000, allow = 10000, rounds = 5;
	const char *boot = NULL, *ima = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--copies") && i + 1 < argc)
			copies = atol(argv[++i]);
		else if (!strcmp(argv[i], "--allowlist") && i + 1 < argc)
			allow = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atol(argv[++i]);
		else if (!boot)
			boot = argv[i];
		else if (!ima)
			ima = argv[i];
		else
			boot = NULL;
	}
	if (!boot || !ima || copies < 1 || allow < 0 || rounds < 1) {
		fprintf(stderr, "usage: bench_replay BOOTLOG IMALIST [--copies N] [--allowlist N] [--rounds N]\n");
		return 2;
	}
	printf("OpenSSL SHA-256 in this run: %.0f MB/s (16 KiB blocks), %.2f M hashes/s of 64 bytes\n",
	       bench_sha256_mbs(), bench_sha256_small() / 1e6);
	if (bench_boot(boot, copies, (int)rounds) != 0 || bench_ima(ima, allow, (int)rounds) != 0)
		return 1;
	return 0;
}
