/* SPDX-License-Identifier: MIT */
/* Unit tests of response rate limiting: budgets per prefix, slip, refill, loopback. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "server/rrl.h"

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
	in->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &in->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void test_budget_and_slip(void **state)
{
	struct rrl *r = rrl_new(10);
	assert_non_null(r);
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.200"), c = v4("198.51.100.1");
	uint64_t t = 5000000000ull;
	for (int i = 0; i < 10; i++)
		assert_int_equal(rrl_check(r, SA(a), t), RRL_PASS);
	/* the same /24: one budget, now spent; every second one slips */
	assert_int_equal(rrl_check(r, SA(b), t), RRL_DROP);
	assert_int_equal(rrl_check(r, SA(a), t), RRL_SLIP);
	assert_int_equal(rrl_check(r, SA(a), t), RRL_DROP);
	assert_int_equal(rrl_check(r, SA(b), t), RRL_SLIP);
	/* another prefix has its own */
	assert_int_equal(rrl_check(r, SA(c), t), RRL_PASS);
	/* 100 ms later: one more response (10 per second) */
	t += 100000000ull;
	assert_int_equal(rrl_check(r, SA(a), t), RRL_PASS);
	assert_int_equal(rrl_check(r, SA(a), t), RRL_DROP);
	/* a second later: the whole budget again, never more */
	t += 5000000000ull;
	int pass = 0;
	for (int i = 0; i < 30; i++)
		pass += rrl_check(r, SA(a), t) == RRL_PASS;
	assert_int_equal(pass, 10);
	rrl_free(r);
}

static void test_loopback_and_off(void **state)
{
	struct rrl *r = rrl_new(1);
	struct sockaddr_storage lo = v4("127.0.0.1"), lo6 = v6("::1"),
				mapped = v6("::ffff:127.0.0.9");
	for (int i = 0; i < 100; i++) {
		assert_int_equal(rrl_check(r, SA(lo), 1000), RRL_PASS);
		assert_int_equal(rrl_check(r, SA(lo6), 1000), RRL_PASS);
		assert_int_equal(rrl_check(r, SA(mapped), 1000), RRL_PASS);
	}
	/* IPv6 by /56: 2001:db8:0:1:: and 2001:db8:0:ff:: share one */
	struct sockaddr_storage x = v6("2001:db8:0:1::1"), y = v6("2001:db8:0:ff::2"),
				z = v6("2001:db8:0:100::1");
	assert_int_equal(rrl_check(r, SA(x), 1000), RRL_PASS);
	assert_int_equal(rrl_check(r, SA(y), 1000), RRL_DROP);
	assert_int_equal(rrl_check(r, SA(z), 1000), RRL_PASS);
	rrl_free(r);
	assert_null(rrl_new(0));
	assert_int_equal(rrl_check(NULL, SA(x), 1000), RRL_PASS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_and_slip),
		cmocka_unit_test(test_loopback_and_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
