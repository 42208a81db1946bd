/* The TPM context: connecting (and again after a lost connection), the
 * one place a TSS2_RC becomes an error, timing of every ESYS call,
 * capabilities and handles. */
#define LOG_MODULE "tpm"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "tpm/tpm_priv.h"
#include "tpmpub.h"
#include "tpmwire.h"

/* The one place a TSS2_RC becomes text and a project error. */
int tpm_esys(struct tpm *t, TSS2_RC rc, const char *cmd, int quiet)
{
	t->last_rc = rc;
	if (rc == TSS2_RC_SUCCESS)
		return 0;
	if (tpmwire_rc_lost(rc))
		t->lost = 1;
	return tpmwire_rc_err(rc, AERR_TPM, cmd, quiet);
}

/* Account one ESYS call. cmd is the string literal of the ESYS() expansion;
 * the table is short, so a linear search costs nothing next to a TPM command. */
void tpm_stats_add(struct tpm *t, const char *cmd, uint64_t t0)
{
	uint64_t ns = clock_mono_ns() - t0;
	size_t i;

	pthread_mutex_lock(&t->stats_lock);
	for (i = 0; i < t->stats.n; i++)
		if (t->stats.cmd[i].name == cmd || strcmp(t->stats.cmd[i].name, cmd) == 0)
			break;
	if (i == t->stats.n && i < TPM_STATS_MAX) {
		t->stats.cmd[i].name = cmd;
		t->stats.n++;
	}
	if (i < t->stats.n) {
		t->stats.cmd[i].count++;
		t->stats.cmd[i].ns += ns;
	}
	t->stats.count++;
	t->stats.ns += ns;
	pthread_mutex_unlock(&t->stats_lock);
}

void tpm_stats_get(struct tpm *t, struct tpm_stats *out)
{
	pthread_mutex_lock(&t->stats_lock);
	*out = t->stats;
	pthread_mutex_unlock(&t->stats_lock);
}

void tpm_stats_reset(struct tpm *t)
{
	pthread_mutex_lock(&t->stats_lock);
	memset(&t->stats, 0, sizeof(t->stats));
	pthread_mutex_unlock(&t->stats_lock);
}

/* A TPM format-1 error about a command parameter (the caller's input). */
int tpm_rc_is_param_error(TSS2_RC rc)
{
	return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) &&
	       (rc & TPM2_RC_P);
}

/* The TPM's error number without its handle/parameter/session position, so
 * that "TPM_RC_POLICY_FAIL on session 1" compares equal to TPM2_RC_POLICY_FAIL. */
TSS2_RC tpm_rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc;
}

int tpm_ek_index(TPMI_ALG_PUBLIC alg)
{
	return alg == TPM2_ALG_RSA ? 0 : 1;
}

/* The EK a caller names: one of the two TCG default templates. */
int tpm_ek_alg_check(TPMI_ALG_PUBLIC ek_alg)
{
	if (ek_alg != TPM2_ALG_RSA && ek_alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "ek_alg 0x%04x is neither RSA (0x0001) nor ECC (0x0023)", ek_alg);
	return 0;
}

static int tpm_getcap(struct tpm *t, TPM2_CAP cap, uint32_t prop, uint32_t count,
		      TPMS_CAPABILITY_DATA **out)
{
	TPMI_YES_NO more = 0;

	*out = NULL;
	return ESYS(t, GetCapability, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, cap, prop, count,
		    &more, out);
}

/* Whether a handle (NV index, persistent object) exists, without provoking a
 * TPM error for the usual "absent" case. */
int tpm_handle_present(struct tpm *t, TPM2_HANDLE h, int *present)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	int r;

	*present = 0;
	if ((r = tpm_getcap(t, TPM2_CAP_HANDLES, h, 1, &cap)) != 0)
		goto out;
	*present = cap->data.handles.count >= 1 && cap->data.handles.handle[0] == h;
	r = 0;
out:
	Esys_Free(cap);
	return r;
}

int tpm_transient_count(struct tpm *t, uint32_t *count)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	int r;

	*count = 0;
	if ((r = tpm_ready(t)) != 0)
		return r;
	if ((r = tpm_getcap(t, TPM2_CAP_HANDLES, (uint32_t)TPM2_HT_TRANSIENT << 24, TPM2_MAX_CAP_HANDLES, &cap)) != 0)
		goto out;
	*count = cap->data.handles.count;
	r = 0;
out:
	Esys_Free(cap);
	return r;
}

int tpm_flush(struct tpm *t, ESYS_TR *h)
{
	int r = 0;

	if (*h != ESYS_TR_NONE && *h != ESYS_TR_PASSWORD)
		r = ESYS(t, FlushContext, *h);
	*h = ESYS_TR_NONE;
	return r;
}

int tpm_context_reload(struct tpm *t, TPMS_CONTEXT **saved, const char *what, ESYS_TR *h)
{
	int r;

	*h = ESYS_TR_NONE;
	if (!*saved)
		return 0;
	if ((r = ESYS_QUIET(t, ContextLoad, *saved, h)) == 0)
		return 1;
	*h = ESYS_TR_NONE;
	if (t->lost) {
		LOG_ERR("%s", err_detail());
		return r;
	}
	LOG_INFO("saved %s context does not load any more (%s): making it again", what, err_detail());
	Esys_Free(*saved);
	*saved = NULL;
	return 0;
}

/* Drop the TCTI and ESYS context. What lives outside them stays: the AK's
 * blobs, saved contexts (they load again unless the TPM was reset, and the
 * loaders recreate what does not), the NV cache. */
static void tpm_disconnect(struct tpm *t)
{
	for (int i = 0; i < 2; i++) {
		if (t->ectx && !t->lost && t->ek[i].persistent != ESYS_TR_NONE)
			(void)ESYS(t, TR_Close, &t->ek[i].persistent);
		t->ek[i].persistent = ESYS_TR_NONE;
		t->ek[i].persistent_checked = 0;
	}
	if (t->ectx)
		Esys_Finalize(&t->ectx);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	t->ectx = NULL;
	t->tcti = NULL;
	t->lost = 1;
}

/* What to look at when the TCTI cannot reach a TPM, by the TCTI's kind. */
static const char *tcti_hint(const char *conf)
{
	if (!conf[0] || !strncmp(conf, "device", 6))
		return "is there a TPM? The device (default /dev/tpmrm0) must exist and be readable and "
		       "writable by this user (group tss)";
	if (!strncmp(conf, "swtpm", 5) || !strncmp(conf, "mssim", 5))
		return "is the software TPM running and listening there? (swtpm socket --tpm2 --server "
		       "type=tcp,port=P --ctrl type=tcp,port=P+1 --flags startup-clear)";
	return "is the TCTI's library (libtss2-tcti-NAME.so.0) installed and its configuration right?";
}

/* Connect to the TPM (TCTI and ESYS context), start it if nobody has, and
 * read what we need of its properties. On failure t is left disconnected. */
static int tpm_connect(struct tpm *t)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TSS2_RC rc;
	int r;

	rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		char why[256];

		tpmwire_rc_err(rc, AERR_TPM, "Tss2_TctiLdr_Initialize", 0);
		snprintf(why, sizeof(why), "%s", err_detail());
		r = err_set(AERR_TPM, "TCTI '%s': %s: %s", t->tcti_conf, why, tcti_hint(t->tcti_conf));
		goto out;
	}
	if ((r = tpm_esys(t, Esys_Initialize(&t->ectx, t->tcti, NULL), "Esys_Initialize", 0)) != 0)
		goto out;
	if ((r = ESYS_QUIET(t, Startup, TPM2_SU_CLEAR)) != 0) {
		if (t->last_rc != TPM2_RC_INITIALIZE) {
			LOG_ERR("%s", err_detail());
			goto out;
		}
		err_clear(); /* already started: what a running system looks like */
	}
	/* NV reads go in chunks of what the TPM accepts per command. */
	t->nv_chunk = 1024;
	if ((r = tpm_getcap(t, TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &cap)) != 0)
		goto out;
	if (cap->data.tpmProperties.count >= 1 &&
	    cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
	    cap->data.tpmProperties.tpmProperty[0].value > 0) {
		uint32_t v = cap->data.tpmProperties.tpmProperty[0].value;
		t->nv_chunk = v < sizeof(((TPM2B_MAX_NV_BUFFER *)0)->buffer)
			? (uint16_t)v : (uint16_t)sizeof(((TPM2B_MAX_NV_BUFFER *)0)->buffer);
	}
	Esys_Free(cap);
	cap = NULL;
	if ((r = tpm_getcap(t, TPM2_CAP_PCRS, 0, 1, &cap)) != 0)
		goto out;
	t->banks = cap->data.assignedPCR;
	t->lost = 0;
	r = 0;
out:
	Esys_Free(cap);
	if (r != 0)
		tpm_disconnect(t);
	return r;
}

/* Every public operation starts here: after a lost connection (the TPM or
 * its simulator restarted, a TCTI error mid-command) the ESYS context is
 * unusable for good, so set up a new one rather than fail forever. */
int tpm_ready(struct tpm *t)
{
	if (!t->lost)
		return 0;
	LOG_WARN("connection to the TPM was lost: connecting again");
	tpm_disconnect(t);
	return tpm_connect(t);
}

int tpm_open(const struct tpm_opts *opts, struct tpm **out)
{
	struct tpm *t = NULL;
	int r;

	*out = NULL;
	if (!opts || !opts->tcti || (opts->ek_alg != TPM2_ALG_RSA && opts->ek_alg != TPM2_ALG_ECC) ||
	    (opts->ak_alg != TPM2_ALG_RSA && opts->ak_alg != TPM2_ALG_ECC))
		return err_set(AERR_INVALID_ARG, "tpm_open: tcti, ek_alg and ak_alg are required");
	/* We log decoded codes ourselves with context; the TSS's own log would
	 * repeat every tolerated failure on stderr. An explicit TSS2_LOG wins. */
	setenv("TSS2_LOG", log_get_level() >= LOG_LEVEL_DEBUG ? "all+error" : "all+none", 0);
	if (!(t = calloc(1, sizeof(*t))))
		return err_set(AERR_ALLOC, "tpm_open");
	t->ek_alg = opts->ek_alg;
	t->ak_alg = opts->ak_alg;
	t->no_cache = opts->no_context_cache;
	pthread_mutex_init(&t->stats_lock, NULL);
	for (int i = 0; i < 2; i++)
		t->ek[i].persistent = ESYS_TR_NONE;
	if (strlen(opts->tcti) >= sizeof(t->tcti_conf)) {
		r = err_set(AERR_INVALID_ARG, "tcti '%.40s...' is longer than %zu characters", opts->tcti,
			    sizeof(t->tcti_conf) - 1);
		goto out;
	}
	strcpy(t->tcti_conf, opts->tcti);
	if ((r = tpm_connect(t)) != 0)
		goto out;
	*out = t;
	t = NULL; /* transferred */
out:
	tpm_close(t);
	return r;
}

void tpm_close(struct tpm *t)
{
	int i;

	if (!t)
		return;
	tpm_disconnect(t);
	for (i = 0; i < 2; i++)
		Esys_Free(t->ek[i].saved);
	Esys_Free(t->ak.saved);
	for (i = 0; i < (int)t->nv_cached; i++)
		free(t->nv_cache[i].data);
	pthread_mutex_destroy(&t->stats_lock);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}
