/* SPDX-License-Identifier: MIT */
/* Unit tests of the recursion ACL: the defaults and matching of IPv4, IPv6 and mapped clients. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "forward/acl.h"

static struct sockaddr_storage sa(const char *ip)
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

static bool allowed(const struct cidr *list, size_t n, const char *ip)
{
	struct sockaddr_storage ss = sa(ip);

	return acl_allows(list, n, (const struct sockaddr *)&ss);
}

static void test_defaults_count(void **state)
{
	struct cidr list[8];
	struct cidr few[2];

	(void)state;
	assert_int_equal(acl_defaults(list, 8), 6);
	/* A short array is filled, not overrun. */
	assert_int_equal(acl_defaults(few, 2), 2);
	assert_int_equal(acl_defaults(NULL, 8), 0);
	assert_int_equal(acl_defaults(list, 0), 0);
}

static void test_defaults_allow_local(void **state)
{
	static const char *const ok[] = {
		"127.0.0.1",      "127.255.255.254",    "::1",
		"10.0.0.1",       "10.255.255.255",     "172.16.0.1",
		"172.31.255.255", "192.168.0.1",        "192.168.255.255",
		"fc00::1",        "fd12:3456:789a::53", "fdff:ffff::1",
	};
	struct cidr list[8];
	size_t n = acl_defaults(list, 8);

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (!allowed(list, n, ok[i]))
			fail_msg("%s should be allowed by default", ok[i]);
	}
}

static void test_defaults_deny_public(void **state)
{
	static const char *const no[] = {
		"198.51.100.8", "203.0.113.1", "192.0.2.7",     "172.15.255.255",  "172.32.0.0",
		"192.169.0.1",  "11.0.0.1",    "9.255.255.255", "128.0.0.1",       "0.0.0.0",
		"169.254.1.1",  "100.64.0.1",  "2001:db8::1",   "2606:4700::1111", "fe80::1",
		"::",           "::2",         "fe00::1",       "ff02::1",
	};
	struct cidr list[8];
	size_t n = acl_defaults(list, 8);

	(void)state;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (allowed(list, n, no[i]))
			fail_msg("%s should be denied by default", no[i]);
	}
}

static void test_mapped(void **state)
{
	struct cidr list[8];
	size_t n = acl_defaults(list, 8);

	(void)state;
	/* A dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d. */
	assert_true(allowed(list, n, "::ffff:127.0.0.1"));
	assert_true(allowed(list, n, "::ffff:10.1.2.3"));
	assert_true(allowed(list, n, "::ffff:192.168.1.1"));
	assert_false(allowed(list, n, "::ffff:198.51.100.8"));
	assert_false(allowed(list, n, "::ffff:172.32.0.1"));
	/* IPv4-compatible (not mapped) addresses are plain IPv6. */
	assert_false(allowed(list, n, "::127.0.0.1"));
}

static void test_custom_list(void **state)
{
	struct cidr list[2];

	(void)state;
	assert_int_equal(cidr_parse(&list[0], "203.0.113.0/24"), 0);
	assert_int_equal(cidr_parse(&list[1], "2001:db8:1::/48"), 0);
	assert_true(allowed(list, 2, "203.0.113.9"));
	assert_true(allowed(list, 2, "::ffff:203.0.113.200"));
	assert_true(allowed(list, 2, "2001:db8:1:ffff::1"));
	assert_false(allowed(list, 2, "203.0.114.1"));
	assert_false(allowed(list, 2, "2001:db8:2::1"));
	/* Only what is listed: no implicit loopback. */
	assert_false(allowed(list, 2, "127.0.0.1"));
	assert_false(allowed(list, 2, "::1"));
}

static void test_empty_and_null(void **state)
{
	struct cidr list[8];
	size_t n = acl_defaults(list, 8);
	struct sockaddr_storage ss = sa("127.0.0.1");
	struct sockaddr_storage un;

	(void)state;
	/* No prefixes: nobody gets recursion. */
	assert_false(acl_allows(list, 0, (const struct sockaddr *)&ss));
	assert_false(acl_allows(NULL, 3, (const struct sockaddr *)&ss));
	assert_false(acl_allows(list, n, NULL));
	/* A non-IP family (e.g. a unix socket) never matches. */
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	assert_false(acl_allows(list, n, (const struct sockaddr *)&un));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_count),
		cmocka_unit_test(test_defaults_allow_local),
		cmocka_unit_test(test_defaults_deny_public),
		cmocka_unit_test(test_mapped),
		cmocka_unit_test(test_custom_list),
		cmocka_unit_test(test_empty_and_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
