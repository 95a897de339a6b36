/* SPDX-License-Identifier: MIT */
/* dnsdock's record API: GET /services, GET|PUT|PATCH|DELETE /services/<id>,
 * PUT /set/ttl. Writes need the API token; the records live in sources/manual. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "http/internal.h"
#include "sources/manual.h"

static bool have_manual(struct http_server *hs, struct evhttp_request *req)
{
	if (hs->d.manual != NULL)
		return true;
	http_error(hs, req, 503, "manual services are not available in this berth");
	return false;
}

/* A manual_* error as a reply. */
static void fail(struct http_server *hs, struct evhttp_request *req, int ret, const char *err)
{
	switch (ret) {
	case -EINVAL:
		http_error(hs, req, 400, "%s", err);
		break;
	case -ENOENT:
		http_error(hs, req, 404, "%s", err);
		break;
	case -ENOSPC:
		http_error(hs, req, 507, "%s", err);
		break;
	case -EIO:
		http_error(hs, req, 500, "not saved, nothing changed: %s", err);
		break;
	default:
		http_error(hs, req, 500, "%s", err[0] ? err : "out of memory");
		break;
	}
}

void http_services_list(struct http_server *hs, struct evhttp_request *req)
{
	json_t *all;

	if (!have_manual(hs, req))
		return;
	all = manual_services(hs->d.manual);
	if (all == NULL) {
		http_error(hs, req, 500, "out of memory");
		return;
	}
	http_reply_json(hs, req, 200, all);
}

static void put(struct http_server *hs, struct evhttp_request *req, const char *id, bool patch)
{
	char err[512] = "";
	const json_t *base = NULL;
	json_t *body;
	json_t *svc;
	json_t *copy;
	bool created = false;
	int ret;

	if (patch) {
		base = manual_get(hs->d.manual, id);
		if (base == NULL) {
			http_error(hs, req, 404, "no service \"%s\" to change (PUT creates one)",
				   id);
			return;
		}
	}
	body = http_body_json(hs, req);
	if (body == NULL)
		return;
	ret = manual_service_parse(body, base, &svc, err, sizeof(err));
	json_decref(body);
	if (ret < 0) {
		fail(hs, req, ret, err); /* -EINVAL: 400 with the reason */
		return;
	}
	copy = json_deep_copy(svc);
	ret = manual_put(hs->d.manual, id, svc, &created, err, sizeof(err));
	if (ret != 0) {
		json_decref(copy);
		fail(hs, req, ret, err);
		return;
	}
	http_reply_json(hs, req, created ? 201 : 200, copy);
}

void http_service(struct http_server *hs, struct evhttp_request *req, const char *id)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	char err[512] = "";
	int ret;

	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD && !http_authorized(hs, req))
		return;
	if (!have_manual(hs, req))
		return;
	if (!manual_id_valid(id)) {
		http_error(hs, req, 400,
			   "\"%.64s\" is not a service ID (1..%d letters, digits, '-', '_' or '.')",
			   id, MANUAL_ID_MAX);
		return;
	}
	switch (m) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD: {
		const json_t *svc = manual_get(hs->d.manual, id);
		if (svc == NULL)
			http_error(hs, req, 404, "no service \"%s\"", id);
		else
			http_reply_json(hs, req, 200, json_deep_copy(svc));
		return;
	}
	case EVHTTP_REQ_PUT:
		put(hs, req, id, false);
		return;
	case EVHTTP_REQ_PATCH:
		put(hs, req, id, true);
		return;
	case EVHTTP_REQ_DELETE:
		ret = manual_delete(hs->d.manual, id, err, sizeof(err));
		if (ret != 0)
			fail(hs, req, ret, err);
		else
			http_reply(hs, req, 204, NULL, NULL);
		return;
	default:
		http_error(hs, req, 405, "method not allowed");
		return;
	}
}

void http_set_ttl(struct http_server *hs, struct evhttp_request *req)
{
	char err[512] = "";
	json_t *body;
	json_t *v;
	int ret;

	if (!http_authorized(hs, req) || !have_manual(hs, req))
		return;
	body = http_body_json(hs, req);
	if (body == NULL)
		return;
	/* dnsdock takes a bare number; {"ttl": n} reads better. */
	v = json_is_object(body) ? json_object_get(body, "ttl") : body;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)MANUAL_TTL_MAX ||
	    (json_is_object(body) && json_object_size(body) != 1)) {
		json_decref(body);
		http_error(
			hs, req, 400,
			"send the default TTL of manual services as {\"ttl\": N} or N, an integer "
			"from 0 to %u",
			MANUAL_TTL_MAX);
		return;
	}
	uint32_t ttl = (uint32_t)json_integer_value(v);
	json_decref(body);
	ret = manual_set_ttl(hs->d.manual, ttl, err, sizeof(err));
	if (ret != 0) {
		fail(hs, req, ret, err);
		return;
	}
	http_reply_json(hs, req, 200, json_pack("{s:I}", "ttl", (json_int_t)ttl));
}
