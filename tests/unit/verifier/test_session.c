/* The verifier's state machine against the software TPM (tests/simtpm): an
 * RSA-2048 EK from the TCG default template with a certificate from a CA made
 * here, an ECC P-256 AK, TPM2_ActivateCredential done with the EK private
 * key, and quotes signed with the AK private key. Every rejection must come
 * back with its own error code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "array.h"
#include "crypto.h"
#include "endorsement/ekcert.h"
#include "fixtures.h"
#include "pcrsel.h"
#include "policy/policy.h"
#include "policy/secret.h"
#include "hex.h"
#include "session/session.h"
#include "simtpm.h"
#include "tpmpub.h"

/* ------------------------------------------------------------------ the software TPM */

struct fake_tpm {
	struct simtpm *tpm;           /* RSA EK certified by the trusted test CA, ECC P-256 AK */
	EVP_PKEY *ek_key;             /* its RSA-2048 EK private key */
	TPMT_PUBLIC ek_pub;
	const uint8_t *ek_pub_wire;
	size_t ek_pub_len;
	const uint8_t *ek_cert;       /* DER, from the trusted test CA */
	size_t ek_cert_len;
	uint8_t *other_cert;          /* DER, same CA, certifies a different RSA key */
	size_t other_cert_len;
	uint8_t *rogue_cert;          /* DER over the EK key, from an untrusted CA of the same name */
	size_t rogue_cert_len;

	TPMT_PUBLIC ak_pub;
	const uint8_t *ak_pub_wire;
	size_t ak_pub_len;
	TPM2B_NAME ak_name;

	struct pcr_values pcrs;       /* the TPM's current PCR values */
	TPMS_CLOCK_INFO *clock;       /* what its next quote reports */

	char trust_dir[64];
	struct ekcert_trust *trust;
};

static struct fake_tpm T;

static EVP_PKEY *gen_rsa(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	assert_non_null(k);
	return k;
}

/* TPM2_ActivateCredential by tpm of the challenge: 0 and the secret, or
 * the code of a TPM's refusal. */
static int fake_activate(struct simtpm *tpm, const struct session_challenge *c, uint8_t *secret, size_t cap,
			 size_t *secret_len)
{
	return simtpm_activate(tpm, &c->blob, &c->enc_seed, secret, cap, secret_len);
}

/* TPM2_Quote by the AK over the TPM's current PCR values. */
static void fake_quote(const uint8_t *nonce, size_t nonce_len, const TPML_PCR_SELECTION *sel,
		       struct simtpm_quote *q)
{
	assert_int_equal(simtpm_quote(T.tpm, nonce, nonce_len, sel, q), 0);
}

static int group_setup(void **state)
{
	struct simtpm_params p = { .ek_alg = TPM2_ALG_RSA, .serial = 2 };
	struct simtpm_ca *ca = NULL, *rogue_ca = NULL;
	EVP_PKEY *other = gen_rsa();
	char path[128];

	(void)state;
	memset(&T, 0, sizeof(T));
	T.ek_key = gen_rsa();
	assert_int_equal(simtpm_ca_new(NULL, "test EK root", &ca), 0);
	assert_int_equal(simtpm_ca_new(NULL, "test EK root", &rogue_ca), 0); /* same name, other key */
	p.ek_key = T.ek_key;
	p.ca = ca;
	assert_int_equal(simtpm_new(&p, &T.tpm), 0);
	T.ek_pub = *simtpm_ek_pub(T.tpm);
	T.ek_pub_wire = simtpm_ek_public(T.tpm, &T.ek_pub_len);
	T.ek_cert = simtpm_ek_cert(T.tpm, &T.ek_cert_len);
	assert_int_equal(simtpm_ca_issue(ca, other, "test EK", 3, &T.other_cert, &T.other_cert_len), 0);
	assert_int_equal(simtpm_ca_issue(rogue_ca, T.ek_key, "test EK", 4, &T.rogue_cert, &T.rogue_cert_len), 0);

	fixture_tmpdir(T.trust_dir, sizeof(T.trust_dir), "test_session");
	snprintf(path, sizeof(path), "%s/root.pem", T.trust_dir);
	assert_int_equal(simtpm_ca_write(ca, path), 0);
	assert_int_equal(ekcert_trust_load(T.trust_dir, &T.trust), 0);

	T.ak_pub = *simtpm_ak_pub(T.tpm);
	T.ak_pub_wire = simtpm_ak_public(T.tpm, &T.ak_pub_len);
	T.ak_name = *simtpm_ak_name(T.tpm);

	/* Distinct, non-trivial PCR values in two banks. */
	T.pcrs.nbanks = 2;
	T.pcrs.banks[0].alg = TPM2_ALG_SHA256;
	T.pcrs.banks[1].alg = TPM2_ALG_SHA1;
	for (int b = 0; b < 2; b++) {
		T.pcrs.banks[b].mask = 0xffffff;
		for (int i = 0; i < PCRSEL_NUM_PCRS; i++)
			assert_int_equal(crypto_random(T.pcrs.banks[b].value[i], CRYPTO_MAX_DIGEST), 0);
	}
	simtpm_set_pcrs(T.tpm, &T.pcrs);
	T.clock = simtpm_clock(T.tpm);
	*T.clock = (TPMS_CLOCK_INFO){ .clock = 123456, .resetCount = 7, .restartCount = 3, .safe = TPM2_YES };

	simtpm_ca_free(ca);
	simtpm_ca_free(rogue_ca);
	EVP_PKEY_free(other);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ekcert_trust_free(T.trust);
	fixture_rmtree(T.trust_dir);
	free(T.other_cert);
	free(T.rogue_cert);
	simtpm_free(T.tpm);
	EVP_PKEY_free(T.ek_key);
	return 0;
}

/* ------------------------------------------------------------------ driving a session */

static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct ctx {
	struct session_params p;
	struct policy policy;
	struct session *s;
	struct session_challenge ch;
	struct session_quote_request qr;
	struct simtpm_quote q;
	struct pcr_values sent;   /* the PCR values the attestor sends with the quote */
};

static void ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->p.ek_alg = TPM2_ALG_RSA;
	c->p.require_ek_cert = 1;
	c->p.ek_trust = T.trust;
	c->p.ak_alg = TPM2_ALG_ECC;
	assert_int_equal(pcrsel_parse("sha256:0-7+sha1:0-7", &c->p.pcrs), 0);
	c->p.nonce_ttl_ms = 60000;
	c->p.policy = &c->policy;
	c->p.has_reference = 1;
	c->p.clock_ms = fake_clock;
	fake_now = 1000000;
	/* The attestor reports exactly the selected values. */
	c->sent = T.pcrs;
	for (uint32_t i = 0; i < c->sent.nbanks; i++)
		c->sent.banks[i].mask = pcrsel_mask(&c->p.pcrs, c->sent.banks[i].alg);
}

static void ctx_start(struct ctx *c)
{
	assert_int_equal(session_new(&c->p, &c->s), 0);
}

static struct session_endorsement endorsement(const uint8_t *pub, size_t pub_len, const uint8_t *cert, size_t cert_len)
{
	struct session_endorsement e;

	memset(&e, 0, sizeof(e));
	e.n_eks = 1;
	e.eks[0].alg = TPM2_ALG_RSA;
	e.eks[0].pub = pub;
	e.eks[0].pub_len = pub_len;
	e.eks[0].cert = cert;
	e.eks[0].cert_len = cert_len;
	e.hostname = "unit-test";
	return e;
}

static int do_endorse(struct ctx *c)
{
	struct session_endorsement e = endorsement(T.ek_pub_wire, T.ek_pub_len, T.ek_cert, (size_t)T.ek_cert_len);
	return session_endorse(c->s, &e);
}

static int do_ak(struct ctx *c, const uint8_t *pub, size_t len)
{
	struct session_ak ak = { .pub = pub, .pub_len = len, .parent_ek_alg = TPM2_ALG_RSA };
	return session_ak(c->s, &ak, &c->ch);
}

static int do_activate(struct ctx *c)
{
	uint8_t secret[64];
	size_t len = 0;

	assert_int_equal(fake_activate(T.tpm, &c->ch, secret, sizeof(secret), &len), 0);
	return session_activate(c->s, secret, len);
}

/* What do_quote returns when the quote is no verdict but asks for another
 * step (session_next): apart from 0 and every error code. */
#define ASKS_REQUOTE 1001
#define ASKS_REACTIVATE 1002

static int do_quote(struct ctx *c, struct session_verdict *v)
{
	struct session_quote in = {
		.attest = c->q.attest, .attest_len = c->q.attest_len,
		.sig = c->q.sig, .sig_len = c->q.sig_len, .values = &c->sent,
	};
	enum session_next next;
	int r = session_quote(c->s, &in, v, &next);

	if (r == 0 && next != SESSION_NEXT_VERDICT)
		return next == SESSION_NEXT_REQUOTE ? ASKS_REQUOTE : ASKS_REACTIVATE;
	assert_int_equal(next, SESSION_NEXT_VERDICT);
	assert_string_equal(session_next_reason(c->s), "");
	return r;
}

/* Endorse, AK, activate: the session is ACTIVATED. */
static void to_activated(struct ctx *c)
{
	ctx_start(c);
	assert_int_equal(do_endorse(c), 0);
	assert_int_equal(do_ak(c, T.ak_pub_wire, T.ak_pub_len), 0);
	assert_int_equal(do_activate(c), 0);
	assert_int_equal(session_get_state(c->s), SESSION_ACTIVATED);
}

/* Request a quote and let the fake TPM answer it honestly. */
static void request_and_quote(struct ctx *c)
{
	assert_int_equal(session_quote_request(c->s, &c->qr), 0);
	fake_quote(c->qr.nonce, c->qr.nonce_len, &c->qr.pcrs, &c->q);
}

static void policy_expect(struct ctx *c, const char *key, const uint8_t *value, size_t len)
{
	char hex[2 * CRYPTO_MAX_DIGEST + 1];

	for (size_t i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", value[i]);
	assert_int_equal(policy_add(&c->policy, key, hex), 0);
}

static void assert_failed(struct ctx *c, int code, enum session_step step, const char *needle)
{
	const struct session_verdict *v = session_last_verdict(c->s);

	assert_int_equal(session_get_state(c->s), SESSION_FAILED);
	assert_int_equal(v->pass, 0);
	assert_int_equal(v->code, code);
	assert_int_equal(v->step, step);
	if (needle && !strstr(v->reason, needle))
		fail_msg("reason '%s' does not mention '%s'", v->reason, needle);
	/* A failed session accepts nothing more. */
	assert_int_equal(session_quote_request(c->s, &c->qr), AERR_STATE);
}

/* ------------------------------------------------------------------ tests */

static void test_pass(void **state)
{
	struct ctx c;
	struct session_verdict v;

	(void)state;
	ctx_init(&c);
	policy_expect(&c, "sha256.0", T.pcrs.banks[0].value[0], 32);
	policy_expect(&c, "sha1.7", T.pcrs.banks[1].value[7], 20);
	to_activated(&c);
	/* The challenge names the AK and the configured EK. */
	assert_int_equal(c.ch.ek_alg, TPM2_ALG_RSA);
	assert_int_equal(c.ch.ak_name.size, T.ak_name.size);
	assert_memory_equal(c.ch.ak_name.name, T.ak_name.name, T.ak_name.size);
	request_and_quote(&c);
	assert_int_equal(c.qr.nonce_len, SESSION_NONCE_LEN);
	assert_true(pcrsel_equal(&c.qr.pcrs, &c.p.pcrs));
	assert_int_equal(do_quote(&c, &v), 0);
	assert_int_equal(v.pass, 1);
	assert_int_equal(v.code, 0);
	assert_int_equal(v.reset_count, T.clock->resetCount);
	assert_int_equal(v.restart_count, T.clock->restartCount);
	assert_memory_equal(pcr_values_bank(&v.quoted.pcrs, TPM2_ALG_SHA256)->value[5], T.pcrs.banks[0].value[5], 32);
	assert_int_equal(session_get_state(c.s), SESSION_QUOTED);

	/* Re-attestation with the same AK: a new round passes with a new nonce. */
	{
		uint8_t first[SESSION_NONCE_LEN];
		memcpy(first, c.qr.nonce, sizeof(first));
		request_and_quote(&c);
		assert_memory_not_equal(first, c.qr.nonce, sizeof(first));
		assert_int_equal(do_quote(&c, &v), 0);
		assert_int_equal(v.reboot_seen, 0);
	}
	session_free(c.s);
}

static void test_wrong_secret(void **state)
{
	struct ctx c;
	uint8_t secret[64];
	size_t len = 0;

	(void)state;
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), 0);
	assert_int_equal(fake_activate(T.tpm, &c.ch, secret, sizeof(secret), &len), 0);
	assert_int_equal(len, SESSION_SECRET_LEN);
	secret[len - 1] ^= 0x01;
	assert_int_equal(session_activate(c.s, secret, len), AERR_CREDENTIAL);
	assert_failed(&c, AERR_CREDENTIAL, SESSION_STEP_ACTIVATION, "differs");
	session_free(c.s);

	/* The right bytes but truncated. */
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), 0);
	assert_int_equal(fake_activate(T.tpm, &c.ch, secret, sizeof(secret), &len), 0);
	assert_int_equal(session_activate(c.s, secret, len - 1), AERR_CREDENTIAL);
	assert_failed(&c, AERR_CREDENTIAL, SESSION_STEP_ACTIVATION, "bytes");
	session_free(c.s);
}

/* The credential is bound to the AK's name: a TPM with the same EK holding
 * another AK cannot open it. */
static void test_credential_bound_to_ak(void **state)
{
	struct simtpm_params p = { .ek_alg = TPM2_ALG_RSA, .ek_key = T.ek_key };
	struct simtpm *other = NULL;
	struct ctx c;
	uint8_t secret[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(simtpm_new(&p, &other), 0);
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), 0);
	assert_int_equal(fake_activate(other, &c.ch, secret, sizeof(secret), &len), AERR_CREDENTIAL);
	assert_int_equal(len, 0);
	/* The TPM that holds the AK opens it. */
	assert_int_equal(fake_activate(T.tpm, &c.ch, secret, sizeof(secret), &len), 0);
	assert_int_equal(len, SESSION_SECRET_LEN);
	simtpm_free(other);
	session_free(c.s);
}

static void test_wrong_nonce(void **state)
{
	struct ctx c;
	uint8_t nonce[SESSION_NONCE_LEN];

	(void)state;
	ctx_init(&c);
	to_activated(&c);
	assert_int_equal(session_quote_request(c.s, &c.qr), 0);
	memcpy(nonce, c.qr.nonce, sizeof(nonce));
	nonce[0] ^= 0x01;
	fake_quote(nonce, sizeof(nonce), &c.qr.pcrs, &c.q);
	assert_int_equal(do_quote(&c, NULL), AERR_NONCE);
	assert_failed(&c, AERR_NONCE, SESSION_STEP_QUOTE, NULL);
	session_free(c.s);
}

static void test_replayed_nonce(void **state)
{
	struct ctx c;
	struct simtpm_quote old;

	(void)state;
	ctx_init(&c);
	to_activated(&c);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, NULL), 0);
	/* The same quote again: its nonce is used up. */
	assert_int_equal(do_quote(&c, NULL), AERR_NONCE);
	assert_failed(&c, AERR_NONCE, SESSION_STEP_QUOTE, "already used");
	session_free(c.s);

	/* A recorded quote answering a newer request. */
	ctx_init(&c);
	to_activated(&c);
	request_and_quote(&c);
	old = c.q;
	assert_int_equal(do_quote(&c, NULL), 0);
	assert_int_equal(session_quote_request(c.s, &c.qr), 0);
	c.q = old;
	assert_int_equal(do_quote(&c, NULL), AERR_NONCE);
	assert_failed(&c, AERR_NONCE, SESSION_STEP_QUOTE, NULL);
	session_free(c.s);
}

static void test_expired_nonce(void **state)
{
	struct ctx c;

	(void)state;
	/* Just inside the ttl passes... */
	ctx_init(&c);
	to_activated(&c);
	request_and_quote(&c);
	fake_now += c.p.nonce_ttl_ms - 1;
	assert_int_equal(do_quote(&c, NULL), 0);
	session_free(c.s);

	/* ...at the ttl it has expired. */
	ctx_init(&c);
	to_activated(&c);
	request_and_quote(&c);
	fake_now += c.p.nonce_ttl_ms;
	assert_int_equal(do_quote(&c, NULL), AERR_NONCE);
	assert_failed(&c, AERR_NONCE, SESSION_STEP_QUOTE, "expired");
	session_free(c.s);

	/* ttl 0: no nonce is ever fresh. */
	ctx_init(&c);
	c.p.nonce_ttl_ms = 0;
	to_activated(&c);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, NULL), AERR_NONCE);
	assert_failed(&c, AERR_NONCE, SESSION_STEP_QUOTE, "expired");
	session_free(c.s);
}

static void test_policy_mismatch(void **state)
{
	struct ctx c;
	uint8_t wrong[32];

	(void)state;
	ctx_init(&c);
	memcpy(wrong, T.pcrs.banks[0].value[3], 32);
	wrong[31] ^= 0x01;
	policy_expect(&c, "sha256.3", wrong, 32);
	to_activated(&c);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, NULL), AERR_PCR_POLICY);
	assert_failed(&c, AERR_PCR_POLICY, SESSION_STEP_QUOTE, "PCR 3 bank sha256");
	/* The operator sees the value the policy expected; the peer is told
	 * only which PCR and bank differ. */
	{
		const struct session_verdict *v = session_last_verdict(c.s);
		char want[65];

		hex_encode(wrong, 32, want);
		assert_non_null(strstr(v->reason, want));
		assert_null(strstr(v->peer_reason, want));
		assert_non_null(strstr(v->peer_reason, "PCR 3 bank sha256 differs from the policy"));
	}
	/* The TPM signed this session's nonce: the node's own failure. */
	assert_true(session_proven(c.s));
	session_free(c.s);
}

/* No reference to judge by: verified, never a pass, and no secrets. */
static void test_unjudged(void **state)
{
	const struct secret_blob *blobs;
	struct session_verdict v;
	struct ctx c;

	(void)state;
	ctx_init(&c);
	c.p.has_reference = 0;
	to_activated(&c);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	assert_int_equal(v.pass, 0);
	assert_int_equal(v.unjudged, 1);
	assert_non_null(strstr(v.reason, "unjudged"));
	assert_int_equal(session_get_state(c.s), SESSION_QUOTED);
	assert_int_equal(session_secrets(c.s, NULL, 1, &blobs), AERR_STATE);
	assert_non_null(strstr(err_detail(), "unjudged"));
	{
		struct session_resume res;
		struct session_quote_request qr;

		assert_int_equal(session_next_request(c.s, &res, &qr), AERR_STATE);
	}
	session_free(c.s);
}

/* The attestor lies about a PCR value that the TPM quoted differently. */
static void test_values_not_quoted(void **state)
{
	struct ctx c;

	(void)state;
	ctx_init(&c);
	to_activated(&c);
	request_and_quote(&c);
	c.sent.banks[1].value[2][0] ^= 0x01;
	assert_int_equal(do_quote(&c, NULL), AERR_PCR_DIGEST);
	assert_failed(&c, AERR_PCR_DIGEST, SESSION_STEP_QUOTE, NULL);
	session_free(c.s);
}

static void test_bad_signature(void **state)
{
	struct ctx c;

	(void)state;
	ctx_init(&c);
	to_activated(&c);
	request_and_quote(&c);
	c.q.sig[c.q.sig_len - 1] ^= 0x01;
	assert_int_equal(do_quote(&c, NULL), AERR_SIGNATURE);
	assert_failed(&c, AERR_SIGNATURE, SESSION_STEP_QUOTE, NULL);
	session_free(c.s);
}

static void prior_of(struct session_prior *pr, uint32_t reset, uint32_t restart, uint64_t clock, int with_ak);
static void start_with_prior(struct ctx *c, const struct session_prior *pr);

/* When the peer has proven the TPM: at activation, or at a quote that the AK
 * activated before signed over this session's nonce; never by presenting a
 * node's public EK and AK alone. */
static void test_proven(void **state)
{
	struct session_prior pr;
	struct ctx c;

	(void)state;
	ctx_init(&c);
	to_activated(&c);
	assert_true(session_proven(c.s));
	session_free(c.s);
	/* A wrong secret proves nothing. */
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(session_set_prior(c.s, &(struct session_prior){ 0 }, 1), 0);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), 0);
	assert_false(session_proven(c.s));
	assert_int_equal(session_activate(c.s, (const uint8_t *)"01234567890123456789012345678901", 32),
			 AERR_CREDENTIAL);
	assert_false(session_proven(c.s));
	session_free(c.s);
	/* The node's AK, known to the store, presented by someone without its
	 * TPM: not proven until a quote over this nonce verifies. */
	ctx_init(&c);
	prior_of(&pr, T.clock->resetCount, T.clock->restartCount, T.clock->clock - 1, 1);
	start_with_prior(&c, &pr);
	assert_true(session_ak_preactivated(c.s));
	assert_false(session_proven(c.s));
	request_and_quote(&c);
	c.q.sig[c.q.sig_len - 1] ^= 0x01;
	assert_int_equal(do_quote(&c, NULL), AERR_SIGNATURE);
	assert_false(session_proven(c.s));
	session_free(c.s);
	/* An old quote of the node, over another nonce: not proven either. */
	ctx_init(&c);
	start_with_prior(&c, &pr);
	assert_int_equal(session_quote_request(c.s, &c.qr), 0);
	{
		uint8_t other[SESSION_NONCE_LEN];

		memcpy(other, c.qr.nonce, sizeof(other));
		other[0] ^= 1;
		fake_quote(other, sizeof(other), &c.p.pcrs, &c.q);
	}
	assert_int_equal(do_quote(&c, NULL), AERR_NONCE);
	assert_false(session_proven(c.s));
	session_free(c.s);
	/* The right signature over this nonce: proven, whatever fails after. */
	ctx_init(&c);
	start_with_prior(&c, &pr);
	request_and_quote(&c);
	c.sent.banks[0].value[0][0] ^= 1;
	assert_int_equal(do_quote(&c, NULL), AERR_PCR_DIGEST);
	assert_true(session_proven(c.s));
	session_free(c.s);
}

static void test_out_of_order(void **state)
{
	struct ctx c;
	uint8_t secret[SESSION_SECRET_LEN] = { 0 };
	struct session_verdict v;

	(void)state;
	ctx_init(&c);
	ctx_start(&c);
	/* Nothing but the endorsement in state NEW. */
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), AERR_STATE);
	assert_int_equal(session_activate(c.s, secret, sizeof(secret)), AERR_STATE);
	assert_int_equal(session_quote_request(c.s, &c.qr), AERR_STATE);
	assert_int_equal(session_get_state(c.s), SESSION_NEW);
	assert_int_equal(do_endorse(&c), 0);
	/* No activation before the AK, no quote before activation. */
	assert_int_equal(session_activate(c.s, secret, sizeof(secret)), AERR_STATE);
	assert_int_equal(session_quote_request(c.s, &c.qr), AERR_STATE);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), 0);
	assert_int_equal(session_quote_request(c.s, &c.qr), AERR_STATE);
	assert_int_equal(do_activate(&c), 0);
	/* A quote that nobody requested. */
	fake_quote(secret, sizeof(secret), &c.p.pcrs, &c.q);
	assert_int_equal(do_quote(&c, &v), AERR_STATE);
	assert_int_equal(session_get_state(c.s), SESSION_ACTIVATED);
	/* Out-of-order attempts did not spoil the session. */
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	session_free(c.s);
}

static void test_repeated_step(void **state)
{
	struct ctx c;

	(void)state;
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(do_endorse(&c), AERR_STATE);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), 0);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), AERR_STATE);
	assert_int_equal(c.ch.blob.size, 0); /* no second challenge handed out */
	assert_int_equal(session_get_state(c.s), SESSION_AK_ADMITTED);
	session_free(c.s);

	/* A second activation: the secret was wiped after the first. */
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), 0);
	{
		struct session_challenge saved = c.ch;
		assert_int_equal(do_activate(&c), 0);
		c.ch = saved;
		assert_int_equal(do_activate(&c), AERR_STATE);
	}
	assert_int_equal(session_get_state(c.s), SESSION_ACTIVATED);
	session_free(c.s);
}

static void test_ak_decrypt(void **state)
{
	struct ctx c;
	TPMT_PUBLIC bad;
	uint8_t wire[sizeof(TPM2B_PUBLIC)];
	size_t len;

	(void)state;
	bad = T.ak_pub;
	bad.objectAttributes |= TPMA_OBJECT_DECRYPT;
	assert_int_equal(tpmpub_marshal(&bad, wire, sizeof(wire), &len), 0);
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(do_ak(&c, wire, len), AERR_AK_ATTRS);
	assert_int_equal(c.ch.blob.size, 0);
	assert_failed(&c, AERR_AK_ATTRS, SESSION_STEP_AK, NULL);
	session_free(c.s);
}

static void test_ak_alg_not_accepted(void **state)
{
	struct ctx c;

	(void)state;
	ctx_init(&c);
	c.p.ak_alg = TPM2_ALG_RSA;
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), AERR_AK_ATTRS);
	assert_failed(&c, AERR_AK_ATTRS, SESSION_STEP_AK, "rsa");
	session_free(c.s);
}

static void test_ek_cert_key_mismatch(void **state)
{
	struct ctx c;
	struct session_endorsement e = endorsement(T.ek_pub_wire, T.ek_pub_len, T.other_cert, (size_t)T.other_cert_len);

	(void)state;
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(session_endorse(c.s, &e), AERR_EK_CERT_KEY);
	assert_failed(&c, AERR_EK_CERT_KEY, SESSION_STEP_ENDORSEMENT, NULL);
	session_free(c.s);
}

static void test_ek_cert_untrusted(void **state)
{
	struct ctx c;
	struct session_endorsement e = endorsement(T.ek_pub_wire, T.ek_pub_len, T.rogue_cert, (size_t)T.rogue_cert_len);

	(void)state;
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(session_endorse(c.s, &e), AERR_EK_CERT_CHAIN);
	assert_failed(&c, AERR_EK_CERT_CHAIN, SESSION_STEP_ENDORSEMENT, NULL);
	session_free(c.s);

	/* From a CA the trust directory does not hold: the operator is told
	 * which issuer is missing and where the roots are read from; the peer
	 * is not told the verifier's paths. */
	{
		struct simtpm_ca *vendor = NULL;
		uint8_t *der = NULL;
		size_t der_len = 0;
		const struct session_verdict *v;

		assert_int_equal(simtpm_ca_new(NULL, "Unknown Vendor EK Root", &vendor), 0);
		assert_int_equal(simtpm_ca_issue(vendor, T.ek_key, "test EK", 5, &der, &der_len), 0);
		e = endorsement(T.ek_pub_wire, T.ek_pub_len, der, der_len);
		ctx_init(&c);
		ctx_start(&c);
		assert_int_equal(session_endorse(c.s, &e), AERR_EK_CERT_CHAIN);
		v = session_last_verdict(c.s);
		if (!strstr(v->reason, "issuer \"/CN=Unknown Vendor EK Root\"") || !strstr(v->reason, T.trust_dir))
			fail_msg("reason '%s' names neither the missing issuer nor %s", v->reason, T.trust_dir);
		if (strstr(v->peer_reason, T.trust_dir) || !strstr(v->peer_reason, "unable to get local issuer"))
			fail_msg("peer is told '%s'", v->peer_reason);
		session_free(c.s);
		free(der);
		simtpm_ca_free(vendor);
	}

	/* No certificate at all while one is required. */
	e = endorsement(T.ek_pub_wire, T.ek_pub_len, NULL, 0);
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(session_endorse(c.s, &e), AERR_EK_CERT);
	assert_failed(&c, AERR_EK_CERT, SESSION_STEP_ENDORSEMENT, NULL);
	session_free(c.s);
}

/* A certified key whose public area is not the EK template (userWithAuth set:
 * usable without the endorsement policy) is refused before any certificate check. */
static void test_ek_not_template(void **state)
{
	static const TPMA_OBJECT flips[] = { TPMA_OBJECT_USERWITHAUTH, TPMA_OBJECT_RESTRICTED, TPMA_OBJECT_FIXEDTPM };
	uint8_t wire[sizeof(TPM2B_PUBLIC)];
	size_t len;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(flips); i++) {
		struct ctx c;
		TPMT_PUBLIC bad = T.ek_pub;
		struct session_endorsement e;
		bad.objectAttributes ^= flips[i];
		assert_int_equal(tpmpub_marshal(&bad, wire, sizeof(wire), &len), 0);
		e = endorsement(wire, len, T.ek_cert, (size_t)T.ek_cert_len);
		ctx_init(&c);
		ctx_start(&c);
		assert_int_equal(session_endorse(c.s, &e), AERR_UNSUPPORTED);
		assert_failed(&c, AERR_UNSUPPORTED, SESSION_STEP_ENDORSEMENT, "template");
		session_free(c.s);
	}
	{
		struct ctx c;
		TPMT_PUBLIC bad = T.ek_pub;
		struct session_endorsement e;
		bad.authPolicy.buffer[0] ^= 1;
		assert_int_equal(tpmpub_marshal(&bad, wire, sizeof(wire), &len), 0);
		e = endorsement(wire, len, T.ek_cert, (size_t)T.ek_cert_len);
		ctx_init(&c);
		ctx_start(&c);
		assert_int_equal(session_endorse(c.s, &e), AERR_UNSUPPORTED);
		session_free(c.s);
	}
}

static void test_ek_alg_absent(void **state)
{
	struct ctx c;

	(void)state;
	ctx_init(&c);
	c.p.ek_alg = TPM2_ALG_ECC;
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), AERR_NOT_FOUND);
	assert_failed(&c, AERR_NOT_FOUND, SESSION_STEP_ENDORSEMENT, "ecc");
	session_free(c.s);
}

static void test_ek_truncated(void **state)
{
	struct ctx c;
	struct session_endorsement e = endorsement(T.ek_pub_wire, T.ek_pub_len - 1, T.ek_cert, (size_t)T.ek_cert_len);

	(void)state;
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(session_endorse(c.s, &e), AERR_PARSE);
	session_free(c.s);
}

/* The endorsement cache: a pass is remembered, and only for the exact bytes;
 * a failure is never remembered; a cached pass still goes through the
 * template check and the later steps. */
static void test_ek_cache(void **state)
{
	struct keycache *cache = NULL;
	struct session_endorsement rogue = endorsement(T.ek_pub_wire, T.ek_pub_len, T.rogue_cert,
							(size_t)T.rogue_cert_len);
	struct session_endorsement other = endorsement(T.ek_pub_wire, T.ek_pub_len, T.other_cert,
							(size_t)T.other_cert_len);
	uint64_t hits, misses;
	struct ctx c;

	(void)state;
	assert_int_equal(keycache_new(4, &cache), 0);
	for (int round = 0; round < 2; round++) {
		/* Untrusted and mismatched certificates fail every time: not cached. */
		ctx_init(&c);
		c.p.ek_cache = cache;
		ctx_start(&c);
		assert_int_equal(session_endorse(c.s, &rogue), AERR_EK_CERT_CHAIN);
		session_free(c.s);
		ctx_init(&c);
		c.p.ek_cache = cache;
		ctx_start(&c);
		assert_int_equal(session_endorse(c.s, &other), AERR_EK_CERT_KEY);
		session_free(c.s);
	}
	keycache_counts(cache, &hits, &misses);
	assert_int_equal(hits, 0);
	assert_int_equal(misses, 4);

	/* The good endorsement: a miss, then a hit, and the session goes on. */
	for (int round = 0; round < 2; round++) {
		struct session_verdict v;
		ctx_init(&c);
		c.p.ek_cache = cache;
		to_activated(&c);
		request_and_quote(&c);
		assert_int_equal(do_quote(&c, &v), 0);
		session_free(c.s);
	}
	keycache_counts(cache, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 5);

	/* One more certificate byte (a trailing one) is a miss and fails in full. */
	{
		uint8_t *longer = malloc((size_t)T.ek_cert_len + 1);
		struct session_endorsement e;
		assert_non_null(longer);
		memcpy(longer, T.ek_cert, (size_t)T.ek_cert_len);
		longer[T.ek_cert_len] = 0;
		e = endorsement(T.ek_pub_wire, T.ek_pub_len, longer, (size_t)T.ek_cert_len + 1);
		ctx_init(&c);
		c.p.ek_cache = cache;
		ctx_start(&c);
		assert_int_equal(session_endorse(c.s, &e), AERR_EK_CERT);
		session_free(c.s);
		free(longer);
	}
	/* A cached pass does not excuse a public area outside the EK template. */
	{
		TPMT_PUBLIC bad = T.ek_pub;
		uint8_t wire[sizeof(TPM2B_PUBLIC)];
		size_t len;
		struct session_endorsement e;
		bad.objectAttributes ^= TPMA_OBJECT_USERWITHAUTH;
		assert_int_equal(tpmpub_marshal(&bad, wire, sizeof(wire), &len), 0);
		e = endorsement(wire, len, T.ek_cert, (size_t)T.ek_cert_len);
		ctx_init(&c);
		c.p.ek_cache = cache;
		ctx_start(&c);
		assert_int_equal(session_endorse(c.s, &e), AERR_UNSUPPORTED);
		session_free(c.s);
	}
	keycache_counts(cache, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 6);
	keycache_free(cache);
}

/* The AK key cache: the second quote by the same AK verifies with the key
 * kept from the first (a hit); a cached key still checks the signature; an
 * entry under another AK's name is never used for this one. */
static void test_ak_keys(void **state)
{
	struct keycache *keys = NULL, *other = NULL;
	uint8_t key[KEYCACHE_KEY_LEN];
	TPM2B_NAME name = T.ak_name;
	struct session_verdict v;
	uint64_t hits, misses;
	struct ctx c;

	(void)state;
	assert_int_equal(keycache_new(4, &keys), 0);
	for (int round = 0; round < 3; round++) {
		ctx_init(&c);
		c.p.ak_keys = keys;
		to_activated(&c);
		request_and_quote(&c);
		if (round == 2)
			c.q.sig[c.q.sig_len - 1] ^= 0x01;
		assert_int_equal(do_quote(&c, &v), round == 2 ? AERR_SIGNATURE : 0);
		session_free(c.s);
	}
	keycache_counts(keys, &hits, &misses);
	assert_int_equal(hits, 2);
	assert_int_equal(misses, 1);
	keycache_free(keys);

	/* The EK's key kept under a name one bit away from the AK's. */
	assert_int_equal(keycache_new(4, &other), 0);
	name.name[name.size - 1] ^= 0x01;
	assert_int_equal(keycache_key(name.name, name.size, NULL, 0, NULL, 0, key), 0);
	keycache_add_pkey(other, key, T.ek_key);
	ctx_init(&c);
	c.p.ak_keys = other;
	to_activated(&c);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	session_free(c.s);
	keycache_counts(other, &hits, &misses);
	assert_int_equal(hits, 0);
	assert_int_equal(misses, 1);
	keycache_free(other);
}

/* Secrets: only after a passing quote; one proof per secret, by name, and
 * each proof must be the key's own (HMAC over this session's challenge). The
 * blob itself is opened by a TPM in the integration tests. */
static void secret_def_aes(struct secret_conf *conf, struct secret_def *def, const char *name, uint8_t fill)
{
	memset(conf, 0, sizeof(*conf));
	memset(def, 0, sizeof(*def));
	snprintf(conf->name, sizeof(conf->name), "%s", name);
	conf->kind = SECRET_AES256;
	def->conf = conf;
	memset(def->aes, fill, sizeof(def->aes));
}

static void hmac_proof(const struct secret_blob *b, uint8_t *out)
{
	assert_int_equal(crypto_hmac(TPM2_ALG_SHA256, b->def->aes, SECRET_AES_LEN, b->challenge,
				     sizeof(b->challenge), out), 0);
}

static void test_secrets(void **state)
{
	struct secret_conf c1, c2;
	struct secret_def d1, d2;
	const struct secret_def *defs[2] = { &d1, &d2 };
	const struct secret_blob *blobs;
	struct session_verdict v;
	uint8_t p1[32], p2[32];
	struct session_proof proofs[2];
	struct ctx c;
	uint8_t first_challenge[SECRET_CHALLENGE_LEN];

	(void)state;
	secret_def_aes(&c1, &d1, "one", 0x11);
	secret_def_aes(&c2, &d2, "two", 0x22);

	/* Not before a passing quote: refused, the session unchanged. */
	ctx_init(&c);
	to_activated(&c);
	assert_int_equal(session_secrets(c.s, defs, 2, &blobs), AERR_STATE);
	assert_int_equal(session_get_state(c.s), SESSION_ACTIVATED);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	assert_int_equal(session_receipt(c.s, proofs, 0, &v), AERR_STATE);

	/* Delivered: blobs for this EK under the quoted selection, fresh challenges. */
	assert_int_equal(session_secrets(c.s, defs, 2, &blobs), 0);
	assert_int_equal(session_get_state(c.s), SESSION_SECRETS_SENT);
	assert_int_equal(blobs[0].ek_alg, TPM2_ALG_RSA);
	assert_true(pcrsel_equal(&blobs[0].sel, &c.p.pcrs));
	assert_true(blobs[0].pub_len > 0 && blobs[0].dup_len > 0 && blobs[0].seed_len > 0);
	assert_memory_not_equal(blobs[0].challenge, blobs[1].challenge, SECRET_CHALLENGE_LEN);
	memcpy(first_challenge, blobs[0].challenge, sizeof(first_challenge));
	hmac_proof(&blobs[0], p1);
	hmac_proof(&blobs[1], p2);
	proofs[0] = (struct session_proof){ .name = "two", .proof = p2, .len = 32 };
	proofs[1] = (struct session_proof){ .name = "one", .proof = p1, .len = 32 };
	assert_int_equal(session_receipt(c.s, proofs, 2, &v), 0);
	assert_int_equal(v.secrets_proven, 2);
	assert_int_equal(session_get_state(c.s), SESSION_QUOTED);
	session_free(c.s);

	/* Forged: the HMAC made with another key. */
	ctx_init(&c);
	to_activated(&c);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	assert_int_equal(session_secrets(c.s, defs, 1, &blobs), 0);
	assert_memory_not_equal(blobs[0].challenge, first_challenge, SECRET_CHALLENGE_LEN);
	hmac_proof(&blobs[0], p1);
	p1[0] ^= 1;
	proofs[0] = (struct session_proof){ .name = "one", .proof = p1, .len = 32 };
	assert_int_equal(session_receipt(c.s, proofs, 1, &v), AERR_PROOF);
	assert_failed(&c, AERR_PROOF, SESSION_STEP_RECEIPT, "not made with the key");
	session_free(c.s);

	/* A proof under another name, a missing one, a repeated one, a short one. */
	for (int k = 0; k < 4; k++) {
		size_t n = 2;
		ctx_init(&c);
		to_activated(&c);
		request_and_quote(&c);
		assert_int_equal(do_quote(&c, &v), 0);
		assert_int_equal(session_secrets(c.s, defs, 2, &blobs), 0);
		hmac_proof(&blobs[0], p1);
		hmac_proof(&blobs[1], p2);
		proofs[0] = (struct session_proof){ .name = "one", .proof = p1, .len = 32 };
		proofs[1] = (struct session_proof){ .name = "two", .proof = p2, .len = 32 };
		if (k == 0)
			proofs[1].name = "three";
		else if (k == 1)
			n = 1;
		else if (k == 2)
			proofs[1].name = "one";
		else
			proofs[1].len = 31;
		assert_int_equal(session_receipt(c.s, proofs, n, &v), AERR_PROOF);
		assert_failed(&c, AERR_PROOF, SESSION_STEP_RECEIPT, NULL);
		session_free(c.s);
	}
}

/* ------------------------------------------------------------ prior state */

static void prior_of(struct session_prior *pr, uint32_t reset, uint32_t restart, uint64_t clock, int with_ak)
{
	memset(pr, 0, sizeof(*pr));
	pr->has_counts = 1;
	pr->reset_count = reset;
	pr->restart_count = restart;
	pr->clock = clock;
	if (with_ak) {
		memcpy(pr->ak_name, T.ak_name.name, T.ak_name.size);
		pr->ak_name_len = T.ak_name.size;
	}
}

/* Endorse with this prior, then the AK. */
static void start_with_prior(struct ctx *c, const struct session_prior *pr)
{
	ctx_start(c);
	assert_int_equal(do_endorse(c), 0);
	assert_int_equal(session_set_prior(c->s, pr, 1), 0);
	assert_int_equal(do_ak(c, T.ak_pub_wire, T.ak_pub_len), 0);
}

/* The AK this TPM activated before: no challenge, quotes at once. */
static void test_prior_ak_no_activation(void **state)
{
	struct session_prior pr;
	struct session_verdict v;
	struct ctx c;

	(void)state;
	ctx_init(&c);
	prior_of(&pr, T.clock->resetCount, T.clock->restartCount, T.clock->clock - 1, 1);
	start_with_prior(&c, &pr);
	assert_true(session_ak_preactivated(c.s));
	assert_int_equal(session_get_state(c.s), SESSION_ACTIVATED);
	assert_int_equal(c.ch.blob.size, 0);
	assert_int_equal(session_activate(c.s, (const uint8_t *)"x", 1), AERR_STATE);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	assert_int_equal(v.clock, T.clock->clock);
	session_free(c.s);

	/* Another AK than the one recorded: the full activation. */
	ctx_init(&c);
	pr.ak_name[pr.ak_name_len - 1] ^= 1;
	start_with_prior(&c, &pr);
	assert_false(session_ak_preactivated(c.s));
	assert_int_equal(session_get_state(c.s), SESSION_AK_ADMITTED);
	session_free(c.s);
}

/* A push re-attestation resumed from a verdict's quote request: the session
 * rebuilt as the push service does (the kept EK, the store's prior, the kept
 * AK). The anchor (the last quote over a fresh nonce, which was also the
 * passing quote here) is wall_ms before the quote arrives, and the TPM clock
 * tpm_ms further than then. */
static int preissued_quote(struct ctx *c, uint64_t tpm_ms, uint64_t wall_ms, uint32_t restart_back,
			   struct session_verdict *v)
{
	struct session_prior pr;
	struct session_resume res;
	char a[65], b[65];

	ctx_init(c);
	c->p.nonce_ttl_ms = 10000;
	ctx_start(c);
	assert_int_equal(session_endorse_known(c->s, &T.ek_pub), 0);
	/* The same identity as a full endorsement gives the node. */
	assert_int_equal(session_ek_hash(c->s, a), 0);
	assert_int_equal(tpmpub_identity(&T.ek_pub, b), 0);
	assert_string_equal(a, b);
	prior_of(&pr, T.clock->resetCount, T.clock->restartCount - restart_back, T.clock->clock - tpm_ms, 1);
	assert_int_equal(session_set_prior(c->s, &pr, 1), 0);
	assert_int_equal(do_ak(c, T.ak_pub_wire, T.ak_pub_len), 0);
	assert_true(session_ak_preactivated(c->s));
	memset(&res, 0, sizeof(res));
	memset(res.nonce, 0x5a, sizeof(res.nonce));
	res.issued_ms = fake_now;
	res.reset_count = T.clock->resetCount;
	res.restart_count = T.clock->restartCount - restart_back;
	res.clock = T.clock->clock - tpm_ms;
	res.anchor_ms = fake_now;
	res.anchor_clock = res.clock;
	assert_int_equal(session_quote_preissued(c->s, &res), 0);
	fake_now += wall_ms;
	fake_quote(res.nonce, sizeof(res.nonce), &c->p.pcrs, &c->q);
	return do_quote(c, v);
}

/* The nonce is older than nonce_ttl by design; the TPM clock shows when the
 * quote was made: no older than nonce_ttl passes, older is asked again with a
 * fresh nonce, and so is a clock that ran ahead of the verifier's (set
 * forward to quote now and answer later), one that is not safe, and a quote
 * after a power cycle. */
static void test_preissued(void **state)
{
	struct session_verdict v;
	struct session_resume next;
	struct session_quote_request qr;
	struct ctx c;

	(void)state;
	/* A TPM up for hours: its clock can be set back by more than a wait. */
	T.clock->clock += 10000000;
	/* Quoted just now, 100 s after the request was handed out. */
	assert_int_equal(preissued_quote(&c, 100000, 100000, 0, &v), 0);
	assert_int_equal(v.pass, 1);
	assert_true(session_proven(c.s));
	/* The next request keeps the anchor: the fresh nonce it was measured from. */
	assert_int_equal(session_next_request(c.s, &next, &qr), 0);
	assert_int_equal(next.anchor_ms, fake_now - 100000);
	assert_int_equal(next.anchor_clock, T.clock->clock - 100000);
	/* Once. */
	assert_int_equal(do_quote(&c, &v), AERR_NONCE);
	session_free(c.s);
	/* 9 s old: within nonce_ttl (10 s). */
	assert_int_equal(preissued_quote(&c, 91000, 100000, 0, &v), 0);
	session_free(c.s);
	/* 20 s old: no longer excused by a share of the wait (it was 15%). */
	assert_int_equal(preissued_quote(&c, 80000, 100000, 0, &v), ASKS_REQUOTE);
	assert_non_null(strstr(session_next_reason(c.s), "more than nonce_ttl allows"));
	session_free(c.s);
	/* 30 s old: not a verdict; a fresh request, and its quote passes and
	 * becomes the anchor. */
	assert_int_equal(preissued_quote(&c, 70000, 100000, 0, &v), ASKS_REQUOTE);
	assert_int_equal(session_get_state(c.s), SESSION_ACTIVATED);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	assert_int_equal(v.pass, 1);
	assert_int_equal(session_next_request(c.s, &next, &qr), 0);
	assert_int_equal(next.anchor_ms, fake_now);
	assert_int_equal(next.anchor_clock, T.clock->clock);
	session_free(c.s);
	/* The TPM clock ran an hour ahead (TPM2_ClockSet): it cannot date the
	 * quote. Within the rate's tolerance it can. */
	assert_int_equal(preissued_quote(&c, 100000 + 3600000, 100000, 0, &v), ASKS_REQUOTE);
	assert_non_null(strstr(session_next_reason(c.s), "cannot date the quote"));
	session_free(c.s);
	assert_int_equal(preissued_quote(&c, 100000 + 201, 100000, 0, &v), ASKS_REQUOTE);
	session_free(c.s);
	assert_int_equal(preissued_quote(&c, 100000 + 199, 100000, 0, &v), 0);
	session_free(c.s);
	/* clockInfo.safe NO: the clock may have been reported ahead before. */
	T.clock->safe = 0;
	assert_int_equal(preissued_quote(&c, 100000, 100000, 0, &v), ASKS_REQUOTE);
	assert_non_null(strstr(session_next_reason(c.s), "safe is NO"));
	T.clock->safe = 1;
	session_free(c.s);
	/* restartCount moved (a suspend): the clocks do not compare. */
	assert_int_equal(preissued_quote(&c, 100000, 100000, 1, &v), ASKS_REQUOTE);
	session_free(c.s);
	T.clock->clock -= 10000000;

	/* Out of order: before the AK, or for an AK that still needs activation. */
	{
		struct session_resume res;

		memset(&res, 0, sizeof(res));
		ctx_init(&c);
		ctx_start(&c);
		assert_int_equal(session_quote_preissued(c.s, &res), AERR_STATE);
		assert_int_equal(session_endorse_known(c.s, &T.ek_pub), 0);
		assert_int_equal(session_endorse_known(c.s, &T.ek_pub), AERR_STATE);
		assert_int_equal(session_set_prior(c.s, &(struct session_prior){ 0 }, 1), 0);
		assert_int_equal(do_ak(&c, T.ak_pub_wire, T.ak_pub_len), 0);
		assert_false(session_ak_preactivated(c.s));
		assert_int_equal(session_quote_preissued(c.s, &res), AERR_STATE);
		session_free(c.s);
	}
	/* A kept EK of another algorithm than the configured one. */
	ctx_init(&c);
	c.p.ek_alg = TPM2_ALG_ECC;
	ctx_start(&c);
	assert_int_equal(session_endorse_known(c.s, &T.ek_pub), AERR_NOT_FOUND);
	session_free(c.s);
}

/* Counters that go backwards fail the node, each with its own reason. */
static void test_counters_backwards(void **state)
{
	static const struct {
		int dreset, drestart;
		int64_t dclock;
		const char *needle;
	} cases[] = {
		{ 1, 0, 0, "resetCount went backwards" },
		{ 0, 1, 0, "restartCount went backwards" },
		{ 0, 0, 1, "clock went backwards" },
	};
	struct session_prior pr;
	struct session_verdict v;
	struct ctx c;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		ctx_init(&c);
		prior_of(&pr, T.clock->resetCount + cases[i].dreset, T.clock->restartCount + cases[i].drestart,
			 T.clock->clock + cases[i].dclock, 0);
		start_with_prior(&c, &pr);
		assert_int_equal(do_activate(&c), 0);
		request_and_quote(&c);
		assert_int_equal(do_quote(&c, &v), AERR_COUNTERS);
		assert_failed(&c, AERR_COUNTERS, SESSION_STEP_QUOTE, cases[i].needle);
		session_free(c.s);
	}
	/* A later boot, or a later restart with an earlier clock: fine. */
	ctx_init(&c);
	prior_of(&pr, T.clock->resetCount - 1, T.clock->restartCount + 5, T.clock->clock + 1000, 0);
	start_with_prior(&c, &pr);
	assert_int_equal(do_activate(&c), 0);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	session_free(c.s);
}

/* The AK was activated in an earlier boot: activate it again, then pass. */
static void test_reactivation(void **state)
{
	struct session_prior pr;
	struct session_verdict v;
	struct ctx c;

	(void)state;
	ctx_init(&c);
	prior_of(&pr, T.clock->resetCount - 1, 0, 0, 1);
	start_with_prior(&c, &pr);
	assert_true(session_ak_preactivated(c.s));
	assert_int_equal(session_reactivate(c.s, &c.ch), AERR_STATE);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), ASKS_REACTIVATE);
	assert_int_equal(session_get_state(c.s), SESSION_REACTIVATE_DUE);
	assert_int_equal(v.pass, 0);
	/* Neither a new quote nor an activation before the new challenge. */
	assert_int_equal(session_quote_request(c.s, &c.qr), AERR_STATE);
	assert_int_equal(session_activate(c.s, (const uint8_t *)"x", 1), AERR_STATE);
	assert_int_equal(session_reactivate(c.s, &c.ch), 0);
	assert_int_equal(session_get_state(c.s), SESSION_AK_ADMITTED);
	/* The store's binding is gone with the old boot: no pre-issued quote. */
	assert_false(session_ak_preactivated(c.s));
	{
		struct session_resume res;

		memset(&res, 0, sizeof(res));
		assert_int_equal(session_quote_preissued(c.s, &res), AERR_STATE);
	}
	assert_int_equal(c.ch.ak_name.size, T.ak_name.size);
	assert_int_equal(do_activate(&c), 0);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	assert_int_equal(v.pass, 1);

	/* Within one session: a reset between rounds asks again too; a clock
	 * that goes back within the boot fails. */
	T.clock->resetCount++;
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), ASKS_REACTIVATE);
	assert_int_equal(session_reactivate(c.s, &c.ch), 0);
	assert_int_equal(do_activate(&c), 0);
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), 0);
	T.clock->clock -= 10;
	request_and_quote(&c);
	assert_int_equal(do_quote(&c, &v), AERR_COUNTERS);
	assert_failed(&c, AERR_COUNTERS, SESSION_STEP_QUOTE, "clock went backwards");
	T.clock->clock += 10;
	T.clock->resetCount--;
	session_free(c.s);
}

/* Explicit enrollment: an unknown node fails at its endorsement. */
static void test_not_enrolled(void **state)
{
	struct ctx c;

	(void)state;
	ctx_init(&c);
	ctx_start(&c);
	assert_int_equal(do_endorse(&c), 0);
	assert_int_equal(session_set_prior(c.s, NULL, 0), AERR_NOT_FOUND);
	assert_failed(&c, AERR_NOT_FOUND, SESSION_STEP_ENDORSEMENT, "not enrolled");
	session_free(c.s);
}

/* ------------------------------------------------------------ the state machine, walked */

/* Where a walk starts: a state reached as the services reach it, and what
 * the calls' guards need there (a nonce issued, an AK the store bound, a
 * passing verdict). */
enum walk_pos {
	POS_NEW, POS_ENDORSED, POS_ENDORSED_PRIOR, POS_AK_ADMITTED, POS_REACTIVATE_DUE, POS_ACTIVATED,
	POS_ACTIVATED_NONCE, POS_ACTIVATED_STORE, POS_ACTIVATED_STALE, POS_QUOTED, POS_QUOTED_NONCE,
	POS_QUOTED_REBOOT, POS_QUOTED_UNJUDGED, POS_SECRETS_SENT, POS_FAILED,
	/* After a pass, a quote from the next boot: the passing verdict is still
	 * the last one, so only the table keeps secrets and a handed-out request
	 * from these. */
	POS_PASSED_REACTIVATE_DUE, POS_PASSED_AK_ADMITTED, POS_PASSED_ACTIVATED, POS_COUNT
};

enum walk_call {
	W_ENDORSE, W_ENDORSE_KNOWN, W_SET_PRIOR, W_AK, W_ACTIVATE, W_REACTIVATE, W_QUOTE_REQUEST,
	W_QUOTE_PREISSUED, W_QUOTE, W_NEXT_REQUEST, W_SECRETS, W_RECEIPT, W_COUNT
};

static const char *const walk_call_names[W_COUNT] = {
	"endorse", "endorse_known", "set_prior", "ak", "activate", "reactivate", "quote_request",
	"quote_preissued", "quote", "next_request", "secrets", "receipt",
};

#define W(x) (1u << (x))
#define W_QUOTED_CALLS (W(W_QUOTE_REQUEST) | W(W_QUOTE) | W(W_NEXT_REQUEST) | W(W_SECRETS))

/* What the design (docs/design.md, session.h) says each position admits;
 * every other call is refused with AERR_STATE and changes nothing. */
static const struct {
	enum session_state state;
	uint32_t admits;
} walk_expect[POS_COUNT] = {
	[POS_NEW] = { SESSION_NEW, W(W_ENDORSE) | W(W_ENDORSE_KNOWN) },
	[POS_ENDORSED] = { SESSION_ENDORSED, W(W_SET_PRIOR) | W(W_AK) },
	[POS_ENDORSED_PRIOR] = { SESSION_ENDORSED, W(W_SET_PRIOR) | W(W_AK) },
	[POS_AK_ADMITTED] = { SESSION_AK_ADMITTED, W(W_ACTIVATE) },
	[POS_REACTIVATE_DUE] = { SESSION_REACTIVATE_DUE, W(W_REACTIVATE) },
	/* No nonce yet: no quote; activated here: nothing pre-issued. */
	[POS_ACTIVATED] = { SESSION_ACTIVATED, W(W_QUOTE_REQUEST) },
	[POS_ACTIVATED_NONCE] = { SESSION_ACTIVATED, W(W_QUOTE_REQUEST) | W(W_QUOTE) },
	[POS_ACTIVATED_STORE] = { SESSION_ACTIVATED, W(W_QUOTE_REQUEST) | W(W_QUOTE_PREISSUED) },
	[POS_ACTIVATED_STALE] = { SESSION_ACTIVATED, W(W_QUOTE_REQUEST) | W(W_QUOTE_PREISSUED) | W(W_QUOTE) },
	[POS_QUOTED] = { SESSION_QUOTED, W_QUOTED_CALLS },
	[POS_QUOTED_NONCE] = { SESSION_QUOTED, W_QUOTED_CALLS },
	[POS_QUOTED_REBOOT] = { SESSION_QUOTED, W_QUOTED_CALLS },
	/* Not passed: neither secrets nor a request handed out with a verdict. */
	[POS_QUOTED_UNJUDGED] = { SESSION_QUOTED, W(W_QUOTE_REQUEST) | W(W_QUOTE) },
	[POS_SECRETS_SENT] = { SESSION_SECRETS_SENT, W(W_RECEIPT) },
	[POS_FAILED] = { SESSION_FAILED, 0 },
	[POS_PASSED_REACTIVATE_DUE] = { SESSION_REACTIVATE_DUE, W(W_REACTIVATE) },
	[POS_PASSED_AK_ADMITTED] = { SESSION_AK_ADMITTED, W(W_ACTIVATE) },
	/* The reactivating quote's nonce is used: a quote without a new request
	 * is a replay, which fails the session (admitted, then refused). */
	[POS_PASSED_ACTIVATED] = { SESSION_ACTIVATED, W(W_QUOTE_REQUEST) | W(W_QUOTE) },
};

/* The moves between states the design allows (besides staying, and failing). */
static const enum session_state walk_moves[][2] = {
	{ SESSION_NEW, SESSION_ENDORSED },
	{ SESSION_ENDORSED, SESSION_AK_ADMITTED },
	{ SESSION_ENDORSED, SESSION_ACTIVATED },
	{ SESSION_AK_ADMITTED, SESSION_ACTIVATED },
	{ SESSION_REACTIVATE_DUE, SESSION_AK_ADMITTED },
	{ SESSION_ACTIVATED, SESSION_QUOTED },
	{ SESSION_ACTIVATED, SESSION_REACTIVATE_DUE },
	{ SESSION_QUOTED, SESSION_REACTIVATE_DUE },
	{ SESSION_QUOTED, SESSION_SECRETS_SENT },
	{ SESSION_SECRETS_SENT, SESSION_QUOTED },
};

struct walk {
	struct ctx c;
	struct secret_conf conf;
	struct secret_def def;
	const struct secret_blob *blobs;
};

static void walk_to(struct walk *w, enum walk_pos pos)
{
	struct ctx *c = &w->c;
	struct session_prior pr;
	struct session_verdict v;
	const struct secret_def *defs[1] = { &w->def };

	ctx_init(c);
	secret_def_aes(&w->conf, &w->def, "walk", 0x33);
	w->blobs = NULL;
	if (pos == POS_QUOTED_UNJUDGED)
		c->p.has_reference = 0;
	switch (pos) {
	case POS_NEW:
		ctx_start(c);
		break;
	case POS_ENDORSED:
	case POS_ENDORSED_PRIOR:
		ctx_start(c);
		assert_int_equal(do_endorse(c), 0);
		prior_of(&pr, T.clock->resetCount, T.clock->restartCount, T.clock->clock - 1, 1);
		if (pos == POS_ENDORSED_PRIOR)
			assert_int_equal(session_set_prior(c->s, &pr, 1), 0);
		break;
	case POS_AK_ADMITTED:
		ctx_start(c);
		assert_int_equal(do_endorse(c), 0);
		assert_int_equal(do_ak(c, T.ak_pub_wire, T.ak_pub_len), 0);
		break;
	case POS_REACTIVATE_DUE:
	case POS_ACTIVATED_STALE:
		prior_of(&pr, T.clock->resetCount - 1, 0, 0, 1);
		start_with_prior(c, &pr);
		assert_int_equal(session_quote_request(c->s, &c->qr), 0);
		if (pos == POS_REACTIVATE_DUE) {
			fake_quote(c->qr.nonce, c->qr.nonce_len, &c->qr.pcrs, &c->q);
			assert_int_equal(do_quote(c, &v), ASKS_REACTIVATE);
		}
		break;
	case POS_ACTIVATED_STORE:
		prior_of(&pr, T.clock->resetCount, T.clock->restartCount, T.clock->clock - 1, 1);
		start_with_prior(c, &pr);
		break;
	case POS_ACTIVATED:
	case POS_ACTIVATED_NONCE:
		to_activated(c);
		if (pos == POS_ACTIVATED_NONCE)
			assert_int_equal(session_quote_request(c->s, &c->qr), 0);
		break;
	case POS_QUOTED:
	case POS_QUOTED_NONCE:
	case POS_QUOTED_REBOOT:
	case POS_QUOTED_UNJUDGED:
	case POS_SECRETS_SENT:
		to_activated(c);
		request_and_quote(c);
		assert_int_equal(do_quote(c, &v), 0);
		assert_int_equal(v.pass, pos != POS_QUOTED_UNJUDGED);
		if (pos == POS_QUOTED_NONCE || pos == POS_QUOTED_REBOOT)
			assert_int_equal(session_quote_request(c->s, &c->qr), 0);
		if (pos == POS_QUOTED_REBOOT)
			T.clock->resetCount++; /* undone by walk_done */
		if (pos == POS_SECRETS_SENT)
			assert_int_equal(session_secrets(c->s, defs, 1, &w->blobs), 0);
		break;
	case POS_FAILED:
		to_activated(c);
		assert_int_equal(session_reject(c->s, SESSION_STEP_QUOTE, AERR_NONCE), AERR_NONCE);
		break;
	case POS_PASSED_REACTIVATE_DUE:
	case POS_PASSED_AK_ADMITTED:
	case POS_PASSED_ACTIVATED:
		to_activated(c);
		request_and_quote(c);
		assert_int_equal(do_quote(c, &v), 0);
		T.clock->resetCount++; /* undone by walk_done */
		request_and_quote(c);
		assert_int_equal(do_quote(c, &v), ASKS_REACTIVATE);
		assert_true(session_last_verdict(c->s)->pass);
		if (pos != POS_PASSED_REACTIVATE_DUE)
			assert_int_equal(session_reactivate(c->s, &c->ch), 0);
		if (pos == POS_PASSED_ACTIVATED)
			assert_int_equal(do_activate(c), 0);
		break;
	default:
		fail_msg("position %d", pos);
	}
}

static void walk_done(struct walk *w, enum walk_pos pos)
{
	if (pos == POS_QUOTED_REBOOT || pos >= POS_PASSED_REACTIVATE_DUE)
		T.clock->resetCount--;
	session_free(w->c.s);
}

/* One call as a peer's message makes it, with the inputs a genuine peer
 * would send in this position. */
static int walk_call(struct walk *w, enum walk_call call)
{
	struct ctx *c = &w->c;
	struct session_prior pr;
	struct session_resume res;
	struct session_quote_request qr;
	struct session_challenge ch;
	struct session_verdict v;
	struct session_proof proof;
	const struct secret_def *defs[1] = { &w->def };
	const struct secret_blob *blobs;
	uint8_t secret[64] = { 0 }, mac[32];
	size_t len = SESSION_SECRET_LEN;

	switch (call) {
	case W_ENDORSE:
		return do_endorse(c);
	case W_ENDORSE_KNOWN:
		return session_endorse_known(c->s, &T.ek_pub);
	case W_SET_PRIOR:
		prior_of(&pr, T.clock->resetCount, T.clock->restartCount, T.clock->clock - 1, 0);
		return session_set_prior(c->s, &pr, 1);
	case W_AK:
		return do_ak(c, T.ak_pub_wire, T.ak_pub_len);
	case W_ACTIVATE:
		if (c->ch.blob.size)
			assert_int_equal(fake_activate(T.tpm, &c->ch, secret, sizeof(secret), &len), 0);
		return session_activate(c->s, secret, len);
	case W_REACTIVATE:
		return session_reactivate(c->s, &ch);
	case W_QUOTE_REQUEST:
		return session_quote_request(c->s, &qr);
	case W_QUOTE_PREISSUED:
		memset(&res, 0, sizeof(res));
		res.issued_ms = res.anchor_ms = fake_now;
		res.reset_count = T.clock->resetCount;
		res.restart_count = T.clock->restartCount;
		res.clock = res.anchor_clock = T.clock->clock;
		return session_quote_preissued(c->s, &res);
	case W_QUOTE:
		fake_quote(c->qr.nonce, SESSION_NONCE_LEN, &c->p.pcrs, &c->q);
		return do_quote(c, &v);
	case W_NEXT_REQUEST:
		return session_next_request(c->s, &res, &qr);
	case W_SECRETS:
		return session_secrets(c->s, defs, 1, &blobs);
	case W_RECEIPT:
		if (!w->blobs)
			return session_receipt(c->s, &proof, 0, &v);
		hmac_proof(&w->blobs[0], mac);
		proof = (struct session_proof){ .name = "walk", .proof = mac, .len = sizeof(mac) };
		return session_receipt(c->s, &proof, 1, &v);
	default:
		fail_msg("call %d", call);
	}
	return -1;
}

/* What a refused call must leave as it was, beside the state. */
struct walk_snapshot {
	int proven, preactivated, has_ak;
	struct session_verdict verdict;
};

static void walk_snap(const struct session *s, struct walk_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	out->proven = session_proven(s);
	out->preactivated = session_ak_preactivated(s);
	out->has_ak = session_ak_name(s) != NULL;
	out->verdict = *session_last_verdict(s);
}

static int walk_move_allowed(enum session_state from, enum session_state to)
{
	for (size_t i = 0; i < ARRAY_LEN(walk_moves); i++)
		if (walk_moves[i][0] == from && walk_moves[i][1] == to)
			return 1;
	return 0;
}

/* Every call in every position: a call the position does not admit is
 * refused (AERR_STATE) and leaves the state, the proof, the AK's binding
 * and the last verdict as they were; an admitted one is
 * not refused for its order and moves only along the design's moves (or to
 * FAILED). Every move of the design is seen, and every state. */
static void test_session_machine(void **state)
{
	int seen_move[ARRAY_LEN(walk_moves)] = { 0 };
	int seen_state[SESSION_FAILED + 1] = { 0 };

	(void)state;
	for (int pos = 0; pos < POS_COUNT; pos++) {
		for (int call = 0; call < W_COUNT; call++) {
			struct walk w;
			struct walk_snapshot before, after;
			enum session_state from, to;
			int r, admitted = (walk_expect[pos].admits & W(call)) != 0;

			walk_to(&w, (enum walk_pos)pos);
			from = session_get_state(w.c.s);
			if (from != walk_expect[pos].state)
				fail_msg("position %d is in state %s", pos, session_state_name(from));
			seen_state[from] = 1;
			walk_snap(w.c.s, &before);
			r = walk_call(&w, (enum walk_call)call);
			to = session_get_state(w.c.s);
			walk_snap(w.c.s, &after);
			if (!admitted && memcmp(&before, &after, sizeof(before)) != 0)
				fail_msg("%s in %s (position %d) was refused but changed the session",
					 walk_call_names[call], session_state_name(from), pos);
			if (!admitted && (r != AERR_STATE || to != from))
				fail_msg("%s in %s (position %d): %d, state %s; want AERR_STATE, unchanged",
					 walk_call_names[call], session_state_name(from), pos, r, session_state_name(to));
			if (admitted && (r == AERR_STATE ||
					 (to != from && to != SESSION_FAILED && !walk_move_allowed(from, to))))
				fail_msg("%s in %s (position %d): %d, moved to %s", walk_call_names[call],
					 session_state_name(from), pos, r, session_state_name(to));
			for (size_t i = 0; i < ARRAY_LEN(walk_moves); i++)
				if (walk_moves[i][0] == from && walk_moves[i][1] == to)
					seen_move[i] = 1;
			walk_done(&w, (enum walk_pos)pos);
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(walk_moves); i++)
		if (!seen_move[i])
			fail_msg("move %s -> %s never made", session_state_name(walk_moves[i][0]),
				 session_state_name(walk_moves[i][1]));
	for (int st = 0; st <= SESSION_FAILED; st++)
		if (!seen_state[st])
			fail_msg("state %s never walked", session_state_name((enum session_state)st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_wrong_secret),
		cmocka_unit_test(test_credential_bound_to_ak),
		cmocka_unit_test(test_wrong_nonce),
		cmocka_unit_test(test_replayed_nonce),
		cmocka_unit_test(test_expired_nonce),
		cmocka_unit_test(test_policy_mismatch),
		cmocka_unit_test(test_values_not_quoted),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_proven),
		cmocka_unit_test(test_unjudged),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_repeated_step),
		cmocka_unit_test(test_ak_decrypt),
		cmocka_unit_test(test_ak_alg_not_accepted),
		cmocka_unit_test(test_ek_cert_key_mismatch),
		cmocka_unit_test(test_ek_cert_untrusted),
		cmocka_unit_test(test_ek_not_template),
		cmocka_unit_test(test_ek_alg_absent),
		cmocka_unit_test(test_ek_truncated),
		cmocka_unit_test(test_ek_cache),
		cmocka_unit_test(test_ak_keys),
		cmocka_unit_test(test_preissued),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_prior_ak_no_activation),
		cmocka_unit_test(test_counters_backwards),
		cmocka_unit_test(test_reactivation),
		cmocka_unit_test(test_not_enrolled),
		cmocka_unit_test(test_session_machine),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
