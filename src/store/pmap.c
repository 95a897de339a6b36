/* SPDX-License-Identifier: MIT */
/* The persistent hash multiset behind snapshots: copy-on-write pages. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/pmap.h"
#include "util/err.h"

/* Entries a page holds on average before the directory doubles; a page is
 * copied whole when a build changes it, so this bounds the cost of a change. */
#define PAGE_TARGET 48
#define PAGE_MIN 4

int ptrvec_push(struct ptrvec *p, void *ptr)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		void **v = realloc(p->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = ptr;
	return 0;
}

void ptrvec_clear(struct ptrvec *p)
{
	free(p->v);
	*p = (struct ptrvec){ 0 };
}

static struct pm_page *page_new(const struct pm_ctx *c, uint32_t slots)
{
	struct pm_page *pg = calloc(1, sizeof(*pg) + (size_t)slots * sizeof(uint64_t));
	if (pg == NULL)
		return NULL;
	pg->gen = c->gen;
	pg->mask = slots - 1;
	return pg;
}

static void page_put(struct pm_page *pg, const struct pm_ctx *c, uint64_t e)
{
	uint32_t i = c->hash(e) & pg->mask;
	while (pg->slot[i] != 0)
		i = (i + 1) & pg->mask;
	pg->slot[i] = e;
	pg->count++;
}

/* A page of this build holding what old holds, in slots slots. */
static struct pm_page *page_copy(const struct pm_page *old, const struct pm_ctx *c, uint32_t slots)
{
	struct pm_page *pg = page_new(c, slots);
	if (pg == NULL)
		return NULL;
	if (old != NULL && slots == old->mask + 1) {
		memcpy(pg->slot, old->slot, (size_t)slots * sizeof(uint64_t));
		pg->count = old->count;
	} else if (old != NULL) {
		for (uint32_t i = 0; i <= old->mask; i++)
			if (old->slot[i] != 0)
				page_put(pg, c, old->slot[i]);
	}
	return pg;
}

/* obj (a page or directory, made by build gen) is replaced. */
static int retire(const struct pm_ctx *c, void *obj, uint32_t gen)
{
	if (obj == NULL)
		return 0;
	if (gen == c->gen) {
		free(obj); /* this build's own: nobody else has seen it */
		return 0;
	}
	return ptrvec_push(c->garbage, obj);
}

static int retire_page(const struct pm_ctx *c, struct pm_page *pg)
{
	return retire(c, pg, pg ? pg->gen : 0);
}

static int retire_dir(const struct pm_ctx *c, struct pm_dir *d)
{
	return retire(c, d, d->gen);
}

/* The slot that holds the page for hash h, made writable by this build. */
static struct pm_page **page_slot(struct pmap *m, const struct pm_ctx *c, uint32_t h)
{
	if (m->bits == 0)
		return (struct pm_page **)&m->p;
	struct pm_dir *d = m->p;
	if (d->gen != c->gen) {
		size_t n = (size_t)1 << m->bits;
		struct pm_dir *nd = malloc(sizeof(*nd) + n * sizeof(nd->page[0]));
		if (nd == NULL)
			return NULL;
		nd->gen = c->gen;
		memcpy(nd->page, d->page, n * sizeof(nd->page[0]));
		if (retire_dir(c, d) != 0) {
			free(nd);
			return NULL;
		}
		m->p = d = nd;
	}
	return &d->page[h >> (32 - m->bits)];
}

/* A writable page for hash h with room for one more entry. */
static struct pm_page *page_for_write(struct pmap *m, const struct pm_ctx *c, uint32_t h,
				      uint32_t extra)
{
	struct pm_page **ps = page_slot(m, c, h);
	if (ps == NULL)
		return NULL;
	struct pm_page *pg = *ps;
	uint32_t slots = pg ? pg->mask + 1 : PAGE_MIN;
	uint32_t need = (pg ? pg->count : 0) + extra;
	while (need * 2 > slots)
		slots *= 2;
	if (pg != NULL && pg->gen == c->gen && slots == pg->mask + 1)
		return pg;
	struct pm_page *np = page_copy(pg, c, slots);
	if (np == NULL || retire_page(c, pg) != 0) {
		free(np);
		return NULL;
	}
	*ps = np;
	return np;
}

/* Double the directory: every entry moves to a page of its own top bits. */
static int split(struct pmap *m, const struct pm_ctx *c)
{
	uint8_t bits = (uint8_t)(m->bits + 1);
	size_t n = (size_t)1 << bits;
	struct pm_dir *nd = malloc(sizeof(*nd) + n * sizeof(nd->page[0]));
	if (nd == NULL)
		return -ENOMEM;
	nd->gen = c->gen;
	uint32_t slots = PAGE_MIN;
	while (slots < PAGE_TARGET)
		slots *= 2;
	int ret = 0;
	for (size_t i = 0; i < n; i++)
		if ((nd->page[i] = page_new(c, slots)) == NULL)
			ret = -ENOMEM;
	size_t npages = m->bits == 0 ? 1 : (size_t)1 << m->bits;
	for (size_t i = 0; i < npages && ret == 0; i++) {
		const struct pm_page *pg = m->bits == 0 ? m->p : ((struct pm_dir *)m->p)->page[i];
		for (uint32_t j = 0; pg != NULL && j <= pg->mask && ret == 0; j++) {
			uint64_t e = pg->slot[j];
			if (e == 0)
				continue;
			struct pm_page **ps = &nd->page[c->hash(e) >> (32 - bits)];
			if (((*ps)->count + 1) * 2 > (*ps)->mask + 1) {
				struct pm_page *big = page_copy(*ps, c, ((*ps)->mask + 1) * 2);
				if (big == NULL) {
					ret = -ENOMEM;
					break;
				}
				free(*ps);
				*ps = big;
			}
			page_put(*ps, c, e);
		}
	}
	if (ret != 0) {
		for (size_t i = 0; i < n; i++)
			free(nd->page[i]);
		free(nd);
		return ret; /* m is as it was */
	}
	for (size_t i = 0; i < npages; i++) {
		struct pm_page *pg = m->bits == 0 ? m->p : ((struct pm_dir *)m->p)->page[i];
		if (retire_page(c, pg) != 0)
			ret = -ENOMEM;
	}
	if (m->bits > 0 && retire_dir(c, m->p) != 0)
		ret = -ENOMEM;
	m->p = nd;
	m->bits = bits;
	return ret;
}

int pm_insert(struct pmap *m, const struct pm_ctx *c, uint64_t e)
{
	if (m->count + 1 > ((uint32_t)PAGE_TARGET << m->bits) && m->bits < 24) {
		int ret = split(m, c);
		if (ret != 0)
			return ret;
	}
	uint32_t h = c->hash(e);
	struct pm_page *pg = page_for_write(m, c, h, 1);
	if (pg == NULL)
		return -ENOMEM;
	page_put(pg, c, e);
	m->count++;
	return 0;
}

static int find_slot(const struct pm_page *pg, uint32_t h, uint64_t e, uint32_t *out)
{
	if (pg == NULL)
		return -ENOENT;
	for (uint32_t i = h & pg->mask; pg->slot[i] != 0; i = (i + 1) & pg->mask)
		if (pg->slot[i] == e) {
			*out = i;
			return 0;
		}
	return -ENOENT;
}

int pm_remove(struct pmap *m, const struct pm_ctx *c, uint64_t e)
{
	uint32_t h = c->hash(e), i;
	if (find_slot(pm_page_of(m, h), h, e, &i) != 0)
		return -ENOENT;
	struct pm_page *pg = page_for_write(m, c, h, 0);
	if (pg == NULL)
		return -ENOMEM;
	/* Backward-shift deletion: later entries of the run move up, so that
	 * every entry stays reachable from its home slot without tombstones. */
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & pg->mask;
		if (pg->slot[j] == 0)
			break;
		uint32_t k = c->hash(pg->slot[j]) & pg->mask;
		bool between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (!between) {
			pg->slot[i] = pg->slot[j];
			i = j;
		}
	}
	pg->slot[i] = 0;
	pg->count--;
	m->count--;
	if (m->count == 0) {
		/* Empty: nothing of it stays (detached first, so that a failed
		 * push can never leave a page both here and in garbage). */
		struct pmap old = *m;
		*m = (struct pmap){ 0 };
		int ret = 0;
		if (old.bits == 0)
			return retire_page(c, old.p);
		struct pm_dir *d = old.p;
		for (size_t k = 0; k < (size_t)1 << old.bits; k++)
			if (retire_page(c, d->page[k]) != 0)
				ret = -ENOMEM;
		if (retire_dir(c, d) != 0)
			ret = -ENOMEM;
		return ret;
	}
	return 0;
}

int pm_replace(struct pmap *m, const struct pm_ctx *c, uint64_t old, uint64_t e)
{
	uint32_t h = c->hash(old), i;
	if (find_slot(pm_page_of(m, h), h, old, &i) != 0)
		return -ENOENT;
	struct pm_page *pg = page_for_write(m, c, h, 0);
	if (pg == NULL)
		return -ENOMEM;
	pg->slot[i] = e;
	return 0;
}

void pm_foreach(const struct pmap *m, void (*fn)(void *arg, uint64_t e), void *arg)
{
	size_t npages = m->bits == 0 ? 1 : (size_t)1 << m->bits;
	for (size_t i = 0; m->p != NULL && i < npages; i++) {
		const struct pm_page *pg = m->bits == 0 ? m->p : ((struct pm_dir *)m->p)->page[i];
		for (uint32_t j = 0; pg != NULL && j <= pg->mask; j++)
			if (pg->slot[j] != 0)
				fn(arg, pg->slot[j]);
	}
}

void pm_destroy(struct pmap *m)
{
	if (m->p == NULL)
		return;
	if (m->bits == 0) {
		free(m->p);
	} else {
		struct pm_dir *d = m->p;
		for (size_t i = 0; i < (size_t)1 << m->bits; i++)
			free(d->page[i]);
		free(d);
	}
	*m = (struct pmap){ 0 };
}

void pm_destroy_gen(struct pmap *m, uint32_t gen)
{
	if (m->p == NULL)
		return;
	if (m->bits == 0) {
		struct pm_page *pg = m->p;
		if (pg->gen == gen)
			free(pg);
		return;
	}
	struct pm_dir *d = m->p;
	if (d->gen != gen)
		return; /* a page of this build has a directory of this build */
	for (size_t i = 0; i < (size_t)1 << m->bits; i++)
		if (d->page[i]->gen == gen)
			free(d->page[i]);
	free(d);
}
