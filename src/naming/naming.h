/* SPDX-License-Identifier: MIT */
/* Container facts in, owner names and records out: every naming convention of
 * the seeds (docker_dns, dnsdock, joyride, compose) lives here, and nothing here
 * does I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/recset.h"

struct kv {
	const char *key;
	const char *value;
};

struct container_net {
	const char *name;           /* network name, e.g. "bridge", "mynet" */
	const char *ipv4;           /* NULL or "" when none */
	const char *ipv6;           /* NULL or "" when none */
	const char *const *aliases; /* network aliases (NULL-terminated, may be NULL) */
	uint8_t ipv4_prefix;        /* IPPrefixLen, 0 = unknown: split horizon */
	uint8_t ipv6_prefix;        /* GlobalIPv6PrefixLen, 0 = unknown */
};

struct container_port {
	uint16_t port;       /* container port */
	bool udp;            /* else tcp */
	uint16_t host_port;  /* published host port, 0 if not published */
	const char *host_ip; /* the host address it is bound to; NULL or "" (or 0.0.0.0, ::): all */
};

enum container_health { HEALTH_NONE = 0, HEALTH_STARTING, HEALTH_HEALTHY, HEALTH_UNHEALTHY };

/* What Docker says of one container (strings borrowed, not owned). */
struct container_facts {
	const char *id;       /* full 64-hex ID */
	const char *name;     /* without the leading '/' */
	const char *hostname; /* Config.Hostname */
	const char *
		image; /* Config.Image as the user gave it, e.g. "redis:7" or "quay.io/coreos/etcd" */
	const struct kv *labels;
	size_t nlabels;
	const char *const *env; /* "KEY=VALUE", NULL-terminated, may be NULL */
	const char *
		network_mode; /* HostConfig.NetworkMode: "default", "bridge", "host", "none", "container:<id>", or a network name */
	const struct container_net *nets;
	size_t nnets;
	const struct container_port *ports;
	size_t nports;
	enum container_health health;
	bool running; /* State.Running (paused containers are running) */
	bool paused;
};

struct naming_conf {
	const char *domain;      /* "docker" */
	const char *environment; /* "" or e.g. "prod" */
	uint32_t ttl;            /* default TTL (--ttl) */
	const char *
		host_ip; /* the host's address: joyride.host.name and host-network containers; may be NULL */
	bool bare_hostnames;         /* --bare-hostnames: answer "<hostname>." (docker_dns) */
	bool include_unhealthy;      /* --include-unhealthy */
	bool all;                    /* --all: stopped containers answer too */
	const char *const *networks; /* --network filter (NULL-terminated), NULL = all */
};

/* Add every record the container should have to out. 0, with *ignored true when the
 * container answers nothing (berth.ignore, unhealthy, paused, stopped without --all: out
 * is left as it was); or a negative error (-EINVAL for a NULL argument, -ENOMEM).
 * Names that are not valid DNS labels are sanitised (lowercase, [a-z0-9-], at most 63
 * bytes), never rejected. */
int naming_records(const struct container_facts *c, const struct naming_conf *conf,
		   struct recset *out, bool *ignored);

/* What other hosts of the cluster can reach of a container. */
struct naming_export {
	const char *advertise;       /* this node's address (--advertise); NULL: none */
	const char *const *routable; /* networks other hosts reach directly (NULL-terminated) */
	bool unreachable;            /* --publish-unreachable */
};

/* The records other nodes answer for the container: as naming_records, but its own
 * addresses only on routable networks (network aliases only there too); otherwise, when it
 * publishes a host port (or with unreachable), the node's advertise address at every name,
 * SRV records _<port>._<proto>.<name> carrying the published host ports, and no PTR.
 * *ignored is also true when no other host could reach it. */
int naming_export_records(const struct container_facts *c, const struct naming_conf *conf,
			  const struct naming_export *x, struct recset *out, bool *ignored);

/* "My_App.1" -> "my-app-1": a valid DNS label (empty result if nothing usable). */
void naming_label(const char *in, char *out, size_t outlen);
