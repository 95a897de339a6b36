/* SPDX-License-Identifier: MIT */
/* From routes to what a proxy must hold, and from what it holds to the commands that make it
 * so. Pure: no I/O.
 *
 * A proxy made by `berth haproxy-config` has three maps and backend slots:
 *   hosts.map  Host header -> slot        (HTTP, a whole host)
 *   paths.map  "<host><path>" -> slot     (HTTP, a path prefix: HAProxy's map_beg on base)
 *   sni.map    TLS server name -> slot    (TLS passthrough)
 *   berth_http_<i>, berth_tls_<i>          backends whose servers berth adds and removes
 * Routes of one (kind, host, path) are one group, served by one slot; the group's servers are
 * the routes of its service (the first route's, in origin order); routes of another service
 * claiming the same name are conflicts, reported and left out. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "routing/routes.h"
#include "util/strmap.h"

enum { MAP_HOSTS = 0, MAP_PATHS, MAP_SNI, MAPS };
/* After a server's address in a state read from HAProxy: the server is in maintenance. */
#define WANTED_MAINT " maint"
extern const char *const wanted_map_names[MAPS]; /* "hosts.map", "paths.map", "sni.map" */

/* What a proxy holds (or must): every value is an owned string. */
struct proxy_state {
	struct strmap maps[MAPS]; /* key -> slot */
	struct strmap servers;    /* "<slot>/<server>" -> "<addr>:<port>" (+ WANTED_MAINT) */
	/* berth's entries that HAProxy never matches, behind an earlier entry of the same key
	 * (somebody else's, added in between): "#<ref>" -> key. Read, never wanted. */
	struct strmap strays[MAPS];
};
void proxy_state_clear(struct proxy_state *s);

/* One origin's routes (a container here, or another node's). */
struct route_set {
	const char *origin;
	const struct route *routes;
	size_t n;
};

/* Slots kept from one computation to the next, so that a group keeps its backend. */
struct slots {
	struct strmap of_group; /* "<kind> <host><path>" -> "berth_http_3" (owned) */
	unsigned http, tls;     /* slots the proxy has of each kind */
};
void slots_clear(struct slots *s);

/* Called for a route left out: its origin, the route, the service holding the name. */
typedef void (*conflict_fn)(void *arg, const char *origin, const struct route *r,
			    const char *holder);

/* The state wanted for sets[0..n) (sorted here by origin: the same input, the same answer),
 * into out (cleared first). Groups without a free slot are reported through conflict with
 * holder "(no free backend slot)". 0 or -ENOMEM. */
int wanted_compute(const struct route_set *sets, size_t n, struct slots *slots,
		   struct proxy_state *out, conflict_fn conflict, void *arg);

/* The runtime API commands that take a proxy from have to want, in order: new servers (add,
 * enable), map entries set or added, map entries deleted, servers gone (disable, del). Only
 * berth's own entries are changed or removed: map entries whose value is one of berth's slots
 * (an entry somebody else made for a name stays, even when berth wants that name), its strays
 * (by reference), servers of berth's slots. map_ids[i] names map i in the commands (its file as HAProxy knows it). Each
 * command is a new string in cmds; 0 or -ENOMEM. */
struct cmdlist {
	char **v;
	size_t n, cap;
};
int wanted_diff(const struct proxy_state *have, const struct proxy_state *want,
		const char *const map_ids[MAPS], struct cmdlist *cmds);
void cmdlist_clear(struct cmdlist *l);
bool wanted_is_slot(const char *backend);
