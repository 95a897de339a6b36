/* SPDX-License-Identifier: MIT */
/* The Docker source: lists and inspects containers, follows the event stream, and keeps one
 * registry origin ("docker:<id>") per container, through engine restarts and outages. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "naming/naming.h"
#include "sources/source.h"

struct event_base;
struct registry;

struct docker_source_conf {
	/* unix:///path, tcp://host:port, http(s)://host:port; "none" = no Docker (docker_source_new
	 * returns 0 with *out NULL); NULL = $DOCKER_HOST, else unix:///var/run/docker.sock. */
	const char *endpoint;
	/* TLS files (--docker-tls-ca/-cert/-key); NULL = $DOCKER_CERT_PATH when $DOCKER_TLS_VERIFY
	 * is set. Certificates are always verified when TLS is on. */
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
	/* Passed to naming_records for every container; its strings must outlive the source. */
	struct naming_conf naming;
	/* With a cluster: what other hosts see of each container (naming_export_records), given
	 * to the registry beside its records; NULL: none. Must outlive the source. */
	const struct naming_export *export;
	/* Told each container's facts whenever its records are set (f NULL: it is gone or
	 * answers nothing): HTTP routing follows containers so. NULL: nobody. */
	void (*on_facts)(void *arg, const char *id, const struct container_facts *f);
	void *facts_arg;
};

/* Time from an event reaching berth to its container's records reaching the
 * registry (an inspect of the container in between), as a histogram:
 * bucket i counts lags <= docker_lag_bounds_ms[i]; the last bucket, the rest. */
#define DOCKER_LAG_BUCKETS 10
extern const double docker_lag_bounds_ms[DOCKER_LAG_BUCKETS - 1];

struct docker_status {
	bool connected;       /* list done and event stream open */
	char endpoint[160];   /* as described in logs */
	char api_version[16]; /* negotiated, "" before the first connection */
	char min_api_version[16];
	char engine_version[40];
	int64_t last_event_ns; /* engine clock, Unix nanoseconds; 0 = none yet */
	uint64_t reconnects;   /* connections made after the first one */
	uint64_t events;       /* events handled */
	size_t containers;     /* containers that have records now */
	char last_error[160];  /* why the last connection attempt or stream failed; "" = none */
	uint64_t lag[DOCKER_LAG_BUCKETS];
	double lag_sum_ms;
	/* The last full sync (at start and after every reconnection): from asking the engine's
	 * version to every listed container inspected; 0 = none finished yet. */
	double sync_ms;
	size_t synced; /* containers in that sync's list */
};

struct docker_source;

/* Start following the engine on base; records go to reg (origins "docker:<id>"). Returns at
 * once: the first connection, and every reconnection, happens on the loop. An engine that does
 * not answer is retried with capped backoff (250 ms doubling to 5 s), logged once and then at
 * most every 60 s; what was known keeps being served. 0 and *out (NULL for "none"), or a
 * negative code with a message in err: a configuration error (bad endpoint, unreadable TLS
 * file) or out of memory. */
int docker_source_new(struct event_base *base, struct registry *reg,
		      const struct docker_source_conf *conf, struct docker_source **out, char *err,
		      size_t errlen);
/* Cancel everything (no registry change). NULL is a no-op. */
void docker_source_free(struct docker_source *ds);

void docker_source_status(const struct docker_source *ds, struct docker_status *out);

/* Drop the connection and start again with a full re-list (as after an engine restart). */
void docker_source_reconnect(struct docker_source *ds);

/* reload: docker_source_reconnect (a full re-list); status: {"name": "docker", "kind": "docker",
 * "state": "ok" (connected) | "starting" | "down" (after an error), "required": true, "error",
 * "endpoint", "api_version", "engine_version", "containers", "last_event_ns",
 * "counters": {"events", "reconnects"}, "event_lag": {"bounds_ms", "counts", "sum_ms"},
 * "last_sync": {"containers", "ms"} (once a sync finished)}. */
extern const struct source_ops docker_source_ops;
