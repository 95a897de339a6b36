/* SPDX-License-Identifier: MIT */
/* What the snapshot's lookups and its builder share, inside src/store only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/recset.h"

/* The records that make one name, kept by the control thread beside the node
 * (readers never look at it). One block; freed through snap_free_obj with its
 * pointer tagged by the low bit. */
struct snap_ctl {
	uint32_t n, cap;
	uint32_t mark; /* the build that last rebuilt the name */
	const struct rec *recs[];
};

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
