/* SPDX-License-Identifier: MIT */
/* What the cluster's files share: the node (cluster.c: lease, membership, status), the
 * publisher of local origins (publish.c) and the importer of the others (import.c). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include <event2/util.h>

#include "cluster/cluster.h"
#include "cluster/etcd.h"
#include "util/backoff.h"
#include "util/strmap.h"

#define PROPAGATION_BUCKETS 12

enum node_state {
	NODE_LEASE, /* getting a lease */
	NODE_JOIN,  /* writing the node key */
	NODE_UP,    /* member: publishing and watching */
	NODE_FATAL, /* refused: the name is taken */
};

/* Another node, as its node key says. */
struct peer {
	char *advertise;
	char *version;
	char *started;
	int64_t last_change_ms; /* wall clock of the last change applied here */
	size_t records;         /* in its origins here */
	bool alive;             /* its node key exists */
	bool seen;              /* in the full read under way */
};

/* One origin of another node, imported. */
struct remote {
	int64_t mod_revision;
	size_t records;
	bool seen; /* in the full read under way */
	char node[];
};

/* A local origin waiting to be written. */
struct pending {
	enum origin_kind kind;
	char name[];
};

/* What is in etcd for a local origin. */
struct published {
	uint64_t digest;
	size_t records;
};

struct cluster {
	struct event_base *base;
	struct registry *reg;
	struct etcd *etcd;
	char *node, *advertise;
	char *node_key;       /* <prefix>/v1/nodes/<node> */
	char *range_prefix;   /* <prefix>/v1/ */
	char *nodes_prefix;   /* <prefix>/v1/nodes/ */
	char *records_prefix; /* <prefix>/v1/records/ */
	char *own_prefix;     /* <prefix>/v1/records/<node>/ */
	unsigned ttl;
	unsigned publish;
	void (*fatal)(void *arg, int code);
	void *fatal_arg;
	size_t (*export_routes)(void *arg, enum origin_kind kind, const char *name,
				struct route *out);
	void (*remote_routes)(void *arg, const char *origin, const struct route *r, size_t n);
	void *routes_arg;
	char started[40];

	enum node_state state;
	int64_t lease;
	struct etcd_call *lease_call, *join_call, *ttl_call, *ka_call, *revoke_call;
	struct event *join_timer, *ka_timer;
	struct backoff join_backoff;
	int64_t conflict_lease, conflict_ttl;
	unsigned conflict_polls;
	double conflict_deadline; /* a holder still there then is alive */

	/* etcd link */
	bool link_down;
	bool refused; /* etcd answers but refuses us (auth, permission) */
	double down_since;
	char last_error[300];

	/* publish.c */
	struct strmap pending;   /* "<kind>:<name>" -> struct pending */
	struct strmap published; /* "<kind>:<name>" -> struct published */
	struct etcd_call *txn_call;
	struct event *flush_timer;
	struct backoff txn_backoff;
	struct batch *batch; /* the transaction in flight */

	/* import.c */
	struct strmap remotes; /* "<node>/<origin>" -> struct remote */
	struct strmap peers;   /* node -> struct peer */
	struct etcd_call *range_call, *watch_call;
	struct event *watch_timer;
	struct event *watch_dog; /* a watch not created in time is started again */
	bool watch_created;
	char watch_endpoint[256]; /* the member the watch went to */
	struct backoff watch_backoff;
	int64_t revision;      /* the latest applied */
	int64_t read_revision; /* of the full read under way, 0 before its first page */
	bool reading;          /* a full read is under way */
	char *read_next;       /* its next key */
	unsigned page_keys;    /* keys per page (fewer after a page too large) */
	double read_started;   /* monotonic seconds */
	double skip_window;    /* skipped keys: when the window began */
	unsigned skip_lines, skip_held;
	size_t read_next_len;
	size_t remote_records;

	/* shutdown */
	void (*stopped)(void *arg);
	void *stopped_arg;
	struct event *stop_timer;

	/* counters */
	uint64_t writes, write_errors, errors, watch_events, full_reads, skipped, lease_renewals;
	uint64_t prop_count, prop_buckets[PROPAGATION_BUCKETS];
	double prop_sum;
};

/* A call to etcd failed: note it (one log line per outage), mark the link down. */
void cluster_link_error(struct cluster *c, const char *what, int err, const char *msg);
/* A call succeeded: the link is up (logs the end of an outage). */
void cluster_link_ok(struct cluster *c);
/* The lease is gone (expired during an outage): get a new one, join again. */
void cluster_lease_lost(struct cluster *c);
/* Wall-clock milliseconds. */
int64_t cluster_now_ms(void);
/* The start of a timer in ms. */
void cluster_timer(struct event *ev, unsigned ms);

/* publish.c */
void publish_start(struct cluster *c); /* everything local, once a member */
void publish_stop(struct cluster *c);  /* the lease is gone: nothing is in etcd any more */
void publish_observe(void *arg, enum origin_kind kind, const char *name);
void publish_flush(evutil_socket_t fd, short what, void *arg);
void publish_free(struct cluster *c);

/* import.c */
void import_full_read(struct cluster *c);
void import_stop(struct cluster *c);
void import_watch_timer(evutil_socket_t fd, short what, void *arg);
void import_free(struct cluster *c);
/* Calls moved to another member: a watch still on the one left is started again there. */
void import_endpoint_moved(struct cluster *c);
