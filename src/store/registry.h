/* SPDX-License-Identifier: MIT */
/* The registry owns the truth: record sets by origin. It lives on the control
 * thread and publishes immutable snapshots that DNS workers read without locks. */
#pragma once
#include <stdint.h>

#include "store/recset.h"
#include "store/snapshot.h"

struct registry_params {
	const char *domain;     /* zone apex, e.g. "docker" */
	const char *ns_ip;      /* address for ns.<domain>, may be NULL */
	uint32_t ttl;           /* TTL of SOA/NS */
	uint32_t negative_ttl;  /* SOA minimum */
};

struct registry;

struct registry *registry_new(const struct registry_params *p);
/* Frees the registry and the current snapshot. No reader may be active. */
void registry_free(struct registry *r);

/* Replace what origin contributes (takes ownership of rs); rs == NULL removes it. */
void registry_set(struct registry *r, const char *origin, struct recset *rs);
/* Called after every registry_set, so the control loop can schedule a publish. */
void registry_on_change(struct registry *r, void (*cb)(void *arg), void *arg);

/* Build a snapshot of all origins and publish it with one pointer swap; the old
 * snapshot is freed after every reader has left it. 0 or negative error. */
int registry_publish(struct registry *r);

/* The current snapshot: call inside rcu_read_lock()/rcu_read_unlock(). */
const struct snapshot *registry_current(struct registry *r);

/* Iterate origins (control thread only). */
size_t registry_origin_count(const struct registry *r);
void registry_foreach(const struct registry *r,
                      void (*fn)(void *arg, const char *origin, const struct recset *rs), void *arg);
