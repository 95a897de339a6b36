/* SPDX-License-Identifier: MIT */
#include "sources/docker/ctrs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t id_hash(const char *id)
{
	size_t h = 14695981039346656037ull;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ull;
	return h;
}

static int grow(struct ctr_table *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
	struct ctr **b = calloc(n, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (struct ctr *c = t->buckets[i], *next; c; c = next) {
			next = c->hnext;
			size_t k = id_hash(c->id) & (n - 1);
			c->hnext = b[k];
			b[k] = c;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

int ctrs_init(struct ctr_table *t)
{
	memset(t, 0, sizeof(*t));
	return grow(t);
}

void ctrs_free(struct ctr_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (struct ctr *c = t->buckets[i], *next; c; c = next) {
			next = c->hnext;
			free(c);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct ctr *ctrs_find(const struct ctr_table *t, const char *id)
{
	if (t->nbuckets == 0)
		return NULL;
	for (struct ctr *c = t->buckets[id_hash(id) & (t->nbuckets - 1)]; c; c = c->hnext)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

struct ctr *ctrs_get(struct ctr_table *t, struct docker_source *s, const char *id)
{
	struct ctr *c = ctrs_find(t, id);
	if (c)
		return c;
	if (t->n >= t->nbuckets && grow(t) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->s = s;
	snprintf(c->id, sizeof(c->id), "%s", id);
	size_t k = id_hash(id) & (t->nbuckets - 1);
	c->hnext = t->buckets[k];
	t->buckets[k] = c;
	t->n++;
	return c;
}

void ctrs_remove(struct ctr_table *t, struct ctr *c)
{
	ctrs_dequeue(t, c);
	struct ctr **pp = &t->buckets[id_hash(c->id) & (t->nbuckets - 1)];
	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	t->n--;
	free(c);
}

static void fifo_push(struct fifo *f, struct ctr *c)
{
	c->qnext = NULL;
	c->qprev = f->tail;
	if (f->tail)
		f->tail->qnext = c;
	else
		f->head = c;
	f->tail = c;
}

void ctrs_dequeue(struct ctr_table *t, struct ctr *c)
{
	struct fifo *f = c->q == Q_URGENT ? &t->urgent : c->q == Q_BULK ? &t->bulk : NULL;
	if (f == NULL)
		return;
	if (c->qprev)
		c->qprev->qnext = c->qnext;
	else
		f->head = c->qnext;
	if (c->qnext)
		c->qnext->qprev = c->qprev;
	else
		f->tail = c->qprev;
	c->qprev = c->qnext = NULL;
	c->q = Q_NONE;
}

void ctrs_enqueue(struct ctr_table *t, struct ctr *c, enum queue q)
{
	if (c->q == q || (c->q == Q_URGENT && q == Q_BULK))
		return;
	ctrs_dequeue(t, c);
	fifo_push(q == Q_URGENT ? &t->urgent : &t->bulk, c);
	c->q = q;
}

struct ctr *ctrs_next(const struct ctr_table *t)
{
	return t->urgent.head ? t->urgent.head : t->bulk.head;
}
