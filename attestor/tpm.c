/* The attestor's TPM operations over ESYS. The only file that includes
 * tss2_esys.h; every Esys_* call goes through ESYS()/ESYS_QUIET(), and every
 * TSS2_RC becomes a project error in tpmwire_rc_err() alone. */
#define LOG_MODULE "tpm"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "crypto.h"
#include "log.h"
#include "tpm.h"
#include "tpmpub.h"
#include "tpmwire.h"

/* NV indices whose contents we keep: two EK certificates, the platform one. */
#define TPM_NV_CACHE 3

/* Rounds of read-PCRs/quote before giving up when PCRs keep changing. */
#define TPM_QUOTE_ROUNDS 4

struct tpm_ek_slot {
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

static int tpm_ready(struct tpm *t);

/* The one place a TSS2_RC becomes text and a project error. */
static int tpm_esys(struct tpm *t, TSS2_RC rc, const char *cmd, int quiet)
{
	t->last_rc = rc;
	if (rc == TSS2_RC_SUCCESS)
		return 0;
	if (tpmwire_rc_lost(rc))
		t->lost = 1;
	return tpmwire_rc_err(rc, AERR_TPM, cmd, quiet);
}

static uint64_t tpm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Account one ESYS call. cmd is the string literal of the ESYS() expansion;
 * the table is short, so a linear search costs nothing next to a TPM command. */
static void tpm_stats_add(struct tpm *t, const char *cmd, uint64_t t0)
{
	uint64_t ns = tpm_now_ns() - t0;
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

/* Every Esys_* call is timed (the benchmark's reference: the time an ESYS
 * client cannot avoid for the TPM commands it sends) and its TSS2_RC checked. */
#define TPM_ESYS_CALL(t, fn, quiet, ...)                                                 \
	({                                                                              \
		uint64_t t0_ = tpm_now_ns();                                            \
		TSS2_RC rc_ = Esys_##fn((t)->ectx, __VA_ARGS__);                        \
		tpm_stats_add((t), #fn, t0_);                                           \
		tpm_esys((t), rc_, "Esys_" #fn, (quiet));                               \
	})
#define ESYS(t, fn, ...) TPM_ESYS_CALL(t, fn, 0, __VA_ARGS__)
/* For calls whose failure is an expected outcome the caller handles. */
#define ESYS_QUIET(t, fn, ...) TPM_ESYS_CALL(t, fn, 1, __VA_ARGS__)

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
static int tpm_rc_is_param_error(TSS2_RC rc)
{
	return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) &&
	       (rc & TPM2_RC_P);
}

TPMI_ALG_PUBLIC tpm_alg_from_name(const char *name)
{
	if (name && strcmp(name, "rsa") == 0)
		return TPM2_ALG_RSA;
	if (name && strcmp(name, "ecc") == 0)
		return TPM2_ALG_ECC;
	return TPM2_ALG_ERROR;
}

const char *tpm_alg_name(TPMI_ALG_PUBLIC alg)
{
	switch (alg) {
	case TPM2_ALG_RSA: return "rsa";
	case TPM2_ALG_ECC: return "ecc";
	default: return NULL;
	}
}

static int tpm_ek_index(TPMI_ALG_PUBLIC alg)
{
	return alg == TPM2_ALG_RSA ? 0 : 1;
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
static int tpm_handle_present(struct tpm *t, TPM2_HANDLE h, int *present)
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

static int tpm_flush(struct tpm *t, ESYS_TR *h)
{
	int r = 0;

	if (*h != ESYS_TR_NONE)
		r = ESYS(t, FlushContext, *h);
	*h = ESYS_TR_NONE;
	return r;
}

/* Template-defined parts equal (everything but unique, whose size must still
 * be the template's: the TPM fills it from the EPS). */
static int tpm_public_matches_template(const TPMT_PUBLIC *have, const TPMT_PUBLIC *tmpl)
{
	TPMT_PUBLIC a = *have;
	uint8_t ba[sizeof(TPMT_PUBLIC)], bb[sizeof(TPMT_PUBLIC)];
	size_t la = 0, lb = 0;

	if (have->type != tmpl->type)
		return 0;
	if (have->type == TPM2_ALG_RSA && have->unique.rsa.size != tmpl->unique.rsa.size)
		return 0;
	if (have->type == TPM2_ALG_ECC && (have->unique.ecc.x.size != tmpl->unique.ecc.x.size ||
					   have->unique.ecc.y.size != tmpl->unique.ecc.y.size))
		return 0;
	a.unique = tmpl->unique;
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&a, ba, sizeof(ba), &la) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(tmpl, bb, sizeof(bb), &lb) != TSS2_RC_SUCCESS)
		return 0;
	return la == lb && memcmp(ba, bb, la) == 0;
}

/* Use a persistent EK at the well-known handle when it is the template's key. */
static int tpm_ek_check_persistent(struct tpm *t, TPMI_ALG_PUBLIC alg)
{
	struct tpm_ek_slot *ek = &t->ek[tpm_ek_index(alg)];
	TPM2_HANDLE h = alg == TPM2_ALG_RSA ? TPM_PERSISTENT_EK_RSA : TPM_PERSISTENT_EK_ECC;
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_PUBLIC *pub = NULL;
	TPMT_PUBLIC tmpl;
	int present = 0, r;

	ek->persistent_checked = 1;
	if ((r = tpm_handle_present(t, h, &present)) != 0 || !present)
		goto out;
	if ((r = ESYS(t, TR_FromTPMPublic, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr)) != 0)
		goto out;
	if ((r = ESYS(t, ReadPublic, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL)) != 0)
		goto out;
	tpmpub_ek_template(alg, &tmpl);
	if (!tpm_public_matches_template(&pub->publicArea, &tmpl)) {
		LOG_INFO("persistent handle 0x%08x is not the default %s EK: creating the EK instead",
			 h, tpm_alg_name(alg));
		goto out;
	}
	LOG_DEBUG("using persistent %s EK at 0x%08x", tpm_alg_name(alg), h);
	ek->persistent = tr;
	tr = ESYS_TR_NONE; /* transferred */
	ek->pub = *pub;
	ek->have_pub = 1;
	r = 0;
out:
	if (tr != ESYS_TR_NONE)
		(void)ESYS(t, TR_Close, &tr);
	Esys_Free(pub);
	return r;
}

/* Load the EK of alg. *flush says whether the caller must flush *h (a
 * transient copy) or not (persistent). */
static int tpm_ek_load(struct tpm *t, TPMI_ALG_PUBLIC alg, ESYS_TR *h, int *flush)
{
	struct tpm_ek_slot *ek = &t->ek[tpm_ek_index(alg)];
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC in = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION no_pcrs = { 0 };
	TPM2B_PUBLIC *out_pub = NULL;
	ESYS_TR obj = ESYS_TR_NONE;
	int r;

	*h = ESYS_TR_NONE;
	*flush = 0;
	if (alg != TPM2_ALG_RSA && alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "EK algorithm 0x%04x is neither RSA nor ECC", alg);
	if (!ek->persistent_checked && (r = tpm_ek_check_persistent(t, alg)) != 0)
		goto out;
	if (ek->persistent != ESYS_TR_NONE) {
		*h = ek->persistent;
		r = 0;
		goto out;
	}
	if (ek->saved) {
		if ((r = ESYS_QUIET(t, ContextLoad, ek->saved, &obj)) == 0) {
			*h = obj;
			obj = ESYS_TR_NONE; /* transferred */
			*flush = 1;
			r = 0;
			goto out;
		}
		if (t->lost) { /* not the context's fault: no TPM to load anything into */
			LOG_ERR("%s", err_detail());
			goto out;
		}
		LOG_INFO("saved %s EK context does not load any more (%s): recreating the EK",
			 tpm_alg_name(alg), err_detail());
		Esys_Free(ek->saved);
		ek->saved = NULL;
	}
	tpmpub_ek_template(alg, &in.publicArea);
	if ((r = ESYS(t, CreatePrimary, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		      ESYS_TR_NONE, &sens, &in, &outside, &no_pcrs, &obj, &out_pub, NULL, NULL,
		      NULL)) != 0)
		goto out;
	if (ek->have_pub && (ek->pub.size != out_pub->size ||
			     memcmp(&ek->pub.publicArea.unique, &out_pub->publicArea.unique,
				    sizeof(TPMU_PUBLIC_ID)) != 0))
		LOG_WARN("%s EK changed (endorsement seed changed?): the AK no longer loads",
			 tpm_alg_name(alg));
	ek->pub = *out_pub;
	ek->have_pub = 1;
	if (!t->no_cache && ESYS(t, ContextSave, obj, &ek->saved) != 0)
		ek->saved = NULL; /* only a cache: go on without it */
	*h = obj;
	obj = ESYS_TR_NONE; /* transferred */
	*flush = 1;
	r = 0;
out:
	if (obj != ESYS_TR_NONE)
		(void)tpm_flush(t, &obj);
	Esys_Free(out_pub);
	return r;
}

static void tpm_ek_release(struct tpm *t, ESYS_TR *h, int flush)
{
	if (flush)
		(void)tpm_flush(t, h);
	*h = ESYS_TR_NONE;
}

/* A policy session satisfying the EK's PolicyA, for one command that uses
 * the EK (as parent or as decryption key). The caller flushes it. */
static int tpm_ek_session(struct tpm *t, ESYS_TR *out)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR s = ESYS_TR_NONE;
	int r;

	*out = ESYS_TR_NONE;
	if ((r = ESYS(t, StartAuthSession, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
		      ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &s)) != 0)
		goto out;
	/* Keep the session past the command so that it is flushed in one place,
	 * whether the command succeeds or fails. */
	if ((r = ESYS(t, TRSess_SetAttributes, s, TPMA_SESSION_CONTINUESESSION,
		      TPMA_SESSION_CONTINUESESSION)) != 0)
		goto out;
	if ((r = ESYS(t, PolicySecret, ESYS_TR_RH_ENDORSEMENT, s, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		      ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL)) != 0)
		goto out;
	*out = s;
	s = ESYS_TR_NONE; /* transferred */
	r = 0;
out:
	(void)tpm_flush(t, &s);
	return r;
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

/* Connect to the TPM (TCTI and ESYS context), start it if nobody has, and
 * read what we need of its properties. On failure t is left disconnected. */
static int tpm_connect(struct tpm *t)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TSS2_RC rc;
	int r;

	rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpmwire_rc_err(rc, AERR_TPM, "Tss2_TctiLdr_Initialize", 0);
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
static int tpm_ready(struct tpm *t)
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

/* Length of the DER element at the start of buf, or 0 when it is not one
 * that fits: NV indices may be larger than the certificate they hold. */
static size_t tpm_der_length(const uint8_t *buf, size_t len)
{
	size_t n, hdr, i, body = 0;

	if (len < 2 || buf[0] != 0x30)
		return 0;
	if (buf[1] < 0x80) {
		hdr = 2;
		body = buf[1];
	} else {
		n = buf[1] & 0x7f;
		if (n == 0 || n > 3 || len < 2 + n)
			return 0;
		for (i = 0; i < n; i++)
			body = (body << 8) | buf[2 + i];
		hdr = 2 + n;
	}
	return body <= len - hdr ? hdr + body : 0;
}

/* Contents of an NV index; *out NULL when the index does not exist or was
 * never written (a TPM without that certificate). */
static int tpm_nv_read(struct tpm *t, TPM2_HANDLE index, uint8_t **out, size_t *out_len)
{
	ESYS_TR tr = ESYS_TR_NONE, auth;
	TPM2B_NV_PUBLIC *nvpub = NULL;
	TPM2B_MAX_NV_BUFFER *chunk = NULL;
	uint8_t *buf = NULL;
	size_t size, off, der;
	int present = 0, r;
	TPMA_NV attrs;

	*out = NULL;
	*out_len = 0;
	if ((r = tpm_handle_present(t, index, &present)) != 0 || !present)
		goto out;
	if ((r = ESYS(t, TR_FromTPMPublic, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr)) != 0)
		goto out;
	if ((r = ESYS(t, NV_ReadPublic, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nvpub, NULL)) != 0)
		goto out;
	attrs = nvpub->nvPublic.attributes;
	size = nvpub->nvPublic.dataSize;
	if (!(attrs & TPMA_NV_WRITTEN) || size == 0) {
		LOG_DEBUG("NV 0x%08x defined but empty", index);
		r = 0;
		goto out;
	}
	if (size > TPM_MAX_CERT) {
		r = err_set(AERR_TOO_LARGE, "NV 0x%08x holds %zu bytes (limit %d)", index, size,
			    TPM_MAX_CERT);
		goto out;
	}
	/* Certificate indices are readable with their own empty auth or the
	 * owner's; pick what the index allows. */
	if (attrs & TPMA_NV_AUTHREAD)
		auth = tr;
	else if (attrs & TPMA_NV_OWNERREAD)
		auth = ESYS_TR_RH_OWNER;
	else if (attrs & TPMA_NV_PPREAD)
		auth = ESYS_TR_RH_PLATFORM;
	else {
		r = err_set(AERR_UNSUPPORTED, "NV 0x%08x is not readable with an empty auth", index);
		goto out;
	}
	if (!(buf = malloc(size))) {
		r = err_set(AERR_ALLOC, "NV 0x%08x", index);
		goto out;
	}
	for (off = 0; off < size; off += chunk->size) {
		uint16_t n = size - off < t->nv_chunk ? (uint16_t)(size - off) : t->nv_chunk;

		Esys_Free(chunk);
		chunk = NULL;
		if ((r = ESYS(t, NV_Read, auth, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
			      (uint16_t)off, &chunk)) != 0)
			goto out;
		if (chunk->size != n) {
			r = err_set(AERR_TPM, "NV 0x%08x: asked %u bytes at %zu, got %u", index, n, off,
				    chunk->size);
			goto out;
		}
		memcpy(buf + off, chunk->buffer, n);
	}
	der = tpm_der_length(buf, size);
	*out_len = der ? der : size;
	*out = buf;
	buf = NULL; /* transferred */
	r = 0;
out:
	if (tr != ESYS_TR_NONE)
		(void)ESYS(t, TR_Close, &tr);
	Esys_Free(nvpub);
	Esys_Free(chunk);
	free(buf);
	return r;
}

/* tpm_nv_read once per index for the life of t (unless no_cache); later calls
 * return a copy of what was read, absence included. */
static int tpm_nv_read_cached(struct tpm *t, TPM2_HANDLE index, uint8_t **out, size_t *out_len)
{
	uint8_t *data = NULL;
	size_t len = 0, i;
	int r;

	*out = NULL;
	*out_len = 0;
	for (i = 0; i < t->nv_cached; i++)
		if (t->nv_cache[i].index == index)
			break;
	if (i == t->nv_cached) {
		if ((r = tpm_nv_read(t, index, &data, &len)) != 0)
			return r;
		if (t->no_cache || i == TPM_NV_CACHE) {
			*out = data;
			*out_len = len;
			return 0;
		}
		t->nv_cache[i].index = index;
		t->nv_cache[i].data = data;
		t->nv_cache[i].len = len;
		t->nv_cached++;
	}
	if (!t->nv_cache[i].data)
		return 0;
	if (!(*out = malloc(t->nv_cache[i].len)))
		return err_set(AERR_ALLOC, "NV 0x%08x copy", index);
	memcpy(*out, t->nv_cache[i].data, t->nv_cache[i].len);
	*out_len = t->nv_cache[i].len;
	return 0;
}

/* The EK's public area, creating the EK once when it is not known yet. */
static int tpm_ek_public(struct tpm *t, TPMI_ALG_PUBLIC alg, const TPM2B_PUBLIC **pub)
{
	struct tpm_ek_slot *ek = &t->ek[tpm_ek_index(alg)];
	ESYS_TR h = ESYS_TR_NONE;
	int flush = 0, r;

	*pub = NULL;
	if (!ek->have_pub) {
		if ((r = tpm_ek_load(t, alg, &h, &flush)) != 0)
			return r;
		tpm_ek_release(t, &h, flush);
	}
	*pub = &ek->pub;
	return 0;
}

void tpm_endorsement_free(struct tpm_endorsement *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < TPM_MAX_EKS; i++)
		free(e->eks[i].cert);
	free(e->platform_cert);
	free(e);
}

int tpm_endorsement(struct tpm *t, struct tpm_endorsement **out)
{
	static const struct {
		TPMI_ALG_PUBLIC alg;
		TPM2_HANDLE nv;
	} kinds[] = { { TPM2_ALG_RSA, TPM_NV_EK_CERT_RSA }, { TPM2_ALG_ECC, TPM_NV_EK_CERT_ECC } };
	struct tpm_endorsement *e = NULL;
	const TPM2B_PUBLIC *pub;
	uint8_t *cert = NULL;
	size_t cert_len = 0, i;
	int r;

	*out = NULL;
	if ((r = tpm_ready(t)) != 0)
		return r;
	if (!(e = calloc(1, sizeof(*e))))
		return err_set(AERR_ALLOC, "endorsement");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct tpm_ek *ek = &e->eks[e->neks];

		if ((r = tpm_nv_read_cached(t, kinds[i].nv, &cert, &cert_len)) != 0)
			goto out;
		if (!cert && kinds[i].alg != t->ek_alg)
			continue;
		if ((r = tpm_ek_public(t, kinds[i].alg, &pub)) != 0)
			goto out;
		ek->alg = kinds[i].alg;
		if ((r = tpmpub_marshal(&pub->publicArea, ek->pub, sizeof(ek->pub), &ek->pub_len)) != 0)
			goto out;
		ek->cert = cert;
		ek->cert_len = cert_len;
		cert = NULL; /* transferred */
		e->neks++;
	}
	if ((r = tpm_nv_read_cached(t, TPM_NV_PLATFORM_CERT, &e->platform_cert,
				    &e->platform_cert_len)) != 0)
		goto out;
	*out = e;
	e = NULL; /* transferred */
	r = 0;
out:
	free(cert);
	tpm_endorsement_free(e);
	return r;
}

int tpm_ak_ready(const struct tpm *t)
{
	return t->ak.have;
}

int64_t tpm_ak_create_cost_ms(const struct tpm *t)
{
	if (t->ak.have)
		return 0;
	/* RSA key generation in swtpm: prime search, 66-276 ms measured; plus an
	 * RSA EK CreatePrimary when not cached. */
	return (t->ak_alg == TPM2_ALG_RSA ? 400 : 20) + (t->ek_alg == TPM2_ALG_RSA ? 60 : 5);
}

static int tpm_ak_create(struct tpm *t)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC in = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION no_pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int ek_flush = 0, r;

	if ((r = tpm_ek_load(t, t->ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, &s)) != 0)
		goto out;
	tpmpub_ak_template(t->ak_alg, &in.publicArea);
	if ((r = ESYS(t, Create, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &in, &outside, &no_pcrs,
		      &priv, &pub, NULL, NULL, NULL)) != 0)
		goto out;
	if ((r = tpmpub_name(&pub->publicArea, &t->ak.name)) != 0)
		goto out;
	t->ak.priv = *priv;
	t->ak.pub = *pub;
	Esys_Free(t->ak.saved);
	t->ak.saved = NULL;
	t->ak.have = 1;
	LOG_INFO("created a new AK (%s) under the %s EK", tpm_alg_name(t->ak_alg), tpm_alg_name(t->ek_alg));
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	Esys_Free(priv);
	Esys_Free(pub);
	return r;
}

/* Load the AK (creating it on first use); the caller flushes *h. */
static int tpm_ak_load(struct tpm *t, ESYS_TR *h)
{
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE, obj = ESYS_TR_NONE;
	int ek_flush = 0, r;

	*h = ESYS_TR_NONE;
	if (!t->ak.have && (r = tpm_ak_create(t)) != 0)
		goto out;
	if (t->ak.saved) {
		if ((r = ESYS_QUIET(t, ContextLoad, t->ak.saved, &obj)) == 0) {
			*h = obj;
			obj = ESYS_TR_NONE; /* transferred */
			r = 0;
			goto out;
		}
		if (t->lost) { /* not the context's fault: no TPM to load anything into */
			LOG_ERR("%s", err_detail());
			goto out;
		}
		LOG_INFO("saved AK context does not load any more (%s): reloading the AK",
			 err_detail());
		Esys_Free(t->ak.saved);
		t->ak.saved = NULL;
	}
	if ((r = tpm_ek_load(t, t->ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, &s)) != 0)
		goto out;
	if ((r = ESYS(t, Load, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &t->ak.priv, &t->ak.pub, &obj)) != 0)
		goto out;
	if (!t->no_cache && ESYS(t, ContextSave, obj, &t->ak.saved) != 0)
		t->ak.saved = NULL; /* only a cache */
	*h = obj;
	obj = ESYS_TR_NONE; /* transferred */
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	(void)tpm_flush(t, &obj);
	return r;
}

int tpm_ak_renew(struct tpm *t)
{
	/* The old AK's blobs and saved context are simply forgotten: it was never
	 * persistent, and a verifier that activated it learns of the new one in
	 * the next exchange. */
	int r = tpm_ready(t);

	if (r != 0)
		return r;
	Esys_Free(t->ak.saved);
	t->ak.saved = NULL;
	t->ak.have = 0;
	OPENSSL_cleanse(&t->ak.priv, sizeof(t->ak.priv));
	return tpm_ak_create(t);
}

int tpm_ak_get(struct tpm *t, struct tpm_ak *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = tpm_ready(t)) != 0)
		return r;
	if (!t->ak.have && (r = tpm_ak_create(t)) != 0)
		return r;
	if ((r = tpmpub_marshal(&t->ak.pub.publicArea, out->pub, sizeof(out->pub), &out->pub_len)) != 0)
		return r;
	out->name = t->ak.name;
	out->parent_ek_alg = t->ek_alg;
	return 0;
}

/* The EK a caller names: one of the two TCG default templates. */
static int tpm_ek_alg_check(TPMI_ALG_PUBLIC ek_alg)
{
	if (ek_alg != TPM2_ALG_RSA && ek_alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "ek_alg 0x%04x is neither RSA (0x0001) nor ECC (0x0023)", ek_alg);
	return 0;
}

int tpm_activate_credential(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *ak_name,
			    size_t ak_name_len, const uint8_t *id_object, size_t id_object_len,
			    const uint8_t *enc_secret, size_t enc_secret_len, uint8_t *secret,
			    size_t cap, size_t *secret_len)
{
	TPM2B_NAME name;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_DIGEST *cert_info = NULL;
	ESYS_TR ak = ESYS_TR_NONE, ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int ek_flush = 0, r;

	*secret_len = 0;
	if ((r = tpm_ready(t)) != 0 || (r = tpm_ek_alg_check(ek_alg)) != 0)
		goto out;
	if ((r = tpmwire_credential(ak_name, ak_name_len, id_object, id_object_len, enc_secret, enc_secret_len,
				    &name, &blob, &seed)) != 0)
		goto out;
	if (!t->ak.have) {
		r = err_set(AERR_STATE, "no AK yet: call GetAttestationKey first");
		goto out;
	}
	if (name.size != t->ak.name.size || memcmp(name.name, t->ak.name.name, name.size) != 0) {
		r = err_set(AERR_STATE, "ak_name is not the name of this attestor's AK");
		goto out;
	}
	if ((r = tpm_ak_load(t, &ak)) != 0)
		goto out;
	if ((r = tpm_ek_load(t, ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, &s)) != 0)
		goto out;
	/* AK: admin role by its (empty) password, adminWithPolicy is clear. */
	if ((r = ESYS(t, ActivateCredential, ak, ek, ESYS_TR_PASSWORD, s, ESYS_TR_NONE, &blob, &seed,
		      &cert_info)) != 0) {
		if (tpm_rc_is_param_error(t->last_rc))
			r = err_set(AERR_CREDENTIAL, "the TPM rejected the credential: %s",
				    Tss2_RC_Decode(t->last_rc));
		goto out;
	}
	if (cert_info->size > cap) {
		r = err_set(AERR_INTERNAL, "certInfo of %u bytes exceeds %zu", cert_info->size, cap);
		goto out;
	}
	memcpy(secret, cert_info->buffer, cert_info->size);
	*secret_len = cert_info->size;
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	(void)tpm_flush(t, &ak);
	if (cert_info) {
		OPENSSL_cleanse(cert_info, sizeof(*cert_info));
		Esys_Free(cert_info);
	}
	return r;
}

int tpm_check_selection(struct tpm *t, const TPML_PCR_SELECTION *sel)
{
	uint32_t i, j, k;
	int active;

	if (sel->count == 0)
		return err_set(AERR_INVALID_ARG, "empty PCR selection");
	if (sel->count > PCRSEL_MAX_BANKS)
		return err_set(AERR_INVALID_ARG, "%u PCR banks selected, at most %d", sel->count,
			       PCRSEL_MAX_BANKS);
	for (i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *b = &sel->pcrSelections[i];

		if (!crypto_digest_size(b->hash))
			return err_set(AERR_INVALID_ARG, "PCR bank 0x%04x is not a known hash", b->hash);
		for (j = 0; j < i; j++)
			if (sel->pcrSelections[j].hash == b->hash)
				return err_set(AERR_INVALID_ARG, "PCR bank %s selected twice",
					       crypto_alg_name(b->hash));
		if (b->sizeofSelect != 3)
			return err_set(AERR_INVALID_ARG, "PCR bank %s: sizeofSelect %u, expected 3",
				       crypto_alg_name(b->hash), b->sizeofSelect);
		if (!(b->pcrSelect[0] | b->pcrSelect[1] | b->pcrSelect[2]))
			return err_set(AERR_INVALID_ARG, "PCR bank %s: no PCR selected",
				       crypto_alg_name(b->hash));
		active = 0;
		for (k = 0; k < t->banks.count; k++) {
			const TPMS_PCR_SELECTION *a = &t->banks.pcrSelections[k];

			if (a->hash == b->hash && a->sizeofSelect >= 1 &&
			    (a->pcrSelect[0] | a->pcrSelect[1] | a->pcrSelect[2]))
				active = 1;
		}
		if (!active)
			return err_set(AERR_INVALID_ARG, "PCR bank %s is not allocated in this TPM",
				       crypto_alg_name(b->hash));
	}
	return 0;
}

static int tpm_values_bank(struct pcr_values *v, TPMI_ALG_HASH alg)
{
	uint32_t i;

	for (i = 0; i < v->nbanks; i++)
		if (v->banks[i].alg == alg)
			return (int)i;
	return -1;
}

/* All selected PCR values, in as many PCR_Read calls as needed (a TPM returns
 * at most 8 digests per call). *changed is set when the update counter moved
 * between calls: the values would be inconsistent. */
static int tpm_pcr_read_all(struct tpm *t, const TPML_PCR_SELECTION *sel, struct pcr_values *v,
			    uint32_t *counter, int *changed)
{
	TPML_PCR_SELECTION want = *sel;
	TPML_PCR_SELECTION *got = NULL;
	TPML_DIGEST *dig = NULL;
	uint32_t i, pcr, c = 0, k, calls;
	int r = AERR_INTERNAL, bi;

	memset(v, 0, sizeof(*v));
	*changed = 0;
	v->nbanks = sel->count;
	for (i = 0; i < sel->count; i++)
		v->banks[i].alg = sel->pcrSelections[i].hash;
	for (calls = 0;; calls++) {
		uint32_t left = 0;

		for (i = 0; i < want.count; i++)
			left |= want.pcrSelections[i].pcrSelect[0] | want.pcrSelections[i].pcrSelect[1] |
				want.pcrSelections[i].pcrSelect[2];
		if (!left)
			break;
		if (calls > PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS) {
			r = err_set(AERR_TPM, "PCR_Read makes no progress");
			goto out;
		}
		Esys_Free(got);
		Esys_Free(dig);
		got = NULL;
		dig = NULL;
		if ((r = ESYS(t, PCR_Read, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &want, &c, &got,
			      &dig)) != 0)
			goto out;
		if (calls == 0)
			*counter = c;
		else if (c != *counter)
			*changed = 1;
		k = 0;
		for (i = 0; i < got->count; i++) {
			const TPMS_PCR_SELECTION *b = &got->pcrSelections[i];
			size_t dsize = crypto_digest_size(b->hash);
			uint32_t j;

			if ((bi = tpm_values_bank(v, b->hash)) < 0) {
				r = err_set(AERR_TPM, "PCR_Read returned unrequested bank 0x%04x", b->hash);
				goto out;
			}
			for (pcr = 0; pcr < PCRSEL_NUM_PCRS && pcr / 8 < b->sizeofSelect; pcr++) {
				if (!(b->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
					continue;
				if (k >= dig->count || dig->digests[k].size != dsize) {
					r = err_set(AERR_TPM, "PCR_Read: digest list does not match its selection");
					goto out;
				}
				memcpy(v->banks[bi].value[pcr], dig->digests[k].buffer, dsize);
				v->banks[bi].mask |= 1u << pcr;
				k++;
				/* done with this one */
				for (j = 0; j < want.count; j++)
					if (want.pcrSelections[j].hash == b->hash)
						want.pcrSelections[j].pcrSelect[pcr / 8] &= ~(1u << (pcr % 8));
			}
		}
		if (k != dig->count || k == 0) {
			r = err_set(AERR_TPM, "PCR_Read returned %u digests for %u selected", dig->count, k);
			goto out;
		}
	}
	r = 0;
out:
	Esys_Free(got);
	Esys_Free(dig);
	return r;
}

/* H_alg(values of sel, in selection order): what TPM2_Quote puts in pcrDigest. */
static int tpm_pcr_digest(TPMI_ALG_HASH alg, const TPML_PCR_SELECTION *sel,
			  const struct pcr_values *v, uint8_t *out)
{
	uint8_t buf[PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS * CRYPTO_MAX_DIGEST];
	size_t len = 0, dsize;
	uint32_t i, pcr;

	for (i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *b = &sel->pcrSelections[i];

		dsize = crypto_digest_size(b->hash);
		for (pcr = 0; pcr < PCRSEL_NUM_PCRS; pcr++) {
			if (!(b->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
				continue;
			memcpy(buf + len, v->banks[i].value[pcr], dsize);
			len += dsize;
		}
	}
	return crypto_digest(alg, buf, len, out);
}

int tpm_quote(struct tpm *t, const uint8_t *nonce, size_t nonce_len,
	      const TPML_PCR_SELECTION *sel, struct tpm_quote *out)
{
	TPM2B_DATA qd = { 0 };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL }; /* the AK's own */
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL;
	TPMS_ATTEST attest;
	ESYS_TR ak = ESYS_TR_NONE;
	TPMI_ALG_HASH halg;
	uint8_t digest[CRYPTO_MAX_DIGEST];
	uint32_t counter = 0;
	int changed = 0, round, r;
	size_t off;

	memset(out, 0, sizeof(*out));
	if (nonce_len < TPM_NONCE_MIN || nonce_len > TPM_NONCE_MAX) {
		r = err_set(AERR_INVALID_ARG, "nonce of %zu bytes, expected %d..%d", nonce_len,
			    TPM_NONCE_MIN, TPM_NONCE_MAX);
		goto out;
	}
	if ((r = tpm_ready(t)) != 0 || (r = tpm_check_selection(t, sel)) != 0)
		goto out;
	qd.size = (UINT16)nonce_len;
	memcpy(qd.buffer, nonce, nonce_len);
	if ((r = tpm_ak_load(t, &ak)) != 0)
		goto out;
	halg = t->ak.pub.publicArea.type == TPM2_ALG_RSA
		? t->ak.pub.publicArea.parameters.rsaDetail.scheme.details.anySig.hashAlg
		: t->ak.pub.publicArea.parameters.eccDetail.scheme.details.anySig.hashAlg;
	for (round = 0;; round++) {
		if (round == TPM_QUOTE_ROUNDS) {
			r = err_set(AERR_TPM, "PCRs kept changing during %d quote attempts", round);
			goto out;
		}
		Esys_Free(quoted);
		Esys_Free(sig);
		quoted = NULL;
		sig = NULL;
		if ((r = tpm_pcr_read_all(t, sel, &out->values, &counter, &changed)) != 0)
			goto out;
		if (changed)
			continue;
		if ((r = ESYS(t, Quote, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd, &scheme,
			      sel, &quoted, &sig)) != 0)
			goto out;
		if ((r = TPMWIRE_PARSE(TPMS_ATTEST, quoted->attestationData, quoted->size, &attest,
				   "TPM2_Quote output")) != 0)
			goto out;
		if (attest.type != TPM2_ST_ATTEST_QUOTE) {
			r = err_set(AERR_TPM, "TPM2_Quote returned attestation type 0x%04x", attest.type);
			goto out;
		}
		if ((r = tpm_pcr_digest(halg, sel, &out->values, digest)) != 0)
			goto out;
		/* The values must be the quoted ones: compare with what the TPM
		 * signed, and read again if a PCR was extended in between. */
		if (attest.attested.quote.pcrDigest.size == crypto_digest_size(halg) &&
		    memcmp(attest.attested.quote.pcrDigest.buffer, digest,
			   attest.attested.quote.pcrDigest.size) == 0)
			break;
		LOG_DEBUG("PCRs changed between PCR_Read and Quote (round %d): again", round);
	}
	off = 0;
	if (Tss2_MU_TPM2B_ATTEST_Marshal(quoted, out->attest, sizeof(out->attest), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "marshal TPM2B_ATTEST");
		goto out;
	}
	out->attest_len = off;
	off = 0;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, out->sig, sizeof(out->sig), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "marshal TPMT_SIGNATURE");
		goto out;
	}
	out->sig_len = off;
	out->pcr_update_counter = counter;
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	(void)tpm_flush(t, &ak);
	Esys_Free(quoted);
	Esys_Free(sig);
	return r;
}

/* ---------------------------------------------------------------- secrets */

/* The TPM's error number without its handle/parameter/session position, so
 * that "TPM_RC_POLICY_FAIL on session 1" compares equal to TPM2_RC_POLICY_FAIL. */
static TSS2_RC tpm_rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc;
}

int tpm_import(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	       const uint8_t *dup, size_t dup_len, const uint8_t *seed, size_t seed_len,
	       uint8_t *priv, size_t cap, size_t *priv_len)
{
	TPM2B_PUBLIC p;
	TPM2B_PRIVATE d;
	TPM2B_ENCRYPTED_SECRET sd;
	TPM2B_DATA no_inner_key = { 0 };
	TPMT_SYM_DEF_OBJECT no_inner = { .algorithm = TPM2_ALG_NULL };
	TPM2B_PRIVATE *out = NULL;
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int ek_flush = 0, r;
	size_t off = 0;

	*priv_len = 0;
	if ((r = tpm_ready(t)) != 0 || (r = tpm_ek_alg_check(ek_alg)) != 0)
		goto out;
	if ((r = tpmwire_import(pub, pub_len, dup, dup_len, seed, seed_len, &p, &d, &sd)) != 0)
		goto out;
	if ((r = tpm_ek_load(t, ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, &s)) != 0)
		goto out;
	if ((r = ESYS_QUIET(t, Import, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &no_inner_key, &p, &d, &sd,
			    &no_inner, &out)) != 0) {
		/* Parameter errors are the blob's: a seed the EK cannot decrypt
		 * (another TPM's EK), an outer HMAC that fails (altered bytes or
		 * public area), attributes a duplicate may not have. */
		if (tpm_rc_is_param_error(t->last_rc))
			r = err_set(AERR_IMPORT,
				    "the TPM refused the import blob (%s): it was not made for this TPM's %s EK, or it was altered",
				    Tss2_RC_Decode(t->last_rc), tpm_alg_name(ek_alg));
		else if (tpm_rc_base(t->last_rc) == TPM2_RC_FAILURE && ek_alg == TPM2_ALG_RSA)
			/* libtpms 0.9.2 (Debian 12's swtpm) enters failure mode when
			 * the OAEP decryption of the seed fails, instead of TPM_RC_VALUE. */
			r = err_set(AERR_TPM,
				    "TPM2_Import put the TPM in failure mode (%s): the encrypted seed does not decrypt with this TPM's RSA EK (a blob for another TPM, or altered); the TPM must be restarted",
				    Tss2_RC_Decode(t->last_rc));
		else
			LOG_ERR("%s", err_detail());
		goto out;
	}
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(out, priv, cap, &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "TPM2B_PRIVATE of %u bytes does not fit %zu", out->size, cap);
		goto out;
	}
	*priv_len = off;
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	Esys_Free(out);
	return r;
}

/* Load a stored secret under the EK of ek_alg; the caller flushes *h. */
static int tpm_secret_load(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const TPM2B_PUBLIC *pub,
			   const TPM2B_PRIVATE *priv, ESYS_TR *h)
{
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int ek_flush = 0, r;

	*h = ESYS_TR_NONE;
	if ((r = tpm_ek_load(t, ek_alg, &ek, &ek_flush)) != 0)
		goto out;
	if ((r = tpm_ek_session(t, &s)) != 0)
		goto out;
	if ((r = ESYS_QUIET(t, Load, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, h)) != 0) {
		*h = ESYS_TR_NONE;
		/* The private blob is wrapped by the EK that imported it: another
		 * TPM, a changed endorsement seed or altered bytes all end here. */
		if (tpm_rc_is_param_error(t->last_rc))
			r = err_set(AERR_IMPORT,
				    "the secret does not load under this TPM's %s EK (%s): imported by another TPM or EK, or altered",
				    tpm_alg_name(ek_alg), Tss2_RC_Decode(t->last_rc));
		else
			LOG_ERR("%s", err_detail());
		goto out;
	}
	r = 0;
out:
	(void)tpm_flush(t, &s);
	tpm_ek_release(t, &ek, ek_flush);
	return r;
}

/* A policy session (hash = the object's nameAlg) that has run PolicyPCR(sel)
 * with an empty pcrDigest: the TPM folds in its current values, so whether
 * they are the sealed ones shows when the command checks the authPolicy.
 * Objects from our verifier chain PolicyCommandCode(cc) after PolicyPCR (so
 * that the policy grants this one use and not, say, TPM2_Duplicate of a
 * private key); objects whose policy is PolicyPCR alone (tpm2-tools) do not.
 * When the digest after PolicyPCR is not the object's authPolicy, cc is added;
 * a digest that still differs (PCRs changed) fails at the command. */
static int tpm_pcr_session(struct tpm *t, const TPMT_PUBLIC *obj, const TPML_PCR_SELECTION *sel, TPM2_CC cc,
			   ESYS_TR *out)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TPM2B_DIGEST current = { 0 };
	TPM2B_DIGEST *digest = NULL;
	ESYS_TR s = ESYS_TR_NONE;
	int r;

	*out = ESYS_TR_NONE;
	if ((r = ESYS(t, StartAuthSession, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
		      ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, obj->nameAlg, &s)) != 0)
		goto out;
	/* Flushed by the caller in one place, whatever the command does. */
	if ((r = ESYS(t, TRSess_SetAttributes, s, TPMA_SESSION_CONTINUESESSION,
		      TPMA_SESSION_CONTINUESESSION)) != 0)
		goto out;
	if ((r = ESYS(t, PolicyPCR, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, sel)) != 0)
		goto out;
	if ((r = ESYS(t, PolicyGetDigest, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &digest)) != 0)
		goto out;
	if ((digest->size != obj->authPolicy.size ||
	     memcmp(digest->buffer, obj->authPolicy.buffer, digest->size) != 0) &&
	    (r = ESYS(t, PolicyCommandCode, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, cc)) != 0)
		goto out;
	*out = s;
	s = ESYS_TR_NONE; /* transferred */
	r = 0;
out:
	Esys_Free(digest);
	(void)tpm_flush(t, &s);
	return r;
}

enum tpm_use_op { TPM_USE_UNSEAL, TPM_USE_SIGN };

struct tpm_use {
	enum tpm_use_op op;
	const TPM2B_DIGEST *digest;        /* SIGN */
	TPM2B_SENSITIVE_DATA *data;        /* UNSEAL out, Esys-allocated */
	TPMT_SIGNATURE *sig;               /* SIGN out, Esys-allocated */
};

/* Load, PolicyPCR, Unseal or Sign, flush: the part tpm_unseal and tpm_sign share. */
static int tpm_secret_use(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub,
			  size_t pub_len, const uint8_t *priv, size_t priv_len,
			  const TPML_PCR_SELECTION *sel, struct tpm_use *u)
{
	static const TPMT_SIG_SCHEME rsassa = {
		.scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256,
	};
	/* A NULL ticket: the key is not restricted, the TPM needs no proof
	 * that it hashed the data itself. */
	static const TPMT_TK_HASHCHECK no_ticket = { .tag = TPM2_ST_HASHCHECK,
						     .hierarchy = TPM2_RH_NULL };
	TPM2B_PUBLIC p;
	TPM2B_PRIVATE v;
	ESYS_TR obj = ESYS_TR_NONE, s = ESYS_TR_NONE;
	TSS2_RC base;
	int round, r;

	if ((r = tpm_ready(t)) != 0 || (r = tpm_ek_alg_check(ek_alg)) != 0)
		goto out;
	if ((r = tpmwire_stored(pub, pub_len, priv, priv_len, &p, &v)) != 0)
		goto out;
	if (u->op == TPM_USE_SIGN &&
	    (p.publicArea.type != TPM2_ALG_RSA ||
	     !(p.publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
	     (p.publicArea.objectAttributes & TPMA_OBJECT_RESTRICTED))) {
		r = err_set(AERR_INVALID_ARG, "not an unrestricted RSA signing key");
		goto out;
	}
	if (u->op == TPM_USE_UNSEAL && p.publicArea.type != TPM2_ALG_KEYEDHASH) {
		r = err_set(AERR_INVALID_ARG, "not a sealed data object (type 0x%04x)", p.publicArea.type);
		goto out;
	}
	if ((r = tpm_check_selection(t, sel)) != 0)
		goto out;
	if ((r = tpm_secret_load(t, ek_alg, &p, &v, &obj)) != 0)
		goto out;
	for (round = 0;; round++) {
		(void)tpm_flush(t, &s);
		if ((r = tpm_pcr_session(t, &p.publicArea, sel,
					 u->op == TPM_USE_UNSEAL ? TPM2_CC_Unseal : TPM2_CC_Sign, &s)) != 0)
			goto out;
		if (u->op == TPM_USE_UNSEAL)
			r = ESYS_QUIET(t, Unseal, obj, s, ESYS_TR_NONE, ESYS_TR_NONE, &u->data);
		else
			r = ESYS_QUIET(t, Sign, obj, s, ESYS_TR_NONE, ESYS_TR_NONE, u->digest, &rsassa,
				       &no_ticket, &u->sig);
		if (r == 0)
			break;
		base = tpm_rc_base(t->last_rc);
		/* A PCR extended between PolicyPCR and the command: the policy
		 * may still hold with the new values, so evaluate it again. */
		if (base == TPM2_RC_PCR_CHANGED && round + 1 < TPM_POLICY_ROUNDS) {
			LOG_DEBUG("PCRs changed during the policy session (round %d): again", round);
			continue;
		}
		if (base == TPM2_RC_POLICY_FAIL) {
			r = err_set(AERR_PCR_POLICY,
				    "the PCR policy is no longer met (PCRs changed since the secret was sealed)");
			LOG_DEBUG("%s: %s", u->op == TPM_USE_UNSEAL ? "Unseal" : "Sign",
				  Tss2_RC_Decode(t->last_rc));
		} else if (tpm_rc_is_param_error(t->last_rc) || base == TPM2_RC_ATTRIBUTES ||
			   base == TPM2_RC_KEY || base == TPM2_RC_SCHEME) {
			r = err_set(AERR_INVALID_ARG, "the TPM refused to %s with this object: %s",
				    u->op == TPM_USE_UNSEAL ? "unseal" : "sign", Tss2_RC_Decode(t->last_rc));
		} else {
			LOG_ERR("%s", err_detail());
		}
		goto out;
	}
	r = 0;
out:
	(void)tpm_flush(t, &s);
	(void)tpm_flush(t, &obj);
	return r;
}

int tpm_unseal(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	       const uint8_t *priv, size_t priv_len, const TPML_PCR_SELECTION *sel,
	       uint8_t *out, size_t cap, size_t *out_len)
{
	struct tpm_use u = { .op = TPM_USE_UNSEAL };
	int r;

	*out_len = 0;
	if ((r = tpm_secret_use(t, ek_alg, pub, pub_len, priv, priv_len, sel, &u)) != 0)
		goto out;
	if (u.data->size > cap) {
		r = err_set(AERR_TOO_LARGE, "sealed data of %u bytes exceeds %zu", u.data->size, cap);
		goto out;
	}
	memcpy(out, u.data->buffer, u.data->size);
	*out_len = u.data->size;
	r = 0;
out:
	if (u.data) {
		OPENSSL_cleanse(u.data, sizeof(*u.data));
		Esys_Free(u.data);
	}
	return r;
}

int tpm_sign(struct tpm *t, TPMI_ALG_PUBLIC ek_alg, const uint8_t *pub, size_t pub_len,
	     const uint8_t *priv, size_t priv_len, const TPML_PCR_SELECTION *sel,
	     const uint8_t *digest, size_t digest_len, struct tpm_signature *out)
{
	TPM2B_DIGEST dg = { 0 };
	struct tpm_use u = { .op = TPM_USE_SIGN, .digest = &dg };
	size_t off = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (digest_len != 32) {
		r = err_set(AERR_INVALID_ARG, "digest of %zu bytes, expected 32 (SHA-256)", digest_len);
		goto out;
	}
	dg.size = 32;
	memcpy(dg.buffer, digest, 32);
	if ((r = tpm_secret_use(t, ek_alg, pub, pub_len, priv, priv_len, sel, &u)) != 0)
		goto out;
	if (u.sig->sigAlg != TPM2_ALG_RSASSA || u.sig->signature.rsassa.hash != TPM2_ALG_SHA256 ||
	    u.sig->signature.rsassa.sig.size > sizeof(out->raw)) {
		r = err_set(AERR_TPM, "TPM2_Sign returned scheme 0x%04x, not RSASSA-SHA256",
			    u.sig->sigAlg);
		goto out;
	}
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(u.sig, out->wire, sizeof(out->wire), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INTERNAL, "marshal TPMT_SIGNATURE");
		goto out;
	}
	out->wire_len = off;
	memcpy(out->raw, u.sig->signature.rsassa.sig.buffer, u.sig->signature.rsassa.sig.size);
	out->raw_len = u.sig->signature.rsassa.sig.size;
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	Esys_Free(u.sig);
	return r;
}
