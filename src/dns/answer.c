/* SPDX-License-Identifier: MIT */
/* The query path: parse with libknot, look up the snapshot, copy precomputed records. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "dns/answer.h"

/* Every allocation libknot makes while parsing one query comes from this
 * per-worker arena, reset before the next query: no malloc per query. */
#define ARENA_SIZE (256 * 1024)
#define CNAME_CHAIN_MAX 8
#define OPT_SIZE 11
#define MERGE_MAX 1024 /* records merged from several names (patterns, ID prefixes) */
#define NAMES_MAX 32   /* names in a response that later names may point into */

enum { AN = 0, NS = 1, AR = 2 }; /* response sections */

struct dns_worker {
	knot_mm_t mm;
	size_t used;
	uint32_t rotate;
	struct dns_counters counters;
	_Alignas(16) uint8_t arena[ARENA_SIZE];
};

/* A worker's counters have one writer, the thread that answers, and are read
 * from another (HTTP): relaxed atomic loads and stores, no read-modify-write,
 * so the hot path pays no locked instruction. */
static void bump(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void *arena_alloc(void *ctx, size_t len)
{
	struct dns_worker *w = ctx;
	len = (len + 15) & ~(size_t)15;
	if (len > ARENA_SIZE - w->used)
		return NULL;
	void *p = w->arena + w->used;
	w->used += len;
	return p;
}

static void arena_free(void *p)
{
	(void)p; /* everything goes at once, at the next query */
}

struct dns_worker *dns_worker_new(void)
{
	struct dns_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->mm = (knot_mm_t){ .ctx = w, .alloc = arena_alloc, .free = arena_free };
	return w;
}

void dns_worker_free(struct dns_worker *w)
{
	free(w);
}

const struct dns_counters *dns_worker_counters(const struct dns_worker *w)
{
	return &w->counters;
}

const uint32_t dns_latency_bounds_us[DNS_LATENCY_BUCKETS - 1] = { 50,   100,  250,  500,
								  1000, 5000, 25000 };

const char *dns_qtype_slot_name(int slot)
{
	static const char *const names[DNS_QT_COUNT] = { "A",   "AAAA", "PTR",   "SRV",
							 "TXT", "MX",   "CNAME", "NS",
							 "SOA", "ANY",  "other" };
	return slot >= 0 && slot < DNS_QT_COUNT ? names[slot] : "other";
}

static int qtype_slot(uint16_t qtype)
{
	switch (qtype) {
	case KNOT_RRTYPE_A:
		return DNS_QT_A;
	case KNOT_RRTYPE_AAAA:
		return DNS_QT_AAAA;
	case KNOT_RRTYPE_PTR:
		return DNS_QT_PTR;
	case KNOT_RRTYPE_SRV:
		return DNS_QT_SRV;
	case KNOT_RRTYPE_TXT:
		return DNS_QT_TXT;
	case KNOT_RRTYPE_MX:
		return DNS_QT_MX;
	case KNOT_RRTYPE_CNAME:
		return DNS_QT_CNAME;
	case KNOT_RRTYPE_NS:
		return DNS_QT_NS;
	case KNOT_RRTYPE_SOA:
		return DNS_QT_SOA;
	case KNOT_RRTYPE_ANY:
		return DNS_QT_ANY;
	default:
		return DNS_QT_OTHER;
	}
}

void dns_worker_latency(struct dns_worker *w, uint64_t ns, uint64_t n)
{
	int b = 0;
	while (b < DNS_LATENCY_BUCKETS - 1 && ns > (uint64_t)dns_latency_bounds_us[b] * 1000)
		b++;
	bump(&w->counters.latency[b], n);
	bump(&w->counters.latency_sum_ns, ns * n);
}

void dns_worker_rate_limited(struct dns_worker *w, bool slipped)
{
	bump(&w->counters.rate_limited, 1);
	if (slipped)
		bump(&w->counters.rate_slipped, 1);
}

void dns_counters_add(struct dns_counters *sum, const struct dns_counters *c)
{
	sum->queries += get(&c->queries);
	for (int i = 0; i < DNS_QT_COUNT; i++)
		sum->qtype[i] += get(&c->qtype[i]);
	for (int i = 0; i < DNS_LATENCY_BUCKETS; i++)
		sum->latency[i] += get(&c->latency[i]);
	sum->latency_sum_ns += get(&c->latency_sum_ns);
	sum->forwarded += get(&c->forwarded);
	sum->dropped += get(&c->dropped);
	sum->truncated += get(&c->truncated);
	sum->rate_limited += get(&c->rate_limited);
	sum->rate_slipped += get(&c->rate_slipped);
	for (int r = 0; r < 16; r++)
		sum->rcode[r] += get(&c->rcode[r]);
}

/* A response being written: header and question are in place. */
struct resp {
	uint8_t *buf;
	size_t pos;
	size_t limit;  /* bytes we may use for records, OPT excluded */
	bool overflow; /* a record did not fit: truncate */
	uint16_t count[3];
	uint8_t nnames;
	uint16_t names[NAMES_MAX]; /* where names written in full (or in part) start */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 'a' - 'A') : c;
}

/* The labels of the name written at buf + at, pointers followed: their
 * positions into pos (at most max), the count returned. */
static size_t label_positions(const uint8_t *buf, size_t at, uint16_t *pos, size_t max)
{
	size_t n = 0;
	for (int hops = 0; hops < 16 && n < max;) {
		uint8_t l = buf[at];
		if ((l & 0xc0) == 0xc0) {
			at = (size_t)(l & 0x3f) << 8 | buf[at + 1];
			hops++;
			continue;
		}
		if (l == 0)
			break;
		pos[n++] = (uint16_t)at;
		at += (size_t)l + 1;
	}
	return n;
}

/* Is the name written at buf + at the uncompressed name s (case aside)? */
static bool name_is(const uint8_t *buf, size_t at, const uint8_t *s)
{
	for (int hops = 0; hops < 16;) {
		uint8_t l = buf[at];
		if ((l & 0xc0) == 0xc0) {
			at = (size_t)(l & 0x3f) << 8 | buf[at + 1];
			hops++;
			continue;
		}
		if (l != *s)
			return false;
		if (l == 0)
			return true;
		for (uint8_t i = 1; i <= l; i++)
			if (lower(buf[at + i]) != lower(s[i]))
				return false;
		at += (size_t)l + 1;
		s += l + 1;
	}
	return false;
}

/* Where in the response the name s (uncompressed, labels labels) is
 * already written, as a whole or as the tail of another name; -1: nowhere. */
static int find_name(const struct resp *r, const uint8_t *s, size_t labels)
{
	uint16_t pos[KNOT_DNAME_MAXLABELS];
	for (uint8_t i = 0; i < r->nnames; i++) {
		size_t n = label_positions(r->buf, r->names[i], pos, KNOT_DNAME_MAXLABELS);
		if (n >= labels && name_is(r->buf, pos[n - labels], s))
			return pos[n - labels];
	}
	return -1;
}

/* Write the uncompressed name at r->buf + at, its longest tail already in
 * the response replaced by a pointer (RFC 1035 4.1.4); returns its length. */
static size_t put_name(struct resp *r, size_t at, const uint8_t *name)
{
	size_t labels = 0, n;
	for (const uint8_t *p = name; *p != 0; p += *p + 1)
		labels++;
	const uint8_t *s = name;
	for (; *s != 0; s += *s + 1, labels--) {
		int q = find_name(r, s, labels);
		if (q >= 0) {
			n = (size_t)(s - name);
			memcpy(r->buf + at, name, n);
			put16(r->buf + at + n, (uint16_t)(0xc000 | q));
			n += 2;
			goto written;
		}
	}
	n = (size_t)(s - name) + 1;
	memcpy(r->buf + at, name, n);
written:
	if (n > 2 && at < 0x3fff && r->nnames < NAMES_MAX)
		r->names[r->nnames++] = (uint16_t)at;
	return n;
}

/* Length of the uncompressed name at rd, or 0 if it runs past len bytes. */
static size_t name_len(const uint8_t *rd, size_t len)
{
	size_t n = 0;
	while (n < len && rd[n] != 0 && rd[n] < 64)
		n += (size_t)rd[n] + 1;
	return n < len && rd[n] == 0 ? n + 1 : 0;
}

/* Write the RDATA rd of a type whose names RFC 3597 lets be compressed at
 * r->buf + at; returns its length, or 0 when it is no such RDATA. */
static size_t put_rdata(struct resp *r, size_t at, uint16_t type, const uint8_t *rd, size_t len)
{
	size_t n1, n2, w;
	switch (type) {
	case KNOT_RRTYPE_NS:
	case KNOT_RRTYPE_CNAME:
	case KNOT_RRTYPE_PTR:
		return name_len(rd, len) == len ? put_name(r, at, rd) : 0;
	case KNOT_RRTYPE_MX:
		if (len < 3 || name_len(rd + 2, len - 2) != len - 2)
			return 0;
		memcpy(r->buf + at, rd, 2);
		return 2 + put_name(r, at + 2, rd + 2);
	case KNOT_RRTYPE_SOA:
		n1 = name_len(rd, len);
		n2 = n1 > 0 ? name_len(rd + n1, len - n1) : 0;
		if (n2 == 0 || n1 + n2 + 20 != len)
			return 0;
		w = put_name(r, at, rd);
		w += put_name(r, at + w, rd + n1);
		memcpy(r->buf + at + w, rd + n1 + n2, 20);
		return w + 20;
	default:
		return 0;
	}
}

/* Append one RR: owner, then the tail (TYPE CLASS TTL RDLENGTH RDATA) with its
 * names compressed. The owner is owner_name written out (compressed), or when
 * that is NULL a 2-byte pointer to owner_ptr. */
static bool put_rr_owned(struct resp *r, int section, const uint8_t *owner_name, uint16_t owner_ptr,
			 const uint8_t *tail, size_t len)
{
	size_t olen = owner_name != NULL ? knot_dname_size(owner_name) : 2;
	if (r->overflow || len < 10 || r->pos + olen + len > r->limit) {
		r->overflow = true; /* compression never makes anything longer */
		return false;
	}
	size_t at = r->pos;
	if (owner_name != NULL)
		olen = put_name(r, at, owner_name);
	else
		put16(r->buf + at, (uint16_t)(0xc000 | owner_ptr));
	memcpy(r->buf + at + olen, tail, 8);
	uint16_t type = (uint16_t)(tail[0] << 8 | tail[1]);
	size_t w = put_rdata(r, at + olen + 10, type, tail + 10, len - 10);
	if (w == 0) {
		w = len - 10;
		memcpy(r->buf + at + olen + 10, tail + 10, w);
	}
	put16(r->buf + at + olen + 8, (uint16_t)w);
	r->pos = at + olen + 10 + w;
	r->count[section]++;
	return true;
}

/* Append one RR whose owner is a pointer to owner_ptr. */
static bool put_rr(struct resp *r, int section, uint16_t owner_ptr, const uint8_t *tail, size_t len)
{
	return put_rr_owned(r, section, NULL, owner_ptr, tail, len);
}

/* All records of an RRset, starting at a rotating index. */
static void put_rrset(struct resp *r, int section, uint16_t owner_ptr, const struct snap_rrset *rs,
		      uint32_t start)
{
	for (uint16_t i = 0; i < rs->count; i++) {
		uint16_t k = (uint16_t)((start + i) % rs->count);
		if (!put_rr(r, section, owner_ptr, rs->wire + rs->offs[k],
			    rs->offs[k + 1] - rs->offs[k]))
			return;
	}
}

/* Split horizon: the first address of rs on the client's own network, or -1. */
static int client_network_rr(const struct snap_rrset *rs, const struct sockaddr *client)
{
	if (rs->nets == NULL || client == NULL)
		return -1;
	const uint8_t *ip;
	size_t iplen;
	if (client->sa_family == AF_INET && rs->type == KNOT_RRTYPE_A) {
		ip = (const uint8_t *)&((const struct sockaddr_in *)client)->sin_addr;
		iplen = 4;
	} else if (client->sa_family == AF_INET6 && rs->type == KNOT_RRTYPE_AAAA) {
		ip = (const uint8_t *)&((const struct sockaddr_in6 *)client)->sin6_addr;
		iplen = 16;
	} else {
		return -1;
	}
	for (uint16_t i = 0; i < rs->count; i++) {
		uint8_t bits = rs->nets[i];
		const uint8_t *rd = rs->wire + rs->offs[i] + 10;
		if (bits == 0 || bits > iplen * 8 || memcmp(rd, ip, bits / 8) != 0)
			continue;
		uint8_t mask = (uint8_t)(0xff00 >> (bits % 8));
		if (bits % 8 == 0 || ((rd[bits / 8] ^ ip[bits / 8]) & mask) == 0)
			return i;
	}
	return -1;
}

/* An address RRset: the client's own network first, the rest rotated. */
static void put_addresses(struct resp *r, uint16_t owner_ptr, const struct snap_rrset *rs,
			  uint32_t rot, const struct sockaddr *client)
{
	int first = client_network_rr(rs, client);
	if (first < 0) {
		put_rrset(r, AN, owner_ptr, rs, rot);
		return;
	}
	uint32_t k = (uint32_t)first;
	if (!put_rr(r, AN, owner_ptr, rs->wire + rs->offs[k], rs->offs[k + 1] - rs->offs[k]))
		return;
	for (uint16_t i = 0; i < rs->count; i++) {
		uint16_t j = (uint16_t)((rot + i) % rs->count);
		if (j != k && !put_rr(r, AN, owner_ptr, rs->wire + rs->offs[j],
				      rs->offs[j + 1] - rs->offs[j]))
			return;
	}
}

/* Offset of the zone apex inside the question name, for a compression pointer. */
static uint16_t apex_offset(const uint8_t *qname, size_t qname_len, const struct snap_zone *z)
{
	size_t off = 0;
	while (qname_len - off > z->apex_len)
		off += (size_t)qname[off] + 1;
	return (uint16_t)(KNOT_WIRE_HEADER_SIZE + off);
}

/* Is the zone's apex the question name or one of its ancestors? */
static bool apex_in_qname(const uint8_t *qname, size_t qname_len, const struct snap_zone *z)
{
	size_t off = 0;
	while (qname_len - off > z->apex_len)
		off += (size_t)qname[off] + 1;
	return qname_len - off == z->apex_len && memcmp(qname + off, z->apex, z->apex_len) == 0;
}

/* The zone's SOA in the authority section. Owned names outside every zone
 * get none: berth is no zone's apex there, and claiming one would be false. */
static void put_soa(struct resp *r, const struct snap_zone *z, const uint8_t *qname,
		    size_t qname_len)
{
	if (z == NULL || r->overflow)
		return;
	if (apex_in_qname(qname, qname_len, z)) {
		put_rr(r, NS, apex_offset(qname, qname_len, z), z->soa, z->soa_len);
		return;
	}
	/* A CNAME target's zone: its apex is written out (compressed). */
	put_rr_owned(r, NS, z->apex, 0, z->soa, z->soa_len);
}

enum chase_end {
	CHASE_NODE,    /* *node answers with its own records */
	CHASE_LEFT,    /* the chain leaves berth's names: the client goes on from there */
	CHASE_MISSING, /* the target does not exist in zone *zone: NXDOMAIN (RFC 6604) */
	CHASE_LOOP,    /* too long or a loop: SERVFAIL */
};

/* Follow CNAMEs inside the snapshot, writing each. On CHASE_NODE, *node is the
 * node whose own records answer and *owner_ptr points at its name. */
static enum chase_end chase_cname(struct resp *r, const struct snapshot *s,
				  const struct snap_node **node, uint16_t qtype,
				  uint16_t *owner_ptr, const struct snap_zone **zone)
{
	if (qtype == KNOT_RRTYPE_CNAME || qtype == KNOT_RRTYPE_ANY)
		return CHASE_NODE;
	for (int hop = 0; hop <= CNAME_CHAIN_MAX; hop++) {
		const struct snap_rrset *cname = snap_node_rrset(*node, KNOT_RRTYPE_CNAME);
		if (cname == NULL)
			return CHASE_NODE;
		if (hop == CNAME_CHAIN_MAX)
			return CHASE_LOOP;
		size_t rr_at = r->pos;
		if (!put_rr(r, AN, *owner_ptr, cname->wire, cname->offs[1]))
			return CHASE_LEFT; /* truncated anyway */
		size_t target_at = rr_at + 2 + 10;
		if (target_at >= 0x3fff)
			return CHASE_LEFT; /* no pointer can reach it: the client chases the rest */
		uint8_t target[KNOT_DNAME_MAXLEN];
		memcpy(target, cname->wire + 10, knot_dname_size(cname->wire + 10));
		knot_dname_to_lower(target);
		const struct snap_node *next = snapshot_find(s, target, knot_dname_size(target));
		if (next == NULL) {
			*zone = snapshot_zone_of(s, target);
			return *zone != NULL ? CHASE_MISSING : CHASE_LEFT;
		}
		*node = next;
		*owner_ptr = (uint16_t)target_at;
	}
	return CHASE_LOOP;
}

/* Glue: the addresses berth knows for the NS targets of the n records written
 * from at, in the additional section, their owners pointing at the targets.
 * Glue is optional: when it does not all fit, there is none, and no TC. */
static void put_glue(struct resp *r, const struct snapshot *s, size_t at, uint16_t n, uint32_t rot)
{
	if (r->overflow)
		return;
	struct resp saved = *r;
	for (uint16_t i = 0; i < n; i++) {
		size_t rdlen = (size_t)r->buf[at + 10] << 8 | r->buf[at + 11];
		size_t name_at = at + 12;
		uint8_t name[KNOT_DNAME_MAXLEN];
		at += 12 + rdlen;
		if (name_at >= 0x3fff ||
		    knot_dname_unpack(name, r->buf + name_at, sizeof(name), r->buf) <= 0)
			continue;
		knot_dname_to_lower(name);
		const struct snap_node *node = snapshot_find(s, name, knot_dname_size(name));
		static const uint16_t types[] = { KNOT_RRTYPE_A, KNOT_RRTYPE_AAAA };
		for (size_t t = 0; node != NULL && t < 2; t++) {
			const struct snap_rrset *rs = snap_node_rrset(node, types[t]);
			if (rs != NULL)
				put_rrset(r, AR, (uint16_t)name_at, rs, rot);
		}
	}
	if (r->overflow)
		*r = saved;
}

static uint8_t rcode_of_miss(const struct dns_query_info *qi)
{
	return qi->servfail_miss ? KNOT_RCODE_SERVFAIL : KNOT_RCODE_NXDOMAIN;
}

/* Records of several nodes under the question name, each distinct record once
 * (dnsdock: every container that matches is returned). */
static bool put_merged(struct resp *r, const struct snap_node *const *nodes, size_t n,
		       uint16_t qtype)
{
	const uint8_t *seen[MERGE_MAX];
	uint32_t seen_len[MERGE_MAX];
	size_t nseen = 0;
	for (size_t i = 0; i < n; i++) {
		for (uint16_t t = 0; t < nodes[i]->nrrsets; t++) {
			const struct snap_rrset *rs = &nodes[i]->rrsets[t];
			if (rs->type != qtype &&
			    !(qtype == KNOT_RRTYPE_ANY && rs->type != KNOT_RRTYPE_SOA &&
			      rs->type != KNOT_RRTYPE_NS))
				continue;
			for (uint16_t k = 0; k < rs->count && nseen < MERGE_MAX; k++) {
				const uint8_t *rr = rs->wire + rs->offs[k];
				uint32_t len = rs->offs[k + 1] - rs->offs[k];
				bool dup = false;
				/* same record from another node: skip (TTL bytes 4..8 may differ) */
				for (size_t j = 0; j < nseen && !dup; j++)
					dup = seen_len[j] == len && memcmp(seen[j], rr, 4) == 0 &&
					      memcmp(seen[j] + 8, rr + 8, len - 8) == 0;
				if (dup)
					continue;
				seen[nseen] = rr;
				seen_len[nseen++] = len;
				if (!put_rr(r, AN, KNOT_WIRE_HEADER_SIZE, rr, len))
					return true;
			}
		}
	}
	return nseen > 0;
}

/* A name that does not exist inside zone z: dnsdock patterns, Docker ID
 * prefixes, then RFC 4592 wildcards; NXDOMAIN when none applies. */
static uint8_t answer_missing(struct resp *r, const struct snapshot *s, const knot_pkt_t *q,
			      const struct snap_zone *z, struct dns_query_info *qi, uint32_t rot)
{
	const uint8_t *qname = knot_pkt_qname(q);
	size_t qname_len = q->qname_size;
	uint16_t qtype = knot_pkt_qtype(q);
	const struct snap_node *nodes[MERGE_MAX];
	size_t n = 0;
	if (snapshot_has_star(qname))
		n = snapshot_match_pattern(s, qname, qname_len, z, nodes, MERGE_MAX);
	if (n == 0)
		n = snapshot_id_prefix(s, qname, z, nodes, MERGE_MAX);
	if (n > 0) {
		if (!put_merged(r, nodes, n, qtype))
			put_soa(r, z, qname, qname_len);
		return KNOT_RCODE_NOERROR;
	}
	const struct snap_node *wild = snapshot_wildcard(s, qname, qname_len, z);
	if (wild != NULL) {
		/* Synthesised from "*.<encloser>": the owner is the question name. */
		const struct snap_rrset *rs =
			qtype == KNOT_RRTYPE_ANY ? NULL : snap_node_rrset(wild, qtype);
		if (rs != NULL)
			put_rrset(r, AN, KNOT_WIRE_HEADER_SIZE, rs, rot);
		else if (qtype == KNOT_RRTYPE_ANY)
			put_merged(r, &wild, 1, qtype);
		else if ((rs = snap_node_rrset(wild, KNOT_RRTYPE_CNAME)) != NULL)
			put_rrset(r, AN, KNOT_WIRE_HEADER_SIZE, rs, 0);
		else
			put_soa(r, z, qname, qname_len);
		return KNOT_RCODE_NOERROR;
	}
	if (!qi->servfail_miss)
		put_soa(r, z, qname, qname_len);
	return rcode_of_miss(qi);
}

/* The EDNS of a query, read from the wire without libknot: error replies need
 * it for queries libknot would not parse (RFC 6891 6.1.1). */
struct edns_in {
	bool present;
	bool do_bit;
	bool nsid; /* asks for the NSID */
};

/* Does OPT rdata (well-formed options only) ask for the NSID? */
static bool wants_nsid(const uint8_t *rd, size_t len)
{
	while (len >= 4) {
		size_t olen = (size_t)rd[2] << 8 | rd[3];
		if (olen > len - 4)
			return false;
		if ((rd[0] << 8 | rd[1]) == KNOT_EDNS_OPTION_NSID)
			return true;
		rd += 4 + olen;
		len -= 4 + olen;
	}
	return false;
}

/* Length of the name at q + off, compression pointers allowed, or 0. */
static size_t name_len_at(const uint8_t *q, size_t qlen, size_t off)
{
	if (off >= qlen)
		return 0;
	int n = knot_dname_wire_check(q + off, q + qlen, q);
	return n > 0 ? (size_t)n : 0;
}

/* Walk every section of q: one OPT with the root as owner in the additional
 * section, and records that fill the packet as the counts say, give *e. */
static void edns_of_wire(const uint8_t *q, size_t qlen, struct edns_in *e)
{
	*e = (struct edns_in){ 0 };
	size_t off = KNOT_WIRE_HEADER_SIZE;
	for (uint16_t i = 0; i < knot_wire_get_qdcount(q); i++) {
		size_t n = name_len_at(q, qlen, off);
		if (n == 0 || off + n + 4 > qlen)
			return;
		off += n + 4;
	}
	uint32_t before = (uint32_t)knot_wire_get_ancount(q) + knot_wire_get_nscount(q);
	uint32_t total = before + knot_wire_get_arcount(q);
	int opts = 0;
	bool do_bit = false, nsid = false;
	for (uint32_t i = 0; i < total; i++) {
		size_t n = name_len_at(q, qlen, off);
		if (n == 0 || off + n + 10 > qlen)
			return;
		const uint8_t *rr = q + off + n;
		size_t rdlen = (size_t)rr[8] << 8 | rr[9];
		if (off + n + 10 + rdlen > qlen)
			return;
		if (i >= before && (rr[0] << 8 | rr[1]) == KNOT_RRTYPE_OPT) {
			if (n != 1)
				return; /* an OPT not at the root: not an OPT we can read */
			opts++;
			do_bit = (rr[6] & 0x80) != 0;
			nsid = wants_nsid(rr + 10, rdlen);
		}
		off += n + 10 + rdlen;
	}
	e->present = opts == 1;
	e->do_bit = do_bit;
	e->nsid = nsid;
}

/* The size of berth's OPT record, with an NSID of nsid_len bytes or none (-1). */
static size_t opt_size(int nsid_len)
{
	return OPT_SIZE + (nsid_len >= 0 ? 4 + (size_t)nsid_len : 0);
}

/* Berth's OPT record at p (opt_size bytes): its UDP size, the upper bits of
 * rcode, DO as the client sent it (RFC 3225), the NSID if not NULL. */
static size_t put_opt(uint8_t *p, uint16_t udp_size, uint16_t rcode, bool do_bit, const char *nsid)
{
	size_t nlen = nsid != NULL ? strlen(nsid) : 0;
	p[0] = 0; /* root owner */
	put16(p + 1, KNOT_RRTYPE_OPT);
	put16(p + 3, udp_size);
	p[5] = (uint8_t)(rcode >> 4); /* extended RCODE */
	p[6] = KNOT_EDNS_VERSION;
	put16(p + 7, do_bit ? 0x8000 : 0);
	if (nsid == NULL) {
		put16(p + 9, 0);
		return OPT_SIZE;
	}
	put16(p + 9, (uint16_t)(4 + nlen));
	put16(p + 11, KNOT_EDNS_OPTION_NSID);
	put16(p + 13, (uint16_t)nlen);
	memcpy(p + 15, nsid, nlen);
	return OPT_SIZE + 4 + nlen;
}

/* The NSID of berth's OPT: nsid when the client asks and it fits in room bytes. */
static const char *nsid_for(const char *nsid, bool asked, size_t room)
{
	if (nsid == NULL || !asked || opt_size((int)strlen(nsid)) > room)
		return NULL;
	return nsid;
}

size_t dns_error_response(const uint8_t *q, size_t qlen, uint8_t rcode, uint16_t udp_size,
			  const char *nsid, uint8_t *out, size_t outmax)
{
	if (qlen < KNOT_WIRE_HEADER_SIZE || outmax < KNOT_WIRE_HEADER_SIZE)
		return 0;
	memset(out, 0, KNOT_WIRE_HEADER_SIZE);
	knot_wire_set_id(out, knot_wire_get_id(q));
	knot_wire_set_qr(out);
	knot_wire_set_opcode(out, knot_wire_get_opcode(q));
	if (knot_wire_get_rd(q))
		knot_wire_set_rd(out);
	knot_wire_set_rcode(out, rcode);
	size_t len = KNOT_WIRE_HEADER_SIZE;
	if (knot_wire_get_qdcount(q) >= 1) {
		int nlen = knot_dname_wire_check(q + len, q + qlen, NULL);
		if (nlen > 0 && len + (size_t)nlen + 4 <= qlen &&
		    len + (size_t)nlen + 4 <= outmax) {
			memcpy(out + len, q + len, (size_t)nlen + 4);
			len += (size_t)nlen + 4;
			knot_wire_set_qdcount(out, 1);
		}
	}
	struct edns_in e;
	edns_of_wire(q, qlen, &e);
	if (e.present && len + OPT_SIZE <= outmax) {
		nsid = nsid_for(nsid, e.nsid, outmax - len);
		len += put_opt(out + len, udp_size, rcode, e.do_bit, nsid);
		knot_wire_set_arcount(out, 1);
	}
	return len;
}

static bool bad_qtype(uint16_t qtype)
{
	return qtype == KNOT_RRTYPE_OPT || qtype == KNOT_RRTYPE_TSIG || qtype == 0;
}

static uint8_t answer_from_snapshot(struct resp *r, const struct snapshot *s, const knot_pkt_t *q,
				    struct dns_query_info *qi, uint32_t rot, bool *forward)
{
	const uint8_t *qname = knot_pkt_qname(q);
	size_t qname_len = q->qname_size;
	uint16_t qtype = knot_pkt_qtype(q);
	const struct snap_node *node = snapshot_find(s, qname, qname_len);
	if (node == NULL) {
		const struct snap_zone *z = snapshot_zone_of(s, qname);
		if (z != NULL)
			return answer_missing(r, s, q, z, qi, rot);
		*forward = true;
		return KNOT_RCODE_REFUSED;
	}
	uint16_t owner_ptr = KNOT_WIRE_HEADER_SIZE;
	const struct snap_node *target = node;
	const struct snap_zone *missing_zone = NULL;
	switch (chase_cname(r, s, &target, qtype, &owner_ptr, &missing_zone)) {
	case CHASE_NODE:
		break;
	case CHASE_LEFT:
		return KNOT_RCODE_NOERROR;
	case CHASE_MISSING:
		put_soa(r, missing_zone, qname, qname_len);
		return KNOT_RCODE_NXDOMAIN;
	case CHASE_LOOP:
		return KNOT_RCODE_SERVFAIL;
	}
	size_t before = r->count[AN];
	if (qtype == KNOT_RRTYPE_ANY) {
		for (uint16_t i = 0; i < target->nrrsets; i++)
			put_rrset(r, AN, owner_ptr, &target->rrsets[i], rot);
	} else {
		const struct snap_rrset *rs = snap_node_rrset(target, qtype);
		size_t at = r->pos;
		if (rs != NULL)
			put_addresses(r, owner_ptr, rs, rot, qi->client);
		if (qtype == KNOT_RRTYPE_NS && rs != NULL)
			put_glue(r, s, at, (uint16_t)(r->count[AN] - before), rot);
	}
	if (r->count[AN] == before && !r->overflow)
		put_soa(r, snap_node_zone(s, target), qname,
			qname_len); /* NODATA, at the end of any chain */
	return KNOT_RCODE_NOERROR;
}

enum dns_action dns_answer(struct dns_worker *w, const struct snapshot *s, const uint8_t *q,
			   size_t qlen, uint8_t *out, size_t outmax, struct dns_query_info *qi,
			   size_t *outlen)
{
	bump(&w->counters.queries, 1);
	qi->max_size = qi->tcp ? UINT16_MAX : KNOT_EDNS_MIN_UDP_PAYLOAD;
	if (qlen < KNOT_WIRE_HEADER_SIZE || knot_wire_get_qr(q)) {
		bump(&w->counters.dropped, 1);
		return DNS_DROP; /* too short to answer, or a response: never reply to those */
	}
	uint8_t rcode;
	if (knot_wire_get_opcode(q) != KNOT_OPCODE_QUERY) {
		rcode = KNOT_RCODE_NOTIMPL;
		goto error;
	}
	w->used = 0;
	knot_pkt_t *pkt =
		knot_pkt_new((void *)q, (uint16_t)(qlen > UINT16_MAX ? UINT16_MAX : qlen), &w->mm);
	rcode = KNOT_RCODE_FORMERR;
	if (pkt == NULL || knot_pkt_parse(pkt, 0) != KNOT_EOK || knot_wire_get_qdcount(q) != 1 ||
	    bad_qtype(knot_pkt_qtype(pkt)))
		goto error;

	bump(&w->counters.qtype[qtype_slot(knot_pkt_qtype(pkt))], 1);
	bool edns = knot_pkt_has_edns(pkt);
	size_t opt_len = edns ? OPT_SIZE : 0;
	const char *nsid = NULL;
	if (!qi->tcp) {
		size_t want = edns ? knot_edns_get_payload(pkt->opt_rr) : KNOT_EDNS_MIN_UDP_PAYLOAD;
		if (want < KNOT_EDNS_MIN_UDP_PAYLOAD)
			want = KNOT_EDNS_MIN_UDP_PAYLOAD;
		if (want > qi->udp_cap)
			want = qi->udp_cap;
		qi->max_size = (uint16_t)want;
	}
	size_t limit = qi->max_size < outmax ? qi->max_size : outmax;
	size_t qsize = KNOT_WIRE_HEADER_SIZE + (size_t)knot_pkt_question_size(pkt);
	if (qsize + opt_len > limit)
		goto error;
	if (edns) {
		nsid = nsid_for(qi->nsid,
				knot_edns_get_option(pkt->opt_rr, KNOT_EDNS_OPTION_NSID, NULL) !=
					NULL,
				limit - qsize);
		opt_len = opt_size(nsid != NULL ? (int)strlen(nsid) : -1);
	}

	struct resp r = { .buf = out,
			  .pos = qsize,
			  .limit = limit - opt_len,
			  .nnames = 1,
			  .names = { KNOT_WIRE_HEADER_SIZE } };
	memcpy(out, q, qsize);
	knot_wire_set_qdcount(out, 1);
	knot_wire_set_flags1(out, (uint8_t)(knot_wire_get_flags1(q) & KNOT_WIRE_RD_MASK));
	knot_wire_set_flags2(out, (uint8_t)(knot_wire_get_flags2(q) & KNOT_WIRE_CD_MASK));
	knot_wire_set_qr(out);

	bool forward = false;
	if (pkt->tsig_rr != NULL) {
		/* berth has no TSIG keys: whatever the key, it is unknown (RFC 8945 5.2). */
		rcode = KNOT_RCODE_NOTAUTH;
	} else if (edns && knot_edns_get_version(pkt->opt_rr) != KNOT_EDNS_VERSION) {
		rcode = KNOT_RCODE_BADVERS;
	} else if (knot_pkt_qclass(pkt) != KNOT_CLASS_IN) {
		rcode = KNOT_RCODE_REFUSED;
	} else if (knot_pkt_qtype(pkt) == KNOT_RRTYPE_AXFR ||
		   knot_pkt_qtype(pkt) == KNOT_RRTYPE_IXFR) {
		rcode = KNOT_RCODE_REFUSED; /* berth's names are not for transfer */
	} else {
		rcode = answer_from_snapshot(&r, s, pkt, qi, w->rotate++, &forward);
		if (rcode != KNOT_RCODE_REFUSED)
			knot_wire_set_aa(out);
	}
	if (forward) {
		if (qi->may_forward) {
			bump(&w->counters.forwarded, 1);
			return DNS_FORWARD;
		}
	}
	if (qi->may_forward)
		knot_wire_set_ra(out);
	if (r.overflow) {
		/* Truncated: the client retries over TCP and gets it all. */
		r.pos = qsize;
		r.count[AN] = r.count[NS] = r.count[AR] = 0;
		r.nnames = 1;
		knot_wire_set_tc(out);
		bump(&w->counters.truncated, 1);
	}
	knot_wire_set_ancount(out, r.count[AN]);
	knot_wire_set_nscount(out, r.count[NS]);
	knot_wire_set_arcount(out, (uint16_t)(r.count[AR] + (edns ? 1 : 0)));
	knot_wire_set_rcode(out, (short)(rcode & 0xf));
	if (edns) {
		r.pos += put_opt(out + r.pos, qi->udp_cap, rcode, knot_edns_do(pkt->opt_rr), nsid);
	}
	/* The unsigned TSIG of a BADKEY error, last (RFC 8945 5.3.2); when it
	 * does not fit, NOTAUTH alone. */
	if (pkt->tsig_rr != NULL)
		(void)knot_tsig_add(out, &r.pos, limit, KNOT_RCODE_BADKEY, pkt->tsig_rr);
	bump(&w->counters.rcode[rcode & 0xf], 1);
	*outlen = r.pos;
	return DNS_REPLY;
error:
	*outlen = dns_error_response(q, qlen, rcode, qi->udp_cap, qi->nsid, out, outmax);
	bump(&w->counters.rcode[rcode & 0xf], 1);
	if (*outlen == 0) {
		bump(&w->counters.dropped, 1);
		return DNS_DROP;
	}
	return DNS_REPLY;
}
