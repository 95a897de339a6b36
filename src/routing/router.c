/* SPDX-License-Identifier: MIT */
/* Routes by origin -> wanted proxy state and DNS names -> every HAProxy. */
#include "routing/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "routing/haproxy.h"
#include "routing/wanted.h"
#include "store/registry.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strmap.h"

struct origin_routes {
	size_t n;
	struct route r[];
};

struct router {
	struct event_base *base;
	struct registry *reg;
	struct routing_conf rc;
	struct routing_conf rcx; /* for other nodes */
	struct strmap exported;  /* container id -> struct origin_routes (for other nodes) */
	char *domain;
	char **proxy_addrs;
	size_t n_proxy_addrs;
	uint32_t ttl;
	struct hap **haps;
	size_t nhaps;
	struct strmap origins; /* "docker:<id>" -> struct origin_routes */
	struct slots slots;
	struct proxy_state want;
	struct event *recompute;
	unsigned routes, conflicts;
	char last_conflict[300];
};

static void schedule(struct router *r)
{
	if (!evtimer_pending(r->recompute, NULL)) {
		struct timeval tv = { 0, 1000 };
		evtimer_add(r->recompute, &tv);
	}
}

static void on_hap_change(void *arg)
{
	schedule(arg);
}

struct sets {
	struct route_set *v;
	size_t n;
};

static void collect(void *arg, const char *key, void *val)
{
	struct sets *s = arg;
	struct origin_routes *o = val;
	s->v[s->n++] = (struct route_set){ key, o->r, o->n };
}

static void on_conflict(void *arg, const char *origin, const struct route *rt, const char *holder)
{
	struct router *r = arg;
	r->conflicts++;
	char text[300];
	if (snprintf(text, sizeof(text), "%s%s claimed by %s (%s holds it): not routed", rt->host,
		     rt->path, origin, holder) >= (int)sizeof(text))
		text[sizeof(text) - 2] = '.'; /* cut */
	if (strcmp(text, r->last_conflict) != 0)
		log_warn("http", "%s", text);
	snprintf(r->last_conflict, sizeof(r->last_conflict), "%s", text);
}

/* The names that answer with the proxy: every host routed. */
struct names {
	struct router *r;
	struct recset *rs;
	struct strmap seen;
	int err;
};

static void name_one(void *arg, const char *key, void *val)
{
	struct names *x = arg;
	(void)val;
	char host[ROUTE_HOST_MAX + 2];
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(key, "/"), key);
	if (x->err != 0 || strmap_get(&x->seen, host) != NULL)
		return;
	strmap_put(&x->seen, host, x, NULL);
	char fqdn[ROUTE_HOST_MAX + 3];
	snprintf(fqdn, sizeof(fqdn), "%s.", host);
	for (size_t i = 0; i < x->r->n_proxy_addrs; i++)
		if (recset_add_addr(x->rs, fqdn, x->r->proxy_addrs[i], x->r->ttl) == -ENOMEM)
			x->err = -ENOMEM;
}

static void on_recompute(evutil_socket_t fd, short what, void *arg)
{
	struct router *r = arg;
	(void)fd;
	(void)what;
	/* Slots: what every proxy has (the least of them). */
	unsigned http = ~0u, tls = ~0u;
	for (size_t i = 0; i < r->nhaps; i++) {
		unsigned h, t;
		hap_slots(r->haps[i], &h, &t);
		if (h == 0 && t == 0)
			continue; /* not read yet */
		http = h < http ? h : http;
		tls = t < tls ? t : tls;
	}
	r->slots.http = http == ~0u ? 0 : http;
	r->slots.tls = tls == ~0u ? 0 : tls;

	struct sets s = { calloc(r->origins.n + 1, sizeof(*s.v)), 0 };
	if (s.v == NULL) {
		log_error("http", "out of memory: routes not updated");
		return;
	}
	strmap_foreach(&r->origins, collect, &s);
	r->conflicts = 0;
	int ret = 0;
	if (r->slots.http + r->slots.tls > 0 || r->nhaps == 0) {
		if (r->nhaps == 0) /* names only: every route gets its name */
			r->slots.http = r->slots.tls = 1u << 20;
		ret = wanted_compute(s.v, s.n, &r->slots, &r->want, on_conflict, r);
	}
	free(s.v);
	if (ret != 0) {
		log_error("http", "out of memory: routes not updated");
		return;
	}
	r->routes = 0;
	for (int m = 0; m < MAPS; m++)
		r->routes += (unsigned)r->want.maps[m].n;
	for (size_t i = 0; i < r->nhaps; i++)
		if (hap_want(r->haps[i], &r->want) != 0)
			log_error("http", "out of memory: routes not sent to HAProxy");

	struct names x = { r, recset_new(), { 0 }, 0 };
	for (int m = 0; x.rs != NULL && m < MAPS; m++)
		strmap_foreach(&r->want.maps[m], name_one, &x);
	strmap_clear(&x.seen, NULL);
	if (x.rs == NULL || x.err != 0) {
		recset_free(x.rs);
		log_error("http", "out of memory: route names not updated");
		return;
	}
	registry_set(r->reg, ORIGIN_HTTP, "routes", x.rs);
}

/* Keep routes[0..n) as map[key] (none: removed). True when that changed anything. */
static bool keep(struct strmap *map, const char *key, const struct route *routes, size_t n)
{
	struct origin_routes *old = strmap_get(map, key);
	if (n == 0) {
		if (old == NULL)
			return false;
		free(strmap_del(map, key));
		return true;
	}
	if (old != NULL && old->n == n && memcmp(old->r, routes, n * sizeof(routes[0])) == 0)
		return false;
	struct origin_routes *o = malloc(sizeof(*o) + n * sizeof(routes[0]));
	void *prev = NULL;
	if (o == NULL) {
		log_error("http", "out of memory: routes of %s not updated", key);
		return false;
	}
	o->n = n;
	memcpy(o->r, routes, n * sizeof(routes[0]));
	if (strmap_put(map, key, o, &prev) != 0) {
		free(o);
		log_error("http", "out of memory: routes of %s not updated", key);
		return false;
	}
	free(prev);
	return true;
}

size_t router_export(void *router, const char *id, struct route *out)
{
	struct router *r = router;
	struct origin_routes *o = strmap_get(&r->exported, id);
	if (o == NULL)
		return 0;
	memcpy(out, o->r, o->n * sizeof(o->r[0]));
	return o->n;
}

void router_remote(void *router, const char *origin, const struct route *rt, size_t n)
{
	struct router *r = router;
	if (keep(&r->origins, origin, rt, n))
		schedule(r);
}

void router_container(void *router, const char *id, const struct container_facts *f)
{
	struct router *r = router;
	char key[128];
	snprintf(key, sizeof(key), "docker:%s", id);
	struct route routes[ROUTES_MAX];
	size_t n = 0;
	char why[300] = "";
	if (f != NULL) {
		struct route x[ROUTES_MAX];
		size_t nx = 0;
		routes_of_container(f, &r->rcx, x, &nx, NULL, 0);
		keep(&r->exported, id, x, nx);
		routes_of_container(f, &r->rc, routes, &n, why, sizeof(why));
	} else {
		keep(&r->exported, id, NULL, 0);
	}
	if (why[0] != '\0')
		log_warn("http", "container %s: %s", f->name != NULL ? f->name : id, why);
	if (keep(&r->origins, key, routes, n))
		schedule(r);
}

void router_service(void *router, const char *id, const char *name, const char *const *ips,
		    size_t nips, uint16_t port)
{
	struct router *r = router;
	char key[128];
	if (snprintf(key, sizeof(key), "manual:%s", id) >= (int)sizeof(key))
		return;
	struct route routes[ROUTES_MAX], x[ROUTES_MAX];
	size_t n = 0, nx = 0;
	if (name != NULL) {
		routes_of_service(id, name, ips, nips, port, &r->rc, routes, &n);
		routes_of_service(id, name, ips, nips, port, &r->rcx, x, &nx);
	}
	keep(&r->exported, key, x, nx);
	if (keep(&r->origins, key, routes, n))
		schedule(r);
}

int router_new(struct event_base *base, struct registry *reg, const struct router_conf *conf,
	       struct router **out, char *err, size_t errlen)
{
	struct router *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	r->base = base;
	r->reg = reg;
	r->rc = conf->rc;
	r->rcx = conf->rc;
	r->rcx.for_others = true;
	r->ttl = conf->ttl;
	r->domain = strdup(conf->rc.domain);
	r->rc.domain = r->domain;
	r->rcx.domain = r->domain;
	r->proxy_addrs = calloc(conf->n_proxy_addrs + 1, sizeof(char *));
	r->haps = calloc(conf->n_sockets + 1, sizeof(*r->haps));
	r->recompute = evtimer_new(base, on_recompute, r);
	if (r->domain == NULL || r->proxy_addrs == NULL || r->haps == NULL ||
	    r->recompute == NULL) {
		router_free(r);
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < conf->n_proxy_addrs; i++) {
		if ((r->proxy_addrs[i] = strdup(conf->proxy_addrs[i])) == NULL) {
			router_free(r);
			return berth_fail(err, errlen, -ENOMEM, "out of memory");
		}
		r->n_proxy_addrs++;
	}
	for (size_t i = 0; i < conf->n_sockets; i++) {
		int ret =
			hap_new(base, conf->sockets[i], on_hap_change, r, &r->haps[i], err, errlen);
		if (ret < 0) {
			router_free(r);
			return ret;
		}
		r->nhaps++;
	}
	log_info("http", "routing <name>.%s through %zu HAProxy socket%s, names answer %s%s",
		 r->domain, r->nhaps, r->nhaps == 1 ? "" : "s",
		 r->n_proxy_addrs > 0 ? r->proxy_addrs[0] : "(no proxy address)",
		 r->n_proxy_addrs > 1 ? " and more" : "");
	*out = r;
	return 0;
}

void router_free(struct router *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nhaps; i++)
		hap_free(r->haps[i]);
	free(r->haps);
	for (size_t i = 0; i < r->n_proxy_addrs; i++)
		free(r->proxy_addrs[i]);
	free(r->proxy_addrs);
	if (r->recompute != NULL)
		event_free(r->recompute);
	strmap_clear(&r->origins, free);
	strmap_clear(&r->exported, free);
	slots_clear(&r->slots);
	proxy_state_clear(&r->want);
	free(r->domain);
	free(r);
}

void router_metrics(const struct router *r, struct evbuffer *out)
{
	evbuffer_add_printf(
		out,
		"# HELP berth_http_routes Host (and path) routes given to HAProxy.\n"
		"# TYPE berth_http_routes gauge\nberth_http_routes %u\n"
		"# HELP berth_http_route_conflicts Routes left out: their name is another "
		"service's.\n# TYPE berth_http_route_conflicts gauge\n"
		"berth_http_route_conflicts %u\n",
		r->routes, r->conflicts);
}

static json_t *router_status(const void *self)
{
	const struct router *r = self;
	json_t *proxies = json_array();
	const char *state = "ok";
	const char *error = NULL;
	json_int_t commands = 0, failures = 0, reconnects = 0;
	for (size_t i = 0; i < r->nhaps; i++) {
		json_t *p = hap_status(r->haps[i]);
		json_t *cn = json_object_get(p, "counters");
		commands += json_integer_value(json_object_get(cn, "commands"));
		failures += json_integer_value(json_object_get(cn, "failures"));
		reconnects += json_integer_value(json_object_get(cn, "reconnects"));
		const char *st = json_string_value(json_object_get(p, "state"));
		if (st != NULL && strcmp(st, "ok") != 0 && strcmp(state, "ok") == 0) {
			state = strcmp(st, "starting") == 0 ? "starting" : "degraded";
			error = json_string_value(json_object_get(p, "error"));
		}
		json_array_append_new(proxies, p);
	}
	/* The counters become berth_source_<name>_total in /metrics. */
	json_t *o =
		json_pack("{s:s, s:s, s:s, s:b, s:s?, s:s, s:I, s:I, s:s?, s:o, s:{s:I, s:I, s:I}}",
			  "name", "haproxy", "kind", "haproxy", "state", state, "required", 0,
			  "error", error, "domain", r->domain, "routes", (json_int_t)r->routes,
			  "conflicts", (json_int_t)r->conflicts, "last_conflict",
			  r->last_conflict[0] ? r->last_conflict : NULL, "proxies", proxies,
			  "counters", "runtime_commands", commands, "runtime_failures", failures,
			  "reconnects", reconnects);
	return o;
}

static void router_free_op(void *self)
{
	router_free(self);
}

const struct source_ops router_source_ops = {
	.kind = "haproxy",
	.reload = NULL,
	.status = router_status,
	.free = router_free_op,
};
