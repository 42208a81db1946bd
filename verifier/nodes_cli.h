/* verifier list | status | enroll | remove: the operator's view of the nodes
 * in the database named by a config's state_dir. Each returns the process
 * exit status: 0 done (status: the node passes), 1 failed (status: a node has
 * failed), 2 usage or configuration error. */
#ifndef VERIFIER_NODES_CLI_H
#define VERIFIER_NODES_CLI_H

int nodes_list_main(int argc, char **argv);
int nodes_status_main(int argc, char **argv);
int nodes_enroll_main(int argc, char **argv);
int nodes_remove_main(int argc, char **argv);

#endif
