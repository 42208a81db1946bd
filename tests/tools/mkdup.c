/* mkdup: our software TPM2_Import blobs (common/duplicate.c) for an EK, with
 * authPolicy = PolicyPCR over given PCR values (common/tpmpolicy.c), written in
 * the file formats of tpm2-tools 5.4 (`tpm2_duplicate -r/-s`, `tpm2_import
 * -u/-i/-s`), so that `tpm2_import -C ek -u OUT.pub -i OUT.dpriv -s OUT.seed`
 * takes them.
 *
 *   mkdup EKPUB sealed DATAFILE PCRSEL PCRVALUES OUT [CC]
 *   mkdup EKPUB rsa PEMFILE PCRSEL PCRVALUES OUT [CC]
 *
 * EKPUB     TPM2B_PUBLIC of the EK (tpm2_createek -u, tss format)
 * DATAFILE  the bytes to seal (1..128); PEMFILE an RSA private key (PEM)
 * PCRSEL    "sha256:0,1,2,3" (pcrsel_parse syntax)
 * PCRVALUES the selected PCR values concatenated in TPM order (banks in
 *           selection order, indices ascending), as `tpm2_pcrread SEL -o FILE`
 *           writes them and `tpm2_policypcr -f FILE` reads them
 * OUT       prefix of the outputs: OUT.pub (TPM2B_PUBLIC), OUT.dpriv
 *           (TPM2B_PRIVATE), OUT.seed (TPM2B_ENCRYPTED_SECRET), all size-
 *           prefixed big-endian; OUT.policy (the raw policy digest, as
 *           `tpm2_policypcr -L` writes it)
 * CC        optional command code in hex (e.g. 0x15e for Unseal): chain
 *           PolicyCommandCode(CC) after PolicyPCR
 *
 * Exit 0 on success, 1 when the library refuses, 2 on usage/file errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "duplicate.h"
#include "err.h"
#include "pcrsel.h"
#include "tpmpolicy.h"
#include "tpmpub.h"
#include "tool_io.h"

static int write_file(const char *prefix, const char *ext, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	if ((size_t)snprintf(path, sizeof(path), "%s.%s", prefix, ext) >= sizeof(path)) {
		fprintf(stderr, "%s: path too long\n", prefix);
		return -1;
	}
	if (!(f = fopen(path, "wb"))) {
		perror(path);
		return -1;
	}
	ok = fwrite(buf, 1, len, f) == len;
	if (fclose(f) != 0 || !ok) {
		perror(path);
		return -1;
	}
	return 0;
}

/* Spread the concatenated values over the selection, checking the length. */
static int split_values(const TPML_PCR_SELECTION *sel, const uint8_t *buf, size_t len,
			struct pcr_values *values)
{
	size_t off = 0;

	memset(values, 0, sizeof(*values));
	for (uint32_t b = 0; b < sel->count; b++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[b];
		struct pcr_bank *bank = &values->banks[values->nbanks++];
		size_t dsize = crypto_digest_size(s->hash);

		bank->alg = s->hash;
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(s->pcrSelect[i / 8] & (1u << (i % 8))))
				continue;
			if (len - off < dsize) {
				fprintf(stderr, "PCRVALUES: %zu bytes, too short for the selection\n", len);
				return -1;
			}
			memcpy(bank->value[i], buf + off, dsize);
			bank->mask |= 1u << i;
			off += dsize;
		}
	}
	if (off != len) {
		fprintf(stderr, "PCRVALUES: %zu bytes, the selection takes %zu\n", len, off);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t *ekbuf = NULL, *data = NULL, *pcrbuf = NULL;
	uint8_t pubbuf[sizeof(TPM2B_PUBLIC)], privbuf[sizeof(TPM2B_PRIVATE)], seedbuf[sizeof(TPM2B_ENCRYPTED_SECRET)];
	size_t eklen = 0, datalen = 0, pcrlen = 0, publen = 0, privlen = 0, seedlen = 0;
	TPMT_PUBLIC ek;
	TPML_PCR_SELECTION sel;
	struct pcr_values values;
	TPM2B_DIGEST policy;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed;
	EVP_PKEY *key = NULL;
	FILE *f = NULL;
	int rc = 2, r;

	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: %s EKPUB sealed|rsa DATAFILE|PEMFILE PCRSEL PCRVALUES OUT [CC]\n", argv[0]);
		goto out;
	}
	if (!(ekbuf = tool_read(argv[1], sizeof(TPM2B_PUBLIC), &eklen)))
		goto out;
	if ((r = tpmpub_parse(ekbuf, eklen, &ek)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[1], err_str(r), err_detail());
		goto out;
	}
	if ((r = pcrsel_parse(argv[4], &sel)) != 0) {
		fprintf(stderr, "PCRSEL: %s\n", err_detail());
		goto out;
	}
	if (!(pcrbuf = tool_read(argv[5], PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS * CRYPTO_MAX_DIGEST, &pcrlen)) ||
	    split_values(&sel, pcrbuf, pcrlen, &values) != 0)
		goto out;
	if ((r = tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, &sel, &values, &policy)) != 0) {
		fprintf(stderr, "tpmpolicy_pcr: %s: %s\n", err_str(r), err_detail());
		rc = 1;
		goto out;
	}
	if (argc == 8) {
		char *end = NULL;
		unsigned long cc = strtoul(argv[7], &end, 16);

		if (!*argv[7] || *end || cc > 0xffffffffUL) {
			fprintf(stderr, "CC: not a hex command code\n");
			goto out;
		}
		if ((r = tpmpolicy_command_code(TPM2_ALG_SHA256, &policy, (TPM2_CC)cc, &policy)) != 0) {
			fprintf(stderr, "tpmpolicy_command_code: %s: %s\n", err_str(r), err_detail());
			rc = 1;
			goto out;
		}
	}

	if (strcmp(argv[2], "sealed") == 0) {
		if (!(data = tool_read(argv[3], 4096, &datalen)))
			goto out;
		r = dup_make_sealed(&ek, data, datalen, &policy, &pub, &dup, &seed);
	} else if (strcmp(argv[2], "rsa") == 0) {
		if (!(f = fopen(argv[3], "r")) || !(key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
			fprintf(stderr, "%s: no PEM private key\n", argv[3]);
			goto out;
		}
		r = dup_make_rsa(&ek, key, &policy, &pub, &dup, &seed);
	} else {
		fprintf(stderr, "kind \"%s\": want sealed or rsa\n", argv[2]);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "dup_make_%s: %s: %s\n", argv[2], err_str(r), err_detail());
		rc = 1;
		goto out;
	}
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, pubbuf, sizeof(pubbuf), &publen) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(&dup, privbuf, sizeof(privbuf), &privlen) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&seed, seedbuf, sizeof(seedbuf), &seedlen) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "cannot marshal the blobs\n");
		goto out;
	}
	if (write_file(argv[6], "pub", pubbuf, publen) != 0 || write_file(argv[6], "dpriv", privbuf, privlen) != 0 ||
	    write_file(argv[6], "seed", seedbuf, seedlen) != 0 ||
	    write_file(argv[6], "policy", policy.buffer, policy.size) != 0)
		goto out;
	rc = 0;
out:
	if (f)
		fclose(f);
	if (data)
		OPENSSL_cleanse(data, datalen);
	free(data);
	free(ekbuf);
	free(pcrbuf);
	EVP_PKEY_free(key);
	return rc;
}
