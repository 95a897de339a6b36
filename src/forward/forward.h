/* SPDX-License-Identifier: MIT */
/* Forwarding of names outside berth's own to upstream resolvers, through
 * libunbound as a caching forwarder on one event loop (failover, TCP fallback).
 * Everything but forwarder_stats runs on the thread of that loop; forwarder_new
 * and forwarder_free may run on another while the loop is not running. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

struct event_base;
struct forwarder;

/* Called once per forwarder_query with the full response to send to the client
 * (same ID and question as the query, TC set if it did not fit max_size; for a
 * client without DO, no RRSIG, NSEC or NSEC3 it did not ask for). */
typedef void (*forward_done_fn)(void *arg, const uint8_t *resp, size_t len);

/* upstreams: loopback or remote resolvers, at least one. udp_size: the UDP payload
 * size the OPT of every answer advertises (--max-udp-size). 0 and *out, or a negative
 * code (-EINVAL: no or a bad upstream; -ENOMEM; BERTH_ERROR: libunbound refused an
 * option) with a message in err. */
int forwarder_new(struct event_base *base, const struct addr *upstreams, size_t nupstreams,
		  uint16_t udp_size, struct forwarder **out, char *err, size_t errlen);
void forwarder_free(struct forwarder *f);
/* The NSID (RFC 5001) of answers to clients that ask; NULL: none. nsid must
 * outlive f. */
void forwarder_set_nsid(struct forwarder *f, const char *nsid);

/* Resolve the question of query (a parsed, valid DNS query) upstream and call
 * done(arg, ...) exactly once, from the forwarder's loop, possibly before returning.
 * Upstream failure or timeout yields SERVFAIL; never blocks. max_size is the
 * largest response the client accepts (UDP payload size, or 65535 on TCP).
 * done must not call forwarder_free (it may run inside libunbound). */
void forwarder_query(struct forwarder *f, const uint8_t *query, size_t qlen, uint16_t max_size,
		     forward_done_fn done, void *arg);

/* Counters for /status and /metrics; forwarder_stats may be called from any
 * thread while the loop runs (each counter is read atomically). */
struct forward_stats {
	uint64_t queries;
	uint64_t answered;
	uint64_t failed;
	uint64_t cache_hits; /* answered from the cache, without asking upstream */
};
void forwarder_stats(const struct forwarder *f, struct forward_stats *out);
