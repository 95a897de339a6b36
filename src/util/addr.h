/* SPDX-License-Identifier: MIT */
/* Socket addresses and CIDR prefixes: parsing, printing, matching. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parse "1.2.3.4:53", "[::1]:53", "1.2.3.4", "::1" or "[::1]". A missing port
 * becomes default_port. Returns 0 or -EINVAL. */
int addr_parse(struct addr *out, const char *text, uint16_t default_port);
/* "1.2.3.4:53" / "[::1]:53" into buf (at least 64 bytes). */
const char *addr_str(const struct addr *a, char *buf, size_t len);
/* Address only, without port. */
const char *addr_ip_str(const struct addr *a, char *buf, size_t len);
uint16_t addr_port(const struct addr *a);
bool addr_is_loopback(const struct addr *a);
bool addr_is_any(const struct addr *a);
/* Same family, address and port. */
bool addr_equal(const struct addr *a, const struct addr *b);

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
	uint8_t prefix;
};

/* Parse "10.0.0.0/8", "fc00::/7", or a bare address (full-length prefix). */
int cidr_parse(struct cidr *out, const char *text);
/* Does the socket address fall in the prefix? IPv4-mapped IPv6 addresses match IPv4 prefixes. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);
