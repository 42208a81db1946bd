/* record_lookup fails closed (issue #12, item 11): with a real SQLite store
 * in a temporary directory whose nodes table another connection has taken
 * away, the lookup after an endorsement returns AERR_STORE and leaves the
 * session as it was (ENDORSED, no prior, no verdict) and the store unwritten
 * (no node, no rejected attempt); once the table is back the same session
 * looks its node up and goes on. */
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

#include "fixtures.h"
#include "pcrsel.h"
#include "record.h"
#include "session.h"
#include "store.h"
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

/* A session in state ENDORSED for a software RSA key in the TCG EK template. */
static struct session *endorsed_session(char hash[65])
{
	struct session_params p;
	struct session *s = NULL;
	TPMT_PUBLIC ek;
	EVP_PKEY *k = EVP_RSA_gen(2048);

	assert_non_null(k);
	tpmpub_ek_template(TPM2_ALG_RSA, &ek);
	assert_int_equal(tpmpub_set_unique(&ek, k), 0);
	EVP_PKEY_free(k);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_store_unreadable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
