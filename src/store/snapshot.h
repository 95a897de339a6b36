/* SPDX-License-Identifier: MIT */
/* An immutable, read-only view of every record, read by DNS workers under RCU.
 * Answers are precomputed in wire form per name and type, so a query costs a
 * parse, one hash lookup and a copy. A new version is built from the last one by
 * changing only the names a change touches: everything else is shared (copy on
 * write), and what a version no longer shares is freed once no reader sees it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu.h>

#include "store/pmap.h"
#include "store/recset.h"

/* One type's records at one name, in wire form without the owner:
 * for each RR: TYPE CLASS TTL RDLENGTH RDATA (10 + rdlen bytes). */
struct snap_rrset {
	const uint8_t *wire;  /* count RR tails, back to back */
	const uint32_t *offs; /* offs[i]: start of RR i in wire; offs[count] == len */
	const uint8_t *nets;  /* A/AAAA: prefix length of RR i's network, NULL = none known */
	uint32_t len;
	uint16_t type;
	uint16_t count;
};

struct snap_zone {
	const uint8_t *apex; /* lowercase wire name */
	uint16_t apex_len;
	uint8_t apex_labels;
	const uint8_t *soa; /* SOA RR tail (TYPE..RDATA) for the authority section */
	uint16_t soa_len;
};

/* One block per name: this header, the name, then (the control thread's) the
 * records that make the name, then its rrsets and their wire data. */
struct snap_node {
	const struct snap_rrset *rrsets; /* sorted by type; NULL for an empty non-terminal */
	/* Inside a zone, every name between a record and the apex exists: the
	 * hashes of this name's children (the zone's tree, walked by patterns). */
	struct pmap children;
	uint32_t hash;
	uint32_t gen;     /* the build that made this version */
	uint32_t size;    /* of the whole block */
	uint32_t nrecs;   /* control thread: records of the name */
	uint16_t nrrsets; /* 0 = empty non-terminal */
	uint8_t cap_log;  /* room for records: 0, or 1 << (cap_log - 1) */
	uint8_t name_len; /* a wire name is at most 255 bytes */
	uint8_t height;   /* at least the labels from here to its deepest descendant */
	uint8_t zone;     /* 1 + index of its zone in the snapshot; 0 = outside every zone */
	uint8_t linked;   /* hung from its parent (control thread) */
	uint8_t name[];   /* lowercase wire name */
};

struct snapshot {
	struct pmap names; /* every node, by snapshot_hash of its name */
	struct pmap ids;   /* "<63 hex>.<apex>" nodes by their first 4 hex digits */
	const struct snap_zone *zones;
	uint32_t nzones;
	uint32_t nnodes;
	uint32_t nrecords;
	uint64_t serial;
	/* Retirement: what the next version no longer shares with this one. */
	struct ptrvec garbage;
	struct rcu_head rcu;
};

/* Exact lookup of a lowercase wire name. */
const struct snap_node *snapshot_find(const struct snapshot *s, const uint8_t *name, size_t len);
const struct snap_rrset *snap_node_rrset(const struct snap_node *n, uint16_t type);
/* The zone whose apex is name or an ancestor of it, or NULL. */
const struct snap_zone *snapshot_zone_of(const struct snapshot *s, const uint8_t *name);
/* The zone node n lies in, or NULL. */
const struct snap_zone *snap_node_zone(const struct snapshot *s, const struct snap_node *n);

/* RFC 4592: the node "*.<closest encloser>" that synthesises an answer for a
 * name that does not exist inside a zone, or NULL. */
const struct snap_node *snapshot_wildcard(const struct snapshot *s, const uint8_t *name, size_t len,
					  const struct snap_zone *z);

/* Nodes "<id>.<apex>" whose first label (the first 63 hex digits of a Docker ID:
 * a DNS label holds no more) starts with the first label of name (at least 4 hex
 * digits, name exactly one label below a zone apex), in name order.
 * Fills up to max nodes, returns the count. */
size_t snapshot_id_prefix(const struct snapshot *s, const uint8_t *name, const struct snap_zone *z,
			  const struct snap_node **out, size_t max);

/* Nodes with records matching name, in which a "*" label stands for any one
 * label; name lies in zone z (its apex labels are literal). The walk goes down
 * the zone's tree from the apex, so it costs what the pattern's literal labels
 * leave open, not the size of the snapshot. Names of a zone nested inside z (at or below
 * its own apex) are not z's. Fills up to max in name order (of the first max
 * found), returns the count. */
size_t snapshot_match_pattern(const struct snapshot *s, const uint8_t *name, size_t len,
			      const struct snap_zone *z, const struct snap_node **out, size_t max);

/* Does name contain a label that is exactly "*"? */
bool snapshot_has_star(const uint8_t *name);

uint32_t snapshot_hash(const uint8_t *name, size_t len);

/* --- Building (control thread) --- */

/* The state from which each version is made from the last: the last version,
 * and for every name the records that make it. */
struct snap_builder;

/* apexes: the zones berth is authoritative for (lowercase wire names); each must
 * have an SOA record by the first commit. The authority-section TTL is
 * min(SOA TTL, MINIMUM). */
struct snap_builder *snap_builder_new(const uint8_t *const *apexes, size_t napexes);
/* Frees the builder; its last version stays with the caller (snapshot_free). */
void snap_builder_free(struct snap_builder *b);

/* The records of rs enter, or leave, the next version. rs must not change and
 * must live until the commit that follows; a set that leaves must be one that
 * entered before. Records that are equal (owner, type, rdata) are kept once with
 * the smaller TTL. 0 or a negative code; after an error the builder is broken. */
int snap_builder_add(struct snap_builder *b, const struct recset *rs);
int snap_builder_remove(struct snap_builder *b, const struct recset *rs);

/* Make the next version of what was added and removed, sharing all the rest
 * with the last one. The last one (returned by the previous commit) then holds
 * what the new one no longer shares: free it with snapshot_retire once no reader
 * can see it. 0 or a negative code; after an error the builder is broken (the
 * last version stays as it is: free it with snapshot_free once unseen). */
int snap_builder_commit(struct snap_builder *b, uint64_t serial, struct snapshot **out);
bool snap_builder_broken(const struct snap_builder *b);

/* Free what the next version replaced, after an RCU grace period (call_rcu:
 * the caller must be an RCU-registered thread). */
void snapshot_retire(struct snapshot *old);
/* Free a version and everything it holds, now (or, deferred, after a grace period). */
void snapshot_free(struct snapshot *s);
void snapshot_free_deferred(struct snapshot *s);

/* A version built from scratch (tests, and the measure of what incremental
 * versions must equal). */
struct snapshot *snapshot_build(const struct recset *const *sets, size_t nsets,
				const uint8_t *const *apexes, size_t napexes, uint64_t serial);
