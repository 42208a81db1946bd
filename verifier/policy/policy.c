#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#define LOG_MODULE "policy"
#include "hex.h"
#include "log.h"
#include "policy/policy.h"

/* firmware_version = V[, V...] */
static int policy_add_firmware(struct policy *p, const char *text)
{
	char buf[512], *save = NULL, *tok, *end;

	if (p->nfirmware)
		return err_set(AERR_CONFIG, "policy firmware_version given twice");
	if (strlen(text) >= sizeof(buf))
		return err_set(AERR_CONFIG, "policy firmware_version is too long");
	strcpy(buf, text);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		unsigned long long v;

		errno = 0;
		v = strtoull(tok, &end, 0);
		if (!isdigit((unsigned char)tok[0]) || *end || errno)
			return err_set(AERR_CONFIG, "policy firmware_version '%s' is not a number (0x-hex or decimal)", tok);
		if (p->nfirmware == POLICY_MAX_FIRMWARE)
			return err_set(AERR_CONFIG, "policy firmware_version lists more than %d versions",
				       POLICY_MAX_FIRMWARE);
		p->firmware[p->nfirmware++] = v;
	}
	if (!p->nfirmware)
		return err_set(AERR_CONFIG, "policy firmware_version lists no version");
	return 0;
}

int policy_add(struct policy *p, const char *key, const char *hex)
{
	char bank[16];
	const char *dot = strchr(key, '.');
	struct policy_entry e;
	char *end;
	unsigned long idx;
	int k;

	memset(&e, 0, sizeof(e));
	if (!strcmp(key, "firmware_version"))
		return policy_add_firmware(p, hex);
	if (!dot || dot == key || (size_t)(dot - key) >= sizeof(bank))
		return err_set(AERR_CONFIG, "policy key '%s' is not <bank>.<pcr> (e.g. sha256.0)", key);
	memcpy(bank, key, (size_t)(dot - key));
	bank[dot - key] = '\0';
	if ((e.alg = crypto_alg_from_name(bank)) == TPM2_ALG_ERROR || crypto_digest_size(e.alg) == 0)
		return err_set(AERR_CONFIG, "policy key '%s': unknown PCR bank '%s'", key, bank);
	errno = 0;
	idx = strtoul(dot + 1, &end, 10);
	if (!isdigit((unsigned char)dot[1]) || *end || errno || idx >= PCRSEL_NUM_PCRS)
		return err_set(AERR_CONFIG, "policy key '%s': PCR index must be 0..%d", key,
			       PCRSEL_NUM_PCRS - 1);
	e.index = (uint32_t)idx;
	k = hex_decode(hex, strlen(hex), e.value, sizeof(e.value));
	e.len = k > 0 ? (size_t)k : 0;
	if (k < 0 || e.len != crypto_digest_size(e.alg))
		return err_set(AERR_CONFIG, "policy %s: value must be %zu hex bytes", key,
			       crypto_digest_size(e.alg));
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].alg == e.alg && p->e[i].index == e.index)
			return err_set(AERR_CONFIG, "policy %s given twice", key);
	if (p->n >= POLICY_MAX_ENTRIES)
		return err_set(AERR_CONFIG, "policy: more than %d entries", POLICY_MAX_ENTRIES);
	p->e[p->n++] = e;
	return 0;
}

int policy_check_selection(const struct policy *p, const TPML_PCR_SELECTION *sel)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct policy_entry *e = &p->e[i];
		if (!(pcrsel_mask(sel, e->alg) & (1u << e->index)))
			return err_set(AERR_CONFIG, "policy PCR %u bank %s is not in the quoted selection (pcrs)",
				       e->index, crypto_alg_name(e->alg));
	}
	return 0;
}

static int policy_check_firmware(const struct policy *p, uint64_t version)
{
	char allowed[POLICY_MAX_FIRMWARE * 20 + 1] = "";
	size_t o = 0;

	if (!p->nfirmware)
		return 0;
	for (size_t i = 0; i < p->nfirmware; i++)
		if (p->firmware[i] == version)
			return 0;
	for (size_t i = 0; i < p->nfirmware && o < sizeof(allowed); i++)
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s0x%llx", i ? ", " : "",
				      (unsigned long long)p->firmware[i]);
	err_set(AERR_FIRMWARE, "TPM firmware version 0x%llx is not one the policy allows", (unsigned long long)version);
	return err_private(AERR_FIRMWARE, "allowed: %s", allowed);
}

int policy_check(const struct policy *p, const struct quoted_state *q)
{
	char want[2 * CRYPTO_MAX_DIGEST + 1], got[2 * CRYPTO_MAX_DIGEST + 1];

	for (size_t i = 0; i < p->n; i++) {
		const struct policy_entry *e = &p->e[i];
		const struct pcr_bank *b = pcr_values_bank(&q->pcrs, e->alg);

		if (!b || !(b->mask & (1u << e->index)))
			return err_set(AERR_PCR_POLICY, "PCR %u bank %s: not in the quote", e->index,
				       crypto_alg_name(e->alg));
		/* PCR values are not secret, but comparing in constant time costs nothing. */
		if (CRYPTO_memcmp(b->value[e->index], e->value, e->len) != 0) {
			hex_encode(e->value, e->len, want);
			hex_encode(b->value[e->index], e->len, got);
			/* The peer learns which PCR differs; the value expected
			 * (a golden value) only the operator does. */
			err_set(AERR_PCR_POLICY, "PCR %u bank %s differs from the policy", e->index,
				crypto_alg_name(e->alg));
			return err_private(AERR_PCR_POLICY, "quoted %s, policy expects %s", got, want);
		}
	}
	return policy_check_firmware(p, q->firmware_version);
}

int policy_digest_parse(const char *text, struct policy_digest *out)
{
	const char *colon = strchr(text, ':');
	size_t alen;
	int n;

	memset(out, 0, sizeof(out[0]));
	if (!colon || (alen = (size_t)(colon - text)) == 0 || alen >= POLICY_DIGEST_ALG_MAX)
		return -1;
	if ((n = hex_decode(colon + 1, strlen(colon + 1), out->value, sizeof(out->value))) < 0)
		return -1;
	memcpy(out->alg, text, alen);
	out->len = (uint8_t)n;
	return 0;
}

int policy_json_load(const char *path, struct json_object **root)
{
	if (!(*root = json_object_from_file(path)))
		return err_set(AERR_CONFIG, "%s: %s", path, json_util_get_last_err());
	if (!json_object_is_type(*root, json_type_object)) {
		json_object_put(*root);
		*root = NULL;
		return err_set(AERR_CONFIG, "%s: the policy must be a JSON object", path);
	}
	return 0;
}

int policy_pins(const struct policy *p, const TPML_PCR_SELECTION *sel, TPMI_ALG_HASH *alg, uint32_t *index)
{
	for (uint32_t b = 0; b < sel->count; b++)
		for (uint32_t i = 0; i < PCRSEL_NUM_PCRS; i++) {
			const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[b];
			int pinned = 0;

			if (!(ps->pcrSelect[i / 8] & (1u << (i % 8))))
				continue;
			for (size_t e = 0; p && e < p->n && !pinned; e++)
				pinned = p->e[e].alg == ps->hash && p->e[e].index == i;
			if (!pinned) {
				*alg = ps->hash;
				*index = i;
				return 0;
			}
		}
	return 1;
}
