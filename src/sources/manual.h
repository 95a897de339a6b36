/* SPDX-License-Identifier: MIT */
/* Manual records: dnsdock's "services" put over the HTTP API, one origin
 * "manual:<id>" each, kept in <state-dir>/manual.json (written atomically). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sources/source.h"
#include "store/recset.h"

struct registry;

#define MANUAL_FILE "manual.json"
#define MANUAL_ID_MAX 128 /* bytes in a service ID */
#define MANUAL_MAX_SERVICES 4096
#define MANUAL_MAX_IPS 64
#define MANUAL_MAX_ALIASES 32
#define MANUAL_TTL_MAX 2147483647u

/* Where manual names live: <name>.<image>[.<environment>].<domain>. */
struct manual_naming {
	const char *domain;      /* "docker", no trailing dot */
	const char *environment; /* "" or NULL for none */
};

/* --- Pure parts (no I/O) --- */

/* A service ID: 1..MANUAL_ID_MAX letters, digits, '-', '_' or '.', not "." or "..". */
bool manual_id_valid(const char *id);

/* Check a dnsdock service object and return it in canonical form:
 * {"name": s, "image": s, "ips": [s...], "ttl": n (-1: the default), "aliases": [s...]},
 * and "http_port": n when given (a PATCH with "http_port": null takes it away).
 * Keys are matched case-insensitively (dnsdock's Go decoder does so); "ip" (a
 * string, older dnsdock) is read as "ips": [ip]. base == NULL: a PUT, and name,
 * image and ips are required. base != NULL: a PATCH, the fields given replace
 * those of base. 0 and *out (a new reference), or -EINVAL with the reason in err, or
 * -ENOMEM; *out is NULL then. */
int manual_service_parse(const json_t *in, const json_t *base, json_t **out, char *err,
			 size_t errlen);

/* The records of one canonical service: for every address, A or AAAA at
 * N.I[.E].D, *.N.I[.E].D (anything further left, as dnsdock), I[.E].D, E.D when
 * there is an environment, and at every alias (a full name). ttl -1 uses
 * default_ttl. 0 or a negative error (-EINVAL: a name too long for DNS). */
int manual_service_records(const json_t *svc, const struct manual_naming *nm, uint32_t default_ttl,
			   struct recset *out);

/* --- The source --- */

struct manual_source;

/* Load <state_dir>/manual.json (missing: no services) into the registry.
 * state_dir NULL keeps services in memory only. A file that cannot be parsed,
 * or holds services that do not validate, is renamed aside (manual.json.bad-<time>)
 * with an error logged, and what was valid is served. default_ttl is --ttl,
 * used until PUT /set/ttl sets another. Strings in nm are copied. 0 and *out, or
 * -ENOMEM (a file that cannot be used is no failure: it is logged and shown in the status). */
int manual_source_new(struct registry *reg, const char *state_dir, const struct manual_naming *nm,
		      uint32_t default_ttl, struct manual_source **out);
/* Frees the source; its records stay in the registry (shutdown frees them). */
void manual_source_free(struct manual_source *ms);

/* Every service, {"<id>": service, ...} (a new reference, NULL if out of memory). */
json_t *manual_services(const struct manual_source *ms);
/* One service (borrowed, valid until the next change) or NULL. */
const json_t *manual_get(const struct manual_source *ms, const char *id);
size_t manual_count(const struct manual_source *ms);
uint32_t manual_default_ttl(const struct manual_source *ms);

/* Changes. Each saves the whole state first; if that fails nothing changes and
 * the reason is in err. 0, or -ENOENT (no such service), -ENOSPC (too many
 * services), -EINVAL (records could not be built, reason in err), -EIO (not
 * saved), -ENOMEM. */
/* Create or replace; svc is canonical (manual_service_parse) and is taken. */
int manual_put(struct manual_source *ms, const char *id, json_t *svc, bool *created, char *err,
	       size_t errlen);
int manual_delete(struct manual_source *ms, const char *id, char *err, size_t errlen);
/* The TTL of services whose ttl is -1; their records are rebuilt. */
int manual_set_ttl(struct manual_source *ms, uint32_t ttl, char *err, size_t errlen);

/* This source for /status and /health: {"name":"manual","kind":"manual",
 * "state":"ok"|"degraded","required":false,"services":N,"file":path|null,
 * "error":msg|null} (new reference). */
json_t *manual_status(const struct manual_source *ms);
/* status: manual_status; no reload (berth alone writes the file). */
extern const struct source_ops manual_source_ops;
