/* SPDX-License-Identifier: MIT */
/* One request of the HTTP client: its options, the easy handle for its endpoint, the body or the
 * stream's lines as they come, and its end. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "net/http_internal.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

#define MAX_ERROR_BODY (64u << 10) /* what we keep of a refused stream's answer */
#define MAX_HEADERS 32

char *hc_str_printf(const char *fmt, ...)
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
		snprintf(r->errbuf, sizeof(r->errbuf), "cannot connect to %s: %s%s",
			 hc_ep_name(&r->c->eps[r->ep]), strerror((int)oserr),
			 oserr == EACCES ? " (berth's user needs the socket's group: adduser "
					   "berth docker, or --group with --user)" :
					   "");
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

void hc_req_unlink_free(struct hc_req *r)
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

void hc_req_deliver_lines(struct hc_req *r)
{
	size_t start = 0;
	if (r->open_pending) {
		r->open_pending = false;
		hc_note_answer(r);
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

void hc_req_finish(struct hc_req *r, CURLcode rc)
{
	const char *msg = "";

	if (rc != CURLE_OK && hc_failover(r, rc)) {
		if (req_arm(r) == 0)
			return;
		rc = CURLE_OUT_OF_MEMORY;
	}
	int err = rc == CURLE_OK ? 0 : map_error(r, rc, &msg);
	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status > 0)
		hc_note_answer(r);
	if (!r->stream) {
		r->cancelled = true;
		if (err < 0)
			r->on_body(err, 0, msg, strlen(msg), r->arg);
		else
			r->on_body(0, (int)r->status, r->buf ? r->buf : "", r->len, r->arg);
		return;
	}
	hc_req_deliver_lines(r);
	if (r->cancelled)
		return;
	bool ok = r->status >= 200 && r->status < 300;
	if (err == 0 && ok && r->len > r->part && !r->discarding) {
		/* The server ended the stream after a last line without '\n'. */
		buf_append(r, "\n", 1);
		r->part = r->len;
		hc_req_deliver_lines(r);
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

/* Set the easy handle up for the request's endpoint, from a clean state, and hand it to curl. */
static int req_arm(struct hc_req *r)
{
	struct hc_client *c = r->c;
	const struct endpoint *ep = &c->eps[r->ep];
	CURL *e = r->easy;
	char *url = hc_str_printf("%s%s", ep->base, r->path);
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
		char *ct = hc_str_printf("Content-Type: %s",
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
	r->path = hc_str_printf("%s%s", c->prefix, path);
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
	hc_req_unlink_free(r);
}

const char *hc_req_endpoint(const struct hc_req *r)
{
	return r->c->eps[r->ep].url;
}
