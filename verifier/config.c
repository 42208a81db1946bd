#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#define LOG_MODULE "config"
#include "array.h"
#include "conf.h"
#include "config.h"
#include "log.h"
#include "pcrsel.h"
#include "pull/target.h"
#include "rpc.h"
#include "tpmpub.h"

/* What the verifier's own sections need beside the loader's state. */
struct parse {
	struct conf_load l;
	struct verifier_config *cfg;
};

#define CFG struct verifier_config

static const struct conf_choice ak_algs[] = {
	{ "ecc", TPM2_ALG_ECC }, { "rsa", TPM2_ALG_RSA }, { "any", TPM2_ALG_NULL }, { NULL, 0 },
};
static const struct conf_choice enrollments[] = { { "auto", 0 }, { "explicit", 1 }, { NULL, 0 } };
static const struct conf_choice secret_kinds[] = {
	{ "aes256", SECRET_AES256 }, { "rsa", SECRET_RSA }, { NULL, 0 },
};

static int parse_pcrs(struct conf_load *l, void *field, const char *v)
{
	TPML_PCR_SELECTION *sel = field;

	if (pcrsel_parse(v, sel) != 0)
		return conf_fail(l, AERR_CONFIG, "pcrs: %s", err_detail());
	if (sel->count == 0)
		return conf_fail(l, AERR_CONFIG, "pcrs selects nothing");
	return 1;
}

static int parse_eventlog_pcrs(struct conf_load *l, void *field, const char *v)
{
	TPML_PCR_SELECTION sel;
	char text[128];
	uint32_t mask;

	if (snprintf(text, sizeof(text), "sha256:%s", v) >= (int)sizeof(text) || pcrsel_parse(text, &sel) != 0)
		return conf_fail(l, AERR_CONFIG, "eventlog_pcrs must be PCRs and ranges like 0-9,14, not '%s'", v);
	mask = pcrsel_mask(&sel, TPM2_ALG_SHA256);
	memcpy(field, &mask, sizeof(mask));
	return 1;
}

/* targets = HOST:PORT[, ...], each in its one canonical spelling: a node is
 * bound to its target by this string. Lines add to the list. */
static int add_target(struct conf_load *l, void *arg, const char *tok)
{
	struct verifier_config *c = arg;
	char canon[TARGET_MAX];

	if (target_canonical(tok, canon) != 0)
		return conf_fail(l, AERR_CONFIG, "%s", err_detail());
	if (target_listed(canon, c->targets, c->ntargets))
		return conf_fail(l, AERR_CONFIG, "target '%s' is listed twice (as %s)", tok, canon);
	if (c->ntargets == CONFIG_MAX_TARGETS)
		return conf_fail(l, AERR_CONFIG, "more than %d targets", CONFIG_MAX_TARGETS);
	if (!(c->targets[c->ntargets++] = strdup(canon)))
		return conf_fail(l, AERR_ALLOC, "out of memory");
	return 1;
}

static int parse_targets(struct conf_load *l, void *field, const char *v)
{
	(void)field;
	return conf_each(l, "targets", v, add_target, l->cfg);
}

static const struct conf_key verifier_keys[] = {
	CONF_KEY_CHOICE(CFG, "mode", mode, conf_modes),
	CONF_KEY_PATH(CFG, "ek_roots", ek_roots, CONF_ALLOC | CONF_NOT_EMPTY),
	CONF_KEY_CHOICE(CFG, "ek_alg", ek_alg, conf_key_algs),
	CONF_KEY_BOOL(CFG, "require_ek_cert", require_ek_cert),
	CONF_KEY_PATH(CFG, "platform_ca", platform_ca, CONF_ALLOC),
	CONF_KEY_BOOL(CFG, "require_platform_cert", require_platform_cert),
	CONF_KEY_FUNC(CFG, "pcrs", pcrs, parse_pcrs),
	CONF_KEY_CHOICE(CFG, "ak_alg", ak_alg, ak_algs),
	CONF_KEY_UINT(CFG, "nonce_ttl", nonce_ttl, 1, 86400, 1, "seconds"),
	CONF_KEY_UINT(CFG, "timeout_ms", timeout_ms, 1, 3600000, 1, NULL),
	CONF_KEY_BOOL(CFG, "require_event_log", require_event_log),
	CONF_KEY_BOOL(CFG, "require_ima", require_ima),
	CONF_KEY_PATH(CFG, "state_dir", state_dir, CONF_ALLOC),
	CONF_KEY_PATH(CFG, "boot_policy", boot_policy, CONF_ALLOC),
	CONF_KEY_PATH(CFG, "ima_policy", ima_policy, CONF_ALLOC),
	CONF_KEY_FUNC(CFG, "eventlog_pcrs", eventlog_pcrs, parse_eventlog_pcrs),
	CONF_KEY_FUNC(CFG, "targets", ntargets, parse_targets),
	CONF_KEY_TEXT(CFG, "listen", listen, CONF_ALLOC | CONF_HOSTPORT),
	CONF_KEY_UINT(CFG, "session_ttl", session_ttl, 1, 86400, 1, "seconds"),
	CONF_KEY_UINT(CFG, "reattest_interval", reattest_interval, 1, 7 * 86400, 1, "seconds"),
	CONF_KEY_UINT(CFG, "max_sessions", max_sessions, 1, 1000000, 1, NULL),
	CONF_KEY_BOOL(CFG, "pre_issued_requests", pre_issued_requests),
	CONF_KEY_UINT(CFG, "max_sessions_per_identity", max_sessions_per_identity, 1, 1000000, 1, NULL),
	CONF_KEY_UINT(CFG, "reattest_window", reattest_window, 0, 30 * 86400, 1, "seconds (0: never)"),
	CONF_KEY_UINT(CFG, "evidence_retention", evidence_retention_s, 0, 36500, 86400, "days (0: keep all)"),
	CONF_KEY_BOOL(CFG, "learn_first_use", learn_first_use),
	CONF_KEY_UINT(CFG, "threads", threads, 1, 64, 1, NULL),
	CONF_KEY_CHOICE(CFG, "enrollment", explicit_enrollment, enrollments),
	CONF_KEY_TEXT(CFG, "hook", hook, CONF_ALLOC | CONF_NOT_EMPTY),
	CONF_KEY_UINT(CFG, "hook_timeout", hook_timeout_ms, 1, 3600, 1000, "seconds"),
	CONF_KEY_CHOICE(CFG, "log_level", log_level, conf_log_levels),
};

/* operators = ID, ...: TLS identities as rpc_call_peer_identity reads them. */
static int add_operator(struct conf_load *l, void *arg, const char *tok)
{
	struct admin_conf *a = arg;
	size_t len = strlen(tok);

	if (len > RPC_IDENTITY_MAX)
		return conf_fail(l, AERR_CONFIG, "operators: '%.40s...' is longer than a TLS identity (%d)", tok,
				 RPC_IDENTITY_MAX);
	for (size_t i = 0; i < len; i++)
		if (tok[i] < 0x21 || tok[i] > 0x7e || tok[i] == '"' || tok[i] == '\'' || tok[i] == '\\')
			return conf_fail(l, AERR_CONFIG, "operators: '%s' is no TLS identity (printable ASCII, no "
					 "quotes)", tok);
	for (size_t i = 0; i < a->noperators; i++)
		if (!strcmp(a->operators[i], tok))
			return conf_fail(l, AERR_CONFIG, "operators: '%s' given twice", tok);
	if (a->noperators == CONFIG_MAX_OPERATORS)
		return conf_fail(l, AERR_CONFIG, "more than %d operators", CONFIG_MAX_OPERATORS);
	if (!(a->operators[a->noperators++] = strdup(tok)))
		return conf_fail(l, AERR_ALLOC, "out of memory");
	return 1;
}

static int parse_operators(struct conf_load *l, void *field, const char *v)
{
	return conf_each(l, "operators", v, add_operator, field);
}

/* retired = FILE, ...: result keys still published. */
static int add_retired(struct conf_load *l, void *arg, const char *tok)
{
	struct results_conf *rc = arg;
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", tok[0] == '/' || !l->dir[0] ? "" : l->dir,
			     tok[0] == '/' || !l->dir[0] ? "" : "/", tok) >= sizeof(path))
		return conf_fail(l, AERR_CONFIG, "retired: path too long");
	if (rc->nretired == CONFIG_MAX_RETIRED_KEYS)
		return conf_fail(l, AERR_CONFIG, "more than %d retired result keys", CONFIG_MAX_RETIRED_KEYS);
	if (!(rc->retired[rc->nretired++] = strdup(path)))
		return conf_fail(l, AERR_ALLOC, "out of memory");
	return 1;
}

static int parse_retired(struct conf_load *l, void *field, const char *v)
{
	return conf_each(l, "retired", v, add_retired, field);
}

#define RES struct results_conf

static const struct conf_key results_keys[] = {
	CONF_KEY_BOOL(RES, "sign", sign),
	CONF_KEY_PATH(RES, "key", key, 0),
	{ .name = "retired", .type = CONF_FUNC, .offset = 0, .size = sizeof(RES), .parse = parse_retired },
	CONF_KEY_UINT(RES, "ttl", ttl, 60, 86400, 1, "seconds"),
};

#define ADM struct admin_conf

static const struct conf_key admin_keys[] = {
	CONF_KEY_TEXT(ADM, "listen", listen, CONF_ALLOC | CONF_HOSTPORT),
	{ .name = "operators", .type = CONF_FUNC, .offset = 0, .size = sizeof(ADM), .parse = parse_operators },
	CONF_KEY_PATH(ADM, "ca", ca, 0),
	CONF_KEY_TEXT(ADM, "server", server, CONF_ALLOC | CONF_HOSTPORT),
	CONF_KEY_PATH(ADM, "cert", cert, 0),
	CONF_KEY_PATH(ADM, "key", key, 0),
};

#define WEB struct web_conf

static const struct conf_key web_keys[] = {
	CONF_KEY_TEXT(WEB, "listen", listen, CONF_ALLOC | CONF_HOSTPORT),
	CONF_KEY_PATH(WEB, "token_file", token_file, 0),
};

static const struct conf_section verifier_sections[] = {
	{ "verifier", verifier_keys, ARRAY_LEN(verifier_keys), 0 },
	{ "tls", conf_tls_keys, CONF_TLS_NKEYS, offsetof(CFG, tls) },
	{ "admin", admin_keys, ARRAY_LEN(admin_keys), offsetof(CFG, admin) },
	{ "web", web_keys, ARRAY_LEN(web_keys), offsetof(CFG, web) },
	{ "results", results_keys, ARRAY_LEN(results_keys), offsetof(CFG, results) },
};

/* The secret of a field of it. */
#define SECRET_OF(field, member) ((struct secret_conf *)((char *)(field) - offsetof(struct secret_conf, member)))

static int add_secret_host(struct conf_load *l, void *arg, const char *tok)
{
	struct secret_conf *sc = arg;

	if (secret_host_check(tok) != 0)
		return conf_fail(l, AERR_CONFIG, "[secret %s] hosts: %s", sc->name, err_detail());
	if (sc->nhosts == SECRET_MAX_HOSTS)
		return conf_fail(l, AERR_CONFIG, "hosts names more than %d hosts", SECRET_MAX_HOSTS);
	if (!(sc->hosts[sc->nhosts++] = strdup(tok)))
		return conf_fail(l, AERR_ALLOC, "out of memory");
	return 1;
}

static int parse_secret_hosts(struct conf_load *l, void *field, const char *v)
{
	return conf_each(l, "hosts", v, add_secret_host, SECRET_OF(field, nhosts));
}

static int parse_secret_pcrs(struct conf_load *l, void *field, const char *v)
{
	struct secret_conf *sc = SECRET_OF(field, pcrs);

	if (pcrsel_parse(v, &sc->pcrs) != 0)
		return conf_fail(l, AERR_CONFIG, "pcrs: %s", err_detail());
	sc->has_pcrs = 1;
	return 1;
}

static const struct conf_key secret_keys[] = {
	CONF_KEY_CHOICE(struct secret_conf, "kind", kind, secret_kinds),
	CONF_KEY_PATH(struct secret_conf, "key", key, CONF_ALLOC),
	CONF_KEY_PATH(struct secret_conf, "cert", cert, CONF_ALLOC),
	CONF_KEY_FUNC(struct secret_conf, "hosts", nhosts, parse_secret_hosts),
	CONF_KEY_FUNC(struct secret_conf, "pcrs", pcrs, parse_secret_pcrs),
};

/* The [secret NAME] being read; a name seen in an earlier section is refused. */
static struct secret_conf *secret_section(struct parse *p, const char *section)
{
	struct verifier_config *c = p->cfg;
	const char *name = section + strlen("secret ");
	struct secret_conf *grown;
	int same = !strcmp(section, p->l.prev_section);

	for (size_t i = 0; i < c->nsecrets; i++)
		if (!strcmp(c->secrets[i].name, name)) {
			if (same && i == c->nsecrets - 1)
				return &c->secrets[i];
			conf_fail(&p->l, AERR_CONFIG, "[secret %s] appears twice", name);
			return NULL;
		}
	if (secret_name_check(name) != 0) {
		conf_fail(&p->l, AERR_CONFIG, "[secret %s]: %s", name, err_detail());
		return NULL;
	}
	if (!(grown = realloc(c->secrets, (c->nsecrets + 1) * sizeof(*grown)))) {
		conf_fail(&p->l, AERR_ALLOC, "out of memory");
		return NULL;
	}
	c->secrets = grown;
	memset(&c->secrets[c->nsecrets], 0, sizeof(*grown));
	snprintf(c->secrets[c->nsecrets].name, sizeof(c->secrets[0].name), "%s", name);
	return &c->secrets[c->nsecrets++];
}

/* [policy] and [secret NAME]: sections of no table. */
static int other_section(struct conf_load *l, const char *section, const char *name, const char *value)
{
	struct parse *p = l->user;
	struct secret_conf *sc;
	int r;

	if (!strncmp(section, "secret ", 7)) {
		if (!(sc = secret_section(p, section)))
			return 0;
		if ((r = conf_apply(l, secret_keys, ARRAY_LEN(secret_keys), sc, name, value)) >= 0)
			return r;
		if (!strchr(name, '.'))
			return conf_fail(l, AERR_CONFIG, "unknown key '%s' in [secret %s]", name, sc->name);
		if (policy_add(&sc->values, name, value) != 0)
			return conf_fail(l, AERR_CONFIG, "%s", err_detail());
		return 1;
	}
	if (strcmp(section, "policy") != 0)
		return -1;
	if (policy_add(&p->cfg->policy, name, value) != 0)
		return conf_fail(l, AERR_CONFIG, "%s", err_detail());
	return 1;
}

/* A secret's policy: values alone imply their selection; a selection with
 * values must be covered by them exactly (PolicyPCR needs every value). */
static int validate_secret(struct parse *p, struct secret_conf *sc)
{
	const struct policy *v = &sc->values;

	if (!sc->kind)
		return err_set(AERR_CONFIG, "%s: [secret %s] needs kind = aes256 | rsa", p->l.path, sc->name);
	if (!sc->key)
		return err_set(AERR_CONFIG, "%s: [secret %s] needs key = FILE", p->l.path, sc->name);
	if (sc->kind == SECRET_RSA && !sc->cert)
		return err_set(AERR_CONFIG, "%s: [secret %s] kind rsa needs cert = FILE", p->l.path, sc->name);
	if (v->n == 0)
		return 0;
	if (!sc->has_pcrs) {
		for (size_t i = 0; i < v->n; i++) {
			uint32_t b;
			for (b = 0; b < sc->pcrs.count && sc->pcrs.pcrSelections[b].hash != v->e[i].alg; b++)
				;
			if (b == sc->pcrs.count) {
				if (b == TPM2_NUM_PCR_BANKS)
					return err_set(AERR_CONFIG, "%s: [secret %s]: too many banks", p->l.path, sc->name);
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
		snprintf(what, sizeof(what), "%s: [secret %s]", p->l.path, sc->name);
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
					       "(give every value, or none to take the passing quote's)", p->l.path, sc->name,
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
			       "and there is none ([policy] PCR values, boot_policy or ima_policy)", p->l.path, sc->name);
	TPMI_ALG_HASH alg;
	uint32_t i;

	if (sc->values.n || policy_pins(&c->policy, sel, &alg, &i))
		return 0;
	return err_set(AERR_CONFIG, "%s: [secret %s] has no PCR values of its own, and [policy] does not fix PCR %u "
		       "bank %s of its selection: give the secret its values (%s.%u = ...) or fix them in [policy]",
		       p->l.path, sc->name, i, crypto_alg_name(alg), crypto_alg_name(alg), i);
}

/* Selecting by an operator's names and groups needs the store that holds them. */
static int validate_secret_hosts(struct parse *p, const struct secret_conf *sc)
{
	for (size_t h = 0; h < sc->nhosts; h++)
		if ((!strncmp(sc->hosts[h], "name:", 5) || !strncmp(sc->hosts[h], "group:", 6)) && !p->cfg->state_dir)
			return err_set(AERR_CONFIG, "%s: [secret %s] hosts = %s needs state_dir (the names and groups "
				       "operators assign with verifier enroll)", p->l.path, sc->name, sc->hosts[h]);
	return 0;
}

/* A policy that reads a log makes that log required: an attestor that sent
 * none would otherwise switch the policy off. */
static int validate_logs(struct parse *p)
{
	struct verifier_config *c = p->cfg;

	if (c->boot_policy) {
		if (conf_given(&p->l, "verifier", "require_event_log") && !c->require_event_log)
			return err_set(AERR_CONFIG, "%s: boot_policy needs the boot event log: require_event_log "
				       "cannot be false with it", p->l.path);
		c->require_event_log = 1;
	}
	if (c->ima_policy) {
		if (conf_given(&p->l, "verifier", "require_ima") && !c->require_ima)
			return err_set(AERR_CONFIG, "%s: ima_policy needs the IMA list: require_ima cannot be false "
				       "with it", p->l.path);
		c->require_ima = 1;
	}
	return 0;
}

/* Whole-file rules that no single line can check. */
/* Two services on one fixed address (port 0 picks a free one for each). */
static int same_address(const char *a, const char *b)
{
	size_t n = a ? strlen(a) : 0;

	return a && b && !strcmp(a, b) && !(n >= 2 && !strcmp(a + n - 2, ":0"));
}

/* The Admin service changes nodes and policies: never without TLS, and
 * only for the identities named. */
static int validate_admin(struct parse *p)
{
	const struct verifier_config *c = p->cfg;

	if (!c->admin.cert[0] != !c->admin.key[0])
		return err_set(AERR_CONFIG, "%s: [admin] cert and key go together", p->l.path);
	if (!c->admin.listen) {
		if (c->admin.noperators || c->admin.ca[0])
			return err_set(AERR_CONFIG, "%s: [admin] %s needs listen = HOST:PORT", p->l.path,
				       c->admin.noperators ? "operators" : "ca");
		return 0;
	}
	if (!c->admin.noperators)
		return err_set(AERR_CONFIG, "%s: [admin] listen needs operators = TLS_ID, ... (who may call it)",
			       p->l.path);
	if (!c->state_dir)
		return err_set(AERR_CONFIG, "%s: [admin] listen needs state_dir (what it serves)", p->l.path);
	if (c->tls.insecure)
		return err_set(AERR_CONFIG, "%s: [admin] listen needs mutual TLS: [tls] insecure = true would let "
			       "anyone change nodes and policies", p->l.path);
	if (same_address(c->listen, c->admin.listen))
		return err_set(AERR_CONFIG, "%s: [admin] listen is [verifier] listen: the attestors' and the "
			       "operators' services need an address each", p->l.path);
	return 0;
}

/* Results are signed by a key of the config's or of state_dir's; a token
 * lives two re-attestation intervals (at most an hour) unless ttl says
 * otherwise. */
static int validate_results(struct parse *p)
{
	struct verifier_config *c = p->cfg;
	struct results_conf *rc = &c->results;

	/* A token is a bearer assertion: no longer than the next attestation
	 * is due, and never hours on the default. */
	if (!rc->ttl)
		rc->ttl = 2 * c->reattest_interval < 3600 ? 2 * c->reattest_interval : 3600;
	if (!rc->sign)
		return 0;
	if (!rc->key[0] && c->state_dir &&
	    (size_t)snprintf(rc->key, sizeof(rc->key), "%s/result-key.pem", c->state_dir) >= sizeof(rc->key))
		return err_set(AERR_CONFIG, "%s: state_dir too long for its result key", p->l.path);
	/* Without either, there is no key to keep: no results are signed. */
	if (!rc->key[0])
		rc->sign = 0;
	return 0;
}

/* The dashboard shows every node and verdict: HTTPS, a token, a database. */
static int validate_web(struct parse *p)
{
	const struct verifier_config *c = p->cfg;

	if (!c->web.listen)
		return c->web.token_file[0] ? err_set(AERR_CONFIG, "%s: [web] token_file needs listen = HOST:PORT",
						      p->l.path) : 0;
	if (!c->web.token_file[0])
		return err_set(AERR_CONFIG, "%s: [web] listen needs token_file (the operators' token)", p->l.path);
	if (!c->state_dir)
		return err_set(AERR_CONFIG, "%s: [web] listen needs state_dir (what it shows)", p->l.path);
	if (c->tls.insecure)
		return err_set(AERR_CONFIG, "%s: [web] listen needs [tls] cert and key: it serves HTTPS only",
			       p->l.path);
	if (same_address(c->listen, c->web.listen) || same_address(c->admin.listen, c->web.listen))
		return err_set(AERR_CONFIG, "%s: [web] listen is another service's address", p->l.path);
	return 0;
}

static int validate(struct parse *p)
{
	struct verifier_config *c = p->cfg;
	int r;

	if (!c->ek_roots && !(c->ek_roots = strdup(CONFIG_DEFAULT_EK_ROOTS)))
		return err_set(AERR_ALLOC, "out of memory");
	if (!conf_given(&p->l, "verifier", "pcrs") && pcrsel_parse("sha256:0-7+sha1:0-7", &c->pcrs) != 0)
		return err_wrap(AERR_INTERNAL, "default pcrs");
	if ((r = conf_tls_check(&p->l, &c->tls)) != 0)
		return r;
	if ((r = validate_logs(p)) != 0)
		return r;
	if (c->require_ima && !(pcrsel_mask_any(&c->pcrs) & (1u << 10)))
		return err_set(AERR_CONFIG, "%s: require_ima = true%s needs PCR 10 in pcrs", p->l.path,
			       c->ima_policy ? " (ima_policy)" : "");
	if (c->mode == CONFIG_MODE_PUSH && !c->listen)
		return err_set(AERR_CONFIG, "%s: mode = push needs listen = HOST:PORT", p->l.path);
	if ((r = validate_admin(p)) != 0 || (r = validate_web(p)) != 0)
		return r;
	if (c->explicit_enrollment && !c->state_dir)
		return err_set(AERR_CONFIG, "%s: enrollment = explicit needs state_dir (the enrolled nodes)", p->l.path);
	/* Three missed intervals, and a session's lifetime, before a node fails. */
	if ((r = validate_results(p)) != 0)
		return r;
	if (!conf_given(&p->l, "verifier", "reattest_window"))
		c->reattest_window = 3 * c->reattest_interval + c->session_ttl;
	if (c->reattest_window && c->reattest_window <= c->reattest_interval)
		return err_set(AERR_CONFIG, "%s: reattest_window (%u s) must exceed reattest_interval (%u s)", p->l.path,
			       c->reattest_window, c->reattest_interval);
	/* A sixteenth of the table: a fleet's attestors behind one certificate
	 * still attest side by side, one identity cannot take it all. */
	if (!conf_given(&p->l, "verifier", "max_sessions_per_identity"))
		c->max_sessions_per_identity = c->max_sessions / 16 ? c->max_sessions / 16 : 1;
	if (c->max_sessions_per_identity > c->max_sessions)
		return err_set(AERR_CONFIG, "%s: max_sessions_per_identity (%u) exceeds max_sessions (%u)", p->l.path,
			       c->max_sessions_per_identity, c->max_sessions);
	if (c->require_platform_cert && !c->platform_ca)
		return err_set(AERR_CONFIG, "%s: require_platform_cert = true needs platform_ca", p->l.path);
	/* A platform certificate names the EK certificate it belongs to: that is
	 * a binding only to a certificate the verifier checked. */
	if (c->platform_ca && !c->require_ek_cert)
		return err_set(AERR_CONFIG, "%s: platform_ca needs require_ek_cert = true: a platform certificate is "
			       "bound to the EK certificate, which require_ek_cert = false leaves unverified", p->l.path);
	if (policy_check_selection(&c->policy, &c->pcrs) != 0)
		return err_wrap(AERR_CONFIG, p->l.path);
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
	int r;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	if (!(c = calloc(1, sizeof(*c))))
		return err_set(AERR_ALLOC, "out of memory");
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
	c->evidence_retention_s = 30 * 86400;
	c->hook_timeout_ms = 10000;
	c->results.sign = 1;
	p.cfg = c;
	p.l.sections = verifier_sections;
	p.l.nsections = ARRAY_LEN(verifier_sections);
	p.l.cfg = c;
	p.l.other = other_section;
	p.l.user = &p;
	if ((r = conf_load(&p.l, path)) != 0 || (r = validate(&p)) != 0)
		goto out;
	*out = c;
	c = NULL; /* transferred */
out:
	verifier_config_free(c);
	return r;
}

void verifier_config_free(struct verifier_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->ek_roots);
	free(cfg->platform_ca);
	free(cfg->listen);
	free(cfg->boot_policy);
	free(cfg->state_dir);
	free(cfg->hook);
	for (size_t i = 0; i < cfg->ntargets; i++)
		free(cfg->targets[i]);
	free(cfg->ima_policy);
	free(cfg->admin.listen);
	free(cfg->web.listen);
	free(cfg->admin.server);
	for (size_t i = 0; i < cfg->admin.noperators; i++)
		free(cfg->admin.operators[i]);
	for (size_t i = 0; i < cfg->results.nretired; i++)
		free(cfg->results.retired[i]);
	for (size_t i = 0; i < cfg->nsecrets; i++) {
		free(cfg->secrets[i].key);
		free(cfg->secrets[i].cert);
		for (size_t h = 0; h < cfg->secrets[i].nhosts; h++)
			free(cfg->secrets[i].hosts[h]);
	}
	free(cfg->secrets);
	free(cfg);
}

struct named_policy_limits verifier_config_limits(const struct verifier_config *cfg)
{
	return (struct named_policy_limits){ .pcrs = &cfg->pcrs, .eventlog_pcrs = cfg->eventlog_pcrs,
					     .secrets = cfg->secrets, .nsecrets = cfg->nsecrets };
}
