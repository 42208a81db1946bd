#define LOG_MODULE "record"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "endorsement/facts.h"
#include "imastate.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "pcrsel.h"
#include "record/evidence.h"
#include "record/record.h"
#include "record/watch.h"
#include "results/issuer.h"
#include "review/learn.h"
#include "strsafe.h"
#include "tpmpub.h"

void record_host(char dst[64], const char *claim)
{
	strsafe(dst, 64, claim, STRSAFE_HOSTNAME);
}

/* The store could not be read or written: the session cannot go on without
 * its node's record (fail closed), and says so to the peer as a condition
 * to retry, not as a verdict. */
static int record_store_failed(const char *what)
{
	LOG_ERR("%s: %s", what, err_detail());
	return err_wrap(AERR_STORE, what);
}

/* What the store knew of the node, into c and the session. */
static int record_prior(struct record_ctx *c, struct session *s, const char *hash, const struct store_prior *sp)
{
	struct session_prior prior;
	int r;

	memset(&prior, 0, sizeof(prior));
	c->node_id = sp->existed ? sp->id : 0;
	memcpy(c->ek_hash, hash, sizeof(c->ek_hash));
	c->state = sp->state;
	c->at_own_target = c->target && sp->existed && sp->target[0] && strcmp(sp->target, c->target) == 0;
	memcpy(c->name, sp->name, sizeof(c->name));
	c->has_facts = sp->has_facts;
	c->ngroups = sp->ngroups;
	memcpy(c->groups, sp->groups, sizeof(c->groups));
	prior.has_counts = sp->has_counts;
	prior.reset_count = sp->reset_count;
	prior.restart_count = sp->restart_count;
	prior.clock = sp->clock;
	if (sp->ak_name_len <= sizeof(prior.ak_name)) {
		memcpy(prior.ak_name, sp->ak_name, sp->ak_name_len);
		prior.ak_name_len = sp->ak_name_len;
	}
	/* The node's own policy or its groups' (a node not known yet has
	 * neither: the config file's judges it), before the prior: the IMA
	 * state kept is only where this session may go on from when the same
	 * reference judged the entries it covers. */
	if (c->refs && c->store && sp->existed && (r = reference_apply(c->refs, c->store, sp->id, s)) != 0)
		return r == AERR_STORE ? record_store_failed("looking the node's policy up") : r;
	snprintf(c->policy, sizeof(c->policy), "%s", session_reference_name(s, &c->policy_version));
	snprintf(c->ima_judged_by, sizeof(c->ima_judged_by), "%s %u", c->policy, c->policy_version);
	/* A state that does not load only costs the next session the whole list. */
	if (sp->ima_state_len && strcmp(sp->ima_judged_by, c->ima_judged_by) != 0 &&
	    (sp->ima_judged_by[0] || strcmp(c->ima_judged_by, "config 0") != 0)) {
		LOG_INFO("node %.16s...: its IMA entries were judged by %s, it is judged by %s now: the whole list again",
			 hash, sp->ima_judged_by[0] ? sp->ima_judged_by : "config 0", c->ima_judged_by);
	} else if (sp->ima_state_len) {
		if (imastate_load(sp->ima_state, sp->ima_state_len, &prior.ima) == 0) {
			prior.has_ima = 1;
			prior.ima_reset = sp->ima_reset;
		} else {
			LOG_WARN("node %.16s...: stored IMA state ignored: %s", hash, err_detail());
		}
	}
	return session_set_prior(s, &prior, 1);
}

/* A node bound to another TLS identity: the peer may not act for it. */
static int record_foreign(const struct record_ctx *c, const struct store_prior *sp)
{
	return sp->existed && sp->identity[0] && strcmp(sp->identity, c->peer ? c->peer : "") != 0;
}

static int record_refuse_foreign(struct session *s, enum session_step step, const struct store_prior *sp)
{
	err_set(AERR_IDENTITY, "this TPM's node is bound to another TLS identity (an operator re-binds it with "
		"verifier enroll NODE --identity)");
	err_private(AERR_IDENTITY, "bound to '%s'", sp->identity);
	return session_reject(s, step, AERR_IDENTITY);
}

/* Pull mode: a node is attested at one target, and a target answers for
 * one node (the first proven there, or the one an operator moved there).
 * Another node at this target, or this node at another, is someone forwarding
 * a TPM that is attested elsewhere: refused, so that it can neither fail that
 * node from here nor take this target's node away. */
static int record_refuse_target(struct record_ctx *c, struct session *s, const struct store_prior *sp)
{
	struct store_node owner;
	int r;

	if (!c->target)
		return 0;
	if (sp->existed && sp->target[0] && strcmp(sp->target, c->target) != 0) {
		err_set(AERR_IDENTITY, "this TPM's node is attested at another target (an operator moves it with "
			"verifier enroll NODE --target %s)", c->target);
		err_private(AERR_IDENTITY, "at %s", sp->target);
		return session_reject(s, SESSION_STEP_ENDORSEMENT, AERR_IDENTITY);
	}
	if ((r = store_node_at_target(c->store, c->target, &owner)) == AERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return record_store_failed("looking the target's node up");
	if (sp->existed && owner.id == sp->id)
		return 0;
	err_set(AERR_IDENTITY, "target %s answers for another node's TPM (an operator moves a node with verifier "
		"enroll NODE --target, or removes it)", c->target);
	err_private(AERR_IDENTITY, "node %.16s...", owner.ek_hash);
	return session_reject(s, SESSION_STEP_ENDORSEMENT, AERR_IDENTITY);
}

int record_lookup(struct record_ctx *c, struct session *s)
{
	struct session_prior none;
	struct store_prior sp;
	char hash[65];
	int r;

	memset(&none, 0, sizeof(none));
	c->session = s;
	if (session_ek_hash(s, hash) != 0)
		return err_set(AERR_STATE, "no endorsed EK to look the node up by");
	memcpy(c->ek_hash, hash, sizeof(c->ek_hash));
	if (!c->store)
		return session_set_prior(s, &none, 1);
	if ((r = store_node_lookup(c->store, hash, &sp)) != 0)
		return record_store_failed("looking the node up");
	if (!sp.existed && c->explicit_enrollment)
		return session_set_prior(s, NULL, 0);
	if (record_foreign(c, &sp))
		return record_refuse_foreign(s, SESSION_STEP_ENDORSEMENT, &sp);
	if ((r = record_refuse_target(c, s, &sp)) != 0)
		return r;
	return record_prior(c, s, hash, &sp);
}

int record_lookup_known(struct record_ctx *c, struct session *s)
{
	struct store_prior sp;
	char hash[65];
	int r;

	c->session = s;
	if (!c->store || session_ek_hash(s, hash) != 0)
		return err_set(AERR_STATE, "no store or no endorsed EK to look the node up by");
	if ((r = store_node_lookup(c->store, hash, &sp)) != 0)
		return record_store_failed("looking the node up");
	if (!sp.existed)
		return err_set(AERR_NOT_FOUND, "node %.16s... is no longer enrolled", hash);
	if (record_foreign(c, &sp))
		return err_set(AERR_NOT_FOUND, "node %.16s... was bound to another TLS identity", hash);
	return record_prior(c, s, hash, &sp);
}

/* What session s's verified certificates say (endorsement/facts.h), as
 * the store takes facts; 0 when it did not check the endorsement itself. */
static int record_facts(const struct session *s, struct endorsement_facts *facts, const char *out[STORE_NFACTS])
{
	const uint8_t *ek, *plat;
	size_t ek_len = 0, plat_len = 0;

	if (!s || !session_endorsement_checked(s))
		return 0;
	ek = session_verified_ek_cert(s, &ek_len);
	plat = session_verified_platform_cert(s, &plat_len);
	endorsement_facts(ek, ek_len, plat, plat_len, facts);
	out[STORE_FACT_EK_ISSUER] = facts->ek_issuer;
	out[STORE_FACT_TPM_MANUFACTURER] = facts->tpm_manufacturer;
	out[STORE_FACT_TPM_MODEL] = facts->tpm_model;
	out[STORE_FACT_PLATFORM_MANUFACTURER] = facts->platform_manufacturer;
	out[STORE_FACT_PLATFORM_MODEL] = facts->platform_model;
	return 1;
}

/* A node this proof enrolled, placed by its facts: the groups secrets
 * select by are its rule groups, and record_lookup, which found no node,
 * gave the session no reference: what its groups assign judges its first
 * quote. (An existing node keeps, for this session, the reference and the
 * groups it was looked up with.) */
static int record_regrouped(struct record_ctx *c, struct session *s)
{
	struct store_prior now;
	int r;

	if ((r = store_node_lookup(c->store, c->ek_hash, &now)) != 0)
		return record_store_failed("looking the proven node up");
	c->ngroups = now.ngroups;
	memcpy(c->groups, now.groups, sizeof(c->groups));
	c->has_facts = now.has_facts;
	if (!c->refs)
		return 0;
	if ((r = reference_apply(c->refs, c->store, c->node_id, s)) != 0)
		return r == AERR_STORE ? record_store_failed("looking the node's policy up") : r;
	snprintf(c->policy, sizeof(c->policy), "%s", session_reference_name(s, &c->policy_version));
	snprintf(c->ima_judged_by, sizeof(c->ima_judged_by), "%s %u", c->policy, c->policy_version);
	return 0;
}

int record_proven(struct record_ctx *c, struct session *s)
{
	const TPMT_PUBLIC *ek = session_ek_public(s), *ak = session_ak_public(s);
	struct endorsement_facts facts;
	const TPM2B_NAME *ak_name = session_ak_name(s);
	uint8_t ek_wire[sizeof(TPM2B_PUBLIC)], ak_wire[sizeof(TPM2B_PUBLIC)];
	size_t ek_len = 0, ak_len = 0, cert_len = 0;
	const uint8_t *cert = session_ek_cert(s, &cert_len);
	struct store_node_in in;
	struct store_prior sp;
	int r;

	if (!c->store)
		return 0;
	if (!ek || !ak || !ak_name || !session_proven(s))
		return err_set(AERR_STATE, "record_proven before the TPM was proven");
	if ((r = tpmpub_marshal(ek, ek_wire, sizeof(ek_wire), &ek_len)) != 0 ||
	    (r = tpmpub_marshal(ak, ak_wire, sizeof(ak_wire), &ak_len)) != 0)
		return r;
	memset(&in, 0, sizeof(in));
	in.ek_hash = c->ek_hash;
	in.ek_alg = ek->type;
	in.ek_pub = ek_wire;
	in.ek_pub_len = ek_len;
	in.ek_cert = cert;
	in.ek_cert_len = cert_len;
	in.hostname = c->host;
	in.identity = c->peer;
	in.ak_pub = ak_wire;
	in.ak_pub_len = ak_len;
	in.ak_name = ak_name->name;
	in.ak_name_len = ak_name->size;
	/* What its verified certificates say places a node this proof
	 * enrolls in its rule groups from its first quote on (an existing
	 * node's facts go with its verdict). */
	in.has_facts = record_facts(s, &facts, in.facts);
	r = store_node_proven(c->store, &in, !c->explicit_enrollment, &sp);
	if (r == AERR_NOT_FOUND)
		return session_reject(s, SESSION_STEP_ACTIVATION, r);
	if (r == AERR_STATE) {
		err_set(AERR_IDENTITY, "this TPM's node was bound to another TLS identity meanwhile");
		return session_reject(s, SESSION_STEP_ACTIVATION, AERR_IDENTITY);
	}
	if (r != 0)
		return record_store_failed("recording the proven node");
	c->node_id = sp.id;
	c->state = sp.existed && sp.state != STORE_ENROLLED ? sp.state : STORE_ATTESTING;
	c->activated = 1;
	return sp.existed ? 0 : record_regrouped(c, s);
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
	watch_publish(&ev);
}

/* learn_first_use: a node's first quote, when it passed or was verified
 * and no policy judges it but the config file's, becomes its own policy.
 * Its verdict stays what the config file's said; the next attestation is
 * judged by what it learned. */
static void record_first_use(struct record_ctx *c, const struct session_verdict *v, const struct store_change *ch,
			     int64_t att)
{
	char name[STORE_NAME_MAX + 1];
	uint32_t version = 0;

	/* Only a quote whose evidence all held together (a pass, or verified
	 * with nothing to judge it by): a failed session's logs may not even
	 * replay to its quote. */
	if (!c->learn_first_use || !att || !(v->pass || v->unjudged) || strcmp(c->policy, "config") != 0 ||
	    (ch->from != STORE_ENROLLED && ch->from != STORE_ATTESTING))
		return;
	learn_default_name(c->ek_hash, name);
	if (learn_store(c->store, c->learn_first_use, att, c->ek_hash, name, LEARN_FIRST_USE, &version) != 0)
		LOG_ERR("node %.16s...: first use: learning its reference: %s", c->ek_hash, err_detail());
	else
		LOG_WARN("node %.16s...: first use (learn_first_use): its quote in attestation %lld is its policy %s "
			 "version %u now, unreviewed", c->ek_hash, (long long)att, name, version);
}

/* A recorded verdict in the metrics: by mode, result and failed step, and
 * how long the attestation took (not for a missed window: nobody called). */
static void record_metrics(const struct record_ctx *c, const struct session_verdict *v, int no_contact)
{
	char labels[128];

	if (v->pass || v->unjudged)
		snprintf(labels, sizeof(labels), "mode=\"%s\",result=\"%s\"", c->mode, v->pass ? "pass" : "unjudged");
	else
		snprintf(labels, sizeof(labels), "mode=\"%s\",result=\"fail\",step=\"%s\"", c->mode,
			 no_contact ? "window" : session_step_name(v->step));
	metrics_inc("attest_attestations_total", labels, 1);
	if (!no_contact && c->started_ns) {
		snprintf(labels, sizeof(labels), "mode=\"%s\"", c->mode);
		metrics_observe("attest_attestation_seconds", labels, (double)(clock_mono_ns() - c->started_ns) / 1e9);
	}
}

static int record_add(struct record_ctx *c, const struct session_verdict *v, const struct session_quote *q,
		      int no_contact, int64_t *att)
{
	struct store_attestation a;
	struct record_evidence *ev = NULL;
	struct endorsement_facts facts;
	struct store_change change;
	uint8_t ima[IMASTATE_MAX];
	size_t ima_len = 0;
	char sel[256] = "", *quoted = NULL;
	int64_t id = 0;
	int r;

	if (att)
		*att = 0;
	if (!c->store)
		return 0;
	if (c->node_id < 1)
		return err_set(AERR_STATE, "a verdict without a node");
	/* What the quote proved, for `verifier status`: a text that does not
	 * fit (or no memory for it) keeps the node's last one. */
	if (v->has_quoted && (quoted = malloc(STORE_QUOTED_MAX)) &&
	    pcr_values_format(&v->quoted.pcrs, quoted, STORE_QUOTED_MAX) != 0) {
		free(quoted);
		quoted = NULL;
	}
	memset(&a, 0, sizeof(a));
	a.node_id = c->node_id;
	a.mode = c->mode;
	a.peer = c->peer;
	a.hostname = c->host;
	a.pass = v->pass;
	a.unjudged = v->unjudged;
	a.no_contact = no_contact;
	a.target = c->target;
	a.binds_target = c->binds_target;
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
	/* A quote whose signature verified tells its counters, whatever the
	 * policy said of its values. It answers a learn request when its
	 * evidence held together: a pass, verified, or failed only by what a
	 * policy expects (the values, the boot or IMA policy), which is what
	 * learning replaces; learn_proposal checks the logs against the quote
	 * again. */
	a.verified = v->has_quoted;
	a.learnable = v->pass || v->unjudged ||
		      (v->has_quoted && (v->code == AERR_PCR_POLICY || v->code == AERR_LOG_POLICY));
	if (v->has_quoted) {
		a.reset_count = v->quoted.clock.resetCount;
		a.restart_count = v->quoted.clock.restartCount;
		a.clock = v->quoted.clock.clock;
	}
	/* The facts of a node the store has none of yet (enrolled before
	 * rules existed, or by an operator), or of a new activation: its rule
	 * groups follow from its next attestation. Once per node, not per
	 * re-attestation: parsing certificates is not free. */
	if (!no_contact && (!c->has_facts || c->activated))
		a.has_facts = record_facts(c->session, &facts, a.facts);
	/* Evidence only of quotes the TPM signed: anything else is a peer's
	 * bytes, and would only take room. */
	if (q && v->has_quoted && (ev = malloc(sizeof(*ev))))
		record_evidence(c->session ? session_quote_ak(c->session) : NULL, c->pcrs, q, ev, &a);
	if (v->pass || v->unjudged) {
		a.has_counts = 1;
		a.reset_count = v->reset_count;
		a.restart_count = v->restart_count;
		a.clock = v->clock;
		if (v->ima_state && imastate_save(v->ima_state, ima, sizeof(ima), &ima_len) == 0) {
			a.ima_state = ima;
			a.ima_state_len = ima_len;
			a.ima_reset = v->reset_count;
			a.ima_judged_by = c->ima_judged_by;
		}
		a.ima_entries = v->ima_entries;
	}
	if (c->pcrs && pcrsel_format(c->pcrs, sel, sizeof(sel)) != 0)
		sel[0] = '\0';
	a.pcr_selection = sel[0] ? sel : NULL;
	a.quoted_pcrs = quoted;
	a.policy_name = c->policy[0] ? c->policy : NULL;
	a.policy_version = c->policy_version;
	r = store_attestation_add(c->store, &a, &id, &change);
	free(quoted);
	free(ev);
	if (r != 0) {
		if (r == AERR_IDENTITY) /* bound elsewhere meanwhile: no verdict of it here */
			return r;
		r = record_store_failed("recording a verdict");

		/* A failing verdict still reaches the operator's hook: the node
		 * must lose what its passing state granted elsewhere. */
		if (!v->pass && !v->unjudged && c->state != STORE_FAILED) {
			struct store_change ch = { .changed = 1, .from = c->state, .to = STORE_FAILED };

			record_changed(c, &ch, v->reason, 0);
		}
		return r;
	}
	if (change.changed)
		record_changed(c, &change, v->pass ? "" : v->reason, id);
	record_metrics(c, v, no_contact);
	if (att)
		*att = id;
	if (a.has_facts) {
		/* Recorded: a pull session's later quote rounds parse nothing. */
		c->has_facts = 1;
		c->activated = 0;
	}
	record_first_use(c, v, &change, id);
	return 0;
}

void record_secrets(struct record_ctx *c, int64_t att, const struct session_proof *proofs, size_t n)
{
	if (!c->store || !att)
		return;
	for (size_t i = 0; i < n; i++)
		if (store_secret_add(c->store, att, c->node_id, proofs[i].name, 1) != 0)
			LOG_ERR("recording secret '%s': %s", proofs[i].name, err_detail());
}

int record_verdict(struct record_ctx *c, const struct session_verdict *v, const struct session_quote *q, int64_t *att)
{
	return record_add(c, v, q, 0, att);
}

void record_missed(struct record_ctx *c, const struct session_verdict *v)
{
	(void)record_add(c, v, NULL, 1, NULL);
}

size_t record_secret_defs(const struct record_ctx *c, const struct session *s, const struct secret_set *set,
			  const struct secret_def **out)
{
	struct secret_node node;
	const char *const *names;
	size_t n;

	if (session_reference_secrets(s, &names, &n))
		return secret_set_by_names(set, names, n, out);
	memset(&node, 0, sizeof(node));
	node.ek_hash = c->ek_hash;
	node.name = c->name;
	for (size_t i = 0; i < c->ngroups && i < SECRET_NODE_GROUPS; i++)
		node.groups[node.ngroups++] = c->groups[i];
	return secret_set_match(set, &node, out);
}

/* ------------------------------------------------------------ rejected attempts */

/* Without a store, rejected attempts are counted here: a few identities,
 * the least recent replaced. */
#define RECORD_MEM_REJECTS 64

static struct {
	pthread_mutex_t lock;
	struct {
		char key[8 + STORE_IDENTITY_MAX];
		uint64_t count;
		uint64_t last;
	} e[RECORD_MEM_REJECTS];
	uint64_t tick;
} record_mem = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t record_mem_count(const char *mode, const char *identity)
{
	char key[sizeof(record_mem.e[0].key)];
	size_t victim = 0;
	uint64_t n;

	snprintf(key, sizeof(key), "%s %s", mode, identity);
	pthread_mutex_lock(&record_mem.lock);
	record_mem.tick++;
	for (size_t i = 0; i < RECORD_MEM_REJECTS; i++) {
		if (record_mem.e[i].count && !strcmp(record_mem.e[i].key, key)) {
			victim = i;
			goto found;
		}
		if (record_mem.e[i].last < record_mem.e[victim].last)
			victim = i;
	}
	snprintf(record_mem.e[victim].key, sizeof(record_mem.e[victim].key), "%s", key);
	record_mem.e[victim].count = 0;
found:
	n = ++record_mem.e[victim].count;
	record_mem.e[victim].last = record_mem.tick;
	pthread_mutex_unlock(&record_mem.lock);
	return n;
}

void record_rejected(struct record_ctx *c, const struct session *s, const char *step, const char *reason)
{
	const struct session_verdict *v = s ? session_last_verdict(s) : NULL;
	const char *peer = c->peer ? c->peer : "";
	char hash[65] = "";
	uint64_t n = 0;

	if (v && v->code) {
		step = session_step_name(v->step);
		reason = v->reason;
	}
	if (s)
		session_claimed_ek_hash(s, hash);
	{
		char labels[96], st[48];

		snprintf(labels, sizeof(labels), "mode=\"%s\",step=\"%s\"", c->mode,
			 metrics_label(step ? step : "?", st, sizeof(st)));
		metrics_inc("attest_rejected_total", labels, 1);
	}
	if (!c->store || store_rejected_add(c->store, c->mode, peer, step, reason, hash, &n) != 0) {
		if (c->store)
			LOG_ERR("recording a rejected attempt: %s", err_detail());
		n = record_mem_count(c->mode, peer);
	}
	/* Every attempt is counted; the log hears of the 1st, 2nd, 4th, 8th...
	 * of each identity, so a flood cannot fill it. */
	if ((n & (n - 1)) == 0)
		LOG_WARN("rejected attempt %llu of peer '%s' (%s%s%.16s%s): %s: %s", (unsigned long long)n, peer,
			 c->mode, hash[0] ? ", EK claimed " : "", hash, hash[0] ? "..." : "", step ? step : "?",
			 reason ? reason : "");
}

int record_result(const struct record_ctx *c, const struct session_verdict *v, char **jwt)
{
	struct ear_input in;
	size_t certlen = 0;
	int status, r;

	*jwt = NULL;
	if (!c->results)
		return 0;
	memset(&in, 0, sizeof(in));
	in.ek_hash = c->ek_hash;
	in.name = c->name;
	in.identity = c->peer;
	in.pass = v->pass;
	in.unjudged = v->unjudged;
	in.code = v->code;
	in.step = v->pass ? "" : session_step_name(v->step);
	in.reason = v->peer_reason;
	in.policy = c->policy;
	in.policy_version = c->policy_version;
	/* A relying party's nonce when the attestor brought one (it can check
	 * that), else the quote's own. */
	in.nonce = c->session ? session_rp_nonce(c->session, &in.nonce_len) : NULL;
	if (!in.nonce) {
		in.nonce = v->nonce_len ? v->nonce : NULL;
		in.nonce_len = v->nonce_len;
	}
	in.proven = c->session && session_proven(c->session);
	in.ek_cert_required = c->ek_cert_required;
	/* A session that checked the endorsement says what it showed; one
	 * resumed from the store's record (a pre-issued quote request) stands
	 * on the node's proof, which the same rule admitted. */
	in.ek_cert_checked = c->ek_cert_required && c->session &&
			     (!session_endorsement_checked(c->session) || session_verified_ek_cert(c->session, &certlen));
	in.event_log_checked = v->event_log_checked;
	in.ima_checked = v->ima_checked;
	if ((r = result_issue(c->results, &in, jwt, &status)) != 0)
		LOG_ERR("node %.16s...: signing its attestation result: %s", c->ek_hash, err_detail());
	else
		LOG_DEBUG("node %.16s...: attestation result %s", c->ek_hash, ear_status_name(status));
	return r;
}
