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

/* A fresh directory $TMPDIR/NAME.XXXXXX (/tmp without TMPDIR) into dir;
 * fails the test when it cannot be made or dir is too small. Every unit
 * test that needs a directory takes it here and removes it with
 * fixture_rmtree. */
void fixture_tmpdir(char *dir, size_t cap, const char *name);

/* Remove dir and everything below it; fails the test when that fails. */
void fixture_rmtree(const char *dir);

/* Decode hex into out (cap bytes); returns decoded length or -1. */
int fixture_unhex(const char *hex, uint8_t *out, size_t cap);

/* A boot event log of the shared test data: its bytes, which a test may
 * alter and parse again, and their parse (the events point into buf). */
struct eventlog;
struct fixture_log {
	uint8_t *buf;
	size_t len;
	struct eventlog *log;
};

/* Read eventlog/NAME and parse it; fails the test when it does not parse. */
void fixture_log_load(const char *name, struct fixture_log *c);

/* Parse the (altered) bytes again. */
void fixture_log_reparse(struct fixture_log *c);

void fixture_log_free(struct fixture_log *c);
#endif
