/* SPDX-License-Identifier: MIT */
/* The HTTP server: listening, the connection cap, routing, errors as JSON,
 * bearer-token checks and request bodies. The endpoints are in views.c,
 * services.c and page.c. */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <libknot/libknot.h>

#include "conf/options.h"
#include "http/internal.h"
#include "server/privdrop.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define ALL_METHODS                                                                                \
	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | \
	 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)
#define MAX_HEADERS_SIZE 16384
/* evhttp's own cap: bodies between max_body and this get berth's JSON 413;
 * above it evhttp cuts the connection with its own 413. */
#define HARD_BODY_FACTOR 16

/* --- Small pure helpers --- */

bool http_token_matches(const char *authorization, const char *token)
{
	const char *p;
	size_t n;
	size_t m;
	unsigned char diff;

	if (authorization == NULL || token == NULL || token[0] == '\0')
		return false;
	if (strncasecmp(authorization, "Bearer", 6) != 0 ||
	    (authorization[6] != ' ' && authorization[6] != '\t'))
		return false;
	p = authorization + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	m = strlen(token);
	/* Time depends on the length the client sent, never on where it differs. */
	diff = n != m;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)p[i] ^ (unsigned char)token[i % m];
	return diff == 0;
}

void http_origin_kind(const char *origin, char *out, size_t outlen)
{
	size_t n = strcspn(origin, ":");
	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, origin, n);
	out[n] = '\0';
}

int http_filter_parse(struct http_filter *f, const char *query, char *err, size_t errlen)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	if (query == NULL || query[0] == '\0')
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) != 0) {
		snprintf(err, errlen, "the query string cannot be parsed");
		return -EINVAL;
	}
	TAILQ_FOREACH(kv, &q, next)
	{
		if (strcmp(kv->key, "name") == 0) {
			size_t len = strlen(kv->value);
			if (len >= sizeof(f->name)) {
				snprintf(err, errlen, "name: at most %zu bytes",
					 sizeof(f->name) - 1);
				ret = -EINVAL;
				break;
			}
			memcpy(f->name, kv->value, len + 1);
			if (len > 1 && f->name[len - 1] == '.')
				f->name[len - 1] = '\0';
		} else if (strcmp(kv->key, "type") == 0) {
			char up[32];
			size_t i;
			for (i = 0; kv->value[i] != '\0' && i + 1 < sizeof(up); i++)
				up[i] = (char)(kv->value[i] >= 'a' && kv->value[i] <= 'z' ?
						       kv->value[i] - 'a' + 'A' :
						       kv->value[i]);
			up[i] = '\0';
			if (up[0] == '\0' || knot_rrtype_from_string(up, &f->type) != 0) {
				snprintf(err, errlen,
					 "type: \"%.20s\" is not a record type (A, AAAA, TXT, ...)",
					 kv->value);
				ret = -EINVAL;
				break;
			}
		} else if (strcmp(kv->key, "source") == 0) {
			size_t len = strlen(kv->value);
			if (len >= sizeof(f->source)) {
				snprintf(err, errlen, "source: at most %zu bytes",
					 sizeof(f->source) - 1);
				ret = -EINVAL;
				break;
			}
			memcpy(f->source, kv->value, len + 1);
		} else {
			snprintf(err, errlen,
				 "unknown parameter \"%.40s\": filter with name=, type= or source=",
				 kv->key);
			ret = -EINVAL;
			break;
		}
	}
	evhttp_clear_headers(&q);
	return ret;
}

bool http_filter_match(const struct http_filter *f, const char *origin, const char *hostname,
		       uint16_t type)
{
	if (f->type != 0 && f->type != type)
		return false;
	if (f->source[0] != '\0' && strcmp(f->source, origin) != 0) {
		char kind[64];
		http_origin_kind(origin, kind, sizeof(kind));
		if (strcmp(f->source, kind) != 0)
			return false;
	}
	/* name=alpha.docker is exact, name=*.docker a glob; both ignore case. */
	if (f->name[0] != '\0' && fnmatch(f->name, hostname, FNM_CASEFOLD) != 0)
		return false;
	return true;
}

/* An IP literal (IPv4, or IPv6 without brackets) into a 16-byte buffer: its family, or 0. */
static int ip_literal(const char *s, uint8_t *out)
{
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return AF_INET6;
	return 0;
}

bool http_host_allowed(const char *host, const struct addr *listen, const char *const *names,
		       size_t nnames)
{
	char name[256];
	const char *end, *colon;
	size_t len;
	uint8_t ip[16], lip[16];

	if (host == NULL)
		return false;
	/* host [":" port], where host is a name, an IPv4 address or "[" IPv6 "]". */
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (end == NULL)
			return false;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0')
			return false;
		host++;
	} else {
		colon = strchr(host, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return false;
		end = colon != NULL ? colon : host + strlen(host);
	}
	if (colon != NULL) {
		size_t digits = strspn(colon + 1, "0123456789");
		if (digits == 0 || digits > 5 || colon[1 + digits] != '\0' ||
		    atol(colon + 1) > 65535)
			return false;
	}
	len = (size_t)(end - host);
	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(name))
		return false;
	for (size_t i = 0; i < len; i++)
		name[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] - 'A' + 'a' : host[i]);
	name[len] = '\0';
	if (strcmp(name, "localhost") == 0)
		return true;
	for (size_t i = 0; i < nnames; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	int fam = ip_literal(name, ip);
	if (fam == 0 || listen == NULL)
		return false;
	/* A wildcard listener answers at every address of the host: any address
	 * is right (a page that rebinds a name never has an address as Host). */
	if (addr_is_any(listen))
		return true;
	char ltext[64];
	return ip_literal(addr_ip_str(listen, ltext, sizeof(ltext)), lip) == fam &&
	       memcmp(ip, lip, fam == AF_INET ? 4 : 16) == 0;
}

/* Text of one record's rdata; falls back to a heap buffer for long ones. */
static json_t *rdata_text(const struct rec *r, char *scratch, size_t len)
{
	uint16_t small[300]; /* knot_rdata_t starts with a uint16_t: keep it aligned */
	void *rd = small;
	knot_rrset_t rr;
	json_t *v = NULL;
	int n;

	if (knot_rdata_size(r->rdlen) > sizeof(small)) {
		rd = malloc(knot_rdata_size(r->rdlen));
		if (rd == NULL)
			return NULL;
	}
	knot_rdata_init(rd, r->rdlen, r->rdata);
	knot_rrset_init(&rr, r->owner, r->type, KNOT_CLASS_IN, r->ttl);
	rr.rrs.count = 1;
	rr.rrs.size = (uint32_t)knot_rdata_size(r->rdlen);
	rr.rrs.rdata = rd;
	n = knot_rrset_txt_dump_data(&rr, 0, scratch, len, &KNOT_DUMP_STYLE_DEFAULT);
	if (n >= 0) {
		v = json_string(scratch);
	} else {
		size_t big = (size_t)r->rdlen * 4 + 256;
		char *buf = malloc(big);
		if (buf != NULL &&
		    knot_rrset_txt_dump_data(&rr, 0, buf, big, &KNOT_DUMP_STYLE_DEFAULT) >= 0)
			v = json_string(buf);
		free(buf);
	}
	if (rd != (void *)small)
		free(rd);
	/* Text that is not UTF-8 (TXT may hold any byte) cannot be a JSON string. */
	return v != NULL ? v : json_sprintf("(%u bytes)", (unsigned)r->rdlen);
}

json_t *http_record_json(const char *origin, const struct rec *r, char *scratch, size_t len)
{
	char host[KNOT_DNAME_TXT_MAXLEN + 1];
	char type[32];
	char ip[64];
	json_t *ipv = json_null();
	size_t hl;

	if (knot_dname_to_str(host, r->owner, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "?");
	hl = strlen(host);
	if (hl > 1 && host[hl - 1] == '.')
		host[hl - 1] = '\0';
	if (knot_rrtype_to_string(r->type, type, sizeof(type)) < 0)
		snprintf(type, sizeof(type), "TYPE%u", r->type);
	if ((r->type == KNOT_RRTYPE_A && r->rdlen == 4 &&
	     inet_ntop(AF_INET, r->rdata, ip, sizeof(ip)) != NULL) ||
	    (r->type == KNOT_RRTYPE_AAAA && r->rdlen == 16 &&
	     inet_ntop(AF_INET6, r->rdata, ip, sizeof(ip)) != NULL))
		ipv = json_string(ip);
	return json_pack("{s:s, s:o, s:I, s:s, s:o, s:s}", "hostname", host, "ip_address", ipv,
			 "ttl", (json_int_t)r->ttl, "type", type, "value",
			 rdata_text(r, scratch, len), "source", origin);
}

void http_prom_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen == 0)
		return;
	for (; *in != '\0' && o + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* --- Replies --- */

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "?";
}

static const char *reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 421:
		return "Misdirected Request";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	}
	return code < 300 ? "OK" : "Error";
}

void http_reply(struct http_server *hs, struct evhttp_request *req, int code,
		const char *content_type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (content_type != NULL)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (code >= 100 && code < HTTP_CODES)
		hs->codes[code]++;
	if (log_enabled(LOG_DEBUG)) {
		const char *uri = evhttp_request_get_uri(req);
		log_debug("http", "%s %.200s -> %d", method_name(evhttp_request_get_command(req)),
			  uri != NULL ? uri : "?", code);
	}
	evhttp_send_reply(req, code, reason(code), code == 204 || code == 304 ? NULL : body);
}

/* FNV-1a over the body: a cheap validator for pages that poll. */
static void etag_of(struct evbuffer *b, char *out, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	size_t n = evbuffer_get_length(b);
	const unsigned char *p = evbuffer_pullup(b, -1);

	for (size_t i = 0; p != NULL && i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	snprintf(out, len, "\"%016llx\"", (unsigned long long)h);
}

void http_reply_json(struct http_server *hs, struct evhttp_request *req, int code, json_t *v)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char *text = v == NULL ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(v);
	if (b == NULL || text == NULL) {
		free(text);
		if (b != NULL)
			evbuffer_free(b);
		log_error("http", "out of memory");
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	evbuffer_add(b, text, strlen(text));
	evbuffer_add(b, "\n", 1);
	free(text);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if (code == 200 && (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)) {
		char tag[40];
		const char *inm =
			evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
		etag_of(b, tag, sizeof(tag));
		evhttp_add_header(h, "ETag", tag);
		/* Revalidate every time: the answer changes with the records. */
		evhttp_add_header(h, "Cache-Control", "no-cache");
		if (inm != NULL && strstr(inm, tag) != NULL)
			code = 304;
	} else {
		evhttp_add_header(h, "Cache-Control", "no-store");
	}
	http_reply(hs, req, code, "application/json", b);
	evbuffer_free(b);
}

void http_error(struct http_server *hs, struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply_json(hs, req, code, json_pack("{s:s}", "error", msg));
}

bool http_authorized(struct http_server *hs, struct evhttp_request *req)
{
	const char *token = hs->d.conf->api_token;
	const char *auth =
		evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	if (token == NULL || token[0] == '\0') {
		http_error(hs, req, 403,
			   "the HTTP API is read-only: start berth with --api-token TOKEN (or "
			   "BERTH_API_TOKEN) to allow changes");
		return false;
	}
	if (auth == NULL) {
		evhttp_add_header(out, "WWW-Authenticate", "Bearer realm=\"berth\"");
		http_error(hs, req, 401,
			   "this request changes records: send the header \"Authorization: Bearer "
			   "<token>\" with berth's --api-token");
		return false;
	}
	if (!http_token_matches(auth, token)) {
		evhttp_add_header(out, "WWW-Authenticate",
				  "Bearer realm=\"berth\", error=\"invalid_token\"");
		http_error(hs, req, 401,
			   "wrong API token (expected \"Authorization: Bearer <token>\" "
			   "with berth's --api-token)");
		return false;
	}
	return true;
}

json_t *http_body_json(struct http_server *hs, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_error_t e;
	json_t *v;

	if (len > hs->d.max_body) {
		http_error(hs, req, 413, "the body is %zu bytes; at most %zu are accepted", len,
			   hs->d.max_body);
		return NULL;
	}
	if (len == 0) {
		http_error(hs, req, 400, "the body is empty: send a JSON value");
		return NULL;
	}
	v = json_loadb((const char *)evbuffer_pullup(in, -1), len,
		       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	if (v == NULL)
		http_error(hs, req, 400, "the body is not valid JSON: %s (line %d, column %d)",
			   e.text, e.line, e.column);
	return v;
}

double http_uptime(const struct http_server *hs)
{
	return mono_s() - hs->started_mono;
}

const char *http_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ldZ", s, ts.tv_nsec / 1000);
	return buf;
}

/* --- Connections --- */

/* The connection cap. evhttp 2.1 has none, so connections are counted from
 * their first request (a close callback tells us when they go); ones that never
 * send a request are cut by the timeout. At the cap the listener is disabled,
 * so further clients wait in the kernel's backlog instead of taking the control
 * loop's time; a request on a connection accepted just before gets 503. */
static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_server *hs = arg;
	if (hs->closing)
		return;
	for (int i = 0; i < hs->nconn; i++) {
		if (hs->conns[i] == evcon) {
			hs->conns[i] = hs->conns[--hs->nconn];
			break;
		}
	}
	if (hs->paused && hs->nconn < hs->d.max_connections) {
		evconnlistener_enable(hs->listener);
		hs->paused = false;
	}
}

/* Track req's connection; false (after replying 503) when over the cap. */
static bool conn_admit(struct http_server *hs, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	if (evcon == NULL)
		return true;
	for (int i = 0; i < hs->nconn; i++)
		if (hs->conns[i] == evcon)
			return true;
	if (hs->nconn >= hs->d.max_connections) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		http_error(hs, req, 503, "too many HTTP connections (%d): try again later",
			   hs->d.max_connections);
		return false;
	}
	hs->conns[hs->nconn++] = evcon;
	evhttp_connection_set_closecb(evcon, conn_closed, hs);
	if (hs->nconn >= hs->d.max_connections && !hs->paused) {
		evconnlistener_disable(hs->listener);
		hs->paused = true;
		log_warn("http", "%d connections open: not accepting more until one closes",
			 hs->nconn);
	}
	return true;
}

/* --- Routing --- */

enum { M_GET = EVHTTP_REQ_GET | EVHTTP_REQ_HEAD };

typedef void (*route_fn)(struct http_server *hs, struct evhttp_request *req, const char *path);

static void r_health(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_get_health(hs, req);
}
static void r_status(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_get_status(hs, req);
}
static void r_records(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_get_records(hs, req);
}
static void r_cluster(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_get_cluster(hs, req);
}
static void r_metrics(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_get_metrics(hs, req);
}
static void r_services(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_services_list(hs, req);
}
static void r_service(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_service(hs, req, p + strlen("/services/"));
}
static void r_set_ttl(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_set_ttl(hs, req);
}
static void r_asset(struct http_server *hs, struct evhttp_request *req, const char *p)
{
	http_get_asset(hs, req, p);
}

struct route {
	const char *path; /* exact; ending in '/', a prefix with something after it */
	unsigned methods;
	route_fn fn;
};

static const struct route routes[] = {
	{ "/health", M_GET, r_health },
	{ "/status", M_GET, r_status },
	{ "/dns/records", M_GET, r_records },
	{ "/dns/cluster", M_GET, r_cluster },
	{ "/metrics", M_GET, r_metrics },
	{ "/services", M_GET, r_services },
	{ "/services/", M_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE, r_service },
	{ "/set/ttl", EVHTTP_REQ_PUT, r_set_ttl },
};

static void allow_header(unsigned methods, char *out, size_t len)
{
	static const enum evhttp_cmd_type order[] = { EVHTTP_REQ_GET, EVHTTP_REQ_HEAD,
						      EVHTTP_REQ_PUT, EVHTTP_REQ_PATCH,
						      EVHTTP_REQ_DELETE };
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (methods & order[i])
			o += (size_t)snprintf(out + o, len - o, "%s%s", o ? ", " : "",
					      method_name(order[i]));
}

/* DNS rebinding: a page in a browser that gets its name pointed at berth
 * sends that name as Host. Only the listen address, localhost and the
 * --http-host names are served (no CORS header is ever sent either). */
static bool host_ok(struct http_server *hs, struct evhttp_request *req)
{
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	const struct serve_conf *c = hs->d.conf;
	if (host == NULL) {
		if (req->major == 1 && req->minor == 0)
			return true; /* HTTP/1.0 had no Host; no browser leaves it out */
		http_error(hs, req, 400, "the request has no Host header");
		return false;
	}
	if (http_host_allowed(host, c != NULL ? &c->http : NULL,
			      c != NULL ? (const char *const *)c->http_host.v : NULL,
			      c != NULL ? c->http_host.n : 0))
		return true;
	http_error(hs, req, 421,
		   "Host \"%.100s\" is not this server's: use its address, localhost, or a name "
		   "given with --http-host",
		   host);
	return false;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
	struct http_server *hs = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const struct route *rt = NULL;
	route_fn fn = NULL;
	unsigned methods = 0;
	char *path;
	size_t len = 0;

	hs->requests++;
	if (!conn_admit(hs, req))
		return;
	if (!host_ok(hs, req))
		return;
	if (raw == NULL || raw[0] != '/') {
		http_error(hs, req, 400, "the request target must be a path starting with '/'");
		return;
	}
	path = evhttp_uridecode(raw, 0, &len);
	if (path == NULL || strlen(path) != len) {
		free(path);
		http_error(hs, req, 400, "the path holds a NUL byte");
		return;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t n = strlen(routes[i].path);
		bool prefix = routes[i].path[n - 1] == '/';
		if (prefix ? (strncmp(path, routes[i].path, n) == 0 && path[n] != '\0') :
			     strcmp(path, routes[i].path) == 0) {
			rt = &routes[i];
			break;
		}
	}
	if (rt != NULL) {
		fn = rt->fn;
		methods = rt->methods;
	} else if (http_is_asset(path)) {
		fn = r_asset;
		methods = M_GET;
	}
	if (fn == NULL) {
		http_error(hs, req, 404,
			   "no such path: %.200s (try /, /health, /status, /dns/records, "
			   "/dns/cluster, /metrics or /services)",
			   path);
	} else if ((methods & (unsigned)m) == 0) {
		char allow[64];
		allow_header(methods, allow, sizeof(allow));
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		http_error(hs, req, 405, "method %s is not allowed on %.200s; use %s",
			   method_name(m), path, allow);
	} else {
		fn(hs, req, path);
	}
	free(path);
}

static int listen_on(const struct addr *a, char *err, size_t errlen)
{
	char text[80];
	int on = 1;
	int fd = privdrop_take_socket(a, SOCK_STREAM); /* bound before --user dropped root */

	if (fd >= 0)
		return fd;
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, 128) != 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	return berth_fail(err, errlen, -e,
			  "HTTP: cannot listen on %s: %s; choose another address with --http "
			  "ADDR:PORT (or BERTH_HTTP), or turn HTTP off with --http none%s",
			  addr_str(a, text, sizeof(text)), strerror(e),
			  (e == EACCES && addr_port(a) < 1024) ? " (ports below 1024 need root)" :
								 "");
}

int http_server_new(const struct http_deps *deps, struct http_server **out, char *err,
		    size_t errlen)
{
	struct http_server *hs;
	int fd;
	int ret = -ENOMEM;

	*out = NULL;
	if (deps == NULL || deps->base == NULL || deps->reg == NULL || deps->conf == NULL)
		return berth_fail(err, errlen, -EINVAL,
				  "HTTP: missing base, registry or configuration");
	hs = calloc(1, sizeof(*hs));
	if (hs == NULL)
		return berth_fail(err, errlen, -ENOMEM, "HTTP: out of memory");
	hs->d = *deps;
	if (hs->d.max_connections <= 0)
		hs->d.max_connections = HTTP_MAX_CONNECTIONS;
	if (hs->d.timeout_seconds <= 0)
		hs->d.timeout_seconds = HTTP_TIMEOUT_SECONDS;
	if (hs->d.max_body == 0)
		hs->d.max_body = HTTP_MAX_BODY;
	hs->conns = calloc((size_t)hs->d.max_connections, sizeof(*hs->conns));
	if (hs->conns == NULL) {
		berth_fail(err, errlen, ret, "HTTP: out of memory");
		goto fail;
	}
	hs->started = time(NULL);
	hs->started_mono = mono_s();

	hs->http = evhttp_new(deps->base);
	if (hs->http == NULL) {
		berth_fail(err, errlen, ret, "HTTP: out of memory");
		goto fail;
	}
	evhttp_set_allowed_methods(hs->http, ALL_METHODS);
	evhttp_set_max_headers_size(hs->http, MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(hs->http, (ev_ssize_t)(hs->d.max_body * HARD_BODY_FACTOR));
	evhttp_set_timeout(hs->http, hs->d.timeout_seconds);
	evhttp_set_gencb(hs->http, dispatch, hs);

	fd = listen_on(&deps->conf->http, err, errlen);
	if (fd < 0) {
		ret = fd;
		goto fail;
	}
	hs->bound = evhttp_accept_socket_with_handle(hs->http, fd);
	if (hs->bound == NULL) {
		close(fd);
		berth_fail(err, errlen, ret, "HTTP: cannot accept connections (out of memory)");
		goto fail;
	}
	hs->listener = evhttp_bound_socket_get_listener(hs->bound);
	*out = hs;
	return 0;
fail:
	http_server_free(hs);
	return ret;
}

void http_server_free(struct http_server *hs)
{
	if (hs == NULL)
		return;
	hs->closing = true;
	if (hs->http != NULL)
		evhttp_free(hs->http);
	free(hs->conns);
	free(hs);
}
