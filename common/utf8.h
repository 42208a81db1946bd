/* Bytes a peer sent, as valid UTF-8 where a format demands it (JSON text,
 * protobuf strings, which other languages' decoders refuse to decode
 * otherwise): every byte that does not start a valid sequence becomes
 * U+FFFD, the rest is kept as it is. */
#ifndef ATTEST_UTF8_H
#define ATTEST_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0 when it is
 * not one (overlongs, surrogates and code points past U+10FFFF are not). */
size_t utf8_seq(const unsigned char *s, size_t n);

/* How many of the first n bytes of s to keep so that a sequence the cut
 * would split is left out whole (n itself when s[n] starts a character). */
size_t utf8_cut(const char *s, size_t n);

/* The n bytes of src into dst, which holds 3 * n + 1 bytes, each invalid
 * byte as U+FFFD; NUL-terminated. Returns the length written. */
size_t utf8_clean(char *dst, const char *src, size_t n);

#endif
