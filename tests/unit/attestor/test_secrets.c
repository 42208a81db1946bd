/* Secret store: round trip, modes, atomic replacement, names, damaged files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "array.h"
#include "fixtures.h"
#include "secrets.h"

struct ctx {
	char dir[128];          /* state_dir (does not exist yet) */
	char root[64];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	fixture_tmpdir(c->root, sizeof(c->root), "test_secrets");
	snprintf(c->dir, sizeof(c->dir), "%s/state", c->root);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fixture_rmtree(c->root);
	free(c);
	return 0;
}

/* A record with random blobs shaped as TPM2Bs (the store does not look
 * inside them beyond their size fields). */
static void make_record(struct secrets_record *r, const char *name, enum secrets_kind kind)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->kind = kind;
	r->ek_alg = TPM2_ALG_ECC;
	r->sel.count = 2;
	r->sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
	r->sel.pcrSelections[0].sizeofSelect = 3;
	r->sel.pcrSelections[0].pcrSelect[0] = 0x8f;
	r->sel.pcrSelections[1].hash = TPM2_ALG_SHA1;
	r->sel.pcrSelections[1].sizeofSelect = 3;
	r->sel.pcrSelections[1].pcrSelect[2] = 0x01;
	r->pub_len = 2 + 90;
	r->pub[0] = 0;
	r->pub[1] = 90;
	assert_int_equal(RAND_bytes(r->pub + 2, 90), 1);
	r->priv_len = 2 + 300;
	r->priv[0] = 300 >> 8;
	r->priv[1] = 300 & 0xff;
	assert_int_equal(RAND_bytes(r->priv + 2, 300), 1);
}

static void assert_same(const struct secrets_record *a, const struct secrets_record *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->ek_alg, b->ek_alg);
	assert_memory_equal(&a->sel, &b->sel, sizeof(a->sel));
	assert_int_equal(a->pub_len, b->pub_len);
	assert_memory_equal(a->pub, b->pub, a->pub_len);
	assert_int_equal(a->priv_len, b->priv_len);
	assert_memory_equal(a->priv, b->priv, a->priv_len);
}

static void record_path(const struct ctx *c, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s/%s", c->dir, SECRETS_DIR, name);
}

static void test_round_trip_and_modes(void **state)
{
	struct ctx *c = *state;
	struct secrets_record a, b, got;
	char path[PATH_MAX], **names = NULL;
	size_t n = 0;
	struct stat st;

	make_record(&a, "disk-key", SECRETS_KIND_AES256);
	make_record(&b, "tls.signer_1", SECRETS_KIND_RSA);
	b.ek_alg = TPM2_ALG_RSA;
	assert_int_equal(secrets_store(c->dir, &a), 0);
	assert_int_equal(secrets_store(c->dir, &b), 0);
	assert_int_equal(secrets_load(c->dir, "disk-key", &got), 0);
	assert_same(&a, &got);
	assert_int_equal(secrets_load(c->dir, "tls.signer_1", &got), 0);
	assert_same(&b, &got);

	snprintf(path, sizeof(path), "%s/%s", c->dir, SECRETS_DIR);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	record_path(c, "disk-key", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(secrets_list(c->dir, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "disk-key");
	assert_string_equal(names[1], "tls.signer_1");
	secrets_list_free(names, n);

	assert_int_equal(secrets_load(c->dir, "absent", &got), AERR_NOT_FOUND);
	assert_non_null(strstr(err_detail(), "no secret named 'absent'"));
}

/* A secrets directory that others can enter is narrowed on the next store. */
static void test_dir_narrowed(void **state)
{
	struct ctx *c = *state;
	struct secrets_record a;
	char path[PATH_MAX];
	struct stat st;

	make_record(&a, "k", SECRETS_KIND_AES256);
	assert_int_equal(secrets_store(c->dir, &a), 0);
	snprintf(path, sizeof(path), "%s/%s", c->dir, SECRETS_DIR);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(secrets_store(c->dir, &a), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

/* Replacement by rename: while a child rewrites the record over and over,
 * every read sees one complete version (old or new), never a mix or a
 * partial file, and no temporary file is left at the end. */
static void test_atomic_replace(void **state)
{
	struct ctx *c = *state;
	struct secrets_record a, b, got;
	char path[PATH_MAX];
	int i, reads_a = 0, reads_b = 0, status = 0;
	pid_t pid;
	DIR *d;
	struct dirent *e;

	make_record(&a, "rotating", SECRETS_KIND_AES256);
	make_record(&b, "rotating", SECRETS_KIND_AES256);
	b.priv_len = 2 + 200; /* a different length too */
	b.priv[0] = 0;
	b.priv[1] = 200;
	assert_int_equal(secrets_store(c->dir, &a), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (i = 0; i < 300; i++)
			if (secrets_store(c->dir, i % 2 ? &a : &b) != 0)
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < 3000; i++) {
		assert_int_equal(secrets_load(c->dir, "rotating", &got), 0);
		if (got.priv_len == a.priv_len && memcmp(got.priv, a.priv, a.priv_len) == 0)
			reads_a++;
		else if (got.priv_len == b.priv_len && memcmp(got.priv, b.priv, b.priv_len) == 0)
			reads_b++;
		else
			fail_msg("read a record that is neither version");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(reads_a + reads_b, 3000);
	snprintf(path, sizeof(path), "%s/%s", c->dir, SECRETS_DIR);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)))
		assert_true(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
			    !strcmp(e->d_name, "rotating"));
	closedir(d);
}

static void test_names(void **state)
{
	struct ctx *c = *state;
	static const char *const bad[] = {
		"", ".", "..", "../x", "a/b", ".hidden", "-dash", "x y", "tab\t", "caf\xc3\xa9",
		"semi;colon", "a\\b",
		"a2345678901234567890123456789012345678901234567890123456789012345", /* 65 */
	};
	static const char *const good[] = {
		"a", "A.b-c_d", "9", "a234567890123456789012345678901234567890123456789012345678901234", /* 64 */
	};
	struct secrets_record r, got;
	char **names = NULL;
	size_t i, n = 0;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(secrets_name_check(bad[i]), AERR_INVALID_ARG);
		assert_non_null(strstr(err_detail(), "secret name"));
		make_record(&r, "x", SECRETS_KIND_AES256);
		snprintf(r.name, sizeof(r.name), "%s", bad[i]);
		if (strlen(bad[i]) <= SECRETS_NAME_MAX)
			assert_int_equal(secrets_store(c->dir, &r), AERR_INVALID_ARG);
		assert_int_equal(secrets_load(c->dir, bad[i], &got), AERR_INVALID_ARG);
	}
	assert_int_equal(secrets_name_check(NULL), AERR_INVALID_ARG);
	for (i = 0; i < ARRAY_LEN(good); i++)
		assert_int_equal(secrets_name_check(good[i]), 0);
	/* nothing was written by the refused stores */
	assert_int_equal(secrets_list(c->dir, &names, &n), 0);
	assert_int_equal(n, 0);
	secrets_list_free(names, n);
}

static void test_bad_records_refused(void **state)
{
	struct ctx *c = *state;
	struct secrets_record r;

	make_record(&r, "k", 7);
	assert_int_equal(secrets_store(c->dir, &r), AERR_INVALID_ARG);
	make_record(&r, "k", SECRETS_KIND_RSA);
	r.ek_alg = TPM2_ALG_SHA256;
	assert_int_equal(secrets_store(c->dir, &r), AERR_INVALID_ARG);
	make_record(&r, "k", SECRETS_KIND_RSA);
	r.priv_len = 0;
	assert_int_equal(secrets_store(c->dir, &r), AERR_INVALID_ARG);
	make_record(&r, "k", SECRETS_KIND_RSA);
	r.sel.count = 0;
	assert_int_equal(secrets_store(c->dir, &r), AERR_INVALID_ARG);
}

static uint8_t *read_record(const char *path, size_t *len)
{
	uint8_t *buf = fixture_read(path, len);

	assert_non_null(buf);
	return buf;
}

static void write_raw(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Every flipped byte, every truncation, an appended byte: AERR_PARSE with
 * the path and a reason; the intact record loads again afterwards. */
static void test_corrupt(void **state)
{
	struct ctx *c = *state;
	struct secrets_record r, got;
	char path[PATH_MAX], other[PATH_MAX];
	uint8_t *good, *bad;
	size_t len, i;

	make_record(&r, "victim", SECRETS_KIND_RSA);
	assert_int_equal(secrets_store(c->dir, &r), 0);
	record_path(c, "victim", path, sizeof(path));
	good = read_record(path, &len);
	assert_non_null(bad = malloc(len + 1));
	for (i = 0; i < len; i++) {
		memcpy(bad, good, len);
		bad[i] ^= 0x01;
		write_raw(path, bad, len);
		assert_int_equal(secrets_load(c->dir, "victim", &got), AERR_PARSE);
		assert_non_null(strstr(err_detail(), path));
		assert_int_equal(got.priv_len, 0);
	}
	assert_non_null(strstr(err_detail(), "checksum mismatch"));
	for (i = 0; i < len; i += 7) {
		write_raw(path, good, i);
		assert_int_equal(secrets_load(c->dir, "victim", &got), AERR_PARSE);
	}
	memcpy(bad, good, len);
	bad[len] = 0;
	write_raw(path, bad, len + 1);
	assert_int_equal(secrets_load(c->dir, "victim", &got), AERR_PARSE);
	memcpy(bad, good, len);
	bad[0] = 'X';
	write_raw(path, bad, len);
	assert_int_equal(secrets_load(c->dir, "victim", &got), AERR_PARSE);
	assert_non_null(strstr(err_detail(), "bad magic"));

	/* a valid record under another file name is not that secret */
	record_path(c, "renamed", other, sizeof(other));
	write_raw(other, good, len);
	assert_int_equal(secrets_load(c->dir, "renamed", &got), AERR_PARSE);
	assert_non_null(strstr(err_detail(), "holds secret 'victim'"));

	write_raw(path, good, len);
	assert_int_equal(secrets_load(c->dir, "victim", &got), 0);
	assert_same(&r, &got);
	free(good);
	free(bad);
}

static void test_write_file(void **state)
{
	struct ctx *c = *state;
	char path[PATH_MAX];
	const uint8_t data[] = { 1, 2, 3, 0, 4 };
	uint8_t *back;
	size_t len = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/key.bin", c->root);
	write_raw(path, (const uint8_t *)"old old old", 11);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(secrets_write_file(path, data, sizeof(data)), 0);
	back = read_record(path, &len);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(back, data, len);
	free(back);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/no/such/dir/key.bin", c->root);
	assert_int_equal(secrets_write_file(path, data, sizeof(data)), AERR_IO);
	assert_non_null(strstr(err_detail(), "no/such/dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_and_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_narrowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_records_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
