/* SPDX-License-Identifier: MIT */
/* A small Docker Engine API client: libcurl multi driven by a libevent loop, one-shot GETs with a
 * bounded body, and streams split into lines (the event stream). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct docker_client;
struct docker_req;

struct docker_client_conf {
	/* unix:///path, tcp://host[:port], http://host[:port], https://host[:port]; NULL or ""
	 * means $DOCKER_HOST, else unix:///var/run/docker.sock. */
	const char *endpoint;
	/* PEM files. NULL: taken from $DOCKER_CERT_PATH (default ~/.docker: ca.pem, cert.pem,
	 * key.pem, each only if it exists) when $DOCKER_TLS_VERIFY is set, as the docker CLI does.
	 * TLS is on for https://, for tcp:// with any of these or with $DOCKER_TLS_VERIFY; when it is
	 * on, the server's certificate and name are always verified (system CAs without a CA file). */
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
	long timeout_ms; /* whole-request limit of docker_get; 0 = 15 s */
	long connect_ms; /* connection limit of every request; 0 = 5 s */
	size_t max_body; /* docker_get body limit; 0 = 16 MiB */
	size_t max_line; /* stream line limit (longer lines are dropped); 0 = 1 MiB */
};

/* Create a client on base. Nothing is sent yet. 0, or a negative error with a reason in err
 * (bad endpoint, unreadable TLS file, out of memory). */
int docker_client_new(struct event_base *base, const struct docker_client_conf *conf,
		      struct docker_client **out, char *err, size_t errlen);
/* Cancel every request without calling back, and free. NULL is a no-op. Not from a callback. */
void docker_client_free(struct docker_client *c);

/* "unix:///run/docker.sock", "https://10.0.0.1:2376 (TLS, CA /x/ca.pem)" (for logs). */
const char *docker_client_describe(const struct docker_client *c);

/* Prefix "/v<version>" to every later request path; NULL or "" = unversioned. The version must
 * be digits and dots ("1.41"): -EINVAL otherwise, and nothing changes. */
int docker_client_set_api_version(struct docker_client *c, const char *version);
const char *docker_client_api_version(const struct docker_client *c); /* "" when unversioned */

/* A finished GET. status is the HTTP status, with the whole body (NUL-terminated, at most
 * max_body); or a negative error (-ECONNREFUSED, -ENOENT (no socket), -ETIMEDOUT, -EFBIG (body
 * over the limit), -EPROTO (TLS), -EIO) with body a NUL-terminated message. */
typedef void (*docker_body_fn)(int status, const char *body, size_t len, void *arg);
/* One line of a stream, without its '\n' (NUL-terminated). */
typedef void (*docker_line_fn)(const char *line, size_t len, void *arg);
/* The stream answered 2xx: lines follow. */
typedef void (*docker_open_fn)(void *arg);
/* The stream is over: status 0 when the server ended it, a positive HTTP status when it was
 * refused (msg is the body), or a negative error as for docker_body_fn (msg says why). */
typedef void (*docker_end_fn)(int status, const char *msg, void *arg);

/* Start GET <prefix><path> (path begins with '/', already URL-encoded). The callback runs
 * exactly once, from the event loop, unless the request is cancelled first; the request is gone
 * after it. NULL when out of memory (no callback then). */
struct docker_req *docker_get(struct docker_client *c, const char *path, docker_body_fn fn,
			      void *arg);
/* As docker_get, with another method ("POST", "DELETE", "PUT", "GET") and, when json_body is
 * not NULL, that body (copied) sent as application/json. A POST without a body sends an empty
 * one. NULL when out of memory or without a method (no callback then). */
struct docker_req *docker_request(struct docker_client *c, const char *method, const char *path,
				  const char *json_body, docker_body_fn fn, void *arg);
/* Start a long-lived GET whose body is split into lines: no overall timeout, no low-speed
 * limit. on_open (may be NULL) once on a 2xx answer, on_line for each line, then on_end once.
 * NULL when out of memory. */
struct docker_req *docker_stream(struct docker_client *c, const char *path, docker_open_fn on_open,
				 docker_line_fn on_line, docker_end_fn on_end, void *arg);
/* Stop a request: no callback follows. Allowed from any callback of this client, but not on a
 * request whose final callback (docker_body_fn or docker_end_fn) already ran. NULL is a no-op. */
void docker_cancel(struct docker_req *r);

/* Number of requests in flight (tests, status). */
size_t docker_client_active(const struct docker_client *c);

/* Percent-encode s for a query string into out (always NUL-terminated). -ENOSPC if too long. */
int docker_urlencode(const char *s, char *out, size_t outlen);
