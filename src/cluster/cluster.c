/* SPDX-License-Identifier: MIT */
/* The node: its lease, its membership key, the etcd link's state, and what it shows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "cluster/internal.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

static void lease_grant(struct cluster *c);
static void join(struct cluster *c);

int64_t cluster_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cluster_timer(struct event *ev, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	evtimer_add(ev, &tv);
}

void cluster_link_error(struct cluster *c, const char *what, int err, const char *msg)
{
	c->errors++;
	snprintf(c->last_error, sizeof(c->last_error), "%s: %s", what,
		 msg != NULL && msg[0] != '\0' ? msg : berth_strerror(err));
	/* A member that answers "no" is right; one that broke, stalled or timed out (a follower
	 * whose leader is gone does) may be the trouble: the next call goes to the next. */
	if (err != -EACCES && err != -ENOENT && err != -ERANGE && err != -EFBIG) {
		etcd_skip(c->etcd);
		import_endpoint_moved(c);
	}
	if (err == -EACCES) {
		/* Not an outage: etcd answers but says no. Every time, but rate-limited by the
		 * retries' backoff. */
		log_error("cluster", "etcd refused %s", c->last_error);
		c->refused = true;
		return;
	}
	if (!c->link_down) {
		c->link_down = true;
		c->down_since = mono_s();
		log_warn("cluster",
			 "etcd unreachable (%s): serving every name known, retrying (one line per "
			 "outage)",
			 c->last_error);
	}
}

void cluster_link_ok(struct cluster *c)
{
	c->refused = false;
	if (c->link_down) {
		c->link_down = false;
		log_info("cluster", "etcd reachable again at %s after %.1f s",
			 etcd_endpoint(c->etcd), mono_s() - c->down_since);
	}
}

/* --- the lease --- */

static void keepalive_schedule(struct cluster *c, unsigned ms)
{
	cluster_timer(c->ka_timer, ms);
}

static unsigned ka_interval_ms(const struct cluster *c)
{
	return c->ttl * 1000 / 3;
}

static void on_keepalive(json_t *result, void *arg)
{
	struct cluster *c = arg;
	etcd_cancel(c->ka_call); /* one answer is all it takes */
	c->ka_call = NULL;
	if (etcd_int(result, "TTL") <= 0) {
		cluster_link_ok(c);
		log_warn("cluster",
			 "lease %llx expired (etcd was out of reach too long): joining again",
			 (unsigned long long)c->lease);
		cluster_lease_lost(c);
		return;
	}
	cluster_link_ok(c);
	keepalive_schedule(c, ka_interval_ms(c));
}

static void on_keepalive_end(int err, const char *msg, void *arg)
{
	struct cluster *c = arg;
	c->ka_call = NULL;
	cluster_link_error(c, "lease keep-alive", err != 0 ? err : -ECONNRESET, msg);
	keepalive_schedule(c, 1000);
}

static void on_ka_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	(void)fd;
	(void)what;
	if (c->state != NODE_UP)
		return;
	if (c->ka_call != NULL) {
		/* No answer within a third of the TTL: a stalled member. */
		etcd_cancel(c->ka_call);
		c->ka_call = NULL;
		cluster_link_error(c, "lease keep-alive", -ETIMEDOUT, "no answer");
	}
	json_t *body = json_pack("{s:o}", "ID", etcd_int_json(c->lease));
	c->ka_call = etcd_stream(c->etcd, "/v3/lease/keepalive", body, on_keepalive,
				 on_keepalive_end, c);
	/* The next turn, or the watchdog of this one: an answer sets it again. */
	keepalive_schedule(c, c->ka_call != NULL ? ka_interval_ms(c) : 1000);
}

static void retry_later(struct cluster *c)
{
	cluster_timer(c->join_timer, backoff_next(&c->join_backoff));
}

static void on_lease(int err, json_t *reply, const char *msg, void *arg)
{
	struct cluster *c = arg;
	c->lease_call = NULL;
	if (err < 0 || etcd_int(reply, "ID") == 0) {
		cluster_link_error(c, "lease grant", err < 0 ? err : -EPROTO,
				   err < 0 ? msg : "no lease ID in the answer");
		retry_later(c);
		return;
	}
	cluster_link_ok(c);
	c->lease = etcd_int(reply, "ID");
	c->state = NODE_JOIN;
	log_debug("cluster", "lease %llx, TTL %u s", (unsigned long long)c->lease, c->ttl);
	join(c);
}

static void lease_grant(struct cluster *c)
{
	c->state = NODE_LEASE;
	c->lease = 0;
	json_t *body = json_pack("{s:o}", "TTL", etcd_int_json(c->ttl));
	c->lease_call = etcd_call(c->etcd, "/v3/lease/grant", body, on_lease, c);
	if (c->lease_call == NULL)
		retry_later(c);
}

void cluster_lease_lost(struct cluster *c)
{
	c->lease_renewals++;
	etcd_cancel(c->ka_call);
	c->ka_call = NULL;
	evtimer_del(c->ka_timer);
	publish_stop(c);
	import_stop(c);
	lease_grant(c);
}

/* --- membership --- */

static void refuse(struct cluster *c, const char *why)
{
	log_error("cluster",
		  "node name %s is taken: %s. Give this node another --node, or stop the other "
		  "one.",
		  c->node, why);
	c->state = NODE_FATAL;
	if (c->fatal != NULL)
		c->fatal(c->fatal_arg, 2);
}

static void on_ttl(int err, json_t *reply, const char *msg, void *arg)
{
	struct cluster *c = arg;
	c->ttl_call = NULL;
	if (err < 0) {
		cluster_link_error(c, "lease time-to-live", err, msg);
		retry_later(c);
		return;
	}
	int64_t ttl = etcd_int(reply, "TTL");
	/* A live holder keeps its lease alive: its time to live goes up again within a third of
	 * its TTL. A dead one's only goes down, until it expires and the key goes with it. */
	/* etcd counts whole seconds: with a short TTL the rise may not show, but a live
	 * holder's key outlives the time to live first seen. */
	if (c->conflict_polls > 0 && (ttl > c->conflict_ttl || mono_s() > c->conflict_deadline)) {
		char why[120];
		snprintf(why, sizeof(why), "a live node holds it (lease %llx is being kept alive)",
			 (unsigned long long)c->conflict_lease);
		refuse(c, why);
		return;
	}
	if (c->conflict_polls == 0)
		c->conflict_deadline = mono_s() + (double)(ttl > 0 ? ttl : 0) + 1.5;
	if (c->conflict_polls == 0)
		log_warn("cluster",
			 "node key %s exists (lease %llx, %lld s to live): waiting to see whether "
			 "its node is alive",
			 c->node_key, (unsigned long long)c->conflict_lease, (long long)ttl);
	c->conflict_ttl = ttl;
	c->conflict_polls++;
	cluster_timer(c->join_timer, 1000);
}

static void on_join(int err, json_t *reply, const char *msg, void *arg)
{
	struct cluster *c = arg;
	c->join_call = NULL;
	if (err < 0) {
		cluster_link_error(c, "joining", err, msg);
		retry_later(c);
		return;
	}
	cluster_link_ok(c);
	if (json_is_true(json_object_get(reply, "succeeded"))) {
		if (c->conflict_polls > 0)
			log_info("cluster", "the previous holder of %s is gone", c->node_key);
		c->conflict_polls = 0;
		c->conflict_lease = 0;
		c->state = NODE_UP;
		backoff_reset(&c->join_backoff);
		log_info("cluster", "node %s joined through %s (lease %llx, TTL %u s)", c->node,
			 etcd_endpoint(c->etcd), (unsigned long long)c->lease, c->ttl);
		keepalive_schedule(c, ka_interval_ms(c));
		import_full_read(c);
		publish_start(c);
		return;
	}
	/* The key exists: whose lease holds it? */
	json_t *resp = json_array_get(json_object_get(reply, "responses"), 0);
	json_t *kv =
		json_array_get(json_object_get(json_object_get(resp, "response_range"), "kvs"), 0);
	int64_t holder = etcd_int(kv, "lease");
	if (kv == NULL) {
		join(c); /* gone in between */
		return;
	}
	if (holder == c->lease) {
		/* Ours: a create that timed out here had reached etcd. */
		json_object_set_new(reply, "succeeded", json_true());
		on_join(0, reply, NULL, c);
		return;
	}
	if (holder == 0) {
		refuse(c, "the key was written without a lease (by hand?)");
		return;
	}
	if (holder != c->conflict_lease) {
		c->conflict_lease = holder;
		c->conflict_polls = 0;
	}
	if (c->conflict_polls > 2 * c->ttl + 5) {
		refuse(c, "its lease outlived its TTL");
		return;
	}
	json_t *body = json_pack("{s:o}", "ID", etcd_int_json(holder));
	c->ttl_call = etcd_call(c->etcd, "/v3/lease/timetolive", body, on_ttl, c);
	if (c->ttl_call == NULL)
		retry_later(c);
}

static void join(struct cluster *c)
{
	json_t *value = json_pack("{s:s, s:s?, s:s, s:s}", "node", c->node, "advertise",
				  c->advertise, "version", BERTH_VERSION, "started", c->started);
	char *text = value != NULL ? json_dumps(value, JSON_COMPACT) : NULL;
	json_decref(value);
	json_t *key = etcd_b64(c->node_key, strlen(c->node_key));
	json_t *body = NULL;
	if (text != NULL && key != NULL)
		body = json_pack(
			"{s:[{s:O, s:s, s:s, s:s}], s:[{s:{s:O, s:o, s:o}}], s:[{s:{s:O}}]}",
			"compare", "key", key, "target", "CREATE", "result", "EQUAL",
			"create_revision", "0", "success", "requestPut", "key", key, "value",
			etcd_b64(text, strlen(text)), "lease", etcd_int_json(c->lease), "failure",
			"requestRange", "key", key);
	free(text);
	json_decref(key);
	c->join_call = body != NULL ? etcd_call(c->etcd, "/v3/kv/txn", body, on_join, c) : NULL;
	if (c->join_call == NULL)
		retry_later(c);
}

static void on_join_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	(void)fd;
	(void)what;
	if (c->state == NODE_LEASE)
		lease_grant(c);
	else if (c->state == NODE_JOIN)
		join(c);
}

/* --- life --- */

static char *joined(const char *a, const char *b, const char *d)
{
	size_t n = strlen(a) + strlen(b) + strlen(d) + 1;
	char *s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%s%s%s", a, b, d);
	return s;
}

int cluster_new(struct event_base *base, struct registry *reg, const struct cluster_conf *conf,
		struct cluster **out, char *err, size_t errlen)
{
	struct cluster *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	c->base = base;
	c->reg = reg;
	c->ttl = conf->lease_ttl >= 2 ? conf->lease_ttl : 2;
	c->publish = conf->publish;
	c->fatal = conf->fatal;
	c->fatal_arg = conf->fatal_arg;
	c->export_routes = conf->export_routes;
	c->remote_routes = conf->remote_routes;
	c->routes_arg = conf->routes_arg;
	const char *prefix = conf->prefix != NULL ? conf->prefix : "/berth";
	c->node = strdup(conf->node);
	c->advertise = conf->advertise != NULL ? strdup(conf->advertise) : NULL;
	c->range_prefix = joined(prefix, "/v1/", "");
	c->nodes_prefix = joined(prefix, "/v1/nodes/", "");
	c->records_prefix = joined(prefix, "/v1/records/", "");
	c->node_key = joined(prefix, "/v1/nodes/", conf->node);
	c->own_prefix = c->node != NULL ? joined(c->records_prefix ? c->records_prefix : "",
						 conf->node, "/") :
					  NULL;
	c->join_timer = evtimer_new(base, on_join_timer, c);
	c->ka_timer = evtimer_new(base, on_ka_timer, c);
	c->flush_timer = evtimer_new(base, publish_flush, c);
	c->watch_timer = evtimer_new(base, import_watch_timer, c);
	if (c->node == NULL || (conf->advertise != NULL && c->advertise == NULL) ||
	    c->range_prefix == NULL || c->nodes_prefix == NULL || c->records_prefix == NULL ||
	    c->node_key == NULL || c->own_prefix == NULL || c->join_timer == NULL ||
	    c->ka_timer == NULL || c->flush_timer == NULL || c->watch_timer == NULL) {
		cluster_free(c);
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	}
	struct etcd_conf ec = {
		.endpoints = conf->endpoints,
		.n_endpoints = conf->n_endpoints,
		.tls_ca = conf->tls_ca,
		.tls_cert = conf->tls_cert,
		.tls_key = conf->tls_key,
		.user = conf->user,
		.password = conf->password,
	};
	int ret = etcd_new(base, &ec, &c->etcd, err, errlen);
	if (ret < 0) {
		cluster_free(c);
		return ret;
	}
	if ((ret = registry_observe(reg, publish_observe, c)) < 0) {
		cluster_free(c);
		return berth_fail(err, errlen, ret, "out of memory");
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(c->started, sizeof(c->started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	backoff_init(&c->join_backoff, 250, 5000, 30);
	backoff_init(&c->txn_backoff, 250, 5000, 30);
	backoff_init(&c->watch_backoff, 250, 5000, 30);
	log_info("cluster", "node %s, etcd %s, prefix %s, lease TTL %u s, advertise %s", c->node,
		 etcd_endpoint(c->etcd), prefix, c->ttl, c->advertise ? c->advertise : "(none)");
	lease_grant(c);
	*out = c;
	return 0;
}

static void stop_done(struct cluster *c)
{
	if (c->stop_timer != NULL)
		evtimer_del(c->stop_timer);
	void (*done)(void *) = c->stopped;
	c->stopped = NULL;
	if (done != NULL)
		done(c->stopped_arg);
}

static void on_revoke(int err, json_t *reply, const char *msg, void *arg)
{
	struct cluster *c = arg;
	(void)reply;
	c->revoke_call = NULL;
	if (err < 0)
		log_warn("cluster", "cannot revoke lease %llx (%s): its keys expire in %u s",
			 (unsigned long long)c->lease, msg, c->ttl);
	else
		log_info("cluster", "left the cluster (lease %llx revoked)",
			 (unsigned long long)c->lease);
	c->lease = 0;
	stop_done(c);
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	(void)fd;
	(void)what;
	etcd_cancel(c->revoke_call);
	c->revoke_call = NULL;
	log_warn("cluster", "etcd did not answer the lease revocation in time: keys expire in %u s",
		 c->ttl);
	stop_done(c);
}

void cluster_stop(struct cluster *c, void (*done)(void *arg), void *arg)
{
	c->stopped = done;
	c->stopped_arg = arg;
	evtimer_del(c->join_timer);
	evtimer_del(c->ka_timer);
	if (c->lease == 0 || c->revoke_call != NULL) {
		if (c->revoke_call == NULL)
			stop_done(c);
		return;
	}
	json_t *body = json_pack("{s:o}", "ID", etcd_int_json(c->lease));
	c->revoke_call = etcd_call(c->etcd, "/v3/lease/revoke", body, on_revoke, c);
	c->stop_timer = evtimer_new(c->base, on_stop_timer, c);
	if (c->revoke_call == NULL || c->stop_timer == NULL) {
		stop_done(c);
		return;
	}
	cluster_timer(c->stop_timer, 1000);
}

static void free_peer(void *v)
{
	struct peer *p = v;
	free(p->advertise);
	free(p->version);
	free(p->started);
	free(p);
}

void cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	etcd_free(c->etcd); /* every call, without callbacks */
	publish_free(c);
	import_free(c);
	strmap_clear(&c->peers, free_peer);
	struct event *evs[] = { c->join_timer, c->ka_timer, c->flush_timer, c->watch_timer,
				c->stop_timer };
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	free(c->node);
	free(c->advertise);
	free(c->node_key);
	free(c->range_prefix);
	free(c->nodes_prefix);
	free(c->records_prefix);
	free(c->own_prefix);
	free(c);
}

/* --- what it shows --- */

static const char *state_name(const struct cluster *c)
{
	if (c->state == NODE_FATAL)
		return "refused";
	if (c->link_down)
		return "unreachable";
	if (c->refused)
		return "refused";
	switch (c->state) {
	case NODE_LEASE:
	case NODE_JOIN:
		return "joining";
	default:
		return "connected";
	}
}

static void iso_ms(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct nodes_ctx {
	json_t *a;
};

static void peer_json(void *arg, const char *name, void *val)
{
	struct nodes_ctx *x = arg;
	const struct peer *p = val;
	char ts[40] = "";
	if (p->last_change_ms > 0)
		iso_ms(p->last_change_ms, ts, sizeof(ts));
	json_array_append_new(x->a,
			      json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:s?, s:s, s:b}", "name",
					name, "address", p->advertise, "version", p->version,
					"started", p->started, "records", (json_int_t)p->records,
					"last_change", ts[0] != '\0' ? ts : NULL, "state",
					p->alive ? "alive" : "lease expired", "self", 0));
}

static void count_published(void *arg, const char *key, void *val)
{
	(void)key;
	*(size_t *)arg += ((const struct published *)val)->records;
}

json_t *cluster_json(const struct cluster *c)
{
	size_t mine = 0;
	strmap_foreach(&c->published, count_published, &mine);
	struct nodes_ctx x = { json_array() };
	json_array_append_new(x.a,
			      json_pack("{s:s, s:s?, s:s, s:s, s:I, s:s, s:b}", "name", c->node,
					"address", c->advertise, "version", BERTH_VERSION,
					"started", c->started, "records", (json_int_t)mine, "state",
					c->state == NODE_UP ? "alive" : "joining", "self", 1));
	strmap_foreach(&c->peers, peer_json, &x);
	json_t *link =
		json_pack("{s:s, s:s, s:I, s:s, s:s?, s:I}", "endpoint", etcd_endpoint(c->etcd),
			  "state", state_name(c), "revision", (json_int_t)c->revision, "lease", "",
			  "last_error", c->last_error[0] != '\0' ? c->last_error : NULL,
			  "remote_records", (json_int_t)c->remote_records);
	if (link != NULL && c->lease != 0) {
		char l[24];
		snprintf(l, sizeof(l), "%llx", (unsigned long long)c->lease);
		json_object_set_new(link, "lease", json_string(l));
	}
	return json_pack("{s:o, s:o}", "nodes", x.a, "etcd", link);
}

static const double prop_bounds[PROPAGATION_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
							 0.5,   1,    2.5,   5,    10,  30 };

struct metrics_ctx {
	struct evbuffer *out;
};

static void peer_metric(void *arg, const char *name, void *val)
{
	struct metrics_ctx *x = arg;
	evbuffer_add_printf(x->out, "berth_cluster_remote_records{node=\"%s\"} %zu\n", name,
			    ((const struct peer *)val)->records);
}

void cluster_metrics(const struct cluster *c, struct evbuffer *out)
{
	struct {
		const char *name, *help;
		uint64_t v;
	} counters[] = {
		{ "berth_cluster_etcd_writes_total", "Origins written to etcd.", c->writes },
		{ "berth_cluster_etcd_errors_total", "etcd calls that failed.", c->errors },
		{ "berth_cluster_watch_events_total", "Changes seen through the watch.",
		  c->watch_events },
		{ "berth_cluster_full_reads_total", "Reads of the whole prefix.", c->full_reads },
		{ "berth_cluster_skipped_values_total", "Values under the prefix refused.",
		  c->skipped },
		{ "berth_cluster_lease_renewals_total", "Leases granted again after one expired.",
		  c->lease_renewals },
	};
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
				    counters[i].name, counters[i].help, counters[i].name,
				    counters[i].name, (unsigned long long)counters[i].v);
	evbuffer_add_printf(out,
			    "# HELP berth_cluster_etcd_up 1 while etcd answers.\n"
			    "# TYPE berth_cluster_etcd_up gauge\nberth_cluster_etcd_up %d\n",
			    !c->link_down && c->state == NODE_UP);
	evbuffer_add_printf(out,
			    "# HELP berth_cluster_remote_records Records of other nodes served "
			    "here.\n# TYPE berth_cluster_remote_records gauge\n");
	struct metrics_ctx x = { out };
	strmap_foreach(&c->peers, peer_metric, &x);
	evbuffer_add_printf(out,
			    "# HELP berth_cluster_propagation_seconds From the publishing node's "
			    "stamp to the records applied here.\n"
			    "# TYPE berth_cluster_propagation_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t i = 0; i < PROPAGATION_BUCKETS; i++) {
		cum += c->prop_buckets[i];
		evbuffer_add_printf(out,
				    "berth_cluster_propagation_seconds_bucket{le=\"%g\"} %llu\n",
				    prop_bounds[i], (unsigned long long)cum);
	}
	evbuffer_add_printf(out,
			    "berth_cluster_propagation_seconds_bucket{le=\"+Inf\"} %llu\n"
			    "berth_cluster_propagation_seconds_sum %.6f\n"
			    "berth_cluster_propagation_seconds_count %llu\n",
			    (unsigned long long)c->prop_count, c->prop_sum,
			    (unsigned long long)c->prop_count);
}

/* --- as a source --- */

static void cluster_reload(void *self)
{
	struct cluster *c = self;
	if (c->state == NODE_UP)
		import_full_read(c);
}

static json_t *cluster_status(const void *self)
{
	const struct cluster *c = self;
	const char *state = c->state == NODE_FATAL     ? "down" :
			    c->link_down || c->refused ? "degraded" :
			    c->state == NODE_UP        ? "ok" :
							 "starting";
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:b, s:s?, s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}}",
		"name", "etcd", "kind", "etcd", "state", state, "required", 0, "error",
		c->link_down || c->refused || c->state == NODE_FATAL ? c->last_error : NULL,
		"endpoint", etcd_endpoint(c->etcd), "node", c->node, "revision",
		(json_int_t)c->revision, "remote_records", (json_int_t)c->remote_records,
		"counters", "writes", (json_int_t)c->writes, "errors", (json_int_t)c->errors,
		"watch_events", (json_int_t)c->watch_events, "full_reads",
		(json_int_t)c->full_reads, "skipped_values", (json_int_t)c->skipped);
	/* DNS answers on without etcd: /health says degraded, not down. */
	if (o != NULL && (c->link_down || c->refused))
		json_object_set_new(o, "health", json_string("degraded"));
	return o;
}

static void cluster_free_op(void *self)
{
	cluster_free(self);
}

const struct source_ops cluster_source_ops = {
	.kind = "etcd",
	.reload = cluster_reload,
	.status = cluster_status,
	.free = cluster_free_op,
};
