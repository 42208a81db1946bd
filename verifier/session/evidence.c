#include <string.h>

#include <tss2/tss2_mu.h>

#include "session/evidence.h"

int evidence_endorsement(const Attest__V1__Endorsement *m, struct session_endorsement *out)
{
	memset(out, 0, sizeof(*out));
	if (!m)
		return err_set(AERR_PARSE, "no endorsement");
	if (m->n_eks > SESSION_MAX_EKS)
		return err_set(AERR_TOO_LARGE, "endorsement holds %zu EKs (at most %d)", m->n_eks, SESSION_MAX_EKS);
	for (size_t i = 0; i < m->n_eks; i++) {
		const Attest__V1__EndorsementKey *k = m->eks[i];

		if (k->alg > 0xffff)
			return err_set(AERR_PARSE, "EK %zu: algorithm %u", i, k->alg);
		out->eks[i].alg = (TPM2_ALG_ID)k->alg;
		out->eks[i].pub = k->public_.data;
		out->eks[i].pub_len = k->public_.len;
		out->eks[i].cert = k->certificate.data;
		out->eks[i].cert_len = k->certificate.len;
	}
	out->n_eks = m->n_eks;
	out->platform_cert = m->platform_certificate.data;
	out->platform_cert_len = m->platform_certificate.len;
	out->hostname = m->hostname;
	return 0;
}

int evidence_ak(const Attest__V1__AttestationKey *m, struct session_ak *out)
{
	memset(out, 0, sizeof(*out));
	if (!m)
		return err_set(AERR_PARSE, "no attestation key");
	out->pub = m->public_.data;
	out->pub_len = m->public_.len;
	out->parent_ek_alg = m->parent_ek_alg <= 0xffff ? (TPM2_ALG_ID)m->parent_ek_alg : TPM2_ALG_ERROR;
	return 0;
}

int evidence_challenge(const struct session_challenge *c, struct evidence_challenge_buf *buf,
		       Attest__V1__CredentialChallenge *out)
{
	size_t n1 = 0, n2 = 0, n3 = 0;

	attest__v1__credential_challenge__init(out);
	if (Tss2_MU_TPM2B_NAME_Marshal(&c->ak_name, buf->name, sizeof(buf->name), &n1) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ID_OBJECT_Marshal(&c->blob, buf->blob, sizeof(buf->blob), &n2) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&c->enc_seed, buf->seed, sizeof(buf->seed), &n3) !=
		    TSS2_RC_SUCCESS)
		return err_set(AERR_INTERNAL, "cannot marshal the credential challenge");
	out->ek_alg = c->ek_alg;
	out->ak_name.data = buf->name;
	out->ak_name.len = n1;
	out->credential_blob.data = buf->blob;
	out->credential_blob.len = n2;
	out->encrypted_secret.data = buf->seed;
	out->encrypted_secret.len = n3;
	return 0;
}

int evidence_quote_request(const struct session_quote_request *qr, struct wire_pcrsel_buf *buf,
			   Attest__V1__QuoteRequest *out)
{
	attest__v1__quote_request__init(out);
	out->nonce.data = (uint8_t *)qr->nonce;
	out->nonce.len = qr->nonce_len;
	out->ima_offset = qr->ima_offset;
	out->want_event_log = 1;
	return wire_pcrsel_to_proto(&qr->pcrs, buf, &out->pcrs, &out->n_pcrs);
}

int evidence_quote(const Attest__V1__QuoteResponse *m, struct pcr_values *values, struct session_quote *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!m)
		return err_set(AERR_PARSE, "no quote");
	if ((r = wire_pcr_values_from_proto(m->pcr_values, m->n_pcr_values, values)) != 0)
		return r;
	out->attest = m->attest.data;
	out->attest_len = m->attest.len;
	out->sig = m->signature.data;
	out->sig_len = m->signature.len;
	out->values = values;
	out->event_log = m->event_log.data;
	out->event_log_len = m->event_log.len;
	out->ima = m->ima_log.data;
	out->ima_len = m->ima_log.len;
	out->ima_first = m->ima_offset;
	return 0;
}

int evidence_delivery(const struct secret_blob *blobs, size_t n, struct evidence_delivery_buf *buf,
		      Attest__V1__SecretDelivery *out)
{
	int r;

	attest__v1__secret_delivery__init(out);
	if (n > SECRET_MAX_PER_HOST)
		return err_set(AERR_TOO_LARGE, "%zu secrets, at most %d", n, SECRET_MAX_PER_HOST);
	for (size_t i = 0; i < n; i++) {
		const struct secret_blob *b = &blobs[i];
		Attest__V1__Secret *m = &buf->sec[i];

		attest__v1__secret__init(m);
		m->name = (char *)b->def->conf->name;
		m->kind = b->def->conf->kind == SECRET_AES256 ? ATTEST__V1__SECRET_KIND__SECRET_KIND_AES256
							       : ATTEST__V1__SECRET_KIND__SECRET_KIND_RSA;
		m->ek_alg = b->ek_alg;
		m->public_.data = (uint8_t *)b->pub;
		m->public_.len = b->pub_len;
		m->duplicate.data = (uint8_t *)b->dup;
		m->duplicate.len = b->dup_len;
		m->encrypted_seed.data = (uint8_t *)b->seed;
		m->encrypted_seed.len = b->seed_len;
		m->challenge.data = (uint8_t *)b->challenge;
		m->challenge.len = sizeof(b->challenge);
		if ((r = wire_pcrsel_to_proto(&b->sel, &buf->sel[i], &m->policy_pcrs, &m->n_policy_pcrs)) != 0)
			return r;
		buf->ptr[i] = m;
	}
	out->n_secrets = n;
	out->secrets = buf->ptr;
	return 0;
}

int evidence_receipt(const Attest__V1__SecretReceipt *m, struct session_proof *proofs, size_t cap, size_t *n)
{
	*n = 0;
	if (!m)
		return err_set(AERR_PARSE, "no receipt");
	if (m->n_proofs > cap)
		return err_set(AERR_TOO_LARGE, "%zu proofs, at most %zu", m->n_proofs, cap);
	for (size_t i = 0; i < m->n_proofs; i++) {
		proofs[i].name = m->proofs[i]->name;
		proofs[i].proof = m->proofs[i]->proof.data;
		proofs[i].len = m->proofs[i]->proof.len;
	}
	*n = m->n_proofs;
	return 0;
}
