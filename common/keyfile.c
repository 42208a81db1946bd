/* keyfile.h: the ownership and mode rule for private key files. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "keyfile.h"

#define KEYFILE_MAX_GROUPS 256

static void user_name(uid_t uid, char *out, size_t len)
{
	const struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(out, len, "%s", pw->pw_name);
	else
		snprintf(out, len, "%u", (unsigned)uid);
}

static void group_name(gid_t gid, char *out, size_t len)
{
	const struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(out, len, "%s", gr->gr_name);
	else
		snprintf(out, len, "%u", (unsigned)gid);
}

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

int keyfile_check(const char *what, const char *path)
{
	char owner[64], group[64], mine[64], me[64], want[1024];
	struct stat st;
	const char *why = NULL;
	int fd;

	group_name(getegid(), mine, sizeof(mine));
	snprintf(want, sizeof(want), "make it root:%s 0640 (chown root:%s %s; chmod 0640 %s)", mine, mine, path,
		 path);
	if (stat(path, &st) != 0)
		return err_set(errno == ENOENT ? AERR_NOT_FOUND : AERR_CONFIG, "%s %s: %s", what, path,
			       strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(AERR_CONFIG, "%s %s: not a regular file", what, path);
	user_name(st.st_uid, owner, sizeof(owner));
	group_name(st.st_gid, group, sizeof(group));
	user_name(geteuid(), me, sizeof(me));
	if (st.st_uid != 0 && st.st_uid != geteuid())
		why = "its owner is neither root nor this program's user, and could change it";
	else if (st.st_mode & S_IRWXO)
		why = "other users can read or change it";
	else if (st.st_mode & S_IWGRP)
		why = "its group can change it";
	else if ((st.st_mode & (S_IRGRP | S_IXGRP)) && !in_group(st.st_gid))
		why = "its group, not one of this program's, can read it";
	/* An access ACL with entries beyond owner, group and other grants
	 * what the mode bits do not show (they show its mask as the group's). */
	else if (getxattr(path, "system.posix_acl_access", NULL, 0) >= 0) {
		why = "it carries a POSIX ACL (getfacl) that may let other users or groups read it";
		snprintf(want, sizeof(want), "remove the ACL (setfacl -b %s), then make it root:%s 0640 (chown root:%s %s; "
			 "chmod 0640 %s)", path, mine, mine, path, path);
	}
	if (why)
		return err_set(AERR_CONFIG, "%s %s is %s:%s %04o: %s; %s", what, path, owner, group,
			       (unsigned)(st.st_mode & 07777), why, want);
	/* open(), not access(): the effective ids and capabilities decide. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(AERR_CONFIG, "%s %s is %s:%s %04o and this program runs as %s: %s; %s", what, path,
			       owner, group, (unsigned)(st.st_mode & 07777), me, strerror(errno), want);
	close(fd);
	return 0;
}
