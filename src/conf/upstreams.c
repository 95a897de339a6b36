/* SPDX-License-Identifier: MIT */
/* Default upstreams of `berth serve`: the nameservers in resolv.conf, minus berth's own listen
 * addresses, and those systemd-resolved asks when resolv.conf names only its stub. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/options.h"
#include "util/log.h"

static bool is_ip(const char *v)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

/* Is the address one of this host's interface addresses? */
static bool is_local(const struct addr *a)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		struct addr x = { .len = 0 };

		if (!i->ifa_addr || i->ifa_addr->sa_family != a->ss.ss_family)
			continue;
		if (a->ss.ss_family == AF_INET) {
			memcpy(&x.ss, i->ifa_addr, sizeof(struct sockaddr_in));
			((struct sockaddr_in *)&x.ss)->sin_port = htons(addr_port(a));
		} else {
			memcpy(&x.ss, i->ifa_addr, sizeof(struct sockaddr_in6));
			((struct sockaddr_in6 *)&x.ss)->sin6_port = htons(addr_port(a));
			((struct sockaddr_in6 *)&x.ss)->sin6_scope_id =
				((const struct sockaddr_in6 *)&a->ss)->sin6_scope_id;
		}
		found = addr_equal(&x, a);
	}
	freeifaddrs(ifs);
	return found;
}

/* Would a query sent to ns come back to berth itself? */
static bool is_self(const struct serve_conf *c, const struct addr *ns)
{
	for (size_t i = 0; i < c->nlisten; i++) {
		const struct addr *l = &c->listen[i];

		if (addr_equal(l, ns))
			return true;
		if (addr_port(l) != addr_port(ns))
			continue;
		/* 0.0.0.0 and :: as a nameserver mean this host. */
		if (addr_is_any(ns) && (addr_is_loopback(l) || addr_is_any(l)))
			return true;
		/* A wildcard listener answers on every local address, loopback too. */
		if (addr_is_any(l) && (addr_is_loopback(ns) || is_local(ns)))
			return true;
	}
	return false;
}

/* The address of a nameserver line: a bare IPv4 or IPv6 address, any
 * %scope ignored, port 53. */
static int parse_ns(struct addr *out, char *word)
{
	char *pct = strchr(word, '%');

	if (pct)
		*pct = '\0';
	if (!is_ip(word))
		return -EINVAL;
	return addr_parse(out, word, 53);
}

static size_t read_resolv(struct serve_conf *c, const char *path)
{
	char line[1024];
	FILE *f;

	if (!c || c->upstream_set || c->upstream_none)
		return c ? c->nupstream : 0;
	c->nupstream = 0;
	if (!path)
		path = c->resolv_conf ? c->resolv_conf : "/etc/resolv.conf";
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && c->nupstream < CONF_MAX_LISTEN) {
		char *save = NULL, *key, *word;
		struct addr ns;
		bool dup = false;
		int ch;

		/* Drop the rest of an overlong line rather than read it as a new one. */
		if (!strchr(line, '\n'))
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
		key = strtok_r(line, " \t\r\n", &save);
		if (!key || strcmp(key, "nameserver") != 0)
			continue;
		word = strtok_r(NULL, " \t\r\n#;", &save);
		if (!word || parse_ns(&ns, word) < 0 || is_self(c, &ns))
			continue;
		for (size_t i = 0; i < c->nupstream; i++)
			dup = dup || addr_equal(&c->upstream[i], &ns);
		if (!dup)
			c->upstream[c->nupstream++] = ns;
	}
	fclose(f);
	return c->nupstream;
}

/* One of systemd-resolved's stub listeners (127.0.0.53, 127.0.0.54)? */
static bool is_resolved_stub(const struct addr *a)
{
	char ip[64];
	return a->ss.ss_family == AF_INET && addr_port(a) == 53 &&
	       (strcmp(addr_ip_str(a, ip, sizeof(ip)), "127.0.0.53") == 0 ||
		strcmp(ip, "127.0.0.54") == 0);
}

size_t conf_upstreams_from_resolv_at(struct serve_conf *c, const char *path, const char *resolved)
{
	size_t n = read_resolv(c, path);
	if (n == 0 || resolved == NULL)
		return n;
	for (size_t i = 0; i < n; i++)
		if (!is_resolved_stub(&c->upstream[i]))
			return n;
	/* Only resolved's stub: ask the servers it asks (as dockerd does), so that a
	 * name resolved sends to berth is never sent back to resolved. */
	struct addr stub[CONF_MAX_LISTEN];
	memcpy(stub, c->upstream, n * sizeof(stub[0]));
	size_t m = read_resolv(c, resolved);
	if (m > 0)
		return m;
	memcpy(c->upstream, stub, n * sizeof(stub[0]));
	c->nupstream = n;
	return n;
}

size_t conf_upstreams_from_resolv(struct serve_conf *c, const char *path)
{
	return conf_upstreams_from_resolv_at(c, path, "/run/systemd/resolve/resolv.conf");
}
