/* SPDX-License-Identifier: MIT */
/* Listening sockets and the per-client forwarding decision shared by UDP and TCP. */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "forward/acl.h"
#include "server/privdrop.h"
#include "server/server.h"
#include "util/log.h"

bool server_may_forward(const struct server_ctx *ctx, const struct sockaddr *client)
{
	return ctx->fwd != NULL && acl_allows(ctx->conf->allow, ctx->conf->nallow, client);
}

/* Is the address (not a wildcard) on one of this host's interfaces now? */
static bool addr_is_up(const struct addr *a)
{
	struct ifaddrs *ifs;
	bool up = false;
	if (getifaddrs(&ifs) != 0)
		return true; /* cannot tell: say nothing */
	for (struct ifaddrs *i = ifs; i != NULL && !up; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != a->ss.ss_family)
			continue;
		if (a->ss.ss_family == AF_INET)
			up = memcmp(&((const struct sockaddr_in *)i->ifa_addr)->sin_addr,
				    &((const struct sockaddr_in *)&a->ss)->sin_addr,
				    sizeof(struct in_addr)) == 0;
		else
			up = memcmp(&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
				    sizeof(struct in6_addr)) == 0;
	}
	freeifaddrs(ifs);
	return up;
}

int server_bind(const struct addr *a, int type, char *err, size_t errlen)
{
	char text[80];
	const char *proto = type == SOCK_DGRAM ? "UDP" : "TCP";
	/* Bound already, before berth gave up root (--user)? */
	int fd = privdrop_take_socket(a, type);
	if (fd >= 0)
		return fd;
	fd = socket(a->ss.ss_family,
		    type | SOCK_CLOEXEC | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		goto fail;
	int on = 1;
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
		goto fail;
	/* Every UDP worker binds the same address; the kernel spreads queries. */
	if (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
		goto fail;
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
		goto fail;
	/* An address that is not up yet (a bridge's before dockerd made it) is
	 * bound anyway and answers once it appears. */
	if (a->ss.ss_family == AF_INET ?
		    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on)) != 0 :
		    setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on, sizeof(on)) != 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0)
		goto fail;
	if (type == SOCK_STREAM && !addr_is_any(a) && !addr_is_up(a))
		log_warn("serve",
			 "listen address %s is not on any interface (yet): bound anyway, it "
			 "answers once the address appears",
			 addr_str(a, text, sizeof(text)));
	if (type == SOCK_STREAM && listen(fd, 128) != 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	snprintf(err, errlen,
		 "cannot listen on %s (%s): %s; choose another address with --listen ADDR:PORT "
		 "(or BERTH_LISTEN)%s",
		 addr_str(a, text, sizeof(text)), proto, strerror(e),
		 (e == EACCES && addr_port(a) < 1024) ?
			 ", or run as root / grant CAP_NET_BIND_SERVICE" :
			 "");
	if (fd >= 0)
		close(fd);
	return -e;
}
