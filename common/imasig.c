#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define LOG_MODULE "imasig"
#include "array.h"
#include "crypto.h"
#include "file.h"
#include "imasig.h"
#include "log.h"

#define IMASIG_MAX_KEY_FILE (1u << 20)

/* The kernel's enum hash_algo values we verify with (include/uapi/linux/hash_info.h). */
static const struct {
	uint8_t id;
	const char *name;         /* as IMA writes it in d-ng fields */
	const char *ossl;
	size_t size;
} imasig_hashes[] = {
	{ 2, "sha1", "SHA1", 20 },
	{ 4, "sha256", "SHA256", 32 },
	{ 5, "sha384", "SHA384", 48 },
	{ 6, "sha512", "SHA512", 64 },
	{ 7, "sha224", "SHA224", 28 },
	{ 17, "sm3", "SM3", 32 },
};

#define IMASIG_NHASHES ARRAY_LEN(imasig_hashes)

struct imasig_key {
	EVP_PKEY *pkey;
	uint32_t id;              /* from the public key */
	uint32_t skid;            /* from a certificate's subjectKeyIdentifier, else id */
	int rsa;
};

struct imasig_keys {
	size_t n;
	struct imasig_key *keys;
};

static int imasig_hash_index(uint8_t hash_algo)
{
	for (size_t i = 0; i < IMASIG_NHASHES; i++)
		if (imasig_hashes[i].id == hash_algo)
			return (int)i;
	return -1;
}

const char *imasig_hash_name(uint8_t hash_algo)
{
	int i = imasig_hash_index(hash_algo);

	return i < 0 ? NULL : imasig_hashes[i].name;
}

int imasig_parse(const uint8_t *buf, size_t len, struct imasig_hdr *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < IMASIG_HDR_SIZE)
		return err_set(AERR_PARSE, "IMA signature of %zu bytes, shorter than its %u-byte header", len,
			       IMASIG_HDR_SIZE);
	out->type = buf[0];
	out->version = buf[1];
	out->hash_algo = buf[2];
	out->keyid = (uint32_t)buf[3] << 24 | (uint32_t)buf[4] << 16 | (uint32_t)buf[5] << 8 | buf[6];
	out->sig_len = (uint16_t)(buf[7] << 8 | buf[8]);
	out->sig = buf + IMASIG_HDR_SIZE;
	if (out->type != IMASIG_TYPE_DIGSIG && out->type != IMASIG_TYPE_VERITY)
		return err_set(AERR_PARSE, "IMA signature of type %u, not 3 (digsig) or 6 (verity)", out->type);
	if (out->version != 2 && out->version != 3)
		return err_set(AERR_UNSUPPORTED, "IMA signature version %u (2 and 3 are verified)", out->version);
	/* fs-verity digests are only ever signed through ima_file_id. */
	if (out->type == IMASIG_TYPE_VERITY && out->version != 3)
		return err_set(AERR_PARSE, "IMA verity signature of version %u, not 3", out->version);
	if (out->sig_len == 0 || (size_t)out->sig_len != len - IMASIG_HDR_SIZE)
		return err_set(AERR_PARSE, "IMA signature header says %u signature bytes, %zu follow", out->sig_len,
			       len - IMASIG_HDR_SIZE);
	return 0;
}

/* Last 4 bytes of SHA-1(subjectPublicKey), big endian as in the header. */
static int imasig_key_id(EVP_PKEY *pkey, uint32_t *id)
{
	X509_PUBKEY *xp = NULL;
	const unsigned char *bits = NULL;
	uint8_t d[20];
	int len = 0, r = AERR_INTERNAL;

	if (!X509_PUBKEY_set(&xp, pkey) || !X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xp) || len <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "IMA key: subjectPublicKey");
		goto out;
	}
	if ((r = crypto_digest(TPM2_ALG_SHA1, bits, (size_t)len, d)) != 0)
		goto out;
	*id = (uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 | (uint32_t)d[18] << 8 | d[19];
	r = 0;
out:
	X509_PUBKEY_free(xp);
	return r;
}

/* Takes a reference to pkey; cert (may be NULL) only lends its SKID. */
static int imasig_keys_push(struct imasig_keys *k, EVP_PKEY *pkey, X509 *cert, const char *path)
{
	struct imasig_key *n, key = { 0 };
	const ASN1_OCTET_STRING *skid;
	int r;

	if (!EVP_PKEY_is_a(pkey, "RSA") && !EVP_PKEY_is_a(pkey, "EC"))
		return err_set(AERR_CONFIG, "%s: a %s key; IMA signatures are checked with RSA and EC keys", path,
			       EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "unknown");
	if ((r = imasig_key_id(pkey, &key.id)) != 0)
		return err_wrap(r, path);
	key.skid = key.id;
	if (cert && (skid = X509_get0_subject_key_id(cert)) && ASN1_STRING_length(skid) >= 4) {
		const uint8_t *p = ASN1_STRING_get0_data(skid) + ASN1_STRING_length(skid) - 4;
		key.skid = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	}
	key.rsa = EVP_PKEY_is_a(pkey, "RSA");
	if (!(n = realloc(k->keys, (k->n + 1) * sizeof(*n))))
		return err_set(AERR_ALLOC, "IMA keys");
	k->keys = n;
	if (!EVP_PKEY_up_ref(pkey))
		return crypto_ossl_err(AERR_CRYPTO, "IMA key reference");
	key.pkey = pkey;
	k->keys[k->n++] = key;
	return 0;
}

/* Every PEM block of bio; *found counts the keys added. */
static int imasig_keys_pem(struct imasig_keys *k, BIO *bio, const char *path, size_t *found)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	int r = 0;

	while (r == 0 && PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
		const unsigned char *p = data;
		X509 *cert = NULL;
		EVP_PKEY *pkey = NULL;

		if (!strcmp(name, "CERTIFICATE")) {
			if (!(cert = d2i_X509(NULL, &p, len)) || p != data + len)
				r = crypto_ossl_err(AERR_CONFIG, path);
			else if (!(pkey = X509_get0_pubkey(cert)))
				r = crypto_ossl_err(AERR_CONFIG, path);
			else
				r = imasig_keys_push(k, pkey, cert, path);
		} else if (!strcmp(name, "PUBLIC KEY")) {
			if (!(pkey = d2i_PUBKEY(NULL, &p, len)) || p != data + len)
				r = crypto_ossl_err(AERR_CONFIG, path);
			else
				r = imasig_keys_push(k, pkey, NULL, path);
			EVP_PKEY_free(pkey);
		} else if (strstr(name, "PRIVATE KEY")) {
			r = err_set(AERR_CONFIG, "%s: holds a private key; give the public key or certificate", path);
		} else {
			r = err_set(AERR_CONFIG, "%s: PEM block \"%s\" is neither CERTIFICATE nor PUBLIC KEY", path, name);
		}
		X509_free(cert);
		if (r == 0)
			(*found)++;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	ERR_clear_error(); /* the end of the blocks reads as an error */
	return r;
}

int imasig_keys_add_file(struct imasig_keys *k, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0, found = 0;
	BIO *bio = NULL;
	X509 *cert = NULL;
	EVP_PKEY *pkey = NULL;
	int r = AERR_INTERNAL;

	if (!k || !path) {
		r = err_set(AERR_INVALID_ARG, "imasig_keys_add_file: NULL argument");
		goto out;
	}
	if ((r = file_read_all(path, IMASIG_MAX_KEY_FILE, &buf, &len)) != 0)
		goto out;
	if (len > INT32_MAX || !(bio = BIO_new_mem_buf(buf, (int)len))) {
		r = crypto_ossl_err(AERR_ALLOC, "IMA key file");
		goto out;
	}
	if ((r = imasig_keys_pem(k, bio, path, &found)) != 0)
		goto out;
	if (!found) {
		const unsigned char *p = buf;

		/* DER: a certificate, else a SubjectPublicKeyInfo, each filling the file. */
		if ((cert = d2i_X509(NULL, &p, (long)len)) && p == buf + len && (pkey = X509_get0_pubkey(cert))) {
			if ((r = imasig_keys_push(k, pkey, cert, path)) != 0)
				goto out;
		} else {
			p = buf;
			ERR_clear_error();
			if (!(pkey = d2i_PUBKEY(NULL, &p, (long)len)) || p != buf + len) {
				EVP_PKEY_free(pkey);
				ERR_clear_error();
				r = err_set(AERR_CONFIG, "%s: no certificate or public key (PEM or DER)", path);
				goto out;
			}
			r = imasig_keys_push(k, pkey, NULL, path);
			EVP_PKEY_free(pkey);
			if (r != 0)
				goto out;
		}
	}
	r = 0;
out:
	X509_free(cert);
	BIO_free(bio);
	free(buf);
	return r;
}

int imasig_keys_new(struct imasig_keys **out)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return err_set(AERR_ALLOC, "IMA keys");
	return 0;
}

size_t imasig_keys_count(const struct imasig_keys *k)
{
	return k ? k->n : 0;
}

uint32_t imasig_keys_id(const struct imasig_keys *k, size_t i)
{
	return k && i < k->n ? k->keys[i].id : 0;
}

void imasig_keys_free(struct imasig_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		EVP_PKEY_free(k->keys[i].pkey);
	free(k->keys);
	free(k);
}

static int imasig_check(const struct imasig_key *key, const EVP_MD *md, const uint8_t *tbs, size_t tbs_len,
			const struct imasig_hdr *h)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
	int ok;

	ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	     (!key->rsa || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
	     EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 && EVP_PKEY_verify(ctx, h->sig, h->sig_len, tbs, tbs_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error(); /* a failed verify is an answer, not an error to keep */
	return ok;
}

/* The bytes signed: the digest (v2) or H(ima_file_id) (v3). */
static int imasig_tbs(const struct imasig_hdr *h, const EVP_MD *md, const struct ima_entry *e, uint8_t *tbs,
		      size_t *tbs_len)
{
	uint8_t file_id[2 + CRYPTO_MAX_DIGEST];
	unsigned int n = 0;

	if (h->version == 2) {
		memcpy(tbs, e->digest, e->digest_len);
		*tbs_len = e->digest_len;
		return 0;
	}
	file_id[0] = h->type;
	file_id[1] = h->hash_algo;
	memcpy(file_id + 2, e->digest, e->digest_len);
	if (!EVP_Digest(file_id, 2 + e->digest_len, tbs, &n, md, NULL))
		return crypto_ossl_err(AERR_CRYPTO, "IMA signature: ima_file_id digest");
	*tbs_len = n;
	return 0;
}

int imasig_verify(const struct imasig_keys *k, const struct ima_entry *e)
{
	const char *path;
	struct imasig_hdr h;
	const EVP_MD *md;
	uint8_t tbs[CRYPTO_MAX_DIGEST];
	size_t tbs_len = 0, tried = 0;
	int i, r;

	if (!k || !e)
		return err_set(AERR_INVALID_ARG, "imasig_verify: NULL argument");
	path = e->path ? e->path : "(no path)";
	if (!e->sig_len || !e->sig)
		return err_set(AERR_NOT_FOUND, "%s: no IMA signature", path);
	if ((r = imasig_parse(e->sig, e->sig_len, &h)) != 0)
		return err_wrap(r, path);
	if ((i = imasig_hash_index(h.hash_algo)) < 0 || !(md = EVP_get_digestbyname(imasig_hashes[i].ossl)))
		return err_set(AERR_UNSUPPORTED, "%s: IMA signature with hash algorithm %u", path, h.hash_algo);
	/* The kernel hashes the file with the signature's algorithm, so the
	 * measured digest is of that algorithm; anything else cannot match. */
	if (!e->digest || e->digest_len != imasig_hashes[i].size ||
	    (strcmp(e->digest_alg_name, imasig_hashes[i].name) != 0 &&
	     !(h.hash_algo == 17 && !strcmp(e->digest_alg_name, "sm3-256"))))
		return err_set(AERR_SIGNATURE, "%s: IMA signature over %s, but the measured digest is %s", path,
			       imasig_hashes[i].name, e->digest_alg_name[0] ? e->digest_alg_name : "absent");
	if ((r = imasig_tbs(&h, md, e, tbs, &tbs_len)) != 0)
		return r;
	for (size_t j = 0; j < k->n; j++) {
		const struct imasig_key *key = &k->keys[j];

		if (key->id != h.keyid && key->skid != h.keyid)
			continue;
		tried++;
		if (imasig_check(key, md, tbs, tbs_len, &h))
			return 0;
	}
	if (!tried)
		return err_set(AERR_NOT_FOUND, "%s: IMA signature by key id %08" PRIx32 ", not a trusted key", path,
			       h.keyid);
	return err_set(AERR_SIGNATURE, "%s: IMA signature (v%u, %s, key id %08" PRIx32 ") does not verify", path,
		       h.version, imasig_hashes[i].name, h.keyid);
}
