#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int conf_bool(const char *v, int *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

int conf_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long x;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (*end || errno || x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

char *conf_read_line(char *str, int num, void *reader)
{
	struct conf_reader *c = reader;
	char *r = fgets(str, num, c->f);
	size_t n;

	if (!r)
		return NULL;
	if (c->at_line_start || c->line == 0)
		c->line++;
	n = strlen(r);
	c->at_line_start = n > 0 && r[n - 1] == '\n';
	if (!c->at_line_start && !feof(c->f)) {
		c->too_long_line = c->line;
		c->max = num - 2;
		return NULL;
	}
	return r;
}
