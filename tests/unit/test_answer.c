/* SPDX-License-Identifier: MIT */
/* Unit tests of the query path: snapshot lookups answered as a client would see them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>
#include <urcu.h>

#include "dns/answer.h"
#include "store/registry.h"

static struct registry *reg;
static struct dns_worker *worker;
static uint8_t out[65535];

static int setup(void **state)
{
	rcu_register_thread();
	struct registry_params p = {
		.domain = "docker", .ns_ip = "127.0.0.1", .ttl = 60, .negative_ttl = 5
	};
	reg = registry_new(&p);
	struct recset *rs = recset_new();
	assert_int_equal(recset_add_addr(rs, "web.docker", "172.17.0.2", 10), 0);
	assert_int_equal(recset_add_addr(rs, "multi.docker", "10.0.0.1", 10), 0);
	assert_int_equal(recset_add_addr(rs, "multi.docker", "10.0.0.2", 10), 0);
	assert_int_equal(recset_add_addr(rs, "multi.docker", "10.0.0.3", 10), 0);
	assert_int_equal(recset_add_addr(rs, "deep.a.b.docker", "10.1.1.1", 10), 0);
	assert_int_equal(
		recset_add_name_rr(rs, "alias.docker", KNOT_RRTYPE_CNAME, "web.docker", 10), 0);
	assert_int_equal(
		recset_add_name_rr(rs, "dangling.docker", KNOT_RRTYPE_CNAME, "gone.docker", 10), 0);
	assert_int_equal(
		recset_add_name_rr(rs, "loop1.docker", KNOT_RRTYPE_CNAME, "loop2.docker", 10), 0);
	assert_int_equal(
		recset_add_name_rr(rs, "loop2.docker", KNOT_RRTYPE_CNAME, "loop1.docker", 10), 0);
	assert_int_equal(
		recset_add_name_rr(rs, "away.internal", KNOT_RRTYPE_CNAME, "web.docker", 10), 0);
	assert_int_equal(recset_add_addr(rs, "api.internal", "192.168.1.100", 300), 0);
	for (int i = 0; i < 60; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.9.0.%d", i + 1);
		assert_int_equal(recset_add_addr(rs, "big.docker", ip, 10), 0);
	}
	assert_int_equal(recset_add_addr(rs, "redis1.redis.docker", "10.2.0.1", 10), 0);
	assert_int_equal(recset_add_addr(rs, "redis2.redis.docker", "10.2.0.2", 10), 0);
	assert_int_equal(recset_add_addr(rs, "redis.docker", "10.2.0.1", 10), 0);
	assert_int_equal(recset_add_addr(rs, "redis.docker", "10.2.0.2", 10), 0);
	assert_int_equal(recset_add_addr(rs, "*.redis1.redis.docker", "10.2.0.1", 10), 0);
	assert_int_equal(
		recset_add_addr(
			rs,
			"0949efde23bf01727203638dafb0ac15b2e68db9effe03b90687d67a96ab6ee.docker",
			"172.17.0.2", 10),
		0);
	assert_int_equal(
		recset_add_addr(
			rs,
			"26ed50b1bf5947727bee4910f3d93674d823496c615940238219b5346cc0fc4.docker",
			"172.17.0.3", 10),
		0);
	/* a container on two networks */
	assert_int_equal(recset_add_addr_net(rs, "two.docker", "172.18.0.5", 16, 10), 0);
	assert_int_equal(recset_add_addr_net(rs, "two.docker", "172.19.0.5", 16, 10), 0);
	assert_int_equal(recset_add_addr_net(rs, "two.docker", "10.7.1.5", 20, 10), 0);
	registry_set(reg, ORIGIN_TEST, "test", rs);
	assert_int_equal(registry_publish(reg), 0);
	worker = dns_worker_new();
	return 0;
}

static int teardown(void **state)
{
	dns_worker_free(worker);
	registry_free(reg);
	rcu_unregister_thread();
	return 0;
}

/* Build a query; edns_size 0 = no EDNS. Returns its length in buf. */
static size_t make_query(uint8_t *buf, const char *name, uint16_t type, uint16_t edns_size)
{
	knot_pkt_t *pkt = knot_pkt_new(buf, 512, NULL);
	knot_pkt_clear(pkt);
	knot_wire_set_id(pkt->wire, 0x1234);
	knot_wire_set_rd(pkt->wire);
	uint8_t dname[KNOT_DNAME_MAXLEN];
	assert_non_null(knot_dname_from_str(dname, name, sizeof(dname)));
	assert_int_equal(knot_pkt_put_question(pkt, dname, KNOT_CLASS_IN, type), KNOT_EOK);
	if (edns_size) {
		knot_rrset_t opt;
		assert_int_equal(knot_edns_init(&opt, edns_size, 0, 0, NULL), KNOT_EOK);
		knot_edns_set_do(&opt);
		knot_pkt_begin(pkt, KNOT_ADDITIONAL);
		assert_int_equal(knot_pkt_put(pkt, 0, &opt, KNOT_PF_FREE), KNOT_EOK);
	}
	size_t len = pkt->size;
	knot_pkt_free(pkt);
	return len;
}

#define OPT_LEN 11 /* an OPT without options */

struct result {
	enum dns_action act;
	knot_pkt_t *pkt;
};

static const struct sockaddr *client;

static struct result ask(const uint8_t *q, size_t qlen, bool tcp, bool may_forward, bool servfail)
{
	struct dns_query_info qi = { .tcp = tcp,
				     .may_forward = may_forward,
				     .servfail_miss = servfail,
				     .udp_cap = 1232,
				     .client = client };
	size_t len = 0;
	rcu_read_lock();
	struct result r = { .act = dns_answer(worker, registry_current(reg), q, qlen, out,
					      sizeof(out), &qi, &len) };
	rcu_read_unlock();
	if (r.act == DNS_REPLY) {
		r.pkt = knot_pkt_new(out, (uint16_t)len, NULL);
		assert_int_equal(knot_pkt_parse(r.pkt, 0), KNOT_EOK);
	}
	return r;
}

static struct result ask_name(const char *name, uint16_t type)
{
	uint8_t q[512];
	size_t len = make_query(q, name, type, 0);
	return ask(q, len, false, false, false);
}

static const knot_pktsection_t *sec(knot_pkt_t *p, knot_section_t s)
{
	return knot_pkt_section(p, s);
}

static void test_a_record(void **state)
{
	struct result r = ask_name("web.docker", KNOT_RRTYPE_A);
	assert_int_equal(r.act, DNS_REPLY);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_NOERROR);
	assert_true(knot_wire_get_aa(r.pkt->wire));
	assert_true(knot_wire_get_qr(r.pkt->wire));
	assert_true(knot_wire_get_rd(r.pkt->wire));
	assert_int_equal(knot_wire_get_id(r.pkt->wire), 0x1234);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 1);
	const knot_rrset_t *rr = knot_pkt_rr(sec(r.pkt, KNOT_ANSWER), 0);
	assert_int_equal(rr->type, KNOT_RRTYPE_A);
	assert_int_equal(rr->ttl, 10);
	assert_memory_equal(rr->rrs.rdata->data, "\xac\x11\x00\x02", 4);
	/* owner compressed to the question name */
	assert_int_equal(out[12 + 12 + 4], 0xc0);
	assert_int_equal(out[12 + 12 + 5], 0x0c);
	knot_pkt_free(r.pkt);
}

static void test_case_kept(void **state)
{
	struct result r = ask_name("WeB.DoCkEr", KNOT_RRTYPE_A);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 1);
	assert_memory_equal(knot_pkt_wire_qname(r.pkt),
			    "\x03"
			    "WeB"
			    "\x06"
			    "DoCkEr",
			    12);
	knot_pkt_free(r.pkt);
}

static void assert_negative(struct result r, uint8_t rcode, const char *apex)
{
	assert_int_equal(r.act, DNS_REPLY);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), rcode);
	assert_true(knot_wire_get_aa(r.pkt->wire));
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 0);
	assert_int_equal(sec(r.pkt, KNOT_AUTHORITY)->count, 1);
	const knot_rrset_t *soa = knot_pkt_rr(sec(r.pkt, KNOT_AUTHORITY), 0);
	assert_int_equal(soa->type, KNOT_RRTYPE_SOA);
	assert_int_equal(soa->ttl, 5); /* min(SOA TTL, MINIMUM) */
	char owner[KNOT_DNAME_TXT_MAXLEN];
	knot_dname_to_str(owner, soa->owner, sizeof(owner));
	knot_dname_to_lower((knot_dname_t *)soa->owner);
	assert_string_equal(knot_dname_to_str(owner, soa->owner, sizeof(owner)), apex);
	knot_pkt_free(r.pkt);
}

static void test_nodata_and_nxdomain(void **state)
{
	assert_negative(ask_name("web.docker", KNOT_RRTYPE_AAAA), KNOT_RCODE_NOERROR, "docker.");
	assert_negative(ask_name("nothing.docker", KNOT_RRTYPE_A), KNOT_RCODE_NXDOMAIN, "docker.");
	/* empty non-terminals exist */
	assert_negative(ask_name("a.b.docker", KNOT_RRTYPE_A), KNOT_RCODE_NOERROR, "docker.");
	assert_negative(ask_name("b.docker", KNOT_RRTYPE_A), KNOT_RCODE_NOERROR, "docker.");
	/* an owned name outside the domain: NODATA without an SOA (berth is no apex there) */
	struct result r = ask_name("api.internal", KNOT_RRTYPE_AAAA);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_NOERROR);
	assert_true(knot_wire_get_aa(r.pkt->wire));
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 0);
	assert_int_equal(sec(r.pkt, KNOT_AUTHORITY)->count, 0);
	knot_pkt_free(r.pkt);
}

static void test_servfail_miss(void **state)
{
	uint8_t q[512];
	size_t len = make_query(q, "nothing.docker", KNOT_RRTYPE_A, 0);
	struct result r = ask(q, len, false, false, true);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_SERVFAIL);
	knot_pkt_free(r.pkt);
}

static void test_apex(void **state)
{
	struct result r = ask_name("docker", KNOT_RRTYPE_SOA);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 1);
	knot_pkt_free(r.pkt);
	r = ask_name("docker", KNOT_RRTYPE_NS);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 1);
	knot_pkt_free(r.pkt);
	r = ask_name("ns.docker", KNOT_RRTYPE_A);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 1);
	knot_pkt_free(r.pkt);
}

static void test_forward_or_refuse(void **state)
{
	uint8_t q[512];
	size_t len = make_query(q, "example.test", KNOT_RRTYPE_A, 0);
	struct result r = ask(q, len, false, true, false);
	assert_int_equal(r.act, DNS_FORWARD);
	r = ask(q, len, false, false, false);
	assert_int_equal(r.act, DNS_REPLY);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_REFUSED);
	assert_false(knot_wire_get_aa(r.pkt->wire));
	assert_false(knot_wire_get_ra(r.pkt->wire));
	knot_pkt_free(r.pkt);
	/* names in the domain are never forwarded */
	len = make_query(q, "nothing.docker", KNOT_RRTYPE_A, 0);
	r = ask(q, len, false, true, false);
	assert_int_equal(r.act, DNS_REPLY);
	assert_true(knot_wire_get_ra(r.pkt->wire));
	knot_pkt_free(r.pkt);
}

static void test_rotation(void **state)
{
	uint8_t first[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		struct result r = ask_name("multi.docker", KNOT_RRTYPE_A);
		assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 3);
		first[i] = knot_pkt_rr(sec(r.pkt, KNOT_ANSWER), 0)->rrs.rdata->data[3];
		knot_pkt_free(r.pkt);
	}
	assert_true(first[0] != first[1] || first[1] != first[2]);
}

static void test_cname_chased(void **state)
{
	struct result r = ask_name("alias.docker", KNOT_RRTYPE_A);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 2);
	assert_int_equal(knot_pkt_rr(sec(r.pkt, KNOT_ANSWER), 0)->type, KNOT_RRTYPE_CNAME);
	const knot_rrset_t *a = knot_pkt_rr(sec(r.pkt, KNOT_ANSWER), 1);
	assert_int_equal(a->type, KNOT_RRTYPE_A);
	assert_true(knot_dname_is_equal(a->owner, (const uint8_t *)"\x03"
								   "web"
								   "\x06"
								   "docker"));
	knot_pkt_free(r.pkt);
}

static void test_cname_ends(void **state)
{
	/* a target missing in our zone: NXDOMAIN with the CNAME and the SOA */
	struct result r = ask_name("dangling.docker", KNOT_RRTYPE_A);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_NXDOMAIN);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 1);
	assert_int_equal(sec(r.pkt, KNOT_AUTHORITY)->count, 1);
	knot_pkt_free(r.pkt);
	/* a loop: SERVFAIL */
	r = ask_name("loop1.docker", KNOT_RRTYPE_A);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_SERVFAIL);
	knot_pkt_free(r.pkt);
	/* NODATA at the end of a chain: the target zone's SOA, its apex written out */
	r = ask_name("away.internal", KNOT_RRTYPE_AAAA);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_NOERROR);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 1);
	assert_int_equal(sec(r.pkt, KNOT_AUTHORITY)->count, 1);
	const knot_rrset_t *soa = knot_pkt_rr(sec(r.pkt, KNOT_AUTHORITY), 0);
	assert_int_equal(soa->type, KNOT_RRTYPE_SOA);
	assert_true(knot_dname_is_equal(soa->owner, (const uint8_t *)"\x06"
								     "docker"));
	knot_pkt_free(r.pkt);
}

static void test_edns_and_truncation(void **state)
{
	uint8_t q[512];
	size_t len = make_query(q, "big.docker", KNOT_RRTYPE_A, 0);
	struct result r = ask(q, len, false, false, false);
	assert_true(knot_wire_get_tc(r.pkt->wire));
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 0);
	knot_pkt_free(r.pkt);
	r = ask(q, len, true, false, false);
	assert_false(knot_wire_get_tc(r.pkt->wire));
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 60);
	knot_pkt_free(r.pkt);
	/* 60 A records need ~980 bytes: they fit in an EDNS answer of 1232 */
	len = make_query(q, "big.docker", KNOT_RRTYPE_A, 4096);
	r = ask(q, len, false, false, false);
	assert_false(knot_wire_get_tc(r.pkt->wire));
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 60);
	assert_non_null(r.pkt->opt_rr);
	assert_int_equal(knot_edns_get_payload(r.pkt->opt_rr), 1232);
	assert_true(knot_edns_do(r.pkt->opt_rr));
	knot_pkt_free(r.pkt);
}

static void test_malformed(void **state)
{
	uint8_t q[512];
	size_t len = make_query(q, "web.docker", KNOT_RRTYPE_A, 0);
	/* QR set: a response, never answered */
	q[2] |= 0x80;
	assert_int_equal(ask(q, len, false, false, false).act, DNS_DROP);
	q[2] &= 0x7f;
	/* too short */
	assert_int_equal(ask(q, 5, false, false, false).act, DNS_DROP);
	/* qdcount lies */
	q[5] = 2;
	struct result r = ask(q, len, false, false, false);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_FORMERR);
	knot_pkt_free(r.pkt);
	q[5] = 1;
	/* label over 63 */
	uint8_t bad[64] = { 0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64 };
	r = ask(bad, sizeof(bad), false, false, false);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_FORMERR);
	knot_pkt_free(r.pkt);
	/* compression loop in the question */
	uint8_t loop[] = { 0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 };
	r = ask(loop, sizeof(loop), false, false, false);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_FORMERR);
	knot_pkt_free(r.pkt);
	/* NOTIFY opcode */
	q[2] = (uint8_t)(KNOT_OPCODE_NOTIFY << 3);
	r = ask(q, len, false, false, false);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_NOTIMPL);
	knot_pkt_free(r.pkt);
}

static void test_badvers(void **state)
{
	uint8_t q[512];
	size_t len = make_query(q, "web.docker", KNOT_RRTYPE_A, 1232);
	q[len - 11 + 6] = 1; /* EDNS version 1 */
	struct result r = ask(q, len, false, false, false);
	assert_int_equal(knot_pkt_ext_rcode(r.pkt), KNOT_RCODE_BADVERS);
	knot_pkt_free(r.pkt);
}

/* RFC 6891 6.1.1: an error reply to a query with an OPT has an OPT too. */
static void test_error_opt(void **state)
{
	uint8_t q[512];
	size_t len = make_query(q, "web.docker", KNOT_RRTYPE_A, 4096);
	/* NOTIFY opcode: NOTIMP with berth's OPT, DO echoed */
	q[2] = (uint8_t)(KNOT_OPCODE_NOTIFY << 3);
	struct result r = ask(q, len, false, false, false);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_NOTIMPL);
	assert_non_null(r.pkt->opt_rr);
	assert_int_equal(knot_edns_get_payload(r.pkt->opt_rr), 1232);
	assert_true(knot_edns_do(r.pkt->opt_rr));
	knot_pkt_free(r.pkt);
	/* qtype OPT and TYPE0: FORMERR with an OPT */
	uint16_t types[] = { KNOT_RRTYPE_OPT, 0 };
	for (size_t i = 0; i < 2; i++) {
		len = make_query(q, "web.docker", types[i], 1232);
		r = ask(q, len, true, false, false);
		assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_FORMERR);
		assert_non_null(r.pkt->opt_rr);
		knot_pkt_free(r.pkt);
	}
	/* no question, only an OPT */
	uint8_t noq[] = { 0x12, 0x34, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 1,
			  0,    0,    41,   4, 0, 0, 0, 0, 0, 0, 0 };
	r = ask(noq, sizeof(noq), false, false, false);
	assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_FORMERR);
	assert_int_equal(knot_wire_get_qdcount(r.pkt->wire), 0);
	assert_non_null(r.pkt->opt_rr);
	assert_false(knot_edns_do(r.pkt->opt_rr));
	knot_pkt_free(r.pkt);
	/* an OPT whose length runs past the end, or two OPTs: no OPT to echo */
	noq[sizeof(noq) - 1] = 4;
	uint8_t out2[512];
	size_t n = dns_error_response(noq, sizeof(noq), KNOT_RCODE_FORMERR, 1232, NULL, out2,
				      sizeof(out2));
	assert_int_equal(n, KNOT_WIRE_HEADER_SIZE);
	assert_int_equal(knot_wire_get_arcount(out2), 0);
	len = make_query(q, "web.docker", KNOT_RRTYPE_A, 1232);
	memcpy(q + len, q + len - OPT_LEN, OPT_LEN);
	knot_wire_set_arcount(q, 2);
	n = dns_error_response(q, len + OPT_LEN, KNOT_RCODE_FORMERR, 1232, NULL, out2,
			       sizeof(out2));
	assert_int_equal(knot_wire_get_arcount(out2), 0);
	/* without an OPT in the query, none in the reply */
	len = make_query(q, "web.docker", KNOT_RRTYPE_A, 0);
	n = dns_error_response(q, len, KNOT_RCODE_SERVFAIL, 1232, NULL, out2, sizeof(out2));
	assert_int_equal(n, len);
	assert_int_equal(knot_wire_get_arcount(out2), 0);
	/* with one: header, question, OPT */
	len = make_query(q, "web.docker", KNOT_RRTYPE_A, 1232);
	n = dns_error_response(q, len, KNOT_RCODE_SERVFAIL, 900, NULL, out2, sizeof(out2));
	assert_int_equal(n, len);
	assert_int_equal(knot_wire_get_arcount(out2), 1);
	assert_int_equal(out2[n - 8] << 8 | out2[n - 7], 900);
}

/* Append a TSIG record (its MAC is not checked: berth has no keys) to q. */
static size_t add_tsig(uint8_t *q, size_t len)
{
	static const uint8_t head[] = { 3,   'k', 'e', 'y', 0,   0,   250, 0,   255, 0,
					0,   0,   0,   0,   61,  11,  'h', 'm', 'a', 'c',
					'-', 's', 'h', 'a', '2', '5', '6', 0 };
	memcpy(q + len, head, sizeof(head));
	len += sizeof(head);
	memset(q + len, 0, 6 + 2 + 2 + 32 + 6);
	q[len + 5] = 1;     /* time signed */
	q[len + 7] = 44;    /* fudge */
	q[len + 9] = 32;    /* MAC size */
	q[len + 42] = q[0]; /* original ID */
	q[len + 43] = q[1];
	len += 6 + 2 + 2 + 32 + 6;
	knot_wire_set_arcount(q, (uint16_t)(knot_wire_get_arcount(q) + 1));
	return len;
}

/* A TSIG with any key: NOTAUTH and an unsigned TSIG with BADKEY, after the OPT. */
static void test_tsig_badkey(void **state)
{
	uint16_t sizes[] = { 0, 1232 };
	const char *names[] = { "web.docker", "elsewhere.example" };
	for (size_t i = 0; i < 4; i++) {
		uint8_t q[512];
		size_t len = make_query(q, names[i / 2], KNOT_RRTYPE_A, sizes[i % 2]);
		len = add_tsig(q, len);
		struct result r = ask(q, len, i % 2 == 1, true, false);
		assert_int_equal(r.act, DNS_REPLY);
		assert_int_equal(knot_wire_get_rcode(r.pkt->wire), KNOT_RCODE_NOTAUTH);
		assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 0);
		assert_non_null(r.pkt->tsig_rr);
		assert_int_equal(knot_tsig_rdata_error(r.pkt->tsig_rr), KNOT_RCODE_BADKEY);
		assert_int_equal(knot_tsig_rdata_mac_length(r.pkt->tsig_rr), 0);
		assert_int_equal(knot_tsig_rdata_orig_id(r.pkt->tsig_rr), 0x1234);
		assert_true(knot_dname_is_equal(r.pkt->tsig_rr->owner, (const uint8_t *)"\x03key"));
		assert_int_equal(r.pkt->opt_rr != NULL, sizes[i % 2] != 0);
		knot_pkt_free(r.pkt);
	}
}

/* RFC 5001: the NSID for a query that asks, in answers and errors alike. */
static void test_nsid(void **state)
{
	uint8_t q[512];
	size_t len = make_query(q, "web.docker", KNOT_RRTYPE_A, 1232);
	static const uint8_t ask_nsid[] = { 0, 3, 0, 0 };
	memcpy(q + len, ask_nsid, sizeof(ask_nsid));
	q[len - 1] = 4; /* the OPT's rdata length */
	len += sizeof(ask_nsid);
	for (int notimp = 0; notimp < 2; notimp++) {
		if (notimp)
			q[2] = (uint8_t)(KNOT_OPCODE_NOTIFY << 3);
		struct dns_query_info qi = { .udp_cap = 1232, .nsid = "node-1" };
		size_t n = 0;
		rcu_read_lock();
		assert_int_equal(dns_answer(worker, registry_current(reg), q, len, out, sizeof(out),
					    &qi, &n),
				 DNS_REPLY);
		rcu_read_unlock();
		knot_pkt_t *p = knot_pkt_new(out, (uint16_t)n, NULL);
		assert_int_equal(knot_pkt_parse(p, 0), KNOT_EOK);
		assert_int_equal(knot_wire_get_rcode(p->wire),
				 notimp ? KNOT_RCODE_NOTIMPL : KNOT_RCODE_NOERROR);
		uint8_t *o = knot_edns_get_option(p->opt_rr, KNOT_EDNS_OPTION_NSID, NULL);
		assert_non_null(o);
		assert_int_equal(knot_edns_opt_get_length(o), 6);
		assert_memory_equal(knot_edns_opt_get_data(o), "node-1", 6);
		knot_pkt_free(p);
	}
	/* not asked: none */
	len = make_query(q, "web.docker", KNOT_RRTYPE_A, 1232);
	struct dns_query_info qi = { .udp_cap = 1232, .nsid = "node-1" };
	size_t n = 0;
	rcu_read_lock();
	dns_answer(worker, registry_current(reg), q, len, out, sizeof(out), &qi, &n);
	rcu_read_unlock();
	assert_int_equal(out[n - 2] << 8 | out[n - 1], 0);
}

/* Names in RDATA compressed; NS answers carry the glue of ns.<domain>. */
static void test_compression(void **state)
{
	struct result r = ask_name("docker", KNOT_RRTYPE_NS);
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 1);
	/* header, question "docker" (8 + 4), then c00c NS IN TTL 0005 02 'ns' c00c */
	assert_int_equal(r.pkt->wire[24 + 10], 0);
	assert_int_equal(r.pkt->wire[24 + 11], 5);
	assert_memory_equal(r.pkt->wire + 24 + 12, "\x02ns\xc0\x0c", 5);
	assert_int_equal(sec(r.pkt, KNOT_ADDITIONAL)->count, 1);
	const knot_rrset_t *glue = knot_pkt_rr(sec(r.pkt, KNOT_ADDITIONAL), 0);
	assert_int_equal(glue->type, KNOT_RRTYPE_A);
	char gname[64];
	knot_dname_to_str(gname, glue->owner, sizeof(gname));
	assert_string_equal(gname, "ns.docker.");
	knot_pkt_free(r.pkt);
	/* a CNAME target: "web" and a pointer to the question's "docker" */
	r = ask_name("alias.docker", KNOT_RRTYPE_A);
	const knot_rrset_t *cn = knot_pkt_rr(sec(r.pkt, KNOT_ANSWER), 0);
	assert_int_equal(cn->type, KNOT_RRTYPE_CNAME);
	assert_true(knot_dname_is_equal(knot_cname_name(cn->rrs.rdata),
					(const uint8_t *)"\x03web\x06"
							 "docker"));
	assert_int_equal(r.pkt->size, 12 + 14 + 4 + (2 + 10 + 6) + (2 + 10 + 4));
	knot_pkt_free(r.pkt);
}

static size_t answers_of(const char *name, uint16_t type, uint8_t *rcode)
{
	uint8_t q[512];
	size_t qlen = make_query(q, name, type, 0);
	struct result r = ask(q, qlen, true, false, false);
	assert_int_equal(r.act, DNS_REPLY);
	*rcode = knot_wire_get_rcode(r.pkt->wire);
	size_t n = sec(r.pkt, KNOT_ANSWER)->count;
	for (size_t i = 0; i < n; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(sec(r.pkt, KNOT_ANSWER), (uint16_t)i);
		/* the owner is always the question name */
		assert_true(knot_dname_is_case_equal(rr->owner, knot_pkt_wire_qname(r.pkt)));
	}
	knot_pkt_free(r.pkt);
	return n;
}

static void test_dnsdock_patterns(void **state)
{
	uint8_t rcode;
	/* extra labels on the left: the wildcard under the container's name */
	assert_int_equal(answers_of("anything.redis1.redis.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("a.b.redis1.redis.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("anything.redis1.redis.docker", KNOT_RRTYPE_AAAA, &rcode), 0);
	assert_int_equal(rcode, KNOT_RCODE_NOERROR);
	/* no wildcard under redis2: NXDOMAIN */
	assert_int_equal(answers_of("x.redis2.redis.docker", KNOT_RRTYPE_A, &rcode), 0);
	assert_int_equal(rcode, KNOT_RCODE_NXDOMAIN);
	/* '*' stands for any one label; every distinct address once */
	assert_int_equal(answers_of("redis1.*.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("*.redis.docker", KNOT_RRTYPE_A, &rcode), 2);
	/* every distinct address of every 2-label name: web, multi (3), redis (2),
	 * big (60), ns, the second ID and two (3) */
	assert_int_equal(answers_of("*.docker", KNOT_RRTYPE_A, &rcode), 71);
	assert_int_equal(answers_of("*.nothing.docker", KNOT_RRTYPE_A, &rcode), 0);
	assert_int_equal(rcode, KNOT_RCODE_NXDOMAIN);
	/* stars anywhere, at any depth; empty non-terminals (a.b, b) never answer */
	assert_int_equal(answers_of("deep.*.b.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("*.a.*.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("*.*.*.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("*.*.docker", KNOT_RRTYPE_A, &rcode), 2);
	assert_int_equal(answers_of("REDIS1.*.Docker", KNOT_RRTYPE_A, &rcode), 1);
	/* deeper than any name: nothing (and nothing walked) */
	assert_int_equal(answers_of("*.*.*.*.*.docker", KNOT_RRTYPE_A, &rcode), 0);
	assert_int_equal(rcode, KNOT_RCODE_NXDOMAIN);
	/* a wildcard owner is not a pattern target: *.redis1.redis.docker has a record,
	 * but only x.redis1.redis.docker-style names get it */
	assert_int_equal(answers_of("*.*.redis.docker", KNOT_RRTYPE_A, &rcode), 0);
}

static void test_id_prefix(void **state)
{
	uint8_t rcode;
	assert_int_equal(answers_of("0949.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("0949efde23bf017.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("26ed50b1bf59.docker", KNOT_RRTYPE_A, &rcode), 1);
	assert_int_equal(answers_of("094.docker", KNOT_RRTYPE_A, &rcode), 0); /* under 4 digits */
	assert_int_equal(rcode, KNOT_RCODE_NXDOMAIN);
	assert_int_equal(answers_of("0949ff.docker", KNOT_RRTYPE_A, &rcode), 0);
	assert_int_equal(rcode, KNOT_RCODE_NXDOMAIN);
	assert_int_equal(answers_of("0949.docker", KNOT_RRTYPE_AAAA, &rcode), 0);
	assert_int_equal(rcode, KNOT_RCODE_NOERROR);
}

static uint8_t first_octets(const char *from, int i)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	inet_pton(AF_INET, from, &sin.sin_addr);
	client = (const struct sockaddr *)&sin;
	struct result r = ask_name("two.docker", KNOT_RRTYPE_A);
	client = NULL;
	assert_int_equal(sec(r.pkt, KNOT_ANSWER)->count, 3);
	uint8_t b = knot_pkt_rr(sec(r.pkt, KNOT_ANSWER), 0)->rrs.rdata->data[i];
	knot_pkt_free(r.pkt);
	return b;
}

static void test_split_horizon(void **state)
{
	for (int round = 0; round < 4; round++) {
		assert_int_equal(first_octets("172.19.200.1", 1), 19);
		assert_int_equal(first_octets("172.18.0.9", 1), 18);
		assert_int_equal(first_octets("10.7.15.1", 0), 10); /* inside the /20 */
	}
	/* 10.7.16.1 is outside 10.7.0.0/20: plain rotation, every address comes first once */
	uint8_t seen = 0;
	for (int round = 0; round < 3; round++)
		seen |= (uint8_t)(1u << (first_octets("10.7.16.1", 1) % 8));
	assert_int_equal(__builtin_popcount(seen), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_record),
		cmocka_unit_test(test_case_kept),
		cmocka_unit_test(test_nodata_and_nxdomain),
		cmocka_unit_test(test_servfail_miss),
		cmocka_unit_test(test_apex),
		cmocka_unit_test(test_forward_or_refuse),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_cname_chased),
		cmocka_unit_test(test_cname_ends),
		cmocka_unit_test(test_edns_and_truncation),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_badvers),
		cmocka_unit_test(test_error_opt),
		cmocka_unit_test(test_tsig_badkey),
		cmocka_unit_test(test_nsid),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_dnsdock_patterns),
		cmocka_unit_test(test_id_prefix),
		cmocka_unit_test(test_split_horizon),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
