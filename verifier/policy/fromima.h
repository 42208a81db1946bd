/* IMA allowlists (policy/imapolicy.h) as named policies (policy/named.h),
 * from a golden IMA measurement list or from a root file system, and the
 * offline judgment of a list by a policy (issue #15: `verifier policy
 * from-ima`, `verifier policy check --ima`), like Keylime's
 * `keylime-policy create runtime`. */
#ifndef VERIFIER_POLICY_FROMIMA_H
#define VERIFIER_POLICY_FROMIMA_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ima.h"
#include "policy/named.h"

#define FROMIMA_MAX_EXCLUDES 32

/* A measurement list: binary (binary_runtime_measurements), else ASCII
 * (ascii_runtime_measurements[_<alg>], its template hash algorithm told by
 * the hashes' length); every template hash verified. *out: free with
 * ima_list_free; buf must outlive it. AERR_PARSE naming why neither. */
int fromima_list(const uint8_t *buf, size_t len, struct ima_list **out) ATTEST_WUR;

/* The named policy of {"ima_policy": {"allow": ..., "exclude": ...}} as JSON
 * text (*json, malloc'd):
 *  - from list: each file entry's digest under its path (an entry whose
 *    path matches an exclude is left out, and so is a violation entry,
 *    which proves no digest: *violations counts those, which the policy
 *    fails unless "allow_violations" is added);
 *  - from the root file system at dir: the SHA-256 of every regular file
 *    under it, named by its path on the host whose root dir is (symbolic
 *    links are not followed, other file systems mounted there not entered,
 *    excluded paths not read; a file someone other than root and this
 *    program's user could change is left out, *untrusted counts those).
 * excludes: POSIX extended regular expressions anchored with '^', also
 * written to the policy. AERR_CONFIG for a pattern that does not compile or
 * is not anchored; AERR_IO naming a file that cannot be read. */
int fromima_policy_list(const struct ima_list *list, const char *const *excludes, size_t nexcludes,
			char **json, size_t *violations) ATTEST_WUR;
int fromima_policy_rootfs(const char *dir, const char *const *excludes, size_t nexcludes, char **json,
			  size_t *untrusted) ATTEST_WUR;

/* Judge list by p's IMA policy (imapolicy_check over every entry). 0, or
 * AERR_LOG_POLICY with the entries that fail; AERR_NOT_FOUND when p has no
 * IMA policy. */
int fromima_judge(const struct named_policy *p, const struct ima_list *list) ATTEST_WUR;

#endif
