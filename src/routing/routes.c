/* SPDX-License-Identifier: MIT */
/* Container facts to HTTP and TLS routes. */
#include "routing/routes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint16_t auto_ports[] = { 80, 8080, 8000, 3000, 5000 };

static const char *label(const struct container_facts *c, const char *key)
{
	for (size_t i = 0; c->labels != NULL && i < c->nlabels; i++)
		if (c->labels[i].key != NULL && strcmp(c->labels[i].key, key) == 0)
			return c->labels[i].value != NULL ? c->labels[i].value : "";
	return NULL;
}

__attribute__((format(printf, 3, 4))) static void problem(char *why, size_t len, const char *fmt,
							  ...)
{
	if (why == NULL || len == 0 || why[0] != '\0')
		return; /* the first problem is the one told */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

bool route_host_ok(const char *s)
{
	size_t n = strlen(s), lab = 0;
	if (n == 0 || n > ROUTE_HOST_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (lab == 0)
				return false;
			lab = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
		if (++lab > 63)
			return false;
	}
	return true;
}

static bool parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;
	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	while (*end == ' ')
		end++;
	if (*end != '\0' || v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static bool path_ok(const char *p)
{
	size_t n = strlen(p);
	if (n < 1 || n > ROUTE_PATH_MAX || p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f || p[i] == '#' ||
		    p[i] == '?' || p[i] == ';')
			return false;
	return true;
}

static bool is_any(const char *ip)
{
	return ip == NULL || ip[0] == '\0' || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0;
}

static bool is_loopback(const char *ip)
{
	return ip != NULL && (strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0);
}

static bool routable(const struct routing_conf *rc, const char *net)
{
	for (const char *const *r = rc->routable; r != NULL && *r != NULL; r++)
		if (net != NULL && strcmp(*r, net) == 0)
			return true;
	return false;
}

/* Where the proxy reaches the container's TCP port: 0 and addr/port, or -ENOENT. */
static int backend(const struct container_facts *c, const struct routing_conf *rc, uint16_t port,
		   char *addr, size_t addrlen, uint16_t *out)
{
	if (c->network_mode != NULL && strcmp(c->network_mode, "host") == 0) {
		/* It listens on the node's own ports. */
		if (rc->node_addr == NULL || rc->node_addr[0] == '\0')
			return -ENOENT;
		snprintf(addr, addrlen, "%s", rc->node_addr);
		*out = port;
		return 0;
	}
	for (size_t i = 0; c->ports != NULL && i < c->nports; i++) {
		const struct container_port *p = &c->ports[i];
		if (p->port != port || p->udp || p->host_port == 0)
			continue;
		const char *ip = is_any(p->host_ip) ? rc->node_addr : p->host_ip;
		if (ip == NULL || ip[0] == '\0')
			break;
		if (rc->for_others && is_loopback(ip) && !is_loopback(rc->node_addr))
			break; /* this host's loopback is nobody else's */
		snprintf(addr, addrlen, "%s", ip);
		*out = p->host_port;
		return 0;
	}
	for (size_t i = 0; c->nets != NULL && i < c->nnets; i++) {
		const struct container_net *net = &c->nets[i];
		if (!(rc->to_container_ip || routable(rc, net->name)))
			continue;
		const char *ip = net->ipv4 != NULL && net->ipv4[0] != '\0' ? net->ipv4 : net->ipv6;
		if (ip == NULL || ip[0] == '\0')
			continue;
		snprintf(addr, addrlen, "%s", ip);
		*out = port;
		return 0;
	}
	return -ENOENT;
}

/* "My_App" -> "my-app", as DNS names are made. */
static void clean(const char *in, char *out, size_t len)
{
	naming_label(in, out, len);
}

/* src into dst[0..n), cut to fit, NUL-terminated. */
static void copy(char *dst, size_t n, const char *src)
{
	size_t len = strnlen(src, n - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

struct acc {
	struct route *out;
	size_t n;
	size_t dropped; /* past ROUTES_MAX */
};

static void add(struct acc *a, enum route_kind kind, const char *host, const char *path,
		const char *service, const char *addr, uint16_t port)
{
	if (a->n == ROUTES_MAX) {
		a->dropped++;
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->out[i].kind == kind && strcmp(a->out[i].host, host) == 0 &&
		    strcmp(a->out[i].path, path) == 0)
			return; /* the same name twice (a compose name equal to the container's) */
	struct route *r = &a->out[a->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	copy(r->host, sizeof(r->host), host);
	copy(r->path, sizeof(r->path), path);
	copy(r->service, sizeof(r->service), service);
	copy(r->addr, sizeof(r->addr), addr);
	r->port = port;
}

int routes_of_container(const struct container_facts *c, const struct routing_conf *rc,
			struct route *out, size_t *n, char *why, size_t whylen)
{
	if (c == NULL || rc == NULL || out == NULL || n == NULL)
		return -EINVAL;
	*n = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (rc->domain == NULL || rc->domain[0] == '\0')
		return 0;
	const char *name = c->name != NULL && c->name[0] == '/' ? c->name + 1 : c->name;

	/* Which ports. */
	uint16_t http = 0, tls = 0;
	const char *v;
	if ((v = label(c, "berth.http.port")) != NULL && !parse_port(v, &http))
		problem(why, whylen, "berth.http.port \"%.40s\" is not a port", v);
	if ((v = label(c, "berth.tls.port")) != NULL && !parse_port(v, &tls))
		problem(why, whylen, "berth.tls.port \"%.40s\" is not a port", v);
	if (http == 0 && tls == 0 && rc->auto_port && label(c, "berth.http.port") == NULL &&
	    label(c, "berth.tls.port") == NULL) {
		unsigned found = 0;
		for (size_t i = 0; c->ports != NULL && i < c->nports; i++)
			for (size_t k = 0; k < sizeof(auto_ports) / sizeof(auto_ports[0]); k++)
				if (!c->ports[i].udp && c->ports[i].port == auto_ports[k]) {
					http = auto_ports[k];
					found++;
				}
		if (found != 1)
			http = 0; /* none, or several: which one is meant is not known */
	}
	if (http == 0 && tls == 0)
		return 0;

	const char *path = "";
	if ((v = label(c, "berth.http.path")) != NULL) {
		if (path_ok(v))
			path = v;
		else
			problem(why, whylen, "berth.http.path \"%.40s\" is not a path prefix", v);
	}

	/* Which names, and the service replicas share. */
	char hosts[ROUTES_MAX][ROUTE_HOST_MAX + 1];
	size_t nh = 0;
	char service[ROUTE_SERVICE_MAX + 1] = "";
	char lab[64], lab2[64];
	const char *svc = label(c, "com.docker.compose.service");
	const char *prj = label(c, "com.docker.compose.project");
	const char *extra = label(c, "berth.http.host");
	clean(label(c, "berth.name") != NULL ? label(c, "berth.name") : name, lab, sizeof(lab));
	if (lab[0] != '\0' && snprintf(hosts[nh], sizeof(hosts[nh]), "%s.%s", lab, rc->domain) <
				      (int)sizeof(hosts[0]))
		nh++;
	if (svc != NULL && prj != NULL) {
		clean(svc, lab, sizeof(lab));
		clean(prj, lab2, sizeof(lab2));
		if (lab[0] != '\0' && lab2[0] != '\0' && nh < ROUTES_MAX &&
		    snprintf(hosts[nh], sizeof(hosts[nh]), "%s.%s.%s", lab, lab2, rc->domain) <
			    (int)sizeof(hosts[0]))
			nh++;
		snprintf(service, sizeof(service), "compose:%s/%s", prj, svc);
	}
	if (extra != NULL) {
		for (const char *p = extra; *p != '\0';) {
			size_t len = strcspn(p, ",");
			char h[ROUTE_HOST_MAX + 64]; /* room for blanks and a final dot */
			bool fits = len < sizeof(h);
			snprintf(h, sizeof(h), "%.*s", (int)(fits ? len : sizeof(h) - 1), p);
			for (char *q = h; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q - 'A' + 'a');
			size_t hl = strlen(h);
			while (hl > 0 && (h[hl - 1] == '.' || h[hl - 1] == ' '))
				h[--hl] = '\0';
			char *start = h + strspn(h, " ");
			if (!fits || !route_host_ok(start))
				problem(why, whylen, "berth.http.host \"%.60s\" is not a host name",
					start);
			else if (nh < ROUTES_MAX)
				snprintf(hosts[nh++], sizeof(hosts[0]), "%s", start);
			p += len;
			p += *p == ',';
		}
		if (service[0] == '\0')
			snprintf(service, sizeof(service), "host:%.190s", extra);
	}
	if (service[0] == '\0')
		snprintf(service, sizeof(service), "container:%.64s", c->id != NULL ? c->id : "");

	/* Where the proxy reaches it. */
	struct acc a = { out, 0, 0 };
	const struct {
		enum route_kind kind;
		uint16_t port;
	} kinds[2] = { { ROUTE_HTTP, http }, { ROUTE_TLS, tls } };
	for (int k = 0; k < 2; k++) {
		if (kinds[k].port == 0)
			continue;
		char addr[46];
		uint16_t port;
		if (backend(c, rc, kinds[k].port, addr, sizeof(addr), &port) != 0) {
			problem(why, whylen,
				"port %u is neither published nor on a routable network: not routed",
				(unsigned)kinds[k].port);
			continue;
		}
		for (size_t i = 0; i < nh; i++)
			add(&a, kinds[k].kind, hosts[i], kinds[k].kind == ROUTE_HTTP ? path : "",
			    service, addr, port);
	}
	if (a.dropped > 0)
		problem(why, whylen, "%zu routes past the first %d left out", a.dropped,
			ROUTES_MAX);
	*n = a.n;
	return 0;
}

int routes_of_service(const char *id, const char *name, const char *const *ips, size_t nips,
		      uint16_t port, const struct routing_conf *rc, struct route *out, size_t *n)
{
	if (id == NULL || name == NULL || (ips == NULL && nips > 0) || rc == NULL || out == NULL ||
	    n == NULL)
		return -EINVAL;
	*n = 0;
	char lab[64], host[ROUTE_HOST_MAX + 1], service[ROUTE_SERVICE_MAX + 1];
	clean(name, lab, sizeof(lab));
	if (rc->domain == NULL || rc->domain[0] == '\0' || port == 0 || lab[0] == '\0' ||
	    snprintf(host, sizeof(host), "%s.%s", lab, rc->domain) >= (int)sizeof(host))
		return 0;
	snprintf(service, sizeof(service), "manual:%s", id);
	for (size_t i = 0; i < nips && *n < ROUTES_MAX; i++) {
		if (ips[i] == NULL || ips[i][0] == '\0' || strlen(ips[i]) >= sizeof(out->addr) ||
		    (rc->for_others && is_loopback(ips[i]) && !is_loopback(rc->node_addr)))
			continue;
		struct route *r = &out[(*n)++];
		memset(r, 0, sizeof(*r));
		r->kind = ROUTE_HTTP;
		copy(r->host, sizeof(r->host), host);
		copy(r->service, sizeof(r->service), service);
		copy(r->addr, sizeof(r->addr), ips[i]);
		r->port = port;
	}
	return 0;
}
