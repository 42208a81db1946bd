/* verifier audit NODE [--since T] (cli/commands.h): the node's verdicts
 * re-verified offline from the evidence the store keeps (review/): each
 * quote's signature with the AK its row names, over the row's nonce, its
 * counters against the row's and the rows before it, its PCR values and
 * logs replayed, and a pass judged again by the policy version the row
 * names. Every verdict the evidence does not support is reported; exit 1
 * when there is one. Needs only the database and the config file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/nodes.h"
#include "cli/review.h"
#include "config.h"
#include "record/reference.h"
#include "review/review.h"

struct audit_nonce {
	int64_t id;                      /* 0: a free slot */
	size_t len;
	uint8_t b[64];
};

struct audit {
	struct store *st;
	const struct verifier_config *cfg;
	struct review_config_ref config_ref;
	struct named_policy *named;      /* the last named policy version judged by */
	uint64_t rows, passes, failures, no_quote, unsupported, notes, pruned;
	int has_prev;                    /* counters of the last verified quote */
	uint32_t prev_reset, prev_restart;
	uint64_t prev_clock;
	int64_t prev_id;
	struct audit_nonce *nonces;      /* of verified quotes so far, with their rows: an open-
					  * addressing set of nonce_cap (a power of 2, > 2 x rows) */
	size_t nonce_cap;
};

static void audit_report(struct audit *au, const struct store_evidence *row, const char *what, const char *why)
{
	const char *verdict = row->pass ? "pass" : row->unjudged ? "verified" : "fail";

	if (!strcmp(what, "UNSUPPORTED"))
		au->unsupported++;
	else
		au->notes++;
	printf("%s attestation %lld (", what, (long long)row->id);
	nodes_print_time(stdout, row->time_ms);
	printf(", %s, %s): %s\n", row->mode, verdict, why);
}

/* The reference row names, loaded: NULL with why when it cannot be. */
static const struct judge_ref *audit_ref(struct audit *au, const struct store_evidence *row, struct judge_ref *ref,
					 char *why, size_t cap)
{
	struct named_policy_limits lim = verifier_config_limits(au->cfg);

	if (!row->policy_name[0] || !strcmp(row->policy_name, "config"))
		return &au->config_ref.ref;
	if (!au->named || au->named->version != row->policy_version || strcmp(au->named->name, row->policy_name)) {
		named_policy_free(au->named);
		au->named = NULL;
		if (reference_load(au->st, row->policy_name, row->policy_version, &lim, &au->named) != 0) {
			snprintf(why, cap, "policy %s version %u: %s", row->policy_name, row->policy_version, err_detail());
			return NULL;
		}
	}
	review_named_ref(au->cfg, au->named, ref);
	return ref;
}

/* The nonce was not used by an earlier verified quote (a month of
 * verdicts every 10 s is 260,000 rows: a set, not a scan). */
static int audit_nonce_fresh(struct audit *au, const struct store_evidence *row, int64_t *earlier)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	if (!au->nonce_cap)
		return 1;
	for (size_t k = 0; k < row->nonce_len; k++)
		h = (h ^ row->nonce[k]) * 1099511628211ULL;
	for (i = (size_t)h & (au->nonce_cap - 1); au->nonces[i].id; i = (i + 1) & (au->nonce_cap - 1))
		if (au->nonces[i].len == row->nonce_len && !memcmp(au->nonces[i].b, row->nonce, row->nonce_len)) {
			*earlier = au->nonces[i].id;
			return 0;
		}
	au->nonces[i].id = row->id;
	au->nonces[i].len = row->nonce_len;
	memcpy(au->nonces[i].b, row->nonce, row->nonce_len);
	return 1;
}

static int audit_row(struct audit *au, const struct store_evidence *row)
{
	int granted = row->pass || row->unjudged;
	struct review_quote rq;
	struct judge_ref named_ref;
	const struct judge_ref *ref;
	char why[800], reason[700];
	int64_t earlier = 0;
	int r;

	au->rows++;
	if (!row->quote_len) {
		au->no_quote++;
		if (granted)
			audit_report(au, row, "UNSUPPORTED", "a pass without a quote");
		return 0;
	}
	if ((r = review_load(au->st, row, &rq)) != 0)
		return r;
	if (!rq.verified) {
		if (granted && row->pruned && rq.code == AERR_NOT_FOUND)
			au->pruned++; /* retention took what would show it: nothing to say either way */
		else if (granted)
			audit_report(au, row, "UNSUPPORTED", rq.why);
		else
			au->failures++;
		review_free(&rq);
		return 0;
	}
	/* The TPM never counts back, and its clock only moves on within a boot. */
	if (au->has_prev && (rq.q.clock.resetCount < au->prev_reset ||
			     (rq.q.clock.resetCount == au->prev_reset && (rq.q.clock.restartCount < au->prev_restart ||
									   rq.q.clock.clock < au->prev_clock)))) {
		snprintf(why, sizeof(why), "its counters (boot %u, restart %u, clock %llu) are before attestation %lld's",
			 rq.q.clock.resetCount, rq.q.clock.restartCount, (unsigned long long)rq.q.clock.clock,
			 (long long)au->prev_id);
		audit_report(au, row, granted ? "UNSUPPORTED" : "NOTE", why);
	}
	au->has_prev = 1;
	au->prev_reset = rq.q.clock.resetCount;
	au->prev_restart = rq.q.clock.restartCount;
	au->prev_clock = rq.q.clock.clock;
	au->prev_id = row->id;
	if (!audit_nonce_fresh(au, row, &earlier)) {
		snprintf(why, sizeof(why), "its nonce is attestation %lld's: a replayed quote", (long long)earlier);
		audit_report(au, row, granted ? "UNSUPPORTED" : "NOTE", why);
	}
	if (!(ref = audit_ref(au, row, &named_ref, why, sizeof(why)))) {
		audit_report(au, row, granted ? "UNSUPPORTED" : "NOTE", why);
	} else if (row->pass && ref == &au->config_ref.ref && !au->config_ref.judges) {
		/* A session with nothing to judge by says "verified", never pass. */
		audit_report(au, row, "UNSUPPORTED", "a pass, but the config file's policy judges nothing");
	} else if (review_judge(&rq, ref, reason, sizeof(reason)) != 0) {
		if (granted) {
			snprintf(why, sizeof(why), "the evidence fails %s %u: %s", row->policy_name[0] ? row->policy_name : "config",
				 row->policy_version, reason);
			audit_report(au, row, "UNSUPPORTED", why);
		} else {
			au->failures++;
		}
	} else if (granted) {
		au->passes++;
	} else {
		au->failures++;
		/* Not all a session checks is kept: a nonce's age, the counters
		 * against the node's record, a broken reference. */
		snprintf(why, sizeof(why), "the evidence passes %s %u; the failure (%s) was of a check the store "
			 "does not keep", row->policy_name[0] ? row->policy_name : "config", row->policy_version, row->reason);
		audit_report(au, row, "NOTE", why);
	}
	review_free(&rq);
	return 0;
}

int audit_main(int argc, char **argv)
{
	struct nodes_args a;
	struct store *st = NULL;
	struct store_evidence *rows = NULL;
	struct store_node node;
	struct audit au;
	size_t n = 0;
	int rc, r = 0;

	if ((rc = nodes_open_local(argc, argv, 1, CLI_AUDIT_USAGE, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	/* The database itself, offline: what no running verifier is asked. */
	if (!a.cfg->state_dir || store_open(a.cfg->state_dir, &st) != 0) {
		if (!a.cfg->state_dir)
			fprintf(stderr, "verifier: %s sets no state_dir: there is no database\n", a.config);
		else
			fprintf(stderr, "verifier: %s\n", err_detail());
		nodes_close(&a);
		return CLI_EXIT_FAIL;
	}
	memset(&au, 0, sizeof(au));
	au.st = st;
	au.cfg = a.cfg;
	if (store_node_get(st, a.node, STORE_KEY_OPERATOR, &node) != 0 ||
	    review_config_ref(a.cfg, &au.config_ref) != 0 ||
	    store_evidence_list(st, node.id, a.since_ms, 0, &rows, &n) != 0) {
		fprintf(stderr, "verifier: %s: %s\n", a.node, err_detail());
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	for (au.nonce_cap = 16; au.nonce_cap <= 2 * n; au.nonce_cap *= 2)
		;
	if (!(au.nonces = calloc(au.nonce_cap, sizeof(*au.nonces)))) {
		fprintf(stderr, "verifier: %s: out of memory for %zu attestations\n", a.node, n);
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	printf("audit of node %s (EK %s): %zu attestations", review_node_label(&node), node.ek_hash, n);
	if (a.since_ms) {
		printf(" since ");
		nodes_print_time(stdout, a.since_ms);
	}
	printf("; verdicts of the config file's policy are judged by it as it is now\n");
	for (size_t i = 0; i < n && r == 0; i++)
		r = audit_row(&au, &rows[i]);
	if (r != 0) {
		fprintf(stderr, "verifier: %s: %s\n", a.node, err_detail());
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	printf("%llu attestations: %llu passes supported by their evidence, %llu failures, %llu without a quote, "
	       "%llu passes whose evidence retention removed, %llu unsupported\n", (unsigned long long)au.rows,
	       (unsigned long long)au.passes, (unsigned long long)au.failures, (unsigned long long)au.no_quote,
	       (unsigned long long)au.pruned, (unsigned long long)au.unsupported);
	rc = au.unsupported ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
out:
	free(rows);
	free(au.nonces);
	named_policy_free(au.named);
	review_config_ref_free(&au.config_ref);
	store_close(st);
	nodes_close(&a);
	return rc;
}
