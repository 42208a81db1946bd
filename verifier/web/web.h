/* The operators' web dashboard and the Prometheus metrics of a running
 * verifier: `verifier serve` binds [web] listen with HTTPS only (the [tls]
 * certificate and key; libmicrohttpd over GnuTLS) and answers a request
 * only with the operators' token ([web] token_file): as "Authorization:
 * Bearer TOKEN", or the cookie /login?token=TOKEN sets (HttpOnly, Secure,
 * SameSite=Strict), which is how a browser gets in. Read-only:
 *   /            the fleet: counts by state, failing nodes first with the
 *                failed check and reason, last seen, policy
 *   /node/HASH   one node: its record, reference and verdict history
 *   /policies    the named policies
 *   /metrics     the text exposition format (common/metrics.h), with the
 *                nodes by state
 * The pages are made by the Admin methods (admin/methods.h) on a store
 * connection of its own, on one thread (attest-web); every string a peer or an
 * operator gave is HTML-escaped, and the pages carry no script
 * (Content-Security-Policy default-src 'none'). */
#ifndef VERIFIER_WEB_WEB_H
#define VERIFIER_WEB_WEB_H

#include "config.h"
#include "err.h"

struct web_server;

/* Read the token and the TLS files, bind cfg->web.listen (port 0 picks
 * one) and serve on a thread until web_server_free. cfg is borrowed.
 * AERR_CONFIG / AERR_IO with detail. */
int web_server_start(const struct verifier_config *cfg, const char *config_path, struct web_server **out) ATTEST_WUR;
int web_server_port(const struct web_server *w);
void web_server_free(struct web_server *w);

/* pages.c: what server.c answers, as a malloc'd body and its type.
 * status: the HTTP status. */
struct admin_ctx;
struct web_page {
	int status;
	const char *type;             /* "text/html; charset=utf-8", ... */
	char *body;
	size_t len;
};
void web_page_fleet(struct admin_ctx *ctx, struct web_page *out);
void web_page_node(struct admin_ctx *ctx, const char *hash, struct web_page *out);
void web_page_policies(struct admin_ctx *ctx, struct web_page *out);
void web_page_metrics(struct admin_ctx *ctx, struct web_page *out);
/* The result keys' JWKS (public: no token needed), read from [results]
 * (the key may be made after the dashboard started: pull mode makes it at
 * its first round; the server keeps the first JWKS that could be read,
 * since the signers keep their keys until a restart too). */
void web_page_jwks(struct admin_ctx *ctx, struct web_page *out);
void web_page_error(int status, const char *title, const char *text, struct web_page *out);

#endif
