/* common/certify (which keys are admitted) and common/keycert (the CA's
 * files, the certificate's fields and bounds), with software keys standing
 * in for the TPM's (tpmpub_set_unique); the TPM path is
 * integration/test_certify_interop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certify.h"
#include "crypto.h"
#include "fixtures.h"
#include "keycert.h"
#include "tpmpub.h"

static char dir[256];

/* A P-256 signing key's public area as certify_key_admit wants it. */
static void tls_key(TPMT_PUBLIC *pub, EVP_PKEY **sw)
{
	tpmpub_ak_template(TPM2_ALG_ECC, pub);
	pub->objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	assert_non_null(*sw = EVP_EC_gen("P-256"));
	assert_int_equal(tpmpub_set_unique(pub, *sw), 0);
}

static void test_admit(void **state)
{
	static const struct {
		TPMA_OBJECT clear, set;
		int want;
		const char *says;
	} cases[] = {
		{ 0, 0, 0, NULL },
		{ TPMA_OBJECT_FIXEDTPM, 0, AERR_CERTIFY, "fixedTPM" },
		{ TPMA_OBJECT_FIXEDPARENT, 0, AERR_CERTIFY, "fixedParent" },
		{ TPMA_OBJECT_SENSITIVEDATAORIGIN, 0, AERR_CERTIFY, "sensitiveDataOrigin" },
		{ TPMA_OBJECT_USERWITHAUTH, 0, AERR_CERTIFY, "userWithAuth" },
		{ TPMA_OBJECT_SIGN_ENCRYPT, 0, AERR_CERTIFY, "sign" },
		{ 0, TPMA_OBJECT_DECRYPT, AERR_CERTIFY, "decrypt" },
		{ 0, TPMA_OBJECT_RESTRICTED, AERR_CERTIFY, "restricted" },
	};
	TPMT_PUBLIC pub, t;
	EVP_PKEY *sw;

	(void)state;
	tls_key(&pub, &sw);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = pub;
		t.objectAttributes = (t.objectAttributes & ~cases[i].clear) | cases[i].set;
		assert_int_equal(certify_key_admit(&t), cases[i].want);
		if (cases[i].says)
			assert_non_null(strstr(err_detail(), cases[i].says));
	}
	t = pub;
	t.nameAlg = TPM2_ALG_SHA1;
	assert_int_equal(certify_key_admit(&t), AERR_UNSUPPORTED);
	t = pub;
	t.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
	assert_int_equal(certify_key_admit(&t), AERR_UNSUPPORTED);
	/* Pinned to a scheme TLS cannot use. */
	t = pub;
	t.parameters.eccDetail.scheme.details.anySig.hashAlg = TPM2_ALG_SHA1;
	assert_int_equal(certify_key_admit(&t), AERR_UNSUPPORTED);
	t.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDAA;
	t.parameters.eccDetail.scheme.details.anySig.hashAlg = TPM2_ALG_SHA256;
	assert_int_equal(certify_key_admit(&t), AERR_UNSUPPORTED);
	t.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	assert_int_equal(certify_key_admit(&t), 0);
	t = pub;
	t.type = TPM2_ALG_KEYEDHASH;
	assert_int_equal(certify_key_admit(&t), AERR_UNSUPPORTED);
	EVP_PKEY_free(sw);
	/* RSA: 2048 bits only. */
	tpmpub_ak_template(TPM2_ALG_RSA, &t);
	t.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	assert_int_equal(certify_key_admit(&t), 0);
	t.parameters.rsaDetail.keyBits = 3072;
	assert_int_equal(certify_key_admit(&t), AERR_UNSUPPORTED);
}

static const char *path_in(const char *name)
{
	static char p[4][512];
	static int k;
	char *s = p[k++ % 4];

	snprintf(s, sizeof(p[0]), "%s/%s", dir, name);
	return s;
}

static void make_ca(const char *cert, const char *key, int ca)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=t -days 2 "
		 "-addext basicConstraints=critical,CA:%s -keyout '%s' -out '%s' 2>/dev/null && chmod 600 '%s'",
		 ca ? "TRUE" : "FALSE", key, cert, key);
	assert_int_equal(system(cmd), 0);
}

static void test_issue(void **state)
{
	char serial[KEYCERT_SERIAL_HEX + 1];
	struct keycert_req req;
	TPMT_PUBLIC pub;
	EVP_PKEY *sw, *cakey = NULL, *got;
	X509 *ca = NULL, *x;
	const uint8_t *p;
	uint8_t *der = NULL;
	size_t len;
	char cn[80];

	(void)state;
	make_ca(path_in("ca.pem"), path_in("ca.key"), 1);
	make_ca(path_in("leaf.pem"), path_in("leaf.key"), 0);
	assert_int_equal(keycert_ca_load(path_in("leaf.pem"), path_in("leaf.key"), &ca, &cakey), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "not a CA"));
	assert_int_equal(keycert_ca_load(path_in("ca.pem"), path_in("leaf.key"), &ca, &cakey), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "is not the key of"));
	assert_int_equal(keycert_ca_load(path_in("ca.pem"), path_in("ca.key"), &ca, &cakey), 0);
	tls_key(&pub, &sw);
	req = (struct keycert_req){ .key = &pub, .cn = "node1.example", .days = 30 };
	assert_int_equal(keycert_issue(ca, cakey, &req, &der, &len, serial), 0);
	assert_int_equal(strlen(serial), KEYCERT_SERIAL_HEX);
	p = der;
	assert_non_null(x = d2i_X509(NULL, &p, (long)len));
	/* The software key's own public key, signed by the CA, the name. */
	assert_non_null(got = X509_get0_pubkey(x));
	assert_int_equal(EVP_PKEY_eq(got, sw), 1);
	assert_int_equal(X509_verify(x, cakey), 1);
	assert_int_equal(X509_check_host(x, "node1.example", 0, 0, NULL), 1);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "node1.example");
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	X509_free(x);
	OPENSSL_free(der);
	der = NULL;
	/* Bounds. */
	req.days = 0;
	assert_int_equal(keycert_issue(ca, cakey, &req, &der, &len, serial), AERR_INVALID_ARG);
	req.days = 3651;
	assert_int_equal(keycert_issue(ca, cakey, &req, &der, &len, serial), AERR_INVALID_ARG);
	req.days = 1;
	req.cn = "a b";
	assert_int_equal(keycert_issue(ca, cakey, &req, &der, &len, serial), AERR_INVALID_ARG);
	/* Only DNS host names. */
	static const char *const bad[] = { "", "a b", "node_1", "1.2.3.4", "-a.b", "a..b", "a-.b", "a.", ".a",
					   "x@y", "a,b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req.cn = bad[i];
		assert_int_equal(keycert_issue(ca, cakey, &req, &der, &len, serial), AERR_INVALID_ARG);
		assert_null(der);
	}
	req.cn = "Node-1.example.org";
	assert_int_equal(keycert_issue(ca, cakey, &req, &der, &len, serial), 0);
	OPENSSL_free(der);
	der = NULL;
	EVP_PKEY_free(sw);
	EVP_PKEY_free(cakey);
	X509_free(ca);
}

static int setup(void **state)
{
	(void)state;
	crypto_process_init();
	fixture_tmpdir(dir, sizeof(dir), "test_keycert");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_issue),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
