/* SPDX-License-Identifier: MIT */
/* Exponential backoff with optional jitter: the delays before each retry of something that
 * keeps failing (a lost engine, an etcd endpoint). */
#pragma once
#include <stdint.h>

struct backoff {
	unsigned min_ms, max_ms;
	unsigned jitter_pct; /* 0..100 */
	unsigned cur_ms;     /* the next delay before jitter */
	uint64_t rng;
};

/* Delays start at min_ms and double up to max_ms (max_ms below min_ms is taken as min_ms).
 * With jitter_pct p (capped at 100), each delay is cut by a random part of up to p percent:
 * it lies in [d - d * p / 100, d], so retries of many clients spread out. */
void backoff_init(struct backoff *b, unsigned min_ms, unsigned max_ms, unsigned jitter_pct);
/* The delay to wait now; the one after it doubles, up to max_ms. */
unsigned backoff_next(struct backoff *b);
/* Start over from min_ms (after a success that lasted). */
void backoff_reset(struct backoff *b);
/* Make the jitter repeatable (tests). */
void backoff_seed(struct backoff *b, uint64_t seed);
