#define LOG_MODULE "secret"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "duplicate.h"
#include "keyfile.h"
#include "log.h"
#include "policy/secret.h"
#include "strsafe.h"
#include "tpmpolicy.h"
#include "tpmpub.h"

int secret_name_check(const char *name)
{
	return strsafe_name_check("secret", name, SECRET_NAME_MAX);
}

/* ------------------------------------------------------------ loading */

/* An RSA-2048 private key as PEM is under 2 KB; room for comments. */
#define SECRET_KEY_FILE_MAX 65536

/* The key file's bytes, from the file that passed common/keyfile.h's rule
 * (the same open file), without stdio; AERR_CONFIG naming the secret. */
static int secret_read_key(const struct secret_conf *c, size_t cap, uint8_t **buf, size_t *len)
{
	char what[SECRET_NAME_MAX + 16];
	int r = keyfile_read("key", c->key, cap, buf, len);

	if (r == AERR_TOO_LARGE)
		return err_set(AERR_CONFIG, "secret '%s': key %s holds more than %zu bytes", c->name, c->key, cap);
	snprintf(what, sizeof(what), "secret '%s'", c->name);
	return r ? err_wrap(AERR_CONFIG, what) : 0;
}

static int secret_load_aes(const struct secret_conf *c, struct secret_def *d)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int r;

	if ((r = secret_read_key(c, SECRET_AES_LEN, &buf, &n)) != 0)
		return r;
	if (n != SECRET_AES_LEN)
		r = err_set(AERR_CONFIG, "secret '%s': key %s holds %zu bytes, an aes256 key is %d", c->name, c->key,
			    n, SECRET_AES_LEN);
	else
		memcpy(d->aes, buf, SECRET_AES_LEN);
	keyfile_free(buf, n);
	return r;
}

static int secret_load_rsa(const struct secret_conf *c, struct secret_def *d)
{
	FILE *f = NULL;
	X509 *x = NULL;
	BIO *bio = NULL;
	uint8_t *pem = NULL;
	size_t pem_len = 0;
	int r = AERR_CONFIG;

	if (!c->cert)
		return err_set(AERR_CONFIG, "secret '%s': kind rsa needs cert = FILE", c->name);
	if ((r = secret_read_key(c, SECRET_KEY_FILE_MAX, &pem, &pem_len)) != 0)
		return r;
	if ((bio = BIO_new_mem_buf(pem, (int)pem_len)))
		d->rsa_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	keyfile_free(pem, pem_len);
	if (!d->rsa_key) {
		ERR_clear_error();
		return err_set(AERR_CONFIG, "secret '%s': key %s is not a PEM private key", c->name, c->key);
	}
	if (EVP_PKEY_get_base_id(d->rsa_key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(d->rsa_key) != 2048)
		return err_set(AERR_CONFIG, "secret '%s': key %s is not an RSA-2048 key (%s, %d bits)", c->name,
			       c->key, OBJ_nid2sn(EVP_PKEY_get_base_id(d->rsa_key)), EVP_PKEY_get_bits(d->rsa_key));
	if (!(f = fopen(c->cert, "r")))
		return err_set(AERR_CONFIG, "secret '%s': cert %s: %s", c->name, c->cert, strerror(errno));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		ERR_clear_error();
		return err_set(AERR_CONFIG, "secret '%s': cert %s is not a PEM certificate", c->name, c->cert);
	}
	if (!(d->cert_key = X509_get_pubkey(x)) || EVP_PKEY_eq(d->cert_key, d->rsa_key) != 1) {
		r = err_set(AERR_CONFIG, "secret '%s': the certificate %s is not for the key %s", c->name, c->cert,
			    c->key);
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	X509_free(x);
	return r;
}

int secret_set_load(const struct secret_conf *confs, size_t n, struct secret_set *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	if (!(out->defs = calloc(n, sizeof(*out->defs))))
		return err_set(AERR_ALLOC, "secrets");
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct secret_conf *c = &confs[i];

		out->defs[i].conf = c;
		if (!c->key) {
			r = err_set(AERR_CONFIG, "secret '%s': key = FILE is required", c->name);
			goto fail;
		}
		if (c->kind == SECRET_AES256)
			r = secret_load_aes(c, &out->defs[i]);
		else if (c->kind == SECRET_RSA)
			r = secret_load_rsa(c, &out->defs[i]);
		else
			r = err_set(AERR_CONFIG, "secret '%s': kind = aes256 | rsa is required", c->name);
		if (r != 0)
			goto fail;
	}
	return 0;
fail:
	secret_set_free(out);
	return r;
}

void secret_set_free(struct secret_set *set)
{
	if (!set || !set->defs)
		return;
	for (size_t i = 0; i < set->n; i++) {
		EVP_PKEY_free(set->defs[i].rsa_key);
		EVP_PKEY_free(set->defs[i].cert_key);
	}
	OPENSSL_cleanse(set->defs, set->n * sizeof(*set->defs));
	free(set->defs);
	memset(set, 0, sizeof(*set));
}

int secret_host_check(const char *entry)
{
	const char *v;

	if (!strcmp(entry, "*"))
		return 0;
	if (!strncmp(entry, "ek:", 3)) {
		v = entry + 3;
		if (strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64)
			return err_set(AERR_CONFIG, "host '%s': ek: takes the 64 hex digits of the EK hash", entry);
		return 0;
	}
	v = !strncmp(entry, "name:", 5) ? entry + 5 : !strncmp(entry, "group:", 6) ? entry + 6 : NULL;
	if (!v)
		return err_set(AERR_CONFIG, "host '%s' would match the attestor's own hostname claim, which any host "
			       "with a genuine TPM can make: select by ek:<EK hash> (what its TPM proves), or by "
			       "name:%s / group:G (assigned with verifier enroll --name / --group)", entry, entry);
	if (!*v || strlen(v) > 64)
		return err_set(AERR_CONFIG, "host '%s': a name or group has 1..64 characters", entry);
	return 0;
}

int secret_conf_selects(const struct secret_conf *c, const struct secret_node *node)
{
	if (c->nhosts == 0)
		return 1;
	for (size_t h = 0; h < c->nhosts; h++) {
		const char *e = c->hosts[h];

		if (!strcmp(e, "*"))
			return 1;
		if (!strncmp(e, "ek:", 3) && node->ek_hash && !strcasecmp(e + 3, node->ek_hash))
			return 1;
		if (!strncmp(e, "name:", 5) && node->name && *node->name && !strcmp(e + 5, node->name))
			return 1;
		for (size_t g = 0; !strncmp(e, "group:", 6) && g < node->ngroups; g++)
			if (node->groups[g] && !strcmp(e + 6, node->groups[g]))
				return 1;
	}
	return 0;
}

size_t secret_set_match(const struct secret_set *set, const struct secret_node *node, const struct secret_def **out)
{
	size_t k = 0;

	for (size_t i = 0; set && i < set->n && k < SECRET_MAX_PER_HOST; i++)
		if (secret_conf_selects(set->defs[i].conf, node))
			out[k++] = &set->defs[i];
	return k;
}

size_t secret_set_by_names(const struct secret_set *set, const char *const *names, size_t n,
			   const struct secret_def **out)
{
	size_t k = 0;

	for (size_t j = 0; j < n && k < SECRET_MAX_PER_HOST; j++)
		for (size_t i = 0; set && i < set->n; i++)
			if (!strcmp(set->defs[i].conf->name, names[j])) {
				out[k++] = &set->defs[i];
				break;
			}
	return k;
}

/* ------------------------------------------------------------ blobs */

/* The policy's values: the configured ones when any, else the quoted ones,
 * for every PCR of the selection. */
static int secret_values(const struct secret_def *def, const TPML_PCR_SELECTION *sel, const struct pcr_values *quoted,
			 struct pcr_values *out)
{
	const struct policy *p = &def->conf->values;

	if (p->n == 0) {
		*out = *quoted;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	for (uint32_t b = 0; b < sel->count; b++) {
		struct pcr_bank *bank = &out->banks[out->nbanks++];

		bank->alg = sel->pcrSelections[b].hash;
		for (size_t i = 0; i < p->n; i++) {
			if (p->e[i].alg != bank->alg)
				continue;
			memcpy(bank->value[p->e[i].index], p->e[i].value, p->e[i].len);
			bank->mask |= 1u << p->e[i].index;
		}
	}
	return 0;
}

/* authPolicy of a delivered secret: PolicyPCR(sel, values), then
 * PolicyCommandCode of the one command the secret is for. The imported object
 * has fixedParent clear, so a policy of PolicyPCR alone would also grant
 * TPM2_Duplicate (the DUP role) to whoever meets it: the RSA private key could
 * be duplicated out to a parent of the host's choosing. */
static int secret_policy(enum secret_kind kind, const TPML_PCR_SELECTION *sel, const struct pcr_values *values,
			 TPM2B_DIGEST *out)
{
	int r;

	if ((r = tpmpolicy_pcr(TPM2_ALG_SHA256, NULL, sel, values, out)) != 0)
		return r;
	return tpmpolicy_command_code(TPM2_ALG_SHA256, out, kind == SECRET_AES256 ? TPM2_CC_Unseal : TPM2_CC_Sign,
				      out);
}

int secret_blob_make(const struct secret_def *def, const TPMT_PUBLIC *ek, const TPML_PCR_SELECTION *quoted_sel,
		     const struct pcr_values *quoted, struct secret_blob *out)
{
	const struct secret_conf *c = def->conf;
	struct pcr_values values;
	TPM2B_DIGEST policy;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE *dup = NULL;
	TPM2B_ENCRYPTED_SECRET seed;
	size_t off;
	int r;

	memset(out, 0, sizeof(*out));
	out->def = def;
	out->ek_alg = ek->type;
	out->sel = c->has_pcrs ? c->pcrs : *quoted_sel;
	if ((r = secret_values(def, &out->sel, quoted, &values)) != 0)
		goto out;
	if ((r = secret_policy(c->kind, &out->sel, &values, &policy)) != 0) {
		r = err_wrap(r, c->name);
		goto out;
	}
	if (!(dup = malloc(sizeof(*dup)))) {
		r = err_set(AERR_ALLOC, "duplicate");
		goto out;
	}
	if (c->kind == SECRET_AES256)
		r = dup_make_sealed(ek, def->aes, SECRET_AES_LEN, &policy, &pub, dup, &seed);
	else
		r = dup_make_rsa(ek, def->rsa_key, &policy, &pub, dup, &seed);
	if (r != 0) {
		r = err_wrap(r, c->name);
		goto out;
	}
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, out->pub, sizeof(out->pub), &off) != TSS2_RC_SUCCESS)
		goto marshal;
	out->pub_len = off;
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(dup, out->dup, sizeof(out->dup), &off) != TSS2_RC_SUCCESS)
		goto marshal;
	out->dup_len = off;
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&seed, out->seed, sizeof(out->seed), &off) != TSS2_RC_SUCCESS)
		goto marshal;
	out->seed_len = off;
	r = crypto_random(out->challenge, sizeof(out->challenge));
	goto out;
marshal:
	r = err_set(AERR_INTERNAL, "secret '%s': cannot marshal the import blob", c->name);
out:
	if (dup)
		OPENSSL_cleanse(dup, sizeof(*dup));
	free(dup);
	if (r != 0)
		OPENSSL_cleanse(out, sizeof(*out));
	return r;
}

/* ------------------------------------------------------------ proofs */

static int secret_proof_hmac(const struct secret_blob *b, const uint8_t *proof, size_t len)
{
	uint8_t want[32];
	int r;

	if (len != sizeof(want))
		return err_set(AERR_PROOF, "secret '%s': HMAC proof of %zu bytes, expected 32", b->def->conf->name,
			       len);
	if ((r = crypto_hmac(TPM2_ALG_SHA256, b->def->aes, SECRET_AES_LEN, b->challenge, sizeof(b->challenge),
			     want)) != 0)
		return r;
	r = CRYPTO_memcmp(want, proof, sizeof(want)) == 0
		    ? 0
		    : err_set(AERR_PROOF, "secret '%s': the HMAC over the challenge is not made with the key",
			      b->def->conf->name);
	OPENSSL_cleanse(want, sizeof(want));
	return r;
}

static int secret_proof_signature(const struct secret_blob *b, const uint8_t *proof, size_t len)
{
	const char *name = b->def->conf->name;
	TPMT_SIGNATURE sig;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	size_t off = 0;
	int r;

	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(proof, len, &off, &sig) != TSS2_RC_SUCCESS)
		return err_set(AERR_PROOF, "secret '%s': the proof is not a TPMT_SIGNATURE", name);
	if (off != len)
		return err_set(AERR_PROOF, "secret '%s': %zu bytes after the signature", name, len - off);
	if (sig.sigAlg != TPM2_ALG_RSASSA || sig.signature.rsassa.hash != TPM2_ALG_SHA256)
		return err_set(AERR_PROOF, "secret '%s': signature scheme 0x%04x/0x%04x, expected RSASSA-SHA256", name,
			       sig.sigAlg, sig.signature.rsassa.hash);
	if (!(ctx = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(ctx, &pctx, crypto_md(TPM2_ALG_SHA256), NULL, b->def->cert_key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSASSA verify");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig.signature.rsassa.sig.buffer, sig.signature.rsassa.sig.size, b->challenge,
			     sizeof(b->challenge)) != 1) {
		ERR_clear_error();
		r = err_set(AERR_PROOF, "secret '%s': the signature over the challenge does not verify with the "
			    "certificate's key", name);
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int secret_proof_check(const struct secret_blob *blob, const uint8_t *proof, size_t len)
{
	if (!proof || len == 0)
		return err_set(AERR_PROOF, "secret '%s': no proof", blob->def->conf->name);
	return blob->def->conf->kind == SECRET_AES256 ? secret_proof_hmac(blob, proof, len)
						      : secret_proof_signature(blob, proof, len);
}
