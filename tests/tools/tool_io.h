/* Reading input files in the test tools: common/file.c with the reason on
 * stderr, so each tool only says what it does with the bytes. */
#ifndef TESTS_TOOLS_TOOL_IO_H
#define TESTS_TOOLS_TOOL_IO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* tpm2-tools writes a TPMS_ATTEST alone (tpm2_quote -m, tpm2_certify -o);
 * our checks take the TPM2B_ATTEST: the bytes with their size in front,
 * malloc'd (NULL: out of memory). */
static inline uint8_t *tool_tpm2b(const uint8_t *msg, size_t len)
{
	uint8_t *b = malloc(len + 2);

	if (b) {
		b[0] = (uint8_t)(len >> 8);
		b[1] = (uint8_t)len;
		memcpy(b + 2, msg, len);
	}
	return b;
}

#endif
