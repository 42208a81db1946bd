/* keyfile.h: the ownership and mode rule for private key files. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "filerule.h"
#include "keyfile.h"

#define KEYFILE_MAX_GROUPS 256

/* Whether this process is in group gid (effective or supplementary). */
static int in_group(gid_t gid)
{
	gid_t groups[KEYFILE_MAX_GROUPS];
	int n, i;

	if (gid == getegid())
		return 1;
	n = getgroups(KEYFILE_MAX_GROUPS, groups);
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* What is wrong with a key file of st (has_acl: it carries an access
 * ACL), or NULL. */
static const char *keyfile_rule(const struct stat *st, int has_acl)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "its owner is neither root nor this program's user, and could change it";
	if (st->st_mode & S_IRWXO)
		return "other users can read or change it";
	if (st->st_mode & S_IWGRP)
		return "its group can change it";
	if ((st->st_mode & (S_IRGRP | S_IXGRP)) && !in_group(st->st_gid))
		return "its group, not one of this program's, can read it";
	/* An access ACL with entries beyond owner, group and other grants
	 * what the mode bits do not show (they show its mask as the group's). */
	if (has_acl)
		return "it carries a POSIX ACL (getfacl) that may let other users or groups read it";
	return NULL;
}

/* AERR_CONFIG naming what, path, st's owner and mode, why and what to do. */
static int keyfile_refuse(const char *what, const char *path, const struct stat *st, const char *why, int acl)
{
	char owner[64], group[64], mine[64], want[1024];

	filerule_group_name(getegid(), mine, sizeof(mine));
	filerule_user_name(st->st_uid, owner, sizeof(owner));
	filerule_group_name(st->st_gid, group, sizeof(group));
	snprintf(want, sizeof(want), "%s%s%smake it root:%s 0640 (chown root:%s %s; chmod 0640 %s)",
		 acl ? "remove the ACL (setfacl -b " : "", acl ? path : "", acl ? "), then " : "", mine, mine, path,
		 path);
	return err_set(AERR_CONFIG, "%s %s is %s:%s %04o: %s; %s", what, path, owner, group,
		       (unsigned)(st->st_mode & 07777), why, want);
}

int keyfile_open(const char *what, const char *path, int *out)
{
	char owner[64], group[64], mine[64], me[64];
	struct stat st;
	const char *why;
	int fd, e, acl;

	*out = -1;
	/* O_NONBLOCK: a FIFO put there must not hang the open; it is then
	 * refused as not a regular file. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		e = errno;
		if (e == ENOENT)
			return err_set(AERR_NOT_FOUND, "%s %s: %s", what, path, strerror(e));
		/* Say what is wrong with the file when something is; else why
		 * this program may not read it. */
		if (stat(path, &st) != 0)
			return err_set(AERR_CONFIG, "%s %s: %s", what, path, strerror(e));
		if (S_ISREG(st.st_mode) &&
		    (why = keyfile_rule(&st, getxattr(path, "system.posix_acl_access", NULL, 0) >= 0)))
			return keyfile_refuse(what, path, &st, why, strstr(why, "ACL") != NULL);
		filerule_group_name(getegid(), mine, sizeof(mine));
		filerule_user_name(st.st_uid, owner, sizeof(owner));
		filerule_group_name(st.st_gid, group, sizeof(group));
		filerule_user_name(geteuid(), me, sizeof(me));
		return err_set(AERR_CONFIG, "%s %s is %s:%s %04o and this program runs as %s: %s; make it root:%s 0640 "
			       "(chown root:%s %s; chmod 0640 %s)", what, path, owner, group,
			       (unsigned)(st.st_mode & 07777), me, strerror(e), mine, mine, path, path);
	}
	/* The checks below are of the file that was opened, so whatever is
	 * read from fd is what passed them, whatever the path names later. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(AERR_CONFIG, "%s %s: not a regular file", what, path);
	}
	acl = fgetxattr(fd, "system.posix_acl_access", NULL, 0) >= 0;
	if ((why = keyfile_rule(&st, acl))) {
		close(fd);
		return keyfile_refuse(what, path, &st, why, acl);
	}
	/* Whoever could write a directory above it could put another key in
	 * its place for the next start. */
	if ((e = filerule_parents(what, path)) != 0) {
		close(fd);
		return e;
	}
	*out = fd;
	return 0;
}

int keyfile_check(const char *what, const char *path)
{
	int fd, r;

	if ((r = keyfile_open(what, path, &fd)) == 0)
		close(fd);
	return r;
}

int keyfile_read(const char *what, const char *path, size_t cap, uint8_t **buf, size_t *len)
{
	uint8_t *b = NULL;
	size_t n = 0;
	ssize_t got;
	int fd, r;

	*buf = NULL;
	*len = 0;
	if ((r = keyfile_open(what, path, &fd)) != 0)
		return r;
	if (!(b = malloc(cap + 1))) {
		r = err_set(AERR_ALLOC, "%s %s", what, path);
		goto out;
	}
	/* read(2), not stdio: a FILE's buffer would keep a copy of the key
	 * that fclose frees without wiping. One byte past cap tells a file
	 * that is too large. */
	while (n <= cap) {
		if ((got = read(fd, b + n, cap + 1 - n)) < 0) {
			if (errno == EINTR)
				continue;
			r = err_set(AERR_CONFIG, "%s %s: %s", what, path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > cap) {
		r = err_set(AERR_TOO_LARGE, "%s %s is larger than %zu bytes", what, path, cap);
		goto out;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	b = NULL; /* transferred */
	r = 0;
out:
	keyfile_free(b, cap + 1);
	close(fd);
	return r;
}

void keyfile_free(uint8_t *buf, size_t len)
{
	if (!buf)
		return;
	explicit_bzero(buf, len);
	free(buf);
}
