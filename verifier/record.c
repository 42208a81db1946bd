#define LOG_MODULE "record"

#include <string.h>

#include "imastate.h"
#include "log.h"
#include "pcrsel.h"
#include "tpmpub.h"
#include "record.h"

/* What the store knew of the node, into c and the session. */
static int record_prior(struct record_ctx *c, struct session *s, const char *hash, const struct store_prior *sp)
{
	struct session_prior prior;

	memset(&prior, 0, sizeof(prior));
	c->node_id = sp->id;
	memcpy(c->ek_hash, hash, sizeof(c->ek_hash));
	c->state = sp->state;
	prior.has_counts = sp->has_counts;
	prior.reset_count = sp->reset_count;
	prior.restart_count = sp->restart_count;
	prior.clock = sp->clock;
	if (sp->ak_name_len <= sizeof(prior.ak_name)) {
		memcpy(prior.ak_name, sp->ak_name, sp->ak_name_len);
		prior.ak_name_len = sp->ak_name_len;
	}
	/* A state that does not load only costs the next session the whole list. */
	if (sp->ima_state_len) {
		if (imastate_load(sp->ima_state, sp->ima_state_len, &prior.ima) == 0) {
			prior.has_ima = 1;
			prior.ima_reset = sp->ima_reset;
		} else {
			LOG_WARN("node %.16s...: stored IMA state ignored: %s", hash, err_detail());
		}
	}
	return session_set_prior(s, &prior, 1);
}

int record_node(struct record_ctx *c, struct session *s, const struct session_endorsement *en)
{
	const TPMT_PUBLIC *ek = session_ek_public(s);
	struct session_prior none;
	struct store_node_in in;
	struct store_prior sp;
	char hash[65];
	int r;

	memset(&none, 0, sizeof(none));
	if (!c->store || !ek || session_ek_hash(s, hash) != 0)
		return session_set_prior(s, &none, 1);
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
	r = store_node_upsert(c->store, &in, !c->explicit_enrollment, &sp);
	if (r == AERR_NOT_FOUND)
		return session_set_prior(s, NULL, 0);
	if (r != 0) {
		/* The verdict still stands without the store; only the counter
		 * rules lose their reference. */
		LOG_ERR("recording node %.16s...: %s", hash, err_detail());
		return session_set_prior(s, &none, 1);
	}
	return record_prior(c, s, hash, &sp);
}

int record_node_known(struct record_ctx *c, struct session *s)
{
	const TPMT_PUBLIC *ek = session_ek_public(s);
	struct store_node_in in;
	struct store_prior sp;
	char hash[65];
	int r;

	if (!c->store || !ek || (r = session_ek_hash(s, hash)) != 0)
		return err_set(AERR_STATE, "no store or no endorsed EK to look the node up by");
	memset(&in, 0, sizeof(in));
	in.ek_hash = hash;
	in.ek_alg = ek->type;
	/* No hostname, EK public or certificate: nothing to compare, so the
	 * lookup never writes (it would write what it was given). */
	if ((r = store_node_upsert(c->store, &in, 0, &sp)) != 0)
		return r;
	return record_prior(c, s, hash, &sp);
}

void record_ak(struct record_ctx *c, const struct session *s)
{
	const TPMT_PUBLIC *ak = session_ak_public(s);
	const TPM2B_NAME *name = session_ak_name(s);
	uint8_t wire[sizeof(TPM2B_PUBLIC)];
	size_t len = 0;

	if (!c->store || !c->node_id || !ak || !name)
		return;
	if (tpmpub_marshal(ak, wire, sizeof(wire), &len) != 0 ||
	    store_node_set_ak(c->store, c->node_id, wire, len, name->name, name->size) != 0)
		LOG_ERR("recording the activated AK: %s", err_detail());
}

/* A node changed state: tell the operator's hook. */
static void record_changed(struct record_ctx *c, const struct store_change *ch, const char *reason, int64_t att)
{
	LOG_INFO("node %lld: %s -> %s%s%s", (long long)c->node_id, store_state_name(ch->from),
		 store_state_name(ch->to), *reason ? ": " : "", reason);
	struct hook_event ev = {
		.node = c->ek_hash, .hostname = c->host, .from = store_state_name(ch->from),
		.to = store_state_name(ch->to), .reason = reason, .mode = c->mode, .attestation_id = att,
	};

	c->state = ch->to;
	hook_post(c->hook, &ev);
}

static int64_t record_add(struct record_ctx *c, const struct session_verdict *v, const struct session_quote *q,
			  int no_contact)
{
	struct store_attestation a;
	struct store_change change;
	uint8_t ima[IMASTATE_MAX];
	size_t ima_len = 0;
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
	a.no_contact = no_contact;
	a.step = session_step_name(v->step);
	a.reason = v->reason;
	if (v->nonce_len) {
		a.nonce = v->nonce;
		a.nonce_len = v->nonce_len;
	}
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
		a.clock = v->clock;
		if (v->ima_state && imastate_save(v->ima_state, ima, sizeof(ima), &ima_len) == 0) {
			a.ima_state = ima;
			a.ima_state_len = ima_len;
			a.ima_reset = v->reset_count;
		}
		a.ima_entries = v->ima_entries;
	}
	if (c->pcrs && pcrsel_format(c->pcrs, sel, sizeof(sel)) != 0)
		sel[0] = '\0';
	a.pcr_selection = sel[0] ? sel : NULL;
	if (store_attestation_add(c->store, &a, &id, &change) != 0) {
		LOG_ERR("recording a verdict: %s", err_detail());
		return 0;
	}
	if (change.changed)
		record_changed(c, &change, v->pass ? "" : v->reason, id);
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

int64_t record_verdict(struct record_ctx *c, const struct session_verdict *v, const struct session_quote *q)
{
	return record_add(c, v, q, 0);
}

void record_missed(struct record_ctx *c, const struct session_verdict *v)
{
	(void)record_add(c, v, NULL, 1);
}
