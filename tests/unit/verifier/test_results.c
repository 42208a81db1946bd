/* results/: the EAR claims a verdict gives (vector, status, the failed
 * check), and the result keys: made at first use (0600), ES256 sign and
 * verify, the JWKS and keys read back from it, refusals (a tampered token,
 * another key's, a key that is not P-256, a key file others may read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "fixtures.h"
#include "results/ear.h"
#include "results/keys.h"

static char dir[256];

static struct ear_input base(void)
{
	struct ear_input in = { .ek_hash = "ab12", .name = "web1", .pass = 1, .policy = "config", .proven = 1,
				.ek_cert_required = 1, .ek_cert_checked = 1, .iat = 1000, .ttl = 600,
				.developer = "d", .build = "b", .reason = "", .step = "" };
	return in;
}

/* The submodule of in's claims, parsed (put the root with json_object_put). */
static struct json_object *submod(const struct ear_input *in, int *status, struct json_object **root)
{
	struct json_object *subs, *sm;
	char *json = NULL;

	assert_int_equal(ear_claims(in, &json, status), 0);
	assert_non_null(*root = json_tokener_parse(json));
	free(json);
	assert_true(json_object_object_get_ex(*root, "submods", &subs));
	assert_true(json_object_object_get_ex(subs, in->ek_hash, &sm));
	return sm;
}

static int claim(struct json_object *sm, const char *name)
{
	struct json_object *tv, *v;

	assert_true(json_object_object_get_ex(sm, "ear.trustworthiness-vector", &tv));
	return json_object_object_get_ex(tv, name, &v) ? json_object_get_int(v) : 0;
}

static void test_claims(void **state)
{
	struct json_object *root, *sm, *v;
	struct ear_input in = base();
	int status;

	(void)state;
	sm = submod(&in, &status, &root);
	assert_int_equal(status, 2);
	assert_int_equal(claim(sm, "instance-identity"), 2);
	assert_int_equal(claim(sm, "hardware"), 2);
	assert_int_equal(claim(sm, "configuration"), 2);
	assert_int_equal(claim(sm, "executables"), 0);
	assert_true(json_object_object_get_ex(root, "exp", &v));
	assert_int_equal(json_object_get_int64(v), 1600);
	json_object_put(root);

	/* Verified, judged by nothing: a warning, never affirming. */
	in.pass = 0;
	in.unjudged = 1;
	sm = submod(&in, &status, &root);
	assert_int_equal(status, 32);
	assert_int_equal(claim(sm, "configuration"), 36);
	json_object_put(root);

	/* The PCR values broke the policy; a quote that did not verify. */
	in.unjudged = 0;
	in.code = AERR_PCR_POLICY;
	in.step = "quote";
	sm = submod(&in, &status, &root);
	assert_int_equal(status, 96);
	assert_int_equal(claim(sm, "configuration"), 96);
	json_object_put(root);
	in.code = AERR_SIGNATURE;
	sm = submod(&in, &status, &root);
	assert_int_equal(claim(sm, "configuration"), 99);
	json_object_put(root);

	/* Logs: boot only, with IMA, a log that does not replay, one that
	 * breaks its policy. */
	in = base();
	in.event_log_checked = 1;
	sm = submod(&in, &status, &root);
	assert_int_equal(claim(sm, "executables"), 3);
	json_object_put(root);
	in.ima_checked = 1;
	sm = submod(&in, &status, &root);
	assert_int_equal(claim(sm, "executables"), 2);
	assert_int_equal(claim(sm, "file-system"), 2);
	json_object_put(root);
	in.pass = 0;
	in.code = AERR_LOG_POLICY;
	sm = submod(&in, &status, &root);
	assert_int_equal(status, 96);
	assert_int_equal(claim(sm, "executables"), 96);
	assert_int_equal(claim(sm, "file-system"), 96);
	json_object_put(root);
	in.code = AERR_EVENTLOG;
	in.ima_checked = 0;
	sm = submod(&in, &status, &root);
	assert_int_equal(claim(sm, "executables"), 99);
	json_object_put(root);

	/* No EK certificates required: no hardware claim at all. */
	in = base();
	in.ek_cert_required = 0;
	in.ek_cert_checked = 0;
	sm = submod(&in, &status, &root);
	assert_int_equal(claim(sm, "hardware"), 0);
	assert_int_equal(claim(sm, "storage-opaque"), 0);
	assert_int_equal(status, 2);
	json_object_put(root);
}

static char *path_in(const char *name)
{
	static char p[4][512];
	static int k;
	char *s = p[k++ % 4];

	snprintf(s, sizeof(p[0]), "%s/%s", dir, name);
	return s;
}

static void test_keys(void **state)
{
	struct result_keys *k = NULL, *again = NULL, *pub = NULL, *other = NULL;
	char *jws = NULL, *jwks = NULL, *payload = NULL, kid[RESULT_KID_LEN + 1];
	const char *key = path_in("result-key.pem");
	struct stat st;

	(void)state;
	/* Not there, not to be made: refused. */
	assert_int_not_equal(result_keys_load(key, 0, NULL, 0, &k), 0);
	assert_int_equal(result_keys_load(key, 1, NULL, 0, &k), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(strlen(result_keys_kid(k)), RESULT_KID_LEN);
	/* The same key the next time. */
	assert_int_equal(result_keys_load(key, 1, NULL, 0, &again), 0);
	assert_string_equal(result_keys_kid(again), result_keys_kid(k));
	assert_int_equal(result_sign(k, "{\"a\":1}", 7, &jws), 0);
	assert_int_equal(result_verify(again, jws, &payload, kid), 0);
	assert_string_equal(payload, "{\"a\":1}");
	assert_string_equal(kid, result_keys_kid(k));
	free(payload);
	/* From its JWKS, without the private key. */
	assert_int_equal(result_jwks(k, &jwks), 0);
	assert_int_equal(result_keys_from_jwks(jwks, &pub), 0);
	assert_int_equal(result_verify(pub, jws, &payload, kid), 0);
	free(payload);
	assert_int_equal(result_sign(pub, "{}", 2, &payload), AERR_STATE);
	/* A changed payload byte; another key. */
	jws[strchr(jws, '.') - jws + 2] ^= 1;
	assert_int_not_equal(result_verify(pub, jws, &payload, kid), 0);
	assert_null(payload);
	assert_int_equal(result_keys_load(path_in("other.pem"), 1, NULL, 0, &other), 0);
	free(jws);
	assert_int_equal(result_sign(other, "{\"a\":1}", 7, &jws), 0);
	assert_int_equal(result_verify(pub, jws, &payload, kid), AERR_NOT_FOUND);
	/* other, with k retired: k's kid is known, other signs. */
	result_keys_free(other);
	assert_int_equal(result_keys_load(path_in("other.pem"), 0, &key, 1, &other), 0);
	free(jwks);
	assert_int_equal(result_jwks(other, &jwks), 0);
	assert_non_null(strstr(jwks, result_keys_kid(k)));
	free(jws);
	free(jwks);
	result_keys_free(k);
	result_keys_free(again);
	result_keys_free(pub);
	result_keys_free(other);
}

static void test_bad_keys(void **state)
{
	struct result_keys *k = NULL;
	char cmd[1024];

	(void)state;
	snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out '%s' 2>/dev/null"
		 " && chmod 600 '%s'", path_in("rsa.pem"), path_in("rsa.pem"));
	assert_int_equal(system(cmd), 0);
	assert_int_equal(result_keys_load(path_in("rsa.pem"), 0, NULL, 0, &k), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "not an EC P-256 key"));
	snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' && "
		 "chmod 644 '%s'", path_in("open.pem"), path_in("open.pem"));
	assert_int_equal(system(cmd), 0);
	assert_int_equal(result_keys_load(path_in("open.pem"), 0, NULL, 0, &k), AERR_CONFIG);
	assert_null(k);
	assert_int_equal(result_keys_from_jwks("{\"keys\": [{\"kty\": \"RSA\"}]}", &k), AERR_PARSE);
	assert_int_equal(result_keys_from_jwks("[]", &k), AERR_PARSE);
}

static int setup(void **state)
{
	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "test_results");
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
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bad_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
