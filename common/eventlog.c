#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "eventlog"
#include "cursor.h"
#include "eventlog.h"
#include "hugepages.h"
#include "log.h"

/* Fixed parts of the two event layouts. */
#define LEGACY_HEADER 32u  /* pcrIndex, eventType, digest[20], eventSize */
#define EVENT2_MIN 16u     /* pcrIndex, eventType, count, (digests), eventSize */

#define SPECID_SIG "Spec ID Event03"          /* 16 bytes with its NUL */
#define SPECID_FIXED 29u                      /* signature .. numberOfAlgorithms */
#define LOCALITY_SIG "StartupLocality"        /* 16 bytes with its NUL */
#define LOCALITY_DATA_LEN 17u                 /* signature + UINT8 locality */

static const struct eventlog_alg *find_alg(const struct eventlog *log, TPM2_ALG_ID alg)
{
	for (uint32_t i = 0; i < log->nalgs; i++)
		if (log->algs[i].alg == alg)
			return &log->algs[i];
	return NULL;
}

static int is_specid(const uint8_t *buf, size_t len)
{
	struct cur c = { buf, len, 0 };
	uint32_t pcr, type, size;
	const uint8_t *skip, *data;

	if (cur_u32(&c, &pcr) || cur_u32(&c, &type) || cur_bytes(&c, 20, &skip) || cur_u32(&c, &size))
		return 0;
	if (type != EVENTLOG_EV_NO_ACTION || size < sizeof(SPECID_SIG) || cur_bytes(&c, sizeof(SPECID_SIG), &data))
		return 0;
	return memcmp(data, SPECID_SIG, sizeof(SPECID_SIG)) == 0;
}

/* Room for want events (*cap) and their digests (*dcap events' worth, at
 * nalgs each). Events already parsed are pointed at their moved digests. */
static int reserve(struct eventlog *log, size_t *cap, size_t *dcap, size_t want)
{
	struct eventlog_event *n;
	struct eventlog_digest *d;

	if (want > *cap) {
		if (!(n = realloc(log->events, want * sizeof(*n))))
			return err_set(AERR_ALLOC, "event log: out of memory for %zu events", want);
		log->events = n;
		*cap = want;
		hugepages_advise(n, want * sizeof(*n));
	}
	if (log->nalgs && want > *dcap) {
		if (!(d = realloc(log->digest_store, want * log->nalgs * sizeof(*d))))
			return err_set(AERR_ALLOC, "event log: out of memory for the digests of %zu events", want);
		log->digest_store = d;
		*dcap = want;
		hugepages_advise(d, want * log->nalgs * sizeof(*d));
		for (size_t i = 0; i < log->nevents; i++)
			if (log->events[i].ndigests)
				log->events[i].digests = d + i * log->nalgs;
	}
	return 0;
}

/* Room for one more event: doubling, up to the limit. */
static int grow(struct eventlog *log, size_t *cap, size_t *dcap)
{
	size_t want;

	if (log->nevents < *cap && (!log->nalgs || log->nevents < *dcap))
		return 0;
	if (log->nevents >= EVENTLOG_MAX_EVENTS)
		return err_set(AERR_TOO_LARGE, "event log: more than %u events", EVENTLOG_MAX_EVENTS);
	want = log->nevents ? log->nevents * 2 : 64;
	if (want > EVENTLOG_MAX_EVENTS)
		want = EVENTLOG_MAX_EVENTS;
	return reserve(log, cap, dcap, want);
}

/* The event data: size first bounded by what is left (a truncated event),
 * then by our sanity limit. */
static int read_data(struct cur *c, size_t num, size_t at, struct eventlog_event *ev)
{
	uint32_t size;

	if (cur_u32(c, &size))
		return err_set(AERR_PARSE, "event %zu at offset %zu: truncated before eventSize", num, at);
	if (size > cur_left(c))
		return err_set(AERR_PARSE, "event %zu at offset %zu: eventSize %u exceeds the %zu bytes left",
			       num, at, size, cur_left(c));
	if (size > EVENTLOG_MAX_EVENT_SIZE)
		return err_set(AERR_TOO_LARGE, "event %zu at offset %zu: eventSize %u exceeds the limit %u",
			       num, at, size, EVENTLOG_MAX_EVENT_SIZE);
	if (cur_bytes(c, size, &ev->data))
		return err_set(AERR_INTERNAL, "event %zu: data bounds", num);
	ev->data_len = size;
	return 0;
}

/* PCR index must name a real PCR, except on EV_NO_ACTION events which extend
 * nothing (firmware uses them for informational records). */
static int check_pcr(const struct eventlog_event *ev, size_t num)
{
	if (ev->type != EVENTLOG_EV_NO_ACTION && ev->pcr >= PCRSEL_NUM_PCRS)
		return err_set(AERR_PARSE, "event %zu at offset %zu: PCR index %u out of range 0-%d", num,
			       ev->offset, ev->pcr, PCRSEL_NUM_PCRS - 1);
	return 0;
}

/* TCG_EfiSpecIDEvent, the data of event 0 in a crypto-agile log. Must be
 * consumed exactly. */
static int parse_specid(struct eventlog *log, const struct eventlog_event *ev)
{
	struct cur c = { ev->data, ev->data_len, 0 };
	const uint8_t *sig;
	uint32_t nalgs;
	char name[16];

	if (cur_bytes(&c, sizeof(SPECID_SIG), &sig) || cur_u32(&c, &log->platform_class) ||
	    cur_u8(&c, &log->spec_minor) || cur_u8(&c, &log->spec_major) || cur_u8(&c, &log->spec_errata) ||
	    cur_u8(&c, &log->uintn_size) || cur_u32(&c, &nalgs))
		return err_set(AERR_PARSE, "Spec ID event (event 0 at offset 0): %u bytes too short for its header",
			       ev->data_len);
	/* uintnSize: 1 = UINT32, 2 = UINT64 firmware. */
	if (log->uintn_size != 1 && log->uintn_size != 2)
		return err_set(AERR_PARSE, "Spec ID event: uintnSize %u is neither 1 nor 2", log->uintn_size);
	if (nalgs == 0)
		return err_set(AERR_PARSE, "Spec ID event: numberOfAlgorithms is 0");
	if (nalgs > EVENTLOG_MAX_ALGS)
		return err_set(AERR_PARSE, "Spec ID event: numberOfAlgorithms %u exceeds %d", nalgs, EVENTLOG_MAX_ALGS);
	for (uint32_t i = 0; i < nalgs; i++) {
		uint16_t id, size;
		size_t known;

		if (cur_u16(&c, &id) || cur_u16(&c, &size))
			return err_set(AERR_PARSE, "Spec ID event: truncated in algorithm %u of %u", i, nalgs);
		if (find_alg(log, id))
			return err_set(AERR_PARSE, "Spec ID event: algorithm %s declared twice", crypto_alg_label(id, name));
		known = crypto_digest_size(id);
		if (known && size != known)
			return err_set(AERR_PARSE, "Spec ID event: %s declared with digestSize %u, not %zu",
				       crypto_alg_label(id, name), size, known);
		if (size == 0 || size > CRYPTO_MAX_DIGEST)
			return err_set(AERR_PARSE, "Spec ID event: algorithm %s digestSize %u outside 1-%d",
				       crypto_alg_label(id, name), size, CRYPTO_MAX_DIGEST);
		if (!known)
			LOG_WARN("Spec ID event declares algorithm %s unknown to us: its bank cannot be replayed",
				 crypto_alg_label(id, name));
		log->algs[log->nalgs].alg = id;
		log->algs[log->nalgs].size = size;
		log->nalgs++;
	}
	if (cur_u8(&c, &log->vendor_info_len) || cur_bytes(&c, log->vendor_info_len, &log->vendor_info))
		return err_set(AERR_PARSE, "Spec ID event: truncated in vendorInfo");
	if (cur_left(&c))
		return err_set(AERR_PARSE, "Spec ID event: %zu bytes after vendorInfo", cur_left(&c));
	return 0;
}

/* Event 0 of a crypto-agile log, in the legacy layout. */
static int parse_header_event(struct cur *c, struct eventlog *log, struct eventlog_event *ev)
{
	const uint8_t *digest;
	int r;

	ev->offset = c->off;
	if (cur_u32(c, &ev->pcr) || cur_u32(c, &ev->type) || cur_bytes(c, 20, &digest))
		return err_set(AERR_INTERNAL, "Spec ID event: header bounds");
	if ((r = read_data(c, 0, ev->offset, ev)) != 0)
		return r;
	if (ev->pcr != 0)
		return err_set(AERR_PARSE, "Spec ID event (event 0 at offset 0): PCR index %u, must be 0", ev->pcr);
	for (size_t i = 0; i < 20; i++)
		log->specid_digest_nonzero |= digest[i] != 0;
	if (log->specid_digest_nonzero)
		LOG_WARN("Spec ID event: digest field is not all zeros as the PC Client spec requires; "
			 "ignored (EV_NO_ACTION is never extended)");
	return parse_specid(log, ev);
}

static int parse_legacy_event(struct cur *c, size_t num, struct eventlog_event *ev)
{
	const uint8_t *digest;
	int r;

	ev->offset = c->off;
	if (cur_left(c) < LEGACY_HEADER)
		return err_set(num ? AERR_TRAILING : AERR_PARSE,
			       "event %zu at offset %zu: %zu bytes left, fewer than a %u-byte event header",
			       num, ev->offset, cur_left(c), LEGACY_HEADER);
	if (cur_u32(c, &ev->pcr) || cur_u32(c, &ev->type) || cur_bytes(c, 20, &digest))
		return err_set(AERR_INTERNAL, "event %zu: header bounds", num);
	ev->ndigests = 1;
	ev->digests[0].alg = TPM2_ALG_SHA1;
	ev->digests[0].size = 20;
	ev->digests[0].value = digest;
	if ((r = check_pcr(ev, num)) != 0)
		return r;
	return read_data(c, num, ev->offset, ev);
}

static int parse_event2(struct cur *c, const struct eventlog *log, size_t num, struct eventlog_event *ev)
{
	uint32_t count;
	char name[16];
	int r;

	ev->offset = c->off;
	if (cur_left(c) < EVENT2_MIN)
		return err_set(AERR_TRAILING, "event %zu at offset %zu: %zu bytes left, fewer than a %u-byte event header",
			       num, ev->offset, cur_left(c), EVENT2_MIN);
	if (cur_u32(c, &ev->pcr) || cur_u32(c, &ev->type) || cur_u32(c, &count))
		return err_set(AERR_INTERNAL, "event %zu: header bounds", num);
	if ((r = check_pcr(ev, num)) != 0)
		return r;
	/* Each declared bank at most once: more digests than banks is malformed. */
	if (count > log->nalgs)
		return err_set(AERR_PARSE, "event %zu at offset %zu: digest count %u exceeds the %u algorithms declared",
			       num, ev->offset, count, log->nalgs);
	for (uint32_t i = 0; i < count; i++) {
		const struct eventlog_alg *a;
		uint16_t id;

		if (cur_u16(c, &id))
			return err_set(AERR_PARSE, "event %zu at offset %zu: truncated in digest %u", num, ev->offset, i);
		if (!(a = find_alg(log, id)))
			return err_set(AERR_PARSE, "event %zu at offset %zu: digest algorithm %s not declared in the Spec ID event",
				       num, ev->offset, crypto_alg_label(id, name));
		for (uint32_t j = 0; j < i; j++)
			if (ev->digests[j].alg == id)
				return err_set(AERR_PARSE, "event %zu at offset %zu: two %s digests", num, ev->offset,
					       crypto_alg_label(id, name));
		if (cur_bytes(c, a->size, &ev->digests[i].value))
			return err_set(AERR_PARSE, "event %zu at offset %zu: truncated in %s digest", num, ev->offset,
				       crypto_alg_label(id, name));
		ev->digests[i].alg = id;
		ev->digests[i].size = a->size;
		ev->ndigests = i + 1;
	}
	return read_data(c, num, ev->offset, ev);
}

/* StartupLocality (PFP 10.4.5.3): EV_NO_ACTION on PCR 0 whose data is
 * "StartupLocality\0" + UINT8. It tells the verifier PCR 0's reset value, so
 * it must come before anything extends PCR 0, and only once. */
static int note_locality(struct eventlog *log, const struct eventlog_event *ev, size_t num, int pcr0_extended)
{
	if (ev->type != EVENTLOG_EV_NO_ACTION || ev->data_len < sizeof(LOCALITY_SIG) ||
	    memcmp(ev->data, LOCALITY_SIG, sizeof(LOCALITY_SIG)) != 0)
		return 0;
	if (ev->pcr != 0)
		return err_set(AERR_PARSE, "event %zu at offset %zu: StartupLocality event on PCR %u, not 0", num,
			       ev->offset, ev->pcr);
	if (ev->data_len != LOCALITY_DATA_LEN)
		return err_set(AERR_PARSE, "event %zu at offset %zu: StartupLocality event data is %u bytes, not %u",
			       num, ev->offset, ev->data_len, LOCALITY_DATA_LEN);
	if (log->has_startup_locality)
		return err_set(AERR_PARSE, "event %zu at offset %zu: second StartupLocality event", num, ev->offset);
	if (pcr0_extended)
		return err_set(AERR_PARSE, "event %zu at offset %zu: StartupLocality event after PCR 0 was extended",
			       num, ev->offset);
	/* Localities 0 and 3 from TPM2_Startup, 4 from an H-CRTM sequence. */
	if (ev->data[16] > 4)
		return err_set(AERR_PARSE, "event %zu at offset %zu: StartupLocality %u is not a locality", num,
			       ev->offset, ev->data[16]);
	log->has_startup_locality = 1;
	log->startup_locality = ev->data[16];
	log->pcr0_locality = ev->data[16];
	return 0;
}

/* H-CRTM (PFP 10.4.5.3, EV_EFI_HCRTM_EVENT): the sequence runs before any
 * other measurement and resets PCR 0 to locality 4, so it must be PCR 0's
 * first extend. tpm2_eventlog 5.4 ignores this and replays PCR 0 from zero. */
static int note_hcrtm(struct eventlog *log, const struct eventlog_event *ev, size_t num, int pcr0_extended)
{
	if (ev->type != EVENTLOG_EV_EFI_HCRTM_EVENT)
		return 0;
	if (ev->pcr != 0 || pcr0_extended)
		return err_set(AERR_PARSE, "event %zu at offset %zu: H-CRTM event %s", num, ev->offset,
			       ev->pcr != 0 ? "not on PCR 0" : "after PCR 0 was extended");
	if (log->has_startup_locality && log->startup_locality != 4)
		return err_set(AERR_PARSE, "event %zu at offset %zu: H-CRTM event but StartupLocality is %u, not 4",
			       num, ev->offset, log->startup_locality);
	log->hcrtm = 1;
	log->pcr0_locality = 4;
	return 0;
}

/* Events left in c by their framing alone (one more for a malformed tail,
 * which the parse then reports), at most EVENTLOG_MAX_EVENTS + 1: the event
 * array is allocated once instead of grown, which on a large log spent more
 * time copying than parsing. */
static size_t count_events(const struct eventlog *log, struct cur c)
{
	size_t n = 0;

	while (cur_left(&c) && n <= EVENTLOG_MAX_EVENTS) {
		const uint8_t *skip;
		uint32_t u, count, size;
		uint16_t id;

		n++;
		if (log->format == EVENTLOG_FORMAT_SHA1) {
			if (cur_bytes(&c, LEGACY_HEADER - 4, &skip))
				break;
		} else {
			if (cur_u32(&c, &u) || cur_u32(&c, &u) || cur_u32(&c, &count) || count > log->nalgs)
				break;
			for (uint32_t i = 0; i < count; i++) {
				const struct eventlog_alg *a;

				if (cur_u16(&c, &id) || !(a = find_alg(log, id)) || cur_bytes(&c, a->size, &skip))
					return n;
			}
		}
		if (cur_u32(&c, &size) || cur_bytes(&c, size, &skip))
			break;
	}
	return n;
}

int eventlog_parse(const uint8_t *buf, size_t len, struct eventlog **out)
{
	struct eventlog *log = NULL;
	struct cur c = { buf, len, 0 };
	size_t cap = 0, dcap = 0;
	int pcr0_extended = 0;
	int r = AERR_INTERNAL;

	if (out)
		*out = NULL;
	if (!out || (!buf && len)) {
		r = err_set(AERR_INVALID_ARG, "eventlog_parse: NULL argument");
		goto out;
	}
	if (len == 0) {
		r = err_set(AERR_PARSE, "event log is empty (0 bytes)");
		goto out;
	}
	if (len > EVENTLOG_MAX_LOG_SIZE) {
		r = err_set(AERR_TOO_LARGE, "event log is %zu bytes, limit %u", len, EVENTLOG_MAX_LOG_SIZE);
		goto out;
	}
	if (!(log = calloc(1, sizeof(*log)))) {
		r = err_set(AERR_ALLOC, "event log: out of memory");
		goto out;
	}
	if (is_specid(buf, len)) {
		log->format = EVENTLOG_FORMAT_CRYPTO_AGILE;
		if ((r = grow(log, &cap, &dcap)) != 0)
			goto out;
		memset(&log->events[0], 0, sizeof(log->events[0]));
		if ((r = parse_header_event(&c, log, &log->events[0])) != 0)
			goto out;
		log->nevents = 1;
	} else {
		log->format = EVENTLOG_FORMAT_SHA1;
		log->nalgs = 1;
		log->algs[0].alg = TPM2_ALG_SHA1;
		log->algs[0].size = 20;
	}
	if (cur_left(&c)) {
		size_t want = log->nevents + count_events(log, c);

		if (want > EVENTLOG_MAX_EVENTS)
			want = EVENTLOG_MAX_EVENTS;
		if ((r = reserve(log, &cap, &dcap, want)) != 0)
			goto out;
	}
	while (cur_left(&c)) {
		struct eventlog_event *ev;

		if ((r = grow(log, &cap, &dcap)) != 0)
			goto out;
		ev = &log->events[log->nevents];
		memset(ev, 0, sizeof(*ev));
		ev->digests = log->digest_store + log->nevents * log->nalgs;
		if (log->format == EVENTLOG_FORMAT_SHA1)
			r = parse_legacy_event(&c, log->nevents, ev);
		else
			r = parse_event2(&c, log, log->nevents, ev);
		if (r != 0)
			goto out;
		if ((r = note_locality(log, ev, log->nevents, pcr0_extended)) != 0 ||
		    (r = note_hcrtm(log, ev, log->nevents, pcr0_extended)) != 0)
			goto out;
		if (ev->pcr == 0 && ev->type != EVENTLOG_EV_NO_ACTION)
			pcr0_extended = 1;
		log->nevents++;
	}
	*out = log;
	log = NULL; /* transferred */
	r = 0;
out:
	eventlog_free(log);
	return r;
}

void eventlog_free(struct eventlog *log)
{
	if (!log)
		return;
	free(log->events);
	free(log->digest_store);
	free(log);
}

static void reset_values(const struct eventlog *log, size_t size, uint8_t out[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST])
{
	memset(out, 0, PCRSEL_NUM_PCRS * CRYPTO_MAX_DIGEST);
	/* DRTM PCRs 17-22 read all ones until a dynamic launch resets them. */
	for (int i = 17; i <= 22; i++)
		memset(out[i], 0xff, size);
	out[0][size - 1] = log->pcr0_locality;
}

int eventlog_replay(const struct eventlog *log, TPM2_ALG_ID alg,
		    uint8_t out[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST], uint32_t *extended)
{
	uint32_t mask = 0;
	size_t size;
	char name[16];
	int r = AERR_INTERNAL;

	if (extended)
		*extended = 0;
	if (!log || !out) {
		r = err_set(AERR_INVALID_ARG, "eventlog_replay: NULL argument");
		goto out;
	}
	if (!find_alg(log, alg)) {
		r = err_set(AERR_NOT_FOUND, "event log does not record a %s bank", crypto_alg_label(alg, name));
		goto out;
	}
	if ((size = crypto_digest_size(alg)) == 0 || size > CRYPTO_MAX_DIGEST) {
		r = err_set(AERR_UNSUPPORTED, "event log bank %s: algorithm unknown to us, cannot replay",
			    crypto_alg_label(alg, name));
		goto out;
	}
	reset_values(log, size, out);
	for (size_t n = 0; n < log->nevents; n++) {
		const struct eventlog_event *ev = &log->events[n];
		const struct eventlog_digest *d = NULL;

		if (ev->type == EVENTLOG_EV_NO_ACTION)
			continue;
		for (uint32_t i = 0; i < ev->ndigests; i++)
			if (ev->digests[i].alg == alg)
				d = &ev->digests[i];
		/* parse() bounds pcr for extending events; re-check since the struct is public. */
		if (ev->pcr >= PCRSEL_NUM_PCRS) {
			r = err_set(AERR_PARSE, "event %zu at offset %zu: PCR index %u out of range", n, ev->offset, ev->pcr);
			goto out;
		}
		if (!d || d->size != size) {
			r = err_set(AERR_PARSE, "event %zu at offset %zu (PCR %u): no %s digest to extend", n, ev->offset,
				    ev->pcr, crypto_alg_label(alg, name));
			goto out;
		}
		if ((r = crypto_extend(alg, out[ev->pcr], d->value)) != 0)
			goto out;
		mask |= 1u << ev->pcr;
	}
	if (extended)
		*extended = mask;
	r = 0;
out:
	return r;
}

int eventlog_check_pcrs(const struct eventlog *log, const struct pcr_values *values, uint32_t pcr_mask)
{
	uint8_t replayed[PCRSEL_NUM_PCRS][CRYPTO_MAX_DIGEST];
	char name[16];
	int r = AERR_INTERNAL;

	if (!log || !values || values->nbanks > PCRSEL_MAX_BANKS) {
		r = err_set(AERR_INVALID_ARG, "eventlog_check_pcrs: bad argument");
		goto out;
	}
	for (uint32_t b = 0; b < values->nbanks; b++) {
		const struct pcr_bank *bank = &values->banks[b];
		uint32_t want = bank->mask & pcr_mask;
		size_t size;

		if (!want)
			continue;
		if ((r = eventlog_replay(log, bank->alg, replayed, NULL)) != 0)
			goto out;
		size = crypto_digest_size(bank->alg);
		for (int i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(want & (1u << i)))
				continue;
			if (memcmp(replayed[i], bank->value[i], size) != 0) {
				r = err_set(AERR_EVENTLOG, "event log replay of %s PCR %d differs from the quoted value",
					    crypto_alg_label(bank->alg, name), i);
				goto out;
			}
		}
	}
	r = 0;
out:
	return r;
}
