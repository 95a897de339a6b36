/* SPDX-License-Identifier: MIT */
/* The read-only endpoints: /health and /status (joyride's shapes, and more),
 * /dns/records, /dns/cluster and the Prometheus text at /metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <libknot/libknot.h>
#include <urcu.h>

#include "conf/options.h"
#include "forward/forward.h"
#include "http/internal.h"
#include "sources/manual.h"
#include "store/registry.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

#define KINDS_MAX 32 /* distinct origin kinds counted (hosts, records, docker, ...) */

static const char *const rcode_names[16] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
	"NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15",
};

/* A string member, "" when missing. */
static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

json_t *http_sources(struct http_server *hs)
{
	json_t *a = hs->d.sources != NULL ? hs->d.sources(hs->d.arg) : NULL;
	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	return a;
}

static bool source_down(const json_t *s)
{
	const char *state = json_string_value(json_object_get(s, "state"));
	return json_is_true(json_object_get(s, "required")) && state != NULL &&
	       strcmp(state, "down") == 0;
}

/* "name: error" for every required source that is down. */
static json_t *problems(const json_t *sources)
{
	json_t *p = json_array();
	size_t i;
	json_t *s;

	json_array_foreach(sources, i, s)
	{
		if (!source_down(s))
			continue;
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *err = json_string_value(json_object_get(s, "error"));
		json_array_append_new(p, json_sprintf("%s: %s", name != NULL ? name : "source",
						      err != NULL ? err : "down"));
	}
	return p;
}

/* "name: error" for every source that says it is degraded ("health": "degraded"). */
static json_t *degraded(const json_t *sources)
{
	json_t *p = json_array();
	size_t i;
	json_t *s;

	json_array_foreach(sources, i, s)
	{
		const char *h = json_string_value(json_object_get(s, "health"));
		if (h == NULL || strcmp(h, "degraded") != 0)
			continue;
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *err = json_string_value(json_object_get(s, "error"));
		json_array_append_new(p, json_sprintf("%s: %s", name != NULL ? name : "source",
						      err != NULL ? err : "degraded"));
	}
	return p;
}

void http_get_health(struct http_server *hs, struct evhttp_request *req)
{
	char ts[40];
	json_t *sources = http_sources(hs);
	json_t *p = problems(sources);
	bool ok = json_array_size(p) == 0;
	if (ok) {
		json_decref(p);
		p = degraded(sources);
	}
	bool fine = json_array_size(p) == 0;
	json_t *v = json_pack("{s:s, s:s, s:s, s:s}", "status",
			      !ok   ? "unhealthy" :
			      !fine ? "degraded" :
				      "healthy",
			      "service", "berth", "version", BERTH_VERSION, "timestamp",
			      http_timestamp(ts, sizeof(ts)));

	if (v != NULL && !fine)
		json_object_set(v, "problems", p);
	json_decref(p);
	json_decref(sources);
	http_reply_json(hs, req, ok ? 200 : 503, v);
}

/* Records and origins by kind, and the total. */
struct tally {
	char kind[KINDS_MAX][32];
	uint64_t records[KINDS_MAX];
	uint64_t origins[KINDS_MAX];
	size_t n;
	uint64_t total;
	uint64_t norigins;
};

static void tally_one(void *arg, enum origin_kind k, const char *origin, const struct recset *rs)
{
	struct tally *t = arg;
	char kind[32];
	size_t i;

	snprintf(kind, sizeof(kind), "%s", origin_kind_name(k));
	for (i = 0; i < t->n; i++)
		if (strcmp(t->kind[i], kind) == 0)
			break;
	if (i == t->n) {
		if (t->n == KINDS_MAX)
			i = KINDS_MAX - 1; /* an odd origin kind: lumped with the last */
		else
			memcpy(t->kind[t->n++], kind, sizeof(kind));
	}
	t->records[i] += recset_count(rs);
	t->origins[i]++;
	t->total += recset_count(rs);
	t->norigins++;
}

static void tally(struct http_server *hs, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	registry_foreach(hs->d.reg, tally_one, t);
}

static uint64_t snapshot_serial(struct http_server *hs)
{
	uint64_t serial = 0;
	rcu_read_lock();
	const struct snapshot *s = registry_current(hs->d.reg);
	if (s != NULL)
		serial = s->serial;
	rcu_read_unlock();
	return serial;
}

static json_t *addr_list(const struct addr *a, size_t n)
{
	json_t *l = json_array();
	char text[80];
	for (size_t i = 0; i < n; i++)
		json_array_append_new(l, json_string(addr_str(&a[i], text, sizeof(text))));
	return l;
}

static json_t *queries_json(struct http_server *hs)
{
	struct dns_counters c;
	json_t *by = json_object();

	memset(&c, 0, sizeof(c));
	if (hs->d.counters != NULL)
		hs->d.counters(hs->d.arg, &c);
	for (int r = 0; r < 16; r++)
		if (c.rcode[r] != 0 || r <= 5)
			json_object_set_new(by, rcode_names[r],
					    json_integer((json_int_t)c.rcode[r]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "total", (json_int_t)c.queries,
			 "forwarded", (json_int_t)c.forwarded, "dropped", (json_int_t)c.dropped,
			 "truncated", (json_int_t)c.truncated, "rate_limited",
			 (json_int_t)c.rate_limited, "rate_slipped", (json_int_t)c.rate_slipped,
			 "by_rcode", by);
}

static json_t *forwarding_json(struct http_server *hs)
{
	const struct serve_conf *c = hs->d.conf;
	json_t *v = json_pack("{s:b, s:o}", "enabled", hs->d.fwd != NULL, "upstreams",
			      addr_list(c->upstream, c->upstream_none ? 0 : c->nupstream));
	if (hs->d.fwd != NULL) {
		struct forward_stats st = { 0 };
		forwarder_stats(hs->d.fwd, &st);
		json_object_set_new(v, "queries", json_integer((json_int_t)st.queries));
		json_object_set_new(v, "answered", json_integer((json_int_t)st.answered));
		json_object_set_new(v, "failed", json_integer((json_int_t)st.failed));
	}
	return v;
}

static json_t *http_json(struct http_server *hs)
{
	json_t *codes = json_object();
	char text[80];
	char k[8];

	for (int i = 100; i < HTTP_CODES; i++) {
		if (hs->codes[i] == 0)
			continue;
		snprintf(k, sizeof(k), "%d", i);
		json_object_set_new(codes, k, json_integer((json_int_t)hs->codes[i]));
	}
	return json_pack("{s:s, s:b, s:I, s:i, s:o}", "address",
			 addr_str(&hs->d.conf->http, text, sizeof(text)), "writable",
			 hs->d.conf->api_token != NULL && hs->d.conf->api_token[0] != '\0',
			 "requests", (json_int_t)hs->requests, "connections", hs->nconn,
			 "responses", codes);
}

void http_get_status(struct http_server *hs, struct evhttp_request *req)
{
	const struct serve_conf *c = hs->d.conf;
	char ts[40];
	char started[40];
	struct tm tm;
	struct tally t;
	json_t *sources = http_sources(hs);
	json_t *p = problems(sources);
	json_t *by = json_object();
	const char *status = json_array_size(p) == 0 ? "healthy" : "unhealthy";
	if (json_array_size(p) == 0) {
		json_decref(p);
		p = degraded(sources);
		if (json_array_size(p) > 0)
			status = "degraded";
	}

	gmtime_r(&hs->started, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	tally(hs, &t);
	for (size_t i = 0; i < t.n; i++)
		json_object_set_new(by, t.kind[i],
				    json_pack("{s:I, s:I}", "records", (json_int_t)t.records[i],
					      "origins", (json_int_t)t.origins[i]));
	json_t *v = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:f, s:s?, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		"status", status, "service", "berth", "version", BERTH_VERSION, "timestamp",
		http_timestamp(ts, sizeof(ts)), "started", started, "uptime_seconds",
		http_uptime(hs), "node", c->node, "domain", c->domain, "environment",
		c->environment != NULL ? c->environment : "", "listen",
		addr_list(c->listen, c->nlisten), "sources", json_incref(sources), "records",
		json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)t.total, "origins",
			  (json_int_t)t.norigins, "serial", (json_int_t)snapshot_serial(hs),
			  "by_source", by),
		"queries", queries_json(hs), "forwarding", forwarding_json(hs), "http",
		http_json(hs), "problems", json_incref(p));
	json_decref(sources);
	json_decref(p);
	http_reply_json(hs, req, 200, v);
}

/* --- /dns/records --- */

struct listing {
	const struct http_filter *f;
	json_t **v;
	size_t n;
	size_t cap;
	bool oom;
	char scratch[2048];
};

static void list_one(void *arg, enum origin_kind kind, const char *origin, const struct recset *rs)
{
	struct listing *l = arg;
	for (size_t i = 0; i < recset_count(rs) && !l->oom; i++) {
		const struct rec *r = recset_get(rs, i);
		char host[KNOT_DNAME_TXT_MAXLEN + 1];
		size_t hl;
		if (knot_dname_to_str(host, r->owner, sizeof(host)) == NULL)
			continue;
		hl = strlen(host);
		if (hl > 1 && host[hl - 1] == '.')
			host[hl - 1] = '\0';
		if (!http_filter_match(l->f, origin, host, r->type))
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 256;
			json_t **v = realloc(l->v, cap * sizeof(*v));
			if (v == NULL) {
				l->oom = true;
				return;
			}
			l->v = v;
			l->cap = cap;
		}
		json_t *j = http_record_json(origin, r, l->scratch, sizeof(l->scratch));
		if (j == NULL) {
			l->oom = true;
			return;
		}
		l->v[l->n++] = j;
	}
}

static int str_field_cmp(const json_t *a, const json_t *b, const char *k)
{
	const char *x = json_string_value(json_object_get(a, k));
	const char *y = json_string_value(json_object_get(b, k));
	return strcmp(x != NULL ? x : "", y != NULL ? y : "");
}

/* By name, type, value and source: a stable order for people and for diffs. */
static int record_cmp(const void *pa, const void *pb)
{
	const json_t *a = *(json_t *const *)pa;
	const json_t *b = *(json_t *const *)pb;
	int c;
	if ((c = str_field_cmp(a, b, "hostname")) != 0 || (c = str_field_cmp(a, b, "type")) != 0 ||
	    (c = str_field_cmp(a, b, "value")) != 0)
		return c;
	return str_field_cmp(a, b, "source");
}

void http_get_records(struct http_server *hs, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct http_filter f;
	struct listing *l;
	char err[256];
	json_t *arr;

	if (http_filter_parse(&f, evhttp_uri_get_query(uri), err, sizeof(err)) != 0) {
		http_error(hs, req, 400, "%s", err);
		return;
	}
	l = calloc(1, sizeof(*l));
	arr = json_array();
	if (l == NULL || arr == NULL) {
		free(l);
		json_decref(arr);
		http_error(hs, req, 500, "out of memory");
		return;
	}
	l->f = &f;
	registry_foreach(hs->d.reg, list_one, l);
	if (!l->oom && l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), record_cmp);
	for (size_t i = 0; i < l->n; i++)
		if (!l->oom && json_array_append_new(arr, l->v[i]) != 0)
			l->oom = true;
		else if (l->oom)
			json_decref(l->v[i]);
	size_t n = l->n;
	bool oom = l->oom;
	free(l->v);
	free(l);
	if (oom) {
		json_decref(arr);
		http_error(hs, req, 500, "out of memory");
		return;
	}
	http_reply_json(hs, req, 200,
			json_pack("{s:s, s:I, s:o}", "status", "success", "total_records",
				  (json_int_t)n, "records", arr));
}

/* --- /dns/cluster --- */

void http_get_cluster(struct http_server *hs, struct evhttp_request *req)
{
	const struct serve_conf *c = hs->d.conf;
	json_t *cl = hs->d.cluster != NULL ? hs->d.cluster(hs->d.arg) : NULL;
	json_t *nodes = json_incref(json_object_get(cl, "nodes"));
	json_t *etcd = json_incref(json_object_get(cl, "etcd"));

	json_decref(cl);
	if (!json_is_array(nodes)) {
		struct tally t;
		char ip[64];
		char ts[40];
		const char *address = c->advertise != NULL ? c->advertise : c->host_ip;
		if (address == NULL)
			address = addr_ip_str(&c->http, ip, sizeof(ip));
		tally(hs, &t);
		json_decref(nodes);
		nodes = json_pack("[{s:s?, s:s?, s:s, s:b, s:I, s:s, s:s}]", "name", c->node,
				  "address", address, "state", "alive", "self", 1, "records",
				  (json_int_t)t.total, "version", BERTH_VERSION, "last_seen",
				  http_timestamp(ts, sizeof(ts)));
	}
	json_t *v = json_pack("{s:s, s:s?, s:b, s:I, s:o}", "status", "success", "node", c->node,
			      "distributed", c->etcd.n > 0, "total_nodes",
			      (json_int_t)json_array_size(nodes), "nodes", nodes);
	if (v != NULL && etcd != NULL)
		json_object_set(v, "etcd", etcd);
	json_decref(etcd);
	http_reply_json(hs, req, 200, v);
}

/* --- /metrics --- */

static void family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric name part from a JSON key: [a-z0-9_], others as '_'. */
static void metric_part(const char *in, char *out, size_t len)
{
	size_t o = 0;
	for (; *in != '\0' && o + 1 < len; in++) {
		char ch = *in;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		out[o++] = ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) ? ch : '_';
	}
	out[o] = '\0';
}

/* berth_source_up, and berth_source_<counter>_total for every counter a source reports. */
static void source_metrics(struct evbuffer *b, const json_t *sources)
{
	json_t *keys = json_object(); /* every counter name seen, in order */
	size_t i;
	json_t *s;
	const char *key;
	json_t *val;
	char name[128];
	char kind[128];
	char part[64];

	family(b, "berth_source_up", "gauge",
	       "1 while a source works (state ok, starting or degraded), 0 when it is down.");
	json_array_foreach(sources, i, s)
	{
		const char *state = json_string_value(json_object_get(s, "state"));
		http_prom_escape(jstr(s, "name"), name, sizeof(name));
		http_prom_escape(jstr(s, "kind"), kind, sizeof(kind));
		evbuffer_add_printf(b, "berth_source_up{source=\"%s\",kind=\"%s\"} %d\n", name,
				    kind, state != NULL && strcmp(state, "down") == 0 ? 0 : 1);
		json_object_foreach(json_object_get(s, "counters"), key,
				    val) if (json_is_integer(val))
			json_object_set_new(keys, key, json_true());
	}
	json_object_foreach(keys, key, val)
	{
		char metric[128];
		metric_part(key, part, sizeof(part));
		snprintf(metric, sizeof(metric), "berth_source_%s_total", part);
		family(b, metric, "counter", "A source's own counter (events, reconnects, ...).");
		json_array_foreach(sources, i, s)
		{
			json_t *n = json_object_get(json_object_get(s, "counters"), key);
			if (!json_is_integer(n))
				continue;
			http_prom_escape(jstr(s, "name"), name, sizeof(name));
			http_prom_escape(jstr(s, "kind"), kind, sizeof(kind));
			evbuffer_add_printf(b, "%s{source=\"%s\",kind=\"%s\"} %lld\n", metric, name,
					    kind, (long long)json_integer_value(n));
		}
	}
	json_decref(keys);

	/* Sources that time their events (docker): event -> records lag. */
	bool head = false;
	json_array_foreach(sources, i, s)
	{
		json_t *lag = json_object_get(s, "event_lag");
		json_t *bounds = json_object_get(lag, "bounds_ms");
		json_t *counts = json_object_get(lag, "counts");
		if (!json_is_array(bounds) || !json_is_array(counts) ||
		    json_array_size(counts) != json_array_size(bounds) + 1)
			continue;
		if (!head)
			family(b, "berth_source_event_lag_seconds", "histogram",
			       "Time from an event reaching berth to its records (Docker: a start "
			       "event to the container's names).");
		head = true;
		http_prom_escape(jstr(s, "name"), name, sizeof(name));
		http_prom_escape(jstr(s, "kind"), kind, sizeof(kind));
		unsigned long long cum = 0;
		for (size_t k = 0; k < json_array_size(counts); k++) {
			char le[32];
			cum += (unsigned long long)json_integer_value(json_array_get(counts, k));
			if (k < json_array_size(bounds))
				snprintf(le, sizeof(le), "%g",
					 json_number_value(json_array_get(bounds, k)) / 1e3);
			else
				snprintf(le, sizeof(le), "+Inf");
			evbuffer_add_printf(b,
					    "berth_source_event_lag_seconds_bucket{source=\"%s\","
					    "kind=\"%s\",le=\"%s\"} %llu\n",
					    name, kind, le, cum);
		}
		evbuffer_add_printf(b,
				    "berth_source_event_lag_seconds_sum{source=\"%s\",kind=\"%s\"} "
				    "%.6f\n",
				    name, kind,
				    json_number_value(json_object_get(lag, "sum_ms")) / 1e3);
		evbuffer_add_printf(b,
				    "berth_source_event_lag_seconds_count{source=\"%s\","
				    "kind=\"%s\"} %llu\n",
				    name, kind, cum);
	}
}

void http_get_metrics(struct http_server *hs, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	struct dns_counters c;
	struct tally t;
	json_t *sources;
	char kind[64];

	if (b == NULL) {
		http_error(hs, req, 500, "out of memory");
		return;
	}
	memset(&c, 0, sizeof(c));
	if (hs->d.counters != NULL)
		hs->d.counters(hs->d.arg, &c);
	tally(hs, &t);

	family(b, "berth_build_info", "gauge", "berth's version.");
	evbuffer_add_printf(b, "berth_build_info{version=\"%s\"} 1\n", BERTH_VERSION);
	family(b, "berth_uptime_seconds", "gauge", "Seconds since berth started serving HTTP.");
	evbuffer_add_printf(b, "berth_uptime_seconds %.3f\n", http_uptime(hs));

	family(b, "berth_queries_received_total", "counter",
	       "DNS queries received over UDP and TCP.");
	evbuffer_add_printf(b, "berth_queries_received_total %llu\n",
			    (unsigned long long)c.queries);
	family(b, "berth_queries_total", "counter",
	       "DNS queries berth answered itself, by response code.");
	for (int r = 0; r < 16; r++)
		if (c.rcode[r] != 0 || r <= 5)
			evbuffer_add_printf(b, "berth_queries_total{rcode=\"%s\"} %llu\n",
					    rcode_names[r], (unsigned long long)c.rcode[r]);
	family(b, "berth_queries_by_type_total", "counter", "DNS queries received, by query type.");
	for (int i = 0; i < DNS_QT_COUNT; i++)
		evbuffer_add_printf(b, "berth_queries_by_type_total{type=\"%s\"} %llu\n",
				    dns_qtype_slot_name(i), (unsigned long long)c.qtype[i]);
	family(b, "berth_answer_duration_seconds", "histogram",
	       "Time from receiving a UDP query to sending its answer (per batch).");
	uint64_t cum = 0;
	for (int i = 0; i < DNS_LATENCY_BUCKETS; i++) {
		cum += c.latency[i];
		if (i < DNS_LATENCY_BUCKETS - 1)
			evbuffer_add_printf(
				b, "berth_answer_duration_seconds_bucket{le=\"%g\"} %llu\n",
				dns_latency_bounds_us[i] / 1e6, (unsigned long long)cum);
		else
			evbuffer_add_printf(
				b, "berth_answer_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)cum);
	}
	evbuffer_add_printf(b, "berth_answer_duration_seconds_sum %.9f\n", c.latency_sum_ns / 1e9);
	evbuffer_add_printf(b, "berth_answer_duration_seconds_count %llu\n",
			    (unsigned long long)cum);
	family(b, "berth_forwarded_total", "counter", "DNS queries handed to the forwarder.");
	evbuffer_add_printf(b, "berth_forwarded_total %llu\n", (unsigned long long)c.forwarded);
	family(b, "berth_dropped_total", "counter",
	       "DNS messages dropped unanswered (responses, runts).");
	evbuffer_add_printf(b, "berth_dropped_total %llu\n", (unsigned long long)c.dropped);
	family(b, "berth_truncated_total", "counter",
	       "UDP answers sent truncated (TC) for the client to retry over TCP.");
	evbuffer_add_printf(b, "berth_truncated_total %llu\n", (unsigned long long)c.truncated);
	family(b, "berth_rate_limited_total", "counter",
	       "UDP answers over a client prefix's --rate-limit (dropped or slipped).");
	evbuffer_add_printf(b, "berth_rate_limited_total %llu\n",
			    (unsigned long long)c.rate_limited);
	family(b, "berth_rate_limit_slipped_total", "counter",
	       "Rate-limited UDP answers sent truncated, for the client to retry over TCP.");
	evbuffer_add_printf(b, "berth_rate_limit_slipped_total %llu\n",
			    (unsigned long long)c.rate_slipped);

	if (hs->d.fwd != NULL) {
		struct forward_stats st = { 0 };
		forwarder_stats(hs->d.fwd, &st);
		family(b, "berth_forward_queries_total", "counter", "Queries sent upstream.");
		evbuffer_add_printf(b, "berth_forward_queries_total %llu\n",
				    (unsigned long long)st.queries);
		family(b, "berth_forward_answered_total", "counter",
		       "Upstream queries that got an answer.");
		evbuffer_add_printf(b, "berth_forward_answered_total %llu\n",
				    (unsigned long long)st.answered);
		family(b, "berth_forward_failed_total", "counter",
		       "Upstream queries that failed or timed out (the client got SERVFAIL).");
		evbuffer_add_printf(b, "berth_forward_failed_total %llu\n",
				    (unsigned long long)st.failed);
		family(b, "berth_forward_cache_hits_total", "counter",
		       "Forwarded queries answered from the cache.");
		evbuffer_add_printf(b, "berth_forward_cache_hits_total %llu\n",
				    (unsigned long long)st.cache_hits);
	}

	family(b, "berth_records", "gauge", "Records served, by source kind.");
	for (size_t i = 0; i < t.n; i++) {
		http_prom_escape(t.kind[i], kind, sizeof(kind));
		evbuffer_add_printf(b, "berth_records{source=\"%s\"} %llu\n", kind,
				    (unsigned long long)t.records[i]);
	}
	family(b, "berth_origins", "gauge",
	       "Record origins (files, containers, manual services, nodes), by source kind.");
	for (size_t i = 0; i < t.n; i++) {
		http_prom_escape(t.kind[i], kind, sizeof(kind));
		evbuffer_add_printf(b, "berth_origins{source=\"%s\"} %llu\n", kind,
				    (unsigned long long)t.origins[i]);
	}
	family(b, "berth_snapshot_serial", "gauge", "Serial of the records being served.");
	evbuffer_add_printf(b, "berth_snapshot_serial %llu\n",
			    (unsigned long long)snapshot_serial(hs));

	sources = http_sources(hs);
	source_metrics(b, sources);
	json_decref(sources);
	if (hs->d.manual != NULL) {
		family(b, "berth_manual_services", "gauge", "Services put through the HTTP API.");
		evbuffer_add_printf(b, "berth_manual_services %zu\n", manual_count(hs->d.manual));
	}
	if (hs->d.metrics != NULL)
		hs->d.metrics(hs->d.arg, b);

	/* This response is counted before it is sent, so it shows itself. */
	hs->codes[200]++;
	family(b, "berth_http_requests_total", "counter", "HTTP responses sent, by status code.");
	for (int i = 100; i < HTTP_CODES; i++)
		if (hs->codes[i] != 0)
			evbuffer_add_printf(b, "berth_http_requests_total{code=\"%d\"} %llu\n", i,
					    (unsigned long long)hs->codes[i]);
	hs->codes[200]--;
	family(b, "berth_http_connections", "gauge", "Open HTTP connections.");
	evbuffer_add_printf(b, "berth_http_connections %d\n", hs->nconn);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	http_reply(hs, req, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}
