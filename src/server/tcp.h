/* SPDX-License-Identifier: MIT */
/* DNS over TCP on the answer loop (ctx->base): several queries per connection, idle
 * timeout. tcp_server_counters may be called from any thread. */
#pragma once
#include <stddef.h>

#include "dns/answer.h"
#include "server/server.h"

struct tcp_server;

/* Listen on every listen address. 0 and *out, or a negative code with a message in err. */
int tcp_server_new(struct server_ctx *ctx, struct tcp_server **out, char *err, size_t errlen);
void tcp_server_free(struct tcp_server *t);
void tcp_server_counters(const struct tcp_server *t, struct dns_counters *out);
