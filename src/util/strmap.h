/* SPDX-License-Identifier: MIT */
/* A map from strings (copied) to pointers (not owned), hashed with chaining: the cluster's
 * tables of published and imported keys. Not thread-safe. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct strmap_entry;

struct strmap {
	struct strmap_entry **table;
	size_t mask; /* table size - 1; 0 before the first put */
	size_t n;
};

/* Set key to val (replacing any value: *old gets it, or NULL; old may be NULL). 0 or
 * -ENOMEM (nothing changed). An empty map needs no setup: struct strmap m = { 0 }. */
int strmap_put(struct strmap *m, const char *key, void *val, void **old);
/* The value of key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Remove key; its value, or NULL when absent. */
void *strmap_del(struct strmap *m, const char *key);
/* Call fn for every entry, in no order; fn may not change the map, except strmap_foreach_del
 * whose fn returns true to remove the entry it is given. */
void strmap_foreach(const struct strmap *m, void (*fn)(void *arg, const char *key, void *val),
		    void *arg);
void strmap_foreach_del(struct strmap *m, bool (*fn)(void *arg, const char *key, void *val),
			void *arg);
/* Remove everything, calling free_val (may be NULL) on each value, and free the table. */
void strmap_clear(struct strmap *m, void (*free_val)(void *val));
