#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "imastate.h"

/* Layout, little endian like the lists themselves:
 *   "IMAS" | version 1 | count u64 | bytes u64 | flags u32 | nbanks u8 |
 *   algs u16 x nbanks | extended u32 | nviolations u64 |
 *   for each PCR in extended, ascending: for each bank: its digest. */
#define IMASTATE_MAGIC "IMAS"
#define IMASTATE_VERSION 1

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int imastate_save(const struct ima_replay_state *st, uint8_t *buf, size_t cap, size_t *len)
{
	size_t need = 4 + 1 + 8 + 8 + 4 + 1 + 2 * (size_t)st->nbanks + 4 + 8, off;

	*len = 0;
	if (st->nbanks == 0 || st->nbanks > IMA_MAX_BANKS)
		return err_set(AERR_INVALID_ARG, "IMA state: %u banks", st->nbanks);
	for (uint32_t i = 0; i < IMA_NUM_PCRS; i++)
		if (st->extended & (1u << i))
			for (uint32_t b = 0; b < st->nbanks; b++)
				need += crypto_digest_size(st->algs[b]);
	if (need > cap)
		return err_set(AERR_TOO_LARGE, "IMA state: %zu bytes, room for %zu", need, cap);
	memcpy(buf, IMASTATE_MAGIC, 4);
	buf[4] = IMASTATE_VERSION;
	put_le(buf + 5, st->count, 8);
	put_le(buf + 13, st->bytes, 8);
	put_le(buf + 21, st->flags, 4);
	buf[25] = (uint8_t)st->nbanks;
	off = 26;
	for (uint32_t b = 0; b < st->nbanks; b++, off += 2)
		put_le(buf + off, st->algs[b], 2);
	put_le(buf + off, st->extended, 4);
	put_le(buf + off + 4, st->nviolations, 8);
	off += 12;
	for (uint32_t i = 0; i < IMA_NUM_PCRS; i++)
		if (st->extended & (1u << i))
			for (uint32_t b = 0; b < st->nbanks; b++) {
				size_t n = crypto_digest_size(st->algs[b]);

				memcpy(buf + off, st->pcr[b][i], n);
				off += n;
			}
	*len = off;
	return 0;
}

int imastate_load(const uint8_t *buf, size_t len, struct ima_replay_state *st)
{
	struct cur c = { .buf = buf, .len = len, .off = 0 };
	struct ima_replay_state s;
	TPM2_ALG_ID algs[IMA_MAX_BANKS];
	const uint8_t *p;
	uint64_t count, bytes, nviol;
	uint32_t flags, extended;
	uint16_t alg;
	uint8_t version, nbanks;
	int r;

	if (cur_bytes(&c, 4, &p) || memcmp(p, IMASTATE_MAGIC, 4) != 0 || cur_u8(&c, &version) ||
	    version != IMASTATE_VERSION)
		return err_set(AERR_PARSE, "IMA state: not a version %d state", IMASTATE_VERSION);
	if (cur_u64(&c, &count) || cur_u64(&c, &bytes) || cur_u32(&c, &flags) || cur_u8(&c, &nbanks))
		return err_set(AERR_PARSE, "IMA state: truncated header");
	if (nbanks == 0 || nbanks > IMA_MAX_BANKS)
		return err_set(AERR_PARSE, "IMA state: %u banks", nbanks);
	for (uint8_t b = 0; b < nbanks; b++) {
		if (cur_u16(&c, &alg))
			return err_set(AERR_PARSE, "IMA state: truncated banks");
		algs[b] = alg;
	}
	if (cur_u32(&c, &extended) || cur_u64(&c, &nviol))
		return err_set(AERR_PARSE, "IMA state: truncated header");
	if ((r = ima_replay_init(&s, algs, nbanks, flags)) != 0)
		return err_wrap(AERR_PARSE, "IMA state");
	if (extended >> IMA_NUM_PCRS)
		return err_set(AERR_PARSE, "IMA state: PCR mask 0x%x", extended);
	for (uint32_t i = 0; i < IMA_NUM_PCRS; i++)
		if (extended & (1u << i))
			for (uint32_t b = 0; b < nbanks; b++) {
				size_t n = crypto_digest_size(algs[b]);

				if (cur_bytes(&c, n, &p))
					return err_set(AERR_PARSE, "IMA state: truncated PCR %u", i);
				memcpy(s.pcr[b][i], p, n);
			}
	if (cur_left(&c) != 0)
		return err_set(AERR_PARSE, "IMA state: %zu trailing bytes", cur_left(&c));
	s.count = count;
	s.bytes = bytes;
	s.extended = extended;
	s.nviolations = nviol;
	*st = s;
	return 0;
}
