/* SPDX-License-Identifier: MIT */
/* The monotonic clock, in the units its callers keep. */
#pragma once
#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int64_t mono_ms(void)
{
	return (int64_t)(mono_ns() / 1000000u);
}

static inline double mono_s(void)
{
	return (double)mono_ns() / 1e9;
}
