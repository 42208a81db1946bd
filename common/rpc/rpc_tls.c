/* TLS credentials for both sides of the glue. */
#define LOG_MODULE "rpc"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "keyfile.h"
#include "log.h"
#include "rpc_priv.h"

/* The private key as a NUL-terminated string: read from the file that
 * passed common/keyfile.h's rule (the same open file), without stdio. */
static int rpc_tls_read_key(const char *path, char **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	*out_len = 0;
	if (!path || !*path)
		return err_set(AERR_CONFIG, "tls: no key file configured");
	/* Its detail names the file and what is wrong; a configuration error
	 * whatever the cause (gone, too large, refused). */
	if ((r = keyfile_read("tls: key", path, RPC_TLS_MAX_PEM, &buf, &len)) != 0)
		return AERR_CONFIG;
	if (len == 0 || strlen((char *)buf) != len) {
		keyfile_free(buf, len);
		return err_set(AERR_CONFIG, "tls: key file %s %s", path, len ? "contains NUL bytes (not PEM)" : "is empty");
	}
	*out = (char *)buf;
	*out_len = len;
	return 0;
}

/* Whole file as a NUL-terminated string (what gRPC wants for PEM). */
static int rpc_tls_read(const char *what, const char *path, char **out, size_t *out_len)
{
	int r = AERR_CONFIG;
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;

	*out = NULL;
	*out_len = 0;
	if (!path || !*path) {
		r = err_set(AERR_CONFIG, "tls: no %s file configured", what);
		goto out;
	}
	if (!(f = fopen(path, "rb"))) {
		r = err_set(AERR_CONFIG, "tls: cannot open %s file %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		r = err_set(AERR_CONFIG, "tls: %s file %s is not a regular file", what, path);
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > RPC_TLS_MAX_PEM) {
		r = err_set(AERR_CONFIG, "tls: %s file %s has size %lld (1..%d bytes)", what, path,
			    (long long)st.st_size, RPC_TLS_MAX_PEM);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	if (!(buf = malloc(cap))) {
		r = err_set(AERR_ALLOC, "tls: reading %s", path);
		goto out;
	}
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (len != (size_t)st.st_size || ferror(f)) {
		r = err_set(AERR_CONFIG, "tls: short read on %s file %s", what, path);
		goto out;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		r = err_set(AERR_CONFIG, "tls: %s file %s contains NUL bytes (not PEM)", what, path);
		goto out;
	}
	*out = buf;
	*out_len = len;
	buf = NULL; /* transferred */
	r = 0;
out:
	if (buf) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
	if (f)
		fclose(f);
	return r;
}

static void rpc_tls_free_pem(char *pem, size_t len)
{
	if (!pem)
		return;
	OPENSSL_cleanse(pem, len);
	free(pem);
}

/* At least one certificate in the CA bundle; gRPC would otherwise only fail at
 * the first handshake, far from the configuration mistake. */
static int rpc_tls_check_ca(const char *path, const char *pem, size_t len)
{
	int r = AERR_CONFIG;
	BIO *bio = NULL;
	X509 *x = NULL;

	if (!(bio = BIO_new_mem_buf(pem, (int)len))) {
		r = crypto_ossl_err(AERR_ALLOC, "tls: BIO_new_mem_buf");
		goto out;
	}
	if (!(x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		ERR_clear_error();
		r = err_set(AERR_CONFIG, "tls: no PEM certificate in CA file %s", path);
		goto out;
	}
	r = 0;
out:
	X509_free(x);
	BIO_free(bio);
	return r;
}

/* Certificate parses, key parses, and the key belongs to the certificate. */
static int rpc_tls_check_pair(const char *cert_path, const char *cert_pem, size_t cert_len,
			      const char *key_path, const char *key_pem, size_t key_len)
{
	int r = AERR_CONFIG;
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;

	if (!(bio = BIO_new_mem_buf(cert_pem, (int)cert_len))) {
		r = crypto_ossl_err(AERR_ALLOC, "tls: BIO_new_mem_buf");
		goto out;
	}
	if (!(x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		ERR_clear_error();
		r = err_set(AERR_CONFIG, "tls: no PEM certificate in %s", cert_path);
		goto out;
	}
	BIO_free(bio);
	if (!(bio = BIO_new_mem_buf(key_pem, (int)key_len))) {
		r = crypto_ossl_err(AERR_ALLOC, "tls: BIO_new_mem_buf");
		goto out;
	}
	/* An empty passphrase callback: encrypted keys are refused, not prompted for. */
	if (!(key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)""))) {
		ERR_clear_error();
		r = err_set(AERR_CONFIG, "tls: no unencrypted PEM private key in %s", key_path);
		goto out;
	}
	if (X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		r = err_set(AERR_CONFIG, "tls: key %s does not match certificate %s", key_path, cert_path);
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_free(key);
	X509_free(x);
	BIO_free(bio);
	return r;
}

struct rpc_tls_pems {
	char *ca, *cert, *key;
	size_t ca_len, cert_len, key_len;
};

static void rpc_tls_pems_free(struct rpc_tls_pems *p)
{
	rpc_tls_free_pem(p->ca, p->ca_len);
	rpc_tls_free_pem(p->cert, p->cert_len);
	rpc_tls_free_pem(p->key, p->key_len);
	memset(p, 0, sizeof(*p));
}

/* need_pair: the server must present a certificate; a client may go without. */
static int rpc_tls_load(const struct rpc_tls *tls, int need_pair, struct rpc_tls_pems *p)
{
	int r;
	int have_cert = tls->cert_file && *tls->cert_file;
	int have_key = tls->key_file && *tls->key_file;

	memset(p, 0, sizeof(*p));
	if ((r = rpc_tls_read("CA", tls->ca_file, &p->ca, &p->ca_len)) != 0)
		goto out;
	if ((r = rpc_tls_check_ca(tls->ca_file, p->ca, p->ca_len)) != 0)
		goto out;
	if (have_cert != have_key) {
		r = err_set(AERR_CONFIG, "tls: certificate and key must be configured together");
		goto out;
	}
	if (!have_cert && need_pair) {
		r = err_set(AERR_CONFIG, "tls: a certificate and key are required");
		goto out;
	}
	if (have_cert) {
		if ((r = rpc_tls_read("certificate", tls->cert_file, &p->cert, &p->cert_len)) != 0)
			goto out;
		if ((r = rpc_tls_read_key(tls->key_file, &p->key, &p->key_len)) != 0)
			goto out;
		if ((r = rpc_tls_check_pair(tls->cert_file, p->cert, p->cert_len, tls->key_file,
					    p->key, p->key_len)) != 0)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		rpc_tls_pems_free(p);
	return r;
}

int rpc_tls_server_creds(const struct rpc_tls *tls, grpc_server_credentials **out)
{
	int r = AERR_INTERNAL;
	struct rpc_tls_pems p = { 0 };
	grpc_ssl_pem_key_cert_pair pair;

	*out = NULL;
	if (tls->insecure) {
		LOG_WARN("server without TLS: peers are neither authenticated nor encrypted");
		*out = grpc_insecure_server_credentials_create();
		r = *out ? 0 : err_set(AERR_INTERNAL, "grpc_insecure_server_credentials_create failed");
		goto out;
	}
	if ((r = rpc_tls_load(tls, 1, &p)) != 0)
		goto out;
	pair.private_key = p.key;
	pair.cert_chain = p.cert;
	/* gRPC copies the PEM strings; ours are wiped below. */
	*out = grpc_ssl_server_credentials_create_ex(
		p.ca, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
	if (!*out) {
		r = err_set(AERR_CONFIG, "tls: gRPC refused the server credentials");
		goto out;
	}
	r = 0;
out:
	rpc_tls_pems_free(&p);
	return r;
}

int rpc_tls_channel_creds(const struct rpc_tls *tls, grpc_channel_credentials **out)
{
	int r = AERR_INTERNAL;
	struct rpc_tls_pems p = { 0 };
	grpc_ssl_pem_key_cert_pair pair;

	*out = NULL;
	if (tls->insecure) {
		LOG_WARN("channel without TLS: the server is neither authenticated nor encrypted");
		*out = grpc_insecure_credentials_create();
		r = *out ? 0 : err_set(AERR_INTERNAL, "grpc_insecure_credentials_create failed");
		goto out;
	}
	if ((r = rpc_tls_load(tls, 0, &p)) != 0)
		goto out;
	pair.private_key = p.key;
	pair.cert_chain = p.cert;
	/* Roots are always ours: NULL would make gRPC fall back to a system bundle. */
	*out = grpc_ssl_credentials_create(p.ca, p.cert ? &pair : NULL, NULL, NULL);
	if (!*out) {
		r = err_set(AERR_CONFIG, "tls: gRPC refused the channel credentials");
		goto out;
	}
	r = 0;
out:
	rpc_tls_pems_free(&p);
	return r;
}
