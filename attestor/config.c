/* attestor configuration from an INI file. Every key is known here; anything
 * else is refused with the file and line, so a typo cannot silently leave a
 * default (say, insecure) in place. */
#define LOG_MODULE "config"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf.h"
#include "config.h"
#include "log.h"
#include "tpm.h"
#include "tpmpub.h"

struct config_parse {
	struct attestor_config *cfg;
	const char *dir;           /* directory of the config file, for relative paths */
	char error[512];           /* first problem; ini_parse reports its line */
};

/* A uint32 setting through conf_uint. */
static int config_u32(const char *v, unsigned long min, unsigned long max, uint32_t *out)
{
	unsigned long x;

	if (conf_uint(v, min, max, &x) != 0)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int config_copy(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static int config_path(const struct config_parse *p, char *dst, size_t cap, const char *v)
{
	if (v[0] == '/' || v[0] == '\0' || !p->dir)
		return config_copy(dst, cap, v);
	if ((size_t)snprintf(dst, cap, "%s/%s", p->dir, v) >= cap)
		return -1;
	return 0;
}

/* One name of verifier_identity (len bytes at s, trimmed, not empty):
 * 1..CONFIG_IDENTITY_MAX bytes, no control character, at most
 * CONFIG_VERIFIER_IDS_MAX names. 0, or -1 with the reason in p->error. */
static int config_identity_add(struct config_parse *p, const char *s, size_t len)
{
	struct attestor_config *c = p->cfg;

	if (len > CONFIG_IDENTITY_MAX) {
		snprintf(p->error, sizeof(p->error), "verifier_identity: a name of %zu bytes, at most %d", len,
			 CONFIG_IDENTITY_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(p->error, sizeof(p->error), "verifier_identity: a name with a control character");
			return -1;
		}
	if (c->tls.n_verifier_ids == CONFIG_VERIFIER_IDS_MAX) {
		snprintf(p->error, sizeof(p->error), "verifier_identity: more than %d names",
			 CONFIG_VERIFIER_IDS_MAX);
		return -1;
	}
	memcpy(c->tls.verifier_ids[c->tls.n_verifier_ids], s, len);
	c->tls.verifier_ids[c->tls.n_verifier_ids++][len] = '\0';
	return 0;
}

/* [tls] verifier_identity = NAME[, NAME ...], each name trimmed; the list
 * replaces any earlier one. 0, or -1 with the reason in p->error. */
static int config_identities(struct config_parse *p, const char *v)
{
	const char *s = v, *e, *end;

	p->cfg->tls.n_verifier_ids = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		end = strchr(s, ',');
		e = end ? end : s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e == s) {
			snprintf(p->error, sizeof(p->error),
				 "verifier_identity '%s': an empty name (write NAME[, NAME ...])", v);
			return -1;
		}
		if (config_identity_add(p, s, (size_t)(e - s)) != 0)
			return -1;
		if (!end)
			return 0;
		s = end + 1;
	}
}

/* inih calls this per key; 0 = error (ini_parse then returns its line). */
static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *p = user;
	struct attestor_config *c = p->cfg;
	int bad = 0, known = 1, lvl;

	if (p->error[0])
		return 0; /* keep only the first problem */
	if (!strcmp(section, "attestor")) {
		if (!strcmp(name, "mode")) {
			if (!strcmp(value, "pull"))
				c->mode = CONFIG_MODE_PULL;
			else if (!strcmp(value, "push"))
				c->mode = CONFIG_MODE_PUSH;
			else
				bad = 1;
		} else if (!strcmp(name, "listen")) {
			bad = !value[0] || config_copy(c->listen, sizeof(c->listen), value);
		} else if (!strcmp(name, "verifier")) {
			bad = !strchr(value, ':') || config_copy(c->verifier, sizeof(c->verifier), value);
		} else if (!strcmp(name, "reattest_interval")) {
			bad = config_u32(value, 1, 7 * 86400, &c->reattest_interval);
		} else if (!strcmp(name, "retry_initial_ms")) {
			bad = config_u32(value, 1, 3600000, &c->retry_initial_ms);
		} else if (!strcmp(name, "retry_max_ms")) {
			bad = config_u32(value, 1, 3600000, &c->retry_max_ms);
		} else if (!strcmp(name, "timeout_ms")) {
			uint32_t t = 0;
			if (!(bad = config_u32(value, 1, 3600000, &t)))
				c->timeout_ms = (int)t;
		} else if (!strcmp(name, "tcti")) {
			bad = !value[0] || config_copy(c->tcti, sizeof(c->tcti), value);
		} else if (!strcmp(name, "ak_alg")) {
			bad = (c->ak_alg = tpmpub_type_from_name(value)) == TPM2_ALG_ERROR;
		} else if (!strcmp(name, "ek_alg")) {
			bad = (c->ek_alg = tpmpub_type_from_name(value)) == TPM2_ALG_ERROR;
		} else if (!strcmp(name, "event_log")) {
			bad = value[0] && config_path(p, c->event_log, sizeof(c->event_log), value);
			if (!value[0])
				c->event_log[0] = '\0';
		} else if (!strcmp(name, "ima_log")) {
			bad = value[0] && config_path(p, c->ima_log, sizeof(c->ima_log), value);
			if (!value[0])
				c->ima_log[0] = '\0';
		} else if (!strcmp(name, "state_dir")) {
			bad = !value[0] || config_path(p, c->state_dir, sizeof(c->state_dir), value);
		} else if (!strcmp(name, "log_level")) {
			bad = (lvl = log_level_parse(value)) < 0;
			if (!bad)
				c->log_level = lvl;
		} else {
			known = 0;
		}
	} else if (!strcmp(section, "tls")) {
		if (!strcmp(name, "ca"))
			bad = config_path(p, c->tls.ca, sizeof(c->tls.ca), value);
		else if (!strcmp(name, "cert"))
			bad = config_path(p, c->tls.cert, sizeof(c->tls.cert), value);
		else if (!strcmp(name, "key"))
			bad = config_path(p, c->tls.key, sizeof(c->tls.key), value);
		else if (!strcmp(name, "server_name"))
			bad = config_copy(c->tls.server_name, sizeof(c->tls.server_name), value);
		else if (!strcmp(name, "verifier_identity"))
			(void)config_identities(p, value); /* its own reason in p->error */
		else if (!strcmp(name, "insecure"))
			bad = conf_bool(value, &c->tls.insecure) != 0;
		else
			known = 0;
	} else {
		snprintf(p->error, sizeof(p->error), "unknown section [%s]", section);
		return 0;
	}
	if (!known)
		snprintf(p->error, sizeof(p->error), "unknown key '%s' in [%s]", name, section);
	else if (bad)
		snprintf(p->error, sizeof(p->error), "bad value '%s' for %s in [%s]", value, name,
			 section);
	return !p->error[0];
}

/* A pull attestor answers only its verifiers: without the names it would
 * serve any certificate of the CA (another attestor could use it as a quote
 * and credential oracle, or plant secrets). Push pins the verifier by its
 * server certificate instead, and an insecure server has no identities. */
static int config_check_identities(const char *path, const struct attestor_config *c)
{
	if (c->mode == CONFIG_MODE_PUSH && c->tls.n_verifier_ids)
		return err_set(AERR_CONFIG,
			       "%s: [tls] verifier_identity is for mode = pull; in push mode the attestor pins the "
			       "verifier by its server certificate's name (server_name)", path);
	if (c->mode == CONFIG_MODE_PULL && c->tls.insecure && c->tls.n_verifier_ids)
		return err_set(AERR_CONFIG,
			       "%s: [tls] verifier_identity needs TLS: with insecure = true callers have no "
			       "identity to check", path);
	if (c->mode == CONFIG_MODE_PULL && !c->tls.insecure && !c->tls.n_verifier_ids)
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
	struct config_parse p = { .cfg = out };
	struct conf_reader rd = { 0 };
	char *dir = NULL, *slash;
	FILE *f = NULL;
	int line, r;

	config_defaults(out);
	if (!(f = fopen(path, "r"))) {
		r = err_set(AERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!(dir = strdup(path))) {
		r = err_set(AERR_ALLOC, "config");
		goto out;
	}
	if ((slash = strrchr(dir, '/')))
		*slash = '\0';
	else
		strcpy(dir, ".");
	p.dir = dir;
	rd.f = f;
	rd.at_line_start = 1;
	line = ini_parse_stream(conf_read_line, &rd, config_handler, &p);
	if (rd.too_long_line && !p.error[0]) {
		r = err_set(AERR_CONFIG, "%s:%d: line longer than %d characters", path, rd.too_long_line, rd.max);
		goto out;
	}
	if (line != 0) {
		r = err_set(AERR_CONFIG, "%s:%d: %s", path, line,
			    p.error[0] ? p.error : "syntax error");
		goto out;
	}
	if (out->mode == CONFIG_MODE_PUSH && !out->verifier[0]) {
		r = err_set(AERR_CONFIG, "%s: mode = push needs verifier = HOST:PORT", path);
		goto out;
	}
	if (out->retry_max_ms < out->retry_initial_ms) {
		r = err_set(AERR_CONFIG, "%s: retry_max_ms (%u) is below retry_initial_ms (%u)", path,
			    out->retry_max_ms, out->retry_initial_ms);
		goto out;
	}
	if (!out->tls.insecure && (!out->tls.ca[0] || !out->tls.cert[0] || !out->tls.key[0])) {
		r = err_set(AERR_CONFIG, "%s: [tls] ca, cert and key are required unless insecure = true",
			    path);
		goto out;
	}
	if ((r = config_check_identities(path, out)) != 0)
		goto out;
	r = 0;
out:
	if (f)
		fclose(f);
	free(dir);
	return r;
}
