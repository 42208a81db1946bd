#include <stdint.h>
#include <sys/mman.h>

#include "hugepages.h"

#define HUGEPAGE_SIZE ((uintptr_t)2 << 20)
#define HUGEPAGES_MIN ((size_t)4 << 20)

void hugepages_advise(void *p, size_t len)
{
	uintptr_t from = ((uintptr_t)p + HUGEPAGE_SIZE - 1) & ~(HUGEPAGE_SIZE - 1);
	uintptr_t to = ((uintptr_t)p + len) & ~(HUGEPAGE_SIZE - 1);

	if (!p || len < HUGEPAGES_MIN || to <= from)
		return;
	/* EINVAL where THP is not built in: the pages stay small, nothing else changes. */
	(void)madvise((void *)from, to - from, MADV_HUGEPAGE);
}
