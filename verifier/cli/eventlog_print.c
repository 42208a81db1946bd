#include <string.h>

#include "array.h"
#include "crypto.h"
#include "cli/eventlog_print.h"

static const struct {
	uint32_t type;
	const char *name;
} eventlog_types[] = {
	{ 0x00000000, "EV_PREBOOT_CERT" }, { 0x00000001, "EV_POST_CODE" }, { 0x00000002, "EV_UNUSED" },
	{ 0x00000003, "EV_NO_ACTION" }, { 0x00000004, "EV_SEPARATOR" }, { 0x00000005, "EV_ACTION" },
	{ 0x00000006, "EV_EVENT_TAG" }, { 0x00000007, "EV_S_CRTM_CONTENTS" }, { 0x00000008, "EV_S_CRTM_VERSION" },
	{ 0x00000009, "EV_CPU_MICROCODE" }, { 0x0000000a, "EV_PLATFORM_CONFIG_FLAGS" },
	{ 0x0000000b, "EV_TABLE_OF_DEVICES" }, { 0x0000000c, "EV_COMPACT_HASH" }, { 0x0000000d, "EV_IPL" },
	{ 0x0000000e, "EV_IPL_PARTITION_DATA" }, { 0x0000000f, "EV_NONHOST_CODE" },
	{ 0x00000010, "EV_NONHOST_CONFIG" }, { 0x00000011, "EV_NONHOST_INFO" }, { 0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" }, { 0x80000002, "EV_EFI_VARIABLE_BOOT" },
	{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" }, { 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" }, { 0x80000006, "EV_EFI_GPT_EVENT" },
	{ 0x80000007, "EV_EFI_ACTION" }, { 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ 0x80000009, "EV_EFI_HANDOFF_TABLES" }, { 0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ 0x8000000b, "EV_EFI_HANDOFF_TABLES2" }, { 0x8000000c, "EV_EFI_VARIABLE_BOOT2" },
	{ 0x80000010, "EV_EFI_HCRTM_EVENT" }, { 0x800000e0, "EV_EFI_VARIABLE_AUTHORITY" },
	{ 0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB" }, { 0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
};

const char *eventlog_type_name(uint32_t type)
{
	for (size_t i = 0; i < ARRAY_LEN(eventlog_types); i++)
		if (eventlog_types[i].type == type)
			return eventlog_types[i].name;
	return NULL;
}

static void eventlog_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* Every declared bank we can replay: its values and which PCRs it extended. */
typedef void (*eventlog_bank_fn)(FILE *f, TPM2_ALG_ID alg, int first, uint32_t extended,
				 uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST]);

static void eventlog_banks(FILE *f, const struct eventlog *log, eventlog_bank_fn fn)
{
	uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	int first = 1;

	for (uint32_t b = 0; b < log->nalgs; b++) {
		uint32_t ext = 0;

		if (eventlog_replay(log, log->algs[b].alg, v, &ext) != 0 || !ext)
			continue;
		fn(f, log->algs[b].alg, first, ext, v);
		first = 0;
	}
}

static void eventlog_bank_yaml(FILE *f, TPM2_ALG_ID alg, int first, uint32_t ext,
			       uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST])
{
	(void)first;
	fprintf(f, "  %s:\n", crypto_alg_name(alg));
	for (int i = 0; i < PCRSEL_NUM_PCRS; i++) {
		if (!(ext & (1u << i)))
			continue;
		fprintf(f, "    %-3d: 0x", i);
		eventlog_hex(f, v[i], crypto_digest_size(alg));
		fprintf(f, "\n");
	}
}

void eventlog_print_yaml(FILE *f, const struct eventlog *log)
{
	char buf[16];

	fprintf(f, "---\nversion: 1\nformat: %s\nevents:\n",
		log->format == EVENTLOG_FORMAT_SHA1 ? "sha1-legacy" : "crypto-agile");
	for (size_t n = 0; n < log->nevents; n++) {
		const struct eventlog_event *ev = &log->events[n];
		const char *name = eventlog_type_name(ev->type);

		fprintf(f, "- EventNum: %zu\n  PCRIndex: %u\n", n, ev->pcr);
		if (name)
			fprintf(f, "  EventType: %s\n", name);
		else
			fprintf(f, "  EventType: 0x%08x\n", ev->type);
		fprintf(f, "  DigestCount: %u\n", ev->ndigests);
		if (ev->ndigests)
			fprintf(f, "  Digests:\n");
		for (uint32_t i = 0; i < ev->ndigests; i++) {
			fprintf(f, "  - AlgorithmId: %s\n    Digest: \"", crypto_alg_label(ev->digests[i].alg, buf));
			eventlog_hex(f, ev->digests[i].value, ev->digests[i].size);
			fprintf(f, "\"\n");
		}
		fprintf(f, "  EventSize: %u\n", ev->data_len);
	}
	fprintf(f, "pcrs:\n");
	eventlog_banks(f, log, eventlog_bank_yaml);
}

static void eventlog_bank_json(FILE *f, TPM2_ALG_ID alg, int first, uint32_t ext,
			       uint8_t v[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST])
{
	int sep = 0;

	fprintf(f, "%s\n    \"%s\": {", first ? "" : ",", crypto_alg_name(alg));
	for (int i = 0; i < PCRSEL_NUM_PCRS; i++) {
		if (!(ext & (1u << i)))
			continue;
		fprintf(f, "%s\"%d\": \"", sep++ ? ", " : "", i);
		eventlog_hex(f, v[i], crypto_digest_size(alg));
		fprintf(f, "\"");
	}
	fprintf(f, "}");
}

void eventlog_print_json(FILE *f, const struct eventlog *log)
{
	char buf[16];

	fprintf(f, "{\n  \"format\": \"%s\",\n  \"pcr0_locality\": %u,\n  \"events\": [",
		log->format == EVENTLOG_FORMAT_SHA1 ? "sha1-legacy" : "crypto-agile", log->pcr0_locality);
	for (size_t n = 0; n < log->nevents; n++) {
		const struct eventlog_event *ev = &log->events[n];
		const char *name = eventlog_type_name(ev->type);

		fprintf(f, "%s\n    {\"num\": %zu, \"pcr\": %u, \"type\": %u, \"type_name\": ", n ? "," : "", n,
			ev->pcr, ev->type);
		if (name)
			fprintf(f, "\"%s\"", name);
		else
			fprintf(f, "null");
		fprintf(f, ", \"size\": %u, \"digests\": {", ev->data_len);
		for (uint32_t i = 0; i < ev->ndigests; i++) {
			fprintf(f, "%s\"%s\": \"", i ? ", " : "", crypto_alg_label(ev->digests[i].alg, buf));
			eventlog_hex(f, ev->digests[i].value, ev->digests[i].size);
			fprintf(f, "\"");
		}
		fprintf(f, "}}");
	}
	fprintf(f, "\n  ],\n  \"pcrs\": {");
	eventlog_banks(f, log, eventlog_bank_json);
	fprintf(f, "\n  }\n}\n");
}
