/* SPDX-License-Identifier: MIT */
/* The operations every source offers the control loop: reload, status, free. */
#pragma once
#include <jansson.h>
#include <stddef.h>

/* A source is started by its own constructor (hosts_source_new(base, reg, dir, ttl),
 * docker_source_new(base, reg, conf), ...): what each needs differs, so there is no
 * common "start". Once started, serve knows a source only as a struct source: the
 * object and the table of what can be done with it. The table is one const object
 * per kind, exported by the source's own file (hosts_source_ops, records_source_ops,
 * manual_source_ops, docker_source_ops). A new source is that one file plus one line
 * where serve starts its sources.
 *
 * Every operation runs on the control loop and gets the object its constructor
 * returned. */
struct source_ops {
	const char *kind; /* "docker", "hosts", "records", "manual"...: the "kind" in /status */
	/* Read the outside world again, in full (SIGHUP). NULL: nothing to reload. What goes
	 * wrong is logged by the source and shown by its status; what was good stays. */
	void (*reload)(void *self);
	/* The source for /status, /health, /metrics and the page: a new JSON object
	 * {"name", "kind", "state": "ok"|"starting"|"degraded"|"down", "required": bool,
	 *  "error": string|null, ...its own fields} (see http/http.h); NULL if out of memory. */
	json_t *(*status)(const void *self);
	/* Stop and free; its records stay in the registry (shutdown frees them). */
	void (*free)(void *self);
};

struct source {
	const struct source_ops *ops;
	void *self;
};

/* What a file source (hosts directory, records file) says of itself. */
struct source_status {
	unsigned files;       /* files loaded */
	size_t records;       /* records they hold */
	unsigned bad_lines;   /* bad lines in their current versions */
	char last_error[256]; /* the latest bad line or read error, "" = none */
};

/* The /status object of a file source: {"name": path, "kind": kind, "state": "ok", or
 * "degraded" while a bad line or an error is known, "required": false, "error": string|null,
 * "path": path, "files": n, "records": n, "bad_lines": n} (a new reference, NULL if out of
 * memory). */
json_t *source_file_json(const char *kind, const char *path, const struct source_status *st);
