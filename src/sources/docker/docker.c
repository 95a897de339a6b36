/* SPDX-License-Identifier: MIT */
/* The Docker source: version negotiation, list, bounded-concurrency inspects, the event stream,
 * and reconnection with backoff and a full reconcile. All of it runs on the control loop. */
#include "sources/docker/docker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "net/http_client.h"
#include "sources/docker/ctrs.h"
#include "sources/docker/endpoint.h"
#include "sources/docker/events.h"
#include "sources/docker/inspect.h"
#include "store/registry.h"
#include "util/backoff.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define INSPECT_CONCURRENCY 16
#define INSPECT_RETRIES 6 /* a failed inspect is asked again after 100 ms, doubling: ~6 s */
#define RETRY_FIRST_MS 100
#define MAX_RESTARTS 4 /* newer events that may cancel an inspect in flight, in a row */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define LOG_EVERY_S 60  /* at most one repeated log line of a kind per minute */
#define STABLE_S 10     /* a connection that lived this long resets the backoff */
#define PING_EVERY_S 30 /* a hung engine (stream open, nothing answered) is noticed by this */

/* The events berth acts on; the engine drops the rest (exec_*, attach, ...) before sending.
 * Podman's compatible API says "cleanup" (sometimes without a "die") and "remove" for
 * "destroy", and "died" in older versions. */
static const char EVENT_FILTERS[] =
	"{\"type\":[\"container\",\"network\"],"
	"\"event\":[\"create\",\"start\",\"restart\",\"die\",\"died\",\"stop\",\"pause\","
	"\"unpause\",\"rename\",\"update\",\"destroy\",\"remove\",\"cleanup\","
	"\"health_status\",\"connect\",\"disconnect\"]}";
/* For an engine that refuses the list above: every container and network event. */
static const char TYPE_FILTERS[] = "{\"type\":[\"container\",\"network\"]}";

enum phase { P_WAIT = 0, P_VERSION, P_OPENING, P_LISTING, P_CONNECTED };

struct docker_source {
	struct event_base *base;
	struct registry *reg;
	struct naming_conf naming;
	const struct naming_export *export;
	void (*on_facts)(void *arg, const char *id, const struct container_facts *f);
	void *facts_arg;
	struct hc_client *client;
	enum phase phase;
	struct hc_req *version_req, *stream_req, *list_req, *ping_req;
	struct event *retry_ev, *ping_ev;
	struct backoff backoff;
	unsigned attempts; /* failed attempts in this outage */
	bool ever_connected;
	bool type_filters_only; /* the engine refused EVENT_FILTERS */
	bool outage;            /* an outage was logged, and no connection has been stable since */
	double connected_at;    /* monotonic seconds */
	double attempt_at;      /* monotonic seconds: this connection's GET /version */
	double listed_at;       /* ... and its list's answer */
	bool syncing;           /* the containers of that list are still being inspected */
	size_t sync_count;      /* containers in the last list */
	size_t synced;          /* ... in the last list whose sync finished */
	double sync_ms;         /* that sync: GET /version to every listed one inspected */
	struct ratelimit conn_log, lost_log, fail_log, line_log, list_log, inspect_log;
	uint64_t epoch, list_epoch;
	struct ctr_table ctrs; /* containers by ID, and the inspect queues */
	unsigned inflight;
	/* status */
	size_t named;
	uint64_t reconnects, events;
	uint64_t lag[DOCKER_LAG_BUCKETS];
	double lag_sum_ms;
	int64_t last_event_ns;
	char api_version[16], min_api_version[16], engine_version[40];
	char last_error[160];
};

const double docker_lag_bounds_ms[DOCKER_LAG_BUCKETS - 1] = { 1, 2, 5, 10, 20, 50, 100, 500, 1000 };

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* What an engine's error answer says: its JSON "message", else the printable start of the
 * body, for a log line. */
static const char *err_text(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *v = json_loadb(body, len, 0, NULL);
	const char *m = json_string_value(json_object_get(v, "message"));
	size_t o = 0;
	if (m == NULL)
		m = body;
	for (; *m && o + 1 < outlen; m++)
		out[o++] = (*m >= 0x20 && *m < 0x7f) ? *m : ' ';
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	json_decref(v);
	return out;
}

/* ---- registry ---- */

/* The container's records (rs taken) into the registry. 0, or -ENOMEM (logged): the
 * registry keeps what it had for the container. */
static int ctr_set(struct docker_source *s, struct ctr *c, struct recset *rs, struct recset *ex)
{
	int ret = registry_set_view(s->reg, ORIGIN_DOCKER, c->id, rs, ex);
	if (ret < 0) {
		log_error("docker", "container %.12s: %s; keeping the previous records", c->id,
			  berth_strerror(ret));
		return ret;
	}
	if (!c->named)
		s->named++;
	c->named = true;
	return 0;
}

/* The container's records out of the registry. 0, or -ENOMEM (logged): they stay until
 * the next full list. */
static int ctr_unset(struct docker_source *s, struct ctr *c)
{
	int ret;
	if (!c->named)
		return 0;
	if ((ret = registry_set(s->reg, ORIGIN_DOCKER, c->id, NULL)) < 0) {
		log_error("docker", "container %.12s: %s; its records stay until the next re-list",
			  c->id, berth_strerror(ret));
		return ret;
	}
	c->named = false;
	s->named--;
	return 0;
}

static void cancel_inspect(struct docker_source *s, struct ctr *c)
{
	if (c->req) {
		hc_cancel(c->req);
		c->req = NULL;
		s->inflight--;
	}
}

/* The container is gone: its names go, and so does what we knew of it. If the registry
 * cannot drop its names (out of memory, logged), it stays known, unlisted, so the next
 * re-list tries again. */
static void ctr_forget(struct docker_source *s, struct ctr *c)
{
	if (s->on_facts != NULL)
		s->on_facts(s->facts_arg, c->id, NULL);
	cancel_inspect(s, c);
	if (c->later) {
		event_free(c->later);
		c->later = NULL;
	}
	if (ctr_unset(s, c) < 0) {
		ctrs_dequeue(&s->ctrs, c);
		c->listed = false;
		c->running = false;
		return;
	}
	ctrs_remove(&s->ctrs, c);
}

/* ---- inspect ---- */

static void pump(struct docker_source *s);

static void apply(struct docker_source *s, struct ctr *c, const char *body, size_t len)
{
	struct docker_inspect *in = NULL;
	char err[200];
	const char *first;
	int rc = docker_inspect_parse(body, len, &in, err, sizeof(err));

	if (rc < 0) {
		if (!c->warned)
			log_warn("docker",
				 "container %.12s: unusable inspect answer (%s); keeping "
				 "what was known of it",
				 c->id, err);
		c->warned = true;
		return;
	}
	const struct container_facts *f = docker_inspect_facts(in);
	if (strcmp(f->id, c->id) != 0) {
		if (!c->warned)
			log_warn("docker",
				 "container %.12s: inspect answered for another ID (%.12s); "
				 "ignored",
				 c->id, f->id);
		c->warned = true;
		docker_inspect_free(in);
		return;
	}
	unsigned odd = docker_inspect_odd(in, &first);
	if (odd > 0 && !c->warned) {
		log_warn("docker", "container %.12s (%s): skipped %u odd field%s, the first: %s",
			 c->id, f->name ? f->name : "?", odd, odd == 1 ? "" : "s", first);
		c->warned = true;
	}
	c->running = f->running;
	struct recset *rs = recset_new();
	bool ignored = false;
	rc = rs ? naming_records(f, &s->naming, rs, &ignored) : -ENOMEM;
	struct recset *ex = NULL;
	if (rc == 0 && !ignored && s->export != NULL) {
		/* What other hosts see; nothing (an empty set) when they cannot reach it. */
		bool unreachable;
		ex = recset_new();
		rc = ex ? naming_export_records(f, &s->naming, s->export, ex, &unreachable) :
			  -ENOMEM;
		if (rc < 0) {
			recset_free(ex);
			ex = NULL;
		}
	}
	if (s->on_facts != NULL && rc == 0)
		s->on_facts(s->facts_arg, c->id, ignored ? NULL : f);
	if (rc == 0 && !ignored) {
		ctr_set(s, c, rs, ex);
	} else {
		recset_free(rs);
		if (rc == 0)
			ctr_unset(s, c);
		else
			log_warn("docker",
				 "container %.12s: no records (%s); keeping the previous "
				 "ones",
				 c->id, berth_strerror(rc));
	}
	if (c->event_at > 0) {
		double ms = (mono_s() - c->event_at) * 1e3;
		int b = 0;
		while (b < DOCKER_LAG_BUCKETS - 1 && ms > docker_lag_bounds_ms[b])
			b++;
		s->lag[b]++;
		s->lag_sum_ms += ms;
		log_debug("docker", "container %.12s: records %.2f ms after its event", c->id, ms);
	}
	c->event_at = 0;
	docker_inspect_free(in);
}

static void inspect_done(int err, int status, const char *body, size_t len, void *arg);
static void conn_fail(struct docker_source *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void start_inspect(struct docker_source *s, struct ctr *c)
{
	char path[32 + ID_MAX];
	snprintf(path, sizeof(path), "/containers/%s/json", c->id);
	c->req = hc_get(s->client, path, inspect_done, c);
	if (c->req == NULL) {
		log_error("docker", "container %.12s: cannot inspect (out of memory)", c->id);
		return;
	}
	c->req_gen = c->gen;
	c->want = false;
	s->inflight++;
}

static void on_inspect_retry(evutil_socket_t fd, short what, void *arg)
{
	struct ctr *c = arg;
	struct docker_source *s = c->s;
	if (s->phase == P_WAIT || c->req != NULL || c->q != Q_NONE)
		return; /* a reconnect re-lists it, or it is being looked at already */
	ctrs_enqueue(&s->ctrs, c, Q_URGENT);
	pump(s);
}

/* After a failed inspect: ask again later, not at once, so that an engine that
 * is busy for a moment (errors under load) gets time to recover. */
static void retry_later(struct docker_source *s, struct ctr *c)
{
	if (c->later == NULL)
		c->later = evtimer_new(s->base, on_inspect_retry, c);
	if (c->later == NULL) {
		ctrs_enqueue(&s->ctrs, c, Q_URGENT);
		return;
	}
	unsigned ms = RETRY_FIRST_MS << (c->retries > 0 ? c->retries - 1 : 0);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(c->later, &tv);
}

static void inspect_done(int err, int status, const char *body, size_t len, void *arg)
{
	struct ctr *c = arg;
	struct docker_source *s = c->s;
	bool stale = c->gen != c->req_gen;
	char msg[120];

	c->req = NULL;
	c->restarts = 0;
	s->inflight--;
	if (stale && !c->want) {
		/* A die/stop arrived meanwhile and removed the names: this answer is older. */
	} else if (err == 0 && status == 404) {
		ctr_forget(s, c);
		c = NULL;
	} else if (err == 0 && status == 200) {
		c->retries = 0;
		/* Even a stale answer is newer than what the registry has; the re-inspect below
		 * brings the rest. */
		apply(s, c, body, len);
	} else if (err == -ENOENT || err == -ECONNREFUSED || err == -EACCES ||
		   err == -EHOSTUNREACH || err == -ENETUNREACH) {
		/* The engine is going away; the stream would end in a moment. Start over now. */
		conn_fail(s, "%.140s", body);
		return;
	} else {
		if (err < 0)
			log_debug("docker", "container %.12s: inspect failed: %s", c->id, body);
		else if (ratelimit_ok(&s->inspect_log, LOG_EVERY_S))
			log_warn("docker", "container %.12s: inspect failed: HTTP %d %s", c->id,
				 status, err_text(body, len, msg, sizeof(msg)));
		if (err == -EFBIG)
			c->retries = INSPECT_RETRIES; /* asking again gets the same answer */
		if (++c->retries <= INSPECT_RETRIES && s->phase != P_WAIT) {
			c->want = true;
			if (!stale)
				retry_later(s, c);
		} else if (s->phase != P_WAIT && ratelimit_ok(&s->inspect_log, LOG_EVERY_S)) {
			log_warn("docker",
				 "container %.12s: inspect failed (%s%.120s); keeping what "
				 "was known until its next event",
				 c->id, err < 0 ? "" : "HTTP error ",
				 err < 0 ? body : err_text(body, len, msg, sizeof(msg)));
		}
	}
	if (c && stale && c->want)
		ctrs_enqueue(&s->ctrs, c, Q_URGENT);
	pump(s);
}

static void sync_check(struct docker_source *s);

static void pump(struct docker_source *s)
{
	if (s->phase == P_WAIT || s->phase == P_VERSION)
		return;
	while (s->inflight < INSPECT_CONCURRENCY) {
		struct ctr *c = ctrs_next(&s->ctrs);
		if (c == NULL)
			break;
		ctrs_dequeue(&s->ctrs, c);
		if (c->req == NULL)
			start_inspect(s, c);
		if (c->req == NULL)
			break;
	}
	if (s->syncing && s->phase == P_CONNECTED && s->inflight == 0 &&
	    ctrs_next(&s->ctrs) == NULL)
		sync_check(s);
}

/* The sync is over when every listed container has an answer or has used up its retries. */
static void sync_check(struct docker_source *s)
{
	size_t failed = 0;
	for (size_t b = 0; b < s->ctrs.nbuckets; b++) {
		for (const struct ctr *c = s->ctrs.buckets[b]; c; c = c->hnext) {
			if (c->later != NULL && evtimer_pending(c->later, NULL))
				return; /* asked again later */
			if (c->listed && c->retries > INSPECT_RETRIES)
				failed++;
		}
	}
	double t = mono_s();
	s->syncing = false;
	s->synced = s->sync_count;
	s->sync_ms = (t - s->attempt_at) * 1e3;
	if (failed)
		log_warn("docker",
			 "synced %zu containers in %.0f ms; %zu of them could not be "
			 "inspected (logged above)",
			 s->sync_count, s->sync_ms, failed);
	else
		log_info("docker",
			 "synced %zu container%s in %.0f ms (%.0f ms to list, %.0f ms to inspect)",
			 s->sync_count, s->sync_count == 1 ? "" : "s", s->sync_ms,
			 (s->listed_at - s->attempt_at) * 1e3, (t - s->listed_at) * 1e3);
}

/* An event says the container changed: look again, right away. */
static void touch(struct docker_source *s, const char *id)
{
	struct ctr *c = ctrs_get(&s->ctrs, s, id);
	if (c == NULL) {
		log_error("docker", "container %.12s: out of memory", id);
		return;
	}
	c->gen++;
	c->event_epoch = s->epoch;
	c->event_at = mono_s();
	c->want = true;
	c->retries = 0;
	if (c->later)
		evtimer_del(c->later); /* this event asks at once */
	if (c->req != NULL && c->restarts < MAX_RESTARTS) {
		/* The inspect in flight was sent before this event, maybe while the engine held
		 * the container's lock (a network connect during its start): ask anew rather
		 * than wait for it. Bounded, so an event storm cannot starve the container. */
		cancel_inspect(s, c);
		c->restarts++;
	}
	if (c->req == NULL)
		ctrs_enqueue(&s->ctrs, c, Q_URGENT);
	pump(s);
}

/* The container stopped: its names go now, without waiting for an inspect. */
static void stopped(struct docker_source *s, const char *id)
{
	struct ctr *c = ctrs_find(&s->ctrs, id);
	if (c == NULL)
		return;
	c->gen++;
	c->event_epoch = s->epoch;
	c->want = false;
	ctrs_dequeue(&s->ctrs, c);
	cancel_inspect(s, c); /* its answer is older than this */
	ctr_unset(s, c);
}

/* ---- connection ---- */

static void connect_start(struct docker_source *s);

static void cancel_all(struct docker_source *s)
{
	hc_cancel(s->version_req);
	hc_cancel(s->stream_req);
	hc_cancel(s->list_req);
	hc_cancel(s->ping_req);
	s->version_req = s->stream_req = s->list_req = s->ping_req = NULL;
	for (size_t i = 0; i < s->ctrs.nbuckets; i++) {
		for (struct ctr *c = s->ctrs.buckets[i]; c; c = c->hnext) {
			ctrs_dequeue(&s->ctrs, c);
			c->restarts = 0;
			if (c->later)
				evtimer_del(c->later);
			if (c->req) {
				hc_cancel(c->req);
				c->req = NULL;
			}
		}
	}
	s->inflight = 0;
	evtimer_del(s->ping_ev);
}

static void conn_fail(struct docker_source *s, const char *fmt, ...)
{
	va_list ap;
	bool was_connected = s->phase == P_CONNECTED;
	double t = mono_s();
	bool stable = was_connected && t - s->connected_at >= STABLE_S;

	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
	cancel_all(s);
	s->phase = P_WAIT;
	if (stable)
		backoff_reset(&s->backoff);
	s->attempts++;

	/* One line per outage, then at most one a minute, even when the engine flaps. */
	if (stable)
		s->outage = false;
	if (was_connected) {
		if (stable || ratelimit_ok(&s->lost_log, LOG_EVERY_S))
			log_warn("docker",
				 "lost the engine at %s: %s; still answering for %zu "
				 "containers, reconnecting",
				 hc_client_describe(s->client), s->last_error, s->named);
		ratelimit_mark(&s->fail_log, t);
	} else if (!s->outage) {
		log_warn("docker",
			 "cannot reach the engine at %s: %s; serving the other sources "
			 "and retrying",
			 hc_client_describe(s->client), s->last_error);
		ratelimit_mark(&s->fail_log, t);
	} else if (ratelimit_ok(&s->fail_log, LOG_EVERY_S)) {
		log_warn("docker", "still cannot reach the engine at %s after %u attempts: %s",
			 hc_client_describe(s->client), s->attempts, s->last_error);
	}
	s->outage = true;
	unsigned ms = backoff_next(&s->backoff);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(s->retry_ev, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	connect_start(arg);
}

static void on_ping(int err, int status, const char *body, size_t len, void *arg)
{
	struct docker_source *s = arg;
	s->ping_req = NULL;
	char msg[120];
	if (err < 0 || status != 200)
		conn_fail(s, "the engine does not answer /_ping (%s%s)",
			  err < 0 ? "" : "HTTP error ",
			  err < 0 ? body : err_text(body, len, msg, sizeof(msg)));
}

static void on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
	struct docker_source *s = arg;
	s->outage = false; /* connected for a while: the next failure is news */
	if (s->ping_req == NULL)
		s->ping_req = hc_get(s->client, "/_ping", on_ping, s);
}

/* Events: one JSON object per line. */
static void on_line(const char *line, size_t len, void *arg)
{
	struct docker_source *s = arg;
	struct docker_event ev;
	struct ctr *c;

	if (docker_event_parse(line, len, &ev) < 0) {
		if (ratelimit_ok(&s->line_log, LOG_EVERY_S))
			log_warn("docker",
				 "event stream: skipped a line that is not an event we understand "
				 "(%.120s; %u similar not logged)",
				 line, ratelimit_take(&s->line_log));
		return;
	}
	s->events++;
	if (ev.time_ns > s->last_event_ns)
		s->last_event_ns = ev.time_ns;
	if (ev.kind != DOCKER_EVENT_IGNORE)
		log_debug("docker", "event: container %.12s %.40s", ev.id, line);
	switch (ev.kind) {
	case DOCKER_EVENT_IGNORE:
		break;
	case DOCKER_EVENT_CREATED:
		if (s->naming.all)
			touch(s, ev.id);
		break;
	case DOCKER_EVENT_CHANGED:
		touch(s, ev.id);
		break;
	case DOCKER_EVENT_NETWORK:
		/* Only a running container (or one on its way to names) can change its names
		 * here. A container being created is connected before it starts, while the
		 * engine holds its lock: an inspect then waits for the start, and its start
		 * event comes anyway. */
		c = ctrs_find(&s->ctrs, ev.id);
		if (c && (c->named || c->running || c->want || c->req || c->q != Q_NONE))
			touch(s, ev.id);
		break;
	case DOCKER_EVENT_STOPPED:
		if (s->naming.all)
			touch(s, ev.id);
		else
			stopped(s, ev.id);
		break;
	case DOCKER_EVENT_GONE:
		c = ctrs_find(&s->ctrs, ev.id);
		if (c)
			ctr_forget(s, c);
		break;
	}
	/* A stop or removal may have cancelled an inspect: its slot is free for the next, and
	 * it may have been the last thing a sync waited for. */
	pump(s);
}

static void on_stream_end(int err, int status, const char *msg, void *arg)
{
	struct docker_source *s = arg;
	char text[120];

	s->stream_req = NULL;
	if (err == 0 && status == 400 && !s->type_filters_only) {
		log_info("docker", "the engine refused the event filter: following every container "
				   "and network event instead");
		s->type_filters_only = true;
		cancel_all(s);
		s->phase = P_WAIT;
		connect_start(s);
		return;
	}
	if (err == 0 && status > 0)
		conn_fail(s, "GET /events: HTTP %d %s", status,
			  err_text(msg, strlen(msg), text, sizeof(text)));
	else
		conn_fail(s, "event stream: %s", msg);
}

static void on_list(int err, int status, const char *body, size_t len, void *arg)
{
	struct docker_source *s = arg;
	json_error_t jerr;
	json_t *list, *item;
	size_t i, n = 0;

	s->list_req = NULL;
	if (err < 0 || status != 200) {
		char msg[120];
		if (err < 0)
			conn_fail(s, "GET /containers/json: %.120s", body);
		else
			conn_fail(s, "GET /containers/json: HTTP %d %s", status,
				  err_text(body, len, msg, sizeof(msg)));
		return;
	}
	list = json_loadb(body, len, 0, &jerr);
	if (!json_is_array(list)) {
		conn_fail(s, "GET /containers/json: not a JSON list (%s)",
			  list ? "another value" : jerr.text);
		json_decref(list);
		return;
	}
	for (size_t b = 0; b < s->ctrs.nbuckets; b++)
		for (struct ctr *c = s->ctrs.buckets[b]; c; c = c->hnext)
			c->listed = false;
	json_array_foreach(list, i, item)
	{
		const char *id = json_string_value(json_object_get(item, "Id"));
		struct ctr *c;
		if (id == NULL || !id_ok(id)) {
			if (ratelimit_ok(&s->list_log, LOG_EVERY_S))
				log_warn("docker",
					 "container list: skipped an entry without a usable "
					 "ID");
			continue;
		}
		c = ctrs_get(&s->ctrs, s, id);
		if (c == NULL) {
			log_error("docker", "container list: out of memory");
			break;
		}
		c->listed = true;
		c->want = true;
		c->retries = 0;
		if (c->req == NULL)
			ctrs_enqueue(&s->ctrs, c, Q_BULK);
		n++;
	}
	json_decref(list);
	/* Reconcile: a container known before but not listed is gone, unless an event about it
	 * came after the list was asked for (it may have started since): look at those again. */
	for (size_t b = 0; b < s->ctrs.nbuckets; b++) {
		for (struct ctr *c = s->ctrs.buckets[b], *next; c; c = next) {
			next = c->hnext;
			if (c->listed)
				continue;
			if (c->event_epoch >= s->list_epoch)
				ctrs_enqueue(&s->ctrs, c, Q_URGENT);
			else if (c->req == NULL)
				ctr_forget(s, c);
		}
	}
	s->phase = P_CONNECTED;
	s->connected_at = s->listed_at = mono_s();
	s->syncing = true;
	s->sync_count = n;
	s->attempts = 0;
	s->last_error[0] = '\0';
	if (s->ever_connected)
		s->reconnects++;
	if (!s->ever_connected || ratelimit_ok(&s->conn_log, LOG_EVERY_S))
		log_info("docker", "%sconnected to %s (engine %s, API %s): %zu containers",
			 s->ever_connected ? "re" : "", hc_client_describe(s->client),
			 s->engine_version[0] ? s->engine_version : "?",
			 s->api_version[0] ? s->api_version : "unversioned", n);
	s->ever_connected = true;
	struct timeval tv = { PING_EVERY_S, 0 };
	evtimer_add(s->ping_ev, &tv);
	pump(s);
}

static void on_stream_open(void *arg)
{
	struct docker_source *s = arg;
	char path[64];

	/* The stream is open before the list is asked for: whatever changes after the list was
	 * made comes as an event, so nothing falls between the two. */
	s->phase = P_LISTING;
	s->list_epoch = ++s->epoch;
	snprintf(path, sizeof(path), "/containers/json?all=%d", s->naming.all ? 1 : 0);
	s->list_req = hc_get(s->client, path, on_list, s);
	if (s->list_req == NULL)
		conn_fail(s, "out of memory");
	pump(s);
}

static void copy_field(json_t *obj, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(obj, key));
	snprintf(out, len, "%s", v ? v : "");
}

static void on_version(int err, int status, const char *body, size_t len, void *arg)
{
	struct docker_source *s = arg;
	json_error_t jerr;
	json_t *v;
	char filters[sizeof(EVENT_FILTERS) * 3];
	char path[sizeof(filters) + 96];

	s->version_req = NULL;
	if (err < 0 || status != 200) {
		char msg[120];
		if (err < 0)
			conn_fail(s, "%.140s", body);
		else
			conn_fail(s, "GET /version: HTTP %d %s", status,
				  err_text(body, len, msg, sizeof(msg)));
		return;
	}
	v = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(v)) {
		conn_fail(s, "GET /version: not a JSON object (%s)",
			  v ? "another value" : jerr.text);
		json_decref(v);
		return;
	}
	char api[sizeof(s->api_version)];
	copy_field(v, "ApiVersion", api, sizeof(api));
	copy_field(v, "MinAPIVersion", s->min_api_version, sizeof(s->min_api_version));
	copy_field(v, "Version", s->engine_version, sizeof(s->engine_version));
	json_decref(v);
	/* Speak the engine's own version: old engines (1.41), new ones that refuse anything
	 * below 1.44, and Podman's compatible socket (1.40) all understand it. */
	if (docker_set_api_version(s->client, api) < 0) {
		if (!s->ever_connected)
			log_warn("docker",
				 "the engine gave no usable API version (\"%.20s\"): "
				 "sending unversioned requests",
				 api);
		docker_set_api_version(s->client, NULL);
		api[0] = '\0';
	}
	snprintf(s->api_version, sizeof(s->api_version), "%s", api);

	hc_urlencode(s->type_filters_only ? TYPE_FILTERS : EVENT_FILTERS, filters, sizeof(filters));
	if (s->last_event_ns > 0)
		/* No event of the gap is lost: the engine replays from the last one we saw. */
		snprintf(path, sizeof(path), "/events?filters=%s&since=%lld.%09lld", filters,
			 (long long)(s->last_event_ns / 1000000000),
			 (long long)(s->last_event_ns % 1000000000));
	else
		snprintf(path, sizeof(path), "/events?filters=%s", filters);
	s->phase = P_OPENING;
	s->stream_req = hc_stream(s->client, path, NULL, on_stream_open, on_line, on_stream_end, s);
	if (s->stream_req == NULL)
		conn_fail(s, "out of memory");
}

static void connect_start(struct docker_source *s)
{
	if (s->phase != P_WAIT)
		return;
	s->phase = P_VERSION;
	s->attempt_at = mono_s();
	/* The engine may have been replaced by another version: ask unversioned. */
	docker_set_api_version(s->client, NULL);
	s->version_req = hc_get(s->client, "/version", on_version, s);
	if (s->version_req == NULL)
		conn_fail(s, "out of memory");
}

/* ---- public ---- */

int docker_source_new(struct event_base *base, struct registry *reg,
		      const struct docker_source_conf *conf, struct docker_source **out, char *err,
		      size_t errlen)
{
	struct docker_endpoint_conf cc = {
		.endpoint = conf->endpoint,
		.tls_ca = conf->tls_ca,
		.tls_cert = conf->tls_cert,
		.tls_key = conf->tls_key,
	};
	struct docker_source *s;
	int rc;

	*out = NULL;
	if (conf->endpoint && strcmp(conf->endpoint, "none") == 0)
		return 0;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	s->base = base;
	s->reg = reg;
	s->naming = conf->naming;
	s->export = conf->export;
	s->on_facts = conf->on_facts;
	s->facts_arg = conf->facts_arg;
	backoff_init(&s->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS, 0); /* no jitter, as before */
	rc = docker_endpoint_client(base, &cc, &s->client, err, errlen);
	if (rc < 0)
		goto fail;
	s->retry_ev = evtimer_new(base, on_retry, s);
	s->ping_ev = event_new(base, -1, EV_PERSIST, on_ping_timer, s);
	if (s->retry_ev == NULL || s->ping_ev == NULL || ctrs_init(&s->ctrs) < 0) {
		rc = berth_fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	log_info("docker", "following the engine at %s", hc_client_describe(s->client));
	connect_start(s);
	*out = s;
	return 0;
fail:
	docker_source_free(s);
	return rc;
}

void docker_source_free(struct docker_source *s)
{
	if (s == NULL)
		return;
	if (s->client)
		cancel_all(s);
	/* The inspect contexts of cancelled requests: see cancel_all. */
	hc_client_free(s->client);
	for (size_t i = 0; i < s->ctrs.nbuckets; i++) {
		for (struct ctr *c = s->ctrs.buckets[i]; c; c = c->hnext) {
			if (c->later)
				event_free(c->later);
			c->later = NULL;
		}
	}
	ctrs_free(&s->ctrs);
	if (s->retry_ev)
		event_free(s->retry_ev);
	if (s->ping_ev)
		event_free(s->ping_ev);
	free(s);
}

void docker_source_reconnect(struct docker_source *s)
{
	cancel_all(s);
	s->phase = P_WAIT;
	evtimer_del(s->retry_ev);
	connect_start(s);
}

void docker_source_status(const struct docker_source *s, struct docker_status *out)
{
	memset(out, 0, sizeof(*out));
	out->connected = s->phase == P_CONNECTED;
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", hc_client_describe(s->client));
	snprintf(out->api_version, sizeof(out->api_version), "%s", s->api_version);
	snprintf(out->min_api_version, sizeof(out->min_api_version), "%s", s->min_api_version);
	snprintf(out->engine_version, sizeof(out->engine_version), "%s", s->engine_version);
	out->last_event_ns = s->last_event_ns;
	out->reconnects = s->reconnects;
	out->events = s->events;
	out->containers = s->named;
	memcpy(out->lag, s->lag, sizeof(out->lag));
	out->lag_sum_ms = s->lag_sum_ms;
	out->sync_ms = s->sync_ms;
	out->synced = s->synced;
	snprintf(out->last_error, sizeof(out->last_error), "%s", s->last_error);
}

/* ---- struct source_ops ---- */

static void ops_reload(void *self)
{
	docker_source_reconnect(self);
}

static json_t *ops_status(const void *self)
{
	struct docker_status ds;
	docker_source_status(self, &ds);
	const char *state = ds.connected ? "ok" : ds.last_error[0] ? "down" : "starting";
	json_t *bounds = json_array(), *counts = json_array();
	for (int i = 0; i < DOCKER_LAG_BUCKETS; i++) {
		if (i < DOCKER_LAG_BUCKETS - 1)
			json_array_append_new(bounds, json_real(docker_lag_bounds_ms[i]));
		json_array_append_new(counts, json_integer((json_int_t)ds.lag[i]));
	}
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:b, s:s?, s:s, s:s, s:s, s:I, s:I, s:{s:I, s:I}, s:{s:o, s:o, s:f}}",
		"name", "docker", "kind", docker_source_ops.kind, "state", state, "required", 1,
		"error", ds.last_error[0] ? ds.last_error : NULL, "endpoint", ds.endpoint,
		"api_version", ds.api_version, "engine_version", ds.engine_version, "containers",
		(json_int_t)ds.containers, "last_event_ns", (json_int_t)ds.last_event_ns,
		"counters", "events", (json_int_t)ds.events, "reconnects",
		(json_int_t)ds.reconnects, "event_lag", "bounds_ms", bounds, "counts", counts,
		"sum_ms", ds.lag_sum_ms);
	if (o != NULL && ds.sync_ms > 0)
		json_object_set_new(o, "last_sync",
				    json_pack("{s:I, s:f}", "containers", (json_int_t)ds.synced,
					      "ms", ds.sync_ms));
	return o;
}

static void ops_free(void *self)
{
	docker_source_free(self);
}

const struct source_ops docker_source_ops = {
	.kind = "docker",
	.reload = ops_reload,
	.status = ops_status,
	.free = ops_free,
};
