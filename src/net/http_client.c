/* SPDX-License-Identifier: MIT */
/* The HTTP client: libcurl multi on a libevent loop (as curl's docs/examples/multi-event.c).
 * Requests are in http_request.c, endpoints and failover in http_endpoints.c. */
#include "net/http_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "net/http_internal.h"
#include "util/err.h"

#define DEFAULT_TIMEOUT_MS 15000L
#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_MAX_LINE (1u << 20)

struct sock_ctx {
	struct hc_client *c;
	struct event *ev;
	curl_socket_t fd;
	struct sock_ctx *prev, *next;
};

/* ---- libevent <-> curl multi ---- */

static void dispatch(struct hc_client *c);

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct sock_ctx *sc = arg;
	struct hc_client *c = sc->c;
	int running = 0;
	int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
		    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	/* sc may be freed inside: use only c afterwards. */
	curl_multi_socket_action(c->multi, fd, flags, &running);
	dispatch(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hc_client *c = arg;
	int running = 0;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	dispatch(c);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct hc_client *c = userp;
	struct sock_ctx *sc = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (sc != NULL) {
			event_free(sc->ev);
			if (sc->prev)
				sc->prev->next = sc->next;
			else
				c->socks = sc->next;
			if (sc->next)
				sc->next->prev = sc->prev;
			free(sc);
		}
		return 0;
	}
	short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
		     ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (sc == NULL) {
		sc = calloc(1, sizeof(*sc));
		if (sc == NULL)
			return -1;
		sc->c = c;
		sc->fd = s;
		sc->ev = event_new(c->base, s, kind, on_socket_event, sc);
		if (sc->ev == NULL) {
			free(sc);
			return -1;
		}
		sc->next = c->socks;
		if (c->socks)
			c->socks->prev = sc;
		c->socks = sc;
		curl_multi_assign(c->multi, s, sc);
	} else {
		event_del(sc->ev);
		event_assign(sc->ev, c->base, s, kind, on_socket_event, sc);
	}
	return event_add(sc->ev, NULL) == 0 ? 0 : -1;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct hc_client *c = userp;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

/* After curl ran: deliver stream lines and finished transfers outside curl's callbacks, so the
 * owner may start or cancel requests from its callbacks. */
static void dispatch(struct hc_client *c)
{
	CURLMsg *m;
	int left;

	c->dispatching = true;
	for (struct hc_req *r = c->reqs; r; r = r->next)
		if (r->stream && !r->cancelled && (r->open_pending || r->part > 0))
			hc_req_deliver_lines(r);
	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct hc_req *r = NULL;
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		curl_multi_remove_handle(c->multi, easy);
		if (r == NULL)
			continue;
		r->added = false;
		if (!r->cancelled)
			hc_req_finish(r, rc);
	}
	c->dispatching = false;
	for (struct hc_req *r = c->reqs, *next; r; r = next) {
		next = r->next;
		if (r->cancelled)
			hc_req_unlink_free(r);
	}
}

int hc_client_new(struct event_base *base, const struct hc_conf *conf, struct hc_client **out,
		  char *err, size_t errlen)
{
	struct hc_client *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (c == NULL)
		return -ENOMEM;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c->base = base;
	c->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->connect_ms = conf->connect_ms > 0 ? conf->connect_ms : DEFAULT_CONNECT_MS;
	c->max_body = conf->max_body ? conf->max_body : DEFAULT_MAX_BODY;
	c->max_line = conf->max_line ? conf->max_line : DEFAULT_MAX_LINE;
	c->log_module = strdup(conf->log_module ? conf->log_module : "http");
	if (c->log_module == NULL)
		goto fail;
	rc = hc_endpoints_init(c, conf, err, errlen);
	if (rc < 0)
		goto fail;
	rc = -ENOMEM;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (hc_endpoints_describe(c) < 0 || c->multi == NULL || c->timer == NULL)
		goto fail;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*out = c;
	return 0;
fail:
	if (rc == -ENOMEM && err && errlen && !*err)
		berth_fail(err, errlen, rc, "out of memory");
	hc_client_free(c);
	return rc;
}

void hc_client_free(struct hc_client *c)
{
	if (c == NULL)
		return;
	while (c->reqs)
		hc_req_unlink_free(c->reqs);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	/* Sockets curl did not hand back on cleanup. */
	while (c->socks) {
		struct sock_ctx *sc = c->socks;
		c->socks = sc->next;
		event_free(sc->ev);
		free(sc);
	}
	if (c->timer)
		event_free(c->timer);
	hc_endpoints_free(c);
	free(c->log_module);
	free(c);
	curl_global_cleanup();
}

size_t hc_client_active(const struct hc_client *c)
{
	return c->nreqs;
}
