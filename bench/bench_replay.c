/* bench_replay: what replaying measurement logs costs the verifier, on one
 * core, beside EVP SHA-256 measured in the same run (as `openssl speed -evp
 * sha256`: MB/s over 16 KiB blocks, and hashes/s of 64-byte messages, the
 * size of one SHA-256 PCR extend); every figure is also given as a ratio.
 *
 *   bench_replay BOOTLOG IMALIST [--copies N] [--allowlist N] [--entries N] [--rounds N] [--json FILE]
 *
 * Boot log: parsed and replayed in every bank it declares, (a) as --copies
 * separate logs of its real size (one per attestation) and (b) as one log
 * holding its events --copies times. MB/s divides the log bytes read by the
 * time; the replay extends each bank with the digests the log carries and
 * hashes no event data, so the work is one extend per event and bank: a
 * 3-bank log costs three times the hashing of a 1-bank log of the same size.
 * IMA: the list's whole entries repeated to --entries (100,000), then what
 * the verifier does per quote (session/session.c): parse, template-hash check (SHA-1),
 * replay to the quoted PCR 10 in the SHA-1 and SHA-256 banks (SHA-256 of each
 * entry's template data plus one extend per bank), and an allowlist of
 * --allowlist paths (the list's own, padded with synthetic ones): per phase
 * and in all, entries/s. Medians over --rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "clock.h"
#include "crypto.h"
#include "eventlog.h"
#include "file.h"
#include "ima.h"
#include "policy/imapolicy.h"

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

/* The reference, measured in this run: SHA-256 through EVP as `openssl
 * speed -evp sha256` does it, over 16 KiB blocks (MB/s) and over 64-byte
 * messages (hashes/s: one SHA-256 PCR extend is one 64-byte message). */
struct bench_ref {
	double mbs;
	double small;
};

static struct bench_ref ref;

/* The figures --json writes (scripts/bench_all.sh merges them). */
static struct {
	struct {
		long logs;
		double bytes, mbs, events_per_s, extends_per_s;
		unsigned banks;
	} run[2];                 /* [0] separate logs, [1] one log */
	double ima_entries, ima_mb, ima_per_s, ima_phase_per_s[4];
} res;

static void bench_sha256_ref(void)
{
	static uint8_t block[16384];
	uint8_t out[32];
	unsigned int len;
	double t0 = clock_mono_s(), t;
	long n = 0;

	do {
		for (int i = 0; i < 256; i++, n++)
			EVP_Digest(block, sizeof(block), out, &len, crypto_md(TPM2_ALG_SHA256), NULL);
		t = clock_mono_s() - t0;
	} while (t < 1.0);
	ref.mbs = (double)n * sizeof(block) / t / 1e6;
	t0 = clock_mono_s();
	n = 0;
	do {
		for (int i = 0; i < 4096; i++, n++)
			EVP_Digest(block, 64, out, &len, crypto_md(TPM2_ALG_SHA256), NULL);
		t = clock_mono_s() - t0;
	} while (t < 1.0);
	ref.small = (double)n / t;
}

/* Median seconds of each phase over the rounds. */
struct bench_phases {
	int rounds, n;
	const char *name[6];
	double *t[6];
};

static void bench_phase(struct bench_phases *p, int k, int round, double seconds)
{
	p->t[k][round] = seconds;
}

static int bench_phases_init(struct bench_phases *p, int rounds, int n, const char **names)
{
	memset(p, 0, sizeof(*p));
	p->rounds = rounds;
	p->n = n;
	for (int k = 0; k < n; k++) {
		p->name[k] = names[k];
		if (!(p->t[k] = calloc((size_t)rounds, sizeof(double))))
			return -1;
	}
	return 0;
}

static void bench_phases_free(struct bench_phases *p)
{
	for (int k = 0; k < p->n; k++)
		free(p->t[k]);
}

/* Boot log replay as the verifier does it per quote (eventlog_parse, then
 * eventlog_replay of each bank) over `copies` copies of the log: as separate
 * logs of the real size (`separate`, many sessions) or as one log holding
 * the events after the Spec ID event `copies` times (one huge log).
 * The replay hashes no event data: an extend is H(pcr || event digest), so
 * the cost is per event and per bank; MB/s counts log bytes read. */
static int bench_boot_run(const uint8_t *src, size_t len, long copies, int separate, int rounds)
{
	static const char *names[] = { "parse", "replay" };
	uint8_t *big = NULL, v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	size_t head, body, size, nevents = 0, nextends = 0;
	struct eventlog *log = NULL;
	struct bench_phases ph;
	uint32_t nbanks = 0;
	int r = 1;

	if (eventlog_parse(src, len, &log) != 0 || bench_phases_init(&ph, rounds, 2, names) != 0)
		goto out;
	head = log->nevents > 1 ? log->events[1].offset : len;
	body = len - head;
	if (!separate && log->nevents > 1 && (size_t)copies * (log->nevents - 1) >= EVENTLOG_MAX_EVENTS)
		copies = (long)((EVENTLOG_MAX_EVENTS - 1) / (log->nevents - 1));
	eventlog_free(log);
	log = NULL;
	if (separate) {
		size = len;
		big = NULL;
	} else {
		/* Stay inside the parser's limits (bytes and events). */
		if ((size_t)copies * body + head > EVENTLOG_MAX_LOG_SIZE)
			copies = (long)((EVENTLOG_MAX_LOG_SIZE - head) / body);
		size = head + (size_t)copies * body;
		if (!(big = malloc(size)))
			goto out;
		memcpy(big, src, head);
		for (long c = 0; c < copies; c++)
			memcpy(big + head + (size_t)c * body, src + head, body);
	}
	for (int i = 0; i < rounds; i++) {
		double tp = 0, tr = 0;

		nevents = nextends = 0;
		for (long c = 0; c < (separate ? copies : 1); c++) {
			double t0 = clock_mono_s(), t1;
			uint32_t ext;

			if (eventlog_parse(big ? big : src, size, &log) != 0) {
				fprintf(stderr, "bench_replay: boot log: %s\n", err_detail());
				goto out;
			}
			t1 = clock_mono_s();
			for (uint32_t b = 0; b < log->nalgs; b++) {
				if (!crypto_md(log->algs[b].alg))
					continue;
				if (eventlog_replay(log, log->algs[b].alg, v, &ext) != 0) {
					fprintf(stderr, "bench_replay: boot log: %s\n", err_detail());
					goto out;
				}
				for (size_t k = 0; k < log->nevents; k++)
					nextends += log->events[k].type != EVENTLOG_EV_NO_ACTION;
			}
			tr += clock_mono_s() - t1;
			tp += t1 - t0;
			nevents += log->nevents;
			nbanks = log->nalgs;
			eventlog_free(log);
			log = NULL;
		}
		bench_phase(&ph, 0, i, tp);
		bench_phase(&ph, 1, i, tr);
	}
	double mp = bench_median(ph.t[0], rounds), mr = bench_median(ph.t[1], rounds), m = mp + mr;
	double bytes = (double)size * (separate ? (double)copies : 1);

	res.run[!separate].logs = separate ? copies : 1;
	res.run[!separate].bytes = bytes;
	res.run[!separate].mbs = bytes / m / 1e6;
	res.run[!separate].events_per_s = nevents / m;
	res.run[!separate].extends_per_s = nextends / mr;
	res.run[!separate].banks = nbanks;
	if (separate)
		printf("  %ld logs of %.1f kB (%zu events each), %u banks:\n", copies, size / 1e3, nevents / (size_t)copies,
		       nbanks);
	else
		printf("  one log of %.1f MB (events x%ld, %zu events), %u banks:\n", size / 1e6, copies, nevents, nbanks);
	printf("    parse %.1f ms + replay %.1f ms = %.0f MB/s of log (%.2fx SHA-256 MB/s), %.2f M events/s\n", mp * 1e3,
	       mr * 1e3, bytes / m / 1e6, bytes / m / 1e6 / ref.mbs, nevents / m / 1e6);
	printf("    replay alone: %.2f M extends/s (%.2fx EVP SHA-256 64-byte hashes/s); parse alone %.0f MB/s\n",
	       nextends / mr / 1e6, nextends / mr / ref.small, bytes / mp / 1e6);
	r = 0;
out:
	eventlog_free(log);
	bench_phases_free(&ph);
	free(big);
	return r;
}

static int bench_boot(const char *path, long copies, int rounds)
{
	uint8_t *src = NULL;
	size_t len;
	int r = 1;

	if (file_read_all(path, EVENTLOG_MAX_LOG_SIZE, &src, &len) != 0) {
		fprintf(stderr, "bench_replay: %s: %s\n", path, err_detail());
		return 1;
	}
	printf("boot log: %s (%zu bytes)\n", path, len);
	if (bench_boot_run(src, len, copies, 1, rounds) == 0 && bench_boot_run(src, len, copies, 0, rounds) == 0)
		r = 0;
	free(src);
	return r;
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

/* The quote a list's full replay would meet: PCR 10 in SHA-1 and SHA-256. */
static int bench_quote(const uint8_t *buf, size_t size, const TPM2_ALG_ID *banks, struct pcr_values *q)
{
	struct ima_replay_state st;
	struct ima_list *l = NULL;

	if (ima_replay_init(&st, banks, 2, IMA_REPLAY_PER_BANK) != 0 || ima_replay(&st, buf, size, &l) != 0)
		return -1;
	ima_list_free(l);
	memset(q, 0, sizeof(*q));
	q->nbanks = 2;
	for (int b = 0; b < 2; b++) {
		q->banks[b].alg = banks[b];
		q->banks[b].mask = 1u << IMA_PCR;
		memcpy(q->banks[b].value[IMA_PCR], ima_replay_value(&st, banks[b], IMA_PCR), crypto_digest_size(banks[b]));
	}
	return 0;
}

/* The verifier's IMA path (session/session.c): parse, template hashes, replay to
 * the quoted PCR 10 (SHA-1 and SHA-256 banks), allowlist. */
static int bench_ima(const char *path, long allow_paths, long target, int rounds)
{
	static const TPM2_ALG_ID banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };
	static const char *names[] = { "parse", "template hashes", "replay to quote", "allowlist" };
	uint8_t *src = NULL, *big = NULL;
	size_t len, at, end, size, n = 0, used, paths, digests, excludes, data = 0;
	long copies, whole;
	struct ima_list *list = NULL;
	struct imapolicy *pol = NULL;
	struct ima_replay_state st;
	struct pcr_values quote;
	struct bench_phases ph;
	char file[64];
	int r = 1;

	if (file_read_all(path, IMA_MAX_LIST_SIZE, &src, &len) != 0 || ima_list_offsets(src, len, 0, &at, &end) != 0 ||
	    ima_parse(src, end, 0, &list) != 0 || bench_phases_init(&ph, rounds, 4, names) != 0) {
		fprintf(stderr, "bench_replay: %s: %s\n", path, err_detail());
		goto out;
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
		unlink(file);
		goto out;
	}
	unlink(file);
	imapolicy_counts(pol, &paths, &digests, &excludes);
	size_t chunk = whole < (long)list->nentries ? list->entries[whole].offset : end;
	ima_list_free(list);
	list = NULL;
	copies = target / whole + 1;
	size = (size_t)copies * chunk;
	if (!(big = malloc(size)))
		goto out;
	for (long c = 0; c < copies; c++)
		memcpy(big + (size_t)c * chunk, src, chunk);
	if (bench_quote(big, size, banks, &quote) != 0) {
		fprintf(stderr, "bench_replay: IMA: %s\n", err_detail());
		goto out;
	}
	for (int i = 0; i < rounds; i++) {
		double t0 = clock_mono_s(), t1, t2, t3;

		if (ima_replay_init(&st, banks, 2, IMA_REPLAY_PER_BANK) != 0 || ima_parse(big, size, 0, &list) != 0) {
			fprintf(stderr, "bench_replay: IMA: %s\n", err_detail());
			goto out;
		}
		t1 = clock_mono_s();
		if (ima_list_verify(list, NULL) != 0) {
			fprintf(stderr, "bench_replay: IMA: %s\n", err_detail());
			goto out;
		}
		t2 = clock_mono_s();
		if (ima_replay_to_quote(&st, list, &quote, 1u << IMA_PCR, &used) != 0 || used != list->nentries) {
			fprintf(stderr, "bench_replay: IMA replay: %s\n", err_detail());
			goto out;
		}
		t3 = clock_mono_s();
		if (imapolicy_check(pol, list, used) != 0) {
			fprintf(stderr, "bench_replay: allowlist: %s\n", err_detail());
			goto out;
		}
		bench_phase(&ph, 0, i, t1 - t0);
		bench_phase(&ph, 1, i, t2 - t1);
		bench_phase(&ph, 2, i, t3 - t2);
		bench_phase(&ph, 3, i, clock_mono_s() - t3);
		n = list->nentries;
		data = 0;
		for (size_t k = 0; k < n; k++)
			data += list->entries[k].data_len;
		ima_list_free(list);
		list = NULL;
	}
	printf("IMA: %s, first %ld entries x%ld = %zu entries (%.1f MB, template data %.0f bytes/entry); allowlist "
	       "%zu paths, %zu digests\n",
	       path, whole, copies, n, size / 1e6, (double)data / (double)n, paths, digests);
	double total = 0, m[4];
	for (int k = 0; k < 4; k++) {
		m[k] = bench_median(ph.t[k], rounds);
		total += m[k];
	}
	res.ima_entries = (double)n;
	res.ima_mb = size / 1e6;
	res.ima_per_s = n / total;
	for (int k = 0; k < 4; k++)
		res.ima_phase_per_s[k] = n / m[k];
	for (int k = 0; k < 4; k++)
		printf("  %-16s %7.1f ms  %6.2f M entries/s\n", ph.name[k], m[k] * 1e3, n / m[k] / 1e6);
	/* Per entry: H_sha1(data) checked, H_sha256(data) for the SHA-256 bank, one extend per bank. */
	printf("  all (parse + template hashes + replay + allowlist): %.1f ms, %.0f entries/s (%.2fx the 1 M/s target)\n",
	       total * 1e3, n / total, n / total / 1e6);
	printf("  hashing needed per entry: SHA-1 and SHA-256 of %.0f bytes, one 40-byte SHA-1 and one 64-byte "
	       "SHA-256 extend;\n  %.0f MB/s of template data hashed twice (%.2fx SHA-256 MB/s)\n",
	       (double)data / (double)n, 2.0 * (double)data / total / 1e6, 2.0 * (double)data / total / 1e6 / ref.mbs);
	r = 0;
out:
	imapolicy_free(pol);
	ima_list_free(list);
	bench_phases_free(&ph);
	free(big);
	free(src);
	return r;
}

static int bench_json(const char *file)
{
	static const char *const run_key[2] = { "boot_separate", "boot_one_log" };
	static const char *const phase_key[4] = { "parse", "template_hashes", "replay_to_quote", "allowlist" };
	FILE *f = fopen(file, "w");

	if (!f)
		return -1;
	fprintf(f, "{\n  \"benchmark\": \"replay\",\n  \"sha256_mb_per_s\": %.1f,\n  \"sha256_64b_per_s\": %.1f,\n",
		ref.mbs, ref.small);
	for (int k = 0; k < 2; k++)
		fprintf(f, "  \"%s\": {\"logs\": %ld, \"bytes\": %.0f, \"banks\": %u, \"mb_per_s\": %.1f, "
			   "\"events_per_s\": %.1f, \"extends_per_s\": %.1f},\n",
			run_key[k], res.run[k].logs, res.run[k].bytes, res.run[k].banks, res.run[k].mbs,
			res.run[k].events_per_s, res.run[k].extends_per_s);
	fprintf(f, "  \"ima\": {\"entries\": %.0f, \"mb\": %.2f, \"entries_per_s\": %.1f", res.ima_entries, res.ima_mb,
		res.ima_per_s);
	for (int k = 0; k < 4; k++)
		fprintf(f, ", \"%s_per_s\": %.1f", phase_key[k], res.ima_phase_per_s[k]);
	fprintf(f, "}\n}\n");
	return fclose(f);
}

int main(int argc, char **argv)
{
	long copies = 2000, allow = 10000, rounds = 5, entries = 100000;
	const char *boot = NULL, *ima = NULL, *json = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--copies") && i + 1 < argc)
			copies = atol(argv[++i]);
		else if (!strcmp(argv[i], "--allowlist") && i + 1 < argc)
			allow = atol(argv[++i]);
		else if (!strcmp(argv[i], "--entries") && i + 1 < argc)
			entries = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!boot)
			boot = argv[i];
		else if (!ima)
			ima = argv[i];
		else
			boot = NULL;
	}
	if (!boot || !ima || copies < 1 || allow < 0 || rounds < 1 || entries < 1) {
		fprintf(stderr, "usage: bench_replay BOOTLOG IMALIST [--copies N] [--allowlist N] [--entries N] [--rounds N] "
				"[--json FILE]\n");
		return 2;
	}
	bench_sha256_ref();
	printf("EVP SHA-256 in this run (as openssl speed -evp sha256): %.0f MB/s over 16 KiB blocks, %.2f M hashes/s "
	       "of 64 bytes\n",
	       ref.mbs, ref.small / 1e6);
	if (bench_boot(boot, copies, (int)rounds) != 0 || bench_ima(ima, allow, entries, (int)rounds) != 0)
		return 1;
	if (json && bench_json(json) != 0) {
		fprintf(stderr, "bench_replay: cannot write %s\n", json);
		return 1;
	}
	return 0;
}
