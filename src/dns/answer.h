/* SPDX-License-Identifier: MIT */
/* Query in, answer out, no I/O: parse with libknot, look the name up in the
 * snapshot, copy the precomputed records into the response. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "store/snapshot.h"

enum dns_action {
	DNS_REPLY = 0, /* out holds the response */
	DNS_DROP,      /* send nothing (a response, or too short to answer) */
	DNS_FORWARD,   /* not ours and the client may recurse: hand the query to the forwarder */
};

struct dns_query_info {
	bool tcp;
	bool may_forward;              /* forwarding enabled and the client passes the ACL */
	bool servfail_miss;            /* --miss servfail */
	uint16_t udp_cap;              /* largest UDP answer we send (e.g. 1232) */
	uint16_t max_size;             /* out: the size the client accepts (set by dns_answer) */
	const struct sockaddr *client; /* for split horizon; may be NULL */
	const char *nsid;              /* NSID for clients that ask (RFC 5001); NULL: none */
};

/* Query types counted one by one; the rest are "other". */
enum dns_qtype_slot {
	DNS_QT_A,
	DNS_QT_AAAA,
	DNS_QT_PTR,
	DNS_QT_SRV,
	DNS_QT_TXT,
	DNS_QT_MX,
	DNS_QT_CNAME,
	DNS_QT_NS,
	DNS_QT_SOA,
	DNS_QT_ANY,
	DNS_QT_OTHER,
	DNS_QT_COUNT
};
/* Upper bounds of the answer latency histogram, in microseconds (the last is +Inf). */
#define DNS_LATENCY_BUCKETS 8
extern const uint32_t dns_latency_bounds_us[DNS_LATENCY_BUCKETS - 1];
const char *dns_qtype_slot_name(int slot);

/* Counters one worker keeps (no sharing on the hot path). */
struct dns_counters {
	uint64_t queries;
	uint64_t qtype[DNS_QT_COUNT];
	uint64_t latency[DNS_LATENCY_BUCKETS]; /* answers by time from receipt to send */
	uint64_t latency_sum_ns;
	uint64_t rcode[16];
	uint64_t forwarded;
	uint64_t dropped;
	uint64_t truncated;
	uint64_t rate_limited; /* UDP answers over a client's --rate-limit */
	uint64_t rate_slipped; /* of those, sent truncated (the rest were dropped) */
};

struct dns_worker;

struct dns_worker *dns_worker_new(void);
void dns_worker_free(struct dns_worker *w);
const struct dns_counters *dns_worker_counters(const struct dns_worker *w);
/* n answers that took ns each (a batch: from receipt to send). */
void dns_worker_latency(struct dns_worker *w, uint64_t ns, uint64_t n);
/* One answer held back by the rate limit; slipped: sent truncated instead. */
void dns_worker_rate_limited(struct dns_worker *w, bool slipped);
/* sum += c, field by field. c may be a worker's own counters while that worker
 * runs on another thread (each field is read atomically); sum is the caller's. */
void dns_counters_add(struct dns_counters *sum, const struct dns_counters *c);

/* Answer one query. out must hold at least 65535 bytes for TCP, udp_cap for UDP.
 * rotate: a counter used to rotate the order of records between answers. */
enum dns_action dns_answer(struct dns_worker *w, const struct snapshot *s, const uint8_t *q,
			   size_t qlen, uint8_t *out, size_t outmax, struct dns_query_info *qi,
			   size_t *outlen);

/* A bare error response (FORMERR/SERVFAIL/REFUSED...) echoing the query's ID and
 * question when they can be read, and an OPT advertising udp_size when the query
 * has one (RFC 6891 6.1.1), with nsid (may be NULL) if the query asks for it.
 * Returns the length, or 0 if q is unusable. */
size_t dns_error_response(const uint8_t *q, size_t qlen, uint8_t rcode, uint16_t udp_size,
			  const char *nsid, uint8_t *out, size_t outmax);
