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
#include "simtpm.h"

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

/* --- fuzz_fake.c: the software TPM (tests/simtpm) with fixed keys, so the
 * harnesses can produce what passes the signature and credential checks and
 * fuzz what the verifier does after them. */
struct fuzz_fake {
	struct simtpm *tpm;                    /* simtpm_sign, simtpm_activate */
	TPMT_PUBLIC ek_pub;                    /* RSA-2048, TCG default EK template */
	const uint8_t *ek_pub_wire;
	size_t ek_pub_len;
	const uint8_t *ek_cert;                /* DER, from the CA in trust_dir */
	size_t ek_cert_len;
	TPMT_PUBLIC ak_pub;                    /* ECC P-256, ECDSA-SHA256, restricted signing */
	const uint8_t *ak_pub_wire;
	size_t ak_pub_len;
	char trust_dir[256];                   /* root.pem: the CA over ek_cert */
};

/* Made once; NULL on failure. */
const struct fuzz_fake *fuzz_fake_get(void);

/* An honest TPM2_Quote over nonce, sel and values (missing values count as
 * zeros): the node's PCRs are values for this quote only. */
int fuzz_fake_quote(const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		    const struct pcr_values *values, struct simtpm_quote *out);

#endif
