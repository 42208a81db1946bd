/* TCG boot event logs: parse, replay every declared bank, check the replay
 * against itself, print (verifier eventlog). The boot policy judges fuzzed
 * logs in fuzz_logpolicy.c. */
#include <stdio.h>
#include <string.h>

#include "eventlog.h"
#include "cli/eventlog_print.h"
#include "fuzz.h"

static FILE *devnull;

int fuzz_eventlog_init(void)
{
	fuzz_quiet();
	return (devnull = fopen("/dev/null", "w")) ? 0 : -1;
}

int fuzz_eventlog(const uint8_t *data, size_t size)
{
	static uint8_t pcr[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	static struct pcr_values values;
	struct eventlog *log = NULL;
	uint32_t extended = 0;

	if (eventlog_parse(data, size, &log) != 0) {
		FUZZ_CHECK(log == NULL);
		return 0;
	}
	FUZZ_CHECK(log != NULL && log->nalgs <= EVENTLOG_MAX_ALGS);
	memset(&values, 0, sizeof(values));
	for (uint32_t i = 0; i < log->nalgs; i++) {
		TPM2_ALG_ID alg = log->algs[i].alg;
		size_t ds = crypto_digest_size(alg);
		struct pcr_bank *b;

		if (eventlog_replay(log, alg, pcr, &extended) != 0 || !ds || values.nbanks == PCRSEL_MAX_BANKS ||
		    pcr_values_bank(&values, alg))
			continue;
		b = &values.banks[values.nbanks++];
		b->alg = alg;
		b->mask = 0xffffff;
		for (int p = 0; p < PCRSEL_NUM_PCRS; p++)
			memcpy(b->value[p], pcr[p], ds);
	}
	/* A log always reproduces its own replay, in every bank it replayed. */
	if (values.nbanks)
		FUZZ_CHECK(eventlog_check_pcrs(log, &values, 0xffffff) == 0);
	eventlog_print_yaml(devnull, log);
	eventlog_print_json(devnull, log);
	eventlog_free(log);
	return 0;
}
