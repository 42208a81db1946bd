/* What every harness shares: quiet logs, in-memory files, input splitting. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"

#define FUZZ_SLOTS 4

void fuzz_quiet(void)
{
	/* ATTEST_LOG_LEVEL=debug still works for reproducing one input. */
	const char *env = getenv("ATTEST_LOG_LEVEL");

	if (!env || log_level_parse(env) < 0)
		log_set_level(LOG_LEVEL_ERROR);
}

const char *fuzz_memfile(int slot, const uint8_t *data, size_t size)
{
	static int fds[FUZZ_SLOTS] = { -1, -1, -1, -1 };
	static char paths[FUZZ_SLOTS][64];
	size_t done = 0;

	if (slot < 0 || slot >= FUZZ_SLOTS)
		return NULL;
	if (fds[slot] < 0) {
		if ((fds[slot] = memfd_create("fuzz", 0)) < 0)
			return NULL;
		snprintf(paths[slot], sizeof(paths[slot]), "/proc/self/fd/%d", fds[slot]);
	}
	if (ftruncate(fds[slot], 0) != 0)
		return NULL;
	while (done < size) {
		ssize_t n = pwrite(fds[slot], data + done, size - done, (off_t)done);
		if (n <= 0)
			return NULL;
		done += (size_t)n;
	}
	return paths[slot];
}

static char fuzz_dir[64];

static void fuzz_tmpdir_remove(void)
{
	char cmd[128];

	/* Only the directory this process made, by its exact name. */
	if (fuzz_dir[0] && strncmp(fuzz_dir, "/tmp/attest-fuzz.", 17) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", fuzz_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir);
	}
}

const char *fuzz_tmpdir(void)
{
	if (!fuzz_dir[0]) {
		strcpy(fuzz_dir, "/tmp/attest-fuzz.XXXXXX");
		if (!mkdtemp(fuzz_dir)) {
			fuzz_dir[0] = '\0';
			return NULL;
		}
		atexit(fuzz_tmpdir_remove);
	}
	return fuzz_dir;
}

size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t max)
{
	static const uint8_t sep[4] = { 'F', 'U', 'Z', 'Z' };
	size_t n = 0, start = 0, i = 0;

	if (max == 0)
		return 0;
	while (n + 1 < max && size >= 4 && i <= size - 4) {
		if (memcmp(data + i, sep, 4) == 0) {
			parts[n] = data + start;
			lens[n++] = i - start;
			i += 4;
			start = i;
		} else {
			i++;
		}
	}
	parts[n] = data + start;
	lens[n++] = size - start;
	return n;
}
