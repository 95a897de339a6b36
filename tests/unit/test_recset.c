/* SPDX-License-Identifier: MIT */
/* Unit tests for record sets: rdata of every helper, reverse names, TXT splitting, bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <libknot/libknot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/recset.h"
#include "util/err.h"

/* Wire name from text, for comparisons. */
static size_t wire(uint8_t *out, const char *name)
{
	assert_non_null(knot_dname_from_str(out, name, KNOT_DNAME_MAXLEN));
	return knot_dname_size(out);
}

static void assert_owner(const struct rec *r, const char *name)
{
	uint8_t w[KNOT_DNAME_MAXLEN];
	size_t len = wire(w, name);
	assert_int_equal(knot_dname_size(r->owner), len);
	assert_memory_equal(r->owner, w, len);
}

static void test_addr(void **state)
{
	struct recset *rs = recset_new();
	assert_non_null(rs);
	assert_int_equal(recset_add_addr(rs, "Web.Example.", "192.0.2.1", 60), 0);
	assert_int_equal(recset_add_addr(rs, "web.example", "2001:db8::1", 70), 0);
	assert_int_equal(recset_count(rs), 2);

	const struct rec *a = recset_get(rs, 0);
	assert_owner(a, "web.example.");
	assert_int_equal(a->type, KNOT_RRTYPE_A);
	assert_int_equal(a->ttl, 60);
	assert_int_equal(a->rdlen, 4);
	assert_memory_equal(a->rdata, "\xc0\x00\x02\x01", 4);

	const struct rec *aaaa = recset_get(rs, 1);
	assert_owner(aaaa, "web.example.");
	assert_int_equal(aaaa->type, KNOT_RRTYPE_AAAA);
	assert_int_equal(aaaa->ttl, 70);
	assert_int_equal(aaaa->rdlen, 16);
	assert_memory_equal(aaaa->rdata, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_null(recset_get(rs, 2));
	recset_free(rs);
}

static void test_bad_input(void **state)
{
	char longname[300];
	char longlabel[70];
	memset(longname, 'a', sizeof(longname) - 1);
	for (size_t i = 50; i < sizeof(longname) - 1; i += 50)
		longname[i] = '.';
	longname[sizeof(longname) - 1] = '\0';
	memset(longlabel, 'b', 64);
	strcpy(longlabel + 64, ".x");
	static const struct {
		const char *name;
		const char *ip;
	} cases[] = {
		{ "", "192.0.2.1" },
		{ "a..b", "192.0.2.1" },
		{ ".a", "192.0.2.1" },
		{ "tab\there", "192.0.2.1" },
		{ "\xc3\xa9t\xc3\xa9", "192.0.2.1" },
		{ "ok", "192.0.2" },
		{ "ok", "192.0.2.256" },
		{ "ok", "::g" },
		{ "ok", "" },
		{ "ok", "fe80::1%eth0" },
		{ "ok", " 192.0.2.1" },
	};
	struct recset *rs = recset_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(recset_add_addr(rs, cases[i].name, cases[i].ip, 1), -EINVAL);
	assert_int_equal(recset_add_addr(rs, longname, "192.0.2.1", 1), -EINVAL);
	assert_int_equal(recset_add_addr(rs, longlabel, "192.0.2.1", 1), -EINVAL);
	assert_int_equal(recset_add_addr(rs, NULL, "192.0.2.1", 1), -EINVAL);
	assert_int_equal(recset_add_addr(rs, "ok", NULL, 1), -EINVAL);
	assert_int_equal(recset_add_name_rr(rs, "ok", KNOT_RRTYPE_CNAME, "a..b", 1), -EINVAL);
	assert_int_equal(recset_add_mx(rs, "ok", 1, "", 1), -EINVAL);
	assert_int_equal(recset_add_srv(rs, "", 1, 1, 1, "t", 1), -EINVAL);
	assert_int_equal(recset_add_reverse(rs, "nope", "t", 1), -EINVAL);
	assert_int_equal(recset_add_reverse(rs, "192.0.2.1", "a..b", 1), -EINVAL);
	assert_int_equal(recset_add_txt(rs, "a..b", NULL, 0, 1), -EINVAL);
	assert_int_equal(recset_count(rs), 0);
	recset_free(rs);
	recset_free(NULL);
	assert_int_equal(recset_count(NULL), 0);
	assert_null(recset_get(NULL, 0));
}

static void test_reverse_name(void **state)
{
	static const struct {
		const char *ip;
		const char *rev;
	} cases[] = {
		{ "192.0.2.1", "1.2.0.192.in-addr.arpa" },
		{ "10.0.0.255", "255.0.0.10.in-addr.arpa" },
		{ "0.0.0.0", "0.0.0.0.in-addr.arpa" },
		{ "2001:db8::1",
		  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa" },
		{ "::1",
		  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa" },
		{ "FE80::ABCD",
		  "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa" },
	};
	char out[80];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(recset_reverse_name(cases[i].ip, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].rev);
	}
	assert_int_equal(recset_reverse_name("1.2.3", out, sizeof(out)), -EINVAL);
	assert_int_equal(recset_reverse_name(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(recset_reverse_name("192.0.2.1", out, 22), -ENOSPC);
	assert_int_equal(recset_reverse_name("192.0.2.1", out, 23), 0);
}

static void test_reverse(void **state)
{
	uint8_t w[KNOT_DNAME_MAXLEN];
	struct recset *rs = recset_new();
	assert_int_equal(recset_add_reverse(rs, "192.0.2.1", "Host.Example", 5), 0);
	const struct rec *r = recset_get(rs, 0);
	assert_owner(r, "1.2.0.192.in-addr.arpa.");
	assert_int_equal(r->type, KNOT_RRTYPE_PTR);
	assert_int_equal(r->ttl, 5);
	size_t len = wire(w, "host.example."); /* targets are lowercased too */
	assert_int_equal(r->rdlen, len);
	assert_memory_equal(r->rdata, w, len);

	/* first wins: the same address again adds nothing, another address does */
	assert_int_equal(recset_add_reverse_first(rs, "192.0.2.1", "other", 5), 0);
	assert_int_equal(recset_count(rs), 1);
	assert_int_equal(recset_add_reverse_first(rs, "2001:db8::1", "six", 5), 0);
	assert_int_equal(recset_count(rs), 2);
	assert_owner(recset_get(rs, 1),
		     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
	assert_int_equal(recset_add_reverse_first(rs, "2001:DB8:0::1", "six2", 5), 0);
	assert_int_equal(recset_count(rs), 2);
	/* plain reverse still adds */
	assert_int_equal(recset_add_reverse(rs, "192.0.2.1", "other", 5), 0);
	assert_int_equal(recset_count(rs), 3);
	assert_int_equal(recset_add_reverse_first(rs, "bad", "x", 5), -EINVAL);
	assert_int_equal(recset_add_reverse_first(rs, "192.0.2.9", "a..b", 5), -EINVAL);

	/* many distinct addresses: the index grows and keeps first names */
	char ip[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(recset_add_reverse_first(rs, ip, "first", 1), 0);
		assert_int_equal(recset_add_reverse_first(rs, ip, "second", 1), 0);
	}
	assert_int_equal(recset_count(rs), 1003);
	recset_free(rs);
}

/* TXT rdata as "len:text|len:text" for compact expectations. */
static void txt_str(const struct rec *r, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t off = 0; off < r->rdlen;) {
		uint8_t l = r->rdata[off];
		assert_true(off + 1 + l <= r->rdlen);
		o += (size_t)snprintf(out + o, outlen - o, "%s%u:", off ? "|" : "", l);
		size_t show = l > 3 ? 3 : l;
		memcpy(out + o, r->rdata + off + 1, show);
		o += show;
		out[o] = '\0';
		off += 1 + (size_t)l;
	}
}

static void test_txt(void **state)
{
	static char s255[256];
	static char s256[257];
	static char s600[601];
	memset(s255, 'a', 255);
	memset(s256, 'b', 256);
	memset(s600, 'c', 600);
	const char *one[] = { "etcd" };
	const char *two[] = { "ubuntu:wily sleep 60", "" };
	const char *e255[] = { s255 };
	const char *e256[] = { s256 };
	const char *mix[] = { "x", s600, "y" };
	static const char *const empty_str[] = { "" };
	struct {
		const char *const *strings;
		size_t n;
		const char *want;
	} cases[] = {
		{ one, 1, "4:etc" },
		{ two, 2, "20:ubu|0:" },
		{ NULL, 0, "0:" },
		{ empty_str, 1, "0:" },
		{ e255, 1, "255:aaa" },
		{ e256, 1, "255:bbb|1:b" },
		{ mix, 3, "1:x|255:ccc|255:ccc|90:ccc|1:y" },
	};
	char got[128];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct recset *rs = recset_new();
		assert_int_equal(recset_add_txt(rs, "T.Example", cases[i].strings, cases[i].n, 9),
				 0);
		const struct rec *r = recset_get(rs, 0);
		assert_owner(r, "t.example.");
		assert_int_equal(r->type, KNOT_RRTYPE_TXT);
		txt_str(r, got, sizeof(got));
		assert_string_equal(got, cases[i].want);
		recset_free(rs);
	}
	/* whole rdata over 65535 bytes */
	const char *many[300];
	for (size_t i = 0; i < 300; i++)
		many[i] = s255;
	struct recset *rs = recset_new();
	assert_int_equal(recset_add_txt(rs, "t", many, 300, 9), BERTH_ETOOLONG);
	assert_int_equal(recset_add_txt(rs, "t", many, 255, 9), 0);
	assert_int_equal(recset_get(rs, 0)->rdlen, 255 * 256);
	recset_free(rs);
}

static void test_srv_mx_cname(void **state)
{
	uint8_t w[KNOT_DNAME_MAXLEN];
	struct recset *rs = recset_new();
	assert_int_equal(recset_add_srv(rs, "_http._tcp.Example", 10, 20, 8080, "Web.Example", 30),
			 0);
	assert_int_equal(recset_add_mx(rs, "example", 5, "mail.example.", 30), 0);
	assert_int_equal(
		recset_add_name_rr(rs, "www.example", KNOT_RRTYPE_CNAME, "web.example", 30), 0);
	assert_int_equal(recset_add_srv(rs, "_x._udp.example", 0, 0, 1, ".", 30), 0);

	const struct rec *srv = recset_get(rs, 0);
	assert_owner(srv, "_http._tcp.example.");
	assert_int_equal(srv->type, KNOT_RRTYPE_SRV);
	size_t len = wire(w, "web.example.");
	assert_int_equal(srv->rdlen, 6 + len);
	assert_memory_equal(srv->rdata, "\x00\x0a\x00\x14\x1f\x90", 6);
	assert_memory_equal(srv->rdata + 6, w, len);

	const struct rec *mx = recset_get(rs, 1);
	assert_int_equal(mx->type, KNOT_RRTYPE_MX);
	len = wire(w, "mail.example.");
	assert_int_equal(mx->rdlen, 2 + len);
	assert_memory_equal(mx->rdata, "\x00\x05", 2);
	assert_memory_equal(mx->rdata + 2, w, len);

	const struct rec *cn = recset_get(rs, 2);
	assert_int_equal(cn->type, KNOT_RRTYPE_CNAME);
	assert_owner(cn, "www.example.");
	len = wire(w, "web.example.");
	assert_int_equal(cn->rdlen, len);
	assert_memory_equal(cn->rdata, w, len);

	const struct rec *root = recset_get(rs, 3);
	assert_int_equal(root->rdlen, 7);
	assert_memory_equal(root->rdata, "\x00\x00\x00\x00\x00\x01\x00", 7);
	recset_free(rs);
}

static void test_raw_add(void **state)
{
	static const uint8_t owner[] = "\x03"
				       "FoO"
				       "\x07"
				       "EXAMPLE";
	static const uint8_t bad_owner[] = "\x40"
					   "x";
	struct recset *rs = recset_new();
	assert_int_equal(recset_add(rs, owner, KNOT_RRTYPE_A, 1, (const uint8_t *)"\1\2\3\4", 4),
			 0);
	assert_owner(recset_get(rs, 0), "foo.example.");
	assert_int_equal(recset_add(rs, owner, KNOT_RRTYPE_NULL, 1, NULL, 0), 0);
	assert_int_equal(recset_get(rs, 1)->rdlen, 0);
	assert_int_equal(recset_add(rs, bad_owner, KNOT_RRTYPE_A, 1, (const uint8_t *)"1234", 4),
			 -EINVAL);
	assert_int_equal(recset_add(rs, owner, KNOT_RRTYPE_A, 1, NULL, 4), -EINVAL);
	assert_int_equal(recset_add(NULL, owner, KNOT_RRTYPE_A, 1, NULL, 0), -EINVAL);
	/* many records: the array grows, earlier pointers' contents stay */
	for (int i = 0; i < 5000; i++)
		assert_int_equal(recset_add_addr(rs, "many.example", "192.0.2.7", (uint32_t)i), 0);
	assert_int_equal(recset_count(rs), 5002);
	assert_int_equal(recset_get(rs, 5001)->ttl, 4999);
	assert_owner(recset_get(rs, 0), "foo.example.");
	recset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),         cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_reverse_name), cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_txt),          cmocka_unit_test(test_srv_mx_cname),
		cmocka_unit_test(test_raw_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
