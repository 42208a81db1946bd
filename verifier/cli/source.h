/* Where the operator's commands (list, status, enroll, remove, rejected,
 * policy, group) go: the Admin service of a running verifier (--server
 * HOST:PORT, else [admin] server of the config), or, without one, the same
 * methods (admin/methods.h) run in this process over the database of the
 * config's state_dir. Either way a command sends a request and prints the
 * answer, so its output is the same whichever way it went. */
#ifndef VERIFIER_CLI_SOURCE_H
#define VERIFIER_CLI_SOURCE_H

#include <protobuf-c/protobuf-c.h>

#include "admin.pb-c.h"
#include "rpc.h"

struct verifier_config;
struct store;
struct source;

struct source_opts {
	const char *server;           /* --server HOST:PORT (NULL: cfg's [admin] server) */
	const char *ca, *cert, *key;  /* --ca, --cert, --key (NULL: cfg's [tls] ca, [admin] cert/key,
				       * else [tls] cert/key) */
};

/* cfg may be NULL when o->server and the TLS files are given. 0, or prints
 * why not and returns -1. */
int source_open(const struct verifier_config *cfg, const char *config_path, const struct source_opts *o,
		struct source **out);
void source_close(struct source *s);

/* "HOST:PORT" when the commands go to a running verifier, NULL when they
 * run here. */
const char *source_server(const struct source *s);

/* The database itself, for what only it can do (audit); NULL when remote. */
struct store *source_store(struct source *s);

/* Admin method `method` ("GetNode") with in: 0 and *out (free with
 * source_done), or the status with res->message saying why (a failure of
 * the method, or of the call). */
int source_call(struct source *s, const char *method, const ProtobufCMessage *in, ProtobufCMessage **out,
		struct rpc_result *res);
void source_done(ProtobufCMessage *out);

/* WatchEvents of a running verifier (only remote: a local store has no
 * stream of changes): fn as rpc_call_stream calls it, each message
 * scrubbed as source_call's answers, until *stop, the reader stops or the
 * verifier ends the stream. 0 when this side stopped it, else the status
 * with res->message saying why. */
int source_watch(struct source *s, const char *node, rpc_stream_fn fn, void *arg, volatile const int *stop,
		 struct rpc_result *res);

/* source_call, printing "verifier: <why>" on a failure: 0, or the status. */
int source_call_or_say(struct source *s, const char *method, const ProtobufCMessage *in, ProtobufCMessage **out);

#endif
