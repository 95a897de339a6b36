/* SPDX-License-Identifier: MIT */
/* Unit tests of the naming module: a table of containers and the records each must (and must not) get. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libknot/libknot.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naming/naming.h"
#include "store/recset.h"

/* The docker_dns README's two containers. */
#define ID0949 "0949efde23bf01727203638dafb0ac15b2e68db9effe03b90687d67a96ab6ee7"
#define ID0949_63 "0949efde23bf01727203638dafb0ac15b2e68db9effe03b90687d67a96ab6ee"
#define ID26ED "26ed50b1bf5947727bee4910f3d93674d823496c615940238219b5346cc0fc4e"
#define ID26ED_63 "26ed50b1bf5947727bee4910f3d93674d823496c615940238219b5346cc0fc4"
#define HOSTIP "192.168.1.100" /* the joyride README's HOSTIP */

/* ---- looking records up ------------------------------------------------- */

static bool owner_is(const struct rec *r, const char *owner)
{
	uint8_t want[KNOT_DNAME_MAXLEN];

	if (knot_dname_from_str(want, owner, sizeof(want)) == NULL)
		return false;
	knot_dname_to_lower(want);
	return knot_dname_is_equal(r->owner, want);
}

static const struct rec *find(const struct recset *rs, uint16_t type, const char *owner,
			      const uint8_t *rdata, size_t rdlen)
{
	for (size_t i = 0; i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		if ((type != 0 && r->type != type) || !owner_is(r, owner))
			continue;
		if (rdata == NULL || (r->rdlen == rdlen && memcmp(r->rdata, rdata, rdlen) == 0))
			return r;
	}
	return NULL;
}

/* A (or AAAA, by the address family) at owner with address ip. */
static const struct rec *has_a(const struct recset *rs, const char *owner, const char *ip)
{
	uint8_t bin[16];

	if (inet_pton(AF_INET, ip, bin) == 1)
		return find(rs, KNOT_RRTYPE_A, owner, bin, 4);
	assert_int_equal(inet_pton(AF_INET6, ip, bin), 1);
	return find(rs, KNOT_RRTYPE_AAAA, owner, bin, 16);
}

/* PTR from the reverse name of ip to target. */
static const struct rec *has_ptr(const struct recset *rs, const char *ip, const char *target)
{
	char rev[80];
	uint8_t rd[KNOT_DNAME_MAXLEN];

	assert_int_equal(recset_reverse_name(ip, rev, sizeof(rev)), 0);
	assert_non_null(knot_dname_from_str(rd, target, sizeof(rd)));
	knot_dname_to_lower(rd);
	return find(rs, KNOT_RRTYPE_PTR, rev, rd, knot_dname_size(rd));
}

/* SRV at owner; data is "prio weight port target". */
static const struct rec *has_srv(const struct recset *rs, const char *owner, const char *data)
{
	unsigned prio;
	unsigned weight;
	unsigned port;
	char target[300];
	uint8_t rd[6 + KNOT_DNAME_MAXLEN];

	assert_int_equal(sscanf(data, "%u %u %u %299s", &prio, &weight, &port, target), 4);
	knot_wire_write_u16(rd, (uint16_t)prio);
	knot_wire_write_u16(rd + 2, (uint16_t)weight);
	knot_wire_write_u16(rd + 4, (uint16_t)port);
	assert_non_null(knot_dname_from_str(rd + 6, target, KNOT_DNAME_MAXLEN));
	knot_dname_to_lower(rd + 6);
	return find(rs, KNOT_RRTYPE_SRV, owner, rd, 6 + knot_dname_size(rd + 6));
}

/* ---- the table ---------------------------------------------------------- */

struct expect {
	const char *
		type; /* "A" (A or AAAA by the address), "PTR" (owner is the address), "SRV", "ANY" */
	const char *owner;
	const char *data; /* address, PTR target, "prio weight port target"; NULL with ANY */
	bool check_ttl;
	uint32_t ttl;
};

#define NO_RECORDS (-1)

struct naming_case {
	const char *name;
	struct container_facts c;
	struct container_facts also; /* a second container in the same set (when it has an id) */
	struct naming_conf conf;     /* domain NULL means "docker", environment NULL means "" */
	bool stopped;                /* c.running is true unless this is set */
	int ret;                   /* 1: the container is ignored (naming_records sets *ignored) */
	const struct expect *want; /* each must be present ... */
	const struct expect *absent; /* ... and each of these must not */
	int count;                   /* exact number of records when > 0, none when NO_RECORDS */
};

#define NETS(...)                                                        \
	.nets = (const struct container_net[]){ __VA_ARGS__ },           \
	.nnets = sizeof((const struct container_net[]){ __VA_ARGS__ }) / \
		 sizeof(struct container_net)
#define BRIDGE(ip) NETS({ .name = "bridge", .ipv4 = (ip) })
#define LABELS(...)                                   \
	.labels = (const struct kv[]){ __VA_ARGS__ }, \
	.nlabels = sizeof((const struct kv[]){ __VA_ARGS__ }) / sizeof(struct kv)
#define ENV(...)                     \
	.env = (const char *const[]) \
	{                            \
		__VA_ARGS__, NULL    \
	}
#define ALIASES(...)              \
	(const char *const[])     \
	{                         \
		__VA_ARGS__, NULL \
	}
#define NETWORKS(...)                     \
	.networks = (const char *const[]) \
	{                                 \
		__VA_ARGS__, NULL         \
	}
#define PORTS(...)                                                         \
	.ports = (const struct container_port[]){ __VA_ARGS__ },           \
	.nports = sizeof((const struct container_port[]){ __VA_ARGS__ }) / \
		  sizeof(struct container_port)
#define WANT(...)                                  \
	.want = (const struct expect[])            \
	{                                          \
		__VA_ARGS__,                       \
		{                                  \
			NULL, NULL, NULL, false, 0 \
		}                                  \
	}
#define ABSENT(...)                                \
	.absent = (const struct expect[])          \
	{                                          \
		__VA_ARGS__,                       \
		{                                  \
			NULL, NULL, NULL, false, 0 \
		}                                  \
	}

/* A plain running container "web" (nginx) at 172.17.0.9. */
#define WEB .id = ID26ED, .name = "web", .image = "nginx", BRIDGE("172.17.0.9")

/* 10 bytes; 30 of them make a name past 255 bytes */
#define L10 "abcdefghi."
#define L100 L10 L10 L10 L10 L10 L10 L10 L10 L10 L10
#define LONG_NAME L100 L100 L100 "example"

static const struct naming_case cases[] = {
	/* ---- docker_dns (seed 000) ---- */
	{
		.name = "docker_dns: 0949efde23bf by ID, short ID and bare hostname (README)",
		.c = { .id = ID0949,
		       .name = "elated_hopper",
		       .hostname = "0949efde23bf",
		       .image = "ubuntu:12.04",
		       BRIDGE("172.17.0.2") },
		.conf = { .ttl = 10, .bare_hostnames = true },
		WANT({ "A", "0949efde23bf.docker.", "172.17.0.2", true, 10 },
		     { "A", ID0949_63 ".docker.", "172.17.0.2", true, 10 },
		     { "A", "0949efde23bf.", "172.17.0.2", true, 10 },
		     { "A", "elated-hopper.docker.", "172.17.0.2", false, 0 },
		     { "A", "elated-hopper.ubuntu.docker.", "172.17.0.2", false, 0 },
		     { "A", "*.elated-hopper.ubuntu.docker.", "172.17.0.2", false, 0 },
		     { "A", "ubuntu.docker.", "172.17.0.2", false, 0 },
		     { "PTR", "172.17.0.2", "elated-hopper.docker.", true, 10 }),
		/* N.D, N.I.D, *.N.I.D, I.D, ID, short ID, bare hostname, PTR */
		.count = 8,
	},
	{
		.name = "docker_dns: 26ed50b1bf59 with hostname my-thing (README)",
		.c = { .id = ID26ED,
		       .name = "sharp_kalam",
		       .hostname = "my-thing",
		       .image = "ubuntu:12.04",
		       BRIDGE("172.17.0.3") },
		.conf = { .ttl = 10, .bare_hostnames = true },
		WANT({ "A", "my-thing.", "172.17.0.3", false, 0 },
		     { "A", "26ed50b1bf59.docker.", "172.17.0.3", false, 0 },
		     { "A", ID26ED_63 ".docker.", "172.17.0.3", false, 0 }),
		/* the hostname Docker would have given it does not answer bare */
		ABSENT({ "ANY", "26ed50b1bf59.", NULL, false, 0 },
		       { "A", "0949efde23bf.docker.", "172.17.0.3", false, 0 }),
	},
	{
		.name = "docker_dns: bare hostnames only with --bare-hostnames",
		.c = { .id = ID0949,
		       .name = "elated_hopper",
		       .hostname = "0949efde23bf",
		       .image = "ubuntu:12.04",
		       BRIDGE("172.17.0.2") },
		WANT({ "A", "0949efde23bf.docker.", "172.17.0.2", false, 0 }),
		ABSENT({ "ANY", "0949efde23bf.", NULL, false, 0 }),
		.count = 7,
	},
	{
		.name = "docker_dns: a dotted hostname answers bare by its first label",
		.c = { WEB, .hostname = "Web01.Example.COM" },
		.conf = { .bare_hostnames = true },
		WANT({ "A", "web01.", "172.17.0.9", false, 0 }),
		ABSENT({ "ANY", "web01.example.com.", NULL, false, 0 }),
	},
	{
		.name = "docker_dns: hostname localhost never answers bare",
		.c = { WEB, .hostname = "localhost" },
		.conf = { .bare_hostnames = true },
		ABSENT({ "ANY", "localhost.", NULL, false, 0 }),
	},
	{
		.name = "docker_dns: uppercase hex ID is lowercased, a non-hex ID gives no ID names",
		.c = { .id = "ABCDEF0123456789", .name = "web", BRIDGE("172.17.0.9") },
		WANT({ "A", "abcdef0123456789.docker.", "172.17.0.9", false, 0 },
		     { "A", "abcdef012345.docker.", "172.17.0.9", false, 0 }),
		.also = { .id = "not-hex-at-all",
			  .name = "other",
			  .running = true,
			  BRIDGE("172.17.0.10") },
		ABSENT({ "ANY", "not-hex-at-all.docker.", NULL, false, 0 },
		       { "ANY", "not-hex-at-a.docker.", NULL, false, 0 }),
	},

	/* ---- dnsdock / dnscock (seed 001) ---- */
	{
		.name = "dnsdock: redis1 and redis2, image redis (README)",
		.c = { .id = ID0949, .name = "redis1", .image = "redis", BRIDGE("172.17.42.2") },
		.also = { .id = ID26ED,
			  .name = "redis2",
			  .image = "redis:latest",
			  .running = true,
			  BRIDGE("172.17.42.3") },
		WANT({ "A", "redis1.redis.docker.", "172.17.42.2", false, 0 },
		     { "A", "redis2.redis.docker.", "172.17.42.3", false, 0 },
		     { "A", "redis.docker.", "172.17.42.2", false, 0 },
		     { "A", "redis.docker.", "172.17.42.3", false, 0 },
		     { "A", "*.redis1.redis.docker.", "172.17.42.2", false, 0 },
		     { "A", "redis1.docker.", "172.17.42.2", false, 0 },
		     { "A", "redis2.docker.", "172.17.42.3", false, 0 }),
		ABSENT({ "A", "redis1.redis.docker.", "172.17.42.3", false, 0 },
		       { "A", "*.redis1.redis.docker.", "172.17.42.3", false, 0 },
		       { "ANY", "docker.", NULL, false, 0 }),
	},
	{
		.name = "dnsdock: environment prod: N.I.E.D, I.E.D, E.D, *.N.I.E.D, and N.D",
		.c = { .id = ID0949, .name = "redis1", .image = "redis", BRIDGE("172.17.42.2") },
		.conf = { .environment = "prod" },
		WANT({ "A", "redis1.redis.prod.docker.", "172.17.42.2", false, 0 },
		     { "A", "redis.prod.docker.", "172.17.42.2", false, 0 },
		     { "A", "prod.docker.", "172.17.42.2", false, 0 },
		     { "A", "*.redis1.redis.prod.docker.", "172.17.42.2", false, 0 },
		     { "A", "redis1.docker.", "172.17.42.2", false, 0 },
		     { "PTR", "172.17.42.2", "redis1.docker.", false, 0 }),
		ABSENT({ "ANY", "redis1.prod.docker.", NULL, false, 0 },
		       { "ANY", "redis.docker.", NULL, false, 0 },
		       { "ANY", "redis1.redis.docker.", NULL, false, 0 }),
	},
	{
		.name = "dnsdock: environment and domain are sanitised, labels kept",
		.c = { .id = ID0949, .name = "redis1", .image = "redis", BRIDGE("172.17.42.2") },
		.conf = { .domain = "Containers.Example.", .environment = "EU.Prod" },
		WANT({ "A", "redis1.redis.eu.prod.containers.example.", "172.17.42.2", false, 0 },
		     { "A", "eu.prod.containers.example.", "172.17.42.2", false, 0 },
		     { "A", "redis1.containers.example.", "172.17.42.2", false, 0 },
		     { "A", "0949efde23bf.containers.example.", "172.17.42.2", false, 0 }),
	},
	{
		.name = "dnsdock: DNSDOCK_ALIAS=\"local.web1.fi,local.web2.fi\" (README)",
		.c = { WEB, ENV("PATH=/bin", "DNSDOCK_ALIAS=local.web1.fi,local.web2.fi") },
		WANT({ "A", "local.web1.fi.", "172.17.0.9", false, 0 },
		     { "A", "local.web2.fi.", "172.17.0.9", false, 0 },
		     { "A", "web.docker.", "172.17.0.9", false, 0 }),
		ABSENT({ "ANY", "local.web1.fi.docker.", NULL, false, 0 }),
	},
	{
		.name = "dnsdock: the same alias on two containers answers both (README)",
		.c = { WEB, ENV("DNSDOCK_ALIAS=alias.some.fi") },
		.also = { .id = ID0949,
			  .name = "web2",
			  .image = "nginx",
			  .running = true,
			  ENV("DNSDOCK_ALIAS=alias.some.fi"),
			  BRIDGE("172.17.0.10") },
		WANT({ "A", "alias.some.fi.", "172.17.0.9", false, 0 },
		     { "A", "alias.some.fi.", "172.17.0.10", false, 0 }),
	},
	{
		.name = "dnsdock: DNSDOCK_alias, as the README spells it",
		.c = { WEB, ENV("DNSDOCK_alias=Local.Web1.FI., spaced.example ,,") },
		WANT({ "A", "local.web1.fi.", "172.17.0.9", false, 0 },
		     { "A", "spaced.example.", "172.17.0.9", false, 0 }),
	},
	{
		.name = "dnsdock: DNSDOCK_NAME, DNSDOCK_IMAGE, DNSDOCK_TTL rewrite name, image, TTL",
		.c = { .id = ID0949,
		       .name = "web_1",
		       .image = "nginx:1.25",
		       ENV("DNSDOCK_NAME=frontend", "DNSDOCK_IMAGE=www", "DNSDOCK_TTL=60"),
		       BRIDGE("172.17.0.2") },
		.conf = { .ttl = 300 },
		WANT({ "A", "frontend.docker.", "172.17.0.2", true, 60 },
		     { "A", "frontend.www.docker.", "172.17.0.2", true, 60 },
		     { "A", "www.docker.", "172.17.0.2", true, 60 },
		     { "A", "0949efde23bf.docker.", "172.17.0.2", true, 60 },
		     { "PTR", "172.17.0.2", "frontend.docker.", true, 60 }),
		ABSENT({ "ANY", "web-1.docker.", NULL, false, 0 },
		       { "ANY", "nginx.docker.", NULL, false, 0 },
		       { "ANY", "frontend.nginx.docker.", NULL, false, 0 }),
	},
	{
		.name = "dnsdock: com.dnsdock.name|image|ttl|alias labels",
		.c = { WEB,
		       LABELS({ "com.dnsdock.name", "api" }, { "com.dnsdock.image", "svc" },
			      { "com.dnsdock.ttl", "5" }, { "com.dnsdock.alias", "api.local" }) },
		.conf = { .ttl = 300 },
		WANT({ "A", "api.docker.", "172.17.0.9", true, 5 },
		     { "A", "api.svc.docker.", "172.17.0.9", true, 5 },
		     { "A", "api.local.", "172.17.0.9", true, 5 }),
		ABSENT({ "ANY", "web.docker.", NULL, false, 0 }),
	},
	{
		.name = "overrides: berth.* label beats com.dnsdock.* label beats DNSDOCK_* env",
		.c = { WEB,
		       LABELS({ "berth.name", "one" }, { "com.dnsdock.name", "two" },
			      { "com.dnsdock.image", "img2" }, { "berth.alias", "a.one" },
			      { "com.dnsdock.alias", "a.two" }),
		       ENV("DNSDOCK_NAME=three", "DNSDOCK_IMAGE=img3", "DNSDOCK_ALIAS=a.three") },
		WANT({ "A", "one.docker.", "172.17.0.9", false, 0 },
		     { "A", "one.img2.docker.", "172.17.0.9", false, 0 },
		     { "A", "a.one.", "172.17.0.9", false, 0 }),
		ABSENT({ "ANY", "two.docker.", NULL, false, 0 },
		       { "ANY", "three.docker.", NULL, false, 0 },
		       { "ANY", "img3.docker.", NULL, false, 0 },
		       { "ANY", "a.two.", NULL, false, 0 }, { "ANY", "a.three.", NULL, false, 0 }),
	},
	{
		.name = "overrides: berth.name and berth.image are sanitised; empty ones fall back",
		.c = { WEB, LABELS({ "berth.name", "My Service!" }, { "berth.image", "___" }) },
		WANT({ "A", "my-service.docker.", "172.17.0.9", false, 0 },
		     { "A", "my-service.nginx.docker.", "172.17.0.9", false, 0 }),
	},
	{
		.name = "overrides: berth.alias names lie anywhere, wildcards allowed, a bare * is not",
		.c = { WEB, LABELS({ "berth.alias", "*.web.test, Foo_Bar.example, *" }) },
		WANT({ "A", "*.web.test.", "172.17.0.9", false, 0 },
		     { "A", "foo-bar.example.", "172.17.0.9", false, 0 }),
		ABSENT({ "ANY", "*.", NULL, false, 0 }),
	},
	{
		.name = "overrides: a name past 255 bytes is skipped, the others kept",
		.c = { WEB, LABELS({ "berth.alias", LONG_NAME ",ok.example" }) },
		WANT({ "A", "ok.example.", "172.17.0.9", false, 0 }),
		/* N.D, N.I.D, *.N.I.D, I.D, ID, short ID, PTR, ok.example */
		.count = 8,
	},
	{
		.name = "ttl: the default applies to every record",
		.c = { WEB, .ports = (const struct container_port[]){ { 80, false, 0, NULL } },
		       .nports = 1 },
		.conf = { .ttl = 42 },
		WANT({ "A", "web.docker.", "172.17.0.9", true, 42 },
		     { "PTR", "172.17.0.9", "web.docker.", true, 42 },
		     { "SRV", "_80._tcp.web.docker.", "0 0 80 web.docker.", true, 42 }),
	},
	{
		.name = "ttl: berth.ttl=0 is a TTL",
		.c = { WEB, LABELS({ "berth.ttl", "0" }) },
		.conf = { .ttl = 30 },
		WANT({ "A", "web.docker.", "172.17.0.9", true, 0 }),
	},
	{
		.name = "ttl: berth.ttl=abc is ignored, the default kept",
		.c = { WEB, LABELS({ "berth.ttl", "abc" }) },
		.conf = { .ttl = 30 },
		WANT({ "A", "web.docker.", "172.17.0.9", true, 30 }),
	},
	{
		.name = "ttl: a negative DNSDOCK_TTL is ignored",
		.c = { WEB, ENV("DNSDOCK_TTL=-5") },
		.conf = { .ttl = 30 },
		WANT({ "A", "web.docker.", "172.17.0.9", true, 30 }),
	},
	{
		.name = "ttl: a TTL past 2^31-1 is ignored",
		.c = { WEB, LABELS({ "com.dnsdock.ttl", "99999999999" }) },
		.conf = { .ttl = 30 },
		WANT({ "A", "web.docker.", "172.17.0.9", true, 30 }),
	},
	{
		.name = "ttl: an empty berth.ttl is ignored, blanks around a number are not",
		.c = { WEB, LABELS({ "berth.ttl", "" }) },
		.also = { .id = ID0949,
			  .name = "web2",
			  .running = true,
			  LABELS({ "berth.ttl", " 7 " }),
			  BRIDGE("172.17.0.10") },
		.conf = { .ttl = 30 },
		WANT({ "A", "web.docker.", "172.17.0.9", true, 30 },
		     { "A", "web2.docker.", "172.17.0.10", true, 7 }),
	},
	{
		.name = "ignore: berth.ignore=true",
		.c = { WEB, LABELS({ "berth.ignore", "true" }) },
		.ret = 1,
	},
	{
		.name = "ignore: com.dnsdock.ignore=1",
		.c = { WEB, LABELS({ "com.dnsdock.ignore", "1" }) },
		.ret = 1,
	},
	{
		.name = "ignore: DNSDOCK_IGNORE=yes",
		.c = { WEB, ENV("DNSDOCK_IGNORE=yes") },
		.ret = 1,
	},
	{
		.name = "ignore: berth.ignore=FALSE answers",
		.c = { WEB, LABELS({ "berth.ignore", "FALSE" }) },
		WANT({ "A", "web.docker.", "172.17.0.9", false, 0 }),
	},
	{
		.name = "ignore: DNSDOCK_IGNORE=0 and DNSDOCK_IGNORE= answer",
		.c = { WEB, ENV("DNSDOCK_IGNORE=0") },
		.also = { .id = ID0949,
			  .name = "web2",
			  .running = true,
			  ENV("DNSDOCK_IGNORE="),
			  BRIDGE("172.17.0.10") },
		WANT({ "A", "web.docker.", "172.17.0.9", false, 0 },
		     { "A", "web2.docker.", "172.17.0.10", false, 0 }),
	},
	{
		.name = "ignore: berth.ignore=false beats DNSDOCK_IGNORE=1",
		.c = { WEB, LABELS({ "berth.ignore", "false" }), ENV("DNSDOCK_IGNORE=1") },
		WANT({ "A", "web.docker.", "172.17.0.9", false, 0 }),
	},
	{
		.name = "ignore: com.dnsdock.ignore=true beats DNSDOCK_IGNORE=false",
		.c = { WEB, LABELS({ "com.dnsdock.ignore", "true" }), ENV("DNSDOCK_IGNORE=false") },
		.ret = 1,
	},
	{
		.name = "ignore: an ignored container has no joyride names either",
		.c = { WEB, LABELS({ "berth.ignore", "1" },
				   { "joyride.host.name", "app.example.com" }) },
		.conf = { .host_ip = HOSTIP },
		.ret = 1,
	},

	/* ---- joyride (seed 003) ---- */
	{
		.name = "joyride: joyride.host.name=app.example.com answers HOSTIP (README)",
		.c = { .id = ID0949,
		       .name = "my-app",
		       .image = "nginx",
		       LABELS({ "joyride.host.name", "app.example.com" }),
		       BRIDGE("172.17.0.4") },
		.conf = { .host_ip = HOSTIP, .ttl = 300 },
		WANT({ "A", "app.example.com.", HOSTIP, true, 300 },
		     { "A", "my-app.docker.", "172.17.0.4", false, 0 }),
		ABSENT({ "A", "app.example.com.", "172.17.0.4", false, 0 },
		       { "PTR", HOSTIP, "app.example.com.", false, 0 },
		       { "PTR", HOSTIP, "my-app.docker.", false, 0 }),
	},
	{
		.name = "joyride: test.internal (README)",
		.c = { .id = ID0949,
		       .name = "nervous_wu",
		       .image = "nginx",
		       LABELS({ "joyride.host.name", "test.internal" }),
		       BRIDGE("172.17.0.4") },
		.conf = { .host_ip = HOSTIP },
		WANT({ "A", "test.internal.", HOSTIP, false, 0 }),
	},
	{
		.name = "joyride: a list of names, IPv6 host address gives AAAA",
		.c = { WEB, LABELS({ "joyride.host.name", "app.example.com, API.example.com" }) },
		.conf = { .host_ip = "2001:db8::1" },
		WANT({ "A", "app.example.com.", "2001:db8::1", false, 0 },
		     { "A", "api.example.com.", "2001:db8::1", false, 0 }),
	},
	{
		.name = "joyride: skipped without a host address",
		.c = { WEB, LABELS({ "joyride.host.name", "app.example.com" }) },
		WANT({ "A", "web.docker.", "172.17.0.9", false, 0 }),
		ABSENT({ "ANY", "app.example.com.", NULL, false, 0 }),
	},
	{
		.name = "joyride: answered for a container without an address of its own",
		.c = { .id = ID0949,
		       .name = "web",
		       .network_mode = "none",
		       LABELS({ "joyride.host.name", "app.example.com" }),
		       NETS({ .name = "none" }) },
		.conf = { .host_ip = HOSTIP },
		WANT({ "A", "app.example.com.", HOSTIP, false, 0 }),
		.count = 1,
	},

	/* ---- compose ---- */
	{
		.name = "compose: every replica at service.project, replica n at service-n.project",
		.c = { .id = ID0949,
		       .name = "myapp-web-1",
		       .image = "myapp-web",
		       LABELS({ "com.docker.compose.project", "myapp" },
			      { "com.docker.compose.service", "web" },
			      { "com.docker.compose.container-number", "1" }),
		       BRIDGE("172.18.0.2") },
		.also = { .id = ID26ED,
			  .name = "myapp-web-2",
			  .image = "myapp-web",
			  .running = true,
			  LABELS({ "com.docker.compose.project", "myapp" },
				 { "com.docker.compose.service", "web" },
				 { "com.docker.compose.container-number", "2" }),
			  BRIDGE("172.18.0.3") },
		WANT({ "A", "web.myapp.docker.", "172.18.0.2", false, 0 },
		     { "A", "web.myapp.docker.", "172.18.0.3", false, 0 },
		     { "A", "web-1.myapp.docker.", "172.18.0.2", false, 0 },
		     { "A", "web-2.myapp.docker.", "172.18.0.3", false, 0 },
		     { "A", "myapp-web-1.docker.", "172.18.0.2", false, 0 }),
		ABSENT({ "A", "web-1.myapp.docker.", "172.18.0.3", false, 0 },
		       { "A", "web-2.myapp.docker.", "172.18.0.2", false, 0 }),
	},
	{
		.name = "compose: a one-off `compose run` container is not a replica",
		.c = { WEB, LABELS({ "com.docker.compose.project", "myapp" },
				   { "com.docker.compose.service", "web" },
				   { "com.docker.compose.container-number", "1" },
				   { "com.docker.compose.oneoff", "True" }) },
		ABSENT({ "ANY", "web.myapp.docker.", NULL, false, 0 },
		       { "ANY", "web-1.myapp.docker.", NULL, false, 0 }),
	},
	{
		.name = "compose: odd labels sanitised, a bad number gives no replica name",
		.c = { WEB, LABELS({ "com.docker.compose.project", "My.Proj" },
				   { "com.docker.compose.service", "Web_App" },
				   { "com.docker.compose.container-number", "x1" }) },
		WANT({ "A", "web-app.my-proj.docker.", "172.17.0.9", false, 0 }),
		ABSENT({ "ANY", "web-app-x1.my-proj.docker.", NULL, false, 0 },
		       { "ANY", "web-app-1.my-proj.docker.", NULL, false, 0 }),
	},
	{
		.name = "compose: no project, no compose names",
		.c = { WEB, LABELS({ "com.docker.compose.service", "svc" }) },
		ABSENT({ "ANY", "svc.docker.", NULL, false, 0 }),
		.count = 7,
	},

	/* ---- network aliases ---- */
	{
		.name = "aliases: <alias>.D, dotted and odd aliases sanitised, the short ID skipped",
		.c = { .id = ID0949,
		       .name = "db1",
		       .image = "postgres",
		       NETS({ .name = "mynet",
			      .ipv4 = "10.0.0.5",
			      .aliases =
				      ALIASES("db", "DB.Internal", "0949efde23bf", "My_Cache") }) },
		WANT({ "A", "db.docker.", "10.0.0.5", false, 0 },
		     { "A", "db.internal.docker.", "10.0.0.5", false, 0 },
		     { "A", "my-cache.docker.", "10.0.0.5", false, 0 }),
		/* N.D, N.I.D, *.N.I.D, I.D, ID, short ID, 3 aliases, PTR: the short ID once */
		.count = 10,
	},
	{
		.name = "networks: --network keeps only that network's address and aliases",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       NETS({ .name = "bridge",
			      .ipv4 = "172.17.0.5",
			      .aliases = ALIASES("b-alias") },
			    { .name = "mynet",
			      .ipv4 = "10.0.0.5",
			      .aliases = ALIASES("m-alias") }) },
		.conf = { NETWORKS("mynet") },
		WANT({ "A", "web.docker.", "10.0.0.5", false, 0 },
		     { "A", "m-alias.docker.", "10.0.0.5", false, 0 },
		     { "PTR", "10.0.0.5", "web.docker.", false, 0 }),
		ABSENT({ "A", "web.docker.", "172.17.0.5", false, 0 },
		       { "ANY", "b-alias.docker.", NULL, false, 0 },
		       { "PTR", "172.17.0.5", "web.docker.", false, 0 }),
	},
	{
		.name = "networks: without --network every network answers; an alias its own",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       NETS({ .name = "bridge",
			      .ipv4 = "172.17.0.5",
			      .aliases = ALIASES("b-alias") },
			    { .name = "mynet",
			      .ipv4 = "10.0.0.5",
			      .aliases = ALIASES("m-alias") }) },
		WANT({ "A", "web.docker.", "10.0.0.5", false, 0 },
		     { "A", "web.docker.", "172.17.0.5", false, 0 },
		     { "A", "b-alias.docker.", "172.17.0.5", false, 0 },
		     { "A", "m-alias.docker.", "10.0.0.5", false, 0 },
		     { "PTR", "172.17.0.5", "web.docker.", false, 0 },
		     { "PTR", "10.0.0.5", "web.docker.", false, 0 }),
		ABSENT({ "A", "b-alias.docker.", "10.0.0.5", false, 0 },
		       { "A", "m-alias.docker.", "172.17.0.5", false, 0 }),
	},
	{
		.name = "networks: --network not matching any network: no address records",
		.c = { WEB, LABELS({ "berth.alias", "a.example" }) },
		.conf = { NETWORKS("other") },
		.count = NO_RECORDS,
	},
	{
		.name = "addresses: IPv6 gives AAAA and an ip6.arpa PTR",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       NETS({ .name = "v6net", .ipv4 = "172.18.0.2", .ipv6 = "FD00::2" }) },
		WANT({ "A", "web.docker.", "fd00::2", false, 0 },
		     { "A", "web.docker.", "172.18.0.2", false, 0 },
		     { "A", "web.nginx.docker.", "fd00::2", false, 0 },
		     { "PTR", "fd00::2", "web.docker.", false, 0 },
		     { "PTR", "172.18.0.2", "web.docker.", false, 0 }),
	},
	{
		.name = "addresses: the same address on two networks counts once",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       NETS({ .name = "a", .ipv4 = "10.0.0.5" },
			    { .name = "b", .ipv4 = "10.0.0.5" }) },
		.count = 7,
	},
	{
		.name = "addresses: unparsable addresses are skipped",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       NETS({ .name = "a", .ipv4 = "not-an-ip", .ipv6 = "zz::zz::" },
			    { .name = "b", .ipv4 = "", .ipv6 = NULL }) },
		.count = NO_RECORDS,
	},

	/* ---- network modes ---- */
	{
		.name = "network_mode host: the host's address, no PTR for it",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       .network_mode = "host",
		       NETS({ .name = "host" }),
		       PORTS({ 80, false, 0, NULL }) },
		.conf = { .host_ip = HOSTIP },
		WANT({ "A", "web.docker.", HOSTIP, false, 0 },
		     { "A", "web.nginx.docker.", HOSTIP, false, 0 },
		     { "A", "0949efde23bf.docker.", HOSTIP, false, 0 },
		     { "SRV", "_80._tcp.web.docker.", "0 0 80 web.docker.", false, 0 }),
		ABSENT({ "PTR", HOSTIP, "web.docker.", false, 0 }),
	},
	{
		.name = "network_mode host without a host address: no records, no failure",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       .network_mode = "host",
		       NETS({ .name = "host" }),
		       PORTS({ 80, false, 0, NULL }) },
		.count = NO_RECORDS,
	},
	{
		.name = "network_mode none: no records, no failure",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       .network_mode = "none",
		       NETS({ .name = "none", .ipv4 = "" }),
		       PORTS({ 80, false, 0, NULL }) },
		.count = NO_RECORDS,
	},
	{
		.name = "network_mode container:<id>: no records, even with aliases and ports",
		.c = { .id = ID0949,
		       .name = "sidecar",
		       .image = "nginx",
		       .network_mode = "container:" ID26ED,
		       LABELS({ "berth.alias", "side.example" }),
		       PORTS({ 80, false, 0, NULL }) },
		.count = NO_RECORDS,
	},

	/* ---- SRV ---- */
	{
		.name = "SRV: exposed ports, tcp and udp",
		.c = { WEB, PORTS({ 80, false, 8080, NULL }, { 53, true, 0, NULL },
				  { 0, false, 0, NULL }) },
		WANT({ "SRV", "_80._tcp.web.docker.", "0 0 80 web.docker.", false, 0 },
		     { "SRV", "_53._udp.web.docker.", "0 0 53 web.docker.", false, 0 }),
		ABSENT({ "ANY", "_53._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_0._tcp.web.docker.", NULL, false, 0 }),
		.count = 9,
	},
	{
		.name = "SRV: berth.srv.<service>=<port>[/udp] labels; bad ones skipped",
		.c = { WEB, LABELS({ "berth.srv.http", "8080" }, { "berth.srv.dns", "53/udp" },
				   { "berth.srv.HTTPS", " 443/TCP " }, { "berth.srv.bad", "abc" },
				   { "berth.srv.big", "70000" }, { "berth.srv.zero", "0" },
				   { "berth.srv.x", "80/sctp" }, { "berth.srv.", "80" },
				   { "berth.srv.nul", NULL }) },
		WANT({ "SRV", "_http._tcp.web.docker.", "0 0 8080 web.docker.", false, 0 },
		     { "SRV", "_dns._udp.web.docker.", "0 0 53 web.docker.", false, 0 },
		     { "SRV", "_https._tcp.web.docker.", "0 0 443 web.docker.", false, 0 }),
		ABSENT({ "ANY", "_bad._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_big._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_zero._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_x._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_x._udp.web.docker.", NULL, false, 0 }),
		.count = 10,
	},
	{
		.name = "SRV: with an environment the owner and target stay under N.D",
		.c = { WEB, PORTS({ 80, false, 0, NULL }), LABELS({ "berth.name", "front" }) },
		.conf = { .environment = "prod" },
		WANT({ "SRV", "_80._tcp.front.docker.", "0 0 80 front.docker.", false, 0 }),
	},

	/* ---- health and state ---- */
	{
		.name = "health: starting does not answer",
		.c = { WEB, .health = HEALTH_STARTING },
		.ret = 1,
	},
	{
		.name = "health: unhealthy does not answer",
		.c = { WEB, .health = HEALTH_UNHEALTHY },
		.ret = 1,
	},
	{
		.name = "health: unhealthy answers with --include-unhealthy",
		.c = { WEB, .health = HEALTH_UNHEALTHY },
		.conf = { .include_unhealthy = true },
		WANT({ "A", "web.docker.", "172.17.0.9", false, 0 }),
	},
	{
		.name = "health: starting answers with --include-unhealthy",
		.c = { WEB, .health = HEALTH_STARTING },
		.conf = { .include_unhealthy = true },
		WANT({ "A", "web.docker.", "172.17.0.9", false, 0 }),
	},
	{
		.name = "health: healthy answers",
		.c = { WEB, .health = HEALTH_HEALTHY },
		WANT({ "A", "web.docker.", "172.17.0.9", false, 0 }),
	},
	{
		.name = "state: paused does not answer",
		.c = { WEB, .paused = true },
		.ret = 1,
	},
	{
		.name = "state: paused does not answer, even with --all",
		.c = { WEB, .paused = true },
		.conf = { .all = true },
		.ret = 1,
	},
	{
		.name = "state: stopped does not answer",
		.c = { WEB },
		.stopped = true,
		.ret = 1,
	},
	{
		.name = "state: stopped answers with --all",
		.c = { WEB },
		.stopped = true,
		.conf = { .all = true },
		WANT({ "A", "web.docker.", "172.17.0.9", false, 0 }),
	},

	/* ---- names and images ---- */
	{
		.name = "names: My_App.1 becomes my-app-1",
		.c = { .id = ID0949, .name = "My_App.1", .image = "nginx", BRIDGE("172.17.0.2") },
		WANT({ "A", "my-app-1.docker.", "172.17.0.2", false, 0 },
		     { "A", "my-app-1.nginx.docker.", "172.17.0.2", false, 0 }),
	},
	{
		.name = "names: a leading slash is dropped",
		.c = { .id = ID0949, .name = "/web", .image = "nginx", BRIDGE("172.17.0.2") },
		WANT({ "A", "web.docker.", "172.17.0.2", false, 0 }),
	},
	{
		.name = "names: UTF-8 becomes one '-' per character",
		.c = { .id = ID0949,
		       .name = "na\xc3\xafve-\xe2\x98\x83",
		       .image = "nginx",
		       BRIDGE("172.17.0.2") },
		WANT({ "A", "na-ve.docker.", "172.17.0.2", false, 0 }),
	},
	{
		.name = "names: nothing usable in the name: the short ID stands in",
		.c = { .id = ID0949, .name = "___", .image = "nginx", BRIDGE("172.17.0.2") },
		WANT({ "A", "0949efde23bf.docker.", "172.17.0.2", false, 0 },
		     { "A", "0949efde23bf.nginx.docker.", "172.17.0.2", false, 0 },
		     { "PTR", "172.17.0.2", "0949efde23bf.docker.", false, 0 }),
	},
	{
		.name = "names: a 70-byte name is cut to 63",
		.c = { .id = ID0949,
		       .name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		       .image = "nginx",
		       BRIDGE("172.17.0.2") },
		WANT({ "A",
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.docker.",
		       "172.17.0.2", false, 0 }),
	},
	{
		.name = "image: quay.io/coreos/etcd:v3.5 gives etcd (provision README)",
		.c = { .id = ID0949,
		       .name = "etcd1",
		       .image = "quay.io/coreos/etcd:v3.5",
		       BRIDGE("172.17.0.2") },
		WANT({ "A", "etcd1.etcd.docker.", "172.17.0.2", false, 0 },
		     { "A", "etcd.docker.", "172.17.0.2", false, 0 }),
	},
	{
		.name = "image: redis@sha256:... gives redis",
		.c = { .id = ID0949,
		       .name = "r",
		       .image = "redis@sha256:"
				"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		       BRIDGE("172.17.0.2") },
		WANT({ "A", "redis.docker.", "172.17.0.2", false, 0 }),
	},
	{
		.name = "image: ubuntu:wily gives ubuntu (provision README)",
		.c = { .id = ID0949,
		       .name = "bash-sleeper",
		       .image = "ubuntu:wily",
		       BRIDGE("172.17.0.2") },
		WANT({ "A", "bash-sleeper.ubuntu.docker.", "172.17.0.2", false, 0 },
		     { "A", "bash-sleeper.docker.", "172.17.0.2", false, 0 }),
	},
	{
		.name = "image: a registry with a port, tag and digest gives the last component",
		.c = { .id = ID0949,
		       .name = "a",
		       .image = "localhost:5000/team/My_App:1.0@sha256:ab",
		       BRIDGE("172.17.0.2") },
		WANT({ "A", "my-app.docker.", "172.17.0.2", false, 0 }),
	},
	{
		.name = "image: empty image, no image names",
		.c = { .id = ID0949, .name = "web", .image = "", BRIDGE("172.17.0.2") },
		WANT({ "A", "web.docker.", "172.17.0.2", false, 0 }),
		/* N.D, ID, short ID, PTR */
		.count = 4,
	},
	{
		.name = "image: an image ID, no image names",
		.c = { .id = ID0949,
		       .name = "web",
		       .image =
			       "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		       BRIDGE("172.17.0.2") },
		ABSENT({ "ANY", "sha256.docker.", NULL, false, 0 }),
		.count = 4,
	},

	/* ---- odd input ---- */
	{
		.name = "odd: every field NULL",
		.c = { .id = NULL },
		.count = NO_RECORDS,
	},
	{
		.name = "odd: NULL network, alias and label fields",
		.c = { .id = ID0949,
		       .name = NULL,
		       .image = NULL,
		       .network_mode = NULL,
		       LABELS({ NULL, "x" }, { "berth.name", NULL }, { "joyride.host.name", NULL }),
		       ENV("NOEQUALS", "DNSDOCK_NAME"),
		       NETS({ .name = NULL, .ipv4 = "10.1.1.1", .aliases = ALIASES("") }) },
		.conf = { .host_ip = HOSTIP },
		WANT({ "A", "0949efde23bf.docker.", "10.1.1.1", false, 0 },
		     { "PTR", "10.1.1.1", "0949efde23bf.docker.", false, 0 }),
	},
};

static void run_case(void **state)
{
	const struct naming_case *tc = *state;
	struct naming_conf conf = tc->conf;
	struct container_facts c = tc->c;
	struct recset *rs = recset_new();
	int ret;

	assert_non_null(rs);
	if (conf.domain == NULL)
		conf.domain = "docker";
	if (conf.environment == NULL)
		conf.environment = "";
	c.running = !tc->stopped;
	bool ignored = true;
	ret = naming_records(&c, &conf, rs, &ignored);
	assert_int_equal(ret, 0);
	assert_int_equal(ignored, tc->ret == 1);
	if (ignored)
		assert_int_equal(recset_count(rs), 0);
	if (tc->also.id != NULL) {
		assert_int_equal(naming_records(&tc->also, &conf, rs, &ignored), 0);
		assert_false(ignored);
	}

	for (const struct expect *e = tc->want; e != NULL && e->type != NULL; e++) {
		const struct rec *r;
		if (strcmp(e->type, "A") == 0)
			r = has_a(rs, e->owner, e->data);
		else if (strcmp(e->type, "PTR") == 0)
			r = has_ptr(rs, e->owner, e->data);
		else if (strcmp(e->type, "SRV") == 0)
			r = has_srv(rs, e->owner, e->data);
		else
			r = find(rs, 0, e->owner, NULL, 0);
		if (r == NULL)
			fail_msg("missing %s %s %s", e->type, e->owner, e->data ? e->data : "");
		if (e->check_ttl && r->ttl != e->ttl)
			fail_msg("%s %s %s: TTL %u, want %u", e->type, e->owner,
				 e->data ? e->data : "", r->ttl, e->ttl);
	}
	for (const struct expect *e = tc->absent; e != NULL && e->type != NULL; e++) {
		const struct rec *r;
		if (strcmp(e->type, "A") == 0)
			r = has_a(rs, e->owner, e->data);
		else if (strcmp(e->type, "PTR") == 0)
			r = has_ptr(rs, e->owner, e->data);
		else if (strcmp(e->type, "SRV") == 0)
			r = has_srv(rs, e->owner, e->data);
		else
			r = find(rs, 0, e->owner, NULL, 0);
		if (r != NULL)
			fail_msg("unexpected %s %s %s", e->type, e->owner, e->data ? e->data : "");
	}
	if (tc->count > 0 && tc->also.id == NULL && recset_count(rs) != (size_t)tc->count)
		fail_msg("%zu records, want %d", recset_count(rs), tc->count);
	if (tc->count == NO_RECORDS && recset_count(rs) != 0)
		fail_msg("%zu records, want none", recset_count(rs));
	recset_free(rs);
}

/* ---- naming_label ------------------------------------------------------- */

static void test_label(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} t[] = {
		{ "My_App.1", "my-app-1" },
		{ "web", "web" },
		{ "--x--", "x" },
		{ "  spaced out  ", "spaced-out" },
		{ "a__b", "a--b" },
		{ "xn--bcher-kva", "xn--bcher-kva" },
		{ "caf\xc3\xa9", "caf" },
		{ "na\xc3\xafve", "na-ve" },
		{ "\xff\xfe", "" },
		{ "___", "" },
		{ "", "" },
		{ "UPPER", "upper" },
		{ "*", "" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		/* cut at 63, then the trailing '-' trimmed */
		{ "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb_c",
		  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		naming_label(t[i].in, out, sizeof(out));
		assert_string_equal(out, t[i].out);
	}
	naming_label(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	naming_label("abcdef", out, 4); /* a short buffer cuts */
	assert_string_equal(out, "abc");
	naming_label("ab-cd", out, 4); /* and never ends on '-' */
	assert_string_equal(out, "ab");
	naming_label("abc", out, 0); /* nothing written */
	naming_label("abc", NULL, 10);
}

/* ---- odd input that does not fit a table -------------------------------- */

static struct naming_conf base_conf(void)
{
	struct naming_conf conf = { .domain = "docker", .environment = "", .ttl = 0 };
	return conf;
}

/* Where the tests below that do not look at it get naming_records' *ignored. */
static bool ign;

static void test_many_aliases(void **state)
{
	enum { N = 1000 };
	char *names = calloc(N, 16);
	const char **aliases = calloc(N + 1, sizeof(*aliases));
	char *list = calloc(N, 24);
	struct container_net net = { .name = "mynet", .ipv4 = "10.0.0.5" };
	struct kv label = { "berth.alias", list };
	struct container_facts c = { .id = ID0949,
				     .name = "web",
				     .image = "nginx",
				     .nets = &net,
				     .nnets = 1,
				     .labels = &label,
				     .nlabels = 1,
				     .running = true };
	struct naming_conf conf = base_conf();
	struct recset *rs = recset_new();
	char name[64];

	(void)state;
	assert_non_null(names);
	assert_non_null(aliases);
	assert_non_null(list);
	assert_non_null(rs);
	for (int i = 0; i < N; i++) {
		snprintf(names + i * 16, 16, "alias%d", i);
		aliases[i] = names + i * 16;
		snprintf(list + strlen(list), 24, "%sx%d.example", i ? "," : "", i);
	}
	net.aliases = aliases;
	assert_int_equal(naming_records(&c, &conf, rs, &ign), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "alias%d.docker.", i);
		assert_non_null(has_a(rs, name, "10.0.0.5"));
		snprintf(name, sizeof(name), "x%d.example.", i);
		assert_non_null(has_a(rs, name, "10.0.0.5"));
	}
	/* 2000 names + N.D, N.I.D, *.N.I.D, I.D, ID, short ID, PTR */
	assert_int_equal(recset_count(rs), 2 * N + 7);
	recset_free(rs);
	free(list);
	free(aliases);
	free(names);
}

static void test_huge_labels(void **state)
{
	size_t big = 100 * 1000;
	char *junk = malloc(big + 1);
	char *dots = malloc(big + 1);
	char *key = malloc(big + 20);
	struct kv labels[5];
	const char *env[3];
	const char *aliases[3];
	struct container_net net = { .name = "n", .ipv4 = "10.0.0.5", .aliases = aliases };
	struct container_facts c = { .id = ID0949,
				     .name = junk,
				     .hostname = junk,
				     .image = junk,
				     .labels = labels,
				     .nlabels = 5,
				     .env = env,
				     .nets = &net,
				     .nnets = 1,
				     .running = true };
	struct naming_conf conf = base_conf();
	struct recset *rs = recset_new();
	char want[128];

	(void)state;
	assert_non_null(junk);
	assert_non_null(dots);
	assert_non_null(key);
	assert_non_null(rs);
	memset(junk, 'Z', big);
	junk[big] = '\0';
	for (size_t i = 0; i < big; i++)
		dots[i] = i % 2 ? '.' : 'q';
	dots[big] = '\0';
	snprintf(key, big + 20, "berth.srv.%s", junk);
	labels[0] = (struct kv){ "berth.alias", dots };
	labels[1] = (struct kv){ "joyride.host.name", dots };
	labels[2] = (struct kv){ key, "80" };
	labels[3] = (struct kv){ "com.docker.compose.project", junk };
	labels[4] = (struct kv){ "com.docker.compose.service", junk };
	env[0] = "DNSDOCK_TTL=99999999999999999999999999999999";
	env[1] = "DNSDOCK_IMAGE=";
	env[2] = NULL;
	aliases[0] = junk;
	aliases[1] = dots;
	aliases[2] = NULL;
	conf.bare_hostnames = true;
	conf.host_ip = HOSTIP;

	assert_int_equal(naming_records(&c, &conf, rs, &ign), 0);
	/* the name is cut to one 63-byte label; names past 255 bytes are skipped */
	memset(want, 'z', 63);
	snprintf(want + 63, sizeof(want) - 63, ".docker.");
	assert_non_null(has_a(rs, want, "10.0.0.5"));
	assert_non_null(has_ptr(rs, "10.0.0.5", want));
	for (size_t i = 0; i < recset_count(rs); i++)
		assert_true(knot_dname_size(recset_get(rs, i)->owner) <= KNOT_DNAME_MAXLEN);
	recset_free(rs);
	free(key);
	free(dots);
	free(junk);
}

static void test_bad_args(void **state)
{
	struct container_facts c = { .id = ID0949, .running = true };
	struct naming_conf conf = base_conf();
	struct recset *rs = recset_new();

	(void)state;
	assert_int_equal(naming_records(NULL, &conf, rs, &ign), -EINVAL);
	assert_int_equal(naming_records(&c, NULL, rs, &ign), -EINVAL);
	assert_int_equal(naming_records(&c, &conf, NULL, &ign), -EINVAL);
	/* no domain configured: "docker" */
	conf.domain = NULL;
	conf.environment = NULL;
	c.name = "web";
	c.nets = &(struct container_net){ .name = "bridge", .ipv4 = "172.17.0.2" };
	c.nnets = 1;
	assert_int_equal(naming_records(&c, &conf, rs, &ign), 0);
	assert_non_null(has_a(rs, "web.docker.", "172.17.0.2"));
	recset_free(rs);
}

/* ---- what other hosts see: naming_export_records ----------------------------- */

#define ADV "192.0.2.50" /* this node's --advertise address */
#define ROUTABLE(...)                     \
	.routable = (const char *const[]) \
	{                                 \
		__VA_ARGS__, NULL         \
	}
#define NEVER(...)                     \
	.never = (const char *const[]) \
	{                              \
		__VA_ARGS__, NULL      \
	}

struct export_case {
	const char *name;
	struct container_facts c; /* running */
	struct naming_conf conf;  /* domain "docker", environment "" */
	struct naming_export x;
	bool ignored; /* naming_export_records sets *ignored */
	const struct expect *want;
	const struct expect *absent;
	const char *const *never; /* addresses that no A or AAAA of the set may hold */
	bool no_ptr;              /* and no PTR at all */
	int count;                /* exact number of records when > 0 */
};

/* "web" (nginx) on the default bridge at 172.17.0.9, with a network alias there. */
#define XWEB                                           \
	.id = ID26ED, .name = "web", .image = "nginx", \
	NETS({ .name = "bridge",                       \
	       .ipv4 = "172.17.0.9",                   \
	       .ipv4_prefix = 16,                      \
	       .aliases = ALIASES("web-alias") })
/* "web" on the bridge and on the network "routed" (10.0.0.5/24, fd00:10::5/64). */
#define XWEB2                                          \
	.id = ID26ED, .name = "web", .image = "nginx", \
	NETS({ .name = "bridge",                       \
	       .ipv4 = "172.17.0.9",                   \
	       .ipv4_prefix = 16,                      \
	       .aliases = ALIASES("b-alias") },        \
	     { .name = "routed",                       \
	       .ipv4 = "10.0.0.5",                     \
	       .ipv4_prefix = 24,                      \
	       .ipv6 = "fd00:10::5",                   \
	       .ipv6_prefix = 64,                      \
	       .aliases = ALIASES("r-alias", "Svc.Alias") })

static const struct export_case export_cases[] = {
	{
		.name = "export: a published port: the advertise address at every name, SRV with "
			"the host port, no PTR",
		.c = { XWEB, PORTS({ 80, false, 8080, NULL }, { 443, false, 0, NULL }) },
		.x = { .advertise = ADV },
		WANT({ "A", "web.docker.", ADV, false, 0 },
		     { "A", "web.nginx.docker.", ADV, false, 0 },
		     { "A", "*.web.nginx.docker.", ADV, false, 0 },
		     { "A", "nginx.docker.", ADV, false, 0 },
		     { "A", "26ed50b1bf59.docker.", ADV, false, 0 },
		     { "A", ID26ED_63 ".docker.", ADV, false, 0 },
		     { "SRV", "_80._tcp.web.docker.", "0 0 8080 web.docker.", false, 0 }),
		ABSENT({ "SRV", "_80._tcp.web.docker.", "0 0 80 web.docker.", false, 0 },
		       { "ANY", "_443._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "web-alias.docker.", NULL, false, 0 }),
		NEVER("172.17.0.9"),
		.no_ptr = true,
		/* N.D, N.I.D, *.N.I.D, I.D, ID, short ID, one SRV */
		.count = 7,
	},
	{
		.name = "export: a published udp port gives _udp, a tcp one of the same number does "
			"not",
		.c = { XWEB, PORTS({ 53, true, 5353, NULL }, { 53, false, 0, NULL }) },
		.x = { .advertise = ADV },
		WANT({ "A", "web.docker.", ADV, false, 0 },
		     { "SRV", "_53._udp.web.docker.", "0 0 5353 web.docker.", false, 0 }),
		ABSENT({ "ANY", "_53._tcp.web.docker.", NULL, false, 0 }),
		NEVER("172.17.0.9"),
		.no_ptr = true,
	},
	{
		.name = "export: an IPv6 advertise address gives AAAA",
		.c = { XWEB, PORTS({ 80, false, 8080, NULL }) },
		.x = { .advertise = "2001:db8::50" },
		WANT({ "A", "web.docker.", "2001:db8::50", false, 0 },
		     { "SRV", "_80._tcp.web.docker.", "0 0 8080 web.docker.", false, 0 }),
		NEVER("172.17.0.9", ADV),
		.no_ptr = true,
		.count = 7,
	},
	{
		.name = "export: no published port, no routable network: ignored",
		.c = { XWEB, PORTS({ 80, false, 0, NULL }) },
		.x = { .advertise = ADV },
		.ignored = true,
	},
	{
		.name = "export: no port at all: ignored",
		.c = { XWEB },
		.x = { .advertise = ADV, ROUTABLE("other") },
		.ignored = true,
	},
	{
		.name = "export: a published port but no advertise address: ignored",
		.c = { XWEB, PORTS({ 80, false, 8080, NULL }) },
		.x = { .advertise = NULL },
		.ignored = true,
	},
	{
		.name = "export: unreachable: the advertise address, no SRV for unpublished ports",
		.c = { XWEB, PORTS({ 80, false, 0, NULL }, { 53, true, 0, NULL }),
		       LABELS({ "berth.srv.http", "80" }) },
		.x = { .advertise = ADV, .unreachable = true },
		WANT({ "A", "web.docker.", ADV, false, 0 },
		     { "A", "web.nginx.docker.", ADV, false, 0 },
		     { "A", "26ed50b1bf59.docker.", ADV, false, 0 }),
		ABSENT({ "ANY", "_80._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_53._udp.web.docker.", NULL, false, 0 },
		       { "ANY", "_http._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "web-alias.docker.", NULL, false, 0 }),
		NEVER("172.17.0.9"),
		.no_ptr = true,
		.count = 6,
	},
	{
		.name = "export: unreachable with one port published: SRV for that one only",
		.c = { XWEB, PORTS({ 80, false, 0, NULL }, { 443, false, 8443, NULL }) },
		.x = { .advertise = ADV, .unreachable = true },
		WANT({ "SRV", "_443._tcp.web.docker.", "0 0 8443 web.docker.", false, 0 }),
		ABSENT({ "ANY", "_80._tcp.web.docker.", NULL, false, 0 }),
		NEVER("172.17.0.9"),
		.no_ptr = true,
		.count = 7,
	},
	{
		.name = "export: unreachable, network none: nothing to reach, ignored",
		.c = { .id = ID26ED,
		       .name = "web",
		       .network_mode = "none",
		       NETS({ .name = "none" }),
		       PORTS({ 80, false, 0, NULL }) },
		.x = { .advertise = ADV, .unreachable = true },
		.ignored = true,
	},
	{
		.name = "export: container:<id> network mode: ignored, even with unreachable",
		.c = { .id = ID26ED,
		       .name = "sidecar",
		       .network_mode = "container:" ID0949,
		       PORTS({ 80, false, 8080, NULL }) },
		.x = { .advertise = ADV, .unreachable = true },
		.ignored = true,
	},
	{
		.name = "export: a routable network: its own address there, PTR, its aliases; not "
			"the others",
		.c = { XWEB2, PORTS({ 80, false, 8080, NULL }) },
		.x = { .advertise = ADV, ROUTABLE("routed") },
		WANT({ "A", "web.docker.", "10.0.0.5", false, 0 },
		     { "A", "web.docker.", "fd00:10::5", false, 0 },
		     { "A", "web.nginx.docker.", "10.0.0.5", false, 0 },
		     { "A", "26ed50b1bf59.docker.", "10.0.0.5", false, 0 },
		     { "PTR", "10.0.0.5", "web.docker.", false, 0 },
		     { "PTR", "fd00:10::5", "web.docker.", false, 0 },
		     { "A", "r-alias.docker.", "10.0.0.5", false, 0 },
		     { "A", "r-alias.docker.", "fd00:10::5", false, 0 },
		     { "A", "svc.alias.docker.", "10.0.0.5", false, 0 },
		     /* reached directly: the container's port, not the host's */
		     { "SRV", "_80._tcp.web.docker.", "0 0 80 web.docker.", false, 0 }),
		ABSENT({ "ANY", "b-alias.docker.", NULL, false, 0 },
		       { "PTR", "172.17.0.9", "web.docker.", false, 0 },
		       { "SRV", "_80._tcp.web.docker.", "0 0 8080 web.docker.", false, 0 }),
		NEVER("172.17.0.9", ADV),
		/* 6 names x 2 addresses, 2 PTR, 2 aliases x 2, SRV */
		.count = 19,
	},
	{
		.name = "export: a routable network and unreachable: its own address, not the node's",
		.c = { XWEB2 },
		.x = { .advertise = ADV, ROUTABLE("nothing", "routed"), .unreachable = true },
		WANT({ "A", "web.docker.", "10.0.0.5", false, 0 },
		     { "PTR", "10.0.0.5", "web.docker.", false, 0 }),
		NEVER("172.17.0.9", ADV),
	},
	{
		.name = "export: every network routable: every address and alias, as locally",
		.c = { XWEB2 },
		.x = { .advertise = ADV, ROUTABLE("routed", "bridge") },
		WANT({ "A", "web.docker.", "10.0.0.5", false, 0 },
		     { "A", "web.docker.", "172.17.0.9", false, 0 },
		     { "A", "b-alias.docker.", "172.17.0.9", false, 0 },
		     { "A", "r-alias.docker.", "10.0.0.5", false, 0 },
		     { "PTR", "172.17.0.9", "web.docker.", false, 0 }),
		ABSENT({ "A", "b-alias.docker.", "10.0.0.5", false, 0 },
		       { "A", "r-alias.docker.", "172.17.0.9", false, 0 }),
		NEVER(ADV),
	},
	{
		.name = "export: a routable network left out by --network: through the node",
		.c = { XWEB2, PORTS({ 80, false, 8080, NULL }) },
		.conf = { NETWORKS("bridge") },
		.x = { .advertise = ADV, ROUTABLE("routed") },
		WANT({ "A", "web.docker.", ADV, false, 0 },
		     { "SRV", "_80._tcp.web.docker.", "0 0 8080 web.docker.", false, 0 }),
		ABSENT({ "ANY", "r-alias.docker.", NULL, false, 0 },
		       { "ANY", "b-alias.docker.", NULL, false, 0 }),
		NEVER("172.17.0.9", "10.0.0.5", "fd00:10::5"),
		.no_ptr = true,
	},
	{
		.name = "export: a routable network only in name: a container not on it goes "
			"through the node",
		.c = { XWEB, PORTS({ 80, false, 8080, NULL }) },
		.x = { .advertise = ADV, ROUTABLE("routed") },
		WANT({ "A", "web.docker.", ADV, false, 0 }),
		NEVER("172.17.0.9"),
		.no_ptr = true,
		.count = 7,
	},
	{
		.name = "export: network_mode host: the advertise address, not the host_ip",
		.c = { .id = ID0949,
		       .name = "web",
		       .image = "nginx",
		       .network_mode = "host",
		       NETS({ .name = "host" }) },
		.conf = { .host_ip = HOSTIP },
		.x = { .advertise = ADV },
		WANT({ "A", "web.docker.", ADV, false, 0 },
		     { "A", "web.nginx.docker.", ADV, false, 0 },
		     { "A", "0949efde23bf.docker.", ADV, false, 0 }),
		NEVER(HOSTIP),
		.no_ptr = true,
		/* N.D, N.I.D, *.N.I.D, I.D, ID, short ID */
		.count = 6,
	},
	{
		.name = "export: network_mode host without an advertise address: ignored",
		.c = { .id = ID0949,
		       .name = "web",
		       .network_mode = "host",
		       NETS({ .name = "host" }) },
		.conf = { .host_ip = HOSTIP },
		.x = { .advertise = NULL, .unreachable = true },
		.ignored = true,
	},
	{
		.name = "export: joyride.host.name answers the advertise address",
		.c = { XWEB, PORTS({ 80, false, 8080, NULL }),
		       LABELS({ "joyride.host.name", "app.example.com, API.example.com" }) },
		.conf = { .host_ip = HOSTIP },
		.x = { .advertise = ADV },
		WANT({ "A", "app.example.com.", ADV, false, 0 },
		     { "A", "api.example.com.", ADV, false, 0 },
		     { "A", "web.docker.", ADV, false, 0 }),
		NEVER("172.17.0.9", HOSTIP),
		.no_ptr = true,
		.count = 9,
	},
	{
		.name = "export: joyride.host.name on a routable container: still the advertise "
			"address",
		.c = { XWEB2, LABELS({ "joyride.host.name", "app.example.com" }) },
		.conf = { .host_ip = HOSTIP },
		.x = { .advertise = ADV, ROUTABLE("routed") },
		WANT({ "A", "app.example.com.", ADV, false, 0 },
		     { "A", "web.docker.", "10.0.0.5", false, 0 }),
		ABSENT({ "A", "app.example.com.", "10.0.0.5", false, 0 },
		       { "A", "app.example.com.", "fd00:10::5", false, 0 },
		       { "PTR", ADV, "app.example.com.", false, 0 }),
		NEVER("172.17.0.9", HOSTIP),
	},
	{
		.name = "export: berth.srv labels carry the host port; unpublished ones dropped",
		.c = { XWEB,
		       PORTS({ 80, false, 8080, NULL }, { 53, true, 5353, NULL },
			     { 9000, false, 0, NULL }),
		       LABELS({ "berth.srv.http", "80" }, { "berth.srv.dns", "53/udp" },
			      { "berth.srv.dnstcp", "53/tcp" }, { "berth.srv.admin", "9000" },
			      { "berth.srv.other", "81" }, { "berth.srv.bad", "abc" }) },
		.x = { .advertise = ADV },
		WANT({ "SRV", "_http._tcp.web.docker.", "0 0 8080 web.docker.", false, 0 },
		     { "SRV", "_dns._udp.web.docker.", "0 0 5353 web.docker.", false, 0 },
		     { "SRV", "_80._tcp.web.docker.", "0 0 8080 web.docker.", false, 0 },
		     { "SRV", "_53._udp.web.docker.", "0 0 5353 web.docker.", false, 0 }),
		ABSENT({ "SRV", "_http._tcp.web.docker.", "0 0 80 web.docker.", false, 0 },
		       { "ANY", "_dnstcp._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_admin._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_9000._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_other._tcp.web.docker.", NULL, false, 0 },
		       { "ANY", "_bad._tcp.web.docker.", NULL, false, 0 }),
		NEVER("172.17.0.9"),
		.no_ptr = true,
		/* 6 names, 4 SRV */
		.count = 10,
	},
	{
		.name = "export: berth.srv labels on a routable container keep the container port",
		.c = { XWEB2, PORTS({ 80, false, 8080, NULL }),
		       LABELS({ "berth.srv.http", "80" }, { "berth.srv.admin", "9000" }) },
		.x = { .advertise = ADV, ROUTABLE("routed") },
		WANT({ "SRV", "_http._tcp.web.docker.", "0 0 80 web.docker.", false, 0 },
		     { "SRV", "_admin._tcp.web.docker.", "0 0 9000 web.docker.", false, 0 }),
		ABSENT({ "SRV", "_http._tcp.web.docker.", "0 0 8080 web.docker.", false, 0 }),
		NEVER("172.17.0.9", ADV),
	},
	{
		.name = "export: berth.alias and compose names answer the advertise address",
		.c = { XWEB, PORTS({ 80, false, 8080, NULL }),
		       LABELS({ "berth.alias", "www.example.org" },
			      { "com.docker.compose.project", "shop" },
			      { "com.docker.compose.service", "front" },
			      { "com.docker.compose.container-number", "2" }) },
		.x = { .advertise = ADV },
		WANT({ "A", "www.example.org.", ADV, false, 0 },
		     { "A", "front.shop.docker.", ADV, false, 0 },
		     { "A", "front-2.shop.docker.", ADV, false, 0 }),
		NEVER("172.17.0.9"),
		.no_ptr = true,
	},
	{
		.name = "export: an ignored container is ignored here too",
		.c = { XWEB2, PORTS({ 80, false, 8080, NULL }),
		       LABELS({ "berth.ignore", "true" }) },
		.x = { .advertise = ADV, ROUTABLE("routed"), .unreachable = true },
		.ignored = true,
	},
	{
		.name = "export: an unhealthy container is ignored here too",
		.c = { XWEB, PORTS({ 80, false, 8080, NULL }), .health = HEALTH_UNHEALTHY },
		.x = { .advertise = ADV },
		.ignored = true,
	},
};

static bool holds_addr(const struct rec *r, const char *ip)
{
	uint8_t bin[16];
	if (inet_pton(AF_INET, ip, bin) == 1)
		return r->type == KNOT_RRTYPE_A && r->rdlen == 4 && memcmp(r->rdata, bin, 4) == 0;
	assert_int_equal(inet_pton(AF_INET6, ip, bin), 1);
	return r->type == KNOT_RRTYPE_AAAA && r->rdlen == 16 && memcmp(r->rdata, bin, 16) == 0;
}

static const struct rec *lookup(const struct recset *rs, const struct expect *e)
{
	if (strcmp(e->type, "A") == 0)
		return has_a(rs, e->owner, e->data);
	if (strcmp(e->type, "PTR") == 0)
		return has_ptr(rs, e->owner, e->data);
	if (strcmp(e->type, "SRV") == 0)
		return has_srv(rs, e->owner, e->data);
	return find(rs, 0, e->owner, NULL, 0);
}

static void run_export_case(void **state)
{
	const struct export_case *tc = *state;
	struct naming_conf conf = tc->conf;
	struct container_facts c = tc->c;
	struct recset *rs = recset_new();

	assert_non_null(rs);
	conf.domain = "docker";
	conf.environment = "";
	c.running = true;
	bool ignored = !tc->ignored;
	assert_int_equal(naming_export_records(&c, &conf, &tc->x, rs, &ignored), 0);
	if (ignored != tc->ignored)
		fail_msg("ignored is %d, want %d", ignored, tc->ignored);
	if (ignored)
		assert_int_equal(recset_count(rs), 0);
	else
		assert_true(recset_count(rs) > 0);

	for (const struct expect *e = tc->want; e != NULL && e->type != NULL; e++)
		if (lookup(rs, e) == NULL)
			fail_msg("missing %s %s %s", e->type, e->owner, e->data ? e->data : "");
	for (const struct expect *e = tc->absent; e != NULL && e->type != NULL; e++)
		if (lookup(rs, e) != NULL)
			fail_msg("unexpected %s %s %s", e->type, e->owner, e->data ? e->data : "");
	for (size_t i = 0; i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		char owner[KNOT_DNAME_TXT_MAXLEN + 1];
		knot_dname_to_str(owner, r->owner, sizeof(owner));
		for (const char *const *ip = tc->never; ip != NULL && *ip != NULL; ip++)
			if (holds_addr(r, *ip))
				fail_msg("%s holds %s, which other hosts cannot reach", owner, *ip);
		if (tc->no_ptr && r->type == KNOT_RRTYPE_PTR)
			fail_msg("PTR at %s", owner);
	}
	if (tc->count > 0 && recset_count(rs) != (size_t)tc->count)
		fail_msg("%zu records, want %d", recset_count(rs), tc->count);
	recset_free(rs);
}

/* The advertise address is not on any network of the container's: no prefix with it (a
 * client is never "on its network"); own addresses on a routable network keep theirs. */
static void test_export_prefixes(void **state)
{
	static const struct container_net nets[] = {
		{ .name = "bridge", .ipv4 = "172.17.0.9", .ipv4_prefix = 16 },
		{ .name = "routed",
		  .ipv4 = "10.0.0.5",
		  .ipv4_prefix = 24,
		  .ipv6 = "fd00:10::5",
		  .ipv6_prefix = 64 },
	};
	static const struct container_port port = { 80, false, 8080, NULL };
	struct container_facts c = { .id = ID26ED,
				     .name = "web",
				     .nets = nets,
				     .nnets = 2,
				     .ports = &port,
				     .nports = 1,
				     .running = true };
	struct naming_conf conf = base_conf();
	struct naming_export x = { .advertise = ADV };
	bool ignored = true;
	(void)state;

	struct recset *rs = recset_new();
	assert_non_null(rs);
	assert_int_equal(naming_export_records(&c, &conf, &x, rs, &ignored), 0);
	assert_false(ignored);
	size_t addrs = 0;
	for (size_t i = 0; i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		if (r->type != KNOT_RRTYPE_A && r->type != KNOT_RRTYPE_AAAA)
			continue;
		assert_true(holds_addr(r, ADV));
		assert_int_equal(r->prefix, 0);
		addrs++;
	}
	assert_true(addrs >= 3);
	recset_free(rs);

	const char *const routable[] = { "routed", NULL };
	x.routable = routable;
	rs = recset_new();
	assert_non_null(rs);
	assert_int_equal(naming_export_records(&c, &conf, &x, rs, &ignored), 0);
	assert_false(ignored);
	const struct rec *a = has_a(rs, "web.docker.", "10.0.0.5");
	const struct rec *aaaa = has_a(rs, "web.docker.", "fd00:10::5");
	assert_non_null(a);
	assert_non_null(aaaa);
	assert_int_equal(a->prefix, 24);
	assert_int_equal(aaaa->prefix, 64);
	recset_free(rs);
}

/* A container whose every network is routable looks to other hosts as it does here (with
 * the advertise address for the host's): the table of local cases, run through both. */
static void test_export_all_routable_is_the_local_view(void **state)
{
	size_t compared = 0;
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct naming_case *tc = &cases[k];
		struct naming_conf conf = tc->conf;
		struct container_facts c = tc->c;
		const char *names[16];
		size_t n = 0;
		bool named = true;

		if (c.network_mode != NULL && strcmp(c.network_mode, "host") == 0)
			continue; /* the host's address: another test */
		for (size_t i = 0; c.nets != NULL && i < c.nnets; i++) {
			if (c.nets[i].name == NULL || n + 1 >= sizeof(names) / sizeof(names[0]))
				named = false;
			else
				names[n++] = c.nets[i].name;
		}
		names[n] = NULL;
		if (!named)
			continue;
		if (conf.domain == NULL)
			conf.domain = "docker";
		if (conf.environment == NULL)
			conf.environment = "";
		c.running = !tc->stopped;
		struct naming_export x = { .advertise = conf.host_ip, .routable = names };
		struct recset *local = recset_new(), *exp = recset_new();
		assert_non_null(local);
		assert_non_null(exp);
		bool li = false, xi = false;
		assert_int_equal(naming_records(&c, &conf, local, &li), 0);
		assert_int_equal(naming_export_records(&c, &conf, &x, exp, &xi), 0);
		if (li) {
			assert_true(xi);
		} else if (xi) {
			/* ignored for export: nothing of its own to reach, so what it answers
			 * here can only be joyride names, at the host's address */
			for (size_t i = 0; i < recset_count(local); i++)
				if (conf.host_ip == NULL ||
				    !holds_addr(recset_get(local, i), conf.host_ip))
					fail_msg("%s: ignored for export", tc->name);
		} else {
			if (recset_count(local) != recset_count(exp))
				fail_msg("%s: %zu records here, %zu exported", tc->name,
					 recset_count(local), recset_count(exp));
			for (size_t i = 0; i < recset_count(local); i++) {
				const struct rec *p = recset_get(local, i), *q = recset_get(exp, i);
				if (!knot_dname_is_equal(p->owner, q->owner) ||
				    p->type != q->type || p->ttl != q->ttl ||
				    p->rdlen != q->rdlen || p->prefix != q->prefix ||
				    memcmp(p->rdata, q->rdata, p->rdlen) != 0)
					fail_msg("%s: record %zu differs", tc->name, i);
			}
			compared++;
		}
		recset_free(local);
		recset_free(exp);
	}
	print_message("%zu cases compared\n", compared);
	assert_true(compared > 40);
}

static void test_export_bad_args(void **state)
{
	struct container_facts c = { .id = ID0949, .name = "web", .running = true };
	struct naming_conf conf = base_conf();
	struct naming_export x = { .advertise = ADV };
	struct recset *rs = recset_new();
	bool ignored = true;

	(void)state;
	assert_non_null(rs);
	assert_int_equal(naming_export_records(&c, &conf, NULL, rs, &ignored), -EINVAL);
	assert_false(ignored);
	assert_int_equal(naming_export_records(NULL, &conf, &x, rs, &ignored), -EINVAL);
	assert_int_equal(naming_export_records(&c, NULL, &x, rs, &ignored), -EINVAL);
	assert_int_equal(naming_export_records(&c, &conf, &x, NULL, &ignored), -EINVAL);
	assert_int_equal(naming_export_records(&c, &conf, &x, rs, NULL), -EINVAL);
	assert_int_equal(naming_export_records(&c, &conf, NULL, rs, NULL), -EINVAL);
	assert_int_equal(recset_count(rs), 0);
	recset_free(rs);
}

int main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	enum { NXCASES = sizeof(export_cases) / sizeof(export_cases[0]) };
	struct CMUnitTest tests[NCASES + NXCASES + 7];
	size_t n = 0;

	for (size_t i = 0; i < NCASES; i++) {
		struct CMUnitTest t = { cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
		tests[n++] = t;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_label);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_aliases);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_huge_labels);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_args);
	for (size_t i = 0; i < NXCASES; i++) {
		struct CMUnitTest t = { export_cases[i].name, run_export_case, NULL, NULL,
					(void *)&export_cases[i] };
		tests[n++] = t;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_export_prefixes);
	tests[n++] =
		(struct CMUnitTest)cmocka_unit_test(test_export_all_routable_is_the_local_view);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_export_bad_args);
	return _cmocka_run_group_tests("naming", tests, n, NULL, NULL);
}
