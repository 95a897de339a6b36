/* SPDX-License-Identifier: MIT */
/* Docker's endpoint conventions turned into the HTTP client's configuration. */
#include "sources/docker/endpoint.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/http_client.h"

#define MAX_VERSION 15

/* <certdir>/<name> if it exists, else NULL. */
static char *cert_file(const char *certdir, const char *name)
{
	char *p = NULL;
	if (certdir == NULL || asprintf(&p, "%s/%s", certdir, name) < 0)
		return NULL;
	if (access(p, R_OK) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* Does "host[:port][/path]" carry a port? Handles "[v6]:port". */
static bool has_port(const char *hp)
{
	const char *end = strchr(hp, '/');
	size_t len = end ? (size_t)(end - hp) : strlen(hp);
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', len);
		return rb && rb + 1 < hp + len && rb[1] == ':';
	}
	return memchr(hp, ':', len) != NULL;
}

int docker_endpoint_client(struct event_base *base, const struct docker_endpoint_conf *conf,
			   struct hc_client **out, char *err, size_t errlen)
{
	const char *ep = conf->endpoint;
	char url[600];
	char *home_dir = NULL, *files[3] = { NULL, NULL, NULL };
	int rc;

	*out = NULL;
	if (ep == NULL || *ep == '\0')
		ep = getenv("DOCKER_HOST");
	if (ep == NULL || *ep == '\0')
		ep = "unix:///var/run/docker.sock";
	/* TLS as the docker CLI: explicit files, else DOCKER_TLS_VERIFY with DOCKER_CERT_PATH. */
	bool explicit = (conf->tls_ca && *conf->tls_ca) || (conf->tls_cert && *conf->tls_cert) ||
			(conf->tls_key && *conf->tls_key);
	const char *verify = getenv("DOCKER_TLS_VERIFY");
	bool tls = explicit || (verify && *verify);
	if (strlen(ep) >= sizeof(url) - 8) {
		snprintf(err, errlen, "Docker endpoint %.80s...: too long", ep);
		return -EINVAL;
	}

	if (strncmp(ep, "tcp://", 6) == 0) {
		char hp[512];
		size_t l = strlen(ep + 6);
		if (l >= sizeof(hp) - 1 || l == 0 || ep[6] == '/') {
			snprintf(err, errlen, "Docker endpoint %s: want tcp://host:port", ep);
			return -EINVAL;
		}
		memcpy(hp, ep + 6, l + 1);
		while (l > 0 && hp[l - 1] == '/')
			hp[--l] = '\0';
		snprintf(url, sizeof(url), "%s://%s%s", tls ? "https" : "http", hp,
			 has_port(hp) ? "" : (tls ? ":2376" : ":2375"));
	} else if (strncmp(ep, "http://", 7) == 0 && explicit) {
		snprintf(err, errlen,
			 "Docker endpoint %s: TLS files given for a plain http:// endpoint "
			 "(use https:// or tcp://)",
			 ep);
		return -EINVAL;
	} else if (strncmp(ep, "unix://", 7) == 0 || strncmp(ep, "http://", 7) == 0 ||
		   strncmp(ep, "https://", 8) == 0) {
		snprintf(url, sizeof(url), "%s", ep);
		tls = ep[4] == 's';
	} else {
		snprintf(err, errlen,
			 "Docker endpoint %s: not supported (unix:///path, tcp://host:port, "
			 "http://host:port, https://host:port)",
			 ep);
		return -EINVAL;
	}
	const char *ca = conf->tls_ca, *cert = conf->tls_cert, *key = conf->tls_key;
	if (tls) {
		const char *dir = getenv("DOCKER_CERT_PATH");
		if (dir == NULL || *dir == '\0') {
			const char *home = getenv("HOME");
			if (home && *home && asprintf(&home_dir, "%s/.docker", home) < 0)
				home_dir = NULL;
			dir = home_dir;
		}
		if (ca == NULL || *ca == '\0')
			ca = files[0] = cert_file(dir, "ca.pem");
		if (cert == NULL || *cert == '\0')
			cert = files[1] = cert_file(dir, "cert.pem");
		if (key == NULL || *key == '\0')
			key = files[2] = cert_file(dir, "key.pem");
	}
	const char *eps[1] = { url };
	struct hc_conf hc = {
		.endpoints = eps,
		.n_endpoints = 1,
		.tls_ca = tls ? ca : NULL,
		.tls_cert = tls ? cert : NULL,
		.tls_key = tls ? key : NULL,
		.what = "Docker",
		.log_module = "docker",
		.timeout_ms = conf->timeout_ms,
	};
	rc = hc_client_new(base, &hc, out, err, errlen);
	free(home_dir);
	for (size_t i = 0; i < 3; i++)
		free(files[i]);
	return rc;
}

int docker_set_api_version(struct hc_client *c, const char *v)
{
	char prefix[MAX_VERSION + 3];
	if (v == NULL || *v == '\0')
		return hc_client_set_prefix(c, NULL);
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
	snprintf(prefix, sizeof(prefix), "/v%s", v);
	return hc_client_set_prefix(c, prefix);
}
