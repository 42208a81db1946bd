/* Hex text and bytes, both ways: digests in configs, policies, logs and ids. */
#ifndef ATTEST_HEX_H
#define ATTEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* n characters of s (upper or lower case) into out; the number of bytes, or -1
 * when n is odd or 0, a character is not a hex digit, or n / 2 > cap. */
int hex_decode(const char *s, size_t n, uint8_t *out, size_t cap);

/* 1 when the n characters of s are lower-case hex digits: the one spelling
 * of the ids this project hands out. */
int hex_is_lower(const char *s, size_t n);

/* n (1..16) hex digits of s as a number; -1 when they are not. */
int hex_number(const char *s, size_t n, uint64_t *out);

/* n bytes as 2n lower-case digits and a NUL into out (2n + 1 bytes). */
void hex_encode(const uint8_t *b, size_t n, char *out);

#endif
