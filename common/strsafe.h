/* Strings that came from a peer (hostname claims, TLS identities, IMA paths,
 * reasons quoting them), made safe where they leave the program: a log line,
 * a terminal, a quoted field. Every byte a class does not allow is written as
 * \xNN, so nothing a peer sends can start a new log line, move a terminal's
 * cursor, or close the quotes it is printed in. JSON output escapes with
 * json-c / jsonout instead. */
#ifndef ATTEST_STRSAFE_H
#define ATTEST_STRSAFE_H

#include <stddef.h>

enum strsafe_class {
	STRSAFE_LINE = 0,   /* printable ASCII 0x20..0x7e: one line, no control bytes */
	STRSAFE_QUOTED,     /* STRSAFE_LINE without ', " and \: safe inside quotes */
	STRSAFE_HOSTNAME,   /* letters, digits, '.', '-', '_' only */
};

/* Copy len bytes of src (NULL: none) into dst of cap bytes (>= 4), always
 * NUL-terminated; bytes outside cls become \xNN. When the result does not
 * fit it is cut at a whole escape and ends in "...". Returns strlen(dst). */
size_t strsafe_copy(char *dst, size_t cap, const char *src, size_t len, enum strsafe_class cls);

/* strsafe_copy of a C string (NULL: ""). */
size_t strsafe(char *dst, size_t cap, const char *src, enum strsafe_class cls);

/* 1 when every byte of the C string s is in cls (so strsafe would copy it
 * unchanged); NULL counts as safe. */
int strsafe_is(const char *s, enum strsafe_class cls);

/* An operator's name for a thing the programs keep (a secret, stored as a
 * file name; a policy): 1..max of letters, digits, '.', '_' and '-', the
 * first a letter or digit. 0, or AERR_CONFIG "WHAT name ...: why". */
int strsafe_name_check(const char *what, const char *name, size_t max);

#endif
