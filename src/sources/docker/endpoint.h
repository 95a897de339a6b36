/* SPDX-License-Identifier: MIT */
/* The Docker engine's endpoint the way the docker CLI finds it ($DOCKER_HOST, tcp://,
 * $DOCKER_TLS_VERIFY and $DOCKER_CERT_PATH), as an HTTP client; and API version prefixes. */
#pragma once
#include <stddef.h>

struct event_base;
struct hc_client;

struct docker_endpoint_conf {
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
	long timeout_ms; /* whole-request limit of one-shot requests; 0 = 15 s */
};

/* An HTTP client on base for that engine (log lines as "docker"). 0, or a negative error with
 * a reason in err (bad endpoint, unreadable TLS file, out of memory). */
int docker_endpoint_client(struct event_base *base, const struct docker_endpoint_conf *conf,
			   struct hc_client **out, char *err, size_t errlen);

/* Prefix "/v<version>" to every later request path of c; NULL or "" = unversioned. The version
 * must be digits and dots ("1.41"): -EINVAL otherwise, and nothing changes. */
int docker_set_api_version(struct hc_client *c, const char *version);
