/* SPDX-License-Identifier: MIT */
/* Options of `berth serve`: its option table for the engine in optparse.c, its
 * defaults and the checks after parsing (default upstreams: conf/upstreams.c; the cluster's
 * options: conf/cluster_options.c). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/optparse.h"
#include "conf/options.h"
#include "conf/setters.h"
#include "util/err.h"
#include "util/log.h"

#define TTL_MAX 2147483647UL
#define WHY_MAX 160

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
		return -EINVAL;
	for (size_t i = 0; i <= len; i++) {
		char ch = s[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return -EINVAL;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)ch) || ch == '_' || (ch == '-' && label > 0)))
			return -EINVAL;
		label++;
	}
	return 0;
}

static bool is_ip(const char *v)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

static int set_listen(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	if (c->nlisten >= CONF_MAX_LISTEN)
		return optparse_why(why, n, "is one address too many (at most %d)",
				    CONF_MAX_LISTEN);
	if (addr_parse(&c->listen[c->nlisten], v, 53) < 0)
		return optparse_why(why, n,
				    "is not an address with a port (127.0.0.1:53 or [::1]:53)");
	c->nlisten++;
	return 0;
}

static int set_domain(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	char *s = strdup(v);

	if (!s)
		return optparse_why(why, n, "could not be stored: out of memory");
	if (check_name(s, false) < 0) {
		free(s);
		return optparse_why(why, n,
				    "is not a DNS name (labels of letters, digits, '-' or '_', "
				    "at most 63 characters each)");
	}
	free(c->domain);
	c->domain = s;
	return 0;
}

static int set_environment(void *conf, const struct optparse_opt *o, const char *v, char *why,
			   size_t n)
{
	struct serve_conf *c = conf;
	char *s = strdup(v);

	if (!s)
		return optparse_why(why, n, "could not be stored: out of memory");
	if (check_name(s, true) < 0) {
		free(s);
		return optparse_why(why, n,
				    "is not a DNS name (labels of letters, digits, '-' or '_', "
				    "at most 63 characters each)");
	}
	free(c->environment);
	c->environment = s;
	return 0;
}

static int set_docker(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	static const char *const schemes[] = { "unix:///", "tcp://", "http://", "https://" };
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
		return optparse_why(why, n,
				    "is not a Docker endpoint (unix:///path, tcp://host:port, "
				    "http://host:port, https://host:port) or none");
	c->docker_none = false;
	return optparse_set_str(&c->docker, v, why, n);
}

static int set_path(struct strv *list, const char *v, char *why, size_t n)
{
	if (!*v)
		return optparse_why(why, n, "is not a path");
	if (strv_push(list, v) < 0)
		return optparse_why(why, n, "could not be stored: out of memory");
	return 0;
}

static int set_hosts_dir(void *conf, const struct optparse_opt *o, const char *v, char *why,
			 size_t n)
{
	struct serve_conf *c = conf;
	return set_path(&c->hosts_dirs, v, why, n);
}

static int set_records(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	return set_path(&c->records, v, why, n);
}

static int set_upstream(void *conf, const struct optparse_opt *o, const char *v, char *why,
			size_t n)
{
	struct serve_conf *c = conf;
	c->upstream_set = true;
	if (strcmp(v, "none") == 0) {
		if (c->nupstream > 0)
			return optparse_why(why, n, "cannot be combined with upstream addresses");
		c->upstream_none = true;
		return 0;
	}
	if (c->upstream_none)
		return optparse_why(why, n, "cannot be combined with --upstream none");
	if (c->nupstream >= CONF_MAX_LISTEN)
		return optparse_why(why, n, "is one upstream too many (at most %d)",
				    CONF_MAX_LISTEN);
	if (addr_parse(&c->upstream[c->nupstream], v, 53) < 0)
		return optparse_why(why, n,
				    "is not an address with an optional port (192.0.2.1, "
				    "192.0.2.1:5353, [2001:db8::1]:53) or none");
	c->nupstream++;
	return 0;
}

static int set_http(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	if (strcmp(v, "none") == 0) {
		c->http_none = true;
		return 0;
	}
	if (addr_parse(&c->http, v, 8053) < 0)
		return optparse_why(why, n,
				    "is not an address with a port (127.0.0.1:8053 or [::1]:8053) "
				    "or none");
	c->http_none = false;
	return 0;
}

/* A name (or address) clients reach the HTTP API by: lowercased, one
 * trailing dot removed. */
static int set_http_host(void *conf, const struct optparse_opt *o, const char *v, char *why,
			 size_t n)
{
	struct serve_conf *c = conf;
	char buf[256];
	size_t len = strlen(v);

	if (len > 0 && v[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len && len < sizeof(buf); i++) {
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '.' && v[i] != '_' &&
		    v[i] != ':')
			len = 0;
		buf[i] = (char)tolower((unsigned char)v[i]);
	}
	if (len == 0 || len > 253)
		return optparse_why(why, n,
				    "is not a host name or address (letters, digits, "
				    "'-', '.', '_', ':'; no port)");
	buf[len] = '\0';
	if (strv_push(&c->http_host, buf) != 0)
		return optparse_why(why, n, "could not be stored: out of memory");
	return 0;
}

static int set_host_ip(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	if (!is_ip(v))
		return optparse_why(why, n, "is not an IPv4 or IPv6 address");
	return optparse_set_str(&c->host_ip, v, why, n);
}

static int set_nsid(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	size_t len = strlen(v);

	if (strcmp(v, "none") == 0) {
		c->nsid_none = true;
		return 0;
	}
	for (const char *p = v; *p; p++)
		if (*p < ' ' || *p > '~')
			len = 0;
	if (len == 0 || len > 253)
		return optparse_why(why, n,
				    "is not a name server ID (1..253 printable "
				    "characters) or none");
	c->nsid_none = false;
	return optparse_set_str(&c->nsid, v, why, n);
}

static int set_advertise(void *conf, const struct optparse_opt *o, const char *v, char *why,
			 size_t n)
{
	struct serve_conf *c = conf;
	if (!is_ip(v))
		return optparse_why(why, n, "is not an IPv4 or IPv6 address");
	return optparse_set_str(&c->advertise, v, why, n);
}

static int set_api_token(void *conf, const struct optparse_opt *o, const char *v, char *why,
			 size_t n)
{
	struct serve_conf *c = conf;
	size_t len = strlen(v);

	for (const char *p = v; *p; p++)
		if (*p <= ' ' || *p > '~')
			len = 0;
	if (len == 0 || len > 1024)
		return optparse_why(why, n,
				    "is not a token (1..1024 printable characters, no spaces)");
	return optparse_set_str(&c->api_token, v, why, n);
}

static int set_state_dir(void *conf, const struct optparse_opt *o, const char *v, char *why,
			 size_t n)
{
	struct serve_conf *c = conf;
	if (!*v)
		return optparse_why(why, n, "is not a directory");
	return optparse_set_str(&c->state_dir, v, why, n);
}

static int set_allow(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	if (c->nallow >= CONF_MAX_CIDR)
		return optparse_why(why, n, "is one prefix too many (at most %d)", CONF_MAX_CIDR);
	if (cidr_parse(&c->allow[c->nallow], v) < 0)
		return optparse_why(
			why, n, "is not an address prefix (10.0.0.0/8, fc00::/7 or an address)");
	c->nallow++;
	return 0;
}

static int set_resolv_conf(void *conf, const struct optparse_opt *o, const char *v, char *why,
			   size_t n)
{
	struct serve_conf *c = conf;
	if (!*v)
		return optparse_why(why, n, "is not a path");
	return optparse_set_str(&c->resolv_conf, v, why, n);
}

static int set_file(char **field, const char *v, char *why, size_t n)
{
	if (access(v, R_OK) != 0)
		return optparse_why(why, n, "cannot be read: %s", strerror(errno));
	return optparse_set_str(field, v, why, n);
}

static int set_tls_ca(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	return set_file(&c->docker_tls_ca, v, why, n);
}

static int set_tls_cert(void *conf, const struct optparse_opt *o, const char *v, char *why,
			size_t n)
{
	struct serve_conf *c = conf;
	return set_file(&c->docker_tls_cert, v, why, n);
}

static int set_tls_key(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	return set_file(&c->docker_tls_key, v, why, n);
}

static int set_http_domain(void *conf, const struct optparse_opt *o, const char *v, char *why,
			   size_t n)
{
	struct serve_conf *c = conf;
	char d[256];
	size_t len = strlen(v);
	if (len > 0 && v[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(d))
		return optparse_why(why, n, "is not a domain name");
	for (size_t i = 0; i < len; i++) {
		char ch = (char)tolower((unsigned char)v[i]);
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      (ch == '.' && i > 0 && d[i - 1] != '.')))
			return optparse_why(why, n, "is not a domain name");
		d[i] = ch;
	}
	d[len] = '\0';
	if (strcmp(d, c->domain) == 0)
		return optparse_why(why, n, "is --domain: choose another domain for HTTP names");
	return optparse_set_str(&c->http_domain, d, why, n);
}

static int set_proxy_address(void *conf, const struct optparse_opt *o, const char *v, char *why,
			     size_t n)
{
	struct serve_conf *c = conf;
	if (!is_ip(v))
		return optparse_why(why, n, "is not an IPv4 or IPv6 address");
	if (strv_push(&c->proxy_addrs, v) != 0)
		return optparse_why(why, n, "could not be stored: out of memory");
	return 0;
}

static int set_haproxy_socket(void *conf, const struct optparse_opt *o, const char *v, char *why,
			      size_t n)
{
	struct serve_conf *c = conf;
	if (v[0] != '/' && strchr(v, ':') == NULL)
		return optparse_why(why, n,
				    "is not a socket path (/run/haproxy/berth.sock) or ADDR:PORT");
	if (strv_push(&c->haproxy_sockets, v) != 0)
		return optparse_why(why, n, "could not be stored: out of memory");
	return 0;
}

/* A FILE option whose char * field is at o->off. */
static int set_file_at(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	return set_file((char **)((char *)conf + o->off), v, why, n);
}

/* A string option whose char * field is at o->off. */
static int set_str_at(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	if (!*v)
		return optparse_why(why, n, "is empty");
	return optparse_set_str((char **)((char *)conf + o->off), v, why, n);
}

static int set_network(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	if (!*v)
		return optparse_why(why, n, "is not a network name");
	if (strv_push(&c->networks, v) != 0)
		return optparse_why(why, n, "could not be stored: out of memory");
	return 0;
}

static const char *const log_formats[] = { "text", "json", NULL };
static const char *const miss_modes[] = { "nxdomain", "servfail", NULL }; /* enum miss_mode */

#define AT(field) OPTPARSE_AT(struct serve_conf, field)

static const struct optparse_opt opts[] = {
	{ .name = "listen",
	  .arg = "ADDR:PORT",
	  .def = "127.0.0.1:53",
	  .help = "Answer DNS here over UDP and TCP; IPv6 as [::1]:53; port 53 if omitted.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_listen },
	{ .name = "domain",
	  .arg = "NAME",
	  .def = "docker",
	  .help = "The zone berth answers for with container names.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_domain },
	{ .name = "environment",
	  .arg = "NAME",
	  .def = "(none)",
	  .help = "Environment label in names: <name>.<image>.<environment>.<domain>.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_environment },
	{ .name = "docker",
	  .arg = "URL|none",
	  .def = "$DOCKER_HOST, else unix:///var/run/docker.sock",
	  .help = "Docker Engine API endpoint; none turns Docker discovery off.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_docker },
	{ .name = "docker-tls-ca",
	  .arg = "FILE",
	  .def = "$DOCKER_CERT_PATH/ca.pem when DOCKER_TLS_VERIFY is set",
	  .help = "CA that the Docker engine's certificate must be signed by (verified).",
	  .kind = OPTPARSE_FUNC,
	  .set = set_tls_ca },
	{ .name = "docker-tls-cert",
	  .arg = "FILE",
	  .def = "$DOCKER_CERT_PATH/cert.pem when DOCKER_TLS_VERIFY is set",
	  .help = "Client certificate for a TLS Docker endpoint.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_tls_cert },
	{ .name = "docker-tls-key",
	  .arg = "FILE",
	  .def = "$DOCKER_CERT_PATH/key.pem when DOCKER_TLS_VERIFY is set",
	  .help = "Client key for a TLS Docker endpoint.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_tls_key },
	{ .name = "network",
	  .arg = "NAME",
	  .def = "(all networks)",
	  .help = "Answer only with container addresses on this Docker network.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_network },
	{ .name = "bare-hostnames",
	  .def = "off",
	  .help = "Also answer a container's hostname with no domain (docker_dns).",
	  .kind = OPTPARSE_FLAG,
	  AT(bare_hostnames) },
	{ .name = "include-unhealthy",
	  .def = "off",
	  .help = "Answer for containers whose healthcheck is not (yet) healthy.",
	  .kind = OPTPARSE_FLAG,
	  AT(include_unhealthy) },
	{ .name = "all",
	  .def = "off",
	  .help = "Answer for stopped containers too (dnsdock's --all).",
	  .kind = OPTPARSE_FLAG,
	  AT(all) },
	{ .name = "hosts-dir",
	  .arg = "DIR",
	  .def = "(none)",
	  .help = "Serve every file in DIR in /etc/hosts format, watched for changes.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_hosts_dir },
	{ .name = "records",
	  .arg = "FILE",
	  .def = "(none)",
	  .help = "Serve dnsmasq record lines (host-record=, txt-record=, ...) from FILE.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_records },
	{ .name = "upstream",
	  .arg = "ADDR[:PORT]|none",
	  .def = "the nameservers in --resolv-conf",
	  .help = "Forward other names here (port 53 if omitted); none turns forwarding off.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_upstream },
	{ .name = "http",
	  .arg = "ADDR:PORT|none",
	  .def = "127.0.0.1:8053",
	  .help = "HTTP API and status page address; none turns it off.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_http },
	{ .name = "http-host",
	  .arg = "NAME",
	  .def = "(the --http address and localhost only)",
	  .help = "Another Host header HTTP requests may carry (a name berth is reached by); "
		  "others get 421.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_http_host },
	{ .name = "host-ip",
	  .arg = "ADDR",
	  .def = "(detected)",
	  .help = "Address answered for names of the host itself (joyride.host.name).",
	  .kind = OPTPARSE_FUNC,
	  .set = set_host_ip },
	{ .name = "ttl",
	  .arg = "SECONDS",
	  .def = "10",
	  .help = "TTL of container and static records.",
	  .kind = OPTPARSE_NUM,
	  AT(ttl),
	  .max = TTL_MAX,
	  .what = "a number of seconds" },
	{ .name = "negative-ttl",
	  .arg = "SECONDS",
	  .def = "5",
	  .help = "TTL of NXDOMAIN and NODATA answers in berth's zones (SOA minimum).",
	  .kind = OPTPARSE_NUM,
	  AT(negative_ttl),
	  .max = TTL_MAX,
	  .what = "a number of seconds" },
	{ .name = "threads",
	  .arg = "N",
	  .def = "the number of online cores",
	  .help = "UDP worker threads (1..64).",
	  .kind = OPTPARSE_NUM,
	  AT(threads),
	  .min = 1,
	  .max = 64,
	  .what = "a number of threads" },
	{ .name = "etcd",
	  .arg = "URL",
	  .def = "(none)",
	  .help = "etcd v3 endpoint (a member of the cluster; repeat for each): share "
		  "records with every other node.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_etcd },
	{ .name = "node",
	  .arg = "NAME",
	  .def = "the host name",
	  .help = "This node's name in the cluster.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_node },
	{ .name = "nsid",
	  .arg = "TEXT|none",
	  .def = "--node",
	  .help = "Name server ID for clients that ask (RFC 5001, dig +nsid); none: no NSID.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_nsid },
	{ .name = "advertise",
	  .arg = "ADDR",
	  .def = "--host-ip",
	  .help = "Address other hosts reach this node's containers at.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_advertise },
	{ .name = "etcd-ca",
	  .arg = "FILE",
	  .def = "the system's CAs",
	  .help = "CA that https:// etcd members' certificates must be signed by (verified).",
	  .kind = OPTPARSE_FUNC,
	  AT(etcd_ca),
	  .set = set_file_at },
	{ .name = "etcd-cert",
	  .arg = "FILE",
	  .def = "(none)",
	  .help = "Client certificate for etcd (with --etcd-key).",
	  .kind = OPTPARSE_FUNC,
	  AT(etcd_cert),
	  .set = set_file_at },
	{ .name = "etcd-key",
	  .arg = "FILE",
	  .def = "(none)",
	  .help = "Client key for etcd.",
	  .kind = OPTPARSE_FUNC,
	  AT(etcd_key),
	  .set = set_file_at },
	{ .name = "etcd-user",
	  .arg = "NAME",
	  .def = "(none: etcd without auth)",
	  .help = "etcd user (its token is got and renewed by berth).",
	  .kind = OPTPARSE_FUNC,
	  AT(etcd_user),
	  .set = set_str_at },
	{ .name = "etcd-password",
	  .arg = "PASSWORD",
	  .def = "(none)",
	  .help = "Password of --etcd-user (better in BERTH_ETCD_PASSWORD).",
	  .kind = OPTPARSE_FUNC,
	  AT(etcd_password),
	  .set = set_str_at },
	{ .name = "etcd-prefix",
	  .arg = "PREFIX",
	  .def = "/berth",
	  .help = "Key prefix of this cluster in etcd (clusters with other prefixes share it).",
	  .kind = OPTPARSE_FUNC,
	  .set = set_etcd_prefix },
	{ .name = "etcd-lease-ttl",
	  .arg = "SECONDS",
	  .def = "10",
	  .help = "TTL of this node's lease: a node that dies vanishes after it.",
	  .kind = OPTPARSE_NUM,
	  AT(etcd_lease_ttl),
	  .min = 2,
	  .max = 3600,
	  .what = "a number of seconds" },
	{ .name = "routable-network",
	  .arg = "NAME",
	  .def = "(none)",
	  .help = "Docker network other hosts reach directly (macvlan, overlay): containers "
		  "on it are published with their own address.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_routable },
	{ .name = "publish",
	  .arg = "KINDS",
	  .def = "docker,manual",
	  .help = "Which of this node's records go to the cluster: docker, manual, hosts, "
		  "records, or none.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_publish },
	{ .name = "publish-unreachable",
	  .def = "off",
	  .help = "Publish containers other hosts cannot reach (no routable network, no "
		  "published port) too, with the --advertise address.",
	  .kind = OPTPARSE_FLAG,
	  AT(publish_unreachable) },
	{ .name = "http-domain",
	  .arg = "DOMAIN",
	  .def = "(off)",
	  .help = "Answer <name>.DOMAIN with the proxy's address for containers that offer HTTP "
		  "or TLS, and route them through HAProxy.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_http_domain },
	{ .name = "proxy-address",
	  .arg = "ADDR",
	  .def = "--advertise, else --host-ip",
	  .help = "Where the HAProxy that berth drives listens: what HTTP names answer "
		  "(repeatable).",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_proxy_address },
	{ .name = "haproxy-socket",
	  .arg = "PATH|ADDR:PORT",
	  .def = "(none: names only)",
	  .help = "HAProxy Runtime API (stats socket, level admin) to keep in step "
		  "(repeatable).",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_haproxy_socket },
	{ .name = "http-auto",
	  .def = "off",
	  .help = "Route a container exposing exactly one of 80, 8080, 8000, 3000, 5000 without "
		  "a label.",
	  .kind = OPTPARSE_FLAG,
	  AT(http_auto) },
	{ .name = "proxy-to-container-ip",
	  .def = "off",
	  .help = "Let the proxy reach containers at their own address when no port is "
		  "published.",
	  .kind = OPTPARSE_FLAG,
	  AT(proxy_to_container_ip) },
	{ .name = "api-token",
	  .arg = "TOKEN",
	  .def = "(none: the HTTP API is read-only)",
	  .help = "Bearer token that HTTP writes must carry.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_api_token },
	{ .name = "state-dir",
	  .arg = "DIR",
	  .def = "/var/lib/berth",
	  .help = "Where berth keeps state: the services put through the HTTP API.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_state_dir },
	{ .name = "user",
	  .arg = "NAME",
	  .def = "(none: keep the user berth was started as)",
	  .help = "Started as root: bind every socket, then run as this user with no "
		  "capabilities.",
	  .kind = OPTPARSE_FUNC,
	  AT(user),
	  .set = set_str_at },
	{ .name = "group",
	  .arg = "NAME",
	  .def = "the Docker socket's group",
	  .help = "With --user: the supplementary group kept (the one that may use the "
		  "Docker socket).",
	  .kind = OPTPARSE_FUNC,
	  AT(group),
	  .set = set_str_at },
	{ .name = "keep-net-bind-service",
	  .def = "off",
	  .help = "With --user: keep CAP_NET_BIND_SERVICE (and no other capability).",
	  .kind = OPTPARSE_FLAG,
	  AT(keep_net_bind) },
	{ .name = "log-level",
	  .arg = "LEVEL",
	  .def = "info",
	  .help = "Least severe messages logged: error, warn, info or debug.",
	  .kind = OPTPARSE_FUNC,
	  AT(log_level),
	  .set = optparse_set_log_level },
	{ .name = "log-format",
	  .arg = "text|json",
	  .def = "text",
	  .help = "Log lines as text or as one JSON object per line.",
	  .kind = OPTPARSE_CHOICE,
	  AT(log_json),
	  .what = "a log format",
	  .choices = log_formats },
	{ .name = "miss",
	  .arg = "nxdomain|servfail",
	  .def = "nxdomain",
	  .help = "Reply for unknown names in berth's zones (servfail: try the next server).",
	  .kind = OPTPARSE_CHOICE,
	  AT(miss),
	  .what = "a miss mode",
	  .choices = miss_modes },
	{ .name = "allow-recursion",
	  .arg = "CIDR",
	  .def = "loopback and private ranges: 127.0.0.0/8 ::1/128\n"
		 "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7",
	  .help = "Clients that may have names forwarded; others get REFUSED.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_allow },
	{ .name = "max-udp-size",
	  .arg = "BYTES",
	  .def = "1232",
	  .help = "Largest UDP answer, whatever the client offers (512..4096).",
	  .kind = OPTPARSE_NUM,
	  AT(udp_size),
	  .min = 512,
	  .max = 4096,
	  .what = "a UDP payload size in bytes" },
	{ .name = "rate-limit",
	  .arg = "N",
	  .def = "200",
	  .help = "UDP responses per second to one client /24 (IPv6: /56) beyond loopback; "
		  "over it every second one goes out truncated, the rest are dropped. "
		  "0 turns it off.",
	  .kind = OPTPARSE_NUM,
	  AT(rate_limit),
	  .max = 1000000,
	  .what = "a number of responses per second" },
	{ .name = "tcp-idle-timeout",
	  .arg = "SECONDS",
	  .def = "10",
	  .help = "Close TCP connections idle this long.",
	  .kind = OPTPARSE_NUM,
	  AT(tcp_idle_ms),
	  .min = 1,
	  .max = 86400,
	  .scale = 1000,
	  .what = "a number of seconds" },
	{ .name = "resolv-conf",
	  .arg = "PATH",
	  .def = "/etc/resolv.conf",
	  .help = "Where default upstreams come from; berth's own addresses are skipped.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_resolv_conf },
};

static const struct optparse_cmd serve_cmd = {
	.usage = "berth [serve] [OPTION]...",
	.about = "Answer DNS for Docker containers, hosts files and record files, and forward\n"
		 "other names to upstream resolvers.\n",
	.opts = opts,
	.nopts = sizeof(opts) / sizeof(opts[0]),
};

void conf_usage_serve(FILE *f)
{
	optparse_usage(&serve_cmd, f);
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
	c->rate_limit = 200;
	c->tcp_idle_ms = 10000;
	if (addr_parse(&c->http, "127.0.0.1:8053", 0) < 0)
		return -EINVAL;
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		strcpy(host, "localhost");
	c->domain = strdup("docker");
	c->environment = strdup("");
	c->resolv_conf = strdup("/etc/resolv.conf");
	c->node = strdup(host);
	c->state_dir = strdup("/var/lib/berth");
	c->etcd_prefix = strdup("/berth");
	c->etcd_lease_ttl = 10;
	c->publish = PUBLISH_DOCKER | PUBLISH_MANUAL;
	if (!c->domain || !c->environment || !c->resolv_conf || !c->node || !c->state_dir ||
	    !c->etcd_prefix)
		return -ENOMEM;
	return 0;
}

/* Defaults that depend on what was given: listen, the ACL and Docker. */
static int fill_unset(struct serve_conf *c, char *err, size_t errlen)
{
	static const char *const acl[] = { "127.0.0.0/8",   "::1/128",        "10.0.0.0/8",
					   "172.16.0.0/12", "192.168.0.0/16", "fc00::/7" };
	const char *dh = getenv("DOCKER_HOST");
	char why[WHY_MAX];

	if (c->nlisten == 0 && set_listen(c, NULL, "127.0.0.1:53", why, sizeof(why)) < 0)
		goto fail;
	for (size_t i = 0; c->nallow == 0 && i < sizeof(acl) / sizeof(acl[0]); i++)
		if (cidr_parse(&c->allow[i], acl[i]) < 0)
			goto fail;
	if (c->nallow == 0)
		c->nallow = sizeof(acl) / sizeof(acl[0]);
	if (c->docker || c->docker_none)
		return 0;
	if (dh && *dh) {
		if (set_docker(c, NULL, dh, why, sizeof(why)) == 0)
			return 0;
		return berth_fail(err, errlen, -EINVAL,
				  "DOCKER_HOST: \"%.200s\" %s; set --docker to override it", dh,
				  why);
	}
	if (set_docker(c, NULL, "unix:///var/run/docker.sock", why, sizeof(why)) == 0)
		return 0;
fail:
	return berth_fail(err, errlen, -ENOMEM, "setting defaults failed: out of memory");
}

int conf_parse_serve(struct serve_conf *c, int argc, char **argv, bool *exited, char *err,
		     size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	*exited = false;
	if (err && errlen)
		err[0] = '\0';
	if ((ret = set_defaults(c)) < 0) {
		berth_fail(err, errlen, ret, "setting defaults failed: out of memory");
		goto out;
	}
	if ((ret = optparse_parse(&serve_cmd, c, argc, argv, exited, err, errlen)) < 0 || *exited)
		goto out;
	if ((ret = fill_unset(c, err, errlen)) < 0)
		goto out;
	conf_upstreams_from_resolv(c, c->resolv_conf);
	return 0;
out:
	conf_clear(c);
	return ret;
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
	strv_clear(&c->http_host);
	free(c->host_ip);
	strv_clear(&c->etcd);
	free(c->node);
	free(c->nsid);
	free(c->advertise);
	free(c->api_token);
	free(c->state_dir);
	free(c->user);
	free(c->group);
	free(c->resolv_conf);
	free(c->docker_tls_ca);
	free(c->docker_tls_cert);
	free(c->docker_tls_key);
	strv_clear(&c->networks);
	free(c->etcd_ca);
	free(c->etcd_cert);
	free(c->etcd_key);
	free(c->etcd_user);
	free(c->etcd_password);
	free(c->etcd_prefix);
	strv_clear(&c->routable);
	free(c->http_domain);
	strv_clear(&c->proxy_addrs);
	strv_clear(&c->haproxy_sockets);
	memset(c, 0, sizeof(*c));
}

const char *conf_nsid(const struct serve_conf *c)
{
	if (c->nsid_none)
		return NULL;
	return c->nsid != NULL ? c->nsid : c->node;
}
