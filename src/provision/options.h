/* SPDX-License-Identifier: MIT */
/* Options of `berth provision`: one table drives the command line, BERTH_* variables and --help. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/addr.h"

#define PROVISION_MAX_RESOLVERS 8

struct provision_conf {
	char zone[256];
	struct addr resolvers[PROVISION_MAX_RESOLVERS];
	size_t nresolvers;
	char docker[512]; /* "" = $DOCKER_HOST, else the default socket */
	char network[256]; /* HostConfig.NetworkMode of new containers; "" = the engine's default */
	bool dry_run, once, adopt, pull, json;
	int interval;     /* seconds; 0 = from the records' TTL, at most 60 */
	int stop_timeout; /* seconds a replaced or removed container gets to stop */
	int timeout;      /* seconds for each round of DNS queries */
	int log_level;
	bool log_json;
	bool help, version;
};

/* Fill c from BERTH_* variables, then argv (argv[0] is the command's name). 0, or -1 with a
 * message naming the option in err (the caller exits 2). */
int provision_conf_parse(struct provision_conf *c, int argc, char **argv, char *err,
			 size_t errlen);
void provision_usage(FILE *f);
