/* A TPM in software for the harnesses: an RSA EK from the TCG default
 * template with a certificate from a CA made here, an ECC P-256 AK, quotes
 * signed with the AK and ActivateCredential with the EK private key (fixed
 * keys below). With
 * these a harness gets past the signature and credential checks and fuzzes
 * what the verifier does after them (logs, policies). Test material only. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "fuzz.h"
#include "kdf.h"
#include "tpmpub.h"

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
static EVP_PKEY *ek_key, *ak_key;
static int made;

static EVP_PKEY *fake_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

static int fake_ek_public(void)
{
	tpmpub_ek_template(TPM2_ALG_RSA, &F.ek_pub);
	if (tpmpub_set_unique(&F.ek_pub, ek_key) != 0)
		return -1;
	return tpmpub_marshal(&F.ek_pub, F.ek_pub_wire, sizeof(F.ek_pub_wire), &F.ek_pub_len);
}

static int fake_ak_public(void)
{
	tpmpub_ak_template(TPM2_ALG_ECC, &F.ak_pub);
	if (tpmpub_set_unique(&F.ak_pub, ak_key) != 0 ||
	    tpmpub_marshal(&F.ak_pub, F.ak_pub_wire, sizeof(F.ak_pub_wire), &F.ak_pub_len) != 0)
		return -1;
	return tpmpub_name(&F.ak_pub, &F.ak_name);
}

static int fake_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* ca NULL: self-signed root. */
static X509 *fake_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key, long serial)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();
	int ok;

	if (!c || !name)
		goto fail;
	ok = X509_set_version(c, 2) && ASN1_INTEGER_set(X509_get_serialNumber(c), serial) &&
	     X509_gmtime_adj(X509_getm_notBefore(c), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24 * 365 * 10) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
	     X509_set_subject_name(c, name) && X509_set_issuer_name(c, ca ? X509_get_subject_name(ca) : name) &&
	     X509_set_pubkey(c, key);
	if (ok && !ca)
		ok = fake_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") &&
		     fake_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") &&
		     fake_ext(c, c, NID_subject_key_identifier, "hash");
	else if (ok)
		ok = fake_ext(c, ca, NID_basic_constraints, "critical,CA:FALSE") &&
		     fake_ext(c, ca, NID_key_usage, "critical,keyEncipherment") &&
		     fake_ext(c, ca, NID_ext_key_usage, "2.23.133.8.1") &&
		     fake_ext(c, ca, NID_authority_key_identifier, "keyid:always");
	if (!ok || X509_sign(c, ca ? ca_key : key, EVP_sha256()) <= 0)
		goto fail;
	X509_NAME_free(name);
	return c;
fail:
	X509_NAME_free(name);
	X509_free(c);
	return NULL;
}

static int fake_certs(void)
{
	const char *tmp = fuzz_tmpdir();
	EVP_PKEY *ca_key = fake_key(fake_ca_pem);
	X509 *ca = NULL, *ek = NULL;
	unsigned char *der = NULL;
	char path[300];
	FILE *f = NULL;
	int n, r = -1;

	if (!tmp || !ca_key || !(ca = fake_cert(ca_key, "attest fuzz EK root", NULL, NULL, 1)) ||
	    !(ek = fake_cert(ek_key, "attest fuzz EK", ca, ca_key, 2)))
		goto out;
	snprintf(F.trust_dir, sizeof(F.trust_dir), "%s/ek-trust", tmp);
	snprintf(path, sizeof(path), "%s/root.pem", F.trust_dir);
	if ((mkdir(F.trust_dir, 0700) != 0) || !(f = fopen(path, "w")) || PEM_write_X509(f, ca) != 1)
		goto out;
	if ((n = i2d_X509(ek, &der)) <= 0 || !(F.ek_cert = malloc((size_t)n)))
		goto out;
	memcpy(F.ek_cert, der, (size_t)n);
	F.ek_cert_len = (size_t)n;
	r = 0;
out:
	if (f)
		fclose(f);
	OPENSSL_free(der);
	X509_free(ek);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return r;
}

const struct fuzz_fake *fuzz_fake_get(void)
{
	if (made)
		return made > 0 ? &F : NULL;
	made = -1;
	if (!(ek_key = fake_key(fake_ek_pem)) || !(ak_key = fake_key(fake_ak_pem)) || fake_ek_public() != 0 ||
	    fake_ak_public() != 0 || fake_certs() != 0)
		return NULL;
	made = 1;
	return &F;
}

int fuzz_fake_sign(const uint8_t *data, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	uint8_t der[80], digest[32];
	size_t der_len = sizeof(der), off = 0;
	const unsigned char *p = der;
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	TPMT_SIGNATURE s;
	int r = -1;

	*sig_len = 0;
	if (!fuzz_fake_get() || crypto_digest(TPM2_ALG_SHA256, data, len, digest) != 0)
		return -1;
	if (!(ctx = EVP_PKEY_CTX_new(ak_key, NULL)) || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, der, &der_len, digest, sizeof(digest)) != 1 ||
	    !(es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)))
		goto out;
	memset(&s, 0, sizeof(s));
	s.sigAlg = TPM2_ALG_ECDSA;
	s.signature.ecdsa.hash = TPM2_ALG_SHA256;
	s.signature.ecdsa.signatureR.size = 32;
	s.signature.ecdsa.signatureS.size = 32;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), s.signature.ecdsa.signatureR.buffer, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), s.signature.ecdsa.signatureS.buffer, 32) != 32 ||
	    Tss2_MU_TPMT_SIGNATURE_Marshal(&s, sig, cap, &off) != TSS2_RC_SUCCESS)
		goto out;
	*sig_len = off;
	r = 0;
out:
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int fuzz_fake_quote(const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		    const struct pcr_values *values, uint8_t *attest, size_t attest_cap, size_t *attest_len,
		    uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
	static uint8_t concat[PCRSEL_MAX_BANKS * PCRSEL_NUM_PCRS * CRYPTO_MAX_DIGEST];
	static const uint8_t zeros[CRYPTO_MAX_DIGEST];
	TPMS_ATTEST a;
	size_t clen = 0, off = 2;

	*attest_len = 0;
	if (!fuzz_fake_get() || nonce_len > sizeof(a.extraData.buffer) || attest_cap < 2)
		return -1;
	memset(&a, 0, sizeof(a));
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.qualifiedSigner = F.ak_name;
	a.extraData.size = (UINT16)nonce_len;
	memcpy(a.extraData.buffer, nonce, nonce_len);
	a.clockInfo.clock = 1000;
	a.clockInfo.resetCount = 1;
	a.clockInfo.safe = 1;
	a.attested.quote.pcrSelect = *sel;
	for (uint32_t i = 0; i < sel->count && i < PCRSEL_MAX_BANKS; i++) {
		const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[i];
		const struct pcr_bank *b = pcr_values_bank(values, ps->hash);
		size_t ds = crypto_digest_size(ps->hash);

		for (unsigned pcr = 0; ds && pcr < PCRSEL_NUM_PCRS && pcr / 8 < ps->sizeofSelect; pcr++)
			if (ps->pcrSelect[pcr / 8] & (1u << (pcr % 8))) {
				memcpy(concat + clen, b && (b->mask >> pcr & 1) ? b->value[pcr] : zeros, ds);
				clen += ds;
			}
	}
	a.attested.quote.pcrDigest.size = 32;
	if (crypto_digest(TPM2_ALG_SHA256, concat, clen, a.attested.quote.pcrDigest.buffer) != 0 ||
	    Tss2_MU_TPMS_ATTEST_Marshal(&a, attest, attest_cap, &off) != TSS2_RC_SUCCESS)
		return -1;
	attest[0] = (uint8_t)((off - 2) >> 8);
	attest[1] = (uint8_t)(off - 2);
	*attest_len = off;
	return fuzz_fake_sign(attest + 2, off - 2, sig, sig_cap, sig_len);
}

int fuzz_fake_activate(const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *enc_seed, uint8_t *secret,
		       size_t cap, size_t *secret_len)
{
	static const char label[] = "IDENTITY";
	uint8_t seed[256], sym[16], hmac_key[32], mac[32], plain[sizeof(blob->credential)];
	uint8_t msg[sizeof(blob->credential) + sizeof(TPMU_NAME)], iv[16] = { 0 };
	size_t seed_len = sizeof(seed), off = 0, enc_len;
	TPM2B_DIGEST integrity, inner;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_CIPHER_CTX *cctx = NULL;
	int outl = 0, r = -1;

	*secret_len = 0;
	if (!fuzz_fake_get() || !(ctx = EVP_PKEY_CTX_new(ek_key, NULL)) || EVP_PKEY_decrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup(label, sizeof(label)), sizeof(label)) != 1 ||
	    EVP_PKEY_decrypt(ctx, seed, &seed_len, enc_seed->secret, enc_seed->size) != 1)
		goto out;
	if (kdf_a(TPM2_ALG_SHA256, seed, seed_len, "STORAGE", F.ak_name.name, F.ak_name.size, NULL, 0, 128,
		  sym) != 0 ||
	    kdf_a(TPM2_ALG_SHA256, seed, seed_len, "INTEGRITY", NULL, 0, NULL, 0, 256, hmac_key) != 0)
		goto out;
	if (Tss2_MU_TPM2B_DIGEST_Unmarshal(blob->credential, blob->size, &off, &integrity) != TSS2_RC_SUCCESS)
		goto out;
	enc_len = blob->size - off;
	memcpy(msg, blob->credential + off, enc_len);
	memcpy(msg + enc_len, F.ak_name.name, F.ak_name.size);
	if (crypto_hmac(TPM2_ALG_SHA256, hmac_key, 32, msg, enc_len + F.ak_name.size, mac) != 0 ||
	    integrity.size != 32 || CRYPTO_memcmp(mac, integrity.buffer, 32) != 0)
		goto out;
	if (!(cctx = EVP_CIPHER_CTX_new()) || EVP_DecryptInit_ex(cctx, EVP_aes_128_cfb(), NULL, sym, iv) != 1 ||
	    EVP_DecryptUpdate(cctx, plain, &outl, blob->credential + off, (int)enc_len) != 1)
		goto out;
	off = 0;
	if (Tss2_MU_TPM2B_DIGEST_Unmarshal(plain, (size_t)outl, &off, &inner) != TSS2_RC_SUCCESS ||
	    inner.size > cap)
		goto out;
	memcpy(secret, inner.buffer, inner.size);
	*secret_len = inner.size;
	r = 0;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(sym, sizeof(sym));
	OPENSSL_cleanse(hmac_key, sizeof(hmac_key));
	OPENSSL_cleanse(plain, sizeof(plain));
	EVP_CIPHER_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	return r;
}
