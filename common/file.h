/* Whole files into memory, bounded: certificates, keys, measurement logs.
 * Reads to end of file rather than trusting st_size (securityfs files such as
 * binary_bios_measurements report 0). */
#ifndef ATTEST_FILE_H
#define ATTEST_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* *buf (malloc'd, one spare byte so an empty file still gives a buffer) and
 * *len. AERR_NOT_FOUND when the file does not exist, AERR_TOO_LARGE beyond
 * cap bytes, AERR_IO with the path and the reason otherwise. */
int file_read_all(const char *path, size_t cap, uint8_t **buf, size_t *len) ATTEST_WUR;

#endif
