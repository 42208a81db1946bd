/* IMA allowlist policy, a JSON file named by `ima_policy` in the verifier's
 * configuration:
 *
 *   {
 *     "allow":    { "/usr/bin/bash": ["sha256:9f86d0...", ...], ... },
 *     "exclude":  ["^/tmp/", "^/var/log/"],
 *     "keyrings": { ".ima": ["sha256:..."], "kexec-cmdline": [...] },
 *     "allow_violations": false,
 *     "keys": ["ima-signing.der", "/etc/keys/ima-ec.pem"],
 *     "require_signatures": ["^/usr/s?bin/"],
 *     "allow_signed": false
 *   }
 *
 * Every IMA entry the quote vouches for must pass: a file entry when its path
 * matches an exclude pattern (POSIX extended regular expression) or its file
 * digest ("<alg>:<hex>", as IMA names the algorithm) is listed for its path;
 * an ima-buf entry when its buffer digest is listed under its name in
 * "keyrings"; a violation entry (open-writers / ToMToU: no digest) only with
 * "allow_violations". boot_aggregate is an ordinary path here: list it or
 * exclude it. Unknown keys refuse the file (a typo must not loosen the
 * policy). Lookups are by hash, so large allowlists cost no more per entry.
 *
 * Signatures (common/imasig.h): with "keys" (certificates or public keys,
 * PEM or DER, RSA or EC; relative names are relative to the policy file),
 * the IMA signature of every file entry that is not excluded and carries one
 * (ima-sig, ima-sigv2, and the sig field of ima-modsig) must verify with a
 * key of that key id: an unknown key id or a bad signature fails the file.
 * "require_signatures" (true for every file, or a list of path patterns)
 * fails files without one; an appended modsig is not checked and does not
 * count. A good signature still needs the allowlist unless "allow_signed"
 * is true. Without "keys", signatures are not looked at (and the two
 * switches are refused). */
#ifndef VERIFIER_POLICY_IMAPOLICY_H
#define VERIFIER_POLICY_IMAPOLICY_H

#include <stddef.h>

#include "err.h"
#include "ima.h"

struct imapolicy;

/* AERR_CONFIG with "FILE: what is wrong" (bad JSON, unknown key, a digest
 * that is not "<alg>:<even-length hex>", a regex that does not compile). */
int imapolicy_load(const char *path, struct imapolicy **out) ATTEST_WUR;

/* The same from a JSON object already parsed (a stored policy's
 * "ima_policy"); where names it in messages. root stays the caller's. */
struct json_object;
int imapolicy_from_json(const char *where, struct json_object *root, struct imapolicy **out) ATTEST_WUR;
void imapolicy_free(struct imapolicy *p);

/* Counts of what was loaded (logs, tests). */
void imapolicy_counts(const struct imapolicy *p, size_t *paths, size_t *digests, size_t *excludes);

/* Check list->entries[0..n). Every failing entry is logged (entry number,
 * path, why); the detail of AERR_LOG_POLICY names as many as fit and how many
 * failed in all. */
int imapolicy_check(const struct imapolicy *p, const struct ima_list *list, size_t n) ATTEST_WUR;

#endif
