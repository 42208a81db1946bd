#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "credential.h"
#include "seed.h"
#include "wrap.h"

int credential_make(const TPMT_PUBLIC *ek, const TPM2B_NAME *ak_name, const uint8_t *secret,
		    size_t secret_len, TPM2B_ID_OBJECT *blob, TPM2B_ENCRYPTED_SECRET *enc_seed)
{
	uint8_t seed[SEED_MAX], plain[2 + sizeof(TPMU_HA)];
	size_t seed_len = 0, blob_len = 0, dsize;
	int r = AERR_INTERNAL;

	if (blob)
		memset(blob, 0, sizeof(*blob));
	if (enc_seed)
		memset(enc_seed, 0, sizeof(*enc_seed));
	if (!ek || !ak_name || !secret || !blob || !enc_seed) {
		r = err_set(AERR_INVALID_ARG, "credential_make: NULL argument");
		goto out;
	}
	if ((r = seed_check_parent(ek)) != 0 || (r = wrap_check_parent(ek)) != 0)
		goto out;
	/* TPM2_MakeCredential refuses a credential longer than the EK's nameAlg
	 * digest (TPM_RC_SIZE); a blob it would not make, a TPM need not open. */
	dsize = crypto_digest_size(ek->nameAlg);
	if (secret_len == 0 || secret_len > dsize) {
		r = err_set(AERR_INVALID_ARG, "credential secret of %zu bytes (1..%zu for this EK)",
			    secret_len, dsize);
		goto out;
	}
	if (ak_name->size < 2 || ak_name->size > sizeof(ak_name->name)) {
		r = err_set(AERR_INVALID_ARG, "AK name of %u bytes", ak_name->size);
		goto out;
	}
	/* encIdentity protects the credential as a marshalled TPM2B_DIGEST. */
	plain[0] = (uint8_t)(secret_len >> 8);
	plain[1] = (uint8_t)secret_len;
	memcpy(plain + 2, secret, secret_len);

	if ((r = seed_make(ek, "IDENTITY", seed, &seed_len, enc_seed)) != 0)
		goto out;
	if ((r = wrap_outer(ek, seed, seed_len, ak_name, plain, 2 + secret_len, blob->credential,
			    sizeof(blob->credential), &blob_len)) != 0)
		goto out;
	blob->size = (UINT16)blob_len;
	r = 0;
out:
	if (r != 0) {
		if (blob)
			memset(blob, 0, sizeof(*blob));
		if (enc_seed)
			memset(enc_seed, 0, sizeof(*enc_seed));
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(plain, sizeof(plain));
	return r;
}
