/* SPDX-License-Identifier: MIT */
/* berth: subcommand dispatch. `berth` alone is `berth serve`. */
#include <stdio.h>
#include <string.h>

#include "health/health.h"
#include "provision/provision.h"
#include "routing/config.h"
#include "server/serve.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: berth [serve|provision|health|haproxy-config] [OPTIONS]\n"
		"\n"
		"berth is a DNS server that makes Docker containers findable by name.\n"
		"\n"
		"commands:\n"
		"  serve       answer DNS queries (the default); see `berth serve --help`\n"
		"  provision   run the containers DNS TXT records list; see `berth provision --help`\n"
		"  health      exit 0 when the berth serving HTTP there is healthy; see `berth health "
		"--help`\n"
		"  haproxy-config\n"
		"              HAProxy's configuration for HTTP/TLS routing; see its --help\n"
		"\n"
		"  --help      this text\n"
		"  --version   print the version\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "provision") == 0)
		return provision_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "health") == 0)
		return health_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "haproxy-config") == 0)
		return haproxy_config_main(argc - 1, argv + 1);
	if (argc >= 2 && argv[1][0] != '-') {
		fprintf(stderr, "berth: unknown command \"%s\"\n", argv[1]);
		usage(stderr);
		return 2;
	}
	return serve_main(argc, argv);
}
