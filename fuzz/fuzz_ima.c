/* IMA measurement lists. The first byte picks the form:
 *   0: binary chunk: replay (parse, template hashes, extend), the replay
 *      checked against itself and against a fresh replay to the quote, the
 *      attestor's framing walk, then the allowlist;
 *   1: ASCII list with template hashes of the algorithm picked by the
 *      second byte (sha1, sha256, sha384, sha512), then the allowlist. */
#include <string.h>

#include "fuzz.h"
#include "ima.h"
#include "policy/imapolicy.h"

static struct imapolicy *policy;

static const char policy_json[] =
	"{ \"allow\": { \"boot_aggregate\": [\"sha1:0000000000000000000000000000000000000000\"],\n"
	"              \"/usr/bin/bash\": [\"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"] },\n"
	"  \"exclude\": [\"^/tmp/\", \"^/var/(log|cache)/\"],\n"
	"  \"keyrings\": { \".ima\": [\"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"] },\n"
	"  \"allow_violations\": false }\n";

int fuzz_ima_init(void)
{
	const char *path;

	fuzz_quiet();
	if (!(path = fuzz_memfile(3, (const uint8_t *)policy_json, sizeof(policy_json) - 1)) ||
	    imapolicy_load(path, &policy) != 0)
		return -1;
	return 0;
}

/* The replayed PCR 10 of both banks, as a quote would show it. */
static void ima_values(const struct ima_replay_state *st, struct pcr_values *v)
{
	static const TPM2_ALG_ID algs[2] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };

	memset(v, 0, sizeof(*v));
	for (int i = 0; i < 2; i++) {
		const uint8_t *val = ima_replay_value(st, algs[i], IMA_PCR);

		FUZZ_CHECK(val != NULL);
		v->banks[i].alg = algs[i];
		v->banks[i].mask = 1u << IMA_PCR;
		memcpy(v->banks[i].value[IMA_PCR], val, crypto_digest_size(algs[i]));
	}
	v->nbanks = 2;
}

static void ima_binary(const uint8_t *data, size_t size, uint32_t flags)
{
	static const TPM2_ALG_ID algs[2] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };
	static struct ima_replay_state st, st2;
	static struct pcr_values values;
	struct ima_list *list = NULL;
	size_t at = 0, end = 0, used = 0;
	int walked;

	walked = ima_list_offsets(data, size, 0, &at, &end) == 0;
	if (walked)
		FUZZ_CHECK(at == 0 && end <= size);
	if (ima_replay_init(&st, algs, 2, flags) != 0 || ima_replay_init(&st2, algs, 2, flags) != 0)
		return;
	if (ima_replay(&st, data, size, &list) != 0) {
		FUZZ_CHECK(st.count == 0 && st.bytes == 0);
		return;
	}
	FUZZ_CHECK(list != NULL && st.count == list->nentries);
	/* What parses as a list, the attestor frames as the same whole entries. */
	FUZZ_CHECK(walked && end == size);
	FUZZ_CHECK(ima_list_offsets(data, size, list->nentries, &at, &end) == 0 && at == size);
	ima_values(&st, &values);
	FUZZ_CHECK(ima_replay_check_pcrs(&st, &values, 1u << IMA_PCR) == 0);
	FUZZ_CHECK(ima_replay_to_quote(&st2, list, &values, 1u << IMA_PCR, &used) == 0);
	FUZZ_CHECK(used <= list->nentries);
	fuzz_ignore(imapolicy_check(policy, list, used));
	ima_list_free(list);
}

static void ima_ascii(const uint8_t *data, size_t size, uint8_t which)
{
	static const TPM2_ALG_ID algs[4] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512 };
	struct ima_list *list = NULL;

	if (ima_ascii_parse((const char *)data, size, algs[which % 4], &list) != 0) {
		FUZZ_CHECK(list == NULL);
		return;
	}
	FUZZ_CHECK(list != NULL);
	if (ima_list_verify(list, NULL) == 0)
		fuzz_ignore(imapolicy_check(policy, list, list->nentries));
	ima_list_free(list);
}

int fuzz_ima(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (data[0] & 1)
		ima_ascii(data + 2, size - 2, data[1]);
	else
		ima_binary(data + 1, size - 1, data[0] & 2 ? IMA_REPLAY_PAD_SHA1 : IMA_REPLAY_PER_BANK);
	return 0;
}
