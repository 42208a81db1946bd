/* The number of elements of an array. Not of a pointer: that would be the
 * pointer's size over the element's, and -Wsizeof-pointer-div (in -Wall)
 * refuses it. */
#ifndef ATTEST_ARRAY_H
#define ATTEST_ARRAY_H

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
