/* The verifier's SQLite store: enrollment and updates, verdicts moving a node
 * between passing and failed in one transaction, secret deliveries, lookups by
 * EK-hash prefix or hostname, removal with history, durability across reopen,
 * and refusal of a database from a newer verifier or of a damaged file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void node_in(struct store_node_in *in, const char *hash, const char *host)
{
	static const uint8_t pub[] = { 0, 4, 1, 2, 3, 4 };

	memset(in, 0, sizeof(*in));
	in->ek_hash = hash;
	in->ek_alg = 1;
	in->ek_pub = pub;
	in->ek_pub_len = sizeof(pub);
	in->hostname = host;
}

static int count_nodes(const struct store_node *n, void *arg)
{
	(void)n;
	(*(int *)arg)++;
	return 0;
}

static const char *H1 = "aaaaaaaa11111111111111111111111111111111111111111111111111111111";
static const char *H2 = "aaaaaaaa22222222222222222222222222222222222222222222222222222222";

static void test_lifecycle(void **state)
{
	struct store *st = NULL;
	struct store_node_in in;
	struct store_attestation a;
	struct store_node n;
	int64_t id1, id2, again, att;
	uint64_t passes, fails;
	int nodes = 0;

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	node_in(&in, H1, "web1");
	assert_int_equal(store_node_upsert(st, &in, &id1), 0);
	node_in(&in, H2, "web2");
	assert_int_equal(store_node_upsert(st, &in, &id2), 0);
	assert_int_not_equal(id1, id2);
	/* The same EK again: the same node, the hostname updated. */
	node_in(&in, H1, "web1-renamed");
	assert_int_equal(store_node_upsert(st, &in, &again), 0);
	assert_int_equal(again, id1);

	memset(&a, 0, sizeof(a));
	a.node_id = id1;
	a.mode = "pull";
	a.pass = 1;
	a.step = "quote";
	a.reason = "";
	a.has_counts = 1;
	a.reset_count = 7;
	a.restart_count = 2;
	assert_int_equal(store_attestation_add(st, &a, &att), 0);
	assert_true(att > 0);
	assert_int_equal(store_secret_add(st, att, id1, "disk-key", 1), 0);
	a.node_id = id2;
	a.pass = 0;
	a.reason = "PCR value differs from policy: PCR 0 bank sha256";
	assert_int_equal(store_attestation_add(st, &a, NULL), 0);
	a.node_id = 0; /* an endorsement that failed: no node */
	a.reason = "EK certificate not trusted";
	assert_int_equal(store_attestation_add(st, &a, NULL), 0);

	assert_int_equal(store_count_verdicts(st, 1, &passes), 0);
	assert_int_equal(store_count_verdicts(st, 0, &fails), 0);
	assert_int_equal(passes, 1);
	assert_int_equal(fails, 2);

	assert_int_equal(store_node_get(st, "web1-renamed", &n), 0);
	assert_int_equal(n.id, id1);
	assert_int_equal(n.state, STORE_PASSING);
	assert_int_equal(n.reset_count, 7);
	assert_int_equal(n.attestations, 1);
	assert_int_equal(n.passes, 1);
	assert_true(n.last_seen_ms >= n.enrolled_ms);
	assert_int_equal(store_node_get(st, "aaaaaaaa22", &n), 0);
	assert_int_equal(n.state, STORE_FAILED);
	assert_non_null(strstr(n.reason, "PCR 0 bank sha256"));
	assert_int_equal(store_node_get(st, "AAAAAAAA22", &n), 0);
	/* Ambiguous, too short, unknown. */
	assert_int_equal(store_node_get(st, "aaaaaaaa", &n), AERR_INVALID_ARG);
	assert_int_equal(store_node_get(st, "aaaa", &n), AERR_INVALID_ARG);
	assert_int_equal(store_node_get(st, "bbbbbbbb", &n), AERR_NOT_FOUND);
	store_close(st);

	/* Everything survives a reopen; removal takes the history with it. */
	st = NULL;
	assert_int_equal(store_open(dir, &st), 0);
	assert_int_equal(store_node_list(st, count_nodes, &nodes), 0);
	assert_int_equal(nodes, 2);
	assert_int_equal(store_node_remove(st, "web1-renamed"), 0);
	assert_int_equal(store_node_remove(st, "web1-renamed"), AERR_NOT_FOUND);
	assert_int_equal(store_count_verdicts(st, 1, &passes), 0);
	assert_int_equal(passes, 0);
	nodes = 0;
	assert_int_equal(store_node_list(st, count_nodes, &nodes), 0);
	assert_int_equal(nodes, 1);
	store_close(st);
}

static void test_refusals(void **state)
{
	struct store *st = NULL;
	sqlite3 *db;
	char path[128];
	FILE *f;

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	store_close(st);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	/* A database from a newer verifier is not touched. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = (void *)1;
	assert_int_equal(store_open(dir, &st), AERR_CONFIG);
	assert_null(st);
	assert_non_null(strstr(err_detail(), "newer than this verifier"));
	/* Not a database at all. */
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s-wal", dir, STORE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	assert_non_null(f = fopen(path, "w"));
	fputs("this is not an SQLite database, it only has the name of one....", f);
	fclose(f);
	assert_int_equal(store_open(dir, &st), AERR_IO);
	assert_non_null(strstr(err_detail(), STORE_FILE));
	/* A state directory that cannot be made. */
	assert_int_equal(store_open("/proc/no/such/dir", &st), AERR_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
