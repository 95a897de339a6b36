/* SPDX-License-Identifier: MIT */
/* Command-line options and BERTH_* environment variables of `berth serve`:
 * one table drives parsing, the environment and --help. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/addr.h"
#include "util/strv.h"

#define CONF_MAX_LISTEN 16
#define CONF_MAX_CIDR 64

enum miss_mode { MISS_NXDOMAIN = 0, MISS_SERVFAIL = 1 };

struct serve_conf {
	struct addr listen[CONF_MAX_LISTEN]; /* --listen, default 127.0.0.1:53 */
	size_t nlisten;
	char *domain;      /* --domain, default "docker", stored without trailing dot, lowercase */
	char *environment; /* --environment, default "" */
	char *docker; /* --docker URL, default $DOCKER_HOST or unix:///var/run/docker.sock; NULL with --docker none */
	bool docker_none;       /* --docker none: no Docker discovery */
	struct strv hosts_dirs; /* --hosts-dir, repeatable */
	struct strv records;    /* --records, repeatable */
	struct addr upstream
		[CONF_MAX_LISTEN]; /* --upstream ADDR[:PORT], repeatable; default: /etc/resolv.conf */
	size_t nupstream;
	bool upstream_none;    /* --upstream none */
	bool upstream_set;     /* upstreams came from the command line / env, not resolv.conf */
	struct addr http;      /* --http ADDR:PORT, default 127.0.0.1:8053 */
	bool http_none;        /* --http none */
	struct strv http_host; /* --http-host NAME, repeatable: more Host headers HTTP accepts */
	char *host_ip;         /* --host-ip, NULL = auto */
	uint32_t ttl;          /* --ttl, default 10 */
	uint32_t negative_ttl; /* --negative-ttl, default 5 (SOA minimum) */
	unsigned threads;      /* --threads, default: number of cores */
	struct strv etcd;      /* --etcd URL, repeatable */
	char *node;            /* --node, default hostname */
	char *nsid;            /* --nsid TEXT, NULL: the node name */
	bool nsid_none;        /* --nsid none: no NSID (RFC 5001) */
	char *advertise;       /* --advertise */
	char *api_token;       /* --api-token */
	char *state_dir;       /* --state-dir, default /var/lib/berth */
	char *user;            /* --user: drop root to this user once bound; NULL: stay */
	char *group;           /* --group: supplementary group (the Docker socket's by default) */
	bool keep_net_bind;    /* --keep-net-bind-service: keep CAP_NET_BIND_SERVICE */
	int log_level;         /* --log-level error|warn|info|debug, default info */
	bool log_json;         /* --log-format text|json */
	enum miss_mode miss;   /* --miss nxdomain|servfail */
	struct cidr allow[CONF_MAX_CIDR]; /* --allow-recursion CIDR, repeatable */
	size_t nallow;
	uint16_t udp_size;    /* --max-udp-size, default 1232 */
	uint32_t tcp_idle_ms; /* --tcp-idle-timeout seconds, default 10 s */
	uint32_t rate_limit;  /* --rate-limit, UDP responses/s per client prefix, 0 = off */
	char *resolv_conf;    /* --resolv-conf, default /etc/resolv.conf */
	char *docker_tls_ca; /* --docker-tls-ca, else $DOCKER_CERT_PATH/ca.pem with DOCKER_TLS_VERIFY */
	char *docker_tls_cert;  /* --docker-tls-cert */
	char *docker_tls_key;   /* --docker-tls-key */
	bool bare_hostnames;    /* --bare-hostnames: answer "<hostname>." */
	bool include_unhealthy; /* --include-unhealthy */
	bool all;               /* --all: stopped containers answer too */
	struct strv networks;   /* --network NAME, repeatable: only these networks' addresses */
	/* The cluster (with --etcd). */
	char *etcd_ca, *etcd_cert, *etcd_key; /* --etcd-ca, --etcd-cert, --etcd-key */
	char *etcd_user, *etcd_password;      /* --etcd-user, --etcd-password */
	char *etcd_prefix;                    /* --etcd-prefix, default /berth */
	uint32_t etcd_lease_ttl;              /* --etcd-lease-ttl, default 10 */
	struct strv routable;                 /* --routable-network NAME, repeatable */
	unsigned publish;                     /* --publish: PUBLISH_* bits */
	bool publish_unreachable;             /* --publish-unreachable */
	/* HTTP and TLS routing through HAProxy (with --http-domain). */
	char *http_domain;           /* --http-domain, NULL: off; lowercase, no final dot */
	struct strv proxy_addrs;     /* --proxy-address, repeatable */
	struct strv haproxy_sockets; /* --haproxy-socket PATH|ADDR:PORT, repeatable */
	bool http_auto;              /* --http-auto */
	bool proxy_to_container_ip;  /* --proxy-to-container-ip */
};

/* --publish kinds. */
#define PUBLISH_DOCKER 1u
#define PUBLISH_MANUAL 2u
#define PUBLISH_HOSTS 4u
#define PUBLISH_RECORDS 8u

/* Fill c from the environment (BERTH_*), then argv (argv[0] is the subcommand
 * or program name). Command line wins over environment. Repeatable options given
 * in the environment are separated by commas or spaces.
 * 0 with *exited false: run with c (conf_clear it after). 0 with *exited true: --help or
 * --version was printed, exit 0. A negative code with the message in err: exit 2. Unless it
 * returns 0 with *exited false, c is already cleared. */
int conf_parse_serve(struct serve_conf *c, int argc, char **argv, bool *exited, char *err,
		     size_t errlen);
/* Print the --help text of `berth serve` to f. */
void conf_usage_serve(FILE *f);
void conf_clear(struct serve_conf *c);

/* The NSID berth answers with (--nsid, else --node), or NULL with --nsid none. */
const char *conf_nsid(const struct serve_conf *c);

/* Default upstreams: the nameservers in the resolv.conf file, minus any that
 * are berth's own listen addresses; when that file points only at
 * systemd-resolved's stub, those of /run/systemd/resolve/resolv.conf. Fills
 * c->upstream. Returns the count. */
size_t conf_upstreams_from_resolv(struct serve_conf *c, const char *path);
/* The same; when the file names only systemd-resolved's stub (127.0.0.53 or
 * 127.0.0.54), the nameservers of resolved (its /run/systemd/resolve/resolv.conf
 * here) instead, if it lists any. */
size_t conf_upstreams_from_resolv_at(struct serve_conf *c, const char *path, const char *resolved);
