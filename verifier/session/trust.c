#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "session/trust.h"

static int trust_load_dir(const char *key, const char *dir, struct ekcert_trust **out)
{
	char what[PATH_MAX + 32];

	if (ekcert_trust_load(dir, out) == 0)
		return 0;
	snprintf(what, sizeof(what), "%s %s", key, dir);
	return err_wrap(AERR_CONFIG, what);
}

int trust_load(const struct verifier_config *cfg, struct verifier_trust *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (cfg->require_ek_cert && (r = trust_load_dir("ek_roots", cfg->ek_roots, &out->ek)) != 0)
		goto fail;
	if (cfg->platform_ca && (r = trust_load_dir("platform_ca", cfg->platform_ca, &out->platform)) != 0)
		goto fail;
	if ((r = keycache_new(TRUST_EKCACHE_SIZE, &out->cache)) != 0 ||
	    (r = keycache_new(TRUST_AKKEYS_SIZE, &out->ak_keys)) != 0)
		goto fail;
	if (cfg->boot_policy && ((r = bootpolicy_load(cfg->boot_policy, &out->boot)) != 0 ||
				 (r = bootpolicy_check_selection(out->boot, &cfg->pcrs, cfg->eventlog_pcrs)) != 0))
		goto fail;
	/* A reference a node is judged by: one without a rule would make
	 * "passing" mean nothing was checked. */
	if (out->boot && !bootpolicy_has_rules(out->boot)) {
		r = err_set(AERR_CONFIG, "%s: the boot policy has no rule (secure_boot, digests of a PCR, "
			    "boot_applications): it would judge nothing", cfg->boot_policy);
		goto fail;
	}
	if (cfg->ima_policy && (r = imapolicy_load(cfg->ima_policy, &out->ima)) != 0)
		goto fail;
	return 0;
fail:
	trust_free(out);
	return r;
}

void trust_free(struct verifier_trust *t)
{
	if (!t)
		return;
	ekcert_trust_free(t->ek);
	ekcert_trust_free(t->platform);
	keycache_free(t->cache);
	keycache_free(t->ak_keys);
	bootpolicy_free(t->boot);
	imapolicy_free(t->ima);
	memset(t, 0, sizeof(*t));
}

void trust_session_params(const struct verifier_config *cfg, const struct verifier_trust *t,
			  struct session_params *out)
{
	memset(out, 0, sizeof(*out));
	out->ek_alg = cfg->ek_alg;
	out->require_ek_cert = cfg->require_ek_cert;
	out->ek_trust = t->ek;
	out->platform_trust = t->platform;
	out->require_platform_cert = cfg->require_platform_cert;
	out->ek_cache = t->cache;
	out->ak_keys = t->ak_keys;
	out->ak_alg = cfg->ak_alg;
	out->pcrs = cfg->pcrs;
	out->nonce_ttl_ms = cfg->nonce_ttl * 1000u;
	out->policy = &cfg->policy;
	out->has_reference = cfg->policy.n > 0 || t->boot || t->ima;
	out->require_event_log = cfg->require_event_log;
	out->eventlog_pcrs = cfg->eventlog_pcrs;
	out->require_ima = cfg->require_ima;
	out->boot_policy = t->boot;
	out->ima_policy = t->ima;
}
