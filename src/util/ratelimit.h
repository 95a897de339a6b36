/* SPDX-License-Identifier: MIT */
/* Rate-limited logging: a line of one kind once, then at most once per interval, counting the
 * ones held back. */
#pragma once
#include <stdbool.h>

struct ratelimit {
	double last; /* monotonic seconds of the last line let through; 0 = never */
	unsigned suppressed;
};

/* True when a line of this kind may be logged now (the first always may, then one per every_s
 * seconds); counts the ones it holds back. */
bool ratelimit_ok(struct ratelimit *rl, double every_s);
/* As ratelimit_ok at monotonic time now (seconds; tests). */
bool ratelimit_ok_at(struct ratelimit *rl, double every_s, double now);
/* A line of this kind was just logged another way: hold the next back from now. */
void ratelimit_mark(struct ratelimit *rl, double now);
/* The count of held-back lines, reset to 0 ("%u similar not logged"). */
unsigned ratelimit_take(struct ratelimit *rl);
