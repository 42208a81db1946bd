/* Platform certificates: the real TCG platform attribute certificates from
 * go-attestation's test data (parsed fields checked against the *.json that
 * project ships), their signatures against Intel's signing key, binding to
 * the EK certificate, tampering; and swtpm's kind (an X.509 certificate over
 * the EK key). */
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
#include "endorsement/platformcert.h"

static const char *SAMPLES[] = {
	"Intel_nuc1", "Intel_nuc_pc", "Intel_nuc_pc2", "Intel_pc1", "Intel_pc2", "Intel_pc3", "Intel_pc4",
	"Intel_pc5", "lenovo", "plat_cert1", "plat_cert2", "plat_cert3",
};

/* Signed by IntelSigningKey_20April2017.cer, established independently with
 * `openssl dgst -sha1 -verify` over the RawTBSAttributeCertificate of the json.
 * Intel_pc1 is signed by that key too, but names a different issuer
 * (OU=TrustedSupplyChain, ST=California): see test_issuer_name_mismatch. */
static const char *INTEL_SIGNED[] = { "Intel_nuc_pc", "Intel_nuc_pc2", "Intel_pc2", "Intel_pc3" };

#define NSAMPLES ARRAY_LEN(SAMPLES)

/* ---- a very small reader for the go-attestation json: the value of the
 * first "key" after the first occurrence of anchor (string or number, or
 * NULL for null). Enough for this fixed, pretty-printed data. */
static char *json_get(const char *json, const char *anchor, const char *key)
{
	char pat[128];
	const char *a = anchor ? strstr(json, anchor) : json, *v, *e;
	char *out;

	assert_non_null(a);
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	v = strstr(a, pat);
	assert_non_null(v);
	v += strlen(pat);
	if (!strncmp(v, "null", 4))
		return NULL;
	if (*v == '"') {
		v++;
		e = strchr(v, '"');
	} else {
		e = v + strspn(v, "-0123456789");
	}
	assert_non_null(e);
	out = strndup(v, (size_t)(e - v));
	assert_non_null(out);
	return out;
}

static char *name_cn(X509_NAME *n)
{
	char buf[256];
	int len = X509_NAME_get_text_by_NID(n, NID_commonName, buf, sizeof(buf));

	return len < 0 ? strdup("") : strdup(buf);
}

static char *int_dec(const ASN1_INTEGER *i)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(i, NULL);
	char *s = BN_bn2dec(bn), *out = strdup(s);

	OPENSSL_free(s);
	BN_free(bn);
	return out;
}

static char *time_iso(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;
	char buf[32];

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return strdup(buf);
}

static void expect_str(const char *what, const char *sample, char *expected, const char *got)
{
	/* go-attestation reports absent strings as "". */
	const char *e = expected ? expected : "";
	const char *g = got ? got : "";

	if (strcmp(e, g) != 0)
		fail_msg("%s %s: expected \"%s\", parsed \"%s\"", sample, what, e, g);
	free(expected);
}

static void expect_owned(const char *what, const char *sample, char *expected, char *got)
{
	expect_str(what, sample, expected, got);
	free(got);
}

static uint8_t *read_sample(const char *name, const char *ext, size_t *len)
{
	char rel[128];
	uint8_t *buf;

	snprintf(rel, sizeof(rel), "platformcerts/%s%s", name, ext);
	buf = fixture_read(fixture_testdata(rel), len);
	if (!buf)
		fail_msg("cannot read %s", fixture_testdata(rel));
	return buf;
}

static void test_samples_parse(void **state)
{
	size_t s;

	(void)state;
	for (s = 0; s < NSAMPLES; s++) {
		const char *name = SAMPLES[s];
		size_t len, jlen;
		uint8_t *der = read_sample(name, ".cer", &len);
		char *json = (char *)read_sample(name, ".cer.json", &jlen);
		struct platformcert *pc = NULL;
		char *v;

		json[jlen] = 0;
		assert_true(platformcert_is_attribute_cert(der, len));
		if (platformcert_parse(der, len, &pc) != 0)
			fail_msg("%s: %s", name, err_detail());
		v = json_get(json, "\n    \"Version\"", "Version");
		assert_int_equal(pc->version + 1, atol(v));
		free(v);
		expect_owned("serial", name, json_get(json, "\n    \"SerialNumber\"", "SerialNumber"), int_dec(pc->serial));
		expect_owned("holder serial", name, json_get(json, "\n    \"Holder\"", "Serial"),
			     int_dec(pc->holder_serial));
		expect_owned("holder issuer CN", name, json_get(json, "\n    \"Holder\"", "CommonName"),
			     name_cn(pc->holder_issuer));
		expect_owned("issuer CN", name, json_get(json, "\n    \"Issuer\"", "CommonName"), name_cn(pc->issuer));
		expect_owned("notBefore", name, json_get(json, NULL, "NotBefore"), time_iso(pc->not_before));
		expect_owned("notAfter", name, json_get(json, NULL, "NotAfter"), time_iso(pc->not_after));
		expect_str("manufacturer", name, json_get(json, NULL, "PlatformManufacturer"), pc->manufacturer);
		expect_str("model", name, json_get(json, NULL, "PlatformModel"), pc->model);
		expect_str("version", name, json_get(json, NULL, "PlatformVersion"), pc->platform_version);
		expect_str("serial", name, json_get(json, NULL, "PlatformSerial"), pc->platform_serial);
		assert_true(pc->has_spec);
		v = json_get(json, "TCGPlatformSpecification", "MajorVersion");
		assert_int_equal(pc->spec_major, atol(v));
		free(v);
		v = json_get(json, "TCGPlatformSpecification", "MinorVersion");
		assert_int_equal(pc->spec_minor, atol(v));
		free(v);
		v = json_get(json, "TCGPlatformSpecification", "Revision");
		assert_int_equal(pc->spec_revision, atol(v));
		free(v);
		/* The signed bytes are exactly the json's RawTBSAttributeCertificate. */
		{
			char *b64 = json_get(json, NULL, "RawTBSAttributeCertificate");
			uint8_t *raw = malloc(strlen(b64));
			int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
			size_t pad = strlen(b64) >= 2 ? (b64[strlen(b64) - 1] == '=') + (b64[strlen(b64) - 2] == '=') : 0;

			assert_true(n > 0);
			assert_int_equal(pc->tbs_len, (size_t)n - pad);
			assert_memory_equal(pc->tbs, raw, pc->tbs_len);
			free(raw);
			free(b64);
		}
		platformcert_free(pc);
		free(json);
		free(der);
	}
}

/* Every truncation and a trailing byte must be refused, never crash. */
static void test_samples_truncated(void **state)
{
	size_t s, cut;

	(void)state;
	for (s = 0; s < NSAMPLES; s++) {
		size_t len;
		uint8_t *der = read_sample(SAMPLES[s], ".cer", &len), *longer;
		struct platformcert *pc = NULL;

		for (cut = 0; cut < len; cut++) {
			assert_int_equal(platformcert_parse(der, cut, &pc), AERR_PLATFORM_CERT);
			assert_null(pc);
		}
		assert_non_null(longer = malloc(len + 1));
		memcpy(longer, der, len);
		longer[len] = 0;
		assert_int_equal(platformcert_parse(longer, len + 1, &pc), AERR_PLATFORM_CERT);
		free(longer);
		free(der);
	}
}

/* Not an attribute certificate: the Intel signing key is an X.509 cert. */
static void test_x509_is_not_ac(void **state)
{
	size_t len;
	uint8_t *der = read_sample("IntelSigningKey_20April2017", ".cer", &len);
	struct platformcert *pc = NULL;

	(void)state;
	assert_false(platformcert_is_attribute_cert(der, len));
	assert_int_equal(platformcert_parse(der, len, &pc), AERR_PLATFORM_CERT);
	assert_null(pc);
	free(der);
}

/* ---- signature and binding against Intel's real signing key */

struct intel {
	char dir[64];
	struct ekcert_trust *trust;
	EVP_PKEY *fake_ca_key;
};

static int intel_setup(void **state)
{
	struct intel *it = calloc(1, sizeof(*it));
	size_t len;
	uint8_t *der;
	char path[128];
	FILE *f;

	assert_non_null(it);
	fixture_tmpdir(it->dir, sizeof(it->dir), "test_platformcert");
	der = read_sample("IntelSigningKey_20April2017", ".cer", &len);
	snprintf(path, sizeof(path), "%s/intel.cer", it->dir);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(der, 1, len, f), len);
	fclose(f);
	free(der);
	assert_int_equal(ekcert_trust_load(it->dir, &it->trust), 0);
	assert_non_null(it->fake_ca_key = EVP_EC_gen("P-256"));
	*state = it;
	return 0;
}

static int intel_teardown(void **state)
{
	struct intel *it = *state;

	ekcert_trust_free(it->trust);
	EVP_PKEY_free(it->fake_ca_key);
	fixture_rmtree(it->dir);
	free(it);
	return 0;
}

/* An EK certificate with the issuer name and serial the attribute
 * certificate's holder names (we do not have the real one). serial_delta
 * makes a near miss. */
static uint8_t *ek_cert_for(const struct platformcert *pc, EVP_PKEY *key, long serial_delta, size_t *len)
{
	X509 *x = X509_new();
	BIGNUM *bn = ASN1_INTEGER_to_BN(pc->holder_serial, NULL);
	ASN1_INTEGER *serial;
	uint8_t *der = NULL;
	int n;

	assert_non_null(x);
	assert_non_null(bn);
	if (serial_delta)
		assert_int_equal(BN_add_word(bn, (BN_ULONG)serial_delta), 1);
	assert_non_null(serial = BN_to_ASN1_INTEGER(bn, NULL));
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(X509_set_serialNumber(x, serial), 1);
	assert_int_equal(X509_set_issuer_name(x, pc->holder_issuer), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_true((n = i2d_X509(x, &der)) > 0);
	*len = (size_t)n;
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_free(x);
	return der;
}

static void test_intel_signed(void **state)
{
	struct intel *it = *state;
	size_t s;

	for (s = 0; s < ARRAY_LEN(INTEL_SIGNED); s++) {
		const char *name = INTEL_SIGNED[s];
		size_t len, eklen, eklen2;
		uint8_t *der = read_sample(name, ".cer", &len), *ek, *ek_near;
		struct platformcert *pc = NULL;
		time_t now = time(NULL);
		int expired;

		assert_int_equal(platformcert_parse(der, len, &pc), 0);
		ek = ek_cert_for(pc, it->fake_ca_key, 0, &eklen);
		ek_near = ek_cert_for(pc, it->fake_ca_key, 1, &eklen2);
		expired = ASN1_TIME_cmp_time_t(pc->not_after, now) < 0;
		if (expired) {
			/* Intel_pc1 ended in 2017: signature fine, period over. */
			assert_int_equal(platformcert_verify(it->trust, der, len, ek, eklen, NULL), AERR_PLATFORM_CERT);
			if (!strstr(err_detail(), "expired"))
				fail_msg("%s: %s", name, err_detail());
		} else {
			if (platformcert_verify(it->trust, der, len, ek, eklen, NULL) != 0)
				fail_msg("%s: %s", name, err_detail());
			/* Holder must name this EK certificate exactly. */
			assert_int_equal(platformcert_verify(it->trust, der, len, ek_near, eklen2, NULL),
					 AERR_PLATFORM_CERT);
			assert_non_null(strstr(err_detail(), "holder"));
			assert_int_equal(platformcert_verify(it->trust, der, len, NULL, 0, NULL), AERR_PLATFORM_CERT);
			assert_int_equal(platformcert_verify(it->trust, der, len, ek, eklen - 1, NULL),
					 AERR_PLATFORM_CERT);
		}
		OPENSSL_free(ek);
		OPENSSL_free(ek_near);
		platformcert_free(pc);
		free(der);
	}
}

/* One-byte tampering anywhere in the signed part (acinfo) must fail, by
 * parse or by signature; and the untampered one passes. */
static void test_intel_tamper_every_byte(void **state)
{
	struct intel *it = *state;
	size_t len, eklen, off, tbs_off;
	uint8_t *der = read_sample("Intel_nuc_pc", ".cer", &len), *ek;
	struct platformcert *pc = NULL;
	size_t sig_fail = 0;

	assert_int_equal(platformcert_parse(der, len, &pc), 0);
	ek = ek_cert_for(pc, it->fake_ca_key, 0, &eklen);
	assert_int_equal(platformcert_verify(it->trust, der, len, ek, eklen, NULL), 0);
	/* acinfo starts after the outer SEQUENCE header (4 bytes: 30 82 xx xx). */
	tbs_off = 4;
	assert_memory_equal(der + tbs_off, pc->tbs, pc->tbs_len);
	for (off = tbs_off; off < tbs_off + pc->tbs_len; off++) {
		int r;
		der[off] ^= 0x01;
		r = platformcert_verify(it->trust, der, len, ek, eklen, NULL);
		if (r != AERR_PLATFORM_CERT)
			fail_msg("byte %zu: %d", off, r);
		sig_fail += strstr(err_detail(), "signature does not verify") != NULL ||
			    strstr(err_detail(), "not in the trust store") != NULL;
		der[off] ^= 0x01;
	}
	/* Most flips keep the DER valid and are caught by the signature. */
	assert_true(sig_fail > pc->tbs_len / 2);
	/* The signature value itself. */
	der[len - 10] ^= 0x80;
	assert_int_equal(platformcert_verify(it->trust, der, len, ek, eklen, NULL), AERR_PLATFORM_CERT);
	assert_non_null(strstr(err_detail(), "signature does not verify"));
	OPENSSL_free(ek);
	platformcert_free(pc);
	free(der);
}

/* The key signed it, but the issuer name is not the key's certificate
 * subject: an issuer is identified by name, so this is refused. */
static void test_issuer_name_mismatch(void **state)
{
	struct intel *it = *state;
	size_t len, eklen;
	uint8_t *der = read_sample("Intel_pc1", ".cer", &len), *ek;
	struct platformcert *pc = NULL;

	assert_int_equal(platformcert_parse(der, len, &pc), 0);
	ek = ek_cert_for(pc, it->fake_ca_key, 0, &eklen);
	assert_int_equal(platformcert_verify(it->trust, der, len, ek, eklen, NULL), AERR_PLATFORM_CERT);
	assert_non_null(strstr(err_detail(), "OU=TrustedSupplyChain"));
	assert_non_null(strstr(err_detail(), "not in the trust store"));
	OPENSSL_free(ek);
	platformcert_free(pc);
	free(der);
}

/* Samples whose issuer is not in the trust store fail with that reason. */
static void test_unknown_issuer(void **state)
{
	struct intel *it = *state;
	size_t len, eklen;
	uint8_t *der = read_sample("lenovo", ".cer", &len), *ek;
	struct platformcert *pc = NULL;

	assert_int_equal(platformcert_parse(der, len, &pc), 0);
	ek = ek_cert_for(pc, it->fake_ca_key, 0, &eklen);
	assert_int_equal(platformcert_verify(it->trust, der, len, ek, eklen, NULL), AERR_PLATFORM_CERT);
	assert_non_null(strstr(err_detail(), "not in the trust store"));
	OPENSSL_free(ek);
	platformcert_free(pc);
	free(der);
}

/* ---- swtpm's kind: an X.509 certificate over the EK key from the local CA */

static X509 *mk(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 77), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE"));
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void rsa_tpmpub(EVP_PKEY *k, TPMT_PUBLIC *pub)
{
	BIGNUM *n = NULL;

	memset(pub, 0, sizeof(*pub));
	pub->type = TPM2_ALG_RSA;
	pub->nameAlg = TPM2_ALG_SHA256;
	pub->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	pub->parameters.rsaDetail.symmetric.keyBits.aes = 128;
	pub->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	pub->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	pub->parameters.rsaDetail.keyBits = 2048;
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(BN_bn2binpad(n, pub->unique.rsa.buffer, 256), 256);
	pub->unique.rsa.size = 256;
	BN_free(n);
}

static void test_swtpm_kind(void **state)
{
	char dir[64], path[128];
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *ek_key = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
	X509 *ca, *pcert, *rogue;
	struct ekcert_trust *t = NULL;
	TPMT_PUBLIC pub, pub_other;
	uint8_t *der = NULL, *rder = NULL;
	int n, rn;
	FILE *f;

	(void)state;
	assert_non_null(ca_key);
	assert_non_null(ek_key);
	assert_non_null(other);
	fixture_tmpdir(dir, sizeof(dir), "test_platformcert_sw");
	ca = mk("swtpm-localca-root", NULL, ca_key, ca_key, 1);
	pcert = mk("platform", ca, ca_key, ek_key, 0);
	rogue = mk("platform", NULL, other, ek_key, 0);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_X509(f, ca), 1);
	fclose(f);
	assert_int_equal(ekcert_trust_load(dir, &t), 0);
	assert_true((n = i2d_X509(pcert, &der)) > 0);
	assert_true((rn = i2d_X509(rogue, &rder)) > 0);
	assert_false(platformcert_is_attribute_cert(der, (size_t)n));
	rsa_tpmpub(ek_key, &pub);
	rsa_tpmpub(other, &pub_other);
	assert_int_equal(platformcert_verify(t, der, (size_t)n, NULL, 0, &pub), 0);
	assert_int_equal(platformcert_verify(t, der, (size_t)n, NULL, 0, &pub_other), AERR_PLATFORM_CERT);
	assert_int_equal(platformcert_verify(t, der, (size_t)n, NULL, 0, NULL), AERR_PLATFORM_CERT);
	assert_int_equal(platformcert_verify(t, rder, (size_t)rn, NULL, 0, &pub), AERR_PLATFORM_CERT);
	assert_int_equal(platformcert_verify(t, der, (size_t)n - 1, NULL, 0, &pub), AERR_PLATFORM_CERT);
	assert_int_equal(platformcert_verify(t, NULL, 0, NULL, 0, &pub), AERR_PLATFORM_CERT);
	OPENSSL_free(der);
	OPENSSL_free(rder);
	X509_free(ca);
	X509_free(pcert);
	X509_free(rogue);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ek_key);
	EVP_PKEY_free(other);
	ekcert_trust_free(t);
	fixture_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest parse[] = {
		cmocka_unit_test(test_samples_parse),
		cmocka_unit_test(test_samples_truncated),
		cmocka_unit_test(test_x509_is_not_ac),
		cmocka_unit_test(test_swtpm_kind),
	};
	const struct CMUnitTest intel[] = {
		cmocka_unit_test(test_intel_signed),
		cmocka_unit_test(test_intel_tamper_every_byte),
		cmocka_unit_test(test_unknown_issuer),
		cmocka_unit_test(test_issuer_name_mismatch),
	};
	int failed = cmocka_run_group_tests_name("platformcert-parse", parse, NULL, NULL);

	return failed + cmocka_run_group_tests_name("platformcert-intel", intel, intel_setup, intel_teardown);
}
