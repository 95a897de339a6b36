/* SPDX-License-Identifier: MIT */
/* What the files of src/http share: the server's state, the reply helpers, and
 * the pure pieces the unit tests reach. Not for use outside src/http. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http/http.h"
#include "store/recset.h"
#include "util/addr.h"

struct evhttp;
struct evhttp_request;
struct evhttp_connection;
struct evhttp_bound_socket;
struct evconnlistener;
struct evbuffer;

#define HTTP_CODES 600 /* counted status codes: 100..599 */

struct http_server {
	struct http_deps d;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct evconnlistener *listener;  /* the bound socket's, disabled at the connection cap */
	struct evhttp_connection **conns; /* connections that made a request, max_connections */
	int nconn;
	bool paused;                /* listener disabled: nconn reached the cap */
	bool closing;               /* in http_server_free: connections are going */
	time_t started;             /* wall clock, for /status */
	double started_mono;        /* monotonic seconds, for uptime */
	uint64_t codes[HTTP_CODES]; /* responses sent, by status code */
	uint64_t requests;
};

/* --- http.c: replies (every one goes through http_reply, which counts it) --- */

/* Send body (may be NULL) with code; content_type NULL means none. */
void http_reply(struct http_server *hs, struct evhttp_request *req, int code,
		const char *content_type, struct evbuffer *body);
/* A JSON value (the reference is taken). GET answers carry an ETag, and an
 * If-None-Match that equals it gets 304. */
void http_reply_json(struct http_server *hs, struct evhttp_request *req, int code, json_t *v);
/* {"error": msg} with code. */
void http_error(struct http_server *hs, struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The body of req as JSON (any value), or NULL after replying 413 or 400. */
json_t *http_body_json(struct http_server *hs, struct evhttp_request *req);
/* May req write? Replies 401/403 and returns false when not. */
bool http_authorized(struct http_server *hs, struct evhttp_request *req);

/* Seconds since start. */
double http_uptime(const struct http_server *hs);
/* "2025-08-03T12:00:00.123456Z" (UTC) into buf of at least 32 bytes. */
const char *http_timestamp(char *buf, size_t len);

/* --- Pure parts (unit-tested) --- */

/* Does an Authorization header carry "Bearer <token>"? Constant time in the
 * header's content (the scheme is case-insensitive). token NULL or "" never matches. */
bool http_token_matches(const char *authorization, const char *token);

/* Is host (a Host header) one berth serves: the listen address (any address
 * for a wildcard listener), localhost, or one of names (lowercase, no
 * trailing dot)? Any port; case and one trailing dot ignored. */
bool http_host_allowed(const char *host, const struct addr *listen, const char *const *names,
		       size_t nnames);

/* The kind of an origin: "hosts:/etc/x" -> "hosts" (whole origin if no ':'). */
void http_origin_kind(const char *origin, char *out, size_t outlen);

/* The filters of GET /dns/records. */
struct http_filter {
	char name[256];   /* "" = any; a substring of the hostname, case-insensitive */
	uint16_t type;    /* 0 = any */
	char source[512]; /* "" = any; an origin ("hosts:/x") or a kind ("hosts") */
};
/* Parse "name=..&type=..&source=.." (NULL or "" is no filter). 0, or -EINVAL
 * with the reason in err (unknown parameter, unknown type). */
int http_filter_parse(struct http_filter *f, const char *query, char *err, size_t errlen);
bool http_filter_match(const struct http_filter *f, const char *origin, const char *hostname,
		       uint16_t type);

/* One record as joyride shows it, plus berth's fields:
 * {"hostname","ip_address" (A/AAAA, else null),"ttl","type","value","source"}.
 * scratch is a buffer for text (at least 1024 bytes; longer values are cut with "..."). */
json_t *http_record_json(const char *origin, const struct rec *r, char *scratch, size_t len);

/* Prometheus label value escaping (\\, \", \n) into out. */
void http_prom_escape(const char *in, char *out, size_t outlen);

/* --- views.c: read-only endpoints --- */
void http_get_health(struct http_server *hs, struct evhttp_request *req);
void http_get_status(struct http_server *hs, struct evhttp_request *req);
void http_get_records(struct http_server *hs, struct evhttp_request *req);
void http_get_cluster(struct http_server *hs, struct evhttp_request *req);
void http_get_metrics(struct http_server *hs, struct evhttp_request *req);
/* Every source (the callback's, and manual) as a new array. */
json_t *http_sources(struct http_server *hs);

/* --- services.c: dnsdock's API --- */
void http_services_list(struct http_server *hs, struct evhttp_request *req);
/* /services/<id>: GET, PUT, PATCH, DELETE (id already URL-decoded). */
void http_service(struct http_server *hs, struct evhttp_request *req, const char *id);
void http_set_ttl(struct http_server *hs, struct evhttp_request *req);

/* --- page.c: the status page --- */
void http_get_asset(struct http_server *hs, struct evhttp_request *req, const char *path);
/* Is path one of the page's files ("/", "/app.css", ...)? */
bool http_is_asset(const char *path);
