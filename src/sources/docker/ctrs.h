/* SPDX-License-Identifier: MIT */
/* What the Docker source knows of each container, by ID (a hash table), and its two inspect
 * queues: urgent (events) ahead of bulk (a full list). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ID_MAX 64

struct docker_source;
struct hc_req;
struct event;

enum queue { Q_NONE = 0, Q_URGENT, Q_BULK };

/* What the source knows of one container. */
struct ctr {
	struct docker_source *s;
	char id[ID_MAX + 1];
	struct ctr *hnext;         /* hash chain */
	struct ctr *qprev, *qnext; /* in a queue */
	enum queue q;
	struct hc_req *req;   /* inspect in flight */
	struct event *later;  /* the next try after a failed inspect; NULL until one failed */
	uint64_t gen;         /* bumped by every event */
	uint64_t req_gen;     /* gen when the inspect in flight was sent */
	uint64_t event_epoch; /* source epoch at its last event */
	double event_at;      /* monotonic seconds of its last event, 0 = none pending */
	unsigned retries;
	unsigned restarts; /* inspects cancelled for a newer event since the last answer */
	bool want;         /* an inspect newer than the one in flight is wanted */
	bool named;        /* has an origin in the registry */
	bool running;      /* as its last inspect said */
	bool listed;       /* in the last container list */
	bool warned;       /* its odd JSON was logged once */
};

struct fifo {
	struct ctr *head, *tail;
};

/* Walk it with: for (b = 0; b < t->nbuckets; b++) for (c = t->buckets[b]; c; c = c->hnext). */
struct ctr_table {
	struct ctr **buckets;
	size_t nbuckets, n;
	struct fifo urgent, bulk;
};

/* 0, or -ENOMEM. */
int ctrs_init(struct ctr_table *t);
/* Frees every container (its timer must be gone) and the table. */
void ctrs_free(struct ctr_table *t);
struct ctr *ctrs_find(const struct ctr_table *t, const char *id);
/* Found, or made (zeroed, id and s set); NULL when out of memory. */
struct ctr *ctrs_get(struct ctr_table *t, struct docker_source *s, const char *id);
/* Out of its queue and the table, and freed (its timer must be gone). */
void ctrs_remove(struct ctr_table *t, struct ctr *c);
/* Queue an inspect; an urgent one (an event) overtakes the bulk of a (re)list. */
void ctrs_enqueue(struct ctr_table *t, struct ctr *c, enum queue q);
void ctrs_dequeue(struct ctr_table *t, struct ctr *c);
/* The next container to inspect (urgent first), still queued; NULL when none. */
struct ctr *ctrs_next(const struct ctr_table *t);
