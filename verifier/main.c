/* verifier: command line. The commands live in cli/ (cli/commands.h); this
 * is their table, the help and the dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "array.h"
#include "crypto.h"
#include "err.h"
#include "harden.h"

static int help_main(int argc, char **argv);

static const struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
} subcommands[] = {
	{ "attest", attest_main, CLI_ATTEST_USAGE,
	  "attest one host (pull mode), print each step and the verdict; --rounds:\n"
	  "then quote again N-1 times, S seconds apart, with the activated AK" },
	{ "serve", serve_main, CLI_SERVE_USAGE,
	  "push mode: serve attest.v1.Verifier and attest every attestor that connects;\n"
	  "pull mode: keep attesting every target, every reattest_interval" },
	{ "eventlog", eventlog_main, CLI_EVENTLOG_USAGE,
	  "parse a TCG boot event log: its events and the PCRs it replays to\n"
	  "(YAML laid out like tpm2_eventlog's, or JSON)" },
	{ "list", nodes_list_main, CLI_LIST_USAGE,
	  "the nodes in the verifier's database (state_dir): state, last seen, verdicts" },
	{ "status", nodes_status_main, CLI_STATUS_USAGE,
	  "one node by EK hash prefix (8+ hex digits), name or hostname: state, why it failed,\n"
	  "when; without NODE, every node (exit 1 when any has failed)" },
	{ "enroll", nodes_enroll_main,
	  CLI_ENROLL_USAGE,
	  "enroll a node before it attests (required with enrollment = explicit): its EK\n"
	  "public (TPM2B_PUBLIC, as tpm2_createek -u writes it) or the SHA-256 of it; a node\n"
	  "the store has: change its name, groups (secrets select by name: and group:) or\n"
	  "the TLS identity or pull target it is bound to (a re-bind; \"\" unbinds, the\n"
	  "next proof binds)" },
	{ "remove", nodes_remove_main, CLI_REMOVE_USAGE,
	  "forget a node, its AK and its history; it has to enroll again" },
	{ "rejected", nodes_rejected_main, CLI_REJECTED_USAGE,
	  "peers refused before they proved any node's TPM, per TLS identity: how often,\n"
	  "when last, why, and the EK they presented" },
	{ "policy", policy_main, CLI_POLICY_USAGE,
	  "named policies in the database, each change a new version: what a node is judged\n"
	  "by (PCR values, a boot policy, an IMA policy, the logs required), assigned to a\n"
	  "node or a group; nodes without one are judged by the config file's; made from\n"
	  "golden logs, tried on the fleet's stored evidence (test), learned from a node's\n"
	  "quote (learn, proposal, approve)" },
	{ "group", group_main, CLI_GROUP_USAGE,
	  "groups by what a node's verified certificates say (ek_issuer, tpm_manufacturer,\n"
	  "tpm_model, platform_manufacturer, platform_model; GLOB patterns): nodes join them\n"
	  "at their next proof, and the policies and secrets of the group reach them" },
	{ "history", history_main, CLI_HISTORY_USAGE,
	  "a node's verdicts, newest 10,000, each with the policy that judged it and the\n"
	  "evidence it stands on (digests of the AK, boot log, IMA entries)" },
	{ "reattest", reattest_main, CLI_REATTEST_USAGE,
	  "pull mode: have the running verifier attest the node now (through [admin])" },
	{ "watch", watch_main, CLI_WATCH_USAGE,
	  "follow a running verifier (through [admin]): every change of a node's state as it\n"
	  "happens, what the hook is told, until ^C" },
	{ "jwks", jwks_main, CLI_JWKS_USAGE,
	  "the keys that sign the attestation results (EAR tokens), as a JWKS for relying\n"
	  "parties: the current key and the retired ones whose tokens may not have expired" },
	{ "verify-token", verify_token_main, CLI_VERIFY_TOKEN_USAGE,
	  "check an attestation result as a relying party would: its signature by a key of\n"
	  "the config's (or of a JWKS), its expiry, its status; exit 0 only when it affirms\n"
	  "the node" },
	{ "audit", audit_main, CLI_AUDIT_USAGE,
	  "re-verify a node's verdicts offline from the evidence in the database (quotes,\n"
	  "AKs, logs): report every verdict the evidence does not support" },
	{ "help", help_main, "help", "show this help" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: verifier <command> [options]   (installed as tpm-verifier; --version)\n\n"
		   "The commands on nodes, policies and groups ask a running verifier's Admin service\n"
		   "with --server HOST:PORT --ca FILE --cert FILE --key FILE (an operator's certificate;\n"
		   "or [admin] server, cert, key of --config), else read the config's state_dir.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < ARRAY_LEN(subcommands); i++) {
		const char *p = subcommands[i].summary, *nl;

		fprintf(f, "  %s\n", subcommands[i].usage);
		for (; (nl = strchr(p, '\n')); p = nl + 1)
			fprintf(f, "      %.*s\n", (int)(nl - p), p);
		fprintf(f, "      %s\n", p);
	}
	fprintf(f, "\nexit status: 0 pass, 1 attestation failed, 2 usage or configuration error,\n"
		   "3 verified but unjudged (no reference to judge the node's state by)\n");
}

static int help_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return CLI_EXIT_PASS;
}

int main(int argc, char **argv)
{
	/* serve and attest hold the TLS key, the secrets they deliver and the
	 * nonces; one rule for every command keeps none of them out by mistake. */
	if (harden_process() != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_FAIL;
	}
	crypto_process_init();
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return CLI_EXIT_PASS;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("tpm-verifier (tpm-attest) %s\n", ATTEST_VERSION);
		return CLI_EXIT_PASS;
	}
	for (size_t i = 0; i < ARRAY_LEN(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "verifier: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
