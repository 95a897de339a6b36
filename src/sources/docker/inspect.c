/* SPDX-License-Identifier: MIT */
/* Container inspect JSON -> struct container_facts, with every field checked before use. */
#include "sources/docker/inspect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/err.h"

/* Bounds on what one container may bring; more is skipped as odd. */
#define MAX_LABELS 4096
#define MAX_ENV 4096
#define MAX_NETS 256
#define MAX_ALIASES 256
#define MAX_PORTS 4096

struct docker_inspect {
	struct container_facts facts;
	json_t *root; /* owns every string the facts point to */
	struct kv *labels;
	const char **env;
	struct container_net *nets;
	const char **aliases; /* every network's NULL-terminated list, back to back */
	struct container_port *ports;
	unsigned odd;
	char first_odd[160];
};

static void odd(struct docker_inspect *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void odd(struct docker_inspect *in, const char *fmt, ...)
{
	if (in->odd++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(in->first_odd, sizeof(in->first_odd), fmt, ap);
		va_end(ap);
	}
}

/* obj[key] if obj is an object; NULL when absent or null. A present value of another type
 * than want (0 = any) is counted as odd and NULL returned. */
static json_t *get(struct docker_inspect *in, json_t *obj, const char *key, json_type want,
		   const char *path)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	if (v == NULL || json_is_null(v))
		return NULL;
	if (want != (json_type)-1 && json_typeof(v) != want) {
		odd(in, "%s is not of the expected type", path);
		return NULL;
	}
	return v;
}

static const char *get_str(struct docker_inspect *in, json_t *obj, const char *key,
			   const char *path)
{
	json_t *v = get(in, obj, key, JSON_STRING, path);
	return v ? json_string_value(v) : NULL;
}

static bool ip_ok(const char *s, int af)
{
	unsigned char buf[16];
	return inet_pton(af, s, buf) == 1;
}

/* An address field: "" and absent are both "none"; anything unparsable is odd. */
/* A network's prefix length for split horizon: 0 (unknown) unless sane. */
static uint8_t get_prefix(struct docker_inspect *in, json_t *net, const char *key, int max,
			  const char *name)
{
	json_t *v = json_object_get(net, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		odd(in, "NetworkSettings.Networks.%.60s.%s is not a prefix length", name, key);
		return 0;
	}
	return (uint8_t)json_integer_value(v);
}

static const char *get_ip(struct docker_inspect *in, json_t *obj, const char *key, int af,
			  const char *path)
{
	const char *s = get_str(in, obj, key, path);
	if (s == NULL || *s == '\0')
		return NULL;
	if (!ip_ok(s, af)) {
		odd(in, "%s is not an IPv%d address", path, af == AF_INET ? 4 : 6);
		return NULL;
	}
	return s;
}

static int parse_labels(struct docker_inspect *in, json_t *config)
{
	json_t *labels = get(in, config, "Labels", JSON_OBJECT, "Config.Labels");
	size_t n = labels ? json_object_size(labels) : 0;
	const char *key;
	json_t *v;

	if (n == 0)
		return 0;
	if (n > MAX_LABELS)
		n = MAX_LABELS;
	in->labels = calloc(n, sizeof(*in->labels));
	if (in->labels == NULL)
		return -ENOMEM;
	json_object_foreach(labels, key, v)
	{
		if (in->facts.nlabels == n) {
			odd(in, "Config.Labels has more than %d labels", MAX_LABELS);
			break;
		}
		if (!json_is_string(v)) {
			odd(in, "Config.Labels.%.60s is not a string", key);
			continue;
		}
		in->labels[in->facts.nlabels].key = key;
		in->labels[in->facts.nlabels].value = json_string_value(v);
		in->facts.nlabels++;
	}
	in->facts.labels = in->labels;
	return 0;
}

static int parse_env(struct docker_inspect *in, json_t *config)
{
	json_t *env = get(in, config, "Env", JSON_ARRAY, "Config.Env");
	size_t n = env ? json_array_size(env) : 0, k = 0, i;
	json_t *v;

	if (n == 0)
		return 0;
	if (n > MAX_ENV) {
		odd(in, "Config.Env has more than %d entries", MAX_ENV);
		n = MAX_ENV;
	}
	in->env = calloc(n + 1, sizeof(*in->env));
	if (in->env == NULL)
		return -ENOMEM;
	json_array_foreach(env, i, v)
	{
		if (i >= n)
			break;
		if (!json_is_string(v)) {
			odd(in, "Config.Env[%zu] is not a string", i);
			continue;
		}
		in->env[k++] = json_string_value(v);
	}
	in->facts.env = in->env;
	return 0;
}

static int parse_nets(struct docker_inspect *in, json_t *settings)
{
	json_t *nets = get(in, settings, "Networks", JSON_OBJECT, "NetworkSettings.Networks");
	size_t n = nets ? json_object_size(nets) : 0, naliases = 0, a = 0;
	const char *name;
	json_t *net;

	if (n == 0)
		return 0;
	if (n > MAX_NETS)
		n = MAX_NETS;
	/* Size the alias pool first: every list plus its NULL. */
	json_object_foreach(nets, name, net)
	{
		json_t *al = json_is_object(net) ? json_object_get(net, "Aliases") : NULL;
		size_t k = json_is_array(al) ? json_array_size(al) : 0;
		naliases += (k > MAX_ALIASES ? MAX_ALIASES : k) + 1;
	}
	in->nets = calloc(n, sizeof(*in->nets));
	in->aliases = calloc(naliases, sizeof(*in->aliases));
	if (in->nets == NULL || in->aliases == NULL)
		return -ENOMEM;
	json_object_foreach(nets, name, net)
	{
		char path[128];
		if (in->facts.nnets == n) {
			odd(in, "NetworkSettings.Networks has more than %d networks", MAX_NETS);
			break;
		}
		if (!json_is_object(net)) {
			odd(in, "NetworkSettings.Networks.%.60s is not an object", name);
			continue;
		}
		struct container_net *cn = &in->nets[in->facts.nnets++];
		cn->name = name;
		snprintf(path, sizeof(path), "NetworkSettings.Networks.%.60s.IPAddress", name);
		cn->ipv4 = get_ip(in, net, "IPAddress", AF_INET, path);
		snprintf(path, sizeof(path), "NetworkSettings.Networks.%.60s.GlobalIPv6Address",
			 name);
		cn->ipv6 = get_ip(in, net, "GlobalIPv6Address", AF_INET6, path);
		cn->ipv4_prefix = get_prefix(in, net, "IPPrefixLen", 32, name);
		cn->ipv6_prefix = get_prefix(in, net, "GlobalIPv6PrefixLen", 128, name);
		snprintf(path, sizeof(path), "NetworkSettings.Networks.%.60s.Aliases", name);
		json_t *al = get(in, net, "Aliases", JSON_ARRAY, path);
		if (al == NULL)
			continue;
		size_t i;
		json_t *v;
		cn->aliases = &in->aliases[a];
		json_array_foreach(al, i, v)
		{
			if (i >= MAX_ALIASES) {
				odd(in, "%s has more than %d aliases", path, MAX_ALIASES);
				break;
			}
			if (!json_is_string(v) || *json_string_value(v) == '\0') {
				odd(in, "%s[%zu] is not a name", path, i);
				continue;
			}
			in->aliases[a++] = json_string_value(v);
		}
		in->aliases[a++] = NULL;
	}
	in->facts.nets = in->nets;
	return 0;
}

/* "80/tcp" -> 80, tcp: 0 with *port and *udp, and *other true for another protocol (sctp), which
 * is skipped; or -EINVAL when malformed. */
static int port_key(const char *s, uint16_t *port, bool *udp, bool *other)
{
	unsigned long v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (i == 0 || v == 0)
		return -EINVAL;
	const char *proto = s + i;
	bool is_udp = strcmp(proto, "/udp") == 0;
	bool known = *proto == '\0' || strcmp(proto, "/tcp") == 0 || is_udp;
	if (!known && (proto[0] != '/' || proto[1] == '\0'))
		return -EINVAL;
	*port = (uint16_t)v;
	*udp = is_udp;
	*other = !known;
	return 0;
}

/* The first binding's host port (0: none), and its host address in *ip (borrowed from the
 * JSON; NULL or "" when bound to every address). */
static uint16_t host_port(struct docker_inspect *in, json_t *bindings, const char *key,
			  const char **ip)
{
	size_t i;
	json_t *b;
	*ip = NULL;
	if (bindings == NULL || json_is_null(bindings))
		return 0;
	if (!json_is_array(bindings)) {
		odd(in, "NetworkSettings.Ports.%.20s is not a list", key);
		return 0;
	}
	json_array_foreach(bindings, i, b)
	{
		json_t *hp = json_is_object(b) ? json_object_get(b, "HostPort") : NULL;
		const char *s = json_is_string(hp) ? json_string_value(hp) : NULL;
		char *end;
		unsigned long v;
		if (s == NULL || *s == '\0')
			continue;
		v = strtoul(s, &end, 10);
		if (*end == '\0' && v > 0 && v <= 65535) {
			json_t *hi = json_object_get(b, "HostIp");
			*ip = json_is_string(hi) ? json_string_value(hi) : NULL;
			return (uint16_t)v;
		}
		odd(in, "NetworkSettings.Ports.%.20s has a bad HostPort", key);
	}
	return 0;
}

static int add_port(struct docker_inspect *in, uint16_t port, bool udp, uint16_t hport,
		    const char *hip)
{
	for (size_t i = 0; i < in->facts.nports; i++) {
		if (in->ports[i].port == port && in->ports[i].udp == udp) {
			if (in->ports[i].host_port == 0) {
				in->ports[i].host_port = hport;
				in->ports[i].host_ip = hip;
			}
			return 0;
		}
	}
	if (in->facts.nports == MAX_PORTS) {
		odd(in, "more than %d ports", MAX_PORTS);
		return 0;
	}
	in->ports[in->facts.nports++] = (struct container_port){ port, udp, hport, hip };
	return 0;
}

/* Exposed ports (Config.ExposedPorts) joined with the published ones (NetworkSettings.Ports). */
static int parse_ports(struct docker_inspect *in, json_t *config, json_t *settings)
{
	json_t *exposed = get(in, config, "ExposedPorts", JSON_OBJECT, "Config.ExposedPorts");
	json_t *published = get(in, settings, "Ports", JSON_OBJECT, "NetworkSettings.Ports");
	size_t n = (exposed ? json_object_size(exposed) : 0) +
		   (published ? json_object_size(published) : 0);
	const char *key;
	json_t *v;
	uint16_t port;
	bool udp, other;

	if (n == 0)
		return 0;
	if (n > MAX_PORTS)
		n = MAX_PORTS;
	in->ports = calloc(n, sizeof(*in->ports));
	if (in->ports == NULL)
		return -ENOMEM;
	json_object_foreach(published, key, v)
	{
		if (port_key(key, &port, &udp, &other) < 0)
			odd(in, "NetworkSettings.Ports has a bad port \"%.20s\"", key);
		else if (!other) {
			const char *hip;
			uint16_t hport = host_port(in, v, key, &hip);
			add_port(in, port, udp, hport, hip);
		}
	}
	json_object_foreach(exposed, key, v)
	{
		if (port_key(key, &port, &udp, &other) < 0)
			odd(in, "Config.ExposedPorts has a bad port \"%.20s\"", key);
		else if (!other)
			add_port(in, port, udp, 0, NULL);
	}
	in->facts.ports = in->ports;
	return 0;
}

static void parse_state(struct docker_inspect *in, json_t *root)
{
	json_t *state = get(in, root, "State", JSON_OBJECT, "State");
	json_t *v;
	if (state == NULL)
		return;
	v = json_object_get(state, "Running");
	if (json_is_boolean(v))
		in->facts.running = json_is_true(v);
	else if (v != NULL)
		odd(in, "State.Running is not a boolean");
	v = json_object_get(state, "Paused");
	if (json_is_boolean(v))
		in->facts.paused = json_is_true(v);
	else if (v != NULL)
		odd(in, "State.Paused is not a boolean");
	json_t *health = get(in, state, "Health", JSON_OBJECT, "State.Health");
	const char *st = get_str(in, health, "Status", "State.Health.Status");
	if (st == NULL)
		return;
	if (strcmp(st, "healthy") == 0)
		in->facts.health = HEALTH_HEALTHY;
	else if (strcmp(st, "unhealthy") == 0)
		in->facts.health = HEALTH_UNHEALTHY;
	else if (strcmp(st, "starting") == 0)
		in->facts.health = HEALTH_STARTING;
	else if (strcmp(st, "none") != 0 && *st != '\0')
		odd(in, "State.Health.Status \"%.20s\" is unknown", st);
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int docker_inspect_parse(const char *body, size_t len, struct docker_inspect **out, char *err,
			 size_t errlen)
{
	struct docker_inspect *in = calloc(1, sizeof(*in));
	json_error_t jerr;
	int rc = -ENOMEM;

	*out = NULL;
	if (in == NULL)
		return -ENOMEM;
	in->root = json_loadb(body, len, 0, &jerr);
	if (in->root == NULL) {
		snprintf(err, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
		rc = BERTH_EPARSE;
		goto fail;
	}
	if (!json_is_object(in->root)) {
		snprintf(err, errlen, "not a JSON object");
		rc = BERTH_EPARSE;
		goto fail;
	}
	json_t *root = in->root;
	const char *id = get_str(in, root, "Id", "Id");
	if (id == NULL || !id_ok(id)) {
		snprintf(err, errlen, "no container ID (\"Id\" missing or not hexadecimal)");
		rc = BERTH_EPARSE;
		goto fail;
	}
	in->facts.id = id;
	const char *name = get_str(in, root, "Name", "Name");
	if (name && *name == '/')
		name++;
	in->facts.name = name && *name ? name : NULL;

	json_t *config = get(in, root, "Config", JSON_OBJECT, "Config");
	json_t *host = get(in, root, "HostConfig", JSON_OBJECT, "HostConfig");
	json_t *settings = get(in, root, "NetworkSettings", JSON_OBJECT, "NetworkSettings");
	in->facts.hostname = get_str(in, config, "Hostname", "Config.Hostname");
	in->facts.image = get_str(in, config, "Image", "Config.Image");
	in->facts.network_mode = get_str(in, host, "NetworkMode", "HostConfig.NetworkMode");
	parse_state(in, root);
	if (parse_labels(in, config) < 0 || parse_env(in, config) < 0 ||
	    parse_nets(in, settings) < 0 || parse_ports(in, config, settings) < 0)
		goto fail;
	*out = in;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	docker_inspect_free(in);
	return rc;
}

void docker_inspect_free(struct docker_inspect *in)
{
	if (in == NULL)
		return;
	free(in->labels);
	free(in->env);
	free(in->nets);
	free(in->aliases);
	free(in->ports);
	json_decref(in->root);
	free(in);
}

const struct container_facts *docker_inspect_facts(const struct docker_inspect *in)
{
	return &in->facts;
}

unsigned docker_inspect_odd(const struct docker_inspect *in, const char **first)
{
	if (first)
		*first = in->first_odd;
	return in->odd;
}
