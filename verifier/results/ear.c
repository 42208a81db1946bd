/* results/ear.h: a verdict's EAR claims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "b64url.h"
#include "results/ear.h"
#include "strsafe.h"

/* AR4SI values (draft-ietf-rats-ar4si). */
#define AR_AFFIRMING 2
#define AR_BOOT_ONLY 3          /* executables: approved boot-time executables only */
#define AR_UNAVAILABLE 36       /* configuration: security-relevant elements unavailable */
#define AR_CONTRA 96
#define AR_UNRECOGNIZED 97      /* instance-identity, hardware: should be recognized, is not */
#define AR_CRYPTO_FAILED 99     /* the evidence did not verify */

/* The vector, with 0 for a claim not made. */
struct ear_vector {
	int instance_identity, hardware, storage_opaque, configuration, executables, file_system;
};

static int ear_tier(int v)
{
	if (v >= 96)
		return 96;
	if (v >= 32)
		return 32;
	return v >= 2 ? 2 : 0;
}

const char *ear_status_name(int tier)
{
	switch (tier) {
	case 2: return "affirming";
	case 32: return "warning";
	case 96: return "contraindicated";
	default: return "none";
	}
}

/* What the failed check says of the evidence. */
static void ear_failed(const struct ear_input *in, struct ear_vector *t)
{
	switch (in->code) {
	case AERR_PCR_POLICY:
	case AERR_FIRMWARE:
		t->configuration = AR_CONTRA;
		break;
	case AERR_SIGNATURE:
	case AERR_NONCE:
	case AERR_PCR_DIGEST:
	case AERR_PCR_SELECTION:
	case AERR_QUOTE_MAGIC:
	case AERR_QUOTE_TYPE:
	case AERR_COUNTERS:
		t->configuration = AR_CRYPTO_FAILED;
		break;
	case AERR_EVENTLOG:
		t->executables = AR_CRYPTO_FAILED;
		break;
	case AERR_LOG_POLICY:
		t->executables = AR_CONTRA;
		if (in->ima_checked)
			t->file_system = AR_CONTRA;
		break;
	case AERR_CREDENTIAL:
		t->instance_identity = AR_CRYPTO_FAILED;
		break;
	case AERR_EK_CERT:
	case AERR_EK_CERT_CHAIN:
	case AERR_EK_CERT_KEY:
	case AERR_PLATFORM_CERT:
		t->hardware = AR_UNRECOGNIZED;
		break;
	default:
		/* Any other failed check: the node is not to be trusted, and
		 * nothing more specific is known. */
		t->configuration = AR_CONTRA;
		break;
	}
}

static void ear_vector_of(const struct ear_input *in, struct ear_vector *t)
{
	memset(t, 0, sizeof(*t));
	t->instance_identity = in->proven ? AR_AFFIRMING : AR_UNRECOGNIZED;
	if (in->ek_cert_required) {
		t->hardware = in->ek_cert_checked ? AR_AFFIRMING : AR_UNRECOGNIZED;
		if (in->ek_cert_checked)
			t->storage_opaque = AR_AFFIRMING;
	}
	if (in->event_log_checked || in->ima_checked)
		t->executables = in->ima_checked ? AR_AFFIRMING : AR_BOOT_ONLY;
	if (in->ima_checked)
		t->file_system = AR_AFFIRMING;
	if (in->pass)
		t->configuration = AR_AFFIRMING;
	else if (in->unjudged)
		t->configuration = AR_UNAVAILABLE;
	else
		ear_failed(in, t);
}

/* Adds v as key to o unless it is 0 (no claim); the worst tier into *worst. */
static int ear_claim(struct json_object *o, const char *key, int v, int *worst)
{
	if (v == 0)
		return 0;
	if (ear_tier(v) > *worst)
		*worst = ear_tier(v);
	return json_object_object_add(o, key, json_object_new_int(v));
}

static int ear_add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* The one submodule: status, vector, policy, and this project's own
 * claims (the node's name, the failed check). */
static struct json_object *ear_submod(const struct ear_input *in, int *status)
{
	struct json_object *m = json_object_new_object(), *tv = json_object_new_object(), *ext;
	struct ear_vector t;
	char policy[96];
	int worst = 0, bad = 0;

	if (!m || !tv) {
		json_object_put(m);
		json_object_put(tv);
		return NULL;
	}
	ear_vector_of(in, &t);
	bad |= ear_claim(tv, "instance-identity", t.instance_identity, &worst);
	bad |= ear_claim(tv, "configuration", t.configuration, &worst);
	bad |= ear_claim(tv, "executables", t.executables, &worst);
	bad |= ear_claim(tv, "file-system", t.file_system, &worst);
	bad |= ear_claim(tv, "hardware", t.hardware, &worst);
	bad |= ear_claim(tv, "storage-opaque", t.storage_opaque, &worst);
	*status = worst;
	if (in->policy_version)
		snprintf(policy, sizeof(policy), "policy:%s/%u", in->policy, in->policy_version);
	else
		snprintf(policy, sizeof(policy), "policy:%s", in->policy && *in->policy ? in->policy : "config");
	bad |= ear_add(m, "ear.status", json_object_new_string(ear_status_name(worst)));
	bad |= ear_add(m, "ear.trustworthiness-vector", tv);
	bad |= ear_add(m, "ear.appraisal-policy-id", json_object_new_string(policy));
	if ((ext = json_object_new_object())) {
		bad |= ear_add(ext, "ek_hash", json_object_new_string(in->ek_hash));
		if (in->name && *in->name)
			bad |= ear_add(ext, "name", json_object_new_string(in->name));
		if (in->identity && *in->identity)
			bad |= ear_add(ext, "identity", json_object_new_string(in->identity));
		bad |= ear_add(ext, "verdict", json_object_new_string(in->pass ? "pass" : in->unjudged ? "verified"
											    : "fail"));
		if (!in->pass && in->step && *in->step)
			bad |= ear_add(ext, "failed_check", json_object_new_string(in->step));
		if (!in->pass && in->reason && *in->reason) {
			/* Bounded and printable: the token fits the transport's
			 * limit whatever a reason quotes. */
			char reason[EAR_REASON_MAX + 1];

			strsafe(reason, sizeof(reason), in->reason, STRSAFE_LINE);
			bad |= ear_add(ext, "reason", json_object_new_string(reason));
		}
	}
	bad |= ear_add(m, "ear.tpm-attest.node", ext);
	if (bad) {
		json_object_put(m);
		return NULL;
	}
	return m;
}

int ear_claims(const struct ear_input *in, char **json, int *status)
{
	struct json_object *root = json_object_new_object(), *vid = json_object_new_object(),
			   *subs = json_object_new_object(), *sm = ear_submod(in, status);
	char nonce[B64URL_LEN(64) + 1];
	int bad = 0;

	*json = NULL;
	bad |= !root || !vid || !subs || !sm;
	if (!bad) {
		bad |= ear_add(root, "eat_profile", json_object_new_string(EAR_PROFILE));
		bad |= ear_add(root, "iat", json_object_new_int64(in->iat));
		bad |= ear_add(root, "exp", json_object_new_int64(in->iat + (int64_t)in->ttl));
		bad |= ear_add(vid, "developer", json_object_new_string(in->developer));
		bad |= ear_add(vid, "build", json_object_new_string(in->build));
		bad |= ear_add(root, "ear.verifier-id", vid);
		vid = NULL;
		if (in->nonce && in->nonce_len >= 8 && in->nonce_len <= 64) {
			b64url_encode(in->nonce, in->nonce_len, nonce);
			bad |= ear_add(root, "eat_nonce", json_object_new_string(nonce));
		}
		bad |= ear_add(subs, in->ek_hash, sm);
		sm = NULL;
		bad |= ear_add(root, "submods", subs);
		subs = NULL;
	}
	if (!bad && !(*json = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
									  JSON_C_TO_STRING_NOSLASHESCAPE))))
		bad = 1;
	json_object_put(root);
	json_object_put(vid);
	json_object_put(subs);
	json_object_put(sm);
	return bad ? err_set(AERR_ALLOC, "EAR: out of memory") : 0;
}
