/* SPDX-License-Identifier: MIT */
/* Making each snapshot version from the last: only the names a change touches
 * are rebuilt (their records, their parents' child sets, the ID index);
 * everything else is shared. */
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "store/snapctl.h"
#include "store/snapshot.h"
#include "util/err.h"

struct snap_builder {
	struct snapshot *cur;  /* the last version made */
	struct snapshot *work; /* the one being made, NULL between builds */
	uint8_t *apex[8];
	size_t napexes;
	uint32_t gen;
	struct ptrvec garbage; /* shared with cur, replaced in work */
	struct ptrvec fresh;   /* made for work */
	struct ptrvec dirty;   /* owner names (wire, in live record sets) to rebuild */
	struct pm_ctx names_ctx, child_ctx, ids_ctx;
	bool broken;
};

static uint32_t node_hash(uint64_t e)
{
	return ((const struct snap_node *)(uintptr_t)e)->hash;
}

static uint32_t child_hash(uint64_t e)
{
	return (uint32_t)e;
}

static uint32_t id_hash(uint64_t e)
{
	return snap_id_hash(snap_id_entry_zone(e), snap_id_entry_key(e));
}

static inline uint64_t child_entry(uint32_t h)
{
	return 1ull << 32 | h;
}

struct snap_builder *snap_builder_new(const uint8_t *const *apexes, size_t napexes)
{
	struct snap_builder *b = calloc(1, sizeof(*b));
	if (b == NULL || napexes > sizeof(b->apex) / sizeof(b->apex[0]))
		goto fail;
	for (size_t i = 0; i < napexes; i++) {
		size_t len = knot_dname_size(apexes[i]);
		if ((b->apex[i] = malloc(len)) == NULL)
			goto fail;
		memcpy(b->apex[i], apexes[i], len);
		b->napexes++;
	}
	struct pm_ctx c = { .garbage = &b->garbage, .fresh = &b->fresh };
	b->names_ctx = c;
	b->names_ctx.hash = node_hash;
	b->child_ctx = c;
	b->child_ctx.hash = child_hash;
	b->ids_ctx = c;
	b->ids_ctx.hash = id_hash;
	return b;
fail:
	snap_builder_free(b);
	return NULL;
}

static void drop_build(struct snap_builder *b, bool failed)
{
	if (failed)
		for (size_t i = 0; i < b->fresh.n; i++)
			snap_free_obj(b->fresh.v[i]);
	b->fresh.n = 0;
	b->garbage.n = 0;
	b->dirty.n = 0;
	free(b->work);
	b->work = NULL;
}

void snap_builder_free(struct snap_builder *b)
{
	if (b == NULL)
		return;
	if (b->work != NULL)
		drop_build(b, true);
	for (size_t i = 0; i < b->napexes; i++)
		free(b->apex[i]);
	ptrvec_clear(&b->garbage);
	ptrvec_clear(&b->fresh);
	ptrvec_clear(&b->dirty);
	free(b);
}

bool snap_builder_broken(const struct snap_builder *b)
{
	return b->broken;
}

static int fail(struct snap_builder *b, int err)
{
	drop_build(b, true);
	b->broken = true;
	return err;
}

static int begin(struct snap_builder *b)
{
	if (b->broken)
		return BERTH_ERROR;
	if (b->work != NULL)
		return 0;
	struct snapshot *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	if (b->cur != NULL) {
		w->names = b->cur->names;
		w->ids = b->cur->ids;
		w->nrecords = b->cur->nrecords;
	}
	b->work = w;
	b->gen++;
	b->names_ctx.gen = b->child_ctx.gen = b->ids_ctx.gen = b->gen;
	return 0;
}

/* 1 + the index of the innermost zone holding name, or 0. */
static uint8_t zone_of(const struct snap_builder *b, const uint8_t *name, size_t len)
{
	uint8_t best = 0;
	for (size_t i = 0; i < b->napexes; i++) {
		size_t alen = knot_dname_size(b->apex[i]);
		if (snap_in_zone(name, len, b->apex[i], alen) &&
		    (best == 0 || alen > knot_dname_size(b->apex[best - 1])))
			best = (uint8_t)(i + 1);
	}
	return best;
}

static struct snap_node *find(struct snap_builder *b, const uint8_t *name, size_t len)
{
	return (struct snap_node *)snapshot_find(b->work, name, len);
}

static struct snap_node *node_new(struct snap_builder *b, const uint8_t *name, size_t len)
{
	struct snap_node *n = calloc(1, sizeof(*n) + len);
	if (n == NULL || ptrvec_push(&b->fresh, n) != 0) {
		free(n);
		return NULL;
	}
	memcpy(n->name, name, len);
	n->name_len = (uint8_t)len;
	n->hash = snapshot_hash(name, len);
	n->gen = b->gen;
	n->zone = zone_of(b, name, len);
	n->linked = n->zone == 0; /* only names inside a zone hang from a parent */
	if (pm_insert(&b->work->names, &b->names_ctx, (uintptr_t)n) != 0)
		return NULL;
	return n;
}

/* n, writable by this build: a copy in its place if an older version made it. */
static struct snap_node *mutable(struct snap_builder *b, struct snap_node *n)
{
	if (n->gen == b->gen)
		return n;
	struct snap_node *c = malloc(sizeof(*c) + n->name_len);
	if (c == NULL || ptrvec_push(&b->fresh, c) != 0) {
		free(c);
		return NULL;
	}
	memcpy(c, n, sizeof(*c) + n->name_len);
	c->gen = b->gen;
	if (pm_replace(&b->work->names, &b->names_ctx, (uintptr_t)n, (uintptr_t)c) != 0 ||
	    ptrvec_push(&b->garbage, n) != 0)
		return NULL;
	return c;
}

static void *ctl_tag(struct snap_ctl *ctl)
{
	return (void *)((uintptr_t)ctl | 1);
}

/* Room for one more record in n's control block. */
static int ctl_reserve(struct snap_builder *b, struct snap_node **np)
{
	struct snap_node *n = *np;
	if (n->ctl != NULL && n->ctl->n < n->ctl->cap)
		return 0;
	uint32_t cap = n->ctl ? n->ctl->cap * 2 : 1;
	struct snap_ctl *c = malloc(sizeof(*c) + cap * sizeof(c->recs[0]));
	if (c == NULL || ptrvec_push(&b->fresh, ctl_tag(c)) != 0) {
		free(c);
		return -ENOMEM;
	}
	*c = (struct snap_ctl){ .cap = cap };
	if (n->ctl != NULL) {
		memcpy(c, n->ctl, sizeof(*c) + n->ctl->n * sizeof(c->recs[0]));
		c->cap = cap;
		if (ptrvec_push(&b->garbage, ctl_tag(n->ctl)) != 0)
			return -ENOMEM;
	}
	if ((n = mutable(b, n)) == NULL)
		return -ENOMEM;
	n->ctl = c;
	*np = n;
	return 0;
}

int snap_builder_add(struct snap_builder *b, const struct recset *rs)
{
	int ret = begin(b);
	if (ret != 0)
		return ret;
	for (size_t i = 0; i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		size_t len = knot_dname_size(r->owner);
		struct snap_node *n = find(b, r->owner, len);
		if (n == NULL && (n = node_new(b, r->owner, len)) == NULL)
			return fail(b, -ENOMEM);
		if (ctl_reserve(b, &n) != 0 || ptrvec_push(&b->dirty, r->owner) != 0)
			return fail(b, -ENOMEM);
		n->ctl->recs[n->ctl->n++] = r;
		b->work->nrecords++;
	}
	return 0;
}

int snap_builder_remove(struct snap_builder *b, const struct recset *rs)
{
	int ret = begin(b);
	if (ret != 0)
		return ret;
	for (size_t i = 0; i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		struct snap_node *n = find(b, r->owner, knot_dname_size(r->owner));
		struct snap_ctl *c = n ? n->ctl : NULL;
		uint32_t k = 0;
		while (c != NULL && k < c->n && c->recs[k] != r)
			k++;
		if (c == NULL || k == c->n)
			return fail(b, -ENOENT); /* a set that never entered */
		c->recs[k] = c->recs[--c->n]; /* control data: changed in place */
		if (ptrvec_push(&b->dirty, r->owner) != 0)
			return fail(b, -ENOMEM);
		b->work->nrecords--;
	}
	return 0;
}

/* --- Records of one name into wire form --- */

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = *(const struct rec *const *)pa;
	const struct rec *b = *(const struct rec *const *)pb;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	int c = snap_name_cmp(a->rdata, a->rdlen, b->rdata, b->rdlen);
	if (c != 0)
		return c;
	/* equal records: the smaller TTL first, so that it is the one kept */
	if (a->ttl != b->ttl)
		return a->ttl < b->ttl ? -1 : 1;
	return (int)a->prefix - (int)b->prefix;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static bool same_rec(const struct rec *a, const struct rec *b)
{
	return a->type == b->type && a->rdlen == b->rdlen &&
	       memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

/* One block: the rrsets, then every offset array, then each rrset's wire and
 * networks (so the offsets stay aligned). recs is sorted; duplicates go. */
static int make_rrsets(const struct rec **recs, size_t n, struct snap_rrset **out,
                       uint16_t *out_count)
{
	size_t ntypes = 0, size = 0, nu = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || !same_rec(recs[nu - 1], recs[i]))
			recs[nu++] = recs[i];
	n = nu;
	for (size_t i = 0; i < n; i++) {
		bool first = i == 0 || recs[i - 1]->type != recs[i]->type;
		ntypes += first;
		size += sizeof(uint32_t) * (1 + first) + 10 + recs[i]->rdlen + 1;
	}
	if (ntypes > UINT16_MAX || n > UINT16_MAX)
		return BERTH_ETOOLONG;
	struct snap_rrset *sets = malloc(ntypes * sizeof(*sets) + size);
	if (sets == NULL)
		return -ENOMEM;
	uint32_t *offs = (uint32_t *)(sets + ntypes);
	uint8_t *p = (uint8_t *)(offs + n + ntypes);
	size_t i = 0;
	for (size_t t = 0; t < ntypes; t++) {
		size_t end = i, pos = 0;
		uint32_t ttl = UINT32_MAX;
		bool nets = false;
		for (; end < n && recs[end]->type == recs[i]->type; end++) {
			if (recs[end]->ttl < ttl)
				ttl = recs[end]->ttl;
			nets |= recs[end]->prefix != 0;
		}
		size_t cnt = end - i;
		for (size_t k = 0; k < cnt; k++) {
			const struct rec *r = recs[i + k];
			offs[k] = (uint32_t)pos;
			put16(p + pos, r->type);
			put16(p + pos + 2, KNOT_CLASS_IN);
			put32(p + pos + 4, ttl); /* one TTL per RRset (RFC 2181 5.2) */
			put16(p + pos + 8, r->rdlen);
			memcpy(p + pos + 10, r->rdata, r->rdlen);
			pos += 10 + r->rdlen;
		}
		offs[cnt] = (uint32_t)pos;
		sets[t] = (struct snap_rrset){ .wire = p, .offs = offs, .len = (uint32_t)pos,
			                       .type = recs[i]->type, .count = (uint16_t)cnt };
		offs += cnt + 1;
		p += pos;
		if (nets) {
			for (size_t k = 0; k < cnt; k++)
				p[k] = recs[i + k]->prefix;
			sets[t].nets = p;
			p += cnt;
		}
		i = end;
	}
	*out = sets;
	*out_count = (uint16_t)ntypes;
	return 0;
}

static bool same_rrsets(const struct snap_rrset *a, uint16_t na, const struct snap_rrset *b,
                        uint16_t nb)
{
	if (na != nb)
		return false;
	for (uint16_t i = 0; i < na; i++) {
		if (a[i].type != b[i].type || a[i].count != b[i].count || a[i].len != b[i].len ||
		    memcmp(a[i].wire, b[i].wire, a[i].len) != 0 ||
		    memcmp(a[i].offs, b[i].offs, (a[i].count + 1u) * sizeof(uint32_t)) != 0 ||
		    (a[i].nets == NULL) != (b[i].nets == NULL) ||
		    (a[i].nets != NULL && memcmp(a[i].nets, b[i].nets, a[i].count) != 0))
			return false;
	}
	return true;
}

/* --- The zone's tree --- */

static bool is_apex(const struct snap_builder *b, const struct snap_node *n)
{
	return n->zone != 0 && knot_dname_size(b->apex[n->zone - 1]) == n->name_len;
}

/* Is n "<63 hex>.<apex>", a name Docker ID prefixes find? */
static bool is_id_name(const struct snap_builder *b, const struct snap_node *n)
{
	return n->zone != 0 && snap_is_hex_label(n->name, 63, 63) &&
	       n->name_len == 64 + knot_dname_size(b->apex[n->zone - 1]);
}

static uint64_t id_entry(const struct snap_node *n)
{
	return snap_id_entry(n->zone, snap_id_key(n->name), n->hash);
}

/* Hang n (this build's) from its parent, making the parent if need be, and
 * raise the heights above it. */
static int link(struct snap_builder *b, struct snap_node *n)
{
	n->linked = 1;
	if (is_id_name(b, n) && pm_insert(&b->work->ids, &b->ids_ctx, id_entry(n)) != 0)
		return -ENOMEM;
	if (is_apex(b, n))
		return 0;
	const uint8_t *pname = n->name + n->name[0] + 1;
	size_t plen = n->name_len - n->name[0] - 1u;
	struct snap_node *p = find(b, pname, plen);
	bool made = p == NULL;
	if (made && (p = node_new(b, pname, plen)) == NULL)
		return -ENOMEM;
	if ((p = mutable(b, p)) == NULL ||
	    pm_insert(&p->children, &b->child_ctx, child_entry(n->hash)) != 0)
		return -ENOMEM;
	if (made) {
		p->height = (uint8_t)(n->height + 1);
		return link(b, p);
	}
	/* Heights only grow here: one that is too high costs a pattern walk a
	 * little time, never an answer. */
	uint8_t h = n->height;
	while (p != NULL && p->height < h + 1) {
		p->height = (uint8_t)(h + 1);
		h = p->height;
		if (is_apex(b, p))
			break;
		const uint8_t *gname = p->name + p->name[0] + 1;
		struct snap_node *g = find(b, gname, p->name_len - p->name[0] - 1u);
		if (g != NULL && (g = mutable(b, g)) == NULL)
			return -ENOMEM;
		p = g;
	}
	return 0;
}

/* Remove n, which has no records and no children, and every ancestor that is
 * left as empty. */
static int unlink_node(struct snap_builder *b, struct snap_node *n)
{
	for (;;) {
		struct snap_node *p = NULL;
		if (n->linked && n->zone != 0 && !is_apex(b, n)) {
			const uint8_t *pname = n->name + n->name[0] + 1;
			p = find(b, pname, n->name_len - n->name[0] - 1u);
			if (p == NULL || (p = mutable(b, p)) == NULL ||
			    pm_remove(&p->children, &b->child_ctx, child_entry(n->hash)) != 0)
				return -ENOMEM;
		}
		if (n->linked && is_id_name(b, n) &&
		    pm_remove(&b->work->ids, &b->ids_ctx, id_entry(n)) != 0)
			return -ENOMEM;
		if (pm_remove(&b->work->names, &b->names_ctx, (uintptr_t)n) != 0 ||
		    ptrvec_push(&b->garbage, n) != 0 ||
		    (n->rrsets != NULL && ptrvec_push(&b->garbage, (void *)n->rrsets) != 0) ||
		    (n->ctl != NULL && ptrvec_push(&b->garbage, ctl_tag(n->ctl)) != 0))
			return -ENOMEM;
		if (p == NULL || p->children.count > 0 || (p->ctl != NULL && p->ctl->n > 0))
			return 0;
		n = p;
	}
}

/* Bring one name in line with its records. */
static int rebuild(struct snap_builder *b, struct snap_node *n, const struct rec **scratch)
{
	struct snap_ctl *c = n->ctl;
	c->mark = b->gen;
	struct snap_rrset *sets = NULL;
	uint16_t nsets = 0;
	if (c->n > 0) {
		memcpy(scratch, c->recs, c->n * sizeof(*scratch));
		qsort(scratch, c->n, sizeof(*scratch), rec_cmp);
		int ret = make_rrsets(scratch, c->n, &sets, &nsets);
		if (ret != 0)
			return ret;
		if (same_rrsets(sets, nsets, n->rrsets, n->nrrsets)) {
			free(sets);
			sets = (struct snap_rrset *)n->rrsets;
		} else if (ptrvec_push(&b->fresh, sets) != 0) {
			free(sets);
			return -ENOMEM;
		}
	}
	if (sets != n->rrsets) {
		if ((n = mutable(b, n)) == NULL ||
		    (n->rrsets != NULL && ptrvec_push(&b->garbage, (void *)n->rrsets) != 0))
			return -ENOMEM;
		n->rrsets = sets;
		n->nrrsets = nsets;
	}
	if (nsets == 0 && n->children.count == 0)
		return unlink_node(b, n);
	if (!n->linked && (n = mutable(b, n)) != NULL)
		return link(b, n);
	return n == NULL ? -ENOMEM : 0;
}

/* The zones, with the SOA for negative answers: min(TTL, MINIMUM). */
static int make_zones(struct snap_builder *b, struct snapshot *s)
{
	size_t size = b->napexes * sizeof(struct snap_zone);
	for (size_t i = 0; i < b->napexes; i++) {
		const struct snap_node *apex = find(b, b->apex[i], knot_dname_size(b->apex[i]));
		const struct snap_rrset *soa = apex ? snap_node_rrset(apex, KNOT_RRTYPE_SOA) : NULL;
		if (soa == NULL || soa->offs[1] < 30)
			return BERTH_EPARSE; /* every zone needs its SOA */
		size += soa->offs[1];
	}
	struct snap_zone *zones = malloc(size);
	if (zones == NULL)
		return -ENOMEM;
	uint8_t *p = (uint8_t *)(zones + b->napexes);
	for (size_t i = 0; i < b->napexes; i++) {
		const struct snap_node *apex = find(b, b->apex[i], knot_dname_size(b->apex[i]));
		const struct snap_rrset *soa = snap_node_rrset(apex, KNOT_RRTYPE_SOA);
		uint32_t len = soa->offs[1];
		memcpy(p, soa->wire, len);
		uint32_t ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		const uint8_t *m = p + len - 4;
		uint32_t minimum = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		if (minimum < ttl)
			put32(p + 4, minimum);
		zones[i] = (struct snap_zone){ .apex = apex->name, .apex_len = apex->name_len,
			                       .apex_labels = (uint8_t)knot_dname_labels(apex->name, NULL),
			                       .soa = p, .soa_len = (uint16_t)len };
		p += len;
	}
	s->zones = zones;
	s->nzones = (uint32_t)b->napexes;
	return 0;
}

int snap_builder_commit(struct snap_builder *b, uint64_t serial, struct snapshot **out)
{
	int ret = begin(b);
	if (ret != 0)
		return ret;
	size_t most = 0;
	for (size_t i = 0; i < b->dirty.n; i++) {
		const uint8_t *owner = b->dirty.v[i];
		const struct snap_node *n = find(b, owner, knot_dname_size(owner));
		if (n != NULL && n->ctl != NULL && n->ctl->n > most)
			most = n->ctl->n;
	}
	const struct rec **scratch = malloc((most + 1) * sizeof(*scratch));
	if (scratch == NULL)
		return fail(b, -ENOMEM);
	for (size_t i = 0; i < b->dirty.n && ret == 0; i++) {
		const uint8_t *owner = b->dirty.v[i];
		struct snap_node *n = find(b, owner, knot_dname_size(owner));
		if (n != NULL && n->ctl != NULL && n->ctl->mark != b->gen)
			ret = rebuild(b, n, scratch);
	}
	free(scratch);
	struct snapshot *w = b->work;
	if (ret != 0 || (ret = make_zones(b, w)) != 0)
		return fail(b, ret);
	w->serial = serial;
	w->nnodes = w->names.count;
	if (b->cur != NULL) {
		/* What w replaced is the last version's to free once unseen. */
		b->cur->garbage = b->garbage;
		b->garbage = (struct ptrvec){ 0 };
	} else {
		for (size_t i = 0; i < b->garbage.n; i++)
			snap_free_obj(b->garbage.v[i]); /* never seen by anyone */
		b->garbage.n = 0;
	}
	b->fresh.n = 0;
	b->dirty.n = 0;
	b->cur = w;
	b->work = NULL;
	*out = w;
	return 0;
}

struct snapshot *snapshot_build(const struct recset *const *sets, size_t nsets,
                                const uint8_t *const *apexes, size_t napexes, uint64_t serial)
{
	struct snap_builder *b = snap_builder_new(apexes, napexes);
	struct snapshot *s = NULL;
	int ret = b ? 0 : -ENOMEM;
	for (size_t i = 0; i < nsets && ret == 0; i++)
		ret = snap_builder_add(b, sets[i]);
	if (ret == 0 && snap_builder_commit(b, serial, &s) != 0)
		s = NULL;
	snap_builder_free(b);
	return s;
}
