#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "kdf.h"
#include "wrap.h"

static const EVP_CIPHER *wrap_cipher(const TPMT_SYM_DEF_OBJECT *sym)
{
	if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB)
		return NULL;
	switch (sym->keyBits.aes) {
	case 128: return EVP_aes_128_cfb128();
	case 192: return EVP_aes_192_cfb128();
	case 256: return EVP_aes_256_cfb128();
	}
	return NULL;
}

int wrap_check_parent(const TPMT_PUBLIC *parent)
{
	const TPMT_SYM_DEF_OBJECT *sym;

	if (!parent)
		return err_set(AERR_INVALID_ARG, "no parent public area");
	if (parent->type != TPM2_ALG_RSA && parent->type != TPM2_ALG_ECC)
		return err_set(AERR_UNSUPPORTED, "parent type 0x%04x has no symmetric definition", parent->type);
	/* rsaDetail and eccDetail both start with the symmetric definition. */
	sym = &parent->parameters.asymDetail.symmetric;
	if (!wrap_cipher(sym))
		return err_set(AERR_UNSUPPORTED, "parent symmetric 0x%04x/%u/mode 0x%04x is not AES-CFB",
			       sym->algorithm, sym->keyBits.aes, sym->mode.aes);
	if (crypto_digest_size(parent->nameAlg) == 0)
		return err_set(AERR_UNSUPPORTED, "parent nameAlg 0x%04x", parent->nameAlg);
	return 0;
}

static int wrap_cfb(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *in, size_t len,
		    uint8_t *out)
{
	static const uint8_t zero_iv[16];
	EVP_CIPHER_CTX *ctx = NULL;
	int n1 = 0, n2 = 0, r = AERR_CRYPTO;

	if (len > INT_MAX) {
		r = err_set(AERR_TOO_LARGE, "wrap: %zu bytes", len);
		goto out;
	}
	if (!(ctx = EVP_CIPHER_CTX_new()) || !EVP_EncryptInit_ex(ctx, cipher, NULL, key, zero_iv) ||
	    !EVP_EncryptUpdate(ctx, out, &n1, in, (int)len) || !EVP_EncryptFinal_ex(ctx, out + n1, &n2)) {
		r = crypto_ossl_err(AERR_CRYPTO, "AES-CFB encrypt");
		goto out;
	}
	if ((size_t)(n1 + n2) != len) {
		r = err_set(AERR_INTERNAL, "AES-CFB produced %d bytes for %zu", n1 + n2, len);
		goto out;
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int wrap_outer(const TPMT_PUBLIC *parent, const uint8_t *seed, size_t seed_len,
	       const TPM2B_NAME *name, const uint8_t *plain, size_t plain_len, uint8_t *out,
	       size_t cap, size_t *out_len)
{
	uint8_t sym_key[32], hmac_key[CRYPTO_MAX_DIGEST], *mac_in = NULL;
	const EVP_CIPHER *cipher;
	size_t dsize, need = 0; /* bytes of out written so far, wiped on failure */
	uint16_t key_bits;
	int r = AERR_INTERNAL;

	if (out_len)
		*out_len = 0;
	if (!seed || !seed_len || !name || !plain || !out || !out_len) {
		r = err_set(AERR_INVALID_ARG, "wrap_outer: NULL or empty argument");
		goto out;
	}
	if ((r = wrap_check_parent(parent)) != 0)
		goto out;
	if (name->size == 0 || name->size > sizeof(name->name)) {
		r = err_set(AERR_INVALID_ARG, "wrap_outer: name of %u bytes", name->size);
		goto out;
	}
	cipher = wrap_cipher(&parent->parameters.asymDetail.symmetric);
	key_bits = parent->parameters.asymDetail.symmetric.keyBits.aes;
	dsize = crypto_digest_size(parent->nameAlg);
	if (plain_len == 0 || plain_len > cap || cap - plain_len < 2 + dsize) {
		r = err_set(AERR_TOO_LARGE, "wrap_outer: %zu bytes do not fit in %zu with the HMAC",
			    plain_len, cap);
		goto out;
	}
	need = 2 + dsize + plain_len;

	if ((r = kdf_a(parent->nameAlg, seed, seed_len, "STORAGE", name->name, name->size, NULL, 0,
		       key_bits, sym_key)) != 0)
		goto out;
	if ((r = kdf_a(parent->nameAlg, seed, seed_len, "INTEGRITY", NULL, 0, NULL, 0,
		       (uint32_t)(dsize * 8), hmac_key)) != 0)
		goto out;
	/* Encrypt in place after the HMAC slot, then MAC the ciphertext and the name. */
	if ((r = wrap_cfb(cipher, sym_key, plain, plain_len, out + 2 + dsize)) != 0)
		goto out;
	if (!(mac_in = OPENSSL_malloc(plain_len + name->size))) {
		r = err_set(AERR_ALLOC, "wrap_outer: HMAC input");
		goto out;
	}
	memcpy(mac_in, out + 2 + dsize, plain_len);
	memcpy(mac_in + plain_len, name->name, name->size);
	if ((r = crypto_hmac(parent->nameAlg, hmac_key, dsize, mac_in, plain_len + name->size,
			     out + 2)) != 0)
		goto out;
	out[0] = (uint8_t)(dsize >> 8);
	out[1] = (uint8_t)dsize;
	*out_len = need;
	r = 0;
out:
	if (r != 0 && need)
		OPENSSL_cleanse(out, need);
	OPENSSL_clear_free(mac_in, mac_in ? plain_len + name->size : 0);
	OPENSSL_cleanse(sym_key, sizeof(sym_key));
	OPENSSL_cleanse(hmac_key, sizeof(hmac_key));
	return r;
}
