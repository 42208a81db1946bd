/* web/web.h: the pages, made by the Admin methods. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/methods.h"
#include "metrics.h"
#include "results/issuer.h"
#include "web/web.h"

#define HTML "text/html; charset=utf-8"
#define FLEET_MAX 1000 /* nodes of a state the fleet page lists */

/* s for HTML text and attribute values: the five specials as entities,
 * control and non-ASCII bytes as \xNN (a peer's claim may hold anything). */
static void esc(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(f, "\\x%02x", *p);
			else
				fputc(*p, f);
		}
	}
}

static void when(FILE *f, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (!ms) {
		fputs("never", f);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
	fputs(buf, f);
}

static void head(FILE *f, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
	esc(f, title);
	fputs(" - tpm-attest</title><style>"
	      "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
	      "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
	      "th{background:#eee}.failed{color:#b00;font-weight:bold}.passing{color:#070}"
	      ".verified,.enrolled,.attesting{color:#850}code{font-size:90%}nav a{margin-right:1em}"
	      "</style></head><body><nav><a href=\"/\">Fleet</a><a href=\"/policies\">Policies</a>"
	      "<a href=\"/metrics\">Metrics</a></nav><h1>", f);
	esc(f, title);
	fputs("</h1>\n", f);
}

static void finish(FILE *f, char **buf, size_t *len, struct web_page *out)
{
	fputs("</body></html>\n", f);
	if (fclose(f) != 0) {
		free(*buf);
		web_page_error(500, "Out of memory", "the page did not fit", out);
		return;
	}
	out->status = 200;
	out->type = HTML;
	out->body = *buf;
	out->len = *len;
}

void web_page_error(int status, const char *title, const char *text, struct web_page *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	memset(out, 0, sizeof(*out));
	out->status = status;
	out->type = HTML;
	if (!f)
		return;
	head(f, title);
	fputs("<p>", f);
	esc(f, text);
	fputs("</p>\n</body></html>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return;
	}
	out->body = buf;
	out->len = len;
}

/* An Admin method's answer, or an error page and NULL. */
static ProtobufCMessage *call(struct admin_ctx *ctx, const char *method, const ProtobufCMessage *in,
			      struct web_page *err)
{
	const ProtobufCServiceDescriptor *svc = &attest__v1__admin__descriptor;
	const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(svc, method);
	ProtobufCMessage *out = NULL;
	int r;

	if ((r = admin_call_local(ctx, (unsigned)(m - svc->methods), in, &out)) != 0) {
		enum rpc_status st = admin_status(r);

		web_page_error(st == RPC_NOT_FOUND ? 404 : st == RPC_INVALID_ARGUMENT ? 400 : 503,
			       st == RPC_NOT_FOUND ? "Not found" : "Cannot answer", err_detail(), err);
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------ fleet */

/* A row of the fleet's table; with_check: the failed step of its last
 * verdict, read from its history. */
static void fleet_row(FILE *f, struct admin_ctx *ctx, const Attest__V1__Node *n, int with_check)
{
	char policy[STORE_NAME_MAX + 1] = "", via[STORE_NAME_MAX + 8];
	uint32_t version = 0;

	fputs("<tr class=\"node\"><td><a href=\"/node/", f);
	esc(f, n->ek_hash);
	fputs("\"><code>", f);
	fprintf(f, "%.16s", n->ek_hash);
	fputs("</code></a></td><td class=\"label\">", f);
	esc(f, n->name[0] ? n->name : n->hostname);
	fprintf(f, "</td><td class=\"%s state\">%s</td><td class=\"check\">", n->state, n->state);
	if (with_check) {
		Attest__V1__HistoryRequest hr = ATTEST__V1__HISTORY_REQUEST__INIT;
		Attest__V1__HistoryResponse *h = NULL;
		struct web_page ignored;

		hr.key = n->ek_hash;
		hr.max = 1;
		if ((h = (Attest__V1__HistoryResponse *)call(ctx, "GetHistory", &hr.base, &ignored))) {
			if (h->n_verdicts)
				esc(f, h->verdicts[0]->step);
			protobuf_c_message_free_unpacked(&h->base, NULL);
		} else {
			free(ignored.body);
		}
	}
	fputs("</td><td class=\"reason\">", f);
	esc(f, n->reason);
	fputs("</td><td>", f);
	when(f, n->last_seen_ms);
	fputs("</td><td>", f);
	{
		struct store_node sn;

		if (store_node_get(ctx->st, n->ek_hash, STORE_KEY_OPERATOR, &sn) == 0 &&
		    store_policy_of(ctx->st, sn.id, policy, via, &version) == 0 && policy[0]) {
			esc(f, policy);
			fprintf(f, " v%u", version);
		} else {
			fputs("config file", f);
		}
	}
	fputs("</td></tr>\n", f);
}

/* Up to FLEET_MAX nodes of one state (failed) or of all but it. */
static size_t fleet_table(FILE *f, struct admin_ctx *ctx, int failed, size_t *more)
{
	Attest__V1__ListNodesRequest req = ATTEST__V1__LIST_NODES_REQUEST__INIT;
	char token[32] = "";
	size_t shown = 0;

	*more = 0;
	fputs("<table><tr><th>Node</th><th>Name or hostname</th><th>State</th><th>Failed check</th><th>Reason</th>"
	      "<th>Last seen</th><th>Policy</th></tr>\n", f);
	req.state = failed ? "failed" : "";
	req.page_size = 1000;
	do {
		Attest__V1__ListNodesResponse *page;
		struct web_page ignored;

		req.page_token = token;
		if (!(page = (Attest__V1__ListNodesResponse *)call(ctx, "ListNodes", &req.base, &ignored))) {
			free(ignored.body);
			break;
		}
		for (size_t i = 0; i < page->n_nodes; i++) {
			if (!failed && !strcmp(page->nodes[i]->state, "failed"))
				continue;
			if (shown < FLEET_MAX) {
				fleet_row(f, ctx, page->nodes[i], failed);
				shown++;
			} else {
				(*more)++;
			}
		}
		snprintf(token, sizeof(token), "%s", page->next_page_token);
		protobuf_c_message_free_unpacked(&page->base, NULL);
	} while (token[0] && shown < FLEET_MAX);
	fputs("</table>\n", f);
	return shown;
}

void web_page_fleet(struct admin_ctx *ctx, struct web_page *out)
{
	uint64_t counts[STORE_NSTATES], total = 0;
	char *buf = NULL;
	size_t len = 0, more;
	FILE *f;

	if (store_node_states(ctx->st, counts) != 0) {
		web_page_error(503, "Cannot answer", err_detail(), out);
		return;
	}
	if (!(f = open_memstream(&buf, &len))) {
		web_page_error(500, "Out of memory", "", out);
		return;
	}
	head(f, "Fleet");
	fputs("<table id=\"counts\"><tr>", f);
	for (int s = 0; s < STORE_NSTATES; s++) {
		fprintf(f, "<th>%s</th>", store_state_name((enum store_state)s));
		total += counts[s];
	}
	fputs("<th>all</th></tr><tr>", f);
	for (int s = 0; s < STORE_NSTATES; s++)
		fprintf(f, "<td class=\"%s\" id=\"count-%s\">%llu</td>", store_state_name((enum store_state)s), store_state_name((enum store_state)s), (unsigned long long)counts[s]);
	fprintf(f, "<td id=\"count-all\">%llu</td></tr></table>\n", (unsigned long long)total);
	fputs("<h2>Failing</h2>\n", f);
	if (!counts[STORE_FAILED])
		fputs("<p>No node is failing.</p>\n", f);
	else if (fleet_table(f, ctx, 1, &more), more)
		fprintf(f, "<p>and %zu more</p>\n", more);
	fputs("<h2>Others</h2>\n", f);
	if (fleet_table(f, ctx, 0, &more), more)
		fprintf(f, "<p>and more: the first %d are shown</p>\n", FLEET_MAX);
	finish(f, &buf, &len, out);
}

/* ------------------------------------------------------------ one node */

static void node_verdicts(FILE *f, struct admin_ctx *ctx, const char *hash)
{
	Attest__V1__HistoryRequest req = ATTEST__V1__HISTORY_REQUEST__INIT;
	Attest__V1__HistoryResponse *h;
	struct web_page ignored;

	req.key = (char *)hash;
	req.max = 50;
	if (!(h = (Attest__V1__HistoryResponse *)call(ctx, "GetHistory", &req.base, &ignored))) {
		free(ignored.body);
		return;
	}
	fprintf(f, "<h2>Verdicts</h2>\n<table id=\"verdicts\"><tr><th>When</th><th>Mode</th><th>Result</th>"
		   "<th>Check</th><th>Reason</th><th>Policy</th><th>Boot</th></tr>\n");
	/* Newest first. */
	for (size_t k = h->n_verdicts; k-- > 0;) {
		const Attest__V1__VerdictRecord *v = h->verdicts[k];
		const char *result = v->pass ? "pass" : v->unjudged ? "unjudged" : "fail";

		fputs("<tr><td>", f);
		when(f, v->time_ms);
		fputs("</td><td>", f);
		esc(f, v->mode);
		fprintf(f, "</td><td class=\"%s\">%s</td><td>", v->pass ? "passing" : v->unjudged ? "verified" : "failed",
			result);
		if (!v->pass)
			esc(f, v->step);
		fputs("</td><td>", f);
		esc(f, v->reason);
		fputs("</td><td>", f);
		esc(f, v->policy_name);
		if (v->policy_version)
			fprintf(f, " v%u", v->policy_version);
		fputs("</td><td>", f);
		if (v->has_counts)
			fprintf(f, "%u/%u", v->reset_count, v->restart_count);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	protobuf_c_message_free_unpacked(&h->base, NULL);
}

void web_page_node(struct admin_ctx *ctx, const char *hash, struct web_page *out)
{
	Attest__V1__NodeRef req = ATTEST__V1__NODE_REF__INIT;
	Attest__V1__NodeStatus *st;
	const Attest__V1__Node *n;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	/* A page names a node by its whole EK hash only. */
	if (strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64) {
		web_page_error(404, "Not found", "a node is named by the 64 hex digits of its EK hash", out);
		return;
	}
	req.key = (char *)hash;
	if (!(st = (Attest__V1__NodeStatus *)call(ctx, "GetNode", &req.base, out)))
		return;
	if (!(f = open_memstream(&buf, &len))) {
		protobuf_c_message_free_unpacked(&st->base, NULL);
		web_page_error(500, "Out of memory", "", out);
		return;
	}
	n = st->node;
	head(f, n->name[0] ? n->name : n->hostname[0] ? n->hostname : "Node");
	fputs("<table id=\"node\"><tr><th>EK hash</th><td><code>", f);
	esc(f, n->ek_hash);
	fputs("</code></td></tr><tr><th>Name</th><td>", f);
	esc(f, n->name);
	fputs("</td></tr><tr><th>Hostname (its claim)</th><td class=\"hostname\">", f);
	esc(f, n->hostname);
	fputs("</td></tr><tr><th>TLS identity</th><td>", f);
	esc(f, n->identity);
	fprintf(f, "</td></tr><tr><th>State</th><td class=\"%s state\">%s</td></tr><tr><th>Why</th><td class=\"reason\">",
		n->state, n->state);
	esc(f, n->reason);
	fputs("</td></tr><tr><th>Groups</th><td>", f);
	for (size_t i = 0; i < n->n_groups; i++) {
		fputs(i ? ", " : "", f);
		esc(f, n->groups[i]);
	}
	fputs("</td></tr><tr><th>Last seen</th><td>", f);
	when(f, n->last_seen_ms);
	fputs("</td></tr><tr><th>Last pass</th><td>", f);
	when(f, st->last_pass_ms);
	fputs("</td></tr><tr><th>Last failure</th><td>", f);
	when(f, st->last_fail_ms);
	fputs("</td></tr><tr><th>Judged by</th><td>", f);
	if (st->reference->name[0]) {
		esc(f, st->reference->name);
		fprintf(f, " version %u (by ", st->reference->version);
		esc(f, st->reference->via);
		fputs(")", f);
	} else {
		fputs("the config file's policy", f);
	}
	if (st->reference->broken[0]) {
		fputs(": cannot be applied: ", f);
		esc(f, st->reference->broken);
	}
	fputs("</td></tr>\n", f);
	for (size_t i = 0; i < st->n_facts; i++) {
		fputs("<tr><th>", f);
		esc(f, st->facts[i]->name);
		fputs("</th><td>", f);
		esc(f, st->facts[i]->value);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	node_verdicts(f, ctx, n->ek_hash);
	protobuf_c_message_free_unpacked(&st->base, NULL);
	finish(f, &buf, &len, out);
}

/* ------------------------------------------------------------ policies */

void web_page_policies(struct admin_ctx *ctx, struct web_page *out)
{
	Attest__V1__AdminEmpty req = ATTEST__V1__ADMIN_EMPTY__INIT;
	Attest__V1__PolicyList *l;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!(l = (Attest__V1__PolicyList *)call(ctx, "ListPolicies", &req.base, out)))
		return;
	if (!(f = open_memstream(&buf, &len))) {
		protobuf_c_message_free_unpacked(&l->base, NULL);
		web_page_error(500, "Out of memory", "", out);
		return;
	}
	head(f, "Policies");
	if (!l->n_policies)
		fputs("<p>No named policies: every node is judged by the config file's.</p>\n", f);
	else
		fputs("<table id=\"policies\"><tr><th>Policy</th><th>Version</th><th>Created</th><th>Nodes</th>"
		      "<th>Groups</th></tr>\n", f);
	for (size_t i = 0; i < l->n_policies; i++) {
		fputs("<tr><td>", f);
		esc(f, l->policies[i]->name);
		fprintf(f, "</td><td>%u</td><td>", l->policies[i]->version);
		when(f, l->policies[i]->created_ms);
		fprintf(f, "</td><td>%llu</td><td>%llu</td></tr>\n", (unsigned long long)l->policies[i]->nodes,
			(unsigned long long)l->policies[i]->groups);
	}
	if (l->n_policies)
		fputs("</table>\n", f);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	finish(f, &buf, &len, out);
}

/* ------------------------------------------------------------ metrics */

void web_page_metrics(struct admin_ctx *ctx, struct web_page *out)
{
	uint64_t counts[STORE_NSTATES];
	char extra[1024];
	size_t k;

	if (store_node_states(ctx->st, counts) != 0) {
		web_page_error(503, "Cannot answer", err_detail(), out);
		return;
	}
	k = (size_t)snprintf(extra, sizeof(extra), "# HELP attest_nodes Nodes in the store, by state.\n"
						   "# TYPE attest_nodes gauge\n");
	for (int s = 0; s < STORE_NSTATES && k < sizeof(extra); s++)
		k += (size_t)snprintf(extra + k, sizeof(extra) - k, "attest_nodes{state=\"%s\"} %llu\n", store_state_name((enum store_state)s),
				      (unsigned long long)counts[s]);
	memset(out, 0, sizeof(*out));
	if (metrics_format(extra, &out->body, &out->len) != 0) {
		web_page_error(500, "Out of memory", err_detail(), out);
		return;
	}
	out->status = 200;
	out->type = "text/plain; version=0.0.4; charset=utf-8";
}

void web_page_jwks(struct admin_ctx *ctx, struct web_page *out)
{
	struct result_issuer *is = NULL;

	memset(out, 0, sizeof(*out));
	if (!ctx->cfg->results.sign) {
		web_page_error(404, "Not found", "this verifier signs no attestation results", out);
		return;
	}
	if (result_issuer_open(ctx->cfg, 0, &is) != 0) {
		web_page_error(503, "No result keys", err_detail(), out);
		return;
	}
	if (result_jwks(result_issuer_keys(is), &out->body) != 0) {
		web_page_error(500, "Out of memory", err_detail(), out);
	} else {
		out->len = strlen(out->body);
		out->status = 200;
		out->type = "application/jwk-set+json";
	}
	result_issuer_free(is);
}
