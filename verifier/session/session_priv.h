/* The session as session.c, endorse.c and quotecheck.c share it: one
 * state machine (session.c) with its checks of the endorsement and of a
 * quote's evidence apart. Nothing outside verifier/session/ includes this. */
#ifndef VERIFIER_SESSION_SESSION_PRIV_H
#define VERIFIER_SESSION_SESSION_PRIV_H

#include "ima.h"
#include "session/session.h"

enum nonce_state { NONCE_NONE = 0, NONCE_ISSUED, NONCE_USED };

/* Why the AK is bound to the EK. */
enum ak_binding {
	AK_UNBOUND = 0,  /* not yet, or a new challenge is out (session_reactivate) */
	AK_ACTIVATED,    /* the credential was activated in this session */
	AK_FROM_STORE,   /* the store's record: activated in an earlier session */
};

/* Whose IMA replay the session continues. */
enum ima_origin {
	IMA_NONE = 0,
	IMA_REPLAYED,    /* this session replayed it */
	IMA_FROM_STORE,  /* an earlier session's, as the store kept it (maybe of another boot) */
};

struct session {
	struct session_params p;
	enum session_state state;      /* written by enter() and failed() only, along session_machine */

	TPMT_PUBLIC ek;
	char ek_hash[65];              /* tpmpub_identity of ek, from the endorsement on */
	char ek_claimed[65];           /* the same of the EK the peer sent, once parsed: a claim */
	char ref_name[65];             /* session_set_reference ("" = the config file's) */
	uint32_t ref_version;
	char ref_broken[300];          /* "" unless the reference cannot be applied */
	int ref_has_secrets;           /* the reference names its nodes' secrets (borrowed, */
	const char *const *ref_secrets; /* valid until ref_release) */
	size_t ref_nsecrets;
	void (*ref_release)(void *hold);
	void *ref_hold;
	int ek_has_cert;
	uint8_t *ek_cert;              /* a copy of its certificate, for the node's record once proven */
	size_t ek_cert_len;
	int endorsement_checked;       /* this session checked the endorsement (not a resumed one) */
	int ek_cert_verified;          /* it chained to ek_roots (now, or these bytes before) */
	uint8_t *platform_cert;        /* a copy of the platform certificate that verified, NULL none */
	size_t platform_cert_len;
	TPMT_PUBLIC ak;
	TPM2B_NAME ak_name;

	uint8_t secret[SESSION_SECRET_LEN];
	int secret_live;

	struct {
		uint8_t value[SESSION_NONCE_LEN];
		enum nonce_state state;
		uint64_t issued_ms;
		int preissued;                 /* handed out with the last verdict (session_quote_preissued) */
		struct session_resume resume;  /* ... and what that verdict's quote showed */
	} nonce;
	uint8_t rp_nonce[SESSION_RP_NONCE_MAX]; /* a relying party's (session_set_rp_nonce) */
	size_t rp_nonce_len;

	int quoted_before;
	uint32_t last_reset_count, last_restart_count;
	uint64_t last_clock;
	uint64_t anchor_ms, anchor_clock;  /* of the last quote over a fresh nonce (session_resume) */

	int proven;                    /* the peer proved the EK's TPM (session/session.h) */

	struct session_prior prior;    /* the store's record of this node */
	struct {
		enum ak_binding how;
		int boot_known;
		uint32_t boot;         /* the resetCount the binding holds for (check_counters) */
	} binding;
	char next_reason[256];         /* why the last quote asked for another step (session_next_reason) */

	enum ima_origin ima_origin;
	uint64_t ima_new;              /* entries the last IMA check replayed */
	uint32_t ima_reset_count;      /* the boot the replay below belongs to */
	struct ima_replay_state ima;   /* PCR 10 replayed so far (re-quote rounds continue it) */

	struct secret_blob *blobs;     /* delivered, awaiting proofs */
	size_t nblobs;

	struct session_verdict verdict;
};

/* A configured key type: "rsa", "ecc", or "any" (TPM2_ALG_NULL). */
const char *session_alg_text(TPM2_ALG_ID alg);

/* endorse.c: the chosen EK of the endorsement, its template, key and
 * certificates (or the endorsement cache's earlier pass); s->ek set. */
int session_check_endorsement(struct session *s, const struct session_endorsement *in);

/* quotecheck.c: the evidence of a quote that verified. Each returns 0 or
 * the failing check's code; *next says when a check asks for another step
 * instead of a verdict (session_ask_next, with the reason). */
void session_ask_next(struct session *s, enum session_next *next, enum session_next what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void quotecheck_preissued(struct session *s, const TPMS_CLOCK_INFO *c, uint64_t now, enum session_next *next);
int quotecheck_pcrs(struct session *s, const struct quoted_state *q);
int quotecheck_event_log(struct session *s, const struct session_quote *in, const struct quoted_state *q);
int quotecheck_ima(struct session *s, const struct session_quote *in, const struct quoted_state *q,
		   enum session_next *next);
int quotecheck_counters(struct session *s, const TPMS_CLOCK_INFO *c, enum session_next *next);
/* The AK's EVP_PKEY, from the cache of AKs seen before or built (and kept
 * there); the caller frees it. */
int quotecheck_ak_pkey(struct session *s, EVP_PKEY **out);
#endif
