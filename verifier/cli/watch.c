/* verifier watch (cli/commands.h): the state changes of a running
 * verifier's nodes as they happen, one line each (or one JSON object per
 * line), through the Admin service's WatchEvents stream, until the
 * operator stops it (SIGINT, SIGTERM) or the verifier ends the stream. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/nodes.h"
#include "jsonout.h"

static volatile int watch_stop;

static void watch_on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

struct watch_out {
	int json;
	const char *server;
	const char *node;
};

static void watch_json(const Attest__V1__StateChange *e)
{
	printf("{\"seq\": %llu, \"event\": \"state_change\", \"node\": ", (unsigned long long)e->seq);
	jsonout_str(stdout, e->node);
	printf(", \"hostname\": ");
	jsonout_str(stdout, e->hostname);
	printf(", \"from\": ");
	jsonout_str(stdout, e->from_state);
	printf(", \"to\": ");
	jsonout_str(stdout, e->to_state);
	printf(", \"reason\": ");
	jsonout_str(stdout, e->reason);
	printf(", \"mode\": ");
	jsonout_str(stdout, e->mode);
	printf(", \"time_ms\": %lld, \"attestation_id\": ", (long long)e->time_ms);
	if (e->attestation > 0)
		printf("%lld}\n", (long long)e->attestation);
	else
		printf("null}\n");
}

static void watch_line(const Attest__V1__StateChange *e)
{
	char host[256], reason[2100], from[64], to[64];

	nodes_print_time(stdout, e->time_ms);
	printf("  %.16s  %s -> %s  %s  %s", e->node, nodes_shown(e->from_state, from, sizeof(from)),
	       nodes_shown(e->to_state, to, sizeof(to)), e->mode, nodes_shown(e->hostname, host, sizeof(host)));
	if (e->reason[0])
		printf("\n    %s", nodes_shown(e->reason, reason, sizeof(reason)));
	printf("\n");
}

static int watch_one(ProtobufCMessage *msg, void *arg)
{
	const struct watch_out *o = arg;

	if (!msg) {
		/* Said once the subscription is in place: what happens from
		 * now on is on the stream. */
		fprintf(stderr, "verifier: watching the state changes of %s at %s (^C stops)\n",
			o->node ? o->node : "every node", o->server);
		return 0;
	}
	if (o->json)
		watch_json((const Attest__V1__StateChange *)msg);
	else
		watch_line((const Attest__V1__StateChange *)msg);
	fflush(stdout);
	protobuf_c_message_free_unpacked(msg, NULL);
	return 0;
}

int watch_main(int argc, char **argv)
{
	struct sigaction sa;
	struct rpc_result res;
	struct nodes_args a;
	struct watch_out o;
	int rc;

	if ((rc = nodes_open(argc, argv, 2, CLI_WATCH_USAGE, &a)) != CLI_EXIT_PASS)
		return rc == NODES_HELPED ? CLI_EXIT_PASS : rc;
	o.json = a.json;
	o.node = a.node;
	o.server = source_server(a.src);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (source_watch(a.src, a.node, watch_one, &o, &watch_stop, &res) == 0) {
		rc = CLI_EXIT_PASS;
	} else {
		fprintf(stderr, "verifier: %s\n", res.message);
		rc = nodes_exit_of(res.status, 0);
	}
	nodes_close(&a);
	return rc;
}
