/* Secret definitions: loading refuses what cannot work (wrong AES length, RSA
 * key and certificate that do not match, unreadable files) naming the secret
 * and the file; host matching; RSA proofs checked against the certificate;
 * the authPolicy of a blob is PolicyPCR then PolicyCommandCode of its one
 * command, computed here from TPM 2.0 Part 3 with plain SHA-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "array.h"
#include "crypto.h"
#include "ektemplate.h"
#include "fixtures.h"
#include "policy/secret.h"
#include "tpmpub.h"

static char dir[64];

static char *path(const char *name)
{
	static char buf[4][128];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static void write_bytes(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	/* Key files pass common/keyfile.h's rule only when others cannot read them. */
	assert_int_equal(chmod(path(name), 0600), 0);
}

static EVP_PKEY *rsa_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	assert_non_null(k);
	return k;
}

static void write_key_cert(const char *keyname, const char *certname, EVP_PKEY *key, EVP_PKEY *cert_key)
{
	X509 *x = X509_new();
	FILE *f;

	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, cert_key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"k", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, cert_key, EVP_sha256()) > 0);
	assert_non_null(f = fopen(path(keyname), "w"));
	assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_int_equal(chmod(path(keyname), 0600), 0);
	assert_non_null(f = fopen(path(certname), "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
}

static int setup(void **state)
{
	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "test_secret");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
	return 0;
}

static void conf_init(struct secret_conf *c, const char *name, enum secret_kind kind, const char *key,
		      const char *cert)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->kind = kind;
	c->key = (char *)key;
	c->cert = (char *)cert;
}

static void load_fails(const struct secret_conf *c, const char *needle)
{
	struct secret_set set;

	assert_int_equal(secret_set_load(c, 1, &set), AERR_CONFIG);
	assert_null(set.defs);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static void test_load(void **state)
{
	uint8_t key[33];
	EVP_PKEY *k = rsa_key(), *other = rsa_key();
	struct secret_conf c[2];
	struct secret_set set;

	(void)state;
	memset(key, 7, sizeof(key));
	write_bytes("aes", key, 32);
	write_bytes("aes31", key, 31);
	write_bytes("notpem", "hello", 5);
	write_key_cert("k.pem", "k.crt", k, k);
	write_key_cert("notpem2", "other.crt", other, other);
	unlink(path("notpem2"));

	conf_init(&c[0], "disk", SECRET_AES256, path("aes"), NULL);
	conf_init(&c[1], "sig", SECRET_RSA, path("k.pem"), path("k.crt"));
	assert_int_equal(secret_set_load(c, 2, &set), 0);
	assert_int_equal(set.n, 2);
	assert_memory_equal(set.defs[0].aes, key, 32);
	assert_non_null(set.defs[1].rsa_key);
	assert_non_null(set.defs[1].cert_key);
	secret_set_free(&set);

	conf_init(&c[0], "disk", SECRET_AES256, path("aes31"), NULL);
	load_fails(c, "secret 'disk': key");
	load_fails(c, "holds 31 bytes, an aes256 key is 32");
	write_bytes("aes33", key, 33);
	conf_init(&c[0], "disk", SECRET_AES256, path("aes33"), NULL);
	load_fails(c, "holds more than 32 bytes");
	/* Read from the file that passed the key-file rule: one others can read is refused. */
	assert_int_equal(chmod(path("aes"), 0644), 0);
	conf_init(&c[0], "disk", SECRET_AES256, path("aes"), NULL);
	load_fails(c, "secret 'disk': key ");
	load_fails(c, "other users can read or change it");
	assert_int_equal(chmod(path("aes"), 0600), 0);
	conf_init(&c[0], "disk", SECRET_AES256, path("missing"), NULL);
	load_fails(c, "No such file");
	conf_init(&c[0], "sig", SECRET_RSA, path("k.pem"), path("other.crt"));
	load_fails(c, "is not for the key");
	conf_init(&c[0], "sig", SECRET_RSA, path("notpem"), path("k.crt"));
	load_fails(c, "is not a PEM private key");
	conf_init(&c[0], "sig", SECRET_RSA, path("k.pem"), path("notpem"));
	load_fails(c, "is not a PEM certificate");
	conf_init(&c[0], "sig", SECRET_RSA, path("k.pem"), NULL);
	load_fails(c, "needs cert");
	/* An AES key file given as the RSA key is refused, not half-used. */
	conf_init(&c[0], "sig", SECRET_RSA, path("aes"), path("k.crt"));
	load_fails(c, "is not a PEM private key");
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void test_names_and_match(void **state)
{
	static const char *bad[] = { "", ".hidden", "a/b", "x y", "-dash", "../up" };
	struct secret_conf c[4];
	struct secret_def d[4];
	struct secret_set set = { .n = 4, .defs = d };
	const struct secret_def *out[SECRET_MAX_PER_HOST];
	struct secret_node node = { 0 };
	char ek[65];

	(void)state;
	assert_int_equal(secret_name_check("disk-key_1.v2"), 0);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(secret_name_check(bad[i]), AERR_CONFIG);

	/* What a hosts entry may say: never the attestor's own hostname claim. */
	assert_int_equal(secret_host_check("*"), 0);
	assert_int_equal(secret_host_check("ek:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 0);
	assert_int_equal(secret_host_check("name:db1"), 0);
	assert_int_equal(secret_host_check("group:databases"), 0);
	assert_int_equal(secret_host_check("db1"), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "hostname claim"));
	assert_int_equal(secret_host_check("ek:abc"), AERR_CONFIG);
	assert_int_equal(secret_host_check("ek:gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"), AERR_CONFIG);
	assert_int_equal(secret_host_check("name:"), AERR_CONFIG);

	memset(ek, 'a', 64);
	ek[64] = '\0';
	conf_init(&c[0], "all", SECRET_AES256, "x", NULL);
	conf_init(&c[1], "by-name", SECRET_AES256, "x", NULL);
	c[1].nhosts = 1;
	c[1].hosts[0] = "name:web1";
	conf_init(&c[2], "by-ek", SECRET_AES256, "x", NULL);
	c[2].nhosts = 1;
	c[2].hosts[0] = "ek:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	conf_init(&c[3], "by-group", SECRET_AES256, "x", NULL);
	c[3].nhosts = 2;
	c[3].hosts[0] = "group:db";
	c[3].hosts[1] = "group:web";
	for (int i = 0; i < 4; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].conf = &c[i];
	}
	node.ek_hash = ek;
	node.name = "web1";
	node.ngroups = 1;
	node.groups[0] = "web";
	assert_int_equal(secret_set_match(&set, &node, out), 4);
	assert_ptr_equal(out[0], &d[0]);
	node.name = "web2";
	node.ngroups = 0;
	assert_int_equal(secret_set_match(&set, &node, out), 2);
	assert_ptr_equal(out[1], &d[2]);
	ek[0] = 'b';
	assert_int_equal(secret_set_match(&set, &node, out), 1);
	node.name = NULL;
	node.ek_hash = NULL;
	assert_int_equal(secret_set_match(&set, &node, out), 1);
	node.ngroups = 1;
	node.groups[0] = "db";
	assert_int_equal(secret_set_match(&set, &node, out), 2);
	assert_ptr_equal(out[1], &d[3]);
}

/* An RSASSA-SHA256 TPMT_SIGNATURE over data by key. */
static size_t tpm_signature(EVP_PKEY *key, const uint8_t *data, size_t len, TPMI_ALG_HASH hash, uint8_t *out,
			    size_t cap)
{
	TPMT_SIGNATURE sig = { .sigAlg = TPM2_ALG_RSASSA };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = sizeof(sig.signature.rsassa.sig.buffer), off = 0;

	sig.signature.rsassa.hash = hash;
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig.signature.rsassa.sig.buffer, &n, data, len), 1);
	sig.signature.rsassa.sig.size = (UINT16)n;
	EVP_MD_CTX_free(ctx);
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, out, cap, &off), TSS2_RC_SUCCESS);
	return off;
}

static void test_rsa_proof(void **state)
{
	EVP_PKEY *k = rsa_key(), *other = rsa_key();
	struct secret_conf c;
	struct secret_def d = { .conf = &c };
	struct secret_blob b;
	uint8_t sig[sizeof(TPMT_SIGNATURE) + 8];
	size_t n;

	(void)state;
	conf_init(&c, "sig", SECRET_RSA, "x", "y");
	d.cert_key = k;
	memset(&b, 0, sizeof(b));
	b.def = &d;
	assert_int_equal(crypto_random(b.challenge, sizeof(b.challenge)), 0);

	n = tpm_signature(k, b.challenge, sizeof(b.challenge), TPM2_ALG_SHA256, sig, sizeof(sig));
	assert_int_equal(secret_proof_check(&b, sig, n), 0);
	/* Every bit of it matters. */
	for (size_t i = 0; i < n * 8; i += 7) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(secret_proof_check(&b, sig, n), 0);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(secret_proof_check(&b, sig, n - 1), AERR_PROOF);
	sig[n] = 0;
	assert_int_equal(secret_proof_check(&b, sig, n + 1), AERR_PROOF);
	assert_int_equal(secret_proof_check(&b, NULL, 0), AERR_PROOF);
	/* Another key, another scheme hash, another challenge. */
	n = tpm_signature(other, b.challenge, sizeof(b.challenge), TPM2_ALG_SHA256, sig, sizeof(sig));
	assert_int_equal(secret_proof_check(&b, sig, n), AERR_PROOF);
	n = tpm_signature(k, b.challenge, sizeof(b.challenge), TPM2_ALG_SHA1, sig, sizeof(sig));
	assert_int_equal(secret_proof_check(&b, sig, n), AERR_PROOF);
	assert_non_null(strstr(err_detail(), "expected RSASSA-SHA256"));
	n = tpm_signature(k, (const uint8_t *)"another challenge", 17, TPM2_ALG_SHA256, sig, sizeof(sig));
	assert_int_equal(secret_proof_check(&b, sig, n), AERR_PROOF);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/* SHA-256 over the concatenation of n parts (pointer, length pairs). */
static void sha256_parts(uint8_t out[32], size_t n, ...)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	va_list ap;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const void *p = va_arg(ap, const void *);
		size_t len = va_arg(ap, size_t);

		assert_int_equal(EVP_DigestUpdate(ctx, p, len), 1);
	}
	va_end(ap);
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, NULL), 1);
	EVP_MD_CTX_free(ctx);
}

/* policyDigest after PolicyPCR(sha256: PCR 0 and 7 = v0, v7) and
 * PolicyCommandCode(cc), from a fresh SHA-256 session (Part 3, 23.7, 23.11). */
static void want_policy(const uint8_t v0[32], const uint8_t v7[32], uint32_t cc, uint8_t out[32])
{
	static const uint8_t zeros[32];
	static const uint8_t cc_policy_pcr[4] = { 0x00, 0x00, 0x01, 0x7f };
	static const uint8_t cc_policy_command_code[4] = { 0x00, 0x00, 0x01, 0x6c };
	/* TPML_PCR_SELECTION: count 1, sha256, sizeofSelect 3, PCRs 0 and 7 */
	static const uint8_t sel[] = { 0, 0, 0, 1, 0x00, 0x0b, 3, 0x81, 0x00, 0x00 };
	uint8_t pcr_digest[32], after_pcr[32], code[4] = { (uint8_t)(cc >> 24), (uint8_t)(cc >> 16),
							    (uint8_t)(cc >> 8), (uint8_t)cc };

	sha256_parts(pcr_digest, 2, v0, (size_t)32, v7, (size_t)32);
	sha256_parts(after_pcr, 4, zeros, sizeof(zeros), cc_policy_pcr, sizeof(cc_policy_pcr), sel, sizeof(sel),
		     pcr_digest, sizeof(pcr_digest));
	sha256_parts(out, 3, after_pcr, sizeof(after_pcr), cc_policy_command_code, sizeof(cc_policy_command_code),
		     code, sizeof(code));
}

static void test_blob_policy(void **state)
{
	EVP_PKEY *ek_key = rsa_key(), *k = rsa_key();
	struct secret_conf c[2];
	struct secret_def d[2] = { { .conf = &c[0] }, { .conf = &c[1] } };
	TPML_PCR_SELECTION sel = { .count = 1 };
	struct pcr_values v;
	struct secret_blob b;
	TPMT_PUBLIC ek;
	TPM2B_PUBLIC pub;
	uint8_t want[32];
	size_t off;

	(void)state;
	ek_template(EK_L1_RSA2048, &ek);
	assert_int_equal(tpmpub_set_unique(&ek, ek_key), 0);
	sel.pcrSelections[0] = (TPMS_PCR_SELECTION){ .hash = TPM2_ALG_SHA256, .sizeofSelect = 3,
						     .pcrSelect = { 0x81, 0, 0 } };
	memset(&v, 0, sizeof(v));
	v.nbanks = 1;
	v.banks[0].alg = TPM2_ALG_SHA256;
	v.banks[0].mask = 0x81;
	memset(v.banks[0].value[0], 0xa0, 32);
	memset(v.banks[0].value[7], 0x07, 32);
	conf_init(&c[0], "disk", SECRET_AES256, "x", NULL);
	memset(d[0].aes, 0x5a, sizeof(d[0].aes));
	conf_init(&c[1], "sig", SECRET_RSA, "x", "y");
	d[1].rsa_key = k;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(secret_blob_make(&d[i], &ek, &sel, &v, &b), 0);
		off = 0;
		memset(&pub, 0, sizeof(pub)); /* tss2-mu wants an empty TPM2B to fill */
		assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(b.pub, b.pub_len, &off, &pub), TSS2_RC_SUCCESS);
		assert_int_equal(off, b.pub_len);
		want_policy(v.banks[0].value[0], v.banks[0].value[7], i == 0 ? TPM2_CC_Unseal : TPM2_CC_Sign, want);
		assert_int_equal(pub.publicArea.authPolicy.size, 32);
		assert_memory_equal(pub.publicArea.authPolicy.buffer, want, 32);
		/* The other command's digest is not it. */
		want_policy(v.banks[0].value[0], v.banks[0].value[7], i == 0 ? TPM2_CC_Sign : TPM2_CC_Unseal, want);
		assert_memory_not_equal(pub.publicArea.authPolicy.buffer, want, 32);
		OPENSSL_cleanse(&b, sizeof(b));
	}
	EVP_PKEY_free(ek_key);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_names_and_match),
		cmocka_unit_test(test_rsa_proof),
		cmocka_unit_test(test_blob_policy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
