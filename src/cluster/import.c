/* SPDX-License-Identifier: MIT */
/* Other nodes' keys into the registry: a full read of <prefix>/v1/ in pages at one revision,
 * then a watch from that revision on, so that no change falls between them. A broken or
 * compacted watch reads everything again, dropping what vanished meanwhile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cluster/internal.h"
#include "cluster/value.h"
#include "util/clock.h"
#include "util/log.h"

#define PAGE_KEYS 500 /* keys per range request of a full read */

static void watch_start(struct cluster *c);
static void range_page(struct cluster *c);

static const double bounds[PROPAGATION_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
						    0.5,   1,    2.5,   5,    10,  30 };

static void observe_propagation(struct cluster *c, int64_t stamp_ms)
{
	double s = (double)(cluster_now_ms() - stamp_ms) / 1000.0;
	if (s < 0)
		s = 0; /* clocks a little apart */
	c->prop_count++;
	c->prop_sum += s;
	for (size_t i = 0; i < PROPAGATION_BUCKETS; i++) {
		if (s <= bounds[i]) {
			c->prop_buckets[i]++;
			break;
		}
	}
}

#define SKIP_LINES 20 /* lines naming skipped keys, per window */
#define SKIP_WINDOW_S 10.0

/* A refused key, logged with its key: up to SKIP_LINES of them every SKIP_WINDOW_S seconds,
 * then one line counting the rest, so a prefix full of garbage cannot flood the log. */
static void skip_key(struct cluster *c, const char *key, const char *why)
{
	double now = mono_s();
	c->skipped++;
	if (now - c->skip_window >= SKIP_WINDOW_S) {
		if (c->skip_held > 0)
			log_warn("cluster", "%u more etcd keys skipped (not logged)", c->skip_held);
		c->skip_window = now;
		c->skip_lines = 0;
		c->skip_held = 0;
	}
	if (c->skip_lines < SKIP_LINES) {
		c->skip_lines++;
		log_warn("cluster", "etcd key %.300s skipped: %s", key, why);
	} else {
		c->skip_held++;
	}
}

static struct peer *peer_get(struct cluster *c, const char *node)
{
	struct peer *p = strmap_get(&c->peers, node);
	if (p != NULL)
		return p;
	if ((p = calloc(1, sizeof(*p))) == NULL || strmap_put(&c->peers, node, p, NULL) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

static bool node_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			return false;
	}
	return true;
}

static void apply_node(struct cluster *c, const char *key, const char *node, json_t *kv, bool del)
{
	if (!node_name_ok(node, strlen(node))) {
		skip_key(c, key, "not a node name");
		return;
	}
	if (strcmp(node, c->node) == 0)
		return; /* this node's own key */
	struct peer *p = del ? strmap_get(&c->peers, node) : peer_get(c, node);
	if (p == NULL)
		return;
	p->last_change_ms = cluster_now_ms();
	if (del) {
		if (p->alive)
			log_info("cluster", "node %s left (lease expired or revoked)", node);
		p->alive = false;
		return;
	}
	char *text;
	size_t len;
	if (etcd_bytes(kv, "value", &text, &len) != 0)
		return;
	json_t *v = json_loadb(text, len, 0, NULL);
	free(text);
	const char *name = json_string_value(json_object_get(v, "node"));
	if (name == NULL || strcmp(name, node) != 0) {
		json_decref(v);
		skip_key(c, key, "not a node record of this node");
		return;
	}
	const char *fields[3] = { "advertise", "version", "started" };
	char **dst[3] = { &p->advertise, &p->version, &p->started };
	for (int i = 0; i < 3; i++) {
		const char *s = json_string_value(json_object_get(v, fields[i]));
		free(*dst[i]);
		*dst[i] = s != NULL ? strndup(s, 128) : NULL;
	}
	json_decref(v);
	if (!p->alive)
		log_info("cluster", "node %s is here (advertise %s)", node,
			 p->advertise ? p->advertise : "none");
	p->alive = true;
	p->seen = true;
}

static void tell_routes(struct cluster *c, const char *id, const struct route *r, size_t n)
{
	char origin[600];
	if (c->remote_routes == NULL ||
	    snprintf(origin, sizeof(origin), "node:%s", id) >= (int)sizeof(origin))
		return;
	c->remote_routes(c->routes_arg, origin, r, n);
}

/* Forget r's counts; remove its records too unless they are being replaced. */
static void uncount(struct cluster *c, struct remote *r);

static void drop_remote(struct cluster *c, const char *id, struct remote *r)
{
	registry_set(c->reg, ORIGIN_NODE, id, NULL);
	tell_routes(c, id, NULL, 0);
	uncount(c, r);
}

static void uncount(struct cluster *c, struct remote *r)
{
	struct peer *p = strmap_get(&c->peers, r->node);
	if (p != NULL) {
		p->records -= r->records < p->records ? r->records : p->records;
		p->last_change_ms = cluster_now_ms();
	}
	c->remote_records -= r->records < c->remote_records ? r->records : c->remote_records;
}

static void apply_records(struct cluster *c, const char *key, const char *rest, json_t *kv,
			  bool del, bool live)
{
	const char *slash = strchr(rest, '/');
	if (slash == NULL || slash[1] == '\0' || !node_name_ok(rest, (size_t)(slash - rest))) {
		skip_key(c, key, "not <node>/<origin>");
		return;
	}
	char node[256];
	snprintf(node, sizeof(node), "%.*s", (int)(slash - rest), rest);
	if (strcmp(node, c->node) == 0)
		return; /* never re-imported */
	struct remote *r = strmap_get(&c->remotes, rest);
	if (del) {
		if (r != NULL) {
			drop_remote(c, rest, r);
			free(strmap_del(&c->remotes, rest));
		}
		return;
	}
	int64_t mod = etcd_int(kv, "mod_revision");
	if (r != NULL && r->mod_revision == mod) {
		r->seen = true; /* a full read of what is here already */
		return;
	}
	char *text;
	size_t len;
	if (etcd_bytes(kv, "value", &text, &len) != 0) {
		skip_key(c, key, "value is not base64");
		return;
	}
	struct recset *rs;
	int64_t stamp;
	char why[300];
	int ret = cluster_value_decode(text, len, node, slash + 1, &rs, &stamp, why, sizeof(why));
	struct route *routes = NULL;
	size_t nroutes = 0;
	if (ret == 0 && c->remote_routes != NULL &&
	    (ret = cluster_value_routes(text, len, &routes, &nroutes, why, sizeof(why))) < 0)
		recset_free(rs);
	free(text);
	if (ret < 0) {
		skip_key(c, key, why);
		if (r != NULL)
			r->seen = true; /* what was good stays */
		return;
	}
	size_t n = recset_count(rs);
	if (r == NULL) {
		size_t nl = strlen(node) + 1;
		if ((r = calloc(1, sizeof(*r) + nl)) == NULL ||
		    strmap_put(&c->remotes, rest, r, NULL) != 0) {
			free(r);
			recset_free(rs);
			free(routes);
			log_error("cluster", "out of memory: %s dropped", key);
			return;
		}
		memcpy(r->node, node, nl);
	} else {
		uncount(c, r); /* the registry set below replaces the records */
	}
	if (registry_set(c->reg, ORIGIN_NODE, rest, rs) != 0) {
		free(routes);
		free(strmap_del(&c->remotes, rest));
		return;
	}
	tell_routes(c, rest, routes, nroutes);
	free(routes);
	r->mod_revision = mod;
	r->records = n;
	r->seen = true;
	c->remote_records += n;
	struct peer *p = peer_get(c, node);
	if (p != NULL) {
		p->records += n;
		p->last_change_ms = cluster_now_ms();
	}
	if (live)
		observe_propagation(c, stamp);
}

/* One key as etcd has it now (or its deletion). */
static void apply(struct cluster *c, json_t *kv, bool del, bool live)
{
	char *key;
	size_t len;
	if (etcd_bytes(kv, "key", &key, &len) != 0)
		return;
	size_t np = strlen(c->nodes_prefix), rp = strlen(c->records_prefix);
	if (strlen(key) != len)
		skip_key(c, "(binary)", "a key with a NUL byte");
	else if (len > np && strncmp(key, c->nodes_prefix, np) == 0)
		apply_node(c, key, key + np, kv, del);
	else if (len > rp && strncmp(key, c->records_prefix, rp) == 0)
		apply_records(c, key, key + rp, kv, del, live);
	/* other keys under the prefix: a later version's, left alone */
	free(key);
}

/* --- the full read --- */

static void unsee(void *arg, const char *key, void *val)
{
	(void)arg;
	(void)key;
	((struct remote *)val)->seen = false;
}

static void unsee_peer(void *arg, const char *key, void *val)
{
	(void)arg;
	(void)key;
	((struct peer *)val)->seen = false;
}

static bool drop_unseen(void *arg, const char *key, void *val)
{
	struct cluster *c = arg;
	struct remote *r = val;
	if (r->seen)
		return false;
	drop_remote(c, key, r);
	free(r);
	return true;
}

static void peer_unseen(void *arg, const char *key, void *val)
{
	struct peer *p = val;
	(void)arg;
	if (!p->seen && p->alive) {
		log_info("cluster", "node %s left while the watch was down", key);
		p->alive = false;
	}
}

static void read_again_later(struct cluster *c)
{
	c->reading = true;
	cluster_timer(c->watch_timer, backoff_next(&c->watch_backoff));
}

static void on_range(int err, json_t *reply, const char *msg, void *arg)
{
	struct cluster *c = arg;
	c->range_call = NULL;
	if (err == -ERANGE) {
		log_info("cluster", "revision %lld compacted during the read: reading again",
			 (long long)c->read_revision);
		import_full_read(c);
		return;
	}
	if (err == -EFBIG && c->page_keys > 1) {
		/* Large values: fewer keys per page, the same page again. */
		c->page_keys = c->page_keys / 4 > 0 ? c->page_keys / 4 : 1;
		log_info("cluster", "a page of the prefix is too large: reading %u keys at a time",
			 c->page_keys);
		range_page(c);
		return;
	}
	if (err < 0) {
		cluster_link_error(c, "reading the prefix", err, msg);
		read_again_later(c);
		return;
	}
	cluster_link_ok(c);
	if (c->read_revision == 0)
		c->read_revision = etcd_int(json_object_get(reply, "header"), "revision");
	json_t *kvs = json_object_get(reply, "kvs");
	json_t *last = json_array_get(kvs, json_array_size(kvs) - 1);
	bool more = json_is_true(json_object_get(reply, "more")) && last != NULL;
	size_t i;
	json_t *kv;
	if (more) {
		/* The next page is asked for first: etcd prepares it while this one is applied. */
		char *key;
		size_t len;
		char *next = NULL;
		if (etcd_bytes(last, "key", &key, &len) == 0 &&
		    (next = realloc(key, len + 2)) == NULL)
			free(key);
		if (next == NULL) {
			json_array_foreach(kvs, i, kv) apply(c, kv, false, false);
			read_again_later(c);
			return;
		}
		next[len] = '\0'; /* the smallest key after the last */
		free(c->read_next);
		c->read_next = next;
		c->read_next_len = len + 1;
		range_page(c);
		json_array_foreach(kvs, i, kv) apply(c, kv, false, false);
		return;
	}
	json_array_foreach(kvs, i, kv) apply(c, kv, false, false);
	strmap_foreach_del(&c->remotes, drop_unseen, c);
	strmap_foreach(&c->peers, peer_unseen, c);
	c->revision = c->read_revision;
	c->reading = false;
	c->full_reads++;
	log_info("cluster",
		 "read %zu origins of other nodes (%zu records) at revision %lld in %.0f ms",
		 c->remotes.n, c->remote_records, (long long)c->revision,
		 (mono_s() - c->read_started) * 1e3);
	watch_start(c);
}

static void range_page(struct cluster *c)
{
	json_t *body = json_pack("{s:o, s:o, s:I}", "key", etcd_b64(c->read_next, c->read_next_len),
				 "range_end", etcd_prefix_end(c->range_prefix), "limit",
				 (json_int_t)PAGE_KEYS);
	if (body != NULL && c->read_revision > 0)
		json_object_set_new(body, "revision", etcd_int_json(c->read_revision));
	c->range_call = body != NULL ? etcd_call(c->etcd, "/v3/kv/range", body, on_range, c) : NULL;
	if (c->range_call == NULL)
		read_again_later(c);
}

void import_full_read(struct cluster *c)
{
	import_stop(c);
	if (c->page_keys == 0)
		c->page_keys = PAGE_KEYS;
	c->reading = true;
	c->read_revision = 0;
	c->read_started = mono_s();
	free(c->read_next);
	c->read_next = strdup(c->range_prefix);
	c->read_next_len = c->read_next != NULL ? strlen(c->read_next) : 0;
	if (c->read_next == NULL) {
		read_again_later(c);
		return;
	}
	strmap_foreach(&c->remotes, unsee, NULL);
	strmap_foreach(&c->peers, unsee_peer, NULL);
	range_page(c);
}

/* --- the watch --- */

#define WATCH_CREATE_MS 3000 /* etcd says "created" first; one that does not is stuck */

static void on_watch_dog(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	(void)fd;
	(void)what;
	if (c->watch_call == NULL || c->watch_created)
		return;
	etcd_cancel(c->watch_call);
	c->watch_call = NULL;
	cluster_link_error(c, "watching", -ETIMEDOUT, "the watch was not created in time");
	read_again_later(c);
}

static void on_watch(json_t *result, void *arg)
{
	struct cluster *c = arg;
	if (json_is_true(json_object_get(result, "created"))) {
		c->watch_created = true;
		cluster_link_ok(c);
		backoff_reset(&c->watch_backoff);
	}
	if (json_is_true(json_object_get(result, "canceled"))) {
		int64_t compact = etcd_int(result, "compact_revision");
		etcd_cancel(c->watch_call);
		c->watch_call = NULL;
		if (compact > 0)
			log_info("cluster",
				 "watch at revision %lld cancelled: compacted up to %lld; reading "
				 "everything again",
				 (long long)c->revision, (long long)compact);
		else {
			const char *why =
				json_string_value(json_object_get(result, "cancel_reason"));
			log_warn("cluster",
				 "etcd cancelled the watch (%s): reading everything again",
				 why != NULL ? why : "no reason given");
		}
		import_full_read(c);
		return;
	}
	size_t i;
	json_t *ev;
	json_array_foreach(json_object_get(result, "events"), i, ev)
	{
		const char *type = json_string_value(json_object_get(ev, "type"));
		json_t *kv = json_object_get(ev, "kv");
		apply(c, kv, type != NULL && strcmp(type, "DELETE") == 0, true);
		int64_t mod = etcd_int(kv, "mod_revision");
		if (mod > c->revision)
			c->revision = mod;
		c->watch_events++;
	}
}

static void on_watch_end(int err, const char *msg, void *arg)
{
	struct cluster *c = arg;
	c->watch_call = NULL;
	cluster_link_error(c, "watching", err != 0 ? err : -ECONNRESET, msg);
	read_again_later(c); /* what changed meanwhile, and what vanished */
}

/* The watch starts at the revision read, not the one after it. etcd before 3.4.34 and 3.5.15
 * (etcd-io/etcd#18089) drops a deletion made at the revision a watch starts from when that
 * revision has been compacted: started at read + 1, compacted at read + 1, a key deleted then
 * would stay here forever. Started at the read's own revision, a compaction past it cancels
 * the watch (everything is read again), and the events at that revision are ones the read
 * already holds: a put of what is here is "seen", a deletion of what is absent does nothing. */
static void watch_start(struct cluster *c)
{
	json_t *body = json_pack("{s:{s:o, s:o, s:o}}", "create_request", "key",
				 etcd_b64(c->range_prefix, strlen(c->range_prefix)), "range_end",
				 etcd_prefix_end(c->range_prefix), "start_revision",
				 etcd_int_json(c->revision));
	c->watch_created = false;
	snprintf(c->watch_endpoint, sizeof(c->watch_endpoint), "%s", etcd_endpoint(c->etcd));
	if (c->watch_dog == NULL)
		c->watch_dog = evtimer_new(c->base, on_watch_dog, c);
	if (c->watch_dog != NULL)
		cluster_timer(c->watch_dog, WATCH_CREATE_MS);
	c->watch_call = body != NULL ?
				etcd_stream(c->etcd, "/v3/watch", body, on_watch, on_watch_end, c) :
				NULL;
	if (c->watch_call == NULL)
		read_again_later(c);
}

/* A member that stalls (stopped, or too slow to answer) keeps a quiet watch open as if
 * nothing changed: once calls have given up on it, the watch leaves it too, and what changed
 * meanwhile is read from the member the calls go to now. */
void import_endpoint_moved(struct cluster *c)
{
	if (c->watch_call == NULL || strcmp(c->watch_endpoint, etcd_endpoint(c->etcd)) == 0)
		return;
	log_info("cluster", "calls moved from %s to %s: watching there, reading everything again",
		 c->watch_endpoint, etcd_endpoint(c->etcd));
	etcd_cancel(c->watch_call);
	c->watch_call = NULL;
	read_again_later(c);
}

void import_watch_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	(void)fd;
	(void)what;
	if (c->state == NODE_UP && c->reading && c->range_call == NULL)
		import_full_read(c);
}

void import_stop(struct cluster *c)
{
	etcd_cancel(c->range_call);
	etcd_cancel(c->watch_call);
	c->range_call = c->watch_call = NULL;
	evtimer_del(c->watch_timer);
	if (c->watch_dog != NULL)
		evtimer_del(c->watch_dog);
	c->reading = false;
}

void import_free(struct cluster *c)
{
	if (c->watch_dog != NULL)
		event_free(c->watch_dog);
	c->watch_dog = NULL;
	strmap_clear(&c->remotes, free);
	free(c->read_next);
	c->read_next = NULL;
}
