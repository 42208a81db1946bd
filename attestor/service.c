/* Handlers of service attest.v1.Attestor (pull mode). Each unpacks and checks
 * its request, calls tpm_*, packs the reply; no handler talks to ESYS. */
#define LOG_MODULE "service"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "attest.pb-c.h"
#include "hex.h"
#include "log.h"
#include "answer.h"
#include "rpc.h"
#include "service.h"
#include "tpm.h"

/* Slack for a TPM command or two, when no AK has to be created. */
#define SERVICE_TPM_MIN_MS 20
/* Import + Load + PolicyPCR + Unseal/Sign of one secret, RSA EK, swtpm. */
#define SERVICE_SECRET_MS 30

struct service {
	struct tpm *tpm;
	char state_dir[PATH_MAX];   /* the secret store lives below */
	char event_log[PATH_MAX];
	char ima_log[PATH_MAX];
	struct rpc_server *srv;
	int rpc_up;
	pthread_mutex_t stats_lock;
	struct service_stats stats;
};

static struct service *service_signalled; /* for the signal handler */

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

/* Each handler answers through answer.h, as the push driver does. */
static void service_get_endorsement(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	struct answer_endorsement a;
	int r;

	(void)in;
	if (!service_time_ok(call, svc))
		return;
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
	else
		(void)rpc_call_reply(call, &a.msg.base);
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

static uint64_t service_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Run one handler and account its wall time and the ESYS time within it. */
static void service_timed(enum service_method m, rpc_handler_fn fn, struct rpc_call *call,
			  const ProtobufCMessage *in, struct service *svc)
{
	struct tpm_stats before, after;
	uint64_t t0;

	tpm_stats_get(svc->tpm, &before);
	t0 = service_now_ns();
	fn(call, in, svc);
	t0 = service_now_ns() - t0;
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

static const struct rpc_method_handler service_handlers[] = {
	{ "GetEndorsement", service_get_endorsement_timed },
	{ "GetAttestationKey", service_get_attestation_key_timed },
	{ "ActivateCredential", service_activate_credential_timed },
	{ "Quote", service_quote_timed },
	{ "DeliverSecrets", service_deliver_secrets_timed },
};

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
	if ((r = rpc_handler_table(d, service_handlers, sizeof(service_handlers) / sizeof(service_handlers[0]),
				   handlers, sizeof(handlers) / sizeof(handlers[0]))) != 0)
		return r;
	if (!(svc = calloc(1, sizeof(*svc))))
		return err_set(AERR_ALLOC, "service");
	pthread_mutex_init(&svc->stats_lock, NULL);
	snprintf(svc->state_dir, sizeof(svc->state_dir), "%s", cfg->state_dir);
	snprintf(svc->event_log, sizeof(svc->event_log), "%s", cfg->event_log);
	snprintf(svc->ima_log, sizeof(svc->ima_log), "%s", cfg->ima_log);
	if ((r = tpm_open(&opts, &svc->tpm)) != 0)
		goto out;
	if ((r = tpm_ak_get(svc->tpm, &ak)) != 0)
		goto out;
	hex_encode(ak.name.name, ak.name.size, name_hex);
	LOG_INFO("AK (%s, parent %s EK) name %s", tpm_alg_name(cfg->ak_alg),
		 tpm_alg_name(cfg->ek_alg), name_hex);
	rpc_global_init();
	svc->rpc_up = 1;
	if ((r = rpc_server_start(d, handlers, svc, &sc, &svc->srv)) != 0)
		goto out;
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
