/* SPDX-License-Identifier: MIT */
/* What sources share: the /status object of a file source. */
#include "sources/source.h"

json_t *source_file_json(const char *kind, const char *path, const struct source_status *st)
{
	const char *state = st->bad_lines > 0 || st->last_error[0] ? "degraded" : "ok";
	return json_pack("{s:s, s:s, s:s, s:b, s:s?, s:s, s:I, s:I, s:I}", "name", path, "kind",
			 kind, "state", state, "required", 0, "error",
			 st->last_error[0] ? st->last_error : NULL, "path", path, "files",
			 (json_int_t)st->files, "records", (json_int_t)st->records, "bad_lines",
			 (json_int_t)st->bad_lines);
}
