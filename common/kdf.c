#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "kdf.h"

enum kdf_kind { KDF_A, KDF_E };

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Both KDFs iterate a PRF over one fixed message in which only the counter
 * changes; build that message once:
 *   KDFa: [i] || label 00 || u || v || [bits]   (PRF = HMAC keyed with the secret)
 *   KDFe: [i] || z || label 00 || u || v         (PRF = plain hash) */
static int kdf_run(enum kdf_kind kind, TPM2_ALG_ID hash, const uint8_t *secret, size_t secret_len,
		   const char *label, const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len,
		   uint32_t bits, uint8_t *out)
{
	size_t dsize = crypto_digest_size(hash), label_len = label ? strlen(label) + 1 : 0;
	size_t out_len = (bits + 7) / 8, msg_len, off, done;
	uint8_t *msg = NULL, block[CRYPTO_MAX_DIGEST];
	uint32_t counter;
	int r = AERR_INTERNAL;

	if (dsize == 0 || !crypto_md(hash)) {
		r = err_set(AERR_UNSUPPORTED, "KDF hash algorithm 0x%04x", hash);
		goto out;
	}
	if (bits == 0 || bits > KDF_MAX_BITS) {
		r = err_set(AERR_INVALID_ARG, "KDF output of %u bits (1..%u)", bits, KDF_MAX_BITS);
		goto out;
	}
	if ((!secret && secret_len) || (!u && u_len) || (!v && v_len) || !out) {
		r = err_set(AERR_INVALID_ARG, "KDF: NULL buffer with a non-zero length");
		goto out;
	}
	/* Every length is bounded by what callers can hold; still refuse sums that wrap. */
	if (secret_len > SIZE_MAX / 4 || u_len > SIZE_MAX / 4 || v_len > SIZE_MAX / 4 ||
	    label_len > SIZE_MAX / 8) {
		r = err_set(AERR_TOO_LARGE, "KDF input too large");
		goto out;
	}
	msg_len = 4 + label_len + u_len + v_len + (kind == KDF_A ? 4 : secret_len);
	if (!(msg = malloc(msg_len))) {
		r = err_set(AERR_ALLOC, "KDF message of %zu bytes", msg_len);
		goto out;
	}
	off = 4;
	if (kind == KDF_E) {
		if (secret_len)
			memcpy(msg + off, secret, secret_len);
		off += secret_len;
	}
	if (label_len)
		memcpy(msg + off, label, label_len); /* strlen + 1: includes the NUL */
	off += label_len;
	if (u_len)
		memcpy(msg + off, u, u_len);
	off += u_len;
	if (v_len)
		memcpy(msg + off, v, v_len);
	off += v_len;
	if (kind == KDF_A) {
		put32(msg + off, bits);
		off += 4;
	}

	for (counter = 1, done = 0; done < out_len; counter++) {
		size_t take = out_len - done < dsize ? out_len - done : dsize;

		put32(msg, counter);
		r = kind == KDF_A ? crypto_hmac(hash, secret, secret_len, msg, off, block)
				  : crypto_digest(hash, msg, off, block);
		if (r != 0)
			goto out;
		memcpy(out + done, block, take);
		done += take;
	}
	/* The spec keeps the first bits of the stream: drop the excess high bits of
	 * the first byte, so e.g. 13 bits give out[0] & 0x1f, out[1]. */
	if (bits % 8)
		out[0] &= (uint8_t)((1u << (bits % 8)) - 1);
	r = 0;
out:
	if (r != 0 && out && bits && bits <= KDF_MAX_BITS)
		OPENSSL_cleanse(out, out_len);
	if (msg) {
		/* KDFe's message holds the shared secret. */
		OPENSSL_cleanse(msg, msg_len);
		free(msg);
	}
	OPENSSL_cleanse(block, sizeof(block));
	return r;
}

int kdf_a(TPM2_ALG_ID hash, const uint8_t *key, size_t key_len, const char *label,
	  const uint8_t *context_u, size_t context_u_len, const uint8_t *context_v,
	  size_t context_v_len, uint32_t bits, uint8_t *out)
{
	return kdf_run(KDF_A, hash, key, key_len, label, context_u, context_u_len, context_v,
		       context_v_len, bits, out);
}

int kdf_e(TPM2_ALG_ID hash, const uint8_t *z, size_t z_len, const char *label,
	  const uint8_t *party_u, size_t party_u_len, const uint8_t *party_v,
	  size_t party_v_len, uint32_t bits, uint8_t *out)
{
	return kdf_run(KDF_E, hash, z, z_len, label, party_u, party_u_len, party_v, party_v_len,
		       bits, out);
}
