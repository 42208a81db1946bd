/* Handlers of service attest.v1.Attestor (pull mode). Each unpacks and checks
 * its request, calls tpm_*, packs the reply; no handler talks to ESYS.
 *
 * Only the configured verifiers are answered ([tls] verifier_identity): any
 * other certificate of the CA, another attestor's say, is refused before any
 * work, since it could otherwise use this TPM as a quote oracle or a
 * credential oracle, or plant a key of its choosing with DeliverSecrets. And
 * a delivery belongs to a session: it is taken only from the identity whose
 * Quote was answered last, once, within SERVICE_SECRETS_AFTER_QUOTE_S. */
#define LOG_MODULE "service"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "array.h"
#include "attest.pb-c.h"
#include "clock.h"
#include "hex.h"
#include "log.h"
#include "answer.h"
#include "result.h"
#include "rpc.h"
#include "service.h"
#include "tpm.h"
#include "tpmpub.h"

/* Slack for a TPM command or two, when no AK has to be created. */
#define SERVICE_TPM_MIN_MS 20
/* Import + Load + PolicyPCR + Unseal/Sign of one secret, RSA EK, swtpm. */
#define SERVICE_SECRET_MS 30
/* A verifier delivers right after it checked the quote (milliseconds); a
 * minute covers a slow verifier and a TPM busy with a second AK, and keeps a
 * quote from opening deliveries for longer than its nonce lives (nonce_ttl,
 * 30 s by default, is of the same order). */
#define SERVICE_SECRETS_AFTER_QUOTE_S 60
/* Refused callers are logged once per this many ms (with a count of the
 * calls not logged in between), so that a flood of them cannot fill the log. */
#define SERVICE_REFUSED_LOG_MS 10000
/* The most bytes of a refused caller's name shown in a message or a log line. */
#define SERVICE_PEER_SHOWN 64

struct service {
	struct tpm *tpm;
	char state_dir[PATH_MAX];   /* the secret store lives below */
	char event_log[PATH_MAX];
	char ima_log[PATH_MAX];
	struct rpc_server *srv;
	int rpc_up;
	pthread_mutex_t stats_lock;
	struct service_stats stats;
	/* Whom we answer: the copied verifier_identity list; insecure = no
	 * identities exist, everyone is answered (local testing only). */
	char verifier_ids[CONFIG_VERIFIER_IDS_MAX][CONFIG_IDENTITY_MAX + 1];
	unsigned n_verifier_ids;
	int insecure;
	pthread_mutex_t session_lock; /* quoted and refused: handlers may run on any worker */
	struct {
		int open;                 /* a Quote was answered and no delivery taken since */
		char peer[CONFIG_IDENTITY_MAX + 1]; /* to whom ("" on an insecure server) */
		uint64_t at_ms;           /* when, monotonic */
		int result_taken;         /* its round's result was delivered */
	} quoted;
	struct {
		uint64_t last_ms;         /* last refusal logged; 0 = none yet */
		unsigned long quiet;      /* refusals since, not logged */
	} refused;
};

static struct service *service_signalled; /* for the signal handler */

/* Indexed by enum service_method; defined with the handlers below. */
static const struct rpc_method_handler service_handlers[SERVICE_NMETHODS];

static uint64_t service_now_ms(void)
{
	return clock_mono_ns() / 1000000u;
}

/* Our status for a project error: the caller's fault is INVALID_ARGUMENT,
 * a wrong order of steps FAILED_PRECONDITION, the rest per rpc's mapping. */
static enum rpc_status service_status(int err)
{
	switch (err) {
	case AERR_INVALID_ARG:
	case AERR_PARSE:
	case AERR_TRAILING:
	case AERR_TOO_LARGE:
	case AERR_CREDENTIAL:
	case AERR_IMPORT:
		return RPC_INVALID_ARGUMENT;
	case AERR_STATE:
	case AERR_PCR_POLICY:   /* the host's PCRs, not the request, are what is wrong */
		return RPC_FAILED_PRECONDITION;
	case AERR_TPM:
		return RPC_INTERNAL;
	default:
		return rpc_status_from_err(err);
	}
}

static void service_fail(struct rpc_call *call, int err)
{
	(void)rpc_call_fail(call, service_status(err), "%s: %s", err_str(err), err_detail());
}

/* gRPC keeps a handler running past the client's deadline: do not start
 * TPM work whose answer nobody will read. */
static int service_time_ok(struct rpc_call *call, struct service *svc)
{
	int64_t need = SERVICE_TPM_MIN_MS + tpm_ak_create_cost_ms(svc->tpm);
	int64_t left = rpc_call_time_left_ms(call);

	if (left >= need)
		return 1;
	(void)rpc_call_fail(call, RPC_DEADLINE_EXCEEDED,
			    "%lld ms left before the deadline, the TPM work needs about %lld ms",
			    (long long)left, (long long)need);
	return 0;
}

/* ------------------------------------------------------------ whom we answer */

/* The caller's name for a status message or a log line: printable ASCII,
 * quotes and backslashes escaped as \xNN like anything else, at most
 * SERVICE_PEER_SHOWN bytes of it. It comes from a certificate another party
 * chose. out holds SERVICE_PEER_SHOWN * 4 + 4 bytes. */
static void service_peer_text(const char *peer, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; peer[i] && i < SERVICE_PEER_SHOWN; i++) {
		unsigned char ch = (unsigned char)peer[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\') {
			out[o++] = (char)ch;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[ch >> 4];
		out[o++] = hex[ch & 15];
	}
	if (peer[i])
		for (int k = 0; k < 3; k++)
			out[o++] = '.';
	out[o] = '\0';
}

/* A warning for a refused caller, at most one per SERVICE_REFUSED_LOG_MS. */
static void service_refused_log(struct service *svc, enum service_method m, const char *shown)
{
	uint64_t now = service_now_ms();
	unsigned long quiet;

	pthread_mutex_lock(&svc->session_lock);
	if (svc->refused.last_ms && now - svc->refused.last_ms < SERVICE_REFUSED_LOG_MS) {
		svc->refused.quiet++;
		pthread_mutex_unlock(&svc->session_lock);
		return;
	}
	quiet = svc->refused.quiet;
	svc->refused.quiet = 0;
	svc->refused.last_ms = now ? now : 1;
	pthread_mutex_unlock(&svc->session_lock);
	if (quiet)
		LOG_WARN("refused %s from '%s': not a verifier_identity (and %lu more refused calls since the "
			 "last such line)", service_handlers[m].method, shown, quiet);
	else
		LOG_WARN("refused %s from '%s': not a verifier_identity (more within %d s are counted, not logged)",
			 service_handlers[m].method, shown, SERVICE_REFUSED_LOG_MS / 1000);
}

/* 1 when the caller is one of our verifiers; otherwise the call is answered
 * PERMISSION_DENIED with the reason, and 0. */
static int service_peer_ok(struct service *svc, enum service_method m, struct rpc_call *call)
{
	const char *peer = rpc_call_peer_identity(call);
	char shown[SERVICE_PEER_SHOWN * 4 + 4];
	unsigned i;

	if (svc->insecure)
		return 1;
	for (i = 0; peer && i < svc->n_verifier_ids; i++)
		if (strcmp(peer, svc->verifier_ids[i]) == 0)
			return 1;
	service_peer_text(peer ? peer : "", shown);
	service_refused_log(svc, m, shown);
	(void)rpc_call_fail(call, RPC_PERMISSION_DENIED,
			    "this attestor answers only its verifier (verifier_identity); '%s' is not one", shown);
	return 0;
}

/* A Quote was answered to peer: a delivery from peer may follow. */
static void service_session_open(struct service *svc, const char *peer)
{
	pthread_mutex_lock(&svc->session_lock);
	svc->quoted.open = 1;
	svc->quoted.result_taken = 0;
	snprintf(svc->quoted.peer, sizeof(svc->quoted.peer), "%s", peer ? peer : "");
	svc->quoted.at_ms = service_now_ms();
	pthread_mutex_unlock(&svc->session_lock);
}

/* Take the delivery the last answered Quote allows: peer's own, within
 * SERVICE_SECRETS_AFTER_QUOTE_S, once. AERR_STATE with the reason otherwise;
 * another verifier's attempt leaves the quote's owner its delivery. */
static int service_session_take(struct service *svc, const char *peer)
{
	uint64_t age_ms;
	int r;

	pthread_mutex_lock(&svc->session_lock);
	age_ms = service_now_ms() - svc->quoted.at_ms;
	if (!svc->quoted.open)
		r = err_set(AERR_STATE, "DeliverSecrets only after this verifier's Quote: no quote answered "
			    "since the last delivery");
	else if (strcmp(svc->quoted.peer, peer ? peer : "") != 0)
		r = err_set(AERR_STATE, "DeliverSecrets only after this verifier's Quote: the last quote was "
			    "answered to another verifier");
	else if (age_ms > SERVICE_SECRETS_AFTER_QUOTE_S * 1000u)
		r = err_set(AERR_STATE, "DeliverSecrets only within %d s of this verifier's Quote: the last "
			    "was answered %llu s ago", SERVICE_SECRETS_AFTER_QUOTE_S,
			    (unsigned long long)(age_ms / 1000u));
	else
		r = 0;
	if (r == 0 || age_ms > SERVICE_SECRETS_AFTER_QUOTE_S * 1000u)
		svc->quoted.open = 0;
	pthread_mutex_unlock(&svc->session_lock);
	return r;
}

/* A result delivery may come once per answered Quote, from the verifier it
 * was answered to, within the delivery window (the secrets, delivered
 * first, took the window for themselves: the result has its own once).
 * An older token replayed in place of the round's is refused so. */
static int service_result_take(struct service *svc, const char *peer)
{
	int r = 0;

	pthread_mutex_lock(&svc->session_lock);
	if (!svc->quoted.at_ms || strcmp(svc->quoted.peer, peer ? peer : "") != 0)
		r = err_set(AERR_STATE, "DeliverResult only from the verifier this attestor answered a Quote to last");
	else if (service_now_ms() - svc->quoted.at_ms > SERVICE_SECRETS_AFTER_QUOTE_S * 1000u)
		r = err_set(AERR_STATE, "DeliverResult only within %d s of that verifier's Quote",
			    SERVICE_SECRETS_AFTER_QUOTE_S);
	else if (svc->quoted.result_taken)
		r = err_set(AERR_STATE, "DeliverResult once per Quote: the last one's result was delivered already");
	else
		svc->quoted.result_taken = 1;
	pthread_mutex_unlock(&svc->session_lock);
	return r;
}

/* ------------------------------------------------------------ handlers */

/* Each handler answers through answer.h, as the push driver does. */
static void service_get_endorsement(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	struct answer_endorsement a;
	int r;

	(void)in;
	if (!service_time_ok(call, svc))
		return;
	/* A round starts: the last one's result no longer speaks for us. */
	result_clear(svc->state_dir);
	if ((r = answer_endorsement(svc->tpm, &a)) != 0)
		service_fail(call, r);
	else
		(void)rpc_call_reply(call, &a.msg.base);
	answer_endorsement_done(&a);
}

static void service_get_attestation_key(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	struct answer_ak a;
	int r;

	(void)in;
	if (!service_time_ok(call, svc))
		return;
	if ((r = answer_ak(svc->tpm, &a)) != 0)
		service_fail(call, r);
	else
		(void)rpc_call_reply(call, &a.msg.base);
}

static void service_activate_credential(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	struct answer_activation a;
	int r;

	if (!service_time_ok(call, svc))
		return;
	if ((r = answer_activation(svc->tpm, (const Attest__V1__CredentialChallenge *)in, &a)) != 0)
		service_fail(call, r);
	else
		(void)rpc_call_reply(call, &a.msg.base);
	answer_activation_done(&a);
}

static void service_quote(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	struct answer_quote a;
	int r;

	if (!service_time_ok(call, svc))
		return;
	struct answer_logs logs = { .event_log = svc->event_log, .ima_log = svc->ima_log };

	if ((r = answer_quote(svc->tpm, &logs, (const Attest__V1__QuoteRequest *)in, &a)) != 0)
		service_fail(call, r);
	else if (rpc_call_reply(call, &a.msg.base) == 0)
		service_session_open(svc, rpc_call_peer_identity(call));
	answer_quote_done(&a);
}

static void service_deliver_secrets(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	const Attest__V1__SecretDelivery *req = (const Attest__V1__SecretDelivery *)in;
	struct answer_secrets a;
	size_t n = req->n_secrets < ANSWER_MAX_SECRETS ? req->n_secrets : ANSWER_MAX_SECRETS;
	int64_t need = SERVICE_TPM_MIN_MS + (int64_t)n * SERVICE_SECRET_MS;
	int r;

	/* Before anything is looked at: a delivery outside a session is
	 * refused whatever it holds, and nothing reaches the store. */
	if ((r = service_session_take(svc, rpc_call_peer_identity(call))) != 0) {
		service_fail(call, r);
		return;
	}
	if (rpc_call_time_left_ms(call) < need) {
		(void)rpc_call_fail(call, RPC_DEADLINE_EXCEEDED,
				    "%lld ms left before the deadline, %zu secrets need about %lld ms",
				    (long long)rpc_call_time_left_ms(call), n, (long long)need);
		return;
	}
	if ((r = answer_secrets(svc->tpm, svc->state_dir, req, &a)) != 0)
		service_fail(call, r);
	else
		(void)rpc_call_reply(call, &a.msg.base);
	answer_secrets_done(&a);
}

/* The verdict of the round just ended, signed: kept for `attestor token`. */
static void service_deliver_result(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	const Attest__V1__AttestationResult *req = (const Attest__V1__AttestationResult *)in;
	Attest__V1__Empty out = ATTEST__V1__EMPTY__INIT;
	int r;

	if ((r = service_result_take(svc, rpc_call_peer_identity(call))) != 0 ||
	    (r = result_save(svc->state_dir, req->ear)) != 0) {
		service_fail(call, r);
		return;
	}
	LOG_INFO("attestation result of the last round kept (%s/%s)", svc->state_dir, RESULT_FILE);
	(void)rpc_call_reply(call, &out.base);
}

/* Run one handler for one of our verifiers and account its wall time and the
 * ESYS time within it; other callers are refused here, uncounted. */
static void service_timed(enum service_method m, rpc_handler_fn fn, struct rpc_call *call,
			  const ProtobufCMessage *in, struct service *svc)
{
	struct tpm_stats before, after;
	uint64_t t0;

	if (!service_peer_ok(svc, m, call))
		return;
	tpm_stats_get(svc->tpm, &before);
	t0 = clock_mono_ns();
	fn(call, in, svc);
	t0 = clock_mono_ns() - t0;
	tpm_stats_get(svc->tpm, &after);
	pthread_mutex_lock(&svc->stats_lock);
	/* A reset from another thread in between would make tpm_ns negative. */
	svc->stats.m[m].calls++;
	svc->stats.m[m].ns += t0;
	svc->stats.m[m].tpm_ns += after.ns >= before.ns ? after.ns - before.ns : 0;
	svc->stats.calls++;
	pthread_mutex_unlock(&svc->stats_lock);
}

#define SERVICE_TIMED(m, fn)                                                                 \
	static void fn##_timed(struct rpc_call *call, const ProtobufCMessage *in, void *app) \
	{                                                                                    \
		service_timed((m), fn, call, in, app);                                       \
	}
SERVICE_TIMED(SERVICE_GET_ENDORSEMENT, service_get_endorsement)
SERVICE_TIMED(SERVICE_GET_ATTESTATION_KEY, service_get_attestation_key)
SERVICE_TIMED(SERVICE_ACTIVATE_CREDENTIAL, service_activate_credential)
SERVICE_TIMED(SERVICE_QUOTE, service_quote)
SERVICE_TIMED(SERVICE_DELIVER_SECRETS, service_deliver_secrets)
SERVICE_TIMED(SERVICE_DELIVER_RESULT, service_deliver_result)

void service_pull_stats(struct service *s, struct service_stats *out)
{
	pthread_mutex_lock(&s->stats_lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->stats_lock);
}

void service_pull_stats_reset(struct service *s)
{
	pthread_mutex_lock(&s->stats_lock);
	memset(&s->stats, 0, sizeof(s->stats));
	pthread_mutex_unlock(&s->stats_lock);
}

struct tpm *service_pull_tpm(struct service *s)
{
	return s->tpm;
}

static void service_on_signal(int sig)
{
	(void)sig;
	service_pull_stop(service_signalled);
}

static const struct rpc_method_handler service_handlers[SERVICE_NMETHODS] = {
	[SERVICE_GET_ENDORSEMENT] = { "GetEndorsement", service_get_endorsement_timed },
	[SERVICE_GET_ATTESTATION_KEY] = { "GetAttestationKey", service_get_attestation_key_timed },
	[SERVICE_ACTIVATE_CREDENTIAL] = { "ActivateCredential", service_activate_credential_timed },
	[SERVICE_QUOTE] = { "Quote", service_quote_timed },
	[SERVICE_DELIVER_SECRETS] = { "DeliverSecrets", service_deliver_secrets_timed },
	[SERVICE_DELIVER_RESULT] = { "DeliverResult", service_deliver_result_timed },
};

/* Whom this attestor answers, once at start. */
static void service_log_verifiers(const struct service *svc)
{
	char list[CONFIG_VERIFIER_IDS_MAX * (CONFIG_IDENTITY_MAX + 4) + 1];
	size_t o = 0;

	if (svc->insecure) {
		LOG_WARN("insecure = true: every caller is answered, without TLS (local testing only)");
		return;
	}
	list[0] = '\0';
	for (unsigned i = 0; i < svc->n_verifier_ids; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s'%s'", i ? ", " : "", svc->verifier_ids[i]);
	LOG_INFO("answering only verifier_identity %s", list);
}

int service_pull_start(const struct attestor_config *cfg, struct service **out)
{
	const ProtobufCServiceDescriptor *d = &attest__v1__attestor__descriptor;
	struct tpm_opts opts = { .tcti = cfg->tcti, .ek_alg = cfg->ek_alg, .ak_alg = cfg->ak_alg };
	struct rpc_server_config sc = {
		.listen = cfg->listen,
		.tls = { .ca_file = cfg->tls.ca, .cert_file = cfg->tls.cert, .key_file = cfg->tls.key,
			 .insecure = cfg->tls.insecure },
	};
	rpc_handler_fn handlers[16];
	struct service *svc = NULL;
	struct tpm_ak ak;
	char name_hex[2 * sizeof(ak.name.name) + 1];
	int r;

	*out = NULL;
	/* The config loader refuses this too; a caller that builds its own
	 * config (the benchmark) must not get an attestor that answers anyone. */
	if (!cfg->tls.insecure && (cfg->n_verifier_ids == 0 || cfg->n_verifier_ids > CONFIG_VERIFIER_IDS_MAX))
		return err_set(AERR_CONFIG, "pull mode over TLS needs 1..%d verifier_identity names, not %u",
			       CONFIG_VERIFIER_IDS_MAX, cfg->n_verifier_ids);
	if ((r = rpc_handler_table(d, service_handlers, ARRAY_LEN(service_handlers),
				   handlers, ARRAY_LEN(handlers))) != 0)
		return r;
	if (!(svc = calloc(1, sizeof(*svc))))
		return err_set(AERR_ALLOC, "service");
	pthread_mutex_init(&svc->stats_lock, NULL);
	pthread_mutex_init(&svc->session_lock, NULL);
	memcpy(svc->verifier_ids, cfg->verifier_ids, sizeof(svc->verifier_ids));
	svc->n_verifier_ids = cfg->n_verifier_ids;
	svc->insecure = cfg->tls.insecure;
	snprintf(svc->state_dir, sizeof(svc->state_dir), "%s", cfg->state_dir);
	snprintf(svc->event_log, sizeof(svc->event_log), "%s", cfg->event_log);
	snprintf(svc->ima_log, sizeof(svc->ima_log), "%s", cfg->ima_log);
	if ((r = tpm_open(&opts, &svc->tpm)) != 0)
		goto out;
	if ((r = tpm_ak_get(svc->tpm, &ak)) != 0)
		goto out;
	hex_encode(ak.name.name, ak.name.size, name_hex);
	LOG_INFO("AK (%s, parent %s EK) name %s", tpmpub_type_name(cfg->ak_alg),
		 tpmpub_type_name(cfg->ek_alg), name_hex);
	rpc_global_init();
	svc->rpc_up = 1;
	if ((r = rpc_server_start(d, handlers, svc, &sc, &svc->srv)) != 0)
		goto out;
	service_log_verifiers(svc);
	*out = svc;
	svc = NULL; /* transferred */
	r = 0;
out:
	service_pull_free(svc);
	return r;
}

int service_pull_port(const struct service *s)
{
	return rpc_server_port(s->srv);
}

int service_pull_serve(struct service *s)
{
	return rpc_server_run(s->srv);
}

void service_pull_stop(struct service *s)
{
	if (s)
		rpc_server_stop(s->srv);
}

void service_pull_free(struct service *s)
{
	if (!s)
		return;
	rpc_server_free(s->srv);
	if (s->rpc_up)
		rpc_global_shutdown();
	tpm_close(s->tpm);
	pthread_mutex_destroy(&s->stats_lock);
	pthread_mutex_destroy(&s->session_lock);
	free(s);
}

int service_pull_run(const struct attestor_config *cfg)
{
	struct service *svc = NULL;
	struct sigaction sa;
	int r;

	if ((r = service_pull_start(cfg, &svc)) != 0)
		goto out;
	service_signalled = svc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = service_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = service_pull_serve(svc);
	LOG_INFO("stopping");
out:
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	service_signalled = NULL;
	service_pull_free(svc);
	return r;
}
