/* The commands that review stored evidence (review/review.h): policy
 * test, learn, proposal, approve (cli/policy_review.c, through the Admin
 * methods) and audit (cli/audit.c, on the database itself). */
#ifndef VERIFIER_CLI_REVIEW_H
#define VERIFIER_CLI_REVIEW_H

#include <stddef.h>

#include "cli/nodes.h"
#include "policy/named.h"
#include "store/store.h"

/* The candidate policy in file path, checked against cfg as a stored one
 * would be; NULL after printing why (the command exits CLI_EXIT_USAGE). */
struct named_policy *review_candidate(const struct verifier_config *cfg, const char *path);

/* A node as these commands print it: its operator name, else the start
 * of its EK hash. */
const char *review_node_label(const struct store_node *n);

/* Through the Admin methods (cli/source.h). */
int policy_test(struct nodes_args *a);
int policy_learn(struct nodes_args *a);
int policy_proposal(struct nodes_args *a);
int policy_approve(struct nodes_args *a);

#endif
