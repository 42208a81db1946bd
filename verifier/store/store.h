/* The verifier's durable state: one SQLite database (WAL) in its state
 * directory. Nodes are known by the SHA-256 of their EK public (what the TPM
 * proves); every attestation is recorded with its verdict and evidence, and
 * every secret delivery with whether its proof verified. The schema is created
 * and migrated here (PRAGMA user_version); statements are prepared once. This
 * module does no crypto, and nothing else touches the database handle.
 * Thread-safe: one connection per struct store, every call under its lock
 * (the push service handles calls on several threads). */
#ifndef VERIFIER_STORE_STORE_H
#define VERIFIER_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "pull/target.h"

#define STORE_FILE "verifier.db"

/* enrolled: by an operator, never attested; attesting: proven, no verdict
 * yet; passing / failed: judged against a reference; verified: the TPM and
 * its quote verified, but there was no reference to judge its state by. */
enum store_state { STORE_ENROLLED = 0, STORE_ATTESTING, STORE_PASSING, STORE_FAILED, STORE_VERIFIED };

#define STORE_AK_NAME_MAX 68             /* sizeof(TPMU_NAME) */
#define STORE_IMA_STATE_MAX 8192        /* >= IMASTATE_MAX (common/imastate.h) */
#define STORE_IDENTITY_MAX 128          /* RPC_IDENTITY_MAX + 1 */
#define STORE_NAME_MAX 64                /* an operator's node name or group name */
#define STORE_GROUPS_MAX 16              /* groups one node is in */
#define STORE_TARGET_MAX TARGET_MAX      /* a pull target, HOST:PORT (pull/target.h) */
/* Rejected attempts are kept per (mode, TLS identity), at most this many
 * rows: the least recent goes when a new identity comes. */
#define STORE_REJECTED_MAX 1024

struct store;

/* What a node's verified certificates say (endorsement/facts.h): what
 * group rules match. */
enum store_fact {
	STORE_FACT_EK_ISSUER = 0,
	STORE_FACT_TPM_MANUFACTURER,
	STORE_FACT_TPM_MODEL,
	STORE_FACT_PLATFORM_MANUFACTURER,
	STORE_FACT_PLATFORM_MODEL,
	STORE_NFACTS
};
#define STORE_FACT_MAX 256

/* "ek_issuer", "tpm_manufacturer", ... (the columns' names); NULL past the end. */
const char *store_fact_name(enum store_fact f);

/* What a peer that proved a node's TPM tells about it. */
struct store_node_in {
	const char *ek_hash;             /* 64 hex digits */
	uint16_t ek_alg;
	const uint8_t *ek_pub;           /* TPM2B_PUBLIC */
	size_t ek_pub_len;
	const uint8_t *ek_cert;          /* DER, may be NULL */
	size_t ek_cert_len;
	const char *hostname;            /* untrusted, informational; NULL keeps it */
	const char *identity;            /* the TLS identity that proved it; NULL or "" binds none */
	const uint8_t *ak_pub;           /* the AK it activated (TPM2B_PUBLIC); NULL keeps it */
	size_t ak_pub_len;
	const uint8_t *ak_name;          /* TPM2B_NAME contents */
	size_t ak_name_len;
	int has_facts;                   /* for a node this call enrolls: its facts and rule groups
					  * from the start (an existing node's change with a verdict,
					  * store_attestation.facts) */
	const char *facts[STORE_NFACTS]; /* "" or NULL: nothing proven says it */
};

/* What the store knew of a node before this attestation: the reference for
 * the counter rules, the AK activated earlier, where its IMA list stands,
 * who it is bound to and what an operator named it. */
struct store_prior {
	int64_t id;
	int existed;                     /* 0: no such node (yet) */
	enum store_state state;
	int has_counts;                  /* counters of the last verified quote */
	uint32_t reset_count, restart_count;
	uint64_t clock;
	uint8_t ak_name[STORE_AK_NAME_MAX]; /* the AK activated last (ak_name_len 0: none) */
	size_t ak_name_len;
	uint32_t ima_reset;              /* the boot of ima_state */
	uint8_t ima_state[STORE_IMA_STATE_MAX]; /* opaque to the store (imastate.h); len 0: none */
	size_t ima_state_len;
	char ima_judged_by[STORE_NAME_MAX + 16]; /* the reference that judged those entries
						 * ("NAME VERSION"; "" before schema 7) */
	char identity[STORE_IDENTITY_MAX]; /* the TLS identity it is bound to; "" = none yet */
	char name[STORE_NAME_MAX + 1];   /* assigned by an operator; "" = none */
	size_t ngroups;
	char groups[STORE_GROUPS_MAX][STORE_NAME_MAX + 1];
	char target[STORE_TARGET_MAX];   /* pull: the target it is attested at; "" = none yet */
	int has_facts;                   /* a verified certificate's facts are recorded */
};

/* A node's state before and after a verdict. */
struct store_change {
	int changed;
	enum store_state from, to;
	int learned;                     /* the verdict answered the node's learn request */
};

/* A piece of evidence, kept once however many attestations carry it
 * (store_evidence_*): its bytes and their SHA-256 as 64 hex digits (the
 * caller's: the store does no crypto). digest NULL: none. */
struct store_blob {
	const char *digest;
	const uint8_t *data;
	size_t len;
};

/* One attestation and its verdict. */
struct store_attestation {
	int64_t node_id;                 /* the node whose TPM the session proved */
	const char *mode;                /* "pull" | "push" */
	const char *peer;                /* TLS identity */
	const char *hostname;            /* the proven peer's claim; NULL keeps the node's */
	int pass;
	int unjudged;                    /* with pass = 0: verified, no reference (STORE_VERIFIED) */
	const char *step;                /* failed step, or the last one */
	const char *reason;              /* "" on pass */
	const uint8_t *nonce;
	size_t nonce_len;
	const char *pcr_selection;       /* text, "sha256:0,1,..." */
	const char *quoted_pcrs;         /* the values a verified quote proved, one "sha256.0 = hex"
					  * line each (pcr_values_format), kept on the node; NULL
					  * keeps the node's last ones */
	const uint8_t *quote;            /* TPM2B_ATTEST, may be NULL */
	size_t quote_len;
	const uint8_t *signature;        /* TPMT_SIGNATURE, may be NULL */
	size_t signature_len;
	int has_counts;
	uint32_t reset_count, restart_count;
	uint64_t clock;                  /* TPMS_CLOCK_INFO.clock of the quote, with has_counts */
	uint64_t ima_entries;
	const uint8_t *ima_state;        /* pass: the IMA replay reached (imastate.h), or NULL */
	size_t ima_state_len;
	uint32_t ima_reset;              /* the boot it belongs to */
	const char *ima_judged_by;       /* with ima_state: the reference that judged it */
	int no_contact;                  /* a verdict without the node (a missed window): last_seen stays */
	const char *target;              /* pull: the HOST:PORT it was attested at; a node bound to
					  * another one takes no verdict (AERR_IDENTITY) */
	int binds_target;                /* target binds an unbound node to it when no node has it */
	const char *policy_name;         /* the reference it was judged by ("config": the config
					  * file's); NULL: none (a missed window) */
	uint32_t policy_version;         /* of a named policy; 0 for the config file's */
	/* The evidence, for dry runs, audits and learning (review/): */
	int verified;                    /* the quote's signature and digest verified (a policy may
					  * still have failed it): the row keeps its counters (given
					  * as with has_counts) even when the node does not */
	int learnable;                   /* with verified: its evidence held together, so it may
					  * answer a learn request (only such a row does) */
	struct store_blob ak;            /* the AK's TPM2B_PUBLIC */
	struct store_blob values;        /* the PCR values the quote claimed (pcr_values_pack of
					  * pcr_selection) */
	struct store_blob event_log;     /* the boot event log sent with it */
	struct store_blob ima;           /* the IMA entries sent with it, from entry ima_first */
	uint64_t ima_first;
	int has_facts;                   /* what the session's verified certificates said: the
					  * node's facts (each "" keeps the node's) and rule groups,
					  * which judge it from its next attestation */
	const char *facts[STORE_NFACTS];
};

struct store_node {
	int64_t id;
	char ek_hash[65];
	uint16_t ek_alg;
	char hostname[256];              /* the node's own claim, for people */
	char name[STORE_NAME_MAX + 1];   /* an operator's */
	char identity[STORE_IDENTITY_MAX];
	char target[STORE_TARGET_MAX];   /* pull: the target it is attested at; "" none */
	char groups[STORE_GROUPS_MAX * (STORE_NAME_MAX + 1) + 1]; /* comma-separated */
	enum store_state state;
	char reason[512];
	int64_t enrolled_ms, last_seen_ms; /* Unix time, ms; last_seen 0 = never */
	int has_counts;
	uint32_t reset_count, restart_count;
	uint64_t attestations, passes;
	int has_ak;                      /* an AK was activated */
};

/* What an operator assigns a node (verifier enroll). */
struct store_assign {
	const char *name;                /* NULL keeps it; unique among nodes */
	const char *identity;            /* NULL keeps it; "" unbinds (the next proof binds) */
	const char *target;              /* pull: NULL keeps it; "" unbinds; HOST:PORT moves it there */
	int set_groups;                  /* 1: groups below replace the node's */
	size_t ngroups;
	const char *const *groups;
};

/* An anonymous rejected attempt: a peer that failed before it proved any
 * node's TPM, counted per TLS identity. */
struct store_rejected {
	char mode[8];
	char identity[STORE_IDENTITY_MAX];
	uint64_t count;
	int64_t first_ms, last_ms;       /* Unix ms */
	char step[32];
	char reason[512];                /* the last one */
	char ek_hash[65];                /* the EK the last one claimed, unproven ("" none) */
	/* Kept past later attempts (until rejected --clear): */
	char claim_ek[65];               /* the last that claimed a node's EK ("" none) ... */
	int64_t claim_ms;
	char claim_step[32], claim_reason[512];
	int has_orphan;                  /* the last endorsement failure of an EK that was no node */
	char orphan_ek[65];              /* ("" when none parsed) */
	int64_t orphan_ms;
	char orphan_reason[512];
};

/* Open (creating and migrating) <dir>/verifier.db. AERR_IO with the path and
 * SQLite's reason; AERR_CONFIG when the database is newer than this verifier. */
int store_open(const char *dir, struct store **out) ATTEST_WUR;
void store_close(struct store *st);

const char *store_state_name(enum store_state s);

/* The node of ek_hash as the store knows it, without writing: *prior
 * (existed 0 when there is none). AERR_IO when the store cannot be read. */
int store_node_lookup(struct store *st, const char *ek_hash, struct store_prior *prior) ATTEST_WUR;

/* A session proved this node's TPM (credential activation): in one
 * transaction enroll it (with may_create; AERR_NOT_FOUND without, for an
 * unknown node), or update what may change (hostname, EK certificate, an
 * operator-enrolled node's EK public, the AK), and bind it to in->identity
 * when it is bound to none. AERR_STATE, nothing written, when it is bound to
 * another identity. *prior (may be NULL) receives the node as it was, with
 * its id. */
int store_node_proven(struct store *st, const struct store_node_in *in, int may_create,
		      struct store_prior *prior) ATTEST_WUR;

/* Operator enrollment (verifier enroll): a node known by EK hash before it
 * attests, state enrolled; ek_pub may be NULL. AERR_INVALID_ARG when it is
 * enrolled already or the name is taken. */
int store_node_enroll(struct store *st, const char *ek_hash, uint16_t ek_alg, const uint8_t *ek_pub,
		      size_t ek_pub_len, const struct store_assign *a, int64_t *id) ATTEST_WUR;

/* Change an operator's assignments of the node key names (store_node_get,
 * STORE_KEY_OPERATOR): name, the TLS identity and the pull target it is
 * bound to (a re-bind, a move), groups. One transaction; AERR_NOT_FOUND /
 * AERR_INVALID_ARG as store_node_get, or when the name is another node's
 * or the target is not HOST:PORT. */
int store_node_assign(struct store *st, const char *key, const struct store_assign *a) ATTEST_WUR;

/* Record a verdict and move its node to passing or failed with the reason, in
 * one transaction. *id (may be NULL) receives the attestation's row id,
 * *change (may be NULL) the node's state before and after. AERR_IDENTITY,
 * nothing written: a pull verdict at a target the node is no longer (or not
 * yet, when it was free at the lookup) bound to. */
int store_attestation_add(struct store *st, const struct store_attestation *a, int64_t *id,
			  struct store_change *change) ATTEST_WUR;

/* Passing and verified nodes not seen since before cutoff_ms (Unix ms): fn for each, outside
 * any transaction, so fn may record verdicts. */
int store_nodes_overdue(struct store *st, int64_t cutoff_ms,
			int (*fn)(const struct store_node *n, void *arg), void *arg) ATTEST_WUR;

/* Record one secret delivered in attestation attestation_id. */
int store_secret_add(struct store *st, int64_t attestation_id, int64_t node_id, const char *name,
		     int proof_ok) ATTEST_WUR;

/* How an operator names a node. What changes a node (enroll, remove) takes
 * only what the TPM proves or an operator gave it: a hostname is a peer's
 * claim, and a rogue node claiming another's would receive its assignments. */
enum store_key {
	STORE_KEY_OPERATOR = 0,  /* EK hash (a unique prefix of 8+ hex digits) or operator name */
	STORE_KEY_ANY,           /* also the claimed hostname: for looking only (status) */
};

/* A node by key. AERR_NOT_FOUND, or AERR_INVALID_ARG when the key is
 * ambiguous. */
int store_node_get(struct store *st, const char *key, enum store_key by, struct store_node *out) ATTEST_WUR;

/* The node a pull target answers for: the one whose verdict there bound it
 * (a verdict binds an unbound node to a target no node has, never moves a
 * bound one), or the one an operator moved there. AERR_NOT_FOUND when none. */
int store_node_at_target(struct store *st, const char *target, struct store_node *out) ATTEST_WUR;

/* What `verifier status NODE` shows beyond the node's row: when it last
 * passed and failed (0: never), and the PCR values its last verified quote
 * proved (quoted_at 0 and quoted_pcrs "": none yet). */
#define STORE_QUOTED_MAX 12288
struct store_node_history {
	int64_t last_pass_ms, last_fail_ms;
	int64_t quoted_at_ms;
	char quoted_pcrs[STORE_QUOTED_MAX];
};

/* The history of the node with EK hash ek_hash. AERR_NOT_FOUND when none. */
int store_node_history(struct store *st, const char *ek_hash, struct store_node_history *out) ATTEST_WUR;

/* Every node in enrollment order. fn runs under the store's lock: it must
 * not call the store (store_rejected_list's likewise). */
int store_node_list(struct store *st, int (*fn)(const struct store_node *n, void *arg), void *arg) ATTEST_WUR;

/* One page of nodes in enrollment order: those after the node with id
 * after_id (0: from the first), at most max, only those in state (NULL:
 * any) and in group (NULL: any). fn as store_node_list's. */
int store_node_page(struct store *st, int64_t after_id, size_t max, const char *state, const char *group,
		    int (*fn)(const struct store_node *n, void *arg), void *arg) ATTEST_WUR;

/* How many nodes are in each state: counts[STORE_ENROLLED..STORE_VERIFIED]. */
#define STORE_NSTATES (STORE_VERIFIED + 1)
int store_node_states(struct store *st, uint64_t counts[STORE_NSTATES]) ATTEST_WUR;

/* Remove a node (by STORE_KEY_OPERATOR) and its history. AERR_NOT_FOUND when
 * there is none. */
int store_node_remove(struct store *st, const char *key) ATTEST_WUR;

/* Verdicts recorded: pass = 1 passing, 0 failing (and unjudged). */
int store_count_verdicts(struct store *st, int pass, uint64_t *n) ATTEST_WUR;

/* Count one rejected attempt of identity ("" when insecure) in mode, with
 * its step, reason and the EK it presented (NULL: none); *count (may be
 * NULL) receives the identity's count so far. Bounded: STORE_REJECTED_MAX. */
int store_rejected_add(struct store *st, const char *mode, const char *identity, const char *step,
		       const char *reason, const char *ek_hash, uint64_t *count) ATTEST_WUR;

/* Every identity's rejected attempts, most recent first. */
int store_rejected_list(struct store *st, int (*fn)(const struct store_rejected *r, void *arg),
			void *arg) ATTEST_WUR;

/* Forget every rejected attempt (an operator has looked at them): *n (may
 * be NULL) receives how many identities' rows went. */
int store_rejected_clear(struct store *st, uint64_t *n) ATTEST_WUR;

/* ---- named policies (policy/named.h): versioned JSON documents. The
 * store keeps the text; the caller checked it (named_policy_parse). */

struct store_policy {
	char name[STORE_NAME_MAX + 1];
	uint32_t version;
	int64_t created_ms;
	char *body;                      /* store_policy_get: malloc'd JSON, NUL-terminated; free() */
	size_t body_len;
	uint64_t nodes, groups;          /* store_policy_list: how many it is assigned to */
};

/* A new version of policy name: create 1 makes version 1 of a name no
 * policy has (AERR_INVALID_ARG when one has; a deleted name goes on from
 * its last version), create 0 the next version of an existing one
 * (AERR_NOT_FOUND when none). *version receives it. */
int store_policy_put(struct store *st, const char *name, const char *body, size_t len, int create,
		     uint32_t *version) ATTEST_WUR;

/* Version (0: the latest) of policy name, body included; a given version
 * also of a deleted policy (an audit re-judges by it). AERR_NOT_FOUND. */
int store_policy_get(struct store *st, const char *name, uint32_t version, struct store_policy *out) ATTEST_WUR;

/* The latest version of every policy, by name, without bodies. fn runs
 * under the store's lock. */
int store_policy_list(struct store *st, int (*fn)(const struct store_policy *p, void *arg), void *arg) ATTEST_WUR;

/* Delete policy name (every version stays for audit, no longer usable).
 * AERR_STATE, nothing changed, while it is assigned (naming where);
 * AERR_NOT_FOUND when there is none. */
int store_policy_delete(struct store *st, const char *name) ATTEST_WUR;

/* Assign policy name (NULL: unassign) to the node key names
 * (STORE_KEY_OPERATOR) or to group (one of the two given). AERR_NOT_FOUND
 * when the node or the policy does not exist. */
int store_policy_assign(struct store *st, const char *node_key, const char *group, const char *name) ATTEST_WUR;

/* The policy that judges node node_id: its own, else its groups'. *name
 * "" when none is assigned (the config file's judges it); via says how
 * ("node", "group G"); *version its latest version. AERR_INVALID_ARG when
 * its groups assign different policies (naming them); AERR_IO when the
 * store cannot be read. */
int store_policy_of(struct store *st, int64_t node_id, char name[STORE_NAME_MAX + 1], char via[STORE_NAME_MAX + 8],
		    uint32_t *version) ATTEST_WUR;

/* ---- evidence (review/): what each attestation's verdict was made of. */

/* An attestation as an audit or a dry run reads it; the evidence by digest
 * ("" none: not sent, or pruned), read with store_evidence_get. */
struct store_evidence {
	int64_t id, node_id, time_ms;
	char mode[8];
	int pass, unjudged, verified;
	char step[32], reason[600];
	char policy_name[STORE_NAME_MAX + 1]; /* "" none (before schema 6, or a missed window) */
	uint32_t policy_version;
	uint8_t nonce[64];
	size_t nonce_len;
	char pcr_selection[256];
	uint8_t quote[sizeof(TPM2B_ATTEST)];
	size_t quote_len;
	uint8_t signature[sizeof(TPMT_SIGNATURE)];
	size_t signature_len;
	int has_counts;                  /* the quote's counters (a verified quote's) */
	uint32_t reset_count, restart_count;
	uint64_t clock, ima_entries, ima_first;
	char ak[65], values[65], event_log[65], ima[65];
	int pruned;                      /* its evidence went by retention (or was never kept:
					  * recorded before schema 9); else "" above means none sent */
};

/* The attestations of node node_id from since_ms on (0: all), oldest first,
 * at most max (0: no bound) from the newest back. *out: malloc'd array of *n
 * (free()); AERR_NOT_FOUND-free: *n 0 when none. */
int store_evidence_list(struct store *st, int64_t node_id, int64_t since_ms, size_t max,
			struct store_evidence **out, size_t *n) ATTEST_WUR;

/* The node's latest attestation with a verified quote. AERR_NOT_FOUND when
 * it has none (or its evidence was pruned). */
int store_evidence_latest(struct store *st, int64_t node_id, struct store_evidence *out) ATTEST_WUR;

/* The attestation id. AERR_NOT_FOUND. */
int store_evidence_get_row(struct store *st, int64_t id, struct store_evidence *out) ATTEST_WUR;

/* The bytes of evidence digest: *data malloc'd (free()). AERR_NOT_FOUND. */
int store_evidence_get(struct store *st, const char *digest, uint8_t **data, size_t *len) ATTEST_WUR;

/* The IMA chunks of node node_id's boot reset_count sent up to attestation
 * upto (inclusive), by first entry: fn(first, data, len) for each, in
 * order of ima_first then id; fn runs under the store's lock. */
int store_evidence_ima_chunks(struct store *st, int64_t node_id, uint32_t reset_count, int64_t upto,
			      int (*fn)(uint64_t first, const uint8_t *data, size_t len, void *arg),
			      void *arg) ATTEST_WUR;

/* Retention: the evidence of attestations before cutoff_ms goes, except
 * that of a boot run (node, resetCount) with a row after cutoff_ms or the
 * node's latest verified quote (later rows continue the earlier ones' IMA
 * entries), and an answered learn request's row; the rows are marked
 * pruned. Then every piece no attestation names goes. *rows, *pieces (may be NULL): how many
 * attestations lost their evidence, how many pieces went. */
int store_evidence_prune(struct store *st, int64_t cutoff_ms, uint64_t *rows, uint64_t *pieces) ATTEST_WUR;

/* ---- group rules: a node is in group G when one of G's rules matches
 * its facts (every fact a rule gives, a GLOB pattern, matches the node's;
 * a fact the node's certificates do not prove never matches). */

struct store_group_rule {
	int64_t id;
	char group[STORE_NAME_MAX + 1];
	char match[STORE_NFACTS][STORE_FACT_MAX]; /* "" no condition on that fact */
	uint64_t nodes;                  /* store_group_rule_list: nodes it puts in the group */
};

/* Add a rule (at least one condition; AERR_INVALID_ARG otherwise) and
 * regroup every node for its group, in one transaction. *id receives the
 * rule's. */
int store_group_rule_add(struct store *st, const struct store_group_rule *rule, int64_t *id) ATTEST_WUR;

/* Remove rule id and regroup for its group. AERR_NOT_FOUND. */
int store_group_rule_remove(struct store *st, int64_t id) ATTEST_WUR;

/* Every rule, by group then id. fn runs under the store's lock. */
int store_group_rule_list(struct store *st, int (*fn)(const struct store_group_rule *r, void *arg),
			  void *arg) ATTEST_WUR;

/* The facts recorded for node node_id (each "" when none). */
int store_node_facts(struct store *st, int64_t node_id, char facts[STORE_NFACTS][STORE_FACT_MAX]) ATTEST_WUR;

/* ---- learned references (attune): an operator asks, the node's next
 * verified quote answers. */

/* Open a learn request on the node key names (STORE_KEY_OPERATOR),
 * replacing one open or answered. AERR_NOT_FOUND. */
int store_learn_request(struct store *st, const char *key, int64_t *node_id) ATTEST_WUR;

/* The node's learn request: *requested_ms 0 when none; *attestation the
 * attestation that answered it (0: not yet). */
int store_learn_state(struct store *st, int64_t node_id, int64_t *requested_ms, int64_t *attestation) ATTEST_WUR;

/* Close it (approved, or dropped). */
int store_learn_clear(struct store *st, int64_t node_id) ATTEST_WUR;

#endif
