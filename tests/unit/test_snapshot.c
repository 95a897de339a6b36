/* SPDX-License-Identifier: MIT */
/* Unit tests of snapshot building and lookups, and of registry publication. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <libknot/libknot.h>
#include <urcu.h>

#include "store/registry.h"
#include "store/snapshot.h"

static const uint8_t *wire(const char *name, uint8_t *buf)
{
	assert_non_null(knot_dname_from_str(buf, name, KNOT_DNAME_MAXLEN));
	knot_dname_to_lower(buf);
	return buf;
}

static const struct snap_node *find(const struct snapshot *s, const char *name)
{
	uint8_t buf[KNOT_DNAME_MAXLEN];
	wire(name, buf);
	return snapshot_find(s, buf, knot_dname_size(buf));
}

static struct snapshot *build(struct recset **sets, size_t n)
{
	uint8_t apex[KNOT_DNAME_MAXLEN];
	wire("docker", apex);
	/* the zone needs an SOA */
	uint8_t soa[64] = { 0 };
	size_t l = knot_dname_size(wire("ns.docker", soa));
	l += knot_dname_size(wire("h.docker", soa + l));
	soa[l + 19] = 7; /* minimum 7 */
	soa[l + 7] = 60; /* retry etc. zero, serial small */
	assert_int_equal(recset_add(sets[0], apex, KNOT_RRTYPE_SOA, 30, soa, (uint16_t)(l + 20)),
			 0);
	const uint8_t *apexes[1] = { apex };
	return snapshot_build((const struct recset *const *)sets, n, apexes, 1, 1);
}

static void test_dedup_and_ttl(void **state)
{
	struct recset *sets[2] = { recset_new(), recset_new() };
	assert_int_equal(recset_add_addr(sets[0], "web.docker", "10.0.0.1", 30), 0);
	assert_int_equal(recset_add_addr(sets[1], "WEB.docker", "10.0.0.1", 10), 0);
	assert_int_equal(recset_add_addr(sets[1], "web.docker", "10.0.0.2", 20), 0);
	struct snapshot *s = build(sets, 2);
	assert_non_null(s);
	const struct snap_node *n = find(s, "web.docker");
	assert_non_null(n);
	const struct snap_rrset *a = snap_node_rrset(n, KNOT_RRTYPE_A);
	assert_non_null(a);
	assert_int_equal(a->count, 2); /* the same record from two origins is kept once */
	/* one TTL for the RRset: the smallest */
	assert_int_equal(a->wire[4 + 3], 10);
	assert_null(snap_node_rrset(n, KNOT_RRTYPE_AAAA));
	/* the zone's negative TTL is min(SOA TTL, MINIMUM) */
	assert_int_equal(s->zones[0].soa[4 + 3], 7);
	snapshot_free(s);
	recset_free(sets[0]);
	recset_free(sets[1]);
}

static void test_empty_nonterminals(void **state)
{
	struct recset *sets[1] = { recset_new() };
	assert_int_equal(recset_add_addr(sets[0], "a.b.c.docker", "10.0.0.1", 30), 0);
	assert_int_equal(recset_add_addr(sets[0], "x.outside.test", "10.0.0.2", 30), 0);
	struct snapshot *s = build(sets, 1);
	assert_non_null(find(s, "b.c.docker"));
	assert_int_equal(find(s, "b.c.docker")->nrrsets, 0);
	assert_non_null(find(s, "c.docker"));
	assert_non_null(find(s, "x.outside.test"));
	/* names outside every zone get no empty non-terminals and no zone */
	assert_null(find(s, "outside.test"));
	assert_null(find(s, "x.outside.test")->zone);
	assert_non_null(find(s, "c.docker")->zone);
	snapshot_free(s);
	recset_free(sets[0]);
}

static void test_many_names(void **state)
{
	struct recset *sets[1] = { recset_new() };
	char name[64], ip[32];
	for (int i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "host-%d.docker", i);
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(recset_add_addr(sets[0], name, ip, 30), 0);
	}
	struct snapshot *s = build(sets, 1);
	assert_non_null(s);
	for (int i = 0; i < 100000; i += 997) {
		snprintf(name, sizeof(name), "host-%d.docker", i);
		assert_non_null(find(s, name));
	}
	assert_null(find(s, "host-100000.docker"));
	assert_true(s->nnodes >= 100001);
	snapshot_free(s);
	recset_free(sets[0]);
}

static int changes;
static void on_change(void *arg, enum origin_kind kind, const char *name)
{
	changes++;
}

static void test_registry_origins(void **state)
{
	rcu_register_thread();
	struct registry_params p = { .domain = "docker", .ttl = 60, .negative_ttl = 5 };
	struct registry *r = registry_new(&p);
	assert_int_equal(registry_observe(r, on_change, NULL), 0);
	struct recset *rs = recset_new();
	recset_add_addr(rs, "one.docker", "10.0.0.1", 10);
	registry_set(r, ORIGIN_TEST, "a", rs);
	rs = recset_new();
	recset_add_addr(rs, "two.docker", "10.0.0.2", 10);
	registry_set(r, ORIGIN_TEST, "b", rs);
	assert_int_equal(changes, 2);
	assert_int_equal(registry_publish(r), 0);
	rcu_read_lock();
	const struct snapshot *s = registry_current(r);
	assert_non_null(find(s, "one.docker"));
	assert_non_null(find(s, "two.docker"));
	assert_non_null(snap_node_rrset(find(s, "docker"), KNOT_RRTYPE_SOA));
	assert_non_null(snap_node_rrset(find(s, "docker"), KNOT_RRTYPE_NS));
	uint64_t serial = s->serial;
	rcu_read_unlock();

	registry_set(r, ORIGIN_TEST, "a", NULL); /* origin gone */
	assert_int_equal(registry_origin_count(r), 1);
	assert_int_equal(registry_publish(r), 0);
	rcu_read_lock();
	s = registry_current(r);
	assert_null(find(s, "one.docker"));
	assert_non_null(find(s, "two.docker"));
	assert_true(s->serial > serial);
	rcu_read_unlock();
	registry_free(r);
	rcu_unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup_and_ttl),
		cmocka_unit_test(test_empty_nonterminals),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_registry_origins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
