/* Small helpers shared by the unit tests. */
#ifndef TESTS_FIXTURES_H
#define TESTS_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

/* Read a whole file; returns malloc'd bytes (caller frees) or NULL. */
uint8_t *fixture_read(const char *path, size_t *len);

/* Path under the shared test data directory (static buffer, overwritten per call). */
const char *fixture_testdata(const char *rel);

/* Path under the source tree (static buffer, overwritten per call). */
const char *fixture_source(const char *rel);

/* Decode hex into out (cap bytes); returns decoded length or -1. */
int fixture_unhex(const char *hex, uint8_t *out, size_t cap);
#endif
