/* attestor configuration from an INI file. Every key is known here; anything
 * else is refused with the file and line, so a typo cannot silently leave a
 * default (say, insecure) in place. */
#define LOG_MODULE "config"

#include <stdio.h>
#include <string.h>

#include "array.h"
#include "conf.h"
#include "config.h"
#include "log.h"

#define CFG struct attestor_config

/* One name of verifier_identity (len bytes at s, trimmed, not empty):
 * 1..CONFIG_IDENTITY_MAX bytes, no control character, at most
 * CONFIG_VERIFIER_IDS_MAX names. 1, or 0 after conf_fail (as a key's parser). */
static int config_identity_add(struct conf_load *l, const char *s, size_t len)
{
	struct attestor_config *c = l->cfg;

	if (len > CONFIG_IDENTITY_MAX)
		return conf_fail(l, AERR_CONFIG, "verifier_identity: a name of %zu bytes, at most %d", len,
				 CONFIG_IDENTITY_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return conf_fail(l, AERR_CONFIG, "verifier_identity: a name with a control character");
	if (c->n_verifier_ids == CONFIG_VERIFIER_IDS_MAX)
		return conf_fail(l, AERR_CONFIG, "verifier_identity: more than %d names", CONFIG_VERIFIER_IDS_MAX);
	memcpy(c->verifier_ids[c->n_verifier_ids], s, len);
	c->verifier_ids[c->n_verifier_ids++][len] = '\0';
	return 1;
}

/* [tls] verifier_identity = NAME[, NAME ...], each name trimmed; the list
 * replaces any earlier one. */
static int config_identities(struct conf_load *l, void *field, const char *v)
{
	struct attestor_config *c = l->cfg;
	const char *s = v, *e, *end;

	(void)field;
	c->n_verifier_ids = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		end = strchr(s, ',');
		e = end ? end : s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e == s)
			return conf_fail(l, AERR_CONFIG, "verifier_identity '%s': an empty name (write NAME[, NAME ...])",
					 v);
		if (!config_identity_add(l, s, (size_t)(e - s)))
			return 0;
		if (!end)
			return 1;
		s = end + 1;
	}
}

static const struct conf_key attestor_keys[] = {
	CONF_KEY_CHOICE(CFG, "mode", mode, conf_modes),
	CONF_KEY_TEXT(CFG, "listen", listen, CONF_NOT_EMPTY),
	CONF_KEY_TEXT(CFG, "verifier", verifier, CONF_HOSTPORT),
	CONF_KEY_UINT(CFG, "reattest_interval", reattest_interval, 1, 7 * 86400, 1, "seconds"),
	CONF_KEY_UINT(CFG, "retry_initial_ms", retry_initial_ms, 1, 3600000, 1, NULL),
	CONF_KEY_UINT(CFG, "retry_max_ms", retry_max_ms, 1, 3600000, 1, NULL),
	CONF_KEY_UINT(CFG, "timeout_ms", timeout_ms, 1, 3600000, 1, NULL),
	CONF_KEY_TEXT(CFG, "tcti", tcti, CONF_NOT_EMPTY),
	CONF_KEY_CHOICE(CFG, "ak_alg", ak_alg, conf_key_algs),
	CONF_KEY_CHOICE(CFG, "ek_alg", ek_alg, conf_key_algs),
	CONF_KEY_PATH(CFG, "event_log", event_log, 0),
	CONF_KEY_PATH(CFG, "ima_log", ima_log, 0),
	CONF_KEY_PATH(CFG, "state_dir", state_dir, CONF_NOT_EMPTY),
	CONF_KEY_CHOICE(CFG, "log_level", log_level, conf_log_levels),
};

static const struct conf_key attestor_tls_keys[] = {
	CONF_KEY_FUNC(CFG, "verifier_identity", n_verifier_ids, config_identities),
};

static const struct conf_section attestor_sections[] = {
	{ "attestor", attestor_keys, ARRAY_LEN(attestor_keys), 0 },
	{ "tls", conf_tls_keys, CONF_TLS_NKEYS, offsetof(CFG, tls) },
	{ "tls", attestor_tls_keys, ARRAY_LEN(attestor_tls_keys), 0 },
};

/* A pull attestor answers only its verifiers: without the names it would
 * serve any certificate of the CA (another attestor could use it as a quote
 * and credential oracle, or plant secrets). Push pins the verifier by its
 * server certificate instead, and an insecure server has no identities. */
static int config_check_identities(const char *path, const struct attestor_config *c)
{
	if (c->mode == CONFIG_MODE_PUSH && c->n_verifier_ids)
		return err_set(AERR_CONFIG,
			       "%s: [tls] verifier_identity is for mode = pull; in push mode the attestor pins the "
			       "verifier by its server certificate's name (server_name)", path);
	if (c->mode == CONFIG_MODE_PULL && c->tls.insecure && c->n_verifier_ids)
		return err_set(AERR_CONFIG,
			       "%s: [tls] verifier_identity needs TLS: with insecure = true callers have no "
			       "identity to check", path);
	if (c->mode == CONFIG_MODE_PULL && !c->tls.insecure && !c->n_verifier_ids)
		return err_set(AERR_CONFIG,
			       "%s: mode = pull needs [tls] verifier_identity = NAME[, NAME ...]: the TLS "
			       "identities (first subjectAltName) of the verifiers this attestor answers", path);
	return 0;
}

static void config_defaults(struct attestor_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = CONFIG_MODE_PULL;
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:7500");
	snprintf(c->tcti, sizeof(c->tcti), "device:/dev/tpmrm0");
	c->ak_alg = TPM2_ALG_ECC;
	c->ek_alg = TPM2_ALG_RSA;
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/tpm-attest");
	snprintf(c->event_log, sizeof(c->event_log), "/sys/kernel/security/tpm0/binary_bios_measurements");
	snprintf(c->ima_log, sizeof(c->ima_log), "/sys/kernel/security/ima/binary_runtime_measurements");
	c->log_level = LOG_LEVEL_INFO;
	c->reattest_interval = 300;
	c->retry_initial_ms = 500;
	c->retry_max_ms = 60000;
	c->timeout_ms = 30000;
}

int attestor_config_load(const char *path, struct attestor_config *out)
{
	struct conf_load l = {
		.sections = attestor_sections, .nsections = ARRAY_LEN(attestor_sections), .cfg = out,
	};
	int r;

	config_defaults(out);
	if ((r = conf_load(&l, path)) != 0)
		return r;
	if (out->mode == CONFIG_MODE_PUSH && !out->verifier[0])
		return err_set(AERR_CONFIG, "%s: mode = push needs verifier = HOST:PORT", path);
	if (out->retry_max_ms < out->retry_initial_ms)
		return err_set(AERR_CONFIG, "%s: retry_max_ms (%u) is below retry_initial_ms (%u)", path,
			       out->retry_max_ms, out->retry_initial_ms);
	if ((r = conf_tls_check(&l, &out->tls)) != 0)
		return r;
	return config_check_identities(path, out);
}
