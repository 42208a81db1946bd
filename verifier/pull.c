#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "attest.pb-c.h"

#define LOG_MODULE "pull"
#include "evidence.h"
#include "log.h"
#include "pull.h"
#include "hook.h"
#include "record.h"
#include "rpc.h"
#include "secret.h"
#include "trust.h"

/* Method indices of service Attestor, in proto declaration order. */
enum {
	M_GET_ENDORSEMENT = 0,
	M_GET_ATTESTATION_KEY = 1,
	M_ACTIVATE_CREDENTIAL = 2,
	M_QUOTE = 3,
	M_DELIVER_SECRETS = 4,
};

struct pull_driver {
	const struct verifier_config *cfg;
	struct verifier_trust trust;
	struct secret_set secrets;
	struct store *store;          /* NULL without state_dir */
	struct hook *hook;            /* NULL without hook */
	const char *target;
	struct rpc_channel *ch;
	struct session *last;         /* the last passing session: pull_requote continues it */
	char last_host[64];
	int64_t last_node;
};

static const char *const stage_names[PULL_NSTAGES] = { "endorsement", "ak", "activation", "quote", "secrets" };

const char *pull_stage_name(enum pull_stage st)
{
	return (unsigned)st < PULL_NSTAGES ? stage_names[st] : "?";
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int pull_open(const struct verifier_config *cfg, const char *target, struct pull_driver **out)
{
	struct pull_driver *d = NULL;
	struct rpc_tls tls;
	int r = AERR_INTERNAL;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return err_set(AERR_ALLOC, "out of memory");
	d->cfg = cfg;
	if ((r = trust_load(cfg, &d->trust)) != 0 ||
	    (r = secret_set_load(cfg->secrets, cfg->nsecrets, &d->secrets)) != 0 ||
	    (cfg->state_dir && (r = store_open(cfg->state_dir, &d->store)) != 0) ||
	    (r = hook_start(cfg->hook, cfg->hook_timeout_ms, &d->hook)) != 0)
		goto out;
	d->target = target;
	memset(&tls, 0, sizeof(tls));
	tls.ca_file = cfg->tls.ca;
	tls.cert_file = cfg->tls.cert;
	tls.key_file = cfg->tls.key;
	tls.server_name = cfg->tls.server_name;
	tls.insecure = cfg->tls.insecure;
	if ((r = rpc_channel_open(target, &tls, 0, &d->ch)) != 0)
		goto out;
	*out = d;
	d = NULL; /* transferred */
	r = 0;
out:
	pull_close(d);
	return r;
}

void pull_close(struct pull_driver *d)
{
	if (!d)
		return;
	rpc_channel_close(d->ch);
	session_free(d->last);
	hook_stop(d->hook);
	store_close(d->store);
	trust_free(&d->trust);
	secret_set_free(&d->secrets);
	free(d);
}

/* ------------------------------------------------------------ the exchange */

struct run {
	struct pull_driver *d;
	struct pull_result *res;
	struct session *s;
	ProtobufCMessage *reply;
	char host[64];                /* the attestor's claimed hostname (secrets by host) */
	struct record_ctx rec;
	int recorded;                 /* the verdict is in the store */
	int64_t att_id;
};

static int rpc(struct run *x, enum pull_stage st, unsigned method, const ProtobufCMessage *in)
{
	struct rpc_result rr;
	double t0 = now_ms();
	int r;

	protobuf_c_message_free_unpacked(x->reply, NULL);
	x->reply = NULL;
	memset(&rr, 0, sizeof(rr));
	r = rpc_call_unary(x->d->ch, &attest__v1__attestor__descriptor, method, in, x->d->cfg->timeout_ms, 0,
			   &x->reply, &rr);
	x->res->t[st].rpc_ms += now_ms() - t0;
	if (r == 0)
		return 0;
	/* The attestor could not be reached (or went away), or it answered
	 * with a refusal of its own: say which. */
	switch (rr.status) {
	case RPC_UNAVAILABLE:
	case RPC_DEADLINE_EXCEEDED:
	case RPC_CANCELLED:
	case RPC_UNKNOWN:
		x->res->transport = 1;
		return err_set(AERR_RPC, "transport error in %s: %s: %s",
			       attest__v1__attestor__descriptor.methods[method].name, rpc_status_name(rr.status),
			       rr.message);
	default:
		return err_set(AERR_RPC, "the attestor refused %s: %s: %s",
			       attest__v1__attestor__descriptor.methods[method].name, rpc_status_name(rr.status),
			       rr.message);
	}
}

static int stage_endorsement(struct run *x)
{
	Attest__V1__Empty empty = ATTEST__V1__EMPTY__INIT;
	struct session_endorsement e;
	double t0;
	int r;

	if ((r = rpc(x, PULL_ENDORSEMENT, M_GET_ENDORSEMENT, &empty.base)) != 0)
		return r;
	t0 = now_ms();
	if ((r = evidence_endorsement((const Attest__V1__Endorsement *)x->reply, &e)) == 0)
		r = session_endorse(x->s, &e);
	snprintf(x->host, sizeof(x->host), "%s", e.hostname ? e.hostname : "");
	if (r == 0)
		r = record_node(&x->rec, x->s, &e);
	x->res->t[PULL_ENDORSEMENT].check_ms += now_ms() - t0;
	return r;
}

static int stage_ak(struct run *x, struct session_challenge *c)
{
	Attest__V1__Empty empty = ATTEST__V1__EMPTY__INIT;
	struct session_ak ak;
	double t0;
	int r;

	if ((r = rpc(x, PULL_AK, M_GET_ATTESTATION_KEY, &empty.base)) != 0)
		return r;
	t0 = now_ms();
	if ((r = evidence_ak((const Attest__V1__AttestationKey *)x->reply, &ak)) == 0)
		r = session_ak(x->s, &ak, c);
	x->res->t[PULL_AK].check_ms += now_ms() - t0;
	return r;
}

static int stage_activation(struct run *x, const struct session_challenge *c)
{
	Attest__V1__CredentialChallenge m;
	struct evidence_challenge_buf buf;
	const Attest__V1__CredentialResponse *resp;
	double t0;
	int r;

	if ((r = evidence_challenge(c, &buf, &m)) != 0)
		return r;
	if ((r = rpc(x, PULL_ACTIVATION, M_ACTIVATE_CREDENTIAL, &m.base)) != 0)
		return r;
	t0 = now_ms();
	resp = (const Attest__V1__CredentialResponse *)x->reply;
	r = session_activate(x->s, resp->secret.data, resp->secret.len);
	/* The released secret is single use; do not leave it in the reply buffer. */
	if (resp->secret.data)
		OPENSSL_cleanse(resp->secret.data, resp->secret.len);
	if (r == 0)
		record_ak(&x->rec, x->s);
	x->res->t[PULL_ACTIVATION].check_ms += now_ms() - t0;
	return r;
}

static int stage_quote(struct run *x)
{
	Attest__V1__QuoteRequest m;
	struct wire_pcrsel_buf selbuf;
	struct session_quote_request qr;
	struct session_quote q;
	struct pcr_values values;
	double t0 = now_ms();
	int r;

	if ((r = session_quote_request(x->s, &qr)) != 0 || (r = evidence_quote_request(&qr, &selbuf, &m)) != 0)
		goto out;
	x->res->t[PULL_QUOTE].check_ms += now_ms() - t0;
	if ((r = rpc(x, PULL_QUOTE, M_QUOTE, &m.base)) != 0)
		return r;
	t0 = now_ms();
	if ((r = evidence_quote((const Attest__V1__QuoteResponse *)x->reply, &values, &q)) != 0)
		goto out;
	r = session_quote(x->s, &q, &x->res->verdict);
	/* Recorded here, while the quote's bytes are at hand. */
	if (r == 0 || session_get_state(x->s) == SESSION_FAILED) {
		x->att_id = record_verdict(&x->rec, session_last_verdict(x->s), &q);
		x->recorded = 1;
	}
out:
	x->res->t[PULL_QUOTE].check_ms += now_ms() - t0;
	return r;
}

/* A quote round; when its quote shows a reset since the AK's activation,
 * activate the AK again and quote once more. */
static int stage_quote_round(struct run *x)
{
	struct session_challenge c;
	int r, reactivated = 0;

	/* At most: the IMA list of another boot (quote again), a reboot
	 * (activate again), then the IMA list again. */
	for (int round = 0; round < 4; round++) {
		r = stage_quote(x);
		if (r == AERR_REQUOTE)
			continue;
		if (r != AERR_REACTIVATE || reactivated)
			return r;
		reactivated = 1;
		if ((r = session_reactivate(x->s, &c)) == 0)
			r = stage_activation(x, &c);
		OPENSSL_cleanse(&c, sizeof(c));
		if (r != 0)
			return r;
	}
	return r;
}

/* Secrets configured for this host, after the passing quote: deliver, check
 * every proof. No secrets for the host: nothing to do. */
static int stage_secrets(struct run *x)
{
	const struct secret_def *defs[SECRET_MAX_PER_HOST];
	const struct secret_blob *blobs;
	struct evidence_delivery_buf *buf = NULL;
	struct session_proof proofs[SECRET_MAX_PER_HOST];
	Attest__V1__SecretDelivery m;
	char ek[65];
	size_t n, np;
	double t0 = now_ms();
	int r;

	if ((r = session_ek_hash(x->s, ek)) != 0)
		goto out;
	if ((n = secret_set_match(&x->d->secrets, ek, x->host, defs)) == 0)
		goto out;
	if (!(buf = malloc(sizeof(*buf)))) {
		r = err_set(AERR_ALLOC, "delivery");
		goto out;
	}
	if ((r = session_secrets(x->s, defs, n, &blobs)) != 0 || (r = evidence_delivery(blobs, n, buf, &m)) != 0)
		goto out;
	x->res->t[PULL_SECRETS].check_ms += now_ms() - t0;
	if ((r = rpc(x, PULL_SECRETS, M_DELIVER_SECRETS, &m.base)) != 0)
		goto done;
	t0 = now_ms();
	if ((r = evidence_receipt((const Attest__V1__SecretReceipt *)x->reply, proofs, SECRET_MAX_PER_HOST, &np)) !=
		    0 ||
	    (r = session_receipt(x->s, proofs, np, &x->res->verdict)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		LOG_INFO("secret '%s' delivered to host '%s' (EK %.16s...), proof verified", defs[i]->conf->name,
			 x->host, ek);
	record_secrets(&x->rec, x->att_id, proofs, np);
	x->res->secrets = n;
out:
	x->res->t[PULL_SECRETS].check_ms += now_ms() - t0;
done:
	free(buf);
	return r;
}

/* Time, code and reason of an exchange that ended with r at stage st. */
static void pull_finish(struct run *x, double t0, int r, enum pull_stage st)
{
	struct pull_result *res = x->res;

	res->total_ms = now_ms() - t0;
	res->code = r;
	/* A session that failed before its quote was judged: its verdict too. */
	if (r != 0 && !x->recorded && x->s && session_get_state(x->s) == SESSION_FAILED)
		(void)record_verdict(&x->rec, session_last_verdict(x->s), NULL);
	/* A known node that could not be reached, or refused: a failure of it. */
	else if (r == AERR_RPC && !x->recorded && x->rec.node_id) {
		static const enum session_step steps[PULL_NSTAGES] = {
			SESSION_STEP_ENDORSEMENT, SESSION_STEP_AK, SESSION_STEP_ACTIVATION, SESSION_STEP_QUOTE,
			SESSION_STEP_SECRETS,
		};
		struct session_verdict v;

		memset(&v, 0, sizeof(v));
		v.code = r;
		v.step = steps[st < PULL_NSTAGES ? st : PULL_QUOTE];
		snprintf(v.reason, sizeof(v.reason), "%s", err_detail());
		(void)record_verdict(&x->rec, &v, NULL);
	}
	if (r == 0)
		return;
	res->failed_stage = st;
	/* The session's verdict already says "<err_str>: <detail>"; other
	 * failures (transport, conversion) are formatted the same way. */
	if (x->s && session_get_state(x->s) == SESSION_FAILED)
		snprintf(res->reason, sizeof(res->reason), "%s", session_last_verdict(x->s)->reason);
	else if (r == AERR_RPC)
		snprintf(res->reason, sizeof(res->reason), "%s", err_detail());
	else
		snprintf(res->reason, sizeof(res->reason), "%s: %s", err_str(r), err_detail());
}

int pull_attest(struct pull_driver *d, struct pull_result *res)
{
	struct session_params sp;
	struct session_challenge c;
	struct run x;
	double t0 = now_ms();
	enum pull_stage st = PULL_ENDORSEMENT;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	memset(&x, 0, sizeof(x));
	x.d = d;
	x.res = res;
	x.rec = (struct record_ctx){ .store = d->store, .hook = d->hook, .mode = "pull", .peer = d->target, .host = x.host,
				     .pcrs = &d->cfg->pcrs, .explicit_enrollment = d->cfg->explicit_enrollment };
	trust_session_params(d->cfg, &d->trust, &sp);
	err_clear();
	if ((r = session_new(&sp, &x.s)) != 0)
		goto out;
	if ((r = stage_endorsement(&x)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_AK;
	if ((r = stage_ak(&x, &c)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_ACTIVATION;
	/* An AK this TPM activated before needs no new activation. */
	if (!session_ak_preactivated(x.s) && (r = stage_activation(&x, &c)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_QUOTE;
	if ((r = stage_quote_round(&x)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_SECRETS;
	if ((r = stage_secrets(&x)) != 0)
		goto out;
	if (res->secrets)
		res->stages_done++;
	r = 0;
out:
	pull_finish(&x, t0, r, st);
	protobuf_c_message_free_unpacked(x.reply, NULL);
	OPENSSL_cleanse(&c, sizeof(c));
	/* A passing session is kept for pull_requote. */
	session_free(d->last);
	d->last = r == 0 ? x.s : NULL;
	memcpy(d->last_host, x.host, sizeof(d->last_host));
	d->last_node = x.rec.node_id;
	if (r != 0)
		session_free(x.s);
	return r;
}

void pull_wait(struct pull_driver *d, uint32_t ms, volatile const int *stop)
{
	rpc_channel_wait(d->ch, (int)ms, stop);
}

int pull_requote(struct pull_driver *d, struct pull_result *res)
{
	struct run x;
	double t0 = now_ms();
	int r;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	x.d = d;
	x.res = res;
	x.s = d->last;
	x.rec = (struct record_ctx){ .store = d->store, .hook = d->hook, .mode = "pull", .peer = d->target, .host = d->last_host,
				     .pcrs = &d->cfg->pcrs, .node_id = d->last_node,
				     .explicit_enrollment = d->cfg->explicit_enrollment };
	err_clear();
	if (!x.s) {
		r = err_set(AERR_STATE, "no passing attestation to continue");
		goto out;
	}
	r = stage_quote_round(&x);
	if (r == 0)
		res->stages_done = 1;
out:
	pull_finish(&x, t0, r, PULL_QUOTE);
	protobuf_c_message_free_unpacked(x.reply, NULL);
	if (r != 0) {
		session_free(d->last);
		d->last = NULL;
	}
	return r;
}
