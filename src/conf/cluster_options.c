/* SPDX-License-Identifier: MIT */
/* The cluster's options of `berth serve` (--etcd, --node, --etcd-prefix, --routable-network,
 * --publish): their checks, for the option table in options.c. */
#include <ctype.h>
#include <string.h>

#include "conf/optparse.h"
#include "conf/options.h"
#include "conf/setters.h"

static int push(struct strv *list, const char *v, char *why, size_t n)
{
	if (strv_push(list, v) < 0)
		return optparse_why(why, n, "could not be stored: out of memory");
	return 0;
}

int set_etcd(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	const char *host = NULL;
	char buf[512];

	if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	if (host && *host && *host != '/')
		return push(&c->etcd, v, why, n);
	/* etcdctl also takes bare host:port endpoints. */
	if (!host && *v && !strstr(v, "://") && strlen(v) < sizeof(buf) - 8) {
		snprintf(buf, sizeof(buf), "http://%s", v);
		return push(&c->etcd, buf, why, n);
	}
	return optparse_why(why, n,
			    "is not an etcd endpoint (http://host:2379 or https://host:2379)");
}

int set_node(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	size_t len = strlen(v);

	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			len = 0;
	if (len == 0 || len > 253)
		return optparse_why(why, n,
				    "is not a node name (1..253 letters, digits, '-', '.' or '_')");
	return optparse_set_str(&c->node, v, why, n);
}

int set_etcd_prefix(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	size_t len = strlen(v);
	bool ok = len >= 2 && len <= 200 && v[0] == '/' && v[len - 1] != '/';
	for (const char *p = v; ok && *p; p++)
		ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f;
	if (!ok)
		return optparse_why(why, n,
				    "is not a key prefix (\"/name\": starts with '/', no final "
				    "'/', printable, at most 200 bytes)");
	return optparse_set_str(&c->etcd_prefix, v, why, n);
}

int set_routable(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	if (!*v)
		return optparse_why(why, n, "is not a network name");
	if (strv_push(&c->routable, v) != 0)
		return optparse_why(why, n, "could not be stored: out of memory");
	return 0;
}

int set_publish(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct serve_conf *c = conf;
	static const struct {
		const char *name;
		unsigned bit;
	} kinds[] = { { "docker", PUBLISH_DOCKER },
		      { "manual", PUBLISH_MANUAL },
		      { "hosts", PUBLISH_HOSTS },
		      { "records", PUBLISH_RECORDS } };
	unsigned mask = 0;
	if (strcmp(v, "none") == 0) {
		c->publish = 0;
		return 0;
	}
	for (const char *p = v; *p;) {
		size_t len = strcspn(p, ", ");
		size_t i;
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (len == strlen(kinds[i].name) && strncmp(p, kinds[i].name, len) == 0)
				break;
		if (len > 0 && i == sizeof(kinds) / sizeof(kinds[0]))
			return optparse_why(why, n,
					    "is not a list of docker, manual, hosts, records (or "
					    "none)");
		if (len > 0)
			mask |= kinds[i].bit;
		p += len;
		p += strspn(p, ", ");
	}
	c->publish = mask;
	return 0;
}
