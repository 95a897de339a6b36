/* SPDX-License-Identifier: MIT */
/* Unit tests of base64: RFC 4648's vectors, round trips of every short length and of random
 * bytes, and refusal of what is not base64. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/b64.h"

static uint32_t rnd(uint32_t *s)
{
	/* xorshift32: the same bytes in every run */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static bool alphabet_only(const char *s, size_t len)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t pad = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || s[i] == '\0' || strchr(abc, s[i]) == NULL)
			return false; /* padding only at the end */
	}
	return pad <= 2;
}

/* Encode in[0..len) both ways, check the text, decode it and compare. */
static void round_trip(const uint8_t *in, size_t len)
{
	size_t size = b64_encoded_size(len);
	assert_int_equal(size, (len + 2) / 3 * 4 + 1);
	char *text = malloc(size + 8);
	assert_non_null(text);
	memset(text, 'X', size + 8);
	size_t n = b64_encode(in, len, text);
	assert_int_equal(n, size - 1);
	assert_int_equal(text[n], '\0');
	assert_int_equal(text[n + 1], 'X'); /* nothing written past the room it asked for */
	assert_int_equal(strlen(text), n);
	assert_true(alphabet_only(text, n));

	char *dup = b64_encode_new(in, len);
	assert_non_null(dup);
	assert_string_equal(dup, text);
	free(dup);

	uint8_t *out = (uint8_t *)"untouched";
	size_t outlen = 12345;
	assert_int_equal(b64_decode_new(text, n, &out, &outlen), 0);
	assert_int_equal(outlen, len);
	assert_int_equal(out[len], '\0');
	if (len > 0)
		assert_memory_equal(out, in, len);
	free(out);
	free(text);
}

static void test_rfc4648_vectors(void **state)
{
	static const struct {
		const char *plain;
		const char *b64;
	} v[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i].plain);
		char text[16];
		assert_int_equal(b64_encode((const uint8_t *)v[i].plain, len, text),
				 strlen(v[i].b64));
		assert_string_equal(text, v[i].b64);
		char *dup = b64_encode_new(v[i].plain, len);
		assert_non_null(dup);
		assert_string_equal(dup, v[i].b64);
		free(dup);

		uint8_t *out;
		size_t outlen;
		assert_int_equal(b64_decode_new(v[i].b64, strlen(v[i].b64), &out, &outlen), 0);
		assert_int_equal(outlen, len);
		assert_memory_equal(out, v[i].plain, len + 1); /* with the NUL */
		free(out);
	}
}

/* Every octet value, where each of the 64 characters and both paddings appear. */
static void test_all_octets(void **state)
{
	uint8_t all[256];
	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	round_trip(all, sizeof(all));
	char text[8];
	const uint8_t ff[3] = { 0xff, 0xff, 0xfe };
	b64_encode(ff, 3, text);
	assert_string_equal(text, "///+");
}

static void test_every_length_to_64(void **state)
{
	uint8_t buf[64];
	uint32_t s = 0x9e3779b9u;
	(void)state;
	for (size_t len = 0; len <= sizeof(buf); len++) {
		for (int k = 0; k < 16; k++) {
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rnd(&s);
			round_trip(buf, len);
		}
		memset(buf, 0, len);
		round_trip(buf, len);
		memset(buf, 0xff, len);
		round_trip(buf, len);
	}
}

static void test_random_bytes(void **state)
{
	enum { MAX = 70000 }; /* past 65535, the largest rdata */
	uint8_t *buf = malloc(MAX);
	uint32_t s = 20240601;
	(void)state;
	assert_non_null(buf);
	for (int k = 0; k < 300; k++) {
		size_t len = k < 4 ? MAX - (size_t)k : rnd(&s) % 5000;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd(&s);
		round_trip(buf, len);
	}
	free(buf);
}

static void test_refuses_non_base64(void **state)
{
	static const char *const bad[] = {
		"Z",         /* 6 bits: not one octet */
		"Zg",        /* unpadded */
		"Zg=",       /* short padding */
		"Zg===",     /* too much padding */
		"Zm9vYg=",   /* short padding after a full quantum */
		"Zm9vYg",    /* unpadded after a full quantum */
		"=",         /* padding alone */
		"====",      /* a quantum of padding */
		"Zm9v=Zm9v", /* data after padding */
		"Zm8=Zm8=",  /* two padded quanta */
		"Zh==",      /* bits left over in the padding */
		"Zm9=",      /* the same with one '=' */
		"Zm9v!",     /* not in the alphabet */
		"Zm9v*A==",  /* the same inside */
		"-_8=",      /* base64url's alphabet */
		"Zm9v\x80",  /* a byte past ASCII */
		"\xff\xff\xff\xff",
		"Zm9v.Zm9v",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *out = (uint8_t *)"untouched";
		size_t outlen = 777;
		if (b64_decode_new(bad[i], strlen(bad[i]), &out, &outlen) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
		/* nothing is given back on failure */
		assert_string_equal((const char *)out, "untouched");
		assert_int_equal(outlen, 777);
	}
	/* a NUL inside the given length is not base64 either */
	uint8_t *out = NULL;
	size_t outlen = 0;
	assert_int_equal(b64_decode_new("Zm\0v", 4, &out, &outlen), -EINVAL);
	assert_null(out);
	/* the length is what counts, not a NUL: "Zm9vYmFy" cut after "Zm9v" */
	assert_int_equal(b64_decode_new("Zm9vYmFy", 4, &out, &outlen), 0);
	assert_int_equal(outlen, 3);
	assert_memory_equal(out, "foo", 4);
	free(out);
	/* and the empty text is the empty string */
	assert_int_equal(b64_decode_new("", 0, &out, &outlen), 0);
	assert_int_equal(outlen, 0);
	assert_int_equal(out[0], '\0');
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),    cmocka_unit_test(test_all_octets),
		cmocka_unit_test(test_every_length_to_64), cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_refuses_non_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
