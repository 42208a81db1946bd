/* A quote's evidence after its signature verified: the counters and the
 * boot the AK's activation holds for, the age of a pre-issued nonce's quote
 * by the TPM clock, and where this session's IMA replay goes on from; the
 * PCR values, the boot event log and the IMA list are judged by
 * policy/judge.h, as offline reviews of stored evidence judge them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LOG_MODULE "session"
#include "eventlog.h"
#include "ima.h"
#include "log.h"
#include "policy/bootpolicy.h"
#include "policy/imapolicy.h"
#include "policy/judge.h"
#include "session/keycache.h"
#include "session/session_priv.h"
#include "tpmpub.h"

/* No verdict yet: the quote verified, but the caller asks for what next
 * (a fresh quote, or activation again) first, for the reason given, which
 * session_next_reason keeps. */
void session_ask_next(struct session *s, enum session_next *next, enum session_next what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->next_reason, sizeof(s->next_reason), fmt, ap);
	va_end(ap);
	*next = what;
}

/* A quote answering a pre-issued nonce may have been made any time since the
 * verdict that handed it out: the TPM's clock says when, measured from the
 * anchor (the last quote of this boot over a fresh nonce, made after that
 * nonce was issued). SESSION_NEXT_REQUOTE when it cannot show the quote is
 * as fresh as nonce_ttl, or the clock ran ahead of the verifier's
 * (TPM2_ClockSet forward, to quote now and answer later). */
void quotecheck_preissued(struct session *s, const TPMS_CLOCK_INFO *c, uint64_t now, enum session_next *next)
{
	const struct session_resume *r = &s->nonce.resume;
	uint64_t wall, tpm, ahead_max, age;

	if (c->resetCount != r->reset_count || c->restartCount != r->restart_count || c->clock < r->clock ||
	    c->clock < r->anchor_clock) {
		session_ask_next(s, next, SESSION_NEXT_REQUOTE, "the pre-issued nonce's quote is from another boot or power "
			 "cycle (resetCount %u -> %u, restartCount %u -> %u): a fresh nonce", r->reset_count,
			 c->resetCount, r->restart_count, c->restartCount);
		return;
	}
	if (c->safe != TPM2_YES) {
		session_ask_next(s, next, SESSION_NEXT_REQUOTE, "the quote's clockInfo.safe is NO (the TPM may have reported "
			 "a later clock before): its clock cannot date the quote, a fresh nonce");
		return;
	}
	wall = now >= r->anchor_ms ? now - r->anchor_ms : 0;
	tpm = c->clock - r->anchor_clock;
	/* A TPM's clock rate is within a fraction of a percent. */
	ahead_max = wall + 100 + wall / 1000;
	if (tpm > ahead_max) {
		LOG_WARN("TPM clock of EK %.16s... ran %llu ms ahead of the verifier's in %llu ms (TPM2_ClockSet?)",
			 s->ek_hash, (unsigned long long)(tpm - wall), (unsigned long long)wall);
		session_ask_next(s, next, SESSION_NEXT_REQUOTE, "the TPM clock advanced %llu ms in %llu ms since the last "
			 "fresh quote: it cannot date the quote for the pre-issued nonce, a fresh nonce",
			 (unsigned long long)tpm, (unsigned long long)wall);
		return;
	}
	/* The quote was made at least tpm after the anchor's nonce was issued. */
	age = wall > tpm ? wall - tpm : 0;
	if (age > s->p.nonce_ttl_ms)
		session_ask_next(s, next, SESSION_NEXT_REQUOTE, "the quote for the pre-issued nonce may have been made %llu ms "
			 "before it came (TPM clock +%llu ms in %llu ms since the last fresh quote), more than "
			 "nonce_ttl allows: a fresh nonce", (unsigned long long)age, (unsigned long long)tpm,
			 (unsigned long long)wall);
}

/* The reference this session judges by, as policy/judge.h takes it. */
static void quotecheck_ref(const struct session *s, struct judge_ref *ref)
{
	*ref = (struct judge_ref){ .pcrs = &s->p.pcrs, .eventlog_pcrs = s->p.eventlog_pcrs, .policy = s->p.policy,
				   .boot = s->p.boot_policy, .ima = s->p.ima_policy,
				   .require_event_log = s->p.require_event_log, .require_ima = s->p.require_ima };
}

int quotecheck_pcrs(struct session *s, const struct quoted_state *q)
{
	struct judge_ref ref;

	quotecheck_ref(s, &ref);
	return judge_pcrs(&ref, q);
}

/* The boot event log, when sent (or required), must reproduce every quoted
 * PCR of eventlog_pcrs in every quoted bank. Only after the quote verified:
 * the values compared with are the proven ones. */
int quotecheck_event_log(struct session *s, const struct session_quote *in, const struct quoted_state *q)
{
	struct judge_ref ref;

	quotecheck_ref(s, &ref);
	return judge_event_log(&ref, in->event_log, in->event_log_len, q);
}

/* The IMA list: entries from ima_first, continuing this session's replay of
 * this boot (entry 0 starts it afresh); replayed up to the prefix the quoted
 * PCR 10 covers. */
int quotecheck_ima(struct session *s, const struct session_quote *in, const struct quoted_state *q,
		   enum session_next *next)
{
	struct ima_replay_state st;
	struct judge_ref ref;
	size_t used = 0;
	int r;

	quotecheck_ref(s, &ref);
	if (!in->ima_len && !in->ima_first)
		return judge_no_ima(&ref);
	if (in->ima_first == 0 || s->ima_origin == IMA_NONE || s->ima_reset_count != q->clock.resetCount) {
		if (in->ima_first != 0 && s->ima_origin == IMA_FROM_STORE) {
			/* The offset came from an earlier session, of another boot:
			 * ask again, from entry 0. */
			s->ima_origin = IMA_NONE;
			session_ask_next(s, next, SESSION_NEXT_REQUOTE, "IMA list continues entry %llu of boot %u, the "
				 "quote is from boot %u", (unsigned long long)in->ima_first, s->ima_reset_count,
				 q->clock.resetCount);
			return 0;
		}
		if (in->ima_first != 0)
			return err_set(AERR_EVENTLOG, "IMA list starts at entry %llu, but this verifier holds none of "
				       "this boot", (unsigned long long)in->ima_first);
		if ((r = judge_ima_start(&st)) != 0)
			return r;
	} else {
		st = s->ima;
		if (in->ima_first != st.count)
			return err_set(AERR_EVENTLOG, "IMA list starts at entry %llu, expected %llu",
				       (unsigned long long)in->ima_first, (unsigned long long)st.count);
	}
	if ((r = judge_ima(&ref, &st, in->ima, in->ima_len, in->ima_first, q, &used)) != 0)
		return r;
	s->ima = st;
	s->ima_origin = IMA_REPLAYED;
	s->ima_new = used;
	s->ima_reset_count = q->clock.resetCount;
	return 0;
}

/* The quote's counters against the last ones known (this session's previous
 * quote, else the store's): a TPM never counts backwards, and its clock only
 * moves forward within one boot. Then the activation: a quote from another
 * boot than the AK was activated in asks for activation again (not a failure:
 * a reboot). */
int quotecheck_counters(struct session *s, const TPMS_CLOCK_INFO *c, enum session_next *next)
{
	int known = s->quoted_before || s->prior.has_counts;
	uint32_t reset = s->quoted_before ? s->last_reset_count : s->prior.reset_count;
	uint32_t restart = s->quoted_before ? s->last_restart_count : s->prior.restart_count;
	uint64_t clock = s->quoted_before ? s->last_clock : s->prior.clock;

	if (known && c->resetCount < reset)
		return err_set(AERR_COUNTERS, "resetCount went backwards (%u after %u): the TPM's state was rolled "
			       "back or replaced", c->resetCount, reset);
	if (known && c->resetCount == reset && c->restartCount < restart)
		return err_set(AERR_COUNTERS, "restartCount went backwards (%u after %u) within boot %u",
			       c->restartCount, restart, reset);
	if (known && c->resetCount == reset && c->clock < clock)
		return err_set(AERR_COUNTERS, "the TPM clock went backwards within boot %u (%llu ms after %llu ms)",
			       reset, (unsigned long long)c->clock, (unsigned long long)clock);
	if (s->binding.boot_known && c->resetCount != s->binding.boot) {
		session_ask_next(s, next, SESSION_NEXT_REACTIVATE, "resetCount %u, the AK was activated in boot %u: "
			 "activate it again", c->resetCount, s->binding.boot);
		return 0;
	}
	s->binding.boot_known = 1;
	s->binding.boot = c->resetCount;
	return 0;
}

/* The AK's EVP_PKEY: from the cache of AKs seen before, else built (and
 * kept there). The caller frees it. */
int quotecheck_ak_pkey(struct session *s, EVP_PKEY **out)
{
	uint8_t key[KEYCACHE_KEY_LEN];
	int r;

	*out = NULL;
	if (s->p.ak_keys) {
		if ((r = keycache_key(s->ak_name.name, s->ak_name.size, NULL, 0, NULL, 0, key)) != 0)
			return r;
		if (keycache_pkey(s->p.ak_keys, key, out))
			return 0;
	}
	if ((r = tpmpub_to_evp(&s->ak, out)) != 0)
		return r;
	if (s->p.ak_keys)
		keycache_add_pkey(s->p.ak_keys, key, *out);
	return 0;
}
