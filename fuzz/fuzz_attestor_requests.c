/* What the attestor reads from the verifier: the pull requests
 * (CredentialChallenge, QuoteRequest, SecretDelivery) and the push replies
 * (PushChallenge, which carries any of them and the verdict). The first
 * byte picks the message.
 *
 * The handlers (attestor/answer.c) check a request and call the TPM in one
 * function; everything they and attestor/tpm/ decode before the TPM is
 * reached here through the same functions: the unpack, wire_pcrsel_from_proto,
 * secrets_name_check, ima_list_offsets, and attestor/tpmwire.c, which
 * decodes and checks TPM2_ActivateCredential's and TPM2_Import's arguments
 * for attestor/tpm/. */
#include <string.h>

#include <tss2/tss2_mu.h>

#include "attest.pb-c.h"
#include "fuzz.h"
#include "ima.h"
#include "tpmwire.h"
#include "secrets.h"
#include "tpmpub.h"
#include "wire.h"

/* A small binary IMA list (three violation entries), as the attestor would
 * read from securityfs, to serve "entries after ima_offset" from. */
static uint8_t ima_list[3 * 64];
static size_t ima_list_len;

static void put32(uint32_t v)
{
	for (int i = 0; i < 4; i++)
		ima_list[ima_list_len++] = (uint8_t)(v >> (8 * i));
}

int fuzz_attestor_requests_init(void)
{
	fuzz_quiet();
	for (int e = 0; e < 3; e++) {
		put32(10);
		memset(ima_list + ima_list_len, 0, 20);
		ima_list_len += 20;
		put32(6);
		memcpy(ima_list + ima_list_len, "ima-ng", 6);
		ima_list_len += 6;
		put32(4);
		put32(0);
	}
	return 0;
}

static void req_credential(const Attest__V1__CredentialChallenge *c)
{
	TPM2B_NAME name;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET seed;

	if (!c)
		return;
	if (tpmwire_credential(c->ak_name.data, c->ak_name.len, c->credential_blob.data, c->credential_blob.len,
			       c->encrypted_secret.data, c->encrypted_secret.len, &name, &blob, &seed) == 0)
		FUZZ_CHECK(name.size >= 1 && name.size <= sizeof(name.name) && blob.size >= 1 &&
			   blob.size <= sizeof(blob.credential) && seed.size >= 1 && seed.size <= sizeof(seed.secret));
}

static void req_quote(const Attest__V1__QuoteRequest *q)
{
	TPML_PCR_SELECTION sel;
	size_t at = 0, end = 0;

	if (!q)
		return;
	if (wire_pcrsel_from_proto(q->pcrs, q->n_pcrs, &sel) == 0)
		FUZZ_CHECK(sel.count >= 1 && sel.count <= PCRSEL_MAX_BANKS);
	if (ima_list_offsets(ima_list, ima_list_len, q->ima_offset, &at, &end) == 0)
		FUZZ_CHECK(q->ima_offset <= 3 && at <= end && end == ima_list_len);
	else
		FUZZ_CHECK(q->ima_offset > 3);
}

static void req_secrets(const Attest__V1__SecretDelivery *d)
{
	TPML_PCR_SELECTION sel;
	TPMT_PUBLIC pub;
	TPM2B_PUBLIC p;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed;

	if (!d)
		return;
	for (size_t i = 0; i < d->n_secrets; i++) {
		const Attest__V1__Secret *s = d->secrets[i];

		if (secrets_name_check(s->name) == 0)
			FUZZ_CHECK(strlen(s->name) <= SECRETS_NAME_MAX);
		fuzz_ignore(wire_pcrsel_from_proto(s->policy_pcrs, s->n_policy_pcrs, &sel));
		fuzz_ignore(tpmpub_parse(s->public_.data, s->public_.len, &pub));
		/* What tpm_import decodes before TPM2_Import, and tpm_use before
		 * loading the stored object. */
		if (tpmwire_import(s->public_.data, s->public_.len, s->duplicate.data, s->duplicate.len,
				   s->encrypted_seed.data, s->encrypted_seed.len, &p, &dup, &seed) == 0)
			FUZZ_CHECK(!(p.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH) && dup.size >= 1 &&
				   seed.size >= 1);
		fuzz_ignore(tpmwire_stored(s->public_.data, s->public_.len, s->duplicate.data, s->duplicate.len, &p,
					   &dup));
	}
}

int fuzz_attestor_requests(const uint8_t *data, size_t size)
{
	Attest__V1__CredentialChallenge *c;
	Attest__V1__QuoteRequest *q;
	Attest__V1__SecretDelivery *d;
	Attest__V1__PushChallenge *p;

	if (size < 1)
		return 0;
	data++;
	size--;
	switch (data[-1] & 3) {
	case 0:
		if ((c = attest__v1__credential_challenge__unpack(NULL, size, data))) {
			req_credential(c);
			attest__v1__credential_challenge__free_unpacked(c, NULL);
		}
		break;
	case 1:
		if ((q = attest__v1__quote_request__unpack(NULL, size, data))) {
			req_quote(q);
			attest__v1__quote_request__free_unpacked(q, NULL);
		}
		break;
	case 2:
		if ((d = attest__v1__secret_delivery__unpack(NULL, size, data))) {
			req_secrets(d);
			attest__v1__secret_delivery__free_unpacked(d, NULL);
		}
		break;
	default:
		if ((p = attest__v1__push_challenge__unpack(NULL, size, data))) {
			req_credential(p->credential);
			req_quote(p->quote);
			req_secrets(p->secrets);
			attest__v1__push_challenge__free_unpacked(p, NULL);
		}
		break;
	}
	return 0;
}
