/* Reviews of stored evidence, offline (issue #15): what each verdict was
 * made of (store_evidence) read back, the quote verified again with the AK
 * kept beside it, and the evidence judged by a reference with the
 * functions a session judges by (policy/judge.h). Three commands build on
 * it: a dry run of a candidate policy over the fleet's latest evidence
 * (`verifier policy test`), an audit of a node's verdicts (`verifier
 * audit`), and a reference learned from a node's quote (`verifier policy
 * learn`, review/learn.h).
 *
 * What an audit proves is consistency: each quote was signed by the AK its
 * row names, over the row's nonce, and its PCR values, logs and verdict
 * agree. That AK's binding to the node's EK was proven once, by credential
 * activation with the TPM, which no database can replay. */
#ifndef VERIFIER_REVIEW_REVIEW_H
#define VERIFIER_REVIEW_REVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "policy/judge.h"
#include "policy/named.h"
#include "quote.h"
#include "store/store.h"

/* One attestation's evidence, loaded and verified again. */
struct review_quote {
	struct store_evidence row;
	TPML_PCR_SELECTION sel;          /* the row's quoted selection */
	int verified;                    /* the quote verified again: q holds what it proves */
	int code;                        /* else why not: the AERR_* and the reason */
	char why[600];
	struct quoted_state q;
	uint8_t *log;                    /* the boot event log sent with it, NULL none */
	size_t log_len;
	uint8_t *ima;                    /* the boot's IMA entries from entry 0 up to this quote's */
	size_t ima_len;                  /* (NULL: none sent) */
	int has_ima;
};

/* Load row's evidence and verify its quote again: 0 with rq->verified 0 and
 * rq->why when the evidence is missing or does not verify; an error only
 * when the store cannot be read. review_free after either. */
int review_load(struct store *st, const struct store_evidence *row, struct review_quote *rq) ATTEST_WUR;
void review_free(struct review_quote *rq);

/* A named policy as a session would apply it, for a verifier quoting cfg's
 * selection. */
void review_named_ref(const struct verifier_config *cfg, const struct named_policy *p, struct judge_ref *ref);

/* The config file's reference, its boot and IMA policies loaded. */
struct review_config_ref {
	struct judge_ref ref;
	struct bootpolicy *boot;
	struct imapolicy *ima;
	int judges;                      /* it judges something (else verdicts are "verified") */
};
int review_config_ref(const struct verifier_config *cfg, struct review_config_ref *out) ATTEST_WUR;
void review_config_ref_free(struct review_config_ref *c);

/* Judge rq (verified) by ref as a session without earlier state would:
 * 0 pass, else the failing check's code with reason "<err_str>: <detail>"
 * as a verdict row says it. */
int review_judge(const struct review_quote *rq, const struct judge_ref *ref, char *reason, size_t cap);

#endif
