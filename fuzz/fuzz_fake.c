/* The harnesses' TPM: one simtpm node (tests/simtpm) with fixed keys below,
 * an RSA EK from the TCG default template with a certificate from a CA of a
 * fixed key, and an ECC P-256 AK. With it a harness gets past the signature
 * and credential checks and fuzzes what the verifier does after them (logs,
 * policies). Test material only. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "fuzz.h"

/* Fixed keys, so that seeds made by one process (fuzz_mkseeds) pass the
 * checks in another: fuzzing material only, never trusted anywhere else. */
static const char fake_ek_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDH//EifxBeqgFd\n"
	"ypMaOZF9Sts8U4F1WUoTd+0wD398ICk/BJZMU9wdsP0XvT5u0owsxGYYcqgISDkS\n"
	"brENBvuT2DLjnvvW3+hDnmwcOcbhKhQVDYmDMwMhl5ldsuD7Ij7QN6ztH+eNBCqX\n"
	"a4W2f9Ol2b2qqHttZ3oYupv7qctkepyeWULJ7x5s6nlj1Z8BqulEXoNhRoxXmjXy\n"
	"6UteOrtBm3jSUOJblgfmV60e6NM5buoLpOdm647pF5AhyRlFeXSfZymo9tSANGv8\n"
	"HBKMCVBcfuPhK2sAqlltnf4qBLi3PDjwg6+YbxSYXDqgq0ERf0nXX/Vg9qgEBclk\n"
	"lj4F86W3AgMBAAECggEAV/eNfqBHuXNqFXBH4mWGxgaaRj7udoh26fg6NYTjjFty\n"
	"+NpSJzFNZCvYLkxY/RKTgA9EXqVznezyWVahfjrfhag2veJMH7ctKCyynXmWLaw9\n"
	"2AKzxKa3zlspJErM5Pirixap80Qwqtg1yZML5Xj0xQJwB3OCklzMmbreZ8NHiCIU\n"
	"1NYW33bAd4dCSo0l4MdAzqgZRw4hsuNMi7UQXo0N5WZYgN0rcDuJOdHDQAEyr6nA\n"
	"+adqnBhpi+RFVBk0vkqIolUsvj4x0usrh2ENiFYbiUx9tkr6A7vt6fPnCVEQO8nn\n"
	"AO3tMESdt695sEAhkKWtrTZhQIMRQ6iGP5TsdVo5NQKBgQDl7SL7uvnjBwdrOK7d\n"
	"YzUT/naH5blOkJ60XsMBdZPi1gVxOhAoJP9Er5LtuxRx7QUr39dGObatpH/AWGPH\n"
	"uauUxoG8LBWT3Fy23thak6eInBiIJJbMtoQ9z2f0qxe4k2e5IygYPNFhZpFu9sn0\n"
	"+9s+B8gLv8bnKt3Hbhap/3Q0fQKBgQDergZBidSLyDhXaFngSk6VKEViepxzxzaf\n"
	"kMBoyqJyAA+zWPOo3E8fxxgc+dAVm1Nw/cqm8LV1S08Gd+Twtj1eEexHWnmwtWsP\n"
	"2e/OmsHGwxzdAsG46cARai3E2jenbJ0CCz3LWsPiUsv6VNUgnSd6Xgkh96Y8sA6I\n"
	"hLMmZULdQwKBgGtniM36m7xXjjmh8t1r+GFsnsYAo711hQ1QrttBp2FxBH3N17pI\n"
	"/g2BzqrKl1RYme/S0mb1ksYub5bUM1ga/XG0AOp71WCKsayjEIHPM5V3BWajYOYj\n"
	"5EZTWoZKXfxUr0EmkRYxYsWS+iDRm6ma9OFXFTWX0jwuJAeC/4dN02SpAoGAS36+\n"
	"mjurdtSj3WaAih1HNSSZGYEuR8Zzi3ec9Co3FuVUbV6sBUTkAocScshzNtAZYwZ4\n"
	"TU7whlrI6Q1+7ekrNxhmfe57sWBgcthViDtJlSSTRY7otNNzDbRs3f+JvNaDCK1c\n"
	"/vO/05x0kWNveoYtWzxEZmK61npuAvTSdCMCn1cCgYBUSv9agMv+Ywo95lsq9Qf0\n"
	"zDhS3hlwovzhhFCOqyHgdQX25HO4C0FsOXmrXHgQbgh4hylV6X8GuoBsIp6P/fiC\n"
	"dCO0KVEAvYc/6ZpFCfvZW901niCAwFS4e1IJ5d8mwv44l7lXDrhzlUQSZDfs34+l\n"
	"XneRUaj6GSt4bEs9WyqthA==\n"
	"-----END PRIVATE KEY-----\n";
static const char fake_ak_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgk+s06tvkXc/vKLNj\n"
	"H7/ese/poKHzCsjvVc5nKhhhcPihRANCAAQdkniAXRvolfyYEWO0O9WbEgKwTnlI\n"
	"h9QZdk2V7Fz8tPO/C6YgnXN+oMIizBmHZld0FlDZ/8sjUhe2FXMElpcK\n"
	"-----END PRIVATE KEY-----\n";
static const char fake_ca_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgd4mpnZJQzJCGkvfo\n"
	"nDHbwpzg6KZelGen5X33dBlgNPuhRANCAATXhfkZ7jeIEGnk80d1Iolrx1Wg8bEB\n"
	"Kzp1zFaO0JtPph2nWHpatomnAXwc8EVzdCmWd2EWQvXMlmXoSredDqRj\n"
	"-----END PRIVATE KEY-----\n";

static struct fuzz_fake F;
static int made;

static EVP_PKEY *fake_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* The node, and the trust directory with the root over its EK certificate. */
static int fake_make(EVP_PKEY *ek, EVP_PKEY *ak, EVP_PKEY *ca_key)
{
	struct simtpm_params p = { .ek_alg = TPM2_ALG_RSA, .ek_key = ek, .ak_key = ak, .serial = 2 };
	struct simtpm_ca *ca = NULL;
	const char *tmp = fuzz_tmpdir();
	char path[300];
	int r = -1;

	if (!tmp || simtpm_ca_new(ca_key, "attest fuzz EK root", &ca) != 0)
		goto out;
	p.ca = ca;
	snprintf(F.trust_dir, sizeof(F.trust_dir), "%s/ek-trust", tmp);
	snprintf(path, sizeof(path), "%s/root.pem", F.trust_dir);
	if (mkdir(F.trust_dir, 0700) != 0 || simtpm_ca_write(ca, path) != 0 || simtpm_new(&p, &F.tpm) != 0)
		goto out;
	/* The clock of every quote: no history to compare it with. */
	*simtpm_clock(F.tpm) = (TPMS_CLOCK_INFO){ .clock = 1000, .resetCount = 1, .safe = TPM2_YES };
	F.ek_pub = *simtpm_ek_pub(F.tpm);
	F.ak_pub = *simtpm_ak_pub(F.tpm);
	F.ek_pub_wire = simtpm_ek_public(F.tpm, &F.ek_pub_len);
	F.ak_pub_wire = simtpm_ak_public(F.tpm, &F.ak_pub_len);
	F.ek_cert = simtpm_ek_cert(F.tpm, &F.ek_cert_len);
	r = 0;
out:
	simtpm_ca_free(ca);
	return r;
}

const struct fuzz_fake *fuzz_fake_get(void)
{
	EVP_PKEY *ek, *ak, *ca;

	if (made)
		return made > 0 ? &F : NULL;
	made = -1;
	ek = fake_key(fake_ek_pem);
	ak = fake_key(fake_ak_pem);
	ca = fake_key(fake_ca_pem);
	if (ek && ak && ca && fake_make(ek, ak, ca) == 0)
		made = 1;
	EVP_PKEY_free(ek);
	EVP_PKEY_free(ak);
	EVP_PKEY_free(ca);
	return made > 0 ? &F : NULL;
}

int fuzz_fake_quote(const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		    const struct pcr_values *values, struct simtpm_quote *out)
{
	int r;

	if (!fuzz_fake_get())
		return -1;
	simtpm_set_pcrs(F.tpm, values);
	r = simtpm_quote(F.tpm, nonce, nonce_len, sel, out);
	simtpm_set_pcrs(F.tpm, NULL);
	return r;
}
