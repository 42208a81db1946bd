/* `verifier serve` in pull mode: keep every configured target attested.
 * One thread per target, each with its own pull driver (channel, trust
 * stores, database connection), so a slow or unreachable attestor delays no
 * other. A target gets a full exchange first, and again after any failure or
 * a TPM reset; in between, a quote round with the activated AK every
 * reattest_interval (the IMA replay continues where it stopped). Every
 * verdict is logged and, with state_dir, recorded; an unreachable target is
 * recorded as a failure of its node. Stops on SIGINT/SIGTERM. */
#ifndef VERIFIER_PULL_SERVE_H
#define VERIFIER_PULL_SERVE_H

#include "config.h"
#include "err.h"

/* AERR_CONFIG when there are no targets; 0 after a clean stop. */
int pull_serve_run(const struct verifier_config *cfg) ATTEST_WUR;

/* End target's wait: it is attested again now, not at its next interval
 * (the Admin service's Reattest; admin/admin.h's hook, arg unused).
 * AERR_NOT_FOUND when serve does not attest target, AERR_STATE before
 * serve attests any. */
int pull_serve_wake(const char *target, void *arg);

#endif
