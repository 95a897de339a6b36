/* SPDX-License-Identifier: MIT */
/* The HTTP client: libcurl multi on a libevent loop (as curl's docs/examples/multi-event.c),
 * endpoints with failover, bounded bodies and line-split streams. */
#include "net/http_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "util/err.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

#define DEFAULT_TIMEOUT_MS 15000L
#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_MAX_LINE (1u << 20)
#define MAX_ERROR_BODY (64u << 10) /* what we keep of a refused stream's answer */
#define MAX_PREFIX 31
#define MAX_HEADERS 32

struct sock_ctx {
	struct hc_client *c;
	struct event *ev;
	curl_socket_t fd;
	struct sock_ctx *prev, *next;
};

struct endpoint {
	char *url;  /* as configured (trailing '/' dropped), for reports */
	char *base; /* what request paths are appended to: "http://localhost", "https://h:2376" */
	char *unix_path; /* unix:// endpoints */
	char *describe;
	bool tls;
};

struct hc_req {
	struct hc_client *c;
	CURL *easy;
	struct hc_req *prev, *next;
	bool stream;
	bool added;     /* in the multi handle */
	bool cancelled; /* or finished: freed at the end of the dispatch */
	bool too_big;
	bool open_pending; /* 2xx headers seen, on_open not yet called */
	bool discarding;   /* inside a line over the limit */
	long status;       /* HTTP status, once known */
	hc_body_fn on_body;
	hc_open_fn on_open;
	hc_line_fn on_line;
	hc_end_fn on_end;
	void *arg;
	char *buf; /* body, or unread stream bytes */
	size_t len, cap;
	size_t part; /* stream: offset of the current partial line in buf */
	char errbuf[CURL_ERROR_SIZE];
	/* What is sent, kept to send it again to the next endpoint. */
	char *path; /* prefix and path */
	char *method;
	char *body;
	size_t body_len;
	struct curl_slist *headers;
	size_t max;
	long timeout_ms;
	unsigned flags;
	size_t ep;    /* the endpoint it is on */
	size_t tries; /* endpoints tried, this one included */
};

struct hc_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct hc_req *reqs; /* every live request, newest first */
	size_t nreqs;
	struct sock_ctx *socks;
	bool dispatching;
	struct endpoint eps[HC_MAX_ENDPOINTS];
	size_t neps, cur;
	char *ca, *cert, *key;
	char *log_module;
	char prefix[MAX_PREFIX + 1];
	long timeout_ms, connect_ms;
	size_t max_body, max_line;
};

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static bool buf_append(struct hc_req *r, const char *data, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *b = realloc(r->buf, cap);
		if (b == NULL)
			return false;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return true;
}

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

/* ---- transfers ---- */

static size_t on_body_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hc_req *r = arg;
	size_t n = size * nmemb;
	if (r->len + n > r->max) {
		r->too_big = true;
		return 0;
	}
	return buf_append(r, data, n) ? n : 0;
}

static size_t on_stream_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hc_req *r = arg;
	size_t n = size * nmemb;
	/* The blank line ends a header block; an interim 1xx block is followed by another. */
	if (n <= 2 && (data[0] == '\r' || data[0] == '\n')) {
		long code = 0;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200) {
			r->status = code;
			r->open_pending = code < 300;
		}
	}
	return n;
}

/* Bytes of a stream: keep complete lines for the dispatch, drop (or fail on) any line over the
 * limit (a broken or hostile server must not make us buffer without bound). */
static size_t on_stream_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hc_req *r = arg;
	size_t n = size * nmemb;
	const char *p = data, *end = data + n;

	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status < 200 || r->status >= 300) {
		size_t room = MAX_ERROR_BODY > r->len ? MAX_ERROR_BODY - r->len : 0;
		if (n < room)
			room = n;
		return room == 0 || buf_append(r, data, room) ? n : 0;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t seg = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (r->discarding) {
			if (nl)
				r->discarding = false;
		} else if (r->len - r->part + seg > r->max + 1) {
			if (r->flags & HC_STRICT_LINES) {
				r->too_big = true;
				return 0;
			}
			log_warn(r->c->log_module, "stream: dropped a line longer than %zu bytes",
				 r->max);
			r->len = r->part;
			r->discarding = nl == NULL;
		} else {
			if (!buf_append(r, p, seg))
				return 0;
			if (nl)
				r->part = r->len;
		}
		p += seg;
	}
	return n;
}

static const char *ep_name(const struct endpoint *ep)
{
	return ep->unix_path ? ep->unix_path : ep->base;
}

/* Did the request fail before it reached the server? Then another endpoint may take it. */
static bool connect_failed(struct hc_req *r, CURLcode rc)
{
	curl_off_t t = 0;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return true;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &t);
		return t == 0;
	default:
		return false;
	}
}

static int map_error(struct hc_req *r, CURLcode rc, const char **msg)
{
	long oserr = 0;
	*msg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr <= 0)
			oserr = ECONNREFUSED;
		/* curl speaks of "localhost port 80" even for a unix socket: say what failed. */
		snprintf(r->errbuf, sizeof(r->errbuf), "cannot connect to %s: %s",
			 ep_name(&r->c->eps[r->ep]), strerror((int)oserr));
		*msg = r->errbuf;
		return -(int)oserr;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
		if (rc == CURLE_WRITE_ERROR && !r->too_big)
			return -ENOMEM;
		snprintf(r->errbuf, sizeof(r->errbuf), "%s larger than the limit of %zu bytes",
			 r->stream ? "a line" : "answer", r->max);
		*msg = r->errbuf;
		return -EFBIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		return -EPROTO;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

static void req_free(struct hc_req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->path);
	free(r->method);
	free(r->body);
	free(r->buf);
	free(r);
}

static void req_unlink_free(struct hc_req *r)
{
	struct hc_client *c = r->c;
	if (r->added)
		curl_multi_remove_handle(c->multi, r->easy);
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	c->nreqs--;
	req_free(r);
}

/* The request's endpoint answered: later requests start there. */
static void note_answer(struct hc_req *r)
{
	r->c->cur = r->ep;
}

/* Hand complete lines of a stream to its owner. Stops if the owner cancels it. */
static void deliver_lines(struct hc_req *r)
{
	size_t start = 0;
	if (r->open_pending) {
		r->open_pending = false;
		note_answer(r);
		if (r->on_open)
			r->on_open(r->arg);
	}
	if (r->status < 200 || r->status >= 300)
		return;
	while (!r->cancelled && start < r->part) {
		char *line = r->buf + start;
		char *nl = memchr(line, '\n', r->part - start);
		if (nl == NULL)
			break;
		size_t n = (size_t)(nl - line);
		start += n + 1;
		*nl = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > 0)
			r->on_line(line, n, r->arg);
	}
	if (r->cancelled || start == 0)
		return;
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	r->part -= start;
	if (r->buf)
		r->buf[r->len] = '\0';
}

static int req_arm(struct hc_req *r);

static void finish(struct hc_req *r, CURLcode rc)
{
	const char *msg = "";
	struct hc_client *c = r->c;

	if (rc != CURLE_OK && connect_failed(r, rc) && r->tries < c->neps) {
		const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
		log_debug(c->log_module, "%s: %s; trying the next endpoint",
			  ep_name(&c->eps[r->ep]), why);
		r->ep = (r->ep + 1) % c->neps;
		r->tries++;
		if (req_arm(r) == 0)
			return;
		rc = CURLE_OUT_OF_MEMORY;
	}
	int err = rc == CURLE_OK ? 0 : map_error(r, rc, &msg);
	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status > 0)
		note_answer(r);
	if (!r->stream) {
		r->cancelled = true;
		if (err < 0)
			r->on_body(err, 0, msg, strlen(msg), r->arg);
		else
			r->on_body(0, (int)r->status, r->buf ? r->buf : "", r->len, r->arg);
		return;
	}
	deliver_lines(r);
	if (r->cancelled)
		return;
	bool ok = r->status >= 200 && r->status < 300;
	if (err == 0 && ok && r->len > r->part && !r->discarding) {
		/* The server ended the stream after a last line without '\n'. */
		buf_append(r, "\n", 1);
		r->part = r->len;
		deliver_lines(r);
		if (r->cancelled)
			return;
	}
	r->cancelled = true;
	if (err < 0)
		r->on_end(err, 0, msg, r->arg);
	else if (!ok && r->status > 0)
		r->on_end(0, (int)r->status, r->buf ? r->buf : "", r->arg);
	else if (!ok)
		r->on_end(-EIO, 0, r->buf ? r->buf : "", r->arg);
	else
		r->on_end(0, 0, "the server ended the stream", r->arg);
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
			deliver_lines(r);
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
			finish(r, rc);
	}
	c->dispatching = false;
	for (struct hc_req *r = c->reqs, *next; r; r = next) {
		next = r->next;
		if (r->cancelled)
			req_unlink_free(r);
	}
}

/* Set the easy handle up for the request's endpoint, from a clean state, and hand it to curl. */
static int req_arm(struct hc_req *r)
{
	struct hc_client *c = r->c;
	const struct endpoint *ep = &c->eps[r->ep];
	CURL *e = r->easy;
	char *url = str_printf("%s%s", ep->base, r->path);
	int bad = 0;

	if (url == NULL)
		return -ENOMEM;
	curl_easy_reset(e);
	r->len = r->part = 0;
	r->status = 0;
	r->too_big = r->open_pending = r->discarding = false;
	r->errbuf[0] = '\0';
	bad |= curl_easy_setopt(e, CURLOPT_URL, url);
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	if (r->stream) {
		bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_stream_data);
		bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_stream_header);
		bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
		bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L);
		bad |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 0L);
	} else {
		bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body_data);
		bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
		bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max);
	}
	if (r->method && strcmp(r->method, "HEAD") == 0)
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (r->method && strcmp(r->method, "POST") != 0)
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body || (r->method && strcmp(r->method, "POST") == 0)) {
		/* An empty POST still needs its (empty) body, or curl sends a GET. */
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
					(curl_off_t)(r->body ? r->body_len : 0));
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	}
	if (r->headers)
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	if (ep->unix_path) {
		bad |= curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
	} else {
		/* A server that vanishes without a FIN must not leave a stream open forever. */
		bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
		bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	}
	if (ep->tls) {
		bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
		bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
		if (c->ca)
			bad |= curl_easy_setopt(e, CURLOPT_CAINFO, c->ca);
		if (c->cert)
			bad |= curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
		if (c->key)
			bad |= curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
	}
	free(url);
	if (bad)
		return -EINVAL;
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		return -ENOMEM;
	r->added = true;
	return 0;
}

static bool header_ok(const char *h)
{
	const char *colon = strchr(h, ':');
	if (colon == NULL || colon == h)
		return false;
	for (const char *p = h; *p; p++)
		if (*p == '\r' || *p == '\n')
			return false;
	return true;
}

static bool method_ok(const char *m)
{
	if (*m == '\0' || strlen(m) > 16)
		return false;
	for (; *m; m++)
		if (*m < 'A' || *m > 'Z')
			return false;
	return true;
}

/* Copy what opts asks for into r: method, body, headers. */
static int req_take_opts(struct hc_req *r, const struct hc_opts *o)
{
	struct hc_client *c = r->c;
	struct curl_slist *h = NULL;
	size_t nh = 0;

	r->max = r->stream ? c->max_line : c->max_body;
	r->timeout_ms = c->timeout_ms;
	if (o == NULL)
		return 0;
	if (o->max_body)
		r->max = o->max_body;
	if (o->timeout_ms > 0)
		r->timeout_ms = o->timeout_ms;
	r->flags = o->flags;
	if (o->method) {
		if (!method_ok(o->method))
			return -EINVAL;
		if (strcmp(o->method, "GET") != 0 || o->body) {
			r->method = strdup(o->method);
			if (r->method == NULL)
				return -ENOMEM;
		}
	}
	if (o->body) {
		r->body_len = o->body_len ? o->body_len : strlen(o->body);
		r->body = malloc(r->body_len + 1);
		if (r->body == NULL)
			return -ENOMEM;
		memcpy(r->body, o->body, r->body_len);
		r->body[r->body_len] = '\0';
		if (r->method == NULL && (r->method = strdup("POST")) == NULL)
			return -ENOMEM;
		char *ct = str_printf("Content-Type: %s",
				      o->content_type ? o->content_type : "application/json");
		if (ct == NULL || !header_ok(ct)) {
			free(ct);
			return ct ? -EINVAL : -ENOMEM;
		}
		h = curl_slist_append(NULL, ct);
		free(ct);
		if (h == NULL)
			return -ENOMEM;
		/* No "Expect: 100-continue" round trip before the body. */
		r->headers = h;
		if ((h = curl_slist_append(r->headers, "Expect:")) == NULL)
			return -ENOMEM;
	}
	for (const char *const *p = o->headers; p && *p; p++) {
		if (!header_ok(*p) || ++nh > MAX_HEADERS)
			return -EINVAL;
		if ((h = curl_slist_append(r->headers, *p)) == NULL)
			return -ENOMEM;
		r->headers = h;
	}
	return 0;
}

static struct hc_req *req_new(struct hc_client *c, const char *path, bool stream,
			      const struct hc_opts *opts)
{
	struct hc_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->c = c;
	r->stream = stream;
	r->ep = c->cur;
	r->tries = 1;
	r->easy = curl_easy_init();
	r->path = str_printf("%s%s", c->prefix, path);
	if (r->easy == NULL || r->path == NULL || path[0] != '/')
		goto fail;
	if (req_take_opts(r, opts) < 0 || req_arm(r) < 0)
		goto fail;
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	c->nreqs++;
	return r;
fail:
	req_free(r);
	return NULL;
}

struct hc_req *hc_send(struct hc_client *c, const char *path, const struct hc_opts *opts,
		       hc_body_fn fn, void *arg)
{
	struct hc_req *r = req_new(c, path, false, opts);
	if (r) {
		r->on_body = fn;
		r->arg = arg;
	}
	return r;
}

struct hc_req *hc_get(struct hc_client *c, const char *path, hc_body_fn fn, void *arg)
{
	return hc_send(c, path, NULL, fn, arg);
}

struct hc_req *hc_request(struct hc_client *c, const char *method, const char *path,
			  const char *json_body, hc_body_fn fn, void *arg)
{
	struct hc_opts o = { .method = method, .body = json_body };
	if (method == NULL || *method == '\0')
		return NULL;
	return hc_send(c, path, &o, fn, arg);
}

struct hc_req *hc_stream(struct hc_client *c, const char *path, const struct hc_opts *opts,
			 hc_open_fn on_open, hc_line_fn on_line, hc_end_fn on_end, void *arg)
{
	struct hc_req *r = req_new(c, path, true, opts);
	if (r) {
		r->on_open = on_open;
		r->on_line = on_line;
		r->on_end = on_end;
		r->arg = arg;
	}
	return r;
}

void hc_cancel(struct hc_req *r)
{
	if (r == NULL || r->cancelled)
		return;
	if (r->c->dispatching) {
		/* Freed when the dispatch ends; the handle leaves curl now. */
		r->cancelled = true;
		if (r->added) {
			curl_multi_remove_handle(r->c->multi, r->easy);
			r->added = false;
		}
		return;
	}
	req_unlink_free(r);
}

const char *hc_req_endpoint(const struct hc_req *r)
{
	return r->c->eps[r->ep].url;
}

size_t hc_client_active(const struct hc_client *c)
{
	return c->nreqs;
}

/* ---- endpoints and TLS ---- */

static int take_file(const char *path, char **out, const char *what, char *err, size_t errlen)
{
	if (path == NULL || *path == '\0')
		return 0;
	if (access(path, R_OK) != 0) {
		return berth_fail(err, errlen, -EINVAL, "TLS %s %s: %s", what, path,
				  strerror(errno));
	}
	*out = strdup(path);
	return *out ? 0 : -ENOMEM;
}

static bool host_ok(const char *s)
{
	if (*s == '\0' || *s == '/')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '?' || *s == '#' || *s == '@')
			return false;
	return true;
}

static int parse_endpoint(struct endpoint *ep, const char *url, const char *what, char *err,
			  size_t errlen)
{
	if (strncmp(url, "unix://", 7) == 0) {
		const char *path = url + 7;
		if (path[0] != '/' || path[1] == '\0') {
			return berth_fail(err, errlen, -EINVAL,
					  "%s endpoint %s: want unix:///absolute/path", what, url);
		}
		ep->unix_path = strdup(path);
		ep->base = strdup("http://localhost");
		ep->url = strdup(url);
		return ep->unix_path && ep->base && ep->url ? 0 : -ENOMEM;
	}
	if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
		bool https = url[4] == 's';
		if (!host_ok(url + (https ? 8 : 7))) {
			return berth_fail(err, errlen, -EINVAL,
					  "%s endpoint %s: want %s://host:port", what, url,
					  https ? "https" : "http");
		}
		ep->tls = https;
		ep->url = strdup(url);
		size_t l = ep->url ? strlen(ep->url) : 0;
		while (l > 0 && ep->url[l - 1] == '/')
			ep->url[--l] = '\0';
		ep->base = ep->url ? strdup(ep->url) : NULL;
		return ep->base ? 0 : -ENOMEM;
	}
	return berth_fail(
		err, errlen, -EINVAL,
		"%s endpoint %s: not supported (unix:///path, http://host:port, https://host:port)",
		what, url);
}

static int describe_endpoints(struct hc_client *c)
{
	for (size_t i = 0; i < c->neps; i++) {
		struct endpoint *ep = &c->eps[i];
		if (ep->tls)
			ep->describe = str_printf(
				"%s (TLS, CA %s%s%s)", ep->url, c->ca ? c->ca : "system store",
				c->cert ? ", client certificate " : "", c->cert ? c->cert : "");
		else
			ep->describe = strdup(ep->url);
		if (ep->describe == NULL)
			return -ENOMEM;
	}
	return 0;
}

int hc_client_new(struct event_base *base, const struct hc_conf *conf, struct hc_client **out,
		  char *err, size_t errlen)
{
	struct hc_client *c = calloc(1, sizeof(*c));
	const char *what = conf->what ? conf->what : "HTTP";
	bool any_tls = false, any_plain = false;
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
	if (conf->n_endpoints == 0 || conf->n_endpoints > HC_MAX_ENDPOINTS ||
	    conf->endpoints == NULL) {
		rc = berth_fail(err, errlen, -EINVAL, "%s: between 1 and %d endpoints, not %zu",
				what, HC_MAX_ENDPOINTS, conf->n_endpoints);
		goto fail;
	}
	for (size_t i = 0; i < conf->n_endpoints; i++) {
		const char *url = conf->endpoints[i] ? conf->endpoints[i] : "";
		rc = parse_endpoint(&c->eps[i], url, what, err, errlen);
		c->neps = i + 1; /* freed with the client */
		if (rc < 0)
			goto fail;
		if (c->eps[i].tls)
			any_tls = true;
		else if (c->eps[i].unix_path == NULL)
			any_plain = true;
	}
	bool files = (conf->tls_ca && *conf->tls_ca) || (conf->tls_cert && *conf->tls_cert) ||
		     (conf->tls_key && *conf->tls_key);
	if (files && any_plain) {
		rc = berth_fail(
			err, errlen, -EINVAL,
			"%s endpoints: TLS files given with a plain http:// endpoint (use https://)",
			what);
		goto fail;
	}
	if (any_tls) {
		rc = take_file(conf->tls_ca, &c->ca, "CA", err, errlen);
		if (rc == 0)
			rc = take_file(conf->tls_cert, &c->cert, "certificate", err, errlen);
		if (rc == 0)
			rc = take_file(conf->tls_key, &c->key, "key", err, errlen);
		if (rc < 0)
			goto fail;
		if ((c->cert == NULL) != (c->key == NULL)) {
			rc = berth_fail(err, errlen, -EINVAL, "TLS client %s given without its %s",
					c->cert ? "certificate" : "key",
					c->cert ? "key" : "certificate");
			goto fail;
		}
	}
	rc = -ENOMEM;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (describe_endpoints(c) < 0 || c->multi == NULL || c->timer == NULL)
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
		req_unlink_free(c->reqs);
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
	for (size_t i = 0; i < c->neps; i++) {
		free(c->eps[i].url);
		free(c->eps[i].base);
		free(c->eps[i].unix_path);
		free(c->eps[i].describe);
	}
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->log_module);
	free(c);
	curl_global_cleanup();
}

const char *hc_client_describe(const struct hc_client *c)
{
	return c->eps[c->cur].describe;
}

const char *hc_client_endpoint(const struct hc_client *c)
{
	return c->eps[c->cur].url;
}

size_t hc_client_endpoint_index(const struct hc_client *c)
{
	return c->cur;
}

const char *hc_client_skip(struct hc_client *c)
{
	c->cur = (c->cur + 1) % c->neps;
	return c->eps[c->cur].url;
}

int hc_client_set_prefix(struct hc_client *c, const char *prefix)
{
	if (prefix == NULL || *prefix == '\0') {
		c->prefix[0] = '\0';
		return 0;
	}
	size_t n = strlen(prefix);
	if (n > MAX_PREFIX || prefix[0] != '/')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)prefix[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
			  ch == '~' || ch == '/';
		if (!ok)
			return -EINVAL;
	}
	memcpy(c->prefix, prefix, n + 1);
	return 0;
}

const char *hc_client_prefix(const struct hc_client *c)
{
	return c->prefix;
}

int hc_urlencode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	if (outlen == 0)
		return -ENOSPC;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
			     ch == '~';
		size_t need = plain ? 1 : 3;
		if (o + need >= outlen) {
			out[o] = '\0';
			return -ENOSPC;
		}
		if (plain) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return 0;
}
