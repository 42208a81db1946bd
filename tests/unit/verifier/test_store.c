/* The verifier's SQLite store: lookups that write nothing, enrollment and
 * updates only once proven, the binding to a TLS identity, an operator's
 * names and groups, verdicts moving a node between passing, verified and
 * failed in one transaction, secret deliveries, rejected attempts (bounded),
 * lookups by EK-hash prefix, name or hostname, removal with history,
 * durability across reopen, migrations, and refusal of a database from a
 * newer verifier or of a damaged file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixtures.h"
#include "store/store.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "test_store");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
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
	in->identity = "attestor";
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
	struct store_change ch;
	struct store_node n;
	struct store_prior pr;
	int64_t id1, id2, att;
	uint64_t passes, fails;
	int nodes = 0;

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	/* A lookup writes nothing, known or not. */
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_false(pr.existed);
	assert_int_equal(store_node_list(st, count_nodes, &nodes), 0);
	assert_int_equal(nodes, 0);
	node_in(&in, H1, "web1");
	assert_int_equal(store_node_proven(st, &in, 1, &pr), 0);
	assert_false(pr.existed);
	id1 = pr.id;
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_true(pr.existed);
	assert_int_equal(pr.id, id1);
	assert_int_equal(pr.state, STORE_ATTESTING);
	assert_string_equal(pr.identity, "attestor");
	node_in(&in, H2, "web2");
	/* Explicit enrollment: an unknown node is refused, nothing written. */
	assert_int_equal(store_node_proven(st, &in, 0, &pr), AERR_NOT_FOUND);
	assert_int_equal(store_node_get(st, "web2", STORE_KEY_ANY, &n), AERR_NOT_FOUND);
	assert_int_equal(store_node_proven(st, &in, 1, &pr), 0);
	id2 = pr.id;
	assert_int_not_equal(id1, id2);
	/* Another TLS identity proving the same EK: refused, nothing written. */
	node_in(&in, H1, "evil");
	in.identity = "attestor2";
	assert_int_equal(store_node_proven(st, &in, 1, &pr), AERR_STATE);
	assert_int_equal(store_node_get(st, "evil", STORE_KEY_ANY, &n), AERR_NOT_FOUND);
	/* The same EK again: the same node, the hostname and AK updated. */
	node_in(&in, H1, "web1-renamed");
	in.ak_pub = (const uint8_t *)"pub";
	in.ak_pub_len = 3;
	in.ak_name = (const uint8_t *)"\x00\x0bname";
	in.ak_name_len = 6;
	assert_int_equal(store_node_proven(st, &in, 0, &pr), 0);
	assert_true(pr.existed);
	assert_int_equal(pr.id, id1);
	assert_false(pr.has_counts);
	assert_int_equal(pr.ak_name_len, 0);

	memset(&a, 0, sizeof(a));
	a.node_id = id1;
	a.mode = "pull";
	a.peer = "attestor";
	a.hostname = "web1-renamed";
	a.pass = 1;
	a.step = "quote";
	a.reason = "";
	a.has_counts = 1;
	a.reset_count = 7;
	a.restart_count = 2;
	a.clock = 123456;
	assert_int_equal(store_attestation_add(st, &a, &att, &ch), 0);
	assert_true(att > 0);
	assert_true(ch.changed);
	assert_int_equal(ch.from, STORE_ATTESTING);
	assert_int_equal(ch.to, STORE_PASSING);
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_false(ch.changed);
	/* What the next session of this node starts from. */
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_true(pr.has_counts);
	assert_int_equal(pr.reset_count, 7);
	assert_int_equal(pr.restart_count, 2);
	assert_int_equal(pr.clock, 123456);
	assert_int_equal(pr.state, STORE_PASSING);
	assert_int_equal(pr.ak_name_len, 6);
	assert_memory_equal(pr.ak_name, "\x00\x0bname", 6);
	assert_int_equal(store_secret_add(st, att, id1, "disk-key", 1), 0);
	a.node_id = id2;
	a.hostname = NULL;
	a.pass = 0;
	a.reason = "PCR value differs from policy: PCR 0 bank sha256";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(ch.from, STORE_ATTESTING);
	assert_int_equal(ch.to, STORE_FAILED);
	/* Verified without a reference: its own state, not a pass. */
	a.unjudged = 1;
	a.reason = "verified, unjudged: no reference";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(ch.from, STORE_FAILED);
	assert_int_equal(ch.to, STORE_VERIFIED);

	assert_int_equal(store_count_verdicts(st, 1, &passes), 0);
	assert_int_equal(store_count_verdicts(st, 0, &fails), 0);
	assert_int_equal(passes, 2);
	assert_int_equal(fails, 2);

	assert_int_equal(store_node_get(st, "web1-renamed", STORE_KEY_ANY, &n), 0);
	assert_int_equal(n.id, id1);
	assert_int_equal(n.state, STORE_PASSING);
	assert_int_equal(n.reset_count, 7);
	assert_int_equal(n.attestations, 2);
	assert_int_equal(n.passes, 2);
	assert_true(n.has_ak);
	assert_string_equal(n.identity, "attestor");
	assert_true(n.last_seen_ms >= n.enrolled_ms);
	assert_int_equal(store_node_get(st, "aaaaaaaa22", STORE_KEY_ANY, &n), 0);
	assert_int_equal(n.state, STORE_VERIFIED);
	assert_string_equal(n.hostname, "web2");
	assert_int_equal(store_node_get(st, "AAAAAAAA22", STORE_KEY_ANY, &n), 0);
	/* Ambiguous, too short, unknown. */
	assert_int_equal(store_node_get(st, "aaaaaaaa", STORE_KEY_ANY, &n), AERR_INVALID_ARG);
	assert_int_equal(store_node_get(st, "aaaa", STORE_KEY_ANY, &n), AERR_INVALID_ARG);
	assert_int_equal(store_node_get(st, "bbbbbbbb", STORE_KEY_ANY, &n), AERR_NOT_FOUND);
	store_close(st);

	/* Everything survives a reopen; removal takes the history with it. */
	st = NULL;
	nodes = 0;
	assert_int_equal(store_open(dir, &st), 0);
	assert_int_equal(store_node_list(st, count_nodes, &nodes), 0);
	assert_int_equal(nodes, 2);
	/* What changes a node never takes the node's own hostname claim as its name. */
	assert_int_equal(store_node_get(st, "web1-renamed", STORE_KEY_OPERATOR, &n), AERR_NOT_FOUND);
	assert_int_equal(store_node_remove(st, "web1-renamed"), AERR_NOT_FOUND);
	assert_int_equal(store_node_remove(st, "aaaaaaaa11"), 0);
	assert_int_equal(store_node_remove(st, "aaaaaaaa11"), AERR_NOT_FOUND);
	assert_int_equal(store_count_verdicts(st, 1, &passes), 0);
	assert_int_equal(passes, 0);
	nodes = 0;
	assert_int_equal(store_node_list(st, count_nodes, &nodes), 0);
	assert_int_equal(nodes, 1);
	store_close(st);
}

/* An operator's assignments: name, groups, the identity a node is bound to. */
static void test_assign(void **state)
{
	static const char *const groups[] = { "web", "eu" };
	struct store *st = NULL;
	struct store_assign as;
	struct store_node_in in;
	struct store_prior pr;
	struct store_node n;
	int64_t id;

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	memset(&as, 0, sizeof(as));
	as.name = "db1";
	as.identity = "db1.example";
	as.set_groups = 1;
	as.ngroups = 2;
	as.groups = groups;
	assert_int_equal(store_node_enroll(st, H1, 0, NULL, 0, &as, &id), 0);
	assert_int_equal(store_node_enroll(st, H1, 0, NULL, 0, &as, &id), AERR_INVALID_ARG);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_int_equal(pr.state, STORE_ENROLLED);
	assert_string_equal(pr.name, "db1");
	assert_string_equal(pr.identity, "db1.example");
	assert_int_equal(pr.ngroups, 2);
	assert_string_equal(pr.groups[0], "eu");
	assert_string_equal(pr.groups[1], "web");
	assert_int_equal(store_node_get(st, "db1", STORE_KEY_ANY, &n), 0);
	assert_string_equal(n.groups, "eu,web");
	/* The identity an operator enrolled is the one that may prove it. */
	node_in(&in, H1, "db1");
	assert_int_equal(store_node_proven(st, &in, 0, &pr), AERR_STATE);
	in.identity = "db1.example";
	assert_int_equal(store_node_proven(st, &in, 0, &pr), 0);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_int_equal(pr.state, STORE_ATTESTING);
	/* A name is one node's. */
	memset(&as, 0, sizeof(as));
	as.name = "db1";
	assert_int_equal(store_node_enroll(st, H2, 0, NULL, 0, &as, &id), AERR_INVALID_ARG);
	assert_non_null(strstr(err_detail(), "another node's"));
	assert_int_equal(store_node_lookup(st, H2, &pr), 0);
	assert_false(pr.existed);
	/* Re-bind, rename, clear the groups. */
	memset(&as, 0, sizeof(as));
	as.identity = "attestor";
	as.name = "db-one";
	as.set_groups = 1;
	assert_int_equal(store_node_assign(st, "db1", &as), 0);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_string_equal(pr.identity, "attestor");
	assert_string_equal(pr.name, "db-one");
	assert_int_equal(pr.ngroups, 0);
	/* Unbind: the next proof binds. */
	memset(&as, 0, sizeof(as));
	as.identity = "";
	assert_int_equal(store_node_assign(st, "db-one", &as), 0);
	in.identity = "attestor2";
	assert_int_equal(store_node_proven(st, &in, 0, &pr), 0);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_string_equal(pr.identity, "attestor2");
	assert_int_equal(store_node_assign(st, "nobody", &as), AERR_NOT_FOUND);
	/* A claimed hostname never names the node an operator assigns to. */
	assert_int_equal(store_node_assign(st, "db1", &as), AERR_NOT_FOUND);
	assert_int_equal(store_node_get(st, "db1", STORE_KEY_ANY, &n), 0);
	store_close(st);
}

/* A pull target answers for one node: an operator binds a node to one
 * (enroll --target), moving it there unbinds any other; "" unbinds; a
 * target without a port is refused, the node unchanged; a verdict binds an
 * unbound node to a target no node has, and never moves a bound one. */
static void test_assign_target(void **state)
{
	struct store *st = NULL;
	struct store_attestation a;
	struct store_change ch;
	struct store_assign as;
	struct store_prior pr;
	struct store_node n;
	uint64_t before, after;
	int64_t id;

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	memset(&as, 0, sizeof(as));
	as.name = "a";
	as.target = "10.0.0.1:4433";
	assert_int_equal(store_node_enroll(st, H1, 0, NULL, 0, &as, &id), 0);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_string_equal(pr.target, "10.0.0.1:4433");
	assert_int_equal(store_node_at_target(st, "10.0.0.1:4433", &n), 0);
	assert_string_equal(n.ek_hash, H1);
	/* Another node moved to that target takes it. */
	as.name = "b";
	assert_int_equal(store_node_enroll(st, H2, 0, NULL, 0, &as, &id), 0);
	assert_int_equal(store_node_at_target(st, "10.0.0.1:4433", &n), 0);
	assert_string_equal(n.ek_hash, H2);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_string_equal(pr.target, "");
	/* Bad targets: refused, nothing changed. */
	memset(&as, 0, sizeof(as));
	as.target = "nocolon";
	assert_int_equal(store_node_assign(st, "b", &as), AERR_INVALID_ARG);
	assert_non_null(strstr(err_detail(), "HOST:PORT"));
	{
		char longer[STORE_TARGET_MAX + 8];

		memset(longer, 'h', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = 0;
		longer[1] = ':';
		as.target = longer;
		assert_int_equal(store_node_assign(st, "b", &as), AERR_INVALID_ARG);
	}
	assert_int_equal(store_node_at_target(st, "10.0.0.1:4433", &n), 0);
	assert_string_equal(n.ek_hash, H2);
	/* A verdict never moves a bound node (only an operator does), and a
	 * round at another target (one under way when the node was moved, or
	 * won by its own target first) gives it no verdict at all. */
	memset(&a, 0, sizeof(a));
	a.node_id = id;
	a.mode = "pull";
	a.peer = "attestor";
	a.pass = 1;
	a.step = "quote";
	a.reason = "";
	a.target = "10.0.0.2:4433";
	a.binds_target = 1;
	assert_int_equal(store_count_verdicts(st, 1, &before), 0);
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), AERR_IDENTITY);
	assert_non_null(strstr(err_detail(), "bound to another target while the round at 10.0.0.2:4433"));
	assert_int_equal(store_count_verdicts(st, 1, &after), 0);
	assert_int_equal(after, before);
	assert_int_equal(store_node_get(st, "b", STORE_KEY_OPERATOR, &n), 0);
	assert_int_equal(n.state, STORE_ENROLLED);
	assert_int_equal(store_node_at_target(st, "10.0.0.1:4433", &n), 0);
	assert_string_equal(n.ek_hash, H2);
	assert_int_equal(store_node_at_target(st, "10.0.0.2:4433", &n), AERR_NOT_FOUND);
	/* At its own target, a verdict. */
	a.target = "10.0.0.1:4433";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(ch.to, STORE_PASSING);
	/* An unbound node takes no target another node has (a round under way
	 * when an operator moved that node there): it stays unbound. */
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	a.node_id = pr.id;
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(store_node_at_target(st, "10.0.0.1:4433", &n), 0);
	assert_string_equal(n.ek_hash, H2);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_string_equal(pr.target, "");
	/* Nor one that does not bind (a check at an address `targets` does
	 * not list). */
	a.target = "10.0.0.3:4433";
	a.binds_target = 0;
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_string_equal(pr.target, "");
	assert_int_equal(store_node_at_target(st, "10.0.0.3:4433", &n), AERR_NOT_FOUND);
	a.node_id = id;
	a.target = "10.0.0.2:4433";
	a.binds_target = 1;
	/* Unbound: the target answers for nobody until the next proof, whose
	 * verdict binds it. */
	as.target = "";
	assert_int_equal(store_node_assign(st, "b", &as), 0);
	assert_int_equal(store_node_at_target(st, "10.0.0.1:4433", &n), AERR_NOT_FOUND);
	assert_int_equal(store_node_get(st, "b", STORE_KEY_OPERATOR, &n), 0);
	assert_string_equal(n.target, "");
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(store_node_at_target(st, "10.0.0.2:4433", &n), 0);
	assert_string_equal(n.ek_hash, H2);
	store_close(st);
}

struct rejected_seen {
	int rows;
	struct store_rejected first;
};

static int count_rejected(const struct store_rejected *r, void *arg)
{
	struct rejected_seen *seen = arg;

	if (seen->rows++ == 0)
		seen->first = *r;
	return 0;
}

/* Rejected attempts: one row per identity, counted, bounded. */
static void test_rejected(void **state)
{
	struct store *st = NULL;
	struct rejected_seen seen;
	uint64_t n = 0;
	char ident[32];

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_rejected_add(st, "push", "attestor2", "ak", "AK rejected", H1, &n), 0);
	assert_int_equal(n, 5);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_rejected_list(st, count_rejected, &seen), 0);
	assert_int_equal(seen.rows, 1);
	assert_int_equal(seen.first.count, 5);
	assert_string_equal(seen.first.identity, "attestor2");
	assert_string_equal(seen.first.ek_hash, H1);
	assert_true(seen.first.last_ms >= seen.first.first_ms);
	for (int i = 0; i < STORE_REJECTED_MAX + 10; i++) {
		snprintf(ident, sizeof(ident), "id%d", i);
		assert_int_equal(store_rejected_add(st, "pull", ident, "endorsement", "x", NULL, &n), 0);
		assert_int_equal(n, 1);
	}
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_rejected_list(st, count_rejected, &seen), 0);
	assert_int_equal(seen.rows, STORE_REJECTED_MAX);
	/* The most recent first; the oldest went. */
	snprintf(ident, sizeof(ident), "id%d", STORE_REJECTED_MAX + 9);
	assert_string_equal(seen.first.identity, ident);
	/* An operator's --clear forgets them all. */
	assert_int_equal(store_rejected_clear(st, &n), 0);
	assert_int_equal(n, STORE_REJECTED_MAX);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_rejected_list(st, count_rejected, &seen), 0);
	assert_int_equal(seen.rows, 0);
	store_close(st);
}

/* What `verifier status NODE` reads: the last pass and failure, and the
 * quoted values, which a verdict without them (NULL) or a missed window
 * (no contact) leaves as they were. */
static void test_history(void **state)
{
	struct store *st = NULL;
	struct store_node_in in;
	struct store_attestation a;
	struct store_change ch;
	struct store_node_history *h = malloc(sizeof(*h));
	struct store_prior pr;

	(void)state;
	assert_non_null(h);
	assert_int_equal(store_open(dir, &st), 0);
	node_in(&in, H1, "web1");
	assert_int_equal(store_node_proven(st, &in, 1, &pr), 0);
	assert_int_equal(store_node_history(st, H1, h), 0);
	assert_int_equal(h->last_pass_ms, 0);
	assert_int_equal(h->last_fail_ms, 0);
	assert_int_equal(h->quoted_at_ms, 0);
	assert_string_equal(h->quoted_pcrs, "");
	assert_int_equal(store_node_history(st, H2, h), AERR_NOT_FOUND);

	memset(&a, 0, sizeof(a));
	a.node_id = pr.id;
	a.mode = "push";
	a.peer = "attestor";
	a.pass = 1;
	a.step = "quote";
	a.reason = "";
	a.quoted_pcrs = "sha256.0 = 00\n";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(store_node_history(st, H1, h), 0);
	assert_true(h->last_pass_ms > 0);
	assert_int_equal(h->last_fail_ms, 0);
	assert_true(h->quoted_at_ms >= h->last_pass_ms);
	assert_string_equal(h->quoted_pcrs, "sha256.0 = 00\n");
	/* A failure with other values, then one without any (endorsement). */
	a.pass = 0;
	a.reason = "PCR value differs from policy";
	a.quoted_pcrs = "sha256.0 = 11\n";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	a.quoted_pcrs = NULL;
	a.step = "endorsement";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	/* A missed window names values it never saw: they are not taken. */
	a.no_contact = 1;
	a.quoted_pcrs = "sha256.0 = 22\n";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(store_node_history(st, H1, h), 0);
	assert_true(h->last_fail_ms >= h->last_pass_ms);
	assert_string_equal(h->quoted_pcrs, "sha256.0 = 11\n");
	store_close(st);
	free(h);
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

static int collect(const struct store_node *n, void *arg)
{
	strcpy(arg, n->ek_hash);
	return 0;
}

/* Operator enrollment, then the node's first attestation fills in its EK;
 * the re-attestation window finds passing nodes not seen since the cutoff,
 * and a missed window keeps the last-seen time. */
static void test_enroll_and_window(void **state)
{
	struct store *st = NULL;
	struct store_node_in in;
	struct store_assign as = { .name = "db1" };
	struct store_prior pr;
	struct store_attestation a;
	struct store_change ch;
	struct store_node n;
	char found[65] = "";
	int64_t id, seen;

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	assert_int_equal(store_node_enroll(st, H1, 0, NULL, 0, &as, &id), 0);
	assert_int_equal(store_node_get(st, "db1", STORE_KEY_ANY, &n), 0);
	assert_int_equal(n.state, STORE_ENROLLED);
	node_in(&in, H1, "db1-claimed");
	assert_int_equal(store_node_proven(st, &in, 0, &pr), 0);
	assert_true(pr.existed);
	assert_int_equal(pr.state, STORE_ENROLLED);
	assert_int_equal(store_node_get(st, "db1", STORE_KEY_ANY, &n), 0);
	assert_int_equal(n.ek_alg, 1);
	assert_string_equal(n.hostname, "db1-claimed");

	memset(&a, 0, sizeof(a));
	a.node_id = pr.id;
	a.mode = "push";
	a.pass = 1;
	a.step = "quote";
	a.reason = "";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(ch.from, STORE_ATTESTING);
	assert_int_equal(store_node_get(st, "db1", STORE_KEY_ANY, &n), 0);
	seen = n.last_seen_ms;
	assert_int_equal(store_nodes_overdue(st, seen, collect, found), 0);
	assert_string_equal(found, "");
	assert_int_equal(store_nodes_overdue(st, seen + 1, collect, found), 0);
	assert_string_equal(found, H1);

	a.pass = 0;
	a.reason = "no passing attestation within reattest_window";
	a.no_contact = 1;
	usleep(2000);
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(ch.to, STORE_FAILED);
	assert_int_equal(store_node_get(st, "db1", STORE_KEY_ANY, &n), 0);
	assert_int_equal(n.last_seen_ms, seen);
	/* Failed nodes are not overdue again. */
	found[0] = '\0';
	assert_int_equal(store_nodes_overdue(st, seen + 100000, collect, found), 0);
	assert_string_equal(found, "");
	store_close(st);
}

/* A version-1 database (as the previous verifier left it) is migrated: its
 * AKs, recorded before activation then, are forgotten. */
static void test_migration(void **state)
{
	struct store *st = NULL;
	struct store_node_in in;
	struct store_prior pr;
	struct store_node n;
	sqlite3 *db;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE nodes (id INTEGER PRIMARY KEY, ek_hash TEXT NOT NULL UNIQUE,"
				      " ek_alg INTEGER NOT NULL, ek_pub BLOB NOT NULL, ek_cert BLOB, hostname TEXT,"
				      " ak_pub BLOB, ak_name BLOB, enrolled_at INTEGER NOT NULL, last_seen INTEGER,"
				      " reset_count INTEGER, restart_count INTEGER, state TEXT NOT NULL, reason TEXT);"
				      "CREATE TABLE attestations (id INTEGER PRIMARY KEY, node_id INTEGER, time INTEGER"
				      " NOT NULL, mode TEXT NOT NULL, peer TEXT, hostname TEXT, pass INTEGER NOT NULL,"
				      " step TEXT, reason TEXT, nonce BLOB, pcr_selection TEXT, quote BLOB, signature BLOB,"
				      " reset_count INTEGER, restart_count INTEGER, ima_entries INTEGER);"
				      "CREATE TABLE secret_deliveries (id INTEGER PRIMARY KEY, attestation_id INTEGER NOT"
				      " NULL, node_id INTEGER, name TEXT NOT NULL, proof_ok INTEGER NOT NULL, time INTEGER"
				      " NOT NULL);"
				      "INSERT INTO nodes (ek_hash, ek_alg, ek_pub, ak_name, enrolled_at, state, reset_count)"
				      " VALUES ('aaaaaaaa11111111111111111111111111111111111111111111111111111111', 1,"
				      " x'01', x'000b01', 1, 'passing', 4);"
				      "INSERT INTO attestations (node_id, time, mode, peer, pass) VALUES (1, 1, 'push',"
				      " 'attestor', 1);"
				      "INSERT INTO attestations (node_id, time, mode, peer, pass) VALUES (1, 2, 'push',"
				      " 'attestor2', 0);"
				      "PRAGMA user_version = 1;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(dir, &st), 0);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_true(pr.existed);
	assert_int_equal(pr.reset_count, 4);
	assert_int_equal(pr.ak_name_len, 0);
	assert_int_equal(pr.state, STORE_PASSING);
	/* Its push verdicts' peer became its binding (v4). */
	assert_string_equal(pr.identity, "attestor");
	assert_int_equal(store_node_get(st, H1, STORE_KEY_ANY, &n), 0);
	assert_int_equal(n.attestations, 2);
	node_in(&in, H1, NULL);
	in.identity = "attestor2";
	assert_int_equal(store_node_proven(st, &in, 0, &pr), AERR_STATE);
	store_close(st);
}

static int count_policies(const struct store_policy *p, void *arg)
{
	(void)p;
	(*(int *)arg)++;
	return 0;
}

/* Named policies: versions, the latest by default, assignment to a node or
 * a group, the node's own beating its groups', a conflict between two
 * groups, deletion refused while assigned and the rows kept after. */
static void test_policies(void **state)
{
	static const char *const groups[] = { "eu", "web" };
	struct store *st = NULL;
	struct store_assign as;
	struct store_policy p;
	char name[STORE_NAME_MAX + 1], via[STORE_NAME_MAX + 8];
	uint32_t v = 0;
	int64_t id;
	int n = 0;

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	memset(&as, 0, sizeof(as));
	as.set_groups = 1;
	as.ngroups = 2;
	as.groups = groups;
	assert_int_equal(store_node_enroll(st, H1, 0, NULL, 0, &as, &id), 0);
	assert_int_equal(store_policy_of(st, id, name, via, &v), 0);
	assert_string_equal(name, "");

	assert_int_equal(store_policy_put(st, "web", "{\"a\": 1}", 8, 0, &v), AERR_NOT_FOUND);
	assert_int_equal(store_policy_put(st, "web", "{\"a\": 1}", 8, 1, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(store_policy_put(st, "web", "{\"a\": 1}", 8, 1, &v), AERR_INVALID_ARG);
	assert_int_equal(store_policy_put(st, "web", "{\"a\": 2}", 8, 0, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(store_policy_get(st, "web", 0, &p), 0);
	assert_int_equal(p.version, 2);
	assert_string_equal(p.body, "{\"a\": 2}");
	free(p.body);
	assert_int_equal(store_policy_get(st, "web", 1, &p), 0);
	assert_string_equal(p.body, "{\"a\": 1}");
	free(p.body);
	assert_int_equal(store_policy_get(st, "web", 3, &p), AERR_NOT_FOUND);

	/* By group, then the node's own. */
	assert_int_equal(store_policy_assign(st, NULL, "web", "nope"), AERR_NOT_FOUND);
	assert_int_equal(store_policy_assign(st, NULL, "web", "web"), 0);
	assert_int_equal(store_policy_of(st, id, name, via, &v), 0);
	assert_string_equal(name, "web");
	assert_string_equal(via, "group web");
	assert_int_equal(v, 2);
	assert_int_equal(store_policy_put(st, "db", "{}", 2, 1, &v), 0);
	assert_int_equal(store_policy_assign(st, H1, NULL, "db"), 0);
	assert_int_equal(store_policy_of(st, id, name, via, &v), 0);
	assert_string_equal(name, "db");
	assert_string_equal(via, "node");
	/* Two groups with different policies: a conflict, named. */
	assert_int_equal(store_policy_assign(st, H1, NULL, NULL), 0);
	assert_int_equal(store_policy_assign(st, H1, NULL, NULL), AERR_NOT_FOUND);
	assert_int_equal(store_policy_assign(st, NULL, "eu", "db"), 0);
	assert_int_equal(store_policy_of(st, id, name, via, &v), AERR_INVALID_ARG);
	assert_non_null(strstr(err_detail(), "'db' by group eu, 'web' by group web"));
	/* The same policy by both groups is none. */
	assert_int_equal(store_policy_assign(st, NULL, "eu", "web"), 0);
	assert_int_equal(store_policy_of(st, id, name, via, &v), 0);
	assert_string_equal(name, "web");

	assert_int_equal(store_policy_delete(st, "web"), AERR_STATE);
	assert_non_null(strstr(err_detail(), "assigned to 0 nodes and 2 groups"));
	assert_int_equal(store_policy_list(st, count_policies, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_policy_assign(st, NULL, "eu", NULL), 0);
	assert_int_equal(store_policy_assign(st, NULL, "web", NULL), 0);
	assert_int_equal(store_policy_delete(st, "web"), 0);
	assert_int_equal(store_policy_delete(st, "web"), AERR_NOT_FOUND);
	assert_int_equal(store_policy_get(st, "web", 0, &p), AERR_NOT_FOUND);
	n = 0;
	assert_int_equal(store_policy_list(st, count_policies, &n), 0);
	assert_int_equal(n, 1);
	/* A deleted name goes on from its last version. */
	assert_int_equal(store_policy_put(st, "web", "{}", 2, 1, &v), 0);
	assert_int_equal(v, 3);
	/* A removed node's own policy goes with it. */
	assert_int_equal(store_policy_assign(st, H1, NULL, "db"), 0);
	assert_int_equal(store_node_remove(st, H1), 0);
	assert_int_equal(store_policy_delete(st, "db"), 0);
	store_close(st);
}

/* Verdicts from many threads at once (group commit): every one written with
 * its own id, nothing lost; a writer whose verdicts cannot be written (no such
 * node) fails alone, the verdicts batched with it are written. */
struct writer {
	struct store *st;
	int64_t node;
	int pass_every;
	int bad;                  /* every verdict must fail */
	int64_t ids[200];
};

static void *write_verdicts(void *arg)
{
	struct writer *w = arg;
	struct store_attestation a;

	memset(&a, 0, sizeof(a));
	a.node_id = w->node;
	a.mode = "push";
	a.step = "quote";
	for (int i = 0; i < 200; i++) {
		int r;

		a.pass = i % w->pass_every != 0;
		a.reason = a.pass ? "" : "PCR value differs";
		r = store_attestation_add(w->st, &a, &w->ids[i], NULL);
		if (w->bad ? (r != AERR_IO || w->ids[i] != 0) : r != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_verdicts(void **state)
{
	struct store *st = NULL;
	struct store_node_in in;
	struct store_prior pr;
	struct writer w[9];
	pthread_t t[9];
	uint64_t passes, fails;
	char hash[65];

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	for (int i = 0; i < 8; i++) {
		snprintf(hash, sizeof(hash), "%064d", i);
		node_in(&in, hash, "h");
		assert_int_equal(store_node_proven(st, &in, 1, &pr), 0);
		w[i] = (struct writer){ .st = st, .node = pr.id, .pass_every = i + 2 };
	}
	w[8] = (struct writer){ .st = st, .node = 999999, .pass_every = 2, .bad = 1 };
	for (int i = 0; i < 9; i++)
		assert_int_equal(pthread_create(&t[i], NULL, write_verdicts, &w[i]), 0);
	for (int i = 0; i < 9; i++) {
		void *ret;

		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(store_count_verdicts(st, 1, &passes), 0);
	assert_int_equal(store_count_verdicts(st, 0, &fails), 0);
	assert_int_equal(passes + fails, 8 * 200);
	{
		uint64_t want_fails = 0;

		for (int i = 0; i < 8; i++)
			want_fails += (200 + (uint64_t)i + 1) / (uint64_t)(i + 2);
		assert_int_equal(fails, want_fails);
	}
	/* Ids are distinct and increase within each writer. */
	for (int i = 0; i < 8; i++)
		for (int k = 1; k < 200; k++)
			assert_true(w[i].ids[k] > w[i].ids[k - 1]);
	store_close(st);
}

static int chunk_count(uint64_t first, const uint8_t *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(*(uint64_t *)arg) += 1 + first;
	return 0;
}

/* Evidence is kept once however many verdicts carry it; a learn request is
 * answered by the next verified quote only; the retention prune keeps what
 * the latest verified quote of each node stands on. */
static void test_evidence(void **state)
{
	static const uint8_t ak[] = { 0, 2, 0xaa, 0xbb }, vals[] = { 1, 2, 3 }, ima1[] = { 9 }, ima2[] = { 8 };
	char dak[65], dvals[65], dima1[65], dima2[65];
	struct store *st = NULL;
	struct store_node_in in;
	struct store_attestation a;
	struct store_change ch;
	struct store_prior pr;
	struct store_evidence e, *list = NULL;
	int64_t id1 = 0, id2 = 0, id3 = 0, req = 0, att = 0, node = 0;
	uint8_t *data = NULL;
	size_t len = 0, n = 0;
	uint64_t rows = 0, pieces = 0, chunks = 0;
	sqlite3 *db;
	sqlite3_stmt *q;

	(void)state;
	memset(dak, 'a', 64), dak[64] = 0;
	memset(dvals, 'b', 64), dvals[64] = 0;
	memset(dima1, 'c', 64), dima1[64] = 0;
	memset(dima2, 'd', 64), dima2[64] = 0;
	assert_int_equal(store_open(dir, &st), 0);
	node_in(&in, H1, "web1");
	assert_int_equal(store_node_proven(st, &in, 1, &pr), 0);
	assert_int_equal(store_evidence_latest(st, pr.id, &e), AERR_NOT_FOUND);
	assert_int_equal(store_learn_request(st, "aaaaaaaa11", &node), 0);
	assert_int_equal(node, pr.id);
	assert_int_equal(store_learn_state(st, pr.id, &req, &att), 0);
	assert_true(req > 0);
	assert_int_equal(att, 0);

	memset(&a, 0, sizeof(a));
	a.node_id = pr.id;
	a.mode = "push";
	a.step = "quote";
	a.reason = "signature";
	/* An unverified quote answers no learn request, nor a verified one
	 * whose evidence did not hold together. */
	assert_int_equal(store_attestation_add(st, &a, &id1, &ch), 0);
	assert_false(ch.learned);
	a.verified = 1;
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_false(ch.learned);
	a.learnable = 1;
	a.reset_count = 5;
	a.ak = (struct store_blob){ dak, ak, sizeof(ak) };
	a.values = (struct store_blob){ dvals, vals, sizeof(vals) };
	a.ima = (struct store_blob){ dima1, ima1, sizeof(ima1) };
	assert_int_equal(store_attestation_add(st, &a, &id2, &ch), 0);
	assert_true(ch.learned);
	a.pass = 1;
	a.reason = "";
	a.ima = (struct store_blob){ dima2, ima2, sizeof(ima2) };
	a.ima_first = 1;
	assert_int_equal(store_attestation_add(st, &a, &id3, &ch), 0);
	assert_false(ch.learned); /* answered already */
	assert_int_equal(store_learn_state(st, pr.id, &req, &att), 0);
	assert_int_equal(att, id2);

	assert_int_equal(store_evidence_latest(st, pr.id, &e), 0);
	assert_int_equal(e.id, id3);
	assert_string_equal(e.ak, dak);
	assert_int_equal(e.reset_count, 5);
	assert_int_equal(e.ima_first, 1);
	assert_int_equal(store_evidence_get(st, dvals, &data, &len), 0);
	assert_int_equal(len, sizeof(vals));
	assert_memory_equal(data, vals, len);
	free(data);
	assert_int_equal(store_evidence_get(st, "ffff", &data, &len), AERR_NOT_FOUND);
	assert_int_equal(store_evidence_list(st, pr.id, 0, 0, &list, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(list[0].id, id1); /* oldest first */
	free(list);
	assert_int_equal(store_evidence_list(st, pr.id, 0, 2, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, id2); /* the newest two */
	free(list);
	/* Of boot 5's chunks, the failed verdict's is left out (nothing
	 * vouched for its entries), the asked row's own is in (first 1). */
	assert_int_equal(store_evidence_ima_chunks(st, pr.id, 5, id3, chunk_count, &chunks), 0);
	assert_int_equal(chunks, 1 + 1);
	chunks = 0;
	assert_int_equal(store_evidence_ima_chunks(st, pr.id, 5, id2, chunk_count, &chunks), 0);
	assert_int_equal(chunks, 1 + 0);

	/* Everything is older than a cutoff in the future; the boot run of
	 * the latest verified row keeps its evidence. */
	assert_int_equal(store_evidence_prune(st, INT64_MAX, &rows, &pieces), 0);
	assert_int_equal(rows, 0);
	assert_int_equal(pieces, 0);
	/* A new boot: the old one's rows lose theirs, but for the answered
	 * learn request's, and the chunk only the pruned row named goes. */
	a.reset_count = 6;
	a.ima = (struct store_blob){ NULL, NULL, 0 };
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(store_evidence_prune(st, INT64_MAX, &rows, &pieces), 0);
	assert_int_equal(rows, 1);
	assert_int_equal(pieces, 1);
	assert_int_equal(store_evidence_get(st, dima2, &data, &len), AERR_NOT_FOUND);
	assert_int_equal(store_evidence_get_row(st, id3, &e), 0);
	assert_true(e.pruned);
	assert_string_equal(e.ak, "");
	assert_int_equal(store_evidence_get(st, dak, &data, &len), 0); /* the latest row's */
	free(data);
	assert_int_equal(store_learn_clear(st, pr.id), 0);
	assert_int_equal(store_evidence_prune(st, INT64_MAX, &rows, &pieces), 0);
	assert_int_equal(rows, 1);
	assert_int_equal(pieces, 1);
	assert_int_equal(store_evidence_get(st, dima1, &data, &len), AERR_NOT_FOUND);
	assert_int_equal(store_learn_state(st, pr.id, &req, &att), 0);
	assert_int_equal(req, 0);
	assert_int_equal(store_learn_request(st, "feedbeef", &node), AERR_NOT_FOUND);
	store_close(st);

	/* One row per piece of evidence, however many verdicts named it. */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/" STORE_FILE, dir);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM evidence WHERE digest = ?", -1, &q, NULL),
				 SQLITE_OK);
		sqlite3_bind_text(q, 1, dak, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 1);
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
}

static int rule_nodes(const struct store_group_rule *r, void *arg)
{
	*(uint64_t *)arg += r->nodes;
	return 0;
}

/* Facts: recorded for a node its proof enrolls; a later verdict replaces
 * those it proves again and clears none it does not show; rules place
 * nodes by them at once, and only by proven ones. */
static void test_facts(void **state)
{
	struct store *st = NULL;
	struct store_node_in in;
	struct store_attestation a;
	struct store_change ch;
	struct store_prior pr;
	struct store_group_rule rule;
	char facts[STORE_NFACTS][STORE_FACT_MAX];
	int64_t id = 0;
	uint64_t matched = 0;

	(void)state;
	assert_int_equal(store_open(dir, &st), 0);
	node_in(&in, H1, "web1");
	in.has_facts = 1;
	in.facts[STORE_FACT_EK_ISSUER] = "CN=Vendor A EK CA,O=Vendor A";
	in.facts[STORE_FACT_PLATFORM_MODEL] = "Board 7";
	assert_int_equal(store_node_proven(st, &in, 1, &pr), 0);
	assert_int_equal(store_node_facts(st, pr.id, facts), 0);
	assert_string_equal(facts[STORE_FACT_EK_ISSUER], "CN=Vendor A EK CA,O=Vendor A");
	assert_string_equal(facts[STORE_FACT_PLATFORM_MODEL], "Board 7");
	/* A second proof of the existing node records nothing by itself. */
	in.facts[STORE_FACT_EK_ISSUER] = "CN=Other";
	assert_int_equal(store_node_proven(st, &in, 1, &pr), 0);
	assert_int_equal(store_node_facts(st, pr.id, facts), 0);
	assert_string_equal(facts[STORE_FACT_EK_ISSUER], "CN=Vendor A EK CA,O=Vendor A");
	assert_true(pr.has_facts);

	memset(&rule, 0, sizeof(rule));
	snprintf(rule.group, sizeof(rule.group), "vendor-a");
	snprintf(rule.match[STORE_FACT_EK_ISSUER], STORE_FACT_MAX, "*,O=Vendor A");
	assert_int_equal(store_group_rule_add(st, &rule, &id), 0);
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_int_equal(pr.ngroups, 1);
	assert_string_equal(pr.groups[0], "vendor-a");

	/* A verdict whose session showed no platform certificate keeps the
	 * platform model; a new issuer moves the node out of the group. */
	memset(&a, 0, sizeof(a));
	a.node_id = pr.id;
	a.mode = "push";
	a.pass = 1;
	a.step = "quote";
	a.reason = "";
	a.has_facts = 1;
	a.facts[STORE_FACT_EK_ISSUER] = "CN=Vendor B EK CA,O=Vendor B";
	a.facts[STORE_FACT_PLATFORM_MODEL] = "";
	assert_int_equal(store_attestation_add(st, &a, NULL, &ch), 0);
	assert_int_equal(store_node_facts(st, pr.id, facts), 0);
	assert_string_equal(facts[STORE_FACT_EK_ISSUER], "CN=Vendor B EK CA,O=Vendor B");
	assert_string_equal(facts[STORE_FACT_PLATFORM_MODEL], "Board 7");
	assert_int_equal(store_node_lookup(st, H1, &pr), 0);
	assert_int_equal(pr.ngroups, 0);

	/* A node without facts matches no rule, not even '*'. */
	node_in(&in, H2, "web2");
	assert_int_equal(store_node_proven(st, &in, 1, &pr), 0);
	assert_false(pr.has_facts);
	memset(&rule, 0, sizeof(rule));
	snprintf(rule.group, sizeof(rule.group), "any");
	snprintf(rule.match[STORE_FACT_TPM_MODEL], STORE_FACT_MAX, "*");
	assert_int_equal(store_group_rule_add(st, &rule, NULL), 0);
	assert_int_equal(store_group_rule_list(st, rule_nodes, &matched), 0);
	assert_int_equal(matched, 0);
	assert_int_equal(store_group_rule_remove(st, id), 0);
	assert_int_equal(store_group_rule_remove(st, id), AERR_NOT_FOUND);
	memset(&rule, 0, sizeof(rule));
	snprintf(rule.group, sizeof(rule.group), "empty");
	assert_int_equal(store_group_rule_add(st, &rule, NULL), AERR_INVALID_ARG);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enroll_and_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_facts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
