/* SPDX-License-Identifier: MIT */
/* Unit tests of published values: records to JSON, the envelope, and back; the digest; and
 * every kind of malformed value decoding must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libknot/libknot.h>

#include "cluster/value.h"
#include "store/recset.h"
#include "util/err.h"

#define NODE "node-a"
#define ORIGIN "docker:26ed50b1bf5947727bee4910f3d93674d823496c615940238219b5346cc0fc4e"
#define STAMP 1717243200123LL

/* ---- building and comparing sets ---------------------------------------- */

static void add_wire(struct recset *rs, const char *owner, uint16_t type, uint32_t ttl,
		     const void *rdata, size_t rdlen)
{
	uint8_t name[KNOT_DNAME_MAXLEN];
	assert_non_null(knot_dname_from_str(name, owner, sizeof(name)));
	assert_int_equal(recset_add(rs, name, type, ttl, rdata, (uint16_t)rdlen), 0);
}

/* A zone's own SOA: "docker. ns.docker. hostmaster.docker. 1 3600 600 86400 5". */
static void add_soa(struct recset *rs, const char *zone)
{
	uint8_t rd[2 * KNOT_DNAME_MAXLEN + 20];
	size_t n = 0;
	assert_non_null(knot_dname_from_str(rd, "ns.docker.", KNOT_DNAME_MAXLEN));
	n += knot_dname_size(rd);
	assert_non_null(knot_dname_from_str(rd + n, "hostmaster.docker.", KNOT_DNAME_MAXLEN));
	n += knot_dname_size(rd + n);
	const uint32_t v[5] = { 1, 3600, 600, 86400, 5 };
	for (int i = 0; i < 5; i++, n += 4)
		knot_wire_write_u32(rd + n, v[i]);
	add_wire(rs, zone, KNOT_RRTYPE_SOA, 60, rd, n);
}

/* One record of every type a node may publish, and some that are odd but fine. */
static struct recset *all_types(void)
{
	struct recset *rs = recset_new();
	assert_non_null(rs);
	assert_int_equal(recset_add_addr_net(rs, "web.docker.", "172.18.0.2", 16, 10), 0);
	assert_int_equal(recset_add_addr(rs, "web.docker.", "10.0.0.1", 20), 0);
	assert_int_equal(recset_add_addr_net(rs, "web.docker.", "fd00::2", 64, 10), 0);
	assert_int_equal(recset_add_addr(rs, "v6.docker.", "2001:db8::1", 30), 0);
	assert_int_equal(recset_add_addr_net(rs, "*.web.nginx.docker.", "172.18.0.2", 32, 0), 0);
	assert_int_equal(recset_add_addr(rs, "max-ttl.docker.", "192.0.2.1", 2147483647u), 0);
	assert_int_equal(
		recset_add_name_rr(rs, "www.docker.", KNOT_RRTYPE_CNAME, "web.docker.", 10), 0);
	assert_int_equal(recset_add_reverse(rs, "172.18.0.2", "web.docker.", 10), 0);
	assert_int_equal(recset_add_reverse(rs, "fd00::2", "web.docker.", 10), 0);
	assert_int_equal(
		recset_add_srv(rs, "_http._tcp.web.docker.", 1, 5, 8080, "web.docker.", 10), 0);
	static const char s255[] =
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxx";
	const char *txt[] = { "hello world", "", "quote \" backslash \\ end", s255 };
	assert_int_equal(recset_add_txt(rs, "web.docker.", txt, 4, 10), 0);
	assert_int_equal(recset_add_mx(rs, "docker.", 10, "mail.docker.", 3600), 0);
	return rs;
}

static void assert_same_records(const struct recset *a, const struct recset *b)
{
	assert_int_equal(recset_count(a), recset_count(b));
	for (size_t i = 0; i < recset_count(a); i++) {
		const struct rec *x = recset_get(a, i), *y = recset_get(b, i);
		if (!knot_dname_is_equal(x->owner, y->owner))
			fail_msg("record %zu: owner differs", i);
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->ttl, y->ttl);
		assert_int_equal(x->rdlen, y->rdlen);
		if (x->rdlen > 0)
			assert_memory_equal(x->rdata, y->rdata, x->rdlen);
		assert_int_equal(x->prefix, y->prefix);
	}
}

/* Encode, wrap and decode rs; the decoded set (free it). */
static struct recset *round_trip(const struct recset *rs, const char *node, const char *origin,
				 int64_t stamp)
{
	char *json = NULL;
	size_t len = 0;
	uint64_t digest = 0;
	assert_int_equal(cluster_records_json(rs, &json, &len, &digest), 0);
	assert_non_null(json);
	assert_int_equal(strlen(json), len);
	size_t vlen = 0;
	char *v = cluster_value_wrap(node, origin, stamp, json, len, &vlen);
	assert_non_null(v);
	assert_int_equal(strlen(v), vlen);
	struct recset *out = NULL;
	int64_t got = 0;
	char err[256] = "";
	int ret = cluster_value_decode(v, vlen, node, origin, &out, &got, err, sizeof(err));
	if (ret != 0)
		fail_msg("decode: %d %s\nvalue: %s", ret, err, v);
	assert_non_null(out);
	assert_int_equal(got, stamp);
	free(v);
	free(json);
	return out;
}

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip_every_type(void **state)
{
	(void)state;
	struct recset *rs = all_types();
	struct recset *out = round_trip(rs, NODE, ORIGIN, STAMP);
	assert_same_records(rs, out);
	/* the prefixes made it: A /16, AAAA /64, none, /32 */
	assert_int_equal(recset_get(out, 0)->prefix, 16);
	assert_int_equal(recset_get(out, 1)->prefix, 0);
	assert_int_equal(recset_get(out, 2)->prefix, 64);
	assert_int_equal(recset_get(out, 4)->prefix, 32);
	recset_free(out);
	recset_free(rs);
}

/* The records part is a JSON array of exactly the documented objects. */
static void test_records_json_shape(void **state)
{
	(void)state;
	struct recset *rs = recset_new();
	assert_non_null(rs);
	assert_int_equal(recset_add_addr_net(rs, "Web.Docker", "172.18.0.2", 16, 10), 0);
	assert_int_equal(recset_add_name_rr(rs, "www.docker.", KNOT_RRTYPE_CNAME, "web.docker.", 7),
			 0);
	char *json;
	size_t len;
	uint64_t digest;
	assert_int_equal(cluster_records_json(rs, &json, &len, &digest), 0);
	json_error_t je;
	json_t *a = json_loads(json, 0, &je);
	assert_non_null(a);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 2);
	const char *name, *type, *data;
	json_int_t ttl, prefix = -1;
	assert_int_equal(json_unpack(json_array_get(a, 0), "{s:s, s:s, s:I, s:s, s:I !}", "name",
				     &name, "type", &type, "ttl", &ttl, "data", &data, "prefix",
				     &prefix),
			 0);
	assert_string_equal(name, "web.docker.");
	assert_string_equal(type, "A");
	assert_int_equal(ttl, 10);
	assert_string_equal(data, "rBIAAg=="); /* 172.18.0.2 */
	assert_int_equal(prefix, 16);
	/* no prefix where there is none */
	assert_int_equal(json_unpack(json_array_get(a, 1), "{s:s, s:s, s:I, s:s !}", "name", &name,
				     "type", &type, "ttl", &ttl, "data", &data),
			 0);
	assert_string_equal(type, "CNAME");
	assert_string_equal(data, "A3dlYgZkb2NrZXIA"); /* \3web\6docker\0 */
	json_decref(a);

	/* the envelope around it */
	size_t vlen;
	char *v = cluster_value_wrap(NODE, ORIGIN, STAMP, json, len, &vlen);
	assert_non_null(v);
	json_t *o = json_loads(v, 0, &je);
	assert_non_null(o);
	json_int_t ver, stamp;
	const char *node, *origin;
	json_t *recs;
	assert_int_equal(json_unpack(o, "{s:I, s:s, s:s, s:I, s:o !}", "v", &ver, "node", &node,
				     "origin", &origin, "stamp", &stamp, "records", &recs),
			 0);
	assert_int_equal(ver, CLUSTER_VALUE_VERSION);
	assert_string_equal(node, NODE);
	assert_string_equal(origin, ORIGIN);
	assert_int_equal(stamp, STAMP);
	assert_int_equal(json_array_size(recs), 2);
	json_decref(o);
	free(v);
	free(json);
	recset_free(rs);
}

/* SOA and NS are a source's own zone: never published. */
static void test_soa_and_ns_left_out(void **state)
{
	(void)state;
	struct recset *plain = all_types();
	struct recset *zone = recset_new();
	assert_non_null(zone);
	add_soa(zone, "docker.");
	assert_int_equal(recset_add_name_rr(zone, "docker.", KNOT_RRTYPE_NS, "ns.docker.", 60), 0);
	for (size_t i = 0; i < recset_count(plain); i++) {
		const struct rec *r = recset_get(plain, i);
		assert_int_equal(recset_add_net(zone, r->owner, r->type, r->ttl, r->rdata, r->rdlen,
						r->prefix),
				 0);
		if (i == 3) {
			add_soa(zone, "sub.docker.");
			assert_int_equal(recset_add_name_rr(zone, "sub.docker.", KNOT_RRTYPE_NS,
							    "ns.sub.docker.", 60),
					 0);
		}
	}
	char *j1, *j2;
	size_t l1, l2;
	uint64_t d1, d2;
	assert_int_equal(cluster_records_json(plain, &j1, &l1, &d1), 0);
	assert_int_equal(cluster_records_json(zone, &j2, &l2, &d2), 0);
	assert_string_equal(j1, j2);
	assert_true(d1 == d2);
	assert_null(strstr(j2, "\"SOA\""));
	assert_null(strstr(j2, "\"NS\""));
	struct recset *out = round_trip(zone, NODE, ORIGIN, STAMP);
	assert_same_records(plain, out);
	recset_free(out);

	/* a set of nothing else is an empty array */
	struct recset *only = recset_new();
	assert_non_null(only);
	add_soa(only, "docker.");
	char *j3;
	size_t l3;
	uint64_t d3;
	assert_int_equal(cluster_records_json(only, &j3, &l3, &d3), 0);
	assert_string_equal(j3, "[]");
	out = round_trip(only, NODE, ORIGIN, 0);
	assert_int_equal(recset_count(out), 0);
	recset_free(out);
	free(j3);
	recset_free(only);
	free(j1);
	free(j2);
	recset_free(zone);
	recset_free(plain);
}

/* Owners with bytes that need escapes in text come back byte for byte. */
static void test_odd_owner_bytes(void **state)
{
	(void)state;
	struct recset *rs = recset_new();
	assert_non_null(rs);
	const uint8_t a4[4] = { 192, 0, 2, 7 };
	uint8_t owner[] = "\x03"
			  "a\x01"
			  "b\x03"
			  "c.d\x06"
			  "docker";
	assert_int_equal(recset_add(rs, owner, KNOT_RRTYPE_A, 1, a4, 4), 0);
	uint8_t spaced[] = "\x05"
			   "a b\\c\x06"
			   "docker";
	assert_int_equal(recset_add(rs, spaced, KNOT_RRTYPE_A, 1, a4, 4), 0);
	uint8_t high[] = "\x02\xc3\xa9\x06"
			 "docker";
	assert_int_equal(recset_add(rs, high, KNOT_RRTYPE_A, 1, a4, 4), 0);
	assert_int_equal(recset_add(rs, (const uint8_t *)"", KNOT_RRTYPE_A, 1, a4, 4), 0); /* . */
	struct recset *out = round_trip(rs, NODE, ORIGIN, STAMP);
	assert_same_records(rs, out);
	recset_free(out);
	recset_free(rs);
}

/* Node and origin are JSON strings: quotes, backslashes and UTF-8 survive the envelope. */
static void test_envelope_strings(void **state)
{
	(void)state;
	struct recset *rs = all_types();
	const char *node = "n\"o\\d/e \xc3\xa9";
	const char *origin = "hosts:/etc/berth/hosts.d/\"odd\" name";
	struct recset *out = round_trip(rs, node, origin, -5);
	assert_same_records(rs, out);
	recset_free(out);
	out = round_trip(rs, NODE, ORIGIN, INT64_MAX);
	recset_free(out);
	recset_free(rs);
}

/* ---- digest ------------------------------------------------------------- */

static uint64_t digest_of(const struct recset *rs)
{
	char *json;
	size_t len;
	uint64_t d = 0;
	assert_int_equal(cluster_records_json(rs, &json, &len, &d), 0);
	free(json);
	return d;
}

static void test_digest(void **state)
{
	(void)state;
	struct recset *a = all_types(), *b = all_types();
	uint64_t base = digest_of(a);
	assert_true(base == digest_of(b)); /* equal sets, built apart */
	assert_true(base == digest_of(a)); /* and again */
	recset_free(b);

	/* each one change gives another digest */
	const struct rec *r0 = recset_get(a, 0);
	uint64_t seen[16];
	size_t nseen = 0;
	seen[nseen++] = base;
	for (int change = 0; change < 7; change++) {
		struct recset *c = recset_new();
		assert_non_null(c);
		for (size_t i = 0; i < recset_count(a); i++) {
			const struct rec *r = recset_get(a, i);
			uint8_t rd[512];
			memcpy(rd, r->rdata, r->rdlen);
			uint32_t ttl = r->ttl;
			uint8_t prefix = r->prefix;
			const uint8_t *owner = r->owner;
			uint8_t other[KNOT_DNAME_MAXLEN];
			if (i == 0) {
				switch (change) {
				case 0:
					ttl++;
					break;
				case 1:
					rd[3] ^= 1;
					break;
				case 2:
					prefix = 24;
					break;
				case 3:
					prefix = 0;
					break;
				case 4:
					assert_non_null(knot_dname_from_str(other, "wed.docker.",
									    sizeof(other)));
					owner = other;
					break;
				default:
					break;
				}
			}
			if (change == 5 && i == recset_count(a) - 1)
				continue; /* one record fewer */
			assert_int_equal(
				recset_add_net(c, owner, r->type, ttl, rd, r->rdlen, prefix), 0);
		}
		if (change == 6) /* one more */
			assert_int_equal(recset_add_net(c, r0->owner, r0->type, r0->ttl, r0->rdata,
							r0->rdlen, r0->prefix),
					 0);
		uint64_t d = digest_of(c);
		for (size_t k = 0; k < nseen; k++)
			if (d == seen[k])
				fail_msg("change %d: digest of an earlier set", change);
		seen[nseen++] = d;
		recset_free(c);
	}
	/* the empty set has a digest too, its own */
	struct recset *e = recset_new();
	assert_non_null(e);
	uint64_t d = digest_of(e);
	for (size_t k = 0; k < nseen; k++)
		assert_false(d == seen[k]);
	recset_free(e);
	recset_free(a);
}

/* ---- limits ------------------------------------------------------------- */

#define SMALL_REC "{\"name\":\"a.\",\"type\":\"A\",\"ttl\":0,\"data\":\"CgAAAQ==\"}"

/* {"v":1,...,"records":[SMALL_REC x n]} */
static char *value_of_n(size_t n, size_t *len)
{
	const char head[] = "{\"v\":1,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
			    "\",\"stamp\":1,\"records\":[";
	size_t rl = strlen(SMALL_REC);
	char *v = malloc(sizeof(head) + n * (rl + 1) + 4);
	assert_non_null(v);
	size_t o = sizeof(head) - 1;
	memcpy(v, head, o);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			v[o++] = ',';
		memcpy(v + o, SMALL_REC, rl);
		o += rl;
	}
	memcpy(v + o, "]}", 3);
	*len = o + 2;
	return v;
}

static void test_record_count_limit(void **state)
{
	(void)state;
	/* encoding: at most CLUSTER_VALUE_MAX_RECORDS */
	struct recset *rs = recset_new();
	assert_non_null(rs);
	for (int i = 0; i < CLUSTER_VALUE_MAX_RECORDS; i++)
		assert_int_equal(recset_add_addr(rs, "a.", "10.0.0.1", 0), 0);
	char *json;
	size_t len;
	uint64_t d;
	assert_int_equal(cluster_records_json(rs, &json, &len, &d), 0);
	size_t vlen;
	char *v = cluster_value_wrap(NODE, ORIGIN, 1, json, len, &vlen);
	assert_non_null(v);
	assert_true(vlen <= CLUSTER_VALUE_MAX);
	struct recset *out = NULL;
	int64_t stamp;
	char err[256];
	assert_int_equal(
		cluster_value_decode(v, vlen, NODE, ORIGIN, &out, &stamp, err, sizeof(err)), 0);
	assert_int_equal(recset_count(out), CLUSTER_VALUE_MAX_RECORDS);
	recset_free(out);
	free(v);
	free(json);
	assert_int_equal(recset_add_addr(rs, "a.", "10.0.0.1", 0), 0);
	json = NULL;
	assert_int_equal(cluster_records_json(rs, &json, &len, &d), -EFBIG);
	assert_null(json);
	recset_free(rs);

	/* decoding: the same limit on what another node wrote */
	v = value_of_n(CLUSTER_VALUE_MAX_RECORDS, &vlen);
	assert_true(vlen <= CLUSTER_VALUE_MAX);
	out = NULL;
	assert_int_equal(
		cluster_value_decode(v, vlen, NODE, ORIGIN, &out, &stamp, err, sizeof(err)), 0);
	assert_int_equal(recset_count(out), CLUSTER_VALUE_MAX_RECORDS);
	recset_free(out);
	free(v);
}

/* A set whose text passes the size limit is not encoded. */
static void test_encoded_size_limit(void **state)
{
	(void)state;
	struct recset *rs = recset_new();
	assert_non_null(rs);
	const char *strings[8];
	char s[256];
	memset(s, 't', 255);
	s[255] = '\0';
	for (int i = 0; i < 8; i++)
		strings[i] = s;
	/* 2040 bytes of TXT rdata, 2720 of base64 each: 400 pass 1 MiB */
	for (int i = 0; i < 400; i++)
		assert_int_equal(recset_add_txt(rs, "big.docker.", strings, 8, 10), 0);
	char *json = NULL;
	size_t len;
	uint64_t d;
	assert_int_equal(cluster_records_json(rs, &json, &len, &d), -EFBIG);
	assert_null(json);
	recset_free(rs);
}

/* ---- refusals ----------------------------------------------------------- */

#define HEAD "{\"v\":1,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN "\",\"stamp\":5,"
#define WITH(recs) HEAD "\"records\":[" recs "]}"
#define REC(name, type, ttl, data) \
	"{\"name\":\"" name "\",\"type\":\"" type "\",\"ttl\":" ttl ",\"data\":\"" data "\"}"
#define REC_A(data) REC("web.docker.", "A", "10", data)

/* Each test of refusals says what the messages must name, so that a value refused for another
 * reason than the one it tests (a typo in it, say) is caught; NULL: any reason. */
static const char *reason;

/* Decoding text[0..len) must fail, with a message, leaving the out-parameters alone. */
static void refused_n(const char *what, const char *text, size_t len)
{
	struct recset *sentinel = recset_new();
	assert_non_null(sentinel);
	struct recset *out = sentinel;
	int64_t stamp = 424242;
	char err[256];
	memset(err, 0, sizeof(err));
	int ret = cluster_value_decode(text, len, NODE, ORIGIN, &out, &stamp, err, sizeof(err));
	if (ret >= 0)
		fail_msg("%s: accepted (%d)\n%.*s", what, ret, (int)(len < 400 ? len : 400), text);
	if (err[0] == '\0')
		fail_msg("%s: refused (%d) without a message", what, ret);
	if (ret == -ENOMEM)
		fail_msg("%s: out of memory?", what);
	if (reason != NULL && strstr(err, reason) == NULL)
		fail_msg("%s: refused for another reason: %s", what, err);
	if (out != sentinel || stamp != 424242)
		fail_msg("%s: out-parameters changed on failure", what);
	recset_free(sentinel);
}

static void refused(const char *what, const char *text)
{
	refused_n(what, text, strlen(text));
}

static void test_accepts_the_refusals_baseline(void **state)
{
	/* the good value each refusal below is one change away from */
	(void)state;
	static const char *const good[] = {
		WITH(REC_A("CgAAAQ==")),
		WITH(REC_A("CgAAAQ==") ",{\"name\":\"web.docker.\",\"type\":\"A\",\"ttl\":10,"
				       "\"data\":\"CgAAAQ==\",\"prefix\":128}"),
		WITH(REC("web.docker.", "AAAA", "0", "/QAAAAAAAAAAAAAAAAAAAg==")),
		WITH(REC("www.docker.", "CNAME", "2147483647", "A3dlYgZkb2NrZXIA")),
		WITH(REC("web.docker.", "TXT", "10", "BWhlbGxvAA==")),
		WITH(REC("web", "A", "10", "CgAAAQ==")), /* no final dot: still absolute */
		WITH(REC("WEB.Docker.", "a", "10", "CgAAAQ==")),
		WITH(""),
		/* unknown top-level fields are allowed (a later version may add some) */
		"{\"v\":1,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
		"\",\"stamp\":5,\"records\":[],\"extra\":{}}",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct recset *out = NULL;
		int64_t stamp = 0;
		char err[256] = "";
		int ret = cluster_value_decode(good[i], strlen(good[i]), NODE, ORIGIN, &out, &stamp,
					       err, sizeof(err));
		if (ret != 0)
			fail_msg("good value %zu refused: %s", i, err);
		assert_int_equal(stamp, 5);
		recset_free(out);
	}
}

static void test_refuses_not_json(void **state)
{
	(void)state;
	reason = "not JSON";
	refused("empty", "");
	refused("garbage", "garbage");
	refused("cut short", "{\"v\":1,\"node\":");
	refused("trailing comma", "{\"v\":1,}");
	refused("trailing bytes", WITH(REC_A("CgAAAQ==")) " x");
	refused("two values", WITH("") WITH(""));
	refused("single quotes", "{'v':1}");
	refused("duplicate key", "{\"v\":1,\"v\":1,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
				 "\",\"stamp\":5,\"records\":[]}");
	refused("duplicate record field",
		WITH("{\"name\":\"a.\",\"name\":\"b.\",\"type\":\"A\",\"ttl\":1,"
		     "\"data\":\"CgAAAQ==\"}"));
	refused_n("NUL inside, counted", WITH("") "\0", sizeof(WITH("")));
	refused("bad UTF-8", "{\"v\":1,\"node\":\"\xff\"}");
}

static void test_refuses_not_an_object(void **state)
{
	(void)state;
	reason = NULL;
	refused("array", "[]");
	refused("array of the fields", "[{\"v\":1}]");
	refused("string", "\"v\"");
	refused("number", "1");
	refused("null", "null");
	refused("true", "true");
}

static void test_refuses_missing_or_wrong_fields(void **state)
{
	(void)state;
	reason = NULL;
	refused("empty object", "{}");
	refused("no v",
		"{\"node\":\"" NODE "\",\"origin\":\"" ORIGIN "\",\"stamp\":5,\"records\":[]}");
	refused("no node", "{\"v\":1,\"origin\":\"" ORIGIN "\",\"stamp\":5,\"records\":[]}");
	refused("no origin", "{\"v\":1,\"node\":\"" NODE "\",\"stamp\":5,\"records\":[]}");
	refused("no stamp",
		"{\"v\":1,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN "\",\"records\":[]}");
	refused("no records", HEAD "\"x\":0}");
	refused("v a string", "{\"v\":\"1\",\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
			      "\",\"stamp\":5,\"records\":[]}");
	refused("v a real", "{\"v\":1.0,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
			    "\",\"stamp\":5,\"records\":[]}");
	refused("node a number",
		"{\"v\":1,\"node\":1,\"origin\":\"" ORIGIN "\",\"stamp\":5,\"records\":[]}");
	refused("node null",
		"{\"v\":1,\"node\":null,\"origin\":\"" ORIGIN "\",\"stamp\":5,\"records\":[]}");
	refused("stamp a string", "{\"v\":1,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
				  "\",\"stamp\":\"5\",\"records\":[]}");
	/* the fields of a record */
	refused("record without name", WITH("{\"type\":\"A\",\"ttl\":1,\"data\":\"CgAAAQ==\"}"));
	refused("record without type", WITH("{\"name\":\"a.\",\"ttl\":1,\"data\":\"CgAAAQ==\"}"));
	refused("record without ttl",
		WITH("{\"name\":\"a.\",\"type\":\"A\",\"data\":\"CgAAAQ==\"}"));
	refused("record without data", WITH("{\"name\":\"a.\",\"type\":\"A\",\"ttl\":1}"));
	refused("record with an unknown field",
		WITH("{\"name\":\"a.\",\"type\":\"A\",\"ttl\":1,\"data\":\"CgAAAQ==\","
		     "\"class\":\"IN\"}"));
	refused("record empty", WITH("{}"));
	refused("record a string", WITH("\"web.docker. A 10.0.0.1\""));
	refused("record null", WITH("null"));
	refused("record an array", WITH("[\"a.\",\"A\",1,\"CgAAAQ==\"]"));
	refused("name a number",
		WITH("{\"name\":1,\"type\":\"A\",\"ttl\":1,\"data\":\"CgAAAQ==\"}"));
	refused("type a number", WITH("{\"name\":\"a.\",\"type\":1,\"ttl\":1,"
				      "\"data\":\"CgAAAQ==\"}"));
	refused("ttl a string", WITH(REC("a.", "A", "\"10\"", "CgAAAQ==")));
	refused("ttl a real", WITH(REC("a.", "A", "10.5", "CgAAAQ==")));
	refused("data a number",
		WITH("{\"name\":\"a.\",\"type\":\"A\",\"ttl\":1,\"data\":167772161}"));
	refused("prefix a string", WITH("{\"name\":\"a.\",\"type\":\"A\",\"ttl\":1,"
					"\"data\":\"CgAAAQ==\",\"prefix\":\"24\"}"));
	/* and the good records before a bad one are not kept either (out untouched) */
	refused("bad record after good ones", WITH(REC_A("CgAAAQ==") "," REC_A("CgAAAQ==") ",{}"));
}

static void test_refuses_other_version(void **state)
{
	(void)state;
	reason = "value version";
	refused("version 2", "{\"v\":2,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
			     "\",\"stamp\":5,\"records\":[]}");
	refused("version 0", "{\"v\":0,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
			     "\",\"stamp\":5,\"records\":[]}");
	refused("version -1", "{\"v\":-1,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
			      "\",\"stamp\":5,\"records\":[]}");
	refused("version 2^32+1", "{\"v\":4294967297,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
				  "\",\"stamp\":5,\"records\":[]}");
	/* a later version is refused whatever else it holds */
	refused("version 2, records of version 1",
		"{\"v\":2,\"node\":\"" NODE "\",\"origin\":\"" ORIGIN
		"\",\"stamp\":5,\"records\":[" REC_A("CgAAAQ==") "]}");
}

static void test_refuses_another_key(void **state)
{
	(void)state;
	reason = "value claims";
	refused("another node", "{\"v\":1,\"node\":\"node-b\",\"origin\":\"" ORIGIN
				"\",\"stamp\":5,\"records\":[]}");
	refused("another origin", "{\"v\":1,\"node\":\"" NODE
				  "\",\"origin\":\"docker:0949\",\"stamp\":5,\"records\":[]}");
	refused("node a prefix of the key's", "{\"v\":1,\"node\":\"node-\",\"origin\":\"" ORIGIN
					      "\",\"stamp\":5,\"records\":[]}");
	refused("node longer than the key's", "{\"v\":1,\"node\":\"" NODE "x\",\"origin\":\"" ORIGIN
					      "\",\"stamp\":5,\"records\":[]}");
	refused("node in another case", "{\"v\":1,\"node\":\"NODE-A\",\"origin\":\"" ORIGIN
					"\",\"stamp\":5,\"records\":[]}");
	refused("empty origin",
		"{\"v\":1,\"node\":\"" NODE "\",\"origin\":\"\",\"stamp\":5,\"records\":[]}");
	/* a value wrapped for another key */
	char *json;
	size_t len, vlen;
	uint64_t d;
	struct recset *rs = all_types();
	assert_int_equal(cluster_records_json(rs, &json, &len, &d), 0);
	char *v = cluster_value_wrap("node-b", ORIGIN, 1, json, len, &vlen);
	assert_non_null(v);
	refused_n("wrapped for node-b", v, vlen);
	free(v);
	v = cluster_value_wrap(NODE, "docker:other", 1, json, len, &vlen);
	assert_non_null(v);
	refused_n("wrapped for docker:other", v, vlen);
	free(v);
	free(json);
	recset_free(rs);
}

static void test_refuses_records_not_an_array(void **state)
{
	(void)state;
	reason = "\"records\"";
	refused("records an object", HEAD "\"records\":{}}");
	refused("records an object of records", HEAD "\"records\":{\"0\":" REC_A("CgAAAQ==") "}}");
	refused("records a string", HEAD "\"records\":\"[]\"}");
	refused("records null", HEAD "\"records\":null}");
	refused("records a number", HEAD "\"records\":0}");
}

static void test_refuses_unpublishable_types(void **state)
{
	(void)state;
	reason = "may not be published";
	refused("SOA",
		WITH(REC("docker.", "SOA", "60",
			 "Am5zBmRvY2tlcgAKaG9zdG1hc3RlcgZkb2NrZXIAAAAAAQAADhAAAAJYAAFRgAAAAAU=")));
	refused("NS", WITH(REC("docker.", "NS", "60", "Am5zBmRvY2tlcgA=")));
	refused("NS below the zone", WITH(REC("sub.docker.", "NS", "60", "Am5zBmRvY2tlcgA=")));
	refused("TYPE65280", WITH(REC("web.docker.", "TYPE65280", "10", "CgAAAQ==")));
	refused("TYPE6 (SOA by number)",
		WITH(REC("docker.", "TYPE6", "60",
			 "Am5zBmRvY2tlcgAKaG9zdG1hc3RlcgZkb2NrZXIAAAAAAQAADhAAAAJYAAFRgAAAAAU=")));
	refused("TYPE2 (NS by number)", WITH(REC("docker.", "TYPE2", "60", "Am5zBmRvY2tlcgA=")));
	refused("DNAME", WITH(REC("docker.", "DNAME", "60", "Am5zBmRvY2tlcgA=")));
	refused("HINFO", WITH(REC("web.docker.", "HINFO", "10", "AWEBYg==")));
	refused("CAA", WITH(REC("web.docker.", "CAA", "10", "AAVpc3N1ZWE=")));
	refused("unknown name", WITH(REC("web.docker.", "BOGUS", "10", "CgAAAQ==")));
	refused("empty type", WITH(REC("web.docker.", "", "10", "CgAAAQ==")));
	refused("A with a blank", WITH(REC("web.docker.", "A ", "10", "CgAAAQ==")));
	/* the good records before one of these are not kept */
	refused("A then NS",
		WITH(REC_A("CgAAAQ==") "," REC("docker.", "NS", "60", "Am5zBmRvY2tlcgA=")));
}

static void test_refuses_bad_rdata(void **state)
{
	(void)state;
	reason = " data";
	refused("bad base64", WITH(REC_A("CgAAAQ")));
	refused("base64 with a bad character", WITH(REC_A("CgA*AQ==")));
	refused("base64url", WITH(REC("web.docker.", "AAAA", "10", "_QAAAAAAAAAAAAAAAAAAAg==")));
	refused("base64 padding then more", WITH(REC_A("CgA=CgA=")));
	refused("A with 0 bytes", WITH(REC_A("")));
	refused("A with 3 bytes", WITH(REC_A("CgAA")));
	refused("A with 5 bytes", WITH(REC_A("CgAAAQE=")));
	refused("A with 16 bytes", WITH(REC_A("/QAAAAAAAAAAAAAAAAAAAg==")));
	refused("AAAA with 4 bytes", WITH(REC("web.docker.", "AAAA", "10", "CgAAAQ==")));
	refused("AAAA with 15 bytes",
		WITH(REC("web.docker.", "AAAA", "10", "/QAAAAAAAAAAAAAAAAAA")));
	refused("AAAA with 17 bytes",
		WITH(REC("web.docker.", "AAAA", "10", "/QAAAAAAAAAAAAAAAAAAAgA=")));
	/* \3web\6docker without its root label */
	refused("CNAME truncated", WITH(REC("www.docker.", "CNAME", "10", "A3dlYgZkb2NrZXI=")));
	/* \3web\6docker\0 and one more byte */
	refused("CNAME with a trailing byte",
		WITH(REC("www.docker.", "CNAME", "10", "A3dlYgZkb2NrZXIAAQ==")));
	/* \3web\0 \3web\0: two names */
	refused("CNAME of two names", WITH(REC("www.docker.", "CNAME", "10", "A3dlYgADd2ViAA==")));
	refused("CNAME empty", WITH(REC("www.docker.", "CNAME", "10", "")));
	/* \300\014: a compression pointer */
	refused("CNAME compressed", WITH(REC("www.docker.", "CNAME", "10", "wAw=")));
	/* \100 and 64 x, \0: a label of 64 */
	refused("CNAME label of 64",
		WITH(REC(
			"www.docker.", "CNAME", "10",
			"QHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHgA")));
	refused("PTR truncated",
		WITH(REC("2.0.18.172.in-addr.arpa.", "PTR", "10", "A3dlYgZkb2NrZXI=")));
	refused("PTR with trailing bytes",
		WITH(REC("2.0.18.172.in-addr.arpa.", "PTR", "10", "A3dlYgZkb2NrZXIAAAA=")));
	/* \0\12 \4mail\6docker\0 */
	refused("MX without its name", WITH(REC("docker.", "MX", "10", "AAo=")));
	refused("MX with a truncated name",
		WITH(REC("docker.", "MX", "10", "AAoEbWFpbAZkb2NrZXI=")));
	refused("MX with a trailing byte",
		WITH(REC("docker.", "MX", "10", "AAoEbWFpbAZkb2NrZXIAAA==")));
	/* \0\1 \0\5 \37\220 \3web\6docker\0 */
	refused("SRV without its name",
		WITH(REC("_http._tcp.web.docker.", "SRV", "10", "AAEABR+Q")));
	refused("SRV too short", WITH(REC("_http._tcp.web.docker.", "SRV", "10", "AAEABQ==")));
	refused("SRV with a truncated name",
		WITH(REC("_http._tcp.web.docker.", "SRV", "10", "AAEABR+QA3dlYgZkb2NrZXI=")));
	refused("SRV with a trailing byte",
		WITH(REC("_http._tcp.web.docker.", "SRV", "10", "AAEABR+QA3dlYgZkb2NrZXIAAA==")));
	/* \5hello then \5ab: the second string's length past the end */
	refused("TXT length byte past the end",
		WITH(REC("web.docker.", "TXT", "10", "BWhlbGxvBWFi")));
	refused("TXT first length past the end", WITH(REC("web.docker.", "TXT", "10", "BmhlbGxv")));
	refused("TXT of one length byte 1", WITH(REC("web.docker.", "TXT", "10", "AQ==")));
	refused("TXT empty", WITH(REC("web.docker.", "TXT", "10", "")));
}

static void test_refuses_bad_ttl_and_prefix(void **state)
{
	(void)state;
	reason = "ttl";
	refused("ttl -1", WITH(REC("a.", "A", "-1", "CgAAAQ==")));
	refused("ttl 2^31", WITH(REC("a.", "A", "2147483648", "CgAAAQ==")));
	refused("ttl 2^32", WITH(REC("a.", "A", "4294967296", "CgAAAQ==")));
	refused("ttl 2^32+10 (10 if cut to 32 bits)",
		WITH(REC("a.", "A", "4294967306", "CgAAAQ==")));
	refused("ttl 2^63-1", WITH(REC("a.", "A", "9223372036854775807", "CgAAAQ==")));
	reason = "not JSON"; /* too big for jansson */
	refused("ttl past 2^63", WITH(REC("a.", "A", "99999999999999999999", "CgAAAQ==")));
	reason = "ttl";
	refused("prefix 129", WITH("{\"name\":\"a.\",\"type\":\"A\",\"ttl\":1,"
				   "\"data\":\"CgAAAQ==\",\"prefix\":129}"));
	refused("prefix 256 (0 if cut to 8 bits)", WITH("{\"name\":\"a.\",\"type\":\"A\",\"ttl\":1,"
							"\"data\":\"CgAAAQ==\",\"prefix\":256}"));
	refused("prefix -1", WITH("{\"name\":\"a.\",\"type\":\"A\",\"ttl\":1,"
				  "\"data\":\"CgAAAQ==\",\"prefix\":-1}"));
	refused("AAAA prefix 129", WITH("{\"name\":\"a.\",\"type\":\"AAAA\",\"ttl\":1,"
					"\"data\":\"/QAAAAAAAAAAAAAAAAAAAg==\",\"prefix\":129}"));
}

static void test_refuses_bad_names(void **state)
{
	(void)state;
	reason = "bad name";
	refused("empty name", WITH(REC("", "A", "10", "CgAAAQ==")));
	refused("empty label", WITH(REC("a..docker.", "A", "10", "CgAAAQ==")));
	refused("two dots", WITH(REC("..", "A", "10", "CgAAAQ==")));
	refused("leading dot", WITH(REC(".web.docker.", "A", "10", "CgAAAQ==")));
	refused("a blank", WITH(REC("we b.docker.", "A", "10", "CgAAAQ==")));
	refused("a tab", WITH(REC("we\\tb.docker.", "A", "10", "CgAAAQ==")));
	refused("a newline", WITH(REC("web.docker.\\n", "A", "10", "CgAAAQ==")));
	refused("a control byte", WITH(REC("we\\u0001b.docker.", "A", "10", "CgAAAQ==")));
	refused("a DEL byte", WITH(REC("we\\u007fb.docker.", "A", "10", "CgAAAQ==")));
	refused("UTF-8", WITH(REC("caf\xc3\xa9.docker.", "A", "10", "CgAAAQ==")));
	refused("a label of 64",
		WITH(REC("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.docker.",
			 "A", "10", "CgAAAQ==")));
	refused("past 255 bytes",
		WITH(REC("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
			 "A", "10", "CgAAAQ==")));
	refused("a bad escape", WITH(REC("a\\\\256.docker.", "A", "10", "CgAAAQ==")));
	refused("a trailing backslash", WITH(REC("a.docker\\\\", "A", "10", "CgAAAQ==")));
}

static void test_refuses_over_the_size_limit(void **state)
{
	(void)state;
	reason = "bytes (limit";
	/* a good value padded with blanks to exactly the limit is read ... */
	const char good[] = WITH(REC_A("CgAAAQ=="));
	char *v = malloc(CLUSTER_VALUE_MAX + 2);
	assert_non_null(v);
	memset(v, ' ', CLUSTER_VALUE_MAX + 1);
	memcpy(v, good, sizeof(good) - 1);
	v[CLUSTER_VALUE_MAX + 1] = '\0';
	struct recset *out = NULL;
	int64_t stamp;
	char err[256] = "";
	assert_int_equal(cluster_value_decode(v, CLUSTER_VALUE_MAX, NODE, ORIGIN, &out, &stamp, err,
					      sizeof(err)),
			 0);
	assert_int_equal(recset_count(out), 1);
	recset_free(out);
	/* ... one byte more is not */
	refused_n("one byte past the limit", v, CLUSTER_VALUE_MAX + 1);
	struct recset *sentinel = (struct recset *)v;
	out = sentinel;
	err[0] = '\0';
	assert_int_equal(cluster_value_decode(v, CLUSTER_VALUE_MAX + 1, NODE, ORIGIN, &out, &stamp,
					      err, sizeof(err)),
			 -EFBIG);
	assert_ptr_equal(out, sentinel);
	assert_true(err[0] != '\0');
	free(v);
	/* and a huge length is refused before anything is read */
	refused_n("a huge length", good, SIZE_MAX);
}

static void test_refuses_too_many_records(void **state)
{
	(void)state;
	reason = "\"records\"";
	size_t len;
	char *v = value_of_n(CLUSTER_VALUE_MAX_RECORDS + 1, &len);
	assert_true(len <= CLUSTER_VALUE_MAX); /* the count, not the size, is at fault */
	refused_n("CLUSTER_VALUE_MAX_RECORDS + 1 records", v, len);
	free(v);
}

/* err may be NULL, or short: the refusal is the same. */
static void test_err_buffer(void **state)
{
	(void)state;
	const char *v = WITH(REC_A("CgAAAQE="));
	struct recset *out = NULL;
	int64_t stamp = 0;
	assert_int_equal(cluster_value_decode(v, strlen(v), NODE, ORIGIN, &out, &stamp, NULL, 0),
			 BERTH_EPARSE);
	assert_null(out);
	char err[4] = "zzz";
	assert_int_equal(
		cluster_value_decode(v, strlen(v), NODE, ORIGIN, &out, &stamp, err, sizeof(err)),
		BERTH_EPARSE);
	assert_int_equal(strlen(err), 3);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_records_json_shape),
		cmocka_unit_test(test_soa_and_ns_left_out),
		cmocka_unit_test(test_odd_owner_bytes),
		cmocka_unit_test(test_envelope_strings),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_record_count_limit),
		cmocka_unit_test(test_encoded_size_limit),
		cmocka_unit_test(test_accepts_the_refusals_baseline),
		cmocka_unit_test(test_refuses_not_json),
		cmocka_unit_test(test_refuses_not_an_object),
		cmocka_unit_test(test_refuses_missing_or_wrong_fields),
		cmocka_unit_test(test_refuses_other_version),
		cmocka_unit_test(test_refuses_another_key),
		cmocka_unit_test(test_refuses_records_not_an_array),
		cmocka_unit_test(test_refuses_unpublishable_types),
		cmocka_unit_test(test_refuses_bad_rdata),
		cmocka_unit_test(test_refuses_bad_ttl_and_prefix),
		cmocka_unit_test(test_refuses_bad_names),
		cmocka_unit_test(test_refuses_over_the_size_limit),
		cmocka_unit_test(test_refuses_too_many_records),
		cmocka_unit_test(test_err_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
