/* One simulated node of simtpm.h: its keys, public areas, certificate and
 * the state (PCRs, clock) the caller sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "ektemplate.h"
#include "simtpm_priv.h"
#include "tpmpub.h"

#define SIMTPM_START_CLOCK_MS 1000u

/* The templates say exponent 0: 65537, the only one a TPM uses by default. */
static int simtpm_rsa_exponent(EVP_PKEY *key, const char *what)
{
	BIGNUM *e = NULL;
	int ok;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
		return 0;
	ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) && BN_is_word(e, 65537);
	BN_free(e);
	return ok ? 0 : err_set(AERR_INVALID_ARG, "%s: exponent must be 65537", what);
}

/* key (up-ref'd) or a fresh one of alg: RSA-2048 / P-256. */
static int simtpm_key(TPM2_ALG_ID alg, EVP_PKEY *key, const char *what, EVP_PKEY **out)
{
	if (key) {
		EVP_PKEY_up_ref(key);
		*out = key;
		return simtpm_rsa_exponent(key, what);
	}
	*out = alg == TPM2_ALG_RSA ? EVP_RSA_gen(2048) : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return *out ? 0 : crypto_ossl_err(AERR_CRYPTO, what);
}

/* pub from template with key's public part, and its wire bytes. */
static int simtpm_public(TPMT_PUBLIC *pub, EVP_PKEY *key, uint8_t **wire, size_t *len)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	int r;

	*wire = NULL;
	if ((r = tpmpub_set_unique(pub, key)) != 0 || (r = tpmpub_marshal(pub, buf, sizeof(buf), len)) != 0)
		return r;
	if (!(*wire = malloc(*len)))
		return err_set(AERR_ALLOC, "public area");
	memcpy(*wire, buf, *len);
	return 0;
}

int simtpm_new(const struct simtpm_params *p, struct simtpm **out)
{
	struct simtpm *s = NULL;
	TPM2_ALG_ID ak_alg;
	char cn[64];
	int r;

	*out = NULL;
	if (p->ek_alg != TPM2_ALG_RSA && p->ek_alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "EK algorithm 0x%04x", p->ek_alg);
	ak_alg = p->ak_key && EVP_PKEY_get_base_id(p->ak_key) == EVP_PKEY_RSA ? TPM2_ALG_RSA : TPM2_ALG_ECC;
	if (!(s = calloc(1, sizeof(*s))))
		return err_set(AERR_ALLOC, "simtpm");
	s->ek_alg = p->ek_alg;
	s->clock.clock = SIMTPM_START_CLOCK_MS;
	s->clock.resetCount = 1;
	s->clock.safe = TPM2_YES;
	s->clock_tick_ms = p->clock_tick_ms;
	ek_template(ek_kind_low(p->ek_alg), &s->ekpub);
	tpmpub_ak_template(ak_alg, &s->akpub);
	if ((r = simtpm_key(p->ek_alg, p->ek_key, "EK", &s->ek)) != 0 ||
	    (r = simtpm_key(ak_alg, p->ak_key, "AK", &s->ak)) != 0 ||
	    (r = simtpm_public(&s->ekpub, s->ek, &s->ek_wire, &s->ek_wire_len)) != 0 ||
	    (r = simtpm_public(&s->akpub, s->ak, &s->ak_wire, &s->ak_wire_len)) != 0 ||
	    (r = tpmpub_name(&s->akpub, &s->ak_name)) != 0)
		goto out;
	snprintf(cn, sizeof(cn), "simtpm node %llu", (unsigned long long)p->serial);
	if (p->ca && (r = simtpm_ca_issue(p->ca, s->ek, cn, p->serial, &s->cert, &s->cert_len)) != 0)
		goto out;
	*out = s;
	s = NULL; /* transferred */
out:
	simtpm_free(s);
	return r;
}

void simtpm_free(struct simtpm *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->ek);
	EVP_PKEY_free(s->ak);
	free(s->ek_wire);
	free(s->ak_wire);
	free(s->cert);
	free(s);
}

const uint8_t *simtpm_ek_public(const struct simtpm *s, size_t *len)
{
	*len = s->ek_wire_len;
	return s->ek_wire;
}

const uint8_t *simtpm_ek_cert(const struct simtpm *s, size_t *len)
{
	*len = s->cert_len;
	return s->cert;
}

const uint8_t *simtpm_ak_public(const struct simtpm *s, size_t *len)
{
	*len = s->ak_wire_len;
	return s->ak_wire;
}

const TPMT_PUBLIC *simtpm_ek_pub(const struct simtpm *s)
{
	return &s->ekpub;
}

const TPMT_PUBLIC *simtpm_ak_pub(const struct simtpm *s)
{
	return &s->akpub;
}

const TPM2B_NAME *simtpm_ak_name(const struct simtpm *s)
{
	return &s->ak_name;
}

TPM2_ALG_ID simtpm_ek_alg(const struct simtpm *s)
{
	return s->ek_alg;
}

void simtpm_set_pcrs(struct simtpm *s, const struct pcr_values *values)
{
	s->pcrs = values;
}

TPMS_CLOCK_INFO *simtpm_clock(struct simtpm *s)
{
	return &s->clock;
}
