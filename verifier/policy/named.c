/* policy/named.h: a named policy document, parsed and checked. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/named.h"
#include "strsafe.h"

int named_policy_name_check(const char *name)
{
	if (strsafe_name_check("policy", name, NAMED_POLICY_NAME_MAX) != 0)
		return AERR_CONFIG;
	/* "config" names the config file's policy wherever a policy is shown. */
	if (!strcmp(name, "config"))
		return err_set(AERR_CONFIG, "policy name 'config' is the config file's policy");
	return 0;
}

/* "pcrs": an object of "bank.index": "hex", as [policy] lines. */
static int named_pcrs(struct named_policy *p, const char *where, json_object *v)
{
	if (!json_object_is_type(v, json_type_object))
		return err_set(AERR_CONFIG, "%s: \"pcrs\" must be an object of \"sha256.0\": \"<hex>\"", where);
	json_object_object_foreach(v, key, val)
	{
		if (!strcmp(key, "firmware_version"))
			return err_set(AERR_CONFIG, "%s: firmware_version is a key of the policy, not of \"pcrs\"", where);
		if (!json_object_is_type(val, json_type_string))
			return err_set(AERR_CONFIG, "%s: pcrs \"%s\" must be a string of hex", where, key);
		if (policy_add(&p->pcr, key, json_object_get_string(val)) != 0)
			return err_wrap(AERR_CONFIG, where);
	}
	return 0;
}

/* "secrets": names of the verifier's [secret] sections, each once. */
static int named_secrets(struct named_policy *p, const char *where, json_object *v,
			 const struct named_policy_limits *lim)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return err_set(AERR_CONFIG, "%s: \"secrets\" must be an array of [secret] names", where);
	if ((n = json_object_array_length(v)) > SECRET_MAX_PER_HOST)
		return err_set(AERR_CONFIG, "%s: %zu secrets (at most %d)", where, n, SECRET_MAX_PER_HOST);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		const char *name = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
		size_t k;

		if (!name || secret_name_check(name) != 0)
			return err_set(AERR_CONFIG, "%s: secrets[%zu] is not a secret's name", where, i);
		for (k = 0; k < lim->nsecrets && strcmp(lim->secrets[k].name, name); k++)
			;
		if (k == lim->nsecrets)
			return err_set(AERR_CONFIG, "%s: secret '%s' is no [secret] section of this verifier", where, name);
		for (k = 0; k < p->nsecrets; k++)
			if (!strcmp(p->secrets[k], name))
				return err_set(AERR_CONFIG, "%s: secret '%s' named twice", where, name);
		snprintf(p->secrets[p->nsecrets], sizeof(p->secrets[0]), "%s", name);
		p->secret_names[p->nsecrets] = p->secrets[p->nsecrets];
		p->nsecrets++;
	}
	p->has_secrets = 1;
	return 0;
}

static int named_bool(const char *where, const char *key, json_object *v, int *out)
{
	if (!json_object_is_type(v, json_type_boolean))
		return err_set(AERR_CONFIG, "%s: %s must be true or false", where, key);
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

/* The rules the config file's policy follows (config.c validate_logs and
 * validate), for one document. */
static int named_check(struct named_policy *p, const char *where, const struct named_policy_limits *lim,
		       int given_log, int given_ima)
{
	if (p->boot) {
		if (given_log && !p->require_event_log)
			return err_set(AERR_CONFIG, "%s: boot_policy needs the boot event log: require_event_log "
				       "cannot be false with it", where);
		p->require_event_log = 1;
		if (!bootpolicy_has_rules(p->boot))
			return err_set(AERR_CONFIG, "%s: the boot policy has no rule (secure_boot, digests of a PCR, "
				       "boot_applications): it would judge nothing", where);
		if (bootpolicy_check_selection(p->boot, lim->pcrs, lim->eventlog_pcrs) != 0)
			return AERR_CONFIG;
	}
	if (p->ima) {
		if (given_ima && !p->require_ima)
			return err_set(AERR_CONFIG, "%s: ima_policy needs the IMA list: require_ima cannot be false "
				       "with it", where);
		p->require_ima = 1;
	}
	if (p->require_ima && !(pcrsel_mask_any(lim->pcrs) & (1u << 10)))
		return err_set(AERR_CONFIG, "%s: require_ima = true%s needs PCR 10 in the verifier's pcrs", where,
			       p->ima ? " (ima_policy)" : "");
	if (policy_check_selection(&p->pcr, lim->pcrs) != 0)
		return err_wrap(AERR_CONFIG, where);
	/* A node passing against it would mean nothing was checked. */
	if (!p->pcr.n && !p->boot && !p->ima)
		return err_set(AERR_CONFIG, "%s: it judges nothing: give \"pcrs\", \"boot_policy\" or \"ima_policy\"",
			       where);
	return 0;
}

int named_policy_parse(const char *name, uint32_t version, const char *text, size_t len,
		       const struct named_policy_limits *lim, struct named_policy **out)
{
	struct named_policy *p = NULL;
	struct json_tokener *tok = NULL;
	json_object *root = NULL;
	char where[NAMED_POLICY_NAME_MAX + 16];
	int given_log = 0, given_ima = 0, r;

	*out = NULL;
	if ((r = named_policy_name_check(name)) != 0)
		return r;
	snprintf(where, sizeof(where), "policy '%s'", name);
	if (len > NAMED_POLICY_TEXT_MAX)
		return err_set(AERR_CONFIG, "%s: %zu bytes (at most %u)", where, len, NAMED_POLICY_TEXT_MAX);
	if (memchr(text, '\0', len))
		return err_set(AERR_CONFIG, "%s: a NUL byte in the JSON", where);
	if (!(tok = json_tokener_new()))
		return err_set(AERR_ALLOC, "%s", where);
	/* Strict JSON in UTF-8: the text shown (policy show) is what judges. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		r = err_set(AERR_CONFIG, "%s: not one JSON document: %s", where,
			    e == json_tokener_continue ? "it ends early"
			    : e == json_tokener_success ? "text after it"
							: json_tokener_error_desc(e));
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		r = err_set(AERR_CONFIG, "%s: the policy must be a JSON object", where);
		goto out;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		r = err_set(AERR_ALLOC, "%s", where);
		goto out;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->version = version;
	json_object_object_foreach(root, key, val)
	{
		char sub[sizeof(where) + 16];

		if (!strcmp(key, "pcrs")) {
			r = named_pcrs(p, where, val);
		} else if (!strcmp(key, "firmware_version")) {
			r = json_object_is_type(val, json_type_string) ? 0
									: err_set(AERR_CONFIG, "%s: firmware_version must be a "
										  "string (\"0x..., 1\")", where);
			if (r == 0 && policy_add(&p->pcr, key, json_object_get_string(val)) != 0)
				r = err_wrap(AERR_CONFIG, where);
		} else if (!strcmp(key, "boot_policy")) {
			snprintf(sub, sizeof(sub), "%s boot_policy", where);
			r = p->boot ? err_set(AERR_CONFIG, "%s: boot_policy twice", where)
				    : bootpolicy_from_json(sub, val, &p->boot);
		} else if (!strcmp(key, "ima_policy")) {
			snprintf(sub, sizeof(sub), "%s ima_policy", where);
			r = p->ima ? err_set(AERR_CONFIG, "%s: ima_policy twice", where)
				   : imapolicy_from_json(sub, val, &p->ima);
		} else if (!strcmp(key, "require_event_log")) {
			given_log = 1;
			r = named_bool(where, key, val, &p->require_event_log);
		} else if (!strcmp(key, "require_ima")) {
			given_ima = 1;
			r = named_bool(where, key, val, &p->require_ima);
		} else if (!strcmp(key, "secrets")) {
			r = p->has_secrets ? err_set(AERR_CONFIG, "%s: secrets twice", where)
					   : named_secrets(p, where, val, lim);
		} else {
			r = err_set(AERR_CONFIG, "%s: unknown key \"%s\" (pcrs, firmware_version, boot_policy, "
				    "ima_policy, require_event_log, require_ima, secrets)", where, key);
		}
		if (r != 0)
			goto out;
	}
	if ((r = named_check(p, where, lim, given_log, given_ima)) != 0)
		goto out;
	*out = p;
	p = NULL;
out:
	named_policy_free(p);
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}

void named_policy_free(struct named_policy *p)
{
	if (!p)
		return;
	bootpolicy_free(p->boot);
	imapolicy_free(p->ima);
	free(p);
}
