/* The verifier's push handlers (verifier/push/service.c) and pull driver
 * (verifier/pull/driver.c) without the transport: a request unpacked from hostile
 * bytes, converted by session/evidence.c, fed to a session whose earlier steps the
 * software TPM (fuzz_fake.c, tests/simtpm) completed honestly. The first byte picks the
 * message (low 2 bits) and, for quotes, how honest the harness makes it:
 *   0 PushHello       endorsement and AK against the software CA
 *   1 PushActivation  the credential response to a real challenge
 *   2 PushQuote       after a real activation and quote request; with bit 2
 *                     the harness replaces attest and signature by a quote
 *                     the AK signs over the sent values, and with bit 3 it
 *                     first sets those values to what the sent boot log and
 *                     IMA list replay to, so the log checks and the boot and
 *                     IMA policies judge hostile logs
 *   3 PushReceipt     proofs for a secret delivered after a passing quote */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "attest.pb-c.h"
#include "session/keycache.h"
#include "session/evidence.h"
#include "fuzz.h"
#include "session/session.h"

static struct ekcert_trust *trust;
static struct keycache *cache;
static struct bootpolicy *boot;
static struct imapolicy *imap;
static struct secret_conf sconf;
static struct secret_set secrets;
static struct session_params params;

/* Loose enough that real logs pass it and reach the IMA policy (the
 * eventlog target judges logs with a strict one). */
static const char boot_json[] = "{ \"secure_boot\": false }\n";
static const char ima_json[] =
	"{ \"allow\": { \"boot_aggregate\": [\"sha1:0000000000000000000000000000000000000000\"] },\n"
	"  \"exclude\": [\"^/usr/\"], \"keyrings\": { \".ima\": [] } }\n";

int fuzz_verifier_push_init(void)
{
	static char key_path[300];
	const struct fuzz_fake *f;
	uint8_t key[32] = { 1, 2, 3 };
	const char *p;
	FILE *kf;

	fuzz_quiet();
	if (!(f = fuzz_fake_get()) || ekcert_trust_load(f->trust_dir, &trust) != 0 || keycache_new(16, &cache) != 0)
		return -1;
	if (!(p = fuzz_memfile(3, (const uint8_t *)boot_json, sizeof(boot_json) - 1)) || bootpolicy_load(p, &boot) != 0 ||
	    !(p = fuzz_memfile(3, (const uint8_t *)ima_json, sizeof(ima_json) - 1)) || imapolicy_load(p, &imap) != 0)
		return -1;
	snprintf(key_path, sizeof(key_path), "%s/secret.key", fuzz_tmpdir());
	if (!(kf = fopen(key_path, "wb")) || fwrite(key, 1, sizeof(key), kf) != sizeof(key) || fclose(kf) != 0 ||
	    chmod(key_path, 0600) != 0) /* the key-file rule of secret_set_load */
		return -1;
	snprintf(sconf.name, sizeof(sconf.name), "fuzz-secret");
	sconf.kind = SECRET_AES256;
	sconf.key = key_path;
	if (secret_set_load(&sconf, 1, &secrets) != 0)
		return -1;
	params.ek_alg = TPM2_ALG_RSA;
	params.require_ek_cert = 1;
	params.ek_trust = trust;
	params.ek_cache = cache;
	params.ak_alg = TPM2_ALG_NULL;
	params.nonce_ttl_ms = 3600u * 1000u;
	params.eventlog_pcrs = 0x43ff;     /* 0-9 and 14 */
	params.boot_policy = boot;
	params.ima_policy = imap;
	params.has_reference = 1;
	return pcrsel_parse("sha256:0-10,14+sha1:0-10,14", &params.pcrs) == 0 ? 0 : -1;
}

/* Endorse and AK with the software TPM: the session is AK_ADMITTED. */
static struct session *push_admitted(struct session_challenge *ch)
{
	const struct fuzz_fake *f = fuzz_fake_get();
	struct session_endorsement en = { .n_eks = 1, .hostname = "fuzz" };
	struct session_ak ak = { .pub = f->ak_pub_wire, .pub_len = f->ak_pub_len, .parent_ek_alg = TPM2_ALG_RSA };
	struct session *s = NULL;

	en.eks[0] = (struct session_ek){ .alg = TPM2_ALG_RSA, .pub = f->ek_pub_wire, .pub_len = f->ek_pub_len,
					 .cert = f->ek_cert, .cert_len = f->ek_cert_len };
	FUZZ_CHECK(session_new(&params, &s) == 0);
	FUZZ_CHECK(session_endorse(s, &en) == 0);
	FUZZ_CHECK(session_ak(s, &ak, ch) == 0);
	return s;
}

/* ... and activated: quotes may be requested. */
static struct session *push_activated(void)
{
	const struct fuzz_fake *f = fuzz_fake_get();
	struct session_challenge ch;
	uint8_t secret[64];
	size_t len = 0;
	struct session *s = push_admitted(&ch);

	FUZZ_CHECK(simtpm_activate(f->tpm, &ch.blob, &ch.enc_seed, secret, sizeof(secret), &len) == 0);
	FUZZ_CHECK(session_activate(s, secret, len) == 0);
	return s;
}

static void push_hello(const uint8_t *data, size_t size)
{
	Attest__V1__PushHello *req = attest__v1__push_hello__unpack(NULL, size, data);
	struct session_endorsement en;
	struct session_ak ak;
	struct session_challenge ch;
	struct evidence_challenge_buf buf;
	Attest__V1__CredentialChallenge cm;
	static uint8_t packed[4096];
	struct session *s = NULL;

	if (!req)
		return;
	if (evidence_endorsement(req->endorsement, &en) != 0 || evidence_ak(req->ak, &ak) != 0)
		goto out;
	FUZZ_CHECK(en.n_eks <= SESSION_MAX_EKS);
	FUZZ_CHECK(session_new(&params, &s) == 0);
	if (session_endorse(s, &en) != 0 || session_ak(s, &ak, &ch) != 0)
		goto out;
	FUZZ_CHECK(session_get_state(s) == SESSION_AK_ADMITTED);
	if (evidence_challenge(&ch, &buf, &cm) == 0 &&
	    attest__v1__credential_challenge__get_packed_size(&cm) <= sizeof(packed))
		(void)attest__v1__credential_challenge__pack(&cm, packed);
out:
	session_free(s);
	attest__v1__push_hello__free_unpacked(req, NULL);
}

static void push_activation(const uint8_t *data, size_t size)
{
	Attest__V1__PushActivation *req = attest__v1__push_activation__unpack(NULL, size, data);
	struct session_challenge ch;
	struct session_quote_request qr;
	struct wire_pcrsel_buf selbuf;
	Attest__V1__QuoteRequest qm;
	struct session *s;

	if (!req)
		return;
	s = push_admitted(&ch);
	if (req->response && session_activate(s, req->response->secret.data, req->response->secret.len) == 0) {
		/* Only the secret the credential carried activates. */
		FUZZ_CHECK(session_quote_request(s, &qr) == 0);
		FUZZ_CHECK(evidence_quote_request(&qr, &selbuf, &qm) == 0);
	} else {
		FUZZ_CHECK(session_get_state(s) == SESSION_FAILED || !req->response);
	}
	session_free(s);
	attest__v1__push_activation__free_unpacked(req, NULL);
}

/* Set values to what the sent logs replay to, for the selected PCRs they cover. */
static void push_values_from_logs(const struct session_quote *q, const TPML_PCR_SELECTION *sel,
				  struct pcr_values *values)
{
	static const TPM2_ALG_ID ima_banks[2] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };
	static uint8_t pcr[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	static struct ima_replay_state st;
	struct eventlog *log = NULL;

	memset(values, 0, sizeof(*values));
	for (uint32_t i = 0; i < sel->count; i++) {
		values->banks[i].alg = sel->pcrSelections[i].hash;
		values->banks[i].mask = pcrsel_mask(sel, sel->pcrSelections[i].hash);
	}
	values->nbanks = sel->count;
	if (q->event_log_len && eventlog_parse(q->event_log, q->event_log_len, &log) == 0) {
		for (uint32_t i = 0; i < values->nbanks; i++) {
			struct pcr_bank *b = &values->banks[i];
			if (eventlog_replay(log, b->alg, pcr, NULL) == 0)
				for (int p = 0; p < PCRSEL_NUM_PCRS; p++)
					if (p != IMA_PCR)
						memcpy(b->value[p], pcr[p], crypto_digest_size(b->alg));
		}
		eventlog_free(log);
	}
	if (q->ima_len && q->ima_first == 0 && ima_replay_init(&st, ima_banks, 2, IMA_REPLAY_PER_BANK) == 0 &&
	    ima_replay(&st, q->ima, q->ima_len, NULL) == 0) {
		for (uint32_t i = 0; i < values->nbanks; i++) {
			const uint8_t *v = ima_replay_value(&st, values->banks[i].alg, IMA_PCR);
			if (v)
				memcpy(values->banks[i].value[IMA_PCR], v, crypto_digest_size(values->banks[i].alg));
		}
	}
}

static void push_quote(const uint8_t *data, size_t size, int honest, int replayed)
{
	static struct simtpm_quote honest_quote;
	static struct pcr_values values, fixed;
	Attest__V1__PushQuote *req = attest__v1__push_quote__unpack(NULL, size, data);
	struct session_quote_request qr;
	struct session_verdict v;
	enum session_next next;
	struct session_quote q;
	struct session *s;
	int r;

	if (!req)
		return;
	if (evidence_quote(req->quote, &values, &q) != 0)
		goto out;
	s = push_activated();
	FUZZ_CHECK(session_quote_request(s, &qr) == 0);
	if (replayed) {
		push_values_from_logs(&q, &qr.pcrs, &fixed);
		q.values = &fixed;
	}
	if (honest && fuzz_fake_quote(qr.nonce, qr.nonce_len, &qr.pcrs, q.values, &honest_quote) == 0) {
		q.attest = honest_quote.attest;
		q.attest_len = honest_quote.attest_len;
		q.sig = honest_quote.sig;
		q.sig_len = honest_quote.sig_len;
	}
	r = session_quote(s, &q, &v, &next);
	/* A fresh session with no history: every quote is a verdict. */
	FUZZ_CHECK(next == SESSION_NEXT_VERDICT);
	FUZZ_CHECK(r == 0 ? v.pass && session_get_state(s) == SESSION_QUOTED
			  : session_get_state(s) == SESSION_FAILED && !v.pass && v.code == r);
	session_free(s);
out:
	attest__v1__push_quote__free_unpacked(req, NULL);
}

static void push_receipt(const uint8_t *data, size_t size)
{
	static struct simtpm_quote passing;
	static struct pcr_values zero;
	Attest__V1__PushReceipt *req = attest__v1__push_receipt__unpack(NULL, size, data);
	struct session_proof proofs[SECRET_MAX_PER_HOST];
	const struct secret_def *defs[1] = { &secrets.defs[0] };
	const struct secret_blob *blobs;
	struct session_quote_request qr;
	struct session_verdict v;
	enum session_next next;
	struct session_quote q = { .values = &zero };
	struct session *s;
	size_t n = 0;

	if (!req)
		return;
	if (evidence_receipt(req->receipt, proofs, SECRET_MAX_PER_HOST, &n) != 0)
		goto out;
	s = push_activated();
	FUZZ_CHECK(session_quote_request(s, &qr) == 0);
	/* A passing quote of all-zero PCRs, so that the secret is delivered. */
	memset(&zero, 0, sizeof(zero));
	zero.nbanks = qr.pcrs.count;
	for (uint32_t i = 0; i < qr.pcrs.count; i++) {
		zero.banks[i].alg = qr.pcrs.pcrSelections[i].hash;
		zero.banks[i].mask = pcrsel_mask(&qr.pcrs, zero.banks[i].alg);
	}
	FUZZ_CHECK(fuzz_fake_quote(qr.nonce, qr.nonce_len, &qr.pcrs, &zero, &passing) == 0);
	q.attest = passing.attest;
	q.attest_len = passing.attest_len;
	q.sig = passing.sig;
	q.sig_len = passing.sig_len;
	FUZZ_CHECK(session_quote(s, &q, &v, &next) == 0 && next == SESSION_NEXT_VERDICT);
	FUZZ_CHECK(session_secrets(s, defs, 1, &blobs) == 0);
	if (session_receipt(s, proofs, n, &v) == 0)
		FUZZ_CHECK(v.pass && v.secrets_proven == 1);
	else
		FUZZ_CHECK(session_get_state(s) == SESSION_FAILED);
	session_free(s);
out:
	attest__v1__push_receipt__free_unpacked(req, NULL);
}

int fuzz_verifier_push(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		push_hello(data + 1, size - 1);
		break;
	case 1:
		push_activation(data + 1, size - 1);
		break;
	case 2:
		push_quote(data + 1, size - 1, data[0] & 12, data[0] & 8);
		break;
	default:
		push_receipt(data + 1, size - 1);
		break;
	}
	return 0;
}
