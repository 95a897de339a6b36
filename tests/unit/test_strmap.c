/* SPDX-License-Identifier: MIT */
/* Unit tests of the string map: put, get, delete and replace; growth; iteration, removal
 * while iterating, and clearing with a free function (ASan's leak check sees the rest). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"

/* A value that counts how often it was freed. */
struct val {
	int id;
	int *freed;
};

static struct val *val_new(int id, int *freed)
{
	struct val *v = malloc(sizeof(*v));
	assert_non_null(v);
	v->id = id;
	v->freed = freed;
	return v;
}

static void val_free(void *p)
{
	struct val *v = p;
	(*v->freed)++;
	free(v);
}

static void test_put_get_del_replace(void **state)
{
	struct strmap m = { 0 };
	int a = 1, b = 2, c = 3;
	void *old = &a;
	(void)state;

	/* an empty map, never set up, answers and deletes nothing */
	assert_null(strmap_get(&m, "x"));
	assert_null(strmap_del(&m, "x"));
	strmap_foreach(&m, NULL, NULL);
	strmap_clear(&m, NULL);

	assert_int_equal(strmap_put(&m, "x", &a, &old), 0);
	assert_null(old); /* new key: no old value */
	assert_int_equal(m.n, 1);
	assert_ptr_equal(strmap_get(&m, "x"), &a);
	assert_null(strmap_get(&m, "y"));
	assert_null(strmap_get(&m, "X")); /* keys are exact, case included */
	assert_null(strmap_get(&m, ""));

	/* replacing gives the old value back and keeps one entry */
	assert_int_equal(strmap_put(&m, "x", &b, &old), 0);
	assert_ptr_equal(old, &a);
	assert_int_equal(m.n, 1);
	assert_ptr_equal(strmap_get(&m, "x"), &b);
	/* old may be NULL */
	assert_int_equal(strmap_put(&m, "x", &c, NULL), 0);
	assert_ptr_equal(strmap_get(&m, "x"), &c);

	/* the empty key, and a NULL value, are entries like any other */
	assert_int_equal(strmap_put(&m, "", &a, &old), 0);
	assert_null(old);
	assert_int_equal(strmap_put(&m, "nul", NULL, &old), 0);
	assert_int_equal(m.n, 3);
	assert_ptr_equal(strmap_get(&m, ""), &a);
	assert_null(strmap_get(&m, "nul"));

	/* the key is copied */
	char key[8];
	strcpy(key, "copy");
	assert_int_equal(strmap_put(&m, key, &b, NULL), 0);
	strcpy(key, "gone");
	assert_ptr_equal(strmap_get(&m, "copy"), &b);
	assert_null(strmap_get(&m, "gone"));

	assert_ptr_equal(strmap_del(&m, "x"), &c);
	assert_null(strmap_get(&m, "x"));
	assert_null(strmap_del(&m, "x")); /* twice: absent */
	assert_int_equal(m.n, 3);
	assert_ptr_equal(strmap_del(&m, ""), &a);
	assert_null(strmap_del(&m, "nul"));
	assert_ptr_equal(strmap_del(&m, "copy"), &b);
	assert_int_equal(m.n, 0);
	/* put again after everything went */
	assert_int_equal(strmap_put(&m, "x", &a, &old), 0);
	assert_null(old);
	assert_ptr_equal(strmap_get(&m, "x"), &a);
	strmap_clear(&m, NULL);
	assert_int_equal(m.n, 0);
	assert_null(m.table);
	assert_null(strmap_get(&m, "x"));
	/* a cleared map is an empty map again */
	assert_int_equal(strmap_put(&m, "y", &b, NULL), 0);
	assert_ptr_equal(strmap_get(&m, "y"), &b);
	strmap_clear(&m, NULL);
}

/* Keys that share every byte but the last, long keys, and keys alike but for length. */
static void test_similar_keys(void **state)
{
	struct strmap m = { 0 };
	static int v[512];
	char key[300];
	(void)state;
	for (int i = 1; i < 256; i++) {
		snprintf(key, sizeof(key), "docker:%0250d%c", 0, (char)i);
		assert_int_equal(strmap_put(&m, key, &v[i], NULL), 0);
	}
	for (int i = 0; i < 200; i++) {
		memset(key, 'k', (size_t)i);
		key[i] = '\0';
		assert_int_equal(strmap_put(&m, key, &v[256 + i], NULL), 0);
	}
	assert_int_equal(m.n, 455);
	for (int i = 1; i < 256; i++) {
		snprintf(key, sizeof(key), "docker:%0250d%c", 0, (char)i);
		assert_ptr_equal(strmap_get(&m, key), &v[i]);
	}
	for (int i = 0; i < 200; i++) {
		memset(key, 'k', (size_t)i);
		key[i] = '\0';
		assert_ptr_equal(strmap_get(&m, key), &v[256 + i]);
	}
	strmap_clear(&m, NULL);
}

static void test_growth(void **state)
{
	enum { N = 50000 };
	struct strmap m = { 0 };
	char key[32];
	int freed = 0;
	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "node:n%d/docker:%x", i % 7, i);
		void *old = &freed;
		assert_int_equal(strmap_put(&m, key, val_new(i, &freed), &old), 0);
		assert_null(old);
		assert_int_equal(m.n, (size_t)i + 1);
		/* the table doubles: never fuller than one entry a bucket */
		assert_true(m.n <= m.mask + 1);
		assert_int_equal(m.mask & (m.mask + 1), 0);
	}
	assert_true(m.mask + 1 >= N);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "node:n%d/docker:%x", i % 7, i);
		struct val *v = strmap_get(&m, key);
		assert_non_null(v);
		assert_int_equal(v->id, i);
	}
	snprintf(key, sizeof(key), "node:n%d/docker:%x", 0, N);
	assert_null(strmap_get(&m, key));
	/* replace every third, delete every fifth */
	for (int i = 0; i < N; i += 3) {
		snprintf(key, sizeof(key), "node:n%d/docker:%x", i % 7, i);
		void *old = NULL;
		assert_int_equal(strmap_put(&m, key, val_new(-i, &freed), &old), 0);
		assert_non_null(old);
		assert_int_equal(((struct val *)old)->id, i);
		val_free(old);
	}
	size_t left = N;
	for (int i = 0; i < N; i += 5) {
		snprintf(key, sizeof(key), "node:n%d/docker:%x", i % 7, i);
		struct val *v = strmap_del(&m, key);
		assert_non_null(v);
		assert_int_equal(v->id, i % 3 == 0 ? -i : i);
		val_free(v);
		left--;
	}
	assert_int_equal(m.n, left);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "node:n%d/docker:%x", i % 7, i);
		struct val *v = strmap_get(&m, key);
		if (i % 5 == 0) {
			assert_null(v);
			continue;
		}
		assert_non_null(v);
		assert_int_equal(v->id, i % 3 == 0 ? -i : i);
	}
	int before = freed;
	strmap_clear(&m, val_free);
	assert_int_equal(freed - before, (int)left);
	assert_int_equal(m.n, 0);
	assert_null(m.table);
}

struct walk {
	struct strmap *m;
	size_t calls;
	long sum;
	unsigned char seen[1000];
	int freed;
};

static void count_fn(void *arg, const char *key, void *val)
{
	struct walk *w = arg;
	struct val *v = val;
	char want[32];
	snprintf(want, sizeof(want), "k%d", v->id);
	assert_string_equal(key, want); /* each key with its own value */
	assert_int_equal(w->seen[v->id], 0);
	w->seen[v->id] = 1;
	w->calls++;
	w->sum += v->id;
}

/* Remove the odd ids, freeing them; keep the even ones. */
static bool drop_odd(void *arg, const char *key, void *val)
{
	struct walk *w = arg;
	struct val *v = val;
	(void)key;
	w->calls++;
	if (v->id % 2 == 0)
		return false;
	val_free(v);
	return true;
}

static bool drop_all(void *arg, const char *key, void *val)
{
	val_free(val);
	(void)arg;
	(void)key;
	return true;
}

static bool drop_none(void *arg, const char *key, void *val)
{
	(void)key;
	(void)val;
	((struct walk *)arg)->calls++;
	return false;
}

static void test_foreach_and_foreach_del(void **state)
{
	enum { N = 1000 };
	struct strmap m = { 0 };
	struct walk w = { .m = &m };
	char key[32];
	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(strmap_put(&m, key, val_new(i, &w.freed), NULL), 0);
	}
	strmap_foreach(&m, count_fn, &w);
	assert_int_equal(w.calls, N);
	assert_int_equal(w.sum, (long)N * (N - 1) / 2);

	w.calls = 0;
	strmap_foreach_del(&m, drop_none, &w);
	assert_int_equal(w.calls, N);
	assert_int_equal(m.n, N);

	w.calls = 0;
	strmap_foreach_del(&m, drop_odd, &w);
	assert_int_equal(w.calls, N); /* every entry offered once */
	assert_int_equal(w.freed, N / 2);
	assert_int_equal(m.n, N / 2);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		struct val *v = strmap_get(&m, key);
		if (i % 2 != 0) {
			assert_null(v);
		} else {
			assert_non_null(v);
			assert_int_equal(v->id, i);
		}
	}
	/* what is left iterates as before, and takes new keys */
	memset(w.seen, 0, sizeof(w.seen));
	w.calls = 0;
	w.sum = 0;
	strmap_foreach(&m, count_fn, &w);
	assert_int_equal(w.calls, N / 2);
	assert_int_equal(w.sum, (long)(N / 2) * (N / 2 - 1)); /* 0 + 2 + ... + N-2 */
	assert_int_equal(strmap_put(&m, "k1", val_new(1, &w.freed), NULL), 0);
	assert_int_equal(m.n, N / 2 + 1);

	/* removing everything leaves an empty map with its table */
	strmap_foreach_del(&m, drop_all, &w);
	assert_int_equal(m.n, 0);
	assert_int_equal(w.freed, N + 1);
	assert_null(strmap_get(&m, "k0"));
	w.calls = 0;
	strmap_foreach(&m, count_fn, &w);
	assert_int_equal(w.calls, 0);
	strmap_clear(&m, val_free);
	assert_int_equal(w.freed, N + 1);

	/* both on a map never set up */
	struct strmap empty = { 0 };
	strmap_foreach_del(&empty, drop_all, NULL);
	strmap_foreach(&empty, count_fn, &w);
	assert_int_equal(w.calls, 0);
}

static void test_clear_frees_every_value(void **state)
{
	struct strmap m = { 0 };
	int freed = 0;
	char key[32];
	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "%d", i);
		assert_int_equal(strmap_put(&m, key, val_new(i, &freed), NULL), 0);
	}
	/* one value replaced, its old one freed by the caller: clear frees only the current */
	void *old = NULL;
	assert_int_equal(strmap_put(&m, "7", val_new(-7, &freed), &old), 0);
	val_free(old);
	assert_int_equal(freed, 1);
	strmap_clear(&m, val_free);
	assert_int_equal(freed, 5001);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.mask, 0);
	assert_null(m.table);
	strmap_clear(&m, val_free); /* twice: nothing */
	assert_int_equal(freed, 5001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del_replace),
		cmocka_unit_test(test_similar_keys),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_foreach_and_foreach_del),
		cmocka_unit_test(test_clear_frees_every_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
