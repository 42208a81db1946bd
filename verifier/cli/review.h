/* The commands that review stored evidence (review/review.h): policy
 * test, learn, proposal, approve (cli/policy_review.c) and audit
 * (cli/audit.c), and how they pick nodes. */
#ifndef VERIFIER_CLI_REVIEW_H
#define VERIFIER_CLI_REVIEW_H

#include <stddef.h>

#include "cli/nodes.h"
#include "policy/named.h"
#include "store/store.h"

/* The nodes a command names: keys (STORE_KEY_OPERATOR), else those of
 * group (NULL: every node). *out malloc'd, *n of them; an unknown key is
 * an error naming it. */
int review_nodes(struct store *st, const char *const *keys, size_t nkeys, const char *group, struct store_node **out,
		 size_t *n);

/* The candidate policy in file path, checked against cfg as a stored one
 * would be; NULL after printing why (the command exits CLI_EXIT_USAGE). */
struct named_policy *review_candidate(const struct verifier_config *cfg, const char *path);

/* A node as these commands print it: its operator name, else the start
 * of its EK hash. */
const char *review_node_label(const struct store_node *n);

int policy_test(struct store *st, const struct nodes_args *a);
int policy_learn(struct store *st, const struct nodes_args *a);
int policy_proposal(struct store *st, const struct nodes_args *a);
int policy_approve(struct store *st, const struct nodes_args *a);

#endif
