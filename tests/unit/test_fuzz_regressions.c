/* Replays every input kept under fuzz/regressions/<target>/ (crashes the
 * fuzzers found, fixed since) and fuzz/seeds/<target>/ (hand-made seeds)
 * through the fuzz targets' own entry functions, so that what was fixed
 * stays fixed in the normal build and under ASan+UBSan. A regression that
 * comes back crashes this program or trips a FUZZ_CHECK (abort). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "array.h"
#include "file.h"
#include "fuzz.h"

static const char *const kinds[] = { "regressions", "seeds" };

static const struct fuzz_target *target_named(const char *name)
{
	for (const struct fuzz_target *t = fuzz_targets; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

/* Every directory under fuzz/regressions and fuzz/seeds names a target: a
 * misspelt one would silently never be replayed. */
static void test_dirs_name_targets(void **state)
{
	char path[1024];
	struct dirent *e;
	DIR *d;

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		snprintf(path, sizeof(path), "%s/%s", FUZZ_DIR, kinds[k]);
		assert_non_null(d = opendir(path));
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' || !strcmp(e->d_name, "README"))
				continue;
			if (!target_named(e->d_name))
				fail_msg("%s/%s is not a fuzz target", path, e->d_name);
		}
		closedir(d);
	}
}

/* Replays one directory; returns the number of inputs. */
static size_t replay_dir(const struct fuzz_target *t, const char *kind)
{
	char dir[1024], path[2048];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/%s", FUZZ_DIR, kind, t->name);
	if (!(d = opendir(dir)))
		return 0;
	while ((e = readdir(d))) {
		uint8_t *buf = NULL;
		size_t len = 0;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (file_read_all(path, 1u << 24, &buf, &len) != 0)
			fail_msg("cannot read %s", path);
		/* libFuzzer hands over a buffer of exactly len bytes: so do we. */
		uint8_t *exact = malloc(len ? len : 1);
		assert_non_null(exact);
		memcpy(exact, buf, len);
		free(buf);
		print_message("  %s %s\n", t->name, path + strlen(FUZZ_DIR) + 1);
		assert_int_equal(t->one(exact, len), 0);
		free(exact);
		n++;
	}
	closedir(d);
	return n;
}

static void test_replay(void **state)
{
	const struct fuzz_target *t = *state;
	size_t n = 0;

	assert_int_equal(t->init(), 0);
	for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
		n += replay_dir(t, kinds[k]);
	/* Every target ships with at least one hand-made seed or regression. */
	assert_true(n > 0);
	/* The empty input and a lone byte are the first things libFuzzer tries. */
	assert_int_equal(t->one((const uint8_t *)"", 0), 0);
	for (unsigned b = 0; b < 16; b++) {
		uint8_t one = (uint8_t)b;
		assert_int_equal(t->one(&one, 1), 0);
	}
}

/* fuzz_split, which the multi-part targets read their inputs with. */
static void test_split(void **state)
{
	const uint8_t *parts[3];
	size_t lens[3];
	static const uint8_t in[] = "keyFUZZvalueFUZZrestFUZZmore";

	(void)state;
	assert_int_equal(fuzz_split(in, sizeof(in) - 1, parts, lens, 3), 3);
	assert_int_equal(lens[0], 3);
	assert_memory_equal(parts[0], "key", 3);
	assert_int_equal(lens[1], 5);
	assert_memory_equal(parts[1], "value", 5);
	/* The last part takes the rest, separators included. */
	assert_int_equal(lens[2], 12);
	assert_memory_equal(parts[2], "restFUZZmore", 12);
	assert_int_equal(fuzz_split(in, 3, parts, lens, 3), 1);
	assert_int_equal(lens[0], 3);
	assert_int_equal(fuzz_split((const uint8_t *)"FUZZ", 4, parts, lens, 2), 2);
	assert_int_equal(lens[0], 0);
	assert_int_equal(lens[1], 0);
}

int main(void)
{
	struct CMUnitTest tests[32];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_dirs_name_targets);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split);
	for (const struct fuzz_target *t = fuzz_targets; t->name && n < ARRAY_LEN(tests); t++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_replay, (void *)t);
		tests[n++].name = t->name;
	}
	return _cmocka_run_group_tests("fuzz_regressions", tests, n, NULL, NULL);
}
