/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the Docker inspect parser and naming: one input is one
 * GET /containers/{id}/json body; whatever parses must name cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "naming/naming.h"
#include "sources/docker/inspect.h"
#include "store/recset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_inspect *in = NULL;
	char err[256];
	int ret = docker_inspect_parse((const char *)data, size, &in, err, sizeof(err));
	if (ret != 0) {
		if (in != NULL || err[0] == '\0')
			abort(); /* a failure says why and returns nothing */
		return 0;
	}
	static const char *const nets[] = { "bridge", NULL };
	for (int variant = 0; variant < 2; variant++) {
		struct naming_conf conf = { .domain = "docker",
					    .environment = variant ? "prod" : "",
					    .ttl = 10,
					    .host_ip = "192.0.2.1",
					    .bare_hostnames = variant,
					    .all = variant,
					    .networks = variant ? nets : NULL };
		struct recset *rs = recset_new();
		if (rs == NULL)
			abort();
		bool ignored;
		ret = naming_records(docker_inspect_facts(in), &conf, rs, &ignored);
		if (ret < 0 && ret != -12 /* ENOMEM */)
			abort();
		recset_free(rs);
	}
	docker_inspect_free(in);
	return 0;
}
