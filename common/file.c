#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

int file_read_all(const char *path, size_t cap, uint8_t **buf, size_t *len)
{
	FILE *f;
	uint8_t *b = NULL, *grown;
	size_t n = 0, size = 0, got;
	int r = 0;

	*buf = NULL;
	*len = 0;
	if (!(f = fopen(path, "rb")))
		return err_set(errno == ENOENT ? AERR_NOT_FOUND : AERR_IO, "%s: %s", path, strerror(errno));
	for (;;) {
		if (n + 1 >= size) {
			size_t want = size ? size * 2 : 65536;

			if (want > cap + 2)
				want = cap + 2;
			if (n + 1 >= want) {
				r = err_set(AERR_TOO_LARGE, "%s: more than %zu bytes", path, cap);
				break;
			}
			if (!(grown = realloc(b, want))) {
				r = err_set(AERR_ALLOC, "%s", path);
				break;
			}
			b = grown;
			size = want;
		}
		got = fread(b + n, 1, size - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				r = err_set(AERR_IO, "%s: read error", path);
			break;
		}
	}
	fclose(f);
	if (r == 0 && n > cap)
		r = err_set(AERR_TOO_LARGE, "%s: more than %zu bytes", path, cap);
	if (r != 0) {
		free(b);
		return r;
	}
	*buf = b;
	*len = n;
	return 0;
}
