/* SPDX-License-Identifier: MIT */
/* HTTP and TLS routes (docker highway): which containers a proxy sends which host names to.
 * Pure: container facts in, routes out, no I/O. A route says "requests for host (and path
 * prefix), of this kind, go to addr:port", and names the service it belongs to: the routes of
 * one service's replicas are servers of one backend. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "naming/naming.h"

#define ROUTE_HOST_MAX 253
#define ROUTE_PATH_MAX 100
#define ROUTE_SERVICE_MAX 200
#define ROUTES_MAX 16 /* routes of one container */

enum route_kind { ROUTE_HTTP = 0, ROUTE_TLS = 1 };

struct route {
	enum route_kind kind;
	char host[ROUTE_HOST_MAX + 1];       /* "web.local", lowercase, no final dot */
	char path[ROUTE_PATH_MAX + 1];       /* "" or "/api" (HTTP only) */
	char service[ROUTE_SERVICE_MAX + 1]; /* replicas share it */
	char addr[46];                       /* the backend's address */
	uint16_t port;
};

struct routing_conf {
	const char *domain;          /* --http-domain, e.g. "local" */
	bool auto_port;              /* --http-auto */
	const char *node_addr;       /* for ports bound to every address: the node's address */
	const char *const *routable; /* --routable-network (NULL-terminated), may be NULL */
	bool to_container_ip;        /* --proxy-to-container-ip */
	bool for_others;             /* the routes other nodes' proxies use: a port bound to a
				      * loopback address is theirs only when node_addr is too */
};

/* The routes of container c into out[0..ROUTES_MAX), their count in *n. Labels:
 * berth.http.port=<port> (with berth.http.path=<prefix>), berth.tls.port=<port> (SNI
 * passthrough), berth.http.host=<fqdn>[,...]; with auto_port, a container exposing exactly
 * one of 80, 8080, 8000, 3000, 5000 is routed on it. Names: <name>.<domain>, compose's
 * <service>.<project>.<domain>, and berth.http.host's. The backend is the port's published
 * host port (at its bound address, or node_addr when bound to every address; a container on
 * the host's network: node_addr and the port itself); else the
 * container's own address on a routable network, or anywhere with to_container_ip; else
 * none. 0, with every problem (a bad label value, a port nobody can reach) described in
 * why (empty when none; the container is still routed by what was good). -EINVAL for NULL
 * arguments. */
int routes_of_container(const struct container_facts *c, const struct routing_conf *rc,
			struct route *out, size_t *n, char *why, size_t whylen);

/* The routes of a service of the /services API with "http_port": <name>.<domain> (the name
 * made a DNS label as for containers) to each of its addresses at that port, as one service
 * ("manual:<id>": its addresses are the backend's servers). With rc->for_others, loopback
 * addresses are left out unless rc->node_addr is one too. 0, or -EINVAL for NULL arguments. */
int routes_of_service(const char *id, const char *name, const char *const *ips, size_t nips,
		      uint16_t port, const struct routing_conf *rc, struct route *out, size_t *n);

/* Is s a host name a route may carry (1..253 bytes of [a-z0-9-.], labels of 1..63)? */
bool route_host_ok(const char *s);
