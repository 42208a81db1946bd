#define LOG_MODULE "bootpolicy"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bootpolicy.h"
#include "crypto.h"
#include "log.h"
#include "policy.h"

#define EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u

struct bootpolicy_list {
	size_t n;
	struct policy_digest *d;
};

struct bootpolicy {
	int secure_boot;                          /* -1 no requirement, else 0 / 1 */
	struct bootpolicy_list pcr[PCRSEL_NUM_PCRS];
	int has_pcr[PCRSEL_NUM_PCRS];
	struct bootpolicy_list apps;
	int has_apps;
};

static int bootpolicy_list_load(const char *path, const char *what, json_object *arr, struct bootpolicy_list *l)
{
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return err_set(AERR_CONFIG, "%s: %s must be a list of \"<alg>:<hex>\"", path, what);
	n = json_object_array_length(arr);
	if (n && !(l->d = calloc(n, sizeof(*l->d))))
		return err_set(AERR_ALLOC, "boot policy");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(e, json_type_string) ||
		    policy_digest_parse(json_object_get_string(e), &l->d[i]) != 0 ||
		    crypto_alg_from_name(l->d[i].alg) == TPM2_ALG_ERROR ||
		    l->d[i].len != crypto_digest_size(crypto_alg_from_name(l->d[i].alg)))
			return err_set(AERR_CONFIG, "%s: %s entry %zu is not \"<sha1|sha256|sha384|sha512|sm3>:<hex>\"",
				       path, what, i);
		l->n++;
	}
	return 0;
}

static int bootpolicy_digests(const char *path, json_object *obj, struct bootpolicy *p)
{
	if (!json_object_is_type(obj, json_type_object))
		return err_set(AERR_CONFIG, "%s: \"digests\" must be an object of PCR: [digests]", path);
	json_object_object_foreach(obj, key, arr)
	{
		char *end, what[32];
		long pcr = strtol(key, &end, 10);
		int r;

		if (!*key || *end || pcr < 0 || pcr >= PCRSEL_NUM_PCRS || p->has_pcr[pcr])
			return err_set(AERR_CONFIG, "%s: digests: \"%s\" is not a PCR index 0..23 (once)", path, key);
		snprintf(what, sizeof(what), "digests \"%ld\"", pcr);
		if ((r = bootpolicy_list_load(path, what, arr, &p->pcr[pcr])) != 0)
			return r;
		p->has_pcr[pcr] = 1;
	}
	return 0;
}

int bootpolicy_load(const char *path, struct bootpolicy **out)
{
	struct bootpolicy *p = NULL;
	json_object *root = NULL;
	int r = 0;

	*out = NULL;
	if ((r = policy_json_load(path, &root)) != 0)
		return r;
	if (!(p = calloc(1, sizeof(*p)))) {
		r = err_set(AERR_ALLOC, "boot policy");
		goto out;
	}
	p->secure_boot = -1;
	json_object_object_foreach(root, key, val)
	{
		if (!strcmp(key, "secure_boot")) {
			if (!json_object_is_type(val, json_type_boolean))
				r = err_set(AERR_CONFIG, "%s: secure_boot must be true or false", path);
			p->secure_boot = json_object_get_boolean(val) ? 1 : 0;
		} else if (!strcmp(key, "digests")) {
			r = bootpolicy_digests(path, val, p);
		} else if (!strcmp(key, "boot_applications")) {
			r = bootpolicy_list_load(path, key, val, &p->apps);
			p->has_apps = 1;
		} else {
			r = err_set(AERR_CONFIG, "%s: unknown key \"%s\" (secure_boot, digests, boot_applications)",
				    path, key);
		}
		if (r != 0)
			goto out;
	}
	*out = p;
	p = NULL;
out:
	bootpolicy_free(p);
	json_object_put(root);
	return r;
}

void bootpolicy_free(struct bootpolicy *p)
{
	if (!p)
		return;
	for (int i = 0; i < PCRSEL_NUM_PCRS; i++)
		free(p->pcr[i].d);
	free(p->apps.d);
	free(p);
}

/* UEFI_VARIABLE_DATA: VariableName GUID (16), UnicodeNameLength and
 * VariableDataLength (UINT64 each, little endian), the UTF-16LE name, the data.
 * 1 when this is the SecureBoot variable, with *value its first data byte. */
static int bootpolicy_is_secure_boot(const struct eventlog_event *e, int *value)
{
	static const char name[] = "SecureBoot";
	const uint8_t *d = e->data;
	uint64_t nlen = 0, dlen = 0;

	if (e->data_len < 32)
		return 0;
	for (int i = 7; i >= 0; i--) {
		nlen = nlen << 8 | d[16 + i];
		dlen = dlen << 8 | d[24 + i];
	}
	if (nlen != sizeof(name) - 1 || e->data_len < 32 + 2 * nlen + dlen)
		return 0;
	for (size_t i = 0; i < nlen; i++)
		if (d[32 + 2 * i] != (uint8_t)name[i] || d[33 + 2 * i] != 0)
			return 0;
	*value = dlen >= 1 ? d[32 + 2 * nlen] : 0;
	return 1;
}

int bootpolicy_secure_boot(const struct eventlog *log)
{
	int state = -1, v;

	for (size_t i = 0; i < log->nevents; i++) {
		const struct eventlog_event *e = &log->events[i];

		if (e->pcr == 7 && e->type == EV_EFI_VARIABLE_DRIVER_CONFIG && bootpolicy_is_secure_boot(e, &v))
			state = v == 1;
	}
	return state;
}

/* 1 when one of e's digests is in l. */
static int bootpolicy_listed(const struct bootpolicy_list *l, const struct eventlog_event *e)
{
	for (size_t i = 0; i < l->n; i++) {
		TPM2_ALG_ID alg = crypto_alg_from_name(l->d[i].alg);

		for (uint32_t k = 0; k < e->ndigests; k++)
			if (e->digests[k].alg == alg && e->digests[k].size == l->d[i].len &&
			    !memcmp(e->digests[k].value, l->d[i].value, l->d[i].len))
				return 1;
	}
	return 0;
}

int bootpolicy_check(const struct bootpolicy *p, const struct eventlog *log)
{
	char first[200] = "";
	size_t failed = 0;
	int sb = bootpolicy_secure_boot(log);

	if (p->secure_boot == 1 && sb != 1)
		return err_set(AERR_LOG_POLICY, "Secure Boot is %s, the boot policy requires it enabled",
			       sb == 0 ? "disabled" : "not measured");
	if (p->secure_boot == 0 && sb == 1)
		return err_set(AERR_LOG_POLICY, "Secure Boot is enabled, the boot policy requires it disabled");
	for (size_t i = 0; i < log->nevents; i++) {
		const struct eventlog_event *e = &log->events[i];
		const char *why = NULL;

		if (e->type == EVENTLOG_EV_NO_ACTION)
			continue;
		if (e->pcr < PCRSEL_NUM_PCRS && p->has_pcr[e->pcr] && !bootpolicy_listed(&p->pcr[e->pcr], e))
			why = "digest not allowed for its PCR";
		else if (p->has_apps && e->type == EV_EFI_BOOT_SERVICES_APPLICATION && !bootpolicy_listed(&p->apps, e))
			why = "boot application not allowed";
		if (!why)
			continue;
		LOG_WARN("boot event %zu (PCR %u, type 0x%08x): %s", i, e->pcr, e->type, why);
		if (failed++ == 0)
			snprintf(first, sizeof(first), "event %zu (PCR %u, type 0x%08x): %s", i, e->pcr, e->type, why);
	}
	if (failed)
		return err_set(AERR_LOG_POLICY, "%zu boot events violate the boot policy; first: %s", failed, first);
	return 0;
}
