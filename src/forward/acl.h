/* SPDX-License-Identifier: MIT */
/* The recursion ACL: which clients may have names forwarded. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util/addr.h"

/* Default prefixes when --allow-recursion is not given: loopback, 10/8,
 * 172.16/12, 192.168/16, fc00::/7. Fills out (at least 8 entries), returns count. */
size_t acl_defaults(struct cidr *out, size_t max);
bool acl_allows(const struct cidr *list, size_t n, const struct sockaddr *client);
