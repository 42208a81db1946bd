/* imasig: IMA file signatures made at test time by tests/tools/imasig_make.sh
 * (evmctl from ima-evm-utils when installed, an implementation independent
 * of ours; openssl otherwise, and always for v3 and fs-verity) over RSA-2048
 * and P-256 keys: each good signature verifies; a tampered digest, every
 * flipped bit of a signature, an unknown key id, a missing signature, a hash
 * algorithm other than the measured one and malformed headers are each
 * refused with their own code and a detail naming the file. Keys load from
 * DER and PEM certificates and PEM public keys; private keys and junk do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "array.h"
#include "imasig.h"
#include "imasig_fixture.h"

struct sigcase {
	const char *name;      /* file-NAME, file-NAME.sig */
	TPM2_ALG_ID alg;
	const char *tmpl;
	const char *prefix;
};

static const struct sigcase good[] = {
	{ "rsa", TPM2_ALG_SHA256, "ima-sig", "sha256:" },
	{ "ec", TPM2_ALG_SHA256, "ima-sig", "sha256:" },
	{ "rsa384", TPM2_ALG_SHA384, "ima-sig", "sha384:" },
	{ "v3", TPM2_ALG_SHA256, "ima-sigv2", "ima:sha256:" },
	{ "verity", TPM2_ALG_SHA256, "ima-sigv2", "verity:sha256:" },
};

#define NGOOD ARRAY_LEN(good)

struct material {
	char dir[64];
	int made;
	struct imasig_keys *keys;   /* rsa.der, ec.pem */
};

static struct material evm, ossl;

static int material_make(struct material *m, const char *env)
{
	char file[128];
	int rc = imasig_fx_make(m->dir, env);

	if (rc != 0)
		return rc;
	m->made = 1;
	if (imasig_keys_new(&m->keys) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s/rsa.der", m->dir);
	if (imasig_keys_add_file(m->keys, file) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s/ec.pem", m->dir);
	return imasig_keys_add_file(m->keys, file) != 0 ? -1 : 0;
}

static int setup(void **state)
{
	(void)state;
	/* evmctl's signatures when it is installed, openssl's in any case. */
	if (material_make(&evm, "") != 0 || material_make(&ossl, "IMASIG_SIGNER=openssl") != 0) {
		fprintf(stderr, "imasig_make.sh failed: %s\n", err_detail());
		return -1;
	}
	return 0;
}

static void material_free(struct material *m)
{
	imasig_keys_free(m->keys);
	if (m->made)
		imasig_fx_remove(m->dir);
}

static int teardown(void **state)
{
	(void)state;
	material_free(&evm);
	material_free(&ossl);
	return 0;
}

/* A one-entry list for case c of m, the signature taken from sig_name
 * (NULL: none) and altered by alter(sig, len) when given. */
struct one {
	uint8_t buf[4096];
	struct ima_list *list;
	uint8_t *sig;
	size_t sig_len;
};

static void one_make(struct one *o, const struct material *m, const struct sigcase *c, const char *sig_name,
		     int flip_digest)
{
	uint8_t digest[CRYPTO_MAX_DIGEST];
	char file[64];
	size_t n;

	memset(o, 0, sizeof(*o));
	assert_int_equal(imasig_fx_digest(m->dir, c->name, c->alg, digest), 0);
	if (flip_digest)
		digest[3] ^= 0x10;
	if (sig_name) {
		snprintf(file, sizeof(file), "file-%s.sig", sig_name);
		assert_non_null(o->sig = imasig_fx_read(m->dir, file, &o->sig_len));
	}
	n = imasig_fx_entry(o->buf, c->tmpl, c->prefix, digest, crypto_digest_size(c->alg), "/usr/bin/test", o->sig,
			    o->sig_len);
	assert_true(n > 0);
	assert_int_equal(ima_parse(o->buf, n, 0, &o->list), 0);
	assert_int_equal(o->list->nentries, 1);
}

static void one_free(struct one *o)
{
	ima_list_free(o->list);
	free(o->sig);
}

static void test_good(void **state)
{
	const struct material *ms[] = { &evm, &ossl };

	(void)state;
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < NGOOD; i++) {
			struct one o;

			one_make(&o, ms[k], &good[i], good[i].name, 0);
			if (imasig_verify(ms[k]->keys, &o.list->entries[0]) != 0)
				fail_msg("%s (%s): %s", good[i].name, k ? "openssl" : "default signer", err_detail());
			one_free(&o);
		}
}

static void test_tampered_digest(void **state)
{
	(void)state;
	for (size_t i = 0; i < NGOOD; i++) {
		struct one o;

		one_make(&o, &evm, &good[i], good[i].name, 1);
		assert_int_equal(imasig_verify(evm.keys, &o.list->entries[0]), AERR_SIGNATURE);
		assert_non_null(strstr(err_detail(), "/usr/bin/test"));
		assert_non_null(strstr(err_detail(), "does not verify"));
		one_free(&o);
	}
}

/* Every bit of the signature bytes and of the header's key id, hash algorithm
 * and version: no variant verifies. */
static void test_flipped_bits(void **state)
{
	const size_t cases[] = { 0, 1, 3 }; /* rsa, ec, v3 */

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		const struct sigcase *c = &good[cases[k]];
		struct one o;
		uint8_t *sig;

		one_make(&o, &evm, c, c->name, 0);
		sig = (uint8_t *)o.list->entries[0].sig;
		for (size_t byte = 1; byte < o.list->entries[0].sig_len; byte++) {
			if (byte == 7 || byte == 8)
				continue; /* the size: a parse error, below */
			for (int bit = 0; bit < 8; bit++) {
				sig[byte] ^= (uint8_t)(1u << bit);
				if (imasig_verify(evm.keys, &o.list->entries[0]) == 0)
					fail_msg("%s: flipping bit %d of byte %zu still verifies", c->name, bit, byte);
				sig[byte] ^= (uint8_t)(1u << bit);
			}
		}
		assert_int_equal(imasig_verify(evm.keys, &o.list->entries[0]), 0);
		one_free(&o);
	}
}

static void test_unknown_key_and_missing(void **state)
{
	struct one o;

	(void)state;
	one_make(&o, &evm, &good[0], "other", 0);
	assert_int_equal(imasig_verify(evm.keys, &o.list->entries[0]), AERR_NOT_FOUND);
	assert_non_null(strstr(err_detail(), "not a trusted key"));
	assert_non_null(strstr(err_detail(), "/usr/bin/test"));
	one_free(&o);

	/* Another run's rsa key has another id: unknown too. */
	one_make(&o, &evm, &good[0], "rsa", 0);
	assert_int_equal(imasig_verify(ossl.keys, &o.list->entries[0]), AERR_NOT_FOUND);
	one_free(&o);

	one_make(&o, &evm, &good[0], NULL, 0);
	assert_int_equal(imasig_verify(evm.keys, &o.list->entries[0]), AERR_NOT_FOUND);
	assert_non_null(strstr(err_detail(), "no IMA signature"));
	one_free(&o);
}

static void test_algorithm_mismatch(void **state)
{
	struct one o;

	(void)state;
	/* A SHA-384 signature on an entry whose measured digest is SHA-256. */
	one_make(&o, &evm, &good[0], "rsa384", 0);
	assert_int_equal(imasig_verify(evm.keys, &o.list->entries[0]), AERR_SIGNATURE);
	assert_non_null(strstr(err_detail(), "measured digest is sha256"));
	one_free(&o);
}

static void test_headers(void **state)
{
	struct one o;
	struct imasig_hdr h;
	uint8_t *sig;
	size_t len;

	(void)state;
	one_make(&o, &evm, &good[0], "rsa", 0);
	sig = (uint8_t *)o.list->entries[0].sig;
	len = o.list->entries[0].sig_len;
	assert_int_equal(imasig_parse(sig, len, &h), 0);
	assert_int_equal(h.type, 3);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.hash_algo, 4);
	assert_int_equal(h.sig_len, 256);
	assert_int_equal(h.keyid, imasig_keys_id(evm.keys, 0));
	assert_string_equal(imasig_hash_name(h.hash_algo), "sha256");
	assert_null(imasig_hash_name(1)); /* md5 */

	assert_int_equal(imasig_parse(sig, 8, &h), AERR_PARSE);
	assert_int_equal(imasig_parse(sig, len - 1, &h), AERR_PARSE);
	sig[8] ^= 1;
	assert_int_equal(imasig_parse(sig, len, &h), AERR_PARSE);
	sig[8] ^= 1;
	sig[1] = 1;
	assert_int_equal(imasig_parse(sig, len, &h), AERR_UNSUPPORTED);
	assert_int_equal(imasig_verify(evm.keys, &o.list->entries[0]), AERR_UNSUPPORTED);
	sig[1] = 2;
	sig[0] = 6; /* verity signatures are v3 only */
	assert_int_equal(imasig_parse(sig, len, &h), AERR_PARSE);
	sig[0] = 3;
	sig[2] = 1; /* md5 */
	assert_int_equal(imasig_verify(evm.keys, &o.list->entries[0]), AERR_UNSUPPORTED);
	sig[2] = 4;
	assert_int_equal(imasig_verify(evm.keys, &o.list->entries[0]), 0);
	one_free(&o);
}

static void test_keys(void **state)
{
	struct imasig_keys *k;
	char file[128];
	FILE *f;

	(void)state;
	assert_int_equal(imasig_keys_new(&k), 0);
	/* The EC public key as PEM has the id of its certificate. */
	snprintf(file, sizeof(file), "%s/ec-pub.pem", evm.dir);
	assert_int_equal(imasig_keys_add_file(k, file), 0);
	assert_int_equal(imasig_keys_count(k), 1);
	assert_int_equal(imasig_keys_id(k, 0), imasig_keys_id(evm.keys, 1));
	assert_int_equal(imasig_keys_id(k, 1), 0);
	{
		/* With no certificate (no subjectKeyIdentifier), the id computed
		 * from the key alone must match the one evmctl wrote. */
		struct one o;

		one_make(&o, &evm, &good[1], "ec", 0);
		assert_int_equal(imasig_verify(k, &o.list->entries[0]), 0);
		one_free(&o);
	}

	snprintf(file, sizeof(file), "%s/rsa.key", evm.dir);
	assert_int_equal(imasig_keys_add_file(k, file), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "private key"));
	snprintf(file, sizeof(file), "%s/file-rsa", evm.dir);
	assert_int_equal(imasig_keys_add_file(k, file), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "no certificate or public key"));
	snprintf(file, sizeof(file), "%s/absent.pem", evm.dir);
	assert_int_equal(imasig_keys_add_file(k, file), AERR_NOT_FOUND);
	/* An Ed25519 key is not an IMA signing key here. */
	snprintf(file, sizeof(file), "%s/ed.pem", evm.dir);
	assert_non_null(f = fopen(file, "w"));
	fputs("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
	      "-----END PUBLIC KEY-----\n",
	      f);
	fclose(f);
	assert_int_equal(imasig_keys_add_file(k, file), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "ED25519"));
	assert_int_equal(imasig_keys_count(k), 1);
	imasig_keys_free(k);
	imasig_keys_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_tampered_digest),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_unknown_key_and_missing),
		cmocka_unit_test(test_algorithm_mismatch),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
