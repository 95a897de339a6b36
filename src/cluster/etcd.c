/* SPDX-License-Identifier: MIT */
/* etcd's v3 JSON gateway on the shared HTTP client: calls, streams, the auth token. */
#include "cluster/etcd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_client.h"
#include "util/b64.h"
#include "util/err.h"
#include "util/log.h"

struct etcd_call {
	struct etcd *e;
	struct etcd_call *prev, *next; /* every live call */
	struct etcd_call *wnext;       /* waiting for a token */
	struct hc_req *req;
	char *path;
	char *body;
	bool stream;
	bool retried; /* sent again once with a new token */
	bool waiting;
	etcd_reply_fn on_reply;
	etcd_event_fn on_event;
	etcd_end_fn on_end;
	void *arg;
};

struct etcd {
	struct hc_client *hc;
	char *user, *password;
	char *token;    /* NULL: none yet (or no auth) */
	char *auth_hdr; /* "Authorization: <token>" */
	struct hc_req *auth_req;
	struct etcd_call *calls;
	struct etcd_call *wait_first, *wait_last;
	long timeout_ms;
};

static int send_call(struct etcd_call *c);
static void finish(struct etcd_call *c, int err, json_t *reply, const char *msg);

int etcd_new(struct event_base *base, const struct etcd_conf *conf, struct etcd **out, char *err,
	     size_t errlen)
{
	struct etcd *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	struct hc_conf hc = {
		.endpoints = conf->endpoints,
		.n_endpoints = conf->n_endpoints,
		.tls_ca = conf->tls_ca,
		.tls_cert = conf->tls_cert,
		.tls_key = conf->tls_key,
		.what = "etcd endpoint",
		.log_module = "etcd",
		/* A follower whose leader died holds a write until etcd's own timeout (7 s):
		 * after 3 s the call fails, and the next one goes to the next member. */
		.timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 3000,
		.connect_ms = 1000,
		.max_body = 64u << 20,
		.max_line = 64u << 20,
	};
	e->timeout_ms = hc.timeout_ms;
	int ret = hc_client_new(base, &hc, &e->hc, err, errlen);
	if (ret < 0) {
		free(e);
		return ret;
	}
	if (conf->user != NULL) {
		e->user = strdup(conf->user);
		e->password = strdup(conf->password != NULL ? conf->password : "");
		if (e->user == NULL || e->password == NULL) {
			etcd_free(e);
			return berth_fail(err, errlen, -ENOMEM, "out of memory");
		}
	}
	*out = e;
	return 0;
}

static void call_unlink(struct etcd_call *c)
{
	struct etcd *e = c->e;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		e->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->waiting) {
		struct etcd_call **pp = &e->wait_first, *last = NULL;
		while (*pp != c) {
			last = *pp;
			pp = &(*pp)->wnext;
		}
		*pp = c->wnext;
		if (e->wait_last == c)
			e->wait_last = last;
		c->waiting = false;
	}
}

static void call_free(struct etcd_call *c)
{
	free(c->path);
	free(c->body);
	free(c);
}

void etcd_free(struct etcd *e)
{
	if (e == NULL)
		return;
	hc_client_free(e->hc); /* every request, without callbacks */
	for (struct etcd_call *c = e->calls, *next; c != NULL; c = next) {
		next = c->next;
		call_free(c);
	}
	free(e->user);
	free(e->password);
	free(e->token);
	free(e->auth_hdr);
	free(e);
}

const char *etcd_endpoint(const struct etcd *e)
{
	return hc_client_endpoint(e->hc);
}

void etcd_skip(struct etcd *e)
{
	hc_client_skip(e->hc);
}

/* etcd's error answer ({"error": ..., "message": ..., "code": gRPC code}) as a code and text. */
static int error_of(int status, const char *body, char *msg, size_t msglen)
{
	json_t *v = json_loads(body, 0, NULL);
	json_t *inner = json_object_get(v, "error");
	if (json_is_object(inner)) /* a stream's {"error": {"grpc_code", "message"}} */
		v = (json_incref(inner), json_decref(v), inner);
	const char *text = json_string_value(json_object_get(v, "message"));
	if (text == NULL)
		text = json_string_value(json_object_get(v, "error"));
	json_int_t code = json_integer_value(json_object_get(v, "code"));
	if (code == 0)
		code = json_integer_value(json_object_get(v, "grpc_code"));
	snprintf(msg, msglen, "%s%.200s", status > 0 ? "" : "", text != NULL ? text : body);
	if (status > 0 && text == NULL)
		snprintf(msg, msglen, "HTTP %d: %.200s", status, body);
	json_decref(v);
	if (strstr(msg, "too large") != NULL)
		return -EFBIG;
	switch (code) {
	case 5: /* NotFound */
		return -ENOENT;
	case 7:  /* PermissionDenied */
	case 16: /* Unauthenticated */
		return -EACCES;
	case 11: /* OutOfRange */
		return -ERANGE;
	default:
		return status == 401 || status == 403 ? -EACCES : -EIO;
	}
}

static bool token_refused(int status, const char *body)
{
	return status == 401 || (body != NULL && strstr(body, "invalid auth token") != NULL);
}

/* --- the token --- */

static void fail_waiting(struct etcd *e, int err, const char *msg)
{
	while (e->wait_first != NULL) {
		struct etcd_call *c = e->wait_first;
		call_unlink(c);
		if (c->stream)
			c->on_end(err, msg, c->arg);
		else
			c->on_reply(err, NULL, msg, c->arg);
		call_free(c);
	}
}

static void on_auth(int err, int status, const char *body, size_t len, void *arg)
{
	struct etcd *e = arg;
	char msg[300];
	(void)len;
	e->auth_req = NULL;
	if (err < 0) {
		snprintf(msg, sizeof(msg), "%s", body);
		fail_waiting(e, err, msg);
		return;
	}
	json_t *v = status == 200 ? json_loads(body, 0, NULL) : NULL;
	const char *token = json_string_value(json_object_get(v, "token"));
	char *hdr = NULL;
	if (token != NULL) {
		size_t n = strlen(token) + sizeof("Authorization: ");
		if ((hdr = malloc(n)) != NULL)
			snprintf(hdr, n, "Authorization: %s", token);
	}
	if (hdr == NULL || strpbrk(token, "\r\n") != NULL) {
		if (status == 200)
			snprintf(msg, sizeof(msg), "authentication as %s: no token in the answer",
				 e->user);
		else
			snprintf(msg, sizeof(msg), "authentication as %s refused: %.200s", e->user,
				 body);
		json_decref(v);
		free(hdr);
		fail_waiting(e, -EACCES, msg);
		return;
	}
	free(e->token);
	free(e->auth_hdr);
	e->token = strdup(token);
	e->auth_hdr = hdr;
	json_decref(v);
	log_debug("etcd", "authenticated as %s", e->user);
	while (e->wait_first != NULL) {
		struct etcd_call *c = e->wait_first;
		e->wait_first = c->wnext;
		if (e->wait_first == NULL)
			e->wait_last = NULL;
		c->waiting = false;
		if (send_call(c) < 0)
			finish(c, -ENOMEM, NULL, "out of memory");
	}
}

/* Queue c until a token comes; ask for one unless that is under way. 0 or -ENOMEM (c is not
 * queued then). */
static int need_token(struct etcd_call *c)
{
	struct etcd *e = c->e;
	c->waiting = true;
	c->wnext = NULL;
	if (e->wait_last != NULL)
		e->wait_last->wnext = c;
	else
		e->wait_first = c;
	e->wait_last = c;
	if (e->auth_req != NULL)
		return 0;
	json_t *body = json_pack("{s:s, s:s}", "name", e->user, "password", e->password);
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	struct hc_opts o = { .method = "POST", .body = text };
	e->auth_req = text != NULL ? hc_send(e->hc, "/v3/auth/authenticate", &o, on_auth, e) : NULL;
	free(text);
	if (e->auth_req != NULL)
		return 0;
	/* Nothing else waits: the list held only c. */
	e->wait_first = e->wait_last = NULL;
	c->waiting = false;
	return -ENOMEM;
}

static void drop_token(struct etcd *e)
{
	free(e->token);
	free(e->auth_hdr);
	e->token = NULL;
	e->auth_hdr = NULL;
}

/* --- calls --- */

static void finish(struct etcd_call *c, int err, json_t *reply, const char *msg)
{
	call_unlink(c);
	if (c->stream)
		c->on_end(err, msg, c->arg);
	else
		c->on_reply(err, reply, msg, c->arg);
	call_free(c);
}

/* A refused token: once, a new one and the call again. */
static bool retry_with_token(struct etcd_call *c, int status, const char *body)
{
	if (c->e->user == NULL || c->retried || !token_refused(status, body))
		return false;
	c->retried = true;
	c->req = NULL;
	drop_token(c->e);
	if (send_call(c) < 0)
		finish(c, -ENOMEM, NULL, "out of memory");
	return true;
}

static void on_body(int err, int status, const char *body, size_t len, void *arg)
{
	struct etcd_call *c = arg;
	char msg[300];
	c->req = NULL;
	if (err < 0) {
		finish(c, err, NULL, body);
		return;
	}
	if (status != 200) {
		if (retry_with_token(c, status, body))
			return;
		int code = error_of(status, body, msg, sizeof(msg));
		finish(c, code, NULL, msg);
		return;
	}
	json_error_t je;
	json_t *v = json_loadb(body, len, 0, &je);
	if (!json_is_object(v)) {
		json_decref(v);
		snprintf(msg, sizeof(msg), "answer is not a JSON object: %s", je.text);
		finish(c, -EPROTO, NULL, msg);
		return;
	}
	finish(c, 0, v, NULL);
	json_decref(v);
}

static void on_line(const char *line, size_t len, void *arg)
{
	struct etcd_call *c = arg;
	char msg[300];
	json_t *v = json_loadb(line, len, 0, NULL);
	json_t *result = json_object_get(v, "result");
	if (json_is_object(result)) {
		json_incref(result);
		json_decref(v);
		c->on_event(result, c->arg); /* may cancel c */
		json_decref(result);
		return;
	}
	int code =
		json_object_get(v, "error") != NULL ? error_of(0, line, msg, sizeof(msg)) : -EPROTO;
	if (code == -EPROTO && json_object_get(v, "error") == NULL)
		snprintf(msg, sizeof(msg), "stream line is not an answer: %.120s", line);
	json_decref(v);
	hc_cancel(c->req);
	c->req = NULL;
	finish(c, code, NULL, msg);
}

static void on_stream_end(int err, int status, const char *msg, void *arg)
{
	struct etcd_call *c = arg;
	char text[300];
	c->req = NULL;
	if (err < 0) {
		finish(c, err, NULL, msg);
		return;
	}
	if (status > 0) {
		if (retry_with_token(c, status, msg))
			return;
		int code = error_of(status, msg, text, sizeof(text));
		finish(c, code, NULL, text);
		return;
	}
	finish(c, 0, NULL, "stream ended");
}

/* Send c now, or once a token is there. 0 or -ENOMEM (nothing sent, no callback). */
static int send_call(struct etcd_call *c)
{
	struct etcd *e = c->e;
	if (e->user != NULL && e->auth_hdr == NULL)
		return need_token(c);
	/* "hasleader" (gRPC metadata, through the gateway): a member without a leader refuses
	 * the call at once, and ends a watch or keep-alive stream it holds, instead of keeping it
	 * open while the rest of the cluster goes on without it. The next call goes elsewhere. */
	const char *headers[3] = { "Grpc-Metadata-hasleader: true", e->auth_hdr, NULL };
	struct hc_opts o = {
		.method = "POST",
		.body = c->body,
		.headers = headers,
	};
	if (c->stream)
		c->req = hc_stream(e->hc, c->path, &o, NULL, on_line, on_stream_end, c);
	else
		c->req = hc_send(e->hc, c->path, &o, on_body, c);
	return c->req != NULL ? 0 : -ENOMEM;
}

static struct etcd_call *start(struct etcd *e, const char *path, json_t *body, bool stream)
{
	struct etcd_call *c = calloc(1, sizeof(*c));
	if (c != NULL) {
		c->path = strdup(path);
		c->body = body != NULL ? json_dumps(body, JSON_COMPACT) : strdup("{}");
	}
	json_decref(body);
	if (c == NULL || c->path == NULL || c->body == NULL) {
		if (c != NULL)
			call_free(c);
		return NULL;
	}
	c->e = e;
	c->stream = stream;
	c->next = e->calls;
	if (e->calls != NULL)
		e->calls->prev = c;
	e->calls = c;
	return c;
}

/* The first send: a failure frees c and gives NULL, without a callback. */
static struct etcd_call *kick(struct etcd_call *c)
{
	if (send_call(c) == 0)
		return c;
	call_unlink(c);
	call_free(c);
	return NULL;
}

struct etcd_call *etcd_call(struct etcd *e, const char *path, json_t *body, etcd_reply_fn fn,
			    void *arg)
{
	struct etcd_call *c = start(e, path, body, false);
	if (c == NULL)
		return NULL;
	c->on_reply = fn;
	c->arg = arg;
	return kick(c);
}

struct etcd_call *etcd_stream(struct etcd *e, const char *path, json_t *body,
			      etcd_event_fn on_event, etcd_end_fn on_end, void *arg)
{
	struct etcd_call *c = start(e, path, body, true);
	if (c == NULL)
		return NULL;
	c->on_event = on_event;
	c->on_end = on_end;
	c->arg = arg;
	return kick(c);
}

void etcd_cancel(struct etcd_call *c)
{
	if (c == NULL)
		return;
	hc_cancel(c->req);
	call_unlink(c);
	call_free(c);
}

/* --- wire helpers --- */

json_t *etcd_b64(const void *s, size_t len)
{
	char *t = b64_encode_new(s, len);
	json_t *j = t != NULL ? json_string(t) : NULL;
	free(t);
	return j;
}

json_t *etcd_prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *end = strdup(prefix);
	if (end == NULL || n == 0) {
		free(end);
		return etcd_b64("\0", 1); /* every key */
	}
	end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
	json_t *j = etcd_b64(end, n);
	free(end);
	return j;
}

int64_t etcd_int(const json_t *obj, const char *field)
{
	const json_t *v = json_object_get(obj, field);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

json_t *etcd_int_json(int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return json_string(buf);
}

int etcd_bytes(const json_t *obj, const char *field, char **out, size_t *len)
{
	const char *t = json_string_value(json_object_get(obj, field));
	uint8_t *buf;
	int ret = b64_decode_new(t != NULL ? t : "", t != NULL ? strlen(t) : 0, &buf, len);
	if (ret == 0)
		*out = (char *)buf;
	return ret;
}
