/* makecred: our software MakeCredential, written in the file format of
 * tpm2-tools 5.4 `tpm2_makecredential -o` so that `tpm2_activatecredential -i`
 * reads it.
 *
 *   makecred EKPUB AKNAME_HEX SECRET_HEX OUT
 *
 * EKPUB      TPM2B_PUBLIC of the EK (tpm2_createek -u, default tss format)
 * AKNAME_HEX the AK's Name (nameAlg || digest), hex (e.g. `xxd -p -c 256 ak.name`)
 * SECRET_HEX the credential, 1..digest size of the EK's nameAlg bytes, hex
 * OUT        written as: UINT32 magic 0xBADCC0DE, UINT32 version 1,
 *            TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET (all big-endian)
 *
 * Exit 0 on success, 1 when credential_make refuses, 2 on usage/file errors. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "credential.h"
#include "err.h"
#include "tpmpub.h"
#include "tool_io.h"

#define MAKECRED_MAGIC 0xBADCC0DEu
#define MAKECRED_VERSION 1u

static int unhex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = strlen(hex);

	*len = 0;
	if (n == 0 || n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *d;

		if (!isxdigit((unsigned char)hex[i]))
			return -1;
		d = strchr(digits, tolower((unsigned char)hex[i]));
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)((d - digits) << 4);
		else
			out[i / 2] |= (uint8_t)(d - digits);
	}
	*len = n / 2;
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t *ekbuf = NULL, secret[sizeof(TPMU_HA)], out[8 + sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_ENCRYPTED_SECRET)];
	size_t eklen = 0, secret_len = 0, name_len = 0, off = 0;
	TPMT_PUBLIC ek;
	TPM2B_NAME name;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET enc;
	FILE *f = NULL;
	int rc = 2, r;

	if (argc != 5) {
		fprintf(stderr, "usage: %s EKPUB AKNAME_HEX SECRET_HEX OUT\n", argv[0]);
		goto out;
	}
	if (!(ekbuf = tool_read(argv[1], sizeof(TPM2B_PUBLIC), &eklen)))
		goto out;
	if ((r = tpmpub_parse(ekbuf, eklen, &ek)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[1], err_str(r), err_detail());
		goto out;
	}
	memset(&name, 0, sizeof(name));
	if (unhex(argv[2], name.name, sizeof(name.name), &name_len) != 0) {
		fprintf(stderr, "AKNAME_HEX: not hex of at most %zu bytes\n", sizeof(name.name));
		goto out;
	}
	name.size = (UINT16)name_len;
	if (unhex(argv[3], secret, sizeof(secret), &secret_len) != 0) {
		fprintf(stderr, "SECRET_HEX: not hex of 1..%zu bytes\n", sizeof(secret));
		goto out;
	}
	if ((r = credential_make(&ek, &name, secret, secret_len, &blob, &enc)) != 0) {
		fprintf(stderr, "credential_make: %s: %s\n", err_str(r), err_detail());
		rc = 1;
		goto out;
	}
	if (Tss2_MU_UINT32_Marshal(MAKECRED_MAGIC, out, sizeof(out), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_UINT32_Marshal(MAKECRED_VERSION, out, sizeof(out), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ID_OBJECT_Marshal(&blob, out, sizeof(out), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&enc, out, sizeof(out), &off) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "cannot marshal the credential\n");
		goto out;
	}
	if (!(f = fopen(argv[4], "wb")) || fwrite(out, 1, off, f) != off) {
		perror(argv[4]);
		goto out;
	}
	rc = 0;
out:
	if (f && fclose(f) != 0 && rc == 0) {
		perror(argv[4]);
		rc = 2;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	free(ekbuf);
	return rc;
}
