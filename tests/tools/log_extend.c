/* log_extend: print the PCR extends a measurement log stands for, as
 * tpm2_pcrextend arguments, so a test can bring a software TPM into the state
 * a real machine's log describes.
 *
 *   log_extend eventlog FILE   one "PCR:sha1=HEX,sha256=HEX" per extending
 *                              event (EV_NO_ACTION skipped); exit 3 when the
 *                              log needs a PCR 0 locality, or PCRs 16 and up,
 *                              that locality 0 cannot reproduce
 *   log_extend ima FILE        one "10:sha1=HEX,sha256=HEX" per entry: the
 *                              template hash in SHA-1 and the SHA-256 template
 *                              digest as kernels >= 5.11 extend (violations: 0xFF)
 *   log_extend ima-head FILE N write the first N whole entries of FILE to stdout
 *                              (binary), to make a shorter list of the same boot */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "eventlog.h"
#include "ima.h"
#include "tool_io.h"

/* Logs up to the parsers' own limits; a file that cannot be read ends the tool. */
static uint8_t *tool_read_or_exit(const char *path, size_t *len)
{
	uint8_t *buf = tool_read(path, EVENTLOG_MAX_LOG_SIZE > IMA_MAX_LIST_SIZE ? EVENTLOG_MAX_LOG_SIZE
										  : IMA_MAX_LIST_SIZE, len);

	if (!buf)
		exit(2);
	return buf;
}

static void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int eventlog_main(const char *path)
{
	size_t len;
	uint8_t *buf = tool_read_or_exit(path, &len);
	struct eventlog *log = NULL;

	if (eventlog_parse(buf, len, &log) != 0) {
		fprintf(stderr, "log_extend: %s: %s\n", path, err_detail());
		return 1;
	}
	if (log->pcr0_locality != 0) {
		fprintf(stderr, "log_extend: %s starts PCR 0 at locality %u\n", path, log->pcr0_locality);
		return 3;
	}
	for (size_t i = 0; i < log->nevents; i++) {
		const struct eventlog_event *e = &log->events[i];
		const char *sep = ":";

		if (e->type == EVENTLOG_EV_NO_ACTION)
			continue;
		if (e->pcr >= 16) {
			fprintf(stderr, "log_extend: %s extends PCR %u\n", path, e->pcr);
			return 3;
		}
		printf("%u", e->pcr);
		for (uint32_t d = 0; d < e->ndigests; d++) {
			if (e->digests[d].alg != TPM2_ALG_SHA1 && e->digests[d].alg != TPM2_ALG_SHA256)
				continue;
			printf("%s%s=", sep, crypto_alg_name(e->digests[d].alg));
			hex(e->digests[d].value, e->digests[d].size);
			sep = ",";
		}
		printf("\n");
	}
	eventlog_free(log);
	free(buf);
	return 0;
}

static int ima_main(const char *path)
{
	size_t len;
	uint8_t *buf = tool_read_or_exit(path, &len), d[CRYPTO_MAX_DIGEST];
	struct ima_list *list = NULL;

	if (ima_parse(buf, len, 0, &list) != 0) {
		fprintf(stderr, "log_extend: %s: %s\n", path, err_detail());
		return 1;
	}
	for (size_t i = 0; i < list->nentries; i++) {
		const struct ima_entry *e = &list->entries[i];

		printf("%u:sha1=", e->pcr);
		if (e->violation) {
			memset(d, 0xff, sizeof(d));
			hex(d, 20);
			printf(",sha256=");
			hex(d, 32);
		} else {
			hex(e->template_hash, 20);
			printf(",sha256=");
			if (ima_template_digest(e, TPM2_ALG_SHA256, d) != 0) {
				fprintf(stderr, "log_extend: entry %zu: %s\n", i, err_detail());
				return 1;
			}
			hex(d, 32);
		}
		printf("\n");
	}
	ima_list_free(list);
	free(buf);
	return 0;
}

static int ima_head_main(const char *path, const char *count)
{
	size_t len, at = 0, end = 0;
	uint8_t *buf = tool_read_or_exit(path, &len);

	if (ima_list_offsets(buf, len, strtoull(count, NULL, 10), &at, &end) != 0) {
		fprintf(stderr, "log_extend: %s\n", err_detail());
		return 1;
	}
	fwrite(buf, 1, at, stdout);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "eventlog"))
		return eventlog_main(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "ima"))
		return ima_main(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "ima-head"))
		return ima_head_main(argv[2], argv[3]);
	fprintf(stderr, "usage: log_extend eventlog FILE | ima FILE | ima-head FILE N\n");
	return 2;
}
