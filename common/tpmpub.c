#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "hex.h"
#include "tpmpub.h"

int tpmpub_parse(const uint8_t *buf, size_t len, TPMT_PUBLIC *out)
{
	size_t off = 0;
	uint16_t size;

	memset(out, 0, sizeof(*out));
	if (!buf || len < 2)
		return err_set(AERR_PARSE, "TPM2B_PUBLIC: truncated size field (%zu bytes)", len);
	size = (uint16_t)(buf[0] << 8 | buf[1]);
	if (size == 0)
		return err_set(AERR_PARSE, "TPM2B_PUBLIC: empty public area");
	if ((size_t)size + 2 > len)
		return err_set(AERR_PARSE, "TPM2B_PUBLIC: size %u exceeds %zu available bytes", size, len - 2);
	if ((size_t)size + 2 < len)
		return err_set(AERR_TRAILING, "TPM2B_PUBLIC: %zu trailing bytes", len - 2 - size);
	if (Tss2_MU_TPMT_PUBLIC_Unmarshal(buf + 2, size, &off, out) != TSS2_RC_SUCCESS)
		return err_set(AERR_PARSE, "TPMT_PUBLIC: malformed");
	if (off != size)
		return err_set(AERR_TRAILING, "TPMT_PUBLIC: %zu bytes left inside TPM2B_PUBLIC", size - off);
	return 0;
}

int tpmpub_marshal(const TPMT_PUBLIC *pub, uint8_t *buf, size_t cap, size_t *len)
{
	size_t off = 2;

	*len = 0;
	if (cap < 2 || Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, cap, &off) != TSS2_RC_SUCCESS)
		return err_set(AERR_TOO_LARGE, "TPMT_PUBLIC does not fit in %zu bytes", cap);
	buf[0] = (uint8_t)((off - 2) >> 8);
	buf[1] = (uint8_t)(off - 2);
	*len = off;
	return 0;
}

int tpmpub_name(const TPMT_PUBLIC *pub, TPM2B_NAME *name)
{
	uint8_t area[sizeof(TPMT_PUBLIC)];
	size_t off = 0, dsize = crypto_digest_size(pub->nameAlg);
	int r;

	memset(name, 0, sizeof(*name));
	if (dsize == 0)
		return err_set(AERR_UNSUPPORTED, "nameAlg 0x%04x", pub->nameAlg);
	if (Tss2_MU_TPMT_PUBLIC_Marshal(pub, area, sizeof(area), &off) != TSS2_RC_SUCCESS)
		return err_set(AERR_INTERNAL, "cannot marshal TPMT_PUBLIC");
	name->name[0] = (uint8_t)(pub->nameAlg >> 8);
	name->name[1] = (uint8_t)pub->nameAlg;
	if ((r = crypto_digest(pub->nameAlg, area, off, name->name + 2)) != 0)
		return r;
	name->size = (UINT16)(2 + dsize);
	return 0;
}

size_t tpmpub_ecc_coord_size(TPMI_ECC_CURVE curve)
{
	switch (curve) {
	case TPM2_ECC_NIST_P256: return 32;
	case TPM2_ECC_NIST_P384: return 48;
	case TPM2_ECC_NIST_P521: return 66;
	}
	return 0;
}

const char *tpmpub_ecc_group(TPMI_ECC_CURVE curve)
{
	switch (curve) {
	case TPM2_ECC_NIST_P256: return "prime256v1";
	case TPM2_ECC_NIST_P384: return "secp384r1";
	case TPM2_ECC_NIST_P521: return "secp521r1";
	}
	return NULL;
}

static int rsa_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
	const TPMS_RSA_PARMS *p = &pub->parameters.rsaDetail;
	uint32_t exponent = p->exponent ? p->exponent : 65537;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int r = AERR_CRYPTO;

	if (pub->unique.rsa.size == 0 || pub->unique.rsa.size * 8 != p->keyBits) {
		r = err_set(AERR_PARSE, "RSA modulus is %u bytes, keyBits %u", pub->unique.rsa.size, p->keyBits);
		goto out;
	}
	if (!(n = BN_bin2bn(pub->unique.rsa.buffer, pub->unique.rsa.size, NULL)) ||
	    !(e = BN_new()) || !BN_set_word(e, exponent) ||
	    !(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSA public key");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

static int ecc_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
	TPMI_ECC_CURVE curve = pub->parameters.eccDetail.curveID;
	const char *group = tpmpub_ecc_group(curve);
	size_t cs = tpmpub_ecc_coord_size(curve);
	const TPMS_ECC_POINT *pt = &pub->unique.ecc;
	uint8_t point[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int r = AERR_CRYPTO;

	if (!group)
		return err_set(AERR_UNSUPPORTED, "ECC curve 0x%04x", curve);
	if (pt->x.size == 0 || pt->x.size > cs || pt->y.size == 0 || pt->y.size > cs)
		return err_set(AERR_PARSE, "ECC point coordinates of %u/%u bytes for a %zu-byte curve",
			       pt->x.size, pt->y.size, cs);
	/* Uncompressed point, coordinates left-padded to the field size. */
	memset(point, 0, sizeof(point));
	point[0] = 0x04;
	memcpy(point + 1 + cs - pt->x.size, pt->x.buffer, pt->x.size);
	memcpy(point + 1 + 2 * cs - pt->y.size, pt->y.buffer, pt->y.size);
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * cs) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		r = crypto_ossl_err(AERR_CRYPTO, "ECC public key (point not on curve?)");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

int tpmpub_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
	*out = NULL;
	switch (pub->type) {
	case TPM2_ALG_RSA: return rsa_to_evp(pub, out);
	case TPM2_ALG_ECC: return ecc_to_evp(pub, out);
	}
	return err_set(AERR_UNSUPPORTED, "public area type 0x%04x has no public key", pub->type);
}

int tpmpub_identity(const TPMT_PUBLIC *pub, char hex[65])
{
	uint8_t wire[sizeof(TPM2B_PUBLIC)], d[32];
	size_t len = 0;
	int r;

	hex[0] = '\0';
	if ((r = tpmpub_marshal(pub, wire, sizeof(wire), &len)) != 0 ||
	    (r = crypto_digest(TPM2_ALG_SHA256, wire, len, d)) != 0)
		return r;
	hex_encode(d, sizeof(d), hex);
	return 0;
}

void tpmpub_ak_template(TPMI_ALG_PUBLIC alg, TPMT_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->type = alg;
	p->nameAlg = TPM2_ALG_SHA256;
	/* noDA: the AK's auth is empty, so a wrong HMAC on it is nobody's
	 * guess; and a noDA key keeps working while the TPM is in lockout,
	 * which anyone who can use the TPM can cause with a key of their own. */
	p->objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
			      TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
			      TPMA_OBJECT_NODA;
	if (alg == TPM2_ALG_RSA) {
		TPMS_RSA_PARMS *r = &p->parameters.rsaDetail;

		r->symmetric.algorithm = TPM2_ALG_NULL;
		r->scheme.scheme = TPM2_ALG_RSASSA;
		r->scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
		r->keyBits = 2048;
		r->exponent = 0;
	} else {
		TPMS_ECC_PARMS *e = &p->parameters.eccDetail;

		e->symmetric.algorithm = TPM2_ALG_NULL;
		e->scheme.scheme = TPM2_ALG_ECDSA;
		e->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		e->curveID = TPM2_ECC_NIST_P256;
		e->kdf.scheme = TPM2_ALG_NULL;
	}
}

/* A big-endian key parameter into exactly len bytes. */
static int tpmpub_bn_param(EVP_PKEY *key, const char *name, uint8_t *buf, size_t len)
{
	BIGNUM *bn = NULL;
	int ok = EVP_PKEY_get_bn_param(key, name, &bn) == 1 && BN_bn2binpad(bn, buf, (int)len) == (int)len;

	BN_free(bn);
	return ok ? 0 : err_set(AERR_INVALID_ARG, "key parameter %s does not fit %zu bytes", name, len);
}

int tpmpub_set_unique(TPMT_PUBLIC *pub, EVP_PKEY *key)
{
	const char *group;
	char have[64];
	size_t n;
	int r;

	if (pub->type == TPM2_ALG_RSA) {
		n = pub->parameters.rsaDetail.keyBits / 8u;
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || (size_t)EVP_PKEY_get_bits(key) != 8u * n)
			return err_set(AERR_INVALID_ARG, "not an RSA-%zu key", 8u * n);
		pub->unique.rsa.size = (UINT16)n;
		return tpmpub_bn_param(key, OSSL_PKEY_PARAM_RSA_N, pub->unique.rsa.buffer, n);
	}
	if (pub->type != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "public area of type 0x%04x", pub->type);
	n = tpmpub_ecc_coord_size(pub->parameters.eccDetail.curveID);
	group = tpmpub_ecc_group(pub->parameters.eccDetail.curveID);
	if (n == 0 || !group || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, have, sizeof(have), NULL) != 1 ||
	    strcmp(have, group) != 0)
		return err_set(AERR_INVALID_ARG, "not an EC key on curve 0x%04x", pub->parameters.eccDetail.curveID);
	pub->unique.ecc.x.size = pub->unique.ecc.y.size = (UINT16)n;
	if ((r = tpmpub_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, pub->unique.ecc.x.buffer, n)) != 0)
		return r;
	return tpmpub_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, pub->unique.ecc.y.buffer, n);
}

const char *tpmpub_type_name(TPMI_ALG_PUBLIC type)
{
	switch (type) {
	case TPM2_ALG_RSA: return "rsa";
	case TPM2_ALG_ECC: return "ecc";
	default: return NULL;
	}
}

TPMI_ALG_PUBLIC tpmpub_type_from_name(const char *name)
{
	if (name && !strcmp(name, "rsa"))
		return TPM2_ALG_RSA;
	if (name && !strcmp(name, "ecc"))
		return TPM2_ALG_ECC;
	return TPM2_ALG_ERROR;
}
