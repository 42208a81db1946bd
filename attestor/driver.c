#define LOG_MODULE "push"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tss2/tss2_mu.h>

#include "answer.h"
#include "attest.pb-c.h"
#include "clock.h"
#include "crypto.h"
#include "driver.h"
#include "result.h"
#include "log.h"

enum { M_HELLO, M_ACTIVATE, M_SUBMIT_QUOTE, M_CONFIRM_SECRETS, M_COUNT };
static const char *const driver_method_names[M_COUNT] = { "Hello", "Activate", "SubmitQuote", "ConfirmSecrets" };

struct driver {
	const struct driver_opts *o;
	struct tpm *tpm;
	struct rpc_channel *ch;
	unsigned method[M_COUNT];     /* index in the Verifier service descriptor */
	int have_reset_count;
	uint32_t reset_count;         /* of the TPM at the last quote */
	int renew_ak;                 /* the TPM was reset: new AK before the next exchange */
	uint32_t verifier_reattest_s; /* the interval the verifier last named (0: none yet) */
	int last_status;              /* gRPC status of the last failed call */
	uint64_t deadline_ms;         /* --once --wait, clock_mono_ms: no call outlasts it (0: none) */
	int once;                     /* --once: one verdict, then exit */
	int reached;                  /* a call of this run got through TLS to the verifier */
	int refused;                  /* the last call failed on our refusal of its certificate */
	/* The last passing verdict, when it handed out the next quote request:
	 * the next re-attestation answers it without Hello. */
	Attest__V1__PushChallenge *pending;
};

/* What an answer of the verifier leads to: not an error, a way on. */
enum driver_next {
	DRIVER_NEXT_DEMAND,  /* the reply holds the verifier's next demand or its verdict */
	DRIVER_NEXT_REFUSED, /* the verifier refused our evidence: the failing verdict is in res */
	DRIVER_NEXT_HELLO,   /* the handed-out quote request is gone: start over with Hello */
};

static volatile int driver_stopping; /* set by the signal handler */

/* What is left of the deadline, in ms (0 once it has passed). */
static int64_t driver_left_ms(const struct driver *d)
{
	uint64_t now = clock_mono_ms();

	return d->deadline_ms > now ? (int64_t)(d->deadline_ms - now) : 0;
}

/* The per-call timeout, cut to what is left before the deadline. */
static int driver_timeout_ms(const struct driver *d)
{
	int64_t left;

	if (!d->deadline_ms)
		return d->o->timeout_ms;
	left = driver_left_ms(d);
	if (left < 1)
		left = 1;
	return d->o->timeout_ms > 0 && d->o->timeout_ms < left ? d->o->timeout_ms : (int)left;
}

uint32_t driver_backoff_ms(uint32_t initial, uint32_t cap, unsigned attempt, uint32_t random32)
{
	uint64_t d = initial ? initial : 1;

	for (unsigned i = 0; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* [d/2, d]: "equal jitter". */
	return (uint32_t)(d / 2 + (d - d / 2) * (uint64_t)random32 / UINT32_MAX);
}

int driver_open(const struct driver_opts *o, struct driver **out)
{
	const ProtobufCServiceDescriptor *svc = &attest__v1__verifier__descriptor;
	struct driver *d;
	struct tpm_ak ak;
	int r;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return err_set(AERR_ALLOC, "driver");
	d->o = o;
	for (int i = 0; i < M_COUNT; i++) {
		const ProtobufCMethodDescriptor *m =
			protobuf_c_service_descriptor_get_method_by_name(svc, driver_method_names[i]);
		if (!m) {
			r = err_set(AERR_INTERNAL, "service %s has no method %s", svc->name, driver_method_names[i]);
			goto fail;
		}
		d->method[i] = (unsigned)(m - svc->methods);
	}
	/* The AK first: creating an RSA AK takes a while, better before the
	 * first call than inside it. */
	if ((r = tpm_open(&o->tpm, &d->tpm)) != 0 || (r = tpm_ak_get(d->tpm, &ak)) != 0)
		goto fail;
	if ((r = rpc_channel_open(o->verifier, &o->tls, 0, &d->ch)) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	driver_close(d);
	return r;
}

void driver_close(struct driver *d)
{
	if (!d)
		return;
	if (d->pending)
		protobuf_c_message_free_unpacked(&d->pending->base, NULL);
	rpc_channel_close(d->ch);
	tpm_close(d->tpm);
	free(d);
}

/* One call to the verifier. A status that means "try again later" returns
 * AERR_RPC; a refusal of our evidence ends the exchange with a failing verdict
 * (0, *next DRIVER_NEXT_REFUSED, res filled); OK returns 0 with *reply set
 * and *next DRIVER_NEXT_DEMAND. */
static int driver_call(struct driver *d, int method, const ProtobufCMessage *in, Attest__V1__PushChallenge **reply,
		       enum driver_next *next, struct driver_result *res)
{
	struct rpc_result rr;
	ProtobufCMessage *out = NULL;
	int r;

	*reply = NULL;
	*next = DRIVER_NEXT_DEMAND;
	d->refused = 0;
	r = rpc_call_unary(d->ch, &attest__v1__verifier__descriptor, d->method[method], in, driver_timeout_ms(d), 0,
			   &out, &rr);
	if (r == 0 || rr.peer[0])
		d->reached = 1;
	if (r == 0) {
		*reply = (Attest__V1__PushChallenge *)out;
		return 0;
	}
	if (r != AERR_RPC)
		return r;
	d->last_status = rr.status;
	if (rr.ours) {
		/* We refused the verifier's certificate (its name, its CA) or
		 * it speaks no TLS: until a setting or a certificate changes,
		 * every retry ends the same way. */
		snprintf(res->reason, sizeof(res->reason), "%s: the verifier's %s; check [tls] in this attestor's "
			 "configuration against the verifier's certificate", driver_method_names[method], rr.message);
		/* That ends --once (exit 2), unless this run already reached the
		 * verifier: then the certificate on the other end changed. The
		 * service never stops on it: whatever answers at the verifier's
		 * address presents the certificate (someone on the path at boot,
		 * a local user on the verifier's port while it restarts, a clock
		 * not yet set), and an exit the unit does not restart into would
		 * hand any of them a permanent stop. Retried like a transport
		 * error, said at error level. */
		d->refused = 1;
		return err_set(d->once && !d->reached ? AERR_CONFIG : AERR_RPC, "%s", res->reason);
	}
	switch (rr.status) {
	case RPC_PERMISSION_DENIED:
	case RPC_INVALID_ARGUMENT:
	case RPC_UNIMPLEMENTED:
	case RPC_INTERNAL:
		/* The verifier looked at our evidence and said no: a verdict. */
		res->verdict = 1;
		res->pass = 0;
		snprintf(res->reason, sizeof(res->reason), "%s", rr.message);
		snprintf(res->ear, sizeof(res->ear), "%s", rr.result);
		*next = DRIVER_NEXT_REFUSED;
		return 0;
	default:
		snprintf(res->reason, sizeof(res->reason), "%s: %s: %s", driver_method_names[method],
			 rpc_status_name(rr.status), rr.message);
		return err_set(AERR_RPC, "%s", res->reason);
	}
}

/* resetCount of the TPM, from the quote we just made. */
static void driver_note_reset_count(struct driver *d, const struct tpm_quote *q, struct driver_result *res)
{
	TPM2B_ATTEST a2b;
	TPMS_ATTEST a;
	size_t off = 0;

	if (Tss2_MU_TPM2B_ATTEST_Unmarshal(q->attest, q->attest_len, &off, &a2b) != TSS2_RC_SUCCESS)
		return;
	off = 0;
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(a2b.attestationData, a2b.size, &off, &a) != TSS2_RC_SUCCESS)
		return;
	res->reset_count = a.clockInfo.resetCount;
	res->restart_count = a.clockInfo.restartCount;
	if (d->have_reset_count && d->reset_count != a.clockInfo.resetCount) {
		LOG_INFO("TPM resetCount %u -> %u: the host rebooted since the last attestation; a new AK follows",
			 d->reset_count, a.clockInfo.resetCount);
		d->renew_ak = 1;
	}
	d->have_reset_count = 1;
	d->reset_count = a.clockInfo.resetCount;
}

/* Answer one demand of the verifier; *reply is its following demand (as
 * driver_call). */
static int driver_step(struct driver *d, const Attest__V1__PushChallenge *ch, Attest__V1__PushChallenge **reply,
		       enum driver_next *next, struct driver_result *res)
{
	int r;

	*reply = NULL;
	*next = DRIVER_NEXT_DEMAND;
	if (ch->credential) {
		Attest__V1__PushActivation m = ATTEST__V1__PUSH_ACTIVATION__INIT;
		struct answer_activation a;

		if ((r = answer_activation(d->tpm, ch->credential, &a)) == 0) {
			m.session_id = ch->session_id;
			m.response = &a.msg;
			r = driver_call(d, M_ACTIVATE, &m.base, reply, next, res);
		}
		answer_activation_done(&a);
		return r;
	}
	if (ch->quote) {
		Attest__V1__PushQuote m = ATTEST__V1__PUSH_QUOTE__INIT;
		struct answer_quote a;

		if ((r = answer_quote(d->tpm, &d->o->logs, ch->quote, &a)) == 0) {
			driver_note_reset_count(d, a.q, res);
			m.session_id = ch->session_id;
			m.quote = &a.msg;
			r = driver_call(d, M_SUBMIT_QUOTE, &m.base, reply, next, res);
		}
		answer_quote_done(&a);
		return r;
	}
	if (ch->secrets) {
		Attest__V1__PushReceipt m = ATTEST__V1__PUSH_RECEIPT__INIT;
		struct answer_secrets a;

		char local[512] = "";

		/* A secret we cannot open (its PCR policy does not hold here):
		 * say so with an empty receipt, so that the verifier ends the
		 * session with a verdict instead of waiting for it to expire. */
		if ((r = answer_secrets(d->tpm, d->o->state_dir, ch->secrets, &a)) != 0) {
			snprintf(local, sizeof(local), "%s: %s", err_str(r), err_detail());
			LOG_WARN("secrets not received: %s", local);
			attest__v1__secret_receipt__init(&a.msg);
		}
		m.session_id = ch->session_id;
		m.receipt = &a.msg;
		r = driver_call(d, M_CONFIRM_SECRETS, &m.base, reply, next, res);
		answer_secrets_done(&a);
		if (local[0] && res->reason[0]) {
			size_t n = strlen(res->reason);
			snprintf(res->reason + n, sizeof(res->reason) - n, " (attestor: %s)", local);
		}
		return r;
	}
	return err_set(AERR_PARSE, "the verifier's answer demands nothing and gives no verdict");
}

/* Answer the quote request the last verdict handed out (one call). *ch is
 * the verifier's next demand (as driver_call); *next DRIVER_NEXT_HELLO when
 * the verifier no longer knows the request (it restarted, the node changed,
 * too late): say Hello instead. */
static int driver_resume(struct driver *d, Attest__V1__PushChallenge **ch, enum driver_next *next,
			 struct driver_result *res)
{
	Attest__V1__PushChallenge first = ATTEST__V1__PUSH_CHALLENGE__INIT;
	Attest__V1__PushChallenge *pending = d->pending;
	int r;

	d->pending = NULL;
	first.session_id = pending->verdict->next_session_id;
	first.quote = pending->verdict->next_quote;
	d->last_status = 0;
	r = driver_step(d, &first, ch, next, res);
	protobuf_c_message_free_unpacked(&pending->base, NULL);
	if (r == AERR_RPC && (d->last_status == RPC_NOT_FOUND || d->last_status == RPC_FAILED_PRECONDITION)) {
		LOG_INFO("the verifier no longer holds the quote request it handed out (%s): Hello", res->reason);
		err_clear();
		memset(res->reason, 0, sizeof(res->reason));
		*next = DRIVER_NEXT_HELLO;
		return 0;
	}
	return r;
}

int driver_attest(struct driver *d, struct driver_result *res)
{
	Attest__V1__PushHello hello = ATTEST__V1__PUSH_HELLO__INIT;
	Attest__V1__PushChallenge *ch = NULL, *reply = NULL;
	enum driver_next next = DRIVER_NEXT_HELLO;
	struct answer_endorsement e;
	struct answer_ak ak;
	double t0 = ((double)clock_mono_ns() / 1e6);
	int r = 0, steps;

	memset(res, 0, sizeof(*res));
	if (d->o->state_dir)
		result_clear(d->o->state_dir);
	/* A failing verdict is a status, which names no interval: keep the one
	 * the verifier named last, so a failed host is re-attested on the
	 * verifier's schedule and can pass again as soon as it is fixed. */
	res->reattest_s = d->verifier_reattest_s ? d->verifier_reattest_s : d->o->reattest_default_s;
	if (d->renew_ak) {
		/* A new AK: the verifier must hear of it in a Hello. */
		if (d->pending) {
			protobuf_c_message_free_unpacked(&d->pending->base, NULL);
			d->pending = NULL;
		}
		if ((r = tpm_ak_renew(d->tpm)) != 0)
			goto out;
		d->renew_ak = 0;
	}
	if (d->pending && !d->o->rp_nonce_len && (r = driver_resume(d, &ch, &next, res)) != 0)
		goto out;
	if (next == DRIVER_NEXT_HELLO) {
		if ((r = answer_endorsement(d->tpm, &e)) != 0)
			goto out;
		if ((r = answer_ak(d->tpm, &ak)) != 0) {
			answer_endorsement_done(&e);
			goto out;
		}
		hello.endorsement = &e.msg;
		hello.ak = &ak.msg;
		hello.rp_nonce.data = (uint8_t *)d->o->rp_nonce;
		hello.rp_nonce.len = d->o->rp_nonce_len;
		r = driver_call(d, M_HELLO, &hello.base, &ch, &next, res);
		answer_endorsement_done(&e);
		if (r != 0)
			goto out;
	}
	/* Activate, SubmitQuote, then (with secrets) ConfirmSecrets; after a
	 * reboot also a second activation and quote, and a quote again from IMA
	 * entry 0 or with a fresh nonce: a verdict within eight demands, or the
	 * verifier is not following the protocol. */
	for (steps = 0; next == DRIVER_NEXT_DEMAND && !ch->verdict && steps < 8; steps++) {
		r = driver_step(d, ch, &reply, &next, res);
		protobuf_c_message_free_unpacked(&ch->base, NULL);
		ch = reply;
		reply = NULL;
		if (r != 0)
			goto out;
	}
	if (next == DRIVER_NEXT_REFUSED) /* the failing verdict is in res */
		goto out;
	if (!ch->verdict) {
		r = err_set(AERR_PARSE, "no verdict after %d demands", steps);
		goto out;
	}
	res->verdict = 1;
	res->pass = ch->verdict->pass;
	res->unjudged = !ch->verdict->pass && ch->verdict->unjudged;
	snprintf(res->reason, sizeof(res->reason), "%s", ch->verdict->reason ? ch->verdict->reason : "");
	snprintf(res->ear, sizeof(res->ear), "%s", ch->verdict->ear ? ch->verdict->ear : "");
	/* Bounded: the verifier's own maximum, and ms of it fit an int wait. */
	if (ch->verdict->reattest_seconds)
		res->reattest_s = d->verifier_reattest_s =
			ch->verdict->reattest_seconds < DRIVER_REATTEST_MAX_S ? ch->verdict->reattest_seconds
									      : DRIVER_REATTEST_MAX_S;
	if (ch->verdict->pass && ch->verdict->next_session_id && ch->verdict->next_session_id[0] &&
	    ch->verdict->next_quote) {
		d->pending = ch; /* kept for the next round */
		ch = NULL;
	}
	r = 0;
out:
	if (ch)
		protobuf_c_message_free_unpacked(&ch->base, NULL);
	res->ms = ((double)clock_mono_ns() / 1e6) - t0;
	if (r != 0 && r != AERR_RPC && !res->reason[0])
		snprintf(res->reason, sizeof(res->reason), "%s: %s", err_str(r), err_detail());
	/* The verdict signed, for `attestor token`: a failed save costs the
	 * verdict nothing. */
	if (res->verdict && res->ear[0] && d->o->state_dir) {
		struct err_saved why;

		err_save(&why);
		if (result_save(d->o->state_dir, res->ear) != 0)
			LOG_WARN("keeping the attestation result: %s", err_detail());
		err_restore(&why);
	}
	return r;
}

static void driver_on_signal(int sig)
{
	(void)sig;
	driver_stopping = 1;
}

int driver_run(const struct driver_opts *o, int once, uint32_t wait_ms, struct driver_result *last)
{
	struct driver *d = NULL;
	struct sigaction sa;
	unsigned attempt = 0;
	int r;

	memset(last, 0, sizeof(*last));
	driver_stopping = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = driver_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((r = driver_open(o, &d)) != 0)
		return r;
	d->once = once;
	/* Counted once the TPM is open: --wait is the verifier's time. */
	if (once && wait_ms)
		d->deadline_ms = clock_mono_ms() + wait_ms;
	LOG_INFO("push mode: attesting to %s", o->verifier);
	while (!driver_stopping) {
		r = driver_attest(d, last);
		if (r == AERR_CONFIG) {
			LOG_ERR("%s", last->reason);
			break;
		}
		if (r == AERR_RPC) {
			uint32_t rnd = 0, delay;
			int64_t left = driver_left_ms(d);

			if (once && left < 1) {
				LOG_ERR("no verdict from %s within %u s: %s", o->verifier, wait_ms / 1000u, last->reason);
				break;
			}
			if (crypto_random(&rnd, sizeof(rnd)) != 0)
				rnd = UINT32_MAX / 2;
			delay = driver_backoff_ms(o->retry_initial_ms, o->retry_max_ms, attempt++, rnd);
			if (once && (int64_t)delay > left)
				delay = (uint32_t)left;
			log_msg(d->refused ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, LOG_MODULE, "verifier %s: %s; retrying in %.1f s",
				o->verifier, last->reason, delay / 1000.0);
			/* Waiting polls the channel, so it reconnects meanwhile. */
			rpc_channel_wait(d->ch, (int)delay, &driver_stopping);
			continue;
		}
		attempt = 0;
		if (r != 0)
			/* Our side failed (the TPM, a secret whose policy no longer
			 * holds): no verdict this round; try again on the interval. */
			LOG_ERR("attestation not completed: %s; next in %u s", last->reason, last->reattest_s);
		else if (last->pass)
			LOG_INFO("attestation PASS (%.1f ms); next in %u s", last->ms, last->reattest_s);
		else if (last->unjudged)
			LOG_WARN("attestation VERIFIED, unjudged: %s; next in %u s", last->reason, last->reattest_s);
		else
			LOG_WARN("attestation FAILED: %s; next in %u s", last->reason, last->reattest_s);
		if (once)
			break;
		rpc_channel_wait(d->ch, (int)((uint64_t)last->reattest_s * 1000u), &driver_stopping);
	}
	driver_close(d);
	if (r == AERR_CONFIG)
		return r;
	if (!once)
		return 0;
	if (last->verdict)
		return 0;
	return r ? r : AERR_RPC;
}
