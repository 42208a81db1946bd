/* EK certificate chain validation: a swtpm-like PKI built here with OpenSSL
 * (root -> intermediate -> EK cert with empty subject, critical SAN dirName
 * with the TCG TPM OIDs, critical subjectDirectoryAttributes, EKU
 * 2.23.133.8.1) over real RSA-2048 and ECC P-256 keys, plus the shipped
 * vendor trust store certs/ek-roots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "endorsement/ekcert.h"
#include "array.h"
#include "fixtures.h"

#define DAY (24L * 3600)

/* Extension switches for make_cert. */
#define EXT_CA 0x01
#define EXT_EK 0x02           /* critical SAN dirName + critical SDA + EKU */
#define EXT_UNKNOWN_CRIT 0x04 /* a critical private extension nobody knows */

static EVP_PKEY *key_rsa(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *key_ec(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

static void add_ext_der(X509 *x, const char *oid, int critical, const uint8_t *der, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;

	assert_non_null(obj);
	assert_non_null(os);
	assert_int_equal(ASN1_OCTET_STRING_set(os, der, (int)len), 1);
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, os);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

static void add_ext_conf(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* The TCG EK profile's SAN: directoryName { 2.23.133.2.1 manufacturer,
 * 2.23.133.2.2 model, 2.23.133.2.3 version }, critical (subject is empty). */
static void add_tpm_san(X509 *x)
{
	GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(gns);
	assert_non_null(gn);
	assert_non_null(n);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "2.23.133.2.1", MBSTRING_UTF8,
						    (const unsigned char *)"id:414D4400", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "2.23.133.2.2", MBSTRING_UTF8,
						    (const unsigned char *)"swtpm", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "2.23.133.2.3", MBSTRING_UTF8,
						    (const unsigned char *)"id:20191023", -1, -1, 0), 1);
	gn->type = GEN_DIRNAME;
	gn->d.directoryName = n;
	assert_true(sk_GENERAL_NAME_push(gns, gn) > 0);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gns, 1, X509V3_ADD_DEFAULT), 1);
	GENERAL_NAMES_free(gns);
}

/* subjectDirectoryAttributes { tpmSpecification 2.23.133.2.16 {"2.0", 0, 138} },
 * critical: OpenSSL does not process it, our callback must excuse it. */
static const uint8_t SDA_TPM_SPEC[] = {
	0x30, 0x16, 0x30, 0x14, 0x06, 0x05, 0x67, 0x81, 0x05, 0x02, 0x10, 0x31, 0x0b, 0x30, 0x09,
	0x0c, 0x03, '2', '.', '0', 0x02, 0x01, 0x00, 0x02, 0x02, 0x00, 0x8a,
};
static const uint8_t DER_NULL[] = { 0x05, 0x00 };

/* cn NULL = empty subject. issuer NULL = self-signed with key. Validity from
 * now+nb_days to now+na_days. */
static X509 *make_cert(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, long serial,
		       int flags, long nb_days, long na_days)
{
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();

	assert_non_null(x);
	assert_non_null(subj);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	if (cn)
		assert_int_equal(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
							    -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, subj), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subj), 1);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), (int)nb_days, 0, NULL));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), (int)na_days, 0, NULL));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	add_ext_conf(x, issuer, NID_subject_key_identifier, "hash");
	add_ext_conf(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (flags & EXT_CA) {
		add_ext_conf(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext_conf(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	}
	if (flags & EXT_EK) {
		add_tpm_san(x);
		add_ext_der(x, "2.5.29.9", 1, SDA_TPM_SPEC, sizeof(SDA_TPM_SPEC));
		add_ext_conf(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext_conf(x, issuer, NID_key_usage, "critical,keyEncipherment");
		add_ext_conf(x, issuer, NID_ext_key_usage, "2.23.133.8.1");
	}
	if (flags & EXT_UNKNOWN_CRIT)
		add_ext_der(x, "1.3.6.1.4.1.99999.1", 1, DER_NULL, sizeof(DER_NULL));
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	X509_NAME_free(subj);
	return x;
}

static uint8_t *cert_der(X509 *x, size_t *len)
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static void write_pem(const char *dir, const char *name, X509 *x)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

static void write_bytes(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* The EK's TPMT_PUBLIC as a TPM would report it (standard EK template shape). */
static void tpmpub_from_evp(EVP_PKEY *k, TPMT_PUBLIC *pub)
{
	BIGNUM *a = NULL, *b = NULL;

	memset(pub, 0, sizeof(*pub));
	pub->nameAlg = TPM2_ALG_SHA256;
	pub->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
				TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
		int bits = EVP_PKEY_get_bits(k);

		pub->type = TPM2_ALG_RSA;
		pub->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
		pub->parameters.rsaDetail.symmetric.keyBits.aes = 128;
		pub->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		pub->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		pub->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
		assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &a), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &b), 1);
		assert_true(bits / 8 <= (int)sizeof(pub->unique.rsa.buffer));
		assert_int_equal(BN_bn2binpad(a, pub->unique.rsa.buffer, bits / 8), bits / 8);
		pub->unique.rsa.size = (UINT16)(bits / 8);
		pub->parameters.rsaDetail.exponent = BN_get_word(b) == 65537 ? 0 : (UINT32)BN_get_word(b);
	} else {
		char group[64];
		int cs;

		assert_int_equal(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
								NULL), 1);
		pub->type = TPM2_ALG_ECC;
		pub->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
		pub->parameters.eccDetail.symmetric.keyBits.aes = 128;
		pub->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		pub->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		pub->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		if (!strcmp(group, "prime256v1")) {
			pub->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
			cs = 32;
		} else if (!strcmp(group, "secp384r1")) {
			pub->parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
			cs = 48;
		} else {
			fail_msg("unexpected curve %s", group);
			return;
		}
		assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &a), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &b), 1);
		assert_int_equal(BN_bn2binpad(a, pub->unique.ecc.x.buffer, cs), cs);
		assert_int_equal(BN_bn2binpad(b, pub->unique.ecc.y.buffer, cs), cs);
		pub->unique.ecc.x.size = pub->unique.ecc.y.size = (UINT16)cs;
	}
	BN_free(a);
	BN_free(b);
}

/* ---- a swtpm-like PKI: root and intermediate in a trust dir, EK certs over
 * an RSA and an ECC EK key; plus an unrelated CA. */
struct pki {
	char dir[64];
	EVP_PKEY *root_key, *int_key, *ek_rsa, *ek_ec, *other_key;
	X509 *root, *inter, *other_root, *other_inter;
	struct ekcert_trust *trust;
};

static struct pki *P;

static int pki_setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	fixture_tmpdir(p->dir, sizeof(p->dir), "test_ekcert");
	p->root_key = key_rsa();
	p->int_key = key_ec();
	p->ek_rsa = key_rsa();
	p->ek_ec = key_ec();
	p->other_key = key_rsa();
	p->root = make_cert("test EK root", NULL, p->root_key, p->root_key, 1, EXT_CA, -1, 3650);
	p->inter = make_cert("swtpm-localca", p->root, p->root_key, p->int_key, 2, EXT_CA, -1, 3650);
	/* Same names as the real PKI, different keys: only keys may decide. */
	p->other_root = make_cert("test EK root", NULL, p->other_key, p->other_key, 1, EXT_CA, -1, 3650);
	p->other_inter = make_cert("swtpm-localca", p->other_root, p->other_key, p->other_key, 2, EXT_CA, -1, 3650);
	write_pem(p->dir, "root.pem", p->root);
	write_pem(p->dir, "intermediate.pem", p->inter);
	write_bytes(p->dir, "README.md", "0 not a certificate\n", 20);
	assert_int_equal(ekcert_trust_load(p->dir, &p->trust), 0);
	P = p;
	*state = p;
	return 0;
}

static int pki_teardown(void **state)
{
	struct pki *p = *state;

	ekcert_trust_free(p->trust);
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->other_root);
	X509_free(p->other_inter);
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->ek_rsa);
	EVP_PKEY_free(p->ek_ec);
	EVP_PKEY_free(p->other_key);
	fixture_rmtree(p->dir);
	free(p);
	return 0;
}

/* Verify an EK cert signed by the intermediate; returns the code. */
static int verify_ek(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *certkey, EVP_PKEY *tpmkey, int flags,
		     long nb, long na)
{
	X509 *ek = make_cert(NULL, issuer, issuer_key, certkey, 0x1234567, flags, nb, na);
	TPMT_PUBLIC pub;
	size_t len;
	uint8_t *der = cert_der(ek, &len);
	int r;

	tpmpub_from_evp(tpmkey, &pub);
	r = ekcert_verify(P->trust, der, len, &pub);
	OPENSSL_free(der);
	X509_free(ek);
	return r;
}

static void test_trust_counts(void **state)
{
	struct pki *p = *state;
	size_t a = 99, i = 99;

	ekcert_trust_count(p->trust, &a, &i);
	assert_int_equal(a, 1);
	assert_int_equal(i, 1);
}

static void test_good_rsa(void **state)
{
	struct pki *p = *state;

	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_rsa, p->ek_rsa, EXT_EK, -1, 3650), 0);
}

static void test_good_ecc(void **state)
{
	struct pki *p = *state;

	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_ec, p->ek_ec, EXT_EK, -1, 3650), 0);
}

/* The good certificate really exercises the callback: without it OpenSSL
 * refuses the critical subjectDirectoryAttributes. */
static void test_plain_openssl_refuses_sda(void **state)
{
	struct pki *p = *state;
	X509 *ek = make_cert(NULL, p->inter, p->int_key, p->ek_rsa, 7, EXT_EK, -1, 3650);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();

	assert_non_null(st);
	assert_non_null(ctx);
	assert_true(sk_X509_push(chain, p->inter) > 0);
	assert_int_equal(X509_STORE_add_cert(st, p->root), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, ek, chain), 1);
	assert_int_not_equal(X509_verify_cert(ctx), 1);
	assert_int_equal(X509_STORE_CTX_get_error(ctx), X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(chain);
	X509_free(ek);
	ERR_clear_error();
}

static void test_untrusted_ca(void **state)
{
	struct pki *p = *state;

	/* Signed by a look-alike intermediate whose root is not trusted. */
	assert_int_equal(verify_ek(p->other_inter, p->other_key, p->ek_rsa, p->ek_rsa, EXT_EK, -1, 3650),
			 AERR_EK_CERT_CHAIN);
	/* Self-signed EK cert. */
	{
		X509 *ek = make_cert("self", NULL, p->ek_rsa, p->ek_rsa, 9, EXT_EK, -1, 3650);
		TPMT_PUBLIC pub;
		size_t len;
		uint8_t *der = cert_der(ek, &len);

		tpmpub_from_evp(p->ek_rsa, &pub);
		assert_int_equal(ekcert_verify(p->trust, der, len, &pub), AERR_EK_CERT_CHAIN);
		OPENSSL_free(der);
		X509_free(ek);
	}
}

static void test_unknown_critical(void **state)
{
	struct pki *p = *state;

	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_rsa, p->ek_rsa, EXT_EK | EXT_UNKNOWN_CRIT, -1, 3650),
			 AERR_EK_CERT_CHAIN);
	assert_non_null(strstr(err_detail(), "1.3.6.1.4.1.99999.1"));
	assert_non_null(strstr(err_detail(), "unhandled critical extension"));
	/* Alone, without the known ones, it fails just as well. */
	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_ec, p->ek_ec, EXT_UNKNOWN_CRIT, -1, 3650),
			 AERR_EK_CERT_CHAIN);
}

static void test_unknown_critical_in_intermediate(void **state)
{
	struct pki *p = *state;
	char dir[64];
	struct ekcert_trust *t = NULL;
	X509 *inter, *ek;
	TPMT_PUBLIC pub;
	uint8_t *der;
	size_t len;

	fixture_tmpdir(dir, sizeof(dir), "test_ekcert_ic");
	inter = make_cert("odd CA", p->root, p->root_key, p->int_key, 3, EXT_CA | EXT_UNKNOWN_CRIT, -1, 3650);
	write_pem(dir, "root.pem", p->root);
	write_pem(dir, "inter.pem", inter);
	assert_int_equal(ekcert_trust_load(dir, &t), 0);
	ek = make_cert(NULL, inter, p->int_key, p->ek_rsa, 10, EXT_EK, -1, 3650);
	der = cert_der(ek, &len);
	tpmpub_from_evp(p->ek_rsa, &pub);
	assert_int_equal(ekcert_verify(t, der, len, &pub), AERR_EK_CERT_CHAIN);
	assert_non_null(strstr(err_detail(), "odd CA"));
	OPENSSL_free(der);
	X509_free(ek);
	X509_free(inter);
	ekcert_trust_free(t);
	fixture_rmtree(dir);
}

static void test_key_mismatch(void **state)
{
	struct pki *p = *state;
	EVP_PKEY *rsa2 = key_rsa(), *ec2 = key_ec();

	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_rsa, rsa2, EXT_EK, -1, 3650), AERR_EK_CERT_KEY);
	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_ec, ec2, EXT_EK, -1, 3650), AERR_EK_CERT_KEY);
	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_rsa, p->ek_ec, EXT_EK, -1, 3650), AERR_EK_CERT_KEY);
	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_ec, p->ek_rsa, EXT_EK, -1, 3650), AERR_EK_CERT_KEY);
	EVP_PKEY_free(rsa2);
	EVP_PKEY_free(ec2);
}

static void test_key_mismatch_one_bit(void **state)
{
	struct pki *p = *state;
	X509 *ek = make_cert(NULL, p->inter, p->int_key, p->ek_rsa, 11, EXT_EK, -1, 3650);
	X509 *eke = make_cert(NULL, p->inter, p->int_key, p->ek_ec, 12, EXT_EK, -1, 3650);
	TPMT_PUBLIC pub;
	size_t len, lene;
	uint8_t *der = cert_der(ek, &len), *dere = cert_der(eke, &lene);

	tpmpub_from_evp(p->ek_rsa, &pub);
	assert_int_equal(ekcert_verify(p->trust, der, len, &pub), 0);
	pub.unique.rsa.buffer[100] ^= 0x01;
	assert_int_equal(ekcert_verify(p->trust, der, len, &pub), AERR_EK_CERT_KEY);
	pub.unique.rsa.buffer[100] ^= 0x01;
	pub.parameters.rsaDetail.exponent = 3;
	assert_int_equal(ekcert_verify(p->trust, der, len, &pub), AERR_EK_CERT_KEY);

	tpmpub_from_evp(p->ek_ec, &pub);
	assert_int_equal(ekcert_verify(p->trust, dere, lene, &pub), 0);
	/* A different point (the negated one is also on the curve). */
	{
		BIGNUM *y = BN_bin2bn(pub.unique.ecc.y.buffer, 32, NULL), *pr = NULL;
		EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);

		assert_non_null(y);
		assert_non_null(g);
		assert_non_null(pr = BN_dup(EC_GROUP_get0_field(g)));
		assert_int_equal(BN_sub(y, pr, y), 1);
		assert_int_equal(BN_bn2binpad(y, pub.unique.ecc.y.buffer, 32), 32);
		assert_int_equal(ekcert_verify(p->trust, dere, lene, &pub), AERR_EK_CERT_KEY);
		BN_free(y);
		BN_free(pr);
		EC_GROUP_free(g);
	}
	OPENSSL_free(der);
	OPENSSL_free(dere);
	X509_free(ek);
	X509_free(eke);
}

static void test_bad_der(void **state)
{
	struct pki *p = *state;
	X509 *ek = make_cert(NULL, p->inter, p->int_key, p->ek_rsa, 13, EXT_EK, -1, 3650);
	TPMT_PUBLIC pub;
	size_t len;
	uint8_t *der = cert_der(ek, &len), *longer = malloc(len + 1);

	tpmpub_from_evp(p->ek_rsa, &pub);
	assert_int_equal(ekcert_verify(p->trust, der, len, &pub), 0);
	assert_int_equal(ekcert_verify(p->trust, der, len - 1, &pub), AERR_EK_CERT);
	assert_int_equal(ekcert_verify(p->trust, der, len / 2, &pub), AERR_EK_CERT);
	assert_int_equal(ekcert_verify(p->trust, der, 1, &pub), AERR_EK_CERT);
	assert_int_equal(ekcert_verify(p->trust, NULL, 0, &pub), AERR_EK_CERT);
	assert_int_equal(ekcert_verify(p->trust, der, 0, &pub), AERR_EK_CERT);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0x00;
	assert_int_equal(ekcert_verify(p->trust, longer, len + 1, &pub), AERR_EK_CERT);
	assert_non_null(strstr(err_detail(), "trailing"));
	free(longer);
	OPENSSL_free(der);
	X509_free(ek);
}

/* Flip every bit of the signature: each variant must fail the chain. */
static void test_signature_bitflips(void **state)
{
	struct pki *p = *state;
	X509 *ek = make_cert(NULL, p->inter, p->int_key, p->ek_ec, 14, EXT_EK, -1, 3650);
	const ASN1_BIT_STRING *sig;
	TPMT_PUBLIC pub;
	size_t len, off, bit;
	uint8_t *der = cert_der(ek, &len);

	X509_get0_signature(&sig, NULL, ek);
	/* The signature BIT STRING content ends the certificate. */
	off = len - (size_t)ASN1_STRING_length(sig);
	assert_memory_equal(der + off, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig));
	tpmpub_from_evp(p->ek_ec, &pub);
	for (bit = off * 8; bit < len * 8; bit++) {
		int r;
		der[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = ekcert_verify(p->trust, der, len, &pub);
		/* A flip inside the ECDSA-Sig-Value DER may also make it unparsable;
		 * never may it pass. */
		if (r != AERR_EK_CERT_CHAIN && r != AERR_EK_CERT)
			fail_msg("bit %zu: %d %s", bit, r, err_detail());
		der[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(ekcert_verify(p->trust, der, len, &pub), 0);
	OPENSSL_free(der);
	X509_free(ek);
}

/* Expiry policy: expired certificates anywhere in the chain are accepted
 * (documented in endorsement/ekcert.c); not-yet-valid ones are not. */
static void test_validity_policy(void **state)
{
	struct pki *p = *state;
	char dir[64];
	struct ekcert_trust *t = NULL;
	X509 *old_inter, *ek;
	TPMT_PUBLIC pub;
	uint8_t *der;
	size_t len;

	/* Expired EK certificate. */
	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_rsa, p->ek_rsa, EXT_EK, -3650, -1), 0);
	/* Not yet valid EK certificate. */
	assert_int_equal(verify_ek(p->inter, p->int_key, p->ek_rsa, p->ek_rsa, EXT_EK, 2, 3650), AERR_EK_CERT_CHAIN);
	assert_non_null(strstr(err_detail(), "not yet valid"));

	/* Expired intermediate (as with Infineon's CA 01). */
	fixture_tmpdir(dir, sizeof(dir), "test_ekcert_exp");
	old_inter = make_cert("expired CA", p->root, p->root_key, p->int_key, 4, EXT_CA, -4000, -300);
	write_pem(dir, "root.pem", p->root);
	write_pem(dir, "old.pem", old_inter);
	assert_int_equal(ekcert_trust_load(dir, &t), 0);
	ek = make_cert(NULL, old_inter, p->int_key, p->ek_ec, 15, EXT_EK, -3900, 3650);
	der = cert_der(ek, &len);
	tpmpub_from_evp(p->ek_ec, &pub);
	assert_int_equal(ekcert_verify(t, der, len, &pub), 0);
	OPENSSL_free(der);
	X509_free(ek);
	X509_free(old_inter);
	ekcert_trust_free(t);
	fixture_rmtree(dir);
}

/* No partial chains: an intermediate in the dir is not an anchor. */
static void test_no_partial_chain(void **state)
{
	struct pki *p = *state;
	char dir[64];
	struct ekcert_trust *t = NULL;
	X509 *ek;
	TPMT_PUBLIC pub;
	uint8_t *der;
	size_t len;

	fixture_tmpdir(dir, sizeof(dir), "test_ekcert_pc");
	write_pem(dir, "intermediate.pem", p->inter);
	/* Only an intermediate: no root at all. */
	assert_int_equal(ekcert_trust_load(dir, &t), AERR_CONFIG);
	assert_null(t);
	/* An unrelated root next to it does not make the intermediate trusted. */
	write_pem(dir, "other.pem", p->other_root);
	assert_int_equal(ekcert_trust_load(dir, &t), 0);
	ek = make_cert(NULL, p->inter, p->int_key, p->ek_rsa, 16, EXT_EK, -1, 3650);
	der = cert_der(ek, &len);
	tpmpub_from_evp(p->ek_rsa, &pub);
	assert_int_equal(ekcert_verify(t, der, len, &pub), AERR_EK_CERT_CHAIN);
	OPENSSL_free(der);
	X509_free(ek);
	ekcert_trust_free(t);
	fixture_rmtree(dir);
}

static void test_trust_load_formats(void **state)
{
	struct pki *p = *state;
	char dir[64];
	struct ekcert_trust *t = NULL;
	size_t a, i, len;
	uint8_t *der;
	BIO *b;
	char *pem;
	long pem_len;
	X509 *ek;
	TPMT_PUBLIC pub;

	fixture_tmpdir(dir, sizeof(dir), "test_ekcert_fmt");
	/* Root as DER with a .crt name, intermediate twice in one PEM bundle. */
	der = cert_der(p->root, &len);
	write_bytes(dir, "root.crt", der, len);
	OPENSSL_free(der);
	assert_non_null(b = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509(b, p->inter), 1);
	assert_int_equal(PEM_write_bio_X509(b, p->other_root), 1);
	pem_len = BIO_get_mem_data(b, &pem);
	write_bytes(dir, "bundle.pem", pem, (size_t)pem_len);
	assert_int_equal(ekcert_trust_load(dir, &t), 0);
	ekcert_trust_count(t, &a, &i);
	assert_int_equal(a, 2);
	assert_int_equal(i, 1);
	ek = make_cert(NULL, p->inter, p->int_key, p->ek_rsa, 17, EXT_EK, -1, 3650);
	der = cert_der(ek, &len);
	tpmpub_from_evp(p->ek_rsa, &pub);
	assert_int_equal(ekcert_verify(t, der, len, &pub), 0);
	OPENSSL_free(der);
	X509_free(ek);
	ekcert_trust_free(t);
	t = NULL;

	/* A damaged PEM file fails the whole load. */
	write_bytes(dir, "broken.pem", pem, (size_t)pem_len / 2);
	assert_int_equal(ekcert_trust_load(dir, &t), AERR_CONFIG);
	assert_null(t);
	assert_non_null(strstr(err_detail(), "broken.pem"));
	BIO_free(b);
	/* A .der file that is not DER fails too. */
	fixture_rmtree(dir);
	fixture_tmpdir(dir, sizeof(dir), "test_ekcert_fmt");
	der = cert_der(p->root, &len);
	write_bytes(dir, "root.der", der, len);
	write_bytes(dir, "junk.der", der, len / 2);
	OPENSSL_free(der);
	assert_int_equal(ekcert_trust_load(dir, &t), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "junk.der"));
	fixture_rmtree(dir);
	assert_int_equal(ekcert_trust_load("/nonexistent/ek-roots", &t), AERR_CONFIG);
	assert_null(t);
}

/* ---- the shipped vendor store */

/* Which vendor certificates chain to a root shipped in certs/ek-roots, as
 * established independently with `openssl verify -CAfile <self-signed ones>
 * -untrusted <the rest>` (see certs/ek-roots/README.md). */
static const char *VENDOR_UNCHAINED[] = {
	"Alibaba_Cloud_vTPM_EK.pem", "IFX1.pem", "IFX15.pem", "IFX2.pem", "IFX3.pem", "IFX4.pem", "IFX5.pem",
	"IFX8.pem", "IFX_RSA_01I.pem", "IFX_RSA_02I.pem", "IFX_RSA_03I.pem", "IFX_RSA_04I.pem",
	"IFX_RSA_05I.pem", "IFX_RSA_08I.pem", "IFX_RSA_17I.pem", "IFX_RSA_18I.pem", "IFX_RSA_20I.pem",
	"IFX_RSA_21I.pem", "IFX_RSA_RT.pem", "Nationz_TPM_EK.pem", "STM_ECC_01I.pem", "STM_ECC_01RT.pem",
};

static int vendor_unchained(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(VENDOR_UNCHAINED); i++)
		if (!strcmp(VENDOR_UNCHAINED[i], name))
			return 1;
	return 0;
}

static X509 *load_any(const char *path)
{
	size_t len;
	uint8_t *buf = fixture_read(path, &len);
	const unsigned char *q = buf;
	X509 *x = NULL;
	BIO *b;

	assert_non_null(buf);
	if (len && buf[0] == 0x30) {
		x = d2i_X509(NULL, &q, (long)len);
	} else {
		assert_non_null(b = BIO_new_mem_buf(buf, (int)len));
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	free(buf);
	return x;
}

static void test_vendor_store(void **state)
{
	struct ekcert_trust *t = NULL;
	size_t a = 0, i = 0, checked = 0, passed = 0;
	const char *dir = fixture_source("certs/ek-roots");
	char dirbuf[4096];
	FILE *ls;
	char cmd[4200], name[256];

	(void)state;
	snprintf(dirbuf, sizeof(dirbuf), "%s", dir);
	assert_int_equal(ekcert_trust_load(dirbuf, &t), 0);
	ekcert_trust_count(t, &a, &i);
	print_message("vendor store: %zu anchors, %zu intermediates\n", a, i);
	assert_true(a + i > 40);
	/* 13 self-signed roots; 56 files hold 50 distinct certificates. */
	assert_int_equal(a, 13);
	assert_int_equal(a + i, 50);

	/* Each vendor CA certificate, presented as if it were an EK certificate
	 * with its own key as the EK: real vendor chains (RSA and ECC, PEM and
	 * DER, GlobalSign cross-signed STM, Google's DER chains) must build. */
	snprintf(cmd, sizeof(cmd), "ls '%s'", dirbuf);
	assert_non_null(ls = popen(cmd, "r"));
	while (fgets(name, sizeof(name), ls)) {
		char path[4400];
		X509 *x;
		TPMT_PUBLIC pub;
		uint8_t *der = NULL;
		int n, r, expect;

		name[strcspn(name, "\n")] = 0;
		if (!strcmp(name, "README.md"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirbuf, name);
		assert_non_null(x = load_any(path));
		tpmpub_from_evp(X509_get0_pubkey(x), &pub);
		n = i2d_X509(x, &der);
		assert_true(n > 0);
		r = ekcert_verify(t, der, (size_t)n, &pub);
		expect = vendor_unchained(name) ? AERR_EK_CERT_CHAIN : 0;
		if (r != expect)
			fail_msg("%s: got %d (%s), expected %d", name, r, err_detail(), expect);
		passed += r == 0;
		checked++;
		OPENSSL_free(der);
		X509_free(x);
	}
	pclose(ls);
	assert_int_equal(checked, 56);
	assert_int_equal(passed, 56 - ARRAY_LEN(VENDOR_UNCHAINED));
	ekcert_trust_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust_counts),
		cmocka_unit_test(test_good_rsa),
		cmocka_unit_test(test_good_ecc),
		cmocka_unit_test(test_plain_openssl_refuses_sda),
		cmocka_unit_test(test_untrusted_ca),
		cmocka_unit_test(test_unknown_critical),
		cmocka_unit_test(test_unknown_critical_in_intermediate),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_key_mismatch_one_bit),
		cmocka_unit_test(test_bad_der),
		cmocka_unit_test(test_signature_bitflips),
		cmocka_unit_test(test_validity_policy),
		cmocka_unit_test(test_no_partial_chain),
		cmocka_unit_test(test_trust_load_formats),
	};
	const struct CMUnitTest vendor[] = {
		cmocka_unit_test(test_vendor_store),
	};
	int failed = cmocka_run_group_tests_name("ekcert", tests, pki_setup, pki_teardown);

	return failed + cmocka_run_group_tests_name("ekcert-vendor", vendor, NULL, NULL);
}
