/* SPDX-License-Identifier: MIT */
/* Record sets by origin, and their publication as RCU-protected snapshots. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/libknot.h>
#include <urcu.h>

#include "store/registry.h"
#include "util/err.h"
#include "util/log.h"

struct origin {
	struct origin *hnext;           /* hash chain */
	struct origin *prev, *next;     /* every origin, oldest first */
	struct recset *rs;              /* latest; NULL = removed */
	const struct recset *published; /* what the current snapshot holds (owned, may be rs) */
	struct recset *export;          /* what other nodes see, when not rs; NULL: rs */
	uint32_t hash;
	enum origin_kind kind;
	bool dirty;
	char id[]; /* "<kind>:<name>" */
};

struct observer {
	registry_observer_fn fn;
	void *arg;
};

struct registry {
	struct snapshot *current; /* RCU-protected */
	struct snap_builder *builder;
	struct origin **table;
	size_t mask;     /* table size - 1 */
	size_t norigins; /* in the table (some may be removed, awaiting publish) */
	size_t nlive;    /* with records */
	struct origin *first, *last;
	struct ptrvec dirty; /* origins changed since the last publish */
	struct recset *zone; /* SOA, NS: as published */
	struct observer *observers;
	size_t nobservers;
	uint8_t apex[KNOT_DNAME_MAXLEN];
	uint8_t apex2[KNOT_DNAME_MAXLEN]; /* the second zone's, when domain2 */
	char *domain2;
	char *domain;
	char *ns_ip;
	uint32_t ttl, negative_ttl;
	uint32_t serial;
	bool retired; /* a version went to call_rcu */
};

static const char *const kind_names[ORIGIN_KINDS] = {
	[ORIGIN_DOCKER] = "docker", [ORIGIN_HOSTS] = "hosts", [ORIGIN_RECORDS] = "records",
	[ORIGIN_MANUAL] = "manual", [ORIGIN_NODE] = "node",   [ORIGIN_TEST] = "test",
	[ORIGIN_HTTP] = "http",
};

const char *origin_kind_name(enum origin_kind kind)
{
	return (unsigned)kind < ORIGIN_KINDS ? kind_names[kind] : "unknown";
}

struct registry *registry_new(const struct registry_params *p)
{
	struct registry *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->domain = strdup(p->domain);
	r->ns_ip = p->ns_ip ? strdup(p->ns_ip) : NULL;
	r->ttl = p->ttl;
	r->negative_ttl = p->negative_ttl;
	r->mask = 63;
	r->table = calloc(r->mask + 1, sizeof(*r->table));
	if (r->domain == NULL || (p->ns_ip && r->ns_ip == NULL) || r->table == NULL ||
	    knot_dname_from_str(r->apex, r->domain, sizeof(r->apex)) == NULL) {
		registry_free(r);
		return NULL;
	}
	knot_dname_to_lower(r->apex);
	if (p->domain2 != NULL &&
	    ((r->domain2 = strdup(p->domain2)) == NULL ||
	     knot_dname_from_str(r->apex2, r->domain2, sizeof(r->apex2)) == NULL)) {
		registry_free(r);
		return NULL;
	}
	knot_dname_to_lower(r->apex2);
	return r;
}

static void origin_free(struct origin *o)
{
	recset_free(o->export);
	if (o->published != o->rs)
		recset_free((struct recset *)o->published);
	recset_free(o->rs);
	free(o);
}

void registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	if (r->retired)
		rcu_barrier(); /* versions retired by call_rcu are freed by now */
	for (struct origin *o = r->first, *next; o != NULL; o = next) {
		next = o->next;
		origin_free(o);
	}
	free(r->table);
	ptrvec_clear(&r->dirty);
	snap_builder_free(r->builder);
	snapshot_free(r->current);
	recset_free(r->zone);
	free(r->observers);
	free(r->domain);
	free(r->domain2);
	free(r->ns_ip);
	free(r);
}

static uint32_t key_hash(enum origin_kind kind, const char *name)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;
	for (const char *p = name; *p != '\0'; p++) {
		h ^= (uint8_t)*p;
		h *= 16777619u;
	}
	return h;
}

static struct origin *find_origin(const struct registry *r, enum origin_kind kind, const char *name,
				  uint32_t h)
{
	size_t klen = strlen(origin_kind_name(kind));
	for (struct origin *o = r->table[h & r->mask]; o != NULL; o = o->hnext)
		if (o->hash == h && o->kind == kind && strcmp(o->id + klen + 1, name) == 0)
			return o;
	return NULL;
}

static int grow(struct registry *r)
{
	size_t mask = r->mask * 2 + 1;
	struct origin **table = calloc(mask + 1, sizeof(*table));
	if (table == NULL)
		return -ENOMEM;
	for (struct origin *o = r->first; o != NULL; o = o->next) {
		o->hnext = table[o->hash & mask];
		table[o->hash & mask] = o;
	}
	free(r->table);
	r->table = table;
	r->mask = mask;
	return 0;
}

static struct origin *add_origin(struct registry *r, enum origin_kind kind, const char *name,
				 uint32_t h)
{
	if (r->norigins + 1 > r->mask + 1 && grow(r) != 0)
		return NULL;
	const char *k = origin_kind_name(kind);
	size_t len = strlen(k) + 1 + strlen(name) + 1;
	struct origin *o = calloc(1, sizeof(*o) + len);
	if (o == NULL)
		return NULL;
	snprintf(o->id, len, "%s:%s", k, name);
	o->kind = kind;
	o->hash = h;
	o->hnext = r->table[h & r->mask];
	r->table[h & r->mask] = o;
	o->prev = r->last;
	if (r->last != NULL)
		r->last->next = o;
	else
		r->first = o;
	r->last = o;
	r->norigins++;
	return o;
}

static void remove_origin(struct registry *r, struct origin *o)
{
	struct origin **pp = &r->table[o->hash & r->mask];
	while (*pp != o)
		pp = &(*pp)->hnext;
	*pp = o->hnext;
	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		r->first = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
	else
		r->last = o->prev;
	r->norigins--;
	origin_free(o);
}

int registry_set(struct registry *r, enum origin_kind kind, const char *name, struct recset *rs)
{
	return registry_set_view(r, kind, name, rs, NULL);
}

int registry_set_view(struct registry *r, enum origin_kind kind, const char *name,
		      struct recset *rs, struct recset *export)
{
	if (rs == NULL) {
		recset_free(export);
		export = NULL;
	}
	uint32_t h = key_hash(kind, name);
	struct origin *o = find_origin(r, kind, name, h);
	if (o == NULL && rs == NULL)
		return 0;
	if (o == NULL && (o = add_origin(r, kind, name, h)) == NULL)
		goto oom;
	if (!o->dirty) {
		if (ptrvec_push(&r->dirty, o) != 0) {
			if (o->rs == NULL && o->published == NULL)
				remove_origin(r, o);
			goto oom;
		}
		o->dirty = true;
	}
	r->nlive += (rs != NULL) - (o->rs != NULL);
	if (o->rs != o->published)
		recset_free(o->rs); /* never published: nothing holds it */
	o->rs = rs;
	recset_free(o->export);
	o->export = export;
	for (size_t i = 0; i < r->nobservers; i++)
		r->observers[i].fn(r->observers[i].arg, kind, name);
	return 0;
oom:
	log_error("registry", "out of memory: records of %s:%s dropped", origin_kind_name(kind),
		  name);
	recset_free(rs);
	recset_free(export);
	return -ENOMEM;
}

int registry_observe(struct registry *r, registry_observer_fn fn, void *arg)
{
	struct observer *v = realloc(r->observers, (r->nobservers + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	v[r->nobservers++] = (struct observer){ fn, arg };
	r->observers = v;
	return 0;
}

/* SOA and NS of one zone into rs. */
static int add_zone(struct registry *r, struct recset *rs, const char *domain, const uint8_t *apex,
		    uint32_t serial)
{
	char ns[KNOT_DNAME_TXT_MAXLEN + 8], mbox[KNOT_DNAME_TXT_MAXLEN + 16];
	snprintf(ns, sizeof(ns), "ns.%s.", r->domain);
	snprintf(mbox, sizeof(mbox), "hostmaster.%s.", r->domain);
	uint8_t rdata[2 * KNOT_DNAME_MAXLEN + 20];
	int l1 = knot_dname_size(knot_dname_from_str(rdata, ns, KNOT_DNAME_MAXLEN));
	int l2 = knot_dname_size(knot_dname_from_str(rdata + l1, mbox, KNOT_DNAME_MAXLEN));
	uint8_t *p = rdata + l1 + l2;
	uint32_t times[5] = { serial, 3600, 600, 86400, r->negative_ttl };
	for (int i = 0; i < 5; i++) {
		p[0] = (uint8_t)(times[i] >> 24);
		p[1] = (uint8_t)(times[i] >> 16);
		p[2] = (uint8_t)(times[i] >> 8);
		p[3] = (uint8_t)times[i];
		p += 4;
	}
	if (recset_add(rs, apex, KNOT_RRTYPE_SOA, r->ttl, rdata, (uint16_t)(p - rdata)) != 0 ||
	    recset_add_name_rr(rs, domain, KNOT_RRTYPE_NS, ns, r->ttl) != 0)
		return -ENOMEM;
	return 0;
}

/* SOA, NS and the name server's address at the apex of berth's domain (and of the second
 * zone's: the same name server). */
static struct recset *zone_records(struct registry *r, uint32_t serial)
{
	struct recset *rs = recset_new();
	if (rs == NULL)
		return NULL;
	if (add_zone(r, rs, r->domain, r->apex, serial) != 0 ||
	    (r->domain2 != NULL && add_zone(r, rs, r->domain2, r->apex2, serial) != 0))
		goto fail;
	char ns[KNOT_DNAME_TXT_MAXLEN + 8];
	snprintf(ns, sizeof(ns), "ns.%s.", r->domain);
	if (r->ns_ip != NULL && recset_add_addr(rs, ns, r->ns_ip, r->ttl) != 0)
		log_warn("registry", "cannot use %s as the address of %s", r->ns_ip, ns);
	return rs;
fail:
	recset_free(rs);
	return NULL;
}

/* Stage into b what changed: every origin when full, else the dirty ones. */
static int stage(struct registry *r, struct snap_builder *b, struct recset *zone, bool full)
{
	int ret = 0;
	if (full) {
		for (struct origin *o = r->first; o != NULL && ret == 0; o = o->next)
			if (o->rs != NULL)
				ret = snap_builder_add(b, o->rs);
		return ret != 0 ? ret : snap_builder_add(b, zone);
	}
	/* Every removal before any addition: a name moving between origins
	 * is rebuilt once, from what is left. */
	if (r->zone != NULL)
		ret = snap_builder_remove(b, r->zone);
	for (size_t i = 0; i < r->dirty.n && ret == 0; i++) {
		const struct origin *o = r->dirty.v[i];
		if (o->published != NULL && o->published != o->rs)
			ret = snap_builder_remove(b, o->published);
	}
	for (size_t i = 0; i < r->dirty.n && ret == 0; i++) {
		const struct origin *o = r->dirty.v[i];
		if (o->rs != NULL && o->published != o->rs)
			ret = snap_builder_add(b, o->rs);
	}
	return ret != 0 ? ret : snap_builder_add(b, zone);
}

/* After a publish: what the snapshot holds is the latest of every origin. */
static void settle(struct registry *r, bool full)
{
	if (full) {
		for (struct origin *o = r->first; o != NULL; o = o->next) {
			if (o->published != o->rs)
				recset_free((struct recset *)o->published);
			o->published = o->rs;
		}
	}
	for (size_t i = 0; i < r->dirty.n; i++) {
		struct origin *o = r->dirty.v[i];
		if (o->published != o->rs)
			recset_free((struct recset *)o->published);
		o->published = o->rs;
		o->dirty = false;
		if (o->rs == NULL)
			remove_origin(r, o);
	}
	r->dirty.n = 0;
}

int registry_publish_serial(struct registry *r, uint32_t serial)
{
	r->serial = serial;
	struct recset *zone = zone_records(r, serial);
	if (zone == NULL)
		return -ENOMEM;
	/* A fresh builder the first time, and after a build that failed (it
	 * cannot say what it had changed): all origins again. */
	bool full = r->builder == NULL || snap_builder_broken(r->builder);
	struct snap_builder *b = r->builder;
	if (full) {
		const uint8_t *apexes[2] = { r->apex, r->apex2 };
		if ((b = snap_builder_new(apexes, r->domain2 != NULL ? 2 : 1)) == NULL) {
			recset_free(zone);
			return -ENOMEM;
		}
	}
	struct snapshot *s = NULL;
	int ret = stage(r, b, zone, full);
	if (ret == 0)
		ret = snap_builder_commit(b, serial, &s);
	if (ret != 0) {
		if (full)
			snap_builder_free(b);
		recset_free(zone);
		return ret;
	}
	struct snapshot *old = rcu_xchg_pointer(&r->current, s);
	r->retired |= old != NULL;
	if (full) {
		/* The old builder's versions share nothing with the new one. */
		snapshot_free_deferred(old);
		snap_builder_free(r->builder);
		r->builder = b;
	} else {
		snapshot_retire(old);
	}
	recset_free(r->zone);
	r->zone = zone;
	settle(r, full);
	log_debug("registry", "published serial %u: %u names, %u records", serial, s->nnodes,
		  s->nrecords);
	return 0;
}

int registry_publish(struct registry *r)
{
	/* Serials grow with time and never go back, so secondaries see every change. */
	uint32_t now = (uint32_t)time(NULL);
	return registry_publish_serial(r, now > r->serial ? now : r->serial + 1);
}

const struct recset *registry_export(const struct registry *r, enum origin_kind kind,
				     const char *name)
{
	const struct origin *o = find_origin(r, kind, name, key_hash(kind, name));
	if (o == NULL || o->rs == NULL)
		return NULL;
	return o->export != NULL ? o->export : o->rs;
}

const struct snapshot *registry_current(struct registry *r)
{
	return rcu_dereference(r->current);
}

size_t registry_origin_count(const struct registry *r)
{
	return r->nlive;
}

void registry_foreach(const struct registry *r, registry_foreach_fn fn, void *arg)
{
	for (const struct origin *o = r->first; o != NULL; o = o->next)
		if (o->rs != NULL)
			fn(arg, o->kind, o->id, o->rs);
}
