/* The verifier's policies: boot and IMA policy JSON files, and the policy
 * text helpers (digests "<alg>:<hex>", "[policy] sha256.N = hex" and
 * "firmware_version = V, ...", PCR selections). The first byte picks one;
 * the rest is the file or text. */
#include <stdlib.h>
#include <string.h>

#include "policy/bootpolicy.h"
#include "fuzz.h"
#include "policy/imapolicy.h"
#include "policy/policy.h"

int fuzz_policy_json_init(void)
{
	fuzz_quiet();
	return 0;
}

/* NUL-terminated copy: the text helpers take C strings. */
static char *policy_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

static void policy_texts(const uint8_t *data, size_t size)
{
	static struct policy p;
	const uint8_t *parts[2];
	size_t lens[2];
	char *key, *val;
	struct policy_digest d;
	TPML_PCR_SELECTION sel;
	char buf[256];

	if (fuzz_split(data, size, parts, lens, 2) != 2)
		return;
	key = policy_text(parts[0], lens[0]);
	val = policy_text(parts[1], lens[1]);
	if (key && val) {
		if (policy_digest_parse(val, &d) == 0)
			FUZZ_CHECK(d.len <= sizeof(d.value) && memchr(d.alg, '\0', sizeof(d.alg)));
		memset(&p, 0, sizeof(p));
		if (policy_add(&p, key, val) == 0) {
			/* One key adds one PCR value, or the firmware versions. */
			if (!strcmp(key, "firmware_version"))
				FUZZ_CHECK(p.n == 0 && p.nfirmware >= 1 && p.nfirmware <= POLICY_MAX_FIRMWARE);
			else
				FUZZ_CHECK(p.n == 1 && p.e[0].index < PCRSEL_NUM_PCRS);
			/* The same PCR (or firmware_version) twice is refused. */
			FUZZ_CHECK(policy_add(&p, key, val) != 0);
		}
		if (pcrsel_parse(key, &sel) == 0) {
			FUZZ_CHECK(sel.count <= PCRSEL_MAX_BANKS);
			fuzz_ignore(policy_check_selection(&p, &sel));
			if (pcrsel_format(&sel, buf, sizeof(buf)) == 0) {
				TPML_PCR_SELECTION again;
				/* What we print, we parse back to the same selection. */
				FUZZ_CHECK(pcrsel_parse(buf, &again) == 0 && pcrsel_equal(&sel, &again));
			}
		}
	}
	free(key);
	free(val);
}

int fuzz_policy_json(const uint8_t *data, size_t size)
{
	struct bootpolicy *bp = NULL;
	struct imapolicy *ip = NULL;
	const char *path;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if ((path = fuzz_memfile(0, data + 1, size - 1)) && bootpolicy_load(path, &bp) == 0)
			FUZZ_CHECK(bp != NULL);
		bootpolicy_free(bp);
		break;
	case 1:
		if ((path = fuzz_memfile(0, data + 1, size - 1)) && imapolicy_load(path, &ip) == 0) {
			size_t paths = 0, digests = 0, excludes = 0;
			FUZZ_CHECK(ip != NULL);
			imapolicy_counts(ip, &paths, &digests, &excludes);
		}
		imapolicy_free(ip);
		break;
	default:
		policy_texts(data + 1, size - 1);
		break;
	}
	return 0;
}
