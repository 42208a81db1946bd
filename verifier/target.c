#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "target.h"

/* A host name or IPv4 address: letters, digits, '-', '.', '_'; or an IPv6
 * address in brackets: hex digits, ':', '.', and after a '%' its zone (an
 * interface name). */
static int target_host_ok(const char *h, size_t n)
{
	if (n == 0)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 0;
		int zone = 0;

		for (size_t i = 1; i < n - 1; i++) {
			unsigned char c = (unsigned char)h[i];

			if (c == '%' && !zone)
				zone = 1;
			else if (zone ? !isalnum(c) && c != '-' && c != '_' && c != '.'
				      : !isxdigit(c) && c != ':' && c != '.')
				return 0;
		}
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return 0;
	return 1;
}

int target_canonical(const char *in, char out[TARGET_MAX])
{
	const char *colon = in ? strrchr(in, ':') : NULL;
	size_t hn, pn, i;
	unsigned long port = 0;

	out[0] = '\0';
	if (!colon)
		return err_set(AERR_INVALID_ARG, "target '%.64s' is not HOST:PORT", in ? in : "");
	hn = (size_t)(colon - in);
	pn = strlen(colon + 1);
	if (!target_host_ok(in, hn))
		return err_set(AERR_INVALID_ARG, "target '%.64s': the host is not a name, an IPv4 address or "
			       "[an IPv6 address]", in);
	if (pn == 0 || pn > 5 || colon[1] == '0')
		return err_set(AERR_INVALID_ARG, "target '%.64s': the port is 1..65535 in decimal, without "
			       "leading zeros", in);
	for (i = 1; i <= pn; i++) {
		if (!isdigit((unsigned char)colon[i]))
			return err_set(AERR_INVALID_ARG, "target '%.64s': the port is 1..65535 in decimal", in);
		port = port * 10 + (unsigned long)(colon[i] - '0');
	}
	if (port > 65535)
		return err_set(AERR_INVALID_ARG, "target '%.64s': the port is 1..65535", in);
	if (hn + 1 + pn >= TARGET_MAX)
		return err_set(AERR_INVALID_ARG, "a target has at most %d characters", TARGET_MAX - 1);
	for (i = 0; i < hn; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	snprintf(out + hn, TARGET_MAX - hn, ":%lu", port);
	return 0;
}

int target_listed(const char *target, char *const *targets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(target, targets[i]))
			return 1;
	return 0;
}
