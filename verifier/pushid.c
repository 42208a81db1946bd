#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "pushid.h"

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
