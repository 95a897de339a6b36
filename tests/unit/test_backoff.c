/* SPDX-License-Identifier: MIT */
/* Unit tests of util/backoff (bounds, growth, reset, jitter) and util/ratelimit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include "util/backoff.h"
#include "util/ratelimit.h"

static void test_growth_and_bounds(void **state)
{
	struct backoff b;
	const unsigned want[] = { 250, 500, 1000, 2000, 4000, 5000, 5000, 5000 };
	backoff_init(&b, 250, 5000, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(backoff_next(&b), want[i]);
	/* an odd ceiling is reached, not overshot */
	backoff_init(&b, 3, 10, 0);
	assert_int_equal(backoff_next(&b), 3);
	assert_int_equal(backoff_next(&b), 6);
	assert_int_equal(backoff_next(&b), 10);
	assert_int_equal(backoff_next(&b), 10);
	/* a ceiling below the floor is the floor */
	backoff_init(&b, 100, 10, 0);
	assert_int_equal(backoff_next(&b), 100);
	assert_int_equal(backoff_next(&b), 100);
	/* no overflow near the top of unsigned */
	backoff_init(&b, 0x80000000u, 0xffffffffu, 0);
	assert_int_equal(backoff_next(&b), 0x80000000u);
	assert_int_equal(backoff_next(&b), 0xffffffffu);
	assert_int_equal(backoff_next(&b), 0xffffffffu);
}

static void test_reset(void **state)
{
	struct backoff b;
	backoff_init(&b, 100, 1000, 0);
	backoff_next(&b);
	backoff_next(&b);
	assert_int_equal(backoff_next(&b), 400);
	backoff_reset(&b);
	assert_int_equal(backoff_next(&b), 100);
	assert_int_equal(backoff_next(&b), 200);
}

static void test_jitter_within_range(void **state)
{
	struct backoff b;
	backoff_init(&b, 1000, 8000, 30);
	backoff_seed(&b, 42);
	unsigned nominal = 1000;
	bool spread = false;
	for (int round = 0; round < 2000; round++) {
		unsigned d = backoff_next(&b);
		assert_true(d <= nominal);
		assert_true(d >= nominal - nominal * 30 / 100);
		if (d != nominal)
			spread = true;
		nominal = nominal * 2 > 8000 ? 8000 : nominal * 2;
		if (round % 5 == 4) {
			backoff_reset(&b);
			nominal = 1000;
		}
	}
	assert_true(spread);
	/* the lowest delays occur too: the whole range is used */
	unsigned lo = 1000;
	backoff_init(&b, 1000, 1000, 50);
	for (int i = 0; i < 1000; i++) {
		unsigned d = backoff_next(&b);
		assert_in_range(d, 500, 1000);
		if (d < lo)
			lo = d;
	}
	assert_true(lo < 550);
	/* jitter over 100 % is capped: never below 0, never above the nominal delay */
	backoff_init(&b, 10, 10, 250);
	for (int i = 0; i < 100; i++)
		assert_in_range(backoff_next(&b), 0, 10);
	/* the same seed draws the same delays */
	struct backoff x, y;
	backoff_init(&x, 100, 100000, 40);
	backoff_init(&y, 100, 100000, 40);
	backoff_seed(&x, 7);
	backoff_seed(&y, 7);
	for (int i = 0; i < 20; i++)
		assert_int_equal(backoff_next(&x), backoff_next(&y));
}

static void test_ratelimit(void **state)
{
	struct ratelimit rl = { 0 };
	assert_true(ratelimit_ok_at(&rl, 60, 1000.0)); /* the first one */
	assert_false(ratelimit_ok_at(&rl, 60, 1001.0));
	assert_false(ratelimit_ok_at(&rl, 60, 1059.9));
	assert_int_equal(ratelimit_take(&rl), 2);
	assert_int_equal(ratelimit_take(&rl), 0);
	assert_true(ratelimit_ok_at(&rl, 60, 1060.0));
	ratelimit_mark(&rl, 1100.0); /* logged another way */
	assert_false(ratelimit_ok_at(&rl, 60, 1150.0));
	assert_true(ratelimit_ok_at(&rl, 60, 1160.0));
	struct ratelimit now = { 0 };
	assert_true(ratelimit_ok(&now, 60));
	assert_false(ratelimit_ok(&now, 60));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growth_and_bounds),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_jitter_within_range),
		cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
