/* JSON text out, for the commands and benchmarks that print their own
 * (hostnames and reasons come from elsewhere: always escaped). */
#ifndef ATTEST_JSONOUT_H
#define ATTEST_JSONOUT_H

#include <stdio.h>

/* s as a JSON string, quotes included; control bytes as \uXXXX. */
void jsonout_str(FILE *f, const char *s);

#endif
