/* SPDX-License-Identifier: MIT */
/* Inside the HTTP client, shared by its three files: http_client.c (the client and libcurl multi
 * on its libevent loop), http_request.c (one request, from its options to its callback) and
 * http_endpoints.c (the endpoints: URLs, TLS files, failover). The interface is http_client.h;
 * nothing here is for other code. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "net/http_client.h"

#define MAX_PREFIX 31

struct sock_ctx;

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

/* ---- http_request.c ---- */

/* asprintf that returns the string, NULL when out of memory. */
char *hc_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Hand complete lines of a stream to its owner. Stops if the owner cancels it. */
void hc_req_deliver_lines(struct hc_req *r);
/* A transfer is over (rc from curl): move it to the next endpoint, or call its owner back. */
void hc_req_finish(struct hc_req *r, CURLcode rc);
/* Take the request out of curl and the client, and free it. */
void hc_req_unlink_free(struct hc_req *r);

/* ---- http_endpoints.c ---- */

/* Parse conf's endpoints into c and take its TLS files: 0, or a negative error with the reason
 * in err. What was taken is freed by hc_endpoints_free, also after an error. */
int hc_endpoints_init(struct hc_client *c, const struct hc_conf *conf, char *err, size_t errlen);
/* The endpoints' descriptions for hc_client_describe, once the TLS files are known. */
int hc_endpoints_describe(struct hc_client *c);
void hc_endpoints_free(struct hc_client *c);
/* The socket path or base URL, for messages. */
const char *hc_ep_name(const struct endpoint *ep);
/* Did the request fail (rc) before it reached the server, with an endpoint left untried? Then it
 * is on the next one (logged), to be armed again: true. */
bool hc_failover(struct hc_req *r, CURLcode rc);
/* The request's endpoint answered: later requests start there. */
void hc_note_answer(struct hc_req *r);
