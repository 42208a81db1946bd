/* Session ids from the wire, the first thing a push request's handler reads
 * (verifier/push/pushid.c, verifier/push/preissued.c). The first byte picks the kind, the
 * rest is the id's text:
 *   0  a Hello session's id: accepted ones format back to the same text
 *   1  a pre-issued quote request's id: accepted ones format back to the
 *      same text; against a table holding one entry, anything but the id
 *      handed out is not found, and the entry stays */
#include <string.h>

#include "fuzz.h"
#include "push/pushid.h"
#include "push/preissued.h"

static struct preissued *table;
static char issued[PREISSUED_ID_LEN + 1];

int fuzz_session_ids_init(void)
{
	struct preissued_entry e;

	fuzz_quiet();
	memset(&e, 0, sizeof(e));
	snprintf(e.peer, sizeof(e.peer), "fuzz-attestor");
	snprintf(e.host, sizeof(e.host), "fuzz");
	return preissued_new(&table) == 0 && preissued_put(table, 1, &e, issued) == 0 ? 0 : -1;
}

int fuzz_session_ids(const uint8_t *data, size_t size)
{
	char id[128], back[PUSHID_NEXT_LEN + 1];
	uint8_t tag[PUSHID_TAG_LEN];
	struct preissued_entry got;
	uint32_t slot;
	uint64_t nid;
	int64_t node;
	size_t n;
	int r;

	if (size < 1)
		return 0;
	n = size - 1 < sizeof(id) - 1 ? size - 1 : sizeof(id) - 1;
	memcpy(id, data + 1, n);
	id[n] = '\0';
	if ((data[0] & 1) == 0) {
		if (pushid_parse(id, &slot, tag) != 0)
			return 0;
		pushid_format(slot, tag, back);
		FUZZ_CHECK(strcmp(back, id) == 0);
		return 0;
	}
	if (pushid_next_parse(id, &nid, tag) == 0) {
		FUZZ_CHECK(pushid_is_next(id));
		pushid_next_format(nid, tag, back);
		FUZZ_CHECK(strcmp(back, id) == 0);
	}
	r = preissued_take(table, id, "fuzz-attestor", 0, UINT64_MAX, &node, &got);
	if (strcmp(id, issued) == 0) {
		/* Not from a fuzzer (the tag is random), but keep the table whole. */
		FUZZ_CHECK(r == 0 && node == 1);
		FUZZ_CHECK(preissued_put(table, 1, &got, issued) == 0);
		return 0;
	}
	FUZZ_CHECK(r == AERR_NOT_FOUND);
	FUZZ_CHECK(preissued_count(table) == 1);
	return 0;
}
