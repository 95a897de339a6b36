/* SPDX-License-Identifier: MIT */
/* The cluster: this node's records shared with every other node through etcd, and theirs
 * answered here. etcd's leases, transactions and watches are the whole mechanism:
 *   <prefix>/v1/nodes/<node>            {"node", "advertise", "version", "started"}
 *   <prefix>/v1/records/<node>/<origin> a value of cluster/value.h
 * both under the node's lease, kept alive at a third of its TTL and revoked on a clean stop, so
 * a node's records vanish with it. A node reads the whole <prefix>/v1/ range, then watches it
 * from the revision it read; other nodes' origins become registry origins of kind ORIGIN_NODE
 * named "<node>/<origin>". etcd unreachable: everything known keeps answering, the node retries
 * with capped backoff and, when etcd is back, renews what it lost (lease, membership, its
 * keys) and reads everything again. Everything runs on the control loop. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "routing/routes.h"
#include "sources/source.h"
#include "store/registry.h"

struct event_base;
struct evbuffer;
struct cluster;

struct cluster_conf {
	const char *const *endpoints; /* --etcd */
	size_t n_endpoints;
	const char *tls_ca, *tls_cert, *tls_key;
	const char *user, *password;
	const char *prefix;    /* --etcd-prefix, e.g. "/berth" (no trailing '/') */
	const char *node;      /* --node */
	const char *advertise; /* --advertise, or the host's address; NULL: none */
	unsigned lease_ttl;    /* seconds, >= 2 */
	unsigned publish;      /* the origin kinds to publish: bit 1u << ORIGIN_* */
	/* Called when this node must not run (its name is taken by a live node): serve stops and
	 * exits with code. */
	void (*fatal)(void *arg, int code);
	void *fatal_arg;
	/* HTTP routing (NULL: none): the routes other nodes' proxies use for a local origin
	 * (into out[0..ROUTES_MAX), their count), and another node's origin's routes (its
	 * "node:<node>/<origin>" name; n 0: none any more). */
	size_t (*export_routes)(void *arg, enum origin_kind kind, const char *name,
				struct route *out);
	void (*remote_routes)(void *arg, const char *origin, const struct route *r, size_t n);
	void *routes_arg;
};

int cluster_new(struct event_base *base, struct registry *reg, const struct cluster_conf *conf,
		struct cluster **out, char *err, size_t errlen);
/* Leave cleanly: revoke the lease (its keys vanish everywhere at once), then done(arg); at
 * most about a second. */
void cluster_stop(struct cluster *c, void (*done)(void *arg), void *arg);
void cluster_free(struct cluster *c);

/* /dns/cluster: {"nodes": [{"name", "address", "version", "records", "last_change", "state":
 * "alive"|"lease expired", "self"}...], "etcd": {"endpoint", "state", "revision", "lease",
 * "last_error"}}; NULL if out of memory. */
json_t *cluster_json(const struct cluster *c);
/* Prometheus text of the cluster's own families. */
void cluster_metrics(const struct cluster *c, struct evbuffer *out);

/* As a source in /status ("kind": "etcd"). */
extern const struct source_ops cluster_source_ops;
