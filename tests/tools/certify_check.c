/* certify_check: check a TPM2_Certify made by tpm2-tools with our
 * certify_verify, and issue the key a certificate with keycert_issue.
 *
 *   certify_check AKPUB KEYPUB ATTEST SIG NONCE_HEX [CA_CERT CA_KEY CN OUT_PEM]
 *
 * AKPUB     TPM2B_PUBLIC of the AK (tpm2_createak -u)
 * KEYPUB    TPM2B_PUBLIC of the certified key (tpm2_create -u)
 * ATTEST    TPMS_ATTEST bytes, no size prefix (tpm2_certify -o)
 * SIG       TPMT_SIGNATURE (tpm2_certify -s, tss format)
 * NONCE_HEX the qualifying data given to tpm2_certify -q
 * With the CA's certificate and key, a CN and a path: the certificate for
 * the key, as PEM, and its serial on stdout.
 *
 * Prints "PASS ..." and exits 0, or "FAIL: <code text>: <detail>" and exits
 * 1. Usage and file errors exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "certify.h"
#include "crypto.h"
#include "err.h"
#include "hex.h"
#include "keycert.h"
#include "tpmpub.h"
#include "tool_io.h"

/* The key's certificate, as PEM at path. */
static int issue(const TPMT_PUBLIC *key, char **argv)
{
	char serial[KEYCERT_SERIAL_HEX + 1];
	struct keycert_req req = { .key = key, .cn = argv[8], .days = 30 };
	EVP_PKEY *cakey = NULL;
	X509 *ca = NULL, *x = NULL;
	const uint8_t *p;
	uint8_t *der = NULL;
	size_t len;
	FILE *f = NULL;
	int rc = 2;

	if (keycert_ca_load(argv[6], argv[7], &ca, &cakey) != 0) {
		fprintf(stderr, "%s\n", err_detail());
		goto out;
	}
	if (keycert_issue(ca, cakey, &req, &der, &len, serial) != 0) {
		printf("FAIL: issuing: %s\n", err_detail());
		rc = 1;
		goto out;
	}
	p = der;
	if (!(x = d2i_X509(NULL, &p, (long)len)) || !(f = fopen(argv[9], "w")) || !PEM_write_X509(f, x)) {
		fprintf(stderr, "%s: cannot write the certificate\n", argv[9]);
		goto out;
	}
	printf("ISSUED serial=%s\n", serial);
	rc = 0;
out:
	if (f)
		fclose(f);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	OPENSSL_free(der);
	return rc;
}

int main(int argc, char **argv)
{
	uint8_t *akbuf = NULL, *keybuf = NULL, *msg = NULL, *sig = NULL, *attest = NULL;
	uint8_t nonce[sizeof(TPM2B_DATA)];
	size_t aklen, keylen, msglen, siglen;
	TPMT_PUBLIC ak, key;
	int rc = 2, r, nlen;

	if (argc != 6 && argc != 10) {
		fprintf(stderr, "usage: %s AKPUB KEYPUB ATTEST SIG NONCE_HEX [CA_CERT CA_KEY CN OUT_PEM]\n", argv[0]);
		return 2;
	}
	crypto_process_init();
	if (!(akbuf = tool_read(argv[1], sizeof(TPM2B_PUBLIC), &aklen)) ||
	    !(keybuf = tool_read(argv[2], sizeof(TPM2B_PUBLIC), &keylen)) ||
	    !(msg = tool_read(argv[3], sizeof(TPMS_ATTEST), &msglen)) ||
	    !(sig = tool_read(argv[4], sizeof(TPMT_SIGNATURE), &siglen)))
		goto out;
	if ((nlen = hex_decode(argv[5], strlen(argv[5]), nonce, sizeof(nonce))) < 0) {
		fprintf(stderr, "bad NONCE_HEX\n");
		goto out;
	}
	if ((r = tpmpub_parse(akbuf, aklen, &ak)) != 0) {
		fprintf(stderr, "AKPUB: %s: %s\n", err_str(r), err_detail());
		goto out;
	}
	if (!(attest = tool_tpm2b(msg, msglen)))
		goto out;
	if ((r = certify_verify(&ak, keybuf, keylen, attest, msglen + 2, sig, siglen, nonce, (size_t)nlen, &key)) != 0) {
		printf("FAIL: %s: %s\n", err_str(r), err_detail());
		rc = 1;
		goto out;
	}
	printf("PASS %s key certified by the AK\n", tpmpub_type_name(key.type));
	rc = argc == 10 ? issue(&key, argv) : 0;
out:
	free(akbuf);
	free(keybuf);
	free(msg);
	free(sig);
	free(attest);
	return rc;
}
