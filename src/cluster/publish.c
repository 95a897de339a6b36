/* SPDX-License-Identifier: MIT */
/* This node's origins into etcd: one key per origin, written when its records change (never
 * when they are the same), in transactions of at most 128 operations and about 1 MiB. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cluster/internal.h"
#include "cluster/value.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define TXN_MAX_OPS 128      /* etcd's default --max-txn-ops */
#define TXN_MAX_BYTES 900000 /* of values in one transaction (etcd's request limit: 1.5 MiB) */
#define FLUSH_DELAY_MS 2     /* a burst of changes goes out together */

/* One operation of the transaction in flight: what becomes true once it succeeds. */
struct op {
	char *id; /* "<kind>:<name>" */
	enum origin_kind kind;
	size_t name_off; /* of the name in id */
	bool del;
	uint64_t digest;
	size_t records;
};

struct batch {
	struct op ops[TXN_MAX_OPS];
	size_t n;
	size_t bytes;
	json_t *success; /* the transaction's operations */
	struct cluster *c;
};

static struct ratelimit too_big_rl;

static void schedule(struct cluster *c, unsigned ms)
{
	if (!evtimer_pending(c->flush_timer, NULL))
		cluster_timer(c->flush_timer, ms);
}

static int queue(struct cluster *c, enum origin_kind kind, const char *name)
{
	char id[1024];
	if (snprintf(id, sizeof(id), "%s:%s", origin_kind_name(kind), name) >= (int)sizeof(id))
		return -ENAMETOOLONG;
	if (strmap_get(&c->pending, id) != NULL)
		return 0;
	size_t len = strlen(name) + 1;
	struct pending *p = malloc(sizeof(*p) + len);
	if (p == NULL)
		return -ENOMEM;
	p->kind = kind;
	memcpy(p->name, name, len);
	if (strmap_put(&c->pending, id, p, NULL) != 0) {
		free(p);
		return -ENOMEM;
	}
	return 0;
}

void publish_observe(void *arg, enum origin_kind kind, const char *name)
{
	struct cluster *c = arg;
	if (!(c->publish & (1u << kind)))
		return;
	if (queue(c, kind, name) < 0) {
		log_error("cluster", "out of memory: %s:%s not published", origin_kind_name(kind),
			  name);
		return;
	}
	if (c->state == NODE_UP && c->txn_call == NULL)
		schedule(c, FLUSH_DELAY_MS);
}

static void queue_one(void *arg, enum origin_kind kind, const char *origin, const struct recset *rs)
{
	struct cluster *c = arg;
	(void)rs;
	if (!(c->publish & (1u << kind)))
		return;
	const char *colon = strchr(origin, ':');
	if (colon != NULL && queue(c, kind, colon + 1) < 0)
		log_error("cluster", "out of memory: %s not published", origin);
}

void publish_start(struct cluster *c)
{
	registry_foreach(c->reg, queue_one, c);
	schedule(c, 0);
}

static void free_batch(struct batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->ops[i].id);
	json_decref(b->success);
	free(b);
}

void publish_stop(struct cluster *c)
{
	/* Whatever was in etcd went with the lease: everything is written again. */
	etcd_cancel(c->txn_call);
	c->txn_call = NULL;
	free_batch(c->batch);
	c->batch = NULL;
	evtimer_del(c->flush_timer);
	strmap_clear(&c->published, free);
}

/* One pending origin into the batch, unless it is full (then it stays pending). */
struct fill {
	struct cluster *c;
	struct batch *b;
	int64_t stamp;
	bool full;
	int err;
};

static bool fill_one(void *arg, const char *id, void *val)
{
	struct fill *f = arg;
	struct cluster *c = f->c;
	struct batch *b = f->b;
	struct pending *p = val;
	if (f->full || f->err != 0 || b->n == TXN_MAX_OPS)
		return false;
	char key[1400];
	if (snprintf(key, sizeof(key), "%s%s", c->own_prefix, id) >= (int)sizeof(key)) {
		free(p);
		return true;
	}
	const struct recset *rs = registry_export(c->reg, p->kind, p->name);
	struct published *was = strmap_get(&c->published, id);
	struct op op = { 0 };
	json_t *item = NULL;
	if (rs == NULL || recset_count(rs) == 0) {
		if (was == NULL) {
			free(p);
			return true; /* never written: nothing to delete */
		}
		op.del = true;
		item = json_pack("{s:{s:o}}", "requestDeleteRange", "key",
				 etcd_b64(key, strlen(key)));
	} else {
		char *records;
		size_t len;
		int ret = cluster_records_json(rs, &records, &len, &op.digest);
		if (ret == -EFBIG) {
			if (ratelimit_ok(&too_big_rl, 60))
				log_error(
					"cluster",
					"%s has too many records to publish (%zu; a value holds at "
					"most %u bytes): left out of etcd",
					id, recset_count(rs), CLUSTER_VALUE_MAX);
			free(p);
			return true;
		}
		if (ret < 0) {
			f->err = ret;
			return false;
		}
		/* The routes other nodes' proxies use, beside the records. */
		struct route routes[ROUTES_MAX];
		size_t nr = c->export_routes != NULL ?
				    c->export_routes(c->routes_arg, p->kind, p->name, routes) :
				    0;
		size_t rlen = 0;
		char *rjson = nr > 0 ? cluster_routes_json(routes, nr, &rlen) : NULL;
		if (nr > 0 && rjson == NULL) {
			free(records);
			f->err = -ENOMEM;
			return false;
		}
		for (size_t i = 0; i < rlen; i++)
			op.digest = (op.digest ^ (uint8_t)rjson[i]) * 1099511628211ull;
		if (was != NULL && was->digest == op.digest) {
			free(rjson);
			free(records);
			free(p);
			return true; /* the same again: not rewritten */
		}
		if (b->n > 0 && b->bytes + len + rlen > TXN_MAX_BYTES) {
			free(rjson);
			free(records);
			f->full = true;
			return false;
		}
		size_t vlen;
		char *value = cluster_value_wrap_routes(c->node, id, f->stamp, records, len, rjson,
							rlen, &vlen);
		free(records);
		free(rjson);
		if (value == NULL) {
			f->err = -ENOMEM;
			return false;
		}
		op.records = recset_count(rs);
		item = json_pack("{s:{s:o, s:o, s:o}}", "requestPut", "key",
				 etcd_b64(key, strlen(key)), "value", etcd_b64(value, vlen),
				 "lease", etcd_int_json(c->lease));
		free(value);
		b->bytes += vlen;
	}
	op.id = strdup(id);
	op.kind = p->kind;
	op.name_off = strlen(id) - strlen(p->name);
	if (item == NULL || op.id == NULL || json_array_append_new(b->success, item) != 0) {
		free(op.id);
		f->err = -ENOMEM;
		return false;
	}
	b->ops[b->n++] = op;
	free(p);
	return true;
}

static void on_txn(int err, json_t *reply, const char *msg, void *arg)
{
	struct batch *b = arg;
	struct cluster *c = b->c;
	(void)reply;
	c->txn_call = NULL;
	c->batch = NULL;
	if (err < 0) {
		c->write_errors++;
		cluster_link_error(c, "writing records", err, msg);
		/* Each origin goes back to pending: it is looked at afresh next time. */
		for (size_t i = 0; i < b->n; i++)
			queue(c, b->ops[i].kind, b->ops[i].id + b->ops[i].name_off);
		free_batch(b);
		schedule(c, backoff_next(&c->txn_backoff));
		return;
	}
	cluster_link_ok(c);
	backoff_reset(&c->txn_backoff);
	for (size_t i = 0; i < b->n; i++) {
		struct op *op = &b->ops[i];
		void *old = NULL;
		if (op->del) {
			free(strmap_del(&c->published, op->id));
			continue;
		}
		struct published *p = malloc(sizeof(*p));
		if (p == NULL || strmap_put(&c->published, op->id, p, &old) != 0) {
			free(p); /* forgotten: it will be written again, no harm */
			continue;
		}
		free(old);
		p->digest = op->digest;
		p->records = op->records;
	}
	c->writes += b->n;
	log_debug("cluster", "wrote %zu origins (%zu bytes)", b->n, b->bytes);
	free_batch(b);
	if (c->pending.n > 0)
		schedule(c, 0);
}

void publish_flush(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	(void)fd;
	(void)what;
	if (c->state != NODE_UP || c->txn_call != NULL || c->pending.n == 0)
		return;
	struct batch *b = calloc(1, sizeof(*b));
	if (b == NULL || (b->success = json_array()) == NULL) {
		free(b);
		schedule(c, 1000);
		return;
	}
	b->c = c;
	struct fill f = { .c = c, .b = b, .stamp = cluster_now_ms() };
	strmap_foreach_del(&c->pending, fill_one, &f);
	if (f.err != 0 || b->n == 0) {
		free_batch(b);
		if (f.err != 0)
			schedule(c, 1000);
		return;
	}
	json_t *body = json_pack("{s:O}", "success", b->success);
	c->batch = b;
	c->txn_call = body != NULL ? etcd_call(c->etcd, "/v3/kv/txn", body, on_txn, b) : NULL;
	if (c->txn_call == NULL) {
		c->batch = NULL;
		on_txn(-ENOMEM, NULL, "out of memory", b); /* back to pending, retried */
	}
}

void publish_free(struct cluster *c)
{
	free_batch(c->batch);
	c->batch = NULL;
	strmap_clear(&c->pending, free);
	strmap_clear(&c->published, free);
}
