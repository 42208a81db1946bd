#include <string.h>

#include <openssl/crypto.h>

#include "array.h"
#include "cursor.h"
#include "evdata.h"

#define VARIABLE_HEADER 32u /* VariableName, UnicodeNameLength, VariableDataLength */

const uint8_t evdata_efi_global_variable[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
};

/* The PFP's "digest of the event data" types. Deliberately short: a type
 * belongs here only when the spec says its digest covers all of its data and
 * real logs agree (../shared/testdata: every separator, S-CRTM version, EFI
 * action, GPT and driver-config event of the UEFI logs does). Not here:
 * EV_POST_CODE, EV_S_CRTM_CONTENTS, EV_EFI_PLATFORM_FIRMWARE_BLOB and the
 * EV_EFI_*_DRIVER / _APPLICATION events (digest of the code or image the data
 * only locates), EV_IPL (GRUB hashes the command without its prefix),
 * EV_PLATFORM_CONFIG_FLAGS, EV_COMPACT_HASH, EV_NONHOST_* (vendor-defined). */
static const uint32_t hashes_data[] = {
	EVENTLOG_EV_SEPARATOR,
	EVENTLOG_EV_ACTION,
	EVENTLOG_EV_S_CRTM_VERSION,
	EVENTLOG_EV_OMIT_BOOT_DEVICE_EVENTS,
	EVENTLOG_EV_EFI_VARIABLE_DRIVER_CONFIG,
	EVENTLOG_EV_EFI_VARIABLE_BOOT,
	EVENTLOG_EV_EFI_GPT_EVENT,
	EVENTLOG_EV_EFI_ACTION,
	EVENTLOG_EV_EFI_VARIABLE_BOOT2,
	EVENTLOG_EV_EFI_VARIABLE_AUTHORITY,
};

int evdata_hashes_data(uint32_t type)
{
	for (size_t i = 0; i < ARRAY_LEN(hashes_data); i++)
		if (hashes_data[i] == type)
			return 1;
	return 0;
}

size_t evdata_banks(const TPML_PCR_SELECTION *sel, uint32_t replayed, uint32_t pcr,
		    TPM2_ALG_ID banks[PCRSEL_MAX_BANKS])
{
	size_t n = 0;

	if (pcr >= PCRSEL_NUM_PCRS || !(replayed & (1u << pcr)))
		return 0;
	for (uint32_t b = 0; b < sel->count && b < TPM2_NUM_PCR_BANKS && n < PCRSEL_MAX_BANKS; b++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[b];

		if (pcr / 8 < s->sizeofSelect && pcr / 8 < sizeof(s->pcrSelect) &&
		    (s->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
			banks[n++] = s->hash;
	}
	return n;
}

/* e's digest in bank alg, or NULL. */
static const struct eventlog_digest *digest_of(const struct eventlog_event *e, TPM2_ALG_ID alg)
{
	for (uint32_t i = 0; i < e->ndigests; i++)
		if (e->digests[i].alg == alg)
			return &e->digests[i];
	return NULL;
}

int evdata_verify(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t nbanks)
{
	uint8_t h[CRYPTO_MAX_DIGEST];
	char name[16];
	int r;

	/* No bank proves anything: never "verified" by default. */
	if (nbanks == 0)
		return err_set(AERR_EVENTLOG, "no quoted and replayed bank covers PCR %u", e->pcr);
	if (!evdata_hashes_data(e->type))
		return err_set(AERR_EVENTLOG, "the digest of event type 0x%08x is not a hash of its data", e->type);
	for (size_t b = 0; b < nbanks; b++) {
		const struct eventlog_digest *d = digest_of(e, banks[b]);
		size_t size = crypto_digest_size(banks[b]);

		if (!size)
			return err_set(AERR_UNSUPPORTED, "bank %s cannot be hashed", crypto_alg_label(banks[b], name));
		if (!d || d->size != size)
			return err_set(AERR_EVENTLOG, "no %s digest", crypto_alg_label(banks[b], name));
		if ((r = crypto_digest(banks[b], e->data, e->data_len, h)) != 0)
			return r;
		if (CRYPTO_memcmp(h, d->value, size) != 0)
			return err_set(AERR_EVENTLOG, "its %s digest is not the hash of its data",
				       crypto_alg_label(banks[b], name));
	}
	return 0;
}

/* A separator's event data, a UINT32: 0, or 1 after an error (the PFP;
 * EDK2's MeasureSeparatorEventWithError), and FFFFFFFF as OpenPOWER
 * firmware measures it (../shared/testdata acs-tpm2bios.bin). */
static const uint8_t separators[][4] = {
	{ 0x00, 0x00, 0x00, 0x00 },
	{ 0x01, 0x00, 0x00, 0x00 },
	{ 0xff, 0xff, 0xff, 0xff },
};

int evdata_separator(const struct eventlog_event *e, const TPM2_ALG_ID *banks, size_t nbanks, int *is)
{
	uint8_t h[CRYPTO_MAX_DIGEST];
	char name[16];
	int r;

	*is = 0;
	for (size_t v = 0; nbanks && v < ARRAY_LEN(separators); v++) {
		size_t b = 0;

		for (; b < nbanks; b++) {
			const struct eventlog_digest *d = digest_of(e, banks[b]);
			size_t size = crypto_digest_size(banks[b]);

			if (!size)
				return err_set(AERR_UNSUPPORTED, "bank %s cannot be hashed", crypto_alg_label(banks[b], name));
			if (!d || d->size != size)
				break;
			if ((r = crypto_digest(banks[b], separators[v], sizeof(separators[v]), h)) != 0)
				return r;
			if (CRYPTO_memcmp(h, d->value, size) != 0)
				break;
		}
		if (b == nbanks) {
			*is = 1;
			return 0;
		}
	}
	return 0;
}

int evdata_variable_parse(const uint8_t *buf, size_t len, struct evdata_variable *out)
{
	struct cur c = { buf, len, 0 };
	struct evdata_variable v = { 0 };
	uint64_t nlen, dlen;

	memset(out, 0, sizeof(*out));
	if (cur_bytes(&c, 16, &v.guid) || cur_u64(&c, &nlen) || cur_u64(&c, &dlen))
		return err_set(AERR_PARSE, "UEFI_VARIABLE_DATA: %zu bytes, shorter than its %u-byte header", len,
			       VARIABLE_HEADER);
	/* Each length against what is left, on its own: their sum can wrap. */
	if (nlen > cur_left(&c) / 2)
		return err_set(AERR_PARSE, "UEFI_VARIABLE_DATA: UnicodeNameLength %llu exceeds the %zu bytes left",
			       (unsigned long long)nlen, cur_left(&c));
	v.name_len = (size_t)nlen;
	if (cur_bytes(&c, v.name_len * 2, &v.name))
		return err_set(AERR_INTERNAL, "UEFI_VARIABLE_DATA: name bounds");
	if (dlen > cur_left(&c))
		return err_set(AERR_PARSE, "UEFI_VARIABLE_DATA: VariableDataLength %llu exceeds the %zu bytes left",
			       (unsigned long long)dlen, cur_left(&c));
	v.data_len = (size_t)dlen;
	if (cur_bytes(&c, v.data_len, &v.data))
		return err_set(AERR_INTERNAL, "UEFI_VARIABLE_DATA: data bounds");
	if (cur_left(&c))
		return err_set(AERR_TRAILING, "UEFI_VARIABLE_DATA: %zu bytes after the variable's data", cur_left(&c));
	*out = v;
	return 0;
}

int evdata_variable_is(const struct evdata_variable *v, const uint8_t guid[16], const char *name)
{
	size_t n = strlen(name);

	if (!v->guid || memcmp(v->guid, guid, 16) != 0 || v->name_len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (v->name[2 * i] != (uint8_t)name[i] || v->name[2 * i + 1] != 0)
			return 0;
	return 1;
}
