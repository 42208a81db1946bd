#define LOG_MODULE "bootpolicy"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/bootpolicy.h"
#include "crypto.h"
#include "evdata.h"
#include "log.h"
#include "policy/policy.h"

#define BOOT_APPS_PCR 4   /* UEFI boot manager code: where boot applications are measured */
#define SECURE_BOOT_PCR 7 /* Secure Boot policy */

struct bootpolicy_list {
	size_t n;
	struct policy_digest *d;
};

struct bootpolicy {
	char *path;                               /* for load-time refusals */
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

int bootpolicy_has_rules(const struct bootpolicy *p)
{
	for (int i = 0; i < PCRSEL_NUM_PCRS; i++)
		if (p->has_pcr[i])
			return 1;
	return p->secure_boot >= 0 || p->has_apps;
}

int bootpolicy_load(const char *path, struct bootpolicy **out)
{
	json_object *root = NULL;
	int r;

	*out = NULL;
	if ((r = policy_json_load(path, &root)) != 0)
		return r;
	r = bootpolicy_from_json(path, root, out);
	json_object_put(root);
	return r;
}

int bootpolicy_from_json(const char *path, struct json_object *root, struct bootpolicy **out)
{
	struct bootpolicy *p = NULL;
	int r = 0;

	*out = NULL;
	if (!json_object_is_type(root, json_type_object))
		return err_set(AERR_CONFIG, "%s: a boot policy is a JSON object", path);
	if (!(p = calloc(1, sizeof(*p)))) {
		r = err_set(AERR_ALLOC, "boot policy");
		goto out;
	}
	if (!(p->path = strdup(path))) {
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
	return r;
}

void bootpolicy_free(struct bootpolicy *p)
{
	if (!p)
		return;
	for (int i = 0; i < PCRSEL_NUM_PCRS; i++)
		free(p->pcr[i].d);
	free(p->apps.d);
	free(p->path);
	free(p);
}

/* A rule about PCR pcr needs pcr proven (quoted in some bank and replayed),
 * and each of its digests (l, may be NULL) in a bank that quotes pcr. */
static int bootpolicy_need_pcr(const struct bootpolicy *p, const TPML_PCR_SELECTION *sel, uint32_t eventlog_pcrs,
			       const char *what, uint32_t pcr, const struct bootpolicy_list *l)
{
	TPM2_ALG_ID banks[PCRSEL_MAX_BANKS];
	size_t n = evdata_banks(sel, eventlog_pcrs, pcr, banks);

	if (!n)
		return err_set(AERR_CONFIG, "%s: %s needs PCR %u, which is not %s, so the boot log's events of it "
			       "are never proven", p->path, what, pcr,
			       pcrsel_mask_any(sel) & (1u << pcr) ? "in eventlog_pcrs" : "in the quoted pcrs");
	for (size_t i = 0; l && i < l->n; i++) {
		TPM2_ALG_ID alg = crypto_alg_from_name(l->d[i].alg);
		size_t b = 0;

		while (b < n && banks[b] != alg)
			b++;
		if (b == n)
			return err_set(AERR_CONFIG, "%s: %s entry %zu is a %s digest, but pcrs does not quote PCR %u "
				       "in the %s bank", p->path, what, i, l->d[i].alg, pcr, l->d[i].alg);
	}
	return 0;
}

int bootpolicy_check_selection(const struct bootpolicy *p, const TPML_PCR_SELECTION *sel, uint32_t eventlog_pcrs)
{
	char what[32];
	int r;

	for (uint32_t i = 0; i < PCRSEL_NUM_PCRS; i++) {
		if (!p->has_pcr[i])
			continue;
		snprintf(what, sizeof(what), "digests \"%u\"", i);
		if ((r = bootpolicy_need_pcr(p, sel, eventlog_pcrs, what, i, &p->pcr[i])) != 0)
			return r;
	}
	if (p->has_apps &&
	    (r = bootpolicy_need_pcr(p, sel, eventlog_pcrs, "boot_applications", BOOT_APPS_PCR, &p->apps)) != 0)
		return r;
	if (p->secure_boot != -1 &&
	    (r = bootpolicy_need_pcr(p, sel, eventlog_pcrs, "secure_boot", SECURE_BOOT_PCR, NULL)) != 0)
		return r;
	return 0;
}

/* Where the SecureBoot variable stands while PCR 7's events are read. */
struct bootpolicy_sb {
	TPM2_ALG_ID banks[PCRSEL_MAX_BANKS]; /* proving PCR 7 */
	size_t nbanks;
	size_t separator;                    /* PCR 7's separator (by its digests), or SIZE_MAX */
	size_t at;                           /* event that measured it, or SIZE_MAX */
	int state;                           /* -1 not measured, 0, 1 */
};

/* The value a proven SecureBoot variable holds: empty (not set) is off. */
static int bootpolicy_sb_value(const struct evdata_variable *v, size_t num, int *state)
{
	if (v->data_len == 0) {
		*state = 0;
		return 0;
	}
	if (v->data_len != 1 || v->data[0] > 1)
		return err_set(AERR_LOG_POLICY, "event %zu: the SecureBoot variable holds %zu bytes (first 0x%02x), "
			       "not 0 or 1", num, v->data_len, v->data[0]);
	*state = v->data[0];
	return 0;
}

/* PCR 7's separator: its first event whose proven digests are those of a
 * separator, whatever the log says its type and data are. Firmware measures
 * the Secure Boot configuration, then this separator, before the OS runs;
 * whoever extends PCR 7 later (root at run time) only appends after it and
 * cannot move it: relabelling the real one does not hide it, and a
 * separator appended later is never the first. */
static int bootpolicy_sb_separator(struct bootpolicy_sb *sb, const struct eventlog *log)
{
	int is, r;

	for (size_t i = 0; i < log->nevents; i++) {
		const struct eventlog_event *e = &log->events[i];

		if (e->pcr != SECURE_BOOT_PCR || e->type == EVENTLOG_EV_NO_ACTION)
			continue;
		if ((r = evdata_separator(e, sb->banks, sb->nbanks, &is)) == AERR_UNSUPPORTED)
			return err_wrap(AERR_LOG_POLICY, "PCR 7's separator cannot be found");
		if (r != 0)
			return r;
		if (is) {
			sb->separator = i;
			return 0;
		}
	}
	return 0;
}

/* One event of PCR 7 (num: its index in the log). Before the separator
 * every event is the firmware's and must prove its data, whatever its type:
 * an event there that does not (a type whose digest is not of its data, or
 * data that is not what was hashed) may be the SecureBoot variable
 * relabelled and its data replaced, so the state is unknown. Anywhere, the
 * variable under another type, a variable event whose data is not proven,
 * and a SecureBoot variable the firmware could not have measured (after the
 * separator, or twice) leave it unknown too. */
static int bootpolicy_sb_event(struct bootpolicy_sb *sb, const struct eventlog_event *e, size_t num)
{
	int before = num < sb->separator;
	struct evdata_variable v;
	char why[200], unparsed[200] = "";
	int parsed, claims, r;

	if (!(parsed = evdata_variable_parse(e->data, e->data_len, &v) == 0))
		snprintf(unparsed, sizeof(unparsed), "%s", err_detail());
	claims = parsed && evdata_variable_is(&v, evdata_efi_global_variable, "SecureBoot");
	if (claims && e->type != EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG)
		return err_set(AERR_LOG_POLICY, "event %zu holds the SecureBoot variable but claims type 0x%08x, "
			       "not EV_EFI_VARIABLE_DRIVER_CONFIG", num, e->type);
	if (!before && e->type != EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG)
		return 0;
	if ((r = evdata_verify(e, sb->banks, sb->nbanks)) == AERR_EVENTLOG || r == AERR_UNSUPPORTED) {
		/* Copied first: err_set writes into the buffer err_detail returns. */
		snprintf(why, sizeof(why), "%s", err_detail());
		if (e->type != EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG)
			return err_set(AERR_LOG_POLICY, "event %zu (type 0x%08x), %s, does not prove its data (%s): "
				       "it may be the SecureBoot variable relabelled", num, e->type,
				       sb->separator == SIZE_MAX ? "in a PCR 7 without a separator"
								 : "before PCR 7's separator", why);
		return err_set(AERR_LOG_POLICY, "event %zu, %s: its data does not match its PCR 7 digest (%s)", num,
			       claims ? "the SecureBoot variable" : "a UEFI variable", why);
	}
	if (r != 0)
		return r;
	/* Proven, but not a variable: whatever it is, the state cannot be read
	 * from it, and it might have been the SecureBoot variable. */
	if (e->type == EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG && !parsed)
		return err_set(AERR_LOG_POLICY, "event %zu, a UEFI variable event, does not hold a UEFI_VARIABLE_DATA "
			       "(%s)", num, unparsed);
	if (!claims)
		return 0;
	if (sb->at != SIZE_MAX)
		return err_set(AERR_LOG_POLICY, "the SecureBoot variable is measured twice (events %zu and %zu)",
			       sb->at, num);
	if (!before)
		return err_set(AERR_LOG_POLICY, "event %zu: the SecureBoot variable is measured after PCR 7's "
			       "separator, where firmware does not measure it", num);
	sb->at = num;
	return bootpolicy_sb_value(&v, num, &sb->state);
}

int bootpolicy_secure_boot(const struct eventlog *log, const TPML_PCR_SELECTION *quoted, uint32_t replayed_pcrs,
			   int *state)
{
	struct bootpolicy_sb sb = { .separator = SIZE_MAX, .at = SIZE_MAX, .state = -1 };
	int r;

	*state = -1;
	if (!(sb.nbanks = evdata_banks(quoted, replayed_pcrs, SECURE_BOOT_PCR, sb.banks)))
		return err_set(AERR_LOG_POLICY, "PCR 7 is not quoted and replayed");
	if ((r = bootpolicy_sb_separator(&sb, log)) != 0)
		return r;
	for (size_t i = 0; i < log->nevents; i++)
		if (log->events[i].pcr == SECURE_BOOT_PCR && log->events[i].type != EVENTLOG_EV_NO_ACTION &&
		    (r = bootpolicy_sb_event(&sb, &log->events[i], i)) != 0)
			return r;
	/* Firmware ends PCR 7's configuration with a separator: a SecureBoot
	 * event without one may have been added later by anyone who can
	 * extend PCR 7. */
	if (sb.at != SIZE_MAX && sb.separator == SIZE_MAX)
		return err_set(AERR_LOG_POLICY, "event %zu: the SecureBoot variable is not followed by PCR 7's "
			       "separator", sb.at);
	*state = sb.state;
	return 0;
}

/* 1 when one of e's digests in the proving banks is in l. */
static int bootpolicy_listed(const struct bootpolicy_list *l, const struct eventlog_event *e,
			     const TPM2_ALG_ID *banks, size_t nbanks)
{
	for (size_t i = 0; i < l->n; i++) {
		TPM2_ALG_ID alg = crypto_alg_from_name(l->d[i].alg);

		for (size_t b = 0; b < nbanks; b++) {
			if (banks[b] != alg)
				continue;
			for (uint32_t k = 0; k < e->ndigests; k++)
				if (e->digests[k].alg == alg && e->digests[k].size == l->d[i].len &&
				    !memcmp(e->digests[k].value, l->d[i].value, l->d[i].len))
					return 1;
		}
	}
	return 0;
}

/* The Secure Boot requirement; a state that is not proven fails it. */
static int bootpolicy_check_sb(const struct bootpolicy *p, const struct eventlog *log,
			       const TPML_PCR_SELECTION *quoted, uint32_t replayed_pcrs)
{
	int sb, r;

	if (p->secure_boot == -1)
		return 0;
	if ((r = bootpolicy_secure_boot(log, quoted, replayed_pcrs, &sb)) == AERR_LOG_POLICY)
		return err_wrap(r, "the Secure Boot state is not proven");
	if (r != 0)
		return r;
	if (p->secure_boot == 1 && sb != 1)
		return err_set(AERR_LOG_POLICY, "Secure Boot is %s, the boot policy requires it enabled",
			       sb == 0 ? "disabled" : "not measured");
	if (p->secure_boot == 0 && sb == 1)
		return err_set(AERR_LOG_POLICY, "Secure Boot is enabled, the boot policy requires it disabled");
	return 0;
}

/* Each allowlist rule needs its PCR proven: a rule that cannot be checked
 * fails rather than passing every log. */
static int bootpolicy_check_proven(const struct bootpolicy *p, const TPML_PCR_SELECTION *quoted,
				   uint32_t replayed_pcrs)
{
	TPM2_ALG_ID banks[PCRSEL_MAX_BANKS];

	for (uint32_t i = 0; i < PCRSEL_NUM_PCRS; i++)
		if (p->has_pcr[i] && !evdata_banks(quoted, replayed_pcrs, i, banks))
			return err_set(AERR_LOG_POLICY, "the boot policy lists digests for PCR %u, which is not "
				       "quoted and replayed", i);
	if (p->has_apps && !evdata_banks(quoted, replayed_pcrs, BOOT_APPS_PCR, banks))
		return err_set(AERR_LOG_POLICY, "the boot policy lists boot applications, but PCR %d is not "
			       "quoted and replayed", BOOT_APPS_PCR);
	return 0;
}

int bootpolicy_is_app(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t nbanks)
{
	if (e->type == EVENTLOG_EV_EFI_BOOT_SERVICES_APPLICATION)
		return 1;
	if (e->pcr != BOOT_APPS_PCR || e->type == EVENTLOG_EV_NO_ACTION)
		return 0;
	if (evdata_verify(e, banks, nbanks) == 0)
		return 0;
	err_clear();
	return 1;
}

/* Why e (of a proven PCR) breaks an allowlist, or NULL (boot applications:
 * bootpolicy_is_app). */
static const char *bootpolicy_event_why(const struct bootpolicy *p, const struct eventlog_event *e,
					const TPM2_ALG_ID *banks, size_t nbanks)
{
	if (p->has_pcr[e->pcr] && !bootpolicy_listed(&p->pcr[e->pcr], e, banks, nbanks))
		return "digest not allowed for its PCR";
	if (!p->has_apps || bootpolicy_listed(&p->apps, e, banks, nbanks) || !bootpolicy_is_app(e, banks, nbanks))
		return NULL;
	if (e->type == EVENTLOG_EV_EFI_BOOT_SERVICES_APPLICATION)
		return "boot application not allowed";
	return "its data is not proven, and its digest is not an allowed boot application";
}

int bootpolicy_check(const struct bootpolicy *p, const struct eventlog *log, const TPML_PCR_SELECTION *quoted,
		     uint32_t replayed_pcrs)
{
	TPM2_ALG_ID banks[PCRSEL_MAX_BANKS];
	char first[200] = "";
	size_t failed = 0;
	int r;

	if ((r = bootpolicy_check_sb(p, log, quoted, replayed_pcrs)) != 0 ||
	    (r = bootpolicy_check_proven(p, quoted, replayed_pcrs)) != 0)
		return r;
	for (size_t i = 0; i < log->nevents; i++) {
		const struct eventlog_event *e = &log->events[i];
		const char *why;
		size_t n;

		/* Events of PCRs the quote does not prove are not judged. */
		if (e->type == EVENTLOG_EV_NO_ACTION || !(n = evdata_banks(quoted, replayed_pcrs, e->pcr, banks)) ||
		    !(why = bootpolicy_event_why(p, e, banks, n)))
			continue;
		LOG_WARN("boot event %zu (PCR %u, type 0x%08x): %s", i, e->pcr, e->type, why);
		if (failed++ == 0)
			snprintf(first, sizeof(first), "event %zu (PCR %u, type 0x%08x): %s", i, e->pcr, e->type, why);
	}
	if (failed)
		return err_set(AERR_LOG_POLICY, "%zu boot events violate the boot policy; first: %s", failed, first);
	return 0;
}
