/* keyfile: the ownership and mode rule for private key files. Each refusal
 * names the file, its owner and mode and what to make it. As root (CI) the
 * owner and group cases are made with chown; as another user only the mode
 * cases run (there is no other owner to give a file to). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "keyfile.h"
#include "fixtures.h"

#define NOBODY 65534

static char dir[256], key[300];

static int setup(void **state)
{
	FILE *f;

	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "keyfile");
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	f = fopen(key, "w");
	assert_non_null(f);
	fputs("not a real key\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
	return 0;
}

/* keyfile_check refuses with AERR_CONFIG, and its text has every part. */
static void refused(const char *mode_text, const char *why)
{
	assert_int_equal(keyfile_check("TLS key", key), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "TLS key "));
	assert_non_null(strstr(err_detail(), key));
	assert_non_null(strstr(err_detail(), mode_text));
	assert_non_null(strstr(err_detail(), why));
	assert_non_null(strstr(err_detail(), "make it root:"));
	assert_non_null(strstr(err_detail(), " 0640 (chown root:"));
}

static void test_modes(void **state)
{
	(void)state;
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(keyfile_check("TLS key", key), 0);
	assert_int_equal(chmod(key, 0400), 0);
	assert_int_equal(keyfile_check("TLS key", key), 0);
	/* Its group is this program's own (the file was made here). */
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(keyfile_check("TLS key", key), 0);

	assert_int_equal(chmod(key, 0644), 0);
	refused(" 0644: ", "other users can read or change it");
	assert_int_equal(chmod(key, 0602), 0);
	refused(" 0602: ", "other users can read or change it");
	assert_int_equal(chmod(key, 0660), 0);
	refused(" 0660: ", "its group can change it");
}

static void test_not_there(void **state)
{
	char path[400];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.key", dir);
	assert_int_equal(keyfile_check("TLS key", path), AERR_NOT_FOUND);
	assert_non_null(strstr(err_detail(), path));
	assert_int_equal(keyfile_check("TLS key", dir), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "not a regular file"));
}

static void test_owners(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		print_message("not root: owner and group cases need chown, not run\n");
		return;
	}
	assert_int_equal(chmod(key, 0640), 0);
	/* A group this program is not in can read it. */
	assert_int_equal(chown(key, 0, NOBODY), 0);
	refused(" 0640: ", "its group, not one of this program's, can read it");
	/* ... without the group's read bit, the group does not matter. */
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(keyfile_check("TLS key", key), 0);
	/* Another user owns it and could change it. */
	assert_int_equal(chown(key, NOBODY, 0), 0);
	refused(" 0600: ", "its owner is neither root nor this program's user");
}

/* As an unprivileged user (the daemon's, in its unit): root:root 0600 is
 * unreadable, and the message says which user could not read it. */
static void test_unreadable(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0) {
		print_message("not root: no other user to become, not run\n");
		return;
	}
	assert_int_equal(chown(key, 0, 0), 0);
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0 &&
			 keyfile_check("TLS key", key) == AERR_CONFIG &&
			 strstr(err_detail(), "this program runs as ") && strstr(err_detail(), "Permission denied");
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* An ACL that lets another user read a 0600 key (what `setfacl -m
 * u:nobody:r` writes: the kernel's posix_acl_xattr format, entries sorted
 * by tag): the mode then shows its mask, 0640, and the group is ours, so
 * only the ACL itself gives it away. Without the extra entry it is gone. */
static void test_acl(void **state)
{
	struct {
		uint16_t tag, perm;
		uint32_t id;
	} __attribute__((packed)) e[] = {
		{ 0x01, 6, UINT32_MAX },   /* ACL_USER_OBJ rw */
		{ 0x02, 4, NOBODY },       /* ACL_USER nobody r */
		{ 0x04, 0, UINT32_MAX },   /* ACL_GROUP_OBJ */
		{ 0x10, 4, UINT32_MAX },   /* ACL_MASK r */
		{ 0x20, 0, UINT32_MAX },   /* ACL_OTHER */
	};
	uint8_t acl[4 + sizeof(e)];
	uint32_t version = 2;      /* POSIX_ACL_XATTR_VERSION, little-endian as on x86 */
	struct stat st;

	(void)state;
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(keyfile_check("TLS key", key), 0);
	memcpy(acl, &version, 4);
	memcpy(acl + 4, e, sizeof(e));
	if (setxattr(key, "system.posix_acl_access", acl, sizeof(acl), 0) != 0)
		fail_msg("setxattr(system.posix_acl_access) on %s: %s (the test directory needs ACL support)", key,
			 strerror(errno));
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	refused(" 0640: ", "it carries a POSIX ACL (getfacl)");
	assert_non_null(strstr(err_detail(), "remove the ACL (setfacl -b "));
	assert_int_equal(removexattr(key, "system.posix_acl_access"), 0);
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(keyfile_check("TLS key", key), 0);
}

/* keyfile_read: the bytes of a file that passes, NUL-terminated; the
 * same refusals as keyfile_check, and none of a file beyond cap. */
static void test_read(void **state)
{
	uint8_t *buf = (uint8_t *)"untouched";
	size_t len = 1;

	(void)state;
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(keyfile_read("TLS key", key, 64, &buf, &len), 0);
	assert_int_equal(len, strlen("not a real key\n"));
	assert_string_equal((char *)buf, "not a real key\n");
	keyfile_free(buf, len);
	/* Exactly cap bytes is fine, one more is not. */
	assert_int_equal(keyfile_read("TLS key", key, len, &buf, &len), 0);
	keyfile_free(buf, len);
	assert_int_equal(keyfile_read("TLS key", key, len - 1, &buf, &len), AERR_TOO_LARGE);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_non_null(strstr(err_detail(), "larger than 14 bytes"));
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(keyfile_read("TLS key", key, 64, &buf, &len), AERR_CONFIG);
	assert_null(buf);
	assert_non_null(strstr(err_detail(), "other users can read or change it"));
}

/* A FIFO at the key's path is refused at once, not waited on. */
static void test_fifo(void **state)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(unlink(key), 0);
	assert_int_equal(mkfifo(key, 0600), 0);
	assert_int_equal(keyfile_check("TLS key", key), AERR_CONFIG);
	assert_non_null(strstr(err_detail(), "not a regular file"));
	assert_int_equal(keyfile_read("TLS key", key, 64, &buf, &len), AERR_CONFIG);
	assert_null(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_there, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owners, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
