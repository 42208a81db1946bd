#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#define LOG_MODULE "policy"
#include "log.h"
#include "policy.h"

static int unhex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	*len = 0;
	if (n == 0 || n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi, lo;
		char c1 = (char)tolower((unsigned char)hex[2 * i]);
		char c2 = (char)tolower((unsigned char)hex[2 * i + 1]);
		if (!isxdigit((unsigned char)c1) || !isxdigit((unsigned char)c2))
			return -1;
		hi = isdigit((unsigned char)c1) ? c1 - '0' : c1 - 'a' + 10;
		lo = isdigit((unsigned char)c2) ? c2 - '0' : c2 - 'a' + 10;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static void tohex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int policy_add(struct policy *p, const char *key, const char *hex)
{
	char bank[16];
	const char *dot = strchr(key, '.');
	struct policy_entry e;
	char *end;
	unsigned long idx;

	memset(&e, 0, sizeof(e));
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
	if (unhex(hex, e.value, sizeof(e.value), &e.len) != 0 || e.len != crypto_digest_size(e.alg))
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
			tohex(e->value, e->len, want);
			tohex(b->value[e->index], e->len, got);
			return err_set(AERR_PCR_POLICY, "PCR %u bank %s: quoted %s, policy expects %s",
				       e->index, crypto_alg_name(e->alg), got, want);
		}
	}
	return 0;
}

int policy_digest_parse(const char *text, struct policy_digest *out)
{
	const char *colon = strchr(text, ':');
	size_t alen, hlen;

	memset(out, 0, sizeof(*out));
	if (!colon || (alen = (size_t)(colon - text)) == 0 || alen >= POLICY_DIGEST_ALG_MAX)
		return -1;
	hlen = strlen(colon + 1);
	if (hlen == 0 || hlen % 2 || hlen / 2 > CRYPTO_MAX_DIGEST)
		return -1;
	for (size_t i = 0; i < hlen; i++)
		if (!strchr("0123456789abcdefABCDEF", colon[1 + i]))
			return -1;
	memcpy(out->alg, text, alen);
	for (size_t i = 0; i < hlen / 2; i++) {
		unsigned int b;
		char pair[3] = { colon[1 + 2 * i], colon[2 + 2 * i], 0 };

		if (sscanf(pair, "%2x", &b) != 1)
			return -1;
		out->value[i] = (uint8_t)b;
	}
	out->len = (uint8_t)(hlen / 2);
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
