/* Process hardening for the two daemons: they hold every secret (the
 * attestor its unsealed keys and credential secrets for a moment, the verifier
 * every delivered key, its TLS key and the nonces), so neither may leave its
 * memory in a core file or open it to another process of the same user. */
#ifndef ATTEST_HARDEN_H
#define ATTEST_HARDEN_H

#include "err.h"

/* First thing in main, before any secret is read. Makes the process
 * non-dumpable (prctl PR_SET_DUMPABLE 0: no core dump on a crash; ptrace and
 * /proc/PID/mem, environ, maps of it need CAP_SYS_PTRACE, and the kernel shows
 * those files as owned by root) and sets RLIMIT_CORE to 0 soft and hard, so
 * that no core file is written even if something made the process dumpable
 * again; children (the verifier's hook) inherit the limit. Sets the umask
 * to 077: what they create (the verifier's database and its WAL, the
 * attestor's state) is readable by their own user only, whatever the umask
 * they were started with (systemd's default is 022). Returns 0, or
 * AERR_INTERNAL with the failed call and errno in the detail: the caller must
 * refuse to run then. */
int harden_process(void) ATTEST_WUR;

#endif
