/* SPDX-License-Identifier: MIT */
/* /etc/hosts-format files in watched directories: each file is one origin. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sources/source.h"
#include "store/recset.h"

struct event_base;
struct registry;

/* Called for each bad line: file, 1-based line number, reason. */
typedef void (*parse_error_fn)(void *arg, const char *file, unsigned line, const char *msg);

/* Parse hosts-format text: "IP name [alias...]", '#' comments. Each name gets
 * A/AAAA; the address gets a PTR to the line's first name. Bad lines are
 * reported and skipped; good lines are kept. Returns the number of bad lines. */
int hosts_parse(struct recset *out, const char *file, const char *text, size_t len, uint32_t ttl,
		parse_error_fn on_error, void *arg);

struct hosts_source;
/* Load every non-dot file of dir into the registry (origin "hosts:<path>") and
 * watch it with inotify on base: additions, edits, renames, removals. 0 and *out, or a
 * negative code (-ENOENT: no such directory, ...) with "<dir>: <reason>" in err. */
int hosts_source_new(struct event_base *base, struct registry *reg, const char *dir, uint32_t ttl,
		     struct hosts_source **out, char *err, size_t errlen);
/* Re-read every file (SIGHUP). */
void hosts_source_reload(struct hosts_source *hs);
void hosts_source_free(struct hosts_source *hs);
/* reload: hosts_source_reload; status: source_file_json, "name" and "path" the resolved dir. */
extern const struct source_ops hosts_source_ops;
