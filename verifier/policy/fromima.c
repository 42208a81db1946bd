/* policy/fromima.h: IMA allowlists from a list or a root file system. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "crypto.h"
#include "hex.h"
#include "policy/fromima.h"

int fromima_list(const uint8_t *buf, size_t len, struct ima_list **out)
{
	static const TPM2_ALG_ID algs[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512,
					    TPM2_ALG_SM3_256 };
	char why[300];
	int r;

	*out = NULL;
	if ((r = ima_parse(buf, len, 0, out)) == 0 && (*out)->nentries) {
		if ((r = ima_list_verify(*out, NULL)) != 0) {
			ima_list_free(*out);
			*out = NULL;
		}
		return r;
	}
	ima_list_free(*out);
	*out = NULL;
	snprintf(why, sizeof(why), "%s", err_detail());
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (ima_ascii_parse((const char *)buf, len, algs[i], out) == 0 && ima_list_verify(*out, NULL) == 0)
			return 0;
		ima_list_free(*out);
		*out = NULL;
	}
	return err_set(AERR_PARSE, "neither a binary IMA list (%s) nor an ASCII one whose template hashes verify", why);
}

struct excludes {
	regex_t re[FROMIMA_MAX_EXCLUDES];
	size_t n;
};

static int excludes_compile(struct excludes *x, const char *const *pats, size_t n)
{
	x->n = 0;
	if (n > FROMIMA_MAX_EXCLUDES)
		return err_set(AERR_CONFIG, "at most %d excludes", FROMIMA_MAX_EXCLUDES);
	for (size_t i = 0; i < n; i++) {
		/* A pattern matches anywhere in a path: "/tmp/" would also leave
		 * out /usr/lib/x/tmp/evil, a path the host chooses. */
		if (pats[i][0] != '^') {
			for (size_t j = 0; j < i; j++)
				regfree(&x->re[j]);
			return err_set(AERR_CONFIG, "exclude '%s' does not start with '^': it would match anywhere "
				       "in a path (write '^/tmp/' for the tree /tmp)", pats[i]);
		}
		if (regcomp(&x->re[i], pats[i], REG_EXTENDED | REG_NOSUB) != 0) {
			for (size_t j = 0; j < i; j++)
				regfree(&x->re[j]);
			return err_set(AERR_CONFIG, "exclude '%s' is not an extended regular expression", pats[i]);
		}
		x->n++;
	}
	return 0;
}

static void excludes_free(struct excludes *x)
{
	for (size_t i = 0; i < x->n; i++)
		regfree(&x->re[i]);
	x->n = 0;
}

static int excluded(const struct excludes *x, const char *path)
{
	for (size_t i = 0; i < x->n; i++)
		if (regexec(&x->re[i], path, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

/* allow[path] gains "alg:hex" once. */
static int allow_add(json_object *allow, const char *path, const char *alg, const uint8_t *d, size_t len)
{
	char text[IMA_MAX_ALG_NAME + 2 + 2 * CRYPTO_MAX_DIGEST + 1];
	json_object *arr;
	size_t o;

	if (len > CRYPTO_MAX_DIGEST || strlen(alg) > IMA_MAX_ALG_NAME)
		return err_set(AERR_PARSE, "%s: a digest of %zu bytes (%.40s)", path, len, alg);
	o = (size_t)snprintf(text, sizeof(text), "%s:", alg);
	hex_encode(d, len, text + o);
	if (!json_object_object_get_ex(allow, path, &arr)) {
		if (!(arr = json_object_new_array()) || json_object_object_add(allow, path, arr) != 0)
			return err_set(AERR_ALLOC, "allowlist");
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), text))
			return 0;
	if (json_object_array_add(arr, json_object_new_string(text)) != 0)
		return err_set(AERR_ALLOC, "allowlist");
	return 0;
}

/* {"ima_policy": {"allow": allow, "exclude": pats}} as text. */
static int finish(json_object *allow, const char *const *pats, size_t n, char **json)
{
	json_object *root = json_object_new_object(), *ima = json_object_new_object(), *ex = json_object_new_array();
	int r = 0;

	if (!root || !ima || !ex) {
		json_object_put(root);
		json_object_put(ima);
		json_object_put(ex);
		json_object_put(allow);
		return err_set(AERR_ALLOC, "policy");
	}
	for (size_t i = 0; i < n; i++)
		json_object_array_add(ex, json_object_new_string(pats[i]));
	json_object_object_add(ima, "allow", allow);
	if (n)
		json_object_object_add(ima, "exclude", ex);
	else
		json_object_put(ex);
	json_object_object_add(root, "ima_policy", ima);
	if (!(*json = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
									  JSON_C_TO_STRING_NOSLASHESCAPE))))
		r = err_set(AERR_ALLOC, "policy");
	json_object_put(root);
	return r;
}

int fromima_policy_list(const struct ima_list *list, const char *const *excludes, size_t nexcludes, char **json,
			size_t *violations)
{
	struct excludes x;
	json_object *allow;
	int r = 0;

	*json = NULL;
	*violations = 0;
	if ((r = excludes_compile(&x, excludes, nexcludes)) != 0)
		return r;
	if (!(allow = json_object_new_object())) {
		excludes_free(&x);
		return err_set(AERR_ALLOC, "allowlist");
	}
	for (size_t i = 0; i < list->nentries && r == 0; i++) {
		const struct ima_entry *e = &list->entries[i];

		/* ima-buf entries (keyrings, kexec-cmdline) are judged by
		 * "keyrings", not by the file allowlist. */
		if (e->tmpl == IMA_TEMPLATE_IMA_BUF || !e->path || !e->digest || excluded(&x, e->path))
			continue;
		if (e->violation)
			(*violations)++; /* it proves no digest: nothing to allow */
		else
			r = allow_add(allow, e->path, e->digest_alg_name, e->digest, e->digest_len);
	}
	excludes_free(&x);
	if (r != 0) {
		json_object_put(allow);
		return r;
	}
	return finish(allow, excludes, nexcludes, json);
}

/* nftw's callback has no argument: the walk's state, one walk at a time
 * (the CLI runs one). */
static struct {
	json_object *allow;
	struct excludes x;
	size_t root_len;
	size_t untrusted;              /* files left out: another user could change them */
	int r;
} walk;

static int walk_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	uint8_t d[32], buf[65536];
	const char *path = fpath + walk.root_len;
	EVP_MD_CTX *ctx = NULL;
	unsigned int dlen = 0;
	struct stat st;
	ssize_t n;
	int fd = -1;

	(void)sb;
	(void)ftw;
	if (!*path)
		return 0; /* the root itself */
	if (excluded(&walk.x, path))
		return type == FTW_D ? FTW_SKIP_SUBTREE : 0;
	if (type == FTW_DNR || type == FTW_NS) {
		walk.r = err_set(AERR_IO, "%s: cannot be read", fpath);
		return FTW_STOP;
	}
	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	/* A golden system's file that another user could have changed is not
	 * golden: left out (with its count on stderr) rather than allowed. */
	if ((sb->st_uid != 0 && sb->st_uid != geteuid()) || (sb->st_mode & (S_IWGRP | S_IWOTH))) {
		walk.untrusted++;
		return 0;
	}
	if ((fd = open(fpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0 || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_ino != sb->st_ino || st.st_dev != sb->st_dev || !(ctx = EVP_MD_CTX_new()) ||
	    !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		walk.r = err_set(AERR_IO, "%s: %s", fpath, fd < 0 ? strerror(errno) : "cannot hash");
		goto fail;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			break;
	if (n != 0 || !EVP_DigestFinal_ex(ctx, d, &dlen)) {
		walk.r = err_set(AERR_IO, "%s: %s", fpath, n < 0 ? strerror(errno) : "cannot hash");
		goto fail;
	}
	EVP_MD_CTX_free(ctx);
	close(fd);
	if ((walk.r = allow_add(walk.allow, path, "sha256", d, dlen)) != 0)
		return FTW_STOP;
	return 0;
fail:
	EVP_MD_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return FTW_STOP;
}

int fromima_policy_rootfs(const char *dir, const char *const *excludes, size_t nexcludes, char **json,
			  size_t *untrusted)
{
	char root[PATH_MAX];
	int r;

	*json = NULL;
	if (!realpath(dir, root))
		return err_set(AERR_IO, "%s: %s", dir, strerror(errno));
	memset(&walk, 0, sizeof(walk));
	if ((r = excludes_compile(&walk.x, excludes, nexcludes)) != 0)
		return r;
	if (!(walk.allow = json_object_new_object())) {
		excludes_free(&walk.x);
		return err_set(AERR_ALLOC, "allowlist");
	}
	/* Paths as the host sees them: "/usr/bin/bash" under root "/mnt/img". */
	walk.root_len = strcmp(root, "/") == 0 ? 0 : strlen(root);
	/* FTW_MOUNT: the root file system, not /proc or what is mounted on it. */
	if (nftw(root, walk_one, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL) != 0 && walk.r == 0)
		walk.r = err_set(AERR_IO, "%s: %s", dir, strerror(errno));
	excludes_free(&walk.x);
	*untrusted = walk.untrusted;
	if ((r = walk.r) != 0) {
		json_object_put(walk.allow);
		return r;
	}
	return finish(walk.allow, excludes, nexcludes, json);
}

int fromima_judge(const struct named_policy *p, const struct ima_list *list)
{
	if (!p->ima)
		return err_set(AERR_NOT_FOUND, "policy '%s' has no ima_policy", p->name);
	return imapolicy_check(p->ima, list, list->nentries);
}
