/* SPDX-License-Identifier: MIT */
/* `berth serve`: start the sources, the registry, the workers, the answer loop
 * (TCP, forwarder) and HTTP; run the control loop. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <urcu.h>

#include "cluster/cluster.h"
#include "conf/options.h"
#include "forward/forward.h"
#include "http/http.h"
#include "routing/router.h"
#include "server/answer_loop.h"
#include "server/notify.h"
#include "server/privdrop.h"
#include "server/serve.h"
#include "server/server.h"
#include "server/tcp.h"
#include "server/udp.h"
#include "sources/docker/docker.h"
#include "sources/hosts.h"
#include "sources/manual.h"
#include "sources/records.h"
#include "sources/source.h"
#include "store/registry.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/hostip.h"
#include "util/log.h"

struct serve {
	struct serve_conf conf;
	struct event_base *base;    /* the control loop: sources, publishing, HTTP */
	struct answer_loop *answer; /* TCP and the forwarder, on their own thread */
	struct registry *reg;
	struct server_ctx ctx;
	struct udp_server *udp;
	struct tcp_server *tcp;
	struct source *sources; /* in start order; /status lists them so */
	size_t nsources;
	struct event *publish_ev;
	double publish_done; /* monotonic seconds when the last publish ended */
	double publish_cost; /* and how long it took */
	struct event *sig_ev[3];
	struct manual_source *manual; /* also in sources; for the /services API */
	struct http_server *http;
	struct cluster *cluster;     /* with --etcd; also in sources */
	struct naming_export export; /* what other hosts see of containers */
	struct router *router;       /* with --http-domain; also in sources */
	bool stopping;
	int rc;           /* the exit code once the loop ends */
	char host_ip[64]; /* --host-ip, or detected; "" = unknown */
};

static void on_publish(evutil_socket_t fd, short what, void *arg)
{
	struct serve *s = arg;
	double t0 = mono_s();
	if (registry_publish(s->reg) != 0)
		log_error("registry",
			  "cannot publish new records (out of memory): serving the previous ones");
	s->publish_done = mono_s();
	s->publish_cost = s->publish_done - t0;
}

/* Sources change the registry; one publish covers every change made before it
 * runs. It runs in the next loop turn, unless the last one ended less than its
 * own duration ago: then it waits for that, so that a stream of changes (a
 * full Docker sync, a burst of starts) costs the control thread at most about
 * half its time in snapshot builds instead of one full build per change. */
static void schedule_publish(void *arg, enum origin_kind kind, const char *name)
{
	struct serve *s = arg;
	if (event_pending(s->publish_ev, EV_TIMEOUT, NULL))
		return;
	double wait = s->publish_done + s->publish_cost - mono_s();
	if (wait < 0)
		wait = 0;
	struct timeval tv = { (time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6) };
	event_add(s->publish_ev, &tv);
}

static void stopped(void *arg)
{
	struct serve *s = arg;
	event_base_loopbreak(s->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serve *s = arg;
	if (sig == SIGHUP) {
		log_info("serve",
			 "SIGHUP: reloading hosts and records files, re-listing containers");
		notify_reloading();
		for (size_t i = 0; i < s->nsources; i++)
			if (s->sources[i].ops->reload != NULL)
				s->sources[i].ops->reload(s->sources[i].self);
		notify_ready("answering DNS");
		return;
	}
	log_info("serve", "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	notify_stopping();
	if (s->cluster != NULL && !s->stopping) {
		s->stopping = true; /* a second signal stops at once */
		cluster_stop(s->cluster, stopped, s);
		return;
	}
	event_base_loopbreak(s->base);
}

/* The address ns.<domain> answers with: --host-ip, else the first specific listen address. */
static const char *ns_address(const struct serve_conf *c, char *buf, size_t len)
{
	if (c->host_ip != NULL)
		return c->host_ip;
	for (size_t i = 0; i < c->nlisten; i++)
		if (!addr_is_any(&c->listen[i]))
			return addr_ip_str(&c->listen[i], buf, len);
	return NULL;
}

/* How other hosts reach this one: --advertise, else the host's address; NULL: unknown. */
static const char *advertise_address(const struct serve *s)
{
	if (s->conf.advertise != NULL)
		return s->conf.advertise;
	return s->host_ip[0] != '\0' ? s->host_ip : NULL;
}

/* Keep a started source. */
static int add_source(struct serve *s, const struct source_ops *ops, void *self)
{
	struct source *v = realloc(s->sources, (s->nsources + 1) * sizeof(*v));
	if (v == NULL) {
		log_error("serve", "out of memory");
		ops->free(self);
		return -ENOMEM;
	}
	s->sources = v;
	s->sources[s->nsources++] = (struct source){ .ops = ops, .self = self };
	return 0;
}

/* The Docker source. It starts even when no engine answers yet, and connects when one
 * appears. 0, or a negative code (logged). */
static int start_docker(struct serve *s)
{
	const struct serve_conf *c = &s->conf;
	if (s->host_ip[0] == '\0')
		log_info("docker", "no host address found: joyride.host.name and host-network "
				   "containers get no records (set --host-ip)");
	struct docker_source_conf dc = {
		.endpoint = c->docker,
		.tls_ca = c->docker_tls_ca,
		.tls_cert = c->docker_tls_cert,
		.tls_key = c->docker_tls_key,
		.naming = {
			.domain = c->domain,
			.environment = c->environment ? c->environment : "",
			.ttl = c->ttl,
			.host_ip = s->host_ip[0] ? s->host_ip : NULL,
			.bare_hostnames = c->bare_hostnames,
			.include_unhealthy = c->include_unhealthy,
			.all = c->all,
			.networks = c->networks.n > 0 ? (const char *const *)c->networks.v : NULL,
		},
	};
	if (s->router != NULL) {
		dc.on_facts = router_container;
		dc.facts_arg = s->router;
	}
	if (c->etcd.n > 0 && (c->publish & PUBLISH_DOCKER)) {
		s->export = (struct naming_export){
			.advertise = advertise_address(s),
			.routable = c->routable.n > 0 ? (const char *const *)c->routable.v : NULL,
			.unreachable = c->publish_unreachable,
		};
		dc.export = &s->export;
	}
	struct docker_source *ds;
	char err[300];
	int ret = docker_source_new(s->base, s->reg, &dc, &ds, err, sizeof(err));
	if (ret < 0) {
		log_error("docker", "%s", err);
		return ret;
	}
	return ds != NULL ? add_source(s, &docker_source_ops, ds) : 0;
}

/* HTTP and TLS routing, with --http-domain: before Docker, which tells it of containers. */
static int start_router(struct serve *s)
{
	const struct serve_conf *c = &s->conf;
	if (c->http_domain == NULL)
		return 0;
	const char *proxy[1] = { advertise_address(s) };
	struct router_conf rc = {
		.rc = {
			.domain = c->http_domain,
			.auto_port = c->http_auto,
			.node_addr = advertise_address(s),
			.routable = c->routable.n > 0 ? (const char *const *)c->routable.v : NULL,
			.to_container_ip = c->proxy_to_container_ip,
		},
		.proxy_addrs = c->proxy_addrs.n > 0 ? (const char *const *)c->proxy_addrs.v : proxy,
		.n_proxy_addrs = c->proxy_addrs.n > 0 ? c->proxy_addrs.n : proxy[0] != NULL,
		.sockets = (const char *const *)c->haproxy_sockets.v,
		.n_sockets = c->haproxy_sockets.n,
		.ttl = c->ttl,
	};
	if (rc.n_proxy_addrs == 0)
		log_warn("http",
			 "no proxy address (set --proxy-address or --advertise): names under "
			 "%s get no address",
			 c->http_domain);
	char err[512];
	int ret = router_new(s->base, s->reg, &rc, &s->router, err, sizeof(err));
	if (ret < 0) {
		log_error("http", "%s", err);
		return ret;
	}
	return add_source(s, &router_source_ops, s->router);
}

static size_t export_routes(void *arg, enum origin_kind kind, const char *name, struct route *out)
{
	char key[128];
	if (kind == ORIGIN_DOCKER)
		return router_export(arg, name, out);
	if (kind == ORIGIN_MANUAL &&
	    snprintf(key, sizeof(key), "manual:%s", name) < (int)sizeof(key))
		return router_export(arg, key, out);
	return 0;
}

/* A service of the /services API to the router: its "http_port", if it has one. */
static void route_service(struct serve *s, const char *id)
{
	const json_t *svc = manual_get(s->manual, id);
	const json_t *ips = json_object_get(svc, "ips");
	const char *v[MANUAL_MAX_IPS];
	size_t n = 0, i;
	json_t *ip;
	json_array_foreach(ips, i, ip) if (n < MANUAL_MAX_IPS) v[n++] = json_string_value(ip);
	json_int_t port = json_integer_value(json_object_get(svc, "http_port"));
	router_service(s->router, id, json_string_value(json_object_get(svc, "name")), v, n,
		       (uint16_t)(port > 0 && port <= 65535 ? port : 0));
}

static void on_registry_change(void *arg, enum origin_kind kind, const char *name)
{
	struct serve *s = arg;
	if (kind == ORIGIN_MANUAL && s->manual != NULL && s->router != NULL)
		route_service(s, name);
}

static void cluster_fatal(void *arg, int code)
{
	struct serve *s = arg;
	s->rc = code;
	event_base_loopbreak(s->base);
}

/* The cluster, with --etcd: this node's origins out, every other node's in. */
static int start_cluster(struct serve *s)
{
	const struct serve_conf *c = &s->conf;
	if (c->etcd.n == 0)
		return 0;
	static const struct {
		unsigned flag;
		enum origin_kind kind;
	} kinds[] = { { PUBLISH_DOCKER, ORIGIN_DOCKER },
		      { PUBLISH_MANUAL, ORIGIN_MANUAL },
		      { PUBLISH_HOSTS, ORIGIN_HOSTS },
		      { PUBLISH_RECORDS, ORIGIN_RECORDS } };
	unsigned publish = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (c->publish & kinds[i].flag)
			publish |= 1u << kinds[i].kind;
	struct cluster_conf cc = {
		.endpoints = (const char *const *)c->etcd.v,
		.n_endpoints = c->etcd.n,
		.tls_ca = c->etcd_ca,
		.tls_cert = c->etcd_cert,
		.tls_key = c->etcd_key,
		.user = c->etcd_user,
		.password = c->etcd_password,
		.prefix = c->etcd_prefix,
		.node = c->node,
		.advertise = advertise_address(s),
		.lease_ttl = c->etcd_lease_ttl,
		.publish = publish,
		.fatal = cluster_fatal,
		.fatal_arg = s,
	};
	if (s->router != NULL) {
		cc.export_routes = export_routes;
		cc.remote_routes = router_remote;
		cc.routes_arg = s->router;
	}
	char err[512];
	int ret = cluster_new(s->base, s->reg, &cc, &s->cluster, err, sizeof(err));
	if (ret < 0) {
		log_error("cluster", "%s", err);
		return ret;
	}
	return add_source(s, &cluster_source_ops, s->cluster);
}

/* Every source, in the order /status lists them. A new kind of source is one
 * add_source line here. */
static int start_sources(struct serve *s)
{
	const struct serve_conf *c = &s->conf;
	char err[512];
	int ret;

	if ((ret = start_router(s)) < 0)
		return ret;
	if (!c->docker_none && (ret = start_docker(s)) < 0)
		return ret;
	for (size_t i = 0; i < c->hosts_dirs.n; i++) {
		const char *dir = c->hosts_dirs.v[i];
		struct hosts_source *hs;
		ret = hosts_source_new(s->base, s->reg, dir, c->ttl, &hs, err, sizeof(err));
		if (ret < 0)
			log_error("hosts", "%s", err);
		if (ret < 0 || (ret = add_source(s, &hosts_source_ops, hs)) < 0) {
			log_error("serve", "--hosts-dir %s: cannot watch this directory", dir);
			return ret;
		}
	}
	for (size_t i = 0; i < c->records.n; i++) {
		const char *path = c->records.v[i];
		struct records_source *rs;
		ret = records_source_new(s->base, s->reg, path, c->ttl, &rs, err, sizeof(err));
		if (ret < 0)
			log_error("records", "%s", err);
		if (ret < 0 || (ret = add_source(s, &records_source_ops, rs)) < 0) {
			log_error("serve", "--records %s: cannot watch this file", path);
			return ret;
		}
	}
	/* Services put over HTTP, kept in --state-dir; loaded even with --http none. */
	struct manual_naming nm = { .domain = c->domain, .environment = c->environment };
	struct manual_source *ms;
	if ((ret = manual_source_new(s->reg, c->state_dir, &nm, c->ttl, &ms)) < 0) {
		log_error("manual", "%s", berth_strerror(ret));
		return ret;
	}
	if ((ret = add_source(s, &manual_source_ops, ms)) < 0)
		return ret;
	s->manual = ms;
	if (s->router != NULL) {
		/* The services loaded; changes come through the registry from now on. */
		const char *id;
		json_t *svc, *all = manual_services(ms);
		json_object_foreach(all, id, svc) route_service(s, id);
		json_decref(all);
		if (registry_observe(s->reg, on_registry_change, s) != 0)
			return -ENOMEM;
	}
	return start_cluster(s);
}

static int start_forwarder(struct serve *s)
{
	struct serve_conf *c = &s->conf;
	if (c->upstream_none)
		return 0;
	if (!c->upstream_set && conf_upstreams_from_resolv(c, c->resolv_conf) == 0) {
		log_warn("forward",
			 "no usable nameserver in %s: names outside berth's are refused "
			 "(set --upstream ADDR)",
			 c->resolv_conf);
		return 0;
	}
	char err[256];
	if (forwarder_new(s->ctx.base, c->upstream, c->nupstream, c->udp_size, &s->ctx.fwd, err,
			  sizeof(err)) < 0) {
		log_error("forward", "%s", err);
		return -EINVAL;
	}
	forwarder_set_nsid(s->ctx.fwd, conf_nsid(c));
	char text[80];
	for (size_t i = 0; i < c->nupstream; i++)
		log_info("forward", "upstream %s", addr_str(&c->upstream[i], text, sizeof(text)));
	return 0;
}

/* --- What the HTTP server asks serve for --- */

static void http_counters(void *arg, struct dns_counters *out)
{
	struct serve *s = arg;
	if (s->udp != NULL)
		udp_server_counters(s->udp, out);
	if (s->tcp != NULL)
		tcp_server_counters(s->tcp, out);
}

/* Every source with its state, for /status, /health and the page. */
static json_t *http_sources_cb(void *arg)
{
	struct serve *s = arg;
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < s->nsources; i++)
		json_array_append_new(a, s->sources[i].ops->status(s->sources[i].self));
	return a;
}

static json_t *http_cluster_cb(void *arg)
{
	struct serve *s = arg;
	return cluster_json(s->cluster);
}

static void http_metrics_cb(void *arg, struct evbuffer *out)
{
	struct serve *s = arg;
	if (s->cluster != NULL)
		cluster_metrics(s->cluster, out);
	if (s->router != NULL)
		router_metrics(s->router, out);
}

static int start_http(struct serve *s)
{
	char err[512];
	char text[80];

	if (s->conf.http_none)
		return 0;
	struct http_deps d = {
		.base = s->base,
		.reg = s->reg,
		.conf = &s->conf,
		.manual = s->manual,
		.fwd = s->ctx.fwd,
		.arg = s,
		.counters = http_counters,
		.sources = http_sources_cb,
		.cluster = s->cluster != NULL ? http_cluster_cb : NULL,
		.metrics = s->cluster != NULL || s->router != NULL ? http_metrics_cb : NULL,
	};
	if (http_server_new(&d, &s->http, err, sizeof(err)) < 0) {
		log_error("http", "%s", err);
		return -EINVAL;
	}
	log_info("http", "API and status page on http://%s/",
		 addr_str(&s->conf.http, text, sizeof(text)));
	return 0;
}

static void serve_free(struct serve *s)
{
	/* HTTP first: it reads everything below. */
	http_server_free(s->http);
	s->http = NULL;
	for (int i = 0; i < 3; i++)
		if (s->sig_ev[i] != NULL)
			event_free(s->sig_ev[i]);
	/* UDP workers stop first (no more hand-overs), then the answer loop
	 * (joined: nothing runs on its base any more), then the forwarder: it
	 * cancels what is in flight without calling back. What lives on the
	 * answer loop's base is freed before the base. */
	udp_server_stop(s->udp);
	answer_loop_stop(s->answer);
	forwarder_free(s->ctx.fwd);
	s->ctx.fwd = NULL;
	udp_server_free(s->udp);
	tcp_server_free(s->tcp);
	answer_loop_free(s->answer);
	for (size_t i = s->nsources; i-- > 0;)
		s->sources[i].ops->free(s->sources[i].self);
	free(s->sources);
	s->manual = NULL;
	if (s->publish_ev != NULL)
		event_free(s->publish_ev);
	registry_free(s->reg);
	if (s->base != NULL)
		event_base_free(s->base);
	conf_clear(&s->conf);
}

int serve_main(int argc, char **argv)
{
	struct serve s = { 0 };
	char err[512];
	int rc = 1;
	bool exited;
	if (conf_parse_serve(&s.conf, argc, argv, &exited, err, sizeof(err)) < 0) {
		fprintf(stderr, "berth: %s\n", err);
		return 2;
	}
	if (exited)
		return 0;
	log_setup((enum log_level)s.conf.log_level, s.conf.log_json);
	signal(SIGPIPE, SIG_IGN);
	/* --user: bind as root, then drop it, before any thread or source starts. */
	if (privdrop_start(&s.conf, err, sizeof(err)) < 0) {
		log_error("serve", "%s", err);
		conf_clear(&s.conf);
		return 1;
	}
	rcu_register_thread();

	char nsbuf[64];
	struct registry_params rp = {
		.domain = s.conf.domain,
		.domain2 = s.conf.http_domain,
		.ns_ip = ns_address(&s.conf, nsbuf, sizeof(nsbuf)),
		.ttl = s.conf.ttl,
		.negative_ttl = s.conf.negative_ttl,
	};
	s.base = event_base_new();
	s.reg = s.base ? registry_new(&rp) : NULL;
	s.publish_ev = s.base ? evtimer_new(s.base, on_publish, &s) : NULL;
	if (s.reg == NULL || s.publish_ev == NULL || answer_loop_new(&s.answer) < 0) {
		log_error("serve", "out of memory");
		goto out;
	}
	/* TCP, the forwarder and the UDP workers' hand-over live on the answer loop. */
	s.ctx = (struct server_ctx){ .base = answer_loop_base(s.answer),
				     .reg = s.reg,
				     .conf = &s.conf };
	/* Signals first: a SIGTERM during start-up still stops cleanly. */
	int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	for (int i = 0; i < 3; i++) {
		s.sig_ev[i] = evsignal_new(s.base, sigs[i], on_signal, &s);
		if (s.sig_ev[i] == NULL || event_add(s.sig_ev[i], NULL) != 0) {
			log_error("serve", "cannot handle signals");
			goto out;
		}
	}
	if (registry_observe(s.reg, schedule_publish, &s) != 0) {
		log_error("serve", "out of memory");
		goto out;
	}
	if (s.conf.host_ip != NULL)
		snprintf(s.host_ip, sizeof(s.host_ip), "%s", s.conf.host_ip);
	else if (hostip_detect("/proc/net/route", s.host_ip, sizeof(s.host_ip)) != 0)
		s.host_ip[0] = '\0';
	if (start_sources(&s) != 0 || registry_publish(s.reg) != 0 || start_forwarder(&s) != 0)
		goto out;

	if (udp_server_new(&s.ctx, &s.udp, err, sizeof(err)) < 0 ||
	    tcp_server_new(&s.ctx, &s.tcp, err, sizeof(err)) < 0) {
		log_error("serve", "%s", err);
		goto out;
	}
	/* Before the workers: once DNS answers, HTTP is listening too. */
	if (start_http(&s) != 0)
		goto out;
	if (answer_loop_start(s.answer) != 0) {
		log_error("serve", "cannot start the answer loop");
		goto out;
	}
	if (udp_server_start(s.udp) != 0) {
		log_error("serve", "cannot start UDP workers");
		goto out;
	}
	char text[80];
	for (size_t i = 0; i < s.conf.nlisten; i++)
		log_info("serve", "listening on %s (UDP, TCP), domain %s, %u threads",
			 addr_str(&s.conf.listen[i], text, sizeof(text)), s.conf.domain,
			 s.conf.threads);
	/* Every listen socket is bound and its workers run: systemd may start what needs DNS. */
	notify_ready("answering DNS");
	event_base_dispatch(s.base);
	rc = s.rc;
out:
	serve_free(&s);
	privdrop_clear();
	rcu_unregister_thread();
	return rc;
}
