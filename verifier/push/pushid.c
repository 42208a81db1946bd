#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "push/pushid.h"

void pushid_format(uint32_t slot, const uint8_t tag[PUSHID_TAG_LEN], char out[PUSHID_LEN + 1])
{
	snprintf(out, 9, "%08x", slot);
	hex_encode(tag, PUSHID_TAG_LEN, out + 8);
}

int pushid_parse(const char *id, uint32_t *slot, uint8_t tag[PUSHID_TAG_LEN])
{
	uint64_t n;

	if (!id || strlen(id) != PUSHID_LEN || !hex_is_lower(id, PUSHID_LEN) || hex_number(id, 8, &n) != 0 ||
	    hex_decode(id + 8, 2 * PUSHID_TAG_LEN, tag, PUSHID_TAG_LEN) != PUSHID_TAG_LEN)
		return err_set(AERR_INVALID_ARG, "session id must be %d lower-case hex digits", PUSHID_LEN);
	*slot = (uint32_t)n;
	return 0;
}

int pushid_is_next(const char *id)
{
	return id && id[0] == 'n';
}

void pushid_next_format(uint64_t node, const uint8_t tag[PUSHID_TAG_LEN], char out[PUSHID_NEXT_LEN + 1])
{
	snprintf(out, 18, "n%016llx", (unsigned long long)node);
	hex_encode(tag, PUSHID_TAG_LEN, out + 17);
}

int pushid_next_parse(const char *id, uint64_t *node, uint8_t tag[PUSHID_TAG_LEN])
{
	if (!pushid_is_next(id) || strlen(id) != PUSHID_NEXT_LEN || !hex_is_lower(id + 1, PUSHID_NEXT_LEN - 1) ||
	    hex_number(id + 1, 16, node) != 0 ||
	    hex_decode(id + 17, 2 * PUSHID_TAG_LEN, tag, PUSHID_TAG_LEN) != PUSHID_TAG_LEN)
		return err_set(AERR_NOT_FOUND, "a pre-issued session id is 'n' and %d lower-case hex digits",
			       PUSHID_NEXT_LEN - 1);
	return 0;
}
