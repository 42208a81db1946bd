/* Every target, for the regression replay (tests/unit/test_fuzz_regressions.c)
 * and the seed builder. The name is the directory under fuzz/regressions/
 * and fuzz/seeds/, and the libFuzzer binary fuzz_<name>. */
#include "fuzz.h"

#define FUZZ_ENTRY(n) { #n, fuzz_##n##_init, fuzz_##n },

const struct fuzz_target fuzz_targets[] = {
	FUZZ_ENTRY(tpmpub)
	FUZZ_ENTRY(quote)
	FUZZ_ENTRY(eventlog)
	FUZZ_ENTRY(ima)
	FUZZ_ENTRY(policy_json)
	FUZZ_ENTRY(verifier_config)
	FUZZ_ENTRY(attestor_config)
	FUZZ_ENTRY(ekcert)
	FUZZ_ENTRY(verifier_push)
	FUZZ_ENTRY(attestor_requests)
	FUZZ_ENTRY(session_ids)
	FUZZ_ENTRY(logpolicy)
	{ NULL, NULL, NULL },
};
