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

#include <openssl/crypto.h>

#include "attest.pb-c.h"
#include "log.h"
#include "crypto.h"
#include "rpc.h"
#include "secrets.h"
#include "service.h"
#include "tpm.h"
#include "tpmpub.h"

/* Slack for a TPM command or two, when no AK has to be created. */
#define SERVICE_TPM_MIN_MS 20
/* Import + Load + PolicyPCR + Unseal/Sign of one secret, RSA EK, swtpm. */
#define SERVICE_SECRET_MS 30

struct service {
	struct tpm *tpm;
	char state_dir[PATH_MAX];   /* the secret store lives below */
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

/* A request's selection as a TPML_PCR_SELECTION: structure checks here
 * (ranges, duplicates); tpm.c checks banks against the TPM. */
static int service_selection(size_t n_pcrs, Attest__V1__PcrSelection *const *pcrs,
			     TPML_PCR_SELECTION *sel)
{
	size_t i, j;

	memset(sel, 0, sizeof(*sel));
	if (n_pcrs == 0)
		return err_set(AERR_INVALID_ARG, "no PCR bank selected");
	if (n_pcrs > PCRSEL_MAX_BANKS)
		return err_set(AERR_INVALID_ARG, "%zu PCR banks selected, at most %d", n_pcrs,
			       PCRSEL_MAX_BANKS);
	for (i = 0; i < n_pcrs; i++) {
		const Attest__V1__PcrSelection *b = pcrs[i];
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
	sel->count = (uint32_t)n_pcrs;
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

	if ((r = service_selection(req->n_pcrs, req->pcrs, &sel)) != 0) {
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

static uint64_t service_now_ns(void);

/* One secret of a DeliverSecrets request, on its way to the store. */
struct service_secret {
	struct secrets_record rec;
	const Attest__V1__Secret *in;
	uint8_t proof[sizeof(TPMT_SIGNATURE)];
	size_t proof_len;
};

/* Everything about one secret that can be checked without the TPM. The
 * kind must agree with the object: an "AES key" that is a signing key, or
 * the reverse, would give a proof the verifier cannot check. */
static int service_secret_check(const Attest__V1__Secret *in, struct secrets_record *rec)
{
	TPMT_PUBLIC pub;
	TPMA_OBJECT a;
	int r;

	memset(rec, 0, sizeof(*rec));
	if ((r = secrets_name_check(in->name)) != 0)
		return r;
	snprintf(rec->name, sizeof(rec->name), "%s", in->name);
	if (in->kind != ATTEST__V1__SECRET_KIND__SECRET_KIND_AES256 &&
	    in->kind != ATTEST__V1__SECRET_KIND__SECRET_KIND_RSA)
		return err_set(AERR_INVALID_ARG, "kind %d is neither SECRET_KIND_AES256 nor SECRET_KIND_RSA",
			       (int)in->kind);
	rec->kind = in->kind == ATTEST__V1__SECRET_KIND__SECRET_KIND_AES256 ? SECRETS_KIND_AES256
									   : SECRETS_KIND_RSA;
	if (in->ek_alg != TPM2_ALG_RSA && in->ek_alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "ek_alg 0x%x is neither RSA (0x0001) nor ECC (0x0023)",
			       in->ek_alg);
	rec->ek_alg = (TPMI_ALG_PUBLIC)in->ek_alg;
	if ((r = service_selection(in->n_policy_pcrs, in->policy_pcrs, &rec->sel)) != 0)
		return err_wrap(r, "policy_pcrs");
	if (in->challenge.len < SERVICE_CHALLENGE_MIN || in->challenge.len > SERVICE_CHALLENGE_MAX)
		return err_set(AERR_INVALID_ARG, "challenge of %zu bytes, expected %d..%d",
			       in->challenge.len, SERVICE_CHALLENGE_MIN, SERVICE_CHALLENGE_MAX);
	if ((r = tpmpub_parse(in->public_.data, in->public_.len, &pub)) != 0)
		return err_wrap(r, "public");
	a = pub.objectAttributes;
	if (rec->kind == SECRETS_KIND_AES256 &&
	    (pub.type != TPM2_ALG_KEYEDHASH ||
	     pub.parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL ||
	     (a & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT))))
		return err_set(AERR_INVALID_ARG,
			       "kind aes256 needs a sealed data object (KEYEDHASH, scheme NULL, neither sign nor decrypt)");
	if (rec->kind == SECRETS_KIND_RSA &&
	    (pub.type != TPM2_ALG_RSA || !(a & TPMA_OBJECT_SIGN_ENCRYPT) ||
	     (a & TPMA_OBJECT_RESTRICTED)))
		return err_set(AERR_INVALID_ARG, "kind rsa needs an unrestricted RSA signing key");
	return 0;
}

/* Import one secret and use it once under its PCR policy for the proof. */
static int service_secret_receive(struct service *svc, struct service_secret *sec)
{
	struct secrets_record *rec = &sec->rec;
	const Attest__V1__Secret *in = sec->in;
	struct tpm_signature *sig = NULL;
	uint8_t key[TPM_MAX_SEALED], digest[32];
	size_t key_len = 0;
	uint64_t t0 = service_now_ns(), t1 = 0;
	int r;

	if ((r = tpm_import(svc->tpm, rec->ek_alg, in->public_.data, in->public_.len,
			    in->duplicate.data, in->duplicate.len, in->encrypted_seed.data,
			    in->encrypted_seed.len, rec->priv, sizeof(rec->priv), &rec->priv_len)) != 0)
		goto out;
	memcpy(rec->pub, in->public_.data, in->public_.len);
	rec->pub_len = in->public_.len;
	t1 = service_now_ns();
	if (rec->kind == SECRETS_KIND_AES256) {
		if ((r = tpm_unseal(svc->tpm, rec->ek_alg, rec->pub, rec->pub_len, rec->priv,
				    rec->priv_len, &rec->sel, key, sizeof(key), &key_len)) != 0)
			goto out;
		if (key_len != 32) {
			r = err_set(AERR_INVALID_ARG, "sealed data of %zu bytes, an AES-256 key is 32",
				    key_len);
			goto out;
		}
		if ((r = crypto_hmac(TPM2_ALG_SHA256, key, key_len, in->challenge.data,
				     in->challenge.len, sec->proof)) != 0)
			goto out;
		sec->proof_len = 32;
	} else {
		if (!(sig = malloc(sizeof(*sig)))) {
			r = err_set(AERR_ALLOC, "signature");
			goto out;
		}
		if ((r = crypto_digest(TPM2_ALG_SHA256, in->challenge.data, in->challenge.len,
				       digest)) != 0)
			goto out;
		if ((r = tpm_sign(svc->tpm, rec->ek_alg, rec->pub, rec->pub_len, rec->priv,
				  rec->priv_len, &rec->sel, digest, sizeof(digest), sig)) != 0)
			goto out;
		memcpy(sec->proof, sig->wire, sig->wire_len);
		sec->proof_len = sig->wire_len;
	}
	LOG_INFO("secret '%s': import %.1f ms, %s under the PCR policy %.1f ms", rec->name,
		 (double)(t1 - t0) / 1e6, rec->kind == SECRETS_KIND_AES256 ? "unseal" : "sign",
		 (double)(service_now_ns() - t1) / 1e6);
	r = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(sig);
	return r;
}

static void service_deliver_secrets(struct rpc_call *call, const ProtobufCMessage *in, void *app)
{
	struct service *svc = app;
	const Attest__V1__SecretDelivery *req = (const Attest__V1__SecretDelivery *)in;
	Attest__V1__SecretReceipt msg = ATTEST__V1__SECRET_RECEIPT__INIT;
	Attest__V1__SecretProof proofs[SERVICE_MAX_SECRETS], *proofp[SERVICE_MAX_SECRETS];
	struct service_secret *secs = NULL;
	int64_t need;
	size_t i, j;
	int r;

	if (req->n_secrets == 0) {
		service_fail(call, err_set(AERR_INVALID_ARG, "no secrets in the delivery"));
		goto out;
	}
	if (req->n_secrets > SERVICE_MAX_SECRETS) {
		service_fail(call, err_set(AERR_TOO_LARGE, "%zu secrets in one delivery, at most %d",
					   req->n_secrets, SERVICE_MAX_SECRETS));
		goto out;
	}
	if (!(secs = calloc(req->n_secrets, sizeof(*secs)))) {
		service_fail(call, err_set(AERR_ALLOC, "secrets"));
		goto out;
	}
	/* All checks before any TPM work, so that a bad entry costs nothing. */
	for (i = 0; i < req->n_secrets; i++) {
		secs[i].in = req->secrets[i];
		if ((r = service_secret_check(req->secrets[i], &secs[i].rec)) != 0) {
			(void)rpc_call_fail(call, service_status(r), "%s: secret #%zu '%s': %s",
					    err_str(r), i, secs[i].rec.name[0] ? secs[i].rec.name : "",
					    err_detail());
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(secs[j].rec.name, secs[i].rec.name) == 0) {
				service_fail(call, err_set(AERR_INVALID_ARG,
							   "secret '%s' appears twice in the delivery",
							   secs[i].rec.name));
				goto out;
			}
	}
	need = SERVICE_TPM_MIN_MS + (int64_t)req->n_secrets * SERVICE_SECRET_MS;
	if (rpc_call_time_left_ms(call) < need) {
		(void)rpc_call_fail(call, RPC_DEADLINE_EXCEEDED,
				    "%lld ms left before the deadline, %zu secrets need about %lld ms",
				    (long long)rpc_call_time_left_ms(call), req->n_secrets,
				    (long long)need);
		goto out;
	}
	for (i = 0; i < req->n_secrets; i++) {
		if ((r = service_secret_receive(svc, &secs[i])) != 0) {
			(void)rpc_call_fail(call, service_status(r), "%s: secret '%s': %s", err_str(r),
					    secs[i].rec.name, err_detail());
			goto out;
		}
	}
	/* Every secret imported and usable: only now does the store change. */
	for (i = 0; i < req->n_secrets; i++) {
		if ((r = secrets_store(svc->state_dir, &secs[i].rec)) != 0) {
			LOG_ERR("storing secret '%s': %s", secs[i].rec.name, err_detail());
			(void)rpc_call_fail(call, RPC_INTERNAL, "%s: storing secret '%s': %s",
					    err_str(r), secs[i].rec.name, err_detail());
			goto out;
		}
		attest__v1__secret_proof__init(&proofs[i]);
		proofs[i].name = secs[i].rec.name;
		proofs[i].proof.data = secs[i].proof;
		proofs[i].proof.len = secs[i].proof_len;
		proofp[i] = &proofs[i];
		LOG_INFO("received secret '%s' (%s, PCR policy met)", secs[i].rec.name,
			 secrets_kind_name(secs[i].rec.kind));
	}
	msg.n_proofs = req->n_secrets;
	msg.proofs = proofp;
	(void)rpc_call_reply(call, &msg.base);
out:
	if (secs) {
		OPENSSL_cleanse(secs, req->n_secrets * sizeof(*secs));
		free(secs);
	}
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
	if (m == SERVICE_NMETHODS) { /* DeliverSecrets */
		svc->stats.deliver.calls++;
		svc->stats.deliver.ns += t0;
		svc->stats.deliver.tpm_ns += after.ns >= before.ns ? after.ns - before.ns : 0;
	} else {
		svc->stats.m[m].calls++;
		svc->stats.m[m].ns += t0;
		svc->stats.m[m].tpm_ns += after.ns >= before.ns ? after.ns - before.ns : 0;
	}
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
/* SERVICE_NMETHODS stands for DeliverSecrets: see service_stats.deliver */
SERVICE_TIMED(SERVICE_NMETHODS, service_deliver_secrets)

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
		{ "DeliverSecrets", service_deliver_secrets_timed },
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
	snprintf(svc->state_dir, sizeof(svc->state_dir), "%s", cfg->state_dir);
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
