/* SPDX-License-Identifier: MIT */
/* An immutable, read-only view of every record, built by the registry and read
 * by DNS workers under RCU. Answers are precomputed in wire form per name and
 * type, so a query costs a parse, one hash lookup and a copy. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/recset.h"

/* One type's records at one name, in wire form without the owner:
 * for each RR: TYPE CLASS TTL RDLENGTH RDATA (10 + rdlen bytes). */
struct snap_rrset {
	const uint8_t *wire;   /* count RR tails, back to back */
	const uint32_t *offs;  /* offs[i]: start of RR i in wire; offs[count] == len */
	const uint8_t *nets;   /* A/AAAA: prefix length of RR i's network, NULL = none known */
	uint32_t len;
	uint16_t type;
	uint16_t count;
};

struct snap_zone {
	const uint8_t *apex;   /* lowercase wire name */
	uint16_t apex_len;
	uint8_t apex_labels;
	const uint8_t *soa;    /* SOA RR tail (TYPE..RDATA) for the authority section */
	uint16_t soa_len;
};

struct snap_node {
	const uint8_t *name;   /* lowercase wire name */
	const struct snap_rrset *rrsets; /* sorted by type */
	const struct snap_zone *zone;    /* zone the name lies in; NULL = an owned name outside any zone */
	/* The zone's names as a tree (every name between a record and its apex
	 * exists): the first child, and the next child of the same parent. */
	const struct snap_node *child, *sibling;
	uint32_t hash;
	uint16_t nrrsets;      /* 0 = empty non-terminal */
	uint8_t name_len;      /* a wire name is at most 255 bytes */
	uint8_t height;        /* labels from here down to its deepest descendant */
};

struct snapshot {
	const struct snap_node **table; /* open addressing, size mask+1 */
	uint32_t mask;
	uint32_t nnodes;
	uint32_t nrecords;
	const struct snap_zone *zones;
	uint32_t nzones;
	uint64_t serial;
	const struct snap_node **ids; /* "<63 hex>.<apex>" nodes, sorted: ID-prefix lookups */
	uint32_t nids;
	void *mem;               /* one allocation holding everything above */
};

/* Build from record sets. Records that are equal (owner, type, rdata) are kept once
 * with the smaller TTL. Every name between a record and its zone apex exists (as
 * an empty non-terminal if it has no records). */
/* apexes: the zones berth is authoritative for (lowercase wire names); each must
 * have an SOA record among the sets. The authority-section TTL is
 * min(SOA TTL, MINIMUM). */
struct snapshot *snapshot_build(const struct recset *const *sets, size_t nsets,
                                const uint8_t *const *apexes, size_t napexes, uint64_t serial);
void snapshot_free(struct snapshot *s);

/* Exact lookup of a lowercase wire name. */
const struct snap_node *snapshot_find(const struct snapshot *s, const uint8_t *name, size_t len);
const struct snap_rrset *snap_node_rrset(const struct snap_node *n, uint16_t type);
/* The zone whose apex is name or an ancestor of it, or NULL. */
const struct snap_zone *snapshot_zone_of(const struct snapshot *s, const uint8_t *name);

/* RFC 4592: the node "*.<closest encloser>" that synthesises an answer for a
 * name that does not exist inside a zone, or NULL. */
const struct snap_node *snapshot_wildcard(const struct snapshot *s, const uint8_t *name,
                                          size_t len, const struct snap_zone *z);

/* Nodes "<id>.<apex>" whose first label (the first 63 hex digits of a Docker ID:
 * a DNS label holds no more) starts with the first label of name (at least 4 hex
 * digits, name exactly one label below a zone apex).
 * Fills up to max nodes, returns the count. */
size_t snapshot_id_prefix(const struct snapshot *s, const uint8_t *name,
                          const struct snap_zone *z, const struct snap_node **out, size_t max);

/* Nodes with records matching name, in which a "*" label stands for any one
 * label; name lies in zone z (its apex labels are literal). The walk goes down
 * the zone's tree from the apex, so it costs what the pattern's literal labels
 * leave open, not the size of the snapshot. Names of a zone nested inside z (at or below
 * its own apex) are not z's. Fills up to max, returns the count. */
size_t snapshot_match_pattern(const struct snapshot *s, const uint8_t *name, size_t len,
                              const struct snap_zone *z, const struct snap_node **out,
                              size_t max);

/* Does name contain a label that is exactly "*"? */
bool snapshot_has_star(const uint8_t *name);

uint32_t snapshot_hash(const uint8_t *name, size_t len);
