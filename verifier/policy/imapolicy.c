#define LOG_MODULE "imapolicy"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/imapolicy.h"
#include "imasig.h"
#include "log.h"
#include "policy/policy.h"

struct imapolicy_slot {
	char *name;                       /* NULL = empty slot */
	uint32_t hash;
	size_t n;
	struct policy_digest *d;
};

/* Open addressing, power-of-two capacity, at most half full. */
struct imapolicy_table {
	size_t cap, used, ndigests;
	struct imapolicy_slot *slots;
};

struct imapolicy {
	struct imapolicy_table allow, keyrings;
	size_t nexclude;
	regex_t *exclude;
	int allow_violations;
	struct imasig_keys *keys;         /* NULL: signatures are not checked */
	int require_all;                  /* "require_signatures": true */
	size_t nrequire;                  /* "require_signatures": [patterns] */
	regex_t *require;
	int allow_signed;
};

static uint32_t imapolicy_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct imapolicy_slot *imapolicy_find(const struct imapolicy_table *t, const char *name)
{
	uint32_t h;

	if (!t->cap || !name)
		return NULL;
	h = imapolicy_hash(name);
	for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct imapolicy_slot *s = &t->slots[i];

		if (!s->name)
			return NULL;
		if (s->hash == h && !strcmp(s->name, name))
			return s;
	}
}

static int imapolicy_table_init(struct imapolicy_table *t, size_t n)
{
	t->cap = 16;
	while (t->cap < 2 * n + 1)
		t->cap *= 2;
	if (!(t->slots = calloc(t->cap, sizeof(*t->slots))))
		return err_set(AERR_ALLOC, "IMA policy table");
	return 0;
}

static void imapolicy_table_free(struct imapolicy_table *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		free(t->slots[i].name);
		free(t->slots[i].d);
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* { name: [digest, ...], ... } into t. */
static int imapolicy_table_load(const char *path, const char *key, json_object *obj, struct imapolicy_table *t)
{
	int r;

	if (!json_object_is_type(obj, json_type_object))
		return err_set(AERR_CONFIG, "%s: \"%s\" must be an object of name: [digests]", path, key);
	if ((r = imapolicy_table_init(t, (size_t)json_object_object_length(obj))) != 0)
		return r;
	json_object_object_foreach(obj, name, list)
	{
		struct imapolicy_slot *s;
		uint32_t h = imapolicy_hash(name);
		size_t n, i;

		if (!json_object_is_type(list, json_type_array))
			return err_set(AERR_CONFIG, "%s: %s \"%s\": a list of digests is expected", path, key, name);
		for (i = h & (t->cap - 1); t->slots[i].name; i = (i + 1) & (t->cap - 1))
			;
		s = &t->slots[i];
		n = json_object_array_length(list);
		if (!(s->name = strdup(name)) || (n && !(s->d = calloc(n, sizeof(*s->d)))))
			return err_set(AERR_ALLOC, "IMA policy");
		s->hash = h;
		for (i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(list, i);

			if (!json_object_is_type(e, json_type_string) ||
			    policy_digest_parse(json_object_get_string(e), &s->d[s->n]) != 0)
				return err_set(AERR_CONFIG, "%s: %s \"%s\": entry %zu is not \"<alg>:<hex>\"", path, key,
					       name, i);
			s->n++;
		}
		t->used++;
		t->ndigests += s->n;
	}
	return 0;
}

#define IMAPOLICY_REGEX_MAX 512   /* characters of one pattern */
#define IMAPOLICY_REGEX_DEPTH 8   /* nested groups */

/* What glibc's regcomp would expand beyond any memory: it copies a group for
 * each repetition, so stacked duplication symbols ("a++", undefined in POSIX
 * ERE anyway), intervals ("{m,n}") and deep nesting grow exponentially (a
 * 60-character pattern took 4 GB, found by fuzz_policy_json). Refused with
 * the reason; 0 when the pattern is within these bounds. */
static int imapolicy_regex_check(const char *re, const char **why)
{
	size_t len = strlen(re);
	int depth = 0, dup = 0; /* dup: the previous token was a duplication symbol */

	if (len > IMAPOLICY_REGEX_MAX) {
		*why = "longer than 512 characters";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = re[i];

		if (c == '\\') {
			i++;
			dup = 0;
		} else if (c == '[') {
			/* A bracket expression: "]" right after "[" or "[^" is a member. */
			i += (re[i + 1] == '^') ? 2 : 1;
			if (re[i] == ']')
				i++;
			while (i < len && re[i] != ']')
				i++;
			dup = 0;
		} else if (c == '{') {
			*why = "intervals {m,n} are not accepted (write the repetition out)";
			return -1;
		} else if (c == '*' || c == '+' || c == '?') {
			if (dup) {
				*why = "a duplication symbol follows another";
				return -1;
			}
			dup = 1;
		} else {
			if (c == '(' && ++depth > IMAPOLICY_REGEX_DEPTH) {
				*why = "groups nested deeper than 8";
				return -1;
			}
			if (c == ')' && depth > 0)
				depth--;
			dup = 0;
		}
	}
	return 0;
}

/* A list of POSIX extended regular expressions into *re / *n. */
static int imapolicy_regexes(const char *path, const char *key, json_object *arr, regex_t **re, size_t *n)
{
	size_t len;

	if (!json_object_is_type(arr, json_type_array))
		return err_set(AERR_CONFIG, "%s: \"%s\" must be a list of regular expressions", path, key);
	len = json_object_array_length(arr);
	if (len && !(*re = calloc(len, sizeof(**re))))
		return err_set(AERR_ALLOC, "IMA policy");
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *bad;
		char why[128];
		int rc;

		if (!json_object_is_type(e, json_type_string))
			return err_set(AERR_CONFIG, "%s: %s %zu is not a string", path, key, i);
		if (imapolicy_regex_check(json_object_get_string(e), &bad) != 0)
			return err_set(AERR_CONFIG, "%s: %s \"%.80s\": %s", path, key, json_object_get_string(e), bad);
		if ((rc = regcomp(&(*re)[i], json_object_get_string(e), REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rc, &(*re)[i], why, sizeof(why));
			return err_set(AERR_CONFIG, "%s: %s \"%s\": %s", path, key, json_object_get_string(e), why);
		}
		(*n)++;
	}
	return 0;
}

/* "keys": files of certificates or public keys; relative names are
 * relative to the policy file's directory. */
static int imapolicy_keys(const char *path, json_object *arr, struct imapolicy *p)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 0;
	size_t n;
	int r;

	if (!json_object_is_type(arr, json_type_array) || !(n = json_object_array_length(arr)))
		return err_set(AERR_CONFIG, "%s: \"keys\" must be a non-empty list of key or certificate files", path);
	if ((r = imasig_keys_new(&p->keys)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *name = json_object_get_string(e);
		char file[4096];

		if (!json_object_is_type(e, json_type_string) || !*name)
			return err_set(AERR_CONFIG, "%s: keys %zu is not a file name", path, i);
		if (name[0] == '/' || !slash)
			snprintf(file, sizeof(file), "%s", name);
		else if (snprintf(file, sizeof(file), "%.*s/%s", dirlen, path, name) >= (int)sizeof(file))
			return err_set(AERR_CONFIG, "%s: keys %zu: name too long", path, i);
		if (imasig_keys_add_file(p->keys, file) != 0) {
			char prefix[4200];

			/* The detail names the key file already. */
			snprintf(prefix, sizeof(prefix), "%s: keys %zu", path, i);
			return err_wrap(AERR_CONFIG, prefix);
		}
	}
	return 0;
}

static int imapolicy_bool(const char *path, const char *key, json_object *val, int *out)
{
	if (!json_object_is_type(val, json_type_boolean))
		return err_set(AERR_CONFIG, "%s: %s must be true or false", path, key);
	*out = json_object_get_boolean(val);
	return 0;
}

int imapolicy_load(const char *path, struct imapolicy **out)
{
	json_object *root = NULL;
	int r;

	*out = NULL;
	if ((r = policy_json_load(path, &root)) != 0)
		return r;
	r = imapolicy_from_json(path, root, out);
	json_object_put(root);
	return r;
}

int imapolicy_from_json(const char *path, struct json_object *root, struct imapolicy **out)
{
	struct imapolicy *p = NULL;
	int r = 0;

	*out = NULL;
	if (!json_object_is_type(root, json_type_object))
		return err_set(AERR_CONFIG, "%s: an IMA policy is a JSON object", path);
	if (!(p = calloc(1, sizeof(*p)))) {
		r = err_set(AERR_ALLOC, "IMA policy");
		goto out;
	}
	json_object_object_foreach(root, key, val)
	{
		if (!strcmp(key, "allow"))
			r = imapolicy_table_load(path, key, val, &p->allow);
		else if (!strcmp(key, "keyrings"))
			r = imapolicy_table_load(path, key, val, &p->keyrings);
		else if (!strcmp(key, "exclude"))
			r = imapolicy_regexes(path, key, val, &p->exclude, &p->nexclude);
		else if (!strcmp(key, "allow_violations"))
			r = imapolicy_bool(path, key, val, &p->allow_violations);
		else if (!strcmp(key, "keys"))
			r = imapolicy_keys(path, val, p);
		else if (!strcmp(key, "require_signatures"))
			r = json_object_is_type(val, json_type_array)
				    ? imapolicy_regexes(path, key, val, &p->require, &p->nrequire)
				    : imapolicy_bool(path, key, val, &p->require_all);
		else if (!strcmp(key, "allow_signed"))
			r = imapolicy_bool(path, key, val, &p->allow_signed);
		else
			r = err_set(AERR_CONFIG,
				    "%s: unknown key \"%s\" (allow, exclude, keyrings, allow_violations, keys, "
				    "require_signatures, allow_signed)",
				    path, key);
		if (r != 0)
			goto out;
	}
	/* A signature that must be there can only be judged with keys. */
	if ((p->require_all || p->nrequire || p->allow_signed) && !p->keys) {
		r = err_set(AERR_CONFIG, "%s: require_signatures and allow_signed need \"keys\"", path);
		goto out;
	}
	*out = p;
	p = NULL;
out:
	imapolicy_free(p);
	return r;
}

void imapolicy_free(struct imapolicy *p)
{
	if (!p)
		return;
	imapolicy_table_free(&p->allow);
	imapolicy_table_free(&p->keyrings);
	for (size_t i = 0; i < p->nexclude; i++)
		regfree(&p->exclude[i]);
	free(p->exclude);
	for (size_t i = 0; i < p->nrequire; i++)
		regfree(&p->require[i]);
	free(p->require);
	imasig_keys_free(p->keys);
	free(p);
}

void imapolicy_counts(const struct imapolicy *p, size_t *paths, size_t *digests, size_t *excludes)
{
	*paths = p->allow.used + p->keyrings.used;
	*digests = p->allow.ndigests + p->keyrings.ndigests;
	*excludes = p->nexclude;
}

static int imapolicy_listed(const struct imapolicy_slot *s, const struct ima_entry *e)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->d[i].len == e->digest_len && !strcmp(s->d[i].alg, e->digest_alg_name) &&
		    !memcmp(s->d[i].value, e->digest, e->digest_len))
			return 1;
	return 0;
}

static int imapolicy_matches(const regex_t *re, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (regexec(&re[i], path, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

/* The signature part of a file entry's judgement: NULL when it passes so far
 * (*signed_ok set when a trusted key verified it), else why not, in why. */
static const char *imapolicy_signature(const struct imapolicy *p, const struct ima_entry *e, int *signed_ok,
				       char *why, size_t whylen)
{
	size_t plen = strlen(e->path);
	const char *d;

	*signed_ok = 0;
	if (p->keys && e->sig_len) {
		if (imasig_verify(p->keys, e) != 0) {
			/* The detail starts with the path, which the caller names already. */
			d = err_detail();
			if (!strncmp(d, e->path, plen) && !strncmp(d + plen, ": ", 2))
				d += plen + 2;
			snprintf(why, whylen, "%s", d);
			return why;
		}
		*signed_ok = 1;
		return NULL;
	}
	if (p->require_all || imapolicy_matches(p->require, p->nrequire, e->path))
		return e->modsig_len ? "only an appended signature (modsig), which is not checked; a signature is required"
				     : "no IMA signature, and one is required";
	return NULL;
}

/* NULL when e passes, else why not (a static string or why). */
static const char *imapolicy_entry(const struct imapolicy *p, const struct ima_entry *e, char *why, size_t whylen)
{
	const struct imapolicy_slot *s;
	const char *bad;
	int signed_ok;

	if (e->violation)
		return p->allow_violations ? NULL : "a violation (file open for writing while measured)";
	if (!e->path || !e->digest)
		return "an entry without a path or digest (unknown template)";
	if (e->tmpl == IMA_TEMPLATE_IMA_BUF) {
		s = imapolicy_find(&p->keyrings, e->path);
		return imapolicy_listed(s, e) ? NULL : s ? "buffer digest not allowed" : "buffer not in keyrings";
	}
	if (imapolicy_matches(p->exclude, p->nexclude, e->path))
		return NULL;
	if ((bad = imapolicy_signature(p, e, &signed_ok, why, whylen)) != NULL)
		return bad;
	if (signed_ok && p->allow_signed)
		return NULL;
	s = imapolicy_find(&p->allow, e->path);
	return imapolicy_listed(s, e) ? NULL : s ? "digest not allowed" : "not in the allowlist";
}

int imapolicy_check(const struct imapolicy *p, const struct ima_list *list, size_t n)
{
	char shown[400] = "";
	size_t failed = 0, used = 0;

	for (size_t i = 0; i < n && i < list->nentries; i++) {
		const struct ima_entry *e = &list->entries[i];
		char buf[256];
		const char *why = imapolicy_entry(p, e, buf, sizeof(buf));
		int k;

		if (!why)
			continue;
		LOG_WARN("IMA entry %llu %s: %s", (unsigned long long)e->index, e->path ? e->path : "(none)", why);
		if (failed++ == 0 || used < sizeof(shown) - 1) {
			k = snprintf(shown + used, sizeof(shown) - used, "%s%s (%s)", used ? ", " : "",
				     e->path ? e->path : "(none)", why);
			if (k > 0)
				used += (size_t)k < sizeof(shown) - used ? (size_t)k : sizeof(shown) - used - 1;
		}
	}
	if (failed == 0)
		return 0;
	return err_set(AERR_LOG_POLICY, "%zu of %zu IMA entries violate the policy: %s", failed, n, shown);
}
