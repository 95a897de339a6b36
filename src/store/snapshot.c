/* SPDX-License-Identifier: MIT */
/* Building and looking up the read-only snapshot that DNS workers answer from. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "store/snapshot.h"
#include "util/err.h"

/* The snapshot is written once and freed whole: a chain of large chunks. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(16) uint8_t data[];
};

/* align: a power of two up to 16; names and wire data need 1, so they pack. */
static void *arena_alloc_aligned(struct chunk **head, size_t len, size_t align)
{
	struct chunk *c = *head;
	if (c != NULL)
		c->used = (c->used + align - 1) & ~(align - 1);
	if (c == NULL || c->used > c->size || c->size - c->used < len) {
		size_t size = len > (1u << 20) ? len : (1u << 20);
		struct chunk *n = malloc(sizeof(*n) + size);
		if (n == NULL)
			return NULL;
		n->next = c;
		n->used = 0;
		n->size = size;
		*head = n;
		c = n;
	}
	void *p = c->data + c->used;
	c->used += len;
	return p;
}

static void *arena_alloc(struct chunk **head, size_t len)
{
	return arena_alloc_aligned(head, len, _Alignof(max_align_t));
}

static void arena_free(struct chunk *c)
{
	while (c != NULL) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

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

static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = *(const struct rec *const *)pa;
	const struct rec *b = *(const struct rec *const *)pb;
	int c = name_cmp(a->owner, knot_dname_size(a->owner), b->owner, knot_dname_size(b->owner));
	if (c != 0)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return name_cmp(a->rdata, a->rdlen, b->rdata, b->rdlen);
}

/* Is apex a suffix of name at a label boundary? */
static bool in_zone(const uint8_t *name, size_t name_len, const struct snap_zone *z)
{
	if (name_len < z->apex_len)
		return false;
	const uint8_t *p = name;
	while (name_len > z->apex_len) {
		name_len -= (size_t)p[0] + 1;
		p += p[0] + 1;
	}
	return name_len == z->apex_len && memcmp(p, z->apex, name_len) == 0;
}

const struct snap_zone *snapshot_zone_of(const struct snapshot *s, const uint8_t *name)
{
	size_t len = knot_dname_size(name);
	const struct snap_zone *best = NULL;
	for (uint32_t i = 0; i < s->nzones; i++) {
		const struct snap_zone *z = &s->zones[i];
		if (in_zone(name, len, z) && (best == NULL || z->apex_len > best->apex_len))
			best = z;
	}
	return best;
}

const struct snap_node *snapshot_find(const struct snapshot *s, const uint8_t *name, size_t len)
{
	uint32_t h = snapshot_hash(name, len);
	for (uint32_t i = h & s->mask;; i = (i + 1) & s->mask) {
		const struct snap_node *n = s->table[i];
		if (n == NULL)
			return NULL;
		if (n->hash == h && n->name_len == len && memcmp(n->name, name, len) == 0)
			return n;
	}
}

const struct snap_rrset *snap_node_rrset(const struct snap_node *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

static int rec_owner_cmp(const struct rec *a, const struct rec *b)
{
	return name_cmp(a->owner, knot_dname_size(a->owner), b->owner, knot_dname_size(b->owner));
}

/* Double the table, reinserting every node. */
static int table_grow(struct snapshot *s)
{
	uint32_t mask = s->mask * 2 + 1;
	const struct snap_node **table = calloc((size_t)mask + 1, sizeof(*table));
	if (table == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i <= s->mask; i++) {
		const struct snap_node *n = s->table[i];
		if (n == NULL)
			continue;
		uint32_t j = n->hash & mask;
		while (table[j] != NULL)
			j = (j + 1) & mask;
		table[j] = n;
	}
	free((void *)s->table);
	s->table = table;
	s->mask = mask;
	return 0;
}

/* Insert a node for name if there is none; returns it (or NULL on ENOMEM). */
static struct snap_node *table_get(struct snapshot *s, struct chunk **mem, const uint8_t *name,
                                   size_t len, bool *created)
{
	if ((size_t)(s->nnodes + 1) * 2 > (size_t)s->mask + 1 && table_grow(s) != 0)
		return NULL;
	uint32_t h = snapshot_hash(name, len);
	uint32_t i = h & s->mask;
	for (;; i = (i + 1) & s->mask) {
		const struct snap_node *n = s->table[i];
		if (n == NULL)
			break;
		if (n->hash == h && n->name_len == len && memcmp(n->name, name, len) == 0) {
			*created = false;
			return (struct snap_node *)n;
		}
	}
	struct snap_node *n = arena_alloc(mem, sizeof(*n));
	uint8_t *copy = arena_alloc_aligned(mem, len, 1);
	if (n == NULL || copy == NULL)
		return NULL;
	memcpy(copy, name, len);
	*n = (struct snap_node){ .name = copy, .name_len = (uint8_t)len, .hash = h };
	s->table[i] = n;
	s->nnodes++;
	*created = true;
	return n;
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

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Wire tails of records[0..n) (one owner and type, sorted, deduplicated). */
static int make_rrset(struct snap_rrset *out, struct chunk **mem, const struct rec *const *recs,
                      size_t n)
{
	uint32_t ttl = UINT32_MAX;
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		len += 10 + recs[i]->rdlen;
		if (recs[i]->ttl < ttl)
			ttl = recs[i]->ttl;
	}
	if (n > UINT16_MAX || len > UINT32_MAX)
		return BERTH_ETOOLONG;
	uint8_t *wire = arena_alloc_aligned(mem, len, 1);
	uint32_t *offs = arena_alloc_aligned(mem, (n + 1) * sizeof(*offs), _Alignof(uint32_t));
	if (wire == NULL || offs == NULL)
		return -ENOMEM;
	uint8_t *nets = NULL;
	for (size_t i = 0; i < n && nets == NULL; i++) {
		if (recs[i]->prefix != 0 && (nets = arena_alloc_aligned(mem, n, 1)) == NULL)
			return -ENOMEM;
	}
	for (size_t i = 0; nets != NULL && i < n; i++)
		nets[i] = recs[i]->prefix;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		offs[i] = (uint32_t)pos;
		put16(wire + pos, recs[i]->type);
		put16(wire + pos + 2, KNOT_CLASS_IN);
		put32(wire + pos + 4, ttl); /* one TTL per RRset (RFC 2181 5.2) */
		put16(wire + pos + 8, recs[i]->rdlen);
		memcpy(wire + pos + 10, recs[i]->rdata, recs[i]->rdlen);
		pos += 10 + recs[i]->rdlen;
	}
	offs[n] = (uint32_t)pos;
	*out = (struct snap_rrset){ .wire = wire, .offs = offs, .nets = nets, .len = (uint32_t)len,
		                    .type = recs[0]->type, .count = (uint16_t)n };
	return 0;
}

/* The authority-section SOA of a zone: the apex SOA with TTL min(TTL, MINIMUM). */
static int make_soa_tail(const uint8_t **out, uint16_t *out_len, struct chunk **mem,
                         const struct snap_rrset *soa)
{
	uint32_t len = soa->offs[1];
	uint8_t *tail = arena_alloc_aligned(mem, len, 1);
	if (tail == NULL)
		return -ENOMEM;
	memcpy(tail, soa->wire, len);
	uint16_t rdlen = (uint16_t)(len - 10);
	if (rdlen >= 20) {
		uint32_t minimum = get32(tail + len - 4);
		if (minimum < get32(tail + 4))
			put32(tail + 4, minimum);
	}
	*out = tail;
	*out_len = (uint16_t)len;
	return 0;
}

void snapshot_free(struct snapshot *s)
{
	if (s == NULL)
		return;
	free((void *)s->table);
	free((void *)s->ids);
	arena_free(s->mem);
	free(s);
}

static bool is_hex_label(const uint8_t *label, size_t min, size_t max)
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
	return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* Every node learns its zone; lists for the slow paths (ID prefixes, patterns). */
static uint8_t set_heights(struct snap_node *n);

static int index_nodes(struct snapshot *s)
{
	size_t cap = 0;
	for (uint32_t i = 0; i <= s->mask; i++) {
		struct snap_node *node = (struct snap_node *)s->table[i];
		if (node == NULL)
			continue;
		node->zone = snapshot_zone_of(s, node->name);
		if (is_hex_label(node->name, 63, 63) && child_of_apex(node->name, node->name_len, node->zone)) {
			if (s->nids == cap) {
				cap = cap ? cap * 2 : 16;
				const struct snap_node **ids = realloc(s->ids, cap * sizeof(*ids));
				if (ids == NULL)
					return -ENOMEM;
				s->ids = ids;
			}
			s->ids[s->nids++] = node;
		}
	}
	if (s->nids > 0)
		qsort(s->ids, s->nids, sizeof(*s->ids), cmp_node_name);
	/* The zones' trees (hung by add_empty_nonterminals): heights, from each apex down. */
	for (uint32_t i = 0; i < s->nzones; i++) {
		struct snap_node *apex =
			(struct snap_node *)snapshot_find(s, s->zones[i].apex, s->zones[i].apex_len);
		if (apex != NULL)
			set_heights(apex);
	}
	return 0;
}

const struct snap_node *snapshot_wildcard(const struct snapshot *s, const uint8_t *name,
                                          size_t len, const struct snap_zone *z)
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

size_t snapshot_id_prefix(const struct snapshot *s, const uint8_t *name,
                          const struct snap_zone *z, const struct snap_node **out, size_t max)
{
	size_t len = knot_dname_size(name);
	if (!child_of_apex(name, len, z) || !is_hex_label(name, 4, 63))
		return 0;
	size_t plen = name[0];
	/* Binary search for the first ID >= the prefix. Every ID label has the
	 * same length, so the names sort by their ID first. */
	size_t lo = 0, hi = s->nids;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (memcmp(s->ids[mid]->name + 1, name + 1, plen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	for (size_t i = lo; i < s->nids && n < max; i++) {
		const struct snap_node *node = s->ids[i];
		if (memcmp(node->name + 1, name + 1, plen) != 0)
			break;
		if (node->zone == z)
			out[n++] = node;
	}
	return n;
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
		for (const struct snap_node *c = node->child; c != NULL && w->n < w->max;
		     c = c->sibling)
			pattern_descend(w, c, i - 1);
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
                              const struct snap_zone *z, const struct snap_node **out,
                              size_t max)
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
	return w.n;
}

static size_t table_size_for(size_t n)
{
	size_t size = 16;
	while (size < n * 2)
		size <<= 1;
	return size;
}

/* Nodes for every name between a record's owner and its zone apex, each hung from its
 * parent (the zone's tree). node is the owner's, just made when created. */
static int add_empty_nonterminals(struct snapshot *s, struct chunk **mem, struct snap_node *node,
                                  bool created)
{
	const uint8_t *name = node->name;
	size_t len = node->name_len;
	const struct snap_zone *z = NULL;
	for (uint32_t i = 0; i < s->nzones; i++)
		if (in_zone(name, len, &s->zones[i]) &&
		    (z == NULL || s->zones[i].apex_len > z->apex_len))
			z = &s->zones[i];
	if (z == NULL)
		return 0;
	/* A node made earlier hangs from its parent already, and so do its ancestors. */
	while (created && len > z->apex_len) {
		len -= (size_t)name[0] + 1;
		name += name[0] + 1;
		struct snap_node *parent = table_get(s, mem, name, len, &created);
		if (parent == NULL)
			return -ENOMEM;
		node->sibling = parent->child;
		parent->child = node;
		node = parent;
		name = node->name;
	}
	return 0;
}

/* Labels from n down to its deepest descendant. */
static uint8_t set_heights(struct snap_node *n)
{
	uint8_t h = 0;
	for (struct snap_node *c = (struct snap_node *)n->child; c != NULL;
	     c = (struct snap_node *)c->sibling) {
		uint8_t ch = (uint8_t)(set_heights(c) + 1);
		if (ch > h)
			h = ch;
	}
	n->height = h;
	return h;
}

struct snapshot *snapshot_build(const struct recset *const *sets, size_t nsets,
                                const uint8_t *const *apexes, size_t napexes, uint64_t serial)
{
	struct chunk *mem = NULL;
	const struct rec **recs = NULL;
	struct snapshot *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->serial = serial;

	size_t total = 0;
	for (size_t i = 0; i < nsets; i++)
		total += recset_count(sets[i]);
	recs = malloc((total + 1) * sizeof(*recs));
	if (recs == NULL)
		goto fail;
	size_t n = 0;
	for (size_t i = 0; i < nsets; i++)
		for (size_t j = 0; j < recset_count(sets[i]); j++)
			recs[n++] = recset_get(sets[i], j);
	qsort(recs, n, sizeof(*recs), rec_cmp);

	/* Zones first, so that nodes can point at them. */
	struct snap_zone *zones = arena_alloc(&mem, (napexes + 1) * sizeof(*zones));
	if (zones == NULL)
		goto fail;
	for (size_t i = 0; i < napexes; i++) {
		size_t len = knot_dname_size(apexes[i]);
		uint8_t *apex = arena_alloc(&mem, len);
		if (apex == NULL)
			goto fail;
		memcpy(apex, apexes[i], len);
		zones[i] = (struct snap_zone){ .apex = apex, .apex_len = (uint16_t)len,
			                       .apex_labels = (uint8_t)knot_dname_labels(apex, NULL) };
	}
	s->zones = zones;
	s->nzones = (uint32_t)napexes;

	/* Distinct owners plus some room for empty non-terminals; the table
	 * grows if they are more (table_get keeps the load under one half). */
	size_t owners = napexes;
	for (size_t i = 0; i < n; i++)
		owners += i == 0 || rec_owner_cmp(recs[i - 1], recs[i]) != 0;
	s->mask = (uint32_t)(table_size_for(owners + owners / 4) - 1);
	s->table = calloc((size_t)s->mask + 1, sizeof(*s->table));
	if (s->table == NULL)
		goto fail;

	/* Group by owner, then by type; drop exact duplicates (keeping the smaller TTL). */
	for (size_t i = 0; i < n;) {
		const uint8_t *owner = recs[i]->owner;
		size_t owner_len = knot_dname_size(owner);
		size_t end = i;
		size_t ntypes = 0;
		uint16_t last_type = 0;
		while (end < n && name_cmp(recs[end]->owner, knot_dname_size(recs[end]->owner), owner,
		                           owner_len) == 0) {
			if (end == i || recs[end]->type != last_type)
				ntypes++;
			last_type = recs[end]->type;
			end++;
		}
		bool created;
		struct snap_node *node = table_get(s, &mem, owner, owner_len, &created);
		struct snap_rrset *rrsets = arena_alloc(&mem, ntypes * sizeof(*rrsets));
		const struct rec **uniq = malloc((end - i) * sizeof(*uniq));
		if (node == NULL || rrsets == NULL || uniq == NULL) {
			free(uniq);
			goto fail;
		}
		size_t t = 0;
		for (size_t j = i; j < end;) {
			size_t k = j, nu = 0;
			while (k < end && recs[k]->type == recs[j]->type) {
				if (nu > 0 && uniq[nu - 1]->rdlen == recs[k]->rdlen &&
				    memcmp(uniq[nu - 1]->rdata, recs[k]->rdata, recs[k]->rdlen) == 0) {
					if (recs[k]->ttl < uniq[nu - 1]->ttl)
						uniq[nu - 1] = recs[k];
				} else {
					uniq[nu++] = recs[k];
				}
				k++;
			}
			int ret = make_rrset(&rrsets[t++], &mem, uniq, nu);
			if (ret != 0) {
				free(uniq);
				goto fail;
			}
			j = k;
		}
		free(uniq);
		node->rrsets = rrsets;
		node->nrrsets = (uint16_t)t;
		s->nrecords += (uint32_t)(end - i);
		if (add_empty_nonterminals(s, &mem, node, created) != 0)
			goto fail;
		i = end;
	}

	/* Zone SOAs for negative answers; every node learns its zone. */
	for (size_t i = 0; i < napexes; i++) {
		const struct snap_node *apex = snapshot_find(s, zones[i].apex, zones[i].apex_len);
		const struct snap_rrset *soa = apex ? snap_node_rrset(apex, KNOT_RRTYPE_SOA) : NULL;
		if (soa == NULL || make_soa_tail(&zones[i].soa, &zones[i].soa_len, &mem, soa) != 0)
			goto fail;
	}
	if (index_nodes(s) != 0)
		goto fail;
	free(recs);
	s->mem = mem;
	return s;
fail:
	free(recs);
	free((void *)s->table);
	free((void *)s->ids);
	arena_free(mem);
	free(s);
	return NULL;
}
