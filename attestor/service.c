/* Handlers of service attest.v1.Attestor (pull mode). Each unpacks and checks
 * its request, calls tpm_*, packs the reply; no handler talks to ESYS. */
#define LOG_MODULE "service"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "attest.pb-c.h"
#include "log.h"
#include "rpc.h"
#include "service.h"
#include "tpm.h"

/* Slack for a TPM command or two, when no AK has to be created. */
#define SERVICE_TPM_MIN_MS 20

struct service {
	struct tpm *tpm;
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
		return RPC_INVALID_ARGUMENT;
	case AERR_STATE:
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

static void service_get_endorsement(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	struct tpm_endorsement *e = NULL;
	Attest__V1__Endorsement msg = ATTEST__V1__ENDORSEMENT__INIT;
	Attest__V1__EndorsementKey eks[TPM_MAX_EKS], *ekp[TPM_MAX_EKS];
	char host[256] = "";
	size_t i;
	int r;

	if (!service_time_ok(call, svc))
		goto out;
	if ((r = tpm_endorsement(svc->tpm, &e)) != 0) {
		service_fail(call, r);
		goto out;
	}
	for (i = 0; i < e->neks; i++) {
		attest__v1__endorsement_key__init(&eks[i]);
		eks[i].alg = e->eks[i].alg;
		eks[i].public_.data = e->eks[i].pub;
		eks[i].public_.len = e->eks[i].pub_len;
		eks[i].certificate.data = e->eks[i].cert;
		eks[i].certificate.len = e->eks[i].cert_len;
		ekp[i] = &eks[i];
	}
	msg.n_eks = e->neks;
	msg.eks = ekp;
	msg.platform_certificate.data = e->platform_cert;
	msg.platform_certificate.len = e->platform_cert_len;
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	msg.hostname = host;
	(void)rpc_call_reply(call, &msg.base);
out:
	tpm_endorsement_free(e);
}

static void service_get_attestation_key(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	Attest__V1__AttestationKey msg = ATTEST__V1__ATTESTATION_KEY__INIT;
	struct tpm_ak ak;
	int r;

	if (!service_time_ok(call, svc))
		return;
	if ((r = tpm_ak_get(svc->tpm, &ak)) != 0) {
		service_fail(call, r);
		return;
	}
	msg.public_.data = ak.pub;
	msg.public_.len = ak.pub_len;
	msg.parent_ek_alg = ak.parent_ek_alg;
	(void)rpc_call_reply(call, &msg.base);
}

static void service_activate_credential(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	const Attest__V1__CredentialChallenge *req = (const Attest__V1__CredentialChallenge *)in;
	Attest__V1__CredentialResponse msg = ATTEST__V1__CREDENTIAL_RESPONSE__INIT;
	uint8_t secret[sizeof(TPMU_HA)];
	size_t secret_len = 0;
	int r;

	if (req->ek_alg > 0xffff) {
		(void)rpc_call_fail(call, RPC_INVALID_ARGUMENT, "ek_alg 0x%x is not an algorithm id",
				    req->ek_alg);
		goto out;
	}
	if (!service_time_ok(call, svc))
		goto out;
	if ((r = tpm_activate_credential(svc->tpm, (TPMI_ALG_PUBLIC)req->ek_alg, req->ak_name.data,
					 req->ak_name.len, req->credential_blob.data,
					 req->credential_blob.len, req->encrypted_secret.data,
					 req->encrypted_secret.len, secret, sizeof(secret),
					 &secret_len)) != 0) {
		service_fail(call, r);
		goto out;
	}
	msg.secret.data = secret;
	msg.secret.len = secret_len;
	(void)rpc_call_reply(call, &msg.base);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
}

/* The request's selection as a TPML_PCR_SELECTION: structure checks here
 * (ranges, duplicates); tpm_quote checks banks against the TPM. */
static int service_selection(const Attest__V1__QuoteRequest *req, TPML_PCR_SELECTION *sel)
{
	size_t i, j;

	memset(sel, 0, sizeof(*sel));
	if (req->n_pcrs == 0)
		return err_set(AERR_INVALID_ARG, "no PCR bank selected");
	if (req->n_pcrs > PCRSEL_MAX_BANKS)
		return err_set(AERR_INVALID_ARG, "%zu PCR banks selected, at most %d", req->n_pcrs,
			       PCRSEL_MAX_BANKS);
	for (i = 0; i < req->n_pcrs; i++) {
		const Attest__V1__PcrSelection *b = req->pcrs[i];
		TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];

		if (b->hash_alg > 0xffff)
			return err_set(AERR_INVALID_ARG, "PCR bank hash_alg 0x%x is not an algorithm id",
				       b->hash_alg);
		s->hash = (TPMI_ALG_HASH)b->hash_alg;
		s->sizeofSelect = 3;
		for (j = 0; j < b->n_pcrs; j++) {
			uint32_t pcr = b->pcrs[j];

			if (pcr >= PCRSEL_NUM_PCRS)
				return err_set(AERR_INVALID_ARG, "bank 0x%04x: PCR index %u out of range 0..%d",
					       b->hash_alg, pcr, PCRSEL_NUM_PCRS - 1);
			if (s->pcrSelect[pcr / 8] & (1u << (pcr % 8)))
				return err_set(AERR_INVALID_ARG, "bank 0x%04x: PCR %u listed twice",
					       b->hash_alg, pcr);
			s->pcrSelect[pcr / 8] |= (uint8_t)(1u << (pcr % 8));
		}
	}
	sel->count = (uint32_t)req->n_pcrs;
	return 0;
}

static void service_quote(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	const Attest__V1__QuoteRequest *req = (const Attest__V1__QuoteRequest *)in;
	Attest__V1__QuoteResponse msg = ATTEST__V1__QUOTE_RESPONSE__INIT;
	Attest__V1__PcrBank banks[PCRSEL_MAX_BANKS], *bankp[PCRSEL_MAX_BANKS];
	Attest__V1__PcrValue vals[PCRSEL_MAX_BANKS][PCRSEL_NUM_PCRS];
	Attest__V1__PcrValue *valp[PCRSEL_MAX_BANKS][PCRSEL_NUM_PCRS];
	TPML_PCR_SELECTION sel;
	struct tpm_quote *q = NULL;
	uint32_t i, pcr;
	size_t n;
	int r;

	if ((r = service_selection(req, &sel)) != 0) {
		service_fail(call, r);
		goto out;
	}
	if (!service_time_ok(call, svc))
		goto out;
	if (!(q = malloc(sizeof(*q)))) {
		service_fail(call, err_set(AERR_ALLOC, "quote"));
		goto out;
	}
	if ((r = tpm_quote(svc->tpm, req->nonce.data, req->nonce.len, &sel, q)) != 0) {
		service_fail(call, r);
		goto out;
	}
	msg.attest.data = q->attest;
	msg.attest.len = q->attest_len;
	msg.signature.data = q->sig;
	msg.signature.len = q->sig_len;
	for (i = 0; i < q->values.nbanks; i++) {
		const struct pcr_bank *b = &q->values.banks[i];

		attest__v1__pcr_bank__init(&banks[i]);
		banks[i].hash_alg = b->alg;
		n = 0;
		for (pcr = 0; pcr < PCRSEL_NUM_PCRS; pcr++) {
			if (!(b->mask & (1u << pcr)))
				continue;
			attest__v1__pcr_value__init(&vals[i][n]);
			vals[i][n].index = pcr;
			vals[i][n].digest.data = (uint8_t *)b->value[pcr];
			vals[i][n].digest.len = crypto_digest_size(b->alg);
			valp[i][n] = &vals[i][n];
			n++;
		}
		banks[i].n_values = n;
		banks[i].values = valp[i];
		bankp[i] = &banks[i];
	}
	msg.n_pcr_values = q->values.nbanks;
	msg.pcr_values = bankp;
	/* Event log and IMA log: later issues; the fields stay empty. */
	msg.ima_offset = req->ima_offset;
	(void)rpc_call_reply(call, &msg.base);
out:
	free(q);
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
	svc->stats.m[m].calls++;
	svc->stats.m[m].ns += t0;
	/* A reset from another thread in between would make this negative. */
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

static int service_handler_table(const ProtobufCServiceDescriptor *d, rpc_handler_fn *table)
{
	static const struct {
		const char *method;
		rpc_handler_fn fn;
	} map[] = {
		{ "GetEndorsement", service_get_endorsement_timed },
		{ "GetAttestationKey", service_get_attestation_key_timed },
		{ "ActivateCredential", service_activate_credential_timed },
		{ "Quote", service_quote_timed },
		/* DeliverSecrets: a later issue; NULL answers UNIMPLEMENTED */
	};
	const ProtobufCMethodDescriptor *m;
	size_t i;

	for (i = 0; i < d->n_methods; i++)
		table[i] = NULL;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!(m = protobuf_c_service_descriptor_get_method_by_name(d, map[i].method)))
			return err_set(AERR_INTERNAL, "service %s has no method %s", d->name,
				       map[i].method);
		table[m - d->methods] = map[i].fn;
	}
	return 0;
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
	size_t i;

	*out = NULL;
	if (d->n_methods > sizeof(handlers) / sizeof(handlers[0]))
		return err_set(AERR_INTERNAL, "too many methods");
	if ((r = service_handler_table(d, handlers)) != 0)
		return r;
	if (!(svc = calloc(1, sizeof(*svc))))
		return err_set(AERR_ALLOC, "service");
	pthread_mutex_init(&svc->stats_lock, NULL);
	if ((r = tpm_open(&opts, &svc->tpm)) != 0)
		goto out;
	if ((r = tpm_ak_get(svc->tpm, &ak)) != 0)
		goto out;
	for (i = 0; i < ak.name.size; i++)
		snprintf(name_hex + 2 * i, 3, "%02x", ak.name.name[i]);
	name_hex[2 * ak.name.size] = '\0';
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
