#include <string.h>

#include "err.h"
#include "strsafe.h"

static int strsafe_allowed(unsigned char c, enum strsafe_class cls)
{
	switch (cls) {
	case STRSAFE_LINE:
		return c >= 0x20 && c <= 0x7e;
	case STRSAFE_QUOTED:
		return c >= 0x20 && c <= 0x7e && c != '\'' && c != '"' && c != '\\';
	case STRSAFE_HOSTNAME:
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		       c == '-' || c == '_';
	}
	return 0;
}

size_t strsafe_copy(char *dst, size_t cap, const char *src, size_t len, enum strsafe_class cls)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, whole = 0, room;

	if (cap < 4) {
		if (cap)
			dst[0] = '\0';
		return 0;
	}
	for (size_t i = 0; src && i < len; i++)
		whole += strsafe_allowed((unsigned char)src[i], cls) ? 1 : 4;
	/* All of it, or as much as leaves room for "...". */
	room = whole <= cap - 1 ? cap - 1 : cap - 4;
	for (size_t i = 0; src && i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (strsafe_allowed(c, cls)) {
			if (o + 1 > room)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 > room)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if (whole > cap - 1) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return o;
}

size_t strsafe(char *dst, size_t cap, const char *src, enum strsafe_class cls)
{
	return strsafe_copy(dst, cap, src, src ? strlen(src) : 0, cls);
}

int strsafe_is(const char *s, enum strsafe_class cls)
{
	for (; s && *s; s++)
		if (!strsafe_allowed((unsigned char)*s, cls))
			return 0;
	return 1;
}

int strsafe_name_check(const char *what, const char *name, size_t max)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > max)
		return err_set(AERR_CONFIG, "%s name must have 1..%zu characters", what, max);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return err_set(AERR_CONFIG, "%s name '%s': only letters, digits, '.', '_' and '-', "
				       "starting with a letter or digit", what, name);
	}
	return 0;
}
