#define LOG_MODULE "record"

#include <string.h>

#include "log.h"
#include "pcrsel.h"
#include "record.h"

void record_node(struct record_ctx *c, const struct session *s, const struct session_endorsement *en,
		 const struct session_ak *ak)
{
	const TPMT_PUBLIC *ek = session_ek_public(s);
	struct store_node_in in;
	char hash[65];

	if (!c->store || !ek || session_ek_hash(s, hash) != 0)
		return;
	memset(&in, 0, sizeof(in));
	in.ek_hash = hash;
	in.ek_alg = ek->type;
	for (size_t i = 0; en && i < en->n_eks; i++)
		if (en->eks[i].alg == ek->type) {
			in.ek_pub = en->eks[i].pub;
			in.ek_pub_len = en->eks[i].pub_len;
			in.ek_cert = en->eks[i].cert;
			in.ek_cert_len = en->eks[i].cert_len;
		}
	in.hostname = c->host;
	if (ak && session_ak_public(s)) {
		const TPM2B_NAME *name = session_ak_name(s);
		in.ak_pub = ak->pub;
		in.ak_pub_len = ak->pub_len;
		in.ak_name = name->name;
		in.ak_name_len = name->size;
	}
	if (store_node_upsert(c->store, &in, &c->node_id) != 0)
		LOG_ERR("recording node %.16s...: %s", hash, err_detail());
}

int64_t record_verdict(struct record_ctx *c, const struct session_verdict *v, const struct session_quote *q)
{
	struct store_attestation a;
	char sel[256] = "";
	int64_t id = 0;

	if (!c->store)
		return 0;
	memset(&a, 0, sizeof(a));
	a.node_id = c->node_id;
	a.mode = c->mode;
	a.peer = c->peer;
	a.hostname = c->host;
	a.pass = v->pass;
	a.step = session_step_name(v->step);
	a.reason = v->reason;
	if (q) {
		a.quote = q->attest;
		a.quote_len = q->attest_len;
		a.signature = q->sig;
		a.signature_len = q->sig_len;
	}
	if (v->pass) {
		a.has_counts = 1;
		a.reset_count = v->reset_count;
		a.restart_count = v->restart_count;
		a.ima_entries = v->ima_entries;
	}
	if (c->pcrs && pcrsel_format(c->pcrs, sel, sizeof(sel)) != 0)
		sel[0] = '\0';
	a.pcr_selection = sel[0] ? sel : NULL;
	if (store_attestation_add(c->store, &a, &id) != 0)
		LOG_ERR("recording a verdict: %s", err_detail());
	return id;
}

void record_secrets(struct record_ctx *c, int64_t att, const struct session_proof *proofs, size_t n)
{
	if (!c->store || !att)
		return;
	for (size_t i = 0; i < n; i++)
		if (store_secret_add(c->store, att, c->node_id, proofs[i].name, 1) != 0)
			LOG_ERR("recording secret '%s': %s", proofs[i].name, err_detail());
}
