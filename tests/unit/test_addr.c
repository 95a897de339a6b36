/* SPDX-License-Identifier: MIT */
/* Unit tests of socket address and CIDR parsing, printing and matching. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "util/addr.h"

static struct sockaddr_storage sa_of(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return ss;
}

static bool match(const char *prefix, const char *ip)
{
	struct sockaddr_storage ss = sa_of(ip);
	struct cidr c;

	assert_int_equal(cidr_parse(&c, prefix), 0);
	return cidr_match(&c, (struct sockaddr *)&ss);
}

static void check_round_trip(const char *in, uint16_t def, const char *want)
{
	struct addr a;
	char buf[64];

	assert_int_equal(addr_parse(&a, in, def), 0);
	assert_string_equal(addr_str(&a, buf, sizeof(buf)), want);
}

static void test_parse_forms(void **state)
{
	struct addr a;
	char buf[64];

	check_round_trip("1.2.3.4:53", 0, "1.2.3.4:53");
	check_round_trip("1.2.3.4", 5353, "1.2.3.4:5353");
	check_round_trip("[::1]:8053", 0, "[::1]:8053");
	check_round_trip("[::1]", 53, "[::1]:53");
	check_round_trip("::1", 53, "[::1]:53");
	check_round_trip("2001:db8::1", 53, "[2001:db8::1]:53");
	check_round_trip("[2001:DB8::1]:65535", 53, "[2001:db8::1]:65535");
	check_round_trip("[::ffff:192.0.2.1]:53", 0, "[::ffff:192.0.2.1]:53");

	assert_int_equal(addr_parse(&a, "[fe80::1%1]:53", 0), 0);
	assert_int_equal(((struct sockaddr_in6 *)&a.ss)->sin6_scope_id, 1);

	assert_int_equal(addr_parse(&a, "10.0.0.1:99", 0), 0);
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(addr_port(&a), 99);
	assert_string_equal(addr_ip_str(&a, buf, sizeof(buf)), "10.0.0.1");

	assert_int_equal(addr_parse(&a, "[::2]:99", 0), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_string_equal(addr_ip_str(&a, buf, sizeof(buf)), "::2");

	/* A tiny buffer truncates, never overflows. */
	assert_string_equal(addr_str(&a, buf, 4), "[::");
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = { "",
					   ":53",
					   "1.2.3.4:",
					   "1.2.3.4:0",
					   "1.2.3.4:65536",
					   "1.2.3.4:5x",
					   "1.2.3.4:-1",
					   "1.2.3:53",
					   "256.1.1.1",
					   "localhost:53",
					   "[::1",
					   "[::1]x",
					   "[::1]:",
					   "[1.2.3.4]:53",
					   "[]:53",
					   "::1::2",
					   "[fe80::1%]:53",
					   "[fe80::1%nosuchif0]:53",
					   "1.2.3.4 :53",
					   "1.2.3.4:53 " };
	struct addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (addr_parse(&a, bad[i], 53) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(addr_parse(&a, NULL, 53), -EINVAL);
}

static void test_predicates(void **state)
{
	struct addr a, b;

	assert_int_equal(addr_parse(&a, "127.0.0.53", 53), 0);
	assert_true(addr_is_loopback(&a));
	assert_false(addr_is_any(&a));
	assert_int_equal(addr_parse(&a, "::1", 53), 0);
	assert_true(addr_is_loopback(&a));
	assert_int_equal(addr_parse(&a, "::ffff:127.0.0.1", 53), 0);
	assert_true(addr_is_loopback(&a));
	assert_int_equal(addr_parse(&a, "192.0.2.1", 53), 0);
	assert_false(addr_is_loopback(&a));
	assert_int_equal(addr_parse(&a, "0.0.0.0:53", 0), 0);
	assert_true(addr_is_any(&a));
	assert_int_equal(addr_parse(&a, "[::]:53", 0), 0);
	assert_true(addr_is_any(&a));
	assert_false(addr_is_loopback(&a));

	assert_int_equal(addr_parse(&a, "192.0.2.1:53", 0), 0);
	assert_int_equal(addr_parse(&b, "192.0.2.1", 53), 0);
	assert_true(addr_equal(&a, &b));
	assert_int_equal(addr_parse(&b, "192.0.2.1:54", 0), 0);
	assert_false(addr_equal(&a, &b));
	assert_int_equal(addr_parse(&b, "[::ffff:192.0.2.1]:53", 0), 0);
	assert_false(addr_equal(&a, &b));
	assert_int_equal(addr_parse(&a, "[2001:db8::1]:53", 0), 0);
	assert_int_equal(addr_parse(&b, "2001:db8:0::1", 53), 0);
	assert_true(addr_equal(&a, &b));
	assert_false(addr_equal(&a, NULL));
}

static void test_cidr_parse(void **state)
{
	static const char *const bad[] = {
		"",           "/8",          "10.0.0.0/",   "10.0.0.0/33",
		"10.0.0.0/x", "10.0.0.0/-1", "fc00::/129",  "fc00::/1000",
		"10.0.0/8",   "nonsense",    "10.0.0.0/8/8"
	};
	struct cidr c;

	assert_int_equal(cidr_parse(&c, "10.1.2.3/8"), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 8);
	/* Host bits are cleared. */
	assert_int_equal(c.bytes[0], 10);
	assert_int_equal(c.bytes[1], 0);
	assert_int_equal(c.bytes[3], 0);

	assert_int_equal(cidr_parse(&c, "192.0.2.7"), 0);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(cidr_parse(&c, "fc00::/7"), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 7);
	assert_int_equal(cidr_parse(&c, "::1"), 0);
	assert_int_equal(c.prefix, 128);
	/* An IPv4 prefix written as a mapped IPv6 one is an IPv4 prefix. */
	assert_int_equal(cidr_parse(&c, "::ffff:10.0.0.0/104"), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 8);
	assert_int_equal(c.bytes[0], 10);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cidr_parse(&c, bad[i]) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

static void test_cidr_match(void **state)
{
	assert_true(match("10.0.0.0/8", "10.255.1.2"));
	assert_false(match("10.0.0.0/8", "11.0.0.1"));
	assert_true(match("172.16.0.0/12", "172.31.255.255"));
	assert_false(match("172.16.0.0/12", "172.32.0.0"));
	assert_true(match("192.168.0.0/16", "192.168.77.1"));
	assert_true(match("192.0.2.7", "192.0.2.7"));
	assert_false(match("192.0.2.7", "192.0.2.8"));
	assert_true(match("0.0.0.0/0", "203.0.113.9"));
	assert_true(match("10.0.0.1/31", "10.0.0.0"));
	assert_false(match("10.0.0.1/31", "10.0.0.2"));

	assert_true(match("fc00::/7", "fd12:3456::1"));
	assert_false(match("fc00::/7", "fe80::1"));
	assert_true(match("::1/128", "::1"));
	assert_false(match("::1/128", "::2"));
	assert_true(match("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(match("2001:db8::/33", "2001:db8:8000::1"));

	/* Families never cross, except through IPv4-mapped addresses. */
	assert_false(match("10.0.0.0/8", "::a00:1"));
	assert_false(match("::/0", "10.0.0.1"));
	assert_true(match("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_true(match("127.0.0.0/8", "::ffff:127.0.0.1"));
	assert_false(match("10.0.0.0/8", "::ffff:11.1.2.3"));
	assert_true(match("::ffff:192.168.0.0/112", "192.168.3.4"));
	assert_true(match("::ffff:192.168.0.0/112", "::ffff:192.168.3.4"));
	assert_false(match("::ffff:192.168.0.0/112", "192.169.3.4"));

	{
		struct sockaddr_storage ss = sa_of("10.0.0.1");
		struct cidr c;

		assert_int_equal(cidr_parse(&c, "10.0.0.0/8"), 0);
		assert_false(cidr_match(&c, NULL));
		assert_false(cidr_match(NULL, (struct sockaddr *)&ss));
		ss.ss_family = AF_UNIX;
		assert_false(cidr_match(&c, (struct sockaddr *)&ss));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms), cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_predicates),  cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
