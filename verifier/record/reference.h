/* The reference each node is judged by (issue #15): the named policy the
 * store assigns it (policy/named.h: its own, else its groups'), or the
 * config file's when none is. Looked up at every attestation, so that a
 * policy created, changed or assigned while the verifier runs judges the
 * node's next quote, and its whole IMA list (record_prior drops an IMA
 * state another reference judged); each version is parsed once and shared
 * by the sessions judging by it (versions never change). */
#ifndef VERIFIER_RECORD_REFERENCE_H
#define VERIFIER_RECORD_REFERENCE_H

#include <stdint.h>

#include "err.h"
#include "policy/named.h"
#include "session/session.h"
#include "store/store.h"

struct reference_cache;

/* lim: what stored policies are checked against (the verifier's quoted
 * selection and replayed PCRs). */
int reference_cache_new(const struct named_policy_limits *lim, struct reference_cache **out) ATTEST_WUR;
void reference_cache_free(struct reference_cache *c);

/* Version version of policy name, read from the store and parsed against
 * lim: *out (named_policy_free), AERR_NOT_FOUND, AERR_STORE when the store
 * cannot be read, else why it does not parse. */
int reference_load(struct store *st, const char *name, uint32_t version, const struct named_policy_limits *lim,
		   struct named_policy **out) ATTEST_WUR;

/* Give session s the reference of node node_id (session_set_reference),
 * when the store assigns it one; the config file's stays otherwise. A
 * policy that cannot be applied (two groups assign different ones, the
 * stored text no longer fits this configuration) is set as broken: the
 * node's quote then fails, naming why. AERR_STORE when the store cannot be
 * read (no verdict: the peer tries again). */
int reference_apply(struct reference_cache *c, struct store *st, int64_t node_id, struct session *s) ATTEST_WUR;

#endif
