#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "pull/target.h"

/* A zone (after '%' in an IPv6 literal): an interface name, as written
 * (interface names are case-sensitive). Not a number: an index names the
 * same interface as its name, and may name another after a reboot. */
static int target_zone(const char *zone)
{
	int digits = 1;

	if (!*zone)
		return -1;
	for (const char *z = zone; *z; z++) {
		if (!isalnum((unsigned char)*z) && *z != '-' && *z != '_' && *z != '.')
			return -1;
		if (!isdigit((unsigned char)*z))
			digits = 0;
	}
	return digits ? -1 : 0;
}

/* A bracketed IPv6 literal (buf, its n bytes end in ']') in its one
 * spelling: as inet_ntop writes it; an IPv4-mapped one as the IPv4 address
 * it reaches; a zone only on a link-local address, where it means
 * something. */
static int target_ipv6(char *buf, size_t n, char *out, size_t cap)
{
	char text[INET6_ADDRSTRLEN], *pct;
	struct in6_addr a6;
	const char *zone = "";

	if (n < 3 || buf[n - 1] != ']')
		return -1;
	buf[n - 1] = '\0';
	if ((pct = strchr(buf + 1, '%'))) {
		*pct = '\0';
		zone = pct + 1;
		if (target_zone(zone) != 0)
			return -1;
	}
	if (inet_pton(AF_INET6, buf + 1, &a6) != 1)
		return -1;
	if (*zone && !IN6_IS_ADDR_LINKLOCAL(&a6) && !IN6_IS_ADDR_MC_LINKLOCAL(&a6))
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		struct in_addr a4;

		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		return snprintf(out, cap, "%s", inet_ntoa(a4)) < (int)cap ? 0 : -1;
	}
	if (!inet_ntop(AF_INET6, &a6, text, sizeof(text)))
		return -1;
	return snprintf(out, cap, "[%s%s%s]", text, *zone ? "%" : "", zone) < (int)cap ? 0 : -1;
}

/* The host in its one spelling into out (cap bytes): an IPv6 address as
 * target_ipv6 writes it; an IPv4 address in any form inet_aton takes
 * ("127.1", "0x7f.0.0.1") as a dotted quad; a name lower-cased. A name
 * with a trailing dot is refused: "db1." is absolute and "db1" is not
 * (search domains), so they are not one spelling, and keeping both would
 * give one host two targets. 0, or -1 when it is none of these. */
static int target_host(const char *h, size_t n, char *out, size_t cap)
{
	char buf[TARGET_MAX];
	struct in_addr a4;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (buf[0] == '[')
		return target_ipv6(buf, n, out, cap);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)buf[i]) && buf[i] != '-' && buf[i] != '.' && buf[i] != '_')
			return -1;
	if (inet_aton(buf, &a4))
		return snprintf(out, cap, "%s", inet_ntoa(a4)) < (int)cap ? 0 : -1;
	if (buf[0] == '.' || buf[n - 1] == '.' || strstr(buf, ".."))
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
		return err_set(AERR_INVALID_ARG, "target '%.64s': the host is not a name (without a trailing "
			       "dot), an IPv4 address or [an IPv6 address] (a zone, an interface name, only on a "
			       "link-local one)", in);
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
