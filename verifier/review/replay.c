/* review/review.h: stored evidence loaded, re-verified and judged. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ima.h"
#include "pcrsel.h"
#include "review/review.h"
#include "tpmpub.h"

__attribute__((format(printf, 3, 4))) static int review_fail(struct review_quote *rq, int code, const char *fmt, ...)
{
	va_list ap;

	rq->verified = 0;
	rq->code = code;
	va_start(ap, fmt);
	vsnprintf(rq->why, sizeof(rq->why), fmt, ap);
	va_end(ap);
	return 0;
}

/* The IMA chunks of the quote's boot, joined into one list from entry 0,
 * in the order they came: each starts where the verifier's replay stood
 * when it was sent, so it replaces what earlier chunks held from there on
 * (entries a quote did not vouch for are sent again). A chunk that starts
 * past the entries held leaves a gap: the list is incomplete. */
struct ima_join {
	uint8_t *buf;
	size_t len, cap;
	uint64_t count;                  /* entries held */
	uint64_t gap;                    /* the first entry missing, when a chunk began past it */
	int has_gap;
};

static int ima_join_chunk(uint64_t first, const uint8_t *data, size_t len, void *arg)
{
	struct ima_join *j = arg;
	struct ima_list *list = NULL;
	size_t at = 0, end = 0;

	if (first > j->count) {
		if (!j->has_gap) {
			j->has_gap = 1;
			j->gap = j->count;
		}
		return 0;
	}
	/* Where entry first begins in what is held. */
	if (first < j->count && ima_list_offsets(j->buf, j->len, first, &at, &end) != 0)
		return 0;
	if (first == j->count)
		at = j->len;
	if (ima_parse(data, len, first, &list) != 0)
		return 0; /* the replay says what is wrong with the list */
	if (j->cap - at < len) {
		size_t cap = j->cap ? j->cap : 65536;
		uint8_t *grown;

		while (cap - at < len)
			cap *= 2;
		if (!(grown = realloc(j->buf, cap))) {
			ima_list_free(list);
			return err_set(AERR_ALLOC, "IMA list");
		}
		j->buf = grown;
		j->cap = cap;
	}
	memcpy(j->buf + at, data, len);
	j->len = at + len;
	j->count = first + list->nentries;
	ima_list_free(list);
	return 0;
}

static int review_load_evidence(struct store *st, const struct store_evidence *row, struct review_quote *rq)
{
	struct pcr_values values;
	TPMT_PUBLIC ak;
	uint8_t *blob = NULL;
	size_t len = 0;
	int r;

	memset(rq, 0, sizeof(*rq));
	rq->row = *row;
	if (!row->quote_len || !row->signature_len)
		return review_fail(rq, AERR_NOT_FOUND, "%s", "no quote was recorded");
	if (!row->ak[0] || !row->values[0]) {
		if (row->pruned)
			return review_fail(rq, AERR_NOT_FOUND, "%s", "its evidence is no longer kept (evidence_retention)");
		return review_fail(rq, AERR_STATE, "%s", "its evidence was removed from the database");
	}
	if (pcrsel_parse(row->pcr_selection, &rq->sel) != 0)
		return review_fail(rq, AERR_PARSE, "PCR selection: %s", err_detail());
	if ((r = store_evidence_get(st, row->ak, &blob, &len)) != 0) {
		if (r != AERR_NOT_FOUND)
			return r;
		return review_fail(rq, r, "the AK: %s", err_detail());
	}
	r = tpmpub_parse(blob, len, &ak);
	free(blob);
	if (r != 0)
		return review_fail(rq, r, "the AK: %s", err_detail());
	if ((r = store_evidence_get(st, row->values, &blob, &len)) != 0) {
		if (r != AERR_NOT_FOUND)
			return r;
		return review_fail(rq, r, "the PCR values: %s", err_detail());
	}
	r = pcr_values_unpack(&rq->sel, blob, len, &values);
	free(blob);
	if (r != 0)
		return review_fail(rq, r, "the PCR values: %s", err_detail());
	if ((r = quote_verify(&ak, row->quote, row->quote_len, row->signature, row->signature_len, row->nonce,
			      row->nonce_len, &rq->sel, &values, &rq->q)) != 0) {
		return review_fail(rq, r, "the quote does not verify: %s: %s", err_str(r), err_detail());
	}
	if (row->has_counts && (rq->q.clock.resetCount != row->reset_count ||
				rq->q.clock.restartCount != row->restart_count || rq->q.clock.clock != row->clock))
		return review_fail(rq, AERR_COUNTERS, "%s", "the row's counters are not the quote's");
	if (row->event_log[0]) {
		if ((r = store_evidence_get(st, row->event_log, &rq->log, &rq->log_len)) != 0) {
			if (r != AERR_NOT_FOUND)
				return r;
			return review_fail(rq, r, "the boot event log: %s", err_detail());
		}
	}
	if (row->ima[0]) {
		struct ima_join j = { 0 };

		if ((r = store_evidence_ima_chunks(st, row->node_id, rq->q.clock.resetCount, row->id, ima_join_chunk,
						   &j)) != 0) {
			free(j.buf);
			return r;
		}
		rq->ima = j.buf;
		rq->ima_len = j.len;
		rq->has_ima = 1;
		if (j.has_gap)
			return review_fail(rq, AERR_NOT_FOUND, "IMA entries from %llu of boot %u are not kept",
					   (unsigned long long)j.gap, rq->q.clock.resetCount);
	}
	rq->verified = 1;
	return 0;
}

int review_load(struct store *st, const struct store_evidence *row, struct review_quote *rq)
{
	int r = review_load_evidence(st, row, rq);

	if (r != 0)
		review_free(rq); /* the store failed: nothing of it is kept */
	return r;
}

void review_free(struct review_quote *rq)
{
	free(rq->log);
	free(rq->ima);
	rq->log = rq->ima = NULL;
}

void review_named_ref(const struct verifier_config *cfg, const struct named_policy *p, struct judge_ref *ref)
{
	/* As session_set_reference applies a reference. */
	*ref = (struct judge_ref){ .pcrs = &cfg->pcrs, .eventlog_pcrs = cfg->eventlog_pcrs, .policy = &p->pcr,
				   .boot = p->boot, .ima = p->ima,
				   .require_event_log = p->require_event_log || p->boot,
				   .require_ima = p->require_ima || p->ima };
}

int review_config_ref(const struct verifier_config *cfg, struct review_config_ref *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (cfg->boot_policy && (r = bootpolicy_load(cfg->boot_policy, &out->boot)) != 0)
		return r;
	if (cfg->ima_policy && (r = imapolicy_load(cfg->ima_policy, &out->ima)) != 0) {
		review_config_ref_free(out);
		return r;
	}
	/* As trust_session_params gives the config file's. */
	out->ref = (struct judge_ref){ .pcrs = &cfg->pcrs, .eventlog_pcrs = cfg->eventlog_pcrs,
				       .policy = &cfg->policy, .boot = out->boot, .ima = out->ima,
				       .require_event_log = cfg->require_event_log || out->boot,
				       .require_ima = cfg->require_ima || out->ima };
	out->judges = cfg->policy.n || cfg->policy.nfirmware || out->boot || out->ima;
	return 0;
}

void review_config_ref_free(struct review_config_ref *c)
{
	bootpolicy_free(c->boot);
	imapolicy_free(c->ima);
	memset(c, 0, sizeof(*c));
}

int review_judge(const struct review_quote *rq, const struct judge_ref *ref, char *reason, size_t cap)
{
	int r;

	if (!rq->verified) {
		snprintf(reason, cap, "%s", rq->why);
		return rq->code ? rq->code : AERR_INTERNAL;
	}
	reason[0] = '\0';
	if (!pcrsel_equal(&rq->sel, ref->pcrs)) {
		snprintf(reason, cap, "quoted with selection %s, which the verifier no longer quotes",
			 rq->row.pcr_selection);
		return AERR_PCR_SELECTION;
	}
	r = judge_all(ref, &rq->q, rq->log, rq->log_len, rq->has_ima ? (rq->ima ? rq->ima : (const uint8_t *)"") : NULL,
		      rq->ima_len);
	if (r != 0)
		snprintf(reason, cap, "%s: %s", err_str(r), err_detail());
	return r;
}
