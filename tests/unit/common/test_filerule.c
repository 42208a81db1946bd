/* filerule: who may change the files the daemons trust. Each refusal names
 * the file or the directory above it that someone else could change, its
 * owner and mode, and why. Made in a directory of this test (mode 0700)
 * under the fixture's temporary directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "filerule.h"
#include "fixtures.h"

#define NOBODY 65534

static char dir[256];

static const char *at(const char *name)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void make(const char *name, mode_t mode)
{
	FILE *f = fopen(at(name), "w");

	assert_non_null(f);
	fputs("trusted\n", f);
	fclose(f);
	assert_int_equal(chmod(at(name), mode), 0);
}

static int setup(void **state)
{
	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "filerule");
	assert_int_equal(chmod(dir, 0700), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
	return 0;
}

static void refused(int r, const char *what, const char *needle)
{
	assert_int_equal(r, AERR_CONFIG);
	if (!strstr(err_detail(), what) || !strstr(err_detail(), needle) || !strstr(err_detail(), "chown "))
		fail_msg("detail '%s' lacks '%s' or '%s'", err_detail(), what, needle);
}

static void test_file_modes(void **state)
{
	(void)state;
	make("verifier.conf", 0644);
	assert_int_equal(filerule_anchor("configuration", at("verifier.conf")), 0);
	assert_int_equal(chmod(at("verifier.conf"), 0664), 0);
	refused(filerule_anchor("configuration", at("verifier.conf")), "configuration ", " 0664: its group can change it");
	assert_int_equal(chmod(at("verifier.conf"), 0646), 0);
	refused(filerule_anchor("configuration", at("verifier.conf")), at("verifier.conf"), "other users can change it");
	assert_int_equal(filerule_anchor("configuration", at("none.conf")), AERR_NOT_FOUND);
}

/* A directory above the file that others may write: they could replace
 * the file. Sticky (as /tmp) it is fine: entries stay their owners'. */
static void test_parents(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at("etc"), 0755), 0);
	make("etc/ca.pem", 0644);
	assert_int_equal(filerule_anchor("TLS CA", at("etc/ca.pem")), 0);
	assert_int_equal(chmod(at("etc"), 0777), 0);
	refused(filerule_anchor("TLS CA", at("etc/ca.pem")), "directory ", "other users can change it");
	assert_non_null(strstr(err_detail(), "could replace what it holds"));
	assert_int_equal(chmod(at("etc"), 01777), 0);
	assert_int_equal(filerule_anchor("TLS CA", at("etc/ca.pem")), 0);
	assert_int_equal(chmod(at("etc"), 0775), 0);
	refused(filerule_parents("TLS key", at("etc/ca.pem")), "TLS key ", "its group can change it");
}

/* ek_roots: the directory and every file in it; a link counts where it
 * points, with the directories above its target. */
static void test_directory(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at("roots"), 0755), 0);
	make("roots/a.pem", 0644);
	make("roots/b.pem", 0644);
	assert_int_equal(filerule_anchor("ek_roots", at("roots")), 0);
	assert_int_equal(chmod(at("roots/b.pem"), 0666), 0);
	refused(filerule_anchor("ek_roots", at("roots")), "file ", "other users can change it");
	assert_non_null(strstr(err_detail(), "roots/b.pem"));
	assert_int_equal(chmod(at("roots/b.pem"), 0644), 0);

	assert_int_equal(mkdir(at("open"), 0777), 0);
	assert_int_equal(chmod(at("open"), 0777), 0);
	make("open/c.pem", 0644);
	assert_int_equal(symlink(at("open/c.pem"), at("roots/c.pem")), 0);
	refused(filerule_anchor("ek_roots", at("roots")), "ek_roots ", "other users can change it");
	assert_non_null(strstr(err_detail(), "/open "));
	assert_int_equal(unlink(at("roots/c.pem")), 0);
	assert_int_equal(filerule_anchor("ek_roots", at("roots")), 0);
	assert_int_equal(chmod(at("roots"), 0770), 0);
	refused(filerule_anchor("ek_roots", at("roots")), "ek_roots ", "its group can change it");
}

/* A state directory not made yet: the nearest one that exists counts. */
static void test_state_dir(void **state)
{
	(void)state;
	assert_int_equal(filerule_dir("state_dir", at("state/sub")), 0);
	assert_int_equal(mkdir(at("state"), 0700), 0);
	assert_int_equal(filerule_dir("state_dir", at("state")), 0);
	assert_int_equal(chmod(at("state"), 0707), 0);
	refused(filerule_dir("state_dir", at("state/sub")), "state_dir ", "other users can change it");
}

/* The trusted directory itself gets no sticky leave (anyone may add an
 * entry to it), nor does the directory a state directory would be made in. */
static void test_sticky_anchor(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at("roots"), 0755), 0);
	make("roots/a.pem", 0644);
	assert_int_equal(chmod(at("roots"), 01777), 0);
	refused(filerule_anchor("ek_roots", at("roots")), "ek_roots ", " 1777: other users can change it");
	assert_int_equal(mkdir(at("tmp"), 0755), 0);
	assert_int_equal(chmod(at("tmp"), 01777), 0);
	refused(filerule_dir("state_dir", at("tmp/state")), "state_dir ", "other users can change it");
	/* Made, or found there: someone else's, or one others can write, is refused. */
	assert_int_equal(mkdir(at("tmp/state"), 0700), 0);
	assert_int_equal(filerule_made_dir("state_dir", at("tmp/state")), 0);
	assert_int_equal(chmod(at("tmp/state"), 0777), 0);
	refused(filerule_made_dir("state_dir", at("tmp/state")), "state_dir ", "other users can change it");
	assert_int_equal(symlink(at("roots"), at("tmp/link")), 0);
	assert_int_equal(filerule_made_dir("state_dir", at("tmp/link")), AERR_CONFIG);
}

/* A link kept in a directory off the resolved chain, which others may
 * write: they could point the path elsewhere. */
static void test_link_directory(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at("etc"), 0755), 0);
	make("etc/verifier.conf", 0644);
	assert_int_equal(mkdir(at("home"), 0755), 0);
	assert_int_equal(symlink(at("etc/verifier.conf"), at("home/conf")), 0);
	assert_int_equal(filerule_anchor("configuration", at("home/conf")), 0);
	assert_int_equal(chmod(at("home"), 0777), 0);
	refused(filerule_anchor("configuration", at("home/conf")), "configuration ", "directory ");
	assert_non_null(strstr(err_detail(), "/home "));
	/* A link to a link: the second one's directory counts as well. */
	assert_int_equal(chmod(at("home"), 0755), 0);
	assert_int_equal(mkdir(at("open"), 0777), 0);
	assert_int_equal(chmod(at("open"), 0777), 0);
	assert_int_equal(symlink(at("etc/verifier.conf"), at("open/conf")), 0);
	assert_int_equal(symlink(at("open/conf"), at("home/conf2")), 0);
	refused(filerule_anchor("configuration", at("home/conf2")), "configuration ", "/open ");
	/* A relative link resolves against its own directory. */
	assert_int_equal(symlink("../etc/verifier.conf", at("home/rel")), 0);
	assert_int_equal(filerule_anchor("configuration", at("home/rel")), 0);
}

static void test_owner(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		print_message("not root: no other owner to give a file to, not run\n");
		return;
	}
	make("policy.json", 0644);
	assert_int_equal(chown(at("policy.json"), NOBODY, NOBODY), 0);
	refused(filerule_anchor("boot_policy", at("policy.json")), "boot_policy ",
		"its owner is neither root nor this program's user");
	/* A link someone else owns could be pointed elsewhere by them. */
	assert_int_equal(chown(at("policy.json"), 0, 0), 0);
	assert_int_equal(symlink(at("policy.json"), at("link.json")), 0);
	assert_int_equal(filerule_anchor("boot_policy", at("link.json")), 0);
	assert_int_equal(lchown(at("link.json"), NOBODY, NOBODY), 0);
	refused(filerule_anchor("boot_policy", at("link.json")), "symbolic link ",
		"its owner is neither root nor this program's user");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_anchor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
