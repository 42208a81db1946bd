/* Configuration values, parsed alike by the attestor's and the verifier's
 * config loaders. Both return 0, or -1 when v is not such a value. */
#ifndef ATTEST_CONF_H
#define ATTEST_CONF_H

/* true/yes/on/1 or false/no/off/0. */
int conf_bool(const char *v, int *out);

/* Decimal digits only (no sign, no space), min <= value <= max. */
int conf_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out);

#endif
