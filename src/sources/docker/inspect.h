/* SPDX-License-Identifier: MIT */
/* GET /containers/{id}/json parsed into the container facts naming reads; the Docker JSON
 * is untrusted: odd fields are skipped and counted, never fatal. */
#pragma once
#include <stddef.h>

#include "naming/naming.h"

struct docker_inspect;

/* Parse one inspect answer. 0 with *out set, or BERTH_EPARSE (not JSON, not an object, no
 * usable "Id") with a reason in err, or -ENOMEM. Fields that are missing are left empty;
 * fields of the wrong type or with bad values are skipped and counted (docker_inspect_odd). */
int docker_inspect_parse(const char *body, size_t len, struct docker_inspect **out, char *err,
			 size_t errlen);
void docker_inspect_free(struct docker_inspect *in);

/* The facts; every string is owned by in and lives until docker_inspect_free. */
const struct container_facts *docker_inspect_facts(const struct docker_inspect *in);
/* How many fields were skipped as odd, and a description of the first one ("" if none). */
unsigned docker_inspect_odd(const struct docker_inspect *in, const char **first);
