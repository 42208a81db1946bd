#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "attest.pb-c.h"

#define LOG_MODULE "pull"
/* One host per driver today; room for a verifier that re-attests many. */
#define PULL_EKCACHE_SIZE 64
#include "crypto.h"
#include "log.h"
#include "pull.h"
#include "rpc.h"

/* Method indices of service Attestor, in proto declaration order. */
enum {
	M_GET_ENDORSEMENT = 0,
	M_GET_ATTESTATION_KEY = 1,
	M_ACTIVATE_CREDENTIAL = 2,
	M_QUOTE = 3,
};

struct pull_driver {
	const struct verifier_config *cfg;
	struct ekcert_trust *ek_trust;
	struct ekcert_trust *platform_trust;
	struct ekcache *ek_cache;        /* endorsements that passed with these trust stores */
	struct rpc_channel *ch;
};

static const char *const stage_names[PULL_NSTAGES] = { "endorsement", "ak", "activation", "quote" };

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
	char what[PATH_MAX + 32];

	if (cfg->require_ek_cert && (r = ekcert_trust_load(cfg->ek_roots, &d->ek_trust)) != 0) {
		snprintf(what, sizeof(what), "ek_roots %s", cfg->ek_roots);
		r = err_wrap(AERR_CONFIG, what);
		goto out;
	}
	if (cfg->platform_ca && (r = ekcert_trust_load(cfg->platform_ca, &d->platform_trust)) != 0) {
		snprintf(what, sizeof(what), "platform_ca %s", cfg->platform_ca);
		r = err_wrap(AERR_CONFIG, what);
		goto out;
	}
	if ((r = ekcache_new(PULL_EKCACHE_SIZE, &d->ek_cache)) != 0)
		goto out;
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
	ekcert_trust_free(d->ek_trust);
	ekcert_trust_free(d->platform_trust);
	ekcache_free(d->ek_cache);
	free(d);
}

/* ------------------------------------------------------------ conversions */

static int endorsement_from_proto(const Attest__V1__Endorsement *m, struct session_endorsement *e)
{
	memset(e, 0, sizeof(*e));
	if (m->n_eks > SESSION_MAX_EKS)
		return err_set(AERR_TOO_LARGE, "endorsement holds %zu EKs (at most %d)", m->n_eks, SESSION_MAX_EKS);
	for (size_t i = 0; i < m->n_eks; i++) {
		const Attest__V1__EndorsementKey *k = m->eks[i];
		if (k->alg > 0xffff)
			return err_set(AERR_PARSE, "EK %zu: algorithm %u", i, k->alg);
		e->eks[i].alg = (TPM2_ALG_ID)k->alg;
		e->eks[i].pub = k->public_.data;
		e->eks[i].pub_len = k->public_.len;
		e->eks[i].cert = k->certificate.data;
		e->eks[i].cert_len = k->certificate.len;
	}
	e->n_eks = m->n_eks;
	e->platform_cert = m->platform_certificate.data;
	e->platform_cert_len = m->platform_certificate.len;
	e->hostname = m->hostname;
	return 0;
}

/* TPM structures to wire bytes in buffers the caller frees. */
static int challenge_to_proto(const struct session_challenge *c, Attest__V1__CredentialChallenge *m,
			      uint8_t *name, size_t name_cap, uint8_t *blob, size_t blob_cap,
			      uint8_t *seed, size_t seed_cap)
{
	size_t n1 = 0, n2 = 0, n3 = 0;

	if (Tss2_MU_TPM2B_NAME_Marshal(&c->ak_name, name, name_cap, &n1) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ID_OBJECT_Marshal(&c->blob, blob, blob_cap, &n2) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&c->enc_seed, seed, seed_cap, &n3) != TSS2_RC_SUCCESS)
		return err_set(AERR_INTERNAL, "cannot marshal the credential challenge");
	m->ek_alg = c->ek_alg;
	m->ak_name.data = name;
	m->ak_name.len = n1;
	m->credential_blob.data = blob;
	m->credential_blob.len = n2;
	m->encrypted_secret.data = seed;
	m->encrypted_secret.len = n3;
	return 0;
}

/* Hostile PCR values into our struct: known banks once each, indices once
 * each, digests of the bank's size. Whether they are the quoted ones is
 * quote_verify's job. */
static int values_from_proto(const Attest__V1__QuoteResponse *m, struct pcr_values *v)
{
	memset(v, 0, sizeof(*v));
	if (m->n_pcr_values > PCRSEL_MAX_BANKS)
		return err_set(AERR_TOO_LARGE, "%zu PCR banks (at most %d)", m->n_pcr_values, PCRSEL_MAX_BANKS);
	for (size_t i = 0; i < m->n_pcr_values; i++) {
		const Attest__V1__PcrBank *pb = m->pcr_values[i];
		struct pcr_bank *b = &v->banks[i];
		size_t dsize = pb->hash_alg <= 0xffff ? crypto_digest_size((TPM2_ALG_ID)pb->hash_alg) : 0;

		if (dsize == 0)
			return err_set(AERR_UNSUPPORTED, "PCR bank algorithm 0x%x", pb->hash_alg);
		for (size_t j = 0; j < i; j++)
			if (v->banks[j].alg == pb->hash_alg)
				return err_set(AERR_PARSE, "PCR bank 0x%04x given twice", pb->hash_alg);
		b->alg = (TPMI_ALG_HASH)pb->hash_alg;
		for (size_t j = 0; j < pb->n_values; j++) {
			const Attest__V1__PcrValue *pv = pb->values[j];
			if (pv->index >= PCRSEL_NUM_PCRS)
				return err_set(AERR_PARSE, "PCR index %u", pv->index);
			if (b->mask & (1u << pv->index))
				return err_set(AERR_PARSE, "PCR %u of bank %s given twice", pv->index,
					       crypto_alg_name(b->alg));
			if (pv->digest.len != dsize)
				return err_set(AERR_PARSE, "PCR %u of bank %s: %zu bytes, expected %zu", pv->index,
					       crypto_alg_name(b->alg), pv->digest.len, dsize);
			memcpy(b->value[pv->index], pv->digest.data, dsize);
			b->mask |= 1u << pv->index;
		}
		v->nbanks++;
	}
	return 0;
}

/* ------------------------------------------------------------ the exchange */

struct run {
	struct pull_driver *d;
	struct pull_result *res;
	struct session *s;
	ProtobufCMessage *reply;
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
	if (r != 0) {
		x->res->transport = 1;
		return err_set(AERR_RPC, "transport error in %s: %s: %s",
			       attest__v1__attestor__descriptor.methods[method].name, rpc_status_name(rr.status),
			       rr.message);
	}
	return 0;
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
	if ((r = endorsement_from_proto((const Attest__V1__Endorsement *)x->reply, &e)) == 0)
		r = session_endorse(x->s, &e);
	x->res->t[PULL_ENDORSEMENT].check_ms += now_ms() - t0;
	return r;
}

static int stage_ak(struct run *x, struct session_challenge *c)
{
	Attest__V1__Empty empty = ATTEST__V1__EMPTY__INIT;
	const Attest__V1__AttestationKey *m;
	struct session_ak ak;
	double t0;
	int r;

	if ((r = rpc(x, PULL_AK, M_GET_ATTESTATION_KEY, &empty.base)) != 0)
		return r;
	t0 = now_ms();
	m = (const Attest__V1__AttestationKey *)x->reply;
	memset(&ak, 0, sizeof(ak));
	ak.pub = m->public_.data;
	ak.pub_len = m->public_.len;
	ak.parent_ek_alg = m->parent_ek_alg <= 0xffff ? (TPM2_ALG_ID)m->parent_ek_alg : TPM2_ALG_ERROR;
	r = session_ak(x->s, &ak, c);
	x->res->t[PULL_AK].check_ms += now_ms() - t0;
	return r;
}

static int stage_activation(struct run *x, const struct session_challenge *c)
{
	Attest__V1__CredentialChallenge m = ATTEST__V1__CREDENTIAL_CHALLENGE__INIT;
	const Attest__V1__CredentialResponse *resp;
	uint8_t name[sizeof(TPM2B_NAME)], blob[sizeof(TPM2B_ID_OBJECT)], seed[sizeof(TPM2B_ENCRYPTED_SECRET)];
	double t0;
	int r;

	if ((r = challenge_to_proto(c, &m, name, sizeof(name), blob, sizeof(blob), seed, sizeof(seed))) != 0)
		return r;
	if ((r = rpc(x, PULL_ACTIVATION, M_ACTIVATE_CREDENTIAL, &m.base)) != 0)
		return r;
	t0 = now_ms();
	resp = (const Attest__V1__CredentialResponse *)x->reply;
	r = session_activate(x->s, resp->secret.data, resp->secret.len);
	/* The released secret is single use; do not leave it in the reply buffer. */
	if (resp->secret.data)
		OPENSSL_cleanse(resp->secret.data, resp->secret.len);
	x->res->t[PULL_ACTIVATION].check_ms += now_ms() - t0;
	return r;
}

static int stage_quote(struct run *x)
{
	Attest__V1__QuoteRequest m = ATTEST__V1__QUOTE_REQUEST__INIT;
	Attest__V1__PcrSelection sel[TPM2_NUM_PCR_BANKS], *selp[TPM2_NUM_PCR_BANKS];
	uint32_t idx[TPM2_NUM_PCR_BANKS][PCRSEL_NUM_PCRS];
	struct session_quote_request qr;
	const Attest__V1__QuoteResponse *resp;
	struct session_quote q;
	struct pcr_values values;
	double t0 = now_ms();
	int r;

	if ((r = session_quote_request(x->s, &qr)) != 0)
		goto out;
	if (qr.pcrs.count > TPM2_NUM_PCR_BANKS) {
		r = err_set(AERR_INTERNAL, "selection of %u banks", qr.pcrs.count);
		goto out;
	}
	for (uint32_t i = 0; i < qr.pcrs.count; i++) {
		const TPMS_PCR_SELECTION *ps = &qr.pcrs.pcrSelections[i];
		Attest__V1__PcrSelection init = ATTEST__V1__PCR_SELECTION__INIT;
		sel[i] = init;
		sel[i].hash_alg = ps->hash;
		for (uint32_t p = 0; p < PCRSEL_NUM_PCRS && p / 8 < ps->sizeofSelect; p++)
			if (ps->pcrSelect[p / 8] & (1u << (p % 8)))
				idx[i][sel[i].n_pcrs++] = p;
		sel[i].pcrs = idx[i];
		selp[i] = &sel[i];
	}
	m.nonce.data = qr.nonce;
	m.nonce.len = qr.nonce_len;
	m.n_pcrs = qr.pcrs.count;
	m.pcrs = selp;
	x->res->t[PULL_QUOTE].check_ms += now_ms() - t0;
	if ((r = rpc(x, PULL_QUOTE, M_QUOTE, &m.base)) != 0)
		return r;
	t0 = now_ms();
	resp = (const Attest__V1__QuoteResponse *)x->reply;
	if ((r = values_from_proto(resp, &values)) != 0)
		goto out;
	memset(&q, 0, sizeof(q));
	q.attest = resp->attest.data;
	q.attest_len = resp->attest.len;
	q.sig = resp->signature.data;
	q.sig_len = resp->signature.len;
	q.values = &values;
	r = session_quote(x->s, &q, &x->res->verdict);
out:
	x->res->t[PULL_QUOTE].check_ms += now_ms() - t0;
	return r;
}

int pull_attest(struct pull_driver *d, struct pull_result *res)
{
	const struct verifier_config *cfg = d->cfg;
	struct session_params sp;
	struct session_challenge c;
	struct run x;
	double t0 = now_ms();
	enum pull_stage st = PULL_ENDORSEMENT;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	memset(&x, 0, sizeof(x));
	memset(&sp, 0, sizeof(sp));
	x.d = d;
	x.res = res;
	sp.ek_alg = cfg->ek_alg;
	sp.require_ek_cert = cfg->require_ek_cert;
	sp.ek_trust = d->ek_trust;
	sp.platform_trust = d->platform_trust;
	sp.ek_cache = d->ek_cache;
	sp.require_platform_cert = cfg->require_platform_cert;
	sp.ak_alg = cfg->ak_alg;
	sp.pcrs = cfg->pcrs;
	sp.nonce_ttl_ms = cfg->nonce_ttl * 1000u;
	sp.policy = &cfg->policy;
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
	if ((r = stage_activation(&x, &c)) != 0)
		goto out;
	res->stages_done++;
	st = PULL_QUOTE;
	if ((r = stage_quote(&x)) != 0)
		goto out;
	res->stages_done++;
	r = 0;
out:
	res->total_ms = now_ms() - t0;
	res->code = r;
	if (r != 0) {
		res->failed_stage = st;
		/* The session's verdict already says "<err_str>: <detail>"; other
		 * failures (transport, conversion) are formatted the same way. */
		if (x.s && session_get_state(x.s) == SESSION_FAILED)
			snprintf(res->reason, sizeof(res->reason), "%s", session_last_verdict(x.s)->reason);
		else if (r == AERR_RPC)
			snprintf(res->reason, sizeof(res->reason), "%s", err_detail());
		else
			snprintf(res->reason, sizeof(res->reason), "%s: %s", err_str(r), err_detail());
	}
	protobuf_c_message_free_unpacked(x.reply, NULL);
	OPENSSL_cleanse(&c, sizeof(c));
	session_free(x.s);
	return r;
}
