/* SPDX-License-Identifier: MIT */
/* Unit tests of `berth serve` options: defaults, the command line, BERTH_*
 * variables, errors, --help and default upstreams from resolv.conf. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/options.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strv.h"

extern char **environ;

#define MAXARGS 64

/* Every test starts from an environment without BERTH_* and DOCKER_HOST. */
static int clean_env(void **state)
{
	char name[256];
	bool again = true;

	while (again) {
		again = false;
		for (char **e = environ; e && *e; e++) {
			const char *eq = strchr(*e, '=');
			size_t len = eq ? (size_t)(eq - *e) : strlen(*e);

			if (len < sizeof(name) && (strncmp(*e, "BERTH_", 6) == 0 ||
						   strncmp(*e, "DOCKER_HOST=", 12) == 0)) {
				memcpy(name, *e, len);
				name[len] = '\0';
				unsetenv(name);
				again = true;
				break;
			}
		}
	}
	return 0;
}

/* What conf_parse_serve's 0-or-negative return and its *exited say together. */
enum outcome { PARSED, EXITED, FAILED };

/* Parse a NULL-terminated list of arguments after the subcommand name. */
static enum outcome parse_v(struct serve_conf *c, char *err, size_t errlen, va_list ap)
{
	char *argv[MAXARGS];
	int argc = 0;
	const char *a;

	argv[argc++] = (char *)"serve";
	while ((a = va_arg(ap, const char *)) && argc < MAXARGS - 1)
		argv[argc++] = (char *)a;
	argv[argc] = NULL;
	bool exited = true;
	int ret = conf_parse_serve(c, argc, argv, &exited, err, errlen);
	if (ret < 0) {
		assert_true(ret == -EINVAL || ret == -ENOMEM);
		return FAILED;
	}
	assert_int_equal(ret, 0);
	return exited ? EXITED : PARSED;
}

static enum outcome parse(struct serve_conf *c, char *err, size_t errlen, ...)
{
	enum outcome r;
	va_list ap;

	va_start(ap, errlen);
	r = parse_v(c, err, errlen, ap);
	va_end(ap);
	return r;
}

/* Parse, expecting FAILED with a message containing want. */
static void expect_error(const char *want, ...)
{
	struct serve_conf c;
	char err[512] = "";
	enum outcome r;
	va_list ap;

	va_start(ap, want);
	r = parse_v(&c, err, sizeof(err), ap);
	va_end(ap);
	if (r != FAILED || !strstr(err, want))
		fail_msg("want error containing '%s', got %d '%s'", want, r, err);
	conf_clear(&c);
}

static void expect_ok(struct serve_conf *c, ...)
{
	char err[512] = "";
	enum outcome r;
	va_list ap;

	va_start(ap, c);
	r = parse_v(c, err, sizeof(err), ap);
	va_end(ap);
	if (r != PARSED)
		fail_msg("parse failed: %d '%s'", r, err);
}

static const char *str(const struct addr *a)
{
	static char buf[64];

	return addr_str(a, buf, sizeof(buf));
}

static bool allows(const struct serve_conf *c, const char *prefix)
{
	struct cidr want;

	assert_int_equal(cidr_parse(&want, prefix), 0);
	for (size_t i = 0; i < c->nallow; i++)
		if (c->allow[i].family == want.family && c->allow[i].prefix == want.prefix &&
		    memcmp(c->allow[i].bytes, want.bytes, sizeof(want.bytes)) == 0)
			return true;
	return false;
}

/* A temporary file holding text; the path is written to path (>= 64 bytes). */
static void temp_file(char *path, const char *text)
{
	int fd;

	strcpy(path, "/tmp/berth-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_defaults(void **state)
{
	struct serve_conf c;
	char host[256] = "";
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	expect_ok(&c, "--resolv-conf", "/nonexistent/resolv.conf", NULL);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(str(&c.listen[0]), "127.0.0.1:53");
	assert_string_equal(c.domain, "docker");
	assert_string_equal(c.environment, "");
	assert_string_equal(c.docker, "unix:///var/run/docker.sock");
	assert_false(c.docker_none);
	assert_int_equal(c.hosts_dirs.n, 0);
	assert_int_equal(c.records.n, 0);
	assert_int_equal(c.nupstream, 0);
	assert_false(c.upstream_set);
	assert_false(c.upstream_none);
	assert_false(c.http_none);
	assert_string_equal(str(&c.http), "127.0.0.1:8053");
	assert_null(c.host_ip);
	assert_int_equal(c.ttl, 10);
	assert_int_equal(c.negative_ttl, 5);
	assert_int_equal(c.threads, cores < 1 ? 1 : cores > 64 ? 64 : cores);
	assert_int_equal(c.etcd.n, 0);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(c.node, host);
	assert_null(c.advertise);
	assert_null(c.api_token);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_false(c.log_json);
	assert_int_equal(c.miss, MISS_NXDOMAIN);
	assert_int_equal(c.nallow, 6);
	assert_true(allows(&c, "127.0.0.0/8"));
	assert_true(allows(&c, "::1/128"));
	assert_true(allows(&c, "10.0.0.0/8"));
	assert_true(allows(&c, "172.16.0.0/12"));
	assert_true(allows(&c, "192.168.0.0/16"));
	assert_true(allows(&c, "fc00::/7"));
	assert_int_equal(c.udp_size, 1232);
	assert_int_equal(c.tcp_idle_ms, 10000);
	assert_string_equal(c.resolv_conf, "/nonexistent/resolv.conf");
	conf_clear(&c);
	/* Clearing twice is harmless. */
	conf_clear(&c);
	conf_clear(NULL);

	expect_ok(&c, NULL);
	assert_string_equal(c.resolv_conf, "/etc/resolv.conf");
	conf_clear(&c);
}

static void test_every_option(void **state)
{
	struct serve_conf c;

	expect_ok(&c, "--listen", "127.0.0.1:5353", "--listen", "[::1]:5354", "--listen", "0.0.0.0",
		  "--domain", "Containers.Example.", "--environment", "Prod", "--docker",
		  "tcp://192.0.2.1:2376", "--hosts-dir", "/etc/berth/hosts", "--hosts-dir",
		  "/srv/hosts", "--records", "/etc/berth/records", "--upstream", "192.0.2.53",
		  "--upstream", "[2001:db8::53]:5353", "--http", "[::1]:9000", "--host-ip",
		  "192.0.2.9", "--ttl", "60", "--negative-ttl", "0", "--threads", "3", "--etcd",
		  "http://etcd1:2379", "--etcd", "https://etcd2:2379", "--node", "node-1.example",
		  "--advertise", "198.51.100.4", "--api-token", "s3cret", "--log-level", "debug",
		  "--log-format", "json", "--miss", "servfail", "--allow-recursion", "192.0.2.0/24",
		  "--allow-recursion", "2001:db8::/32", "--max-udp-size", "4096",
		  "--tcp-idle-timeout", "30", "--resolv-conf", "/tmp/none", NULL);
	assert_int_equal(c.nlisten, 3);
	assert_string_equal(str(&c.listen[0]), "127.0.0.1:5353");
	assert_string_equal(str(&c.listen[1]), "[::1]:5354");
	assert_string_equal(str(&c.listen[2]), "0.0.0.0:53");
	assert_string_equal(c.domain, "containers.example");
	assert_string_equal(c.environment, "prod");
	assert_string_equal(c.docker, "tcp://192.0.2.1:2376");
	assert_int_equal(c.hosts_dirs.n, 2);
	assert_string_equal(c.hosts_dirs.v[0], "/etc/berth/hosts");
	assert_string_equal(c.hosts_dirs.v[1], "/srv/hosts");
	assert_null(c.hosts_dirs.v[2]);
	assert_int_equal(c.records.n, 1);
	assert_string_equal(c.records.v[0], "/etc/berth/records");
	assert_true(c.upstream_set);
	assert_false(c.upstream_none);
	assert_int_equal(c.nupstream, 2);
	assert_string_equal(str(&c.upstream[0]), "192.0.2.53:53");
	assert_string_equal(str(&c.upstream[1]), "[2001:db8::53]:5353");
	assert_string_equal(str(&c.http), "[::1]:9000");
	assert_string_equal(c.host_ip, "192.0.2.9");
	assert_int_equal(c.ttl, 60);
	assert_int_equal(c.negative_ttl, 0);
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.etcd.n, 2);
	assert_string_equal(c.etcd.v[0], "http://etcd1:2379");
	assert_string_equal(c.etcd.v[1], "https://etcd2:2379");
	assert_string_equal(c.node, "node-1.example");
	assert_string_equal(c.advertise, "198.51.100.4");
	assert_string_equal(c.api_token, "s3cret");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_true(c.log_json);
	assert_int_equal(c.miss, MISS_SERVFAIL);
	assert_int_equal(c.nallow, 2);
	assert_true(allows(&c, "192.0.2.0/24"));
	assert_true(allows(&c, "2001:db8::/32"));
	assert_false(allows(&c, "10.0.0.0/8"));
	assert_int_equal(c.udp_size, 4096);
	assert_int_equal(c.tcp_idle_ms, 30000);
	assert_string_equal(c.resolv_conf, "/tmp/none");
	conf_clear(&c);
}

static void test_equals_form_and_nones(void **state)
{
	struct serve_conf c;

	expect_ok(&c, "--listen=[::]:53", "--ttl=0", "--docker=none", "--http=none",
		  "--upstream=none", "--api-token=a=b", "--domain=docker.", "--etcd=10.0.0.1:2379",
		  "--log-level=ERROR", "--http", "127.0.0.1", "--upstream", "none", NULL);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(str(&c.listen[0]), "[::]:53");
	assert_int_equal(c.ttl, 0);
	assert_true(c.docker_none);
	assert_null(c.docker);
	/* The last of a non-repeatable option wins. */
	assert_false(c.http_none);
	assert_string_equal(str(&c.http), "127.0.0.1:8053");
	assert_true(c.upstream_none);
	assert_true(c.upstream_set);
	assert_int_equal(c.nupstream, 0);
	assert_string_equal(c.api_token, "a=b");
	assert_string_equal(c.domain, "docker");
	assert_string_equal(c.etcd.v[0], "http://10.0.0.1:2379");
	assert_int_equal(c.log_level, LOG_ERROR);
	conf_clear(&c);

	/* "--" ends the options. */
	expect_ok(&c, "--ttl", "7", "--", NULL);
	assert_int_equal(c.ttl, 7);
	conf_clear(&c);
}

static void test_docker_host(void **state)
{
	struct serve_conf c;

	setenv("DOCKER_HOST", "tcp://192.0.2.2:2375", 1);
	expect_ok(&c, NULL);
	assert_string_equal(c.docker, "tcp://192.0.2.2:2375");
	conf_clear(&c);

	/* --docker and BERTH_DOCKER win over DOCKER_HOST. */
	expect_ok(&c, "--docker", "unix:///run/podman/podman.sock", NULL);
	assert_string_equal(c.docker, "unix:///run/podman/podman.sock");
	conf_clear(&c);
	setenv("BERTH_DOCKER", "none", 1);
	expect_ok(&c, NULL);
	assert_true(c.docker_none);
	assert_null(c.docker);
	conf_clear(&c);
	unsetenv("BERTH_DOCKER");

	setenv("DOCKER_HOST", "ssh://me@host", 1);
	expect_error("DOCKER_HOST: \"ssh://me@host\" is not a Docker endpoint", NULL);
	/* An unusable DOCKER_HOST does not matter when --docker is given. */
	expect_ok(&c, "--docker", "none", NULL);
	conf_clear(&c);
	unsetenv("DOCKER_HOST");
}

static void test_env(void **state)
{
	struct serve_conf c;

	setenv("BERTH_LISTEN", "127.0.0.1:5300, [::1]:5301", 1);
	setenv("BERTH_HOSTS_DIR", "/a,/b /c", 1);
	setenv("BERTH_RECORDS", "/r1", 1);
	setenv("BERTH_UPSTREAM", "192.0.2.1,192.0.2.2:5353", 1);
	setenv("BERTH_TTL", "33", 1);
	setenv("BERTH_NEGATIVE_TTL", "2", 1);
	setenv("BERTH_DOMAIN", "lan", 1);
	setenv("BERTH_ENVIRONMENT", "dev", 1);
	setenv("BERTH_HTTP", "none", 1);
	setenv("BERTH_HOST_IP", "2001:db8::9", 1);
	setenv("BERTH_THREADS", "2", 1);
	setenv("BERTH_ETCD", "http://e1:2379,http://e2:2379", 1);
	setenv("BERTH_NODE", "n2", 1);
	setenv("BERTH_ADVERTISE", "192.0.2.44", 1);
	setenv("BERTH_API_TOKEN", "tok", 1);
	setenv("BERTH_LOG_LEVEL", "warn", 1);
	setenv("BERTH_LOG_FORMAT", "json", 1);
	setenv("BERTH_MISS", "servfail", 1);
	setenv("BERTH_ALLOW_RECURSION", "0.0.0.0/0 ::/0", 1);
	setenv("BERTH_MAX_UDP_SIZE", "512", 1);
	setenv("BERTH_TCP_IDLE_TIMEOUT", "1", 1);
	setenv("BERTH_RESOLV_CONF", "/x/resolv.conf", 1);
	setenv("BERTH_DOCKER", "https://docker.example:2376", 1);
	expect_ok(&c, NULL);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(str(&c.listen[0]), "127.0.0.1:5300");
	assert_string_equal(str(&c.listen[1]), "[::1]:5301");
	assert_int_equal(c.hosts_dirs.n, 3);
	assert_string_equal(c.hosts_dirs.v[2], "/c");
	assert_string_equal(c.records.v[0], "/r1");
	assert_int_equal(c.nupstream, 2);
	assert_true(c.upstream_set);
	assert_string_equal(str(&c.upstream[1]), "192.0.2.2:5353");
	assert_int_equal(c.ttl, 33);
	assert_int_equal(c.negative_ttl, 2);
	assert_string_equal(c.domain, "lan");
	assert_string_equal(c.environment, "dev");
	assert_true(c.http_none);
	assert_string_equal(c.host_ip, "2001:db8::9");
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.etcd.n, 2);
	assert_string_equal(c.node, "n2");
	assert_string_equal(c.advertise, "192.0.2.44");
	assert_string_equal(c.api_token, "tok");
	assert_int_equal(c.log_level, LOG_WARN);
	assert_true(c.log_json);
	assert_int_equal(c.miss, MISS_SERVFAIL);
	assert_int_equal(c.nallow, 2);
	assert_int_equal(c.udp_size, 512);
	assert_int_equal(c.tcp_idle_ms, 1000);
	assert_string_equal(c.resolv_conf, "/x/resolv.conf");
	assert_string_equal(c.docker, "https://docker.example:2376");
	conf_clear(&c);

	/* The command line wins; a repeatable option replaces the whole list. */
	expect_ok(&c, "--ttl", "1", "--hosts-dir", "/z", "--listen", "[::1]:53", "--log-format",
		  "text", "--upstream", "none", "--allow-recursion", "10.0.0.0/8", NULL);
	assert_int_equal(c.ttl, 1);
	assert_int_equal(c.hosts_dirs.n, 1);
	assert_string_equal(c.hosts_dirs.v[0], "/z");
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(str(&c.listen[0]), "[::1]:53");
	assert_false(c.log_json);
	assert_true(c.upstream_none);
	assert_int_equal(c.nupstream, 0);
	assert_int_equal(c.nallow, 1);
	/* Options not on the command line still come from the environment. */
	assert_int_equal(c.negative_ttl, 2);
	assert_int_equal(c.records.n, 1);
	conf_clear(&c);

	/* A bad environment value names the variable... */
	setenv("BERTH_TTL", "soon", 1);
	expect_error("BERTH_TTL: \"soon\" is not a number of seconds (0..2147483647)", NULL);
	setenv("BERTH_LISTEN", "127.0.0.1:53,bogus", 1);
	expect_error("BERTH_LISTEN: \"bogus\" is not an address", "--ttl", "1", NULL);
	/* ...and does not matter when the command line overrides it. */
	expect_ok(&c, "--ttl", "1", "--listen", "127.0.0.1:53", NULL);
	conf_clear(&c);

	/* Empty variables count as unset. */
	setenv("BERTH_TTL", "", 1);
	setenv("BERTH_LISTEN", "", 1);
	expect_ok(&c, NULL);
	assert_int_equal(c.ttl, 10);
	assert_string_equal(str(&c.listen[0]), "127.0.0.1:53");
	conf_clear(&c);
	clean_env(state);
}

static void test_bad_values(void **state)
{
	expect_error("--ttl: \"abc\" is not a number of seconds (0..2147483647)", "--ttl", "abc",
		     NULL);
	expect_error("--ttl: \"2147483648\" is not a number of seconds", "--ttl", "2147483648",
		     NULL);
	expect_error("--ttl: \"-1\" is not", "--ttl", "-1", NULL);
	expect_error("--ttl: \"\" is not", "--ttl=", NULL);
	expect_error("--negative-ttl: \"1s\" is not a number of seconds", "--negative-ttl", "1s",
		     NULL);
	expect_error("--listen: \"localhost:53\" is not an address with a port", "--listen",
		     "localhost:53", NULL);
	expect_error("--listen: \"127.0.0.1:0\" is not", "--listen", "127.0.0.1:0", NULL);
	expect_error("--listen: \"[::1]:99999\" is not", "--listen", "[::1]:99999", NULL);
	expect_error("--domain: \"bad..name\" is not a DNS name", "--domain", "bad..name", NULL);
	expect_error("--domain: \"\" is not a DNS name", "--domain", "", NULL);
	expect_error("--domain: \".\" is not a DNS name", "--domain", ".", NULL);
	expect_error("--domain: \"sp ace\" is not", "--domain", "sp ace", NULL);
	expect_error("--domain: \"-lead\" is not", "--domain", "-lead", NULL);
	expect_error("--domain: \"a.trail-\" is not", "--domain", "a.trail-", NULL);
	expect_error(
		"--domain: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is",
		"--domain", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		NULL);
	expect_error("--environment: \"a/b\" is not a DNS name", "--environment", "a/b", NULL);
	expect_error("--docker: \"/var/run/docker.sock\" is not a Docker endpoint", "--docker",
		     "/var/run/docker.sock", NULL);
	expect_error("--docker: \"unix://\" is not", "--docker", "unix://", NULL);
	expect_error("--hosts-dir: \"\" is not a path", "--hosts-dir", "", NULL);
	expect_error("--records: \"\" is not a path", "--records=", NULL);
	expect_error("--upstream: \"dns.google\" is not an address", "--upstream", "dns.google",
		     NULL);
	expect_error("--upstream: \"192.0.2.1\" cannot be combined with --upstream none",
		     "--upstream", "none", "--upstream", "192.0.2.1", NULL);
	expect_error("--upstream: \"none\" cannot be combined", "--upstream", "192.0.2.1",
		     "--upstream", "none", NULL);
	expect_error("--http: \"nowhere\" is not an address", "--http", "nowhere", NULL);
	expect_error("--host-ip: \"192.0.2\" is not an IPv4 or IPv6 address", "--host-ip",
		     "192.0.2", NULL);
	expect_error("--threads: \"0\" is not a number of threads (1..64)", "--threads", "0", NULL);
	expect_error("--threads: \"65\" is not", "--threads", "65", NULL);
	expect_error("--etcd: \"ftp://x\" is not an etcd endpoint", "--etcd", "ftp://x", NULL);
	expect_error("--etcd: \"http://\" is not", "--etcd", "http://", NULL);
	expect_error("--node: \"a b\" is not a node name", "--node", "a b", NULL);
	expect_error("--node: \"\" is not", "--node", "", NULL);
	expect_error("--advertise: \"example.com\" is not an IPv4", "--advertise", "example.com",
		     NULL);
	expect_error("--api-token: \"two words\" is not a token", "--api-token", "two words", NULL);
	expect_error("--api-token: \"\" is not", "--api-token", "", NULL);
	expect_error("--log-level: \"verbose\" is not a log level (error, warn, info, debug)",
		     "--log-level", "verbose", NULL);
	expect_error("--log-format: \"xml\" is not a log format (text, json)", "--log-format",
		     "xml", NULL);
	expect_error("--miss: \"refused\" is not a miss mode (nxdomain, servfail)", "--miss",
		     "refused", NULL);
	expect_error("--allow-recursion: \"10.0.0.0/33\" is not an address prefix",
		     "--allow-recursion", "10.0.0.0/33", NULL);
	expect_error("--max-udp-size: \"511\" is not a UDP payload size in bytes (512..4096)",
		     "--max-udp-size", "511", NULL);
	expect_error("--max-udp-size: \"4097\" is not", "--max-udp-size", "4097", NULL);
	expect_error("--tcp-idle-timeout: \"0\" is not a number of seconds (1..86400)",
		     "--tcp-idle-timeout", "0", NULL);
	expect_error("--resolv-conf: \"\" is not a path", "--resolv-conf", "", NULL);
}

static void test_bad_usage(void **state)
{
	expect_error("--bogus: unknown option (see --help)", "--bogus", NULL);
	expect_error("--bogus: unknown option", "--bogus=1", NULL);
	expect_error("--tt: unknown option", "--tt", "5", NULL);
	expect_error("--ttl: needs a value (SECONDS)", "--ttl", NULL);
	expect_error("unexpected argument \"stray\" (see --help)", "stray", NULL);
	expect_error("unexpected argument \"-x\"", "-x", NULL);
	expect_error("unexpected argument \"after\"", "--", "after", NULL);
	expect_error("--help: takes no value", "--help=yes", NULL);
	expect_error("--version: takes no value", "--version=1", NULL);
	expect_error("--listen: \"127.0.0.1:17\" is one address too many (at most 16)",
		     "--listen=127.0.0.1:1", "--listen=127.0.0.1:2", "--listen=127.0.0.1:3",
		     "--listen=127.0.0.1:4", "--listen=127.0.0.1:5", "--listen=127.0.0.1:6",
		     "--listen=127.0.0.1:7", "--listen=127.0.0.1:8", "--listen=127.0.0.1:9",
		     "--listen=127.0.0.1:10", "--listen=127.0.0.1:11", "--listen=127.0.0.1:12",
		     "--listen=127.0.0.1:13", "--listen=127.0.0.1:14", "--listen=127.0.0.1:15",
		     "--listen=127.0.0.1:16", "--listen=127.0.0.1:17", NULL);
}

/* Run parse with stdout sent to a file; returns what was printed. */
static char *captured(enum outcome *r, const char *arg)
{
	char path[64], *out;
	int fd, saved;
	struct serve_conf c;
	char err[256];
	FILE *f;
	long len;

	temp_file(path, "");
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	*r = parse(&c, err, sizeof(err), "--ttl", "5", arg, "--bogus", NULL);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	conf_clear(&c);

	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	out = calloc(1, (size_t)len + 1);
	assert_non_null(out);
	assert_int_equal(fread(out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return out;
}

static void test_help_version(void **state)
{
	static const char *const want[] = { "--listen ADDR:PORT",
					    "BERTH_LISTEN",
					    "127.0.0.1:53",
					    "--domain",
					    "BERTH_DOMAIN",
					    "--environment",
					    "BERTH_ENVIRONMENT",
					    "--docker URL|none",
					    "BERTH_DOCKER",
					    "$DOCKER_HOST, else unix:///var/run/docker.sock",
					    "--hosts-dir DIR",
					    "BERTH_HOSTS_DIR",
					    "--records FILE",
					    "BERTH_RECORDS",
					    "--upstream ADDR[:PORT]|none",
					    "BERTH_UPSTREAM",
					    "--http ADDR:PORT|none",
					    "BERTH_HTTP",
					    "127.0.0.1:8053",
					    "--host-ip",
					    "BERTH_HOST_IP",
					    "--ttl SECONDS",
					    "BERTH_TTL",
					    "--negative-ttl",
					    "BERTH_NEGATIVE_TTL",
					    "--threads",
					    "BERTH_THREADS",
					    "--etcd URL",
					    "BERTH_ETCD",
					    "--node",
					    "BERTH_NODE",
					    "--advertise",
					    "BERTH_ADVERTISE",
					    "--api-token",
					    "BERTH_API_TOKEN",
					    "--log-level",
					    "BERTH_LOG_LEVEL",
					    "--log-format text|json",
					    "BERTH_LOG_FORMAT",
					    "--miss nxdomain|servfail",
					    "BERTH_MISS",
					    "--allow-recursion CIDR",
					    "BERTH_ALLOW_RECURSION",
					    "fc00::/7",
					    "--max-udp-size",
					    "BERTH_MAX_UDP_SIZE",
					    "1232",
					    "--tcp-idle-timeout",
					    "BERTH_TCP_IDLE_TIMEOUT",
					    "--resolv-conf",
					    "BERTH_RESOLV_CONF",
					    "/etc/resolv.conf",
					    "--help",
					    "--version",
					    "(repeatable)" };
	enum outcome r;
	char *text, *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	assert_non_null(f);
	conf_usage_serve(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(mem, want[i]))
			fail_msg("--help lacks '%s'", want[i]);
	/* Every line fits a terminal. */
	for (char *line = mem, *nl; (nl = strchr(line, '\n')); line = nl + 1)
		if (nl - line > 80)
			fail_msg("--help line too long: %.*s", (int)(nl - line), line);

	text = captured(&r, "--help");
	assert_int_equal(r, EXITED);
	assert_string_equal(text, mem);
	free(text);
	text = captured(&r, "-h");
	assert_int_equal(r, EXITED);
	assert_string_equal(text, mem);
	free(text);
	free(mem);

	text = captured(&r, "--version");
	assert_int_equal(r, EXITED);
	assert_string_equal(text, "berth " BERTH_VERSION "\n");
	free(text);

	/* --help works whatever the environment holds. */
	setenv("BERTH_TTL", "junk", 1);
	text = captured(&r, "--help");
	assert_int_equal(r, EXITED);
	free(text);
	unsetenv("BERTH_TTL");
}

static const char resolv[] = "# generated\n"
			     "; comment\n"
			     "search example.com\n"
			     "nameserver 127.0.0.1\n"
			     "nameserver   192.0.2.1  # inline\n"
			     "nameserver\t2001:db8::1\n"
			     "nameserver fe80::1%eth0\n"
			     "nameserver 192.0.2.1\n"
			     "nameserver 127.0.0.53\n"
			     "nameserver ::1\n"
			     "nameserver not-an-address\n"
			     "nameserver\n"
			     "nameserver 192.0.2.2:5353\n"
			     "  nameserver 198.51.100.1\n"
			     "nameservers 198.51.100.2\n"
			     "options edns0\n";

static void test_resolv(void **state)
{
	struct serve_conf c;
	char path[64], all[512];

	temp_file(path, resolv);

	/* Listening on 127.0.0.1:53: only that address is berth itself. */
	expect_ok(&c, "--resolv-conf", path, NULL);
	assert_int_equal(c.nupstream, 6);
	assert_false(c.upstream_set);
	assert_string_equal(str(&c.upstream[0]), "192.0.2.1:53");
	assert_string_equal(str(&c.upstream[1]), "[2001:db8::1]:53");
	assert_string_equal(str(&c.upstream[2]), "[fe80::1]:53");
	assert_string_equal(str(&c.upstream[3]), "127.0.0.53:53");
	assert_string_equal(str(&c.upstream[4]), "[::1]:53");
	assert_string_equal(str(&c.upstream[5]), "198.51.100.1:53");
	/* Calling again gives the same list, not a longer one. */
	assert_int_equal(conf_upstreams_from_resolv(&c, path), 6);
	conf_clear(&c);

	/* On another port, 127.0.0.1:53 is not berth. */
	expect_ok(&c, "--resolv-conf", path, "--listen", "127.0.0.1:5353", NULL);
	assert_int_equal(c.nupstream, 7);
	assert_string_equal(str(&c.upstream[0]), "127.0.0.1:53");
	conf_clear(&c);

	/* A wildcard listener on port 53 is every loopback nameserver too. */
	expect_ok(&c, "--resolv-conf", path, "--listen", "[::]:53", NULL);
	all[0] = '\0';
	for (size_t i = 0; i < c.nupstream; i++) {
		strcat(all, str(&c.upstream[i]));
		strcat(all, " ");
	}
	assert_string_equal(all, "192.0.2.1:53 [2001:db8::1]:53 [fe80::1]:53 198.51.100.1:53 ");
	conf_clear(&c);

	expect_ok(&c, "--resolv-conf", path, "--listen", "0.0.0.0", "--listen", "[::1]:5300", NULL);
	assert_int_equal(c.nupstream, 4);
	conf_clear(&c);

	/* Given upstreams, or none, leave resolv.conf unread. */
	expect_ok(&c, "--resolv-conf", path, "--upstream", "192.0.2.99", NULL);
	assert_int_equal(c.nupstream, 1);
	assert_int_equal(conf_upstreams_from_resolv(&c, path), 1);
	assert_string_equal(str(&c.upstream[0]), "192.0.2.99:53");
	conf_clear(&c);
	expect_ok(&c, "--resolv-conf", path, "--upstream", "none", NULL);
	assert_int_equal(c.nupstream, 0);
	assert_int_equal(conf_upstreams_from_resolv(&c, path), 0);
	conf_clear(&c);

	/* A missing file gives no upstreams. */
	expect_ok(&c, "--resolv-conf", "/nonexistent/resolv.conf", NULL);
	assert_int_equal(c.nupstream, 0);
	assert_int_equal(conf_upstreams_from_resolv(&c, NULL), 0);
	conf_clear(&c);
	unlink(path);
}

/* resolv.conf naming only systemd-resolved's stub: resolved's own servers instead. */
static void test_resolv_resolved_stub(void **state)
{
	struct serve_conf c;
	char stub[64], uplinks[64], empty[64], mixed[64];

	temp_file(stub, "# managed by resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\n");
	temp_file(uplinks, "nameserver 192.0.2.7\nnameserver 2001:db8::7\n");
	temp_file(empty, "# no servers yet\n");
	temp_file(mixed, "nameserver 127.0.0.53\nnameserver 192.0.2.8\n");

	expect_ok(&c, "--resolv-conf", stub, NULL);
	assert_int_equal(conf_upstreams_from_resolv_at(&c, stub, uplinks), 2);
	assert_string_equal(str(&c.upstream[0]), "192.0.2.7:53");
	assert_string_equal(str(&c.upstream[1]), "[2001:db8::7]:53");
	/* resolved knows no server: the stub stays (better than nothing). */
	assert_int_equal(conf_upstreams_from_resolv_at(&c, stub, empty), 1);
	assert_string_equal(str(&c.upstream[0]), "127.0.0.53:53");
	assert_int_equal(conf_upstreams_from_resolv_at(&c, stub, "/nonexistent/x"), 1);
	assert_string_equal(str(&c.upstream[0]), "127.0.0.53:53");
	/* Another server beside the stub: the file is taken as it is. */
	assert_int_equal(conf_upstreams_from_resolv_at(&c, mixed, uplinks), 2);
	assert_string_equal(str(&c.upstream[0]), "127.0.0.53:53");
	assert_string_equal(str(&c.upstream[1]), "192.0.2.8:53");
	conf_clear(&c);
	unlink(stub);
	unlink(uplinks);
	unlink(empty);
	unlink(mixed);
}

static void test_resolv_limits(void **state)
{
	struct serve_conf c;
	char path[64], text[4096] = "nameserver 0.0.0.0\n";
	char line[64];

	/* An overlong line is skipped whole, not read as two lines. */
	strcat(text, "search ");
	for (int i = 0; i < 200; i++)
		strcat(text, "abcdefghij");
	strcat(text, " nameserver 192.0.2.250\n");
	for (int i = 1; i <= 20; i++) {
		snprintf(line, sizeof(line), "nameserver 192.0.2.%d\n", i);
		strcat(text, line);
	}
	temp_file(path, text);
	expect_ok(&c, "--resolv-conf", path, NULL);
	/* 0.0.0.0 means this host, which berth listens on; at most 16 upstreams. */
	assert_int_equal(c.nupstream, CONF_MAX_LISTEN);
	assert_string_equal(str(&c.upstream[0]), "192.0.2.1:53");
	assert_string_equal(str(&c.upstream[15]), "192.0.2.16:53");
	conf_clear(&c);
	unlink(path);
}

/* Everything written to stderr while fn(arg) runs. */
static char *stderr_of(void (*fn)(void *), void *arg)
{
	char path[64], *out;
	int fd, saved;
	FILE *f;
	long len;

	temp_file(path, "");
	saved = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	fn(arg);
	dup2(saved, STDERR_FILENO);
	close(saved);

	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	out = calloc(1, (size_t)len + 1);
	assert_non_null(out);
	assert_int_equal(fread(out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return out;
}

static void log_some(void *arg)
{
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_error("hosts", "bad line %d in %s", 7, "/etc/hosts.d/a");
	log_warn("conf", "quote \" back \\ tab\t nl\n ctl\x01 bad\xff utf8 \xc3\xa9");
	log_info("dns", "%s", big);
	log_debug("dns", "debug %d", 1);
	errno = ENOENT;
	log_info(NULL, "no module");
	assert_int_equal(errno, ENOENT);
}

static void *log_thread(void *arg)
{
	for (int i = 0; i < 200; i++)
		log_info("thread", "worker %ld line %d with some padding to make it longer",
			 (long)arg, i);
	return NULL;
}

static void log_threads(void *arg)
{
	pthread_t t[4];

	for (long i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_thread, (void *)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
}

static void test_log_output(void **state)
{
	struct serve_conf c;
	char *out, *line, *save = NULL;
	int n = 0;

	assert_int_equal(log_level_parse("error"), LOG_ERROR);
	assert_int_equal(log_level_parse("Warn"), LOG_WARN);
	assert_int_equal(log_level_parse("info"), LOG_INFO);
	assert_int_equal(log_level_parse("DEBUG"), LOG_DEBUG);
	assert_int_equal(log_level_parse("warning"), -1);
	assert_int_equal(log_level_parse(NULL), -1);

	/* Text, at the level --log-level gives. */
	expect_ok(&c, "--log-level", "info", "--log-format", "text", NULL);
	log_setup((enum log_level)c.log_level, c.log_json);
	conf_clear(&c);
	assert_true(log_enabled(LOG_INFO));
	assert_false(log_enabled(LOG_DEBUG));
	out = stderr_of(log_some, NULL);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		assert_true(strlen(line) > 21);
		assert_int_equal(line[4], '-');
		assert_int_equal(line[10], 'T');
		assert_int_equal(line[19], 'Z');
		assert_int_equal(line[20], ' ');
		if (n == 0)
			assert_string_equal(line + 21, "error hosts: bad line 7 in /etc/hosts.d/a");
		if (n == 1)
			/* One line whatever the message holds; invalid UTF-8 replaced. */
			assert_string_equal(line + 21, "warn conf: quote \" back \\ tab\t nl? ctl? "
						       "bad? utf8 \xc3\xa9");
		if (n == 2) {
			assert_true(strncmp(line + 21, "info dns: xxx", 13) == 0);
			assert_true(strlen(line) < 2100);
			assert_string_equal(line + strlen(line) - 4, "x...");
		}
		if (n == 3)
			assert_string_equal(line + 21, "info berth: no module");
	}
	assert_int_equal(n, 4);
	free(out);

	/* JSON lines, debug included. */
	log_setup(LOG_DEBUG, 1);
	out = stderr_of(log_some, NULL);
	n = 0;
	save = NULL;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		const char *ts, *level, *module, *msg;

		if (!o)
			fail_msg("not JSON: %s (%s)", line, jerr.text);
		/* Keys in a fixed order, for people reading the lines too. */
		assert_true(strncmp(line, "{\"ts\":", 6) == 0);
		assert_int_equal(json_unpack(o, "{s:s, s:s, s:s, s:s}", "ts", &ts, "level", &level,
					     "module", &module, "msg", &msg),
				 0);
		assert_int_equal(strlen(ts), 20);
		if (n == 0) {
			assert_string_equal(level, "error");
			assert_string_equal(module, "hosts");
			assert_string_equal(msg, "bad line 7 in /etc/hosts.d/a");
		}
		if (n == 1)
			assert_string_equal(
				msg, "quote \" back \\ tab\t nl\n ctl\x01 bad? utf8 \xc3\xa9");
		if (n == 3)
			assert_string_equal(msg, "debug 1");
		json_decref(o);
	}
	assert_int_equal(n, 5);
	free(out);

	/* Lines of concurrent threads never interleave. */
	out = stderr_of(log_threads, NULL);
	n = 0;
	save = NULL;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		json_t *o = json_loads(line, 0, NULL);

		if (!o)
			fail_msg("torn line: %s", line);
		json_decref(o);
	}
	assert_int_equal(n, 800);
	free(out);

	log_setup(LOG_ERROR, 0);
	assert_false(log_enabled(LOG_WARN));
	out = stderr_of(log_some, NULL);
	assert_int_equal(strncmp(out + 21, "error hosts:", 12), 0);
	assert_null(strstr(out, " warn "));
	assert_null(strstr(out, " info "));
	free(out);
	log_setup(LOG_INFO, 0);
}

static void log_repeated(void *arg)
{
	for (int i = 0; i < 25; i++)
		log_warn("flood", "the same warning, %d", i);
	log_warn("flood", "another warning");
	log_info("flood", "info is not capped");
}

/* A warning from one place: LOG_REPEAT_MAX lines, one saying more are held back. */
static void test_log_repeat(void **state)
{
	log_setup(LOG_INFO, 0);
	char *out = stderr_of(log_repeated, NULL);
	int same = 0, held = 0, other = 0, n = 0;
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		n++;
		same += strstr(line, "the same warning") != NULL;
		held += strstr(line, "held back") != NULL;
		other += strstr(line, "another warning") != NULL || strstr(line, "not capped");
	}
	assert_int_equal(same, LOG_REPEAT_MAX);
	assert_int_equal(held, 1);
	assert_int_equal(other, 2);
	assert_int_equal(n, LOG_REPEAT_MAX + 3);
	free(out);
}

/* --nsid: the node name unless given; none turns it off. */
static void test_nsid(void **state)
{
	struct serve_conf c;

	expect_ok(&c, "--node", "n1", NULL);
	assert_string_equal(conf_nsid(&c), "n1");
	conf_clear(&c);
	expect_ok(&c, "--node", "n1", "--nsid", "berth one", NULL);
	assert_string_equal(conf_nsid(&c), "berth one");
	conf_clear(&c);
	expect_ok(&c, "--nsid", "none", NULL);
	assert_null(conf_nsid(&c));
	conf_clear(&c);
	setenv("BERTH_NSID", "from-env", 1);
	expect_ok(&c, NULL);
	assert_string_equal(conf_nsid(&c), "from-env");
	conf_clear(&c);
	unsetenv("BERTH_NSID");
	expect_error("--nsid: \"\" is not a name server ID", "--nsid", "", NULL);
	expect_error("--nsid: \"a\tb\" is not", "--nsid", "a\tb", NULL);
}

static void test_strv_err(void **state)
{
	struct strv v = { 0 };

	for (int i = 0; i < 100; i++)
		assert_int_equal(strv_push(&v, i % 2 ? "odd" : "even"), 0);
	assert_int_equal(v.n, 100);
	assert_string_equal(v.v[99], "odd");
	assert_null(v.v[100]);
	assert_int_equal(strv_push(&v, NULL), -EINVAL);
	strv_clear(&v);
	assert_int_equal(v.n, 0);
	assert_null(v.v);
	strv_clear(&v);
	strv_clear(NULL);

	assert_string_equal(berth_strerror(0), "success");
	assert_string_equal(berth_strerror(BERTH_EPARSE), "input could not be parsed");
	assert_string_equal(berth_strerror(-ENOENT), "No such file or directory");
	assert_string_equal(berth_strerror(-99999), "unknown error");
	assert_non_null(berth_strerror(BERTH_ERROR));
	assert_non_null(berth_strerror(BERTH_ETOOLONG));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clean_env),
		cmocka_unit_test_setup(test_every_option, clean_env),
		cmocka_unit_test_setup(test_equals_form_and_nones, clean_env),
		cmocka_unit_test_setup(test_docker_host, clean_env),
		cmocka_unit_test_setup(test_env, clean_env),
		cmocka_unit_test_setup(test_bad_values, clean_env),
		cmocka_unit_test_setup(test_bad_usage, clean_env),
		cmocka_unit_test_setup(test_help_version, clean_env),
		cmocka_unit_test_setup(test_resolv, clean_env),
		cmocka_unit_test_setup(test_resolv_resolved_stub, clean_env),
		cmocka_unit_test_setup(test_resolv_limits, clean_env),
		cmocka_unit_test_setup(test_log_output, clean_env),
		cmocka_unit_test_setup(test_strv_err, clean_env),
		cmocka_unit_test_setup(test_nsid, clean_env),
		cmocka_unit_test_setup(test_log_repeat, clean_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
