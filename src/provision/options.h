/* SPDX-License-Identifier: MIT */
/* Options of `berth provision`: its table for the option engine (conf/optparse.h) and the
 * checks after parsing. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conf/optparse.h"
#include "util/addr.h"

#define PROVISION_MAX_RESOLVERS 8

struct provision_conf {
	char zone[256];
	struct addr resolvers[PROVISION_MAX_RESOLVERS];
	size_t nresolvers;
	char docker[512];  /* "" = $DOCKER_HOST, else the default socket */
	char network[256]; /* HostConfig.NetworkMode of new containers; "" = the engine's default */
	bool dry_run, once, adopt, pull, json;
	int interval;     /* seconds; 0 = from the records' TTL, at most 60 */
	int stop_timeout; /* seconds a replaced or removed container gets to stop */
	int timeout;      /* seconds for each round of DNS queries */
	int log_level;
	bool log_json;
};

/* Fill c with the defaults, then from BERTH_* variables and argv (argv[0] is the command's
 * name), the command line winning. 0, with *exited true when --help or --version was printed
 * (exit 0); or a negative code with a message naming the option in err (exit 2). */
int provision_conf_parse(struct provision_conf *c, int argc, char **argv, bool *exited, char *err,
			 size_t errlen);
/* Print the --help text of `berth provision` to f. */
void provision_usage(FILE *f);
