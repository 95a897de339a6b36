/* SPDX-License-Identifier: MIT */
/* Record sets: a growable array of owned records, and helpers that build rdata with libknot. */
#include "store/recset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libknot/libknot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

/* Owners and rdata live in chunks that grow with the set and go with it:
 * a set is only ever added to, then freed whole. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	uint8_t data[];
};

struct recset {
	struct rec *recs;
	size_t n;
	size_t cap;
	struct chunk *mem;
	/* Owners of PTR records, for recset_add_reverse_first: open addressing,
	 * slot = record index + 1, 0 = empty. Kept only for PTRs, so a large
	 * forward-only set pays nothing. */
	uint32_t *ptrs;
	size_t ptr_mask;
	size_t nptrs;
};

struct recset *recset_new(void)
{
	return calloc(1, sizeof(struct recset));
}

void recset_free(struct recset *rs)
{
	if (rs == NULL)
		return;
	for (struct chunk *c = rs->mem, *next; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(rs->recs);
	free(rs->ptrs);
	free(rs);
}

size_t recset_count(const struct recset *rs)
{
	return rs == NULL ? 0 : rs->n;
}

const struct rec *recset_get(const struct recset *rs, size_t i)
{
	if (rs == NULL || i >= rs->n)
		return NULL;
	return &rs->recs[i];
}

static uint32_t name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= name[i];
		h *= 16777619u;
	}
	return h;
}

/* Slot for owner among the PTR owners: either the slot holding it or the
 * empty slot where it would go. */
static uint32_t *ptr_slot(const struct recset *rs, const uint8_t *owner, size_t len)
{
	size_t i = name_hash(owner, len) & rs->ptr_mask;
	for (;;) {
		uint32_t *slot = &rs->ptrs[i];
		if (*slot == 0)
			return slot;
		const struct rec *r = &rs->recs[*slot - 1];
		if (knot_dname_size(r->owner) == len && memcmp(r->owner, owner, len) == 0)
			return slot;
		i = (i + 1) & rs->ptr_mask;
	}
}

static int ptr_index_grow(struct recset *rs)
{
	size_t cap = rs->ptrs == NULL ? 64 : (rs->ptr_mask + 1) * 2;
	if (cap > UINT32_MAX)
		return -ENOMEM;
	uint32_t *old = rs->ptrs;
	size_t old_cap = old == NULL ? 0 : rs->ptr_mask + 1;
	rs->ptrs = calloc(cap, sizeof(*rs->ptrs));
	if (rs->ptrs == NULL) {
		rs->ptrs = old;
		return -ENOMEM;
	}
	rs->ptr_mask = cap - 1;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i] == 0)
			continue;
		const uint8_t *o = rs->recs[old[i] - 1].owner;
		*ptr_slot(rs, o, knot_dname_size(o)) = old[i];
	}
	free(old);
	return 0;
}

/* Remember a PTR owner; duplicates keep the first record. */
static int ptr_index_add(struct recset *rs, size_t idx)
{
	if ((rs->nptrs + 1) * 2 > (rs->ptrs == NULL ? 0 : rs->ptr_mask + 1)) {
		int ret = ptr_index_grow(rs);
		if (ret < 0)
			return ret;
	}
	const uint8_t *o = rs->recs[idx].owner;
	uint32_t *slot = ptr_slot(rs, o, knot_dname_size(o));
	if (*slot == 0) {
		*slot = (uint32_t)idx + 1;
		rs->nptrs++;
	}
	return 0;
}

static uint8_t *data_alloc(struct recset *rs, size_t len)
{
	struct chunk *c = rs->mem;
	if (c == NULL || c->size - c->used < len) {
		/* 256 bytes for a container's few records, doubling to 64 KB for big files */
		size_t size = c == NULL ? 256 : (c->size < 65536 ? c->size * 2 : 65536);
		if (size < len)
			size = len;
		c = malloc(sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		c->next = rs->mem;
		c->used = 0;
		c->size = size;
		rs->mem = c;
	}
	uint8_t *p = c->data + c->used;
	c->used += len;
	return p;
}

int recset_add(struct recset *rs, const uint8_t *owner, uint16_t type, uint32_t ttl,
	       const uint8_t *rdata, uint16_t rdlen)
{
	if (rs == NULL || owner == NULL || (rdata == NULL && rdlen > 0))
		return -EINVAL;
	if (knot_dname_wire_check(owner, owner + KNOT_DNAME_MAXLEN, NULL) <= 0)
		return -EINVAL;
	if (rs->n >= UINT32_MAX - 1)
		return -ENOMEM;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap == 0 ? 16 : rs->cap * 2;
		struct rec *recs = realloc(rs->recs, cap * sizeof(*recs));
		if (recs == NULL)
			return -ENOMEM;
		rs->recs = recs;
		rs->cap = cap;
	}
	size_t olen = knot_dname_size(owner);
	uint8_t *mem = data_alloc(rs, olen + rdlen);
	if (mem == NULL)
		return -ENOMEM;
	memcpy(mem, owner, olen);
	knot_dname_to_lower(mem);
	if (rdlen > 0)
		memcpy(mem + olen, rdata, rdlen);
	struct rec *r = &rs->recs[rs->n];
	r->owner = mem;
	r->rdata = mem + olen;
	r->ttl = ttl;
	r->type = type;
	r->rdlen = rdlen;
	r->prefix = 0;
	rs->n++;
	if (type == KNOT_RRTYPE_PTR) {
		int ret = ptr_index_add(rs, rs->n - 1);
		if (ret < 0) {
			rs->n--; /* its bytes stay in the chunk until the set is freed */
			return ret;
		}
	}
	return 0;
}

/* Presentation name to lowercase wire; returns the wire length or -EINVAL.
 * Printable ASCII only: libknot accepts any byte, DNS users do not. */
static int name_wire(const char *name, uint8_t out[KNOT_DNAME_MAXLEN])
{
	if (name == NULL || name[0] == '\0')
		return -EINVAL;
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return -EINVAL;
	if (knot_dname_from_str(out, name, KNOT_DNAME_MAXLEN) == NULL)
		return -EINVAL;
	knot_dname_to_lower(out);
	return (int)knot_dname_size(out);
}

int recset_add_addr(struct recset *rs, const char *owner, const char *ip, uint32_t ttl)
{
	uint8_t name[KNOT_DNAME_MAXLEN];
	uint8_t bin[16];
	if (ip == NULL || name_wire(owner, name) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET, ip, bin) == 1)
		return recset_add(rs, name, KNOT_RRTYPE_A, ttl, bin, 4);
	if (inet_pton(AF_INET6, ip, bin) == 1)
		return recset_add(rs, name, KNOT_RRTYPE_AAAA, ttl, bin, 16);
	return -EINVAL;
}

int recset_add_addr_net(struct recset *rs, const char *owner, const char *ip, uint8_t prefix,
			uint32_t ttl)
{
	int ret = recset_add_addr(rs, owner, ip, ttl);
	if (ret == 0) {
		struct rec *r = &rs->recs[rs->n - 1];
		uint8_t max = r->type == KNOT_RRTYPE_A ? 32 : 128;
		r->prefix = prefix <= max ? prefix : 0;
	}
	return ret;
}

int recset_add_net(struct recset *rs, const uint8_t *owner, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t rdlen, uint8_t prefix)
{
	int ret = recset_add(rs, owner, type, ttl, rdata, rdlen);
	if (ret == 0 && (type == KNOT_RRTYPE_A || type == KNOT_RRTYPE_AAAA)) {
		uint8_t max = type == KNOT_RRTYPE_A ? 32 : 128;
		rs->recs[rs->n - 1].prefix = prefix <= max ? prefix : 0;
	}
	return ret;
}

int recset_reverse_name(const char *ip, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	char buf[80];
	size_t n = 0;
	if (ip == NULL || out == NULL)
		return -EINVAL;
	if (inet_pton(AF_INET, ip, b) == 1) {
		n = (size_t)snprintf(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1],
				     b[0]);
	} else if (inet_pton(AF_INET6, ip, b) == 1) {
		for (int i = 15; i >= 0; i--) {
			buf[n++] = hex[b[i] & 0xf];
			buf[n++] = '.';
			buf[n++] = hex[b[i] >> 4];
			buf[n++] = '.';
		}
		memcpy(buf + n, "ip6.arpa", sizeof("ip6.arpa"));
		n += sizeof("ip6.arpa") - 1;
	} else {
		return -EINVAL;
	}
	if (n + 1 > outlen)
		return -ENOSPC;
	memcpy(out, buf, n + 1);
	return 0;
}

int recset_add_reverse(struct recset *rs, const char *ip, const char *target, uint32_t ttl)
{
	char rev[80];
	int ret = recset_reverse_name(ip, rev, sizeof(rev));
	if (ret < 0)
		return -EINVAL;
	return recset_add_name_rr(rs, rev, KNOT_RRTYPE_PTR, target, ttl);
}

int recset_add_reverse_first(struct recset *rs, const char *ip, const char *target, uint32_t ttl)
{
	char rev[80];
	uint8_t owner[KNOT_DNAME_MAXLEN];
	uint8_t rd[KNOT_DNAME_MAXLEN];
	int olen;
	int tlen;
	if (rs == NULL || recset_reverse_name(ip, rev, sizeof(rev)) < 0)
		return -EINVAL;
	if ((olen = name_wire(rev, owner)) < 0 || (tlen = name_wire(target, rd)) < 0)
		return -EINVAL;
	if (rs->ptrs != NULL && *ptr_slot(rs, owner, (size_t)olen) != 0)
		return 0;
	return recset_add(rs, owner, KNOT_RRTYPE_PTR, ttl, rd, (uint16_t)tlen);
}

int recset_add_name_rr(struct recset *rs, const char *owner, uint16_t type, const char *target,
		       uint32_t ttl)
{
	uint8_t name[KNOT_DNAME_MAXLEN];
	uint8_t rd[KNOT_DNAME_MAXLEN];
	int tlen;
	if (name_wire(owner, name) < 0 || (tlen = name_wire(target, rd)) < 0)
		return -EINVAL;
	return recset_add(rs, name, type, ttl, rd, (uint16_t)tlen);
}

int recset_add_txt(struct recset *rs, const char *owner, const char *const *strings, size_t n,
		   uint32_t ttl)
{
	uint8_t name[KNOT_DNAME_MAXLEN];
	uint8_t *rd = NULL;
	size_t need = 0;
	size_t pos = 0;
	int ret;
	if (name_wire(owner, name) < 0 || (strings == NULL && n > 0)) {
		ret = -EINVAL;
		goto out;
	}
	/* Each string becomes one or more character-strings of at most 255
	 * bytes, as dnsmasq splits them; no string at all is one empty one. */
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(strings[i]);
		need += len + (len == 0 ? 1 : (len + 254) / 255);
		if (need > UINT16_MAX) {
			ret = BERTH_ETOOLONG;
			goto out;
		}
	}
	if (n == 0)
		need = 1;
	rd = malloc(need);
	if (rd == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	if (n == 0)
		rd[pos++] = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = strings[i];
		size_t len = strlen(s);
		do {
			size_t chunk = len > 255 ? 255 : len;
			rd[pos++] = (uint8_t)chunk;
			memcpy(rd + pos, s, chunk);
			pos += chunk;
			s += chunk;
			len -= chunk;
		} while (len > 0);
	}
	ret = recset_add(rs, name, KNOT_RRTYPE_TXT, ttl, rd, (uint16_t)pos);
out:
	free(rd);
	return ret;
}

int recset_add_srv(struct recset *rs, const char *owner, uint16_t prio, uint16_t weight,
		   uint16_t port, const char *target, uint32_t ttl)
{
	uint8_t name[KNOT_DNAME_MAXLEN];
	uint8_t rd[6 + KNOT_DNAME_MAXLEN];
	int tlen;
	if (name_wire(owner, name) < 0 || (tlen = name_wire(target, rd + 6)) < 0)
		return -EINVAL;
	knot_wire_write_u16(rd, prio);
	knot_wire_write_u16(rd + 2, weight);
	knot_wire_write_u16(rd + 4, port);
	return recset_add(rs, name, KNOT_RRTYPE_SRV, ttl, rd, (uint16_t)(6 + tlen));
}

int recset_add_mx(struct recset *rs, const char *owner, uint16_t pref, const char *target,
		  uint32_t ttl)
{
	uint8_t name[KNOT_DNAME_MAXLEN];
	uint8_t rd[2 + KNOT_DNAME_MAXLEN];
	int tlen;
	if (name_wire(owner, name) < 0 || (tlen = name_wire(target, rd + 2)) < 0)
		return -EINVAL;
	knot_wire_write_u16(rd, pref);
	return recset_add(rs, name, KNOT_RRTYPE_MX, ttl, rd, (uint16_t)(2 + tlen));
}
