/* Seeds that need the software TPM or protobuf packing, written as files
 * named after what they hold into OUT/<target>/ (fuzz/seeds.sh runs this):
 *   fuzz_mkseeds OUT [EVENT_LOG [IMA_LIST]]
 * The logs, when given, go into PushQuote seeds. Every seed starts with the
 * selector byte its target reads first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "attest.pb-c.h"
#include "file.h"
#include "fuzz.h"
#include "wire.h"

#define FUZZ_QUOTE_NONCE "attest fuzz nonce, 32 bytes long"

static const char *out_dir;

static int seed_write(const char *target, const char *name, uint8_t sel, const uint8_t *data, size_t len)
{
	char path[1024];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	if (!(f = fopen(path, "wb")))
		return -1;
	ok = fwrite(&sel, 1, 1, f) == 1 && (len == 0 || fwrite(data, 1, len, f) == len);
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int seed_packed(const char *target, const char *name, uint8_t sel, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len + 1);
	int r;

	if (!buf)
		return -1;
	protobuf_c_message_pack(m, buf);
	r = seed_write(target, name, sel, buf, len);
	free(buf);
	return r;
}

/* The fixed quote the quote target expects: all-zero values of its selection. */
static int seeds_quote(void)
{
	static struct simtpm_quote q;
	TPML_PCR_SELECTION sel;

	if (pcrsel_parse("sha256:0-7+sha1:0-7", &sel) != 0 ||
	    fuzz_fake_quote((const uint8_t *)FUZZ_QUOTE_NONCE, strlen(FUZZ_QUOTE_NONCE), &sel, NULL, &q) != 0)
		return -1;
	return seed_write("quote", "attest-passing", 0, q.attest, q.attest_len) |
	       seed_write("quote", "signature-ecdsa", 1, q.sig, q.sig_len);
}

static int seeds_push(const uint8_t *elog, size_t elog_len, const uint8_t *ima, size_t ima_len)
{
	const struct fuzz_fake *f = fuzz_fake_get();
	Attest__V1__EndorsementKey ek = ATTEST__V1__ENDORSEMENT_KEY__INIT, *ekp = &ek;
	Attest__V1__Endorsement en = ATTEST__V1__ENDORSEMENT__INIT;
	Attest__V1__AttestationKey ak = ATTEST__V1__ATTESTATION_KEY__INIT;
	Attest__V1__PushHello hello = ATTEST__V1__PUSH_HELLO__INIT;
	Attest__V1__CredentialResponse cr = ATTEST__V1__CREDENTIAL_RESPONSE__INIT;
	Attest__V1__PushActivation act = ATTEST__V1__PUSH_ACTIVATION__INIT;
	Attest__V1__QuoteResponse qr = ATTEST__V1__QUOTE_RESPONSE__INIT;
	Attest__V1__PushQuote pq = ATTEST__V1__PUSH_QUOTE__INIT;
	Attest__V1__SecretProof pr = ATTEST__V1__SECRET_PROOF__INIT, *prp = &pr;
	Attest__V1__SecretReceipt rc = ATTEST__V1__SECRET_RECEIPT__INIT;
	Attest__V1__PushReceipt prc = ATTEST__V1__PUSH_RECEIPT__INIT;
	static uint8_t secret[32], proof[32];
	static char id[] = "00000000000102030405060708090a0b0c0d0e0f";
	static struct wire_pcr_values_buf vbuf;
	static struct pcr_values zero;
	TPML_PCR_SELECTION sel;
	int r = 0;

	if (!f)
		return -1;
	ek.alg = TPM2_ALG_RSA;
	ek.public_.data = (uint8_t *)f->ek_pub_wire;
	ek.public_.len = f->ek_pub_len;
	ek.certificate.data = (uint8_t *)f->ek_cert;
	ek.certificate.len = f->ek_cert_len;
	en.n_eks = 1;
	en.eks = &ekp;
	en.hostname = "fuzz-host";
	ak.public_.data = (uint8_t *)f->ak_pub_wire;
	ak.public_.len = f->ak_pub_len;
	ak.parent_ek_alg = TPM2_ALG_RSA;
	hello.endorsement = &en;
	hello.ak = &ak;
	r |= seed_packed("verifier_push", "hello-passing", 0, &hello.base);

	cr.secret.data = secret;
	cr.secret.len = sizeof(secret);
	act.session_id = id;
	act.response = &cr;
	r |= seed_packed("verifier_push", "activation", 1, &act.base);

	/* The values of the verifier_push target's selection, all zero. */
	memset(&zero, 0, sizeof(zero));
	if (pcrsel_parse("sha256:0-10,14+sha1:0-10,14", &sel) != 0)
		return -1;
	zero.nbanks = sel.count;
	for (uint32_t i = 0; i < sel.count; i++) {
		zero.banks[i].alg = sel.pcrSelections[i].hash;
		zero.banks[i].mask = pcrsel_mask(&sel, zero.banks[i].alg);
	}
	wire_pcr_values_to_proto(&zero, &vbuf, &qr.pcr_values, &qr.n_pcr_values);
	pq.session_id = id;
	pq.quote = &qr;
	r |= seed_packed("verifier_push", "quote-empty-honest", 2 | 4, &pq.base);
	qr.event_log.data = (uint8_t *)elog;
	qr.event_log.len = elog_len;
	qr.ima_log.data = (uint8_t *)ima;
	qr.ima_log.len = ima_len;
	if (elog_len || ima_len)
		r |= seed_packed("verifier_push", "quote-logs-replayed", 2 | 8, &pq.base);

	pr.name = "fuzz-secret";
	pr.proof.data = proof;
	pr.proof.len = sizeof(proof);
	rc.n_proofs = 1;
	rc.proofs = &prp;
	prc.session_id = id;
	prc.receipt = &rc;
	r |= seed_packed("verifier_push", "receipt", 3, &prc.base);
	return r;
}

static int seeds_attestor(void)
{
	static uint32_t idx[] = { 0, 1, 2, 3, 4, 5, 6, 7, 10 };
	static uint8_t name[34] = { 0, 32, 0, 0x0b }, blob[70] = { 0, 68, 0, 32 }, seed[258] = { 1, 0 };
	Attest__V1__PcrSelection ps = ATTEST__V1__PCR_SELECTION__INIT, *psp = &ps;
	Attest__V1__CredentialChallenge cc = ATTEST__V1__CREDENTIAL_CHALLENGE__INIT;
	Attest__V1__QuoteRequest q = ATTEST__V1__QUOTE_REQUEST__INIT;
	Attest__V1__Secret s = ATTEST__V1__SECRET__INIT, *sp = &s;
	Attest__V1__SecretDelivery d = ATTEST__V1__SECRET_DELIVERY__INIT;
	Attest__V1__PushChallenge pc = ATTEST__V1__PUSH_CHALLENGE__INIT;
	const struct fuzz_fake *f = fuzz_fake_get();
	static uint8_t challenge[32];
	int r = 0;

	if (!f)
		return -1;
	cc.ek_alg = TPM2_ALG_RSA;
	cc.ak_name.data = name;
	cc.ak_name.len = sizeof(name);
	cc.credential_blob.data = blob;
	cc.credential_blob.len = sizeof(blob);
	cc.encrypted_secret.data = seed;
	cc.encrypted_secret.len = sizeof(seed);
	r |= seed_packed("attestor_requests", "credential", 0, &cc.base);

	ps.hash_alg = TPM2_ALG_SHA256;
	ps.n_pcrs = ARRAY_LEN(idx);
	ps.pcrs = idx;
	q.n_pcrs = 1;
	q.pcrs = &psp;
	q.nonce.data = challenge;
	q.nonce.len = sizeof(challenge);
	q.want_event_log = 1;
	q.ima_offset = 2;
	r |= seed_packed("attestor_requests", "quote", 1, &q.base);

	s.name = "disk-key";
	s.kind = ATTEST__V1__SECRET_KIND__SECRET_KIND_AES256;
	s.ek_alg = TPM2_ALG_RSA;
	s.n_policy_pcrs = 1;
	s.policy_pcrs = &psp;
	s.public_.data = (uint8_t *)f->ak_pub_wire;
	s.public_.len = f->ak_pub_len;
	s.duplicate.data = blob;
	s.duplicate.len = sizeof(blob);
	s.encrypted_seed.data = seed;
	s.encrypted_seed.len = sizeof(seed);
	s.challenge.data = challenge;
	s.challenge.len = sizeof(challenge);
	d.n_secrets = 1;
	d.secrets = &sp;
	r |= seed_packed("attestor_requests", "secrets", 2, &d.base);

	pc.session_id = "00000000000102030405060708090a0b0c0d0e0f";
	pc.credential = &cc;
	pc.quote = &q;
	pc.secrets = &d;
	r |= seed_packed("attestor_requests", "push-challenge", 3, &pc.base);
	return r;
}

static int seeds_fake(void)
{
	const struct fuzz_fake *f = fuzz_fake_get();

	if (!f)
		return -1;
	/* tpmpub reads no selector byte: write the public without one. */
	return seed_write("tpmpub", "ek-rsa", f->ek_pub_wire[0], f->ek_pub_wire + 1, f->ek_pub_len - 1) |
	       seed_write("tpmpub", "ak-ecc", f->ak_pub_wire[0], f->ak_pub_wire + 1, f->ak_pub_len - 1) |
	       seed_write("ekcert", "ek-cert", 0, f->ek_cert, f->ek_cert_len);
}

int main(int argc, char **argv)
{
	uint8_t *elog = NULL, *ima = NULL;
	size_t elog_len = 0, ima_len = 0;
	int r;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s OUT [EVENT_LOG [IMA_LIST]]\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	fuzz_quiet();
	if ((argc > 2 && file_read_all(argv[2], 1u << 24, &elog, &elog_len) != 0) ||
	    (argc > 3 && file_read_all(argv[3], 1u << 24, &ima, &ima_len) != 0)) {
		fprintf(stderr, "fuzz_mkseeds: cannot read a log\n");
		return 1;
	}
	r = seeds_fake() | seeds_quote() | seeds_push(elog, elog_len, ima, ima_len) | seeds_attestor();
	free(elog);
	free(ima);
	if (r != 0) {
		fprintf(stderr, "fuzz_mkseeds: writing seeds into %s failed\n", out_dir);
		return 1;
	}
	return 0;
}
