/* SPDX-License-Identifier: MIT */
/* The one HTTP client (Docker, berth provision, etcd): libcurl multi on a libevent loop, over one
 * or several endpoints with failover, one-shot requests with a bounded body and long-lived
 * streams split into lines. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct hc_client;
struct hc_req;

#define HC_MAX_ENDPOINTS 16

struct hc_conf {
	/* Base URLs, tried in this order: http://host[:port][/path], https://host[:port][/path],
	 * unix:///absolute/path (HTTP over that socket). At least one, at most HC_MAX_ENDPOINTS. */
	const char *const *endpoints;
	size_t n_endpoints;
	/* PEM files for https:// endpoints, each NULL or a readable file; the client certificate
	 * and key go together. Given with a plain http:// endpoint: an error. The server's
	 * certificate and name are always verified (system CAs without a CA file). */
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
	const char *what;       /* the peer in messages ("Docker endpoint x: ..."); NULL: "HTTP" */
	const char *log_module; /* module of the client's own log lines; NULL: "http" */
	long timeout_ms;        /* whole-request limit of one-shot requests; 0 = 15 s */
	long connect_ms;        /* connection limit of every request, per endpoint; 0 = 5 s */
	size_t max_body;        /* one-shot body limit; 0 = 16 MiB */
	size_t max_line;        /* stream line limit; 0 = 1 MiB */
};

/* Create a client on base. Nothing is sent yet. 0, or a negative error with a reason in err
 * (bad endpoint, unreadable TLS file, out of memory). */
int hc_client_new(struct event_base *base, const struct hc_conf *conf, struct hc_client **out,
		  char *err, size_t errlen);
/* Cancel every request without calling back, and free. NULL is a no-op. Not from a callback. */
void hc_client_free(struct hc_client *c);

/* The current endpoint, for logs: "unix:///run/docker.sock", "https://10.0.0.1:2376 (TLS, CA
 * /x/ca.pem)". */
const char *hc_client_describe(const struct hc_client *c);
/* The current endpoint's URL as configured: the one that last answered (the first until one
 * did). New requests start there. */
const char *hc_client_endpoint(const struct hc_client *c);
size_t hc_client_endpoint_index(const struct hc_client *c);
/* Make the next endpoint (in order, wrapping) the current one, e.g. before restarting a stream
 * that broke; returns its URL. Requests in flight are not touched. */
const char *hc_client_skip(struct hc_client *c);

/* Put prefix (e.g. "/v1.41") before every later request path; NULL or "" = none. It must start
 * with '/' and hold at most 31 URL-safe characters: -EINVAL otherwise, and nothing changes. */
int hc_client_set_prefix(struct hc_client *c, const char *prefix);
const char *hc_client_prefix(const struct hc_client *c); /* "" when none */

/* A finished request. err is 0, with status the HTTP status and body the whole body
 * (NUL-terminated, within the limit); or a negative error (-ECONNREFUSED, -ENOENT (no socket),
 * -ETIMEDOUT, -EFBIG (body over the limit), -EPROTO (TLS), -ECONNRESET, -EIO) with status 0
 * and body a NUL-terminated message. */
typedef void (*hc_body_fn)(int err, int status, const char *body, size_t len, void *arg);
/* One line of a stream, without its '\n' (and '\r'), NUL-terminated; empty lines are skipped. */
typedef void (*hc_line_fn)(const char *line, size_t len, void *arg);
/* The stream answered 2xx: lines follow. */
typedef void (*hc_open_fn)(void *arg);
/* The stream is over: err 0 and status 0 when the server ended it; err 0 and a positive HTTP
 * status when it was refused (msg is the body); or err a negative error as for hc_body_fn
 * (msg says why) and status 0. */
typedef void (*hc_end_fn)(int err, int status, const char *msg, void *arg);

/* A line longer than the limit ends the stream with -EFBIG (default: it is dropped and logged,
 * and the stream goes on). */
#define HC_STRICT_LINES 1u

/* What a request sends, beyond its path. Everything is copied: it need not outlive the call. */
struct hc_opts {
	const char *method; /* "GET", "POST", "PUT", "DELETE", ...; NULL: GET, POST with a body */
	const char *body;   /* NULL: none (a POST then sends an empty one) */
	size_t body_len;    /* 0: strlen(body) */
	const char *content_type;   /* of the body; NULL: application/json */
	const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
	size_t max_body;            /* one-shot: body limit; stream: line limit; 0: the client's */
	long timeout_ms;            /* one-shot only; 0: the client's */
	unsigned flags;             /* HC_STRICT_LINES */
};

/* Start a one-shot request for <prefix><path> (path begins with '/', already URL-encoded); opts
 * NULL is a plain GET. If an endpoint cannot be connected to (refused, no socket, unreachable,
 * connect timeout), the request moves to the next one, each endpoint tried once; the first
 * that answers becomes the client's current one. A request is never sent twice once
 * connected. fn runs exactly once, from the event loop, unless the request is cancelled first;
 * the request is gone after it. NULL when out of memory or with bad opts (a header without ':'
 * or with CR/LF, an empty method): no callback then. */
struct hc_req *hc_send(struct hc_client *c, const char *path, const struct hc_opts *opts,
		       hc_body_fn fn, void *arg);
/* hc_send shorthands: a GET; and method with json_body (may be NULL) as application/json. */
struct hc_req *hc_get(struct hc_client *c, const char *path, hc_body_fn fn, void *arg);
struct hc_req *hc_request(struct hc_client *c, const char *method, const char *path,
			  const char *json_body, hc_body_fn fn, void *arg);
/* Start a long-lived request (any method and body, as hc_send) whose answer is split into lines
 * as it arrives: no overall timeout, no low-speed limit; failover as for hc_send until it is
 * connected. on_open (may be NULL) once on a 2xx answer, on_line for each line, then on_end
 * once. A caller restarting a broken stream may hc_client_skip first to go elsewhere. NULL as
 * for hc_send. */
struct hc_req *hc_stream(struct hc_client *c, const char *path, const struct hc_opts *opts,
			 hc_open_fn on_open, hc_line_fn on_line, hc_end_fn on_end, void *arg);
/* Stop a request: no callback follows. Allowed from any callback of this client, but not on a
 * request whose final callback (hc_body_fn or hc_end_fn) already ran. NULL is a no-op. */
void hc_cancel(struct hc_req *r);
/* The URL of the endpoint the request is on (or last tried). Valid until its final callback
 * returns. */
const char *hc_req_endpoint(const struct hc_req *r);

/* Number of requests in flight (tests, status). */
size_t hc_client_active(const struct hc_client *c);

/* Percent-encode s for a query string into out (always NUL-terminated). -ENOSPC if too long. */
int hc_urlencode(const char *s, char *out, size_t outlen);
