/* preissued: quote requests handed out with push verdicts. Taken once, by
 * the identity they were handed to, before they expire; replaced or dropped
 * per node; ids strictly formed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "push/preissued.h"
#include "array.h"

static void entry(struct preissued_entry *e, const char *peer, uint64_t issued, uint8_t fill)
{
	memset(e, 0, sizeof(*e));
	memset(e->resume.nonce, fill, sizeof(e->resume.nonce));
	e->resume.issued_ms = issued;
	e->resume.clock = 1000;
	snprintf(e->peer, sizeof(e->peer), "%s", peer);
	snprintf(e->host, sizeof(e->host), "host-%u", fill);
	e->ak_len = 3;
}

static void test_put_take(void **state)
{
	struct preissued *t = NULL;
	struct preissued_entry e, got;
	char id[PREISSUED_ID_LEN + 1], id2[PREISSUED_ID_LEN + 1];
	int64_t node;

	(void)state;
	assert_int_equal(preissued_new(&t), 0);
	entry(&e, "attestor", 100, 0xaa);
	assert_int_equal(preissued_put(t, 7, &e, id), 0);
	assert_int_equal(strlen(id), PREISSUED_ID_LEN);
	assert_true(pushid_is_next(id));
	assert_memory_equal(id, "n0000000000000007", 17);
	assert_int_equal(preissued_count(t), 1);
	/* Another identity: refused, the entry stays for its owner. */
	assert_int_equal(preissued_take(t, id, "attestor2", 200, 1000, &node, &got), AERR_STATE);
	assert_int_equal(preissued_count(t), 1);
	assert_int_equal(preissued_take(t, id, "attestor", 200, 1000, &node, &got), 0);
	assert_int_equal(node, 7);
	assert_memory_equal(got.resume.nonce, e.resume.nonce, sizeof(e.resume.nonce));
	assert_string_equal(got.host, "host-170");
	/* Once. */
	assert_int_equal(preissued_take(t, id, "attestor", 200, 1000, &node, &got), AERR_NOT_FOUND);
	assert_int_equal(node, 0);
	assert_int_equal(preissued_count(t), 0);

	/* A new request for the node replaces the old one; the ids differ. */
	assert_int_equal(preissued_put(t, 7, &e, id), 0);
	assert_int_equal(preissued_put(t, 7, &e, id2), 0);
	assert_string_not_equal(id, id2);
	assert_int_equal(preissued_count(t), 1);
	assert_int_equal(preissued_take(t, id, "attestor", 200, 1000, &node, &got), AERR_NOT_FOUND);
	assert_int_equal(preissued_take(t, id2, "attestor", 200, 1000, &node, &got), 0);

	/* Dropped (the node said Hello): gone. */
	assert_int_equal(preissued_put(t, 9, &e, id), 0);
	preissued_drop(t, 9);
	preissued_drop(t, 9);
	preissued_drop(t, 123456);
	assert_int_equal(preissued_take(t, id, "attestor", 200, 1000, &node, &got), AERR_NOT_FOUND);
	assert_int_equal(preissued_count(t), 0);
	preissued_free(t);
}

static void test_expiry_and_nodes(void **state)
{
	struct preissued *t = NULL;
	struct preissued_entry e, got;
	char id[PREISSUED_ID_LEN + 1];
	int64_t node;

	(void)state;
	assert_int_equal(preissued_new(&t), 0);
	entry(&e, "", 1000, 1);
	/* Exactly max_age old is still in time; one more millisecond is not,
	 * and the expired entry is gone. */
	assert_int_equal(preissued_put(t, 1, &e, id), 0);
	assert_int_equal(preissued_take(t, id, NULL, 1500, 500, &node, &got), 0);
	assert_int_equal(preissued_put(t, 1, &e, id), 0);
	assert_int_equal(preissued_take(t, id, NULL, 1501, 500, &node, &got), AERR_NONCE);
	assert_int_equal(preissued_take(t, id, NULL, 1000, 500, &node, &got), AERR_NOT_FOUND);
	/* Node ids: 1..PREISSUED_MAX_NODE; the table grows past its first size. */
	assert_int_equal(preissued_put(t, 0, &e, id), AERR_INVALID_ARG);
	assert_int_equal(preissued_put(t, -3, &e, id), AERR_INVALID_ARG);
	assert_int_equal(preissued_put(t, (int64_t)PREISSUED_MAX_NODE + 1, &e, id), AERR_INVALID_ARG);
	assert_int_equal(preissued_put(t, 5000, &e, id), 0);
	assert_int_equal(preissued_take(t, id, NULL, 1000, 500, &node, &got), 0);
	assert_int_equal(node, 5000);
	assert_int_equal(preissued_put(t, 70000, &e, id), 0);
	assert_int_equal(preissued_count(t), 1);
	preissued_free(t); /* frees what is left */
}

static void test_malformed_ids(void **state)
{
	static const char *const bad[] = {
		"",
		"n",
		"n00000000000000010123456789abcdef0123456789abcde",    /* one digit short */
		"n00000000000000010123456789abcdef0123456789abcdef0",  /* one too many */
		"x00000000000000010123456789abcdef0123456789abcdef",   /* not 'n' */
		"n00000000000000010123456789ABCDEF0123456789abcdef",   /* upper case */
		"n0000000000000001 123456789abcdef0123456789abcdef",   /* a space */
		"nffffffffffffffff0123456789abcdef0123456789abcdef",   /* no such node */
	};
	struct preissued *t = NULL;
	struct preissued_entry e, got;
	char id[PREISSUED_ID_LEN + 1];
	int64_t node;

	(void)state;
	assert_int_equal(preissued_new(&t), 0);
	entry(&e, "attestor", 0, 2);
	assert_int_equal(preissued_put(t, 1, &e, id), 0);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(preissued_take(t, bad[i], "attestor", 0, 1000, &node, &got), AERR_NOT_FOUND);
	assert_int_equal(preissued_take(t, NULL, "attestor", 0, 1000, &node, &got), AERR_NOT_FOUND);
	assert_false(pushid_is_next(NULL));
	assert_false(pushid_is_next("0000000abc"));
	/* The real one still works: bad ids changed nothing. */
	assert_int_equal(preissued_take(t, id, "attestor", 0, 1000, &node, &got), 0);
	preissued_free(t);
	preissued_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_take),
		cmocka_unit_test(test_expiry_and_nodes),
		cmocka_unit_test(test_malformed_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
