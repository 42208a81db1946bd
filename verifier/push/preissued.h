/* Quote requests handed out with push verdicts, one per node: the next
 * re-attestation answers its node's request with SubmitQuote alone, no
 * Hello (one call instead of two). An entry keeps what the next session
 * needs to be rebuilt without the attestor's endorsement (the EK and AK
 * publics the passing session had), the nonce and what the passing quote
 * showed (session_resume), and the TLS identity it was handed to.
 *
 * An id is "n", the node's database id (16 hex digits) and 128 random bits
 * (32 hex digits): one lookup, never guessable. An entry is taken once; a
 * new one for the same node replaces it; a Hello of the node drops it.
 * Thread-safe; about 1.5 kB per node. */
#ifndef VERIFIER_PUSH_PREISSUED_H
#define VERIFIER_PUSH_PREISSUED_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "push/pushid.h"
#include "session/session.h"

#define PREISSUED_TAG_LEN PUSHID_TAG_LEN
#define PREISSUED_ID_LEN PUSHID_NEXT_LEN
#define PREISSUED_PEER_MAX 128
#define PREISSUED_HOST_MAX 64
/* Node ids beyond this get no entry (their re-attestations say Hello): the
 * table is an array of pointers indexed by node id, 16 MB at the most. */
#define PREISSUED_MAX_NODE (1 << 20)

struct preissued_entry {
	struct session_resume resume;
	char peer[PREISSUED_PEER_MAX];            /* the TLS identity it was handed to */
	char host[PREISSUED_HOST_MAX];            /* for logs */
	TPMT_PUBLIC ek;
	uint8_t ak[sizeof(TPM2B_PUBLIC)];        /* TPM2B_PUBLIC wire bytes of the activated AK */
	size_t ak_len;
	TPM2_ALG_ID ak_parent;
};

struct preissued;

int preissued_new(struct preissued **out) ATTEST_WUR;
void preissued_free(struct preissued *t);

/* Keep e for node (1..PREISSUED_MAX_NODE), replacing any entry it had, under
 * a fresh tag; id receives the entry's id. */
int preissued_put(struct preissued *t, int64_t node, const struct preissued_entry *e,
		  char id[PREISSUED_ID_LEN + 1]) ATTEST_WUR;

/* Take the entry id names, presented by peer at now_ms (monotonic): 0 and *e,
 * *node; AERR_NOT_FOUND when id is malformed, unknown, replaced or used;
 * AERR_STATE when another TLS identity presents it (the entry stays);
 * AERR_NONCE when it is older than max_age_ms (dropped). */
int preissued_take(struct preissued *t, const char *id, const char *peer, uint64_t now_ms, uint64_t max_age_ms,
		   int64_t *node, struct preissued_entry *e) ATTEST_WUR;

/* Forget node's entry, if any. */
void preissued_drop(struct preissued *t, int64_t node);

/* Entries held (tests, logs). */
size_t preissued_count(struct preissued *t);

#endif
