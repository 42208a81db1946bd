/* web/web.h: the HTTPS server (libmicrohttpd), its token check and routes. */
#define LOG_MODULE "web"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "admin/methods.h"
#include "file.h"
#include "log.h"
#include "metrics.h"
#include "web/web.h"

#define TOKEN_MIN 32
#define TOKEN_MAX 512

struct web_server {
	struct admin_ctx ctx;
	struct MHD_Daemon *d;
	char token[TOKEN_MAX + 1];
	char *cert, *key;            /* PEM, as MHD takes them */
	int port;
	char *jwks;                  /* the result keys' JWKS once read (they change only with a restart) */
	pthread_t thread;            /* ours, named attest-web, runs MHD */
	int running;
	atomic_int stop;
};

/* MHD driven by a thread of ours: it has a name (what the idle server
 * costs is measured per thread) and stops within a second. */
static void *web_thread(void *arg)
{
	struct web_server *w = arg;

	while (!atomic_load(&w->stop))
		(void)MHD_run_wait(w->d, 1000);
	return NULL;
}

/* Equal without telling how much of it matched. */
static int same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = (unsigned char)(la != lb);

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int authorized(struct web_server *w, struct MHD_Connection *c)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "attest_token");

	if (auth && !strncmp(auth, "Bearer ", 7) && same_secret(auth + 7, w->token))
		return 1;
	return cookie && same_secret(cookie, w->token);
}

static enum MHD_Result send_page(struct MHD_Connection *c, const char *path, struct web_page *p,
				 const char *location, const char *cookie)
{
	static const char empty[] = "";
	struct MHD_Response *res;
	enum MHD_Result r;
	char labels[96];

	if (p->body)
		res = MHD_create_response_from_buffer(p->len, p->body, MHD_RESPMEM_MUST_FREE);
	else
		res = MHD_create_response_from_buffer(0, (void *)empty, MHD_RESPMEM_PERSISTENT);
	if (!res) {
		free(p->body);
		return MHD_NO;
	}
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, p->type ? p->type : "text/plain");
	/* No script, no frames, nothing from elsewhere: a peer's string that
	 * escaped its escaping could still do nothing. */
	MHD_add_response_header(res, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(res, "Cache-Control", "no-store");
	if (location)
		MHD_add_response_header(res, MHD_HTTP_HEADER_LOCATION, location);
	if (cookie)
		MHD_add_response_header(res, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	r = MHD_queue_response(c, (unsigned)p->status, res);
	MHD_destroy_response(res);
	snprintf(labels, sizeof(labels), "path=\"%s\",status=\"%d\"", path, p->status);
	metrics_inc("attest_web_requests_total", labels, 1);
	return r;
}

static enum MHD_Result web_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct web_server *w = cls;
	struct web_page p = { 0 };

	(void)version;
	(void)upload;
	/* The first call of a request only announces it. */
	if (!*state) {
		*state = w;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* nothing here takes a body */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		web_page_error(405, "Method not allowed", "the dashboard is read-only", &p);
		return send_page(c, "other", &p, NULL, NULL);
	}
	if (!strcmp(url, "/login")) {
		const char *token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
		char cookie[TOKEN_MAX + 96];

		if (!token || !same_secret(token, w->token)) {
			LOG_WARN("dashboard: a login with a wrong token");
			web_page_error(403, "Forbidden", "not the operators' token", &p);
			return send_page(c, "/login", &p, NULL, NULL);
		}
		snprintf(cookie, sizeof(cookie), "attest_token=%s; Path=/; Max-Age=28800; HttpOnly; Secure; SameSite=Strict",
			 w->token);
		p.status = 303;
		return send_page(c, "/login", &p, "/", cookie);
	}
	/* Relying parties check results with these keys: they are public,
	 * and take no token. */
	if (!strcmp(url, "/.well-known/jwks.json")) {
		if (!w->jwks) {
			web_page_jwks(&w->ctx, &p);
			if (p.status != 200)
				return send_page(c, "/.well-known/jwks.json", &p, NULL, NULL);
			w->jwks = p.body; /* kept; each answer gets a copy */
		}
		p = (struct web_page){ .status = 200, .type = "application/jwk-set+json", .body = strdup(w->jwks) };
		p.len = p.body ? strlen(p.body) : 0;
		if (!p.body)
			web_page_error(500, "Out of memory", "the JWKS", &p);
		return send_page(c, "/.well-known/jwks.json", &p, NULL, NULL);
	}
	if (!authorized(w, c)) {
		web_page_error(401, "Unauthorized",
			       "the operators' token is needed: Authorization: Bearer TOKEN, or /login?token=TOKEN once",
			       &p);
		return send_page(c, "unauthorized", &p, NULL, NULL);
	}
	err_clear();
	if (!strcmp(url, "/")) {
		web_page_fleet(&w->ctx, &p);
		return send_page(c, "/", &p, NULL, NULL);
	}
	if (!strncmp(url, "/node/", 6)) {
		web_page_node(&w->ctx, url + 6, &p);
		return send_page(c, "/node", &p, NULL, NULL);
	}
	if (!strcmp(url, "/policies")) {
		web_page_policies(&w->ctx, &p);
		return send_page(c, "/policies", &p, NULL, NULL);
	}
	if (!strcmp(url, "/metrics")) {
		web_page_metrics(&w->ctx, &p);
		return send_page(c, "/metrics", &p, NULL, NULL);
	}
	web_page_error(404, "Not found", "no such page", &p);
	return send_page(c, "other", &p, NULL, NULL);
}

/* HOST:PORT (an IPv4 or IPv6 address) into *ss. */
static int web_address(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return err_set(AERR_CONFIG, "[web] listen %s: not HOST:PORT", listen);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535)
		return err_set(AERR_CONFIG, "[web] listen %s: not a port", listen);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return err_set(AERR_CONFIG, "[web] listen %s: not an IPv6 address", listen);
		*len = sizeof(*a6);
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		return err_set(AERR_CONFIG, "[web] listen %s: the host is an IP address (0.0.0.0, 127.0.0.1, [::])",
			       listen);
	*len = sizeof(*a4);
	return 0;
}

static int web_read(const char *what, const char *path, size_t cap, char **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = file_read_all(path, cap, &buf, &len)) != 0)
		return err_wrap(AERR_CONFIG, what);
	buf[len] = '\0';
	*out = (char *)buf;
	return 0;
}

static int web_token(struct web_server *w, const char *path)
{
	char *text = NULL;
	size_t len;
	int r;

	if ((r = web_read("[web] token_file", path, TOKEN_MAX + 2, &text)) != 0)
		return r;
	len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	r = 0;
	if (len < TOKEN_MIN || len > TOKEN_MAX)
		r = err_set(AERR_CONFIG, "[web] token_file %s: %zu characters; a token has %d to %d", path, len, TOKEN_MIN,
			    TOKEN_MAX);
	for (size_t i = 0; r == 0 && i < len; i++)
		if (text[i] <= 0x20 || text[i] >= 0x7f || text[i] == ';' || text[i] == ',' || text[i] == '"' ||
		    text[i] == '\\')
			r = err_set(AERR_CONFIG, "[web] token_file %s: a token is printable ASCII without spaces, quotes, "
				    "';', ',' or '\\' (openssl rand -hex 32)", path);
	if (r == 0)
		memcpy(w->token, text, len + 1);
	free(text);
	return r;
}

int web_server_start(const struct verifier_config *cfg, const char *config_path, struct web_server **out)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct web_server *w;
	const union MHD_DaemonInfo *info;
	int r;

	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return err_set(AERR_ALLOC, "web: out of memory");
	w->ctx.cfg = cfg;
	w->ctx.config_path = config_path;
	w->ctx.operator_id = "web";
	if ((r = web_address(cfg->web.listen, &ss, &sslen)) != 0 || (r = web_token(w, cfg->web.token_file)) != 0 ||
	    (r = web_read("[tls] cert", cfg->tls.cert, 1u << 20, &w->cert)) != 0 ||
	    (r = web_read("[tls] key", cfg->tls.key, 1u << 20, &w->key)) != 0 ||
	    (r = store_open(cfg->state_dir, &w->ctx.st)) != 0)
		goto fail;
	(void)sslen;
	w->d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_EPOLL, 0, NULL, NULL,
				web_handle, w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_KEY,
				w->key, MHD_OPTION_HTTPS_MEM_CERT, w->cert, MHD_OPTION_CONNECTION_LIMIT, 64u,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 15u,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64u << 10), MHD_OPTION_END);
	if (!w->d) {
		r = err_set(AERR_IO, "[web] listen %s: cannot serve HTTPS there (the address in use, or the TLS "
			    "certificate and key refused)", cfg->web.listen);
		goto fail;
	}
	info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
	w->port = info ? info->port : 0;
	atomic_init(&w->stop, 0);
	if (pthread_create(&w->thread, NULL, web_thread, w) != 0) {
		r = err_set(AERR_INTERNAL, "web: cannot start its thread");
		goto fail;
	}
	w->running = 1;
	pthread_setname_np(w->thread, "attest-web");
	LOG_INFO("serving the dashboard and /metrics on https://%s (port %d)", cfg->web.listen, w->port);
	*out = w;
	return 0;
fail:
	web_server_free(w);
	return r;
}

int web_server_port(const struct web_server *w)
{
	return w->port;
}

void web_server_free(struct web_server *w)
{
	if (!w)
		return;
	if (w->running) {
		atomic_store(&w->stop, 1);
		pthread_join(w->thread, NULL);
	}
	if (w->d)
		MHD_stop_daemon(w->d);
	store_close(w->ctx.st);
	if (w->key)
		memset(w->key, 0, strlen(w->key));
	free(w->jwks);
	free(w->key);
	free(w->cert);
	memset(w->token, 0, sizeof(w->token));
	free(w);
}
