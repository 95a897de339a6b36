/* SPDX-License-Identifier: MIT */
/* Docker Engine API client: libcurl multi on a libevent loop (as curl's docs/examples/multi-event.c),
 * endpoints and TLS the way the docker CLI reads them, bounded bodies and line-split streams. */
#include "sources/docker/client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

#define DEFAULT_TIMEOUT_MS 15000L
#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_MAX_LINE (1u << 20)
#define MAX_ERROR_BODY (64u << 10) /* what we keep of a refused stream's answer */
#define MAX_VERSION 15

struct sock_ctx {
	struct docker_client *c;
	struct event *ev;
	curl_socket_t fd;
	struct sock_ctx *prev, *next;
};

struct docker_req {
	struct docker_client *c;
	CURL *easy;
	struct docker_req *prev, *next;
	bool stream;
	bool added;     /* in the multi handle */
	bool cancelled; /* or finished: freed at the end of the dispatch */
	bool too_big;
	bool open_pending; /* 2xx headers seen, on_open not yet called */
	bool discarding;   /* inside a line over the limit */
	long status;       /* HTTP status, once known */
	docker_body_fn on_body;
	docker_open_fn on_open;
	docker_line_fn on_line;
	docker_end_fn on_end;
	void *arg;
	char *buf; /* body, or unread stream bytes */
	size_t len, cap;
	size_t part; /* stream: offset of the current partial line in buf */
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers; /* docker_request with a JSON body */
};

struct docker_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct docker_req *reqs; /* every live request, newest first */
	size_t nreqs;
	struct sock_ctx *socks;
	bool dispatching;
	bool unix_socket;
	bool tls;
	char *unix_path;
	char *base_url; /* "http://localhost", "https://host:2376" */
	char *ca, *cert, *key;
	char *describe;
	char version[MAX_VERSION + 1];
	long timeout_ms, connect_ms;
	size_t max_body, max_line;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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

static bool buf_append(struct docker_req *r, const char *data, size_t n)
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

static void dispatch(struct docker_client *c);

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct sock_ctx *sc = arg;
	struct docker_client *c = sc->c;
	int running = 0;
	int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
		    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	/* sc may be freed inside: use only c afterwards. */
	curl_multi_socket_action(c->multi, fd, flags, &running);
	dispatch(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct docker_client *c = arg;
	int running = 0;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	dispatch(c);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct docker_client *c = userp;
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
	struct docker_client *c = userp;
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
	struct docker_req *r = arg;
	size_t n = size * nmemb;
	if (r->len + n > r->c->max_body) {
		r->too_big = true;
		return 0;
	}
	return buf_append(r, data, n) ? n : 0;
}

static size_t on_stream_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct docker_req *r = arg;
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

/* Bytes of the event stream: keep complete lines for the dispatch, drop any line over the limit
 * (a broken or hostile engine must not make us buffer without bound). */
static size_t on_stream_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct docker_req *r = arg;
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
		} else if (r->len - r->part + seg > r->c->max_line + 1) {
			log_warn("docker", "event stream: dropped a line longer than %zu bytes",
				 r->c->max_line);
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

static int map_error(struct docker_req *r, CURLcode rc, const char **msg)
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
			 r->c->unix_socket ? r->c->unix_path : r->c->base_url,
			 strerror((int)oserr));
		*msg = r->errbuf;
		return -(int)oserr;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_FILESIZE_EXCEEDED:
		*msg = "answer larger than the limit";
		return -EFBIG;
	case CURLE_WRITE_ERROR:
		if (r->too_big) {
			*msg = "answer larger than the limit";
			return -EFBIG;
		}
		return -ENOMEM;
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

static void req_unlink_free(struct docker_req *r)
{
	struct docker_client *c = r->c;
	if (r->added)
		curl_multi_remove_handle(c->multi, r->easy);
	curl_easy_cleanup(r->easy);
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	c->nreqs--;
	curl_slist_free_all(r->headers);
	free(r->buf);
	free(r);
}

/* Hand complete lines of a stream to its owner. Stops if the owner cancels it. */
static void deliver_lines(struct docker_req *r)
{
	size_t start = 0;
	if (r->open_pending) {
		r->open_pending = false;
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

static void finish(struct docker_req *r, CURLcode rc)
{
	const char *msg = "";
	int err = rc == CURLE_OK ? 0 : map_error(r, rc, &msg);
	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (!r->stream) {
		r->cancelled = true;
		if (err < 0)
			r->on_body(err, msg, strlen(msg), r->arg);
		else
			r->on_body((int)r->status, r->buf ? r->buf : "", r->len, r->arg);
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
		r->on_end(err, msg, r->arg);
	else if (!ok)
		r->on_end(r->status > 0 ? (int)r->status : -EIO, r->buf ? r->buf : "", r->arg);
	else
		r->on_end(0, "the engine ended the stream", r->arg);
}

/* After curl ran: deliver stream lines and finished transfers outside curl's callbacks, so the
 * owner may start or cancel requests from its callbacks. */
static void dispatch(struct docker_client *c)
{
	CURLMsg *m;
	int left;

	c->dispatching = true;
	for (struct docker_req *r = c->reqs; r; r = r->next)
		if (r->stream && !r->cancelled && (r->open_pending || r->part > 0))
			deliver_lines(r);
	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct docker_req *r = NULL;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_multi_remove_handle(c->multi, m->easy_handle);
		if (r == NULL)
			continue;
		r->added = false;
		if (!r->cancelled)
			finish(r, rc);
	}
	c->dispatching = false;
	for (struct docker_req *r = c->reqs, *next; r; r = next) {
		next = r->next;
		if (r->cancelled)
			req_unlink_free(r);
	}
}

/* method NULL is GET; body (with a method other than GET) is sent as JSON. */
static struct docker_req *req_new(struct docker_client *c, const char *path, bool stream,
				  const char *method, const char *body)
{
	struct docker_req *r = calloc(1, sizeof(*r));
	char *url = NULL;
	if (r == NULL)
		return NULL;
	r->c = c;
	r->stream = stream;
	r->easy = curl_easy_init();
	url = str_printf("%s%s%s%s", c->base_url, c->version[0] ? "/v" : "", c->version, path);
	if (r->easy == NULL || url == NULL)
		goto fail;

	CURL *e = r->easy;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, url);
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	if (stream) {
		bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_stream_data);
		bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_stream_header);
		bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
		bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L);
		bad |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 0L);
	} else {
		bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body_data);
		bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
		bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
	}
	if (method && strcmp(method, "GET") != 0) {
		if (strcmp(method, "POST") == 0) {
			/* An empty POST still needs its (empty) body, or curl sends a GET. */
			bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, body ? (long)strlen(body) : 0L);
			bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body ? body : "");
		} else {
			bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
			if (body) {
				bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
				bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
			}
		}
		if (body) {
			r->headers = curl_slist_append(NULL, "Content-Type: application/json");
			if (r->headers == NULL)
				bad = 1;
			bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
		}
	}
	if (c->unix_socket) {
		bad |= curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	} else {
		/* A remote engine that vanishes without a FIN must not leave the stream open forever. */
		bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
		bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	}
	if (c->tls) {
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
	url = NULL;
	if (bad)
		goto fail;
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		goto fail;
	r->added = true;
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	c->nreqs++;
	return r;
fail:
	free(url);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r);
	return NULL;
}

struct docker_req *docker_get(struct docker_client *c, const char *path, docker_body_fn fn,
			      void *arg)
{
	struct docker_req *r = req_new(c, path, false, NULL, NULL);
	if (r) {
		r->on_body = fn;
		r->arg = arg;
	}
	return r;
}

struct docker_req *docker_stream(struct docker_client *c, const char *path, docker_open_fn on_open,
				 docker_line_fn on_line, docker_end_fn on_end, void *arg)
{
	struct docker_req *r = req_new(c, path, true, NULL, NULL);
	if (r) {
		r->on_open = on_open;
		r->on_line = on_line;
		r->on_end = on_end;
		r->arg = arg;
	}
	return r;
}

struct docker_req *docker_request(struct docker_client *c, const char *method, const char *path,
				  const char *json_body, docker_body_fn fn, void *arg)
{
	if (method == NULL || *method == '\0')
		return NULL;
	struct docker_req *r = req_new(c, path, false, method, json_body);
	if (r) {
		r->on_body = fn;
		r->arg = arg;
	}
	return r;
}

void docker_cancel(struct docker_req *r)
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

size_t docker_client_active(const struct docker_client *c)
{
	return c->nreqs;
}

/* ---- endpoint and TLS ---- */

static bool file_readable(const char *path)
{
	return path && access(path, R_OK) == 0;
}

/* A TLS file: the explicit one (must be readable), else <certdir>/<name> if it exists. */
static int pick_file(const char *explicit, const char *certdir, const char *name, char **out,
		     const char *what, char *err, size_t errlen)
{
	if (explicit && *explicit) {
		if (!file_readable(explicit)) {
			set_err(err, errlen, "TLS %s %s: %s", what, explicit, strerror(errno));
			return -EINVAL;
		}
		*out = strdup(explicit);
		return *out ? 0 : -ENOMEM;
	}
	if (certdir == NULL)
		return 0;
	char *p = str_printf("%s/%s", certdir, name);
	if (p == NULL)
		return -ENOMEM;
	if (!file_readable(p)) {
		free(p);
		return 0;
	}
	*out = p;
	return 0;
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

/* Does "host[:port][/path]" carry a port? Handles "[v6]:port". */
static bool has_port(const char *hp)
{
	const char *end = strchr(hp, '/');
	size_t len = end ? (size_t)(end - hp) : strlen(hp);
	const char *p = hp;
	if (*p == '[') {
		const char *rb = memchr(p, ']', len);
		return rb && rb + 1 < hp + len && rb[1] == ':';
	}
	return memchr(p, ':', len) != NULL;
}

static int parse_endpoint(struct docker_client *c, const char *ep, bool tls_wanted,
			  bool tls_explicit, char *err, size_t errlen)
{
	if (strncmp(ep, "unix://", 7) == 0) {
		const char *path = ep + 7;
		if (path[0] != '/' || path[1] == '\0') {
			set_err(err, errlen, "Docker endpoint %s: want unix:///absolute/path", ep);
			return -EINVAL;
		}
		c->unix_socket = true;
		c->unix_path = strdup(path);
		c->base_url = strdup("http://localhost");
		c->describe = strdup(ep);
		return c->unix_path && c->base_url && c->describe ? 0 : -ENOMEM;
	}
	if (strncmp(ep, "tcp://", 6) == 0) {
		char hp[512];
		snprintf(hp, sizeof(hp), "%s", ep + 6);
		size_t l = strlen(hp);
		while (l > 0 && hp[l - 1] == '/')
			hp[--l] = '\0';
		if (!host_ok(hp) || l >= sizeof(hp) - 1) {
			set_err(err, errlen, "Docker endpoint %s: want tcp://host:port", ep);
			return -EINVAL;
		}
		c->tls = tls_wanted;
		c->base_url = str_printf("%s://%s%s", c->tls ? "https" : "http", hp,
					 has_port(hp) ? "" : (c->tls ? ":2376" : ":2375"));
	} else if (strncmp(ep, "http://", 7) == 0 || strncmp(ep, "https://", 8) == 0) {
		bool https = ep[4] == 's';
		const char *hp = ep + (https ? 8 : 7);
		if (!host_ok(hp)) {
			set_err(err, errlen, "Docker endpoint %s: want %s://host:port", ep,
				https ? "https" : "http");
			return -EINVAL;
		}
		if (!https && tls_explicit) {
			set_err(err, errlen,
				"Docker endpoint %s: TLS files given for a plain http:// endpoint "
				"(use https:// or tcp://)",
				ep);
			return -EINVAL;
		}
		c->tls = https;
		c->base_url = strdup(ep);
		size_t l = c->base_url ? strlen(c->base_url) : 0;
		while (l > 0 && c->base_url[l - 1] == '/')
			c->base_url[--l] = '\0';
	} else {
		set_err(err, errlen,
			"Docker endpoint %s: not supported (unix:///path, tcp://host:port, "
			"http://host:port, https://host:port)",
			ep);
		return -EINVAL;
	}
	return c->base_url ? 0 : -ENOMEM;
}

int docker_client_new(struct event_base *base, const struct docker_client_conf *conf,
		      struct docker_client **out, char *err, size_t errlen)
{
	struct docker_client *c = calloc(1, sizeof(*c));
	const char *ep = conf->endpoint;
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
	if (ep == NULL || *ep == '\0')
		ep = getenv("DOCKER_HOST");
	if (ep == NULL || *ep == '\0')
		ep = "unix:///var/run/docker.sock";

	/* TLS as the docker CLI: explicit files, else DOCKER_TLS_VERIFY with DOCKER_CERT_PATH. */
	bool explicit = (conf->tls_ca && *conf->tls_ca) || (conf->tls_cert && *conf->tls_cert) ||
			(conf->tls_key && *conf->tls_key);
	const char *verify = getenv("DOCKER_TLS_VERIFY");
	bool env_tls = verify && *verify;
	rc = parse_endpoint(c, ep, explicit || env_tls, explicit, err, errlen);
	if (rc < 0)
		goto fail;
	if (c->tls) {
		char *home_dir = NULL;
		const char *dir = getenv("DOCKER_CERT_PATH");
		if (dir == NULL || *dir == '\0') {
			const char *home = getenv("HOME");
			if (home && *home)
				home_dir = str_printf("%s/.docker", home);
			dir = home_dir;
		}
		rc = pick_file(conf->tls_ca, dir, "ca.pem", &c->ca, "CA", err, errlen);
		if (rc == 0)
			rc = pick_file(conf->tls_cert, dir, "cert.pem", &c->cert, "certificate",
				       err, errlen);
		if (rc == 0)
			rc = pick_file(conf->tls_key, dir, "key.pem", &c->key, "key", err, errlen);
		free(home_dir);
		if (rc < 0)
			goto fail;
		if ((c->cert == NULL) != (c->key == NULL)) {
			set_err(err, errlen, "TLS client %s given without its %s",
				c->cert ? "certificate" : "key", c->cert ? "key" : "certificate");
			rc = -EINVAL;
			goto fail;
		}
		c->describe = str_printf(
			"%s (TLS, CA %s%s%s)", c->base_url, c->ca ? c->ca : "system store",
			c->cert ? ", client certificate " : "", c->cert ? c->cert : "");
	} else if (c->describe == NULL) {
		c->describe = strdup(c->base_url);
	}
	rc = -ENOMEM;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (c->describe == NULL || c->multi == NULL || c->timer == NULL)
		goto fail;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*out = c;
	return 0;
fail:
	if (rc == -ENOMEM && err && errlen && !*err)
		set_err(err, errlen, "out of memory");
	docker_client_free(c);
	return rc;
}

void docker_client_free(struct docker_client *c)
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
	free(c->unix_path);
	free(c->base_url);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->describe);
	free(c);
	curl_global_cleanup();
}

const char *docker_client_describe(const struct docker_client *c)
{
	return c->describe;
}

int docker_client_set_api_version(struct docker_client *c, const char *v)
{
	if (v == NULL || *v == '\0') {
		c->version[0] = '\0';
		return 0;
	}
	size_t n = strlen(v);
	bool dot = false;
	if (n > MAX_VERSION || v[0] < '0' || v[0] > '9' || v[n - 1] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '.') {
			if (dot && v[i - 1] == '.')
				return -EINVAL;
			dot = true;
		} else if (v[i] < '0' || v[i] > '9') {
			return -EINVAL;
		}
	}
	if (!dot)
		return -EINVAL;
	memcpy(c->version, v, n + 1);
	return 0;
}

const char *docker_client_api_version(const struct docker_client *c)
{
	return c->version;
}

int docker_urlencode(const char *s, char *out, size_t outlen)
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
