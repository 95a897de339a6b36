/* SPDX-License-Identifier: MIT */
/* Unit tests of what a proxy must hold (wanted_compute) and of the commands that take it
 * there (wanted_diff), these run through a model of HAProxy's runtime API. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing/wanted.h"

static const char *const map_ids[MAPS] = { "/etc/haproxy/hosts.map", "/etc/haproxy/paths.map",
					   "/etc/haproxy/sni.map" };

/* ---- building input ----------------------------------------------------- */

static struct route rt(enum route_kind kind, const char *host, const char *path,
		       const char *service, const char *addr, uint16_t port)
{
	struct route r;
	memset(&r, 0, sizeof(r));
	r.kind = kind;
	snprintf(r.host, sizeof(r.host), "%s", host);
	snprintf(r.path, sizeof(r.path), "%s", path);
	snprintf(r.service, sizeof(r.service), "%s", service);
	snprintf(r.addr, sizeof(r.addr), "%s", addr);
	r.port = port;
	return r;
}

#define HTTP(host, svc, addr) rt(ROUTE_HTTP, (host), "", (svc), (addr), 80)
#define SET(origin, ...)                                                                     \
	(struct route_set)                                                                   \
	{                                                                                    \
		(origin), (const struct route[]){ __VA_ARGS__ },                             \
			sizeof((const struct route[]){ __VA_ARGS__ }) / sizeof(struct route) \
	}
#define NSETS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- conflicts ---------------------------------------------------------- */

struct conflict {
	char origin[64];
	char host[ROUTE_HOST_MAX + 1];
	char path[ROUTE_PATH_MAX + 1];
	enum route_kind kind;
	char holder[ROUTE_SERVICE_MAX + 1];
};

struct conflicts {
	struct conflict v[32];
	size_t n;
};

static void on_conflict(void *arg, const char *origin, const struct route *r, const char *holder)
{
	struct conflicts *c = arg;
	assert_non_null(origin);
	assert_non_null(r);
	assert_non_null(holder);
	assert_true(c->n < sizeof(c->v) / sizeof(c->v[0]));
	struct conflict *x = &c->v[c->n++];
	snprintf(x->origin, sizeof(x->origin), "%s", origin);
	snprintf(x->host, sizeof(x->host), "%s", r->host);
	snprintf(x->path, sizeof(x->path), "%s", r->path);
	x->kind = r->kind;
	snprintf(x->holder, sizeof(x->holder), "%s", holder);
}

/* ---- looking at a state ------------------------------------------------- */

static const char *map_get(const struct proxy_state *s, int m, const char *key)
{
	return strmap_get(&s->maps[m], key);
}

struct find_server {
	const char *slot, *addr;
	const char *key; /* the first match */
	size_t n;        /* servers in the slot */
	size_t matches;
};

static void find_one(void *arg, const char *key, void *val)
{
	struct find_server *f = arg;
	size_t sl = strlen(f->slot);
	if (strncmp(key, f->slot, sl) != 0 || key[sl] != '/')
		return;
	f->n++;
	if (f->addr != NULL && strcmp(val, f->addr) == 0) {
		f->matches++;
		f->key = key;
	}
}

/* How many servers slot has; *name (when given) the name of the one at addr. */
static size_t servers_of(const struct proxy_state *s, const char *slot, const char *addr,
			 char *name, size_t namelen)
{
	struct find_server f = { slot, addr, NULL, 0, 0 };
	strmap_foreach(&s->servers, find_one, &f);
	if (addr != NULL) {
		if (f.matches != 1)
			fail_msg("%zu servers of %s at %s", f.matches, slot, addr);
		if (name != NULL)
			snprintf(name, namelen, "%s", f.key + strlen(slot) + 1);
	}
	return f.n;
}

static bool server_name_ok(const char *name)
{
	if (strlen(name) != 13 || name[0] != 's')
		return false;
	for (size_t i = 1; i < 13; i++)
		if (!isxdigit((unsigned char)name[i]) || isupper((unsigned char)name[i]))
			return false;
	return true;
}

struct cmp {
	const struct strmap *other;
	bool same;
};

static void cmp_one(void *arg, const char *key, void *val)
{
	struct cmp *c = arg;
	const char *o = strmap_get(c->other, key);
	if (o == NULL || strcmp(o, val) != 0)
		c->same = false;
}

static bool map_equal(const struct strmap *a, const struct strmap *b)
{
	struct cmp c = { b, true };
	if (a->n != b->n)
		return false;
	strmap_foreach(a, cmp_one, &c);
	return c.same;
}

static bool state_equal(const struct proxy_state *a, const struct proxy_state *b)
{
	for (int m = 0; m < MAPS; m++)
		if (!map_equal(&a->maps[m], &b->maps[m]))
			return false;
	return map_equal(&a->servers, &b->servers);
}

static void dump_one(void *arg, const char *key, void *val)
{
	print_message("    %s%s -> %s\n", (const char *)arg, key, (const char *)val);
}

static void dump(const char *what, const struct proxy_state *s)
{
	print_message("  %s:\n", what);
	for (int m = 0; m < MAPS; m++)
		strmap_foreach(&s->maps[m], dump_one, (void *)wanted_map_names[m]);
	strmap_foreach(&s->servers, dump_one, "server ");
}

static void put(struct strmap *m, const char *key, const char *val)
{
	char *v = strdup(val);
	void *old = NULL;
	assert_non_null(v);
	assert_int_equal(strmap_put(m, key, v, &old), 0);
	free(old);
}

static void copy_one(void *arg, const char *key, void *val)
{
	put(arg, key, val);
}

static void state_copy(struct proxy_state *to, const struct proxy_state *from)
{
	proxy_state_clear(to);
	for (int m = 0; m < MAPS; m++)
		strmap_foreach(&from->maps[m], copy_one, &to->maps[m]);
	strmap_foreach(&from->servers, copy_one, &to->servers);
}

/* ---- wanted_compute ----------------------------------------------------- */

static void test_map_names(void **state)
{
	(void)state;
	assert_string_equal(wanted_map_names[MAP_HOSTS], "hosts.map");
	assert_string_equal(wanted_map_names[MAP_PATHS], "paths.map");
	assert_string_equal(wanted_map_names[MAP_SNI], "sni.map");
}

static void test_is_slot(void **state)
{
	(void)state;
	assert_true(wanted_is_slot("berth_http_0"));
	assert_true(wanted_is_slot("berth_http_31"));
	assert_true(wanted_is_slot("berth_tls_0"));
	assert_true(wanted_is_slot("berth_http_0/s0123456789ab"));
	assert_false(wanted_is_slot("berth_http"));
	assert_false(wanted_is_slot("berth_tls"));
	assert_false(wanted_is_slot("berth_dns_0"));
	assert_false(wanted_is_slot("web_backend"));
	assert_false(wanted_is_slot("Berth_http_0"));
	assert_false(wanted_is_slot(""));
}

static void test_one_route(void **state)
{
	struct route_set sets[] = { SET("docker:a",
					HTTP("web.local", "container:a", "172.17.0.9")) };
	struct slots slots = { { 0 }, 4, 4 };
	struct proxy_state out = { 0 };
	struct conflicts cf = { 0 };
	char name[32];
	(void)state;

	assert_int_equal(wanted_compute(sets, 1, &slots, &out, on_conflict, &cf), 0);
	assert_int_equal(cf.n, 0);
	assert_int_equal(out.maps[MAP_HOSTS].n, 1);
	assert_int_equal(out.maps[MAP_PATHS].n, 0);
	assert_int_equal(out.maps[MAP_SNI].n, 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "web.local"), "berth_http_0");
	assert_int_equal(out.servers.n, 1);
	assert_int_equal(servers_of(&out, "berth_http_0", "172.17.0.9:80", name, sizeof(name)), 1);
	assert_true(server_name_ok(name));
	/* the slot is kept for the group, "<kind> <host><path>" */
	assert_int_equal(slots.of_group.n, 1);
	char gkey[300];
	snprintf(gkey, sizeof(gkey), "%d web.local", (int)ROUTE_HTTP);
	assert_string_equal(strmap_get(&slots.of_group, gkey), "berth_http_0");
	/* no conflict callback: none needed */
	assert_int_equal(wanted_compute(sets, 1, &slots, &out, NULL, NULL), 0);
	assert_int_equal(out.servers.n, 1);
	proxy_state_clear(&out);
	slots_clear(&slots);
}

/* Whole hosts in hosts.map, path prefixes in paths.map as "<host><path>", TLS in sni.map; each
 * (kind, host, path) its own group and slot, of its kind. */
static void test_groups_and_maps(void **state)
{
	struct route_set sets[] = { SET("docker:a", HTTP("web.local", "s", "10.0.0.1"),
					rt(ROUTE_HTTP, "web.local", "/api", "s", "10.0.0.1", 81),
					rt(ROUTE_HTTP, "web.local", "/api/v2", "s", "10.0.0.1", 82),
					rt(ROUTE_TLS, "web.local", "", "s", "10.0.0.1", 443),
					rt(ROUTE_TLS, "other.local", "", "s", "10.0.0.1", 443)) };
	struct slots slots = { { 0 }, 8, 8 };
	struct proxy_state out = { 0 };
	struct conflicts cf = { 0 };
	(void)state;

	assert_int_equal(wanted_compute(sets, 1, &slots, &out, on_conflict, &cf), 0);
	assert_int_equal(cf.n, 0);
	assert_int_equal(out.maps[MAP_HOSTS].n, 1);
	assert_int_equal(out.maps[MAP_PATHS].n, 2);
	assert_int_equal(out.maps[MAP_SNI].n, 2);
	const char *h = map_get(&out, MAP_HOSTS, "web.local");
	const char *p1 = map_get(&out, MAP_PATHS, "web.local/api");
	const char *p2 = map_get(&out, MAP_PATHS, "web.local/api/v2");
	const char *t1 = map_get(&out, MAP_SNI, "web.local");
	const char *t2 = map_get(&out, MAP_SNI, "other.local");
	assert_non_null(h);
	assert_non_null(p1);
	assert_non_null(p2);
	assert_non_null(t1);
	assert_non_null(t2);
	/* three HTTP slots, two TLS slots, all different */
	assert_int_equal(strncmp(h, "berth_http_", 11), 0);
	assert_int_equal(strncmp(p1, "berth_http_", 11), 0);
	assert_int_equal(strncmp(p2, "berth_http_", 11), 0);
	assert_int_equal(strncmp(t1, "berth_tls_", 10), 0);
	assert_int_equal(strncmp(t2, "berth_tls_", 10), 0);
	assert_string_not_equal(h, p1);
	assert_string_not_equal(h, p2);
	assert_string_not_equal(p1, p2);
	assert_string_not_equal(t1, t2);
	/* one server in each, at its own port */
	assert_int_equal(servers_of(&out, h, "10.0.0.1:80", NULL, 0), 1);
	assert_int_equal(servers_of(&out, p1, "10.0.0.1:81", NULL, 0), 1);
	assert_int_equal(servers_of(&out, p2, "10.0.0.1:82", NULL, 0), 1);
	assert_int_equal(servers_of(&out, t1, "10.0.0.1:443", NULL, 0), 1);
	assert_int_equal(servers_of(&out, t2, "10.0.0.1:443", NULL, 0), 1);
	assert_int_equal(out.servers.n, 5);
	assert_int_equal(slots.of_group.n, 5);
	proxy_state_clear(&out);
	slots_clear(&slots);
}

/* The replicas of a service are the servers of its group's one slot. */
static void test_replicas(void **state)
{
	struct route_set sets[] = {
		SET("docker:a", HTTP("web.shop.local", "compose:shop/web", "10.0.0.1"),
		    HTTP("shop-web-1.local", "compose:shop/web", "10.0.0.1")),
		SET("docker:b", HTTP("web.shop.local", "compose:shop/web", "10.0.0.2"),
		    HTTP("shop-web-2.local", "compose:shop/web", "10.0.0.2")),
		SET("node:n2/docker:c", HTTP("web.shop.local", "compose:shop/web", "fd00::3")),
	};
	struct slots slots = { { 0 }, 8, 0 };
	struct proxy_state out = { 0 };
	struct conflicts cf = { 0 };
	char n1[32], n2[32], n3[32];
	(void)state;

	assert_int_equal(wanted_compute(sets, NSETS(sets), &slots, &out, on_conflict, &cf), 0);
	assert_int_equal(cf.n, 0);
	const char *slot = map_get(&out, MAP_HOSTS, "web.shop.local");
	assert_non_null(slot);
	assert_int_equal(servers_of(&out, slot, "10.0.0.1:80", n1, sizeof(n1)), 3);
	servers_of(&out, slot, "10.0.0.2:80", n2, sizeof(n2));
	servers_of(&out, slot, "[fd00::3]:80", n3, sizeof(n3));
	assert_string_not_equal(n1, n2);
	assert_string_not_equal(n1, n3);
	assert_string_not_equal(n2, n3);
	const char *s1 = map_get(&out, MAP_HOSTS, "shop-web-1.local");
	const char *s2 = map_get(&out, MAP_HOSTS, "shop-web-2.local");
	assert_non_null(s1);
	assert_non_null(s2);
	assert_int_equal(servers_of(&out, s1, "10.0.0.1:80", NULL, 0), 1);
	assert_int_equal(servers_of(&out, s2, "10.0.0.2:80", NULL, 0), 1);
	assert_int_equal(out.servers.n, 5);
	assert_int_equal(slots.of_group.n, 3);
	proxy_state_clear(&out);
	slots_clear(&slots);
}

/* A name claimed by two services: the first origin's (in origin order, whatever the input
 * order) holds it; the other's route is told and left out, its other routes kept. */
static void test_conflict(void **state)
{
	struct route_set ab[] = {
		SET("docker:b", HTTP("app.local", "host:app.local", "10.0.0.2"),
		    HTTP("b.local", "host:app.local", "10.0.0.2")),
		SET("docker:a", HTTP("app.local", "compose:p/a", "10.0.0.1")),
	};
	(void)state;

	for (int order = 0; order < 2; order++) {
		struct route_set sets[2] = { ab[order], ab[1 - order] };
		struct slots slots = { { 0 }, 8, 8 };
		struct proxy_state out = { 0 };
		struct conflicts cf = { 0 };
		assert_int_equal(wanted_compute(sets, 2, &slots, &out, on_conflict, &cf), 0);
		assert_int_equal(cf.n, 1);
		assert_string_equal(cf.v[0].origin, "docker:b");
		assert_string_equal(cf.v[0].host, "app.local");
		assert_string_equal(cf.v[0].path, "");
		assert_int_equal(cf.v[0].kind, ROUTE_HTTP);
		assert_string_equal(cf.v[0].holder, "compose:p/a");
		const char *slot = map_get(&out, MAP_HOSTS, "app.local");
		assert_non_null(slot);
		assert_int_equal(servers_of(&out, slot, "10.0.0.1:80", NULL, 0), 1);
		/* b's other name is its own */
		const char *bs = map_get(&out, MAP_HOSTS, "b.local");
		assert_non_null(bs);
		assert_int_equal(servers_of(&out, bs, "10.0.0.2:80", NULL, 0), 1);
		assert_int_equal(out.servers.n, 2);
		proxy_state_clear(&out);
		slots_clear(&slots);
	}
}

/* The same name as HTTP and TLS, or under another path, is another group: no conflict. */
static void test_no_conflict_across_kinds_and_paths(void **state)
{
	struct route_set sets[] = {
		SET("docker:a", HTTP("app.local", "s1", "10.0.0.1")),
		SET("docker:b", rt(ROUTE_TLS, "app.local", "", "s2", "10.0.0.2", 443)),
		SET("docker:c", rt(ROUTE_HTTP, "app.local", "/c", "s3", "10.0.0.3", 80)),
	};
	struct slots slots = { { 0 }, 8, 8 };
	struct proxy_state out = { 0 };
	struct conflicts cf = { 0 };
	(void)state;

	assert_int_equal(wanted_compute(sets, NSETS(sets), &slots, &out, on_conflict, &cf), 0);
	assert_int_equal(cf.n, 0);
	assert_non_null(map_get(&out, MAP_HOSTS, "app.local"));
	assert_non_null(map_get(&out, MAP_SNI, "app.local"));
	assert_non_null(map_get(&out, MAP_PATHS, "app.local/c"));
	assert_int_equal(out.servers.n, 3);
	proxy_state_clear(&out);
	slots_clear(&slots);
}

/* The same input in any order: the same state, the same slots, the same conflicts. */
static void test_same_input_same_answer(void **state)
{
	const struct route_set base[] = {
		SET("docker:e", HTTP("x.local", "s1", "10.0.0.5"),
		    HTTP("e.local", "s1", "10.0.0.5")),
		SET("docker:c", HTTP("x.local", "s2", "10.0.0.3"),
		    HTTP("y.local", "s2", "10.0.0.3")),
		SET("docker:a", HTTP("y.local", "s1", "10.0.0.1"),
		    HTTP("a.local", "s1", "10.0.0.1")),
		SET("docker:d", rt(ROUTE_TLS, "x.local", "", "s2", "10.0.0.4", 443)),
		SET("docker:b", HTTP("x.local", "s1", "10.0.0.2")),
	};
	enum { N = NSETS(base) };
	struct proxy_state first = { 0 };
	struct slots first_slots = { { 0 }, 16, 16 };
	struct conflicts first_cf = { 0 };
	unsigned perm[N];
	(void)state;

	for (unsigned i = 0; i < N; i++)
		perm[i] = i;
	assert_int_equal(wanted_compute(base, N, &first_slots, &first, on_conflict, &first_cf), 0);
	/* y.local is s1's (docker:a first), x.local too (docker:b before c) */
	assert_int_equal(
		servers_of(&first, map_get(&first, MAP_HOSTS, "y.local"), "10.0.0.1:80", NULL, 0),
		1);
	assert_int_equal(
		servers_of(&first, map_get(&first, MAP_HOSTS, "x.local"), "10.0.0.2:80", NULL, 0),
		2);
	assert_int_equal(first_cf.n, 2); /* c's x.local and y.local */

	unsigned seed = 1;
	for (int round = 0; round < 50; round++) {
		for (unsigned i = N - 1; i > 0; i--) { /* shuffle */
			seed = seed * 1103515245u + 12345u;
			unsigned k = (seed >> 16) % (i + 1);
			unsigned t = perm[i];
			perm[i] = perm[k];
			perm[k] = t;
		}
		struct route_set sets[N];
		for (unsigned i = 0; i < N; i++)
			sets[i] = base[perm[i]];
		struct proxy_state out = { 0 };
		struct slots slots = { { 0 }, 16, 16 };
		struct conflicts cf = { 0 };
		assert_int_equal(wanted_compute(sets, N, &slots, &out, on_conflict, &cf), 0);
		if (!state_equal(&out, &first)) {
			dump("first", &first);
			dump("now", &out);
			fail_msg("round %d: another state", round);
		}
		assert_true(map_equal(&slots.of_group, &first_slots.of_group));
		assert_int_equal(cf.n, first_cf.n);
		for (size_t i = 0; i < cf.n; i++) {
			assert_string_equal(cf.v[i].origin, first_cf.v[i].origin);
			assert_string_equal(cf.v[i].host, first_cf.v[i].host);
			assert_string_equal(cf.v[i].holder, first_cf.v[i].holder);
		}
		proxy_state_clear(&out);
		slots_clear(&slots);
	}
	proxy_state_clear(&first);
	slots_clear(&first_slots);
}

/* A group keeps its slot from one computation to the next, whatever comes and goes; a slot
 * is freed when its group goes, and taken again by a new group. */
static void test_slots_stable(void **state)
{
	struct slots slots = { { 0 }, 4, 4 };
	struct proxy_state out = { 0 };
	struct conflicts cf = { 0 };
	(void)state;

	struct route_set s1[] = { SET("docker:m", HTTP("m.local", "m", "10.0.0.1")),
				  SET("docker:n", HTTP("n.local", "n", "10.0.0.2")) };
	assert_int_equal(wanted_compute(s1, 2, &slots, &out, on_conflict, &cf), 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "m.local"), "berth_http_0");
	assert_string_equal(map_get(&out, MAP_HOSTS, "n.local"), "berth_http_1");

	/* a new group before them in origin order: the first free slot, the others keep theirs */
	struct route_set s2[] = { SET("docker:n", HTTP("n.local", "n", "10.0.0.2")),
				  SET("docker:a", HTTP("a.local", "a", "10.0.0.3")),
				  SET("docker:m", HTTP("m.local", "m", "10.0.0.1")) };
	assert_int_equal(wanted_compute(s2, 3, &slots, &out, on_conflict, &cf), 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "m.local"), "berth_http_0");
	assert_string_equal(map_get(&out, MAP_HOSTS, "n.local"), "berth_http_1");
	assert_string_equal(map_get(&out, MAP_HOSTS, "a.local"), "berth_http_2");
	assert_int_equal(slots.of_group.n, 3);

	/* m goes: its slot is freed */
	struct route_set s3[] = { SET("docker:n", HTTP("n.local", "n", "10.0.0.2")),
				  SET("docker:a", HTTP("a.local", "a", "10.0.0.3")) };
	assert_int_equal(wanted_compute(s3, 2, &slots, &out, on_conflict, &cf), 0);
	assert_null(map_get(&out, MAP_HOSTS, "m.local"));
	assert_string_equal(map_get(&out, MAP_HOSTS, "n.local"), "berth_http_1");
	assert_string_equal(map_get(&out, MAP_HOSTS, "a.local"), "berth_http_2");
	assert_int_equal(slots.of_group.n, 2);
	assert_int_equal(servers_of(&out, "berth_http_0", NULL, NULL, 0), 0);

	/* a new group takes it; a replica joining a group does not move it */
	struct route_set s4[] = { SET("docker:n", HTTP("n.local", "n", "10.0.0.2")),
				  SET("docker:a", HTTP("a.local", "a", "10.0.0.3")),
				  SET("docker:0", HTTP("a.local", "a", "10.0.0.9")),
				  SET("docker:z", HTTP("z.local", "z", "10.0.0.4")) };
	assert_int_equal(wanted_compute(s4, 4, &slots, &out, on_conflict, &cf), 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "n.local"), "berth_http_1");
	assert_string_equal(map_get(&out, MAP_HOSTS, "a.local"), "berth_http_2");
	assert_string_equal(map_get(&out, MAP_HOSTS, "z.local"), "berth_http_0");
	assert_int_equal(servers_of(&out, "berth_http_2", "10.0.0.9:80", NULL, 0), 2);
	assert_int_equal(cf.n, 0);

	/* nothing: every slot freed, nothing wanted */
	assert_int_equal(wanted_compute(NULL, 0, &slots, &out, on_conflict, &cf), 0);
	assert_int_equal(slots.of_group.n, 0);
	for (int m = 0; m < MAPS; m++)
		assert_int_equal(out.maps[m].n, 0);
	assert_int_equal(out.servers.n, 0);
	assert_int_equal(cf.n, 0);
	slots_clear(&slots);
	proxy_state_clear(&out);
}

/* Groups past the slots the proxy has are told, once per group, and left out; they get a
 * slot when one frees. */
static void test_no_free_slot(void **state)
{
	struct slots slots = { { 0 }, 1, 0 };
	struct proxy_state out = { 0 };
	struct conflicts cf = { 0 };
	(void)state;

	struct route_set sets[] = {
		SET("docker:a", HTTP("a.local", "a", "10.0.0.1")),
		SET("docker:b1", HTTP("b.local", "b", "10.0.0.2")),
		SET("docker:b2", HTTP("b.local", "b", "10.0.0.3")),
		SET("docker:c", rt(ROUTE_TLS, "c.local", "", "c", "10.0.0.4", 443)),
	};
	assert_int_equal(wanted_compute(sets, NSETS(sets), &slots, &out, on_conflict, &cf), 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "a.local"), "berth_http_0");
	assert_null(map_get(&out, MAP_HOSTS, "b.local"));
	assert_null(map_get(&out, MAP_SNI, "c.local"));
	assert_int_equal(out.servers.n, 1);
	assert_int_equal(cf.n, 2);
	assert_string_equal(cf.v[0].origin, "docker:b1");
	assert_string_equal(cf.v[0].host, "b.local");
	assert_string_equal(cf.v[0].holder, "(no free backend slot)");
	assert_string_equal(cf.v[1].origin, "docker:c");
	assert_int_equal(cf.v[1].kind, ROUTE_TLS);
	assert_string_equal(cf.v[1].holder, "(no free backend slot)");
	assert_int_equal(slots.of_group.n, 1);

	/* more slots: b and c get theirs, a keeps its own */
	slots.http = 2;
	slots.tls = 1;
	cf.n = 0;
	assert_int_equal(wanted_compute(sets, NSETS(sets), &slots, &out, on_conflict, &cf), 0);
	assert_int_equal(cf.n, 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "a.local"), "berth_http_0");
	assert_string_equal(map_get(&out, MAP_HOSTS, "b.local"), "berth_http_1");
	assert_string_equal(map_get(&out, MAP_SNI, "c.local"), "berth_tls_0");
	assert_int_equal(servers_of(&out, "berth_http_1", "10.0.0.3:80", NULL, 0), 2);

	/* a goes: b keeps its slot (1), slot 0 is free */
	cf.n = 0;
	assert_int_equal(wanted_compute(sets + 1, NSETS(sets) - 1, &slots, &out, on_conflict, &cf),
			 0);
	assert_int_equal(cf.n, 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "b.local"), "berth_http_1");
	assert_int_equal(slots.of_group.n, 2);

	/* no slots at all */
	struct slots none = { { 0 }, 0, 0 };
	cf.n = 0;
	assert_int_equal(wanted_compute(sets, NSETS(sets), &none, &out, on_conflict, &cf), 0);
	assert_int_equal(cf.n, 3);
	for (int m = 0; m < MAPS; m++)
		assert_int_equal(out.maps[m].n, 0);
	assert_int_equal(out.servers.n, 0);
	assert_int_equal(none.of_group.n, 0);
	slots_clear(&none);
	slots_clear(&slots);
	proxy_state_clear(&out);
}

/* The proxy now has fewer slots than before (its configuration changed, or another proxy
 * with fewer joined): a kept slot past the ones it has is one it does not have, so no group
 * may be left in it. */
static void test_slot_count_drops(void **state)
{
	struct slots slots = { { 0 }, 4, 0 };
	struct proxy_state out = { 0 };
	struct conflicts cf = { 0 };
	(void)state;

	struct route_set sets[] = {
		SET("docker:a", HTTP("a.local", "a", "10.0.0.1")),
		SET("docker:b", HTTP("b.local", "b", "10.0.0.2")),
		SET("docker:c", HTTP("c.local", "c", "10.0.0.3")),
		SET("docker:d", HTTP("d.local", "d", "10.0.0.4")),
	};
	assert_int_equal(wanted_compute(sets, 4, &slots, &out, on_conflict, &cf), 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "d.local"), "berth_http_3");

	/* two slots now, and two groups: both fit */
	slots.http = 2;
	assert_int_equal(wanted_compute(sets + 2, 2, &slots, &out, on_conflict, &cf), 0);
	int wrong = 0;
	for (int i = 2; i < 4; i++) {
		const char *host = i == 2 ? "c.local" : "d.local";
		const char *slot = map_get(&out, MAP_HOSTS, host);
		unsigned k = 99;
		if (slot == NULL || sscanf(slot, "berth_http_%u", &k) != 1 || k >= slots.http) {
			print_message("%s is in %s, and the proxy has %u HTTP slots\n", host,
				      slot != NULL ? slot : "no slot", slots.http);
			wrong++;
		}
	}
	size_t conflicts = cf.n;
	slots_clear(&slots);
	proxy_state_clear(&out);
	assert_int_equal(wrong, 0);
	assert_int_equal(conflicts, 0);
}

/* A server's name is stable for its origin and address (whatever else is routed, whichever
 * slot), and another origin or address is another name. */
static void test_server_names(void **state)
{
	struct slots slots = { { 0 }, 8, 8 };
	struct proxy_state out = { 0 };
	char a1[32], a2[32], a3[32], other[32];
	(void)state;

	struct route_set s1[] = { SET("docker:a", HTTP("a.local", "a", "10.0.0.1")) };
	assert_int_equal(wanted_compute(s1, 1, &slots, &out, NULL, NULL), 0);
	servers_of(&out, "berth_http_0", "10.0.0.1:80", a1, sizeof(a1));
	assert_true(server_name_ok(a1));

	/* again, with others around and the same route in another group too */
	struct route_set s2[] = {
		SET("docker:0", HTTP("zero.local", "z", "10.0.0.1")),
		SET("docker:a", HTTP("b.local", "a", "10.0.0.1"), HTTP("a.local", "a", "10.0.0.1")),
	};
	assert_int_equal(wanted_compute(s2, 2, &slots, &out, NULL, NULL), 0);
	assert_string_equal(map_get(&out, MAP_HOSTS, "a.local"), "berth_http_0");
	servers_of(&out, "berth_http_0", "10.0.0.1:80", a2, sizeof(a2));
	assert_string_equal(a1, a2);
	servers_of(&out, map_get(&out, MAP_HOSTS, "b.local"), "10.0.0.1:80", a3, sizeof(a3));
	assert_string_equal(a1, a3);
	/* another origin at the same address */
	servers_of(&out, map_get(&out, MAP_HOSTS, "zero.local"), "10.0.0.1:80", other,
		   sizeof(other));
	assert_string_not_equal(a1, other);
	assert_true(server_name_ok(other));

	/* the same origin at another address, another port */
	const char *addrs[] = { "10.0.0.2", "10.0.0.1" };
	uint16_t ports[] = { 80, 8080 };
	for (int i = 0; i < 2; i++) {
		struct route r = rt(ROUTE_HTTP, "a.local", "", "a", addrs[i], ports[i]);
		struct route_set s3[] = { { "docker:a", &r, 1 } };
		char want[64];
		assert_int_equal(wanted_compute(s3, 1, &slots, &out, NULL, NULL), 0);
		snprintf(want, sizeof(want), "%s:%u", addrs[i], (unsigned)ports[i]);
		servers_of(&out, "berth_http_0", want, other, sizeof(other));
		assert_string_not_equal(a1, other);
	}

	/* a fresh start: the same name again */
	slots_clear(&slots);
	struct slots fresh = { { 0 }, 8, 8 };
	assert_int_equal(wanted_compute(s1, 1, &fresh, &out, NULL, NULL), 0);
	servers_of(&out, "berth_http_0", "10.0.0.1:80", a2, sizeof(a2));
	assert_string_equal(a1, a2);
	slots_clear(&fresh);
	proxy_state_clear(&out);
}

/* Servers' addresses: "a.b.c.d:port", "[v6]:port". */
static void test_addresses(void **state)
{
	struct route_set sets[] = {
		SET("docker:a", rt(ROUTE_HTTP, "a.local", "", "a", "10.0.0.1", 8080)),
		SET("docker:b", rt(ROUTE_HTTP, "b.local", "", "b", "fd00:10::5", 80)),
		SET("docker:c", rt(ROUTE_TLS, "c.local", "", "c", "::1", 65535)),
		SET("docker:d", rt(ROUTE_HTTP, "d.local", "", "d", "::ffff:10.0.0.4", 1)),
	};
	struct slots slots = { { 0 }, 8, 8 };
	struct proxy_state out = { 0 };
	(void)state;

	assert_int_equal(wanted_compute(sets, NSETS(sets), &slots, &out, NULL, NULL), 0);
	assert_int_equal(
		servers_of(&out, map_get(&out, MAP_HOSTS, "a.local"), "10.0.0.1:8080", NULL, 0), 1);
	assert_int_equal(
		servers_of(&out, map_get(&out, MAP_HOSTS, "b.local"), "[fd00:10::5]:80", NULL, 0),
		1);
	assert_int_equal(
		servers_of(&out, map_get(&out, MAP_SNI, "c.local"), "[::1]:65535", NULL, 0), 1);
	assert_int_equal(servers_of(&out, map_get(&out, MAP_HOSTS, "d.local"),
				    "[::ffff:10.0.0.4]:1", NULL, 0),
			 1);
	slots_clear(&slots);
	proxy_state_clear(&out);
}

/* out is cleared first; long names fit. */
static void test_out_cleared(void **state)
{
	struct slots slots = { { 0 }, 2, 2 };
	struct proxy_state out = { 0 };
	char host[ROUTE_HOST_MAX + 1], path[ROUTE_PATH_MAX + 1], key[400];
	(void)state;

	put(&out.maps[MAP_HOSTS], "old.local", "berth_http_1");
	put(&out.maps[MAP_SNI], "old.local", "berth_tls_1");
	put(&out.servers, "berth_http_1/s000000000000", "10.9.9.9:80");
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 63; i < ROUTE_HOST_MAX; i += 64)
		host[i] = '.';
	path[0] = '/';
	memset(path + 1, 'p', sizeof(path) - 2);
	path[sizeof(path) - 1] = '\0';
	char service[ROUTE_SERVICE_MAX + 1];
	memset(service, 's', sizeof(service) - 1);
	service[sizeof(service) - 1] = '\0';
	struct route r = rt(ROUTE_HTTP, host, path, service,
			    "fd00:1111:2222:3333:4444:5555:6666:7777", 65535);
	assert_int_equal(strlen(r.host), ROUTE_HOST_MAX);
	assert_int_equal(strlen(r.path), ROUTE_PATH_MAX);
	struct route_set sets[] = { { "docker:a", &r, 1 } };
	assert_int_equal(wanted_compute(sets, 1, &slots, &out, NULL, NULL), 0);
	assert_int_equal(out.maps[MAP_HOSTS].n, 0);
	assert_int_equal(out.maps[MAP_SNI].n, 0);
	assert_int_equal(out.maps[MAP_PATHS].n, 1);
	snprintf(key, sizeof(key), "%s%s", host, path);
	assert_string_equal(map_get(&out, MAP_PATHS, key), "berth_http_0");
	assert_int_equal(out.servers.n, 1);
	assert_int_equal(servers_of(&out, "berth_http_0",
				    "[fd00:1111:2222:3333:4444:5555:6666:7777]:65535", NULL, 0),
			 1);
	slots_clear(&slots);
	proxy_state_clear(&out);
}

/* ---- wanted_diff -------------------------------------------------------- */

/* A proxy as HAProxy's runtime API keeps it, to run commands on: each refused command is a
 * failure (a server added twice or deleted while enabled, an entry added twice, ...). */
struct sim {
	struct proxy_state st;
	struct strmap disabled; /* server keys in maintenance */
};

static int map_of(const char *id)
{
	for (int m = 0; m < MAPS; m++)
		if (strcmp(id, map_ids[m]) == 0)
			return m;
	fail_msg("no map %s", id);
	return -1;
}

static void sim_run(struct sim *s, const char *cmd)
{
	char a[5][400];
	int n = sscanf(cmd, "%399s %399s %399s %399s %399s", a[0], a[1], a[2], a[3], a[4]);
	bool server = n >= 3 && strcmp(a[1], "server") == 0;
	bool map = n >= 4 && strcmp(a[1], "map") == 0;

	if (server && strcmp(a[0], "add") == 0 && n == 4) {
		if (strmap_get(&s->st.servers, a[2]) != NULL)
			fail_msg("%s: the server is there", cmd);
		put(&s->st.servers, a[2], a[3]);
		assert_int_equal(strmap_put(&s->disabled, a[2], s, NULL), 0); /* added in maint */
	} else if (server && n == 3 &&
		   (strcmp(a[0], "enable") == 0 || strcmp(a[0], "disable") == 0)) {
		if (strmap_get(&s->st.servers, a[2]) == NULL)
			fail_msg("%s: no such server", cmd);
		if (a[0][0] == 'e')
			strmap_del(&s->disabled, a[2]);
		else
			assert_int_equal(strmap_put(&s->disabled, a[2], s, NULL), 0);
	} else if (server && n == 3 && strcmp(a[0], "del") == 0) {
		if (strmap_get(&s->st.servers, a[2]) == NULL)
			fail_msg("%s: no such server", cmd);
		if (strmap_get(&s->disabled, a[2]) == NULL)
			fail_msg("%s: the server is not in maintenance", cmd);
		free(strmap_del(&s->st.servers, a[2]));
		strmap_del(&s->disabled, a[2]);
	} else if (map && n == 5 && (strcmp(a[0], "add") == 0 || strcmp(a[0], "set") == 0)) {
		int m = map_of(a[2]);
		bool there = strmap_get(&s->st.maps[m], a[3]) != NULL;
		if (there != (a[0][0] == 's'))
			fail_msg("%s: the entry is %s", cmd, there ? "there" : "not there");
		put(&s->st.maps[m], a[3], a[4]);
	} else if (map && n == 4 && strcmp(a[0], "del") == 0) {
		int m = map_of(a[2]);
		if (strmap_get(&s->st.maps[m], a[3]) == NULL)
			fail_msg("%s: no such entry", cmd);
		free(strmap_del(&s->st.maps[m], a[3]));
	} else {
		fail_msg("not a command: \"%s\"", cmd);
	}
}

static void sim_clear(struct sim *s)
{
	proxy_state_clear(&s->st);
	strmap_clear(&s->disabled, NULL);
}

/* Where a command belongs: 0 servers added (and moved), 1 entries set or added, 2 entries
 * deleted, 3 servers gone. */
static int phase(const char *cmd, const struct proxy_state *want)
{
	char verb[16], what[16], key[400];
	assert_int_equal(sscanf(cmd, "%15s %15s %399s", verb, what, key), 3);
	if (strcmp(what, "map") == 0)
		return strcmp(verb, "del") == 0 ? 2 : 1;
	if (strcmp(verb, "add") == 0 || strcmp(verb, "enable") == 0)
		return 0;
	return strmap_get(&want->servers, key) != NULL ? 0 : 3;
}

struct after {
	const struct proxy_state *have, *want;
	const struct sim *sim;
	const char *what;
	bool ok;
};

/* Every entry of the end state is wanted, or was there and is not berth's. */
static void check_entry(struct after *a, const struct strmap *have, const struct strmap *want,
			const char *key, const char *val, bool server)
{
	const char *w = strmap_get(want, key);
	const char *h = strmap_get(have, key);
	if (!server && h != NULL && !wanted_is_slot(h)) {
		if (strcmp(h, val) != 0) { /* somebody else's entry: never changed */
			print_message("%s %s is %s, not the %s that was there\n", a->what, key, val,
				      h);
			a->ok = false;
		}
	} else if (w != NULL) {
		if (strcmp(w, val) != 0) {
			print_message("%s %s is %s, not %s\n", a->what, key, val, w);
			a->ok = false;
		}
	} else if (h == NULL || strcmp(h, val) != 0 || wanted_is_slot(server ? key : h)) {
		print_message("%s %s -> %s is left\n", a->what, key, val);
		a->ok = false;
	}
}

static void check_map_entry(void *arg, const char *key, void *val)
{
	struct after *a = arg;
	int m = (int)(a->what[0] - '0');
	check_entry(a, &a->have->maps[m], &a->want->maps[m], key, val, false);
}

static void check_server(void *arg, const char *key, void *val)
{
	struct after *a = arg;
	check_entry(a, &a->have->servers, &a->want->servers, key, val, true);
	if (strmap_get(&a->want->servers, key) != NULL &&
	    strmap_get(&a->sim->disabled, key) != NULL) {
		print_message("server %s is left in maintenance\n", key);
		a->ok = false;
	}
}

/* Every wanted entry is there. */
static void check_wanted(void *arg, const char *key, void *val)
{
	struct after *a = arg;
	const struct strmap *m =
		a->what[0] == 's' ? &a->sim->st.servers : &a->sim->st.maps[a->what[0] - '0'];
	if (a->what[0] != 's') {
		const char *h = strmap_get(&a->have->maps[a->what[0] - '0'], key);
		if (h != NULL && !wanted_is_slot(h))
			return; /* somebody else's entry holds the key: kept */
	}
	const char *v = strmap_get(m, key);
	if (v == NULL || strcmp(v, val) != 0) {
		print_message("%s %s -> %s is missing\n", a->what, key, (const char *)val);
		a->ok = false;
	}
}

/* The commands from have to want, run on have: want, with only berth's own entries gone, in
 * phase order. Returns how many commands. */
static size_t diff_and_run(const struct proxy_state *have, const struct proxy_state *want)
{
	struct cmdlist cmds = { 0 };
	struct sim s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(wanted_diff(have, want, map_ids, &cmds), 0);
	state_copy(&s.st, have);
	int last = 0;
	for (size_t i = 0; i < cmds.n; i++) {
		int p = phase(cmds.v[i], want);
		if (p < last) {
			for (size_t k = 0; k < cmds.n; k++)
				print_message("  %s\n", cmds.v[k]);
			fail_msg("\"%s\" (phase %d) after phase %d", cmds.v[i], p, last);
		}
		last = p;
		sim_run(&s, cmds.v[i]);
	}
	struct after a = { have, want, &s, NULL, true };
	char what[2] = "0";
	for (int m = 0; m < MAPS; m++) {
		what[0] = (char)('0' + m);
		a.what = what;
		strmap_foreach(&s.st.maps[m], check_map_entry, &a);
		strmap_foreach(&want->maps[m], check_wanted, &a);
	}
	a.what = "server";
	strmap_foreach(&s.st.servers, check_server, &a);
	strmap_foreach(&want->servers, check_wanted, &a);
	if (!a.ok) {
		dump("have", have);
		dump("want", want);
		for (size_t k = 0; k < cmds.n; k++)
			print_message("  %s\n", cmds.v[k]);
		fail_msg("the commands do not make want");
	}
	size_t n = cmds.n;
	cmdlist_clear(&cmds);
	assert_int_equal(cmds.n, 0);
	assert_null(cmds.v);
	sim_clear(&s);
	return n;
}

/* Is c one of the commands (in whatever place: the order within a phase is the maps' own)? */
static bool has_cmd(const struct cmdlist *l, const char *c)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], c) == 0)
			return true;
	return false;
}

static size_t index_of(const struct cmdlist *l, const char *c)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], c) == 0)
			return i;
	fail_msg("no command \"%s\"", c);
	return 0;
}

static void test_diff_nothing_to_do(void **state)
{
	struct proxy_state a = { 0 }, b = { 0 };
	struct cmdlist cmds = { 0 };
	(void)state;

	assert_int_equal(wanted_diff(&a, &b, map_ids, &cmds), 0);
	assert_int_equal(cmds.n, 0);
	put(&a.maps[MAP_HOSTS], "web.local", "berth_http_0");
	put(&a.maps[MAP_PATHS], "web.local/api", "berth_http_1");
	put(&a.maps[MAP_SNI], "web.local", "berth_tls_0");
	put(&a.maps[MAP_HOSTS], "user.local", "user_backend");
	put(&a.servers, "berth_http_0/s000000000001", "10.0.0.1:80");
	put(&a.servers, "berth_tls_0/s000000000001", "[fd00::1]:443");
	put(&a.servers, "user_backend/web1", "10.0.0.7:80");
	state_copy(&b, &a);
	assert_int_equal(wanted_diff(&a, &b, map_ids, &cmds), 0);
	assert_int_equal(cmds.n, 0);
	/* what is not berth's and not wanted stays, without a word */
	proxy_state_clear(&b);
	put(&b.maps[MAP_HOSTS], "web.local", "berth_http_0");
	put(&b.maps[MAP_PATHS], "web.local/api", "berth_http_1");
	put(&b.maps[MAP_SNI], "web.local", "berth_tls_0");
	put(&b.servers, "berth_http_0/s000000000001", "10.0.0.1:80");
	put(&b.servers, "berth_tls_0/s000000000001", "[fd00::1]:443");
	assert_int_equal(wanted_diff(&a, &b, map_ids, &cmds), 0);
	assert_int_equal(cmds.n, 0);
	cmdlist_clear(&cmds);
	proxy_state_clear(&a);
	proxy_state_clear(&b);
}

static void test_diff_keeps_somebody_elses_entry(void **state)
{
	struct proxy_state have = { 0 }, want = { 0 };
	struct cmdlist cmds = { 0 };
	(void)state;

	/* A name routed by hand to a backend of the user's own, and one of berth's. */
	put(&have.maps[MAP_HOSTS], "web.local", "user_backend");
	put(&have.maps[MAP_HOSTS], "old.local", "berth_http_1");
	put(&want.maps[MAP_HOSTS], "web.local", "berth_http_0");
	put(&want.maps[MAP_HOSTS], "old.local", "berth_http_0");
	put(&want.servers, "berth_http_0/s000000000001", "10.0.0.1:80");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_false(has_cmd(&cmds, "set map /etc/haproxy/hosts.map web.local berth_http_0"));
	assert_true(has_cmd(&cmds, "set map /etc/haproxy/hosts.map old.local berth_http_0"));
	for (size_t i = 0; i < cmds.n; i++)
		assert_null(strstr(cmds.v[i], "web.local"));
	cmdlist_clear(&cmds);
	assert_int_equal(diff_and_run(&have, &want), 3);
	/* berth's entry behind the user's (added in between): deleted by its reference only */
	put(&have.strays[MAP_HOSTS], "#0x55739ea2fb20", "web.local");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_true(has_cmd(&cmds, "del map /etc/haproxy/hosts.map #0x55739ea2fb20"));
	assert_false(has_cmd(&cmds, "del map /etc/haproxy/hosts.map web.local"));
	cmdlist_clear(&cmds);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
}

static void test_diff_enables_a_server_left_in_maintenance(void **state)
{
	struct proxy_state have = { 0 }, want = { 0 };
	struct cmdlist cmds = { 0 };
	(void)state;

	put(&have.maps[MAP_HOSTS], "web.local", "berth_http_0");
	put(&have.servers, "berth_http_0/s000000000001", "10.0.0.1:80" WANTED_MAINT);
	put(&want.maps[MAP_HOSTS], "web.local", "berth_http_0");
	put(&want.servers, "berth_http_0/s000000000001", "10.0.0.1:80");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_int_equal(cmds.n, 1);
	assert_string_equal(cmds.v[0], "enable server berth_http_0/s000000000001");
	cmdlist_clear(&cmds);
	/* Moved while in maintenance: out, and in at the new address. */
	proxy_state_clear(&want);
	put(&want.maps[MAP_HOSTS], "web.local", "berth_http_0");
	put(&want.servers, "berth_http_0/s000000000001", "10.0.0.2:80");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_true(has_cmd(&cmds, "del server berth_http_0/s000000000001"));
	assert_true(has_cmd(&cmds, "add server berth_http_0/s000000000001 10.0.0.2:80"));
	cmdlist_clear(&cmds);
	/* Not wanted any more: deleted. */
	proxy_state_clear(&want);
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_true(has_cmd(&cmds, "del server berth_http_0/s000000000001"));
	cmdlist_clear(&cmds);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
}

static void test_diff_from_empty(void **state)
{
	struct proxy_state have = { 0 }, want = { 0 };
	struct cmdlist cmds = { 0 };
	(void)state;

	put(&want.maps[MAP_HOSTS], "web.local", "berth_http_0");
	put(&want.maps[MAP_PATHS], "web.local/api", "berth_http_1");
	put(&want.maps[MAP_SNI], "web.local", "berth_tls_0");
	put(&want.servers, "berth_http_0/s000000000001", "10.0.0.1:80");
	put(&want.servers, "berth_http_0/s000000000002", "10.0.0.2:80");
	put(&want.servers, "berth_http_1/s000000000001", "10.0.0.1:81");
	put(&want.servers, "berth_tls_0/s000000000001", "[fd00::1]:443");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_int_equal(cmds.n, 4 * 2 + 3);
	const char *servers[][2] = { { "berth_http_0/s000000000001", "10.0.0.1:80" },
				     { "berth_http_0/s000000000002", "10.0.0.2:80" },
				     { "berth_http_1/s000000000001", "10.0.0.1:81" },
				     { "berth_tls_0/s000000000001", "[fd00::1]:443" } };
	char c[600];
	size_t first_map = index_of(&cmds, "add map /etc/haproxy/hosts.map web.local berth_http_0");
	for (size_t i = 0; i < 4; i++) {
		snprintf(c, sizeof(c), "add server %s %s", servers[i][0], servers[i][1]);
		size_t at = index_of(&cmds, c);
		snprintf(c, sizeof(c), "enable server %s", servers[i][0]);
		assert_int_equal(index_of(&cmds, c), at + 1); /* added, then enabled */
		assert_true(at < first_map);
	}
	assert_true(index_of(&cmds, "add map /etc/haproxy/paths.map web.local/api berth_http_1") >=
		    8);
	assert_true(index_of(&cmds, "add map /etc/haproxy/sni.map web.local berth_tls_0") >= 8);
	assert_int_equal(diff_and_run(&have, &want), 11);
	cmdlist_clear(&cmds);
	proxy_state_clear(&want);
}

/* An entry there already is set; one not there is added; the user's are set only when
 * wanted. */
static void test_diff_set_or_add(void **state)
{
	struct proxy_state have = { 0 }, want = { 0 };
	struct cmdlist cmds = { 0 };
	(void)state;

	put(&have.maps[MAP_HOSTS], "a.local", "berth_http_0");
	put(&have.maps[MAP_HOSTS], "b.local", "berth_http_1");
	put(&have.maps[MAP_HOSTS], "user.local", "user_backend");
	put(&have.maps[MAP_SNI], "mine.example", "user_tls");
	put(&want.maps[MAP_HOSTS], "a.local", "berth_http_0");
	put(&want.maps[MAP_HOSTS], "b.local", "berth_http_2");
	put(&want.maps[MAP_HOSTS], "c.local", "berth_http_1");
	put(&want.maps[MAP_SNI], "mine.example", "berth_tls_0");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_int_equal(cmds.n, 2);
	assert_true(has_cmd(&cmds, "set map /etc/haproxy/hosts.map b.local berth_http_2"));
	assert_true(has_cmd(&cmds, "add map /etc/haproxy/hosts.map c.local berth_http_1"));
	/* mine.example is the user's (user_tls): kept, not taken over */
	assert_int_equal(diff_and_run(&have, &want), 2);
	cmdlist_clear(&cmds);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
}

/* Only berth's own are removed: entries whose value is a slot, servers of slots. */
static void test_diff_removes_only_berths(void **state)
{
	struct proxy_state have = { 0 }, want = { 0 };
	struct cmdlist cmds = { 0 };
	(void)state;

	put(&have.maps[MAP_HOSTS], "gone.local", "berth_http_3");
	put(&have.maps[MAP_HOSTS], "user.local", "user_backend");
	put(&have.maps[MAP_PATHS], "gone.local/x", "berth_http_4");
	put(&have.maps[MAP_PATHS], "user.local/x", "user_backend");
	put(&have.maps[MAP_SNI], "gone.local", "berth_tls_0");
	put(&have.maps[MAP_SNI], "user.local", "user_tls");
	put(&have.servers, "berth_http_3/s000000000001", "10.0.0.1:80");
	put(&have.servers, "berth_tls_0/s000000000001", "10.0.0.1:443");
	put(&have.servers, "user_backend/web1", "10.0.0.7:80");
	put(&have.servers, "user_tls/web1", "10.0.0.7:443");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_int_equal(cmds.n, 3 + 2 * 2);
	size_t d1 = index_of(&cmds, "del map /etc/haproxy/hosts.map gone.local");
	size_t d2 = index_of(&cmds, "del map /etc/haproxy/paths.map gone.local/x");
	size_t d3 = index_of(&cmds, "del map /etc/haproxy/sni.map gone.local");
	size_t s1 = index_of(&cmds, "disable server berth_http_3/s000000000001");
	size_t s2 = index_of(&cmds, "disable server berth_tls_0/s000000000001");
	assert_int_equal(index_of(&cmds, "del server berth_http_3/s000000000001"), s1 + 1);
	assert_int_equal(index_of(&cmds, "del server berth_tls_0/s000000000001"), s2 + 1);
	assert_true(d1 < s1 && d2 < s1 && d3 < s1 && d1 < s2 && d2 < s2 && d3 < s2);
	assert_int_equal(diff_and_run(&have, &want), 7);
	cmdlist_clear(&cmds);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
}

/* A server whose address changed is taken out, then added at the new one, before the maps. */
static void test_diff_moved_server(void **state)
{
	struct proxy_state have = { 0 }, want = { 0 };
	struct cmdlist cmds = { 0 };
	(void)state;

	put(&have.maps[MAP_HOSTS], "a.local", "berth_http_0");
	put(&have.servers, "berth_http_0/s000000000001", "10.0.0.1:80");
	put(&want.maps[MAP_HOSTS], "a.local", "berth_http_0");
	put(&want.maps[MAP_HOSTS], "b.local", "berth_http_0");
	put(&want.servers, "berth_http_0/s000000000001", "10.0.0.2:80");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	assert_int_equal(cmds.n, 5);
	assert_string_equal(cmds.v[0], "disable server berth_http_0/s000000000001");
	assert_string_equal(cmds.v[1], "del server berth_http_0/s000000000001");
	assert_string_equal(cmds.v[2], "add server berth_http_0/s000000000001 10.0.0.2:80");
	assert_string_equal(cmds.v[3], "enable server berth_http_0/s000000000001");
	assert_string_equal(cmds.v[4], "add map /etc/haproxy/hosts.map b.local berth_http_0");
	assert_int_equal(diff_and_run(&have, &want), 5);
	cmdlist_clear(&cmds);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
}

/* Every phase at once, in order. */
static void test_diff_order(void **state)
{
	struct proxy_state have = { 0 }, want = { 0 };
	struct cmdlist cmds = { 0 };
	(void)state;

	put(&have.maps[MAP_HOSTS], "old.local", "berth_http_0");
	put(&have.maps[MAP_HOSTS], "moved.local", "berth_http_0");
	put(&have.servers, "berth_http_0/s0000000000aa", "10.0.0.1:80");
	put(&have.servers, "berth_http_0/s0000000000bb", "10.0.0.2:80");
	put(&want.maps[MAP_HOSTS], "moved.local", "berth_http_1");
	put(&want.maps[MAP_HOSTS], "new.local", "berth_http_2");
	put(&want.servers, "berth_http_1/s0000000000bb", "10.0.0.2:80");
	put(&want.servers, "berth_http_2/s0000000000cc", "10.0.0.3:80");
	put(&want.servers, "berth_http_0/s0000000000bb", "10.0.0.9:80");
	assert_int_equal(wanted_diff(&have, &want, map_ids, &cmds), 0);
	const char *const order[] = {
		"add server berth_http_1/s0000000000bb 10.0.0.2:80",
		"set map /etc/haproxy/hosts.map moved.local berth_http_1",
		"del map /etc/haproxy/hosts.map old.local",
		"disable server berth_http_0/s0000000000aa",
	};
	for (size_t i = 1; i < sizeof(order) / sizeof(order[0]); i++)
		assert_true(index_of(&cmds, order[i - 1]) < index_of(&cmds, order[i]));
	assert_true(index_of(&cmds, "add server berth_http_2/s0000000000cc 10.0.0.3:80") <
		    index_of(&cmds, order[1]));
	assert_true(index_of(&cmds, "del server berth_http_0/s0000000000bb") <
		    index_of(&cmds, "add server berth_http_0/s0000000000bb 10.0.0.9:80"));
	assert_true(index_of(&cmds, "add map /etc/haproxy/hosts.map new.local berth_http_2") <
		    index_of(&cmds, order[2]));
	assert_int_equal(cmds.n, 4 /* moved */ + 2 * 2 /* added */ + 2 /* maps */ + 1 /* del */ +
					 2 /* gone */);
	assert_int_equal(diff_and_run(&have, &want), cmds.n);
	cmdlist_clear(&cmds);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
}

static unsigned rnd(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* What a proxy may hold: berth's and the user's; what berth may want: its own. */
static void random_state(struct proxy_state *st, unsigned *seed, bool berths_only)
{
	static const char *const http[] = { "berth_http_0", "berth_http_1", "berth_http_2",
					    "user_be" };
	static const char *const tls[] = { "berth_tls_0", "berth_tls_1", "user_tls" };
	static const char *const backends[] = { "berth_http_0", "berth_http_1", "berth_http_2",
						"berth_tls_0",  "berth_tls_1",  "user_be" };
	static const char *const addrs[] = { "10.0.0.1:80", "10.0.0.2:80", "[fd00::1]:80" };
	char key[64];
	unsigned nb = berths_only ? 1 : 0;

	proxy_state_clear(st);
	for (int m = 0; m < MAPS; m++) {
		for (int h = 0; h < 6; h++) {
			if (rnd(seed) % 2)
				continue;
			snprintf(key, sizeof(key), m == MAP_PATHS ? "h%d.local/p" : "h%d.local", h);
			put(&st->maps[m], key,
			    m == MAP_SNI ? tls[rnd(seed) % (3 - nb)] : http[rnd(seed) % (4 - nb)]);
		}
	}
	for (int b = 0; b < 6 - (int)nb; b++)
		for (int k = 0; k < 3; k++) {
			if (rnd(seed) % 2)
				continue;
			snprintf(key, sizeof(key), "%s/s%012d", backends[b], k);
			put(&st->servers, key, addrs[rnd(seed) % 3]);
		}
}

static void test_diff_random(void **state)
{
	struct proxy_state have = { 0 }, want = { 0 };
	unsigned seed = 2463534242u;
	size_t total = 0;
	(void)state;

	for (int round = 0; round < 2000; round++) {
		random_state(&have, &seed, false);
		random_state(&want, &seed, true);
		total += diff_and_run(&have, &want);
		assert_int_equal(diff_and_run(&want, &want), 0);
	}
	print_message("%zu commands run\n", total);
	assert_true(total > 2000);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
}

/* compute, then diff, then compute again: the commands take each state to the next. */
static void test_compute_then_diff(void **state)
{
	struct slots slots = { { 0 }, 4, 2 };
	struct proxy_state have = { 0 }, want = { 0 };
	(void)state;

	struct route_set s1[] = {
		SET("docker:a", HTTP("a.local", "a", "10.0.0.1"),
		    HTTP("app.local", "a", "10.0.0.1")),
		SET("docker:b", HTTP("app.local", "a", "10.0.0.2"),
		    rt(ROUTE_TLS, "b.local", "", "b", "fd00::2", 443)),
		SET("docker:c", rt(ROUTE_HTTP, "a.local", "/c", "c", "10.0.0.3", 8080)),
	};
	struct route_set s2[] = {
		/* a moves, b goes, c stays, d comes */
		SET("docker:a", HTTP("a.local", "a", "10.0.0.11"),
		    HTTP("app.local", "a", "10.0.0.11")),
		SET("docker:c", rt(ROUTE_HTTP, "a.local", "/c", "c", "10.0.0.3", 8080)),
		SET("docker:d", HTTP("d.local", "d", "10.0.0.4"),
		    rt(ROUTE_TLS, "d.local", "", "d", "10.0.0.4", 443)),
	};
	assert_int_equal(wanted_compute(s1, NSETS(s1), &slots, &want, NULL, NULL), 0);
	assert_int_equal(diff_and_run(&have, &want), 5 * 2 + 4);
	state_copy(&have, &want);
	assert_int_equal(diff_and_run(&have, &want), 0);
	assert_int_equal(wanted_compute(s2, NSETS(s2), &slots, &want, NULL, NULL), 0);
	assert_true(diff_and_run(&have, &want) > 0);
	state_copy(&have, &want);
	assert_int_equal(wanted_compute(s2, NSETS(s2), &slots, &want, NULL, NULL), 0);
	assert_int_equal(diff_and_run(&have, &want), 0);
	/* everything gone */
	assert_int_equal(wanted_compute(NULL, 0, &slots, &want, NULL, NULL), 0);
	assert_int_equal(diff_and_run(&have, &want), have.servers.n * 2 + 5);
	slots_clear(&slots);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
}

/* While the commands run, no name reaches a server that is neither its server before nor
 * after: at every step, each enabled server of the slot an entry names is that entry's slot's
 * server in have or in want. */
struct crossing {
	const struct proxy_state *have, *want;
	const struct sim *sim;
	const char *cmd;
	int map;
	const char *key, *slot;
	bool ok;
	int told;
};

static bool serves(const struct proxy_state *st, int m, const char *key, const char *slot,
		   const char *server, const char *addr)
{
	const char *s = strmap_get(&st->maps[m], key);
	const char *a = strmap_get(&st->servers, server);
	return s != NULL && strcmp(s, slot) == 0 && a != NULL && strcmp(a, addr) == 0;
}

static void crossing_server(void *arg, const char *key, void *val)
{
	struct crossing *x = arg;
	size_t sl = strlen(x->slot);
	if (strncmp(key, x->slot, sl) != 0 || key[sl] != '/' ||
	    strmap_get(&x->sim->disabled, key) != NULL)
		return;
	if (!serves(x->have, x->map, x->key, x->slot, key, val) &&
	    !serves(x->want, x->map, x->key, x->slot, key, val)) {
		if (x->told++ < 4)
			print_message("after \"%s\": %s %s reaches %s (%s)\n", x->cmd,
				      wanted_map_names[x->map], x->key, key, (const char *)val);
		x->ok = false;
	}
}

static void crossing_entry(void *arg, const char *key, void *val)
{
	struct crossing *x = arg;
	x->key = key;
	x->slot = val;
	strmap_foreach(&x->sim->st.servers, crossing_server, x);
}

static bool no_crossing(const struct proxy_state *have, const struct proxy_state *want)
{
	struct cmdlist cmds = { 0 };
	struct sim s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(wanted_diff(have, want, map_ids, &cmds), 0);
	state_copy(&s.st, have);
	struct crossing x = { have, want, &s, NULL, 0, NULL, NULL, true, 0 };
	for (size_t i = 0; i < cmds.n; i++) {
		sim_run(&s, cmds.v[i]);
		x.cmd = cmds.v[i];
		for (x.map = 0; x.map < MAPS; x.map++)
			strmap_foreach(&s.st.maps[x.map], crossing_entry, &x);
	}
	cmdlist_clear(&cmds);
	sim_clear(&s);
	return x.ok;
}

static void test_no_crossing(void **state)
{
	struct slots slots = { { 0 }, 4, 4 };
	struct proxy_state have = { 0 }, want = { 0 };
	int crossed = 0;
	(void)state;

	/* replicas come and go, servers move: never another's */
	struct route_set s1[] = {
		SET("docker:a1", HTTP("a.local", "a", "10.0.0.1")),
		SET("docker:a2", HTTP("a.local", "a", "10.0.0.2")),
		SET("docker:b", rt(ROUTE_TLS, "b.local", "", "b", "10.0.0.3", 443)),
	};
	struct route_set s2[] = {
		SET("docker:a1", HTTP("a.local", "a", "10.0.0.11")),
		SET("docker:a3", HTTP("a.local", "a", "10.0.0.4")),
		SET("docker:b", rt(ROUTE_TLS, "b.local", "", "b", "10.0.0.3", 443)),
	};
	assert_int_equal(wanted_compute(s1, NSETS(s1), &slots, &want, NULL, NULL), 0);
	assert_true(no_crossing(&have, &want));
	state_copy(&have, &want);
	assert_int_equal(wanted_compute(s2, NSETS(s2), &slots, &want, NULL, NULL), 0);
	assert_true(no_crossing(&have, &want));
	state_copy(&have, &want);

	/* one service goes and another comes, with slots to spare: the newcomer's servers must
	 * not join the slot the old name still points at */
	struct route_set s3[] = {
		SET("docker:c", HTTP("c.local", "c", "10.0.0.5")),
		SET("docker:d", rt(ROUTE_TLS, "d.local", "", "d", "10.0.0.6", 443)),
	};
	assert_int_equal(wanted_compute(s3, NSETS(s3), &slots, &want, NULL, NULL), 0);
	if (!no_crossing(&have, &want))
		crossed++;
	slots_clear(&slots);
	proxy_state_clear(&have);
	proxy_state_clear(&want);
	assert_int_equal(crossed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_names),
		cmocka_unit_test(test_is_slot),
		cmocka_unit_test(test_one_route),
		cmocka_unit_test(test_groups_and_maps),
		cmocka_unit_test(test_replicas),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_no_conflict_across_kinds_and_paths),
		cmocka_unit_test(test_same_input_same_answer),
		cmocka_unit_test(test_slots_stable),
		cmocka_unit_test(test_no_free_slot),
		cmocka_unit_test(test_slot_count_drops),
		cmocka_unit_test(test_server_names),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_out_cleared),
		cmocka_unit_test(test_diff_nothing_to_do),
		cmocka_unit_test(test_diff_keeps_somebody_elses_entry),
		cmocka_unit_test(test_diff_enables_a_server_left_in_maintenance),
		cmocka_unit_test(test_diff_from_empty),
		cmocka_unit_test(test_diff_set_or_add),
		cmocka_unit_test(test_diff_removes_only_berths),
		cmocka_unit_test(test_diff_moved_server),
		cmocka_unit_test(test_diff_order),
		cmocka_unit_test(test_diff_random),
		cmocka_unit_test(test_compute_then_diff),
		cmocka_unit_test(test_no_crossing),
	};
	return cmocka_run_group_tests_name("wanted", tests, NULL, NULL);
}
