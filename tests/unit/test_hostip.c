/* SPDX-License-Identifier: MIT */
/* Unit test of host address detection from a routing table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hostip.h"

static void test_detect(void **state)
{
	char path[] = "/tmp/berth-route-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	/* no default route at all: falls back to any non-loopback address, or ENOENT */
	const char *table = "Iface\tDestination\tGateway\tFlags\n";
	assert_true(write(fd, table, strlen(table)) > 0);
	close(fd);
	char ip[64];
	int ret = hostip_detect(path, ip, sizeof(ip));
	if (ret == 0) {
		struct in_addr a;
		assert_int_equal(inet_pton(AF_INET, ip, &a), 1);
		assert_int_not_equal(ip[0] == '1' && ip[1] == '2' && ip[2] == '7', 1);
	}
	assert_int_equal(hostip_detect("/nonexistent/route", ip, sizeof(ip)) == 0, ret == 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_detect) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
