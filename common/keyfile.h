/* Private key files a daemon is about to use (its TLS key, the verifier's
 * secrets), checked at start, before any TPM object is made or any port is
 * opened, so that a key another user could read or replace costs nothing
 * but a clear message. The rule, as sshd's StrictModes: owned by root or by
 * this program's user; readable by no other user, and by a group only when
 * it is one of this program's groups; writable by the owner alone; no
 * POSIX ACL beyond the mode bits; in directories only root and this
 * program's user can change (common/filerule.h); and readable by this
 * program. Every refusal names the file, its owner, group and mode, and the
 * owner and mode to give it (root:GROUP 0640, GROUP this program's group:
 * "root:tss 0640" for the attestor as its unit runs it). */
#ifndef ATTEST_KEYFILE_H
#define ATTEST_KEYFILE_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* 0, or AERR_CONFIG (AERR_NOT_FOUND when it does not exist) with
 * "WHAT PATH: why; make it root:GROUP 0640 (chown ...; chmod ...)". */
int keyfile_check(const char *what, const char *path) ATTEST_WUR;

/* path opened for reading into *fd, the rule checked on the file opened
 * (fstat, fgetxattr): what is read from *fd is what passed, whatever the
 * path is made to name afterwards. Errors as keyfile_check. */
int keyfile_open(const char *what, const char *path, int *fd) ATTEST_WUR;

/* The whole key file, opened as keyfile_open and read with read(2) (no
 * stdio buffer keeps a copy), into *buf (malloc'd, NUL after the *len
 * bytes): AERR_TOO_LARGE beyond cap bytes. Free it with keyfile_free. */
int keyfile_read(const char *what, const char *path, size_t cap, uint8_t **buf, size_t *len) ATTEST_WUR;

/* Wipe and free a buffer of keyfile_read (len: *len, or more). */
void keyfile_free(uint8_t *buf, size_t len);

#endif
