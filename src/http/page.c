/* SPDX-License-Identifier: MIT */
/* The status page at /: HTML, CSS, JS and an icon, embedded in the binary
 * (page_assets.inc, generated from src/http/page/ by embed.py). Nothing is
 * loaded from another host, and the CSP says so to the browser. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http/internal.h"

struct asset {
	const char *path;
	const char *type;
	const char *etag;
	const char *const *lines;
	size_t size;
};

#include "http/page_assets.inc"

#define NASSETS (sizeof(assets) / sizeof(assets[0]))

/* Only our own files, scripts and styles; no frames, forms or other hosts. */
#define CSP                                                                               \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct asset *find(const char *path)
{
	for (size_t i = 0; i < NASSETS; i++)
		if (strcmp(assets[i].path, path) == 0)
			return &assets[i];
	return NULL;
}

bool http_is_asset(const char *path)
{
	return find(path) != NULL;
}

void http_get_asset(struct http_server *hs, struct evhttp_request *req, const char *path)
{
	const struct asset *a = find(path);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *inm =
		evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
	struct evbuffer *b;

	if (a == NULL) {
		http_error(hs, req, 404, "no such file");
		return;
	}
	evhttp_add_header(h, "ETag", a->etag);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	if (a->path[1] == '\0') {
		evhttp_add_header(h, "Content-Security-Policy", CSP);
		evhttp_add_header(h, "X-Frame-Options", "DENY");
		evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	}
	if (inm != NULL && strstr(inm, a->etag) != NULL) {
		http_reply(hs, req, 304, NULL, NULL);
		return;
	}
	b = evbuffer_new();
	if (b == NULL) {
		http_error(hs, req, 500, "out of memory");
		return;
	}
	/* The lines are static: the buffer refers to them, nothing is copied. */
	for (const char *const *l = a->lines; *l != NULL; l++)
		evbuffer_add_reference(b, *l, strlen(*l), NULL, NULL);
	http_reply(hs, req, 200, a->type, b);
	evbuffer_free(b);
}
