/* filerule.h: who may change the files the daemons trust. */
#include <dirent.h>
#include <errno.h>
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

const char *filerule_changeable(const struct stat *st)
{
	int sticky_dir = S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);

	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "its owner is neither root nor this program's user";
	if ((st->st_mode & S_IWOTH) && !sticky_dir)
		return "other users can change it";
	if ((st->st_mode & S_IWGRP) && !sticky_dir)
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
		if ((why = filerule_changeable(&st)))
			return refuse(what, path, "directory", dir, &st, why);
		if (strcmp(dir, "/") == 0)
			break;
	}
	return 0;
}

int filerule_parents(const char *what, const char *path)
{
	char resolved[PATH_MAX];

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

	if (!realpath(file, resolved) || stat(resolved, &st) != 0)
		return err_set(errno == ENOENT ? AERR_NOT_FOUND : AERR_CONFIG, "%s %s: %s", what, file,
			       strerror(errno));
	if ((why = filerule_changeable(&st)))
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
		if (snprintf(entry, sizeof(entry), "%s/%s", path, de->d_name) >= (int)sizeof(entry))
			continue;
		/* A link may point anywhere: its target and the directories
		 * above that count, as the verifier reads through it. */
		if ((r = check_file(what, path, entry)) != 0)
			break;
	}
	closedir(d);
	return r;
}
