/* What the attestor/tpm/ files share and nothing else sees: the TPM
 * context, the timed ESYS call macros and the helpers used by more than
 * one job. tss2_esys.h is included only here and in those files. */
#ifndef ATTESTOR_TPM_PRIV_H
#define ATTESTOR_TPM_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "clock.h"
#include "ektemplate.h"
#include "tpm.h"

/* NV indices whose contents we keep: the EK certificates of the four
 * templates (tpm_ek_choose looks at up to two per key type), the platform one. */
#define TPM_NV_CACHE 5

/* Rounds of read-PCRs/quote before giving up when PCRs keep changing. */
#define TPM_QUOTE_ROUNDS 4

struct tpm_ek_slot {
	int chosen;               /* kind is set: tpm_ek_choose ran */
	enum ek_kind kind;        /* the template of this key type's EK */
	int have_pub;
	TPM2B_PUBLIC pub;         /* output of CreatePrimary (or the matching persistent EK) */
	int persistent_checked;
	ESYS_TR persistent;       /* ESYS_TR_NONE unless a persistent EK matches the template */
	TPMS_CONTEXT *saved;      /* ContextSave'd transient EK, Esys_Free'd */
};

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ectx;
	TSS2_RC last_rc;          /* of the last ESYS call, for callers that tolerate some codes */
	int lost;                 /* the connection or the ESYS context failed: set up again first */
	char tcti_conf[512];      /* to set up again */
	TPMI_ALG_PUBLIC ek_alg;
	TPMI_ALG_PUBLIC ak_alg;
	int no_cache;
	uint16_t nv_chunk;        /* bytes per NV_Read */
	TPML_PCR_SELECTION banks; /* PCR banks the TPM has allocated */
	struct tpm_ek_slot ek[2]; /* [0] RSA, [1] ECC */
	struct {
		int have;
		TPM2B_PRIVATE priv;   /* TPM-wrapped under the parent EK */
		TPM2B_PUBLIC pub;
		TPM2B_NAME name;
		TPMS_CONTEXT *saved;
	} ak;
	/* Certificates read from NV, absent ones included: they do not change
	 * while we run, and NV reads are slow on hardware TPMs (bus, per-chunk). */
	struct {
		TPM2_HANDLE index;
		uint8_t *data;        /* NULL: the index is absent or empty */
		size_t len;
	} nv_cache[TPM_NV_CACHE];
	size_t nv_cached;
	pthread_mutex_t stats_lock; /* stats are read from other threads (benchmark) */
	struct tpm_stats stats;
};

/* Every Esys_* call is timed (the benchmark's reference: the time an ESYS
 * client cannot avoid for the TPM commands it sends) and its TSS2_RC checked. */
#define TPM_ESYS_CALL(t, fn, quiet, ...)                                                 \
	({                                                                              \
		uint64_t t0_ = clock_mono_ns();                                         \
		TSS2_RC rc_ = Esys_##fn((t)->ectx, __VA_ARGS__);                        \
		tpm_stats_add((t), #fn, t0_);                                           \
		tpm_esys((t), rc_, "Esys_" #fn, (quiet));                               \
	})
#define ESYS(t, fn, ...) TPM_ESYS_CALL(t, fn, 0, __VA_ARGS__)
/* For calls whose failure is an expected outcome the caller handles. */
#define ESYS_QUIET(t, fn, ...) TPM_ESYS_CALL(t, fn, 1, __VA_ARGS__)

/* The one place a TSS2_RC becomes text and a project error. */
int tpm_esys(struct tpm *t, TSS2_RC rc, const char *cmd, int quiet);

/* Account one ESYS call. cmd is the string literal of the ESYS() expansion;
 * the table is short, so a linear search costs nothing next to a TPM command. */
void tpm_stats_add(struct tpm *t, const char *cmd, uint64_t t0);

/* A TPM format-1 error about a command parameter (the caller's input). */
int tpm_rc_is_param_error(TSS2_RC rc);

/* The TPM's error number without its handle/parameter/session position, so
 * that "TPM_RC_POLICY_FAIL on session 1" compares equal to TPM2_RC_POLICY_FAIL. */
TSS2_RC tpm_rc_base(TSS2_RC rc);

/* The EK slot (struct tpm.ek) of alg: 0 RSA, 1 ECC. */
int tpm_ek_index(TPMI_ALG_PUBLIC alg);

/* The EK a caller names: one of the two TCG default templates. */
int tpm_ek_alg_check(TPMI_ALG_PUBLIC ek_alg);

/* Whether a handle (NV index, persistent object) exists, without provoking a
 * TPM error for the usual "absent" case. */
int tpm_handle_present(struct tpm *t, TPM2_HANDLE h, int *present);

/* Flush *h unless it is ESYS_TR_NONE or ESYS_TR_PASSWORD; ESYS_TR_NONE
 * afterwards. */
int tpm_flush(struct tpm *t, ESYS_TR *h);

/* The object of a saved context (*saved may be NULL: none) into *h: 1.
 * A context that no longer loads (the TPM was reset, the object's
 * hierarchy changed) is forgotten, said with what it was: 0, the caller
 * makes the object again. A lost TPM is not the context's fault: the
 * error. */
int tpm_context_reload(struct tpm *t, TPMS_CONTEXT **saved, const char *what, ESYS_TR *h);

/* Every public operation starts here: after a lost connection (the TPM or
 * its simulator restarted, a TCTI error mid-command) the ESYS context is
 * unusable for good, so set up a new one rather than fail forever. */
int tpm_ready(struct tpm *t);

/* Which template the EK of alg is made from: the low range's when its
 * certificate is in NV (or no certificate is), else the high range's when
 * that one's is. Decided once per slot. */
enum ek_kind tpm_ek_choose(struct tpm *t, TPMI_ALG_PUBLIC alg);

/* Load the EK of alg (of the template tpm_ek_choose picks). *flush says
 * whether the caller must flush *h (a transient copy) or not (persistent). */
int tpm_ek_load(struct tpm *t, TPMI_ALG_PUBLIC alg, ESYS_TR *h, int *flush);

/* Done with an EK tpm_ek_load gave: flushed when it was a transient copy. */
void tpm_ek_release(struct tpm *t, ESYS_TR *h, int flush);

/* The authorization for one command that uses the loaded EK of alg (as
 * parent or as decryption key): a policy session satisfying Policy A for
 * the low range, the password session (the empty auth, userWithAuth) for
 * the high range. The caller flushes it (tpm_flush skips the password). */
int tpm_ek_session(struct tpm *t, TPMI_ALG_PUBLIC alg, ESYS_TR *out);

/* Load the AK (creating it on first use); the caller flushes *h. */
int tpm_ak_load(struct tpm *t, ESYS_TR *h);

#endif
