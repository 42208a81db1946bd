/* The secret store: one checksummed binary record per secret, written by
 * rename so that a crash leaves the old record or the new one.
 *
 * Record layout (all integers big-endian):
 *   "ATSECRT1"            8 bytes magic (format version 1)
 *   kind                  1 byte (attest.v1.SecretKind)
 *   ek_alg                2 bytes
 *   name_len, name        1 byte, name_len bytes (== the file name)
 *   TPML_PCR_SELECTION    TPM wire format
 *   TPM2B_PUBLIC          TPM wire format
 *   TPM2B_PRIVATE         TPM wire format (from TPM2_Import)
 *   SHA-256               32 bytes over everything before */
#define LOG_MODULE "secrets"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "filerule.h"
#include "crypto.h"
#include "log.h"
#include "secrets.h"

static const char secrets_magic[8] = { 'A', 'T', 'S', 'E', 'C', 'R', 'T', '1' };

#define SECRETS_SUM 32
/* Larger than any record can be: refuse to read more from a damaged file. */
#define SECRETS_FILE_MAX 8192

int secrets_name_check(const char *name)
{
	size_t i, len;

	if (!name || !name[0])
		return err_set(AERR_INVALID_ARG, "secret name is empty");
	len = strlen(name);
	if (len > SECRETS_NAME_MAX)
		return err_set(AERR_INVALID_ARG, "secret name of %zu characters, at most %d", len,
			       SECRETS_NAME_MAX);
	if (!isalnum((unsigned char)name[0]) || (unsigned char)name[0] > 0x7f)
		return err_set(AERR_INVALID_ARG, "secret name must start with a letter or digit");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c > 0x7f || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
			return err_set(AERR_INVALID_ARG,
				       "secret name: character 0x%02x at %zu is not one of [A-Za-z0-9._-]",
				       c, i);
	}
	return 0;
}

const char *secrets_kind_name(enum secrets_kind kind)
{
	switch (kind) {
	case SECRETS_KIND_AES256: return "aes256";
	case SECRETS_KIND_RSA: return "rsa";
	}
	return NULL;
}

static int secrets_path(char *buf, size_t cap, const char *state_dir, const char *name)
{
	int n = name ? snprintf(buf, cap, "%s/%s/%s", state_dir, SECRETS_DIR, name)
		     : snprintf(buf, cap, "%s/%s", state_dir, SECRETS_DIR);

	if (n < 0 || (size_t)n >= cap)
		return err_set(AERR_INVALID_ARG, "state_dir path too long");
	return 0;
}

/* mkdir 0700 unless it exists; an existing directory keeps its mode unless
 * narrow is set and others can enter it; either way it must be root's or
 * this program's user's, and writable by its owner alone
 * (filerule_made_dir). */
static int secrets_mkdir(const char *path, int narrow)
{
	struct stat st;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return err_set(AERR_IO, "%s: %s", path, strerror(errno));
	if (stat(path, &st) != 0)
		return err_set(AERR_IO, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(AERR_IO, "%s is not a directory", path);
	if (narrow && (st.st_mode & 077)) {
		LOG_WARN("%s was mode %03o: narrowing to 0700", path, (unsigned)(st.st_mode & 0777));
		if (chmod(path, 0700) != 0)
			return err_set(AERR_IO, "chmod %s: %s", path, strerror(errno));
	}
	/* One someone else made (or could write) would hold what they put there. */
	return filerule_made_dir("state directory", path);
}

static int secrets_fsync_dir(const char *dir)
{
	int fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_set(AERR_IO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		r = err_set(AERR_IO, "fsync %s: %s", dir, strerror(errno));
	close(fd);
	return r;
}

int secrets_write_file(const char *path, const uint8_t *data, size_t len)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t off = 0;
	ssize_t n;
	int fd = -1, r = AERR_INTERNAL, have_tmp = 0;

	if (slash) {
		if ((size_t)(slash - path) >= sizeof(dir))
			return err_set(AERR_IO, "%s: path too long", path);
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (!dir[0])
			strcpy(dir, "/");
	} else {
		strcpy(dir, ".");
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, slash ? slash + 1 : path) >=
	    sizeof(tmp))
		return err_set(AERR_IO, "%s: path too long", path);
	/* mkstemp creates 0600; fchmod anyway in case of an unusual umask. */
	if ((fd = mkstemp(tmp)) < 0) {
		r = err_set(AERR_IO, "%s: cannot create a temporary file: %s", dir, strerror(errno));
		goto out;
	}
	have_tmp = 1;
	if (fchmod(fd, 0600) != 0) {
		r = err_set(AERR_IO, "chmod %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			r = err_set(AERR_IO, "write %s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		r = err_set(AERR_IO, "fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = err_set(AERR_IO, "close %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = err_set(AERR_IO, "rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	have_tmp = 0;
	/* The rename itself must survive a crash too. */
	if ((r = secrets_fsync_dir(dir)) != 0)
		goto out;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	return r;
}

static int secrets_check_record(const struct secrets_record *rec)
{
	int r;

	if ((r = secrets_name_check(rec->name)) != 0)
		return r;
	if (!secrets_kind_name(rec->kind))
		return err_set(AERR_INVALID_ARG, "secret kind %d is neither aes256 (1) nor rsa (2)",
			       (int)rec->kind);
	if (rec->ek_alg != TPM2_ALG_RSA && rec->ek_alg != TPM2_ALG_ECC)
		return err_set(AERR_INVALID_ARG, "ek_alg 0x%04x is neither RSA nor ECC", rec->ek_alg);
	if (rec->pub_len < 2 || rec->pub_len > sizeof(rec->pub) || rec->priv_len < 2 ||
	    rec->priv_len > sizeof(rec->priv))
		return err_set(AERR_INVALID_ARG, "public (%zu bytes) or private (%zu bytes) out of range",
			       rec->pub_len, rec->priv_len);
	if (rec->sel.count == 0 || rec->sel.count > TPM2_NUM_PCR_BANKS)
		return err_set(AERR_INVALID_ARG, "PCR selection of %u banks", rec->sel.count);
	return 0;
}

int secrets_store(const char *state_dir, const struct secrets_record *rec)
{
	uint8_t buf[SECRETS_FILE_MAX];
	char dir[PATH_MAX], path[PATH_MAX];
	size_t off = 0, nlen;
	int r;

	if ((r = secrets_check_record(rec)) != 0)
		goto out;
	nlen = strlen(rec->name);
	memcpy(buf, secrets_magic, sizeof(secrets_magic));
	off = sizeof(secrets_magic);
	buf[off++] = (uint8_t)rec->kind;
	buf[off++] = (uint8_t)(rec->ek_alg >> 8);
	buf[off++] = (uint8_t)rec->ek_alg;
	buf[off++] = (uint8_t)nlen;
	memcpy(buf + off, rec->name, nlen);
	off += nlen;
	if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&rec->sel, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS) {
		r = err_set(AERR_INVALID_ARG, "PCR selection does not marshal");
		goto out;
	}
	if (off + rec->pub_len + rec->priv_len + SECRETS_SUM > sizeof(buf)) {
		r = err_set(AERR_INTERNAL, "record larger than %d bytes", SECRETS_FILE_MAX);
		goto out;
	}
	memcpy(buf + off, rec->pub, rec->pub_len);
	off += rec->pub_len;
	memcpy(buf + off, rec->priv, rec->priv_len);
	off += rec->priv_len;
	if ((r = crypto_digest(TPM2_ALG_SHA256, buf, off, buf + off)) != 0)
		goto out;
	off += SECRETS_SUM;
	if ((r = secrets_mkdir(state_dir, 0)) != 0 ||
	    (r = secrets_path(dir, sizeof(dir), state_dir, NULL)) != 0 ||
	    (r = secrets_mkdir(dir, 1)) != 0 ||
	    (r = secrets_path(path, sizeof(path), state_dir, rec->name)) != 0)
		goto out;
	if ((r = secrets_write_file(path, buf, off)) != 0)
		goto out;
	LOG_INFO("stored secret '%s' (%s, %s EK)", rec->name, secrets_kind_name(rec->kind),
		 rec->ek_alg == TPM2_ALG_RSA ? "rsa" : "ecc");
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

/* One TPM2B at buf[*off]: bounds-checked, copied with its size field. */
static int secrets_take_2b(const uint8_t *buf, size_t len, size_t *off, uint8_t *dst, size_t cap,
			   size_t *dst_len, const char *what)
{
	size_t n;

	if (len - *off < 2)
		return err_set(AERR_PARSE, "%s: truncated before its size", what);
	n = 2 + ((size_t)buf[*off] << 8 | buf[*off + 1]);
	if (n > len - *off)
		return err_set(AERR_PARSE, "%s: %zu bytes, only %zu left", what, n, len - *off);
	if (n > cap || n == 2)
		return err_set(AERR_PARSE, "%s: size %zu out of range", what, n - 2);
	memcpy(dst, buf + *off, n);
	*dst_len = n;
	*off += n;
	return 0;
}

/* Parse a record; details say what is wrong, the caller adds the path. */
static int secrets_parse(const uint8_t *buf, size_t len, const char *name,
			 struct secrets_record *rec)
{
	uint8_t sum[SECRETS_SUM];
	size_t off, nlen, body;
	int r;

	if (len < sizeof(secrets_magic) + SECRETS_SUM)
		return err_set(AERR_PARSE, "%zu bytes, too short for a record", len);
	if (memcmp(buf, secrets_magic, sizeof(secrets_magic)) != 0)
		return err_set(AERR_PARSE, "not a secret record (bad magic)");
	body = len - SECRETS_SUM;
	if ((r = crypto_digest(TPM2_ALG_SHA256, buf, body, sum)) != 0)
		return r;
	if (CRYPTO_memcmp(sum, buf + body, SECRETS_SUM) != 0)
		return err_set(AERR_PARSE, "checksum mismatch (damaged or truncated file)");
	off = sizeof(secrets_magic);
	if (body - off < 4)
		return err_set(AERR_PARSE, "truncated header");
	rec->kind = (enum secrets_kind)buf[off];
	rec->ek_alg = (TPMI_ALG_PUBLIC)(buf[off + 1] << 8 | buf[off + 2]);
	nlen = buf[off + 3];
	off += 4;
	if (nlen > SECRETS_NAME_MAX || nlen > body - off)
		return err_set(AERR_PARSE, "name length %zu out of range", nlen);
	memcpy(rec->name, buf + off, nlen);
	rec->name[nlen] = '\0';
	off += nlen;
	if (strcmp(rec->name, name) != 0)
		return err_set(AERR_PARSE, "holds secret '%s', not '%s'", rec->name, name);
	if (Tss2_MU_TPML_PCR_SELECTION_Unmarshal(buf, body, &off, &rec->sel) != TSS2_RC_SUCCESS)
		return err_set(AERR_PARSE, "PCR selection does not parse");
	if ((r = secrets_take_2b(buf, body, &off, rec->pub, sizeof(rec->pub), &rec->pub_len,
				 "public")) != 0 ||
	    (r = secrets_take_2b(buf, body, &off, rec->priv, sizeof(rec->priv), &rec->priv_len,
				 "private")) != 0)
		return r;
	if (off != body)
		return err_set(AERR_PARSE, "%zu bytes after the private area", body - off);
	if ((r = secrets_check_record(rec)) != 0)
		return err_set(AERR_PARSE, "%s", err_detail());
	return 0;
}

int secrets_load(const char *state_dir, const char *name, struct secrets_record *out)
{
	uint8_t buf[SECRETS_FILE_MAX + 1];
	char path[PATH_MAX];
	size_t len = 0;
	ssize_t n;
	int fd = -1, r;

	memset(out, 0, sizeof(*out));
	if ((r = secrets_name_check(name)) != 0 ||
	    (r = secrets_path(path, sizeof(path), state_dir, name)) != 0)
		goto out;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = errno == ENOENT ? err_set(AERR_NOT_FOUND, "no secret named '%s' in %s/%s", name,
					      state_dir, SECRETS_DIR)
				    : err_set(AERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (len < sizeof(buf)) {
		if ((n = read(fd, buf + len, sizeof(buf) - len)) < 0) {
			if (errno == EINTR)
				continue;
			r = err_set(AERR_IO, "read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SECRETS_FILE_MAX) {
		r = err_set(AERR_PARSE, "%s: larger than any secret record", path);
		goto out;
	}
	if ((r = secrets_parse(buf, len, name, out)) != 0) {
		r = err_wrap(AERR_PARSE, path);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

static int secrets_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void secrets_list_free(char **names, size_t count)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int secrets_list(const char *state_dir, char ***names, size_t *count)
{
	char dir[PATH_MAX];
	DIR *d = NULL;
	struct dirent *e;
	char **v = NULL, **nv;
	size_t n = 0, cap = 0;
	int r;

	*names = NULL;
	*count = 0;
	if ((r = secrets_path(dir, sizeof(dir), state_dir, NULL)) != 0)
		goto out;
	if (!(d = opendir(dir))) {
		r = errno == ENOENT ? 0 : err_set(AERR_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((e = readdir(d))) {
		/* temporaries start with '.', which no valid name does */
		if (secrets_name_check(e->d_name) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				r = err_set(AERR_ALLOC, "secret list");
				goto out;
			}
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name))) {
			r = err_set(AERR_ALLOC, "secret list");
			goto out;
		}
		n++;
	}
	err_clear();
	if (n)
		qsort(v, n, sizeof(*v), secrets_cmp);
	*names = v;
	*count = n;
	v = NULL; /* transferred */
	r = 0;
out:
	if (d)
		closedir(d);
	secrets_list_free(v, n);
	return r;
}
