/* The attestor's latest attestation result (issue #18): the verifier's
 * signed EAR of its last verdict, pass or fail (Verdict.ear in push mode,
 * the "attest-result" trailer of a failed call, DeliverResult in pull
 * mode), kept as <state_dir>/result.jwt (written atomically, 0600) for
 * `attestor token` and the relying parties it is handed to. The attestor
 * does not check the token: a relying party does, with the verifier's JWKS. */
#ifndef ATTEST_RESULT_H
#define ATTEST_RESULT_H

#include <stdint.h>

#include "err.h"
#include "rpc.h"

#define RESULT_FILE "result.jwt"
/* What the transport carries of a result (rpc.h). */
#define RESULT_TOKEN_MAX RPC_RESULT_MAX

/* 1 when s is a token as the verifier sends one: 1..RESULT_TOKEN_MAX
 * characters of base64url and two dots. */
int result_token_ok(const char *s);

/* Replace the kept token with ear. AERR_INVALID_ARG when it is not one
 * (result_token_ok), AERR_IO. */
int result_save(const char *state_dir, const char *ear) ATTEST_WUR;

/* The kept token, malloc'd: AERR_NOT_FOUND when none was kept yet;
 * AERR_STATE when it has expired (its exp claim is past now, Unix
 * seconds), so that what a relying party is handed is at least current
 * by its own words. */
int result_load(const char *state_dir, int64_t now, char **ear) ATTEST_WUR;

/* Forget the kept token: a round starts, and until it ends with a verdict
 * no earlier one speaks for this host (a pass token must not outlive a
 * round that failed before the verifier could sign its failure). */
void result_clear(const char *state_dir);

#endif
