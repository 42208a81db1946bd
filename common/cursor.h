/* A little-endian read cursor over hostile bytes, for the measurement log
 * parsers (TCG event logs and IMA lists are written in the host's byte
 * order, little endian on the machines that have TPMs). Every read checks
 * the bytes left first and fails with -1 without moving. */
#ifndef ATTEST_CURSOR_H
#define ATTEST_CURSOR_H

#include <stddef.h>
#include <stdint.h>

struct cur {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

static inline size_t cur_left(const struct cur *c)
{
	return c->len - c->off;
}

static inline int cur_u8(struct cur *c, uint8_t *v)
{
	if (cur_left(c) < 1)
		return -1;
	*v = c->buf[c->off++];
	return 0;
}

static inline int cur_u16(struct cur *c, uint16_t *v)
{
	if (cur_left(c) < 2)
		return -1;
	*v = (uint16_t)(c->buf[c->off] | (c->buf[c->off + 1] << 8));
	c->off += 2;
	return 0;
}

static inline int cur_u32(struct cur *c, uint32_t *v)
{
	const uint8_t *p = c->buf + c->off;

	if (cur_left(c) < 4)
		return -1;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	c->off += 4;
	return 0;
}

static inline int cur_u64(struct cur *c, uint64_t *v)
{
	const uint8_t *p = c->buf + c->off;

	if (cur_left(c) < 8)
		return -1;
	*v = 0;
	for (int i = 7; i >= 0; i--)
		*v = *v << 8 | p[i];
	c->off += 8;
	return 0;
}

static inline int cur_bytes(struct cur *c, size_t n, const uint8_t **p)
{
	if (cur_left(c) < n)
		return -1;
	*p = c->buf + c->off;
	c->off += n;
	return 0;
}

#endif
