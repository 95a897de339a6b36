/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the query path: one input is one DNS message, answered
 * by dns_answer() from a snapshot of a few records, as UDP and as TCP. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "dns/answer.h"
#include "store/recset.h"
#include "store/registry.h"
#include "store/snapshot.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_query: check failed: %s (%s:%d)\n", #cond, __FILE__, \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct registry *reg;
static const struct snapshot *snap;
static struct dns_worker *worker;
/* Answers are written at the end of this buffer, so a write past outmax runs
 * off the end of the object and ASan reports it. */
static uint8_t outbuf[65535];

static void add_records(void)
{
	struct recset *rs = recset_new();
	CHECK(rs != NULL);
	/* Several addresses on one name: rotation, ANY, truncation with EDNS. */
	for (int i = 1; i <= 40; i++) {
		char ip[64];
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		CHECK(recset_add_addr(rs, "web.docker", ip, 30) == 0);
		CHECK(recset_add_reverse(rs, ip, "web.docker", 30) == 0);
		snprintf(ip, sizeof(ip), "2001:db8::%x", i);
		CHECK(recset_add_addr(rs, "web.docker", ip, 30) == 0);
	}
	CHECK(recset_add_addr(rs, "db.prod.docker", "198.51.100.5", 10) == 0);
	CHECK(recset_add_addr(rs, "a.b.c.d.e.f.docker", "198.51.100.6", 10) == 0);
	/* Owned names outside the zone, as hosts files and --records give. */
	CHECK(recset_add_addr(rs, "host.example.test", "203.0.113.9", 10) == 0);
	CHECK(recset_add_addr(rs, "MiXeD.CaSe.Test", "203.0.113.10", 10) == 0);
	/* CNAME chains: inside, to outside, and a loop. */
	CHECK(recset_add_name_rr(rs, "www.docker", KNOT_RRTYPE_CNAME, "web.docker", 10) == 0);
	CHECK(recset_add_name_rr(rs, "w2.docker", KNOT_RRTYPE_CNAME, "www.docker", 10) == 0);
	CHECK(recset_add_name_rr(rs, "out.docker", KNOT_RRTYPE_CNAME, "example.com", 10) == 0);
	CHECK(recset_add_name_rr(rs, "loop1.docker", KNOT_RRTYPE_CNAME, "loop2.docker", 10) == 0);
	CHECK(recset_add_name_rr(rs, "loop2.docker", KNOT_RRTYPE_CNAME, "loop1.docker", 10) == 0);
	CHECK(recset_add_name_rr(rs, "gone.docker", KNOT_RRTYPE_CNAME, "nothere.docker", 10) == 0);
	/* TXT (one big enough to need TCP), SRV, MX, PTR. */
	const char *txt[] = { "containers", "etcd web db" };
	CHECK(recset_add_txt(rs, "containers.docker", txt, 2, 10) == 0);
	static char big[250];
	memset(big, 'x', sizeof(big) - 1);
	const char *bigs[] = { big, big, big, big, big, big, big, big };
	CHECK(recset_add_txt(rs, "big.docker", bigs, 8, 10) == 0);
	CHECK(recset_add_srv(rs, "_http._tcp.web.docker", 10, 5, 80, "web.docker", 10) == 0);
	CHECK(recset_add_srv(rs, "_http._tcp.web.docker", 20, 5, 8080, "db.prod.docker", 10) == 0);
	CHECK(recset_add_mx(rs, "docker", 10, "mail.docker", 10) == 0);
	CHECK(recset_add_addr(rs, "mail.docker", "192.0.2.200", 10) == 0);
	CHECK(recset_add_name_rr(rs, "ptr.docker", KNOT_RRTYPE_PTR, "web.docker", 10) == 0);
	registry_set(reg, ORIGIN_TEST, "static", rs);

	/* A second origin with overlapping records (duplicates are merged). */
	rs = recset_new();
	CHECK(rs != NULL);
	CHECK(recset_add_addr(rs, "web.docker", "192.0.2.1", 5) == 0);
	CHECK(recset_add_addr(rs, "other.docker", "192.0.2.99", 5) == 0);
	registry_set(reg, ORIGIN_TEST, "second", rs);
}

static void setup(void)
{
	log_setup(LOG_ERROR, 0);
	const struct registry_params p = {
		.domain = "docker",
		.ns_ip = "127.0.0.1",
		.ttl = 60,
		.negative_ttl = 5,
	};
	reg = registry_new(&p);
	CHECK(reg != NULL);
	add_records();
	CHECK(registry_publish(reg) == 0);
	/* Published once, read by this thread only, never replaced: no RCU read
	 * section is needed to keep it alive. */
	snap = registry_current(reg);
	CHECK(snap != NULL);
	worker = dns_worker_new();
	CHECK(worker != NULL);
}

/* What every reply must be, whatever the query was. */
static void check_reply(const uint8_t *q, size_t qlen, const uint8_t *out, size_t outlen,
			size_t outmax, const struct dns_query_info *qi)
{
	CHECK(outlen >= KNOT_WIRE_HEADER_SIZE);
	CHECK(outlen <= outmax);
	if (!qi->tcp)
		CHECK(outlen <= qi->max_size);
	CHECK(qlen >= 2 && memcmp(out, q, 2) == 0); /* the client's ID */
	CHECK(knot_wire_get_qr(out));
	CHECK(knot_wire_get_qdcount(out) <= 1);

	/* The reply must be a well-formed DNS message. */
	uint8_t copy[65535];
	memcpy(copy, out, outlen);
	knot_pkt_t *pkt = knot_pkt_new(copy, outlen, NULL);
	CHECK(pkt != NULL);
	int ret = knot_pkt_parse(pkt, 0);
	if (ret != KNOT_EOK) {
		fprintf(stderr, "fuzz_query: reply does not parse: %s\n", knot_strerror(ret));
		abort();
	}
	knot_pkt_free(pkt);
}

static void answer(const uint8_t *data, size_t size, bool tcp, uint8_t flags)
{
	static const uint16_t caps[] = { 512, 1232, 1400, 4096 };
	struct dns_query_info qi = {
		.tcp = tcp,
		.may_forward = flags & 1,
		.servfail_miss = (flags >> 1) & 1,
		.udp_cap = caps[(flags >> 2) & 3],
	};
	size_t outmax = tcp ? sizeof(outbuf) : qi.udp_cap;
	uint8_t *out = outbuf + sizeof(outbuf) - outmax;
	size_t outlen = 0;
	enum dns_action act = dns_answer(worker, snap, data, size, out, outmax, &qi, &outlen);
	switch (act) {
	case DNS_REPLY:
		check_reply(data, size, out, outlen, outmax, &qi);
		break;
	case DNS_FORWARD:
		CHECK(qi.may_forward);
		break;
	case DNS_DROP:
		break;
	default:
		CHECK(!"unknown dns_action");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (worker == NULL)
		setup();
	/* The low byte of the query ID picks the server's settings, so the corpus
	 * covers them without changing what the query means. */
	uint8_t flags = size >= 2 ? data[1] : 0;
	answer(data, size, false, flags);
	answer(data, size, true, flags);

	uint8_t *out = outbuf + sizeof(outbuf) - 512;
	size_t len = dns_error_response(data, size, KNOT_RCODE_FORMERR, 1232, "fuzz", out, 512);
	CHECK(len <= 512);
	if (len > 0)
		CHECK(len >= KNOT_WIRE_HEADER_SIZE && memcmp(out, data, 2) == 0);
	return 0;
}
