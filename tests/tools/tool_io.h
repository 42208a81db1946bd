/* Reading input files in the test tools: common/file.c with the reason on
 * stderr, so each tool only says what it does with the bytes. */
#ifndef TESTS_TOOLS_TOOL_IO_H
#define TESTS_TOOLS_TOOL_IO_H

#include <stdio.h>

#include "file.h"

/* The whole file (at most cap bytes), or NULL after printing why not. */
static inline uint8_t *tool_read(const char *path, size_t cap, size_t *len)
{
	uint8_t *buf = NULL;

	if (file_read_all(path, cap, &buf, len) != 0) {
		fprintf(stderr, "%s\n", err_detail());
		return NULL;
	}
	return buf;
}

#endif
