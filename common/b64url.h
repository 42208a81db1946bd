/* base64url without padding (RFC 4648 section 5, RFC 7515 appendix C):
 * the encoding of JWS parts and JWK members. */
#ifndef ATTEST_B64URL_H
#define ATTEST_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters b64url_encode writes for n bytes, without the NUL. */
#define B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* n bytes into out (B64URL_LEN(n) + 1 bytes, NUL-terminated); the length. */
size_t b64url_encode(const uint8_t *b, size_t n, char *out);

/* n characters of s into out (cap bytes): the number of bytes, or -1 when
 * a character is outside the alphabet, padding or whitespace is there, the
 * length is impossible (n % 4 == 1), the unused bits of the last
 * character are not zero (so each byte string has one spelling), or the
 * result exceeds cap. */
long b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap);

#endif
