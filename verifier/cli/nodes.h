/* What the commands on the nodes (nodes.c: enroll, remove, rejected;
 * status.c: list, status; policy.c: policy) share: their options, the config and store they
 * open, and how they show times and what peers claimed. */
#ifndef VERIFIER_CLI_NODES_H
#define VERIFIER_CLI_NODES_H

#include <stdint.h>
#include <stdio.h>

#include "cli/source.h"
#include "pull/target.h"
#include "store/store.h"

struct verifier_config;

/* The options of these commands; each takes what it needs. */
struct nodes_args {
	const char *node;             /* the positional argument (the first) */
	size_t nmore;                 /* the others (want_node 3) */
	char **more;
	int64_t since_ms;             /* audit --since (0: all) */
	int json;
	int clear;                    /* rejected --clear */
	const char *file;             /* policy create/update --file */
	const char *node_opt;         /* policy assign/unassign --node */
	uint32_t version;             /* policy show --version (0: latest) */
	int rootfs;                   /* policy from-ima --rootfs: the argument is a directory */
	const char *ima;              /* policy check --ima LIST */
	size_t nexcludes;             /* policy from-ima --exclude REGEX... */
	const char *excludes[32];
	const char *name;
	const char *identity;
	const char *target;           /* in its one spelling (target_canonical), into target_buf */
	char target_buf[TARGET_MAX];
	const char *ek_pub;
	size_t ngroups;
	int set_groups;
	const char *groups[STORE_GROUPS_MAX];
	const char *config;           /* the --config path (NULL: none, with --server) */
	struct verifier_config *cfg;  /* loaded from it (nodes_close frees it); NULL without one */
	struct source_opts so;        /* --server, --ca, --cert, --key */
	struct source *src;           /* where the commands go (cli/source.h) */
};

/* What nodes_open returns after --help (the usage printed): not an exit
 * status, the command returns CLI_EXIT_PASS. */
#define NODES_HELPED (-1)

/* --config FILE | --server HOST:PORT [options] [NODE]: the command line
 * (usage: the command's, printed to stdout for --help and to stderr when
 * the line is not one), then the config and where the commands go
 * (a->src: a running verifier's Admin service, or the store of the
 * config's state_dir). want_node: 0 none, 1 required, 2 optional, 3 one
 * or more. CLI_EXIT_PASS with a->src (and a->cfg with --config) set, else
 * the exit status (or NODES_HELPED). */
int nodes_open(int argc, char **argv, int want_node, const char *usage, struct nodes_args *a);

/* The commands that read files with the config's checks (policy check,
 * from-eventlog, from-ima) or the database itself (audit): the command
 * line and the config only, which they need. */
int nodes_open_local(int argc, char **argv, int want_node, const char *usage, struct nodes_args *a);

/* The source and the config of nodes_open. */
void nodes_close(struct nodes_args *a);

/* The exit status of a failed Admin call: 1, or 2 for INVALID_ARGUMENT
 * when what_is_usage (the command line gave something malformed). */
int nodes_exit_of(int status, int what_is_usage);

/* A Unix time in ms as ISO 8601 UTC, "never" for 0. */
void nodes_print_time(FILE *f, int64_t ms);

/* A stored string for a terminal (what a peer claimed may hold anything):
 * escaped into buf, "-" when empty. */
const char *nodes_shown(const char *s, char *buf, size_t cap);

#endif
