/* SPDX-License-Identifier: MIT */
/* The HTTP API and status page (libevent evhttp on the control loop): /health,
 * /status, /dns/records, /dns/cluster, /metrics, dnsdock's /services API, and
 * the page at /. Reads are open; writes need the --api-token. */
#pragma once
#include <jansson.h>
#include <stddef.h>

#include "dns/answer.h"

struct event_base;
struct evbuffer;
struct registry;
struct serve_conf;
struct forwarder;
struct manual_source;

/* Limits; 0 in http_deps picks these. */
#define HTTP_MAX_CONNECTIONS 64 /* more wait in the kernel's backlog */
#define HTTP_TIMEOUT_SECONDS 10 /* to read a request or write a response */
#define HTTP_MAX_BODY 65536     /* bytes in a request body (413 above) */

/* What the HTTP server reads. Everything is used on the control loop only. */
struct http_deps {
	struct event_base *base;       /* the control loop */
	struct registry *reg;          /* records: /dns/records, /metrics, the page */
	const struct serve_conf *conf; /* http address, api_token, listen, domain, node... */
	struct manual_source *manual;  /* dnsdock's /services; NULL: that API answers 503 */
	const struct forwarder *fwd;   /* NULL: forwarding is off */

	/* Callbacks into serve.c; each gets arg. Any may be NULL. */
	void *arg;
	/* Sum of every DNS worker's counters (UDP and TCP) into out (zeroed by the caller). */
	void (*counters)(void *arg, struct dns_counters *out);
	/* The sources, a new JSON array of objects:
	 *   {"name": "docker", "kind": "docker"|"hosts"|"records"|"etcd"|...,
	 *    "state": "ok"|"starting"|"degraded"|"down", "required": bool,
	 *    "error": string|null, ...anything else worth showing (e.g. "endpoint",
	 *    "last_event", "path"),
	 *    "counters": {"events": n, "reconnects": n, ...} (optional; each becomes
	 *    berth_source_<key>_total{source,kind} in /metrics)}.
	 * /health is 503 "unhealthy" while a source with "required": true is "down", and 200
	 * "degraded" while a source says "health": "degraded" (DNS answers on without it).
	 * The manual source is one of them (serve lists every source). */
	json_t *(*sources)(void *arg);
	/* The cluster, a new JSON object {"nodes": [{"name", "address", "state", "self": bool,
	 * "records": n, "version", "last_change"...}], "etcd": {"endpoint", "state",
	 * "revision", "last_error"...}}. NULL callback: this node alone. */
	json_t *(*cluster)(void *arg);
	/* More Prometheus families for /metrics, appended to out. May be NULL. */
	void (*metrics)(void *arg, struct evbuffer *out);

	/* Tuning, 0 = the defaults above (tests use small values). */
	int max_connections;
	int timeout_seconds;
	size_t max_body;
};

struct http_server;

/* Listen on conf->http and serve on base. 0 and *out, or a negative code with a message in
 * err (e.g. -EADDRINUSE). deps is copied; what it points to must outlive the server. */
int http_server_new(const struct http_deps *deps, struct http_server **out, char *err,
		    size_t errlen);
/* Close the listener and every connection. */
void http_server_free(struct http_server *hs);
