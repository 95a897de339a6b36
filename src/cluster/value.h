/* SPDX-License-Identifier: MIT */
/* What one node publishes for one origin, as the JSON value of its etcd key:
 *   {"v": 1, "node": "a", "origin": "docker:<id>", "stamp": <ms since the epoch>,
 *    "records": [{"name": "web.docker.", "type": "A", "ttl": 10, "data": "<base64 rdata>",
 *                 "prefix": 24}, ...]}
 * rdata is the record's wire form; "prefix" (A/AAAA only, optional) is the length of the
 * network the address is on. A value read from etcd is untrusted: decoding checks all of it. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "routing/routes.h"
#include "store/recset.h"

#define CLUSTER_VALUE_VERSION 1
#define CLUSTER_VALUE_MAX \
	(1u << 20) /* bytes of one value (etcd's default request limit is 1.5 MiB) */
#define CLUSTER_VALUE_MAX_RECORDS 20000 /* records in one value */

/* The records part of a value ("[...]", compact), in a new string; with a 64-bit digest of it
 * in *digest so that an unchanged origin is not written again. 0, -EFBIG (over
 * CLUSTER_VALUE_MAX or CLUSTER_VALUE_MAX_RECORDS), -ENOMEM. */
int cluster_records_json(const struct recset *rs, char **out, size_t *len, uint64_t *digest);
/* A whole value around a records part from cluster_records_json: a new string, or NULL. */
char *cluster_value_wrap(const char *node, const char *origin, int64_t stamp_ms,
			 const char *records, size_t records_len, size_t *len);

/* The routes part of a value ("[...]"): a new string, or NULL if out of memory. */
char *cluster_routes_json(const struct route *r, size_t n, size_t *len);
/* cluster_value_wrap with a routes part too (NULL: none). */
char *cluster_value_wrap_routes(const char *node, const char *origin, int64_t stamp_ms,
				const char *records, size_t records_len, const char *routes,
				size_t routes_len, size_t *len);
/* The routes of a value that cluster_value_decode accepted, in a new array *out of *n (NULL
 * and 0 when it has none): {"kind": "http"|"tls", "host", "path", "service", "addr", "port"}
 * each, every field checked. 0, BERTH_EPARSE with a reason, -ENOMEM. */
int cluster_value_routes(const char *text, size_t len, struct route **out, size_t *n, char *err,
			 size_t errlen);

/* Decode the value of the key of (node, origin): its records in a new *out and its stamp.
 * Refused, with a reason in err: not JSON, over the limits, another version, a node or origin
 * that is not the key's, a record that is malformed or of a type no node may publish (only A,
 * AAAA, CNAME, PTR, SRV, TXT, MX: never SOA or NS). 0, BERTH_EPARSE, -EFBIG, -ENOMEM. */
int cluster_value_decode(const char *text, size_t len, const char *node, const char *origin,
			 struct recset **out, int64_t *stamp_ms, char *err, size_t errlen);
