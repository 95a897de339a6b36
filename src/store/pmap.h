/* SPDX-License-Identifier: MIT */
/* A persistent hash multiset of non-zero 64-bit entries, shared between
 * snapshot versions: a directory of small open-addressing pages, where a build
 * copies only the pages it changes (and the directory), so a change costs what
 * it changes, and readers of older versions keep what they see. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* A list of heap objects: what a build replaced, or what it made. */
struct ptrvec {
	void **v;
	size_t n, cap;
};
int ptrvec_push(struct ptrvec *p, void *ptr);
void ptrvec_clear(struct ptrvec *p);

struct pm_page {
	uint32_t gen;  /* the build that made it: only that build changes it */
	uint32_t mask; /* slots - 1 */
	uint32_t count;
	uint64_t slot[]; /* 0 = empty; linear probing from hash & mask */
};

struct pm_dir {
	uint32_t gen;
	struct pm_page *page[]; /* 1 << bits; none NULL */
};

struct pmap {
	void *p; /* bits == 0: the one page, or NULL; else a struct pm_dir */
	uint32_t count;
	uint8_t bits; /* the top bits of a hash choose the page */
};

/* What a build passes to every change. What it replaces of an older version
 * goes to garbage (freed once no reader can see it); what it replaces of its
 * own is freed at once. */
struct pm_ctx {
	uint32_t gen;
	uint32_t (*hash)(uint64_t e);
	struct ptrvec *garbage;
};

/* The page where entries of hash h live, or NULL. */
static inline const struct pm_page *pm_page_of(const struct pmap *m, uint32_t h)
{
	if (m->bits == 0)
		return (const struct pm_page *)m->p;
	return ((const struct pm_dir *)m->p)->page[h >> (32 - m->bits)];
}

/* 0 or -ENOMEM. Duplicates are allowed: the caller keeps entries distinct. */
int pm_insert(struct pmap *m, const struct pm_ctx *c, uint64_t e);
/* 0, -ENOENT or -ENOMEM. */
int pm_remove(struct pmap *m, const struct pm_ctx *c, uint64_t e);
/* Put e where old is; both have the same hash. 0, -ENOENT or -ENOMEM. */
int pm_replace(struct pmap *m, const struct pm_ctx *c, uint64_t old, uint64_t e);
void pm_foreach(const struct pmap *m, void (*fn)(void *arg, uint64_t e), void *arg);
/* Free the pages and the directory (not what entries point at). */
void pm_destroy(struct pmap *m);
/* Free what build gen made of m (after it failed). */
void pm_destroy_gen(struct pmap *m, uint32_t gen);
