/* SPDX-License-Identifier: MIT */
/* Socket addresses and CIDR prefixes: parsing, printing, matching. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"

/* Decimal port 1..65535, nothing else. */
static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* A numeric IPv6 address with an optional %scope (interface name or index). */
static int parse_ip6(struct sockaddr_in6 *sin6, const char *s)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *pct;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	pct = strchr(buf, '%');
	if (pct) {
		char *end;
		unsigned long idx;

		*pct++ = '\0';
		if (!*pct)
			return -EINVAL;
		idx = strtoul(pct, &end, 10);
		if (*end || idx > UINT32_MAX)
			idx = if_nametoindex(pct);
		if (idx == 0)
			return -EINVAL;
		sin6->sin6_scope_id = (uint32_t)idx;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
		return -EINVAL;
	return 0;
}

int addr_parse(struct addr *out, const char *text, uint16_t default_port)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *port = NULL, *colon;
	uint16_t p = default_port;
	struct addr a;
	size_t hlen;

	if (!out || !text)
		return -EINVAL;
	memset(&a, 0, sizeof(a));

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close)
			return -EINVAL;
		hlen = (size_t)(close - text - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		/* Brackets are for IPv6 only. */
		if (!strchr(host, ':'))
			return -EINVAL;
	} else {
		colon = strchr(text, ':');
		/* One colon separates a port; more than one is a bare IPv6 address. */
		if (colon && !strchr(colon + 1, ':')) {
			hlen = (size_t)(colon - text);
			port = colon + 1;
		} else {
			hlen = strlen(text);
		}
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hlen);
		host[hlen] = '\0';
	}

	/* An explicit port must be 1..65535; default_port 0 lets callers parse
	 * a bare address. */
	if (port && parse_port(port, &p) < 0)
		return -EINVAL;

	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

		if (parse_ip6(sin6, host) < 0)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		a.len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		a.len = sizeof(*sin);
	}
	*out = a;
	return 0;
}

const char *addr_ip_str(const struct addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!buf || len == 0)
		return "";
	buf[0] = '\0';
	if (!a)
		return buf;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

		if (inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)))
			snprintf(buf, len, "%s", ip);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
		char ifname[IF_NAMESIZE];

		if (!inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip)))
			return buf;
		if (sin6->sin6_scope_id == 0)
			snprintf(buf, len, "%s", ip);
		else if (if_indextoname(sin6->sin6_scope_id, ifname))
			snprintf(buf, len, "%s%%%s", ip, ifname);
		else
			snprintf(buf, len, "%s%%%u", ip, (unsigned)sin6->sin6_scope_id);
	}
	return buf;
}

const char *addr_str(const struct addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];

	if (!buf || len == 0)
		return "";
	buf[0] = '\0';
	if (!a)
		return buf;
	addr_ip_str(a, ip, sizeof(ip));
	if (a->ss.ss_family == AF_INET)
		snprintf(buf, len, "%s:%u", ip, (unsigned)addr_port(a));
	else if (a->ss.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, (unsigned)addr_port(a));
	return buf;
}

uint16_t addr_port(const struct addr *a)
{
	if (!a)
		return 0;
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}

bool addr_is_loopback(const struct addr *a)
{
	if (!a)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(in6) ||
		       (IN6_IS_ADDR_V4MAPPED(in6) && in6->s6_addr[12] == 127);
	}
	return false;
}

bool addr_is_any(const struct addr *a)
{
	if (!a)
		return false;
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return false;
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	if (!a || !b || a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

/* Clear the bits past the prefix, so matching compares whole bytes. */
static void mask_bytes(uint8_t *b, size_t n, unsigned prefix)
{
	for (size_t i = 0; i < n; i++) {
		unsigned bits = prefix > i * 8 ? prefix - (unsigned)i * 8 : 0;

		if (bits < 8)
			b[i] &= (uint8_t)(0xff00u >> bits);
	}
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

int cidr_parse(struct cidr *out, const char *text)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	struct cidr c;
	unsigned max, prefix;
	size_t hlen;

	if (!out || !text)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	slash = strchr(text, '/');
	hlen = slash ? (size_t)(slash - text) : strlen(text);
	if (hlen == 0 || hlen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, hlen);
	buf[hlen] = '\0';

	if (inet_pton(AF_INET, buf, c.bytes) == 1) {
		c.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c.bytes) == 1) {
		c.family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}

	prefix = max;
	if (slash) {
		const char *p = slash + 1;

		if (!*p || strlen(p) > 3)
			return -EINVAL;
		prefix = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max)
			return -EINVAL;
	}

	/* ::ffff:a.b.c.d/96+ is an IPv4 prefix written the IPv6 way. */
	if (c.family == AF_INET6 && prefix >= 96 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)c.bytes)) {
		memmove(c.bytes, c.bytes + 12, 4);
		memset(c.bytes + 4, 0, 12);
		c.family = AF_INET;
		prefix -= 96;
	}
	c.prefix = (uint8_t)prefix;
	mask_bytes(c.bytes, sizeof(c.bytes), prefix);
	*out = c;
	return 0;
}

bool cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	if (!c || !sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		return c->family == AF_INET &&
		       prefix_equal(c->bytes, (const uint8_t *)&sin->sin_addr, c->prefix);
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (c->family == AF_INET6)
			return prefix_equal(c->bytes, in6->s6_addr, c->prefix);
		/* A dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d. */
		if (c->family == AF_INET && IN6_IS_ADDR_V4MAPPED(in6))
			return prefix_equal(c->bytes, in6->s6_addr + 12, c->prefix);
	}
	return false;
}
