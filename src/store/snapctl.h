/* SPDX-License-Identifier: MIT */
/* What the snapshot's lookups and its builder share, inside src/store only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/recset.h"
#include "store/snapshot.h"

/* The records that make a node's name (control thread), inside its block. */
static inline size_t snap_node_recs_off(size_t name_len)
{
	return (sizeof(struct snap_node) + name_len + 7) & ~(size_t)7;
}
static inline const struct rec **snap_node_recs(struct snap_node *n)
{
	return (const struct rec **)((uint8_t *)n + snap_node_recs_off(n->name_len));
}

int snap_name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
bool snap_in_zone(const uint8_t *name, size_t name_len, const uint8_t *apex, size_t apex_len);
bool snap_is_hex_label(const uint8_t *label, size_t min, size_t max);
void snap_free_obj(void *obj);

/* ID index entries: top bit set, the zone (1-based), the first 4 hex digits of
 * the ID as a number, and the hash of the node's name. */
uint16_t snap_id_key(const uint8_t *label);
static inline uint32_t snap_id_hash(uint8_t zone, uint16_t key)
{
	uint32_t x = (uint32_t)zone << 16 | key;
	x *= 2654435761u; /* spread over the pages: the top bits choose one */
	return x ^ (x >> 15);
}
static inline uint64_t snap_id_entry(uint8_t zone, uint16_t key, uint32_t hash)
{
	return 1ull << 63 | (uint64_t)zone << 48 | (uint64_t)key << 32 | hash;
}
static inline uint8_t snap_id_entry_zone(uint64_t e)
{
	return (uint8_t)(e >> 48);
}
static inline uint16_t snap_id_entry_key(uint64_t e)
{
	return (uint16_t)(e >> 32);
}
