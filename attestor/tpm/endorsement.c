/* The endorsement: the EKs (a persistent one of the template that its
 * certificate certifies, else created from the template and kept as a
 * saved context), and the EK and platform certificates read from NV, only
 * from indices the platform defined (cached: they do not change while we
 * run). */
#define LOG_MODULE "tpm"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "array.h"
#include "crypto.h"
#include "log.h"
#include "tpm/tpm_priv.h"
#include "tpmpub.h"
#include "tpmwire.h"

/* Where a TPM keeps each template's EK certificate and, when its maker
 * persisted one, the EK (EK Credential Profile 2.x, TCG Provisioning
 * Guidance). */
static const struct {
	TPM2_HANDLE nv_cert;
	TPM2_HANDLE persistent;
} tpm_ek_handles[EK_KINDS] = {
	[EK_L1_RSA2048] = { 0x01c00002u, 0x81010001u },
	[EK_L2_P256] = { 0x01c0000au, 0x81010002u },
	[EK_H3_P384] = { 0x01c00016u, 0x81010016u },
	[EK_H6_RSA3072] = { 0x01c0001cu, 0x8101001cu },
};

/* Certified EKs of templates this attestor does not use: named when the
 * key type has no certificate of its own, so that "no EK certificate"
 * does not send an operator looking for a certificate that is there. */
static const struct {
	TPMI_ALG_PUBLIC alg;
	TPM2_HANDLE nv_cert;
	const char *what;
} tpm_ek_unused[] = {
	{ TPM2_ALG_ECC, 0x01c00018u, "ECC P-521 (H-4)" },
	{ TPM2_ALG_ECC, 0x01c0001au, "ECC SM2 P-256 (H-5)" },
	{ TPM2_ALG_RSA, 0x01c0001eu, "RSA-4096 (H-7)" },
};

static int tpm_nv_read_cached(struct tpm *t, TPM2_HANDLE index, uint8_t **out, size_t *out_len);

/* Whether NV index holds a certificate, through the cache. A slot that
 * cannot be read counts as empty here, with a warning: probing the slots
 * of a template or key type we may not use must not stop the attestor.
 * The read of the certificate it sends reports the error itself. */
static int tpm_nv_has(struct tpm *t, TPM2_HANDLE index)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int has;

	if (tpm_nv_read_cached(t, index, &data, &len) != 0) {
		LOG_WARN("NV 0x%08x: %s: taken as no certificate", index, err_detail());
		err_clear();
		return 0;
	}
	has = data != NULL;
	free(data);
	return has;
}

enum ek_kind tpm_ek_choose(struct tpm *t, TPMI_ALG_PUBLIC alg)
{
	struct tpm_ek_slot *ek = &t->ek[tpm_ek_index(alg)];
	enum ek_kind low = ek_kind_low(alg), high = ek_kind_high(alg);
	int has;

	if (ek->chosen)
		return ek->kind;
	ek->kind = low;
	if (!(has = tpm_nv_has(t, tpm_ek_handles[low].nv_cert)) &&
	    (has = tpm_nv_has(t, tpm_ek_handles[high].nv_cert)))
		ek->kind = high;
	for (size_t i = 0; !has && i < ARRAY_LEN(tpm_ek_unused); i++)
		if (tpm_ek_unused[i].alg == alg && tpm_nv_has(t, tpm_ek_unused[i].nv_cert))
			LOG_WARN("the TPM's %s EK certificate (NV 0x%08x) is for %s, a template this attestor "
				 "does not use: its %s EKs are %s and %s, and neither has a certificate",
				 tpmpub_type_name(alg), tpm_ek_unused[i].nv_cert, tpm_ek_unused[i].what,
				 tpmpub_type_name(alg), ek_kind_name(low), ek_kind_name(high));
	ek->chosen = 1;
	return ek->kind;
}

/* 1 when the certificate in NV certifies pub, 0 when it does not (or
 * cannot be read), -1 when there is none. Anyone with owner authorization
 * can put a key of the template's shape at the EK's persistent handle;
 * only the certified key is the EK. */
static int tpm_ek_certified(struct tpm *t, TPM2_HANDLE nv_cert, const TPMT_PUBLIC *pub)
{
	uint8_t *der = NULL;
	size_t len = 0;
	const unsigned char *p;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	int same = 0;

	if (tpm_nv_read_cached(t, nv_cert, &der, &len) != 0) {
		LOG_WARN("NV 0x%08x: %s: the persistent EK is not used", nv_cert, err_detail());
		err_clear();
		return 0;
	}
	if (!der)
		return -1;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) && X509_get0_pubkey(x) &&
	    tpmpub_to_evp(pub, &key) == 0)
		same = EVP_PKEY_eq(X509_get0_pubkey(x), key) == 1;
	err_clear();
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);
	free(der);
	return same;
}

/* Use a persistent EK at the well-known handle when it is the template's
 * key and the one its certificate certifies. Without a certificate the
 * template's own key (CreatePrimary) is the EK by definition. */
static int tpm_ek_check_persistent(struct tpm *t, TPMI_ALG_PUBLIC alg)
{
	struct tpm_ek_slot *ek = &t->ek[tpm_ek_index(alg)];
	TPM2_HANDLE h = tpm_ek_handles[ek->kind].persistent;
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_PUBLIC *pub = NULL;
	enum ek_kind have;
	int present = 0, certified, r;

	ek->persistent_checked = 1;
	if ((r = tpm_handle_present(t, h, &present)) != 0 || !present)
		goto out;
	if ((r = ESYS(t, TR_FromTPMPublic, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr)) != 0)
		goto out;
	if ((r = ESYS(t, ReadPublic, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL)) != 0)
		goto out;
	if (ek_kind_of(&pub->publicArea, &have) != 0 || have != ek->kind) {
		err_clear();
		LOG_INFO("persistent handle 0x%08x is not the %s EK: creating the EK instead", h,
			 ek_kind_name(ek->kind));
		goto out;
	}
	if ((certified = tpm_ek_certified(t, tpm_ek_handles[ek->kind].nv_cert, &pub->publicArea)) < 0) {
		LOG_DEBUG("no %s EK certificate to show which key is the EK: creating it rather than "
			  "using persistent handle 0x%08x", ek_kind_name(ek->kind), h);
		goto out;
	}
	if (!certified) {
		LOG_WARN("persistent handle 0x%08x holds a key of the %s EK's template that its EK "
			 "certificate (NV 0x%08x) does not certify: creating the EK instead",
			 h, ek_kind_name(ek->kind), tpm_ek_handles[ek->kind].nv_cert);
		goto out;
	}
	LOG_DEBUG("using the persistent %s EK at 0x%08x", ek_kind_name(ek->kind), h);
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
int tpm_ek_load(struct tpm *t, TPMI_ALG_PUBLIC alg, ESYS_TR *h, int *flush)
{
	struct tpm_ek_slot *ek = &t->ek[tpm_ek_index(alg)];
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC in = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION no_pcrs = { 0 };
	TPM2B_PUBLIC *out_pub = NULL;
	ESYS_TR obj = ESYS_TR_NONE;
	enum ek_kind kind;
	int r;

	*h = ESYS_TR_NONE;
	*flush = 0;
	if (alg != TPM2_ALG_RSA && alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "EK algorithm 0x%04x is neither RSA nor ECC", alg);
	kind = tpm_ek_choose(t, alg);
	if (!ek->persistent_checked && (r = tpm_ek_check_persistent(t, alg)) != 0)
		goto out;
	if (ek->persistent != ESYS_TR_NONE) {
		*h = ek->persistent;
		r = 0;
		goto out;
	}
	if ((r = tpm_context_reload(t, &ek->saved, ek_kind_name(kind), h)) != 0) {
		*flush = r > 0;
		r = r > 0 ? 0 : r;
		goto out;
	}
	ek_template(kind, &in.publicArea);
	if ((r = ESYS(t, CreatePrimary, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		      ESYS_TR_NONE, &sens, &in, &outside, &no_pcrs, &obj, &out_pub, NULL, NULL,
		      NULL)) != 0)
		goto out;
	if (ek->have_pub && (ek->pub.size != out_pub->size ||
			     memcmp(&ek->pub.publicArea.unique, &out_pub->publicArea.unique,
				    sizeof(TPMU_PUBLIC_ID)) != 0))
		LOG_WARN("%s EK changed (endorsement seed changed?): the AK no longer loads", ek_kind_name(kind));
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

void tpm_ek_release(struct tpm *t, ESYS_TR *h, int flush)
{
	if (flush)
		(void)tpm_flush(t, h);
	*h = ESYS_TR_NONE;
}

int tpm_ek_session(struct tpm *t, TPMI_ALG_PUBLIC alg, ESYS_TR *out)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR s = ESYS_TR_NONE;
	int r;

	*out = ESYS_TR_NONE;
	if (ek_kind_user_auth(tpm_ek_choose(t, alg))) {
		*out = ESYS_TR_PASSWORD;
		return 0;
	}
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
	/* A TPM's maker (or its platform) defines certificate indices with
	 * platform authorization. One without TPMA_NV_PLATFORMCREATE was
	 * defined by whoever holds owner authorization, often empty: any
	 * local user could plant it to make us switch template or fail. */
	if (!(attrs & TPMA_NV_PLATFORMCREATE)) {
		LOG_WARN("NV 0x%08x was defined with owner authorization, not by the platform "
			 "(TPMA_NV_PLATFORMCREATE clear): not a certificate from the TPM's maker, ignored",
			 index);
		r = 0;
		goto out;
	}
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
	 * owner's; pick what the index allows. Its own auth only with
	 * TPMA_NV_NO_DA: a wrong guess at a DA-protected index counts towards
	 * the TPM's lockout, which hierarchy authorizations never do. */
	if ((attrs & TPMA_NV_AUTHREAD) && (attrs & TPMA_NV_NO_DA))
		auth = tr;
	else if (attrs & TPMA_NV_OWNERREAD)
		auth = ESYS_TR_RH_OWNER;
	else if (attrs & TPMA_NV_PPREAD)
		auth = ESYS_TR_RH_PLATFORM;
	else {
		r = err_set(AERR_UNSUPPORTED, "NV 0x%08x is readable only with %s", index,
			    attrs & TPMA_NV_AUTHREAD ? "its own auth, which is subject to dictionary-attack "
						       "lockout (TPMA_NV_NO_DA clear)"
						     : "an auth this attestor does not hold");
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

/* The EK of alg and its certificate into *ek; *have 0 (and ek untouched)
 * when the TPM holds no certificate for it and it is not the configured
 * ek_alg, which is sent even without one (the verifier may enroll it). */
static int tpm_endorsement_ek(struct tpm *t, TPMI_ALG_PUBLIC alg, struct tpm_ek *ek, int *have)
{
	enum ek_kind kind = tpm_ek_choose(t, alg);
	const TPM2B_PUBLIC *pub;
	uint8_t *cert = NULL;
	size_t cert_len = 0;
	int r;

	*have = 0;
	if ((r = tpm_nv_read_cached(t, tpm_ek_handles[kind].nv_cert, &cert, &cert_len)) != 0)
		return r;
	if (!cert && alg != t->ek_alg)
		return 0;
	if ((r = tpm_ek_public(t, alg, &pub)) != 0 ||
	    (r = tpmpub_marshal(&pub->publicArea, ek->pub, sizeof(ek->pub), &ek->pub_len)) != 0) {
		free(cert);
		return r;
	}
	ek->alg = alg;
	ek->cert = cert;
	ek->cert_len = cert_len;
	*have = 1;
	return 0;
}

int tpm_endorsement(struct tpm *t, struct tpm_endorsement **out)
{
	static const TPMI_ALG_PUBLIC algs[] = { TPM2_ALG_RSA, TPM2_ALG_ECC };
	struct tpm_endorsement *e = NULL;
	size_t i;
	int have, r;

	*out = NULL;
	if ((r = tpm_ready(t)) != 0)
		return r;
	if (!(e = calloc(1, sizeof(*e))))
		return err_set(AERR_ALLOC, "endorsement");
	for (i = 0; i < ARRAY_LEN(algs); i++) {
		if ((r = tpm_endorsement_ek(t, algs[i], &e->eks[e->neks], &have)) != 0) {
			if (algs[i] == t->ek_alg)
				goto out;
			/* The other key type's EK is only offered: whatever is wrong
			 * with it must not stop the attestation of the configured one. */
			LOG_WARN("the %s EK is left out of the endorsement: %s", tpmpub_type_name(algs[i]),
				 err_detail());
			err_clear();
			continue;
		}
		e->neks += have;
	}
	/* A platform certificate is evidence the verifier may ask for, never
	 * a reason not to attest: one that cannot be read is left out. */
	if (tpm_nv_read_cached(t, TPM_NV_PLATFORM_CERT, &e->platform_cert, &e->platform_cert_len) != 0) {
		LOG_WARN("the platform certificate (NV 0x%08x) is left out of the endorsement: %s",
			 TPM_NV_PLATFORM_CERT, err_detail());
		err_clear();
	}
	*out = e;
	e = NULL; /* transferred */
	r = 0;
out:
	tpm_endorsement_free(e);
	return r;
}
