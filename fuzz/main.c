/* libFuzzer entry points for one target, named at compile time by
 * FUZZ_TARGET (fuzz/CMakeLists.txt builds one binary per target). */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name a target"
#endif

#define FUZZ_CAT2(a, b) a##b
#define FUZZ_CAT(a, b) FUZZ_CAT2(a, b)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (FUZZ_CAT(FUZZ_CAT(fuzz_, FUZZ_TARGET), _init)() != 0) {
		fprintf(stderr, "fuzz: initialising the target failed\n");
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return FUZZ_CAT(fuzz_, FUZZ_TARGET)(data, size);
}
