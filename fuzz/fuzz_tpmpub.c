/* TPM2B_PUBLIC from the wire (EK and AK publics, secrets' object publics):
 * strict parse, the exact round trip, the Name, the OpenSSL key, AK
 * admission, and what the verifier does with a parent EK it accepted
 * (MakeCredential, import blobs): those run OpenSSL on a hostile key. */
#include <string.h>

#include <openssl/evp.h>

#include "akpub.h"
#include "credential.h"
#include "duplicate.h"
#include "fuzz.h"
#include "seed.h"
#include "tpmpub.h"
#include "wrap.h"

int fuzz_tpmpub_init(void)
{
	fuzz_quiet();
	return 0;
}

int fuzz_tpmpub(const uint8_t *data, size_t size)
{
	static uint8_t wire[sizeof(TPM2B_PUBLIC) + 16];
	static const uint8_t secret[16] = "fuzz credential";
	TPMT_PUBLIC pub;
	TPM2B_NAME name, ak_name = { .size = 34, .name = { 0x00, 0x0b } };
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_DIGEST policy = { .size = 32 };
	TPM2B_PUBLIC dpub;
	TPM2B_PRIVATE dpriv;
	EVP_PKEY *key = NULL;
	size_t len = 0;

	if (tpmpub_parse(data, size, &pub) != 0)
		return 0;
	/* Strict parsing: what was accepted is exactly what marshals back. */
	FUZZ_CHECK(tpmpub_marshal(&pub, wire, sizeof(wire), &len) == 0);
	FUZZ_CHECK(len == size && memcmp(wire, data, size) == 0);
	if (tpmpub_name(&pub, &name) == 0)
		FUZZ_CHECK(name.size >= 2 && name.size <= sizeof(name.name));
	fuzz_ignore(akpub_admit(&pub));
	if (tpmpub_to_evp(&pub, &key) != 0) {
		FUZZ_CHECK(key == NULL);
		return 0;
	}
	FUZZ_CHECK(key != NULL);
	EVP_PKEY_free(key);
	if (seed_check_parent(&pub) != 0 || wrap_check_parent(&pub) != 0)
		return 0;
	if (credential_make(&pub, &ak_name, secret, sizeof(secret), &blob, &enc) == 0)
		FUZZ_CHECK(blob.size > 0 && enc.size > 0);
	if (dup_make_sealed(&pub, secret, sizeof(secret), &policy, &dpub, &dpriv, &enc) == 0)
		FUZZ_CHECK(dpriv.size > 0 && enc.size > 0);
	return 0;
}
