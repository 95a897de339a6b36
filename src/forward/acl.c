/* SPDX-License-Identifier: MIT */
/* The recursion ACL: the default prefixes and the check of a client address against a list. */
#include "forward/acl.h"

/* Loopback and the private ranges (RFC 1918, RFC 4193): a resolver that
 * answers these and nothing else is never an open resolver. */
static const char *const defaults[] = {
	"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
};

size_t acl_defaults(struct cidr *out, size_t max)
{
	size_t n = 0;

	if (!out)
		return 0;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && n < max; i++) {
		if (cidr_parse(&out[n], defaults[i]) == 0)
			n++;
	}
	return n;
}

bool acl_allows(const struct cidr *list, size_t n, const struct sockaddr *client)
{
	if (!list || !client)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (cidr_match(&list[i], client))
			return true;
	}
	return false;
}
