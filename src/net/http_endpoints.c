/* SPDX-License-Identifier: MIT */
/* The HTTP client's endpoints: their URLs and TLS files, which one is current, and failover from
 * one that cannot be connected to; and what request URLs are made of (prefix, encoding). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "net/http_internal.h"
#include "util/err.h"
#include "util/log.h"

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

int hc_endpoints_describe(struct hc_client *c)
{
	for (size_t i = 0; i < c->neps; i++) {
		struct endpoint *ep = &c->eps[i];
		if (ep->tls)
			ep->describe = hc_str_printf(
				"%s (TLS, CA %s%s%s)", ep->url, c->ca ? c->ca : "system store",
				c->cert ? ", client certificate " : "", c->cert ? c->cert : "");
		else
			ep->describe = strdup(ep->url);
		if (ep->describe == NULL)
			return -ENOMEM;
	}
	return 0;
}

int hc_endpoints_init(struct hc_client *c, const struct hc_conf *conf, char *err, size_t errlen)
{
	const char *what = conf->what ? conf->what : "HTTP";
	bool any_tls = false, any_plain = false;
	int rc;

	if (conf->n_endpoints == 0 || conf->n_endpoints > HC_MAX_ENDPOINTS ||
	    conf->endpoints == NULL) {
		rc = berth_fail(err, errlen, -EINVAL, "%s: between 1 and %d endpoints, not %zu",
				what, HC_MAX_ENDPOINTS, conf->n_endpoints);
		return rc;
	}
	for (size_t i = 0; i < conf->n_endpoints; i++) {
		const char *url = conf->endpoints[i] ? conf->endpoints[i] : "";
		rc = parse_endpoint(&c->eps[i], url, what, err, errlen);
		c->neps = i + 1; /* freed with the client */
		if (rc < 0)
			return rc;
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
		return rc;
	}
	if (any_tls) {
		rc = take_file(conf->tls_ca, &c->ca, "CA", err, errlen);
		if (rc == 0)
			rc = take_file(conf->tls_cert, &c->cert, "certificate", err, errlen);
		if (rc == 0)
			rc = take_file(conf->tls_key, &c->key, "key", err, errlen);
		if (rc < 0)
			return rc;
		if ((c->cert == NULL) != (c->key == NULL)) {
			rc = berth_fail(err, errlen, -EINVAL, "TLS client %s given without its %s",
					c->cert ? "certificate" : "key",
					c->cert ? "key" : "certificate");
			return rc;
		}
	}
	return 0;
}

void hc_endpoints_free(struct hc_client *c)
{
	for (size_t i = 0; i < c->neps; i++) {
		free(c->eps[i].url);
		free(c->eps[i].base);
		free(c->eps[i].unix_path);
		free(c->eps[i].describe);
	}
	free(c->ca);
	free(c->cert);
	free(c->key);
}

/* ---- the current endpoint and failover ---- */

const char *hc_ep_name(const struct endpoint *ep)
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

bool hc_failover(struct hc_req *r, CURLcode rc)
{
	struct hc_client *c = r->c;
	if (!connect_failed(r, rc) || r->tries >= c->neps)
		return false;
	const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
	log_debug(c->log_module, "%s: %s; trying the next endpoint", hc_ep_name(&c->eps[r->ep]),
		  why);
	r->ep = (r->ep + 1) % c->neps;
	r->tries++;
	return true;
}

void hc_note_answer(struct hc_req *r)
{
	r->c->cur = r->ep;
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

/* ---- request URLs ---- */

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
