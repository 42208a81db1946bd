/* TPM2_ActivateCredential of simtpm.h (TPM 2.0 Part 1, 24: credential
 * protection): the seed from the EK (RSA-OAEP with label "IDENTITY", or
 * ECDH and KDFe), KDFa keys, the HMAC over the AK's Name, AES-128-CFB. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "kdf.h"
#include "simtpm_priv.h"
#include "tpmpub.h"

#define SIMTPM_RSA_BYTES (2048 / 8)

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

int simtpm_activate(const struct simtpm *s, const TPM2B_ID_OBJECT *id, const TPM2B_ENCRYPTED_SECRET *es,
		    uint8_t *secret, size_t cap, size_t *len)
{
	uint8_t seed[32], hmac_key[32], mac[32], sym[16];
	uint8_t mac_in[sizeof(id->credential) + sizeof(s->ak_name.name)], plain[sizeof(id->credential)];
	const uint8_t *enc;
	size_t enc_len, inner;
	int r = AERR_INTERNAL;

	*len = 0;
	/* [UINT16 32] HMAC-SHA256 || encIdentity (a TPM2B_DIGEST, at least its size). */
	if (id->size < 2 + 32 + 2 || id->size > sizeof(id->credential) ||
	    ((size_t)id->credential[0] << 8 | id->credential[1]) != 32)
		return err_set(AERR_PARSE, "credential blob of %u bytes has no SHA-256 integrity field", id->size);
	enc = id->credential + 2 + 32;
	enc_len = (size_t)id->size - 2 - 32;
	if ((r = s->ek_alg == TPM2_ALG_RSA ? simtpm_seed_rsa(s, es, seed) : simtpm_seed_ecc(s, es, seed)) != 0)
		goto out;
	/* Integrity over the Name of the AK this TPM holds, not the one the
	 * challenge claims: that is what binds the credential to this AK. */
	memcpy(mac_in, enc, enc_len);
	memcpy(mac_in + enc_len, s->ak_name.name, s->ak_name.size);
	if ((r = kdf_a(TPM2_ALG_SHA256, seed, sizeof(seed), "INTEGRITY", NULL, 0, NULL, 0, 256, hmac_key)) != 0 ||
	    (r = crypto_hmac(TPM2_ALG_SHA256, hmac_key, sizeof(hmac_key), mac_in, enc_len + s->ak_name.size, mac)) != 0)
		goto out;
	if (CRYPTO_memcmp(mac, id->credential + 2, 32) != 0) {
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
	return r;
}

int simtpm_activate_wire(const struct simtpm *s, const uint8_t *blob, size_t blob_len, const uint8_t *enc_seed,
			 size_t enc_seed_len, uint8_t *secret, size_t cap, size_t *len)
{
	TPM2B_ID_OBJECT id;
	TPM2B_ENCRYPTED_SECRET es;
	size_t off = 0;
	int r;

	*len = 0;
	memset(&id, 0, sizeof(id));
	memset(&es, 0, sizeof(es));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob, blob_len, &off, &id) != TSS2_RC_SUCCESS || off != blob_len)
		return err_set(AERR_PARSE, "credential blob is not one TPM2B_ID_OBJECT");
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(enc_seed, enc_seed_len, &off, &es) != TSS2_RC_SUCCESS ||
	    off != enc_seed_len)
		return err_set(AERR_PARSE, "encrypted secret is not one TPM2B_ENCRYPTED_SECRET");
	r = simtpm_activate(s, &id, &es, secret, cap, len);
	OPENSSL_cleanse(&id, sizeof(id));
	return r;
}
