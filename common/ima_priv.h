/* The IMA list code as ima.c (the binary list), ima_ascii.c (the text
 * list) and ima_replay.c (template hashes, PCR replay) share it. */
#ifndef ATTEST_IMA_PRIV_H
#define ATTEST_IMA_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "ima.h"

#define IMA_MAX_FIELDS 5u    /* of the templates we parse */
#define IMA_FNAME_PAD 256u    /* "ima" template: fname hashed padded to IMA_EVENT_NAME_LEN_MAX + 1 */

/* Field layouts of the templates we parse (kernel ima_template.c). */
enum ima_field { F_DNG, F_DNGV2, F_NNG, F_SIG, F_BUF, F_DMODSIG, F_MODSIG };

struct ima_tmpl_desc {
	const char *name;
	enum ima_template id;
	unsigned nfields;
	enum ima_field fields[IMA_MAX_FIELDS];
};

/* Where errors point: entry number and offset (binary) or line (ASCII). */
struct ima_where {
	uint64_t index;
	size_t offset;
	size_t line;          /* 0 for binary lists */
};

/* Helpers of ima.c that the text list uses too. */
void ima_put_u32(uint8_t *p, uint32_t v);
const struct ima_tmpl_desc *ima_tmpl_by_name(const char *name);
const char *ima_where_text(const struct ima_where *w, char buf[96]);
int ima_is_zero(const uint8_t *p, size_t n);
int ima_set_template_name(struct ima_entry *e, const uint8_t *p, uint32_t len, const struct ima_where *w);
int ima_parse_template_data(struct ima_entry *e, char **arena, const struct ima_where *w);
int ima_list_new(struct ima_list **out, TPM2_ALG_ID alg, uint64_t first_index);
int ima_list_own(struct ima_list *l, size_t size, uint8_t **p);
int ima_list_grow(struct ima_list *l, size_t *cap);
#endif
