/* tpmwire: which TSS2_RCs mean the TPM connection is lost (the attestor
 * then sets up a new ESYS context before its next command). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <tss2/tss2_common.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpmwire.h"

/* The TPM's own answers: the connection works, whatever the answer says. */
static void test_tpm_answers_are_not_lost(void **state)
{
	(void)state;
	assert_false(tpmwire_rc_lost(TSS2_RC_SUCCESS));
	assert_false(tpmwire_rc_lost(TPM2_RC_INTEGRITY));       /* a stale saved context */
	assert_false(tpmwire_rc_lost(TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_1)); /* a parameter */
	assert_false(tpmwire_rc_lost(TPM2_RC_POLICY_FAIL | TPM2_RC_S | TPM2_RC_1));
	assert_false(tpmwire_rc_lost(TPM2_RC_RETRY));
	assert_false(tpmwire_rc_lost(TPM2_RC_FAILURE));
	/* The same codes passed on by a resource manager. */
	assert_false(tpmwire_rc_lost(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_INTEGRITY));
}

/* A TPM that was restarted without TPM2_Startup answers every command so;
 * connecting again sends TPM2_Startup. */
static void test_uninitialized_tpm_is_lost(void **state)
{
	(void)state;
	assert_true(tpmwire_rc_lost(TPM2_RC_INITIALIZE));
	assert_true(tpmwire_rc_lost(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_INITIALIZE));
}

/* Failures below the TPM: the ESYS context is unusable after them. */
static void test_stack_failures_are_lost(void **state)
{
	(void)state;
	assert_true(tpmwire_rc_lost(TSS2_TCTI_RC_IO_ERROR));          /* 0xa000a: simulator gone */
	assert_true(tpmwire_rc_lost(TSS2_TCTI_RC_NO_CONNECTION));
	assert_true(tpmwire_rc_lost(TSS2_ESYS_RC_BAD_SEQUENCE));      /* 0x70007: what follows */
	assert_true(tpmwire_rc_lost(TSS2_SYS_RC_MALFORMED_RESPONSE));
	assert_true(tpmwire_rc_lost(TSS2_RESMGR_RC_LAYER | TSS2_BASE_RC_IO_ERROR));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tpm_answers_are_not_lost),
		cmocka_unit_test(test_uninitialized_tpm_is_lost),
		cmocka_unit_test(test_stack_failures_are_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
