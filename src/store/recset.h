/* SPDX-License-Identifier: MIT */
/* A record set: all DNS records one origin (a file, a container, a node) contributes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rec {
	uint8_t *owner; /* wire format, lowercase */
	uint8_t *rdata;
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlen;
	uint8_t prefix; /* A/AAAA: prefix length of the address's network, 0 = unknown */
};

struct recset;

struct recset *recset_new(void);
void recset_free(struct recset *rs);
size_t recset_count(const struct recset *rs);
const struct rec *recset_get(const struct recset *rs, size_t i);

/* Add one record; owner is wire format (lowercased on copy). 0 or negative error. */
int recset_add(struct recset *rs, const uint8_t *owner, uint16_t type, uint32_t ttl,
	       const uint8_t *rdata, uint16_t rdlen);

/* The same, with the network prefix length of an A/AAAA (ignored for other types). */
int recset_add_net(struct recset *rs, const uint8_t *owner, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t rdlen, uint8_t prefix);

/* Text helpers. Names are presentation format ("a.b" or "a.b."); errors are
 * -EINVAL (bad name or address) with nothing added. */
/* A or AAAA by the address family of ip. */
int recset_add_addr(struct recset *rs, const char *owner, const char *ip, uint32_t ttl);
/* The same, remembering the network the address is on (e.g. 16 for a
 * Docker network 172.18.0.0/16): clients on that network get it first. */
int recset_add_addr_net(struct recset *rs, const char *owner, const char *ip, uint8_t prefix,
			uint32_t ttl);
/* PTR from the reverse name of ip to target. */
int recset_add_reverse(struct recset *rs, const char *ip, const char *target, uint32_t ttl);
/* As recset_add_reverse, unless the set already has a PTR at that reverse name:
 * an address's first name wins, as in hosts files (then 0, nothing added). */
int recset_add_reverse_first(struct recset *rs, const char *ip, const char *target, uint32_t ttl);
int recset_add_name_rr(struct recset *rs, const char *owner, uint16_t type, const char *target,
		       uint32_t ttl); /* CNAME, PTR, NS */
int recset_add_txt(struct recset *rs, const char *owner, const char *const *strings, size_t n,
		   uint32_t ttl);
int recset_add_srv(struct recset *rs, const char *owner, uint16_t prio, uint16_t weight,
		   uint16_t port, const char *target, uint32_t ttl);
int recset_add_mx(struct recset *rs, const char *owner, uint16_t pref, const char *target,
		  uint32_t ttl);

/* Reverse name ("4.3.2.1.in-addr.arpa" / nibbles.ip6.arpa) of an address in text. */
int recset_reverse_name(const char *ip, char *out, size_t outlen);
