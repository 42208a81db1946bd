/* Hex text and bytes, both ways: digests in configs, policies, logs and ids. */
#ifndef ATTEST_HEX_H
#define ATTEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* n characters of s (upper or lower case) into out; the number of bytes, or -1
 * when n is odd or 0, a character is not a hex digit, or n / 2 > cap. */
int hex_decode(const char *s, size_t n, uint8_t *out, size_t cap);

/* n bytes as 2n lower-case digits and a NUL into out (2n + 1 bytes). */
void hex_encode(const uint8_t *b, size_t n, char *out);

#endif
