/* ima_dump: parse an IMA measurement list with our parser, check its
 * template hashes and print its entries and the replayed PCRs per bank (a
 * debugging aid, like eventlog_dump for boot logs).
 *
 *   ima_dump [-q] [-p] [-a ALG] [-n COUNT] LIST
 *
 * LIST is binary (binary_runtime_measurements) unless -a names the template
 * hash algorithm of an ASCII list (sha1 for ascii_runtime_measurements).
 * -q prints only the PCRs; -p replays as kernels before 5.11 did (SHA-1
 * template hash zero-padded into every bank); -n COUNT replays the binary
 * list in COUNT chunks of whole entries, as a verifier does across rounds.
 * Exits 0 on success, 1 when the list is rejected ("FAIL: <code>: <detail>"),
 * 2 on usage or I/O errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "ima.h"
#include "tool_io.h"

static void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void print_entry(const struct ima_list *l, const struct ima_entry *e)
{
	printf("- %llu: offset %zu pcr %u %s%s ", (unsigned long long)e->index, e->offset, e->pcr, e->template_name,
	       e->violation ? " VIOLATION" : "");
	hex(e->template_hash, crypto_digest_size(l->template_hash_alg));
	if (e->digest) {
		printf(" %s%s%s:", e->digest_type, e->digest_type[0] ? ":" : "", e->digest_alg_name);
		hex(e->digest, e->digest_len);
	}
	printf(" %s", e->path ? e->path : "");
	if (e->sig_len)
		printf(" sig(%u)", e->sig_len);
	if (e->buf_len)
		printf(" buf(%u)", e->buf_len);
	if (e->modsig_len)
		printf(" modsig(%u)", e->modsig_len);
	printf("\n");
}

/* Split a binary list into nchunks pieces of whole entries (by the offsets a
 * first parse found) and replay them one after the other. */
static int replay_chunks(struct ima_replay_state *st, const uint8_t *buf, size_t len, const struct ima_list *all,
			 unsigned nchunks)
{
	size_t start = 0;
	int r;

	for (unsigned k = 1; k <= nchunks; k++) {
		size_t end_entry = all->nentries * k / nchunks;
		size_t end = end_entry < all->nentries ? all->entries[end_entry].offset : len;

		if ((r = ima_replay(st, buf + start, end - start, NULL)) != 0)
			return r;
		start = end;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const TPM2_ALG_ID banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512 };
	struct ima_replay_state st;
	struct ima_list *l = NULL;
	TPM2_ALG_ID ascii_alg = TPM2_ALG_ERROR;
	struct timespec t0, t1;
	uint8_t *buf = NULL;
	size_t len = 0, nviol = 0;
	unsigned nchunks = 1;
	int quiet = 0, pad = 0, rc = 2, r, opt;

	while ((opt = getopt(argc, argv, "qpa:n:")) != -1) {
		switch (opt) {
		case 'q': quiet = 1; break;
		case 'p': pad = 1; break;
		case 'a':
			if ((ascii_alg = crypto_alg_from_name(optarg)) == TPM2_ALG_ERROR) {
				fprintf(stderr, "unknown algorithm %s\n", optarg);
				return 2;
			}
			break;
		case 'n': nchunks = (unsigned)strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || nchunks == 0)
		goto usage;
	if (!(buf = tool_read(argv[optind], IMA_MAX_LIST_SIZE, &len)))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ascii_alg != TPM2_ALG_ERROR)
		r = ima_ascii_parse((const char *)buf, len, ascii_alg, &l);
	else
		r = ima_parse(buf, len, 0, &l);
	if (r == 0)
		r = ima_list_verify(l, &nviol);
	if (r == 0)
		r = ima_replay_init(&st, banks, 4, pad ? IMA_REPLAY_PAD_SHA1 : IMA_REPLAY_PER_BANK);
	if (r == 0 && (ascii_alg != TPM2_ALG_ERROR || nchunks == 1)) {
		for (size_t i = 0; i < l->nentries && r == 0; i++)
			r = ima_replay_entry(&st, l, &l->entries[i]);
	} else if (r == 0) {
		r = replay_chunks(&st, buf, len, l, nchunks);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r != 0) {
		printf("FAIL: %s: %s\n", err_str(r), err_detail());
		rc = 1;
		goto out;
	}
	if (!quiet) {
		printf("entries: %zu\nviolations: %zu\n", l->nentries, nviol);
		for (size_t i = 0; i < l->nentries; i++)
			print_entry(l, &l->entries[i]);
	}
	fprintf(stderr, "parse+verify+replay (4 banks): %zu entries in %.3f ms\n", l->nentries,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	printf("pcrs:\n");
	for (uint32_t b = 0; b < st.nbanks; b++) {
		printf("  %s:\n", crypto_alg_name(st.algs[b]));
		for (uint32_t i = 0; i < IMA_NUM_PCRS; i++) {
			if (!(st.extended & (1u << i)))
				continue;
			printf("    %-3u: 0x", i);
			hex(ima_replay_value(&st, st.algs[b], i), crypto_digest_size(st.algs[b]));
			printf("\n");
		}
	}
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: ima_dump [-q] [-p] [-a ALG] [-n COUNT] LIST\n");
out:
	ima_list_free(l);
	free(buf);
	return rc;
}
