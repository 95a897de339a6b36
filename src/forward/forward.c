/* SPDX-License-Identifier: MIT */
/* The forwarder: client queries resolved by libunbound on the event loop it is given,
 * their answers rebuilt for the client. */
#include "forward/forward.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <libknot/libknot.h>
#include <unbound-event.h>
#include <unbound.h>

#include "dns/answer.h"
#include "util/err.h"
#include "util/log.h"

/* A query unbound has not finished by then gets SERVFAIL: below the 5 s a client
 * resolver waits before retrying, so the client moves on instead of timing out. */
#define DEADLINE_MS 4000
/* Outstanding queries beyond this get SERVFAIL at once: a flood of forwarded
 * names must not grow memory without bound. */
#define MAX_PENDING 4096
/* RFC 6891: a requestor's payload size below 512 is treated as 512. */
#define MIN_SIZE 512

/* libunbound configuration, applied in order before the first query. */
static const struct {
	const char *name;
	const char *value;
} ub_options[] = {
	/* Upstreams are often on loopback (a local dnsmasq, systemd-resolved). */
	{ "do-not-query-localhost:", "no" },
	/* No DNSSEC validation: berth forwards what its upstreams say. */
	{ "module-config:", "iterator" },
	/* unbound answers RFC 6761/6303 names itself; let the ones a site's
	 * resolver may really serve through to it: test. (labs, CI), home.arpa.
	 * (home routers) and the reverse zones of the private ranges. */
	{ "local-zone:", "test. transparent" },
	{ "local-zone:", "home.arpa. transparent" },
	{ "unblock-lan-zones:", "yes" },
	/* Failover. unbound picks at random among upstreams of similar round
	 * trip time and waits for a silent one (a refused UDP port looks the
	 * same) up to twice the time limit before the next: always take the
	 * fastest known one, so a dead upstream costs at most one wait per
	 * upstream until its estimate expires (infra-host-ttl, 900 s), and
	 * make that wait 2 x 200 ms instead of 2 x 376 ms. */
	{ "fast-server-permil:", "1000" },
	{ "fast-server-num:", "1" },
	{ "unknown-server-time-limit:", "200" },
	/* Upstreams that stopped answering are still probed, one query at a
	 * time, so one that comes back is used again at once. */
	{ "infra-keep-probing:", "yes" },
	/* The cache (unbound's default sizes; memory is taken as it fills):
	 * forwarded answers only, berth's own zones never come here. */
	{ "msg-cache-size:", "4m" },
	{ "rrset-cache-size:", "4m" },
	/* Minimisation is for iterating from the root; a forwarder gets the full name. */
	{ "qname-minimisation:", "no" },
};

/* One client query in flight; owned by the forwarder's pending list until it
 * is answered, then freed before the client's callback returns. */
struct fq {
	struct fq *prev;
	struct fq *next;
	struct forwarder *f;
	struct event timer;
	knot_pkt_t *query; /* parsed over wire */
	forward_done_fn done;
	void *arg;
	int id;      /* unbound's async id, valid while in_ub */
	bool in_ub;  /* unbound still holds this query */
	bool linked; /* on the forwarder's pending list */
	uint16_t max_size;
	size_t qlen;
	uint8_t wire[]; /* the client's query, copied */
};

struct forwarder {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct fq *pending;
	size_t npending;
	/* The query being handed to ub_resolve_event, which may answer it from
	 * the cache before it returns: the callback clears this. */
	struct fq *submitting;
	struct forward_stats stats;
	uint16_t udp_size; /* advertised in the OPT of every answer */
	const char *nsid;  /* for clients that ask; NULL: none */
};

/* The counters have one writer, the loop the forwarder runs on, and are read
 * from HTTP on another thread: relaxed atomic loads and stores. */
static void bump(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* An error reply without the upstream: ID, opcode, RD, the question and an
 * OPT when the client's query has them (a bare header when it cannot be read). */
static void reply_header(const struct forwarder *f, const uint8_t *query, size_t qlen,
			 uint8_t rcode, forward_done_fn done, void *arg)
{
	uint8_t buf[KNOT_WIRE_HEADER_SIZE + KNOT_DNAME_MAXLEN + 4 + 11 + 4 + 255];
	size_t len = query ? dns_error_response(query, qlen, rcode, f ? f->udp_size : MIN_SIZE,
						f ? f->nsid : NULL, buf, sizeof(buf)) :
			     0;

	if (len == 0) {
		memset(buf, 0, KNOT_WIRE_HEADER_SIZE);
		if (query && qlen >= 2)
			memcpy(buf, query, 2);
		if (query && qlen >= 3)
			buf[2] = query[2] & (KNOT_WIRE_OPCODE_MASK | KNOT_WIRE_RD_MASK);
		knot_wire_set_qr(buf);
		knot_wire_set_rcode(buf, rcode);
		len = KNOT_WIRE_HEADER_SIZE;
	}
	knot_wire_set_ra(buf);
	done(arg, buf, len);
}

/* RFC 4035 3.2.1: records a client without DO did not ask for. */
static bool unwanted_dnssec(const knot_rrset_t *rr, int section, uint16_t qtype)
{
	if (rr->type != KNOT_RRTYPE_RRSIG && rr->type != KNOT_RRTYPE_NSEC &&
	    rr->type != KNOT_RRTYPE_NSEC3)
		return false;
	return section != KNOT_ANSWER || rr->type != qtype;
}

/* Copy the answer, authority and additional sections of the upstream answer,
 * without its OPT, and without DNSSEC records unless dnssec (the client's DO).
 * Returns KNOT_ESPACE when they do not fit. */
static int copy_sections(knot_pkt_t *resp, const knot_pkt_t *ans, bool dnssec, uint16_t qtype)
{
	for (int s = KNOT_ANSWER; s <= KNOT_ADDITIONAL; s++) {
		const knot_pktsection_t *sec = knot_pkt_section(ans, (knot_section_t)s);
		int ret = knot_pkt_begin(resp, (knot_section_t)s);

		if (ret != KNOT_EOK)
			return ret;
		for (uint16_t i = 0; i < sec->count; i++) {
			const knot_rrset_t *rr = knot_pkt_rr(sec, i);

			if (rr->type == KNOT_RRTYPE_OPT || rr->type == KNOT_RRTYPE_TSIG ||
			    (!dnssec && unwanted_dnssec(rr, s, qtype)))
				continue;
			ret = knot_pkt_put(resp, KNOT_COMPR_HINT_NONE, rr, KNOT_PF_NOTRUNC);
			if (ret != KNOT_EOK)
				return ret;
		}
	}
	return KNOT_EOK;
}

/* Build the client's response into resp: its header and question, the
 * upstream's rcode and records (or rcode without ans), our own OPT if the
 * client sent one (our UDP size, its DO), TC with the records left out if
 * they do not fit. Without DO the client gets no DNSSEC records it did not
 * ask for; CD is the client's; AD only when the upstream's answer has it
 * and the client asked with DO or AD (RFC 4035 3.2, RFC 6840 5.7-5.8). */
static int build(knot_pkt_t *resp, const knot_pkt_t *query, const knot_pkt_t *ans, uint8_t rcode,
		 const struct forwarder *f, bool *ok)
{
	knot_rrset_t opt;
	bool edns = query->opt_rr != NULL;
	bool dnssec = edns && knot_edns_do(query->opt_rr);
	uint16_t optlen = 0;
	int ret;

	*ok = false;
	knot_rrset_init_empty(&opt);
	if (edns) {
		ret = knot_edns_init(&opt, f->udp_size, 0, KNOT_EDNS_VERSION, NULL);
		if (ret != KNOT_EOK)
			goto out;
		if (dnssec)
			knot_edns_set_do(&opt);
		if (f->nsid != NULL &&
		    knot_edns_get_option(query->opt_rr, KNOT_EDNS_OPTION_NSID, NULL) != NULL)
			ret = knot_edns_add_option(&opt, KNOT_EDNS_OPTION_NSID,
						   (uint16_t)strlen(f->nsid),
						   (const uint8_t *)f->nsid, NULL);
		if (ret != KNOT_EOK)
			goto out;
		optlen = (uint16_t)knot_edns_wire_size(&opt);
	}
	ret = knot_pkt_init_response(resp, query);
	if (ret == KNOT_EOK && optlen)
		ret = knot_pkt_reserve(resp, optlen);
	if (ret != KNOT_EOK)
		goto out;

	if (ans) {
		rcode = knot_wire_get_rcode(ans->wire);
		ret = copy_sections(resp, ans, dnssec, knot_pkt_qtype(query));
		if (ret == KNOT_ESPACE) {
			/* Header and question only: the client retries over TCP. */
			ret = knot_pkt_init_response(resp, query);
			if (ret == KNOT_EOK && optlen)
				ret = knot_pkt_reserve(resp, optlen);
			knot_wire_set_tc(resp->wire);
		}
		if (ret != KNOT_EOK)
			goto out;
		if (knot_wire_get_ad(ans->wire) && (dnssec || knot_wire_get_ad(query->wire)))
			knot_wire_set_ad(resp->wire);
		*ok = true;
	}
	knot_wire_set_ra(resp->wire);
	knot_wire_set_rcode(resp->wire, rcode);
	if (edns) {
		ret = knot_pkt_reclaim(resp, optlen);
		if (ret == KNOT_EOK)
			ret = knot_pkt_begin(resp, KNOT_ADDITIONAL);
		if (ret == KNOT_EOK)
			ret = knot_pkt_put(resp, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_NOTRUNC);
	}
out:
	knot_rrset_clear(&opt, NULL);
	return ret;
}

static void link_fq(struct forwarder *f, struct fq *q)
{
	q->prev = NULL;
	q->next = f->pending;
	if (f->pending)
		f->pending->prev = q;
	f->pending = q;
	q->linked = true;
	f->npending++;
}

static void unlink_fq(struct forwarder *f, struct fq *q)
{
	if (!q->linked)
		return;
	if (q->prev)
		q->prev->next = q->next;
	else
		f->pending = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
	q->linked = false;
	f->npending--;
}

static void fq_free(struct fq *q)
{
	if (!q)
		return;
	knot_pkt_free(q->query);
	free(q);
}

/* Answer q from the upstream packet (NULL: with rcode and no records),
 * release it, then call the client back: nothing of q or f is touched once
 * done runs, so done may free the forwarder's user state or query again. */
static void finish(struct fq *q, const uint8_t *packet, size_t len, uint8_t rcode)
{
	struct forwarder *f = q->f;
	forward_done_fn done = q->done;
	void *arg = q->arg;
	size_t size = q->max_size < MIN_SIZE ? MIN_SIZE : q->max_size;
	knot_pkt_t *ans = NULL;
	knot_pkt_t *resp = NULL;
	uint8_t *buf = NULL;
	uint8_t *copy = NULL;
	bool ok = false;
	int ret = KNOT_ENOMEM;

	unlink_fq(f, q);
	evtimer_del(&q->timer);

	if (packet && len >= KNOT_WIRE_HEADER_SIZE && len <= KNOT_WIRE_MAX_PKTSIZE) {
		/* knot_pkt_new takes a writable buffer; unbound's is not ours. */
		copy = malloc(len);
		if (copy) {
			memcpy(copy, packet, len);
			ans = knot_pkt_new(copy, (uint16_t)len, NULL);
		}
		if (ans && knot_pkt_parse(ans, 0) != KNOT_EOK) {
			log_debug("forward", "unparsable upstream answer (%zu bytes)", len);
			knot_pkt_free(ans);
			ans = NULL;
		}
	}

	buf = malloc(size);
	if (buf)
		resp = knot_pkt_new(buf, (uint16_t)size, NULL);
	if (resp)
		ret = build(resp, q->query, ans, rcode, f, &ok);
	if (ok)
		bump(&f->stats.answered);
	else
		bump(&f->stats.failed);

	if (ret == KNOT_EOK) {
		fq_free(q);
		done(arg, resp->wire, resp->size);
	} else {
		log_warn("forward", "cannot build a response: %s", knot_strerror(ret));
		reply_header(f, q->wire, q->qlen, KNOT_RCODE_SERVFAIL, done, arg);
		fq_free(q);
	}
	knot_pkt_free(resp);
	free(buf);
	knot_pkt_free(ans);
	free(copy);
}

/* unbound's callback: err is unbound's own (non-zero: no usable answer); the
 * DNS rcode is in the packet. Never called for a cancelled query. */
static void on_answer(void *data, int err, void *packet, int len, int sec, char *why_bogus,
		      int ratelimited)
{
	struct fq *q = data;

	if (q->f->submitting == q) {
		q->f->submitting = NULL; /* answered inside ub_resolve_event: from the cache */
		if (err == 0)
			bump(&q->f->stats.cache_hits);
	}
	q->in_ub = false;
	if (err != 0 || !packet || len <= 0) {
		log_debug("forward", "upstream failure: %s", err ? ub_strerror(err) : "no answer");
		finish(q, NULL, 0, KNOT_RCODE_SERVFAIL);
		return;
	}
	finish(q, packet, (size_t)len, KNOT_RCODE_SERVFAIL);
}

static void on_deadline(evutil_socket_t fd, short what, void *data)
{
	struct fq *q = data;

	/* ub_cancel only marks the query: unbound keeps the upstream exchange
	 * (a retry of the same name joins it) and never calls back. */
	if (q->in_ub)
		ub_cancel(q->f->ctx, q->id);
	q->in_ub = false;
	log_debug("forward", "upstream timeout after %d ms", DEADLINE_MS);
	finish(q, NULL, 0, KNOT_RCODE_SERVFAIL);
}

void forwarder_query(struct forwarder *f, const uint8_t *query, size_t qlen, uint16_t max_size,
		     forward_done_fn done, void *arg)
{
	char name[KNOT_DNAME_TXT_MAXLEN + 1];
	struct timeval tv = { DEADLINE_MS / 1000, (DEADLINE_MS % 1000) * 1000 };
	struct fq *q = NULL;
	uint8_t rcode = KNOT_RCODE_SERVFAIL;
	uint16_t qtype;
	int id = 0;
	int ret;

	if (!done)
		return;
	if (!f || !query || qlen < KNOT_WIRE_HEADER_SIZE || qlen > KNOT_WIRE_MAX_PKTSIZE) {
		if (f) {
			bump(&f->stats.queries);
			bump(&f->stats.failed);
		}
		reply_header(f, query, qlen, f ? KNOT_RCODE_FORMERR : KNOT_RCODE_SERVFAIL, done,
			     arg);
		return;
	}
	bump(&f->stats.queries);

	q = calloc(1, sizeof(*q) + qlen);
	if (!q)
		goto fail;
	memcpy(q->wire, query, qlen);
	q->f = f;
	q->done = done;
	q->arg = arg;
	q->max_size = max_size;
	q->qlen = qlen;
	evtimer_assign(&q->timer, f->base, on_deadline, q);
	q->query = knot_pkt_new(q->wire, (uint16_t)qlen, NULL);
	if (!q->query)
		goto fail;
	if (knot_pkt_parse(q->query, 0) != KNOT_EOK || knot_wire_get_qdcount(q->wire) != 1 ||
	    knot_pkt_qname(q->query) == NULL) {
		rcode = KNOT_RCODE_FORMERR;
		goto fail;
	}
	qtype = knot_pkt_qtype(q->query);
	/* Zone transfers and meta types are not a forwarder's business (unbound
	 * itself refuses them too). */
	if (qtype == KNOT_RRTYPE_AXFR || qtype == KNOT_RRTYPE_IXFR || qtype == KNOT_RRTYPE_OPT ||
	    qtype == KNOT_RRTYPE_TSIG || qtype == KNOT_RRTYPE_TKEY) {
		finish(q, NULL, 0, KNOT_RCODE_REFUSED);
		return;
	}
	if (f->npending >= MAX_PENDING) {
		log_debug("forward", "%zu queries pending upstream, refusing more", f->npending);
		finish(q, NULL, 0, KNOT_RCODE_SERVFAIL);
		return;
	}
	if (!knot_dname_to_str(name, knot_pkt_qname(q->query), sizeof(name))) {
		finish(q, NULL, 0, KNOT_RCODE_SERVFAIL);
		return;
	}

	link_fq(f, q);
	evtimer_add(&q->timer, &tv);

	f->submitting = q;
	ret = ub_resolve_event(f->ctx, name, qtype, knot_pkt_qclass(q->query), q, on_answer, &id);
	if (f->submitting != q)
		return; /* answered (and freed) from the cache already */
	f->submitting = NULL;
	if (ret != 0) {
		log_warn("forward", "cannot resolve %s: %s", name, ub_strerror(ret));
		finish(q, NULL, 0, KNOT_RCODE_SERVFAIL);
		return;
	}
	q->id = id;
	q->in_ub = true;
	return;
fail:
	bump(&f->stats.failed);
	fq_free(q);
	reply_header(f, query, qlen, rcode, done, arg);
}

int forwarder_new(struct event_base *base, const struct addr *upstreams, size_t nupstreams,
		  uint16_t udp_size, struct forwarder **out, char *err, size_t errlen)
{
	struct forwarder *f = NULL;
	char ip[64];
	char spec[96];
	int ret;

	*out = NULL;
	if (!base || !upstreams || nupstreams == 0) {
		ret = berth_fail(err, errlen, -EINVAL, "no upstream resolver to forward to");
		goto fail;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		ret = berth_fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	f->base = base;
	f->udp_size = udp_size < MIN_SIZE ? MIN_SIZE : udp_size;
	f->ctx = ub_ctx_create_event(base);
	if (!f->ctx) {
		ret = berth_fail(err, errlen, -ENOMEM, "cannot create the libunbound context");
		goto fail;
	}
	for (size_t i = 0; i < sizeof(ub_options) / sizeof(ub_options[0]); i++) {
		ret = ub_ctx_set_option(f->ctx, ub_options[i].name, ub_options[i].value);
		if (ret != 0) {
			ret = berth_fail(err, errlen, BERTH_ERROR, "libunbound option %s %s: %s",
					 ub_options[i].name, ub_options[i].value, ub_strerror(ret));
			goto fail;
		}
	}
	for (size_t i = 0; i < nupstreams; i++) {
		int fam = upstreams[i].ss.ss_family;

		if (fam != AF_INET && fam != AF_INET6) {
			ret = berth_fail(err, errlen, -EINVAL, "upstream %zu: not an IP address",
					 i + 1);
			goto fail;
		}
		addr_ip_str(&upstreams[i], ip, sizeof(ip));
		snprintf(spec, sizeof(spec), "%s@%u", ip, (unsigned)addr_port(&upstreams[i]));
		ret = ub_ctx_set_fwd(f->ctx, spec);
		if (ret != 0) {
			ret = berth_fail(err, errlen, -EINVAL, "upstream %s: %s", spec,
					 ub_strerror(ret));
			goto fail;
		}
	}
	*out = f;
	return 0;
fail:
	forwarder_free(f);
	return ret;
}

void forwarder_set_nsid(struct forwarder *f, const char *nsid)
{
	f->nsid = nsid != NULL && strlen(nsid) <= 253 ? nsid : NULL;
}

void forwarder_free(struct forwarder *f)
{
	struct fq *q;

	if (!f)
		return;
	/* Cancel first: ub_ctx_delete would otherwise call every outstanding
	 * query back with SERVFAIL. The clients are not called back. */
	while ((q = f->pending) != NULL) {
		unlink_fq(f, q);
		evtimer_del(&q->timer);
		if (q->in_ub)
			ub_cancel(f->ctx, q->id);
		fq_free(q);
	}
	ub_ctx_delete(f->ctx);
	free(f);
}

void forwarder_stats(const struct forwarder *f, struct forward_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	out->queries = __atomic_load_n(&f->stats.queries, __ATOMIC_RELAXED);
	out->answered = __atomic_load_n(&f->stats.answered, __ATOMIC_RELAXED);
	out->failed = __atomic_load_n(&f->stats.failed, __ATOMIC_RELAXED);
	out->cache_hits = __atomic_load_n(&f->stats.cache_hits, __ATOMIC_RELAXED);
}
