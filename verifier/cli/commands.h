/* The verifier's commands, one <name>_main each (main.c dispatches them by
 * name). Each returns the process exit status below. */
#ifndef VERIFIER_CLI_COMMANDS_H
#define VERIFIER_CLI_COMMANDS_H

#define CLI_EXIT_PASS 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_UNJUDGED 3 /* verified, but no reference to judge the node's state by */

/* Each command's usage line: main.c's help and the command's own --help. */
#define CLI_ATTEST_USAGE "attest --config FILE [--rounds N [--interval S]] HOST:PORT"
#define CLI_SERVE_USAGE "serve --config FILE"
#define CLI_EVENTLOG_USAGE "eventlog [--json] FILE"
#define CLI_LIST_USAGE "list --config FILE [--json]"
#define CLI_STATUS_USAGE "status --config FILE [--json] [NODE]"
#define CLI_ENROLL_USAGE                                                        \
	"enroll --config FILE [--name NAME] [--identity TLS_ID] [--target HOST:PORT]\n" \
	"         [--group G]... [--no-groups] (--ek-pub FILE | EK_HASH | NODE)"
#define CLI_REMOVE_USAGE "remove --config FILE NODE"
#define CLI_REJECTED_USAGE "rejected --config FILE [--json | --clear]"
#define CLI_POLICY_USAGE                                                              \
	"policy create|update --config FILE NAME --file POLICY.json\n"                   \
	"         policy show --config FILE [--version N] [--json] NAME\n"                 \
	"         policy list --config FILE [--json]\n"                                    \
	"         policy delete --config FILE NAME\n"                                      \
	"         policy assign --config FILE NAME (--node NODE | --group G)\n"            \
	"         policy unassign --config FILE (--node NODE | --group G)\n"               \
	"         policy from-eventlog --config FILE LOG\n"                                \
	"         policy from-ima --config FILE [--exclude REGEX]... (LIST | --rootfs DIR)\n" \
	"         policy check --config FILE --file POLICY.json [LOG] [--ima LIST]\n"     \
	"         policy test --config FILE [--json] CANDIDATE.json [--group G | NODE...]\n" \
	"         policy learn|proposal --config FILE NODE\n"                             \
	"         policy approve --config FILE [--name NAME] NODE"

#define CLI_GROUP_USAGE                                                          \
	"group rule-add --config FILE G FACT=GLOB...\n"                              \
	"         group rule-remove --config FILE RULE\n"                              \
	"         group rules --config FILE [--json]"

/* group.c: groups by what nodes' verified certificates say. */
int group_main(int argc, char **argv);

#define CLI_HISTORY_USAGE "history --config FILE [--json] [--since T] NODE"
#define CLI_REATTEST_USAGE "reattest --config FILE NODE"

/* history.c: a node's verdicts and evidence; an attestation now (pull). */
int history_main(int argc, char **argv);
int reattest_main(int argc, char **argv);

#define CLI_WATCH_USAGE "watch --config FILE [--json] [NODE]"

/* watch.c: a running verifier's state changes as they happen. */
int watch_main(int argc, char **argv);

#define CLI_JWKS_USAGE "jwks --config FILE"
#define CLI_VERIFY_TOKEN_USAGE "verify-token (--config FILE | --jwks FILE) [--json] (TOKEN | -)"

/* results.c: the result keys as a JWKS; a result token checked offline. */
int jwks_main(int argc, char **argv);
int verify_token_main(int argc, char **argv);

#define CLI_AUDIT_USAGE "audit --config FILE [--since T] NODE"

/* audit.c: a node's verdicts re-verified from the stored evidence. */
int audit_main(int argc, char **argv);

/* policy.c: named policies in the store (policy/named.h) and their assignment. */
int policy_main(int argc, char **argv);
/* attest.c: one pull-mode check of a target, each step and the verdict. */
int attest_main(int argc, char **argv);
/* serve.c: the push service, or the pull serve loop over `targets`. */
int serve_main(int argc, char **argv);
/* files.c: the TLS key and the secrets' key files of a verifier about to
 * serve or attest pass common/keyfile.h's rule, and the files it trusts
 * (the CA, ek_roots, platform_ca, policies, the hook, the state directory
 * and those above) common/filerule.h's; the configuration file, before it
 * is read (0, or prints why not). */
struct verifier_config;
int cli_check_config_file(const char *config);
int cli_check_files(const struct verifier_config *cfg);
/* eventlog.c: a TCG boot event log as YAML (tpm2_eventlog's layout) or JSON. */
int eventlog_main(int argc, char **argv);

/* status.c (list, status) and nodes.c (enroll, remove, rejected): the
 * operator's view of the nodes in the database named by a config's
 * state_dir, and of the peers refused before they proved any node. 0 done
 * (status: the node passes), 1 failed (status: a node has failed, or an
 * EK that is no node failed its endorsement), 2 usage or configuration
 * error. What peers claimed is escaped for the terminal (strsafe) or JSON. */
int nodes_list_main(int argc, char **argv);
int nodes_status_main(int argc, char **argv);
int nodes_enroll_main(int argc, char **argv);
int nodes_remove_main(int argc, char **argv);
int nodes_rejected_main(int argc, char **argv);

#endif
