/* Verifier configuration (INI, common/conf.h's loader): [verifier], [tls],
 * [policy], [secret NAME]. Unknown sections or keys and bad values refuse
 * the whole file with "FILE:LINE: ..." so a typo never silently weakens a
 * check. Relative paths are resolved against the config file's directory. */
#ifndef VERIFIER_CONFIG_H
#define VERIFIER_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "conf.h"
#include "err.h"
#include "policy/named.h"
#include "policy/policy.h"
#include "policy/secret.h"

/* Where `cmake --install` puts certs/ek-roots (DATADIR/tpm-attest/ek-roots:
 * /usr/share/... in the packages, /usr/local/share/... by default). */
#define CONFIG_DEFAULT_EK_ROOTS ATTEST_EK_ROOTS

enum config_mode { CONFIG_MODE_PULL = 0, CONFIG_MODE_PUSH = 1 };

#define CONFIG_MAX_TARGETS 256
#define CONFIG_MAX_OPERATORS 64

/* [admin]: the operator's service of a running verifier (admin/admin.h),
 * and where the CLI finds it. */
/* [web]: the dashboard and /metrics over HTTPS (web/web.h). */
struct web_conf {
	char *listen;                  /* "HOST:PORT"; NULL = none */
	char token_file[PATH_MAX];     /* the operators' bearer token (a file of 32+ characters) */
};

/* [results]: the signed attestation results (results/ear.h, keys.h). */
#define CONFIG_MAX_RETIRED_KEYS 7
struct results_conf {
	int sign;                      /* every verdict yields an EAR (default true, with a key) */
	char key[PATH_MAX];            /* the result-signing key ("": state_dir/result-key.pem,
				        * made at the first start) */
	size_t nretired;               /* keys still published in the JWKS, never signing */
	char *retired[CONFIG_MAX_RETIRED_KEYS];
	uint32_t ttl;                  /* a token's exp - iat (default 2 x reattest_interval) */
};

struct admin_conf {
	char *listen;                  /* serve: "HOST:PORT" the Admin service binds; NULL = none */
	size_t noperators;             /* the TLS identities allowed to call it */
	char *operators[CONFIG_MAX_OPERATORS];
	/* The CA operators' certificates must chain to ("": [tls] ca). Its
	 * own keeps attestors out of the Admin port's TLS handshake, and
	 * keeps whoever issues fleet certificates from naming an operator. */
	char ca[PATH_MAX];
	/* The CLI's side (cli/source.h): the verifier to ask (NULL: listen's;
	 * neither: the commands read the store themselves) and the operator
	 * certificate it calls with ([tls] ca checks the verifier's). */
	char *server;
	char cert[PATH_MAX];
	char key[PATH_MAX];
};

struct verifier_config {
	enum config_mode mode;
	char *ek_roots;                /* trusted EK CA dir (absolute) */
	TPM2_ALG_ID ek_alg;            /* TPM2_ALG_RSA | TPM2_ALG_ECC */
	int require_ek_cert;
	char *platform_ca;             /* NULL = do not check platform certificates */
	int require_platform_cert;
	TPML_PCR_SELECTION pcrs;       /* selection to quote */
	TPM2_ALG_ID ak_alg;            /* TPM2_ALG_RSA | TPM2_ALG_ECC | TPM2_ALG_NULL (any) */
	uint32_t nonce_ttl;            /* seconds, >= 1 */
	int timeout_ms;                /* per RPC, >= 1 */
	int require_event_log;         /* fail quotes that come without a boot event log (implied by
					* boot_policy) */
	uint32_t eventlog_pcrs;        /* bit per PCR a sent boot log must reproduce */
	int require_ima;               /* fail quotes that come without an IMA list (implied by ima_policy) */
	char *boot_policy;             /* JSON boot policy (policy/bootpolicy.h); NULL = none */
	char *ima_policy;              /* JSON IMA allowlist (policy/imapolicy.h); NULL = none */
	int log_level;                 /* enum log_level */
	/* push mode */
	char *listen;                  /* "HOST:PORT" the Verifier service binds */
	char *state_dir;               /* the database (store/store.h); NULL = verdicts only logged */
	/* pull mode, verifier serve: the attestors to keep attesting */
	size_t ntargets;
	char *targets[CONFIG_MAX_TARGETS];
	uint32_t session_ttl;          /* seconds a push session lives, >= 1 */
	uint32_t reattest_interval;    /* seconds: told to attestors in every verdict */
	uint32_t max_sessions;         /* push sessions open at once */
	uint32_t max_sessions_per_identity; /* of those, held by one TLS identity (default 1/16) */
	int pre_issued_requests;       /* push, with state_dir: a pass hands out the next quote
					* request (one call per re-attestation); false: a Hello
					* and a fresh nonce every round */
	uint32_t reattest_window;      /* push: seconds without a passing attestation before a
					* passing node is failed; 0 = never */
	uint32_t evidence_retention_s; /* with state_dir: the evidence of verdicts older than this
					* goes, but what each node's latest verified quote stands
					* on (review/); 0 = kept */
	int learn_first_use;           /* a node's first verified quote becomes its policy, when
					* it has none (review/learn.h) */
	uint32_t threads;              /* push: calls handled at once */
	int explicit_enrollment;       /* enrollment = explicit: only nodes enrolled by an operator */
	char *hook;                    /* command run with a JSON event on every node state change */
	uint32_t hook_timeout_ms;      /* the hook is killed after this long */
	struct conf_tls tls;           /* [tls], as the attestor's */
	struct admin_conf admin;       /* [admin] */
	struct results_conf results;   /* [results] */
	struct web_conf web;           /* [web] */
	struct policy policy;
	size_t nsecrets;               /* [secret NAME] sections, in file order */
	struct secret_conf *secrets;
};

/* Parse path into a new config (caller frees with verifier_config_free). On failure
 * returns AERR_CONFIG (or AERR_ALLOC), *out is NULL and err_detail()
 * holds "FILE:LINE: reason" (or "FILE: reason" for whole-file problems). */
int verifier_config_load(const char *path, struct verifier_config **out) ATTEST_WUR;

/* NULL-safe. */
void verifier_config_free(struct verifier_config *cfg);
/* What a named policy is checked against on this verifier: the PCRs it
 * quotes, those a boot log must reproduce, its [secret] sections. */
struct named_policy_limits verifier_config_limits(const struct verifier_config *cfg);

#endif
