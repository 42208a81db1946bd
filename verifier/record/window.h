/* The re-attestation window: once a second, every passing (or verified) node
 * whose last attestation is older than reattest_window is failed, with a
 * verdict without contact that the hook hears of. Both modes run one: a node
 * that stops proving its TPM (a push attestor gone silent, a pull target that
 * no longer answers as it, a node dropped from `targets`) does not stay
 * passing. Windows count only while this verifier runs: nobody could attest
 * to it while it was down.
 *
 * The same thread keeps the evidence retention: at start and then hourly,
 * the evidence of verdicts older than retention_s goes
 * (store_evidence_prune). */
#ifndef VERIFIER_RECORD_WINDOW_H
#define VERIFIER_RECORD_WINDOW_H

#include <stdint.h>

#include "err.h"
#include "record/hook.h"
#include "store/store.h"

struct window;

/* Start the thread over store (borrowed, thread-safe, outlives the window)
 * for nodes of mode ("pull" | "push", recorded with the verdicts), failing
 * them after window_s seconds; hook may be NULL. *out NULL (and 0) when
 * window_s and retention_s are 0. AERR_INTERNAL when the thread cannot
 * start. */
int window_start(struct store *store, struct hook *hook, const char *mode, uint32_t window_s, uint32_t retention_s,
		 const TPML_PCR_SELECTION *pcrs, struct window **out) ATTEST_WUR;

/* Stop and join the thread; NULL-safe. */
void window_stop(struct window *w);

#endif
