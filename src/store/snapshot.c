/* SPDX-License-Identifier: MIT */
/* Lookups in the read-only snapshot that DNS workers answer from, and freeing it. */
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "store/snapctl.h"
#include "store/snapshot.h"

uint32_t snapshot_hash(const uint8_t *name, size_t len)
{
	/* FNV-1a: names are short, and this is cheap and well spread. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= name[i];
		h *= 16777619u;
	}
	return h;
}

int snap_name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

bool snap_in_zone(const uint8_t *name, size_t name_len, const uint8_t *apex, size_t apex_len)
{
	if (name_len < apex_len)
		return false;
	const uint8_t *p = name;
	while (name_len > apex_len) {
		name_len -= (size_t)p[0] + 1;
		p += p[0] + 1;
	}
	return name_len == apex_len && memcmp(p, apex, name_len) == 0;
}

const struct snap_zone *snapshot_zone_of(const struct snapshot *s, const uint8_t *name)
{
	size_t len = knot_dname_size(name);
	const struct snap_zone *best = NULL;
	for (uint32_t i = 0; i < s->nzones; i++) {
		const struct snap_zone *z = &s->zones[i];
		if (snap_in_zone(name, len, z->apex, z->apex_len) &&
		    (best == NULL || z->apex_len > best->apex_len))
			best = z;
	}
	return best;
}

const struct snap_zone *snap_node_zone(const struct snapshot *s, const struct snap_node *n)
{
	return n->zone != 0 && n->zone <= s->nzones ? &s->zones[n->zone - 1] : NULL;
}

const struct snap_node *snapshot_find(const struct snapshot *s, const uint8_t *name, size_t len)
{
	uint32_t h = snapshot_hash(name, len);
	const struct pm_page *pg = pm_page_of(&s->names, h);
	if (pg == NULL)
		return NULL;
	for (uint32_t i = h & pg->mask; pg->slot[i] != 0; i = (i + 1) & pg->mask) {
		const struct snap_node *n = (const struct snap_node *)(uintptr_t)pg->slot[i];
		if (n->hash == h && n->name_len == len && memcmp(n->name, name, len) == 0)
			return n;
	}
	return NULL;
}

#define CHILDREN_MAX 8 /* children of one parent with the same hash */

static int cmp_node_name(const void *pa, const void *pb);

/* The nodes of hash h one label below parent (two can share a hash), in name
 * order. Fills up to CHILDREN_MAX, returns the count. */
static size_t find_children(const struct snapshot *s, const struct snap_node *parent, uint32_t h,
			    const struct snap_node **out)
{
	const struct pm_page *pg = pm_page_of(&s->names, h);
	size_t n = 0;
	for (uint32_t i = pg ? h & pg->mask : 0; pg != NULL && pg->slot[i] != 0 && n < CHILDREN_MAX;
	     i = (i + 1) & pg->mask) {
		const struct snap_node *c = (const struct snap_node *)(uintptr_t)pg->slot[i];
		if (c->hash == h && c->name_len == c->name[0] + 1 + parent->name_len &&
		    memcmp(c->name + c->name[0] + 1, parent->name, parent->name_len) == 0)
			out[n++] = c;
	}
	if (n > 1)
		qsort(out, n, sizeof(*out), cmp_node_name);
	return n;
}

const struct snap_rrset *snap_node_rrset(const struct snap_node *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

bool snap_is_hex_label(const uint8_t *label, size_t min, size_t max)
{
	if (label[0] < min || label[0] > max)
		return false;
	for (size_t i = 1; i <= label[0]; i++)
		if (!((label[i] >= '0' && label[i] <= '9') || (label[i] >= 'a' && label[i] <= 'f')))
			return false;
	return true;
}

/* Is name exactly one label below the apex of z? */
static bool child_of_apex(const uint8_t *name, size_t len, const struct snap_zone *z)
{
	return z != NULL && len == (size_t)name[0] + 1 + z->apex_len &&
	       memcmp(name + name[0] + 1, z->apex, z->apex_len) == 0;
}

static int cmp_node_name(const void *pa, const void *pb)
{
	const struct snap_node *a = *(const struct snap_node *const *)pa;
	const struct snap_node *b = *(const struct snap_node *const *)pb;
	return snap_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* Sort by name and drop repeats (colliding hashes list a node twice). */
static size_t sort_unique(const struct snap_node **v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_node_name);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

const struct snap_node *snapshot_wildcard(const struct snapshot *s, const uint8_t *name, size_t len,
					  const struct snap_zone *z)
{
	/* Walk up to the closest encloser: the nearest existing ancestor. */
	while (len > z->apex_len) {
		len -= (size_t)name[0] + 1;
		name += name[0] + 1;
		if (snapshot_find(s, name, len) != NULL)
			break;
	}
	uint8_t star[KNOT_DNAME_MAXLEN + 2];
	if (len + 2 > KNOT_DNAME_MAXLEN)
		return NULL;
	star[0] = 1;
	star[1] = '*';
	memcpy(star + 2, name, len);
	return snapshot_find(s, star, len + 2);
}

static unsigned hexval(uint8_t c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

uint16_t snap_id_key(const uint8_t *label)
{
	return (uint16_t)(hexval(label[1]) << 12 | hexval(label[2]) << 8 | hexval(label[3]) << 4 |
			  hexval(label[4]));
}

size_t snapshot_id_prefix(const struct snapshot *s, const uint8_t *name, const struct snap_zone *z,
			  const struct snap_node **out, size_t max)
{
	size_t len = knot_dname_size(name);
	if (!child_of_apex(name, len, z) || !snap_is_hex_label(name, 4, 63))
		return 0;
	size_t plen = name[0];
	uint8_t zone = (uint8_t)(z - s->zones + 1);
	uint16_t key = snap_id_key(name);
	uint32_t h = snap_id_hash(zone, key);
	const struct pm_page *pg = pm_page_of(&s->ids, h);
	const struct snap_node *apex = snapshot_find(s, z->apex, z->apex_len);
	if (pg == NULL || apex == NULL || max == 0)
		return 0;
	/* Every ID of these first 4 digits, then the first max by name: the
	 * same whatever order the index holds them in. The run of one page is
	 * short (it is at most half full). */
	size_t n = 0;
	for (uint32_t i = h & pg->mask; pg->slot[i] != 0; i = (i + 1) & pg->mask) {
		uint64_t e = pg->slot[i];
		if (snap_id_entry_zone(e) != zone || snap_id_entry_key(e) != key)
			continue;
		const struct snap_node *c[CHILDREN_MAX];
		size_t nc = find_children(s, apex, (uint32_t)e, c);
		for (size_t k = 0; k < nc; k++) {
			if (memcmp(c[k]->name + 1, name + 1, plen) != 0 ||
			    !snap_is_hex_label(c[k]->name, 63, 63))
				continue;
			if (n < max) {
				out[n++] = c[k];
				continue;
			}
			/* full: keep the max smallest names */
			size_t worst = 0;
			for (size_t j = 1; j < n; j++)
				if (cmp_node_name(&out[j], &out[worst]) > 0)
					worst = j;
			if (cmp_node_name(&c[k], &out[worst]) < 0)
				out[worst] = c[k];
		}
	}
	return sort_unique(out, n);
}

bool snapshot_has_star(const uint8_t *name)
{
	for (; name[0] != 0; name += name[0] + 1)
		if (name[0] == 1 && name[1] == '*')
			return true;
	return false;
}

struct pattern_walk {
	const struct snapshot *s;
	const uint8_t *labels[KNOT_DNAME_MAXLABELS]; /* the pattern's labels above the apex */
	const struct snap_node **out;
	size_t max, n;
};

/* A page of a child set is sorted on the stack when walked: pages hold about
 * 48 entries (pmap.c), 128 at most unless the hashes are badly skewed. */
#define PAGE_SORT_MAX 1024

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	return a < b ? -1 : a > b;
}

static bool is_star(const uint8_t *label)
{
	return label[0] == 1 && label[1] == '*';
}

/* node matches the pattern's labels right of labels[i]; match labels[i] .. labels[0]
 * below it. */
static void pattern_descend(struct pattern_walk *w, const struct snap_node *node, int i)
{
	if (i < 0) {
		/* a wildcard owner only matches itself, not as a pattern target */
		if (node->nrrsets > 0 && !is_star(node->name))
			w->out[w->n++] = node;
		return;
	}
	if (node->height <= i)
		return; /* nothing that deep below */
	const uint8_t *label = w->labels[i];
	if (is_star(label)) {
		/* Children in the order of their hashes (pages cover ascending
		 * ranges of them; each page is sorted here), then names: an order
		 * that depends only on the names, not on how this version was
		 * made, so the first max matches are the same in every version. */
		const struct pmap *m = &node->children;
		size_t npages = m->bits == 0 ? 1 : (size_t)1 << m->bits;
		for (size_t p = 0; m->p != NULL && p < npages && w->n < w->max; p++) {
			const struct pm_page *pg =
				m->bits == 0 ? m->p : ((const struct pm_dir *)m->p)->page[p];
			uint32_t hashes[PAGE_SORT_MAX];
			size_t nh = 0;
			for (uint32_t j = 0; j <= pg->mask && nh < PAGE_SORT_MAX; j++)
				if (pg->slot[j] != 0)
					hashes[nh++] = (uint32_t)pg->slot[j];
			qsort(hashes, nh, sizeof(hashes[0]), cmp_u32);
			for (size_t j = 0; j < nh && w->n < w->max; j++) {
				if (j > 0 && hashes[j] == hashes[j - 1])
					continue; /* two children of one hash: both found below */
				const struct snap_node *c[CHILDREN_MAX];
				size_t nc = find_children(w->s, node, hashes[j], c);
				for (size_t k = 0; k < nc && w->n < w->max; k++)
					pattern_descend(w, c[k], i - 1);
			}
		}
		return;
	}
	uint8_t name[KNOT_DNAME_MAXLEN];
	size_t len = (size_t)label[0] + 1 + node->name_len;
	if (len > KNOT_DNAME_MAXLEN)
		return;
	memcpy(name, label, (size_t)label[0] + 1);
	memcpy(name + label[0] + 1, node->name, node->name_len);
	const struct snap_node *c = snapshot_find(w->s, name, len);
	if (c != NULL)
		pattern_descend(w, c, i - 1);
}

size_t snapshot_match_pattern(const struct snapshot *s, const uint8_t *name, size_t len,
			      const struct snap_zone *z, const struct snap_node **out, size_t max)
{
	struct pattern_walk w = { .s = s, .out = out, .max = max };
	int nlabels = 0;
	size_t off = 0;
	while (len - off > z->apex_len) {
		if (name[off] == 0 || nlabels == KNOT_DNAME_MAXLABELS)
			return 0;
		w.labels[nlabels++] = name + off;
		off += (size_t)name[off] + 1;
	}
	const struct snap_node *apex = snapshot_find(s, z->apex, z->apex_len);
	if (apex == NULL || max == 0)
		return 0;
	pattern_descend(&w, apex, nlabels - 1);
	return sort_unique(out, w.n);
}

/* --- Freeing --- */

void snap_free_obj(void *obj)
{
	free(obj);
}

static void free_garbage(struct ptrvec *g)
{
	for (size_t i = 0; i < g->n; i++)
		snap_free_obj(g->v[i]);
	ptrvec_clear(g);
}

static void retire_now(struct snapshot *s)
{
	/* A large version freed leaves its pages scattered through the heap:
	 * give them back (this runs in the RCU callback thread, not the loop). */
	bool trim = s->garbage.n > 4096;
	free_garbage(&s->garbage);
	free((void *)s->zones);
	free(s);
	if (trim)
		malloc_trim(0);
}

static void retire_cb(struct rcu_head *head)
{
	retire_now(caa_container_of(head, struct snapshot, rcu));
}

void snapshot_retire(struct snapshot *old)
{
	if (old != NULL)
		call_rcu(&old->rcu, retire_cb);
}

static void free_node(void *arg, uint64_t e)
{
	struct snap_node *n = (struct snap_node *)(uintptr_t)e;
	pm_destroy(&n->children);
	free(n);
}

void snapshot_free(struct snapshot *s)
{
	if (s == NULL)
		return;
	pm_foreach(&s->names, free_node, NULL);
	pm_destroy(&s->names);
	pm_destroy(&s->ids);
	retire_now(s);
}

static void free_cb(struct rcu_head *head)
{
	snapshot_free(caa_container_of(head, struct snapshot, rcu));
	malloc_trim(0);
}

void snapshot_free_deferred(struct snapshot *s)
{
	if (s != NULL)
		call_rcu(&s->rcu, free_cb);
}
