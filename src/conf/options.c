/* SPDX-License-Identifier: MIT */
/* Options of `berth serve`: one table drives the command line, the BERTH_*
 * environment variables and --help. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/options.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

#define TTL_MAX 2147483647UL
#define WHY_MAX 160

typedef int (*setter)(struct serve_conf *c, const char *v, char *why, size_t n);

struct opt {
	const char *name; /* long name without the dashes */
	const char *arg;  /* metavariable; NULL for --help and --version */
	const char *def;  /* default, as --help shows it */
	const char *help; /* one line */
	bool repeat;      /* repeatable: a list */
	setter set;       /* NULL for --help and --version */
};

/* Set why (the reason a value is refused) and return -1. */
static int bad(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

static int set_str(char **field, const char *v, char *why, size_t n)
{
	char *dup = strdup(v);

	if (!dup)
		return bad(why, n, "could not be stored: out of memory");
	free(*field);
	*field = dup;
	return 0;
}

/* Decimal digits only, within lo..hi. */
static int parse_num(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
	unsigned long x = 0;

	if (!*v)
		return -1;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		x = x * 10 + (unsigned long)(*p - '0');
		if (x > hi)
			return -1;
	}
	if (x < lo)
		return -1;
	*out = x;
	return 0;
}

/* A DNS name for berth's zones: lowercased in place, one trailing dot removed,
 * labels of letters, digits, '-' and '_', 1..63 long, 253 in all. */
static int check_name(char *s, bool empty_ok)
{
	size_t len, label = 0;

	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	if (len == 0)
		return empty_ok ? 0 : -1;
	if (len > 253)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		char ch = s[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)ch) || ch == '_' || (ch == '-' && label > 0)))
			return -1;
		label++;
	}
	return 0;
}

static bool is_ip(const char *v)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

static int set_listen(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (c->nlisten >= CONF_MAX_LISTEN)
		return bad(why, n, "is one address too many (at most %d)", CONF_MAX_LISTEN);
	if (addr_parse(&c->listen[c->nlisten], v, 53) < 0)
		return bad(why, n, "is not an address with a port (127.0.0.1:53 or [::1]:53)");
	c->nlisten++;
	return 0;
}

static int set_domain(struct serve_conf *c, const char *v, char *why, size_t n)
{
	char *s = strdup(v);

	if (!s)
		return bad(why, n, "could not be stored: out of memory");
	if (check_name(s, false) < 0) {
		free(s);
		return bad(why, n,
			   "is not a DNS name (labels of letters, digits, '-' or '_', "
			   "at most 63 characters each)");
	}
	free(c->domain);
	c->domain = s;
	return 0;
}

static int set_environment(struct serve_conf *c, const char *v, char *why, size_t n)
{
	char *s = strdup(v);

	if (!s)
		return bad(why, n, "could not be stored: out of memory");
	if (check_name(s, true) < 0) {
		free(s);
		return bad(why, n,
			   "is not a DNS name (labels of letters, digits, '-' or '_', "
			   "at most 63 characters each)");
	}
	free(c->environment);
	c->environment = s;
	return 0;
}

static int set_docker(struct serve_conf *c, const char *v, char *why, size_t n)
{
	static const char *const schemes[] = {"unix:///", "tcp://", "http://", "https://"};
	bool ok = false;

	if (strcmp(v, "none") == 0) {
		free(c->docker);
		c->docker = NULL;
		c->docker_none = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t len = strlen(schemes[i]);

		if (strncmp(v, schemes[i], len) == 0 && v[len] != '\0' && v[len] != '/')
			ok = true;
	}
	if (!ok)
		return bad(why, n,
			   "is not a Docker endpoint (unix:///path, tcp://host:port, "
			   "http://host:port, https://host:port) or none");
	c->docker_none = false;
	return set_str(&c->docker, v, why, n);
}

static int set_path(struct strv *list, const char *v, char *why, size_t n)
{
	if (!*v)
		return bad(why, n, "is not a path");
	if (strv_push(list, v) < 0)
		return bad(why, n, "could not be stored: out of memory");
	return 0;
}

static int set_hosts_dir(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_path(&c->hosts_dirs, v, why, n);
}

static int set_records(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_path(&c->records, v, why, n);
}

static int set_upstream(struct serve_conf *c, const char *v, char *why, size_t n)
{
	c->upstream_set = true;
	if (strcmp(v, "none") == 0) {
		if (c->nupstream > 0)
			return bad(why, n, "cannot be combined with upstream addresses");
		c->upstream_none = true;
		return 0;
	}
	if (c->upstream_none)
		return bad(why, n, "cannot be combined with --upstream none");
	if (c->nupstream >= CONF_MAX_LISTEN)
		return bad(why, n, "is one upstream too many (at most %d)", CONF_MAX_LISTEN);
	if (addr_parse(&c->upstream[c->nupstream], v, 53) < 0)
		return bad(why, n,
			   "is not an address with an optional port (192.0.2.1, "
			   "192.0.2.1:5353, [2001:db8::1]:53) or none");
	c->nupstream++;
	return 0;
}

static int set_http(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (strcmp(v, "none") == 0) {
		c->http_none = true;
		return 0;
	}
	if (addr_parse(&c->http, v, 8053) < 0)
		return bad(why, n,
			   "is not an address with a port (127.0.0.1:8053 or [::1]:8053) "
			   "or none");
	c->http_none = false;
	return 0;
}

static int set_host_ip(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (!is_ip(v))
		return bad(why, n, "is not an IPv4 or IPv6 address");
	return set_str(&c->host_ip, v, why, n);
}

static int set_seconds(uint32_t *field, const char *v, char *why, size_t n)
{
	unsigned long x;

	if (parse_num(v, 0, TTL_MAX, &x) < 0)
		return bad(why, n, "is not a number of seconds (0..%lu)", TTL_MAX);
	*field = (uint32_t)x;
	return 0;
}

static int set_ttl(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_seconds(&c->ttl, v, why, n);
}

static int set_negative_ttl(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_seconds(&c->negative_ttl, v, why, n);
}

static int set_threads(struct serve_conf *c, const char *v, char *why, size_t n)
{
	unsigned long x;

	if (parse_num(v, 1, 64, &x) < 0)
		return bad(why, n, "is not a number of threads (1..64)");
	c->threads = (unsigned)x;
	return 0;
}

static int set_etcd(struct serve_conf *c, const char *v, char *why, size_t n)
{
	const char *host = NULL;
	char buf[512];

	if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	if (host && *host && *host != '/')
		return set_path(&c->etcd, v, why, n);
	/* etcdctl also takes bare host:port endpoints. */
	if (!host && *v && !strstr(v, "://") && strlen(v) < sizeof(buf) - 8) {
		snprintf(buf, sizeof(buf), "http://%s", v);
		return set_path(&c->etcd, buf, why, n);
	}
	return bad(why, n, "is not an etcd endpoint (http://host:2379 or https://host:2379)");
}

static int set_node(struct serve_conf *c, const char *v, char *why, size_t n)
{
	size_t len = strlen(v);

	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			len = 0;
	if (len == 0 || len > 253)
		return bad(why, n, "is not a node name (1..253 letters, digits, '-', '.' or '_')");
	return set_str(&c->node, v, why, n);
}

static int set_advertise(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (!is_ip(v))
		return bad(why, n, "is not an IPv4 or IPv6 address");
	return set_str(&c->advertise, v, why, n);
}

static int set_api_token(struct serve_conf *c, const char *v, char *why, size_t n)
{
	size_t len = strlen(v);

	for (const char *p = v; *p; p++)
		if (*p <= ' ' || *p > '~')
			len = 0;
	if (len == 0 || len > 1024)
		return bad(why, n, "is not a token (1..1024 printable characters, no spaces)");
	return set_str(&c->api_token, v, why, n);
}

static int set_state_dir(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (!*v)
		return bad(why, n, "is not a directory");
	return set_str(&c->state_dir, v, why, n);
}

static int set_log_level(struct serve_conf *c, const char *v, char *why, size_t n)
{
	int level = log_level_parse(v);

	if (level < 0)
		return bad(why, n, "is not a log level (error, warn, info, debug)");
	c->log_level = level;
	return 0;
}

static int set_log_format(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (strcmp(v, "text") == 0)
		c->log_json = false;
	else if (strcmp(v, "json") == 0)
		c->log_json = true;
	else
		return bad(why, n, "is not a log format (text, json)");
	return 0;
}

static int set_miss(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (strcmp(v, "nxdomain") == 0)
		c->miss = MISS_NXDOMAIN;
	else if (strcmp(v, "servfail") == 0)
		c->miss = MISS_SERVFAIL;
	else
		return bad(why, n, "is not a miss mode (nxdomain, servfail)");
	return 0;
}

static int set_allow(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (c->nallow >= CONF_MAX_CIDR)
		return bad(why, n, "is one prefix too many (at most %d)", CONF_MAX_CIDR);
	if (cidr_parse(&c->allow[c->nallow], v) < 0)
		return bad(why, n, "is not an address prefix (10.0.0.0/8, fc00::/7 or an address)");
	c->nallow++;
	return 0;
}

static int set_udp_size(struct serve_conf *c, const char *v, char *why, size_t n)
{
	unsigned long x;

	if (parse_num(v, 512, 4096, &x) < 0)
		return bad(why, n, "is not a UDP payload size in bytes (512..4096)");
	c->udp_size = (uint16_t)x;
	return 0;
}

static int set_tcp_idle(struct serve_conf *c, const char *v, char *why, size_t n)
{
	unsigned long x;

	if (parse_num(v, 1, 86400, &x) < 0)
		return bad(why, n, "is not a number of seconds (1..86400)");
	c->tcp_idle_ms = (uint32_t)(x * 1000);
	return 0;
}

static int set_resolv_conf(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (!*v)
		return bad(why, n, "is not a path");
	return set_str(&c->resolv_conf, v, why, n);
}

static int set_bool(bool *field, const char *v, char *why, size_t n)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
		*field = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
		*field = false;
	else
		return bad(why, n, "is not true or false");
	return 0;
}

static int set_file(char **field, const char *v, char *why, size_t n)
{
	if (access(v, R_OK) != 0)
		return bad(why, n, "cannot be read: %s", strerror(errno));
	return set_str(field, v, why, n);
}

static int set_tls_ca(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_file(&c->docker_tls_ca, v, why, n);
}

static int set_tls_cert(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_file(&c->docker_tls_cert, v, why, n);
}

static int set_tls_key(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_file(&c->docker_tls_key, v, why, n);
}

static int set_bare(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_bool(&c->bare_hostnames, v, why, n);
}

static int set_unhealthy(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_bool(&c->include_unhealthy, v, why, n);
}

static int set_all(struct serve_conf *c, const char *v, char *why, size_t n)
{
	return set_bool(&c->all, v, why, n);
}

static int set_network(struct serve_conf *c, const char *v, char *why, size_t n)
{
	if (!*v)
		return bad(why, n, "is not a network name");
	if (strv_push(&c->networks, v) != 0)
		return bad(why, n, "could not be stored: out of memory");
	return 0;
}

static const struct opt opts[] = {
	{"listen", "ADDR:PORT", "127.0.0.1:53",
	 "Answer DNS here over UDP and TCP; IPv6 as [::1]:53; port 53 if omitted.", true,
	 set_listen},
	{"domain", "NAME", "docker", "The zone berth answers for with container names.", false,
	 set_domain},
	{"environment", "NAME", "(none)",
	 "Environment label in names: <name>.<image>.<environment>.<domain>.", false,
	 set_environment},
	{"docker", "URL|none", "$DOCKER_HOST, else unix:///var/run/docker.sock",
	 "Docker Engine API endpoint; none turns Docker discovery off.", false, set_docker},
	{"docker-tls-ca", "FILE", "$DOCKER_CERT_PATH/ca.pem when DOCKER_TLS_VERIFY is set",
	 "CA that the Docker engine's certificate must be signed by (verified).", false,
	 set_tls_ca},
	{"docker-tls-cert", "FILE", "$DOCKER_CERT_PATH/cert.pem when DOCKER_TLS_VERIFY is set",
	 "Client certificate for a TLS Docker endpoint.", false, set_tls_cert},
	{"docker-tls-key", "FILE", "$DOCKER_CERT_PATH/key.pem when DOCKER_TLS_VERIFY is set",
	 "Client key for a TLS Docker endpoint.", false, set_tls_key},
	{"network", "NAME", "(all networks)",
	 "Answer only with container addresses on this Docker network.", true, set_network},
	{"bare-hostnames", NULL, "off",
	 "Also answer a container's hostname with no domain (docker_dns).", false, set_bare},
	{"include-unhealthy", NULL, "off",
	 "Answer for containers whose healthcheck is not (yet) healthy.", false, set_unhealthy},
	{"all", NULL, "off", "Answer for stopped containers too (dnsdock's --all).", false,
	 set_all},
	{"hosts-dir", "DIR", "(none)",
	 "Serve every file in DIR in /etc/hosts format, watched for changes.", true, set_hosts_dir},
	{"records", "FILE", "(none)",
	 "Serve dnsmasq record lines (host-record=, txt-record=, ...) from FILE.", true,
	 set_records},
	{"upstream", "ADDR[:PORT]|none", "the nameservers in --resolv-conf",
	 "Forward other names here (port 53 if omitted); none turns forwarding off.", true,
	 set_upstream},
	{"http", "ADDR:PORT|none", "127.0.0.1:8053",
	 "HTTP API and status page address; none turns it off.", false, set_http},
	{"host-ip", "ADDR", "(detected)",
	 "Address answered for names of the host itself (joyride.host.name).", false, set_host_ip},
	{"ttl", "SECONDS", "10", "TTL of container and static records.", false, set_ttl},
	{"negative-ttl", "SECONDS", "5",
	 "TTL of NXDOMAIN and NODATA answers in berth's zones (SOA minimum).", false,
	 set_negative_ttl},
	{"threads", "N", "the number of online cores", "UDP worker threads (1..64).", false,
	 set_threads},
	{"etcd", "URL", "(none)", "etcd v3 endpoint for sharing records between hosts.", true,
	 set_etcd},
	{"node", "NAME", "the host name", "This node's name in the cluster.", false, set_node},
	{"advertise", "ADDR", "(none)", "Address other hosts reach this node's containers at.",
	 false, set_advertise},
	{"api-token", "TOKEN", "(none: the HTTP API is read-only)",
	 "Bearer token that HTTP writes must carry.", false, set_api_token},
	{"state-dir", "DIR", "/var/lib/berth",
	 "Where berth keeps state: the services put through the HTTP API.", false, set_state_dir},
	{"log-level", "LEVEL", "info", "Least severe messages logged: error, warn, info or debug.",
	 false, set_log_level},
	{"log-format", "text|json", "text", "Log lines as text or as one JSON object per line.",
	 false, set_log_format},
	{"miss", "nxdomain|servfail", "nxdomain",
	 "Reply for unknown names in berth's zones (servfail: try the next server).", false,
	 set_miss},
	{"allow-recursion", "CIDR",
	 "loopback and private ranges: 127.0.0.0/8 ::1/128\n"
	 "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7",
	 "Clients that may have names forwarded; others get REFUSED.", true, set_allow},
	{"max-udp-size", "BYTES", "1232",
	 "Largest UDP answer, whatever the client offers (512..4096).", false, set_udp_size},
	{"tcp-idle-timeout", "SECONDS", "10", "Close TCP connections idle this long.", false,
	 set_tcp_idle},
	{"resolv-conf", "PATH", "/etc/resolv.conf",
	 "Where default upstreams come from; berth's own addresses are skipped.", false,
	 set_resolv_conf},
	{"help", NULL, NULL, "Print this help and exit.", false, NULL},
	{"version", NULL, NULL, "Print the version and exit.", false, NULL},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* BERTH_ and the upper-cased name, '-' as '_'. */
static void env_name(const struct opt *o, char *buf, size_t len)
{
	size_t i = (size_t)snprintf(buf, len, "BERTH_");

	for (const char *p = o->name; *p && i + 1 < len; p++)
		buf[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[i] = '\0';
}

static const struct opt *find(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

void conf_usage_serve(FILE *f)
{
	char env[64], left[64];

	fprintf(f, "Usage: berth [serve] [OPTION]...\n"
		   "Answer DNS for Docker containers, hosts files and record files, and forward\n"
		   "other names to upstream resolvers.\n"
		   "\n"
		   "Every option can also be set in the environment variable shown beside it;\n"
		   "the command line wins. Repeatable options take a list there, separated by\n"
		   "commas or spaces; given on the command line, they replace that list.\n"
		   "\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		if (!o->set)
			continue;
		env_name(o, env, sizeof(env));
		if (o->arg)
			snprintf(left, sizeof(left), "--%s %s", o->name, o->arg);
		else
			snprintf(left, sizeof(left), "--%s", o->name);
		fprintf(f, "  %-30s %s%s\n      %s\n      default: ", left, env,
			o->repeat ? " (repeatable)" : "", o->help);
		/* Long defaults carry line breaks: indent what follows them. */
		for (const char *p = o->def; *p; p++) {
			fputc(*p, f);
			if (*p == '\n')
				fputs("               ", f);
		}
		fputc('\n', f);
	}
	fprintf(f, "\n  -h, --help    %s\n      --version %s\n", find("help", 4)->help,
		find("version", 7)->help);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Run one value through its option's setter; src names where it came from. */
static int apply(struct serve_conf *c, const struct opt *o, const char *v, const char *src,
		 char *err, size_t errlen)
{
	char why[WHY_MAX];

	if (o->set(c, v, why, sizeof(why)) == 0)
		return 0;
	set_err(err, errlen, "%s: \"%.200s\" %s", src, v, why);
	return -1;
}

/* Apply BERTH_<NAME> when set and not empty; lists split on commas and spaces. */
static int apply_env(struct serve_conf *c, const struct opt *o, char *err, size_t errlen)
{
	char name[64], *copy, *save = NULL;
	const char *v;
	int ret = 0;

	env_name(o, name, sizeof(name));
	v = getenv(name);
	if (!v || !*v)
		return 0;
	if (!o->repeat)
		return apply(c, o, v, name, err, errlen);
	copy = strdup(v);
	if (!copy) {
		set_err(err, errlen, "%s: out of memory", name);
		return -1;
	}
	for (char *t = strtok_r(copy, ", \t\n", &save); t; t = strtok_r(NULL, ", \t\n", &save)) {
		ret = apply(c, o, t, name, err, errlen);
		if (ret < 0)
			break;
	}
	free(copy);
	return ret;
}

static int set_defaults(struct serve_conf *c)
{
	char host[256] = "";
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	c->ttl = 10;
	c->negative_ttl = 5;
	c->threads = cores < 1 ? 1 : cores > 64 ? 64 : (unsigned)cores;
	c->log_level = LOG_INFO;
	c->miss = MISS_NXDOMAIN;
	c->udp_size = 1232;
	c->tcp_idle_ms = 10000;
	if (addr_parse(&c->http, "127.0.0.1:8053", 0) < 0)
		return -1;
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		strcpy(host, "localhost");
	c->domain = strdup("docker");
	c->environment = strdup("");
	c->resolv_conf = strdup("/etc/resolv.conf");
	c->node = strdup(host);
	c->state_dir = strdup("/var/lib/berth");
	return c->domain && c->environment && c->resolv_conf && c->node && c->state_dir ? 0 : -1;
}

/* Defaults that depend on what was given: listen, the ACL and Docker. */
static int fill_unset(struct serve_conf *c, char *err, size_t errlen)
{
	static const char *const acl[] = {"127.0.0.0/8",   "::1/128",        "10.0.0.0/8",
					  "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"};
	const char *dh = getenv("DOCKER_HOST");
	char why[WHY_MAX];

	if (c->nlisten == 0 && set_listen(c, "127.0.0.1:53", why, sizeof(why)) < 0)
		goto fail;
	for (size_t i = 0; c->nallow == 0 && i < sizeof(acl) / sizeof(acl[0]); i++)
		if (cidr_parse(&c->allow[i], acl[i]) < 0)
			goto fail;
	if (c->nallow == 0)
		c->nallow = sizeof(acl) / sizeof(acl[0]);
	if (c->docker || c->docker_none)
		return 0;
	if (dh && *dh) {
		if (set_docker(c, dh, why, sizeof(why)) == 0)
			return 0;
		set_err(err, errlen, "DOCKER_HOST: \"%.200s\" %s; set --docker to override it", dh,
			why);
		return -1;
	}
	if (set_docker(c, "unix:///var/run/docker.sock", why, sizeof(why)) == 0)
		return 0;
fail:
	set_err(err, errlen, "setting defaults failed: out of memory");
	return -1;
}

enum conf_result conf_parse_serve(struct serve_conf *c, int argc, char **argv, char *err,
				  size_t errlen)
{
	struct tok {
		const struct opt *o;
		const char *v;
	} *toks = NULL;
	bool seen[NOPTS] = {false};
	enum conf_result res = CONF_ERROR;
	size_t ntoks = 0;
	char src[64];

	memset(c, 0, sizeof(*c));
	if (err && errlen)
		err[0] = '\0';
	if (set_defaults(c) < 0) {
		set_err(err, errlen, "setting defaults failed: out of memory");
		goto out;
	}
	toks = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*toks));
	if (!toks) {
		set_err(err, errlen, "out of memory");
		goto out;
	}

	/* First the command line into (option, value) pairs, so that --help works
	 * whatever the environment holds and the environment is read only for the
	 * options the command line leaves out. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *name;
		const struct opt *o;
		size_t len;

		if (strcmp(a, "-h") == 0)
			a = "--help";
		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc) {
				set_err(err, errlen, "unexpected argument \"%.200s\" (see --help)",
					argv[i + 1]);
				goto out;
			}
			break;
		}
		if (strncmp(a, "--", 2) != 0) {
			set_err(err, errlen, "unexpected argument \"%.200s\" (see --help)", a);
			goto out;
		}
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find(name, len);
		if (!o) {
			set_err(err, errlen, "--%.*s: unknown option (see --help)",
				(int)(len > 100 ? 100 : len), name);
			goto out;
		}
		if (!o->set) {
			if (eq) {
				set_err(err, errlen, "--%s: takes no value", o->name);
				goto out;
			}
			if (strcmp(o->name, "help") == 0)
				conf_usage_serve(stdout);
			else
				printf("berth %s\n", BERTH_VERSION);
			fflush(stdout);
			res = CONF_EXIT;
			goto out;
		}
		if (eq) {
			toks[ntoks].v = eq + 1;
		} else if (!o->arg) {
			toks[ntoks].v = "true"; /* a flag */
		} else if (i + 1 < argc) {
			toks[ntoks].v = argv[++i];
		} else {
			set_err(err, errlen, "--%s: needs a value (%s)", o->name, o->arg);
			goto out;
		}
		toks[ntoks].o = o;
		seen[o - opts] = true;
		ntoks++;
	}

	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].set && !seen[i] && apply_env(c, &opts[i], err, errlen) < 0)
			goto out;
	for (size_t i = 0; i < ntoks; i++) {
		snprintf(src, sizeof(src), "--%s", toks[i].o->name);
		if (apply(c, toks[i].o, toks[i].v, src, err, errlen) < 0)
			goto out;
	}
	if (fill_unset(c, err, errlen) < 0)
		goto out;
	conf_upstreams_from_resolv(c, c->resolv_conf);
	res = CONF_OK;
out:
	free(toks);
	if (res != CONF_OK)
		conf_clear(c);
	return res;
}

void conf_clear(struct serve_conf *c)
{
	if (!c)
		return;
	free(c->domain);
	free(c->environment);
	free(c->docker);
	strv_clear(&c->hosts_dirs);
	strv_clear(&c->records);
	free(c->host_ip);
	strv_clear(&c->etcd);
	free(c->node);
	free(c->advertise);
	free(c->api_token);
	free(c->state_dir);
	free(c->resolv_conf);
	free(c->docker_tls_ca);
	free(c->docker_tls_cert);
	free(c->docker_tls_key);
	strv_clear(&c->networks);
	memset(c, 0, sizeof(*c));
}

/* Is the address one of this host's interface addresses? */
static bool is_local(const struct addr *a)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		struct addr x = {.len = 0};

		if (!i->ifa_addr || i->ifa_addr->sa_family != a->ss.ss_family)
			continue;
		if (a->ss.ss_family == AF_INET) {
			memcpy(&x.ss, i->ifa_addr, sizeof(struct sockaddr_in));
			((struct sockaddr_in *)&x.ss)->sin_port = htons(addr_port(a));
		} else {
			memcpy(&x.ss, i->ifa_addr, sizeof(struct sockaddr_in6));
			((struct sockaddr_in6 *)&x.ss)->sin6_port = htons(addr_port(a));
			((struct sockaddr_in6 *)&x.ss)->sin6_scope_id =
				((const struct sockaddr_in6 *)&a->ss)->sin6_scope_id;
		}
		found = addr_equal(&x, a);
	}
	freeifaddrs(ifs);
	return found;
}

/* Would a query sent to ns come back to berth itself? */
static bool is_self(const struct serve_conf *c, const struct addr *ns)
{
	for (size_t i = 0; i < c->nlisten; i++) {
		const struct addr *l = &c->listen[i];

		if (addr_equal(l, ns))
			return true;
		if (addr_port(l) != addr_port(ns))
			continue;
		/* 0.0.0.0 and :: as a nameserver mean this host. */
		if (addr_is_any(ns) && (addr_is_loopback(l) || addr_is_any(l)))
			return true;
		/* A wildcard listener answers on every local address, loopback too. */
		if (addr_is_any(l) && (addr_is_loopback(ns) || is_local(ns)))
			return true;
	}
	return false;
}

/* The address of a nameserver line: a bare IPv4 or IPv6 address, any
 * %scope ignored, port 53. */
static int parse_ns(struct addr *out, char *word)
{
	char *pct = strchr(word, '%');

	if (pct)
		*pct = '\0';
	if (!is_ip(word))
		return -1;
	return addr_parse(out, word, 53);
}

size_t conf_upstreams_from_resolv(struct serve_conf *c, const char *path)
{
	char line[1024];
	FILE *f;

	if (!c || c->upstream_set || c->upstream_none)
		return c ? c->nupstream : 0;
	c->nupstream = 0;
	if (!path)
		path = c->resolv_conf ? c->resolv_conf : "/etc/resolv.conf";
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && c->nupstream < CONF_MAX_LISTEN) {
		char *save = NULL, *key, *word;
		struct addr ns;
		bool dup = false;
		int ch;

		/* Drop the rest of an overlong line rather than read it as a new one. */
		if (!strchr(line, '\n'))
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
		key = strtok_r(line, " \t\r\n", &save);
		if (!key || strcmp(key, "nameserver") != 0)
			continue;
		word = strtok_r(NULL, " \t\r\n#;", &save);
		if (!word || parse_ns(&ns, word) < 0 || is_self(c, &ns))
			continue;
		for (size_t i = 0; i < c->nupstream; i++)
			dup = dup || addr_equal(&c->upstream[i], &ns);
		if (!dup)
			c->upstream[c->nupstream++] = ns;
	}
	fclose(f);
	return c->nupstream;
}
