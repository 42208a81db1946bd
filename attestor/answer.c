#define LOG_MODULE "answer"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "answer.h"
#include "clock.h"
#include "crypto.h"
#include "eventlog.h"
#include "file.h"
#include "ima.h"
#include "log.h"
#include "tpmpub.h"

int answer_endorsement(struct tpm *t, struct answer_endorsement *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	attest__v1__endorsement__init(&a->msg);
	if ((r = tpm_endorsement(t, &a->e)) != 0)
		return r;
	for (size_t i = 0; i < a->e->neks; i++) {
		attest__v1__endorsement_key__init(&a->eks[i]);
		a->eks[i].alg = a->e->eks[i].alg;
		a->eks[i].public_.data = a->e->eks[i].pub;
		a->eks[i].public_.len = a->e->eks[i].pub_len;
		a->eks[i].certificate.data = a->e->eks[i].cert;
		a->eks[i].certificate.len = a->e->eks[i].cert_len;
		a->ekp[i] = &a->eks[i];
	}
	a->msg.n_eks = a->e->neks;
	a->msg.eks = a->ekp;
	a->msg.platform_certificate.data = a->e->platform_cert;
	a->msg.platform_certificate.len = a->e->platform_cert_len;
	/* Informational for the verifier's logs; never trusted there. */
	if (gethostname(a->host, sizeof(a->host) - 1) != 0)
		a->host[0] = '\0';
	a->msg.hostname = a->host;
	return 0;
}

void answer_endorsement_done(struct answer_endorsement *a)
{
	tpm_endorsement_free(a->e);
	a->e = NULL;
}

int answer_ak(struct tpm *t, struct answer_ak *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	attest__v1__attestation_key__init(&a->msg);
	if ((r = tpm_ak_get(t, &a->ak)) != 0)
		return r;
	a->msg.public_.data = a->ak.pub;
	a->msg.public_.len = a->ak.pub_len;
	a->msg.parent_ek_alg = a->ak.parent_ek_alg;
	return 0;
}

int answer_activation(struct tpm *t, const Attest__V1__CredentialChallenge *req, struct answer_activation *a)
{
	size_t len = 0;
	int r;

	memset(a, 0, sizeof(*a));
	attest__v1__credential_response__init(&a->msg);
	if (!req)
		return err_set(AERR_INVALID_ARG, "no credential challenge");
	if (req->ek_alg != TPM2_ALG_RSA && req->ek_alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "ek_alg 0x%x is neither RSA nor ECC", req->ek_alg);
	if ((r = tpm_activate_credential(t, (TPMI_ALG_PUBLIC)req->ek_alg, req->ak_name.data, req->ak_name.len,
					 req->credential_blob.data, req->credential_blob.len,
					 req->encrypted_secret.data, req->encrypted_secret.len, a->secret,
					 sizeof(a->secret), &len)) != 0)
		return r;
	a->msg.secret.data = a->secret;
	a->msg.secret.len = len;
	return 0;
}

void answer_activation_done(struct answer_activation *a)
{
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
}

/* A log file; an absent one sends nothing. */
static int answer_read_log(const char *path, size_t cap, uint8_t **buf, size_t *len)
{
	int r;

	*buf = NULL;
	*len = 0;
	if (!path || !path[0])
		return 0;
	r = file_read_all(path, cap, buf, len);
	return r == AERR_NOT_FOUND ? 0 : r;
}

static int answer_logs_add(const struct answer_logs *logs, const Attest__V1__QuoteRequest *req,
			   struct answer_quote *a)
{
	size_t len = 0, at = 0, end = 0;
	int r;

	if (!logs)
		return 0;
	if (req->want_event_log) {
		if ((r = answer_read_log(logs->event_log, EVENTLOG_MAX_LOG_SIZE, &a->event_log, &len)) != 0)
			return r;
		a->msg.event_log.data = a->event_log;
		a->msg.event_log.len = len;
	}
	if ((r = answer_read_log(logs->ima_log, IMA_MAX_LIST_SIZE, &a->ima_log, &len)) != 0 || !a->ima_log)
		return r;
	a->msg.ima_offset = req->ima_offset;
	if ((r = ima_list_offsets(a->ima_log, len, req->ima_offset, &at, &end)) == AERR_NOT_FOUND) {
		LOG_INFO("IMA list shorter than the %llu entries the verifier holds: the host rebooted; from entry 0",
			 (unsigned long long)req->ima_offset);
		a->msg.ima_offset = 0;
		r = ima_list_offsets(a->ima_log, len, 0, &at, &end);
	}
	if (r != 0)
		return r;
	a->msg.ima_log.data = a->ima_log + at;
	a->msg.ima_log.len = end - at;
	return 0;
}

int answer_quote(struct tpm *t, const struct answer_logs *logs, const Attest__V1__QuoteRequest *req,
		 struct answer_quote *a)
{
	TPML_PCR_SELECTION sel;
	int r;

	memset(a, 0, sizeof(*a));
	attest__v1__quote_response__init(&a->msg);
	if (!req)
		return err_set(AERR_INVALID_ARG, "no quote request");
	if ((r = wire_pcrsel_from_proto(req->pcrs, req->n_pcrs, &sel)) != 0)
		return r;
	if (!(a->q = malloc(sizeof(*a->q))))
		return err_set(AERR_ALLOC, "quote");
	if ((r = tpm_quote(t, req->nonce.data, req->nonce.len, &sel, a->q)) != 0)
		return r;
	a->msg.attest.data = a->q->attest;
	a->msg.attest.len = a->q->attest_len;
	a->msg.signature.data = a->q->sig;
	a->msg.signature.len = a->q->sig_len;
	wire_pcr_values_to_proto(&a->q->values, &a->values, &a->msg.pcr_values, &a->msg.n_pcr_values);
	/* After the quote: the kernel appends to a log before it extends the
	 * PCR, so logs read now cover at least what the quote does. */
	return answer_logs_add(logs, req, a);
}

void answer_quote_done(struct answer_quote *a)
{
	free(a->q);
	free(a->event_log);
	free(a->ima_log);
	a->q = NULL;
	a->event_log = a->ima_log = NULL;
}

/* ------------------------------------------------------------ secrets */

/* Everything about one secret that can be checked without the TPM. The
 * kind must agree with the object: an "AES key" that is a signing key, or
 * the reverse, would give a proof the verifier cannot check. */
static int answer_secret_check(const Attest__V1__Secret *in, struct secrets_record *rec)
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
	if ((r = wire_pcrsel_from_proto(in->policy_pcrs, in->n_policy_pcrs, &rec->sel)) != 0)
		return err_wrap(r, "policy_pcrs");
	if (in->challenge.len < ANSWER_CHALLENGE_MIN || in->challenge.len > ANSWER_CHALLENGE_MAX)
		return err_set(AERR_INVALID_ARG, "challenge of %zu bytes, expected %d..%d",
			       in->challenge.len, ANSWER_CHALLENGE_MIN, ANSWER_CHALLENGE_MAX);
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
static int answer_secret_receive(struct tpm *t, struct answer_secret *sec)
{
	struct secrets_record *rec = &sec->rec;
	const Attest__V1__Secret *in = sec->in;
	struct tpm_signature *sig = NULL;
	uint8_t key[TPM_MAX_SEALED], digest[32];
	size_t key_len = 0;
	uint64_t t0 = clock_mono_ns(), t1 = 0;
	int r;

	if ((r = tpm_import(t, rec->ek_alg, in->public_.data, in->public_.len,
			    in->duplicate.data, in->duplicate.len, in->encrypted_seed.data,
			    in->encrypted_seed.len, rec->priv, sizeof(rec->priv), &rec->priv_len)) != 0)
		goto out;
	memcpy(rec->pub, in->public_.data, in->public_.len);
	rec->pub_len = in->public_.len;
	t1 = clock_mono_ns();
	if (rec->kind == SECRETS_KIND_AES256) {
		if ((r = tpm_unseal(t, rec->ek_alg, rec->pub, rec->pub_len, rec->priv,
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
		if ((r = tpm_sign(t, rec->ek_alg, rec->pub, rec->pub_len, rec->priv,
				  rec->priv_len, &rec->sel, digest, sizeof(digest), sig)) != 0)
			goto out;
		memcpy(sec->proof, sig->wire, sig->wire_len);
		sec->proof_len = sig->wire_len;
	}
	LOG_INFO("secret '%s': import %.1f ms, %s under the PCR policy %.1f ms", rec->name,
		 (double)(t1 - t0) / 1e6, rec->kind == SECRETS_KIND_AES256 ? "unseal" : "sign",
		 (double)(clock_mono_ns() - t1) / 1e6);
	r = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(sig);
	return r;
}

int answer_secrets(struct tpm *t, const char *state_dir, const Attest__V1__SecretDelivery *req,
		   struct answer_secrets *a)
{
	size_t i, j;
	int r;

	memset(a, 0, sizeof(*a));
	attest__v1__secret_receipt__init(&a->msg);
	if (!req || req->n_secrets == 0)
		return err_set(AERR_INVALID_ARG, "no secrets in the delivery");
	if (req->n_secrets > ANSWER_MAX_SECRETS)
		return err_set(AERR_TOO_LARGE, "%zu secrets in one delivery, at most %d", req->n_secrets,
			       ANSWER_MAX_SECRETS);
	if (!(a->secs = calloc(req->n_secrets, sizeof(*a->secs))))
		return err_set(AERR_ALLOC, "secrets");
	a->n = req->n_secrets;
	/* All checks before any TPM work, so that a bad entry costs nothing. */
	for (i = 0; i < a->n; i++) {
		a->secs[i].in = req->secrets[i];
		if ((r = answer_secret_check(req->secrets[i], &a->secs[i].rec)) != 0) {
			char what[SECRETS_NAME_MAX + 32];
			snprintf(what, sizeof(what), "secret #%zu '%s'", i, a->secs[i].rec.name);
			return err_wrap(r, what);
		}
		for (j = 0; j < i; j++)
			if (strcmp(a->secs[j].rec.name, a->secs[i].rec.name) == 0)
				return err_set(AERR_INVALID_ARG, "secret '%s' appears twice in the delivery",
					       a->secs[i].rec.name);
	}
	for (i = 0; i < a->n; i++) {
		if ((r = answer_secret_receive(t, &a->secs[i])) != 0) {
			char what[SECRETS_NAME_MAX + 16];
			snprintf(what, sizeof(what), "secret '%s'", a->secs[i].rec.name);
			return err_wrap(r, what);
		}
	}
	/* Every secret imported and usable: only now does the store change. */
	for (i = 0; i < a->n; i++) {
		if ((r = secrets_store(state_dir, &a->secs[i].rec)) != 0) {
			char what[SECRETS_NAME_MAX + 24];
			snprintf(what, sizeof(what), "storing secret '%s'", a->secs[i].rec.name);
			LOG_ERR("%s: %s", what, err_detail());
			return err_wrap(r, what);
		}
		attest__v1__secret_proof__init(&a->proofs[i]);
		a->proofs[i].name = a->secs[i].rec.name;
		a->proofs[i].proof.data = a->secs[i].proof;
		a->proofs[i].proof.len = a->secs[i].proof_len;
		a->proofp[i] = &a->proofs[i];
		LOG_INFO("received secret '%s' (%s, PCR policy met)", a->secs[i].rec.name,
			 secrets_kind_name(a->secs[i].rec.kind));
	}
	a->msg.n_proofs = a->n;
	a->msg.proofs = a->proofp;
	return 0;
}

void answer_secrets_done(struct answer_secrets *a)
{
	if (a->secs) {
		OPENSSL_cleanse(a->secs, a->n * sizeof(*a->secs));
		free(a->secs);
	}
	a->secs = NULL;
	a->n = 0;
}
