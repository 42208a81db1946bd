/* What a verifier trusts and expects, loaded once from its configuration:
 * the EK roots, the platform certificate issuers, the cache of endorsements
 * that passed with exactly these (session/keycache.h), and the boot and IMA policies. The pull driver and the push service each
 * hold one and build every session's parameters from it. */
#ifndef VERIFIER_SESSION_TRUST_H
#define VERIFIER_SESSION_TRUST_H

#include "config.h"
#include "session/keycache.h"
#include "policy/bootpolicy.h"
#include "endorsement/ekcert.h"
#include "policy/imapolicy.h"
#include "err.h"
#include "session/session.h"

#define TRUST_EKCACHE_SIZE 65536
/* An RSA-2048 EVP_PKEY is ~1.5 kB: 16,384 AKs cost ~25 MB at most. Beyond,
 * the oldest keys are built again when their node comes back. */
#define TRUST_AKKEYS_SIZE 16384

struct verifier_trust {
	struct ekcert_trust *ek;        /* NULL when require_ek_cert is false */
	struct ekcert_trust *platform;  /* NULL when platform_ca is not set */
	struct keycache *cache;
	struct keycache *ak_keys;        /* AK public keys by TPM name, for quotes */
	struct bootpolicy *boot;        /* NULL when boot_policy is not set */
	struct imapolicy *ima;          /* NULL when ima_policy is not set */
};

/* AERR_CONFIG naming the directory or file that cannot be loaded. */
int trust_load(const struct verifier_config *cfg, struct verifier_trust *out) ATTEST_WUR;

/* NULL-safe; leaves *t zeroed. */
void trust_free(struct verifier_trust *t);

/* A session's parameters from cfg and t (both must outlive the session). */
void trust_session_params(const struct verifier_config *cfg, const struct verifier_trust *t,
			  struct session_params *out);

#endif
