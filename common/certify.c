/* common/certify.h. */
#include <string.h>

#include <openssl/crypto.h>

#include "akpub.h"
#include "certify.h"
#include "crypto.h"
#include "quote.h"
#include "tpmpub.h"

int certify_key_admit(const TPMT_PUBLIC *key)
{
	static const struct {
		TPMA_OBJECT bit;
		int want;
		const char *name;
	} attrs[] = {
		{ TPMA_OBJECT_FIXEDTPM, 1, "fixedTPM (it could be duplicated to another TPM)" },
		{ TPMA_OBJECT_FIXEDPARENT, 1, "fixedParent (it could be duplicated)" },
		{ TPMA_OBJECT_SENSITIVEDATAORIGIN, 1, "sensitiveDataOrigin (its private part came from outside "
						      "the TPM)" },
		{ TPMA_OBJECT_USERWITHAUTH, 1, "userWithAuth" },
		{ TPMA_OBJECT_SIGN_ENCRYPT, 1, "sign" },
		{ TPMA_OBJECT_DECRYPT, 0, "decrypt (a signing key only)" },
		{ TPMA_OBJECT_RESTRICTED, 0, "restricted (an AK or a storage key, not a TLS key)" },
	};

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (!!(key->objectAttributes & attrs[i].bit) != attrs[i].want)
			return err_set(AERR_CERTIFY, "the key %s %s", attrs[i].want ? "lacks" : "has", attrs[i].name);
	if (key->nameAlg != TPM2_ALG_SHA256)
		return err_set(AERR_UNSUPPORTED, "the key's nameAlg 0x%04x is not SHA-256", key->nameAlg);
	if (key->type == TPM2_ALG_RSA) {
		const TPMT_RSA_SCHEME *s = &key->parameters.rsaDetail.scheme;

		if (key->parameters.rsaDetail.keyBits != 2048)
			return err_set(AERR_UNSUPPORTED, "an RSA key of %u bits (2048)", key->parameters.rsaDetail.keyBits);
		/* A key pinned to a scheme signs only with it: one TLS can use. */
		if (s->scheme != TPM2_ALG_NULL &&
		    ((s->scheme != TPM2_ALG_RSASSA && s->scheme != TPM2_ALG_RSAPSS) || s->details.anySig.hashAlg != TPM2_ALG_SHA256))
			return err_set(AERR_UNSUPPORTED, "an RSA key pinned to scheme 0x%04x hash 0x%04x (RSASSA or "
				       "RSAPSS with SHA-256, or none)", s->scheme, s->details.anySig.hashAlg);
	} else if (key->type == TPM2_ALG_ECC) {
		const TPMT_ECC_SCHEME *s = &key->parameters.eccDetail.scheme;

		if (key->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
			return err_set(AERR_UNSUPPORTED, "an ECC key on curve 0x%04x (P-256)",
				       key->parameters.eccDetail.curveID);
		if (s->scheme != TPM2_ALG_NULL && (s->scheme != TPM2_ALG_ECDSA || s->details.anySig.hashAlg != TPM2_ALG_SHA256))
			return err_set(AERR_UNSUPPORTED, "an ECC key pinned to scheme 0x%04x hash 0x%04x (ECDSA with "
				       "SHA-256, or none)", s->scheme, s->details.anySig.hashAlg);
	} else {
		return err_set(AERR_UNSUPPORTED, "a key of type 0x%04x (RSA or ECC)", key->type);
	}
	return 0;
}

int certify_verify(const TPMT_PUBLIC *ak, const uint8_t *key_pub, size_t key_pub_len, const uint8_t *attest,
		   size_t attest_len, const uint8_t *sig, size_t sig_len, const uint8_t *nonce, size_t nonce_len,
		   TPMT_PUBLIC *out)
{
	uint8_t name[2 + 32];
	TPMT_PUBLIC key;
	TPMS_ATTEST a;
	int r;

	memset(out, 0, sizeof(*out));
	/* Only an AK vouches: a key that may sign anything (TPM2_Sign) could
	 * sign a made-up TPMS_ATTEST. */
	if ((r = akpub_admit(ak)) != 0 || (r = tpmpub_parse(key_pub, key_pub_len, &key)) != 0 ||
	    (r = certify_key_admit(&key)) != 0 ||
	    (r = quote_attest_verify(ak, attest, attest_len, sig, sig_len, nonce, nonce_len, TPM2_ST_ATTEST_CERTIFY,
				     &a)) != 0)
		return r;
	/* What the AK signed names exactly the bytes presented: nameAlg, then
	 * SHA-256 of the public area as received (after its size field;
	 * tpmpub_parse took it whole). */
	name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
	name[1] = (uint8_t)TPM2_ALG_SHA256;
	if ((r = crypto_digest(TPM2_ALG_SHA256, key_pub + 2, key_pub_len - 2, name + 2)) != 0)
		return r;
	if (a.attested.certify.name.size != sizeof(name) ||
	    CRYPTO_memcmp(a.attested.certify.name.name, name, sizeof(name)) != 0)
		return err_set(AERR_CERTIFY, "the certify names another key than the public area presented");
	*out = key;
	return 0;
}
