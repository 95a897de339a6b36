/* SPDX-License-Identifier: MIT */
/* UDP workers: one thread per core and listen address, each with its own
 * SO_REUSEPORT socket, answering batches with recvmmsg/sendmmsg. */
#pragma once
#include <stddef.h>

#include "dns/answer.h"
#include "server/server.h"

struct udp_server;

/* Bind every listen address once per thread. 0 and *out, or a negative code with a
 * message in err (an address that cannot be bound, out of memory or descriptors). */
int udp_server_new(struct server_ctx *ctx, struct udp_server **out, char *err, size_t errlen);
/* Start the worker threads. 0 or negative error. */
int udp_server_start(struct udp_server *u);
/* Stop the workers and join them (idempotent); nothing reads the forwarder after. */
void udp_server_stop(struct udp_server *u);
/* Stop the workers, join them, free everything. */
void udp_server_free(struct udp_server *u);
/* Add the workers' counters to out. */
void udp_server_counters(const struct udp_server *u, struct dns_counters *out);
