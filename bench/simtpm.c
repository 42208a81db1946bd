#define LOG_MODULE "simtpm"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "kdf.h"
#include "log.h"
#include "simtpm.h"
#include "tpmpub.h"

#define SIMTPM_RSA_BITS 2048
#define SIMTPM_PRIME_BITS (SIMTPM_RSA_BITS / 2)
#define SIMTPM_RSA_BYTES (SIMTPM_RSA_BITS / 8)
#define SIMTPM_RESET_COUNT 1u
#define SIMTPM_FIRMWARE 0x2024000100000000ull

/* ================================================================ key pool */

struct simtpm_keys {
	BIGNUM **primes;
	size_t nprimes;
	size_t nkeys;
};

struct simtpm_prime_job {
	struct simtpm_keys *k;
	size_t first, step;
	int r;
};

/* p with gcd(p - 1, 65537) = 1 (65537 is prime), so e = 65537 is invertible. */
static void *simtpm_prime_thread(void *arg)
{
	struct simtpm_prime_job *job = arg;
	BN_CTX *ctx = BN_CTX_new();

	job->r = 0;
	if (!ctx) {
		job->r = err_set(AERR_ALLOC, "BN_CTX");
		return NULL;
	}
	for (size_t i = job->first; i < job->k->nprimes; i += job->step) {
		BIGNUM *p = BN_new();

		do {
			if (!p || !BN_generate_prime_ex2(p, SIMTPM_PRIME_BITS, 0, NULL, NULL, NULL, ctx)) {
				BN_free(p);
				job->r = crypto_ossl_err(AERR_CRYPTO, "prime generation");
				goto out;
			}
		} while (BN_mod_word(p, 65537) == 1);
		job->k->primes[i] = p;
	}
out:
	BN_CTX_free(ctx);
	return NULL;
}

int simtpm_keys_make(size_t n, int threads, struct simtpm_keys **out)
{
	struct simtpm_prime_job jobs[16];
	pthread_t tids[16];
	struct simtpm_keys *k = NULL;
	size_t p = 2;
	int r = AERR_INTERNAL, started = 0, failed = 0;

	*out = NULL;
	if (n == 0 || threads < 1)
		return err_set(AERR_INVALID_ARG, "simtpm_keys_make: %zu keys on %d threads", n, threads);
	if (threads > 16)
		threads = 16;
	while (p * (p - 1) / 2 < n)
		p++;
	if (!(k = calloc(1, sizeof(*k))) || !(k->primes = calloc(p, sizeof(*k->primes)))) {
		r = err_set(AERR_ALLOC, "key pool of %zu primes", p);
		goto out;
	}
	k->nprimes = p;
	k->nkeys = n;
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct simtpm_prime_job){ .k = k, .first = (size_t)t, .step = (size_t)threads };
		if (pthread_create(&tids[t], NULL, simtpm_prime_thread, &jobs[t]) != 0) {
			r = err_set(AERR_INTERNAL, "pthread_create");
			failed = 1;
			break;
		}
		started++;
	}
	for (int t = 0; t < started; t++) {
		pthread_join(tids[t], NULL);
		if (jobs[t].r != 0) {
			r = jobs[t].r;
			failed = 1;
		}
	}
	if (failed)
		goto out;
	/* Equal primes would give n = p^2: not an RSA key. Vanishingly unlikely,
	 * but cheap to rule out. */
	for (size_t i = 0; i < p; i++)
		for (size_t j = 0; j < i; j++)
			if (BN_cmp(k->primes[i], k->primes[j]) == 0) {
				r = err_set(AERR_CRYPTO, "the prime search repeated a prime");
				goto out;
			}
	*out = k;
	k = NULL; /* transferred */
	r = 0;
out:
	simtpm_keys_free(k);
	return r;
}

size_t simtpm_keys_primes(const struct simtpm_keys *k)
{
	return k ? k->nprimes : 0;
}

void simtpm_keys_free(struct simtpm_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nprimes; i++)
		BN_clear_free(k->primes[i]);
	free(k->primes);
	free(k);
}

/* The i-th pair (a, b), a < b, in the order (0,1) (0,2) (1,2) (0,3) ... */
static void simtpm_pair(size_t i, size_t *a, size_t *b)
{
	size_t j = 1;

	while (j * (j + 1) / 2 <= i)
		j++;
	*b = j;
	*a = i - j * (j - 1) / 2;
}

int simtpm_keys_get(const struct simtpm_keys *k, size_t i, EVP_PKEY **out)
{
	BIGNUM *n = NULL, *e = NULL, *d = NULL, *p1 = NULL, *q1 = NULL, *g = NULL, *l = NULL;
	BIGNUM *dp = NULL, *dq = NULL, *qinv = NULL;
	const BIGNUM *p, *q;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	BN_CTX *ctx = NULL;
	size_t a, b;
	int r = AERR_CRYPTO;

	*out = NULL;
	if (!k || i >= k->nkeys)
		return err_set(AERR_INVALID_ARG, "key %zu of %zu", i, k ? k->nkeys : 0);
	simtpm_pair(i, &a, &b);
	p = k->primes[b];
	q = k->primes[a];
	if (!(ctx = BN_CTX_new()) || !(n = BN_new()) || !(e = BN_new()) || !(p1 = BN_dup(p)) ||
	    !(q1 = BN_dup(q)) || !(g = BN_new()) || !(l = BN_new()) || !(dp = BN_new()) || !(dq = BN_new()) ||
	    !BN_set_word(e, 65537) || !BN_mul(n, p, q, ctx) || !BN_sub_word(p1, 1) || !BN_sub_word(q1, 1) ||
	    !BN_gcd(g, p1, q1, ctx) || !BN_mul(l, p1, q1, ctx) || !BN_div(l, NULL, l, g, ctx) ||
	    !(d = BN_mod_inverse(NULL, e, l, ctx)) || !BN_mod(dp, d, p1, ctx) || !BN_mod(dq, d, q1, ctx) ||
	    !(qinv = BN_mod_inverse(NULL, q, p, ctx))) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSA key from primes");
		goto out;
	}
	if (BN_num_bits(n) != SIMTPM_RSA_BITS) {
		r = err_set(AERR_CRYPTO, "modulus of %d bits", BN_num_bits(n));
		goto out;
	}
	if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 || EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) <= 0) {
		*out = NULL;
		r = crypto_ossl_err(AERR_CRYPTO, "RSA key from parameters");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(p1);
	BN_clear_free(q1);
	BN_free(g);
	BN_clear_free(l);
	BN_clear_free(dp);
	BN_clear_free(dq);
	BN_clear_free(qinv);
	BN_CTX_free(ctx);
	return r;
}

/* ================================================================ EK CA */

struct simtpm_ca {
	EVP_PKEY *key;
	X509 *cert;
};

static int simtpm_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)))
		return crypto_ossl_err(AERR_CRYPTO, value);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : crypto_ossl_err(AERR_CRYPTO, "X509_add_ext");
}

/* A v3 certificate of key, subject CN = cn, issued by (issuer, signer);
 * issuer NULL = self-signed. */
static int simtpm_cert(EVP_PKEY *key, const char *cn, uint64_t serial, X509 *issuer, EVP_PKEY *signer, int ca,
		       X509 **out)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	int r = AERR_CRYPTO;

	*out = NULL;
	if (!(x = X509_new()) || !X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) || !X509_set_pubkey(x, key) ||
	    !(name = X509_NAME_new()) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name)) {
		r = crypto_ossl_err(AERR_CRYPTO, "certificate fields");
		goto out;
	}
	if (ca) {
		if ((r = simtpm_ext(x, x, NID_basic_constraints, "critical,CA:TRUE")) != 0 ||
		    (r = simtpm_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) != 0 ||
		    (r = simtpm_ext(x, x, NID_subject_key_identifier, "hash")) != 0)
			goto out;
	} else {
		const char *ku = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? "critical,keyEncipherment"
									   : "critical,keyAgreement";

		if ((r = simtpm_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE")) != 0 ||
		    (r = simtpm_ext(x, issuer, NID_key_usage, ku)) != 0 ||
		    (r = simtpm_ext(x, issuer, NID_authority_key_identifier, "keyid")) != 0 ||
		    (r = simtpm_ext(x, issuer, NID_ext_key_usage, "2.23.133.8.1")) != 0)
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

int simtpm_ca_new(struct simtpm_ca **out)
{
	struct simtpm_ca *ca;
	int r;

	*out = NULL;
	if (!(ca = calloc(1, sizeof(*ca))))
		return err_set(AERR_ALLOC, "CA");
	if (!(ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
		r = crypto_ossl_err(AERR_CRYPTO, "CA key");
		goto out;
	}
	if ((r = simtpm_cert(ca->key, "simtpm throwaway EK CA", 1, NULL, ca->key, 1, &ca->cert)) != 0)
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

void simtpm_ca_free(struct simtpm_ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
}

/* ================================================================ a node */

struct simtpm {
	TPM2_ALG_ID ek_alg;
	EVP_PKEY *ek, *ak;
	TPMT_PUBLIC ekpub;      /* kept: ECDH needs the x-coordinate as the EK holds it */
	TPM2B_NAME ak_name;
	uint8_t *ek_wire, *ak_wire, *cert;
	size_t ek_wire_len, ak_wire_len, cert_len;
	uint64_t clock_ms;
};

static int simtpm_rsa_check(EVP_PKEY *key, const char *what)
{
	BIGNUM *e = NULL;
	int ok;

	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) != SIMTPM_RSA_BITS)
		return err_set(AERR_INVALID_ARG, "%s must be an RSA-2048 key", what);
	ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) && BN_is_word(e, 65537);
	BN_free(e);
	return ok ? 0 : err_set(AERR_INVALID_ARG, "%s: exponent must be 65537", what);
}

/* The TCG default EK template (L-1 RSA-2048 / L-2 ECC P-256) with key's public part. */
static int simtpm_ek_template(TPM2_ALG_ID alg, EVP_PKEY *key, TPMT_PUBLIC *pub)
{
	tpmpub_ek_template(alg, pub);
	return tpmpub_set_unique(pub, key);
}

/* A restricted RSASSA-SHA256 signing key, as attestors create their AK. */
static int simtpm_ak_template(EVP_PKEY *key, TPMT_PUBLIC *pub)
{
	tpmpub_ak_template(TPM2_ALG_RSA, pub);
	return tpmpub_set_unique(pub, key);
}

static int simtpm_wire(const TPMT_PUBLIC *pub, uint8_t **out, size_t *len)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	int r;

	*out = NULL;
	if ((r = tpmpub_marshal(pub, buf, sizeof(buf), len)) != 0)
		return r;
	if (!(*out = malloc(*len)))
		return err_set(AERR_ALLOC, "public area");
	memcpy(*out, buf, *len);
	return 0;
}

int simtpm_new(TPM2_ALG_ID ek_alg, EVP_PKEY *ek_key, EVP_PKEY *ak_key, const struct simtpm_ca *ca,
	       uint64_t serial, struct simtpm **out)
{
	struct simtpm *s = NULL;
	TPMT_PUBLIC akpub;
	X509 *cert = NULL;
	unsigned char *der = NULL;
	char cn[64];
	int r = AERR_INTERNAL, n;

	*out = NULL;
	if (ek_alg != TPM2_ALG_RSA && ek_alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "EK algorithm 0x%04x", ek_alg);
	if ((r = simtpm_rsa_check(ak_key, "AK")) != 0 ||
	    (ek_alg == TPM2_ALG_RSA && (r = simtpm_rsa_check(ek_key, "EK")) != 0))
		return r;
	if (!(s = calloc(1, sizeof(*s))))
		return err_set(AERR_ALLOC, "simtpm");
	s->ek_alg = ek_alg;
	if (ek_alg == TPM2_ALG_RSA) {
		EVP_PKEY_up_ref(ek_key);
		s->ek = ek_key;
	} else if (!(s->ek = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
		r = crypto_ossl_err(AERR_CRYPTO, "EK key");
		goto out;
	}
	EVP_PKEY_up_ref(ak_key);
	s->ak = ak_key;
	if ((r = simtpm_ek_template(ek_alg, s->ek, &s->ekpub)) != 0 ||
	    (r = simtpm_wire(&s->ekpub, &s->ek_wire, &s->ek_wire_len)) != 0 ||
	    (r = simtpm_ak_template(s->ak, &akpub)) != 0 ||
	    (r = simtpm_wire(&akpub, &s->ak_wire, &s->ak_wire_len)) != 0 || (r = tpmpub_name(&akpub, &s->ak_name)) != 0)
		goto out;
	snprintf(cn, sizeof(cn), "simtpm node %llu", (unsigned long long)serial);
	if ((r = simtpm_cert(s->ek, cn, serial, ca->cert, ca->key, 0, &cert)) != 0)
		goto out;
	if ((n = i2d_X509(cert, &der)) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "EK certificate DER");
		goto out;
	}
	if (!(s->cert = malloc((size_t)n))) {
		r = err_set(AERR_ALLOC, "EK certificate");
		goto out;
	}
	memcpy(s->cert, der, (size_t)n);
	s->cert_len = (size_t)n;
	*out = s;
	s = NULL; /* transferred */
	r = 0;
out:
	OPENSSL_free(der);
	X509_free(cert);
	simtpm_free(s);
	return r;
}

void simtpm_free(struct simtpm *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->ek);
	EVP_PKEY_free(s->ak);
	free(s->ek_wire);
	free(s->ak_wire);
	free(s->cert);
	free(s);
}

const uint8_t *simtpm_ek_public(const struct simtpm *s, size_t *len)
{
	*len = s->ek_wire_len;
	return s->ek_wire;
}

const uint8_t *simtpm_ek_cert(const struct simtpm *s, size_t *len)
{
	*len = s->cert_len;
	return s->cert;
}

const uint8_t *simtpm_ak_public(const struct simtpm *s, size_t *len)
{
	*len = s->ak_wire_len;
	return s->ak_wire;
}

TPM2_ALG_ID simtpm_ek_alg(const struct simtpm *s)
{
	return s->ek_alg;
}

/* ------------------------------------------------------------ ActivateCredential */

static int simtpm_seed_rsa(const struct simtpm *s, const TPM2B_ENCRYPTED_SECRET *es, uint8_t *seed)
{
	static const char label[] = "IDENTITY"; /* with its NUL, as the TPM uses it */
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *lab = NULL;
	uint8_t out[SIMTPM_RSA_BYTES];
	size_t outlen = sizeof(out);
	int r = AERR_CREDENTIAL;

	if (!(lab = OPENSSL_memdup(label, sizeof(label)))) {
		r = err_set(AERR_ALLOC, "OAEP label");
		goto out;
	}
	if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->ek, NULL)) || EVP_PKEY_decrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, (int)sizeof(label)) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSA-OAEP setup");
		goto out;
	}
	lab = NULL; /* transferred */
	if (EVP_PKEY_decrypt(ctx, out, &outlen, es->secret, es->size) <= 0) {
		r = crypto_ossl_err(AERR_CREDENTIAL, "RSA-OAEP decryption of the seed");
		goto out;
	}
	if (outlen != 32) {
		r = err_set(AERR_CREDENTIAL, "seed of %zu bytes, the EK's nameAlg needs 32", outlen);
		goto out;
	}
	memcpy(seed, out, 32);
	r = 0;
out:
	OPENSSL_cleanse(out, sizeof(out));
	OPENSSL_free(lab);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int simtpm_seed_ecc(const struct simtpm *s, const TPM2B_ENCRYPTED_SECRET *es, uint8_t *seed)
{
	TPMT_PUBLIC peer_pub = s->ekpub;
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t z[32];
	size_t off = 0, zlen = sizeof(z);
	int r = AERR_CREDENTIAL;

	memset(&peer_pub.unique, 0, sizeof(peer_pub.unique));
	if (Tss2_MU_TPMS_ECC_POINT_Unmarshal(es->secret, es->size, &off, &peer_pub.unique.ecc) != TSS2_RC_SUCCESS ||
	    off != es->size) {
		r = err_set(AERR_PARSE, "encrypted secret is not one TPMS_ECC_POINT");
		goto out;
	}
	/* tpmpub_to_evp refuses a point off the curve, as the TPM does. */
	if ((r = tpmpub_to_evp(&peer_pub, &peer)) != 0)
		goto out;
	if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->ek, NULL)) || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) <= 0 || EVP_PKEY_derive(ctx, z, &zlen) <= 0 || zlen != sizeof(z)) {
		r = crypto_ossl_err(AERR_CREDENTIAL, "ECDH with the EK");
		goto out;
	}
	r = kdf_e(TPM2_ALG_SHA256, z, zlen, "IDENTITY", peer_pub.unique.ecc.x.buffer, peer_pub.unique.ecc.x.size,
		  s->ekpub.unique.ecc.x.buffer, s->ekpub.unique.ecc.x.size, 256, seed);
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}

static int simtpm_cfb_decrypt(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
	static const uint8_t zero_iv[16];
	EVP_CIPHER_CTX *ctx = NULL;
	int n1 = 0, n2 = 0, r = AERR_CRYPTO;

	if (!(ctx = EVP_CIPHER_CTX_new()) || !EVP_DecryptInit_ex(ctx, EVP_aes_128_cfb128(), NULL, key, zero_iv) ||
	    !EVP_DecryptUpdate(ctx, out, &n1, in, (int)len) || !EVP_DecryptFinal_ex(ctx, out + n1, &n2) ||
	    (size_t)(n1 + n2) != len) {
		r = crypto_ossl_err(AERR_CRYPTO, "AES-CFB decryption");
		goto out;
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int simtpm_activate(const struct simtpm *s, const uint8_t *blob, size_t blob_len, const uint8_t *enc_seed,
		    size_t enc_seed_len, uint8_t *secret, size_t cap, size_t *len)
{
	TPM2B_ID_OBJECT id;
	TPM2B_ENCRYPTED_SECRET es;
	uint8_t seed[32], hmac_key[32], mac[32], sym[16];
	uint8_t mac_in[sizeof(id.credential) + sizeof(s->ak_name.name)], plain[sizeof(id.credential)];
	const uint8_t *enc;
	size_t off = 0, enc_len, inner;
	int r = AERR_INTERNAL;

	*len = 0;
	memset(&id, 0, sizeof(id));
	memset(&es, 0, sizeof(es));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob, blob_len, &off, &id) != TSS2_RC_SUCCESS || off != blob_len) {
		r = err_set(AERR_PARSE, "credential blob is not one TPM2B_ID_OBJECT");
		goto out;
	}
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(enc_seed, enc_seed_len, &off, &es) != TSS2_RC_SUCCESS ||
	    off != enc_seed_len) {
		r = err_set(AERR_PARSE, "encrypted secret is not one TPM2B_ENCRYPTED_SECRET");
		goto out;
	}
	/* [UINT16 32] HMAC-SHA256 || encIdentity (a TPM2B_DIGEST, at least its size). */
	if (id.size < 2 + 32 + 2 || ((size_t)id.credential[0] << 8 | id.credential[1]) != 32) {
		r = err_set(AERR_PARSE, "credential blob of %u bytes has no SHA-256 integrity field", id.size);
		goto out;
	}
	enc = id.credential + 2 + 32;
	enc_len = (size_t)id.size - 2 - 32;
	if ((r = s->ek_alg == TPM2_ALG_RSA ? simtpm_seed_rsa(s, &es, seed) : simtpm_seed_ecc(s, &es, seed)) != 0)
		goto out;
	/* Integrity over the Name of the AK this TPM holds, not the one the
	 * challenge claims: that is what binds the credential to this AK. */
	memcpy(mac_in, enc, enc_len);
	memcpy(mac_in + enc_len, s->ak_name.name, s->ak_name.size);
	if ((r = kdf_a(TPM2_ALG_SHA256, seed, sizeof(seed), "INTEGRITY", NULL, 0, NULL, 0, 256, hmac_key)) != 0 ||
	    (r = crypto_hmac(TPM2_ALG_SHA256, hmac_key, sizeof(hmac_key), mac_in, enc_len + s->ak_name.size, mac)) != 0)
		goto out;
	if (CRYPTO_memcmp(mac, id.credential + 2, 32) != 0) {
		r = err_set(AERR_CREDENTIAL, "credential integrity check failed (another EK or AK)");
		goto out;
	}
	if ((r = kdf_a(TPM2_ALG_SHA256, seed, sizeof(seed), "STORAGE", s->ak_name.name, s->ak_name.size, NULL, 0,
		       128, sym)) != 0 ||
	    (r = simtpm_cfb_decrypt(sym, enc, enc_len, plain)) != 0)
		goto out;
	inner = (size_t)plain[0] << 8 | plain[1];
	if (inner != enc_len - 2 || inner > cap) {
		r = err_set(AERR_CREDENTIAL, "credential of %zu bytes in %zu (room for %zu)", inner, enc_len - 2, cap);
		goto out;
	}
	memcpy(secret, plain + 2, inner);
	*len = inner;
	r = 0;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(hmac_key, sizeof(hmac_key));
	OPENSSL_cleanse(sym, sizeof(sym));
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(&id, sizeof(id));
	return r;
}

/* ------------------------------------------------------------ Quote */

int simtpm_pcr_value(TPM2_ALG_ID alg, unsigned index, uint8_t *out)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "simtpm pcr %u", index);

	return crypto_digest(alg, text, (size_t)n, out);
}

/* The node's values for sel, and the quote's pcrDigest over them (selection
 * order, indices ascending, as TPM2_Quote hashes them) with the AK's hash. */
static int simtpm_pcrs(const TPML_PCR_SELECTION *sel, struct pcr_values *values, TPM2B_DIGEST *digest)
{
	EVP_MD_CTX *md = NULL;
	unsigned dlen = 0;
	int r = AERR_CRYPTO;

	memset(values, 0, sizeof(*values));
	if (sel->count == 0 || sel->count > PCRSEL_MAX_BANKS)
		return err_set(AERR_INVALID_ARG, "selection of %u banks", sel->count);
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "PCR digest");
		goto out;
	}
	for (uint32_t b = 0; b < sel->count; b++) {
		const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[b];
		struct pcr_bank *bank = &values->banks[values->nbanks++];
		size_t size = crypto_digest_size(ps->hash);

		if (size == 0 || ps->sizeofSelect > 3) {
			r = err_set(AERR_UNSUPPORTED, "bank 0x%04x, sizeofSelect %u", ps->hash, ps->sizeofSelect);
			goto out;
		}
		bank->alg = ps->hash;
		for (unsigned i = 0; i < 8u * ps->sizeofSelect; i++) {
			if (!(ps->pcrSelect[i / 8] & (1u << (i % 8))))
				continue;
			bank->mask |= 1u << i;
			if ((r = simtpm_pcr_value(ps->hash, i, bank->value[i])) != 0)
				goto out;
			if (EVP_DigestUpdate(md, bank->value[i], size) != 1) {
				r = crypto_ossl_err(AERR_CRYPTO, "PCR digest");
				goto out;
			}
		}
	}
	if (EVP_DigestFinal_ex(md, digest->buffer, &dlen) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "PCR digest");
		goto out;
	}
	digest->size = (UINT16)dlen;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

int simtpm_quote(struct simtpm *s, const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		 uint8_t *attest, size_t attest_cap, size_t *attest_len, uint8_t *sig, size_t sig_cap,
		 size_t *sig_len, struct pcr_values *values)
{
	TPMS_ATTEST a;
	TPMT_SIGNATURE ts;
	EVP_MD_CTX *md = NULL;
	size_t off = 0, slen = SIMTPM_RSA_BYTES;
	int r = AERR_INTERNAL;

	*attest_len = *sig_len = 0;
	memset(&a, 0, sizeof(a));
	memset(&ts, 0, sizeof(ts));
	if (nonce_len > sizeof(a.extraData.buffer))
		return err_set(AERR_INVALID_ARG, "qualifyingData of %zu bytes", nonce_len);
	if (attest_cap < 2)
		return err_set(AERR_TOO_LARGE, "no room for TPM2B_ATTEST");
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.qualifiedSigner = s->ak_name;
	a.extraData.size = (UINT16)nonce_len;
	memcpy(a.extraData.buffer, nonce, nonce_len);
	a.clockInfo.clock = ++s->clock_ms;
	a.clockInfo.resetCount = SIMTPM_RESET_COUNT;
	a.clockInfo.restartCount = 0;
	a.clockInfo.safe = TPM2_YES;
	a.firmwareVersion = SIMTPM_FIRMWARE;
	a.attested.quote.pcrSelect = *sel;
	if ((r = simtpm_pcrs(sel, values, &a.attested.quote.pcrDigest)) != 0)
		return r;
	if (Tss2_MU_TPMS_ATTEST_Marshal(&a, attest + 2, attest_cap - 2, &off) != TSS2_RC_SUCCESS)
		return err_set(AERR_TOO_LARGE, "TPMS_ATTEST does not fit in %zu bytes", attest_cap);
	attest[0] = (uint8_t)(off >> 8);
	attest[1] = (uint8_t)off;

	ts.sigAlg = TPM2_ALG_RSASSA;
	ts.signature.rsassa.hash = TPM2_ALG_SHA256;
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->ak) != 1 ||
	    EVP_DigestSign(md, ts.signature.rsassa.sig.buffer, &slen, attest + 2, off) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSASSA signature");
		goto out;
	}
	ts.signature.rsassa.sig.size = (UINT16)slen;
	*attest_len = off + 2;
	off = 0;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&ts, sig, sig_cap, &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_TOO_LARGE, "TPMT_SIGNATURE does not fit in %zu bytes", sig_cap);
		goto out;
	}
	*sig_len = off;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}
