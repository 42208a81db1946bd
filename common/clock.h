/* The clocks, read one way everywhere: the monotonic clock for durations
 * and deadlines, the wall clock (ms since the epoch) for what is stored or
 * shown. */
#ifndef ATTEST_CLOCK_H
#define ATTEST_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds, milliseconds, seconds. */
uint64_t clock_mono_ns(void);
uint64_t clock_mono_ms(void);
double clock_mono_s(void);

/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t clock_wall_ms(void);

#endif
