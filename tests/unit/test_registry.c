/* SPDX-License-Identifier: MIT */
/* Unit tests of the registry: origins by kind and name, observers, iteration,
 * publication. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libknot/libknot.h>
#include <urcu.h>

#include "store/registry.h"

static struct registry *reg_new(void)
{
	struct registry_params p = { .domain = "docker", .ttl = 60, .negative_ttl = 5 };
	struct registry *r = registry_new(&p);
	assert_non_null(r);
	return r;
}

static struct recset *one(const char *owner, const char *ip)
{
	struct recset *rs = recset_new();
	assert_non_null(rs);
	assert_int_equal(recset_add_addr(rs, owner, ip, 10), 0);
	return rs;
}

static const struct snap_node *find(struct registry *r, const char *name)
{
	uint8_t buf[KNOT_DNAME_MAXLEN];
	assert_non_null(knot_dname_from_str(buf, name, sizeof(buf)));
	knot_dname_to_lower(buf);
	return snapshot_find(registry_current(r), buf, knot_dname_size(buf));
}

struct seen {
	char log[1024];
	unsigned n;
};

static void observer(void *arg, enum origin_kind kind, const char *name)
{
	struct seen *s = arg;
	size_t len = strlen(s->log);
	snprintf(s->log + len, sizeof(s->log) - len, "%s:%s;", origin_kind_name(kind), name);
	s->n++;
}

static void collect(void *arg, enum origin_kind kind, const char *origin, const struct recset *rs)
{
	struct seen *s = arg;
	size_t len = strlen(s->log);
	snprintf(s->log + len, sizeof(s->log) - len, "%d=%s/%zu;", (int)kind, origin,
		 recset_count(rs));
	s->n++;
}

static void test_origins_by_kind_and_name(void **state)
{
	struct registry *r = reg_new();
	struct seen a = { 0 }, b = { 0 };
	assert_int_equal(registry_observe(r, observer, &a), 0);
	assert_int_equal(registry_observe(r, observer, &b), 0);
	/* the same name under two kinds: two origins */
	assert_int_equal(registry_set(r, ORIGIN_DOCKER, "x", one("a.docker", "10.0.0.1")), 0);
	assert_int_equal(registry_set(r, ORIGIN_HOSTS, "x", one("b.docker", "10.0.0.2")), 0);
	assert_int_equal(registry_origin_count(r), 2);
	/* every observer is told which origin changed */
	assert_string_equal(a.log, "docker:x;hosts:x;");
	assert_string_equal(b.log, "docker:x;hosts:x;");
	/* replaced before any publish: the first set is freed (ASan checks) */
	assert_int_equal(registry_set(r, ORIGIN_DOCKER, "x", one("c.docker", "10.0.0.3")), 0);
	assert_int_equal(registry_origin_count(r), 2);
	struct seen l = { 0 };
	registry_foreach(r, collect, &l);
	assert_string_equal(l.log, "0=docker:x/1;1=hosts:x/1;"); /* oldest first */
	assert_int_equal(registry_publish(r), 0);
	rcu_read_lock();
	assert_null(find(r, "a.docker"));
	assert_non_null(find(r, "b.docker"));
	assert_non_null(find(r, "c.docker"));
	rcu_read_unlock();
	/* removing an origin that was never published, and one that was */
	assert_int_equal(registry_set(r, ORIGIN_MANUAL, "m", one("m.docker", "10.0.0.4")), 0);
	assert_int_equal(registry_set(r, ORIGIN_MANUAL, "m", NULL), 0);
	assert_int_equal(registry_set(r, ORIGIN_HOSTS, "x", NULL), 0);
	assert_int_equal(registry_set(r, ORIGIN_NODE, "nobody", NULL), 0); /* not there: nothing */
	assert_int_equal(registry_origin_count(r), 1);
	memset(&l, 0, sizeof(l));
	registry_foreach(r, collect, &l);
	assert_string_equal(l.log, "0=docker:x/1;");
	assert_int_equal(registry_publish(r), 0);
	rcu_read_lock();
	assert_null(find(r, "b.docker"));
	assert_null(find(r, "m.docker"));
	assert_non_null(find(r, "c.docker"));
	rcu_read_unlock();
	assert_int_equal(a.n, 6); /* removing what is not there changes nothing */
	registry_free(r);
}

static void test_many_origins(void **state)
{
	struct registry *r = reg_new();
	char name[32], owner[64], ip[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		snprintf(owner, sizeof(owner), "n%d.docker", i);
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		assert_int_equal(registry_set(r, ORIGIN_DOCKER, name, one(owner, ip)), 0);
	}
	assert_int_equal(registry_origin_count(r), 5000);
	assert_int_equal(registry_publish(r), 0);
	/* every other one goes; each is found by its key */
	for (int i = 0; i < 5000; i += 2) {
		snprintf(name, sizeof(name), "c%d", i);
		assert_int_equal(registry_set(r, ORIGIN_DOCKER, name, NULL), 0);
	}
	assert_int_equal(registry_origin_count(r), 2500);
	assert_int_equal(registry_publish(r), 0);
	rcu_read_lock();
	const struct snapshot *s = registry_current(r);
	for (int i = 0; i < 5000; i++) {
		snprintf(owner, sizeof(owner), "n%d.docker", i);
		if (i % 2 == 0)
			assert_null(find(r, owner));
		else
			assert_non_null(find(r, owner));
	}
	assert_int_equal(s->nrecords, 2500 + 2); /* and the zone's SOA and NS */
	rcu_read_unlock();
	registry_free(r);
}

static void test_serials_grow(void **state)
{
	struct registry *r = reg_new();
	assert_int_equal(registry_publish_serial(r, 4000000000u), 0);
	assert_int_equal(registry_publish(r), 0); /* time() is smaller: serial + 1 */
	rcu_read_lock();
	assert_int_equal(registry_current(r)->serial, 4000000001u);
	rcu_read_unlock();
	assert_string_equal(origin_kind_name(ORIGIN_RECORDS), "records");
	assert_string_equal(origin_kind_name(ORIGIN_KINDS), "unknown");
	registry_free(r);
}

/* A parent with more than one page of children loses them all, in two
 * publishes: nothing of its child set may stay behind (ASan's leak check). */
static void test_emptied_child_set_is_freed(void **state)
{
	struct registry *r = reg_new();
	uint32_t serial = 100;
	for (int round = 0; round < 3; round++) {
		struct recset *rs = recset_new();
		for (int i = 0; i < 60; i++) {
			char n[64];
			snprintf(n, sizeof n, "h%d.grp.docker", i);
			assert_int_equal(recset_add_addr(rs, n, "10.1.1.1", 10), 0);
		}
		assert_int_equal(registry_set(r, ORIGIN_TEST, "big", rs), 0);
		assert_int_equal(registry_publish_serial(r, serial++), 0);
		assert_int_equal(
			registry_set(r, ORIGIN_TEST, "one", one("last.grp.docker", "10.1.1.2")), 0);
		assert_int_equal(registry_publish_serial(r, serial++), 0);
		assert_int_equal(registry_set(r, ORIGIN_TEST, "big", NULL), 0);
		assert_int_equal(registry_publish_serial(r, serial++), 0);
		assert_int_equal(registry_set(r, ORIGIN_TEST, "one", NULL), 0);
		assert_int_equal(registry_publish_serial(r, serial++), 0);
		rcu_read_lock();
		assert_null(find(r, "grp.docker"));
		rcu_read_unlock();
	}
	registry_free(r);
}

/* Two siblings whose names have the same hash (FNV-1a): a pattern finds both. */
static void test_siblings_with_one_hash(void **state)
{
	uint8_t a[KNOT_DNAME_MAXLEN], b[KNOT_DNAME_MAXLEN];
	knot_dname_from_str(a, "ce09.x.docker", sizeof(a));
	knot_dname_from_str(b, "c17d20.x.docker", sizeof(b));
	assert_int_equal(snapshot_hash(a, knot_dname_size(a)),
			 snapshot_hash(b, knot_dname_size(b)));
	struct registry *r = reg_new();
	struct recset *rs = one("ce09.x.docker", "10.0.0.1");
	assert_int_equal(recset_add_addr(rs, "c17d20.x.docker", "10.0.0.2", 10), 0);
	assert_int_equal(registry_set(r, ORIGIN_TEST, "t", rs), 0);
	assert_int_equal(registry_publish(r), 0);
	uint8_t pat[KNOT_DNAME_MAXLEN];
	knot_dname_from_str(pat, "*.x.docker", sizeof(pat));
	rcu_read_lock();
	const struct snapshot *s = registry_current(r);
	const struct snap_node *out[8];
	size_t n = snapshot_match_pattern(s, pat, knot_dname_size(pat), snapshot_zone_of(s, pat),
					  out, 8);
	assert_int_equal(n, 2);
	assert_ptr_not_equal(out[0], out[1]);
	rcu_read_unlock();
	registry_free(r);
}

/* ---- export sets: what other nodes see of an origin --------------------- */

/* Allocation failures: this test is linked with --wrap=malloc,calloc,realloc (as
 * test_snapincr), so that berth's own code can be made to fail its next allocation. */
static long fail_countdown; /* 0 = never fail */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

static bool fail_now(void)
{
	return fail_countdown > 0 && --fail_countdown == 0;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

/* Does the set hold an A at owner? */
static bool holds(const struct recset *rs, const char *owner)
{
	uint8_t want[KNOT_DNAME_MAXLEN];
	assert_non_null(knot_dname_from_str(want, owner, sizeof(want)));
	knot_dname_to_lower(want);
	for (size_t i = 0; rs != NULL && i < recset_count(rs); i++)
		if (knot_dname_is_equal(recset_get(rs, i)->owner, want))
			return true;
	return false;
}

struct latest {
	const char *origin;
	const struct recset *rs;
};

static void latest_of(void *arg, enum origin_kind kind, const char *origin, const struct recset *rs)
{
	struct latest *l = arg;
	(void)kind;
	if (strcmp(origin, l->origin) == 0)
		l->rs = rs;
}

/* The records registry_foreach gives for origin ("<kind>:<name>"), or NULL. */
static const struct recset *records_of(struct registry *r, const char *origin)
{
	struct latest l = { origin, NULL };
	registry_foreach(r, latest_of, &l);
	return l.rs;
}

static void test_export_beside_the_records(void **state)
{
	struct registry *r = reg_new();
	struct seen s = { 0 };
	assert_int_equal(registry_observe(r, observer, &s), 0);

	/* unknown origins have no export, whatever their kind */
	assert_null(registry_export(r, ORIGIN_DOCKER, "c1"));

	struct recset *rs = one("web.docker", "172.17.0.9");
	struct recset *ex = one("web.docker", "192.0.2.50");
	assert_int_equal(recset_add_addr(ex, "only-exported.docker", "192.0.2.50", 10), 0);
	assert_int_equal(registry_set_view(r, ORIGIN_DOCKER, "c1", rs, ex), 0);
	assert_string_equal(s.log, "docker:c1;"); /* observers are told as by registry_set */
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c1"), ex);
	assert_ptr_equal(records_of(r, "docker:c1"), rs); /* this node answers its records */
	assert_true(holds(registry_export(r, ORIGIN_DOCKER, "c1"), "only-exported.docker"));
	assert_false(holds(records_of(r, "docker:c1"), "only-exported.docker"));
	assert_null(registry_export(r, ORIGIN_HOSTS, "c1"));
	assert_null(registry_export(r, ORIGIN_DOCKER, "c2"));
	assert_null(registry_export(r, ORIGIN_DOCKER, "c"));
	assert_null(registry_export(r, ORIGIN_DOCKER, "c10"));
	assert_int_equal(registry_origin_count(r), 1);

	/* the snapshot holds the records, never the export */
	assert_int_equal(registry_publish(r), 0);
	rcu_read_lock();
	assert_non_null(find(r, "web.docker"));
	assert_null(find(r, "only-exported.docker"));
	rcu_read_unlock();
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c1"), ex);

	/* export NULL: the records themselves; the old export is freed (ASan's leak check) */
	rs = one("web.docker", "172.17.0.10");
	assert_int_equal(registry_set_view(r, ORIGIN_DOCKER, "c1", rs, NULL), 0);
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c1"), rs);
	/* and an export again, replaced by another before any publish */
	rs = one("web.docker", "172.17.0.11");
	ex = one("web.docker", "192.0.2.51");
	assert_int_equal(registry_set_view(r, ORIGIN_DOCKER, "c1", rs, ex), 0);
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c1"), ex);
	rs = one("web.docker", "172.17.0.12");
	ex = one("web.docker", "192.0.2.52");
	assert_int_equal(registry_set_view(r, ORIGIN_DOCKER, "c1", rs, ex), 0);
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c1"), ex);
	assert_ptr_equal(records_of(r, "docker:c1"), rs);
	/* registry_set is registry_set_view without an export: the last one goes */
	rs = one("web.docker", "172.17.0.13");
	assert_int_equal(registry_set(r, ORIGIN_DOCKER, "c1", rs), 0);
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c1"), rs);
	ex = one("web.docker", "192.0.2.53");
	assert_int_equal(
		registry_set_view(r, ORIGIN_DOCKER, "c1", one("web.docker", "172.17.0.14"), ex), 0);
	assert_int_equal(registry_publish(r), 0);
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c1"), ex);

	/* a second origin's export is its own */
	struct recset *ex2 = one("db.docker", "192.0.2.50");
	assert_int_equal(
		registry_set_view(r, ORIGIN_DOCKER, "c2", one("db.docker", "172.17.0.20"), ex2), 0);
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c2"), ex2);
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c1"), ex);

	/* removing an origin removes both, published or not */
	assert_int_equal(registry_set(r, ORIGIN_DOCKER, "c1", NULL), 0);
	assert_null(registry_export(r, ORIGIN_DOCKER, "c1"));
	assert_null(records_of(r, "docker:c1"));
	assert_int_equal(registry_set_view(r, ORIGIN_DOCKER, "c2", NULL, NULL), 0);
	assert_null(registry_export(r, ORIGIN_DOCKER, "c2"));
	assert_int_equal(registry_origin_count(r), 0);
	assert_int_equal(registry_publish(r), 0);
	rcu_read_lock();
	assert_null(find(r, "web.docker"));
	assert_null(find(r, "db.docker"));
	rcu_read_unlock();
	assert_null(registry_export(r, ORIGIN_DOCKER, "c1"));

	/* no records but an export: a removal, the export freed (nothing else holds it) */
	assert_int_equal(
		registry_set_view(r, ORIGIN_DOCKER, "c3", NULL, one("x.docker", "192.0.2.50")), 0);
	assert_null(registry_export(r, ORIGIN_DOCKER, "c3"));
	assert_int_equal(registry_set_view(r, ORIGIN_DOCKER, "c4", one("y.docker", "172.17.0.30"),
					   one("y.docker", "192.0.2.50")),
			 0);
	assert_int_equal(
		registry_set_view(r, ORIGIN_DOCKER, "c4", NULL, one("y.docker", "192.0.2.51")), 0);
	assert_null(registry_export(r, ORIGIN_DOCKER, "c4"));
	assert_int_equal(registry_origin_count(r), 0);
	/* and set again after the removal, before a publish */
	ex = one("y.docker", "192.0.2.52");
	assert_int_equal(
		registry_set_view(r, ORIGIN_DOCKER, "c4", one("y.docker", "172.17.0.31"), ex), 0);
	assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "c4"), ex);
	assert_int_equal(registry_origin_count(r), 1);
	/* freeing the registry frees the exports it holds (ASan's leak check) */
	registry_free(r);
}

/* A set that fails (out of memory) keeps the origin's records and export as they were, frees
 * what it was given and tells nobody. The allocation a set can fail on is the growth of the
 * list of changed origins: the other origins changed since the publish fill it first. */
static void test_failed_set_keeps_what_was_there(void **state)
{
	unsigned failed = 0;
	for (int k = 0; k < 300; k++) {
		struct registry *r = reg_new();
		struct seen s = { 0 };
		assert_int_equal(registry_observe(r, observer, &s), 0);
		struct recset *rs = one("web.docker", "172.17.0.9");
		struct recset *ex = one("web.docker", "192.0.2.50");
		assert_int_equal(registry_set_view(r, ORIGIN_DOCKER, "x", rs, ex), 0);
		assert_int_equal(registry_publish(r), 0);
		for (int i = 0; i < k; i++) {
			char name[16];
			snprintf(name, sizeof(name), "o%d", i);
			assert_int_equal(
				registry_set(r, ORIGIN_TEST, name, one("o.docker", "10.0.0.1")), 0);
		}
		unsigned told = s.n;
		struct recset *rs2 = one("web2.docker", "172.17.0.10");
		struct recset *ex2 = one("web2.docker", "192.0.2.51");
		fail_countdown = 1;
		int ret = registry_set_view(r, ORIGIN_DOCKER, "x", rs2, ex2);
		fail_countdown = 0;
		if (ret != 0) {
			assert_int_equal(ret, -ENOMEM);
			failed++;
			/* rs2 and ex2 are freed (ASan would see them leak) */
			assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "x"), ex);
			assert_ptr_equal(records_of(r, "docker:x"), rs);
			assert_int_equal(s.n, told);
			assert_int_equal(registry_origin_count(r), 1 + (size_t)k);
			/* and what is there is published as before */
			assert_int_equal(registry_publish(r), 0);
			rcu_read_lock();
			assert_non_null(find(r, "web.docker"));
			assert_null(find(r, "web2.docker"));
			rcu_read_unlock();
			assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "x"), ex);
			/* the next set works */
			rs2 = one("web2.docker", "172.17.0.10");
			ex2 = one("web2.docker", "192.0.2.51");
			assert_int_equal(registry_set_view(r, ORIGIN_DOCKER, "x", rs2, ex2), 0);
		}
		assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "x"), ex2);
		assert_ptr_equal(records_of(r, "docker:x"), rs2);
		registry_free(r);
	}
	assert_true(failed > 0);

	/* a new origin whose set fails leaves nothing behind, at any allocation */
	for (long nth = 1; nth < 6; nth++) {
		struct registry *r = reg_new();
		assert_int_equal(registry_set(r, ORIGIN_DOCKER, "old", one("a.docker", "10.0.0.1")),
				 0);
		struct recset *rs = one("web.docker", "172.17.0.9");
		struct recset *ex = one("web.docker", "192.0.2.50");
		fail_countdown = nth;
		int ret = registry_set_view(r, ORIGIN_DOCKER, "new", rs, ex);
		fail_countdown = 0;
		if (ret != 0) {
			assert_int_equal(ret, -ENOMEM);
			assert_null(registry_export(r, ORIGIN_DOCKER, "new"));
			assert_null(records_of(r, "docker:new"));
			assert_int_equal(registry_origin_count(r), 1);
		} else {
			assert_ptr_equal(registry_export(r, ORIGIN_DOCKER, "new"), ex);
		}
		assert_non_null(registry_export(r, ORIGIN_DOCKER, "old"));
		assert_int_equal(registry_publish(r), 0);
		registry_free(r);
	}
	(void)state;
}

static int setup(void **state)
{
	rcu_register_thread();
	return 0;
}

static int teardown(void **state)
{
	rcu_unregister_thread();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origins_by_kind_and_name),
		cmocka_unit_test(test_many_origins),
		cmocka_unit_test(test_serials_grow),
		cmocka_unit_test(test_emptied_child_set_is_freed),
		cmocka_unit_test(test_siblings_with_one_hash),
		cmocka_unit_test(test_export_beside_the_records),
		cmocka_unit_test(test_failed_set_keeps_what_was_there),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
