/* record/evidence.h: a verdict's evidence, hashed for the store. */
#include <string.h>

#include "crypto.h"
#include "hex.h"
#include "record/evidence.h"
#include "tpmpub.h"

static void evidence_piece(const uint8_t *data, size_t len, char hex[65], struct store_blob *b)
{
	uint8_t d[32];

	memset(b, 0, sizeof(*b));
	if (crypto_digest(TPM2_ALG_SHA256, data, len, d) != 0)
		return;
	hex_encode(d, sizeof(d), hex);
	b->digest = hex;
	b->data = data;
	b->len = len;
}

void record_evidence(const TPMT_PUBLIC *ak, const TPML_PCR_SELECTION *sel, const struct session_quote *q,
		     struct record_evidence *ev, struct store_attestation *a)
{
	size_t len = 0;

	if (ak && tpmpub_marshal(ak, ev->ak, sizeof(ev->ak), &len) == 0)
		evidence_piece(ev->ak, len, ev->ak_hex, &a->ak);
	if (!q)
		return;
	if (q->values && sel && pcr_values_pack(sel, q->values, ev->values, sizeof(ev->values), &len) == 0)
		evidence_piece(ev->values, len, ev->values_hex, &a->values);
	if (q->event_log_len)
		evidence_piece(q->event_log, q->event_log_len, ev->log_hex, &a->event_log);
	if (q->ima_len || q->ima_first) {
		evidence_piece(q->ima ? q->ima : (const uint8_t *)"", q->ima_len, ev->ima_hex, &a->ima);
		a->ima_first = q->ima_first;
	}
}
