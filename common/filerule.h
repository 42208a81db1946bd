/* Who may change the files the daemons trust: their configuration, the CA
 * they check peers by, the EK roots that decide which TPMs are genuine, the
 * policies, and the directories that hold them and the private keys
 * (common/keyfile.h adds who may read those). Whoever could write one of
 * them decides what passes, so each, and every directory above it, must be
 * changeable by root and this program's user alone, as sshd's StrictModes
 * asks of authorized_keys. Above a trusted file, a world-writable directory
 * with the sticky bit (/tmp) is allowed: there only an entry's owner may
 * rename or remove it; the trusted file or directory itself never is (anyone
 * may add to it). Every symbolic link on the way counts too: it must be
 * root's or this program's user's, in a directory that passes. */
#ifndef ATTEST_FILERULE_H
#define ATTEST_FILERULE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"

/* A user's or group's name, or its number when it has none. */
void filerule_user_name(uid_t uid, char *out, size_t len);
void filerule_group_name(gid_t gid, char *out, size_t len);

/* Every directory from path's parent up to /, once path is resolved
 * (realpath: symbolic links lead where they point): 0, or AERR_CONFIG
 * "WHAT PATH: directory DIR is USER:GROUP MODE: why; what to do". */
int filerule_parents(const char *what, const char *path) ATTEST_WUR;

/* A directory the daemons keep their state in, and those above it; its
 * entries are not looked at (they are this program's own). One not made
 * yet: its nearest existing ancestor (which must pass as the directory
 * would: no sticky leave) and those above. */
int filerule_dir(const char *what, const char *path) ATTEST_WUR;

/* A state directory just made, or found there, by mkdir: opened without
 * following a link, it must be root's or this program's user's and
 * writable by its owner alone, and the directories above must pass (one
 * someone else made first would hold what they put there). */
int filerule_made_dir(const char *what, const char *path) ATTEST_WUR;

/* A file the daemons trust (or, for a directory such as ek_roots, the
 * directory and every file in it), and the directories above it: 0, or
 * AERR_CONFIG naming what could be changed by whom (AERR_NOT_FOUND when
 * path does not exist). */
int filerule_anchor(const char *what, const char *path) ATTEST_WUR;

#endif
