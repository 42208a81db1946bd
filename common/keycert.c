/* common/keycert.h. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "hex.h"
#include "keycert.h"
#include "keyfile.h"
#include "tpmpub.h"

static int keycert_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int keycert_ca_load(const char *cert_path, const char *key_path, X509 **cert, EVP_PKEY **key)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f;
	BIO *bio;
	int r;

	*cert = NULL;
	*key = NULL;
	if (!(f = fopen(cert_path, "r")))
		return err_set(AERR_CONFIG, "key CA certificate %s: cannot open it", cert_path);
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!*cert)
		return err_set(AERR_CONFIG, "key CA certificate %s: no PEM certificate in it", cert_path);
	/* 1: basicConstraints CA:TRUE, nothing weaker (a v1 self-signed one
	 * or a keyCertSign without basicConstraints is no CA here). */
	if (X509_check_ca(*cert) != 1) {
		r = err_set(AERR_CONFIG, "key CA certificate %s: not a CA certificate (basicConstraints CA:TRUE)",
			    cert_path);
		goto fail;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(*cert)) <= 0) {
		r = err_set(AERR_CONFIG, "key CA certificate %s has expired", cert_path);
		goto fail;
	}
	if ((r = keyfile_read("key CA key", key_path, 64 * 1024, &buf, &len)) != 0)
		goto fail;
	if ((bio = BIO_new_mem_buf(buf, (int)len))) {
		/* No passphrase prompt: a daemon has no terminal to ask on. */
		*key = PEM_read_bio_PrivateKey(bio, NULL, keycert_no_passphrase, NULL);
		BIO_free(bio);
	}
	keyfile_free(buf, len);
	if (!*key) {
		r = err_set(AERR_CONFIG, "key CA key %s: no PEM private key in it", key_path);
		goto fail;
	}
	if (X509_check_private_key(*cert, *key) != 1) {
		r = err_set(AERR_CONFIG, "key CA key %s is not the key of %s", key_path, cert_path);
		goto fail;
	}
	return 0;
fail:
	X509_free(*cert);
	EVP_PKEY_free(*key);
	*cert = NULL;
	*key = NULL;
	return r;
}

/* A DNS host name (RFC 1123): labels of 1 to 63 letters, digits and
 * hyphens, not starting or ending with a hyphen, at most 64 characters in
 * all (a CN's bound), the last label not all digits (no IPv4 address). */
static int keycert_cn_ok(const char *cn)
{
	size_t n = cn ? strlen(cn) : 0, label = 0;
	int digits = 1;

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = cn[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || cn[i - 1] == '-')
				return 0;
			if (c == '\0')
				return !digits;
			label = 0;
			digits = 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') ||
		    (label == 0 && c == '-'))
			return 0;
		if (c < '0' || c > '9')
			digits = 0;
		label++;
	}
	return 0;
}

/* One v3 extension, from its text form, with the CA as issuer. */
static int keycert_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	return ok ? 0 : crypto_ossl_err(AERR_CRYPTO, "key certificate: an extension");
}

int keycert_issue(X509 *ca_cert, EVP_PKEY *ca_key, const struct keycert_req *req, uint8_t **der, size_t *len,
		  char serial[KEYCERT_SERIAL_HEX + 1])
{
	uint8_t sn[KEYCERT_SERIAL_HEX / 2];
	char san[80];
	EVP_PKEY *pub = NULL;
	X509 *x = NULL;
	BIGNUM *bn = NULL;
	X509V3_CTX ctx;
	int r, n;

	*der = NULL;
	*len = 0;
	if (!keycert_cn_ok(req->cn))
		return err_set(AERR_INVALID_ARG, "key certificate: the name is no DNS host name (labels of letters, "
			       "digits and '-', at most 64 characters)");
	if (req->days < 1 || req->days > 3650)
		return err_set(AERR_INVALID_ARG, "key certificate: %u days (1 to 3650)", req->days);
	if ((r = tpmpub_to_evp(req->key, &pub)) != 0 || (r = crypto_random(sn, sizeof(sn))) != 0)
		goto out;
	sn[0] &= 0x7f; /* a positive serial of 16 bytes at most */
	sn[0] |= 0x40;
	if (!(x = X509_new()) || !X509_set_version(x, 2) || !(bn = BN_bin2bn(sn, sizeof(sn), NULL)) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) || !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)req->days * 86400) ||
	    /* Never longer than the CA's own. */
	    (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca_cert)) > 0 &&
	     !X509_set1_notAfter(x, X509_get0_notAfter(ca_cert))) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)req->cn,
					-1, -1, 0) ||
	    !X509_set_pubkey(x, pub)) {
		r = crypto_ossl_err(AERR_CRYPTO, "key certificate");
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	X509V3_set_ctx(&ctx, ca_cert, x, NULL, NULL, 0);
	X509V3_set_ctx_nodb(&ctx);
	snprintf(san, sizeof(san), "DNS:%s", req->cn);
	if ((r = keycert_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE")) != 0 ||
	    (r = keycert_ext(x, &ctx, NID_key_usage, "critical,digitalSignature")) != 0 ||
	    (r = keycert_ext(x, &ctx, NID_ext_key_usage, "clientAuth")) != 0 ||
	    (r = keycert_ext(x, &ctx, NID_subject_alt_name, san)) != 0 ||
	    (r = keycert_ext(x, &ctx, NID_subject_key_identifier, "hash")) != 0 ||
	    (r = keycert_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) != 0)
		goto out;
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0 || (n = i2d_X509(x, der)) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "key certificate: signing");
		goto out;
	}
	*len = (size_t)n;
	hex_encode(sn, sizeof(sn), serial);
	r = 0;
out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pub);
	return r;
}
