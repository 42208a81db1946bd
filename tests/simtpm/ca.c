/* The EK CA of simtpm.h: a throwaway root and the EK certificates it issues,
 * shaped as manufacturers' are (TCG EK Credential Profile: EKU
 * tcg-kp-EKCertificate, the key usage of the EK's algorithm). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "simtpm.h"

#define SIMTPM_CERT_DAYS 3650
#define SIMTPM_EKU_EK_CERTIFICATE "2.23.133.8.1"

struct simtpm_ca {
	EVP_PKEY *key;
	X509 *cert;
};

static int simtpm_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)))
		return crypto_ossl_err(AERR_CRYPTO, value);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : crypto_ossl_err(AERR_CRYPTO, "X509_add_ext");
}

/* A v3 certificate of key, subject CN = cn, issued by ca; ca NULL: the
 * self-signed root of signer. */
static int simtpm_cert(EVP_PKEY *key, const char *cn, uint64_t serial, const struct simtpm_ca *ca,
		       EVP_PKEY *signer, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	int r = AERR_CRYPTO;

	*out = NULL;
	if (!(x = X509_new()) || !X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), SIMTPM_CERT_DAYS * 24L * 3600) || !X509_set_pubkey(x, key) ||
	    !(name = X509_NAME_new()) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, ca ? X509_get_subject_name(ca->cert) : name)) {
		r = crypto_ossl_err(AERR_CRYPTO, "certificate fields");
		goto out;
	}
	if (!ca) {
		if ((r = simtpm_ext(x, x, NID_basic_constraints, "critical,CA:TRUE")) != 0 ||
		    (r = simtpm_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) != 0 ||
		    (r = simtpm_ext(x, x, NID_subject_key_identifier, "hash")) != 0)
			goto out;
	} else {
		const char *ku = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? "critical,keyEncipherment"
									   : "critical,keyAgreement";

		if ((r = simtpm_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE")) != 0 ||
		    (r = simtpm_ext(x, ca->cert, NID_key_usage, ku)) != 0 ||
		    (r = simtpm_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always")) != 0 ||
		    (r = simtpm_ext(x, ca->cert, NID_ext_key_usage, SIMTPM_EKU_EK_CERTIFICATE)) != 0)
			goto out;
	}
	if (X509_sign(x, signer, EVP_sha256()) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "certificate signature");
		goto out;
	}
	*out = x;
	x = NULL; /* transferred */
	r = 0;
out:
	X509_NAME_free(name);
	X509_free(x);
	return r;
}

int simtpm_ca_new(EVP_PKEY *key, const char *cn, struct simtpm_ca **out)
{
	struct simtpm_ca *ca;
	int r;

	*out = NULL;
	if (!(ca = calloc(1, sizeof(*ca))))
		return err_set(AERR_ALLOC, "CA");
	if (key) {
		EVP_PKEY_up_ref(key);
		ca->key = key;
	} else if (!(ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
		r = crypto_ossl_err(AERR_CRYPTO, "CA key");
		goto out;
	}
	if ((r = simtpm_cert(ca->key, cn, 1, NULL, ca->key, &ca->cert)) != 0)
		goto out;
	*out = ca;
	ca = NULL; /* transferred */
out:
	simtpm_ca_free(ca);
	return r;
}

int simtpm_ca_write(const struct simtpm_ca *ca, const char *path)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return err_set(AERR_IO, "%s: cannot create", path);
	ok = PEM_write_X509(f, ca->cert);
	if (fclose(f) != 0 || !ok)
		return err_set(AERR_IO, "%s: cannot write the CA certificate", path);
	return 0;
}

int simtpm_ca_issue(const struct simtpm_ca *ca, EVP_PKEY *key, const char *cn, uint64_t serial, uint8_t **der,
		    size_t *der_len)
{
	X509 *cert = NULL;
	unsigned char *buf = NULL;
	int r, n;

	*der = NULL;
	*der_len = 0;
	if ((r = simtpm_cert(key, cn, serial, ca, ca->key, &cert)) != 0)
		return r;
	if ((n = i2d_X509(cert, &buf)) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "EK certificate DER");
		goto out;
	}
	if (!(*der = malloc((size_t)n))) {
		r = err_set(AERR_ALLOC, "EK certificate");
		goto out;
	}
	memcpy(*der, buf, (size_t)n);
	*der_len = (size_t)n;
out:
	OPENSSL_free(buf);
	X509_free(cert);
	return r;
}

void simtpm_ca_free(struct simtpm_ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
}
