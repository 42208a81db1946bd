#include <stdio.h>
#include <string.h>

#include "ektemplate.h"
#include "tpmpub.h"

/* Policy A: PolicySecret(TPM_RH_ENDORSEMENT), SHA-256 (EK Credential
 * Profile 2.x, B.3.3). */
static const uint8_t ek_policy_a_sha256[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
	0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

/* Policy B, SHA-384: the high range's PolicyOR (EK Credential Profile 2.x,
 * B.6). */
static const uint8_t ek_policy_b_sha384[48] = {
	0xb2, 0x6e, 0x7d, 0x28, 0xd1, 0x1a, 0x50, 0xbc, 0x53, 0xd8, 0x82, 0xbc, 0xf5, 0xfd, 0x3a, 0x1a,
	0x07, 0x41, 0x48, 0xbb, 0x35, 0xd3, 0xb4, 0xe4, 0xcb, 0x1c, 0x0a, 0xd9, 0xbd, 0xe4, 0x19, 0xca,
	0xcb, 0x47, 0xba, 0x09, 0x69, 0x96, 0x46, 0x15, 0x0f, 0x9f, 0xc0, 0x00, 0xf3, 0xf8, 0x0e, 0x12,
};

static const struct ek_kind_def {
	const char *name;
	TPMI_ALG_PUBLIC alg;
	uint16_t size;            /* RSA bits, or the ECC curve */
	int high;                 /* high range: SHA-384, AES-256, Policy B, userWithAuth */
} ek_kinds[EK_KINDS] = {
	[EK_L1_RSA2048] = { "RSA-2048 (L-1)", TPM2_ALG_RSA, 2048, 0 },
	[EK_L2_P256] = { "ECC P-256 (L-2)", TPM2_ALG_ECC, TPM2_ECC_NIST_P256, 0 },
	[EK_H3_P384] = { "ECC P-384 (H-3)", TPM2_ALG_ECC, TPM2_ECC_NIST_P384, 1 },
	[EK_H6_RSA3072] = { "RSA-3072 (H-6)", TPM2_ALG_RSA, 3072, 1 },
};

const char *ek_kind_name(enum ek_kind k)
{
	return k < EK_KINDS ? ek_kinds[k].name : "unknown";
}

TPMI_ALG_PUBLIC ek_kind_alg(enum ek_kind k)
{
	return k < EK_KINDS ? ek_kinds[k].alg : TPM2_ALG_ERROR;
}

int ek_kind_user_auth(enum ek_kind k)
{
	return k < EK_KINDS && ek_kinds[k].high;
}

enum ek_kind ek_kind_low(TPMI_ALG_PUBLIC alg)
{
	return alg == TPM2_ALG_ECC ? EK_L2_P256 : EK_L1_RSA2048;
}

enum ek_kind ek_kind_high(TPMI_ALG_PUBLIC alg)
{
	return alg == TPM2_ALG_ECC ? EK_H3_P384 : EK_H6_RSA3072;
}

/* Bytes of the key in unique: the RSA modulus, one ECC coordinate. */
static uint16_t ek_key_bytes(const struct ek_kind_def *d)
{
	return d->alg == TPM2_ALG_RSA ? d->size / 8 : (uint16_t)tpmpub_ecc_coord_size(d->size);
}

void ek_template(enum ek_kind k, TPMT_PUBLIC *p)
{
	const struct ek_kind_def *d = &ek_kinds[k < EK_KINDS ? k : EK_L1_RSA2048];
	TPMT_SYM_DEF_OBJECT *sym;

	memset(p, 0, sizeof(*p));
	p->type = d->alg;
	p->nameAlg = d->high ? TPM2_ALG_SHA384 : TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
			      TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	if (d->high) {
		p->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
		p->authPolicy.size = sizeof(ek_policy_b_sha384);
		memcpy(p->authPolicy.buffer, ek_policy_b_sha384, sizeof(ek_policy_b_sha384));
	} else {
		p->authPolicy.size = sizeof(ek_policy_a_sha256);
		memcpy(p->authPolicy.buffer, ek_policy_a_sha256, sizeof(ek_policy_a_sha256));
	}
	/* rsaDetail and eccDetail both start with the symmetric definition. */
	sym = &p->parameters.asymDetail.symmetric;
	sym->algorithm = TPM2_ALG_AES;
	sym->keyBits.aes = d->high ? 256 : 128;
	sym->mode.aes = TPM2_ALG_CFB;
	if (d->alg == TPM2_ALG_RSA) {
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.rsaDetail.keyBits = d->size;
		p->parameters.rsaDetail.exponent = 0;
		/* Low range: zeros, what the certified EK was created with. */
		p->unique.rsa.size = d->high ? 0 : ek_key_bytes(d);
	} else {
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.eccDetail.curveID = d->size;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		p->unique.ecc.x.size = p->unique.ecc.y.size = d->high ? 0 : ek_key_bytes(d);
	}
}

static const char *ek_curve_name(TPMI_ECC_CURVE c)
{
	switch (c) {
	case TPM2_ECC_NIST_P192: return "P-192";
	case TPM2_ECC_NIST_P224: return "P-224";
	case TPM2_ECC_NIST_P256: return "P-256";
	case TPM2_ECC_NIST_P384: return "P-384";
	case TPM2_ECC_NIST_P521: return "P-521";
	case TPM2_ECC_BN_P256: return "BN P-256";
	case TPM2_ECC_BN_P638: return "BN P-638";
	case TPM2_ECC_SM2_P256: return "SM2 P-256";
	default: return NULL;
	}
}

/* The template of ek's type and size, or an error that names both. */
static int ek_kind_by_size(const TPMT_PUBLIC *ek, enum ek_kind *out)
{
	uint16_t size = ek->type == TPM2_ALG_RSA ? ek->parameters.rsaDetail.keyBits : ek->parameters.eccDetail.curveID;
	char found[32];

	for (int k = 0; k < EK_KINDS; k++)
		if (ek_kinds[k].alg == ek->type && ek_kinds[k].size == size) {
			*out = (enum ek_kind)k;
			return 0;
		}
	if (ek->type == TPM2_ALG_RSA)
		return err_set(AERR_UNSUPPORTED, "RSA EK of %u bits: the EK templates accepted are RSA-2048 (L-1) "
			       "and RSA-3072 (H-6)", size);
	if (ek_curve_name(size))
		snprintf(found, sizeof(found), "%s", ek_curve_name(size));
	else
		snprintf(found, sizeof(found), "0x%04x", size);
	return err_set(AERR_UNSUPPORTED, "ECC EK on curve %s: the EK templates accepted are ECC P-256 (L-2) "
		       "and ECC P-384 (H-3)", found);
}

int ek_kind_of(const TPMT_PUBLIC *ek, enum ek_kind *out)
{
	const TPMT_SYM_DEF_OBJECT *sym = &ek->parameters.asymDetail.symmetric;
	enum ek_kind k = EK_KINDS;
	TPMT_PUBLIC t;
	uint16_t n;
	int r;

	if (ek->type != TPM2_ALG_RSA && ek->type != TPM2_ALG_ECC)
		return err_set(AERR_UNSUPPORTED, "EK type 0x%04x is neither RSA nor ECC", ek->type);
	if ((r = ek_kind_by_size(ek, &k)) != 0)
		return r;
	ek_template(k, &t);
	if (ek->nameAlg != t.nameAlg)
		return err_set(AERR_UNSUPPORTED, "%s EK: nameAlg 0x%04x, the template's is 0x%04x", ek_kind_name(k),
			       ek->nameAlg, t.nameAlg);
	if (ek->objectAttributes != t.objectAttributes)
		return err_set(AERR_UNSUPPORTED, "%s EK: attributes 0x%08x differ from the template's 0x%08x",
			       ek_kind_name(k), (unsigned)ek->objectAttributes, (unsigned)t.objectAttributes);
	if (ek->authPolicy.size != t.authPolicy.size ||
	    memcmp(ek->authPolicy.buffer, t.authPolicy.buffer, t.authPolicy.size) != 0)
		return err_set(AERR_UNSUPPORTED, "%s EK: authPolicy is not the template's %s", ek_kind_name(k),
			       ek_kinds[k].high ? "Policy B" : "Policy A (PolicySecret(TPM_RH_ENDORSEMENT))");
	if (sym->algorithm != t.parameters.asymDetail.symmetric.algorithm ||
	    sym->keyBits.aes != t.parameters.asymDetail.symmetric.keyBits.aes || sym->mode.aes != TPM2_ALG_CFB)
		return err_set(AERR_UNSUPPORTED, "%s EK: symmetric 0x%04x/%u/0x%04x, the template's is AES-%u-CFB",
			       ek_kind_name(k), sym->algorithm, sym->keyBits.aes, sym->mode.aes,
			       t.parameters.asymDetail.symmetric.keyBits.aes);
	n = ek_key_bytes(&ek_kinds[k]);
	if (ek->type == TPM2_ALG_RSA) {
		const TPMS_RSA_PARMS *p = &ek->parameters.rsaDetail;

		if (p->scheme.scheme != TPM2_ALG_NULL || (p->exponent != 0 && p->exponent != 65537) ||
		    ek->unique.rsa.size != n)
			return err_set(AERR_UNSUPPORTED, "%s EK: scheme 0x%04x, exponent %u, modulus of %u bytes "
				       "differ from the template", ek_kind_name(k), p->scheme.scheme, p->exponent,
				       ek->unique.rsa.size);
	} else {
		const TPMS_ECC_PARMS *p = &ek->parameters.eccDetail;

		if (p->scheme.scheme != TPM2_ALG_NULL || p->kdf.scheme != TPM2_ALG_NULL ||
		    ek->unique.ecc.x.size != n || ek->unique.ecc.y.size != n)
			return err_set(AERR_UNSUPPORTED, "%s EK: scheme 0x%04x, kdf 0x%04x, point of %u/%u bytes "
				       "differ from the template", ek_kind_name(k), p->scheme.scheme, p->kdf.scheme,
				       ek->unique.ecc.x.size, ek->unique.ecc.y.size);
	}
	*out = k;
	return 0;
}
