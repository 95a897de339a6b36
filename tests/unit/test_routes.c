/* SPDX-License-Identifier: MIT */
/* Unit tests of HTTP and TLS routes: a table of containers and the routes each must get, with
 * the problem each must tell. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing/routes.h"

#define ID "26ed50b1bf5947727bee4910f3d93674d823496c615940238219b5346cc0fc4e"
#define NODE "192.168.1.100" /* the node's address, for ports bound to every address */
#define SVC_ID "container:" ID

/* ---- the table ---------------------------------------------------------- */

struct want_route {
	enum route_kind kind;
	const char *host;
	const char *path;
	const char *addr;
	uint16_t port;
};

#define NO_ROUTES (-1)

struct routes_case {
	const char *name;
	struct container_facts c;
	struct routing_conf rc;        /* domain NULL means "local", node_addr NULL means NODE */
	bool no_node;                  /* ... unless this is set: no node address */
	const struct want_route *want; /* exactly these routes, in any order */
	int count;                     /* NO_ROUTES: none (want is then NULL) */
	const char *service;           /* every route's service */
	const char *why; /* a part of the problem told; NULL: no problem may be told */
};

#define NETS(...)                                                        \
	.nets = (const struct container_net[]){ __VA_ARGS__ },           \
	.nnets = sizeof((const struct container_net[]){ __VA_ARGS__ }) / \
		 sizeof(struct container_net)
#define BRIDGE(ip) NETS({ .name = "bridge", .ipv4 = (ip) })
#define LABELS(...)                                   \
	.labels = (const struct kv[]){ __VA_ARGS__ }, \
	.nlabels = sizeof((const struct kv[]){ __VA_ARGS__ }) / sizeof(struct kv)
#define PORTS(...)                                                         \
	.ports = (const struct container_port[]){ __VA_ARGS__ },           \
	.nports = sizeof((const struct container_port[]){ __VA_ARGS__ }) / \
		  sizeof(struct container_port)
#define ROUTABLE(...)                     \
	.routable = (const char *const[]) \
	{                                 \
		__VA_ARGS__, NULL         \
	}
#define WANT(...)                                                           \
	.want = (const struct want_route[]){ __VA_ARGS__ },                 \
	.count = (int)(sizeof((const struct want_route[]){ __VA_ARGS__ }) / \
		       sizeof(struct want_route))
#define HTTP(host, path, addr, port)                       \
	{                                                  \
		ROUTE_HTTP, (host), (path), (addr), (port) \
	}
#define TLS(host, addr, port)                         \
	{                                             \
		ROUTE_TLS, (host), "", (addr), (port) \
	}

/* A running container "web" on the default bridge at 172.17.0.9. */
#define WEB .id = ID, .name = "web", .image = "nginx", .running = true
#define ON_BRIDGE BRIDGE("172.17.0.9")
/* Its port 80, published at host port 8080 on every address. */
#define PUB80 PORTS({ 80, false, 8080, "0.0.0.0" })
#define HTTP_PORT(p)                   \
	{                              \
		"berth.http.port", (p) \
	}
#define TLS_PORT(p)                   \
	{                             \
		"berth.tls.port", (p) \
	}
#define COMPOSE(prj, svc)                           \
	{ "com.docker.compose.project", (prj) },    \
	{                                           \
		"com.docker.compose.service", (svc) \
	}

static const struct routes_case cases[] = {
	/* ---- backends: a published port ---- */
	{
		.name = "published at 0.0.0.0: the node's address and the host port",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "published at \"::\": the node's address",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PORTS({ 80, false, 8080, "::" }) },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "published at \"\": the node's address",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PORTS({ 80, false, 8080, "" }) },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "published with no HostIp (NULL): the node's address",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PORTS({ 80, false, 8080, NULL }) },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "published at 127.0.0.1: that address",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")),
		       PORTS({ 80, false, 8081, "127.0.0.1" }) },
		WANT(HTTP("web.local", "", "127.0.0.1", 8081)),
		.service = SVC_ID,
	},
	{
		.name = "published at ::1: that address",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PORTS({ 80, false, 8081, "::1" }) },
		WANT(HTTP("web.local", "", "::1", 8081)),
		.service = SVC_ID,
	},
	{
		.name = "published at one of the host's addresses: that address",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")),
		       PORTS({ 80, false, 8081, "10.1.2.3" }) },
		WANT(HTTP("web.local", "", "10.1.2.3", 8081)),
		.service = SVC_ID,
	},
	{
		.name = "an IPv6 node address",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PUB80 },
		.rc = { .node_addr = "fd00::1" },
		WANT(HTTP("web.local", "", "fd00::1", 8080)),
		.service = SVC_ID,
	},
	{
		.name = "the published port wins over a routable network",
		.c = { WEB, NETS({ .name = "routed", .ipv4 = "10.0.0.5" }), LABELS(HTTP_PORT("80")),
		       PUB80 },
		.rc = { ROUTABLE("routed") },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "the published port wins over to_container_ip",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PUB80 },
		.rc = { .to_container_ip = true },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "the labelled port is the one published, not another",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("8000")),
		       PORTS({ 80, false, 8080, "0.0.0.0" }, { 8000, false, 18000, "0.0.0.0" }) },
		WANT(HTTP("web.local", "", NODE, 18000)),
		.service = SVC_ID,
	},
	/* ---- backends: the container's own address ---- */
	{
		.name = "not published, on a routable network: its address there, its own port",
		.c = { WEB,
		       NETS({ .name = "bridge", .ipv4 = "172.17.0.9" },
			    { .name = "routed", .ipv4 = "10.0.0.5" }),
		       LABELS(HTTP_PORT("80")), PORTS({ 80, false, 0, NULL }) },
		.rc = { ROUTABLE("other", "routed") },
		WANT(HTTP("web.local", "", "10.0.0.5", 80)),
		.service = SVC_ID,
	},
	{
		.name = "not even exposed, on a routable network: its address there",
		.c = { WEB, NETS({ .name = "routed", .ipv4 = "10.0.0.5" }),
		       LABELS(HTTP_PORT("9000")) },
		.rc = { ROUTABLE("routed") },
		WANT(HTTP("web.local", "", "10.0.0.5", 9000)),
		.service = SVC_ID,
	},
	{
		.name = "to_container_ip: its first network's address",
		.c = { WEB,
		       NETS({ .name = "bridge", .ipv4 = "172.17.0.9" },
			    { .name = "other", .ipv4 = "10.0.0.5" }),
		       LABELS(HTTP_PORT("80")), PORTS({ 80, false, 0, NULL }) },
		.rc = { .to_container_ip = true },
		WANT(HTTP("web.local", "", "172.17.0.9", 80)),
		.service = SVC_ID,
	},
	{
		.name = "to_container_ip, an IPv6-only network: the IPv6 address",
		.c = { WEB, NETS({ .name = "v6", .ipv6 = "fd00:10::5" }), LABELS(HTTP_PORT("80")) },
		.rc = { .to_container_ip = true },
		WANT(HTTP("web.local", "", "fd00:10::5", 80)),
		.service = SVC_ID,
	},
	{
		.name = "a routable network with both families: the IPv4 address",
		.c = { WEB, NETS({ .name = "routed", .ipv4 = "10.0.0.5", .ipv6 = "fd00:10::5" }),
		       LABELS(HTTP_PORT("80")) },
		.rc = { ROUTABLE("routed") },
		WANT(HTTP("web.local", "", "10.0.0.5", 80)),
		.service = SVC_ID,
	},
	{
		.name = "a routable network with an empty IPv4: the IPv6 address",
		.c = { WEB, NETS({ .name = "routed", .ipv4 = "", .ipv6 = "fd00:10::5" }),
		       LABELS(HTTP_PORT("80")) },
		.rc = { ROUTABLE("routed") },
		WANT(HTTP("web.local", "", "fd00:10::5", 80)),
		.service = SVC_ID,
	},
	{
		.name = "a routable network without an address is passed over for the next",
		.c = { WEB,
		       NETS({ .name = "routed", .ipv4 = "", .ipv6 = "" },
			    { .name = "routed2", .ipv4 = "10.0.1.5" }),
		       LABELS(HTTP_PORT("80")) },
		.rc = { ROUTABLE("routed", "routed2") },
		WANT(HTTP("web.local", "", "10.0.1.5", 80)),
		.service = SVC_ID,
	},
	{
		.name = "bound to every address and no node address: a routable network",
		.c = { WEB, NETS({ .name = "routed", .ipv4 = "10.0.0.5" }), LABELS(HTTP_PORT("80")),
		       PUB80 },
		.rc = { ROUTABLE("routed") },
		.no_node = true,
		WANT(HTTP("web.local", "", "10.0.0.5", 80)),
		.service = SVC_ID,
	},
	{
		.name = "no node address, but bound to one address: that address",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")),
		       PORTS({ 80, false, 8081, "127.0.0.1" }) },
		.no_node = true,
		WANT(HTTP("web.local", "", "127.0.0.1", 8081)),
		.service = SVC_ID,
	},
	/* ---- backends: none ---- */
	{
		.name = "not published, no routable network: not routed, told why",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PORTS({ 80, false, 0, NULL }) },
		.count = NO_ROUTES,
		.why = "port 80 is neither published nor on a routable network: not routed",
	},
	{
		.name = "not published, on a network that is not routable: not routed",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")) },
		.rc = { ROUTABLE("routed") },
		.count = NO_ROUTES,
		.why = "port 80 is neither published",
	},
	{
		.name = "bound to every address, no node address, nothing routable: not routed",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PUB80 },
		.no_node = true,
		.count = NO_ROUTES,
		.why = "port 80 is neither published",
	},
	{
		.name = "the same port published for UDP only: not routed",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")),
		       PORTS({ 80, true, 8080, "0.0.0.0" }) },
		.count = NO_ROUTES,
		.why = "port 80 is neither published",
	},
	{
		.name = "to_container_ip without networks: not routed",
		.c = { WEB, LABELS(HTTP_PORT("80")) },
		.rc = { .to_container_ip = true },
		.count = NO_ROUTES,
		.why = "port 80 is neither published",
	},
	{
		.name = "to_container_ip, a network without addresses: not routed",
		.c = { WEB, NETS({ .name = "none" }), LABELS(HTTP_PORT("80")) },
		.rc = { .to_container_ip = true },
		.count = NO_ROUTES,
		.why = "port 80 is neither published",
	},
	{
		.name = "HTTP reachable, TLS not: HTTP routed, TLS told",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), TLS_PORT("443")), PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
		.why = "port 443 is neither published nor on a routable network: not routed",
	},
	/* ---- the port labels ---- */
	{
		.name = "no label, no --http-auto: not routed, nothing told",
		.c = { WEB, ON_BRIDGE, PUB80 },
		.count = NO_ROUTES,
	},
	{
		.name = "a port label with spaces around it",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT(" 80 ")), PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "port 65535",
		.c = { WEB, NETS({ .name = "routed", .ipv4 = "10.0.0.5" }),
		       LABELS(HTTP_PORT("65535")) },
		.rc = { ROUTABLE("routed") },
		WANT(HTTP("web.local", "", "10.0.0.5", 65535)),
		.service = SVC_ID,
	},
	{
		.name = "berth.tls.port: a TLS route (SNI passthrough)",
		.c = { WEB, ON_BRIDGE, LABELS(TLS_PORT("443")),
		       PORTS({ 443, false, 8443, "0.0.0.0" }) },
		WANT(TLS("web.local", NODE, 8443)),
		.service = SVC_ID,
	},
	{
		.name = "both labels: an HTTP and a TLS route",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), TLS_PORT("443")),
		       PORTS({ 80, false, 8080, "0.0.0.0" }, { 443, false, 8443, "0.0.0.0" }) },
		WANT(HTTP("web.local", "", NODE, 8080), TLS("web.local", NODE, 8443)),
		.service = SVC_ID,
	},
	{
		.name = "the same port for HTTP and TLS",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), TLS_PORT("80")), PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080), TLS("web.local", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "a bad berth.http.port: not routed, told",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("http")), PUB80 },
		.count = NO_ROUTES,
		.why = "berth.http.port \"http\" is not a port",
	},
	{
		.name = "a bad berth.tls.port: not routed, told",
		.c = { WEB, ON_BRIDGE, LABELS(TLS_PORT("99999")), PUB80 },
		.count = NO_ROUTES,
		.why = "berth.tls.port \"99999\" is not a port",
	},
	{
		.name = "a bad berth.http.port, a good berth.tls.port: TLS still routed",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("eighty"), TLS_PORT("443")),
		       PORTS({ 443, false, 8443, "0.0.0.0" }) },
		WANT(TLS("web.local", NODE, 8443)),
		.service = SVC_ID,
		.why = "berth.http.port \"eighty\" is not a port",
	},
	{
		.name = "a good berth.http.port, a bad berth.tls.port: HTTP still routed",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), TLS_PORT("0")), PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
		.why = "berth.tls.port \"0\" is not a port",
	},
	{
		.name = "both bad: the first problem is the one told",
		.c = { WEB, ON_BRIDGE, LABELS(TLS_PORT("x443"), HTTP_PORT("x80")), PUB80 },
		.count = NO_ROUTES,
		.why = "berth.http.port \"x80\" is not a port",
	},
	/* ---- berth.http.path ---- */
	{
		.name = "berth.http.path: the route's path prefix",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), { "berth.http.path", "/api" }),
		       PUB80 },
		WANT(HTTP("web.local", "/api", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "berth.http.path is HTTP's only: the TLS route has none",
		.c = { WEB, ON_BRIDGE,
		       LABELS(HTTP_PORT("80"), TLS_PORT("443"), { "berth.http.path", "/api/v1" }),
		       PORTS({ 80, false, 8080, "0.0.0.0" }, { 443, false, 8443, "0.0.0.0" }) },
		WANT(HTTP("web.local", "/api/v1", NODE, 8080), TLS("web.local", NODE, 8443)),
		.service = SVC_ID,
	},
	{
		.name = "a bad berth.http.path: told, the whole host still routed",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), { "berth.http.path", "api" }),
		       PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
		.why = "berth.http.path \"api\" is not a path prefix",
	},
	{
		.name = "a bad berth.http.path and an unreachable port: the path is told (first)",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), { "berth.http.path", "/a b" }) },
		.count = NO_ROUTES,
		.why = "berth.http.path \"/a b\" is not a path prefix",
	},
	{
		.name = "berth.http.path without a port: nothing routed, nothing told",
		.c = { WEB, ON_BRIDGE, LABELS({ "berth.http.path", "bad" }), PUB80 },
		.count = NO_ROUTES,
	},
	/* ---- names ---- */
	{
		.name = "a leading '/' of the container's name is not part of it",
		.c = { .id = ID,
		       .name = "/web",
		       .running = true,
		       ON_BRIDGE,
		       LABELS(HTTP_PORT("80")),
		       PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "the container's name made a DNS label",
		.c = { .id = ID,
		       .name = "My_Web.1",
		       .running = true,
		       ON_BRIDGE,
		       LABELS(HTTP_PORT("80")),
		       PUB80 },
		WANT(HTTP("my-web-1.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "berth.name names it instead of the container's name",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), { "berth.name", "Front" }), PUB80 },
		WANT(HTTP("front.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "another domain",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80")), PUB80 },
		.rc = { .domain = "apps.example.com" },
		WANT(HTTP("web.apps.example.com", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "compose: <service>.<project>.<domain> too, the service compose:<p>/<s>",
		.c = { .id = ID,
		       .name = "shop-web-1",
		       .running = true,
		       ON_BRIDGE,
		       LABELS(COMPOSE("shop", "web"), HTTP_PORT("80")),
		       PUB80 },
		WANT(HTTP("shop-web-1.local", "", NODE, 8080),
		     HTTP("web.shop.local", "", NODE, 8080)),
		.service = "compose:shop/web",
	},
	{
		.name = "compose names made DNS labels, the service key as compose has them",
		.c = { .id = ID,
		       .name = "My.Shop-Web_App-1",
		       .running = true,
		       ON_BRIDGE,
		       LABELS(COMPOSE("My.Shop", "Web_App"), HTTP_PORT("80")),
		       PUB80 },
		WANT(HTTP("my-shop-web-app-1.local", "", NODE, 8080),
		     HTTP("web-app.my-shop.local", "", NODE, 8080)),
		.service = "compose:My.Shop/Web_App",
	},
	{
		.name = "compose with TLS and a path: every name, both kinds",
		.c = { .id = ID,
		       .name = "shop-web-1",
		       .running = true,
		       ON_BRIDGE,
		       LABELS(COMPOSE("shop", "web"), HTTP_PORT("80"), TLS_PORT("443"),
			      { "berth.http.path", "/shop" }),
		       PORTS({ 80, false, 8080, "0.0.0.0" }, { 443, false, 8443, "0.0.0.0" }) },
		WANT(HTTP("shop-web-1.local", "/shop", NODE, 8080),
		     HTTP("web.shop.local", "/shop", NODE, 8080),
		     TLS("shop-web-1.local", NODE, 8443), TLS("web.shop.local", NODE, 8443)),
		.service = "compose:shop/web",
	},
	{
		.name = "a compose service without a project: no compose name, no compose service",
		.c = { WEB, ON_BRIDGE,
		       LABELS({ "com.docker.compose.service", "web2" }, HTTP_PORT("80")), PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "berth.http.host: that name too, the service host:<label>",
		.c = { WEB, ON_BRIDGE,
		       LABELS(HTTP_PORT("80"), { "berth.http.host", "app.example.com" }), PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080), HTTP("app.example.com", "", NODE, 8080)),
		.service = "host:app.example.com",
	},
	{
		.name = "berth.http.host, a list: lowercase, no final dot, no spaces",
		.c = { WEB, ON_BRIDGE,
		       LABELS(HTTP_PORT("80"),
			      { "berth.http.host", "App.Example.COM., www.example.com " }),
		       PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080), HTTP("app.example.com", "", NODE, 8080),
		     HTTP("www.example.com", "", NODE, 8080)),
		.service = "host:App.Example.COM., www.example.com ",
	},
	{
		.name = "berth.http.host with compose: the compose service",
		.c = { .id = ID,
		       .name = "shop-web-1",
		       .running = true,
		       ON_BRIDGE,
		       LABELS(COMPOSE("shop", "web"), HTTP_PORT("80"),
			      { "berth.http.host", "shop.example.com" }),
		       PUB80 },
		WANT(HTTP("shop-web-1.local", "", NODE, 8080),
		     HTTP("web.shop.local", "", NODE, 8080),
		     HTTP("shop.example.com", "", NODE, 8080)),
		.service = "compose:shop/web",
	},
	{
		.name = "berth.http.host with TLS: the name is a TLS route too",
		.c = { WEB, ON_BRIDGE,
		       LABELS(TLS_PORT("443"), { "berth.http.host", "app.example.com" }),
		       PORTS({ 443, false, 8443, "0.0.0.0" }) },
		WANT(TLS("web.local", NODE, 8443), TLS("app.example.com", NODE, 8443)),
		.service = "host:app.example.com",
	},
	{
		.name = "berth.http.host, bad names among good: told (the first), the good routed",
		.c = { WEB, ON_BRIDGE,
		       LABELS(HTTP_PORT("80"), { "berth.http.host",
						 "good.example.com,bad_host,x..y,ok.example.com" }),
		       PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080), HTTP("good.example.com", "", NODE, 8080),
		     HTTP("ok.example.com", "", NODE, 8080)),
		.service = "host:good.example.com,bad_host,x..y,ok.example.com",
		.why = "berth.http.host \"bad_host\" is not a host name",
	},
	{
		.name = "berth.http.host, a label past 63 bytes: told",
		.c = { WEB, ON_BRIDGE,
		       LABELS(HTTP_PORT("80"),
			      { "berth.http.host",
				"a123456789b123456789c123456789d123456789e123456789f1234567890123.com" }),
		       PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service =
			"host:a123456789b123456789c123456789d123456789e123456789f1234567890123.com",
		.why = "is not a host name",
	},
	{
		.name = "berth.http.host equal to the container's name: one route",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), { "berth.http.host", "WEB.local" }),
		       PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = "host:WEB.local",
	},
	{
		.name = "berth.http.host twice the same: one route",
		.c = { WEB, ON_BRIDGE,
		       LABELS(HTTP_PORT("80"),
			      { "berth.http.host", "a.example.com,a.example.com" }),
		       PUB80 },
		WANT(HTTP("web.local", "", NODE, 8080), HTTP("a.example.com", "", NODE, 8080)),
		.service = "host:a.example.com,a.example.com",
	},
	{
		.name = "berth.http.host without a port: not routed",
		.c = { WEB, ON_BRIDGE, LABELS({ "berth.http.host", "app.example.com" }), PUB80 },
		.count = NO_ROUTES,
	},
	/* ---- --http-auto ---- */
	{
		.name = "--http-auto: the one of 80, 8080, 8000, 3000, 5000 exposed (80)",
		.c = { WEB, ON_BRIDGE,
		       PORTS({ 22, false, 2222, "0.0.0.0" }, { 80, false, 8080, "" }) },
		.rc = { .auto_port = true },
		WANT(HTTP("web.local", "", NODE, 8080)),
		.service = SVC_ID,
	},
	{
		.name = "--http-auto: 8080",
		.c = { WEB, ON_BRIDGE, PORTS({ 8080, false, 18080, "" }) },
		.rc = { .auto_port = true },
		WANT(HTTP("web.local", "", NODE, 18080)),
		.service = SVC_ID,
	},
	{
		.name = "--http-auto: 8000",
		.c = { WEB, ON_BRIDGE, PORTS({ 8000, false, 18000, "" }) },
		.rc = { .auto_port = true },
		WANT(HTTP("web.local", "", NODE, 18000)),
		.service = SVC_ID,
	},
	{
		.name = "--http-auto: 3000, exposed only, on a routable network",
		.c = { WEB, NETS({ .name = "routed", .ipv4 = "10.0.0.5" }),
		       PORTS({ 3000, false, 0, NULL }) },
		.rc = { .auto_port = true, ROUTABLE("routed") },
		WANT(HTTP("web.local", "", "10.0.0.5", 3000)),
		.service = SVC_ID,
	},
	{
		.name = "--http-auto: 5000",
		.c = { WEB, ON_BRIDGE, PORTS({ 5000, false, 15000, "" }) },
		.rc = { .auto_port = true },
		WANT(HTTP("web.local", "", NODE, 15000)),
		.service = SVC_ID,
	},
	{
		.name = "--http-auto: two of them exposed: not routed, nothing told",
		.c = { WEB, ON_BRIDGE, PORTS({ 80, false, 8080, "" }, { 3000, false, 13000, "" }) },
		.rc = { .auto_port = true },
		.count = NO_ROUTES,
	},
	{
		.name = "--http-auto: none of them exposed: not routed",
		.c = { WEB, ON_BRIDGE, PORTS({ 443, false, 8443, "" }, { 81, false, 8081, "" }) },
		.rc = { .auto_port = true },
		.count = NO_ROUTES,
	},
	{
		.name = "--http-auto: UDP ports do not count",
		.c = { WEB, ON_BRIDGE, PORTS({ 80, true, 8080, "" }, { 8000, false, 18000, "" }) },
		.rc = { .auto_port = true },
		WANT(HTTP("web.local", "", NODE, 18000)),
		.service = SVC_ID,
	},
	{
		.name = "--http-auto: a UDP port alone is no HTTP port",
		.c = { WEB, ON_BRIDGE, PORTS({ 80, true, 8080, "" }) },
		.rc = { .auto_port = true },
		.count = NO_ROUTES,
	},
	{
		.name = "--http-auto: the exposed port unreachable: told",
		.c = { WEB, ON_BRIDGE, PORTS({ 80, false, 0, NULL }) },
		.rc = { .auto_port = true },
		.count = NO_ROUTES,
		.why = "port 80 is neither published",
	},
	{
		.name = "--http-auto: berth.http.port wins",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("9000")),
		       PORTS({ 80, false, 8080, "" }, { 9000, false, 19000, "" }) },
		.rc = { .auto_port = true },
		WANT(HTTP("web.local", "", NODE, 19000)),
		.service = SVC_ID,
	},
	{
		.name = "--http-auto: a bad berth.http.port is not replaced by a guess",
		.c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("nope")), PORTS({ 80, false, 8080, "" }) },
		.rc = { .auto_port = true },
		.count = NO_ROUTES,
		.why = "berth.http.port \"nope\" is not a port",
	},
	{
		.name = "--http-auto: berth.tls.port alone: TLS only, no HTTP guess",
		.c = { WEB, ON_BRIDGE, LABELS(TLS_PORT("443")),
		       PORTS({ 80, false, 8080, "" }, { 443, false, 8443, "" }) },
		.rc = { .auto_port = true },
		WANT(TLS("web.local", NODE, 8443)),
		.service = SVC_ID,
	},
	{
		.name = "--http-auto with berth.http.path and compose",
		.c = { .id = ID,
		       .name = "shop-web-1",
		       .running = true,
		       ON_BRIDGE,
		       LABELS(COMPOSE("shop", "web"), { "berth.http.path", "/x" }),
		       PORTS({ 80, false, 8080, "" }) },
		.rc = { .auto_port = true },
		WANT(HTTP("shop-web-1.local", "/x", NODE, 8080),
		     HTTP("web.shop.local", "/x", NODE, 8080)),
		.service = "compose:shop/web",
	},
};

/* ---- running the table -------------------------------------------------- */

static void describe(const struct route *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		print_message("  %s %s%s -> %s:%u (%s)\n", r[i].kind == ROUTE_TLS ? "tls" : "http",
			      r[i].host, r[i].path, r[i].addr, (unsigned)r[i].port, r[i].service);
}

static void run_case(void **state)
{
	const struct routes_case *tc = *state;
	struct routing_conf rc = tc->rc;
	struct route out[ROUTES_MAX];
	size_t n = 99;
	char why[300];

	if (rc.domain == NULL)
		rc.domain = "local";
	if (rc.node_addr == NULL && !tc->no_node)
		rc.node_addr = NODE;
	memset(out, 0x5a, sizeof(out));
	memset(why, 'x', sizeof(why));
	assert_int_equal(routes_of_container(&tc->c, &rc, out, &n, why, sizeof(why)), 0);

	if (tc->why == NULL) {
		if (why[0] != '\0')
			fail_msg("%s: told \"%s\"", tc->name, why);
	} else if (strstr(why, tc->why) == NULL) {
		fail_msg("%s: told \"%s\", not \"%s\"", tc->name, why, tc->why);
	}

	size_t want = tc->count == NO_ROUTES ? 0 : (size_t)tc->count;
	if (n != want) {
		describe(out, n);
		fail_msg("%s: %zu routes, not %zu", tc->name, n, want);
	}
	bool used[ROUTES_MAX] = { false };
	for (size_t k = 0; k < want; k++) {
		const struct want_route *w = &tc->want[k];
		size_t i;
		for (i = 0; i < n; i++)
			if (!used[i] && out[i].kind == w->kind &&
			    strcmp(out[i].host, w->host) == 0 &&
			    strcmp(out[i].path, w->path) == 0 &&
			    strcmp(out[i].addr, w->addr) == 0 && out[i].port == w->port)
				break;
		if (i == n) {
			describe(out, n);
			fail_msg("%s: no route %s %s%s -> %s:%u", tc->name,
				 w->kind == ROUTE_TLS ? "tls" : "http", w->host, w->path, w->addr,
				 (unsigned)w->port);
		}
		used[i] = true;
	}
	for (size_t i = 0; i < n; i++) {
		assert_non_null(tc->service);
		if (strcmp(out[i].service, tc->service) != 0)
			fail_msg("%s: route %zu of service \"%s\", not \"%s\"", tc->name, i,
				 out[i].service, tc->service);
		/* what a route may carry */
		assert_true(route_host_ok(out[i].host));
		assert_true(out[i].kind == ROUTE_HTTP || out[i].path[0] == '\0');
	}
}

/* ---- the rest ----------------------------------------------------------- */

static struct routing_conf base_rc(void)
{
	return (struct routing_conf){ .domain = "local", .node_addr = NODE };
}

/* routes_of_container for c under rc: the count, problem in why. */
static size_t routes_of(const struct container_facts *c, const struct routing_conf *rc,
			struct route *out, char *why, size_t whylen)
{
	size_t n = 99;
	assert_int_equal(routes_of_container(c, rc, out, &n, why, whylen), 0);
	assert_true(n <= ROUTES_MAX);
	return n;
}

static void test_host_ok(void **state)
{
	static const char l63[] = "a123456789b123456789c123456789d123456789e123456789f123456789abc";
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
		{ "web.local", true },
		{ "a", true },
		{ "x-1.example-2.com", true },
		{ "0.1", true },
		{ "-a.com", true }, /* a label starting with '-' is not checked */
		{ "", false },
		{ ".", false },
		{ ".a.com", false },
		{ "a.com.", false },
		{ "a..com", false },
		{ "Web.local", false }, /* routes carry lowercase */
		{ "a_b.com", false },
		{ "a b.com", false },
		{ "a/b", false },
		{ "*.a.com", false },
		{ "caf\xc3\xa9.com", false },
	};
	char buf[400];
	(void)state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (route_host_ok(t[i].s) != t[i].ok)
			fail_msg("route_host_ok(\"%s\") is not %d", t[i].s, t[i].ok);

	/* labels of 63 bytes, not 64 */
	assert_int_equal(strlen(l63), 63);
	assert_true(route_host_ok(l63));
	snprintf(buf, sizeof(buf), "%s.com", l63);
	assert_true(route_host_ok(buf));
	snprintf(buf, sizeof(buf), "%sd.com", l63);
	assert_false(route_host_ok(buf));
	snprintf(buf, sizeof(buf), "com.%sd", l63);
	assert_false(route_host_ok(buf));

	/* 253 bytes, not 254 */
	snprintf(buf, sizeof(buf), "%s.%s.%s.%s", l63, l63, l63, l63 + 2); /* 63*4 - 2 + 3 */
	assert_int_equal(strlen(buf), 253);
	assert_true(route_host_ok(buf));
	snprintf(buf, sizeof(buf), "%s.%s.%s.%s", l63, l63, l63, l63 + 1);
	assert_int_equal(strlen(buf), 254);
	assert_false(route_host_ok(buf));
}

static void test_port_values(void **state)
{
	static const struct {
		const char *v;
		uint16_t port; /* 0: not a port */
	} t[] = {
		{ "1", 1 },         { "80", 80 },        { "080", 80 },
		{ "65535", 65535 }, { "  443", 443 },    { "443  ", 443 },
		{ "", 0 },          { " ", 0 },          { "0", 0 },
		{ "65536", 0 },     { "-1", 0 },         { "+80", 0 },
		{ "80x", 0 },       { "8 0", 0 },        { "0x50", 0 },
		{ "80.0", 0 },      { "http", 0 },       { "\t80", 0 },
		{ "80,443", 0 },    { "4294967376", 0 }, { "99999999999999999999999", 0 },
	};
	struct routing_conf rc = base_rc();
	rc.to_container_ip = true;
	(void)state;

	for (int kind = 0; kind < 2; kind++) {
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			const struct kv labels[] = { { kind == ROUTE_HTTP ? "berth.http.port" :
									    "berth.tls.port",
						       t[i].v } };
			struct container_facts c = { WEB, ON_BRIDGE, .labels = labels,
						     .nlabels = 1 };
			struct route out[ROUTES_MAX];
			char why[200];
			size_t n = routes_of(&c, &rc, out, why, sizeof(why));
			if (t[i].port == 0) {
				char want[200];
				snprintf(want, sizeof(want), "%s \"%s\" is not a port",
					 labels[0].key, t[i].v);
				if (n != 0 || strcmp(why, want) != 0)
					fail_msg("%s=\"%s\": %zu routes, told \"%s\"",
						 labels[0].key, t[i].v, n, why);
				continue;
			}
			if (n != 1 || why[0] != '\0')
				fail_msg("%s=\"%s\": %zu routes, told \"%s\"", labels[0].key,
					 t[i].v, n, why);
			assert_int_equal(out[0].kind, kind);
			assert_int_equal(out[0].port, t[i].port);
			assert_string_equal(out[0].addr, "172.17.0.9");
		}
	}
}

static void test_path_values(void **state)
{
	char p100[ROUTE_PATH_MAX + 2];
	static const char *const good[] = { "/", "/api", "/api/v1/", "/a-b_c.d~e%20f", "/A/B" };
	static const char *const bad[] = {
		"",      "api",          "/a b",   "/a?b",  "/a#b",  "/a;b",
		"/a\tb", "/caf\xc3\xa9", "/a\x7f", " /api", "//x\n",
	};
	struct routing_conf rc = base_rc();
	rc.to_container_ip = true;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]) + 1; i++) {
		const char *p = good[i < sizeof(good) / sizeof(good[0]) ? i : 0];
		if (i == sizeof(good) / sizeof(good[0])) { /* 100 bytes */
			p100[0] = '/';
			memset(p100 + 1, 'p', ROUTE_PATH_MAX - 1);
			p100[ROUTE_PATH_MAX] = '\0';
			p = p100;
		}
		const struct kv labels[] = { { "berth.http.port", "80" },
					     { "berth.http.path", p } };
		struct container_facts c = { WEB, ON_BRIDGE, .labels = labels, .nlabels = 2 };
		struct route out[ROUTES_MAX];
		char why[200];
		size_t n = routes_of(&c, &rc, out, why, sizeof(why));
		if (n != 1 || why[0] != '\0' || strcmp(out[0].path, p) != 0)
			fail_msg("path \"%s\": %zu routes, told \"%s\"", p, n, why);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 1; i++) {
		const char *p = bad[i < sizeof(bad) / sizeof(bad[0]) ? i : 0];
		if (i == sizeof(bad) / sizeof(bad[0])) { /* 101 bytes */
			p100[0] = '/';
			memset(p100 + 1, 'p', ROUTE_PATH_MAX);
			p100[ROUTE_PATH_MAX + 1] = '\0';
			p = p100;
		}
		const struct kv labels[] = { { "berth.http.port", "80" },
					     { "berth.http.path", p } };
		struct container_facts c = { WEB, ON_BRIDGE, .labels = labels, .nlabels = 2 };
		struct route out[ROUTES_MAX];
		char why[200];
		size_t n = routes_of(&c, &rc, out, why, sizeof(why));
		if (n != 1 || out[0].path[0] != '\0' || strstr(why, "berth.http.path") == NULL ||
		    strstr(why, "is not a path prefix") == NULL)
			fail_msg("path \"%s\": %zu routes, told \"%s\"", p, n, why);
	}
}

/* A 253-byte host name is routed; one of 254 is not; one of 253 with the final dot that
 * berth.http.host may carry (and that is dropped) is the 253-byte name. */
static void test_host_label_lengths(void **state)
{
	static const char l63[] = "a123456789b123456789c123456789d123456789e123456789f123456789abc";
	char h253[300], h254[300], dotted[310], spaced[310];
	struct routing_conf rc = base_rc();
	struct route out[ROUTES_MAX];
	char why[300];
	(void)state;

	snprintf(h253, sizeof(h253), "%s.%s.%s.%s", l63, l63, l63, l63 + 2);
	snprintf(h254, sizeof(h254), "%s.%s.%s.%s", l63, l63, l63, l63 + 1);
	snprintf(dotted, sizeof(dotted), "%s.", h253);
	snprintf(spaced, sizeof(spaced), " %s", h253);
	assert_int_equal(strlen(h253), 253);

	const struct {
		const char *label;
		bool routed;
	} t[] = { { h253, true }, { h254, false }, { dotted, true }, { spaced, true } };
	int wrong = 0;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct kv labels[] = { { "berth.http.port", "80" },
					     { "berth.http.host", t[i].label } };
		struct container_facts c = { WEB, ON_BRIDGE, PUB80, .labels = labels,
					     .nlabels = 2 };
		size_t n = routes_of(&c, &rc, out, why, sizeof(why));
		bool found = false;
		for (size_t k = 0; k < n; k++)
			found = found || strcmp(out[k].host, h253) == 0;
		if (found != t[i].routed || (why[0] == '\0') != t[i].routed) {
			print_message(
				"berth.http.host of %zu bytes (case %zu): %s, told \"%.40s...\"\n",
				strlen(t[i].label), i, found ? "routed" : "not routed", why);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
}

/* At most ROUTES_MAX routes, every one of them well formed. */
static void test_many_hosts(void **state)
{
	char hosts[1000] = "";
	struct routing_conf rc = base_rc();
	struct route out[ROUTES_MAX + 1];
	char why[300];
	(void)state;

	for (int i = 0; i < 30; i++)
		snprintf(hosts + strlen(hosts), sizeof(hosts) - strlen(hosts), "%sh%d.example.com",
			 i ? "," : "", i);
	for (int tls = 0; tls < 2; tls++) {
		const struct kv labels[] = { { "berth.http.port", "80" },
					     { tls ? "berth.tls.port" : "x.none", "443" },
					     { "berth.http.host", hosts } };
		struct container_facts c = { WEB, ON_BRIDGE, .labels = labels, .nlabels = 3,
					     PORTS({ 80, false, 8080, "0.0.0.0" },
						   { 443, false, 8443, "0.0.0.0" }) };
		memset(&out[ROUTES_MAX], 0x5a, sizeof(out[0]));
		size_t n = routes_of(&c, &rc, out, why, sizeof(why));
		assert_int_equal(n, ROUTES_MAX);
		assert_int_equal(((unsigned char *)&out[ROUTES_MAX])[0], 0x5a); /* untouched */
		for (size_t i = 0; i < n; i++) {
			assert_true(route_host_ok(out[i].host));
			assert_int_equal(out[i].port, out[i].kind == ROUTE_HTTP ? 8080 : 8443);
			for (size_t k = 0; k < i; k++)
				assert_false(out[i].kind == out[k].kind &&
					     strcmp(out[i].host, out[k].host) == 0);
		}
		/* the container's own name comes first, and is kept */
		bool own = false;
		for (size_t i = 0; i < n; i++)
			own = own ||
			      (out[i].kind == ROUTE_HTTP && strcmp(out[i].host, "web.local") == 0);
		assert_true(own);
	}
}

/* Names that would pass 253 bytes are not routes (a long domain). */
static void test_long_domain(void **state)
{
	static const char l63[] = "a123456789b123456789c123456789d123456789e123456789f123456789abc";
	char domain[300];
	struct routing_conf rc = base_rc();
	struct route out[ROUTES_MAX];
	char why[300];
	const struct kv labels[] = { { "berth.http.port", "80" } };
	(void)state;

	/* 63.63.63.58 = 250 bytes: "web." makes 254 */
	snprintf(domain, sizeof(domain), "%s.%s.%s.%.58s", l63, l63, l63, l63);
	assert_int_equal(strlen(domain), 250);
	rc.domain = domain;
	struct container_facts c = { WEB, ON_BRIDGE, PUB80, .labels = labels, .nlabels = 1 };
	size_t n = routes_of(&c, &rc, out, why, sizeof(why));
	assert_int_equal(n, 0);
	/* "w." makes 252 */
	c.name = "w";
	n = routes_of(&c, &rc, out, why, sizeof(why));
	assert_int_equal(n, 1);
	assert_int_equal(strlen(out[0].host), 252);
	assert_true(route_host_ok(out[0].host));
}

/* Without a domain, nothing is routed and nothing told. */
static void test_no_domain(void **state)
{
	const struct kv labels[] = { { "berth.http.port", "bad" }, { "berth.tls.port", "443" } };
	struct container_facts c = { WEB, ON_BRIDGE, PUB80, .labels = labels, .nlabels = 2 };
	struct route out[ROUTES_MAX];
	char why[100] = "stale";
	(void)state;

	for (int i = 0; i < 2; i++) {
		struct routing_conf rc = base_rc();
		rc.domain = i == 0 ? NULL : "";
		rc.to_container_ip = true;
		size_t n = 99;
		snprintf(why, sizeof(why), "stale");
		assert_int_equal(routes_of_container(&c, &rc, out, &n, why, sizeof(why)), 0);
		assert_int_equal(n, 0);
		assert_string_equal(why, "");
	}
}

static void test_bad_args(void **state)
{
	struct container_facts c = { WEB, ON_BRIDGE, PUB80, LABELS(HTTP_PORT("80")) };
	struct routing_conf rc = base_rc();
	struct route out[ROUTES_MAX];
	size_t n = 99;
	char why[100];
	(void)state;

	assert_int_equal(routes_of_container(NULL, &rc, out, &n, why, sizeof(why)), -EINVAL);
	assert_int_equal(routes_of_container(&c, NULL, out, &n, why, sizeof(why)), -EINVAL);
	assert_int_equal(routes_of_container(&c, &rc, NULL, &n, why, sizeof(why)), -EINVAL);
	assert_int_equal(routes_of_container(&c, &rc, out, NULL, why, sizeof(why)), -EINVAL);
	/* why may be NULL, or of no size */
	assert_int_equal(routes_of_container(&c, &rc, out, &n, NULL, 0), 0);
	assert_int_equal(n, 1);
	why[0] = 'x';
	n = 99;
	assert_int_equal(routes_of_container(&c, &rc, out, &n, why, 0), 0);
	assert_int_equal(n, 1);
	assert_int_equal(why[0], 'x');
}

/* A problem is told in as much of why as there is; none is told without why. */
static void test_why_sizes(void **state)
{
	struct container_facts c = { WEB, ON_BRIDGE, LABELS(HTTP_PORT("80"), TLS_PORT("443")),
				     PUB80 };
	struct routing_conf rc = base_rc();
	struct route out[ROUTES_MAX];
	char why[16];
	(void)state;

	memset(why, 'x', sizeof(why));
	size_t n = routes_of(&c, &rc, out, why, 8);
	assert_int_equal(n, 1);
	assert_string_equal(why, "port 44");
	assert_int_equal(why[8], 'x');
	n = routes_of(&c, &rc, out, why, 1);
	assert_int_equal(n, 1);
	assert_string_equal(why, "");
	n = routes_of(&c, &rc, out, NULL, 100);
	assert_int_equal(n, 1);

	/* a long bad value is told cut short */
	char big[500];
	memset(big, '9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const struct kv labels[] = { { "berth.http.port", big } };
	struct container_facts d = { WEB, ON_BRIDGE, PUB80, .labels = labels, .nlabels = 1 };
	char w[300];
	n = routes_of(&d, &rc, out, w, sizeof(w));
	assert_int_equal(n, 0);
	assert_true(strlen(w) < 100);
	assert_non_null(strstr(w, "is not a port"));
}

/* A container without a name (or whose name has nothing usable) is routed by its other names;
 * one with a NULL label value (a label with no value) is not thrown. */
static void test_odd_facts(void **state)
{
	struct routing_conf rc = base_rc();
	struct route out[ROUTES_MAX];
	char why[300];
	(void)state;

	const struct kv l1[] = { { "berth.http.port", "80" }, { "berth.http.host", "a.example" } };
	struct container_facts c = {
		.id = ID, .running = true, ON_BRIDGE, PUB80, .labels = l1, .nlabels = 2
	};
	size_t n = routes_of(&c, &rc, out, why, sizeof(why));
	assert_int_equal(n, 1);
	assert_string_equal(out[0].host, "a.example");
	assert_string_equal(why, "");

	c.name = "___";
	n = routes_of(&c, &rc, out, why, sizeof(why));
	assert_int_equal(n, 1);
	assert_string_equal(out[0].host, "a.example");

	/* no name, no id: no routes of its own name, the service of its label */
	c.id = NULL;
	n = routes_of(&c, &rc, out, why, sizeof(why));
	assert_int_equal(n, 1);
	assert_string_equal(out[0].service, "host:a.example");

	const struct kv l2[] = { { "berth.http.port", NULL }, { NULL, "x" } };
	struct container_facts d = { WEB, ON_BRIDGE, PUB80, .labels = l2, .nlabels = 2 };
	n = routes_of(&d, &rc, out, why, sizeof(why));
	assert_int_equal(n, 0);
	assert_string_equal(why, "berth.http.port \"\" is not a port");

	/* an ID is the container's service, cut to 64 bytes */
	struct container_facts e = { .id = ID "ffff",
				     .name = "web",
				     .running = true,
				     ON_BRIDGE,
				     PUB80,
				     LABELS(HTTP_PORT("80")) };
	n = routes_of(&e, &rc, out, why, sizeof(why));
	assert_int_equal(n, 1);
	assert_string_equal(out[0].service, SVC_ID);
}

/* Two replicas of one compose service share their service; of two services, not. */
static void test_replicas_share_service(void **state)
{
	struct routing_conf rc = base_rc();
	struct route a[ROUTES_MAX], b[ROUTES_MAX];
	char why[300];
	(void)state;

	struct container_facts c1 = { .id = ID,
				      .name = "shop-web-1",
				      .running = true,
				      BRIDGE("172.17.0.2"),
				      LABELS(COMPOSE("shop", "web"), HTTP_PORT("80")) };
	struct container_facts c2 = { .id = "ffff",
				      .name = "shop-web-2",
				      .running = true,
				      BRIDGE("172.17.0.3"),
				      LABELS(COMPOSE("shop", "web"), HTTP_PORT("80")) };
	rc.to_container_ip = true;
	size_t na = routes_of(&c1, &rc, a, why, sizeof(why));
	size_t nb = routes_of(&c2, &rc, b, why, sizeof(why));
	assert_int_equal(na, 2);
	assert_int_equal(nb, 2);
	bool shared = false;
	for (size_t i = 0; i < na; i++)
		for (size_t k = 0; k < nb; k++)
			if (strcmp(a[i].host, b[k].host) == 0) {
				assert_string_equal(a[i].host, "web.shop.local");
				assert_string_equal(a[i].service, b[k].service);
				assert_string_not_equal(a[i].addr, b[k].addr);
				shared = true;
			}
	assert_true(shared);
}

static void test_service_routes(void **state)
{
	(void)state;
	struct routing_conf rc = base_rc();
	struct route out[ROUTES_MAX];
	size_t n = 99;
	const char *ips[] = { "127.0.0.1", "10.1.2.3", "fd00::7", "" };

	assert_int_equal(routes_of_service("api", "My_API", ips, 4, 8080, &rc, out, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out[i].kind, ROUTE_HTTP);
		assert_string_equal(out[i].host, "my-api.local");
		assert_string_equal(out[i].path, "");
		assert_string_equal(out[i].service, "manual:api");
		assert_string_equal(out[i].addr, ips[i]);
		assert_int_equal(out[i].port, 8080);
	}
	/* For other nodes: this node's loopback is not theirs. */
	rc.for_others = true;
	assert_int_equal(routes_of_service("api", "My_API", ips, 4, 8080, &rc, out, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].addr, "10.1.2.3");
	/* No port, no name, no domain: nothing. */
	assert_int_equal(routes_of_service("api", "api", ips, 4, 0, &rc, out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(routes_of_service("api", "__", ips, 4, 80, &rc, out, &n), 0);
	assert_int_equal(n, 0);
	rc.domain = NULL;
	assert_int_equal(routes_of_service("api", "api", ips, 4, 80, &rc, out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(routes_of_service(NULL, "api", ips, 4, 80, &rc, out, &n), -EINVAL);
	/* At most ROUTES_MAX addresses. */
	const char *many[ROUTES_MAX + 3];
	for (size_t i = 0; i < ROUTES_MAX + 3; i++)
		many[i] = "10.0.0.1";
	rc = base_rc();
	assert_int_equal(routes_of_service("x", "x", many, ROUTES_MAX + 3, 80, &rc, out, &n), 0);
	assert_int_equal(n, ROUTES_MAX);
}

int main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[NCASES + 12];
	size_t n = 0;

	for (size_t i = 0; i < NCASES; i++) {
		struct CMUnitTest t = { cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
		tests[n++] = t;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_host_ok);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_port_values);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_path_values);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_host_label_lengths);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_hosts);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_domain);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_no_domain);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_args);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_why_sizes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_odd_facts);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_replicas_share_service);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_service_routes);
	return _cmocka_run_group_tests("routes", tests, n, NULL, NULL);
}
