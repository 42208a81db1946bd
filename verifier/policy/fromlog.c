/* policy/fromlog.h: policies from a golden boot event log. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "evdata.h"
#include "eventlog.h"
#include "hex.h"
#include "policy/fromlog.h"

#define FROMLOG_SECURE_BOOT_PCR 7
#define FROMLOG_BOOT_APPS_PCR 4

static int fromlog_declares(const struct eventlog *log, TPM2_ALG_ID alg)
{
	for (uint32_t i = 0; i < log->nalgs; i++)
		if (log->algs[i].alg == alg)
			return 1;
	return 0;
}

/* The replay of every bank of sel the log declares, for the PCRs of each it
 * is responsible for; *replayed the PCRs present in some bank, *proven
 * sel without the banks the log does not declare (a quote of those would
 * fail the log's replay: the log proves nothing there). */
static int fromlog_values(const struct eventlog *log, const TPML_PCR_SELECTION *sel, uint32_t eventlog_pcrs,
			  struct pcr_values *out, uint32_t *replayed, TPML_PCR_SELECTION *proven)
{
	uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	int r;

	memset(out, 0, sizeof(*out));
	memset(proven, 0, sizeof(*proven));
	*replayed = 0;
	for (uint32_t b = 0; b < sel->count; b++)
		if (fromlog_declares(log, sel->pcrSelections[b].hash))
			proven->pcrSelections[proven->count++] = sel->pcrSelections[b];
	for (uint32_t b = 0; b < sel->count && out->nbanks < PCRSEL_MAX_BANKS; b++) {
		TPM2_ALG_ID alg = sel->pcrSelections[b].hash;
		uint32_t mask = pcrsel_mask(sel, alg) & eventlog_pcrs;
		struct pcr_bank *bank;

		if (!mask || !fromlog_declares(log, alg))
			continue;
		if ((r = eventlog_replay(log, alg, v, NULL)) != 0)
			return r;
		bank = &out->banks[out->nbanks++];
		bank->alg = alg;
		bank->mask = mask;
		memcpy(bank->value, v, sizeof(v));
		*replayed |= mask;
	}
	if (!out->nbanks)
		return err_set(AERR_NOT_FOUND, "the log declares none of the banks the verifier quotes, or replays none "
			       "of their PCRs (eventlog_pcrs)");
	return 0;
}

/* "alg:hex" of each digest of e in a bank of values. */
static int fromlog_app(json_object *apps, const struct eventlog_event *e, const struct pcr_values *values)
{
	char text[POLICY_DIGEST_ALG_MAX + 2 * CRYPTO_MAX_DIGEST + 2];

	for (uint32_t d = 0; d < e->ndigests; d++) {
		const struct eventlog_digest *g = &e->digests[d];
		size_t o;

		if (!pcr_values_bank(values, g->alg) || g->size > CRYPTO_MAX_DIGEST)
			continue;
		o = (size_t)snprintf(text, sizeof(text), "%s:", crypto_alg_name(g->alg));
		hex_encode(g->value, g->size, text + o);
		if (json_object_array_add(apps, json_object_new_string(text)) != 0)
			return err_set(AERR_ALLOC, "boot applications");
	}
	return 0;
}

int fromlog_policy(const uint8_t *buf, size_t len, const TPML_PCR_SELECTION *sel, uint32_t eventlog_pcrs,
		   char **json)
{
	struct eventlog *log = NULL;
	struct pcr_values values;
	TPML_PCR_SELECTION proven;
	json_object *root = json_object_new_object(), *pcrs = json_object_new_object(), *boot = NULL, *apps = NULL;
	char key[32], hex[2 * CRYPTO_MAX_DIGEST + 1];
	uint32_t replayed = 0;
	int state = -1, r;

	*json = NULL;
	if (!root || !pcrs) {
		r = err_set(AERR_ALLOC, "policy");
		goto out;
	}
	if ((r = eventlog_parse(buf, len, &log)) != 0 ||
	    (r = fromlog_values(log, sel, eventlog_pcrs, &values, &replayed, &proven)) != 0)
		goto out;
	for (uint32_t b = 0; b < values.nbanks; b++)
		for (uint32_t i = 0; i < PCRSEL_NUM_PCRS; i++) {
			const struct pcr_bank *bank = &values.banks[b];

			if (!(bank->mask & (1u << i)))
				continue;
			snprintf(key, sizeof(key), "%s.%u", crypto_alg_name(bank->alg), i);
			hex_encode(bank->value[i], crypto_digest_size(bank->alg), hex);
			json_object_object_add(pcrs, key, json_object_new_string(hex));
		}
	json_object_object_add(root, "pcrs", pcrs);
	pcrs = NULL; /* transferred */
	/* Secure Boot as the log proves it; a state it does not prove (or
	 * does not measure) makes no rule. */
	if ((replayed & (1u << FROMLOG_SECURE_BOOT_PCR)) &&
	    bootpolicy_secure_boot(log, &proven, replayed, &state) == 0 && state >= 0) {
		boot = json_object_new_object();
		json_object_object_add(boot, "secure_boot", json_object_new_boolean(state));
	}
	err_clear();
	if (replayed & (1u << FROMLOG_BOOT_APPS_PCR)) {
		/* What the boot policy counts as a boot application, in the
		 * banks it would judge each event in. */
		apps = json_object_new_array();
		for (size_t i = 0; i < log->nevents && r == 0; i++) {
			const struct eventlog_event *e = &log->events[i];
			TPM2_ALG_ID banks[PCRSEL_MAX_BANKS];
			size_t nbanks = evdata_banks(&proven, replayed, e->pcr, banks);

			if (nbanks && bootpolicy_is_app(e, banks, nbanks))
				r = fromlog_app(apps, e, &values);
		}
		if (r != 0)
			goto out;
		if (json_object_array_length(apps)) {
			if (!boot)
				boot = json_object_new_object();
			json_object_object_add(boot, "boot_applications", apps);
			apps = NULL; /* transferred */
		}
	}
	if (boot) {
		json_object_object_add(root, "boot_policy", boot);
		boot = NULL; /* transferred */
	}
	if (!(*json = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
									  JSON_C_TO_STRING_NOSLASHESCAPE))))
		r = err_set(AERR_ALLOC, "policy");
out:
	json_object_put(apps);
	json_object_put(boot);
	json_object_put(pcrs);
	json_object_put(root);
	eventlog_free(log);
	return r;
}

int fromlog_judge(const struct named_policy *p, const uint8_t *buf, size_t len, const TPML_PCR_SELECTION *sel,
		  uint32_t eventlog_pcrs)
{
	struct eventlog *log = NULL;
	struct quoted_state q;
	TPML_PCR_SELECTION proven;
	uint32_t replayed = 0;
	int r;

	if (p->pcr.nfirmware)
		return err_set(AERR_UNSUPPORTED, "policy '%s' has a firmware_version rule, which only a quote can be "
			       "judged by", p->name);
	memset(&q, 0, sizeof(q));
	if ((r = eventlog_parse(buf, len, &log)) != 0 ||
	    (r = fromlog_values(log, sel, eventlog_pcrs, &q.pcrs, &replayed, &proven)) != 0)
		goto out;
	if ((r = policy_check(&p->pcr, &q)) != 0)
		goto out;
	if (p->boot && (r = bootpolicy_check(p->boot, log, &proven, replayed)) != 0)
		goto out;
	r = 0;
out:
	eventlog_free(log);
	return r;
}
