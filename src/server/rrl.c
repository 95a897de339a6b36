/* SPDX-License-Identifier: MIT */
/* Response rate limiting: a hashed table of token buckets, one per client
 * prefix, behind striped spin locks (a bucket is held for a few instructions). */
#include "server/rrl.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 16384 /* a power of two */
#define STRIPES 64
#define UNIT 1000000ull /* one response, in micro-tokens */
#define IDLE_US 1000000 /* a bucket unused this long may go to another prefix */

struct bucket {
	uint64_t key; /* 0: never used */
	uint64_t tokens;
	uint64_t last_us;
	uint32_t limited; /* responses over budget, for the slip */
};

struct rrl {
	uint64_t rate;
	pthread_spinlock_t locks[STRIPES];
	struct bucket buckets[BUCKETS];
};

struct rrl *rrl_new(uint32_t rate)
{
	if (rate == 0)
		return NULL;
	struct rrl *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->rate = rate;
	for (int i = 0; i < STRIPES; i++)
		pthread_spin_init(&r->locks[i], PTHREAD_PROCESS_PRIVATE);
	return r;
}

void rrl_free(struct rrl *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < STRIPES; i++)
		pthread_spin_destroy(&r->locks[i]);
	free(r);
}

/* The client's prefix as a non-zero key; 0 for a loopback client (never limited). */
static uint64_t prefix_key(const struct sockaddr *sa)
{
	const uint8_t *a;
	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(in6))
			return 0;
		if (!IN6_IS_ADDR_V4MAPPED(in6)) {
			uint64_t k = 2ull << 56;
			for (int i = 0; i < 7; i++) /* /56 */
				k |= (uint64_t)in6->s6_addr[i] << (8 * (6 - i));
			return k;
		}
		a = in6->s6_addr + 12;
	} else {
		return 0;
	}
	if (a[0] == 127)
		return 0;
	return 1ull << 56 | (uint64_t)a[0] << 16 | (uint64_t)a[1] << 8 | a[2]; /* /24 */
}

static uint32_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *client, uint64_t now_ns)
{
	if (r == NULL || client == NULL)
		return RRL_PASS;
	uint64_t key = prefix_key(client);
	if (key == 0)
		return RRL_PASS;
	uint32_t i = hash64(key) & (BUCKETS - 1);
	uint64_t now = now_ns / 1000;
	uint64_t cap = r->rate * UNIT;
	struct bucket *b = &r->buckets[i];
	enum rrl_verdict v = RRL_PASS;

	pthread_spin_lock(&r->locks[i % STRIPES]);
	if (b->key != key && (b->key == 0 || now - b->last_us >= IDLE_US)) {
		/* A new prefix, or one that takes over an idle bucket; a busy
		 * bucket is shared by prefixes that hash alike. */
		b->key = key;
		b->tokens = cap;
		b->last_us = now;
		b->limited = 0;
	}
	if (now > b->last_us) {
		uint64_t dt = now - b->last_us;
		b->tokens += (dt > IDLE_US ? IDLE_US : dt) * r->rate;
		if (b->tokens > cap)
			b->tokens = cap;
		b->last_us = now;
	}
	if (b->tokens >= UNIT) {
		b->tokens -= UNIT;
	} else {
		b->limited++;
		v = b->limited % 2 == 0 ? RRL_SLIP : RRL_DROP;
	}
	pthread_spin_unlock(&r->locks[i % STRIPES]);
	return v;
}
