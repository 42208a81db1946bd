/* Who signs the verdicts' results (results/ear.h) in a running verifier:
 * the result keys of [results] and how long a token lives. Shared by every
 * thread that records verdicts (signing only reads the key). */
#ifndef VERIFIER_RESULTS_ISSUER_H
#define VERIFIER_RESULTS_ISSUER_H

#include "config.h"
#include "err.h"
#include "results/ear.h"
#include "results/keys.h"

struct result_issuer;

/* The issuer of cfg's [results]; *out NULL (and 0) when results are not
 * signed (sign = false, or neither key nor state_dir). create: make the
 * key at its path when it does not exist (serve; the commands that only
 * read it do not). AERR_CONFIG with why. */
int result_issuer_open(const struct verifier_config *cfg, int create, struct result_issuer **out) ATTEST_WUR;
void result_issuer_free(struct result_issuer *is);

const struct result_keys *result_issuer_keys(const struct result_issuer *is);

/* in (its iat, ttl and verifier id set here) as a signed EAR: *jwt
 * malloc'd, *status its tier. */
int result_issue(const struct result_issuer *is, struct ear_input *in, char **jwt, int *status) ATTEST_WUR;

#endif
