/* SPDX-License-Identifier: MIT */
/* `berth haproxy-config`: a working haproxy.cfg for the HAProxy that `berth serve
 * --haproxy-socket` drives, and the empty maps it references. */
#include "routing/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/optparse.h"
#include "routing/wanted.h"
#include "util/err.h"

struct hc_conf_opts {
	char *dir;
	char *bind;
	char *tls_bind;
	char *socket;
	unsigned slots;
};

static int set_str(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	if (!*v)
		return optparse_why(why, n, "is empty");
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '#')
			return optparse_why(why, n, "may not hold blanks, quotes or '#'");
	return optparse_set_str((char **)((char *)conf + o->off), v, why, n);
}

#define AT(field) OPTPARSE_AT(struct hc_conf_opts, field)

static const struct optparse_opt opts[] = {
	{ .name = "dir",
	  .arg = "DIR",
	  .def = "(none: print the configuration)",
	  .help = "Write DIR/haproxy.cfg and its empty map files (hosts.map, paths.map, sni.map).",
	  .kind = OPTPARSE_FUNC,
	  AT(dir),
	  .set = set_str },
	{ .name = "bind",
	  .arg = "ADDR:PORT",
	  .def = ":80",
	  .help = "Where HAProxy takes HTTP (routed by the Host header).",
	  .kind = OPTPARSE_FUNC,
	  AT(bind),
	  .set = set_str },
	{ .name = "tls-bind",
	  .arg = "ADDR:PORT",
	  .def = ":443",
	  .help = "Where HAProxy takes TLS (routed by SNI, passed through untouched).",
	  .kind = OPTPARSE_FUNC,
	  AT(tls_bind),
	  .set = set_str },
	{ .name = "socket",
	  .arg = "PATH",
	  .def = "/run/haproxy/berth.sock",
	  .help = "HAProxy's Runtime API socket (give berth serve --haproxy-socket PATH).",
	  .kind = OPTPARSE_FUNC,
	  AT(socket),
	  .set = set_str },
	{ .name = "slots",
	  .arg = "N",
	  .def = "32",
	  .help = "Backends of each kind (HTTP, TLS): the host names that can be routed at once.",
	  .kind = OPTPARSE_NUM,
	  AT(slots),
	  .min = 1,
	  .max = 1000,
	  .what = "a number of backends" },
};

static const struct optparse_cmd cmd = {
	.usage = "berth haproxy-config [OPTION]...",
	.about = "Print (or write into --dir) an HAProxy configuration for berth's HTTP and TLS\n"
		 "routing: HTTP by Host header and path prefix, TLS by SNI, to backends whose\n"
		 "servers berth serve adds and removes through the Runtime API.\n",
	.notes = "Then: haproxy -f DIR/haproxy.cfg, and berth serve --http-domain DOMAIN\n"
		 "--haproxy-socket PATH. HAProxy never needs a reload for a container.\n",
	.opts = opts,
	.nopts = sizeof(opts) / sizeof(opts[0]),
};

static void write_config(FILE *f, const struct hc_conf_opts *o, const char *dir)
{
	fprintf(f,
		"# Made by berth haproxy-config. HTTP is routed by Host header (hosts.map) or\n"
		"# host and path prefix (paths.map), TLS by SNI (sni.map, passed through); the\n"
		"# maps and the servers of the berth_* backends are kept by berth serve through\n"
		"# the Runtime API socket below. Entries you add yourself are left alone.\n"
		"global\n"
		"    stats socket %s mode 600 level admin\n"
		"    stats timeout 30s\n"
		"\n"
		"defaults\n"
		"    timeout connect 5s\n"
		"    timeout client 60s\n"
		"    timeout server 60s\n"
		"\n"
		"frontend berth_http\n"
		"    mode http\n"
		"    bind %s\n"
		"    http-request set-var(txn.berth_be) base,lower,map_beg(%s/paths.map)\n"
		"    http-request set-var(txn.berth_be) req.hdr(host),lower,word(1,:),map(%s/hosts.map)"
		" unless { var(txn.berth_be) -m found }\n"
		"    use_backend %%[var(txn.berth_be)] if { var(txn.berth_be) -m found }\n"
		"    default_backend berth_no_route\n"
		"\n"
		"frontend berth_tls\n"
		"    mode tcp\n"
		"    bind %s\n"
		"    tcp-request inspect-delay 5s\n"
		"    tcp-request content accept if { req.ssl_hello_type 1 }\n"
		"    use_backend %%[req.ssl_sni,lower,map(%s/sni.map)] if { req.ssl_sni,lower,map(%s/sni.map) -m found }\n"
		"\n"
		"backend berth_no_route\n"
		"    mode http\n"
		"    http-request return status 503 content-type text/plain string \"no route\\n\"\n",
		o->socket, o->bind, dir, dir, o->tls_bind, dir, dir);
	for (unsigned i = 0; i < o->slots; i++)
		fprintf(f, "\nbackend berth_http_%u\n    mode http\n    balance roundrobin\n", i);
	for (unsigned i = 0; i < o->slots; i++)
		fprintf(f, "\nbackend berth_tls_%u\n    mode tcp\n    balance roundrobin\n", i);
}

static void clear(struct hc_conf_opts *o)
{
	free(o->dir);
	free(o->bind);
	free(o->tls_bind);
	free(o->socket);
}

int haproxy_config_main(int argc, char **argv)
{
	struct hc_conf_opts o = { .slots = 32 };
	char err[512];
	bool exited;
	o.bind = strdup(":80");
	o.tls_bind = strdup(":443");
	o.socket = strdup("/run/haproxy/berth.sock");
	if (o.bind == NULL || o.tls_bind == NULL || o.socket == NULL) {
		clear(&o);
		fprintf(stderr, "berth haproxy-config: out of memory\n");
		return 1;
	}
	if (optparse_parse(&cmd, &o, argc, argv, &exited, err, sizeof(err)) < 0) {
		fprintf(stderr, "berth haproxy-config: %s\n", err);
		clear(&o);
		return 2;
	}
	if (exited) {
		clear(&o);
		return 0;
	}
	int rc = 0;
	if (o.dir == NULL) {
		write_config(stdout, &o, "/etc/haproxy/berth");
		clear(&o);
		return 0;
	}
	char dir[PATH_MAX];
	if (mkdir(o.dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "berth haproxy-config: --dir %s: %s\n", o.dir, strerror(errno));
		clear(&o);
		return 1;
	}
	if (realpath(o.dir, dir) == NULL) {
		fprintf(stderr, "berth haproxy-config: --dir %s: %s\n", o.dir, strerror(errno));
		clear(&o);
		return 1;
	}
	char path[PATH_MAX + 32];
	for (int m = 0; m < MAPS && rc == 0; m++) {
		snprintf(path, sizeof(path), "%s/%s", dir, wanted_map_names[m]);
		FILE *f = fopen(path, "a"); /* kept when it exists: its entries are the user's */
		if (f == NULL || fclose(f) != 0) {
			fprintf(stderr, "berth haproxy-config: %s: %s\n", path, strerror(errno));
			rc = 1;
		}
	}
	snprintf(path, sizeof(path), "%s/haproxy.cfg", dir);
	FILE *f = rc == 0 ? fopen(path, "w") : NULL;
	if (rc == 0 && f == NULL) {
		fprintf(stderr, "berth haproxy-config: %s: %s\n", path, strerror(errno));
		rc = 1;
	}
	if (f != NULL) {
		write_config(f, &o, dir);
		if (fclose(f) != 0) {
			fprintf(stderr, "berth haproxy-config: %s: %s\n", path, strerror(errno));
			rc = 1;
		} else {
			printf("%s\n", path);
		}
	}
	clear(&o);
	return rc;
}
