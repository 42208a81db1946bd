/* The two kinds of session id a push request names, both written and read
 * here:
 *  - a session a Hello opens: the session table's slot number (8 hex digits)
 *    and a random tag (32), 40 lower-case hex digits in all;
 *  - a quote request handed out with a verdict (push/preissued.h): "n", the node's
 *    database id (16 hex digits) and a random tag (32).
 * The tag makes an id unguessable, and an old id of a reused slot or a
 * replaced request unknown. */
#ifndef VERIFIER_PUSH_PUSHID_H
#define VERIFIER_PUSH_PUSHID_H

#include <stdint.h>

#include "err.h"

#define PUSHID_TAG_LEN 16
#define PUSHID_LEN (8 + 2 * PUSHID_TAG_LEN)
#define PUSHID_NEXT_LEN (1 + 16 + 2 * PUSHID_TAG_LEN)

void pushid_format(uint32_t slot, const uint8_t tag[PUSHID_TAG_LEN], char out[PUSHID_LEN + 1]);

/* 0 with *slot and tag; AERR_INVALID_ARG, with the message, when id is not
 * 40 lower-case hex digits. */
int pushid_parse(const char *id, uint32_t *slot, uint8_t tag[PUSHID_TAG_LEN]) ATTEST_WUR;

/* 1 when id is of the handed-out kind (the caller routes it to preissued). */
int pushid_is_next(const char *id);

void pushid_next_format(uint64_t node, const uint8_t tag[PUSHID_TAG_LEN], char out[PUSHID_NEXT_LEN + 1]);

/* 0 with *node and tag; AERR_NOT_FOUND, with the message, when id is not "n"
 * and 48 lower-case hex digits (the attestor then says Hello). */
int pushid_next_parse(const char *id, uint64_t *node, uint8_t tag[PUSHID_TAG_LEN]) ATTEST_WUR;

#endif
