/* common/utf8.h: valid UTF-8 out of a peer's bytes. */
#include <string.h>

#include "utf8.h"

size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

size_t utf8_cut(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k = n;

	if ((u[n] & 0xc0) != 0x80)
		return n;
	/* s[n] continues a character: go back to its first byte (at most 3). */
	while (k > 0 && n - k < 3 && (u[k] & 0xc0) == 0x80)
		k--;
	return (u[k] & 0xc0) != 0x80 ? k : n;
}

size_t utf8_clean(char *dst, const char *src, size_t n)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *u = (const unsigned char *)src;
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(u + i, n - i);

		if (k == 0) {
			memcpy(dst + o, repl, 3);
			o += 3;
			i++;
		} else {
			memcpy(dst + o, u + i, k);
			o += k;
			i += k;
		}
	}
	dst[o] = '\0';
	return o;
}
