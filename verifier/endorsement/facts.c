/* endorsement/facts.h: facts of verified certificates. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "endorsement/facts.h"
#include "endorsement/platformcert.h"
#include "strsafe.h"

/* A value as a fact, or none when it does not fit whole: two long values
 * cut to one prefix would be one fact. */
static void facts_copy(char *dst, const char *src, size_t len)
{
	if (strsafe_copy(dst, FACTS_TEXT_MAX, src, len, STRSAFE_LINE) >= FACTS_TEXT_MAX - 4)
		dst[0] = '\0';
}

/* Each TCG attribute of the subjectAltName's directory names whose OID is
 * oid, into dst (the first one). */
static void facts_san(X509 *x, const char *oid, char *dst)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char buf[64];

	for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !dst[0]; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

		if (g->type != GEN_DIRNAME)
			continue;
		for (int j = 0; j < X509_NAME_entry_count(g->d.dirn) && !dst[0]; j++) {
			const X509_NAME_ENTRY *e = X509_NAME_get_entry(g->d.dirn, j);
			const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);

			if (OBJ_obj2txt(buf, sizeof(buf), X509_NAME_ENTRY_get_object(e), 1) <= 0 || strcmp(buf, oid))
				continue;
			facts_copy(dst, (const char *)ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v));
		}
	}
	GENERAL_NAMES_free(names);
}

static void facts_name(const X509_NAME *name, char *dst)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 && (n = BIO_get_mem_data(b, &p)) > 0)
		facts_copy(dst, p, (size_t)n);
	BIO_free(b);
}

void endorsement_facts(const uint8_t *ek, size_t ek_len, const uint8_t *platform, size_t platform_len,
		       struct endorsement_facts *out)
{
	const unsigned char *p;
	X509 *x;

	memset(out, 0, sizeof(*out));
	if (ek && ek_len && (p = ek, x = d2i_X509(NULL, &p, (long)ek_len))) {
		facts_name(X509_get_issuer_name(x), out->ek_issuer);
		facts_san(x, "2.23.133.2.1", out->tpm_manufacturer);
		facts_san(x, "2.23.133.2.2", out->tpm_model);
		X509_free(x);
	}
	if (!platform || !platform_len)
		return;
	if (platformcert_is_attribute_cert(platform, platform_len)) {
		struct platformcert *pc = NULL;

		if (platformcert_parse(platform, platform_len, &pc) == 0) {
			if (pc->manufacturer)
				facts_copy(out->platform_manufacturer, pc->manufacturer, strlen(pc->manufacturer));
			if (pc->model)
				facts_copy(out->platform_model, pc->model, strlen(pc->model));
		}
		platformcert_free(pc);
	} else if ((p = platform, x = d2i_X509(NULL, &p, (long)platform_len))) {
		/* swtpm's kind: an X.509 certificate over the EK key. */
		facts_san(x, "2.23.133.2.4", out->platform_manufacturer);
		facts_san(x, "2.23.133.5.1.1", out->platform_manufacturer);
		facts_san(x, "2.23.133.2.5", out->platform_model);
		facts_san(x, "2.23.133.5.1.4", out->platform_model);
		X509_free(x);
	}
	ERR_clear_error(); /* what did not parse gives no facts, and leaves no error */
}
