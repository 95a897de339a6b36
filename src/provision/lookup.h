/* SPDX-License-Identifier: MIT */
/* berth provision's DNS side: read the TXT listing of a zone through libunbound. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provision/plan.h"
#include "util/addr.h"

struct provision_lookup_conf {
	const char *zone;             /* "docker.will-desktop" (no trailing dot needed) */
	const struct addr *resolvers; /* forward to these; none: resolv_conf's nameservers */
	size_t nresolvers;
	const char *resolv_conf; /* NULL: /etc/resolv.conf */
	int timeout_ms;          /* bound of each of the two query rounds */
};

/* What DNS says, owning its strings. */
struct provision_dns {
	struct provision_entry *v;
	size_t n;
	bool complete;     /* containers.<zone> was read */
	char problem[480]; /* why not, when !complete */
	uint32_t min_ttl;  /* smallest TTL seen; 0 when none */
	char **strings;    /* every string the entries point at */
	size_t nstrings;
};

/* Is zone usable ("a.b", letters, digits, '-', '_', '.', no empty label)? */
bool provision_zone_valid(const char *zone);

/* Query TXT containers.<zone>, then TXT <name>.containers.<zone> for every name (in parallel),
 * with a fresh resolver each time (no stale cache between rounds). DNS failures land in out
 * (complete = false, or an entry's problem); the return is 0, or a negative error with err set
 * when the resolver cannot be set up at all. Free out with provision_dns_clear. */
int provision_lookup(const struct provision_lookup_conf *conf, struct provision_dns *out, char *err,
		     size_t errlen);
void provision_dns_clear(struct provision_dns *d);
