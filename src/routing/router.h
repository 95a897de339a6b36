/* SPDX-License-Identifier: MIT */
/* HTTP and TLS routing through HAProxy, on the control loop: the routes of every container
 * (routes.h) become the names <host> answering with the proxy's address (an origin of kind
 * ORIGIN_HTTP in the registry) and the maps and servers of every HAProxy berth drives
 * (haproxy.h), kept in step as containers come and go. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "routing/routes.h"
#include "sources/source.h"

struct event_base;
struct registry;
struct router;

struct router_conf {
	struct routing_conf rc;         /* domain (--http-domain), --http-auto, ... */
	const char *const *proxy_addrs; /* --proxy-address: what the names answer */
	size_t n_proxy_addrs;
	const char *const *sockets; /* --haproxy-socket */
	size_t n_sockets;
	uint32_t ttl;
};

int router_new(struct event_base *base, struct registry *reg, const struct router_conf *conf,
	       struct router **out, char *err, size_t errlen);
void router_free(struct router *r);

/* A local container's facts, when it answers (f NULL: it is gone, or does not answer: its
 * routes go). The facts are read during the call only. */
void router_container(void *router, const char *id, const struct container_facts *f);

/* A service of the /services API (name NULL: it is gone): with port, its name is routed to
 * each of ips at that port (routes_of_service). */
void router_service(void *router, const char *id, const char *name, const char *const *ips,
		    size_t nips, uint16_t port);

/* With a cluster: the routes other nodes must use for local container id (the node's address,
 * not its loopback), or for service "manual:<id>", into out[0..ROUTES_MAX); their count. */
size_t router_export(void *router, const char *id, struct route *out);
/* Another node's origin's routes (n 0: it has none any more). */
void router_remote(void *router, const char *origin, const struct route *r, size_t n);

/* Prometheus text: the routes HAProxy is given, and the names left out (conflicts). */
struct evbuffer;
void router_metrics(const struct router *r, struct evbuffer *out);

/* /status: {"name": "haproxy", "kind": "haproxy", "state", "required": false, "error",
 * "routes": n, "conflicts": n, "proxies": [hap_status...]}. */
extern const struct source_ops router_source_ops;
