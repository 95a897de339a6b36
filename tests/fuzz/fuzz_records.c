/* SPDX-License-Identifier: MIT */
/* libFuzzer target for records_parse(): one input is the text of one --records file (dnsmasq record lines). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "sources/records.h"
#include "store/recset.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_records: check failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                       \
			abort();                                                           \
		}                                                                          \
	} while (0)

static const char fuzz_file[] = "fuzz/records";

struct errs {
	unsigned count;
	unsigned max_line;
};

static void on_error(void *arg, const char *file, unsigned line, const char *msg)
{
	struct errs *e = arg;
	CHECK(file != NULL && strcmp(file, fuzz_file) == 0);
	CHECK(line >= 1 && line <= e->max_line);
	CHECK(msg != NULL && msg[0] != '\0');
	e->count++;
}

/* A wire name: labels of at most 63 octets, at most 255 in all, lowercase. */
static size_t check_name(const uint8_t *name, size_t max)
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
		for (size_t i = len - l; i < len; i++)
			CHECK(!(name[i] >= 'A' && name[i] <= 'Z'));
	}
}

static void check_recset(const struct recset *rs)
{
	for (size_t i = 0; i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		CHECK(r != NULL && r->owner != NULL);
		check_name(r->owner, KNOT_DNAME_MAXLEN);
		CHECK(r->rdlen == 0 || r->rdata != NULL);
		const uint8_t *d = r->rdata;
		size_t n = r->rdlen;
		switch (r->type) {
		case KNOT_RRTYPE_A:
			CHECK(n == 4);
			break;
		case KNOT_RRTYPE_AAAA:
			CHECK(n == 16);
			break;
		case KNOT_RRTYPE_PTR:
		case KNOT_RRTYPE_CNAME:
			CHECK(check_name(d, n) == n);
			break;
		case KNOT_RRTYPE_MX:
			CHECK(n > 2 && 2 + check_name(d + 2, n - 2) == n);
			break;
		case KNOT_RRTYPE_SRV:
			CHECK(n > 6 && 6 + check_name(d + 6, n - 6) == n);
			break;
		case KNOT_RRTYPE_TXT:
			/* character-strings, each a length octet and that many octets */
			CHECK(n >= 1);
			for (size_t off = 0; off < n; off += (size_t)d[off] + 1)
				CHECK(off + 1 + d[off] <= n);
			break;
		default:
			CHECK(!"records files give only A, AAAA, PTR, CNAME, MX, SRV and TXT");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log_setup(LOG_ERROR, 0);
		quiet = 1;
	}
	struct errs e = { .count = 0, .max_line = 1 };
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			e.max_line++;

	struct recset *rs = recset_new();
	CHECK(rs != NULL);
	int bad = records_parse(rs, fuzz_file, (const char *)data, size, 30, on_error, &e);
	CHECK(bad >= 0);
	CHECK((unsigned)bad == e.count);
	check_recset(rs);
	recset_free(rs);
	return 0;
}
