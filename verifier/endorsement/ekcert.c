/* EK and platform certificate validation with OpenSSL.
 *
 * Trust model:
 * - Self-signed certificates from the trust directory are the only anchors;
 *   every other certificate there is merely offered to chain building.
 *   X509_V_FLAG_PARTIAL_CHAIN is never set, so a chain must end at one of
 *   those self-signed anchors.
 * - Expiry is not enforced (X509_V_ERR_CERT_HAS_EXPIRED is excused at any
 *   depth). TPMs stay in service for a decade or more, vendor intermediates
 *   expire in the meantime (Infineon "IFX TPM EK Intermediate CA 01" expired
 *   2025-10-20 while TPMs certified by it are still deployed), and an EK
 *   certificate's notAfter says nothing about the key's current security:
 *   freshness comes from credential activation and quotes. Signatures, CA
 *   flags, path length and critical extensions are always enforced, and a
 *   certificate that is not yet valid is rejected (it can only come from a
 *   broken clock or a misissued certificate).
 * - EK certificates legitimately carry critical extensions OpenSSL does not
 *   process (subjectDirectoryAttributes with the TPM specification). The
 *   verify callback excuses X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION only when
 *   every critical extension of that certificate is on the TCG list below.
 * - No purpose (sslclient, ...) is required: EK certificates carry the TCG
 *   EKU 2.23.133.8.1, not a TLS one. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define LOG_MODULE "ekcert"
#include "array.h"
#include "crypto.h"
#include "endorsement/ekcert.h"
#include "file.h"
#include "log.h"
#include "endorsement/platformcert.h"
#include "tpmpub.h"

/* EK certificates are ~1-2 KiB (NV indices hold at most a few KiB). */
#define EKCERT_MAX_DER (64 * 1024)
/* A trust-store file larger than this is not a certificate bundle. */
#define EKCERT_MAX_FILE (4 * 1024 * 1024)

struct ekcert_trust {
	X509_STORE *store;     /* self-signed anchors only */
	STACK_OF(X509) *inter; /* everything else: untrusted, for chain building */
	STACK_OF(X509) *all;   /* anchors and intermediates: attribute-cert issuer lookup */
	size_t n_anchors, n_inter;
	char dir[512];         /* where they were read from, for the operator's messages */
};

/* Critical extensions an EK certificate (or its CAs) may carry (TCG EK
 * Credential Profile). Anything else marked critical fails the chain. */
static const int ekcert_known_critical[] = {
	NID_subject_alt_name,             /* TPM manufacturer/model/version dirName; critical when subject is empty */
	NID_basic_constraints,
	NID_key_usage,
	NID_certificate_policies,
	NID_subject_directory_attributes, /* TPM specification / security assertions */
	NID_ext_key_usage,                /* 2.23.133.8.1 */
	NID_authority_key_identifier,
	NID_subject_key_identifier,
};

/* Critical extensions a platform attribute certificate may carry. */
static const int platformcert_known_critical[] = {
	NID_subject_alt_name, NID_certificate_policies, NID_authority_key_identifier,
	NID_info_access, NID_crl_distribution_points, NID_subject_directory_attributes,
};

static int nid_in(int nid, const int *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == nid)
			return 1;
	return 0;
}

/* 1 when every critical extension in exts is on the list; otherwise 0 and
 * the first offending OID in oid. */
static int critical_known(const STACK_OF(X509_EXTENSION) *exts, const int *list, size_t n, char *oid,
			  size_t oid_len)
{
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);

		if (!X509_EXTENSION_get_critical(ext) || nid_in(OBJ_obj2nid(obj), list, n))
			continue;
		if (oid)
			OBJ_obj2txt(oid, (int)oid_len, obj, 1);
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- loading */

static int trust_contains(const struct ekcert_trust *t, X509 *x)
{
	int i;

	for (i = 0; i < sk_X509_num(t->all); i++)
		if (X509_cmp(sk_X509_value(t->all, i), x) == 0)
			return 1;
	return 0;
}

static int is_self_signed(X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	int ok;

	/* Names match (and AKI/SKI if present), and the signature really is by
	 * its own key: a self-issued certificate signed by another key (key
	 * rollover) is not an anchor. */
	ok = X509_check_issued(x, x) == X509_V_OK && pk && X509_verify(x, pk) == 1;
	ERR_clear_error();
	return ok;
}

static int trust_add(struct ekcert_trust *t, X509 *x, const char *file)
{
	char subject[256];

	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	if (trust_contains(t, x)) {
		LOG_DEBUG("%s: duplicate of an already loaded certificate (%s)", file, subject);
		return 0;
	}
	if (is_self_signed(x)) {
		if (!X509_STORE_add_cert(t->store, x))
			return crypto_ossl_err(AERR_CONFIG, file);
		t->n_anchors++;
		LOG_DEBUG("%s: anchor %s", file, subject);
	} else {
		if (!sk_X509_push(t->inter, x))
			return err_set(AERR_ALLOC, "trust store");
		X509_up_ref(x);
		t->n_inter++;
		LOG_DEBUG("%s: intermediate %s", file, subject);
	}
	if (!sk_X509_push(t->all, x))
		return err_set(AERR_ALLOC, "trust store");
	X509_up_ref(x);
	return 0;
}


static int has_cert_extension(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && (!strcasecmp(dot, ".cer") || !strcasecmp(dot, ".crt") || !strcasecmp(dot, ".der") ||
		       !strcasecmp(dot, ".pem"));
}

static int load_pem(struct ekcert_trust *t, const uint8_t *buf, size_t len, const char *path)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	X509 *x = NULL;
	unsigned long e;
	int r = AERR_CONFIG, n = 0;

	if (!bio)
		return err_set(AERR_ALLOC, "BIO");
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		r = trust_add(t, x, path);
		X509_free(x);
		if (r != 0)
			goto out;
		n++;
	}
	/* The loop ends with "no start line" when the data is exhausted; any
	 * other error is a damaged certificate block. */
	e = ERR_peek_last_error();
	if (n == 0 || (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))) {
		r = crypto_ossl_err(AERR_CONFIG, path);
		goto out;
	}
	ERR_clear_error();
	r = 0;
out:
	BIO_free(bio);
	return r;
}

static int load_file(struct ekcert_trust *t, const char *path, const char *name)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const unsigned char *p;
	X509 *x = NULL;
	int r;

	if (file_read_all(path, EKCERT_MAX_FILE, &buf, &len) != 0) {
		/* The detail names the file and why. */
		r = err_wrap(AERR_CONFIG, "trust store");
		goto out;
	}
	buf[len] = 0;
	if (memmem(buf, len, "-----BEGIN CERTIFICATE-----", 27)) {
		r = load_pem(t, buf, len, path);
		goto out;
	}
	p = buf;
	if (len > 0 && buf[0] == 0x30 && (x = d2i_X509(NULL, &p, (long)len)) != NULL && p == buf + len) {
		r = trust_add(t, x, path);
		goto out;
	}
	ERR_clear_error();
	if (has_cert_extension(name)) {
		/* It claims to be a certificate: a damaged trust store must not
		 * silently shrink. */
		r = err_set(AERR_CONFIG, "%s: neither a PEM certificate nor a single DER certificate%s", path,
			    x ? " (trailing bytes)" : "");
		goto out;
	}
	LOG_DEBUG("%s: no certificate, skipped", path);
	r = 0;
out:
	X509_free(x);
	free(buf);
	return r;
}

int ekcert_trust_load(const char *dir, struct ekcert_trust **out)
{
	struct ekcert_trust *t = NULL;
	struct dirent **names = NULL;
	char path[4096];
	struct stat st;
	int n = -1, i, r = AERR_CONFIG;

	*out = NULL;
	if (!dir || !*dir)
		return err_set(AERR_CONFIG, "EK trust directory not set");
	if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
		r = err_set(AERR_CONFIG, "EK trust directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if (!(t = calloc(1, sizeof(*t))) || !(t->store = X509_STORE_new()) || !(t->inter = sk_X509_new_null()) ||
	    !(t->all = sk_X509_new_null())) {
		r = err_set(AERR_ALLOC, "trust store");
		goto out;
	}
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
			r = err_set(AERR_CONFIG, "path too long: %s/%s", dir, name);
			goto out;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((r = load_file(t, path, name)) != 0)
			goto out;
	}
	if (t->n_anchors == 0) {
		r = err_set(AERR_CONFIG, "EK trust directory %s holds no self-signed root certificate", dir);
		goto out;
	}
	LOG_INFO("EK trust store %s: %zu roots, %zu intermediates", dir, t->n_anchors, t->n_inter);
	*out = t;
	t = NULL; /* transferred */
	r = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	ekcert_trust_free(t);
	return r;
}

void ekcert_trust_free(struct ekcert_trust *t)
{
	if (!t)
		return;
	X509_STORE_free(t->store);
	sk_X509_pop_free(t->inter, X509_free);
	sk_X509_pop_free(t->all, X509_free);
	free(t);
}

void ekcert_trust_count(const struct ekcert_trust *t, size_t *anchors, size_t *intermediates)
{
	if (anchors)
		*anchors = t ? t->n_anchors : 0;
	if (intermediates)
		*intermediates = t ? t->n_inter : 0;
}

/* ----------------------------------------------------------- verification */

/* Filled by the callback for the error detail. */
struct verify_note {
	char oid[80];
	int expired_excused;
};

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct verify_note *note = X509_STORE_CTX_get_app_data(ctx);
	X509 *x = X509_STORE_CTX_get_current_cert(ctx);

	if (ok)
		return 1;
	switch (X509_STORE_CTX_get_error(ctx)) {
	case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
		if (x && critical_known(X509_get0_extensions(x), ekcert_known_critical,
					ARRAY_LEN(ekcert_known_critical),
					note ? note->oid : NULL, note ? sizeof(note->oid) : 0)) {
			X509_STORE_CTX_set_error(ctx, X509_V_OK);
			return 1;
		}
		return 0;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		/* See the trust model at the top of this file. */
		if (note)
			note->expired_excused = 1;
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	return 0;
}

static int chain_verify(const struct ekcert_trust *t, X509 *x, int code, const char *what)
{
	X509_STORE_CTX *ctx = NULL;
	struct verify_note note;
	char subject[256] = "";
	int r = code, e, rc;

	memset(&note, 0, sizeof(note));
	if (!(ctx = X509_STORE_CTX_new()) || !X509_STORE_CTX_init(ctx, t->store, x, t->inter)) {
		r = crypto_ossl_err(AERR_ALLOC, "X509_STORE_CTX");
		goto out;
	}
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	X509_STORE_CTX_set_app_data(ctx, &note);
	rc = X509_verify_cert(ctx);
	if (rc != 1) {
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);

		e = X509_STORE_CTX_get_error(ctx);
		if (bad)
			X509_NAME_oneline(X509_get_subject_name(bad), subject, sizeof(subject));
		r = err_set(code, "%s: %s%s%s (depth %d, subject \"%s\")", what,
			    e == X509_V_OK ? "verification failed" : X509_verify_cert_error_string(e),
			    note.oid[0] ? ": " : "", note.oid, X509_STORE_CTX_get_error_depth(ctx), subject);
		/* No anchor for the chain: say which CA is missing and where the
		 * operator adds it (the directory is the operator's, not the peer's). */
		if (bad && (e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
			    e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || e == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)) {
			char issuer[256] = "";

			X509_NAME_oneline(X509_get_issuer_name(bad), issuer, sizeof(issuer));
			r = err_private(code, "no certificate of issuer \"%s\" among the %zu roots and %zu intermediates "
					"read from %s: add that CA's certificate there if this TPM's vendor is trusted",
					issuer, t->n_anchors, t->n_inter, t->dir);
		}
		goto out;
	}
	if (note.expired_excused)
		LOG_DEBUG("%s: chain contains an expired certificate (accepted by policy)", what);
	r = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return r;
}

/* Strict DER certificate: whole buffer, nothing after it. */
static int cert_parse(const uint8_t *der, size_t len, int code, const char *what, X509 **out)
{
	const unsigned char *p = der;

	*out = NULL;
	if (!der || len == 0)
		return err_set(code, "%s: missing", what);
	if (len > EKCERT_MAX_DER)
		return err_set(code, "%s: %zu bytes exceeds the %d-byte limit", what, len, EKCERT_MAX_DER);
	if (!(*out = d2i_X509(NULL, &p, (long)len)))
		return crypto_ossl_err(code, what);
	if (p != der + len) {
		X509_free(*out);
		*out = NULL;
		return err_set(code, "%s: %zu trailing bytes after the certificate", what, (size_t)(der + len - p));
	}
	return 0;
}

static int key_matches(X509 *x, const TPMT_PUBLIC *ekpub, int code, const char *what)
{
	EVP_PKEY *ek = NULL, *ck = X509_get0_pubkey(x);
	char why[256];
	int r = code;

	if (!ck) {
		r = crypto_ossl_err(code, "certificate public key unusable");
		goto out;
	}
	if (!ekpub) {
		r = err_set(code, "%s: no EK public to compare with", what);
		goto out;
	}
	if ((r = tpmpub_to_evp(ekpub, &ek)) != 0) {
		snprintf(why, sizeof(why), "%s", err_detail());
		r = err_set(code, "%s: EK public unusable: %s", what, why);
		goto out;
	}
	/* EVP_PKEY_eq compares type and public components: RSA n and e, EC
	 * group and point. */
	if (EVP_PKEY_eq(ck, ek) != 1) {
		r = err_set(code, "%s: certificate key (%s, %d bits) is not the EK public (%s, %d bits)", what,
			    OBJ_nid2sn(EVP_PKEY_get_base_id(ck)), EVP_PKEY_get_bits(ck),
			    OBJ_nid2sn(EVP_PKEY_get_base_id(ek)), EVP_PKEY_get_bits(ek));
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(ek);
	return r;
}

int ekcert_verify(const struct ekcert_trust *t, const uint8_t *der, size_t len, const TPMT_PUBLIC *ekpub)
{
	X509 *x = NULL;
	int r;

	if (!t)
		return err_set(AERR_INVALID_ARG, "ekcert_verify: no trust store");
	if ((r = cert_parse(der, len, AERR_EK_CERT, "EK certificate", &x)) != 0)
		goto out;
	if ((r = chain_verify(t, x, AERR_EK_CERT_CHAIN, "EK certificate")) != 0)
		goto out;
	if ((r = key_matches(x, ekpub, AERR_EK_CERT_KEY, "EK certificate")) != 0)
		goto out;
	r = 0;
out:
	X509_free(x);
	return r;
}

/* ------------------------------------------------ platform certificates */

/* Signature over acinfo by a certificate of t named as the issuer; that
 * certificate must itself chain to an anchor. */
static int ac_signature(const struct ekcert_trust *t, const struct platformcert *pc)
{
	EVP_MD_CTX *mctx = NULL;
	const EVP_MD *md;
	X509 *issuer = NULL;
	int md_nid = NID_undef, pk_nid = NID_undef, alg_nid, i, named = 0, r = AERR_PLATFORM_CERT;
	char name[256];

	X509_NAME_oneline(pc->issuer, name, sizeof(name));
	alg_nid = OBJ_obj2nid(pc->sig_alg->algorithm);
	if (!OBJ_find_sigid_algs(alg_nid, &md_nid, &pk_nid) || md_nid == NID_undef ||
	    !(md = EVP_get_digestbynid(md_nid)) ||
	    (pk_nid != NID_rsaEncryption && pk_nid != NID_X9_62_id_ecPublicKey)) {
		r = err_set(AERR_PLATFORM_CERT, "platform certificate: unsupported signature algorithm %s",
			    OBJ_nid2ln(alg_nid));
		goto out;
	}
	if (md_nid == NID_sha1)
		LOG_WARN("platform certificate from %s is signed with SHA-1", name);
	for (i = 0; i < sk_X509_num(t->all) && !issuer; i++) {
		X509 *c = sk_X509_value(t->all, i);
		EVP_PKEY *pk = X509_get0_pubkey(c);

		if (X509_NAME_cmp(X509_get_subject_name(c), pc->issuer) != 0 || !pk)
			continue;
		named++;
		if (EVP_PKEY_get_base_id(pk) != (pk_nid == NID_rsaEncryption ? EVP_PKEY_RSA : EVP_PKEY_EC))
			continue;
		EVP_MD_CTX_free(mctx);
		if (!(mctx = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(mctx, NULL, md, NULL, pk) != 1) {
			r = crypto_ossl_err(AERR_PLATFORM_CERT, "platform certificate: verify init");
			goto out;
		}
		if (EVP_DigestVerify(mctx, pc->sig, pc->sig_len, pc->tbs, pc->tbs_len) == 1)
			issuer = c;
		ERR_clear_error();
	}
	if (!issuer) {
		r = named ? err_set(AERR_PLATFORM_CERT, "platform certificate: signature does not verify with "
							"any trusted certificate named %s", name)
			  : err_set(AERR_PLATFORM_CERT, "platform certificate: issuer %s not in the trust store", name);
		goto out;
	}
	if ((r = chain_verify(t, issuer, AERR_PLATFORM_CERT, "platform certificate issuer")) != 0)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(mctx);
	return r;
}

static int ac_verify(const struct ekcert_trust *t, const uint8_t *der, size_t len, const uint8_t *ek_der,
		     size_t ek_len)
{
	struct platformcert *pc = NULL;
	X509 *ek = NULL;
	char oid[80] = "";
	int r;

	if ((r = platformcert_parse(der, len, &pc)) != 0)
		goto out;
	if (!critical_known(pc->exts, platformcert_known_critical,
			    ARRAY_LEN(platformcert_known_critical), oid,
			    sizeof(oid))) {
		r = err_set(AERR_PLATFORM_CERT, "platform certificate: unhandled critical extension %s", oid);
		goto out;
	}
	if ((r = ac_signature(t, pc)) != 0)
		goto out;
	/* Only signed content is trusted from here on. */
	if (X509_cmp_current_time(pc->not_before) != -1) {
		r = err_set(AERR_PLATFORM_CERT, "platform certificate: not yet valid");
		goto out;
	}
	if (X509_cmp_current_time(pc->not_after) != 1) {
		r = err_set(AERR_PLATFORM_CERT, "platform certificate: expired");
		goto out;
	}
	if ((r = cert_parse(ek_der, ek_len, AERR_PLATFORM_CERT, "EK certificate for platform binding", &ek)) != 0)
		goto out;
	if (X509_NAME_cmp(pc->holder_issuer, X509_get_issuer_name(ek)) != 0 ||
	    ASN1_INTEGER_cmp(pc->holder_serial, X509_get0_serialNumber(ek)) != 0) {
		r = err_set(AERR_PLATFORM_CERT,
			    "platform certificate: holder (issuer + serial) does not name the EK certificate");
		goto out;
	}
	r = 0;
out:
	X509_free(ek);
	platformcert_free(pc);
	return r;
}

int platformcert_verify(const struct ekcert_trust *t, const uint8_t *der, size_t len, const uint8_t *ek_cert_der,
			size_t ek_cert_len, const TPMT_PUBLIC *ekpub)
{
	X509 *x = NULL;
	int r;

	if (!t)
		return err_set(AERR_INVALID_ARG, "platformcert_verify: no trust store");
	if (!der || len == 0)
		return err_set(AERR_PLATFORM_CERT, "platform certificate: missing");
	if (platformcert_is_attribute_cert(der, len)) {
		r = ac_verify(t, der, len, ek_cert_der, ek_cert_len);
		goto out;
	}
	/* swtpm's kind: an ordinary certificate over the EK key. */
	if ((r = cert_parse(der, len, AERR_PLATFORM_CERT, "platform certificate", &x)) != 0 ||
	    (r = chain_verify(t, x, AERR_PLATFORM_CERT, "platform certificate")) != 0 ||
	    (r = key_matches(x, ekpub, AERR_PLATFORM_CERT, "platform certificate")) != 0)
		goto out;
	r = 0;
out:
	X509_free(x);
	return r;
}
