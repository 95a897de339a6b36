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
	struct ptrvec dirty;   /* owner names (wire, in live record sets) to rebuild */
	void *rrbuf;           /* where a name's rrsets are made, to compare */
	size_t rrcap;
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
	struct pm_ctx c = { .garbage = &b->garbage };
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

static void free_fresh_node(void *arg, uint64_t e)
{
	struct snap_node *n = (struct snap_node *)(uintptr_t)e;
	uint32_t gen = *(const uint32_t *)arg;
	if (n->gen != gen)
		return;
	pm_destroy_gen(&n->children, gen);
	free(n);
}

/* After a failure: free what this build made (all of it hangs from work: what
 * it replaced of its own was freed at once), keep what the last version holds. */
static void drop_build(struct snap_builder *b)
{
	struct snapshot *w = b->work;
	pm_foreach(&w->names, free_fresh_node, &b->gen);
	pm_destroy_gen(&w->names, b->gen);
	pm_destroy_gen(&w->ids, b->gen);
	b->garbage.n = 0;
	b->dirty.n = 0;
	free(w);
	b->work = NULL;
}

/* Node n, made by this build or an older one, leaves the version being made. */
static int retire_node(struct snap_builder *b, struct snap_node *n)
{
	if (n->gen == b->gen) {
		pm_destroy_gen(&n->children, b->gen);
		free(n);
		return 0;
	}
	return ptrvec_push(&b->garbage, n);
}

void snap_builder_free(struct snap_builder *b)
{
	if (b == NULL)
		return;
	if (b->work != NULL)
		drop_build(b);
	for (size_t i = 0; i < b->napexes; i++)
		free(b->apex[i]);
	ptrvec_clear(&b->garbage);
	ptrvec_clear(&b->dirty);
	free(b->rrbuf);
	free(b);
}

bool snap_builder_broken(const struct snap_builder *b)
{
	return b->broken;
}

static int fail(struct snap_builder *b, int err)
{
	drop_build(b);
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

static uint32_t node_cap(const struct snap_node *n)
{
	return n->cap_log ? 1u << (n->cap_log - 1) : 0;
}

static uint8_t cap_log(uint32_t cap)
{
	uint8_t l = 0;
	while (cap != 0 && (1u << l) < cap)
		l++;
	return cap ? (uint8_t)(l + 1) : 0;
}

static size_t rr_off(const struct snap_node *n)
{
	return snap_node_recs_off(n->name_len) + (size_t)node_cap(n) * sizeof(struct rec *);
}

static struct snap_node *node_new(struct snap_builder *b, const uint8_t *name, size_t len,
				  uint32_t caprecs)
{
	size_t size = snap_node_recs_off(len) + caprecs * sizeof(struct rec *);
	struct snap_node *n = calloc(1, size);
	if (n == NULL)
		return NULL;
	memcpy(n->name, name, len);
	n->name_len = (uint8_t)len;
	n->hash = snapshot_hash(name, len);
	n->gen = b->gen;
	n->size = (uint32_t)size;
	n->cap_log = cap_log(caprecs);
	n->zone = zone_of(b, name, len);
	n->linked = n->zone == 0; /* only names inside a zone hang from a parent */
	if (pm_insert(&b->work->names, &b->names_ctx, (uintptr_t)n) != 0) {
		free(n);
		return NULL;
	}
	return n;
}

/* Point the rrsets of a block at data moved by delta bytes. */
static void relocate(struct snap_rrset *sets, uint16_t n, intptr_t delta)
{
	for (uint16_t i = 0; i < n; i++) {
		sets[i].wire = (const uint8_t *)((uintptr_t)sets[i].wire + (uintptr_t)delta);
		sets[i].offs = (const uint32_t *)((uintptr_t)sets[i].offs + (uintptr_t)delta);
		if (sets[i].nets != NULL)
			sets[i].nets =
				(const uint8_t *)((uintptr_t)sets[i].nets + (uintptr_t)delta);
	}
}

/* A new block for n in its place, with room for caprecs records and, when rr
 * is not NULL, rrsets copied from rr (rrbytes long, made at rr); else n's own. */
static struct snap_node *reshape(struct snap_builder *b, struct snap_node *n, uint32_t caprecs,
				 const struct snap_rrset *rr, uint16_t nrr, size_t rrbytes)
{
	size_t old_rr = rr_off(n);
	caprecs = cap_log(caprecs) ? 1u << (cap_log(caprecs) - 1) : 0; /* a power of two */
	if (rr == NULL) {
		rr = n->rrsets;
		nrr = n->nrrsets;
		rrbytes = n->rrsets ? n->size - old_rr : 0;
	}
	size_t recs = snap_node_recs_off(n->name_len);
	size_t off = recs + caprecs * sizeof(struct rec *);
	struct snap_node *c = malloc(off + rrbytes);
	if (c == NULL)
		return NULL;
	memcpy(c, n, recs + n->nrecs * sizeof(struct rec *));
	c->gen = b->gen;
	c->cap_log = cap_log(caprecs);
	c->size = (uint32_t)(off + rrbytes);
	c->rrsets = NULL;
	c->nrrsets = nrr;
	if (rrbytes > 0) {
		struct snap_rrset *sets = (struct snap_rrset *)((uint8_t *)c + off);
		memcpy(sets, rr, rrbytes);
		relocate(sets, nrr, (intptr_t)((uintptr_t)sets - (uintptr_t)rr));
		c->rrsets = sets;
	}
	if (pm_replace(&b->work->names, &b->names_ctx, (uintptr_t)n, (uintptr_t)c) != 0) {
		free(c);
		return NULL;
	}
	if (n->gen == b->gen) {
		free(n); /* c has its child set now */
		return c;
	}
	return ptrvec_push(&b->garbage, n) == 0 ? c : NULL;
}

/* n, writable by this build: a copy in its place if an older version made it. */
static struct snap_node *mutable(struct snap_builder *b, struct snap_node *n)
{
	return n->gen == b->gen ? n : reshape(b, n, node_cap(n), NULL, 0, 0);
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
		if (n == NULL && (n = node_new(b, r->owner, len, 1)) == NULL)
			return fail(b, -ENOMEM);
		if (n->nrecs == node_cap(n)) {
			if (n->nrecs >= 1u << 30)
				return fail(b, BERTH_ETOOLONG);
			n = reshape(b, n, n->nrecs ? n->nrecs * 2 : 1, NULL, 0, 0);
		}
		if (n == NULL || ptrvec_push(&b->dirty, r->owner) != 0)
			return fail(b, -ENOMEM);
		snap_node_recs(n)[n->nrecs++] = r;
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
		const struct rec **recs = n ? snap_node_recs(n) : NULL;
		uint32_t k = 0;
		while (n != NULL && k < n->nrecs && recs[k] != r)
			k++;
		if (n == NULL || k == n->nrecs)
			return fail(b, -ENOENT); /* a set that never entered */
		/* Control data, which no reader looks at: changed in place even in
		 * a version readers see. */
		recs[k] = recs[--n->nrecs];
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
static int make_rrsets(struct snap_builder *b, const struct rec **recs, size_t n,
		       uint16_t *out_count, size_t *out_size)
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
	if (ntypes > UINT16_MAX)
		return BERTH_ETOOLONG;
	size += ntypes * sizeof(struct snap_rrset);
	if (size > b->rrcap) {
		void *grown = realloc(b->rrbuf, size);
		if (grown == NULL)
			return -ENOMEM;
		b->rrbuf = grown;
		b->rrcap = size;
	}
	struct snap_rrset *sets = b->rrbuf;
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
		/* A DNS answer holds far fewer; more of one type at one name
		 * are cut, the same way in every version (recs is sorted). */
		size_t cnt = end - i > UINT16_MAX ? UINT16_MAX : end - i;
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
		sets[t] = (struct snap_rrset){ .wire = p,
					       .offs = offs,
					       .len = (uint32_t)pos,
					       .type = recs[i]->type,
					       .count = (uint16_t)cnt };
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
	*out_count = (uint16_t)ntypes;
	*out_size = (size_t)(p - (uint8_t *)sets);
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
	if (made && (p = node_new(b, pname, plen, 0)) == NULL)
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
		if (g != NULL && g->height < h + 1 && (g = mutable(b, g)) == NULL)
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
		    retire_node(b, n) != 0)
			return -ENOMEM;
		if (p == NULL || p->children.count > 0 || p->nrecs > 0)
			return 0;
		n = p;
	}
}

/* Bring one name in line with its records. */
static int rebuild(struct snap_builder *b, struct snap_node *n, const struct rec **scratch)
{
	uint16_t nsets = 0;
	size_t size = 0;
	if (n->nrecs > 0) {
		memcpy(scratch, snap_node_recs(n), n->nrecs * sizeof(*scratch));
		qsort(scratch, n->nrecs, sizeof(*scratch), rec_cmp);
		int ret = make_rrsets(b, scratch, n->nrecs, &nsets, &size);
		if (ret != 0)
			return ret;
	}
	if (nsets == 0 && n->children.count == 0)
		return unlink_node(b, n); /* gone: no copy to make first */
	if (!same_rrsets(b->rrbuf, nsets, n->rrsets, n->nrrsets) &&
	    (n = reshape(b, n, node_cap(n), b->rrbuf, nsets, size)) == NULL)
		return -ENOMEM;
	if (!n->linked && (n = mutable(b, n)) != NULL)
		return link(b, n);
	return n == NULL ? -ENOMEM : 0;
}

static int owner_cmp(const void *pa, const void *pb)
{
	const uint8_t *a = *(const uint8_t *const *)pa, *b = *(const uint8_t *const *)pb;
	return snap_name_cmp(a, knot_dname_size(a), b, knot_dname_size(b));
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
		uint32_t ttl =
			(uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		const uint8_t *m = p + len - 4;
		uint32_t minimum =
			(uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		if (minimum < ttl)
			put32(p + 4, minimum);
		zones[i] = (struct snap_zone){ .apex = apex->name,
					       .apex_len = apex->name_len,
					       .apex_labels =
						       (uint8_t)knot_dname_labels(apex->name, NULL),
					       .soa = p,
					       .soa_len = (uint16_t)len };
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
	/* Each name once, however many of its records changed. */
	qsort(b->dirty.v, b->dirty.n, sizeof(b->dirty.v[0]), owner_cmp);
	size_t nd = 0, most = 0;
	for (size_t i = 0; i < b->dirty.n; i++) {
		if (nd > 0 && owner_cmp(&b->dirty.v[nd - 1], &b->dirty.v[i]) == 0)
			continue;
		const uint8_t *owner = b->dirty.v[nd++] = b->dirty.v[i];
		const struct snap_node *n = find(b, owner, knot_dname_size(owner));
		if (n != NULL && n->nrecs > most)
			most = n->nrecs;
	}
	const struct rec **scratch = malloc((most + 1) * sizeof(*scratch));
	if (scratch == NULL)
		return fail(b, -ENOMEM);
	for (size_t i = 0; i < nd && ret == 0; i++) {
		const uint8_t *owner = b->dirty.v[i];
		struct snap_node *n = find(b, owner, knot_dname_size(owner));
		if (n != NULL)
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
	/* A large build's lists are not kept for the small ones that follow. */
	if (b->dirty.cap > 4096)
		ptrvec_clear(&b->dirty);
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
