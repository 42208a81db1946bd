/* Configuration values, parsed alike by the attestor's and the verifier's
 * config loaders. Both return 0, or -1 when v is not such a value. And the
 * line reader both loaders give inih. */
#ifndef ATTEST_CONF_H
#define ATTEST_CONF_H

#include <stdio.h>

/* Lines of a config file for ini_parse_stream, counted. inih reads a line in
 * one buffer: a longer line would be cut and its rest read as another line,
 * so the reader stops there instead and says where (too_long_line). */
struct conf_reader {
	FILE *f;
	int line;                  /* the line being read (1-based) */
	int at_line_start;
	int too_long_line;         /* 0, or the line that did not fit */
	int max;                   /* the longest line that fits */
};

/* An ini_reader: conf_read_line(str, num, struct conf_reader *). */
char *conf_read_line(char *str, int num, void *reader);

/* true/yes/on/1 or false/no/off/0. */
int conf_bool(const char *v, int *out);

/* Decimal digits only (no sign, no space), min <= value <= max. */
int conf_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out);

#endif
