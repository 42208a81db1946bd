/* policy/judge.h: a verified quote's evidence against a reference. */
#include "eventlog.h"
#include "pcrsel.h"
#include "policy/judge.h"

/* The banks an IMA list is replayed in: those a quote may select PCR 10 in. */
static const TPM2_ALG_ID judge_ima_banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };

int judge_pcrs(const struct judge_ref *ref, const struct quoted_state *q)
{
	return ref->policy ? policy_check(ref->policy, q) : 0;
}

int judge_event_log(const struct judge_ref *ref, const uint8_t *buf, size_t len, const struct quoted_state *q)
{
	struct eventlog *log = NULL;
	int r;

	if (!len)
		return ref->require_event_log ? err_set(AERR_EVENTLOG, "no boot event log was sent (require_event_log)")
					      : 0;
	if ((r = eventlog_parse(buf, len, &log)) != 0)
		return err_wrap(r, "boot event log");
	r = eventlog_check_pcrs(log, &q->pcrs, ref->eventlog_pcrs & pcrsel_mask_any(ref->pcrs));
	if (r == 0 && ref->boot)
		r = bootpolicy_check(ref->boot, log, ref->pcrs, ref->eventlog_pcrs);
	eventlog_free(log);
	if (r != 0)
		return r == AERR_PCR_DIGEST ? err_wrap(AERR_EVENTLOG, "boot event log") : err_wrap(r, "boot event log");
	return 0;
}

int judge_no_ima(const struct judge_ref *ref)
{
	return ref->require_ima ? err_set(AERR_EVENTLOG, "no IMA list was sent (require_ima)") : 0;
}

int judge_ima(const struct judge_ref *ref, struct ima_replay_state *st, const uint8_t *buf, size_t len,
	      uint64_t first, const struct quoted_state *q, size_t *used)
{
	struct ima_replay_state next = *st;
	struct ima_list *list = NULL;
	int r;

	*used = 0;
	if ((r = ima_parse(buf, len, first, &list)) != 0 || (r = ima_list_verify(list, NULL)) != 0 ||
	    (r = ima_replay_to_quote(&next, list, &q->pcrs, 1u << IMA_PCR, used)) != 0) {
		r = err_wrap(r == AERR_PCR_DIGEST ? AERR_EVENTLOG : r, "IMA list");
		goto out;
	}
	/* Judged: only the entries the quote vouches for. */
	if (ref->ima && (r = imapolicy_check(ref->ima, list, *used)) != 0)
		goto out;
	*st = next;
out:
	ima_list_free(list);
	return r;
}

int judge_ima_start(struct ima_replay_state *st)
{
	return ima_replay_init(st, judge_ima_banks, 2, IMA_REPLAY_PER_BANK);
}

int judge_all(const struct judge_ref *ref, const struct quoted_state *q, const uint8_t *log, size_t log_len,
	      const uint8_t *ima, size_t ima_len)
{
	struct ima_replay_state st;
	size_t used;
	int r;

	if ((r = judge_pcrs(ref, q)) != 0 || (r = judge_event_log(ref, log, log_len, q)) != 0)
		return r;
	if (!ima && !ima_len)
		return judge_no_ima(ref);
	if ((r = judge_ima_start(&st)) != 0)
		return r;
	return judge_ima(ref, &st, ima, ima_len, 0, q, &used);
}
