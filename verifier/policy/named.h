/* A named policy (issue #15): what a node is judged by, as one JSON
 * document an operator stores in the verifier's database, versioned, and
 * assigns to nodes or groups at run time. The config file's [policy],
 * boot_policy and ima_policy are the default of nodes without one.
 *
 *   {
 *     "pcrs": { "sha256.0": "<hex>", ... },   [policy]'s lines, any bank
 *     "firmware_version": "0x..., 1",         [policy] firmware_version
 *     "boot_policy": { ... },                 a boot policy (policy/bootpolicy.h)
 *     "ima_policy": { ... },                  an IMA policy (policy/imapolicy.h)
 *     "require_event_log": false,             true with a boot_policy (and only)
 *     "require_ima": false,                   true with an ima_policy (and only)
 *     "secrets": ["disk-key", ...]            the [secret] sections nodes under it
 *   }                                         receive, in place of their hosts lines
 *
 * Checked as the config file's are when stored: unknown keys, PCRs the
 * verifier does not quote, a boot policy without a rule or about PCRs no log
 * replays, an IMA policy without PCR 10, a log policy whose log is not
 * required, and a policy that judges nothing are refused, naming the
 * policy and the key. */
#ifndef VERIFIER_POLICY_NAMED_H
#define VERIFIER_POLICY_NAMED_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "policy/bootpolicy.h"
#include "policy/imapolicy.h"
#include "policy/policy.h"
#include "policy/secret.h"

#define NAMED_POLICY_NAME_MAX 64
#define NAMED_POLICY_TEXT_MAX (16u << 20) /* an IMA allowlist of a whole distribution fits */

struct named_policy {
	char name[NAMED_POLICY_NAME_MAX + 1];
	uint32_t version;
	struct policy pcr;                 /* PCR values and firmware versions */
	struct bootpolicy *boot;           /* NULL = none */
	struct imapolicy *ima;             /* NULL = none */
	int require_event_log, require_ima;
	int has_secrets;                   /* "secrets" given: exactly these go to its nodes */
	size_t nsecrets;
	char secrets[SECRET_MAX_PER_HOST][SECRET_NAME_MAX + 1];
	const char *secret_names[SECRET_MAX_PER_HOST]; /* pointers into secrets */
};

/* What a policy is checked against: the verifier's quoted selection and
 * the PCRs a boot log must reproduce (config pcrs, eventlog_pcrs). */
struct named_policy_limits {
	const TPML_PCR_SELECTION *pcrs;
	uint32_t eventlog_pcrs;
	const struct secret_conf *secrets; /* the [secret] sections a policy may name */
	size_t nsecrets;
};

/* 0, or AERR_CONFIG "policy 'NAME': only letters, digits, ...". */
int named_policy_name_check(const char *name) ATTEST_WUR;

/* Parse and check text (len bytes) as policy name, version: *out (free
 * with named_policy_free), or AERR_CONFIG "policy 'NAME': what is wrong"
 * and *out NULL. */
int named_policy_parse(const char *name, uint32_t version, const char *text, size_t len,
		       const struct named_policy_limits *lim, struct named_policy **out) ATTEST_WUR;

void named_policy_free(struct named_policy *p);

#endif
