/* SPDX-License-Identifier: MIT */
/* Response rate limiting for UDP, as Knot's and BIND's RRL do: each client
 * prefix (/24 for IPv4, /56 for IPv6) has a budget of responses per second;
 * beyond it every second response goes out truncated (slip: a real client
 * retries over TCP, which cannot be spoofed) and the others are dropped.
 * Loopback clients are never limited. One table for every UDP worker. */
#pragma once
#include <stdint.h>
#include <sys/socket.h>

struct rrl;

enum rrl_verdict {
	RRL_PASS = 0, /* send the response */
	RRL_DROP,     /* send nothing */
	RRL_SLIP,     /* send it truncated: header and question only, TC set */
};

/* rate: responses per second per prefix (the burst too); 0 means no limit and
 * gives NULL. NULL also when out of memory (-> no limit). */
struct rrl *rrl_new(uint32_t rate);
void rrl_free(struct rrl *r);
/* The verdict on one response to client at monotonic time now_ns. r may be
 * NULL (no limit). Safe from several threads at once. */
enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *client, uint64_t now_ns);
