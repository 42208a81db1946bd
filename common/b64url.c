/* common/b64url.h. */
#include "b64url.h"

static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encode(const uint8_t *b, size_t n, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];

		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = b64url_alphabet[b[i] >> 2];
		out[o++] = b64url_alphabet[(b[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)b[i] << 8 | b[i + 1];

		out[o++] = b64url_alphabet[v >> 10];
		out[o++] = b64url_alphabet[(v >> 4) & 63];
		out[o++] = b64url_alphabet[(v & 15) << 2];
	}
	out[o] = '\0';
	return o;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0, bits = 0;
	uint32_t acc = 0;

	if (n % 4 == 1 || (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* What is left are the unused low bits of the last character. */
	if (acc != 0)
		return -1;
	return (long)o;
}
