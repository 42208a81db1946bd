#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "target.h"

/* The host in its one spelling into out (cap bytes): an IPv6 address as
 * inet_ntop writes it (its zone, an interface name, as written); an IPv4
 * address in any form the resolver takes ("127.1", "0x7f.0.0.1") as a
 * dotted quad; a name lower-cased, without a trailing dot. 0, or -1 when
 * it is none of these. */
static int target_host(const char *h, size_t n, char *out, size_t cap)
{
	char buf[TARGET_MAX], text[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	const char *zone;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (buf[0] == '[') {
		char *pct;

		if (n < 3 || buf[n - 1] != ']')
			return -1;
		buf[n - 1] = '\0';
		zone = "";
		if ((pct = strchr(buf + 1, '%'))) {
			*pct = '\0';
			zone = pct + 1;
			if (!*zone)
				return -1;
			for (const char *z = zone; *z; z++)
				if (!isalnum((unsigned char)*z) && *z != '-' && *z != '_' && *z != '.')
					return -1;
		}
		if (inet_pton(AF_INET6, buf + 1, &a6) != 1 || !inet_ntop(AF_INET6, &a6, text, sizeof(text)))
			return -1;
		return snprintf(out, cap, "[%s%s%s]", text, *zone ? "%" : "", zone) < (int)cap ? 0 : -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)buf[i]) && buf[i] != '-' && buf[i] != '.' && buf[i] != '_')
			return -1;
	if (inet_aton(buf, &a4))
		return snprintf(out, cap, "%s", inet_ntoa(a4)) < (int)cap ? 0 : -1;
	if (n > 1 && buf[n - 1] == '.')
		buf[--n] = '\0';
	if (buf[0] == '.' || strstr(buf, ".."))
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	return snprintf(out, cap, "%s", buf) < (int)cap ? 0 : -1;
}

int target_canonical(const char *in, char out[TARGET_MAX])
{
	const char *colon = in ? strrchr(in, ':') : NULL;
	size_t hn, pn, len;
	unsigned long port = 0;

	out[0] = '\0';
	if (!colon)
		return err_set(AERR_INVALID_ARG, "target '%.64s' is not HOST:PORT", in ? in : "");
	hn = (size_t)(colon - in);
	pn = strlen(colon + 1);
	if (pn == 0 || pn > 5 || colon[1] == '0')
		return err_set(AERR_INVALID_ARG, "target '%.64s': the port is 1..65535 in decimal, without "
			       "leading zeros", in);
	for (size_t i = 1; i <= pn; i++) {
		if (!isdigit((unsigned char)colon[i]))
			return err_set(AERR_INVALID_ARG, "target '%.64s': the port is 1..65535 in decimal", in);
		port = port * 10 + (unsigned long)(colon[i] - '0');
	}
	if (port > 65535)
		return err_set(AERR_INVALID_ARG, "target '%.64s': the port is 1..65535", in);
	if (hn + 1 + pn >= TARGET_MAX)
		return err_set(AERR_INVALID_ARG, "a target has at most %d characters", TARGET_MAX - 1);
	if (target_host(in, hn, out, TARGET_MAX) != 0) {
		out[0] = '\0';
		return err_set(AERR_INVALID_ARG, "target '%.64s': the host is not a name, an IPv4 address or "
			       "[an IPv6 address]", in);
	}
	len = strlen(out);
	if (snprintf(out + len, TARGET_MAX - len, ":%lu", port) >= (int)(TARGET_MAX - len)) {
		out[0] = '\0';
		return err_set(AERR_INVALID_ARG, "a target has at most %d characters", TARGET_MAX - 1);
	}
	return 0;
}

int target_listed(const char *target, char *const *targets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(target, targets[i]))
			return 1;
	return 0;
}
