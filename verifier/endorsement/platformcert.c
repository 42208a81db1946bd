#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#define LOG_MODULE "platformcert"
#include "log.h"
#include "endorsement/platformcert.h"

/* Attribute certificates are a few KiB; anything larger is not one. */
#define PLATFORMCERT_MAX_DER (64 * 1024)

#define TAG_BOOLEAN 0x01
#define TAG_INTEGER 0x02
#define TAG_BITSTRING 0x03
#define TAG_OCTETSTRING 0x04
#define TAG_OID 0x06
#define TAG_GENTIME 0x18
#define TAG_SEQUENCE 0x30
#define TAG_SET 0x31
#define TAG_CTX0 0xa0 /* [0] constructed */
#define TAG_CTX1 0xa1
#define TAG_CTX2 0xa2
#define TAG_DIRNAME 0xa4 /* GeneralName directoryName [4], explicit because Name is a CHOICE */

/* A window over DER bytes; off only advances over complete, valid TLVs. */
struct der {
	const uint8_t *p;
	size_t len;
	size_t off;
};

/* One TLV: its tag, where it starts (for d2i on the whole TLV) and its content. */
struct tlv {
	uint8_t tag;
	const uint8_t *start;
	size_t total;
	struct der content;
};

static int der_more(const struct der *d)
{
	return d->off < d->len;
}

static int der_peek_tag(const struct der *d)
{
	return der_more(d) ? d->p[d->off] : -1;
}

/* Read the next TLV with strict DER rules: low tag numbers only, definite
 * minimal lengths, content inside the window. */
static int der_next(struct der *d, struct tlv *t, const char *what)
{
	size_t off = d->off, clen = 0, nlen, i;
	uint8_t l0;

	if (d->len - off < 2)
		return err_set(AERR_PLATFORM_CERT, "%s: truncated at offset %zu", what, off);
	t->tag = d->p[off];
	if ((t->tag & 0x1f) == 0x1f)
		return err_set(AERR_PLATFORM_CERT, "%s: high tag number form not accepted", what);
	l0 = d->p[off + 1];
	off += 2;
	if (l0 < 0x80) {
		clen = l0;
	} else {
		nlen = l0 & 0x7f;
		if (nlen == 0)
			return err_set(AERR_PLATFORM_CERT, "%s: indefinite length (BER) not accepted", what);
		if (nlen > 3)
			return err_set(AERR_PLATFORM_CERT, "%s: length of %zu octets too large", what, nlen);
		if (d->len - off < nlen)
			return err_set(AERR_PLATFORM_CERT, "%s: truncated length", what);
		if (d->p[off] == 0)
			return err_set(AERR_PLATFORM_CERT, "%s: non-minimal length encoding", what);
		for (i = 0; i < nlen; i++)
			clen = clen << 8 | d->p[off + i];
		if (clen < 0x80)
			return err_set(AERR_PLATFORM_CERT, "%s: non-minimal length encoding", what);
		off += nlen;
	}
	if (clen > d->len - off)
		return err_set(AERR_PLATFORM_CERT, "%s: length %zu exceeds the %zu bytes left", what, clen,
			       d->len - off);
	t->start = d->p + d->off;
	t->total = off + clen - d->off;
	t->content.p = d->p + off;
	t->content.len = clen;
	t->content.off = 0;
	d->off = off + clen;
	return 0;
}

static int der_expect(struct der *d, uint8_t tag, struct tlv *t, const char *what)
{
	int r;

	if (!der_more(d))
		return err_set(AERR_PLATFORM_CERT, "%s: missing", what);
	if (d->p[d->off] != tag)
		return err_set(AERR_PLATFORM_CERT, "%s: tag 0x%02x, expected 0x%02x", what, d->p[d->off], tag);
	if ((r = der_next(d, t, what)) != 0)
		return r;
	return 0;
}

static int der_end(const struct der *d, const char *what)
{
	if (der_more(d))
		return err_set(AERR_PLATFORM_CERT, "%s: %zu unexpected trailing bytes", what, d->len - d->off);
	return 0;
}

/* GeneralNames that must hold exactly one directoryName: the only form that
 * can name a certificate issuer unambiguously. */
static int parse_one_dirname(struct der *gns, X509_NAME **out, const char *what)
{
	struct tlv gn, name;
	const unsigned char *q;
	int r;

	if ((r = der_expect(gns, TAG_DIRNAME, &gn, what)) != 0)
		return r;
	if ((r = der_end(gns, what)) != 0)
		return err_set(AERR_PLATFORM_CERT, "%s: more than one GeneralName", what);
	if ((r = der_expect(&gn.content, TAG_SEQUENCE, &name, what)) != 0 ||
	    (r = der_end(&gn.content, what)) != 0)
		return r;
	q = name.start;
	*out = d2i_X509_NAME(NULL, &q, (long)name.total);
	if (!*out || q != name.start + name.total) {
		X509_NAME_free(*out);
		*out = NULL;
		return err_set(AERR_PLATFORM_CERT, "%s: malformed directory name", what);
	}
	return 0;
}

static int parse_integer(const struct tlv *t, ASN1_INTEGER **out, const char *what)
{
	const unsigned char *q = t->start;

	*out = d2i_ASN1_INTEGER(NULL, &q, (long)t->total);
	if (!*out || q != t->start + t->total) {
		ASN1_INTEGER_free(*out);
		*out = NULL;
		ERR_clear_error();
		return err_set(AERR_PLATFORM_CERT, "%s: malformed INTEGER", what);
	}
	return 0;
}

/* A small non-negative INTEGER (versions), without going through OpenSSL. */
static int parse_small_int(struct der *d, long *out, const char *what)
{
	struct tlv t;
	size_t i;
	int r;

	*out = 0;
	if ((r = der_expect(d, TAG_INTEGER, &t, what)) != 0)
		return r;
	if (t.content.len == 0 || t.content.len > 4 || (t.content.p[0] & 0x80) ||
	    (t.content.len > 1 && t.content.p[0] == 0 && !(t.content.p[1] & 0x80)))
		return err_set(AERR_PLATFORM_CERT, "%s: INTEGER out of range or not minimal", what);
	for (i = 0; i < t.content.len; i++)
		*out = *out << 8 | t.content.p[i];
	return 0;
}

static int parse_time(struct der *d, ASN1_GENERALIZEDTIME **out, const char *what)
{
	const unsigned char *q;
	struct tlv t;
	int r;

	/* RFC 5755 4.2.6: GeneralizedTime only. */
	if ((r = der_expect(d, TAG_GENTIME, &t, what)) != 0)
		return r;
	q = t.start;
	*out = d2i_ASN1_GENERALIZEDTIME(NULL, &q, (long)t.total);
	if (!*out || q != t.start + t.total || !ASN1_GENERALIZEDTIME_check(*out)) {
		ASN1_GENERALIZEDTIME_free(*out);
		*out = NULL;
		ERR_clear_error();
		return err_set(AERR_PLATFORM_CERT, "%s: malformed GeneralizedTime", what);
	}
	return 0;
}

static int oid_is(const struct tlv *oid, const uint8_t *enc, size_t n)
{
	return oid->content.len == n && memcmp(oid->content.p, enc, n) == 0;
}

/* 2.23.133.2.17 tcgPlatformSpecification, DER content octets */
static const uint8_t OID_TCG_PLATFORM_SPEC[] = { 0x67, 0x81, 0x05, 0x02, 0x11 };

/* TCGPlatformSpecification ::= SEQUENCE { version SEQUENCE { major, minor,
 * revision INTEGER }, platformClass OCTET STRING } */
static int parse_platform_spec(struct der *values, struct platformcert *pc)
{
	struct tlv spec, ver;
	int r;

	if ((r = der_expect(values, TAG_SEQUENCE, &spec, "tcgPlatformSpecification")) != 0 ||
	    (r = der_expect(&spec.content, TAG_SEQUENCE, &ver, "tcgPlatformSpecification.version")) != 0 ||
	    (r = parse_small_int(&ver.content, &pc->spec_major, "platform spec major")) != 0 ||
	    (r = parse_small_int(&ver.content, &pc->spec_minor, "platform spec minor")) != 0 ||
	    (r = parse_small_int(&ver.content, &pc->spec_revision, "platform spec revision")) != 0 ||
	    (r = der_end(&ver.content, "tcgPlatformSpecification.version")) != 0)
		return r;
	pc->has_spec = 1;
	return 0;
}

/* SEQUENCE OF Attribute { type OID, values SET OF ANY }: checks the shape of
 * every attribute and extracts the ones we understand. */
static int parse_attributes(struct der *attrs, struct platformcert *pc, size_t *count)
{
	struct tlv attr, oid, values;
	int r;

	*count = 0;
	while (der_more(attrs)) {
		if ((r = der_expect(attrs, TAG_SEQUENCE, &attr, "attribute")) != 0 ||
		    (r = der_expect(&attr.content, TAG_OID, &oid, "attribute type")) != 0 ||
		    (r = der_expect(&attr.content, TAG_SET, &values, "attribute values")) != 0 ||
		    (r = der_end(&attr.content, "attribute")) != 0)
			return r;
		if (oid_is(&oid, OID_TCG_PLATFORM_SPEC, sizeof(OID_TCG_PLATFORM_SPEC)) &&
		    (r = parse_platform_spec(&values.content, pc)) != 0)
			return r;
		(*count)++;
	}
	return 0;
}

static int dup_name_entry(X509_NAME *name, const char *oid_text, char **out)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid_text, 1);
	const ASN1_STRING *s;
	int idx;

	if (!obj)
		return err_set(AERR_ALLOC, "OID %s", oid_text);
	idx = X509_NAME_get_index_by_OBJ(name, obj, -1);
	ASN1_OBJECT_free(obj);
	if (idx < 0 || *out)
		return 0;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	/* Only text types: the OID-valued entries (platformManufacturerId) are skipped. */
	switch (ASN1_STRING_type(s)) {
	case V_ASN1_UTF8STRING:
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_IA5STRING:
		break;
	default:
		return 0;
	}
	if (memchr(ASN1_STRING_get0_data(s), 0, (size_t)ASN1_STRING_length(s)))
		return err_set(AERR_PLATFORM_CERT, "platform name %s holds a NUL byte", oid_text);
	if (!(*out = OPENSSL_strndup((const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s))))
		return err_set(AERR_ALLOC, "platform name");
	return 0;
}

static int platform_names(X509_NAME *name, struct platformcert *pc)
{
	int r;

	/* TCG Platform Certificate Profile 1.x OIDs first, then the pre-1.0 ones
	 * that Intel's 2016-2017 certificates use. */
	if ((r = dup_name_entry(name, "2.23.133.5.1.1", &pc->manufacturer)) != 0 ||
	    (r = dup_name_entry(name, "2.23.133.5.1.4", &pc->model)) != 0 ||
	    (r = dup_name_entry(name, "2.23.133.5.1.5", &pc->platform_version)) != 0 ||
	    (r = dup_name_entry(name, "2.23.133.5.1.6", &pc->platform_serial)) != 0 ||
	    (r = dup_name_entry(name, "2.23.133.2.4", &pc->manufacturer)) != 0 ||
	    (r = dup_name_entry(name, "2.23.133.2.5", &pc->model)) != 0 ||
	    (r = dup_name_entry(name, "2.23.133.2.6", &pc->platform_version)) != 0 ||
	    (r = dup_name_entry(name, "2.23.133.2.23", &pc->platform_serial)) != 0)
		return r;
	return 0;
}

/* subjectAltName carries the platform identity as a directoryName. Some
 * early Intel certificates put a bare Name there instead of GeneralNames;
 * accept that shape too since it is unambiguous. */
static int parse_san(const X509_EXTENSION *ext, struct platformcert *pc)
{
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data((X509_EXTENSION *)ext);
	const unsigned char *q = ASN1_STRING_get0_data(v), *end = q + ASN1_STRING_length(v);
	GENERAL_NAMES *gns = NULL;
	X509_NAME *bare = NULL;
	int r = 0, i;

	if ((gns = d2i_GENERAL_NAMES(NULL, &q, end - q)) && q == end) {
		for (i = 0; i < sk_GENERAL_NAME_num(gns); i++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);
			if (gn->type == GEN_DIRNAME && (r = platform_names(gn->d.directoryName, pc)) != 0)
				goto out;
		}
		goto out;
	}
	ERR_clear_error();
	q = ASN1_STRING_get0_data(v);
	if ((bare = d2i_X509_NAME(NULL, &q, end - q)) && q == end) {
		r = platform_names(bare, pc);
		goto out;
	}
	ERR_clear_error();
	r = err_set(AERR_PLATFORM_CERT, "subjectAltName: neither GeneralNames nor a Name");
out:
	GENERAL_NAMES_free(gns);
	X509_NAME_free(bare);
	return r;
}

static int parse_extensions(const struct tlv *t, struct platformcert *pc)
{
	const unsigned char *q = t->start;
	int i, r;

	pc->exts = d2i_X509_EXTENSIONS(NULL, &q, (long)t->total);
	if (!pc->exts || q != t->start + t->total) {
		ERR_clear_error();
		return err_set(AERR_PLATFORM_CERT, "extensions: malformed");
	}
	for (i = 0; i < sk_X509_EXTENSION_num(pc->exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(pc->exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

		if (nid == NID_subject_alt_name && (r = parse_san(ext, pc)) != 0)
			return r;
		if (nid == NID_subject_directory_attributes && !pc->has_spec) {
			/* Pre-1.0 certificates put tcgPlatformSpecification here. */
			const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
			struct der d = { ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), 0 };
			struct tlv seq;
			size_t n;

			if ((r = der_expect(&d, TAG_SEQUENCE, &seq, "subjectDirectoryAttributes")) != 0 ||
			    (r = der_end(&d, "subjectDirectoryAttributes")) != 0 ||
			    (r = parse_attributes(&seq.content, pc, &n)) != 0)
				return r;
		}
	}
	return 0;
}

static int parse_holder(struct der *holder, struct platformcert *pc)
{
	struct tlv base, gns, serial;
	int r;

	/* Holder ::= SEQUENCE { baseCertificateID [0] IssuerSerial OPTIONAL,
	 * entityName [1] OPTIONAL, objectDigestInfo [2] OPTIONAL }. The TCG
	 * profile binds to the EK certificate through baseCertificateID. */
	if (der_peek_tag(holder) != TAG_CTX0)
		return err_set(AERR_PLATFORM_CERT, "holder: no baseCertificateID");
	if ((r = der_next(holder, &base, "holder.baseCertificateID")) != 0 ||
	    (r = der_expect(&base.content, TAG_SEQUENCE, &gns, "holder issuer GeneralNames")) != 0 ||
	    (r = parse_one_dirname(&gns.content, &pc->holder_issuer, "holder issuer")) != 0 ||
	    (r = der_expect(&base.content, TAG_INTEGER, &serial, "holder serial")) != 0 ||
	    (r = parse_integer(&serial, &pc->holder_serial, "holder serial")) != 0)
		return r;
	if (der_peek_tag(&base.content) == TAG_BITSTRING &&
	    (r = der_next(&base.content, &serial, "holder issuerUID")) != 0)
		return r;
	if ((r = der_end(&base.content, "holder.baseCertificateID")) != 0)
		return r;
	while (der_more(holder)) {
		struct tlv other;
		int tag = der_peek_tag(holder);

		if (tag != TAG_CTX1 && tag != TAG_CTX2)
			return err_set(AERR_PLATFORM_CERT, "holder: unexpected tag 0x%02x", tag);
		if ((r = der_next(holder, &other, "holder")) != 0)
			return r;
	}
	return 0;
}

static int parse_acinfo(struct der *ai, struct platformcert *pc, struct tlv *inner_alg)
{
	struct tlv holder, issuer, gns, serial, validity, attrs;
	int r;

	if ((r = parse_small_int(ai, &pc->version, "version")) != 0)
		return r;
	if (pc->version != 1)
		return err_set(AERR_PLATFORM_CERT, "version %ld, only v2 (1) is defined", pc->version);
	if ((r = der_expect(ai, TAG_SEQUENCE, &holder, "holder")) != 0 ||
	    (r = parse_holder(&holder.content, pc)) != 0)
		return r;
	/* AttCertIssuer: RFC 5755 4.2.3 requires v2Form [0] with issuerName only. */
	if ((r = der_expect(ai, TAG_CTX0, &issuer, "issuer v2Form")) != 0 ||
	    (r = der_expect(&issuer.content, TAG_SEQUENCE, &gns, "issuerName")) != 0 ||
	    (r = parse_one_dirname(&gns.content, &pc->issuer, "issuerName")) != 0 ||
	    (r = der_end(&issuer.content, "issuer v2Form (baseCertificateID/objectDigestInfo not allowed)")) != 0)
		return r;
	if ((r = der_expect(ai, TAG_SEQUENCE, inner_alg, "signature")) != 0 ||
	    (r = der_expect(ai, TAG_INTEGER, &serial, "serialNumber")) != 0 ||
	    (r = parse_integer(&serial, &pc->serial, "serialNumber")) != 0 ||
	    (r = der_expect(ai, TAG_SEQUENCE, &validity, "attrCertValidityPeriod")) != 0 ||
	    (r = parse_time(&validity.content, &pc->not_before, "notBeforeTime")) != 0 ||
	    (r = parse_time(&validity.content, &pc->not_after, "notAfterTime")) != 0 ||
	    (r = der_end(&validity.content, "attrCertValidityPeriod")) != 0 ||
	    (r = der_expect(ai, TAG_SEQUENCE, &attrs, "attributes")) != 0 ||
	    (r = parse_attributes(&attrs.content, pc, &pc->n_attributes)) != 0)
		return r;
	if (der_peek_tag(ai) == TAG_BITSTRING) {
		struct tlv uid;
		if ((r = der_next(ai, &uid, "issuerUniqueID")) != 0)
			return r;
	}
	if (der_peek_tag(ai) == TAG_SEQUENCE) {
		struct tlv exts;
		if ((r = der_next(ai, &exts, "extensions")) != 0 || (r = parse_extensions(&exts, pc)) != 0)
			return r;
	}
	return der_end(ai, "acinfo");
}

int platformcert_parse(const uint8_t *der, size_t len, struct platformcert **out)
{
	struct platformcert *pc = NULL;
	struct der top = { der, len, 0 };
	struct tlv cert, acinfo, inner_alg, outer_alg, sig;
	const unsigned char *q;
	int r = AERR_PLATFORM_CERT;

	*out = NULL;
	if (!der || len == 0)
		return err_set(AERR_PLATFORM_CERT, "platform certificate: empty");
	if (len > PLATFORMCERT_MAX_DER)
		return err_set(AERR_PLATFORM_CERT, "platform certificate: %zu bytes, limit %d", len,
			       PLATFORMCERT_MAX_DER);
	if (!(pc = calloc(1, sizeof(*pc)))) {
		r = err_set(AERR_ALLOC, "platformcert");
		goto out;
	}
	if ((r = der_expect(&top, TAG_SEQUENCE, &cert, "AttributeCertificate")) != 0 ||
	    (r = der_end(&top, "AttributeCertificate")) != 0 ||
	    (r = der_expect(&cert.content, TAG_SEQUENCE, &acinfo, "acinfo")) != 0 ||
	    (r = der_expect(&cert.content, TAG_SEQUENCE, &outer_alg, "signatureAlgorithm")) != 0 ||
	    (r = der_expect(&cert.content, TAG_BITSTRING, &sig, "signatureValue")) != 0 ||
	    (r = der_end(&cert.content, "AttributeCertificate")) != 0)
		goto out;
	if ((r = parse_acinfo(&acinfo.content, pc, &inner_alg)) != 0)
		goto out;
	/* RFC 5755 4.1: the signed algorithm must be the one used. */
	if (inner_alg.total != outer_alg.total || memcmp(inner_alg.start, outer_alg.start, inner_alg.total) != 0) {
		r = err_set(AERR_PLATFORM_CERT, "acinfo.signature differs from signatureAlgorithm");
		goto out;
	}
	q = outer_alg.start;
	if (!(pc->sig_alg = d2i_X509_ALGOR(NULL, &q, (long)outer_alg.total)) ||
	    q != outer_alg.start + outer_alg.total) {
		ERR_clear_error();
		r = err_set(AERR_PLATFORM_CERT, "signatureAlgorithm: malformed");
		goto out;
	}
	if (sig.content.len < 2 || sig.content.p[0] != 0) {
		r = err_set(AERR_PLATFORM_CERT, "signatureValue: empty or not whole octets");
		goto out;
	}
	if (!(pc->tbs = malloc(acinfo.total)) || !(pc->sig = malloc(sig.content.len - 1))) {
		r = err_set(AERR_ALLOC, "platformcert");
		goto out;
	}
	memcpy(pc->tbs, acinfo.start, acinfo.total);
	pc->tbs_len = acinfo.total;
	memcpy(pc->sig, sig.content.p + 1, sig.content.len - 1);
	pc->sig_len = sig.content.len - 1;
	*out = pc;
	pc = NULL; /* transferred */
	r = 0;
out:
	platformcert_free(pc);
	return r;
}

void platformcert_free(struct platformcert *pc)
{
	if (!pc)
		return;
	X509_NAME_free(pc->holder_issuer);
	ASN1_INTEGER_free(pc->holder_serial);
	X509_NAME_free(pc->issuer);
	ASN1_INTEGER_free(pc->serial);
	ASN1_GENERALIZEDTIME_free(pc->not_before);
	ASN1_GENERALIZEDTIME_free(pc->not_after);
	X509_ALGOR_free(pc->sig_alg);
	sk_X509_EXTENSION_pop_free(pc->exts, X509_EXTENSION_free);
	free(pc->tbs);
	free(pc->sig);
	OPENSSL_free(pc->manufacturer);
	OPENSSL_free(pc->model);
	OPENSSL_free(pc->platform_version);
	OPENSSL_free(pc->platform_serial);
	free(pc);
}

int platformcert_is_attribute_cert(const uint8_t *der, size_t len)
{
	struct der top = { der, len, 0 };
	struct tlv cert, first;

	/* Certificate's tbsCertificate starts with [0] version (or the serial
	 * INTEGER for v1, which TPM vendors do not issue); AttributeCertificate's
	 * acinfo starts with the version INTEGER. */
	if (!der || der_expect(&top, TAG_SEQUENCE, &cert, "certificate") != 0 ||
	    der_expect(&cert.content, TAG_SEQUENCE, &first, "certificate body") != 0)
		return 0;
	return der_peek_tag(&first.content) == TAG_INTEGER;
}
