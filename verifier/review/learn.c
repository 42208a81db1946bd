/* review/learn.h: the reference a verified quote makes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto.h"
#include "hex.h"
#include "ima.h"
#include "policy/fromima.h"
#include "policy/fromlog.h"
#include "policy/named.h"
#include "review/learn.h"
#include "review/review.h"

/* The object under key of a generator's JSON text, into root. */
static int learn_take(json_object *root, const char *text, const char *key)
{
	json_object *gen = json_tokener_parse(text), *v;

	if (!gen)
		return err_set(AERR_INTERNAL, "a generated policy does not parse");
	if (json_object_object_get_ex(gen, key, &v))
		json_object_object_add(root, key, json_object_get(v));
	json_object_put(gen);
	return 0;
}

static int learn_pcrs(json_object *root, const struct review_quote *rq)
{
	json_object *pcrs = json_object_new_object();
	char key[32], hex[2 * CRYPTO_MAX_DIGEST + 1];

	for (uint32_t b = 0; b < rq->q.pcrs.nbanks; b++) {
		const struct pcr_bank *bank = &rq->q.pcrs.banks[b];
		size_t size = crypto_digest_size(bank->alg);

		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(bank->mask & (1u << i)) || (i == IMA_PCR && rq->has_ima))
				continue;
			snprintf(key, sizeof(key), "%s.%u", crypto_alg_name(bank->alg), i);
			hex_encode(bank->value[i], size, hex);
			json_object_object_add(pcrs, key, json_object_new_string(hex));
		}
	}
	json_object_object_add(root, "pcrs", pcrs);
	return 0;
}

/* The IMA entries the quote vouches for, as from-ima's allowlist. */
static int learn_ima(json_object *root, const struct review_quote *rq, size_t *violations)
{
	struct ima_replay_state st;
	struct ima_list *list = NULL;
	char *text = NULL;
	size_t used = 0;
	int r;

	if ((r = ima_parse(rq->ima ? rq->ima : (const uint8_t *)"", rq->ima_len, 0, &list)) != 0 ||
	    (r = ima_list_verify(list, NULL)) != 0 || (r = judge_ima_start(&st)) != 0 ||
	    (r = ima_replay_to_quote(&st, list, &rq->q.pcrs, 1u << IMA_PCR, &used)) != 0)
		goto out;
	/* Entries past those are the next quote's to vouch for. */
	list->nentries = used;
	if ((r = fromima_policy_list(list, NULL, 0, &text, violations)) == 0)
		r = learn_take(root, text, "ima_policy");
out:
	free(text);
	ima_list_free(list);
	return r ? err_wrap(r, "the IMA list") : 0;
}

int learn_proposal(struct store *st, const struct verifier_config *cfg, int64_t attestation, char **json,
		   size_t *violations)
{
	struct named_policy_limits lim = verifier_config_limits(cfg);
	struct named_policy *check = NULL;
	struct store_evidence row;
	struct review_quote rq;
	json_object *root = NULL;
	char *text = NULL;
	const char *out;
	int r;

	*json = NULL;
	*violations = 0;
	if ((r = store_evidence_get_row(st, attestation, &row)) != 0)
		return r;
	if ((r = review_load(st, &row, &rq)) != 0)
		return r;
	if (!rq.verified) {
		r = err_set(AERR_STATE, "attestation %lld: %s", (long long)attestation, rq.why);
		goto out;
	}
	/* Only what the quote proves: the log must replay to it and the IMA
	 * list verify and replay to it, whatever policy judged it then. */
	{
		struct judge_ref structure = { .pcrs = &rq.sel, .eventlog_pcrs = cfg->eventlog_pcrs };
		char why[700];

		if (review_judge(&rq, &structure, why, sizeof(why)) != 0) {
			r = err_set(AERR_STATE, "attestation %lld: its evidence does not hold together: %s",
				    (long long)attestation, why);
			goto out;
		}
	}
	root = json_object_new_object();
	learn_pcrs(root, &rq);
	if (rq.log) {
		if ((r = fromlog_policy(rq.log, rq.log_len, &rq.sel, cfg->eventlog_pcrs, &text)) != 0 ||
		    (r = learn_take(root, text, "boot_policy")) != 0) {
			r = err_wrap(r, "the boot event log");
			goto out;
		}
		json_object_object_add(root, "require_event_log", json_object_new_boolean(1));
	}
	if (rq.has_ima) {
		if ((r = learn_ima(root, &rq, violations)) != 0)
			goto out;
		json_object_object_add(root, "require_ima", json_object_new_boolean(1));
	}
	out = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	/* What is proposed must be what a policy may hold. */
	if ((r = named_policy_parse("proposal", 1, out, strlen(out), &lim, &check)) != 0)
		goto out;
	if (!(*json = strdup(out)))
		r = err_set(AERR_ALLOC, "proposal");
out:
	named_policy_free(check);
	free(text);
	json_object_put(root);
	review_free(&rq);
	return r;
}

void learn_default_name(const char *ek_hash, char name[STORE_NAME_MAX + 1])
{
	snprintf(name, STORE_NAME_MAX + 1, "learned-%.16s", ek_hash);
}

int learn_store(struct store *st, const struct verifier_config *cfg, int64_t attestation, const char *ek_hash,
		const char *name, enum learn_mode mode, uint32_t *version)
{
	struct store_policy existing;
	size_t violations = 0;
	char *json = NULL;
	int r, exists;

	*version = 0;
	if ((r = named_policy_name_check(name)) != 0)
		return r;
	if ((r = learn_proposal(st, cfg, attestation, &json, &violations)) != 0)
		return r;
	if ((r = store_policy_get(st, name, 0, &existing)) == 0)
		free(existing.body);
	else if (r != AERR_NOT_FOUND)
		goto out;
	exists = r == 0;
	if (exists && mode == LEARN_FIRST_USE) {
		r = err_set(AERR_STATE, "policy %s exists: first use does not change a policy", name);
		goto out;
	}
	if ((r = store_policy_put(st, name, json, strlen(json), !exists, version)) == 0)
		r = store_policy_assign(st, ek_hash, NULL, name);
out:
	free(json);
	return r;
}

int learn_approve(struct store *st, const struct verifier_config *cfg, int64_t node_id, const char *ek_hash,
		  const char *name, uint32_t *version)
{
	int64_t requested = 0, att = 0;
	int r;

	*version = 0;
	if ((r = store_learn_state(st, node_id, &requested, &att)) != 0)
		return r;
	if (!requested)
		return err_set(AERR_NOT_FOUND, "nothing to approve: no learn request (verifier policy learn NODE)");
	if (!att)
		return err_set(AERR_NOT_FOUND, "nothing to approve yet: no verified quote since the learn request");
	if ((r = learn_store(st, cfg, att, ek_hash, name, LEARN_APPROVED, version)) != 0)
		return r;
	return store_learn_clear(st, node_id);
}
