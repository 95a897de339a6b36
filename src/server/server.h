/* SPDX-License-Identifier: MIT */
/* What the UDP and TCP servers share: the registry, the configuration, the forwarder. */
#pragma once
#include <stdbool.h>
#include <sys/socket.h>

#include "conf/options.h"
#include "dns/answer.h"
#include "forward/forward.h"
#include "store/registry.h"

struct event_base;

struct server_ctx {
	struct event_base *base; /* the answer loop (never the control loop) */
	struct registry *reg;
	const struct serve_conf *conf;
	struct forwarder *fwd; /* NULL: forwarding disabled */
};

/* May this client have a name forwarded? */
bool server_may_forward(const struct server_ctx *ctx, const struct sockaddr *client);

/* Open a socket bound to a listen address (SO_REUSEPORT for UDP). On failure
 * writes a message naming the address and how to change it. */
int server_bind(const struct addr *a, int type, char *err, size_t errlen);
