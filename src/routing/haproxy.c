/* SPDX-License-Identifier: MIT */
/* HAProxy's Runtime API: read, diff, apply; one command per connection. */
#include "routing/haproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "util/backoff.h"
#include "util/err.h"
#include "util/log.h"

#define HAP_TIMEOUT_S 3
#define HAP_ANSWER_MAX (8u << 20)
#define HAP_CHECK_MS 2000 /* what HAProxy holds is read again this often (it may restart) */

enum phase { PH_DOWN, PH_BACKENDS, PH_MAPLIST, PH_MAP, PH_SERVERS, PH_SYNC, PH_IDLE };

struct hap {
	struct event_base *base;
	char *addr;
	struct sockaddr_storage sa;
	socklen_t salen;
	void (*on_change)(void *arg);
	void *arg;

	enum phase phase;
	struct bufferevent *bev;
	char *cmd;           /* in flight */
	struct event *retry; /* reconnect / re-read */
	struct event *kick;  /* a sync soon */
	struct backoff backoff;
	int map_step;        /* PH_MAP: which map is being read */
	char *map_ids[MAPS]; /* the maps' files as HAProxy names them */
	unsigned http_slots, tls_slots;

	struct proxy_state have, want, sent; /* sent: the state the batch in flight makes */
	struct cmdlist batch;
	size_t next;       /* in batch */
	bool want_changed; /* since the batch was made */
	bool ever_up, was_down;
	bool slots_changed;

	char last_error[300];
	unsigned long commands, failures, reconnects;
};

static void step(struct hap *h);
static void fail(struct hap *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int copy_state(struct proxy_state *dst, const struct proxy_state *src);
static int keep_others(struct proxy_state *dst, const struct proxy_state *have);

static void schedule(struct event *ev, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	evtimer_add(ev, &tv);
}

static void changed(struct hap *h)
{
	if (h->on_change != NULL)
		h->on_change(h->arg);
}

/* --- one command --- */

static void done(struct hap *h, const char *answer, size_t len);

static void finish_bev(struct hap *h)
{
	if (h->bev != NULL)
		bufferevent_free(h->bev);
	h->bev = NULL;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct hap *h = arg;
	if (evbuffer_get_length(bufferevent_get_input(bev)) > HAP_ANSWER_MAX) {
		finish_bev(h);
		fail(h, "answer to \"%.60s\" over %u bytes", h->cmd, HAP_ANSWER_MAX);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct hap *h = arg;
	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		struct evbuffer *in = bufferevent_get_input(bev);
		size_t len = evbuffer_get_length(in);
		char *text = malloc(len + 1);
		if (text == NULL) {
			finish_bev(h);
			fail(h, "out of memory");
			return;
		}
		evbuffer_remove(in, text, len);
		text[len] = '\0';
		finish_bev(h);
		done(h, text, len);
		free(text);
		return;
	}
	int e = EVUTIL_SOCKET_ERROR();
	finish_bev(h);
	fail(h, "%s: %s", (what & BEV_EVENT_TIMEOUT) ? "no answer in time" : "cannot talk to it",
	     (what & BEV_EVENT_TIMEOUT) ? "timeout" : evutil_socket_error_to_string(e));
}

/* Send cmd (taken) on a new connection; done() or fail() follows. */
static void send_cmd(struct hap *h, char *cmd)
{
	free(h->cmd);
	h->cmd = cmd;
	h->bev = bufferevent_socket_new(h->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (h->bev == NULL) {
		fail(h, "out of memory");
		return;
	}
	struct timeval tv = { HAP_TIMEOUT_S, 0 };
	bufferevent_set_timeouts(h->bev, &tv, &tv);
	bufferevent_setcb(h->bev, on_read, NULL, on_event, h);
	evbuffer_add_printf(bufferevent_get_output(h->bev), "%s\n", cmd);
	if (bufferevent_socket_connect(h->bev, (struct sockaddr *)&h->sa, (int)h->salen) < 0) {
		int e = EVUTIL_SOCKET_ERROR();
		finish_bev(h);
		fail(h, "cannot connect: %s", evutil_socket_error_to_string(e));
		return;
	}
	bufferevent_enable(h->bev, EV_READ);
	h->commands++;
}

static void send_fmt(struct hap *h, const char *fmt, const char *a)
{
	char *c;
	if (asprintf(&c, fmt, a) < 0) {
		fail(h, "out of memory");
		return;
	}
	send_cmd(h, c);
}

/* --- answers --- */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Did a change command do what it says? */
static bool change_ok(const char *cmd, char *answer)
{
	char *a = trim(answer);
	if (strncmp(cmd, "add server ", 11) == 0)
		return strstr(a, "New server registered") != NULL;
	if (strncmp(cmd, "del server ", 11) == 0)
		return strstr(a, "Server deleted") != NULL || strstr(a, "No such server") != NULL;
	if (strncmp(cmd, "del map ", 8) == 0 && strstr(a, "not found") != NULL)
		return true; /* gone already */
	return a[0] == '\0'; /* enable/disable server, add/set/del map: silent when fine */
}

static void parse_backends(struct hap *h, char *text)
{
	h->http_slots = h->tls_slots = 0;
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		unsigned i;
		char c;
		if (sscanf(line, "berth_http_%u%c", &i, &c) == 1 && i + 1 > h->http_slots)
			h->http_slots = i + 1;
		if (sscanf(line, "berth_tls_%u%c", &i, &c) == 1 && i + 1 > h->tls_slots)
			h->tls_slots = i + 1;
	}
}

/* "# id (file) description" then "<id> (<file>) pattern loaded ..." per map. */
static void parse_maplist(struct hap *h, char *text)
{
	for (int m = 0; m < MAPS; m++) {
		free(h->map_ids[m]);
		h->map_ids[m] = NULL;
	}
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *open = strchr(line, '('), *close = open ? strchr(open, ')') : NULL;
		if (line[0] == '#' || open == NULL || close == NULL)
			continue;
		*close = '\0';
		const char *file = open + 1;
		const char *base = strrchr(file, '/');
		base = base != NULL ? base + 1 : file;
		for (int m = 0; m < MAPS; m++)
			if (strcmp(base, wanted_map_names[m]) == 0 && h->map_ids[m] == NULL)
				h->map_ids[m] = strdup(file);
	}
}

/* "<ref> <key> <value>" per entry, in HAProxy's order: the first entry of a key is the one
 * it matches. A later one of berth's own is a stray, to be deleted by its reference. */
static int parse_map(struct strmap *m, struct strmap *strays, char *text)
{
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *key = strchr(line, ' ');
		char *val = key != NULL ? strchr(key + 1, ' ') : NULL;
		if (val == NULL)
			continue;
		*key++ = '\0';
		*val++ = '\0';
		val = trim(val);
		if (strmap_get(m, key) != NULL) {
			char ref[80];
			if (!wanted_is_slot(val) ||
			    snprintf(ref, sizeof(ref), "#%s", line) >= (int)sizeof(ref))
				continue;
			char *k = strdup(key);
			if (k == NULL || strmap_put(strays, ref, k, NULL) != 0) {
				free(k);
				return -ENOMEM;
			}
			continue;
		}
		char *v = strdup(val);
		if (v == NULL || strmap_put(m, key, v, NULL) != 0) {
			free(v);
			return -ENOMEM;
		}
	}
	return 0;
}

/* "show servers state": "1", a "# ..." header, then a line per server:
 * be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ... srv_port (field 18).
 * A server in maintenance (admin state bit 0x01: "disable server", or added and not yet
 * enabled) is "<addr>:<port> maint". */
static int parse_servers(struct strmap *m, char *text)
{
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *f[20];
		int n = 0;
		for (char *save, *tok = strtok_r(line, " ", &save); tok != NULL && n < 20;
		     tok = strtok_r(NULL, " ", &save))
			f[n++] = tok;
		if (n < 19 || line[0] == '#' || !wanted_is_slot(f[1]))
			continue;
		char key[300], addr[80];
		snprintf(key, sizeof(key), "%s/%s", f[1], f[3]);
		bool maint = (strtoul(f[6], NULL, 10) & 0x01) != 0;
		snprintf(addr, sizeof(addr), strchr(f[4], ':') ? "[%s]:%s%s" : "%s:%s%s", f[4],
			 f[18], maint ? WANTED_MAINT : "");
		char *v = strdup(addr);
		if (v == NULL || strmap_put(m, key, v, NULL) != 0) {
			free(v);
			return -ENOMEM;
		}
	}
	return 0;
}

/* --- the sequence --- */

static void start_read(struct hap *h)
{
	proxy_state_clear(&h->have);
	h->phase = PH_BACKENDS;
	send_cmd(h, strdup("show backend"));
}

static void next_map(struct hap *h)
{
	while (h->map_step < MAPS && h->map_ids[h->map_step] == NULL)
		h->map_step++;
	if (h->map_step < MAPS) {
		h->phase = PH_MAP;
		send_fmt(h, "show map %s", h->map_ids[h->map_step]);
		return;
	}
	h->phase = PH_SERVERS;
	send_cmd(h, strdup("show servers state"));
}

static void make_batch(struct hap *h)
{
	cmdlist_clear(&h->batch);
	h->next = 0;
	h->want_changed = false;
	proxy_state_clear(&h->sent);
	/* What HAProxy holds once the batch is in: what is wanted, but somebody else's entries
	 * where they are (berth leaves them be). */
	if (copy_state(&h->sent, &h->want) != 0 || keep_others(&h->sent, &h->have) != 0 ||
	    wanted_diff(&h->have, &h->want, (const char *const *)h->map_ids, &h->batch) != 0) {
		fail(h, "out of memory");
		return;
	}
	h->phase = PH_SYNC;
	step(h);
}

static void step(struct hap *h)
{
	if (h->phase != PH_SYNC)
		return;
	if (h->next < h->batch.n) {
		send_cmd(h, strdup(h->batch.v[h->next]));
		return;
	}
	/* The batch is in: HAProxy holds what it made. */
	proxy_state_clear(&h->have);
	struct proxy_state tmp = h->sent;
	h->have = tmp;
	memset(&h->sent, 0, sizeof(h->sent));
	if (h->batch.n > 0)
		log_debug("haproxy", "%s: %zu commands applied", h->addr, h->batch.n);
	cmdlist_clear(&h->batch);
	backoff_reset(&h->backoff);
	h->last_error[0] = '\0';
	h->phase = PH_IDLE;
	if (h->want_changed) {
		make_batch(h);
		return;
	}
	schedule(h->retry, HAP_CHECK_MS);
}

static void done(struct hap *h, const char *answer, size_t len)
{
	char *text = strdup(answer);
	(void)len;
	if (text == NULL) {
		fail(h, "out of memory");
		return;
	}
	switch (h->phase) {
	case PH_BACKENDS: {
		unsigned http = h->http_slots, tls = h->tls_slots;
		parse_backends(h, text);
		h->slots_changed = http != h->http_slots || tls != h->tls_slots;
		if (h->http_slots == 0 && h->tls_slots == 0) {
			free(text);
			fail(h,
			     "it has no berth_http_* or berth_tls_* backend (make its configuration "
			     "with berth haproxy-config)");
			return;
		}
		h->phase = PH_MAPLIST;
		send_cmd(h, strdup("show map"));
		break;
	}
	case PH_MAPLIST:
		parse_maplist(h, text);
		if (h->map_ids[MAP_HOSTS] == NULL) {
			free(text);
			fail(h,
			     "it has no map file %s (make its configuration with berth "
			     "haproxy-config)",
			     wanted_map_names[MAP_HOSTS]);
			return;
		}
		h->map_step = 0;
		next_map(h);
		break;
	case PH_MAP:
		if (parse_map(&h->have.maps[h->map_step], &h->have.strays[h->map_step], text) !=
		    0) {
			free(text);
			fail(h, "out of memory");
			return;
		}
		h->map_step++;
		next_map(h);
		break;
	case PH_SERVERS:
		if (parse_servers(&h->have.servers, text) != 0) {
			free(text);
			fail(h, "out of memory");
			return;
		}
		if (h->was_down || !h->ever_up)
			log_info("haproxy", "%s: %u HTTP and %u TLS backend slots; reconciling",
				 h->addr, h->http_slots, h->tls_slots);
		bool news = !h->ever_up || h->was_down || h->slots_changed;
		h->ever_up = true;
		h->was_down = false;
		if (news)
			changed(h); /* up again, or its slots changed */
		make_batch(h);
		if (h->batch.n > 0 && h->phase == PH_SYNC)
			log_info("haproxy", "%s: %zu commands to reach what is wanted", h->addr,
				 h->batch.n);
		break;
	case PH_SYNC:
		if (!change_ok(h->cmd, text)) {
			char *a = trim(text);
			h->failures++;
			fail(h, "\"%.120s\" answered \"%.120s\"", h->cmd, a[0] ? a : "(nothing)");
			free(text);
			return;
		}
		h->next++;
		step(h);
		break;
	default:
		break;
	}
	free(text);
}

static void fail(struct hap *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->last_error, sizeof(h->last_error), fmt, ap);
	va_end(ap);
	bool first = h->phase != PH_DOWN && !h->was_down;
	if (first)
		log_warn("haproxy", "%s: %s; trying again (one line per outage)", h->addr,
			 h->last_error);
	bool news = !h->was_down;
	h->was_down = true;
	h->phase = PH_DOWN;
	cmdlist_clear(&h->batch);
	proxy_state_clear(&h->sent);
	schedule(h->retry, backoff_next(&h->backoff));
	if (news)
		changed(h);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct hap *h = arg;
	(void)fd;
	(void)what;
	if (h->phase == PH_DOWN) {
		h->reconnects++;
		start_read(h);
	} else if (h->phase == PH_IDLE) {
		start_read(h); /* a restarted HAProxy holds nothing: the diff restores it */
	}
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct hap *h = arg;
	(void)fd;
	(void)what;
	if (h->phase == PH_IDLE)
		make_batch(h);
}

/* --- life --- */

static int parse_addr(struct hap *h, const char *addr)
{
	memset(&h->sa, 0, sizeof(h->sa));
	if (addr[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&h->sa;
		if (strlen(addr) >= sizeof(un->sun_path))
			return -ENAMETOOLONG;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, addr);
		h->salen = sizeof(*un);
		return 0;
	}
	int len = (int)sizeof(h->sa);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&h->sa, &len) != 0)
		return -EINVAL;
	h->salen = (socklen_t)len;
	return 0;
}

int hap_new(struct event_base *base, const char *addr, void (*on_change)(void *arg), void *arg,
	    struct hap **out, char *err, size_t errlen)
{
	struct hap *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	h->base = base;
	h->on_change = on_change;
	h->arg = arg;
	h->addr = strdup(addr);
	int ret = h->addr != NULL ? parse_addr(h, addr) : -ENOMEM;
	if (ret < 0) {
		hap_free(h);
		return berth_fail(err, errlen, ret,
				  "--haproxy-socket %s: not a socket path or ADDR:PORT", addr);
	}
	h->retry = evtimer_new(base, on_retry, h);
	h->kick = evtimer_new(base, on_kick, h);
	if (h->retry == NULL || h->kick == NULL) {
		hap_free(h);
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	}
	backoff_init(&h->backoff, 250, 5000, 30);
	h->phase = PH_DOWN;
	schedule(h->retry, 0);
	*out = h;
	return 0;
}

void hap_free(struct hap *h)
{
	if (h == NULL)
		return;
	finish_bev(h);
	if (h->retry != NULL)
		event_free(h->retry);
	if (h->kick != NULL)
		event_free(h->kick);
	for (int m = 0; m < MAPS; m++)
		free(h->map_ids[m]);
	proxy_state_clear(&h->have);
	proxy_state_clear(&h->want);
	proxy_state_clear(&h->sent);
	cmdlist_clear(&h->batch);
	free(h->cmd);
	free(h->addr);
	free(h);
}

static int copy_map(struct strmap *dst, const struct strmap *src);

struct copy {
	struct strmap *dst;
	int err;
};

static void copy_one(void *arg, const char *key, void *val)
{
	struct copy *c = arg;
	char *v = c->err == 0 ? strdup(val) : NULL;
	if (c->err == 0 && (v == NULL || strmap_put(c->dst, key, v, NULL) != 0)) {
		free(v);
		c->err = -ENOMEM;
	}
}

static int copy_map(struct strmap *dst, const struct strmap *src)
{
	struct copy c = { dst, 0 };
	strmap_foreach(src, copy_one, &c);
	return c.err;
}

static int copy_state(struct proxy_state *dst, const struct proxy_state *src)
{
	for (int m = 0; m < MAPS; m++)
		if (copy_map(&dst->maps[m], &src->maps[m]) != 0)
			return -ENOMEM;
	return copy_map(&dst->servers, &src->servers);
}

static bool map_equal(const struct strmap *a, const struct strmap *b);

static void keep_other(void *arg, const char *key, void *val)
{
	struct copy *c = arg;
	if (wanted_is_slot(val) || c->err != 0)
		return;
	char *v = strdup(val);
	void *old = NULL;
	if (v == NULL || strmap_put(c->dst, key, v, &old) != 0) {
		free(v);
		c->err = -ENOMEM;
	}
	free(old);
}

/* have's entries that are not berth's into dst, over what dst holds for their keys. */
static int keep_others(struct proxy_state *dst, const struct proxy_state *have)
{
	for (int m = 0; m < MAPS; m++) {
		struct copy c = { &dst->maps[m], 0 };
		strmap_foreach(&have->maps[m], keep_other, &c);
		if (c.err != 0)
			return c.err;
	}
	return 0;
}

static bool state_equal(const struct proxy_state *a, const struct proxy_state *b)
{
	for (int m = 0; m < MAPS; m++)
		if (!map_equal(&a->maps[m], &b->maps[m]))
			return false;
	return map_equal(&a->servers, &b->servers);
}

struct eq {
	const struct strmap *other;
	bool same;
};

static void eq_one(void *arg, const char *key, void *val)
{
	struct eq *e = arg;
	const char *v = strmap_get(e->other, key);
	if (v == NULL || strcmp(v, val) != 0)
		e->same = false;
}

static bool map_equal(const struct strmap *a, const struct strmap *b)
{
	if (a->n != b->n)
		return false;
	struct eq e = { b, true };
	strmap_foreach(a, eq_one, &e);
	return e.same;
}

int hap_want(struct hap *h, const struct proxy_state *want)
{
	if (state_equal(&h->want, want))
		return 0;
	struct proxy_state w = { 0 };
	if (copy_state(&w, want) != 0) {
		proxy_state_clear(&w);
		return -ENOMEM;
	}
	proxy_state_clear(&h->want);
	h->want = w;
	h->want_changed = true;
	if (h->phase == PH_IDLE)
		schedule(h->kick, 0);
	return 0;
}

void hap_slots(const struct hap *h, unsigned *http, unsigned *tls)
{
	*http = h->ever_up ? h->http_slots : 0;
	*tls = h->ever_up ? h->tls_slots : 0;
}

bool hap_synced(const struct hap *h)
{
	return h->phase == PH_IDLE && !h->want_changed;
}

json_t *hap_status(const struct hap *h)
{
	const char *state = h->phase == PH_IDLE ? "ok" :
			    h->phase == PH_DOWN ? (h->ever_up ? "degraded" : "down") :
						  "starting";
	size_t routes = 0;
	for (int m = 0; m < MAPS; m++)
		routes += h->have.maps[m].n;
	return json_pack("{s:s, s:s, s:s, s:b, s:s?, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}}",
			 "name", h->addr, "kind", "haproxy", "state", state, "required", 0, "error",
			 h->last_error[0] ? h->last_error : NULL, "routes", (json_int_t)routes,
			 "servers", (json_int_t)h->have.servers.n, "http_slots",
			 (json_int_t)h->http_slots, "tls_slots", (json_int_t)h->tls_slots,
			 "counters", "commands", (json_int_t)h->commands, "failures",
			 (json_int_t)h->failures, "reconnects", (json_int_t)h->reconnects);
}
