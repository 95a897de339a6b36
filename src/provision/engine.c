/* SPDX-License-Identifier: MIT */
/* berth provision's Docker side: list, create, start, stop and remove through the Docker client,
 * each request driven to its end on a private libevent loop (a CLI may block). */
#include "provision/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <jansson.h>

#include "net/http_client.h"
#include "sources/docker/endpoint.h"

struct provision_engine {
	struct event_base *base;
	struct hc_client *client;
};

struct reply {
	bool done;
	int err;    /* 0, or the request's negative error (body is the message) */
	int status; /* the HTTP status when err is 0 */
	char *body;
	size_t len;
};

static void on_reply(int err, int status, const char *body, size_t len, void *arg)
{
	struct reply *r = arg;
	r->done = true;
	r->err = err;
	r->status = status;
	r->body = malloc(len + 1);
	if (r->body) {
		memcpy(r->body, body, len);
		r->body[len] = '\0';
		r->len = len;
	}
}

/* One request to its end: 0 with the HTTP status and body in r, or a negative error with err
 * set. */
static int call(struct provision_engine *e, const char *method, const char *path,
		const char *json_body, struct reply *r, char *err, size_t errlen)
{
	struct hc_req *req;

	memset(r, 0, sizeof(*r));
	req = hc_request(e->client, method, path, json_body, on_reply, r);
	if (req == NULL) {
		snprintf(err, errlen, "%s %s: out of memory", method, path);
		return -ENOMEM;
	}
	while (!r->done)
		if (event_base_loop(e->base, EVLOOP_ONCE) < 0)
			break;
	if (!r->done) {
		hc_cancel(req);
		snprintf(err, errlen, "%s %s: the event loop failed", method, path);
		return -EIO;
	}
	if (r->err < 0) {
		snprintf(err, errlen, "%s", r->body ? r->body : "request failed");
		return r->err;
	}
	return 0;
}

/* The engine's "message" of an error answer, else the body. */
static void answer_error(const char *what, const struct reply *r, char *err, size_t errlen)
{
	json_t *v = r->body ? json_loads(r->body, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(v, "message"));
	snprintf(err, errlen, "%s: HTTP %d: %.200s", what, r->status,
		 msg     ? msg :
		 r->body ? r->body :
			   "");
	json_decref(v);
}

int provision_engine_new(const char *endpoint, long timeout_ms, struct provision_engine **out,
			 char *err, size_t errlen)
{
	struct provision_engine *e = calloc(1, sizeof(*e));
	struct docker_endpoint_conf conf = { .endpoint = endpoint, .timeout_ms = timeout_ms };
	int ret = -ENOMEM;

	*out = NULL;
	if (e == NULL || (e->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ret = docker_endpoint_client(e->base, &conf, &e->client, err, errlen);
	if (ret < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	provision_engine_free(e);
	return ret;
}

void provision_engine_free(struct provision_engine *e)
{
	if (e == NULL)
		return;
	hc_client_free(e->client);
	if (e->base)
		event_base_free(e->base);
	free(e);
}

const char *provision_engine_describe(const struct provision_engine *e)
{
	return hc_client_describe(e->client);
}

int provision_engine_connect(struct provision_engine *e, char *err, size_t errlen)
{
	struct reply r;
	docker_set_api_version(e->client, NULL);
	int ret = call(e, "GET", "/version", NULL, &r, err, errlen);
	if (ret == 0 && r.status != 200) {
		answer_error("GET /version", &r, err, errlen);
		ret = -EIO;
	} else if (ret == 0) {
		json_t *v = json_loads(r.body ? r.body : "", 0, NULL);
		const char *api = json_string_value(json_object_get(v, "ApiVersion"));
		/* Speak the engine's own version, as the Docker source does; unversioned else. */
		if (api == NULL || docker_set_api_version(e->client, api) < 0)
			docker_set_api_version(e->client, NULL);
		json_decref(v);
		ret = 0;
	}
	free(r.body);
	return ret;
}

/* Zones compare without case and without a trailing dot. */
static bool same_zone(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	la -= la > 0 && a[la - 1] == '.';
	lb -= lb > 0 && b[lb - 1] == '.';
	return la == lb && strncasecmp(a, b, la) == 0;
}

static const char *label_of(json_t *labels, const char *zone)
{
	const char *z = json_string_value(json_object_get(labels, PROVISION_ZONE_LABEL));
	if (z != NULL && !same_zone(z, zone))
		return NULL;
	const char *v = json_string_value(json_object_get(labels, PROVISION_LABEL));
	return v ? v : json_string_value(json_object_get(labels, PROVISION_SEED_LABEL));
}

int provision_engine_list(struct provision_engine *e, const char *zone,
			  struct provision_containers *out, char *err, size_t errlen)
{
	struct reply r;
	json_t *doc = NULL;
	size_t i;
	json_t *c;
	int ret;

	memset(out, 0, sizeof(*out));
	/* Every container, not only labelled ones: a listed name may be held by a foreign one. */
	ret = call(e, "GET", "/containers/json?all=1", NULL, &r, err, errlen);
	if (ret < 0)
		goto out;
	if (r.status != 200) {
		answer_error("GET /containers/json", &r, err, errlen);
		ret = -EIO;
		goto out;
	}
	doc = json_loads(r.body ? r.body : "", 0, NULL);
	if (!json_is_array(doc)) {
		snprintf(err, errlen, "GET /containers/json: not a JSON array");
		ret = -EPROTO;
		goto out;
	}
	out->v = calloc(json_array_size(doc) + 1, sizeof(*out->v));
	if (out->v == NULL) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach(doc, i, c)
	{
		struct provision_container *pc = &out->v[out->n];
		const char *name =
			json_string_value(json_array_get(json_object_get(c, "Names"), 0));
		pc->id = json_string_value(json_object_get(c, "Id"));
		if (name == NULL || pc->id == NULL)
			continue;
		pc->name = name[0] == '/' ? name + 1 : name;
		pc->label = label_of(json_object_get(c, "Labels"), zone);
		const char *state = json_string_value(json_object_get(c, "State"));
		pc->running = state &&
			      (strcmp(state, "running") == 0 || strcmp(state, "restarting") == 0);
		out->n++;
	}
	out->doc = doc;
	doc = NULL;
	ret = 0;
out:
	json_decref(doc);
	free(r.body);
	return ret;
}

void provision_containers_clear(struct provision_containers *cs)
{
	free(cs->v);
	json_decref(cs->doc);
	memset(cs, 0, sizeof(*cs));
}

/* POST /images/create?fromImage=IMAGE: the answer is a stream of progress objects, with an
 * "error" one when the pull failed even though the status is 200. */
static int pull(struct provision_engine *e, const char *image, char *err, size_t errlen)
{
	char enc[600], path[700];
	struct reply r;
	int ret;

	if (hc_urlencode(image, enc, sizeof(enc)) < 0) {
		snprintf(err, errlen, "image name too long");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/images/create?fromImage=%s", enc);
	ret = call(e, "POST", path, NULL, &r, err, errlen);
	if (ret == 0 && r.status != 200) {
		answer_error("pull", &r, err, errlen);
		ret = -EIO;
	} else if (ret == 0) {
		const char *bad = r.body ? strstr(r.body, "\"error\"") : NULL;
		ret = 0;
		if (bad) {
			const char *line = bad;
			while (line > r.body && line[-1] != '\n')
				line--;
			json_t *v = json_loadb(line, strcspn(line, "\n"), 0, NULL);
			const char *msg = json_string_value(json_object_get(v, "error"));
			snprintf(err, errlen, "pull %s: %.200s", image, msg ? msg : "failed");
			json_decref(v);
			ret = -EIO;
		}
	}
	free(r.body);
	return ret;
}

int provision_engine_image(struct provision_engine *e, const char *image, bool want_pull, char *err,
			   size_t errlen)
{
	char path[700];
	struct reply r;
	int ret;

	/* The name goes in the path as the CLI sends it: '/' and ':' stay. */
	if (strlen(image) >= 500 || strpbrk(image, " ?#%\"\\") != NULL) {
		snprintf(err, errlen, "image \"%.100s\": not a usable image reference", image);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/images/%s/json", image);
	ret = call(e, "GET", path, NULL, &r, err, errlen);
	free(r.body);
	if (ret == 0 && r.status == 200)
		return 0;
	if (ret == 0 && r.status != 404) {
		snprintf(err, errlen, "inspect image %.100s: HTTP %d", image, r.status);
		return -EIO;
	}
	if (ret < 0)
		return ret;
	if (!want_pull) {
		snprintf(err, errlen,
			 "image %.100s is not present locally (no pull without --pull)", image);
		return -ENOENT;
	}
	ret = pull(e, image, err, errlen);
	return ret < 0 ? -ENOENT : 0;
}

int provision_engine_create(struct provision_engine *e, const char *name, const struct strv *argv,
			    const char *cmdline, const char *zone, const char *network, char *id,
			    size_t idlen, char *err, size_t errlen)
{
	char enc[600], path[700];
	json_t *body = json_object(), *cmd = json_array(), *labels = json_object();
	char *text = NULL;
	struct reply r = { 0 };
	int ret = -ENOMEM;

	if (body == NULL || cmd == NULL || labels == NULL)
		goto out;
	for (size_t i = 1; i < argv->n; i++)
		json_array_append_new(cmd, json_string(argv->v[i]));
	json_object_set_new(body, "Image", json_string(argv->v[0]));
	if (argv->n > 1)
		json_object_set(body, "Cmd", cmd);
	json_object_set_new(labels, PROVISION_LABEL, json_string(cmdline));
	json_object_set_new(labels, PROVISION_ZONE_LABEL, json_string(zone));
	json_object_set(body, "Labels", labels);
	if (network && *network)
		json_object_set_new(body, "HostConfig", json_pack("{s:s}", "NetworkMode", network));
	text = json_dumps(body, JSON_COMPACT);
	if (text == NULL || hc_urlencode(name, enc, sizeof(enc)) < 0)
		goto out;
	snprintf(path, sizeof(path), "/containers/create?name=%s", enc);
	ret = call(e, "POST", path, text, &r, err, errlen);
	if (ret < 0)
		goto out;
	if (r.status != 201 && r.status != 200) {
		answer_error("create", &r, err, errlen);
		ret = r.status == 404 ? -ENOENT : r.status == 409 ? -EEXIST : -EIO;
		goto out;
	}
	json_t *v = json_loads(r.body ? r.body : "", 0, NULL);
	const char *new_id = json_string_value(json_object_get(v, "Id"));
	snprintf(id, idlen, "%s", new_id ? new_id : "");
	json_decref(v);
	ret = new_id ? 0 : -EPROTO;
	if (ret < 0)
		snprintf(err, errlen, "create: no Id in the answer");
out:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(r.body);
	free(text);
	json_decref(labels);
	json_decref(cmd);
	json_decref(body);
	return ret;
}

/* POST/DELETE on /containers/<id><suffix>; ok_a and ok_b are the statuses that mean success. */
static int simple(struct provision_engine *e, const char *method, const char *what, const char *id,
		  const char *suffix, int ok_a, int ok_b, char *err, size_t errlen)
{
	char enc[200], path[300];
	struct reply r;
	int ret;

	if (hc_urlencode(id, enc, sizeof(enc)) < 0) {
		snprintf(err, errlen, "%s: container id too long", what);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/containers/%s%s", enc, suffix);
	ret = call(e, method, path, NULL, &r, err, errlen);
	if (ret == 0 && r.status != ok_a && r.status != ok_b) {
		answer_error(what, &r, err, errlen);
		ret = r.status == 404 ? -ENOENT : -EIO;
	}
	free(r.body);
	return ret;
}

int provision_engine_start(struct provision_engine *e, const char *id, char *err, size_t errlen)
{
	/* 304: already running. */
	return simple(e, "POST", "start", id, "/start", 204, 304, err, errlen);
}

int provision_engine_remove(struct provision_engine *e, const char *id, int stop_timeout, char *err,
			    size_t errlen)
{
	char suffix[40];
	int ret;

	snprintf(suffix, sizeof(suffix), "/stop?t=%d", stop_timeout);
	ret = simple(e, "POST", "stop", id, suffix, 204, 304, err, errlen);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	ret = simple(e, "DELETE", "remove", id, "?v=1&force=1", 204, 204, err, errlen);
	return ret == -ENOENT ? 0 : ret;
}
