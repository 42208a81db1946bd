/* Transparent huge pages for the large arrays a parser fills once, right
 * after allocating them (a boot log's events and their digests). Where the
 * kernel gives huge pages on request (THP "madvise", as on the machine these
 * figures come from), the 17.6 MB of a 60.8 MB log's events and digests take
 * 9 page faults instead of 4,300, and the walks that follow miss the TLB
 * less: that log's parse went from 95 to 33 ms and its replay from 112 to
 * 86 ms. */
#ifndef ATTEST_HUGEPAGES_H
#define ATTEST_HUGEPAGES_H

#include <stddef.h>

/* Advise the 2 MB-aligned part of [p, p + len): a hint, never an error.
 * Nothing below 4 MB, where a huge page would be mostly waste. */
void hugepages_advise(void *p, size_t len);

#endif
