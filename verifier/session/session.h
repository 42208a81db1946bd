/* The verifier's one attestation state machine. Both the pull driver (a gRPC
 * client calling the attestor) and the push service (gRPC handlers) feed it;
 * it knows nothing of gRPC or protobuf: inputs and outputs are our own structs
 * and TPM wire bytes.
 *
 *   NEW --endorse--> ENDORSED --ak--> AK_ADMITTED --activate--> ACTIVATED
 *   ACTIVATED/QUOTED --quote_request--> (nonce issued) --quote--> QUOTED
 *   QUOTED --secrets--> SECRETS_SENT --receipt--> QUOTED
 *
 * An AK this node's TPM activated in an earlier session (session_set_prior)
 * goes from ENDORSED straight to ACTIVATED. A quote from another boot than
 * the AK's activation is no verdict but SESSION_NEXT_REACTIVATE and state
 * REACTIVATE_DUE: session_reactivate issues a new credential for the same AK
 * (AK_ADMITTED again).
 *
 * The table of which state admits which call and moves where is in one
 * place, session.c's session_machine. Every step is accepted once and in
 * order (AERR_STATE otherwise, the session unchanged); a quote round
 * (request + quote) may repeat after QUOTED (re-attestation with the same
 * AK). Any failed check moves the session to FAILED, which accepts nothing.
 *
 * Proof before state: session_proven says whether the peer has proven the
 * endorsed EK's TPM (credential activation passed, or the AK this TPM
 * activated before signed a quote over this session's nonce). Callers may
 * change a node only then; a session that fails earlier is an anonymous
 * rejected attempt, never a verdict of the node whose EK it presented. */
#ifndef VERIFIER_SESSION_SESSION_H
#define VERIFIER_SESSION_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "session/keycache.h"
#include "policy/bootpolicy.h"
#include "endorsement/ekcert.h"
#include "ima.h"
#include "policy/imapolicy.h"
#include "err.h"
#include "pcrsel.h"
#include "policy/policy.h"
#include "quote.h"
#include "policy/secret.h"

#define SESSION_SECRET_LEN 32
#define SESSION_NONCE_LEN 32
/* A relying party's nonce (session_set_rp_nonce): eat_nonce's bounds. */
#define SESSION_RP_NONCE_MIN 8
#define SESSION_RP_NONCE_MAX 64
#define SESSION_MAX_EKS 4

enum session_state {
	SESSION_NEW = 0,
	SESSION_ENDORSED,
	SESSION_AK_ADMITTED,   /* credential challenge issued */
	SESSION_REACTIVATE_DUE, /* a quote showed another boot than the AK's activation:
				 * a new challenge first (session_reactivate) */
	SESSION_ACTIVATED,     /* AK bound to the EK; quotes may be requested */
	SESSION_QUOTED,        /* at least one quote passed */
	SESSION_SECRETS_SENT,  /* secrets delivered, proofs of receipt awaited */
	SESSION_FAILED,
};

enum session_step {
	SESSION_STEP_ENDORSEMENT = 0,
	SESSION_STEP_AK,
	SESSION_STEP_ACTIVATION,
	SESSION_STEP_QUOTE_REQUEST,
	SESSION_STEP_QUOTE,
	SESSION_STEP_SECRETS,
	SESSION_STEP_RECEIPT,
};

/* Policy for one session. Pointers are borrowed and must outlive the session. */
struct session_params {
	TPM2_ALG_ID ek_alg;                    /* EK that protects the credential: RSA | ECC */
	int require_ek_cert;
	const struct ekcert_trust *ek_trust;   /* needed when require_ek_cert */
	const struct ekcert_trust *platform_trust; /* NULL = platform certificates not checked */
	int require_platform_cert;
	TPM2_ALG_ID ak_alg;                    /* RSA | ECC | TPM2_ALG_NULL = any */
	TPML_PCR_SELECTION pcrs;               /* selection to quote */
	uint32_t nonce_ttl_ms;                 /* 0 = every nonce is already expired */
	const struct policy *policy;           /* NULL = no PCR expectations */
	int has_reference;                     /* policy values, a boot or an IMA policy judge the
						* PCR state; without, a verified quote is only
						* "verified" (unjudged), never a pass */
	int require_event_log;                 /* a quote without a boot event log fails */
	uint32_t eventlog_pcrs;                /* quoted PCRs a sent boot log must reproduce */
	int require_ima;                       /* a quote without an IMA list fails */
	const struct bootpolicy *boot_policy;  /* NULL = no rules over the boot events */
	const struct imapolicy *ima_policy;    /* NULL = no IMA allowlist */
	struct keycache *ek_cache;              /* NULL = verify every endorsement in full; else
						* the cache of the trust stores above (session/keycache.h) */
	struct keycache *ak_keys;               /* NULL = build the AK's key for every quote; else
						* the keys of AKs seen before, by name (session/keycache.h) */
	/* Monotonic milliseconds; NULL = CLOCK_MONOTONIC. Tests inject their own. */
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
};

/* --- step inputs (views of hostile bytes, borrowed for the call only) */

struct session_ek {
	TPM2_ALG_ID alg;             /* claimed: RSA | ECC; must match the public's type */
	const uint8_t *pub;          /* TPM2B_PUBLIC wire bytes */
	size_t pub_len;
	const uint8_t *cert;         /* DER EK certificate; NULL/0 when absent */
	size_t cert_len;
};

struct session_endorsement {
	size_t n_eks;
	struct session_ek eks[SESSION_MAX_EKS];
	const uint8_t *platform_cert; /* DER, NULL/0 when absent */
	size_t platform_cert_len;
	const char *hostname;         /* informational only */
};

struct session_ak {
	const uint8_t *pub;           /* TPM2B_PUBLIC wire bytes */
	size_t pub_len;
	TPM2_ALG_ID parent_ek_alg;    /* the EK the attestor says parents the AK */
};

struct session_quote {
	const uint8_t *attest;        /* TPM2B_ATTEST wire bytes */
	size_t attest_len;
	const uint8_t *sig;           /* TPMT_SIGNATURE wire bytes */
	size_t sig_len;
	const struct pcr_values *values; /* claimed PCR values; proven only by quote_verify */
	const uint8_t *event_log;     /* TCG boot event log; NULL/0 when not sent */
	size_t event_log_len;
	const uint8_t *ima;           /* binary IMA entries from number ima_first; NULL/0 with */
	size_t ima_len;               /* ima_first 0 = no IMA list sent */
	uint64_t ima_first;
};

/* --- step outputs */

/* TPM2_MakeCredential output, for the attestor's TPM2_ActivateCredential. */
struct session_challenge {
	TPM2_ALG_ID ek_alg;
	TPM2B_NAME ak_name;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET enc_seed;
};

struct session_quote_request {
	uint8_t nonce[SESSION_NONCE_LEN];
	size_t nonce_len;
	TPML_PCR_SELECTION pcrs;
	uint64_t ima_offset;          /* IMA entries of this boot already replayed */
};

struct session_verdict {
	int pass;                        /* every check passed, against a reference */
	int unjudged;                    /* pass 0: every check passed, but there was no reference */
	int code;                        /* 0 on pass, else the AERR_* of the failed check */
	enum session_step step;          /* the step that failed */
	char reason[600];                /* "<err_str>: <err_detail>", empty on pass: the operator's */
	char peer_reason[600];           /* the same without operator-only details (err_private):
					  * what the peer is told */
	uint32_t reset_count, restart_count;
	uint64_t clock;                  /* TPMS_CLOCK_INFO.clock of the quote */
	uint8_t nonce[SESSION_NONCE_LEN]; /* the quote's nonce (public once used), for the record */
	size_t nonce_len;
	int reboot_seen;                 /* resetCount differs from the previous quote of this session */
	struct quoted_state quoted;      /* what the last passing quote proved */
	int has_quoted;                  /* quoted.pcrs holds what a verified quote proved: on a
					  * pass, and on a failure after the signature and digest
					  * checks (a policy the values break) */
	size_t secrets_proven;           /* receipt step: secrets whose proof verified */
	int event_log_checked;           /* a boot event log reproduced the quoted PCRs */
	int ima_checked;                 /* an IMA list reproduced the quoted PCR 10 */
	uint64_t ima_entries;            /* IMA entries vouched for by the quote so far */
	uint64_t ima_new;                /* of those, replayed from this quote's list */
	const struct ima_replay_state *ima_state; /* the replay to continue from (points into the
						   * session), NULL when no IMA list was checked */
};

/* A proof of receipt from the host (views into its message). */
struct session_proof {
	const char *name;
	const uint8_t *proof;
	size_t len;
};

/* What the verifier's store knew of this node (all zero for a new node). */
struct session_prior {
	int has_counts;                  /* counters of its last passing quote */
	uint32_t reset_count, restart_count;
	uint64_t clock;
	uint8_t ak_name[sizeof(TPMU_NAME)]; /* the AK it activated (ak_name_len 0: none) */
	size_t ak_name_len;
	int has_ima;                     /* its IMA list replayed so far, in boot ima_reset */
	uint32_t ima_reset;
	struct ima_replay_state ima;
};

struct session;

/* New session in state NEW; *out NULL on failure (AERR_INVALID_ARG with detail). */
int session_new(const struct session_params *params, struct session **out) ATTEST_WUR;
/* Wipes any outstanding secret and nonce; NULL-safe. */
void session_free(struct session *s);

enum session_state session_get_state(const struct session *s);
const char *session_state_name(enum session_state st);
const char *session_step_name(enum session_step step);

/* Step 1. Chooses the EK of params.ek_alg (AERR_NOT_FOUND if absent), parses it
 * strictly, requires the TCG default EK template (AERR_UNSUPPORTED), checks the
 * EK certificate (AERR_EK_CERT*) and platform certificate (AERR_PLATFORM_CERT). */
int session_endorse(struct session *s, const struct session_endorsement *in) ATTEST_WUR;

/* Step 2. Parses and admits the AK (AERR_AK_ATTRS / AERR_UNSUPPORTED), computes its
 * Name, makes a fresh secret and the credential for (EK, AK name) into *out. */
int session_ak(struct session *s, const struct session_ak *in, struct session_challenge *out) ATTEST_WUR;

/* Between steps 1 and 2: what the store knew of the node. Its counters are the
 * reference for the first quote (resetCount, restartCount and, within a boot,
 * the clock never go backwards: AERR_COUNTERS fails the session); its AK, when
 * the same one is presented, needs no activation. enrolled = 0 (an unknown
 * node under explicit enrollment) fails the session: AERR_NOT_FOUND. */
int session_set_prior(struct session *s, const struct session_prior *prior, int enrolled) ATTEST_WUR;

/* 1 when session_ak found the AK activated earlier: state ACTIVATED, no
 * challenge to send. */
int session_ak_preactivated(const struct session *s);

/* After session_quote asked for SESSION_NEXT_REACTIVATE (state
 * REACTIVATE_DUE): a new credential for the same AK (state AK_ADMITTED; then
 * session_activate and a new quote round). */
int session_reactivate(struct session *s, struct session_challenge *out) ATTEST_WUR;

/* Step 3. Constant-time comparison with the secret (AERR_CREDENTIAL); the secret is
 * wiped either way. */
int session_activate(struct session *s, const uint8_t *secret, size_t len) ATTEST_WUR;

/* Step 4. A fresh single-use nonce (expires after nonce_ttl) and the selection. */
int session_quote_request(struct session *s, struct session_quote_request *out) ATTEST_WUR;

/* Before the quote request: a relying party's nonce (SESSION_RP_NONCE_MIN
 * to _MAX bytes) the quote's nonce commits to: each request's nonce is
 * then SHA-256("tpm-attest rp nonce" || 32 fresh bytes || rp), so the
 * quote is dated after the relying party made it. AERR_INVALID_ARG for
 * another length. */
int session_set_rp_nonce(struct session *s, const uint8_t *rp, size_t len) ATTEST_WUR;

/* The relying party's nonce of session_set_rp_nonce; NULL (and *len 0)
 * when none. */
const uint8_t *session_rp_nonce(const struct session *s, size_t *len);

/* --- re-attestation in one call (push): a passing verdict hands out the next
 * quote request; the next session is rebuilt from what the verifier kept. */

/* What the last passing quote showed, and the quote request handed out with
 * its verdict. */
struct session_resume {
	uint8_t nonce[SESSION_NONCE_LEN];
	uint64_t issued_ms;              /* monotonic (the session clock) when handed out */
	uint32_t reset_count, restart_count;
	uint64_t clock;                  /* TPMS_CLOCK_INFO.clock of that quote */
	/* The last quote of this boot that answered a fresh nonce: when that
	 * nonce was issued and the TPM clock its quote showed. The TPM clock
	 * may not run ahead of the verifier's since then (TPM2_ClockSet). */
	uint64_t anchor_ms;
	uint64_t anchor_clock;
};

/* After a passing verdict (state QUOTED): the node's next quote request, a
 * fresh nonce into *resume with what the passing quote showed and when it was
 * issued, and the request to send into *out. The session itself is not
 * changed: the next session takes *resume (session_quote_preissued).
 * AERR_STATE without a passing verdict. */
int session_next_request(const struct session *s, struct session_resume *resume,
			 struct session_quote_request *out) ATTEST_WUR;

/* Step 1 for a node whose endorsement passed before (the EK public the
 * verifier kept, no certificates): state ENDORSED. The caller vouches that ek
 * is that node's. */
int session_endorse_known(struct session *s, const TPMT_PUBLIC *ek) ATTEST_WUR;

/* After session_ak found the AK activated before (state ACTIVATED): take r's
 * nonce as the outstanding one. The quote answering it is then held to the
 * TPM's clock instead of nonce_ttl, measured from r's anchor (the last quote
 * over a fresh nonce): the TPM clock may not have advanced more than the
 * verifier's since (plus 100 ms and 0.1% for the rate), and the quote may be
 * no older than nonce_ttl (wall time since the anchor less the TPM clock's
 * advance); clockInfo.safe must be YES. Otherwise, or when the counters
 * moved, session_quote asks for SESSION_NEXT_REQUOTE (a fresh nonce), not a
 * verdict. */
int session_quote_preissued(struct session *s, const struct session_resume *r) ATTEST_WUR;

/* What a quote that verified leads to. Asking again is no verdict and no
 * error: the TPM proved itself, the verifier needs one more step first. */
enum session_next {
	SESSION_NEXT_VERDICT = 0,  /* the verdict (the return value and *verdict say which) */
	SESSION_NEXT_REQUOTE,      /* request a quote again, with a fresh nonce: the IMA list
				    * continued the replay the store had from another boot (IMA
				    * from entry 0 then), or the quote for a pre-issued nonce is
				    * not provably fresh (session_quote_preissued) */
	SESSION_NEXT_REACTIVATE,   /* the TPM was reset since the AK was activated:
				    * session_reactivate, then a quote round */
};

/* Step 5. quote_verify against the AK and the outstanding nonce (consumed even on
 * failure), the counter rules (above), then the PCR policy over the proven
 * values. *next says what the quote leads to; 0 with SESSION_NEXT_VERDICT is
 * a passing (or unjudged) verdict, an error code a failing one (AERR_NONCE
 * when no unused, unexpired nonce is outstanding). Fills *verdict (may be
 * NULL) either way when the step was in order. */
int session_quote(struct session *s, const struct session_quote *in, struct session_verdict *verdict,
		  enum session_next *next) ATTEST_WUR;

/* Why the last session_quote asked for another step, for logs; "" after a
 * verdict. */
const char *session_next_reason(const struct session *s);

/* Step 6, only after a passing quote (state QUOTED, judged against a
 * reference; AERR_STATE otherwise, the session unchanged): wrap each of the n definitions (1..SECRET_MAX_PER_HOST)
 * for this session's EK under a PCR policy (the definition's, or the passing
 * quote's selection and values) with a fresh challenge. *out points into the
 * session, valid until the receipt step or session_free. */
int session_secrets(struct session *s, const struct secret_def *const *defs, size_t n,
		    const struct secret_blob **out) ATTEST_WUR;

/* Step 7: exactly one proof per delivered secret, by name, each verified
 * (secret_proof_check). Any missing, unknown, repeated or wrong proof fails
 * the session (AERR_PROOF). On success the session is QUOTED again and
 * *verdict (may be NULL) counts the secrets proven. */
int session_receipt(struct session *s, const struct session_proof *proofs, size_t n,
		    struct session_verdict *verdict) ATTEST_WUR;

/* 1 once the peer proved the endorsed EK's TPM (see the top of this file). */
int session_proven(const struct session *s);

/* A check outside the session refused it (the node is bound to another TLS
 * identity or pull target, or was removed): FAILED at step with code and the current
 * err_detail() as its reason. Returns code. */
int session_reject(struct session *s, enum session_step step, int code) ATTEST_WUR;

/* The endorsed EK's certificate as presented (DER; NULL, *len 0 when none). */
const uint8_t *session_ek_cert(const struct session *s, size_t *len);
/* The EK certificate when it chained to ek_roots, and the platform
 * certificate when it verified against platform_ca (NULL, *len 0: none):
 * what the facts of group rules come from (endorsement/facts.h). */
const uint8_t *session_verified_ek_cert(const struct session *s, size_t *len);
/* This session checked the endorsement itself (a session resumed from the
 * store's record did not): only then do the two above say what it shows. */
int session_endorsement_checked(const struct session *s);
const uint8_t *session_verified_platform_cert(const struct session *s, size_t *len);

/* The host's identity for [secret] hosts = ek:...: hex SHA-256 of the EK's
 * TPM2B_PUBLIC (valid from ENDORSED on). */
int session_ek_hash(const struct session *s, char hex[65]) ATTEST_WUR;

/* The same of the EK the peer sent, from the moment it parsed, whether or
 * not its endorsement then passed: what a rejected attempt claimed to be,
 * never a proof. "" when the attempt failed before that. */
void session_claimed_ek_hash(const struct session *s, char hex[65]);

/* The reference a node is judged by when it is not the config file's (a
 * named policy of the store, policy/named.h), set once its node is known
 * and before its quote: session_set_reference replaces the params' policy,
 * boot and IMA policies and the logs required. broken non-NULL: no
 * reference can be applied (its groups assign two policies, the stored one
 * no longer fits the configuration): every quote then fails, after its
 * proof, with that reason. The session calls release(hold) when it is
 * freed; the pointers stay valid until then. */
struct session_reference {
	const char *name;                    /* at most 64 characters */
	uint32_t version;
	const struct policy *policy;
	const struct bootpolicy *boot_policy;
	const struct imapolicy *ima_policy;
	int require_event_log, require_ima;
	int has_secrets;                     /* the secrets its nodes receive, by [secret] name,
					      * in place of the hosts lines */
	const char *const *secrets;
	size_t nsecrets;
	const char *broken;
	void (*release)(void *hold);
	void *hold;
};
int session_set_reference(struct session *s, const struct session_reference *ref) ATTEST_WUR;

/* The secrets the reference names (session_reference.secrets): 1 with
 * *names and *n when it names them, 0 when hosts lines decide. */
int session_reference_secrets(const struct session *s, const char *const **names, size_t *n);

/* The name and version of the reference the session judges by: "config"
 * and 0 for the config file's. */
const char *session_reference_name(const struct session *s, uint32_t *version);

/* The last failure (code, step, reason) or the last pass. */
const struct session_verdict *session_last_verdict(const struct session *s);

/* The admitted AK (valid from AK_ADMITTED on), for callers that persist it. */
const TPMT_PUBLIC *session_ak_public(const struct session *s);
/* The AK the last verdict's quote verified with, also when the quote then
 * failed a check (the evidence of what was judged); NULL when no quote
 * verified. */
const TPMT_PUBLIC *session_quote_ak(const struct session *s);
const TPM2B_NAME *session_ak_name(const struct session *s);

/* The endorsed EK (valid from ENDORSED on; NULL before or after a failure). */
const TPMT_PUBLIC *session_ek_public(const struct session *s);
#endif
