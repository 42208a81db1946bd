/* verifier list | status | enroll | remove | rejected: the operator's view of
 * the nodes in the database named by a config's state_dir, and of the peers
 * refused before they proved any node. Each returns the process exit status:
 * 0 done (status: the node passes), 1 failed (status: a node has failed),
 * 2 usage or configuration error. What peers claimed is escaped for the
 * terminal (strsafe) or JSON. */
#ifndef VERIFIER_NODES_CLI_H
#define VERIFIER_NODES_CLI_H

int nodes_list_main(int argc, char **argv);
int nodes_status_main(int argc, char **argv);
int nodes_enroll_main(int argc, char **argv);
int nodes_remove_main(int argc, char **argv);
int nodes_rejected_main(int argc, char **argv);

#endif
