/* libFuzzer targets over every parser of hostile input. Each target is a
 * pair of functions, so that the same code runs under libFuzzer (clang,
 * fuzz/main.c) and in the normal gcc build (tests/unit/test_fuzz_regressions.c
 * replays fuzz/regressions/ and fuzz/seeds/):
 *   fuzz_<name>_init()        once per process; 0 or it aborts the run
 *   fuzz_<name>(data, size)   one input; returns 0, aborts on a broken invariant
 * A harness never treats a rejection as a failure: hostile bytes are expected
 * to be refused. It fails only on memory errors (the sanitizers) and on
 * FUZZ_CHECK: a property every accepted input must have. */
#ifndef ATTEST_FUZZ_H
#define ATTEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <tss2/tss2_tpm2_types.h>

#include "pcrsel.h"

#define FUZZ_CHECK(cond)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__, __LINE__, \
				#cond);                                                        \
			abort();                                                               \
		}                                                                              \
	} while (0)

/* A result the harness does not judge (gcc's warn_unused_result ignores a
 * cast to void). */
static inline void fuzz_ignore(int r)
{
	(void)r;
}

struct fuzz_target {
	const char *name;
	int (*init)(void);
	int (*one)(const uint8_t *data, size_t size);
};

#define FUZZ_DECLARE(n)                                                                        \
	int fuzz_##n##_init(void);                                                             \
	int fuzz_##n(const uint8_t *data, size_t size);

FUZZ_DECLARE(tpmpub)
FUZZ_DECLARE(quote)
FUZZ_DECLARE(eventlog)
FUZZ_DECLARE(ima)
FUZZ_DECLARE(policy_json)
FUZZ_DECLARE(verifier_config)
FUZZ_DECLARE(attestor_config)
FUZZ_DECLARE(ekcert)
FUZZ_DECLARE(verifier_push)
FUZZ_DECLARE(attestor_requests)
FUZZ_DECLARE(session_ids)
FUZZ_DECLARE(logpolicy)

/* Every target, NULL-terminated (targets.c). */
extern const struct fuzz_target fuzz_targets[];

/* --- fuzz_util.c */

/* Quiet logs (errors only: a rejection per input is noise) and a fixed
 * environment; idempotent. */
void fuzz_quiet(void);

/* A file holding exactly data, for parsers that take a path: one memfd per
 * slot (0..3) reused across inputs. Returns its /proc/self/fd path (static
 * storage per slot), or NULL. */
const char *fuzz_memfile(int slot, const uint8_t *data, size_t size);

/* A private temporary directory made once per process (removed at exit). */
const char *fuzz_tmpdir(void);

/* Split data at the first occurrence of the 4-byte separator "FUZZ" into
 * up to max parts (the last part takes the rest). Returns the number of parts. */
size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t max);

/* --- fuzz_fake.c: a TPM simulated in software (fixed keys), so the
 * harnesses can produce what passes the signature and credential checks and
 * fuzz what the verifier does after them. */
struct fuzz_fake {
	TPMT_PUBLIC ek_pub;                    /* RSA-2048, TCG default EK template */
	uint8_t ek_pub_wire[sizeof(TPM2B_PUBLIC)];
	size_t ek_pub_len;
	uint8_t *ek_cert;                      /* DER, from the CA in trust_dir */
	size_t ek_cert_len;
	TPMT_PUBLIC ak_pub;                    /* ECC P-256, ECDSA-SHA256, restricted signing */
	uint8_t ak_pub_wire[sizeof(TPM2B_PUBLIC)];
	size_t ak_pub_len;
	TPM2B_NAME ak_name;
	char trust_dir[256];                   /* root.pem: the CA over ek_cert */
};

/* Made once; NULL on failure. */
const struct fuzz_fake *fuzz_fake_get(void);

/* TPMT_SIGNATURE wire bytes (ECDSA-SHA256 by the AK) over data. */
int fuzz_fake_sign(const uint8_t *data, size_t len, uint8_t *sig, size_t cap, size_t *sig_len);

/* An honest TPM2_Quote: TPM2B_ATTEST over nonce, sel and the PCR digest of
 * values (missing values count as zeros), and its signature. */
int fuzz_fake_quote(const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		    const struct pcr_values *values, uint8_t *attest, size_t attest_cap, size_t *attest_len,
		    uint8_t *sig, size_t sig_cap, size_t *sig_len);

/* TPM2_ActivateCredential with the EK private key: the credential secret of
 * (blob, enc_seed) for the AK's name; -1 when a TPM would refuse it. */
int fuzz_fake_activate(const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *enc_seed, uint8_t *secret,
		       size_t cap, size_t *secret_len);

#endif
