/* DER certificates from the attestor: the EK certificate (chain and key
 * binding) and the platform certificate (TCG attribute certificate parser,
 * or an X.509 certificate over the EK key). The first byte picks which;
 * the trust store is the software TPM's CA, whose EK certificate is the
 * seed to mutate (fuzz/seeds.sh also adds real ones). */
#include <string.h>

#include "endorsement/ekcert.h"
#include "fuzz.h"
#include "endorsement/platformcert.h"

static struct ekcert_trust *trust;

int fuzz_ekcert_init(void)
{
	const struct fuzz_fake *f;

	fuzz_quiet();
	if (!(f = fuzz_fake_get()) || ekcert_trust_load(f->trust_dir, &trust) != 0)
		return -1;
	return 0;
}

int fuzz_ekcert(const uint8_t *data, size_t size)
{
	const struct fuzz_fake *f = fuzz_fake_get();
	struct platformcert *pc = NULL;

	if (size < 1 || !f)
		return 0;
	if (data[0] & 1) {
		if (platformcert_parse(data + 1, size - 1, &pc) == 0) {
			FUZZ_CHECK(pc != NULL && pc->tbs_len > 0 && pc->tbs_len < size);
			FUZZ_CHECK(platformcert_is_attribute_cert(data + 1, size - 1));
		} else {
			FUZZ_CHECK(pc == NULL);
		}
		platformcert_free(pc);
		fuzz_ignore(platformcert_verify(trust, data + 1, size - 1, f->ek_cert, f->ek_cert_len, &f->ek_pub));
	} else {
		fuzz_ignore(ekcert_verify(trust, data + 1, size - 1, &f->ek_pub));
	}
	return 0;
}
