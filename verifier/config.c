#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#define LOG_MODULE "config"
#include "conf.h"
#include "config.h"
#include "log.h"
#include "pcrsel.h"
#include "pull/target.h"
#include "tpmpub.h"

/* Parser state: inih does not report line numbers to the handler in Debian's
 * build, so our own reader counts them. */
struct parse {
	struct verifier_config *cfg;
	const char *path;
	char dir[PATH_MAX];
	struct conf_reader rd;         /* the file, and the line being read */
	int failed;
	int code;
	char msg[480];
	int has_pcrs;
	int has_window;
	int has_per_identity;
	int set_require_event_log, set_require_ima; /* given explicitly */
	char last_section[128];        /* to tell a repeated [secret NAME] from its continuation */
};

/* Records the first problem only: that is the one the operator fixes first. */
static int fail(struct parse *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, int code, const char *fmt, ...)
{
	char text[400];
	va_list ap;

	if (p->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(p->msg, sizeof(p->msg), "%s:%d: %s", p->path, p->rd.line, text);
	p->failed = 1;
	p->code = code;
	return 0;
}

/* A path relative to the config file's directory, as a new absolute-or-as-given string. */
static int set_path(struct parse *p, char **dst, const char *v)
{
	char *s;

	free(*dst);
	*dst = NULL;
	if (!*v)
		return 0;
	if (v[0] == '/' || !p->dir[0])
		s = strdup(v);
	else if (asprintf(&s, "%s/%s", p->dir, v) < 0)
		s = NULL;
	if (!s)
		return fail(p, AERR_ALLOC, "out of memory");
	*dst = s;
	return 1;
}

static int set_str(struct parse *p, char **dst, const char *v)
{
	free(*dst);
	*dst = NULL;
	if (!*v)
		return 1;
	if (!(*dst = strdup(v)))
		return fail(p, AERR_ALLOC, "out of memory");
	return 1;
}

static int alg_value(const char *v, int allow_any, TPM2_ALG_ID *out)
{
	if ((*out = tpmpub_type_from_name(v)) != TPM2_ALG_ERROR)
		return 0;
	if (!allow_any || strcmp(v, "any") != 0)
		return -1;
	*out = TPM2_ALG_NULL;
	return 0;
}

static int verifier_key(struct parse *p, const char *name, const char *v)
{
	struct verifier_config *c = p->cfg;
	unsigned long n;
	int b, lvl;

	if (!strcmp(name, "mode")) {
		if (!strcmp(v, "pull"))
			c->mode = CONFIG_MODE_PULL;
		else if (!strcmp(v, "push"))
			c->mode = CONFIG_MODE_PUSH;
		else
			return fail(p, AERR_CONFIG, "mode must be pull or push, not '%s'", v);
	} else if (!strcmp(name, "ek_roots")) {
		if (!*v)
			return fail(p, AERR_CONFIG, "ek_roots must name a directory");
		return set_path(p, &c->ek_roots, v);
	} else if (!strcmp(name, "ek_alg")) {
		if (alg_value(v, 0, &c->ek_alg))
			return fail(p, AERR_CONFIG, "ek_alg must be rsa or ecc, not '%s'", v);
	} else if (!strcmp(name, "require_ek_cert")) {
		if (conf_bool(v, &b))
			return fail(p, AERR_CONFIG, "require_ek_cert must be true or false, not '%s'", v);
		c->require_ek_cert = b;
	} else if (!strcmp(name, "platform_ca")) {
		return set_path(p, &c->platform_ca, v) || !p->failed;
	} else if (!strcmp(name, "require_platform_cert")) {
		if (conf_bool(v, &b))
			return fail(p, AERR_CONFIG, "require_platform_cert must be true or false, not '%s'", v);
		c->require_platform_cert = b;
	} else if (!strcmp(name, "pcrs")) {
		if (pcrsel_parse(v, &c->pcrs) != 0)
			return fail(p, AERR_CONFIG, "pcrs: %s", err_detail());
		if (c->pcrs.count == 0)
			return fail(p, AERR_CONFIG, "pcrs selects nothing");
		p->has_pcrs = 1;
	} else if (!strcmp(name, "ak_alg")) {
		if (alg_value(v, 1, &c->ak_alg))
			return fail(p, AERR_CONFIG, "ak_alg must be ecc, rsa or any, not '%s'", v);
	} else if (!strcmp(name, "nonce_ttl")) {
		if (conf_uint(v, 1, 86400, &n))
			return fail(p, AERR_CONFIG, "nonce_ttl must be 1..86400 seconds, not '%s'", v);
		c->nonce_ttl = (uint32_t)n;
	} else if (!strcmp(name, "timeout_ms")) {
		if (conf_uint(v, 1, 3600000, &n))
			return fail(p, AERR_CONFIG, "timeout_ms must be 1..3600000, not '%s'", v);
		c->timeout_ms = (int)n;
	} else if (!strcmp(name, "require_event_log")) {
		if (conf_bool(v, &b))
			return fail(p, AERR_CONFIG, "require_event_log must be true or false, not '%s'", v);
		c->require_event_log = b;
		p->set_require_event_log = 1;
	} else if (!strcmp(name, "require_ima")) {
		if (conf_bool(v, &b))
			return fail(p, AERR_CONFIG, "require_ima must be true or false, not '%s'", v);
		c->require_ima = b;
		p->set_require_ima = 1;
	} else if (!strcmp(name, "state_dir")) {
		return set_path(p, &c->state_dir, v) || !p->failed;
	} else if (!strcmp(name, "boot_policy")) {
		return set_path(p, &c->boot_policy, v) || !p->failed;
	} else if (!strcmp(name, "ima_policy")) {
		return set_path(p, &c->ima_policy, v) || !p->failed;
	} else if (!strcmp(name, "eventlog_pcrs")) {
		TPML_PCR_SELECTION sel;
		char text[128];
		if (snprintf(text, sizeof(text), "sha256:%s", v) >= (int)sizeof(text) || pcrsel_parse(text, &sel) != 0)
			return fail(p, AERR_CONFIG, "eventlog_pcrs must be PCRs and ranges like 0-9,14, not '%s'", v);
		c->eventlog_pcrs = pcrsel_mask(&sel, TPM2_ALG_SHA256);
	} else if (!strcmp(name, "targets")) {
		char buf[8192], *save = NULL, *tok;

		if (strlen(v) >= sizeof(buf))
			return fail(p, AERR_CONFIG, "targets is too long");
		strcpy(buf, v);
		for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			char canon[TARGET_MAX];

			/* One spelling: a node is bound to its target by this string. */
			if (target_canonical(tok, canon) != 0)
				return fail(p, AERR_CONFIG, "%s", err_detail());
			if (target_listed(canon, c->targets, c->ntargets))
				return fail(p, AERR_CONFIG, "target '%s' is listed twice (as %s)", tok, canon);
			if (c->ntargets == CONFIG_MAX_TARGETS)
				return fail(p, AERR_CONFIG, "more than %d targets", CONFIG_MAX_TARGETS);
			if (!(c->targets[c->ntargets++] = strdup(canon)))
				return fail(p, AERR_ALLOC, "out of memory");
		}
	} else if (!strcmp(name, "listen")) {
		if (!strchr(v, ':'))
			return fail(p, AERR_CONFIG, "listen must be HOST:PORT, not '%s'", v);
		return set_str(p, &c->listen, v);
	} else if (!strcmp(name, "session_ttl")) {
		if (conf_uint(v, 1, 86400, &n))
			return fail(p, AERR_CONFIG, "session_ttl must be 1..86400 seconds, not '%s'", v);
		c->session_ttl = (uint32_t)n;
	} else if (!strcmp(name, "reattest_interval")) {
		if (conf_uint(v, 1, 7 * 86400, &n))
			return fail(p, AERR_CONFIG, "reattest_interval must be 1..604800 seconds, not '%s'", v);
		c->reattest_interval = (uint32_t)n;
	} else if (!strcmp(name, "max_sessions")) {
		if (conf_uint(v, 1, 1000000, &n))
			return fail(p, AERR_CONFIG, "max_sessions must be 1..1000000, not '%s'", v);
		c->max_sessions = (uint32_t)n;
	} else if (!strcmp(name, "pre_issued_requests")) {
		if (conf_bool(v, &b))
			return fail(p, AERR_CONFIG, "pre_issued_requests must be true or false, not '%s'", v);
		c->pre_issued_requests = b;
	} else if (!strcmp(name, "max_sessions_per_identity")) {
		if (conf_uint(v, 1, 1000000, &n))
			return fail(p, AERR_CONFIG, "max_sessions_per_identity must be 1..1000000, not '%s'", v);
		c->max_sessions_per_identity = (uint32_t)n;
		p->has_per_identity = 1;
	} else if (!strcmp(name, "reattest_window")) {
		if (conf_uint(v, 0, 30 * 86400, &n))
			return fail(p, AERR_CONFIG, "reattest_window must be 0 (off) or 1..2592000 seconds, not '%s'", v);
		c->reattest_window = (uint32_t)n;
		p->has_window = 1;
	} else if (!strcmp(name, "threads")) {
		if (conf_uint(v, 1, 64, &n))
			return fail(p, AERR_CONFIG, "threads must be 1..64, not '%s'", v);
		c->threads = (uint32_t)n;
	} else if (!strcmp(name, "enrollment")) {
		if (strcmp(v, "auto") && strcmp(v, "explicit"))
			return fail(p, AERR_CONFIG, "enrollment must be auto or explicit, not '%s'", v);
		c->explicit_enrollment = !strcmp(v, "explicit");
	} else if (!strcmp(name, "hook")) {
		if (!*v)
			return fail(p, AERR_CONFIG, "hook is empty");
		return set_str(p, &c->hook, v);
	} else if (!strcmp(name, "hook_timeout")) {
		if (conf_uint(v, 1, 3600, &n))
			return fail(p, AERR_CONFIG, "hook_timeout must be 1..3600 seconds, not '%s'", v);
		c->hook_timeout_ms = (uint32_t)n * 1000u;
	} else if (!strcmp(name, "log_level")) {
		if ((lvl = log_level_parse(v)) < 0)
			return fail(p, AERR_CONFIG, "log_level must be error, warn, info or debug, not '%s'", v);
		c->log_level = lvl;
	} else {
		return fail(p, AERR_CONFIG, "unknown key '%s' in [verifier]", name);
	}
	return 1;
}

static int tls_key(struct parse *p, const char *name, const char *v)
{
	struct verifier_config *c = p->cfg;
	int b;

	if (!strcmp(name, "ca"))
		return set_path(p, &c->tls.ca, v) || !p->failed;
	if (!strcmp(name, "cert"))
		return set_path(p, &c->tls.cert, v) || !p->failed;
	if (!strcmp(name, "key"))
		return set_path(p, &c->tls.key, v) || !p->failed;
	if (!strcmp(name, "server_name"))
		return set_str(p, &c->tls.server_name, v);
	if (!strcmp(name, "insecure")) {
		if (conf_bool(v, &b))
			return fail(p, AERR_CONFIG, "insecure must be true or false, not '%s'", v);
		c->tls.insecure = b;
		return 1;
	}
	return fail(p, AERR_CONFIG, "unknown key '%s' in [tls]", name);
}

/* The [secret NAME] being read; a name seen in an earlier section is refused. */
static struct secret_conf *secret_section(struct parse *p, const char *section)
{
	struct verifier_config *c = p->cfg;
	const char *name = section + strlen("secret ");
	struct secret_conf *grown;
	int same = !strcmp(section, p->last_section);

	for (size_t i = 0; i < c->nsecrets; i++)
		if (!strcmp(c->secrets[i].name, name)) {
			if (same && i == c->nsecrets - 1)
				return &c->secrets[i];
			fail(p, AERR_CONFIG, "[secret %s] appears twice", name);
			return NULL;
		}
	if (secret_name_check(name) != 0) {
		fail(p, AERR_CONFIG, "[secret %s]: %s", name, err_detail());
		return NULL;
	}
	if (!(grown = realloc(c->secrets, (c->nsecrets + 1) * sizeof(*grown)))) {
		fail(p, AERR_ALLOC, "out of memory");
		return NULL;
	}
	c->secrets = grown;
	memset(&c->secrets[c->nsecrets], 0, sizeof(*grown));
	snprintf(c->secrets[c->nsecrets].name, sizeof(c->secrets[0].name), "%s", name);
	return &c->secrets[c->nsecrets++];
}

static int secret_key(struct parse *p, struct secret_conf *sc, const char *name, const char *v)
{
	if (!strcmp(name, "kind")) {
		if (!strcmp(v, "aes256"))
			sc->kind = SECRET_AES256;
		else if (!strcmp(v, "rsa"))
			sc->kind = SECRET_RSA;
		else
			return fail(p, AERR_CONFIG, "kind must be aes256 or rsa, not '%s'", v);
	} else if (!strcmp(name, "key")) {
		return set_path(p, &sc->key, v) || !p->failed;
	} else if (!strcmp(name, "cert")) {
		return set_path(p, &sc->cert, v) || !p->failed;
	} else if (!strcmp(name, "hosts")) {
		char buf[4096], *save = NULL, *tok;

		if (strlen(v) >= sizeof(buf))
			return fail(p, AERR_CONFIG, "hosts is too long");
		strcpy(buf, v);
		for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			if (secret_host_check(tok) != 0)
				return fail(p, AERR_CONFIG, "[secret %s] hosts: %s", sc->name, err_detail());
			if (sc->nhosts == SECRET_MAX_HOSTS)
				return fail(p, AERR_CONFIG, "hosts names more than %d hosts", SECRET_MAX_HOSTS);
			if (!(sc->hosts[sc->nhosts++] = strdup(tok)))
				return fail(p, AERR_ALLOC, "out of memory");
		}
	} else if (!strcmp(name, "pcrs")) {
		if (pcrsel_parse(v, &sc->pcrs) != 0)
			return fail(p, AERR_CONFIG, "pcrs: %s", err_detail());
		sc->has_pcrs = 1;
	} else if (strchr(name, '.')) {
		if (policy_add(&sc->values, name, v) != 0)
			return fail(p, AERR_CONFIG, "%s", err_detail());
	} else {
		return fail(p, AERR_CONFIG, "unknown key '%s' in [secret %s]", name, sc->name);
	}
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	if (p->failed)
		return 0;
	if (!strncmp(section, "secret ", 7)) {
		struct secret_conf *sc = secret_section(p, section);

		snprintf(p->last_section, sizeof(p->last_section), "%s", section);
		return sc ? secret_key(p, sc, name, value) : 0;
	}
	snprintf(p->last_section, sizeof(p->last_section), "%s", section);
	if (!strcmp(section, "verifier"))
		return verifier_key(p, name, value);
	if (!strcmp(section, "tls"))
		return tls_key(p, name, value);
	if (!strcmp(section, "policy")) {
		if (policy_add(&p->cfg->policy, name, value) != 0)
			return fail(p, AERR_CONFIG, "%s", err_detail());
		return 1;
	}
	return fail(p, AERR_CONFIG, "unknown section [%s]", section);
}

/* A secret's policy: values alone imply their selection; a selection with
 * values must be covered by them exactly (PolicyPCR needs every value). */
static int validate_secret(struct parse *p, struct secret_conf *sc)
{
	const struct policy *v = &sc->values;

	if (!sc->kind)
		return err_set(AERR_CONFIG, "%s: [secret %s] needs kind = aes256 | rsa", p->path, sc->name);
	if (!sc->key)
		return err_set(AERR_CONFIG, "%s: [secret %s] needs key = FILE", p->path, sc->name);
	if (sc->kind == SECRET_RSA && !sc->cert)
		return err_set(AERR_CONFIG, "%s: [secret %s] kind rsa needs cert = FILE", p->path, sc->name);
	if (v->n == 0)
		return 0;
	if (!sc->has_pcrs) {
		for (size_t i = 0; i < v->n; i++) {
			uint32_t b;
			for (b = 0; b < sc->pcrs.count && sc->pcrs.pcrSelections[b].hash != v->e[i].alg; b++)
				;
			if (b == sc->pcrs.count) {
				if (b == TPM2_NUM_PCR_BANKS)
					return err_set(AERR_CONFIG, "%s: [secret %s]: too many banks", p->path, sc->name);
				sc->pcrs.pcrSelections[b].hash = v->e[i].alg;
				sc->pcrs.pcrSelections[b].sizeofSelect = 3;
				sc->pcrs.count++;
			}
			sc->pcrs.pcrSelections[b].pcrSelect[v->e[i].index / 8] |= (uint8_t)(1u << (v->e[i].index % 8));
		}
		sc->has_pcrs = 1;
		return 0;
	}
	if (policy_check_selection(v, &sc->pcrs) != 0) {
		char what[PATH_MAX + 96];
		snprintf(what, sizeof(what), "%s: [secret %s]", p->path, sc->name);
		return err_wrap(AERR_CONFIG, what);
	}
	for (uint32_t b = 0; b < sc->pcrs.count; b++)
		for (uint32_t i = 0; i < PCRSEL_NUM_PCRS; i++) {
			const TPMS_PCR_SELECTION *ps = &sc->pcrs.pcrSelections[b];
			int have = 0;
			if (!(ps->pcrSelect[i / 8] & (1u << (i % 8))))
				continue;
			for (size_t e = 0; e < v->n && !have; e++)
				have = v->e[e].alg == ps->hash && v->e[e].index == i;
			if (!have)
				return err_set(AERR_CONFIG, "%s: [secret %s]: PCR %u bank %s is selected but has no value "
					       "(give every value, or none to take the passing quote's)", p->path, sc->name,
					       i, crypto_alg_name(ps->hash));
		}
	return 0;
}

/* A secret without values of its own is sealed to the passing quote's: that
 * must be a value the operator fixed, or it would follow whatever the host
 * shows (a host that extended a PCR would keep unsealing). */
static int validate_secret_reference(struct parse *p, const struct secret_conf *sc)
{
	const struct verifier_config *c = p->cfg;
	const TPML_PCR_SELECTION *sel = sc->has_pcrs ? &sc->pcrs : &c->pcrs;

	if (!c->policy.n && !c->boot_policy && !c->ima_policy)
		return err_set(AERR_CONFIG, "%s: [secret %s]: secrets go only to nodes that pass against a reference, "
			       "and there is none ([policy] PCR values, boot_policy or ima_policy)", p->path, sc->name);
	if (sc->values.n)
		return 0;
	for (uint32_t b = 0; b < sel->count; b++)
		for (uint32_t i = 0; i < PCRSEL_NUM_PCRS; i++) {
			const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[b];
			int pinned = 0;

			if (!(ps->pcrSelect[i / 8] & (1u << (i % 8))))
				continue;
			for (size_t e = 0; e < c->policy.n && !pinned; e++)
				pinned = c->policy.e[e].alg == ps->hash && c->policy.e[e].index == i;
			if (!pinned)
				return err_set(AERR_CONFIG, "%s: [secret %s] has no PCR values of its own, and [policy] does "
					       "not fix PCR %u bank %s of its selection: give the secret its values "
					       "(%s.%u = ...) or fix them in [policy]", p->path, sc->name, i,
					       crypto_alg_name(ps->hash), crypto_alg_name(ps->hash), i);
		}
	return 0;
}

/* Selecting by an operator's names and groups needs the store that holds them. */
static int validate_secret_hosts(struct parse *p, const struct secret_conf *sc)
{
	for (size_t h = 0; h < sc->nhosts; h++)
		if ((!strncmp(sc->hosts[h], "name:", 5) || !strncmp(sc->hosts[h], "group:", 6)) && !p->cfg->state_dir)
			return err_set(AERR_CONFIG, "%s: [secret %s] hosts = %s needs state_dir (the names and groups "
				       "operators assign with verifier enroll)", p->path, sc->name, sc->hosts[h]);
	return 0;
}

/* A policy that reads a log makes that log required: an attestor that sent
 * none would otherwise switch the policy off. */
static int validate_logs(struct parse *p)
{
	struct verifier_config *c = p->cfg;

	if (c->boot_policy) {
		if (p->set_require_event_log && !c->require_event_log)
			return err_set(AERR_CONFIG, "%s: boot_policy needs the boot event log: require_event_log "
				       "cannot be false with it", p->path);
		c->require_event_log = 1;
	}
	if (c->ima_policy) {
		if (p->set_require_ima && !c->require_ima)
			return err_set(AERR_CONFIG, "%s: ima_policy needs the IMA list: require_ima cannot be false "
				       "with it", p->path);
		c->require_ima = 1;
	}
	return 0;
}

/* Whole-file rules that no single line can check. */
static int validate(struct parse *p)
{
	struct verifier_config *c = p->cfg;
	int r;

	if (!c->ek_roots && !(c->ek_roots = strdup(CONFIG_DEFAULT_EK_ROOTS)))
		return err_set(AERR_ALLOC, "out of memory");
	if (!p->has_pcrs && pcrsel_parse("sha256:0-7+sha1:0-7", &c->pcrs) != 0)
		return err_wrap(AERR_INTERNAL, "default pcrs");
	if (!c->tls.insecure && (!c->tls.ca || !c->tls.cert || !c->tls.key))
		return err_set(AERR_CONFIG, "%s: [tls] ca, cert and key are required (or insecure = true)", p->path);
	if ((r = validate_logs(p)) != 0)
		return r;
	if (c->require_ima && !(pcrsel_mask_any(&c->pcrs) & (1u << 10)))
		return err_set(AERR_CONFIG, "%s: require_ima = true%s needs PCR 10 in pcrs", p->path,
			       c->ima_policy ? " (ima_policy)" : "");
	if (c->mode == CONFIG_MODE_PUSH && !c->listen)
		return err_set(AERR_CONFIG, "%s: mode = push needs listen = HOST:PORT", p->path);
	if (c->explicit_enrollment && !c->state_dir)
		return err_set(AERR_CONFIG, "%s: enrollment = explicit needs state_dir (the enrolled nodes)", p->path);
	/* Three missed intervals, and a session's lifetime, before a node fails. */
	if (!p->has_window)
		c->reattest_window = 3 * c->reattest_interval + c->session_ttl;
	if (c->reattest_window && c->reattest_window <= c->reattest_interval)
		return err_set(AERR_CONFIG, "%s: reattest_window (%u s) must exceed reattest_interval (%u s)", p->path,
			       c->reattest_window, c->reattest_interval);
	/* A sixteenth of the table: a fleet's attestors behind one certificate
	 * still attest side by side, one identity cannot take it all. */
	if (!p->has_per_identity)
		c->max_sessions_per_identity = c->max_sessions / 16 ? c->max_sessions / 16 : 1;
	if (c->max_sessions_per_identity > c->max_sessions)
		return err_set(AERR_CONFIG, "%s: max_sessions_per_identity (%u) exceeds max_sessions (%u)", p->path,
			       c->max_sessions_per_identity, c->max_sessions);
	if (c->require_platform_cert && !c->platform_ca)
		return err_set(AERR_CONFIG, "%s: require_platform_cert = true needs platform_ca", p->path);
	/* A platform certificate names the EK certificate it belongs to: that is
	 * a binding only to a certificate the verifier checked. */
	if (c->platform_ca && !c->require_ek_cert)
		return err_set(AERR_CONFIG, "%s: platform_ca needs require_ek_cert = true: a platform certificate is "
			       "bound to the EK certificate, which require_ek_cert = false leaves unverified", p->path);
	if (policy_check_selection(&c->policy, &c->pcrs) != 0)
		return err_wrap(AERR_CONFIG, p->path);
	for (size_t i = 0; i < c->nsecrets; i++)
		if (validate_secret(p, &c->secrets[i]) != 0 || validate_secret_hosts(p, &c->secrets[i]) != 0 ||
		    validate_secret_reference(p, &c->secrets[i]) != 0)
			return AERR_CONFIG;
	return 0;
}

int verifier_config_load(const char *path, struct verifier_config **out)
{
	struct parse p;
	struct verifier_config *c = NULL;
	char *slash;
	int r = AERR_INTERNAL, line;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.rd.at_line_start = 1;
	if (strlen(path) >= sizeof(p.dir))
		return err_set(AERR_CONFIG, "%s: path too long", path);
	strcpy(p.dir, path);
	if ((slash = strrchr(p.dir, '/')))
		slash[slash == p.dir ? 1 : 0] = '\0';
	else
		strcpy(p.dir, ".");
	if (!(c = calloc(1, sizeof(*c)))) {
		r = err_set(AERR_ALLOC, "out of memory");
		goto out;
	}
	c->mode = CONFIG_MODE_PULL;
	c->ek_alg = TPM2_ALG_RSA;
	c->require_ek_cert = 1;
	c->ak_alg = TPM2_ALG_ECC;
	c->nonce_ttl = 60;
	c->timeout_ms = 10000;
	c->log_level = LOG_LEVEL_INFO;
	c->session_ttl = 60;
	c->eventlog_pcrs = 0x43ffu; /* 0-9 (firmware, boot loader) and 14 (shim) */
	c->reattest_interval = 300;
	c->max_sessions = 1024;
	c->pre_issued_requests = 1;
	c->threads = 2;
	c->hook_timeout_ms = 10000;
	p.cfg = c;
	if (!(p.rd.f = fopen(path, "r"))) {
		r = err_set(AERR_CONFIG, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	line = ini_parse_stream(conf_read_line, &p.rd, handler, &p);
	if (p.rd.too_long_line && !p.failed) {
		r = err_set(AERR_CONFIG, "%s:%d: line longer than %d characters (put list values on several lines)",
			    path, p.rd.too_long_line, p.rd.max);
		goto out;
	}
	if (p.failed) {
		r = err_set(p.code, "%s", p.msg);
		goto out;
	}
	if (line != 0) {
		r = err_set(AERR_CONFIG, "%s:%d: syntax error (expected [section] or key = value)", path, line);
		goto out;
	}
	if ((r = validate(&p)) != 0)
		goto out;
	*out = c;
	c = NULL; /* transferred */
	r = 0;
out:
	if (p.rd.f)
		fclose(p.rd.f);
	verifier_config_free(c);
	return r;
}

void verifier_config_free(struct verifier_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->ek_roots);
	free(cfg->platform_ca);
	free(cfg->tls.ca);
	free(cfg->tls.cert);
	free(cfg->tls.key);
	free(cfg->tls.server_name);
	free(cfg->listen);
	free(cfg->boot_policy);
	free(cfg->state_dir);
	free(cfg->hook);
	for (size_t i = 0; i < cfg->ntargets; i++)
		free(cfg->targets[i]);
	free(cfg->ima_policy);
	for (size_t i = 0; i < cfg->nsecrets; i++) {
		free(cfg->secrets[i].key);
		free(cfg->secrets[i].cert);
		for (size_t h = 0; h < cfg->secrets[i].nhosts; h++)
			free(cfg->secrets[i].hosts[h]);
	}
	free(cfg->secrets);
	free(cfg);
}
