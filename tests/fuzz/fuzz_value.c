/* SPDX-License-Identifier: MIT */
/* libFuzzer target for cluster_value_decode(): one input is the value of one etcd key, read as
 * that of node "n1", origin "docker:abc". What decodes must hold only well-formed records of
 * the publishable types, and must come back the same through encode, wrap and decode again. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "cluster/value.h"
#include "store/recset.h"
#include "util/err.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_value: check failed: %s (%s:%d)\n", #cond, __FILE__, \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define NODE "n1"
#define ORIGIN "docker:abc"

/* A wire name: labels of at most 63 octets, at most 255 in all, lowercase. */
static size_t check_name(const uint8_t *name, size_t max, bool lower)
{
	size_t len = 0;
	for (;;) {
		CHECK(len < max);
		uint8_t l = name[len];
		CHECK(l <= 63);
		len += (size_t)l + 1;
		CHECK(len <= KNOT_DNAME_MAXLEN && len <= max);
		if (l == 0)
			return len;
		for (size_t i = len - l; lower && i < len; i++)
			CHECK(!(name[i] >= 'A' && name[i] <= 'Z'));
	}
}

static void check_recset(const struct recset *rs)
{
	CHECK(recset_count(rs) <= CLUSTER_VALUE_MAX_RECORDS);
	for (size_t i = 0; i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		CHECK(r != NULL && r->owner != NULL);
		check_name(r->owner, KNOT_DNAME_MAXLEN, true);
		CHECK(r->ttl <= 2147483647u);
		CHECK(r->rdlen == 0 || r->rdata != NULL);
		const uint8_t *d = r->rdata;
		size_t n = r->rdlen;
		switch (r->type) {
		case KNOT_RRTYPE_A:
			CHECK(n == 4);
			CHECK(r->prefix <= 32);
			break;
		case KNOT_RRTYPE_AAAA:
			CHECK(n == 16);
			CHECK(r->prefix <= 128);
			break;
		case KNOT_RRTYPE_PTR:
		case KNOT_RRTYPE_CNAME:
			CHECK(check_name(d, n, false) == n);
			break;
		case KNOT_RRTYPE_MX:
			CHECK(n > 2 && 2 + check_name(d + 2, n - 2, false) == n);
			break;
		case KNOT_RRTYPE_SRV:
			CHECK(n > 6 && 6 + check_name(d + 6, n - 6, false) == n);
			break;
		case KNOT_RRTYPE_TXT:
			/* character-strings, each a length octet and that many octets */
			CHECK(n >= 1);
			for (size_t off = 0; off < n; off += (size_t)d[off] + 1)
				CHECK(off + 1 + d[off] <= n);
			break;
		default:
			CHECK(!"a value holds only A, AAAA, CNAME, PTR, SRV, TXT and MX");
		}
		if (r->type != KNOT_RRTYPE_A && r->type != KNOT_RRTYPE_AAAA)
			CHECK(r->prefix == 0);
	}
}

static void check_same(const struct recset *a, const struct recset *b)
{
	CHECK(recset_count(a) == recset_count(b));
	for (size_t i = 0; i < recset_count(a); i++) {
		const struct rec *x = recset_get(a, i), *y = recset_get(b, i);
		CHECK(knot_dname_is_equal(x->owner, y->owner));
		CHECK(x->type == y->type && x->ttl == y->ttl && x->prefix == y->prefix);
		CHECK(x->rdlen == y->rdlen);
		CHECK(x->rdlen == 0 || memcmp(x->rdata, y->rdata, x->rdlen) == 0);
	}
}

/* What the out-parameter holds before a decode that must leave it alone. */
static char untouched;
#define UNTOUCHED ((struct recset *)(void *)&untouched)

/* A refusal: a negative code of the documented ones, a message, the out-parameters alone. */
static void check_refused(int ret, const char *err, const struct recset *out, int64_t stamp)
{
	CHECK(ret == BERTH_EPARSE || ret == -EFBIG);
	CHECK(err[0] != '\0');
	CHECK(out == UNTOUCHED);
	CHECK(stamp == -77);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log_setup(LOG_ERROR, 0);
		quiet = 1;
	}
	const char *text = (const char *)data;
	struct recset *out = UNTOUCHED;
	int64_t stamp = -77;
	char err[256] = "";
	int ret = cluster_value_decode(text, size, NODE, ORIGIN, &out, &stamp, err, sizeof(err));
	if (ret != 0) {
		check_refused(ret, err, out, stamp);
		return 0;
	}
	CHECK(out != NULL && out != UNTOUCHED);
	check_recset(out);

	/* the same value is not that of another key */
	struct recset *other = UNTOUCHED;
	int64_t other_stamp = -77;
	err[0] = '\0';
	ret = cluster_value_decode(text, size, "n2", ORIGIN, &other, &other_stamp, err,
				   sizeof(err));
	check_refused(ret, err, other, other_stamp);

	/* encoded again (names may take more room as text: then it may be too big), it decodes
	 * to the same records, and the digest is a function of the records */
	char *json = NULL;
	size_t len = 0;
	uint64_t digest = 0, digest2 = 0;
	ret = cluster_records_json(out, &json, &len, &digest);
	CHECK(ret == 0 || ret == -EFBIG);
	if (ret == 0) {
		CHECK(json != NULL && strlen(json) == len);
		size_t vlen = 0;
		char *v = cluster_value_wrap(NODE, ORIGIN, stamp, json, len, &vlen);
		CHECK(v != NULL && strlen(v) == vlen);
		struct recset *again = NULL;
		int64_t stamp2 = 0;
		err[0] = '\0';
		ret = cluster_value_decode(v, vlen, NODE, ORIGIN, &again, &stamp2, err,
					   sizeof(err));
		if (ret != 0)
			fprintf(stderr, "fuzz_value: re-encoded value refused: %s\n", err);
		CHECK(ret == 0);
		CHECK(stamp2 == stamp);
		check_same(out, again);
		char *json2 = NULL;
		size_t len2 = 0;
		CHECK(cluster_records_json(again, &json2, &len2, &digest2) == 0);
		CHECK(len2 == len && memcmp(json, json2, len) == 0 && digest2 == digest);
		free(json2);
		recset_free(again);
		free(v);
		free(json);
	}
	recset_free(out);
	return 0;
}
