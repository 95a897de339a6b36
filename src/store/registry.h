/* SPDX-License-Identifier: MIT */
/* The registry owns the truth: record sets by origin. It lives on the control
 * thread and publishes immutable snapshots that DNS workers read without locks;
 * each publish rebuilds only the names that changed since the last. */
#pragma once
#include <stdint.h>

#include "store/recset.h"
#include "store/snapshot.h"

struct registry_params {
	const char *domain;    /* zone apex, e.g. "docker" */
	const char *domain2;   /* a second zone (--http-domain, e.g. "local"), or NULL */
	const char *ns_ip;     /* address for ns.<domain>, may be NULL */
	uint32_t ttl;          /* TTL of SOA/NS */
	uint32_t negative_ttl; /* SOA minimum */
};

/* Where an origin's records come from. */
enum origin_kind {
	ORIGIN_DOCKER,  /* a container, by ID */
	ORIGIN_HOSTS,   /* a file in a hosts directory, by path */
	ORIGIN_RECORDS, /* a --records file, by path */
	ORIGIN_MANUAL,  /* a service put over HTTP, by ID */
	ORIGIN_NODE,    /* another node of the cluster, by name */
	ORIGIN_TEST,    /* unit tests and fuzzers */
	ORIGIN_HTTP,    /* the names of HTTP and TLS routes (routing/router.c) */
	ORIGIN_KINDS
};
/* "docker", "hosts", ...: as origins are shown ("docker:<id>"). */
const char *origin_kind_name(enum origin_kind kind);

struct registry;

struct registry *registry_new(const struct registry_params *p);
/* Frees the registry and the current snapshot. No reader may be active. */
void registry_free(struct registry *r);

/* Replace what origin (kind, name) contributes (takes ownership of rs); rs ==
 * NULL removes it. 0 or -ENOMEM (then the origin keeps what it had and rs is
 * freed). Every observer is told. */
int registry_set(struct registry *r, enum origin_kind kind, const char *name, struct recset *rs);

/* The same, with what other nodes of the cluster must see of the origin when that differs
 * from what this node answers (a container reached through the node's address); export NULL:
 * the same records. Both are taken. */
int registry_set_view(struct registry *r, enum origin_kind kind, const char *name,
		      struct recset *rs, struct recset *export);
/* What other nodes see of origin (kind, name): its export set, else its records; NULL when it
 * has none. Valid until the origin is next set. */
const struct recset *registry_export(const struct registry *r, enum origin_kind kind,
				     const char *name);

/* Observers, told after every registry_set which origin changed (the control
 * loop schedules a publish; a publisher follows its own origins). */
typedef void (*registry_observer_fn)(void *arg, enum origin_kind kind, const char *name);
int registry_observe(struct registry *r, registry_observer_fn fn, void *arg);

/* Publish every change made since the last publish: a new snapshot sharing
 * all the rest with the last, swapped in with one pointer; the old one is freed
 * after every reader has left it (call_rcu: the control loop never waits).
 * 0 or a negative code (the previous snapshot stays). */
int registry_publish(struct registry *r);
/* The same with a given SOA serial (tests); it must not go back. */
int registry_publish_serial(struct registry *r, uint32_t serial);

/* The current snapshot: call inside rcu_read_lock()/rcu_read_unlock(). */
const struct snapshot *registry_current(struct registry *r);

/* Iterate origins (control thread only), with their latest records. origin is
 * "<kind>:<name>". */
size_t registry_origin_count(const struct registry *r);
typedef void (*registry_foreach_fn)(void *arg, enum origin_kind kind, const char *origin,
				    const struct recset *rs);
void registry_foreach(const struct registry *r, registry_foreach_fn fn, void *arg);
