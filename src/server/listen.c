/* SPDX-License-Identifier: MIT */
/* Listening sockets and the per-client forwarding decision shared by UDP and TCP. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "forward/acl.h"
#include "server/server.h"

bool server_may_forward(const struct server_ctx *ctx, const struct sockaddr *client)
{
	return ctx->fwd != NULL && acl_allows(ctx->conf->allow, ctx->conf->nallow, client);
}

int server_bind(const struct addr *a, int type, char *err, size_t errlen)
{
	char text[80];
	const char *proto = type == SOCK_DGRAM ? "UDP" : "TCP";
	int fd = socket(a->ss.ss_family,
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
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0)
		goto fail;
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
