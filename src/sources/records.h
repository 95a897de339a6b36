/* SPDX-License-Identifier: MIT */
/* dnsmasq record lines (--records FILE): host-record=, txt-record=, srv-host=,
 * ptr-record=, cname=, mx-host=, with dnsmasq's meaning. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sources/hosts.h"
#include "store/recset.h"

struct event_base;
struct registry;

/* Parse the text of a records file. Blank lines and '#' comments are skipped;
 * any other line that is not one of the six is an error naming file and line.
 * Returns the number of bad lines (a count, as err.h allows), or a negative code (-EINVAL
 * for a NULL argument, -ENOMEM). */
int records_parse(struct recset *out, const char *file, const char *text, size_t len, uint32_t ttl,
		  parse_error_fn on_error, void *arg);

struct records_source;
/* Load the file (origin "records:<path>") and reload it when it changes,
 * including when it is replaced by rename. A file that cannot be read keeps
 * the records it had. 0 and *out, or a negative code with "<path>: <reason>" in err. */
int records_source_new(struct event_base *base, struct registry *reg, const char *path,
		       uint32_t ttl, struct records_source **out, char *err, size_t errlen);
void records_source_reload(struct records_source *rs);
void records_source_free(struct records_source *rs);
/* reload: records_source_reload; status: source_file_json, "name" and "path" the path given. */
extern const struct source_ops records_source_ops;
