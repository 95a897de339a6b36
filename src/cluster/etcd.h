/* SPDX-License-Identifier: MIT */
/* etcd's v3 JSON gateway (etcd 3.4: /v3/...) over the one HTTP client, on the control loop:
 * one-shot calls and streams (watch, lease keep-alive), the auth token got and renewed
 * transparently, failover across the cluster's members. Keys and values are base64 and 64-bit
 * numbers are strings on the wire; the helpers below hide both. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct etcd;
struct etcd_call;

struct etcd_conf {
	const char *const *endpoints; /* http(s)://host:port of the cluster's members */
	size_t n_endpoints;
	const char *tls_ca, *tls_cert, *tls_key; /* PEM files, or NULL */
	const char *user, *password;             /* etcd auth; NULL user: none */
	long timeout_ms;                         /* one-shot calls; 0: 3 s */
};

int etcd_new(struct event_base *base, const struct etcd_conf *conf, struct etcd **out, char *err,
	     size_t errlen);
/* Cancel every call without calling back, and free. NULL is a no-op. */
void etcd_free(struct etcd *e);
/* The member in use ("http://127.0.0.1:2379"). */
const char *etcd_endpoint(const struct etcd *e);
/* Go to the next member (a stream broke there). */
void etcd_skip(struct etcd *e);

/* The end of a one-shot call: err 0 with etcd's answer (borrowed for the callback's length);
 * or a negative code with a message: the HTTP client's transport errors (-ECONNREFUSED,
 * -ETIMEDOUT, ...), -EACCES (permission denied, or the user or password refused), -ENOENT
 * (lease not found), -ERANGE (revision compacted), -EFBIG (request too large), -EPROTO (an
 * answer that is not JSON), -EIO (any other error etcd gives). */
typedef void (*etcd_reply_fn)(int err, json_t *reply, const char *msg, void *arg);
/* POST body (taken, even on failure) to path ("/v3/kv/txn"). fn runs once, from the loop,
 * unless cancelled. NULL when out of memory (no callback then). */
struct etcd_call *etcd_call(struct etcd *e, const char *path, json_t *body, etcd_reply_fn fn,
			    void *arg);

/* A stream (POST /v3/watch, /v3/lease/keepalive): on_event gets each answer's "result"
 * object (borrowed); on_end runs once when it is over: err 0 when etcd ended it, else as for
 * etcd_reply_fn. */
typedef void (*etcd_event_fn)(json_t *result, void *arg);
typedef void (*etcd_end_fn)(int err, const char *msg, void *arg);
struct etcd_call *etcd_stream(struct etcd *e, const char *path, json_t *body,
			      etcd_event_fn on_event, etcd_end_fn on_end, void *arg);

/* Stop a call or stream: no callback follows. Allowed from its own callbacks (not after its
 * final one). NULL is a no-op. */
void etcd_cancel(struct etcd_call *c);

/* --- wire helpers --- */

/* A JSON string of base64(s[0..len)); NULL if out of memory. */
json_t *etcd_b64(const void *s, size_t len);
/* The range end of every key starting with prefix (its last byte + 1), as etcd_b64. */
json_t *etcd_prefix_end(const char *prefix);
/* A 64-bit field, sent as a string or a number; absent (proto3 leaves zeros out): 0. */
int64_t etcd_int(const json_t *obj, const char *field);
/* A string JSON field holding a 64-bit number ("lease": "7587..."). */
json_t *etcd_int_json(int64_t v);
/* Decode a base64 field of obj (a kv's "key" or "value") into a new NUL-terminated buffer.
 * Absent: an empty one. 0, -EINVAL, -ENOMEM. */
int etcd_bytes(const json_t *obj, const char *field, char **out, size_t *len);
