/* SPDX-License-Identifier: MIT */
/* Randomized test of incremental snapshots: after every step of random origin
 * changes, each query of a fixed matrix must be answered byte for byte as by a
 * snapshot built from scratch out of the same origins. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>
#include <urcu.h>

#include "dns/answer.h"
#include "store/registry.h"

#define NORIGINS 8

/* Names that origins share, nest, alias and match with patterns. */
static const char *const pool[] = {
	"a.docker",
	"b.a.docker",
	"c.b.a.docker",
	"web.docker",
	"db.web.docker",
	"*.web.docker",
	"x.c.docker",
	"c.docker",
	"svc.docker",
	"r1.svc.docker",
	"r2.svc.docker",
	"abcd0000000000000000000000000000000000000000000000000000000000a.docker",
	"abcd1111111111111111111111111111111111111111111111111111111111b.docker",
	"abce2222222222222222222222222222222222222222222222222222222222c.docker",
	"1234333333333333333333333333333333333333333333333333333333333d.docker",
	"sub.abcd0000000000000000000000000000000000000000000000000000000000a.docker",
	"srv.internal",
	"deep.srv.internal",
	/* FNV-1a gives these two the same hash: siblings that collide */
	"ce09.x.docker",
	"c17d20.x.docker",
};
#define NPOOL (sizeof(pool) / sizeof(pool[0]))

/* Asked after every step: the pool, names that never exist, empty
 * non-terminals, patterns, ID prefixes and reverse names. */
static const char *const extra[] = {
	"docker",
	"ns.docker",
	"nope.docker",
	"zz.a.docker",
	"q.b.a.docker",
	"y.x.c.docker",
	"other.web.docker",
	"*.docker",
	"b.*.docker",
	"*.a.docker",
	"c.*.*.docker",
	"*.*.docker",
	"*.svc.docker",
	"r1.*.docker",
	"abcd.docker",
	"abcd0.docker",
	"abce.docker",
	"1234.docker",
	"ffff.docker",
	"abcd0000.docker",
	"1.0.0.10.in-addr.arpa",
	"2.0.0.10.in-addr.arpa",
	"3.0.0.10.in-addr.arpa",
	"0.0.10.in-addr.arpa",
	"internal",
	"x.internal",
	"*.x.docker",
	"*.grp.docker",
	"g7.grp.docker",
	"g300.grp.docker",
	"*.big.docker",
	"q.*.big.docker",
	"h1000.big.docker",
};
#define NEXTRA (sizeof(extra) / sizeof(extra[0]))

static const uint16_t qtypes[] = { KNOT_RRTYPE_A,     KNOT_RRTYPE_AAAA, KNOT_RRTYPE_TXT,
				   KNOT_RRTYPE_CNAME, KNOT_RRTYPE_SRV,  KNOT_RRTYPE_MX,
				   KNOT_RRTYPE_PTR,   KNOT_RRTYPE_ANY,  KNOT_RRTYPE_SOA,
				   KNOT_RRTYPE_NS };
#define NQTYPES (sizeof(qtypes) / sizeof(qtypes[0]))

static uint32_t rnd(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 8) & 0xffffff;
}

/* The records of one origin version, made again from its seed. */
static struct recset *make_set(uint32_t seed)
{
	struct recset *rs = recset_new();
	assert_non_null(rs);
	uint32_t st = seed;
	/* Now and then a group of siblings, so that child sets grow past one
	 * page (and empty again), and rarely more than a pattern answer takes
	 * (1024 names). */
	unsigned group = rnd(&st) % 48;
	if (group < 6 || group == 47) {
		bool big = group == 47;
		unsigned count = big ? 1100 + rnd(&st) % 300 : 40 + rnd(&st) % 100;
		for (unsigned i = 0; i < count; i++) {
			char owner[64], ip[32];
			unsigned k = rnd(&st) % (big ? 1600 : 320);
			snprintf(owner, sizeof(owner), big ? "h%u.big.docker" : "g%u.grp.docker",
				 k);
			snprintf(ip, sizeof(ip), "10.1.%u.%u", k / 250, k % 250 + 1);
			assert_int_equal(recset_add_addr(rs, owner, ip, 10), 0);
		}
	}
	unsigned n = 1 + rnd(&st) % 6;
	for (unsigned i = 0; i < n; i++) {
		const char *owner = pool[rnd(&st) % NPOOL];
		const char *target = pool[rnd(&st) % NPOOL];
		char ip[64];
		uint32_t ttl = 10 + 10 * (rnd(&st) % 3);
		unsigned last = 1 + rnd(&st) % 4;
		switch (rnd(&st) % 8) {
		case 0:
		case 1:
			snprintf(ip, sizeof(ip), "10.0.0.%u", last);
			assert_int_equal(recset_add_addr(rs, owner, ip, ttl), 0);
			break;
		case 2:
			snprintf(ip, sizeof(ip), "10.0.0.%u", last);
			assert_int_equal(recset_add_addr_net(rs, owner, ip,
							     (uint8_t)(8 + 8 * (last % 3)), ttl),
					 0);
			assert_int_equal(recset_add_reverse_first(rs, ip, owner, ttl), 0);
			break;
		case 3:
			snprintf(ip, sizeof(ip), "fd00::%u", last);
			assert_int_equal(recset_add_addr(rs, owner, ip, ttl), 0);
			break;
		case 4: {
			const char *txt[1] = { target };
			assert_int_equal(recset_add_txt(rs, owner, txt, 1, ttl), 0);
			break;
		}
		case 5:
			assert_int_equal(
				recset_add_name_rr(rs, owner, KNOT_RRTYPE_CNAME, target, ttl), 0);
			break;
		case 6:
			assert_int_equal(
				recset_add_srv(rs, owner, 0, 1, (uint16_t)(80 + last), target, ttl),
				0);
			break;
		default:
			snprintf(ip, sizeof(ip), "10.0.0.%u", last);
			assert_int_equal(recset_add_reverse(rs, ip, owner, ttl), 0);
			break;
		}
	}
	return rs;
}

static struct registry *reg_new(void)
{
	struct registry_params p = {
		.domain = "docker", .ns_ip = "127.0.0.1", .ttl = 60, .negative_ttl = 5
	};
	struct registry *r = registry_new(&p);
	assert_non_null(r);
	return r;
}

static size_t make_query(uint8_t *buf, const char *name, uint16_t type)
{
	knot_pkt_t *pkt = knot_pkt_new(buf, 512, NULL);
	knot_pkt_clear(pkt);
	knot_wire_set_id(pkt->wire, 0x4242);
	uint8_t dname[KNOT_DNAME_MAXLEN];
	assert_non_null(knot_dname_from_str(dname, name, sizeof(dname)));
	assert_int_equal(knot_pkt_put_question(pkt, dname, KNOT_CLASS_IN, type), KNOT_EOK);
	size_t len = pkt->size;
	knot_pkt_free(pkt);
	return len;
}

static size_t answer(struct dns_worker *w, struct registry *r, const uint8_t *q, size_t qlen,
		     uint8_t *out)
{
	/* over TCP: whole answers are compared, not the first 512 bytes */
	struct dns_query_info qi = { .tcp = true, .udp_cap = 1232 };
	size_t len = 0;
	rcu_read_lock();
	enum dns_action act = dns_answer(w, registry_current(r), q, qlen, out, 65535, &qi, &len);
	rcu_read_unlock();
	return act == DNS_REPLY ? len : 0;
}

/* Every query of the matrix, from both registries. */
static void compare(struct registry *inc, struct registry *full, struct dns_worker *wi,
		    struct dns_worker *wf, unsigned seq, unsigned step)
{
	static uint8_t a[65535], b[65535];
	uint8_t q[512];
	rcu_read_lock();
	const struct snapshot *si = registry_current(inc), *sf = registry_current(full);
	if (si->nnodes != sf->nnodes || si->nrecords != sf->nrecords)
		fail_msg("sequence %u step %u: %u names, %u records; from scratch %u, %u", seq,
			 step, si->nnodes, si->nrecords, sf->nnodes, sf->nrecords);
	rcu_read_unlock();
	for (size_t i = 0; i < NPOOL + NEXTRA; i++) {
		const char *name = i < NPOOL ? pool[i] : extra[i - NPOOL];
		for (size_t t = 0; t < NQTYPES; t++) {
			size_t qlen = make_query(q, name, qtypes[t]);
			size_t la = answer(wi, inc, q, qlen, a);
			size_t lb = answer(wf, full, q, qlen, b);
			if (la != lb || memcmp(a, b, la) != 0)
				fail_msg(
					"sequence %u step %u: %s type %u: %zu bytes, from scratch %zu "
					"(rcode %u vs %u, %u vs %u answers)",
					seq, step, name, qtypes[t], la, lb,
					la ? knot_wire_get_rcode(a) : 99,
					lb ? knot_wire_get_rcode(b) : 99,
					la ? knot_wire_get_ancount(a) : 0,
					lb ? knot_wire_get_ancount(b) : 0);
		}
	}
}

static void test_incremental_equals_full(void **state)
{
	rcu_register_thread();
	const char *env = getenv("SNAPINCR_SEQUENCES");
	unsigned nseq = env ? (unsigned)atoi(env) : 80, steps = 30;
	struct dns_worker *wi = dns_worker_new(), *wf = dns_worker_new();
	unsigned compared = 0;
	for (unsigned seq = 0; seq < nseq; seq++) {
		uint32_t st = 7919u * (seq + 1);
		uint32_t seeds[NORIGINS] = { 0 }; /* 0 = no such origin */
		struct registry *inc = reg_new();
		for (unsigned step = 0; step < steps; step++) {
			/* one to four changes per publish */
			unsigned nchanges = 1 + rnd(&st) % 4;
			for (unsigned c = 0; c < nchanges; c++) {
				unsigned o = rnd(&st) % NORIGINS;
				char name[16];
				snprintf(name, sizeof(name), "o%u", o);
				if (seeds[o] != 0 && rnd(&st) % 3 == 0) {
					seeds[o] = 0;
					assert_int_equal(registry_set(inc, ORIGIN_TEST, name, NULL),
							 0);
				} else {
					seeds[o] = 1 + rnd(&st);
					assert_int_equal(registry_set(inc, ORIGIN_TEST, name,
								      make_set(seeds[o])),
							 0);
				}
			}
			uint32_t serial = 1000 + step;
			assert_int_equal(registry_publish_serial(inc, serial), 0);
			struct registry *full = reg_new();
			for (unsigned o = 0; o < NORIGINS; o++) {
				char name[16];
				snprintf(name, sizeof(name), "o%u", o);
				if (seeds[o] != 0)
					assert_int_equal(registry_set(full, ORIGIN_TEST, name,
								      make_set(seeds[o])),
							 0);
			}
			assert_int_equal(registry_publish_serial(full, serial), 0);
			compare(inc, full, wi, wf, seq, step);
			compared++;
			registry_free(full);
		}
		registry_free(inc);
	}
	print_message("%u steps compared\n", compared);
	dns_worker_free(wi);
	dns_worker_free(wf);
	rcu_unregister_thread();
}

/* Allocation failures: this test is linked with --wrap=malloc,calloc,realloc,
 * so that berth's own code (not the libraries') can be made to fail its Nth
 * allocation from a given point on. */
static long fail_countdown; /* 0 = never fail */
static unsigned long failures;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

static bool fail_now(void)
{
	if (fail_countdown > 0 && --fail_countdown == 0) {
		failures++;
		return true;
	}
	return false;
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

static struct registry *reg_from(const uint32_t *seeds, uint32_t serial)
{
	struct registry *r = reg_new();
	for (unsigned o = 0; o < NORIGINS; o++) {
		char name[16];
		snprintf(name, sizeof(name), "o%u", o);
		if (seeds[o] != 0)
			assert_int_equal(registry_set(r, ORIGIN_TEST, name, make_set(seeds[o])), 0);
	}
	assert_int_equal(registry_publish_serial(r, serial), 0);
	return r;
}

/* After a failed publish the last snapshot answers as before; the next
 * publish (a rebuild from every origin) answers as a fresh build does. The
 * failure is moved one allocation further each time, through every
 * allocation of a publish. */
static void test_failed_publish_loses_nothing(void **state)
{
	rcu_register_thread();
	struct dns_worker *wi = dns_worker_new(), *wf = dns_worker_new();
	uint32_t st = 12345, seeds[NORIGINS] = { 0 }, serial = 100;
	struct registry *inc = reg_new();
	assert_int_equal(registry_publish_serial(inc, serial), 0);
	unsigned long published_after_failure = 0;
	for (long nth = 1; nth < 4000; nth++) {
		/* a change of one to three origins, made with allocations working */
		uint32_t next[NORIGINS];
		memcpy(next, seeds, sizeof(next));
		for (unsigned c = 0, n = 1 + rnd(&st) % 3; c < n; c++) {
			unsigned o = rnd(&st) % NORIGINS;
			char name[16];
			snprintf(name, sizeof(name), "o%u", o);
			next[o] = next[o] != 0 && rnd(&st) % 3 == 0 ? 0 : 1 + rnd(&st);
			assert_int_equal(registry_set(inc, ORIGIN_TEST, name,
						      next[o] ? make_set(next[o]) : NULL),
					 0);
		}
		serial++;
		fail_countdown = nth;
		int ret = registry_publish_serial(inc, serial);
		bool failed = fail_countdown == 0;
		fail_countdown = 0;
		if (ret != 0) {
			assert_true(failed);
			/* the old records are still served */
			struct registry *before = reg_from(seeds, serial - 1);
			compare(inc, before, wi, wf, 0, (unsigned)nth);
			registry_free(before);
			/* the next publish rebuilds everything: fail it too, at a
			 * random allocation, before one that works */
			serial++;
			fail_countdown = 1 + rnd(&st) % 60;
			ret = registry_publish_serial(inc, serial);
			fail_countdown = 0;
			if (ret != 0) {
				struct registry *still = reg_from(seeds, serial - 2);
				compare(inc, still, wi, wf, 2, (unsigned)nth);
				registry_free(still);
				serial++;
				assert_int_equal(registry_publish_serial(inc, serial), 0);
			}
			published_after_failure++;
		}
		memcpy(seeds, next, sizeof(seeds));
		struct registry *full = reg_from(seeds, serial);
		compare(inc, full, wi, wf, 1, (unsigned)nth);
		registry_free(full);
		if (!failed && nth > 600)
			break; /* past every allocation of a publish, for a while */
	}
	print_message("%lu failed allocations, %lu publishes failed and recovered\n", failures,
		      published_after_failure);
	assert_true(published_after_failure > 10);
	registry_free(inc);
	dns_worker_free(wi);
	dns_worker_free(wf);
	rcu_unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incremental_equals_full),
		cmocka_unit_test(test_failed_publish_loses_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
