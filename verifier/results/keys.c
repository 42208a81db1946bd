/* results/keys.h: ES256 keys, their JWKs and thumbprints, JWS sign and
 * verify. OpenSSL 3 only (EVP_PKEY, OSSL_PARAM). */
#define LOG_MODULE "results"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "crypto.h"
#include "file.h"
#include "keyfile.h"
#include "log.h"
#include "results/keys.h"

#define RESULT_COORD 32                 /* P-256 coordinate and scalar bytes */
#define RESULT_KEY_FILE_MAX (16 * 1024)

struct result_key {
	EVP_PKEY *pkey;
	char x[B64URL_LEN(RESULT_COORD) + 1], y[B64URL_LEN(RESULT_COORD) + 1];
	char kid[RESULT_KID_LEN + 1];
};

struct result_keys {
	int has_current;                /* keys[0] signs */
	/* keys[0]'s signing context, set up once: each signature copies it
	 * instead of fetching the algorithms again (OpenSSL 3 fetches them
	 * under locks the verifier's workers would share). Read only. */
	EVP_MD_CTX *sign_tmpl;
	size_t n;
	struct result_key keys[RESULT_KEYS_MAX];
};

/* x, y and the RFC 7638 thumbprint of a P-256 key; AERR_CONFIG when it is
 * another kind of key. */
static int result_key_describe(struct result_key *k, const char *what)
{
	uint8_t xb[RESULT_COORD], yb[RESULT_COORD], digest[32];
	char group[32] = "", members[256];
	BIGNUM *x = NULL, *y = NULL;
	size_t glen = 0;
	int r = 0;

	if (!EVP_PKEY_is_a(k->pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) ||
	    strcmp(group, "prime256v1") != 0)
		return err_set(AERR_CONFIG, "%s: not an EC P-256 key (ES256 signs with P-256)", what);
	if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) || BN_bn2binpad(x, xb, RESULT_COORD) < 0 ||
	    BN_bn2binpad(y, yb, RESULT_COORD) < 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "result key: public point");
		goto out;
	}
	b64url_encode(xb, RESULT_COORD, k->x);
	b64url_encode(yb, RESULT_COORD, k->y);
	/* RFC 7638: the required members, in lexical order, no whitespace. */
	snprintf(members, sizeof(members), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", k->x, k->y);
	if ((r = crypto_digest(TPM2_ALG_SHA256, members, strlen(members), digest)) == 0)
		b64url_encode(digest, sizeof(digest), k->kid);
out:
	BN_free(x);
	BN_free(y);
	return r;
}

/* A new P-256 key at path, readable by this user alone: written whole
 * to a temporary file and linked into place, so that a second instance
 * starting at the same time finds the one key or none, never half of one
 * (link fails when the name exists: that one wins). */
static int result_key_create(const char *path)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd = -1, r = 0;

	if (!pkey)
		return crypto_ossl_err(AERR_CRYPTO, "result key: generating a P-256 key");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
		r = err_set(AERR_CONFIG, "result key %s: path too long", path);
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) { /* 0600 */
		r = err_set(AERR_CONFIG, "result key %s: cannot create it: %s", path, strerror(errno));
		goto out;
	}
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		unlink(tmp);
		r = err_set(AERR_IO, "result key %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (!PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) || fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = err_set(AERR_IO, "result key %s: cannot write it", tmp);
	if (fclose(f) != 0 && r == 0)
		r = err_set(AERR_IO, "result key %s: %s", tmp, strerror(errno));
	if (r == 0 && link(tmp, path) != 0 && errno != EEXIST)
		r = err_set(AERR_IO, "result key %s: %s", path, strerror(errno));
	unlink(tmp);
	if (r == 0)
		LOG_WARN("made a new result-signing key %s (ES256): relying parties need the new JWKS", path);
out:
	EVP_PKEY_free(pkey);
	return r;
}

/* A PEM key file into k: the private key (private: the file must be held
 * to the rule of key files), else a public one, or a private one in a
 * file that keeps the rule too (a retired key moved as it was). */
static int result_key_read(struct result_key *k, const char *path, int private)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	BIO *bio;
	int r, keyfile;

	/* A public key needs no secrecy, a private one does: only a file
	 * the rule holds for is read as one. */
	keyfile = private || keyfile_check("retired result key", path) == 0;
	if (keyfile) {
		if ((r = keyfile_read(private ? "result key" : "retired result key", path, RESULT_KEY_FILE_MAX, &buf,
				      &len)) != 0)
			return r;
	} else if ((r = file_read_all(path, RESULT_KEY_FILE_MAX, &buf, &len)) != 0) {
		return err_set(AERR_CONFIG, "retired result key %s: %s", path, err_detail());
	}
	if (!(bio = BIO_new_mem_buf(buf, (int)len))) {
		r = err_set(AERR_ALLOC, "result key");
		goto out;
	}
	k->pkey = keyfile ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!k->pkey && !private) {
		(void)BIO_reset(bio);
		k->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	BIO_free(bio);
	r = k->pkey ? result_key_describe(k, path)
		    : err_set(AERR_CONFIG, "%s: no PEM %s key in it", path,
			      private ? "private" : keyfile ? "public or private" : "public (a private key file must "
			      "be readable by this user alone)");
out:
	if (keyfile)
		keyfile_free(buf, len);
	else
		free(buf);
	return r;
}

int result_keys_load(const char *key_path, int create, const char *const *retired, size_t nretired,
		     struct result_keys **out)
{
	struct result_keys *k;
	int r = 0;

	*out = NULL;
	if (nretired + 1 > RESULT_KEYS_MAX)
		return err_set(AERR_CONFIG, "at most %d retired result keys", RESULT_KEYS_MAX - 1);
	if (!(k = calloc(1, sizeof(*k))))
		return err_set(AERR_ALLOC, "result keys");
	if (create && access(key_path, F_OK) != 0 && errno == ENOENT && (r = result_key_create(key_path)) != 0)
		goto fail;
	if ((r = result_key_read(&k->keys[0], key_path, 1)) != 0)
		goto fail;
	if (!(k->sign_tmpl = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(k->sign_tmpl, NULL, EVP_sha256(), NULL, k->keys[0].pkey) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "result key: signing context");
		goto fail;
	}
	k->has_current = 1;
	k->n = 1;
	for (size_t i = 0; i < nretired; i++, k->n++)
		if ((r = result_key_read(&k->keys[k->n], retired[i], 0)) != 0)
			goto fail;
	for (size_t i = 1; i < k->n; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(k->keys[i].kid, k->keys[j].kid)) {
				r = err_set(AERR_CONFIG, "retired result key %s is a key given already", retired[i - 1]);
				goto fail;
			}
	*out = k;
	return 0;
fail:
	result_keys_free(k);
	return r;
}

/* One JWK of a JWKS into k. */
static int result_key_from_jwk(struct result_key *k, struct json_object *jwk)
{
	struct json_object *kty, *crv, *x, *y;
	uint8_t point[1 + 2 * RESULT_COORD];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int r = 0;

	if (!json_object_is_type(jwk, json_type_object) || !json_object_object_get_ex(jwk, "kty", &kty) ||
	    !json_object_object_get_ex(jwk, "crv", &crv) || !json_object_object_get_ex(jwk, "x", &x) ||
	    !json_object_object_get_ex(jwk, "y", &y) || !json_object_is_type(kty, json_type_string) ||
	    !json_object_is_type(crv, json_type_string) || !json_object_is_type(x, json_type_string) ||
	    !json_object_is_type(y, json_type_string) || strcmp(json_object_get_string(kty), "EC") ||
	    strcmp(json_object_get_string(crv), "P-256"))
		return err_set(AERR_PARSE, "JWKS: a key that is not EC P-256 with x and y");
	point[0] = 0x04;
	if (b64url_decode(json_object_get_string(x), (size_t)json_object_get_string_len(x), point + 1, RESULT_COORD) !=
		    RESULT_COORD ||
	    b64url_decode(json_object_get_string(y), (size_t)json_object_get_string_len(y), point + 1 + RESULT_COORD,
			  RESULT_COORD) != RESULT_COORD)
		return err_set(AERR_PARSE, "JWKS: x or y is not 32 bytes of base64url");
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		r = crypto_ossl_err(AERR_PARSE, "JWKS: a point that is not on P-256");
	else
		r = result_key_describe(k, "JWKS key");
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

int result_keys_from_jwks(const char *json, struct result_keys **out)
{
	struct json_object *root = json_tokener_parse(json), *keys;
	struct result_keys *k = NULL;
	size_t n;
	int r = 0;

	*out = NULL;
	if (!root || !json_object_object_get_ex(root, "keys", &keys) || !json_object_is_type(keys, json_type_array)) {
		r = err_set(AERR_PARSE, "not a JWKS (an object with a \"keys\" array)");
		goto out;
	}
	n = json_object_array_length(keys);
	if (n == 0 || n > RESULT_KEYS_MAX) {
		r = err_set(AERR_PARSE, "a JWKS of %zu keys (1 to %d)", n, RESULT_KEYS_MAX);
		goto out;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		r = err_set(AERR_ALLOC, "result keys");
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++, k->n++)
		r = result_key_from_jwk(&k->keys[i], json_object_array_get_idx(keys, i));
	if (r == 0) {
		*out = k;
		k = NULL;
	}
out:
	result_keys_free(k);
	json_object_put(root);
	return r;
}

void result_keys_free(struct result_keys *k)
{
	if (!k)
		return;
	EVP_MD_CTX_free(k->sign_tmpl);
	for (size_t i = 0; i < RESULT_KEYS_MAX; i++)
		EVP_PKEY_free(k->keys[i].pkey);
	free(k);
}

const char *result_keys_kid(const struct result_keys *k)
{
	return k && k->has_current ? k->keys[0].kid : "";
}

/* ECDSA's DER signature as JWS wants it: r || s, 32 bytes each. */
static int result_sig_raw(const uint8_t *der, size_t len, uint8_t raw[2 * RESULT_COORD])
{
	const uint8_t *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (!sig)
		return crypto_ossl_err(AERR_CRYPTO, "result signature");
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, RESULT_COORD) == RESULT_COORD &&
	     BN_bn2binpad(s, raw + RESULT_COORD, RESULT_COORD) == RESULT_COORD;
	ECDSA_SIG_free(sig);
	return ok ? 0 : err_set(AERR_CRYPTO, "result signature: r or s too long");
}

int result_sign(const struct result_keys *k, const char *payload, size_t len, char **jws)
{
	char header[128], *out = NULL;
	uint8_t der[80], raw[2 * RESULT_COORD];
	size_t hlen, plen, dlen = sizeof(der), o;
	EVP_MD_CTX *md = NULL;
	int r = 0;

	*jws = NULL;
	if (!k || !k->has_current)
		return err_set(AERR_STATE, "no result-signing key");
	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k->keys[0].kid);
	hlen = strlen(header);
	plen = len;
	if (!(out = malloc(B64URL_LEN(hlen) + 1 + B64URL_LEN(plen) + 1 + B64URL_LEN(sizeof(raw)) + 1)))
		return err_set(AERR_ALLOC, "result token");
	o = b64url_encode((const uint8_t *)header, hlen, out);
	out[o++] = '.';
	o += b64url_encode((const uint8_t *)payload, plen, out + o);
	if (!(md = EVP_MD_CTX_new()) || EVP_MD_CTX_copy_ex(md, k->sign_tmpl) != 1 ||
	    EVP_DigestSign(md, der, &dlen, (const uint8_t *)out, o) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "signing a result");
		goto out;
	}
	if ((r = result_sig_raw(der, dlen, raw)) != 0)
		goto out;
	out[o++] = '.';
	b64url_encode(raw, sizeof(raw), out + o);
	*jws = out;
	out = NULL;
out:
	EVP_MD_CTX_free(md);
	free(out);
	return r;
}

int result_jwks(const struct result_keys *k, char **json)
{
	struct json_object *root = json_object_new_object(), *keys = json_object_new_array();
	int r = 0;

	*json = NULL;
	if (!root || !keys || json_object_object_add(root, "keys", keys) != 0) {
		json_object_put(keys);
		r = err_set(AERR_ALLOC, "JWKS");
		goto out;
	}
	for (size_t i = 0; i < k->n && r == 0; i++) {
		struct json_object *j = json_object_new_object();

		if (!j || json_object_array_add(keys, j) != 0 ||
		    json_object_object_add(j, "kty", json_object_new_string("EC")) ||
		    json_object_object_add(j, "crv", json_object_new_string("P-256")) ||
		    json_object_object_add(j, "x", json_object_new_string(k->keys[i].x)) ||
		    json_object_object_add(j, "y", json_object_new_string(k->keys[i].y)) ||
		    json_object_object_add(j, "kid", json_object_new_string(k->keys[i].kid)) ||
		    json_object_object_add(j, "alg", json_object_new_string("ES256")) ||
		    json_object_object_add(j, "use", json_object_new_string("sig")))
			r = err_set(AERR_ALLOC, "JWKS");
	}
	if (r == 0 && !(*json = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
									      JSON_C_TO_STRING_SPACED |
									      JSON_C_TO_STRING_NOSLASHESCAPE))))
		r = err_set(AERR_ALLOC, "JWKS");
out:
	json_object_put(root);
	return r;
}

/* A base64url part of a token, decoded into a malloc'd, NUL-terminated
 * buffer. */
static int result_part(const char *s, size_t n, uint8_t **out, size_t *len, const char *what)
{
	long got;

	*out = NULL;
	if (n > (1u << 20))
		return err_set(AERR_PARSE, "token %s over 1 MiB", what);
	if (!(*out = malloc(n + 1)))
		return err_set(AERR_ALLOC, "token");
	if ((got = b64url_decode(s, n, *out, n)) < 0) {
		free(*out);
		*out = NULL;
		return err_set(AERR_PARSE, "token %s is not base64url", what);
	}
	(*out)[got] = '\0';
	*len = (size_t)got;
	return 0;
}

/* The header's kid, once alg is ES256. */
static int result_header(const char *text, char kid[RESULT_KID_LEN + 1])
{
	struct json_object *h = json_tokener_parse(text), *alg, *k;
	int r = 0;

	if (!h || !json_object_is_type(h, json_type_object))
		r = err_set(AERR_PARSE, "token header is not a JSON object");
	else if (!json_object_object_get_ex(h, "alg", &alg) || !json_object_is_type(alg, json_type_string) ||
		 strcmp(json_object_get_string(alg), "ES256") != 0)
		r = err_set(AERR_UNSUPPORTED, "token alg is not ES256");
	else if (json_object_object_get_ex(h, "crit", NULL))
		r = err_set(AERR_UNSUPPORTED, "token header has crit extensions, which no result carries");
	else if (!json_object_object_get_ex(h, "kid", &k) || !json_object_is_type(k, json_type_string) ||
		 json_object_get_string_len(k) != RESULT_KID_LEN)
		r = err_set(AERR_PARSE, "token header has no kid of a result key");
	else
		memcpy(kid, json_object_get_string(k), RESULT_KID_LEN + 1);
	json_object_put(h);
	return r;
}

/* The signature sig (r || s) over data by key. */
static int result_check(EVP_PKEY *key, const char *data, size_t len, const uint8_t *sig, size_t slen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	uint8_t *der = NULL;
	EVP_MD_CTX *md = NULL;
	int dlen, rc;

	if (slen != 2 * RESULT_COORD)
		return err_set(AERR_SIGNATURE, "token signature is %zu bytes, not 64", slen);
	if (!(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, RESULT_COORD, NULL)) ||
	    !(s = BN_bin2bn(sig + RESULT_COORD, RESULT_COORD, NULL)) || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		rc = err_set(AERR_ALLOC, "token signature");
		goto out;
	}
	if ((dlen = i2d_ECDSA_SIG(es, &der)) <= 0 || !(md = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1) {
		rc = crypto_ossl_err(AERR_CRYPTO, "token signature");
		goto out;
	}
	rc = EVP_DigestVerify(md, der, (size_t)dlen, (const uint8_t *)data, len) == 1
		     ? 0
		     : err_set(AERR_SIGNATURE, "token signature does not verify");
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return rc;
}

int result_verify(const struct result_keys *k, const char *jws, char **payload, char kid[RESULT_KID_LEN + 1])
{
	const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	uint8_t *header = NULL, *body = NULL, *sig = NULL;
	size_t hlen, blen, slen;
	const struct result_key *key = NULL;
	int r;

	*payload = NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return err_set(AERR_PARSE, "not a compact JWS (three parts with two dots)");
	if ((r = result_part(jws, (size_t)(d1 - jws), &header, &hlen, "header")) != 0 ||
	    (r = result_header((const char *)header, kid)) != 0)
		goto out;
	for (size_t i = 0; i < k->n && !key; i++)
		if (!strcmp(k->keys[i].kid, kid))
			key = &k->keys[i];
	if (!key) {
		r = err_set(AERR_NOT_FOUND, "token kid %s is none of the result keys", kid);
		goto out;
	}
	if ((r = result_part(d2 + 1, strlen(d2 + 1), &sig, &slen, "signature")) != 0 ||
	    (r = result_check(key->pkey, jws, (size_t)(d2 - jws), sig, slen)) != 0 ||
	    (r = result_part(d1 + 1, (size_t)(d2 - d1 - 1), &body, &blen, "payload")) != 0)
		goto out;
	*payload = (char *)body;
	body = NULL;
out:
	free(header);
	free(body);
	free(sig);
	return r;
}
