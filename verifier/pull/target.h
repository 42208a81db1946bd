/* Pull targets, HOST:PORT, in one spelling. A node is bound to the target
 * it is attested at and compared by that string (record_lookup, the store),
 * so "H:0443", "H:+443" and "h:443", or "[0::1]:1" and "[::1]:1", must not
 * be two targets: a node bound under one spelling would be at a target
 * nobody attests. Names are not resolved ("localhost" is not "127.0.0.1":
 * what a name points to may change); the operator writes the one that
 * `targets` lists. */
#ifndef VERIFIER_PULL_TARGET_H
#define VERIFIER_PULL_TARGET_H

#include <stddef.h>

#include "err.h"

#define TARGET_MAX 256 /* with its NUL */

/* in as HOST:PORT into out (TARGET_MAX bytes): a name lower-cased (one
 * with a trailing dot is refused), an IPv4 address as a dotted quad
 * (whatever form inet_aton takes, and an IPv4-mapped IPv6 address), a
 * bracketed IPv6 address as inet_ntop writes it (a zone after '%', an
 * interface name, only on a link-local address, kept as written); the port
 * in decimal without sign or leading zeros, 1..65535. Idempotent: out is its
 * own canonical form. AERR_INVALID_ARG naming what is wrong. */
int target_canonical(const char *in, char out[TARGET_MAX]) ATTEST_WUR;

/* 1 when target (canonical) is one of the n canonical targets. */
int target_listed(const char *target, char *const *targets, size_t n);

#endif
