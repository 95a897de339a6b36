/* SPDX-License-Identifier: MIT */
/* Exponential backoff with jitter. */
#include "util/backoff.h"

#include "util/clock.h"

void backoff_seed(struct backoff *b, uint64_t seed)
{
	b->rng = seed ? seed : 0x9e3779b97f4a7c15u;
}

void backoff_init(struct backoff *b, unsigned min_ms, unsigned max_ms, unsigned jitter_pct)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms < min_ms ? min_ms : max_ms;
	b->jitter_pct = jitter_pct > 100 ? 100 : jitter_pct;
	b->cur_ms = b->min_ms;
	/* Two processes started together should not draw the same delays. */
	backoff_seed(b, mono_ns() ^ ((uint64_t)(uintptr_t)b << 16));
}

void backoff_reset(struct backoff *b)
{
	b->cur_ms = b->min_ms;
}

/* xorshift64*: plenty for spreading retries, and no global state. */
static uint64_t next_rand(struct backoff *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545f4914f6cdd1du;
}

unsigned backoff_next(struct backoff *b)
{
	unsigned d = b->cur_ms;
	b->cur_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
	if (b->jitter_pct == 0 || d == 0)
		return d;
	uint64_t span = (uint64_t)d * b->jitter_pct / 100;
	return d - (unsigned)((next_rand(b) >> 11) % (span + 1));
}
