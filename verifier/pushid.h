/* Ids of the push sessions a Hello opens: the session table's slot number
 * (8 hex digits) and a random tag (32), 40 lower-case hex digits in all. The
 * tag makes an id unguessable, and an old id of a reused slot unknown. (The
 * quote requests handed out with verdicts have ids of their own: pushnext.h.) */
#ifndef VERIFIER_PUSHID_H
#define VERIFIER_PUSHID_H

#include <stdint.h>

#include "err.h"

#define PUSHID_TAG_LEN 16
#define PUSHID_LEN (8 + 2 * PUSHID_TAG_LEN)

void pushid_format(uint32_t slot, const uint8_t tag[PUSHID_TAG_LEN], char out[PUSHID_LEN + 1]);

/* 0 with *slot and tag; AERR_INVALID_ARG, with the message, when id is not
 * 40 lower-case hex digits. */
int pushid_parse(const char *id, uint32_t *slot, uint8_t tag[PUSHID_TAG_LEN]) ATTEST_WUR;

#endif
