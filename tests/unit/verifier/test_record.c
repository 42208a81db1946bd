/* record_lookup fails closed (issue #12, item 11): with a real SQLite store
 * in a temporary directory whose nodes table another connection has taken
 * away, the lookup after an endorsement returns AERR_STORE and leaves the
 * session as it was (ENDORSED, no prior, no verdict) and the store unwritten
 * (no node, no rejected attempt); once the table is back the same session
 * looks its node up and goes on.
 * And in pull mode a node is attested at one target and a target answers
 * for one node (second review, P1/P2): the lookup refuses this TPM at
 * another target and another TPM at this node's target, writing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sqlite3.h>

#include "ektemplate.h"
#include "fixtures.h"
#include "pcrsel.h"
#include "record/record.h"
#include "session/session.h"
#include "store/store.h"
#include "tpmpub.h"

static char dir[64];
static char db_path[128];

static int setup(void **state)
{
	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "test_record");
	snprintf(db_path, sizeof(db_path), "%s/%s", dir, STORE_FILE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
	return 0;
}

/* sql through a second connection, as another process would. */
static void other_connection(const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t count(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* A session in state ENDORSED for a software RSA key in the TCG EK
 * template: the same key (the same TPM) each call. */
static struct session *endorsed_session(char hash[65])
{
	static TPMT_PUBLIC ek;
	struct session_params p;
	struct session *s = NULL;

	if (!ek.type) {
		EVP_PKEY *k = EVP_RSA_gen(2048);

		assert_non_null(k);
		ek_template(EK_L1_RSA2048, &ek);
		assert_int_equal(tpmpub_set_unique(&ek, k), 0);
		EVP_PKEY_free(k);
	}
	memset(&p, 0, sizeof(p));
	p.ek_alg = TPM2_ALG_RSA;
	p.ak_alg = TPM2_ALG_ECC;
	p.nonce_ttl_ms = 60000;
	assert_int_equal(pcrsel_parse("sha256:0-7", &p.pcrs), 0);
	assert_int_equal(session_new(&p, &s), 0);
	assert_int_equal(session_endorse_known(s, &ek), 0);
	assert_int_equal(session_ek_hash(s, hash), 0);
	return s;
}

static void test_lookup_store_unreadable(void **state)
{
	static const uint8_t pub[] = { 0, 4, 1, 2, 3, 4 };
	struct store *st = NULL;
	struct session *s;
	struct store_node_in in;
	struct record_ctx c;
	char hash[65];

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	s = endorsed_session(hash);
	/* The node is known and bound to this peer: a lookup that works finds it. */
	memset(&in, 0, sizeof(in));
	in.ek_hash = hash;
	in.ek_alg = TPM2_ALG_RSA;
	in.ek_pub = pub;
	in.ek_pub_len = sizeof(pub);
	in.identity = "attestor";
	assert_int_equal(store_node_proven(st, &in, 1, NULL), 0);

	other_connection("ALTER TABLE nodes RENAME TO nodes_away");
	c = (struct record_ctx){ .store = st, .mode = "push", .peer = "attestor", .host = "h" };
	assert_int_equal(record_lookup(&c, s), AERR_STORE);
	/* Untouched: not failed, no verdict, nothing learned of the node. */
	assert_int_equal(session_get_state(s), SESSION_ENDORSED);
	assert_int_equal(session_last_verdict(s)->code, 0);
	assert_false(session_proven(s));
	assert_int_equal(c.node_id, 0);
	/* Nothing written: no rejected attempt, the node as it was. */
	other_connection("ALTER TABLE nodes_away RENAME TO nodes");
	assert_int_equal(count("SELECT count(*) FROM rejected"), 0);
	assert_int_equal(count("SELECT count(*) FROM nodes"), 1);
	assert_int_equal(count("SELECT count(*) FROM attestations"), 0);

	/* The table is back: the same session looks its node up and goes on. */
	assert_int_equal(record_lookup(&c, s), 0);
	assert_true(c.node_id > 0);
	assert_int_equal(session_get_state(s), SESSION_ENDORSED);
	session_free(s);
	store_close(st);
}

/* Enroll hash at target (an operator's enroll --target), bound to attestor. */
static void enroll_at(struct store *st, const char *hash, const char *target)
{
	struct store_assign as = { .identity = "attestor", .target = target };
	int64_t id;

	assert_int_equal(store_node_enroll(st, hash, TPM2_ALG_RSA, NULL, 0, &as, &id), 0);
}

static void test_lookup_target(void **state)
{
	static const char *const other = "bbbbbbbb22222222222222222222222222222222222222222222222222222222";
	struct store *st = NULL;
	struct session *s;
	struct record_ctx c;
	char hash[65];

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	s = endorsed_session(hash);
	enroll_at(st, hash, "10.0.0.1:4433");
	/* This TPM's node at another target: someone relays it there. */
	c = (struct record_ctx){ .store = st, .mode = "pull", .peer = "attestor", .host = "h", .target = "10.0.0.9:4433" };
	assert_int_equal(record_lookup(&c, s), AERR_IDENTITY);
	assert_int_equal(session_get_state(s), SESSION_FAILED);
	assert_non_null(strstr(session_last_verdict(s)->reason, "attested at another target"));
	session_free(s);
	/* At its own target it goes on. */
	s = endorsed_session(hash);
	c.target = "10.0.0.1:4433";
	assert_int_equal(record_lookup(&c, s), 0);
	assert_true(c.node_id > 0);
	assert_int_equal(session_get_state(s), SESSION_ENDORSED);
	session_free(s);
	/* Another TPM at this target: a node of no target yet, or a new one. */
	s = endorsed_session(hash);
	other_connection("UPDATE nodes SET target = NULL");
	enroll_at(st, other, "10.0.0.1:4433");
	c.node_id = 0;
	assert_int_equal(record_lookup(&c, s), AERR_IDENTITY);
	assert_non_null(strstr(session_last_verdict(s)->reason, "answers for another node"));
	session_free(s);
	other_connection("DELETE FROM nodes");
	s = endorsed_session(hash);
	enroll_at(st, other, "10.0.0.1:4433");
	assert_int_equal(record_lookup(&c, s), AERR_IDENTITY);
	session_free(s);
	/* Nothing written by the lookups: one node, no verdict. */
	assert_int_equal(count("SELECT count(*) FROM nodes"), 1);
	assert_int_equal(count("SELECT count(*) FROM attestations"), 0);
	/* Push mode has no target: the same TPM is looked up anywhere. */
	s = endorsed_session(hash);
	c = (struct record_ctx){ .store = st, .mode = "push", .peer = "attestor", .host = "h" };
	assert_int_equal(record_lookup(&c, s), 0);
	session_free(s);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_store_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_target, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
