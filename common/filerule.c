/* filerule.h: who may change the files the daemons trust. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filerule.h"

void filerule_user_name(uid_t uid, char *out, size_t len)
{
	const struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(out, len, "%s", pw->pw_name);
	else
		snprintf(out, len, "%u", (unsigned)uid);
}

void filerule_group_name(gid_t gid, char *out, size_t len)
{
	const struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(out, len, "%s", gr->gr_name);
	else
		snprintf(out, len, "%u", (unsigned)gid);
}

/* Why someone other than root and this program's user could change what
 * st describes, or NULL. above: st is a directory above a trusted file,
 * where a sticky one (/tmp) is allowed: there nobody renames or removes an
 * entry they do not own. The trusted file or directory itself gets no such
 * leave: anyone could add an entry to a sticky directory. */
static const char *changeable(const struct stat *st, int above)
{
	int sticky_ok = above && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);

	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "its owner is neither root nor this program's user";
	if ((st->st_mode & S_IWOTH) && !sticky_ok)
		return "other users can change it";
	if ((st->st_mode & S_IWGRP) && !sticky_ok)
		return "its group can change it";
	return NULL;
}

/* AERR_CONFIG: "WHAT PATH: KIND P is USER:GROUP MODE: why; fix". */
static int refuse(const char *what, const char *path, const char *kind, const char *p, const struct stat *st,
		  const char *why)
{
	char owner[64], group[64];

	filerule_user_name(st->st_uid, owner, sizeof(owner));
	filerule_group_name(st->st_gid, group, sizeof(group));
	if (!strcmp(kind, "symbolic link"))
		return err_set(AERR_CONFIG, "%s %s: symbolic link %s is %s:%s: %s, and whoever can could point it "
			       "elsewhere; make it root's (chown -h root %s)", what, path, p, owner, group, why, p);
	if (strcmp(path, p) == 0)
		return err_set(AERR_CONFIG, "%s %s is %s:%s %04o: %s, and whoever can decides what it says; "
			       "make it root's and writable by its owner alone (chown root %s; chmod go-w %s)",
			       what, path, owner, group, (unsigned)(st->st_mode & 07777), why, p, p);
	return err_set(AERR_CONFIG, "%s %s: %s %s is %s:%s %04o: %s, and whoever can could replace what it "
		       "holds; make it root's and writable by its owner alone (chown root %s; chmod go-w %s)",
		       what, path, kind, p, owner, group, (unsigned)(st->st_mode & 07777), why, p, p);
}

/* The directories above resolved (absolute, no links), from its parent up. */
static int check_parents(const char *what, const char *path, const char *resolved)
{
	char dir[PATH_MAX];
	struct stat st;
	const char *why;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", resolved);
	while ((slash = strrchr(dir, '/'))) {
		if (slash == dir)
			slash[1] = '\0'; /* "/" itself, last */
		else
			*slash = '\0';
		if (stat(dir, &st) != 0)
			return err_set(AERR_CONFIG, "%s %s: directory %s: %s", what, path, dir, strerror(errno));
		if ((why = changeable(&st, 1)))
			return refuse(what, path, "directory", dir, &st, why);
		if (strcmp(dir, "/") == 0)
			break;
	}
	return 0;
}

#define FILERULE_MAX_LINKS 40 /* as the kernel's MAXSYMLINKS */

/* Every symbolic link met on the way to file (path as configured): the
 * check of the resolved chain alone would miss a link kept in a directory
 * off that chain, and a link owned by someone else, either of which could
 * point the path elsewhere between a check and a read. Each link must be
 * root's or this program's user's, in a directory that passes the rule,
 * and the same holds along where it points. */
static int check_links(const char *what, const char *path, const char *file, int depth)
{
	char abs[PATH_MAX], prefix[PATH_MAX] = "", target[PATH_MAX], parent[PATH_MAX], next[PATH_MAX];
	const char *p, *end;
	struct stat st;
	ssize_t n;
	int r;

	if (depth > FILERULE_MAX_LINKS)
		return err_set(AERR_CONFIG, "%s %s: more than %d symbolic links", what, path, FILERULE_MAX_LINKS);
	if (file[0] == '/')
		snprintf(abs, sizeof(abs), "%s", file);
	else if (!getcwd(abs, sizeof(abs)) || strlen(abs) + strlen(file) + 2 > sizeof(abs))
		return err_set(AERR_CONFIG, "%s %s: cannot make it absolute", what, path);
	else
		strcat(strcat(abs, "/"), file);
	for (p = abs; *p; p = end) {
		size_t plen = strlen(prefix), clen;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchr(p, '/');
		if (!end)
			end = p + strlen(p);
		clen = (size_t)(end - p);
		if (plen + clen + 2 > sizeof(prefix))
			return err_set(AERR_CONFIG, "%s %s: path too long", what, path);
		prefix[plen] = '/';
		memcpy(prefix + plen + 1, p, clen);
		prefix[plen + 1 + clen] = '\0';
		if (lstat(prefix, &st) != 0)
			return 0; /* missing: the resolved check says so */
		if (!S_ISLNK(st.st_mode))
			continue;
		if (st.st_uid != 0 && st.st_uid != geteuid())
			return refuse(what, path, "symbolic link", prefix, &st,
				      "its owner is neither root nor this program's user");
		/* The directory holding it, and those above. */
		snprintf(parent, sizeof(parent), "%.*s", (int)plen, prefix);
		if (!realpath(parent[0] ? parent : "/", target))
			return err_set(AERR_CONFIG, "%s %s: %s: %s", what, path, parent, strerror(errno));
		if (strlen(target) + 3 > sizeof(target))
			return err_set(AERR_CONFIG, "%s %s: path too long", what, path);
		strcat(target, strcmp(target, "/") ? "/x" : "x");
		if ((r = check_parents(what, path, target)) != 0)
			return r;
		if ((n = readlink(prefix, target, sizeof(target) - 1)) < 0)
			return err_set(AERR_CONFIG, "%s %s: %s: %s", what, path, prefix, strerror(errno));
		target[n] = '\0';
		if (snprintf(next, sizeof(next), "%s%s%s%s", target[0] == '/' ? "" : parent, target[0] == '/' ? "" : "/",
			     target, end) >= (int)sizeof(next))
			return err_set(AERR_CONFIG, "%s %s: path too long", what, path);
		return check_links(what, path, next, depth + 1);
	}
	return 0;
}

int filerule_parents(const char *what, const char *path)
{
	char resolved[PATH_MAX];
	int r;

	if ((r = check_links(what, path, path, 0)) != 0)
		return r;
	if (!realpath(path, resolved))
		return err_set(errno == ENOENT ? AERR_NOT_FOUND : AERR_CONFIG, "%s %s: %s", what, path,
			       strerror(errno));
	return check_parents(what, path, resolved);
}

/* file (path itself, or an entry of the directory path), resolved, and
 * the directories above it. */
static int check_file(const char *what, const char *path, const char *file)
{
	char resolved[PATH_MAX];
	struct stat st;
	const char *why;
	int r;

	if ((r = check_links(what, path, file, 0)) != 0)
		return r;
	if (!realpath(file, resolved) || stat(resolved, &st) != 0)
		return err_set(errno == ENOENT ? AERR_NOT_FOUND : AERR_CONFIG, "%s %s: %s", what, file,
			       strerror(errno));
	if ((why = changeable(&st, 0)))
		return refuse(what, path, S_ISDIR(st.st_mode) ? "directory" : "file",
			      strcmp(file, path) == 0 ? path : resolved, &st, why);
	return check_parents(what, path, resolved);
}

int filerule_dir(const char *what, const char *path)
{
	char up[PATH_MAX];
	char *slash;

	snprintf(up, sizeof(up), "%s", path);
	while (access(up, F_OK) != 0 && errno == ENOENT && (slash = strrchr(up, '/'))) {
		if (slash == up) {
			up[1] = '\0'; /* "/" */
			break;
		}
		*slash = '\0';
	}
	return check_file(what, path, up);
}

int filerule_made_dir(const char *what, const char *path)
{
	char resolved[PATH_MAX];
	struct stat st;
	const char *why;
	int fd, r;

	char trimmed[PATH_MAX];
	size_t n = strlen(path);

	/* The directory opened, not a link: who made it is what counts. A
	 * trailing slash would make the kernel follow a final link anyway. */
	if (n >= sizeof(trimmed))
		return err_set(AERR_CONFIG, "%s %s: path too long", what, path);
	memcpy(trimmed, path, n + 1);
	while (n > 1 && trimmed[n - 1] == '/')
		trimmed[--n] = '\0';
	path = trimmed;
	if ((r = check_links(what, path, path, 0)) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_set(AERR_CONFIG, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return err_set(AERR_CONFIG, "%s %s: %s", what, path, strerror(errno));
	}
	close(fd);
	/* Root looking at a service's own directory (tpm-verifier status run
	 * as root on /var/lib/tpm-verifier) may find it the service user's;
	 * still writable by its owner alone. */
	if (geteuid() == 0 && st.st_uid != 0)
		st.st_uid = 0;
	if ((why = changeable(&st, 0)))
		return refuse(what, path, "directory", path, &st, why);
	if (!realpath(path, resolved))
		return err_set(AERR_CONFIG, "%s %s: %s", what, path, strerror(errno));
	return check_parents(what, path, resolved);
}

int filerule_anchor(const char *what, const char *path)
{
	char entry[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r;

	if ((r = check_file(what, path, path)) != 0)
		return r;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (!(d = opendir(path)))
		return err_set(AERR_CONFIG, "%s %s: %s", what, path, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		/* What the loaders skip (a dangling link, a name too long) is
		 * not read, so not judged either. */
		if (snprintf(entry, sizeof(entry), "%s/%s", path, de->d_name) >= (int)sizeof(entry) ||
		    stat(entry, &st) != 0)
			continue;
		/* A link may point anywhere: its target and the directories
		 * above that count, as the verifier reads through it. */
		if ((r = check_file(what, path, entry)) != 0)
			break;
	}
	closedir(d);
	return r;
}
