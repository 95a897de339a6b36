/* SPDX-License-Identifier: MIT */
/* Container facts to owner names and records: every seed's naming convention, pure (no I/O). */
#include "naming/naming.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LABEL_MAX 63        /* bytes in one DNS label */
#define NAME_TEXT_MAX 253   /* presentation bytes without the root dot: 255 in wire form */
#define NAME_BUF 512        /* room for any name we build, checked before use */
#define SHORT_ID_LEN 12     /* docker ps, and the alias Docker gives every container */
#define TTL_MAX 2147483647u /* RFC 2181 8 */

struct ip_text {
	char s[INET6_ADDRSTRLEN];
	uint8_t prefix; /* the network's prefix length, 0 = unknown */
};

/* What every record of one container shares. */
struct ctx {
	struct recset *out;
	uint32_t ttl;
	struct ip_text *ips; /* the container's addresses, deduplicated, canonical text */
	size_t nips;
	const struct naming_export *x; /* NULL: this node's own view */
	bool via_node;                 /* export: reached through the node's address, not its own */
	bool host_net;                 /* network mode host: its ports are the node's */
};

/* One label from in[0..len): lowercase [a-z0-9-], any other byte (or UTF-8
 * sequence) one '-', no leading or trailing '-', at most 63 bytes. */
static size_t label_n(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	size_t max;

	if (out == NULL || outlen == 0)
		return 0;
	max = outlen - 1 < LABEL_MAX ? outlen - 1 : LABEL_MAX;
	for (size_t i = 0; in != NULL && i < len && o < max; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			out[o++] = (char)ch;
		else if (ch >= 0x80 && ch < 0xc0)
			continue; /* UTF-8 continuation byte: its lead byte gave the '-' */
		else if (o > 0)
			out[o++] = '-'; /* a leading '-' is never written */
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	out[o] = '\0';
	return o;
}

void naming_label(const char *in, char *out, size_t outlen)
{
	label_n(in, in == NULL ? 0 : strlen(in), out, outlen);
}

/* A dotted name from in[0..len): each label sanitised, empty labels dropped,
 * no final dot. A lone '*' first label is kept when wild. Returns the length,
 * 0 (out empty) when nothing usable is left or the name passes 253 bytes. */
static size_t name_clean(const char *in, size_t len, char *out, size_t outlen, bool wild)
{
	size_t o = 0;
	size_t pos = 0;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (in == NULL)
		return 0;
	while (pos <= len) {
		const char *p = in + pos;
		const char *dot = memchr(p, '.', len - pos);
		size_t n = dot != NULL ? (size_t)(dot - p) : len - pos;
		char label[LABEL_MAX + 1];
		size_t ln;

		if (wild && o == 0 && n == 1 && p[0] == '*') {
			label[0] = '*';
			label[1] = '\0';
			ln = 1;
		} else {
			ln = label_n(p, n, label, sizeof(label));
		}
		if (ln > 0) {
			size_t need = o + (o > 0) + ln;
			if (need > NAME_TEXT_MAX || need + 1 > outlen) {
				out[0] = '\0';
				return 0;
			}
			if (o > 0)
				out[o++] = '.';
			memcpy(out + o, label, ln);
			o += ln;
		}
		pos += n + 1;
	}
	out[o] = '\0';
	if (o == 1 && out[0] == '*') {
		out[0] = '\0'; /* a wildcard over everything is nobody's name */
		return 0;
	}
	return o;
}

/* Image label: the last path component without tag or digest, sanitised.
 * "quay.io/coreos/etcd:v3.5" -> "etcd"; an image ID ("sha256:...") has none. */
static size_t image_label(const char *image, char *out, size_t outlen)
{
	const char *start;
	const char *colon;
	size_t len;

	out[0] = '\0';
	if (image == NULL || strncasecmp(image, "sha256:", 7) == 0)
		return 0;
	len = strcspn(image, "@");
	start = image;
	for (size_t i = 0; i < len; i++)
		if (image[i] == '/')
			start = image + i + 1;
	len -= (size_t)(start - image);
	colon = memchr(start, ':', len);
	if (colon != NULL)
		len = (size_t)(colon - start);
	return label_n(start, len, out, outlen);
}

static const char *label_get(const struct container_facts *c, const char *key)
{
	for (size_t i = 0; c->labels != NULL && i < c->nlabels; i++)
		if (c->labels[i].key != NULL && strcmp(c->labels[i].key, key) == 0)
			return c->labels[i].value != NULL ? c->labels[i].value : "";
	return NULL;
}

static const char *env_get(const struct container_facts *c, const char *key)
{
	size_t klen = strlen(key);

	for (const char *const *e = c->env; e != NULL && *e != NULL; e++)
		if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=')
			return *e + klen + 1;
	return NULL;
}

/* The override "what" from the first source that sets it: label berth.<what>,
 * label com.dnsdock.<what>, env DNSDOCK_<WHAT>, env DNSDOCK_<what> (the dnscock
 * README spells DNSDOCK_alias). NULL when none does. */
static const char *setting(const struct container_facts *c, const char *what)
{
	char key[64];
	const char *v;
	size_t n;

	snprintf(key, sizeof(key), "berth.%s", what);
	if ((v = label_get(c, key)) != NULL)
		return v;
	snprintf(key, sizeof(key), "com.dnsdock.%s", what);
	if ((v = label_get(c, key)) != NULL)
		return v;
	n = (size_t)snprintf(key, sizeof(key), "DNSDOCK_%s", what);
	for (size_t i = sizeof("DNSDOCK_") - 1; i < n && i < sizeof(key); i++)
		if (key[i] >= 'a' && key[i] <= 'z')
			key[i] = (char)(key[i] - 'a' + 'A');
	if ((v = env_get(c, key)) != NULL)
		return v;
	snprintf(key, sizeof(key), "DNSDOCK_%s", what);
	return env_get(c, key);
}

/* s without surrounding blanks, as [*b, *e). */
static void trim(const char *s, const char **b, const char **e)
{
	const char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*b = s;
	*e = end;
}

/* A decimal number in [lo, hi] filling [b, e). */
static bool parse_uint(const char *b, const char *e, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v = 0;

	if (b == e)
		return false;
	for (; b < e; b++) {
		if (*b < '0' || *b > '9')
			return false;
		v = v * 10 + (uint64_t)(*b - '0');
		if (v > hi)
			return false;
	}
	if (v < lo)
		return false;
	*out = v;
	return true;
}

/* An ignore/flag value: anything but "", "0" and "false" means yes. */
static bool flag_set(const char *v)
{
	const char *b;
	const char *e;

	trim(v, &b, &e);
	if (b == e || (e - b == 1 && *b == '0'))
		return false;
	return !(e - b == 5 && strncasecmp(b, "false", 5) == 0);
}

/* Remember one address in canonical form, once. Unparsable text is skipped. */
static void ip_push(struct ctx *x, size_t cap, const char *ip, uint8_t prefix)
{
	unsigned char bin[16];
	char text[INET6_ADDRSTRLEN];
	int af;

	if (ip == NULL || ip[0] == '\0' || x->nips >= cap)
		return;
	if (inet_pton(AF_INET, ip, bin) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, ip, bin) == 1)
		af = AF_INET6;
	else
		return;
	if (inet_ntop(af, bin, text, sizeof(text)) == NULL)
		return;
	for (size_t i = 0; i < x->nips; i++)
		if (strcmp(x->ips[i].s, text) == 0)
			return;
	memcpy(x->ips[x->nips].s, text, sizeof(text));
	x->ips[x->nips++].prefix = prefix;
}

static bool net_selected(const struct naming_conf *conf, const struct container_net *net)
{
	if (conf->networks == NULL)
		return true;
	for (const char *const *n = conf->networks; *n != NULL; n++)
		if (net->name != NULL && strcmp(*n, net->name) == 0)
			return true;
	return false;
}

/* A/AAAA for every address of the container at name (presentation, with the
 * final dot). A name the record set refuses (too long) is skipped. */
static int put_addrs(struct ctx *x, const char *name)
{
	for (size_t i = 0; i < x->nips; i++) {
		int ret = recset_add_addr_net(x->out, name, x->ips[i].s, x->ips[i].prefix, x->ttl);
		if (ret == -ENOMEM)
			return ret;
		if (ret < 0)
			return 0; /* the addresses were checked: the name is at fault */
	}
	return 0;
}

/* put_addrs at a name built from fmt; a name that does not fit is skipped. */
__attribute__((format(printf, 2, 3))) static int put_fmt(struct ctx *x, const char *fmt, ...)
{
	char name[NAME_BUF];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(name))
		return 0;
	return put_addrs(x, name);
}

/* A records at every name of a comma-separated list (berth.alias); names may
 * lie outside the domain. With ip set, that address instead (joyride). */
static int put_list(struct ctx *x, const char *list, const char *ip)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char name[NAME_BUF];
		size_t n = name_clean(p, len, name, sizeof(name) - 1, ip == NULL);
		if (n > 0) {
			int ret;
			name[n] = '.';
			name[n + 1] = '\0';
			if (ip == NULL) {
				ret = put_addrs(x, name);
			} else {
				ret = recset_add_addr(x->out, name, ip, x->ttl);
				ret = ret == -ENOMEM ? ret : 0;
			}
			if (ret < 0)
				return ret;
		}
		p = comma != NULL ? comma + 1 : NULL;
	}
	return 0;
}

/* The port other hosts use for container port port: itself, or through the node its published
 * host port (0: none, not reachable). */
static uint16_t reach_port(const struct ctx *x, const struct container_facts *c, uint16_t port,
			   bool udp)
{
	if (!x->via_node || x->host_net)
		return port;
	for (size_t i = 0; c->ports != NULL && i < c->nports; i++)
		if (c->ports[i].port == port && c->ports[i].udp == udp &&
		    c->ports[i].host_port != 0)
			return c->ports[i].host_port;
	return 0;
}

static int put_srv(struct ctx *x, const char *service, bool udp, uint16_t port, const char *target)
{
	char owner[NAME_BUF];
	int n = snprintf(owner, sizeof(owner), "_%s._%s.%s", service, udp ? "udp" : "tcp", target);
	int ret;

	if (n < 0 || (size_t)n >= sizeof(owner))
		return 0;
	ret = recset_add_srv(x->out, owner, 0, 0, port, target, x->ttl);
	return ret == -ENOMEM ? ret : 0;
}

/* SRV for exposed ports and for berth.srv.<service>=<port>[/udp|/tcp] labels. */
static int put_srvs(struct ctx *x, const struct container_facts *c, const char *target)
{
	static const char prefix[] = "berth.srv.";
	int ret;

	for (size_t i = 0; c->ports != NULL && i < c->nports; i++) {
		char p[8];
		uint16_t port = reach_port(x, c, c->ports[i].port, c->ports[i].udp);
		if (c->ports[i].port == 0 || port == 0)
			continue;
		snprintf(p, sizeof(p), "%u", (unsigned)c->ports[i].port);
		if ((ret = put_srv(x, p, c->ports[i].udp, port, target)) < 0)
			return ret;
	}
	for (size_t i = 0; c->labels != NULL && i < c->nlabels; i++) {
		const struct kv *l = &c->labels[i];
		char service[LABEL_MAX + 1];
		const char *b;
		const char *e;
		const char *slash;
		uint64_t port;
		bool udp = false;

		if (l->key == NULL || l->value == NULL ||
		    strncmp(l->key, prefix, sizeof(prefix) - 1) != 0)
			continue;
		if (label_n(l->key + sizeof(prefix) - 1, strlen(l->key + sizeof(prefix) - 1),
			    service, sizeof(service)) == 0)
			continue;
		trim(l->value, &b, &e);
		slash = memchr(b, '/', (size_t)(e - b));
		if (slash != NULL) {
			if (e - slash == 4 && strncasecmp(slash, "/udp", 4) == 0)
				udp = true;
			else if (!(e - slash == 4 && strncasecmp(slash, "/tcp", 4) == 0))
				continue;
			e = slash;
		}
		if (!parse_uint(b, e, 1, 65535, &port) ||
		    (port = reach_port(x, c, (uint16_t)port, udp)) == 0)
			continue;
		if ((ret = put_srv(x, service, udp, (uint16_t)port, target)) < 0)
			return ret;
	}
	return 0;
}

/* Does s (case aside) start a hex ID, at least SHORT_ID_LEN long? Docker gives
 * every container its short ID as a network alias; docker_dns names cover it. */
static bool is_id_alias(const char *s, const char *id)
{
	size_t n = strlen(s);
	return id[0] != '\0' && n >= SHORT_ID_LEN && n <= strlen(id) && strncasecmp(s, id, n) == 0;
}

/* Can other hosts reach the container's own address on net? Always, for this node's view. */
static bool net_reachable(const struct ctx *x, const struct container_net *net)
{
	if (x->x == NULL)
		return true;
	for (const char *const *n = x->x->routable; n != NULL && *n != NULL; n++)
		if (net->name != NULL && strcmp(*n, net->name) == 0)
			return true;
	return false;
}

static bool published_port(const struct container_facts *c)
{
	for (size_t i = 0; c->ports != NULL && i < c->nports; i++)
		if (c->ports[i].host_port != 0)
			return true;
	return false;
}

/* Addresses, by network mode: host -> the host's; none / container:<id> -> none;
 * otherwise each selected network's IPv4 and IPv6. */
static int gather_ips(struct ctx *x, const struct container_facts *c,
		      const struct naming_conf *conf, bool *host_mode)
{
	const char *mode = c->network_mode != NULL ? c->network_mode : "";
	size_t cap;

	*host_mode = strcmp(mode, "host") == 0;
	if (*host_mode) {
		cap = 1;
	} else if (strcmp(mode, "none") == 0 || strncmp(mode, "container:", 10) == 0 ||
		   c->nets == NULL) {
		return 0;
	} else {
		if (c->nnets > (SIZE_MAX / sizeof(struct ip_text) - 1) / 2)
			return -ENOMEM;
		cap = 2 * c->nnets;
	}
	if (cap == 0)
		return 0;
	x->ips = malloc(cap * sizeof(*x->ips));
	if (x->ips == NULL)
		return -ENOMEM;
	if (*host_mode) {
		ip_push(x, cap, x->x != NULL ? x->x->advertise : conf->host_ip, 0);
		x->via_node = x->x != NULL;
		x->host_net = true;
		return 0;
	}
	for (size_t i = 0; i < c->nnets; i++) {
		if (!net_selected(conf, &c->nets[i]) || !net_reachable(x, &c->nets[i]))
			continue;
		ip_push(x, cap, c->nets[i].ipv4, c->nets[i].ipv4_prefix);
		ip_push(x, cap, c->nets[i].ipv6, c->nets[i].ipv6_prefix);
	}
	if (x->x != NULL && x->nips == 0 && (published_port(c) || x->x->unreachable)) {
		/* Other hosts reach it through this one: the node's address, the host ports. */
		ip_push(x, cap, x->x->advertise, 0);
		x->via_node = true;
	}
	return 0;
}

/* The container's ID in lowercase if it is hex (at most 64), else "". */
static void clean_id(const char *id, char out[65])
{
	size_t n = 0;

	out[0] = '\0';
	if (id == NULL)
		return;
	for (; id[n] != '\0'; n++) {
		char ch = id[n];
		if (n == 64) {
			out[0] = '\0';
			return;
		}
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			out[0] = '\0';
			return;
		}
		out[n] = ch;
	}
	out[n] = '\0';
}

static int build(const struct container_facts *c, const struct naming_conf *conf,
		 const struct naming_export *ex, struct recset *out, bool *ignored)
{
	struct ctx x = { .out = out, .ttl = conf == NULL ? 0 : conf->ttl, .x = ex };
	char domain[NAME_BUF];
	char env[NAME_BUF];
	char suffix[NAME_BUF]; /* "E.D", or "D" without environment */
	char id[65];
	char n[LABEL_MAX + 1];   /* the container name label */
	char img[LABEL_MAX + 1]; /* the image label */
	char target[NAME_BUF];   /* "N.D.": PTR and SRV target */
	const char *v;
	bool host_mode;
	int ret;

	if (ignored != NULL)
		*ignored = false;
	if (c == NULL || conf == NULL || out == NULL || ignored == NULL)
		return -EINVAL;

	/* Who answers at all. */
	v = setting(c, "ignore");
	if ((v != NULL && flag_set(v)) || c->paused || (!c->running && !conf->all) ||
	    ((c->health == HEALTH_STARTING || c->health == HEALTH_UNHEALTHY) &&
	     !conf->include_unhealthy)) {
		*ignored = true;
		return 0;
	}

	v = setting(c, "ttl");
	if (v != NULL) {
		const char *b;
		const char *e;
		uint64_t ttl;
		trim(v, &b, &e);
		if (parse_uint(b, e, 0, TTL_MAX, &ttl))
			x.ttl = (uint32_t)ttl;
	}

	if (name_clean(conf->domain, conf->domain == NULL ? 0 : strlen(conf->domain), domain,
		       sizeof(domain), false) == 0)
		strcpy(domain, "docker");
	name_clean(conf->environment, conf->environment == NULL ? 0 : strlen(conf->environment),
		   env, sizeof(env), false);
	/* both are at most 253 bytes: the suffix fits; too long a name is refused later */
	if (snprintf(suffix, sizeof(suffix), "%s%s%s", env, env[0] != '\0' ? "." : "", domain) < 0)
		return -EINVAL;
	clean_id(c->id, id);

	/* N: berth.name > com.dnsdock.name > DNSDOCK_NAME > the container name >
	 * its short ID (a name with nothing usable in it). */
	n[0] = '\0';
	v = setting(c, "name");
	if (v != NULL)
		naming_label(v, n, sizeof(n));
	if (n[0] == '\0' && c->name != NULL)
		naming_label(c->name[0] == '/' ? c->name + 1 : c->name, n, sizeof(n));
	if (n[0] == '\0')
		snprintf(n, sizeof(n), "%.*s", SHORT_ID_LEN, id);

	img[0] = '\0';
	v = setting(c, "image");
	if (v != NULL)
		naming_label(v, img, sizeof(img));
	if (img[0] == '\0')
		image_label(c->image, img, sizeof(img));

	if ((ret = gather_ips(&x, c, conf, &host_mode)) < 0)
		goto out;
	if (ex != NULL && x.nips == 0) {
		*ignored = true; /* nothing another host could reach */
		goto out;
	}

	target[0] = '\0';
	if (n[0] != '\0') {
		int len = snprintf(target, sizeof(target), "%s.%s.", n, domain);
		if (len < 0 || (size_t)len >= sizeof(target))
			target[0] = '\0';
	}

	/* N.D, the primary name; PTR back to it for the container's own addresses. */
	if (target[0] != '\0') {
		if ((ret = put_addrs(&x, target)) < 0)
			goto out;
		for (size_t i = 0; !host_mode && !x.via_node && i < x.nips; i++) {
			ret = recset_add_reverse(out, x.ips[i].s, target, x.ttl);
			if (ret == -ENOMEM)
				goto out;
		}
	}

	/* dnsdock: N.I.E.D, I.E.D, E.D, and *.N.I.E.D for anything further left. */
	if (img[0] != '\0') {
		if (n[0] != '\0') {
			if ((ret = put_fmt(&x, "%s.%s.%s.", n, img, suffix)) < 0 ||
			    (ret = put_fmt(&x, "*.%s.%s.%s.", n, img, suffix)) < 0)
				goto out;
		}
		if ((ret = put_fmt(&x, "%s.%s.", img, suffix)) < 0)
			goto out;
	}
	if (env[0] != '\0' && (ret = put_fmt(&x, "%s.", suffix)) < 0)
		goto out;

	/* docker_dns: the ID (its first 63 hex digits: a label holds no more) and
	 * the short ID; the engine answers shorter prefixes from the long one. */
	if (strlen(id) >= 4) {
		if ((ret = put_fmt(&x, "%.*s.%s.", LABEL_MAX, id, domain)) < 0)
			goto out;
		if (strlen(id) > SHORT_ID_LEN &&
		    (ret = put_fmt(&x, "%.*s.%s.", SHORT_ID_LEN, id, domain)) < 0)
			goto out;
	}
	if (conf->bare_hostnames && c->hostname != NULL) {
		char h[LABEL_MAX + 1];
		/* One label: a dotted hostname gives its first, as hostname -s. */
		label_n(c->hostname, strcspn(c->hostname, "."), h, sizeof(h));
		if (h[0] != '\0' && strcmp(h, "localhost") != 0 &&
		    (ret = put_fmt(&x, "%s.", h)) < 0)
			goto out;
	}

	/* compose: every replica at <service>.<project>.D, replica n at
	 * <service>-<n>.<project>.D. One-off `compose run` containers are left out,
	 * as compose leaves them out of the service's network alias. */
	{
		const char *svc = label_get(c, "com.docker.compose.service");
		const char *prj = label_get(c, "com.docker.compose.project");
		const char *num = label_get(c, "com.docker.compose.container-number");
		const char *oneoff = label_get(c, "com.docker.compose.oneoff");
		char s[LABEL_MAX + 1];
		char p[LABEL_MAX + 1];

		if (svc != NULL && prj != NULL &&
		    !(oneoff != NULL && strcasecmp(oneoff, "true") == 0)) {
			naming_label(svc, s, sizeof(s));
			naming_label(prj, p, sizeof(p));
			if (s[0] != '\0' && p[0] != '\0') {
				uint64_t nr;
				const char *b;
				const char *e;
				if ((ret = put_fmt(&x, "%s.%s.%s.", s, p, domain)) < 0)
					goto out;
				if (num != NULL) {
					trim(num, &b, &e);
					if (parse_uint(b, e, 0, UINT32_MAX, &nr) &&
					    (ret = put_fmt(&x, "%s-%u.%s.%s.", s, (unsigned)nr, p,
							   domain)) < 0)
						goto out;
				}
			}
		}
	}

	/* Network aliases of the selected networks: as in Docker's own DNS, an
	 * alias answers with the container's address on that network only. */
	for (size_t i = 0; x.nips > 0 && c->nets != NULL && i < c->nnets; i++) {
		const struct container_net *net = &c->nets[i];
		if (!net_selected(conf, net) || net->aliases == NULL || x.via_node ||
		    !net_reachable(&x, net))
			continue;
		for (const char *const *a = net->aliases; *a != NULL; a++) {
			char name[NAME_BUF], fqdn[NAME_BUF + 256];
			if (is_id_alias(*a, id) ||
			    name_clean(*a, strlen(*a), name, sizeof(name), false) == 0)
				continue;
			int flen = snprintf(fqdn, sizeof(fqdn), "%s.%s.", name, domain);
			if (flen < 0 || (size_t)flen >= sizeof(fqdn))
				continue;
			const char *ips[2] = { net->ipv4, net->ipv6 };
			const uint8_t prefixes[2] = { net->ipv4_prefix, net->ipv6_prefix };
			for (int k = 0; k < 2; k++) {
				if (ips[k] == NULL || ips[k][0] == '\0')
					continue;
				ret = recset_add_addr_net(out, fqdn, ips[k], prefixes[k], x.ttl);
				if (ret == -ENOMEM)
					goto out;
				ret = 0; /* a name or address the record set refuses is skipped */
			}
		}
	}

	/* berth.alias / com.dnsdock.alias / DNSDOCK_ALIAS: exact names. */
	v = setting(c, "alias");
	if (v != NULL && (ret = put_list(&x, v, NULL)) < 0)
		goto out;

	/* joyride: the host's address, whatever the container's. */
	v = label_get(c, "joyride.host.name");
	const char *host = ex != NULL ? ex->advertise : conf->host_ip;
	if (v != NULL && host != NULL && host[0] != '\0' && (ret = put_list(&x, v, host)) < 0)
		goto out;

	/* SRV targets N.D, which needs an address to be of any use. */
	if (x.nips > 0 && target[0] != '\0' && (ret = put_srvs(&x, c, target)) < 0)
		goto out;
	ret = 0;
out:
	free(x.ips);
	return ret;
}

int naming_records(const struct container_facts *c, const struct naming_conf *conf,
		   struct recset *out, bool *ignored)
{
	return build(c, conf, NULL, out, ignored);
}

int naming_export_records(const struct container_facts *c, const struct naming_conf *conf,
			  const struct naming_export *x, struct recset *out, bool *ignored)
{
	if (x == NULL) {
		if (ignored != NULL)
			*ignored = false;
		return -EINVAL;
	}
	return build(c, conf, x, out, ignored);
}
