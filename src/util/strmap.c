/* SPDX-License-Identifier: MIT */
/* String-keyed hash map with chaining; the table doubles when it holds as many entries as
 * buckets. */
#include "util/strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct strmap_entry {
	struct strmap_entry *next;
	void *val;
	uint32_t hash;
	char key[];
};

static uint32_t hash_of(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

static struct strmap_entry **slot(const struct strmap *m, const char *key, uint32_t h)
{
	struct strmap_entry **pp = &m->table[h & m->mask];
	while (*pp != NULL && !((*pp)->hash == h && strcmp((*pp)->key, key) == 0))
		pp = &(*pp)->next;
	return pp;
}

static int grow(struct strmap *m)
{
	size_t size = m->table == NULL ? 16 : (m->mask + 1) * 2;
	struct strmap_entry **t = calloc(size, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	for (size_t i = 0; m->table != NULL && i <= m->mask; i++) {
		for (struct strmap_entry *e = m->table[i], *next; e != NULL; e = next) {
			next = e->next;
			e->next = t[e->hash & (size - 1)];
			t[e->hash & (size - 1)] = e;
		}
	}
	free(m->table);
	m->table = t;
	m->mask = size - 1;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *val, void **old)
{
	uint32_t h = hash_of(key);
	if (old != NULL)
		*old = NULL;
	if (m->table != NULL) {
		struct strmap_entry *e = *slot(m, key, h);
		if (e != NULL) {
			if (old != NULL)
				*old = e->val;
			e->val = val;
			return 0;
		}
	}
	if ((m->table == NULL || m->n + 1 > m->mask + 1) && grow(m) != 0)
		return -ENOMEM;
	size_t len = strlen(key) + 1;
	struct strmap_entry *e = malloc(sizeof(*e) + len);
	if (e == NULL)
		return -ENOMEM;
	memcpy(e->key, key, len);
	e->val = val;
	e->hash = h;
	e->next = m->table[h & m->mask];
	m->table[h & m->mask] = e;
	m->n++;
	return 0;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	if (m->table == NULL)
		return NULL;
	struct strmap_entry *e = *slot(m, key, hash_of(key));
	return e != NULL ? e->val : NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
	if (m->table == NULL)
		return NULL;
	struct strmap_entry **pp = slot(m, key, hash_of(key));
	struct strmap_entry *e = *pp;
	if (e == NULL)
		return NULL;
	void *val = e->val;
	*pp = e->next;
	free(e);
	m->n--;
	return val;
}

void strmap_foreach(const struct strmap *m, void (*fn)(void *arg, const char *key, void *val),
		    void *arg)
{
	for (size_t i = 0; m->table != NULL && i <= m->mask; i++)
		for (struct strmap_entry *e = m->table[i]; e != NULL; e = e->next)
			fn(arg, e->key, e->val);
}

void strmap_foreach_del(struct strmap *m, bool (*fn)(void *arg, const char *key, void *val),
			void *arg)
{
	for (size_t i = 0; m->table != NULL && i <= m->mask; i++) {
		struct strmap_entry **pp = &m->table[i];
		while (*pp != NULL) {
			struct strmap_entry *e = *pp;
			if (fn(arg, e->key, e->val)) {
				*pp = e->next;
				free(e);
				m->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void strmap_clear(struct strmap *m, void (*free_val)(void *val))
{
	for (size_t i = 0; m->table != NULL && i <= m->mask; i++) {
		for (struct strmap_entry *e = m->table[i], *next; e != NULL; e = next) {
			next = e->next;
			if (free_val != NULL)
				free_val(e->val);
			free(e);
		}
	}
	free(m->table);
	*m = (struct strmap){ 0 };
}
