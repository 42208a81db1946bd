/* The verifier's INI configuration file ([verifier], [tls], [policy],
 * [secret NAME]). The files it names are not opened: a path the fuzzer
 * writes could name anything on this machine (stdin, a fifo). */
#include <string.h>

#include "config.h"
#include "fuzz.h"

int fuzz_verifier_config_init(void)
{
	fuzz_quiet();
	return 0;
}

int fuzz_verifier_config(const uint8_t *data, size_t size)
{
	struct verifier_config *cfg = NULL;
	const char *path = fuzz_memfile(0, data, size);

	if (!path)
		return 0;
	if (verifier_config_load(path, &cfg) != 0) {
		FUZZ_CHECK(cfg == NULL);
		return 0;
	}
	FUZZ_CHECK(cfg != NULL);
	FUZZ_CHECK(cfg->ntargets <= CONFIG_MAX_TARGETS);
	FUZZ_CHECK(cfg->policy.n <= POLICY_MAX_ENTRIES);
	FUZZ_CHECK(cfg->pcrs.count <= PCRSEL_MAX_BANKS);
	FUZZ_CHECK(cfg->nsecrets == 0 || cfg->secrets != NULL);
	verifier_config_free(cfg);
	return 0;
}
