/* SPDX-License-Identifier: MIT */
/* Unit test of the error convention's helpers: berth_fail and berth_strerror. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/err.h"

static void test_fail_writes_and_returns(void **state)
{
	char err[64] = "old";

	assert_int_equal(berth_fail(err, sizeof(err), -EINVAL, "--ttl: \"%s\" is bad", "x"),
			 -EINVAL);
	assert_string_equal(err, "--ttl: \"x\" is bad");
	assert_int_equal(berth_fail(err, sizeof(err), BERTH_EPARSE, "line %u", 7u), BERTH_EPARSE);
	assert_string_equal(err, "line 7");
	/* Any code passes through, 0 included. */
	assert_int_equal(berth_fail(err, sizeof(err), 0, "%s", ""), 0);
	assert_string_equal(err, "");
}

static void test_fail_cuts_to_fit(void **state)
{
	char err[8];

	memset(err, 'z', sizeof(err));
	assert_int_equal(berth_fail(err, sizeof(err), -ENOMEM, "%s", "out of memory"), -ENOMEM);
	assert_string_equal(err, "out of ");
	/* errlen 1 leaves room for the NUL alone. */
	memset(err, 'z', sizeof(err));
	assert_int_equal(berth_fail(err, 1, -EIO, "abc"), -EIO);
	assert_int_equal(err[0], '\0');
	assert_int_equal(err[1], 'z');
}

static void test_fail_without_buffer(void **state)
{
	char err[4] = "abc";

	assert_int_equal(berth_fail(NULL, 100, -ENOENT, "no %s", "file"), -ENOENT);
	/* errlen 0: nothing is written. */
	assert_int_equal(berth_fail(err, 0, -ENOENT, "no %s", "file"), -ENOENT);
	assert_string_equal(err, "abc");
}

static void test_strerror(void **state)
{
	assert_string_equal(berth_strerror(0), "success");
	assert_string_equal(berth_strerror(BERTH_ERROR), "failure");
	assert_string_equal(berth_strerror(BERTH_EPARSE), "input could not be parsed");
	assert_string_equal(berth_strerror(BERTH_ETOOLONG), "name or value too long");
	assert_string_equal(berth_strerror(-ENOMEM), strerrordesc_np(ENOMEM));
	assert_string_equal(berth_strerror(-ENOENT), "No such file or directory");
	/* Codes nothing knows still get text. */
	assert_string_equal(berth_strerror(-99999), "unknown error");
	assert_string_equal(berth_strerror(-1099), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_writes_and_returns),
		cmocka_unit_test(test_fail_cuts_to_fit),
		cmocka_unit_test(test_fail_without_buffer),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
