/* What judges a verified quote's evidence against a reference: the PCR
 * values, the boot event log (its replay, then the boot policy) and the IMA
 * list (its replay, then the IMA policy), in that order. The session judges
 * each quote with these (session/quotecheck.c); a dry run and an audit
 * (review/) judge stored evidence with the same functions, so that what they
 * predict is what a session decides. */
#ifndef VERIFIER_POLICY_JUDGE_H
#define VERIFIER_POLICY_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "ima.h"
#include "policy/bootpolicy.h"
#include "policy/imapolicy.h"
#include "policy/policy.h"
#include "quote.h"

struct judge_ref {
	const TPML_PCR_SELECTION *pcrs;  /* the quoted selection */
	uint32_t eventlog_pcrs;          /* quoted PCRs a sent boot log must reproduce */
	const struct policy *policy;     /* PCR values; NULL none */
	const struct bootpolicy *boot;   /* NULL none */
	const struct imapolicy *ima;     /* NULL none */
	int require_event_log, require_ima;
};

/* The quoted PCR values against ref->policy. */
int judge_pcrs(const struct judge_ref *ref, const struct quoted_state *q) ATTEST_WUR;

/* The boot event log (len 0: none sent) against what q proved. */
int judge_event_log(const struct judge_ref *ref, const uint8_t *log, size_t len,
		    const struct quoted_state *q) ATTEST_WUR;

/* No IMA list was sent: AERR_EVENTLOG when one is required. */
int judge_no_ima(const struct judge_ref *ref) ATTEST_WUR;

/* A replay of a boot's IMA list from its first entry, in the banks a
 * quote may select PCR 10 in. */
int judge_ima_start(struct ima_replay_state *st) ATTEST_WUR;

/* The IMA entries buf (len bytes, from entry first = st->count) continue
 * replay st up to the prefix q's PCR 10 covers (*used entries); those are
 * judged by ref->ima. st moves on only on success. */
int judge_ima(const struct judge_ref *ref, struct ima_replay_state *st, const uint8_t *buf, size_t len,
	      uint64_t first, const struct quoted_state *q, size_t *used) ATTEST_WUR;

/* A whole quote's evidence as one session with no earlier state judges it:
 * values, log, then the IMA list from entry 0 (ima NULL and ima_len 0:
 * none sent). */
int judge_all(const struct judge_ref *ref, const struct quoted_state *q, const uint8_t *log, size_t log_len,
	      const uint8_t *ima, size_t ima_len) ATTEST_WUR;

#endif
