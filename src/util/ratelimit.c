/* SPDX-License-Identifier: MIT */
/* Rate-limited logging. */
#include "util/ratelimit.h"

#include "util/clock.h"

bool ratelimit_ok_at(struct ratelimit *rl, double every_s, double now)
{
	if (rl->last == 0 || now - rl->last >= every_s) {
		rl->last = now;
		return true;
	}
	rl->suppressed++;
	return false;
}

bool ratelimit_ok(struct ratelimit *rl, double every_s)
{
	return ratelimit_ok_at(rl, every_s, mono_s());
}

void ratelimit_mark(struct ratelimit *rl, double now)
{
	rl->last = now;
}

unsigned ratelimit_take(struct ratelimit *rl)
{
	unsigned n = rl->suppressed;
	rl->suppressed = 0;
	return n;
}
