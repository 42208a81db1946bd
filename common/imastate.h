/* An IMA replay state (ima.h) as bytes, so a verifier can keep where each
 * node's list stands between sessions and ask only for the entries after it.
 * Compact: the counters, the banks and the values of the PCRs the list
 * extended. The bytes come from the verifier's own database, but are parsed
 * as strictly as any input. */
#ifndef ATTEST_IMASTATE_H
#define ATTEST_IMASTATE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ima.h"

/* Upper bound of imastate_save's output. */
#define IMASTATE_MAX (64 + IMA_MAX_BANKS * 2 + IMA_NUM_PCRS * IMA_MAX_BANKS * CRYPTO_MAX_DIGEST)

/* Serialize st into buf (cap >= IMASTATE_MAX is always enough); *len its size.
 * AERR_TOO_LARGE when cap is short. */
int imastate_save(const struct ima_replay_state *st, uint8_t *buf, size_t cap, size_t *len) ATTEST_WUR;

/* The state saved in buf[0..len). AERR_PARSE (with what is wrong) for a bad
 * magic or version, unknown or repeated banks, bad flags, or a length that
 * is not exactly what the header announces; *st is untouched then. */
int imastate_load(const uint8_t *buf, size_t len, struct ima_replay_state *st) ATTEST_WUR;

#endif
