/* SPDX-License-Identifier: MIT */
/* Record sets by origin, and their publication as RCU-protected snapshots. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/libknot.h>
#include <urcu.h>

#include "store/registry.h"
#include "util/err.h"
#include "util/log.h"

struct origin {
	char *name;
	struct recset *rs;
};

struct registry {
	struct snapshot *current; /* RCU-protected */
	struct origin *origins;
	size_t norigins, cap;
	char *domain;
	char *ns_ip;
	uint32_t ttl, negative_ttl;
	uint32_t serial;
	void (*on_change)(void *);
	void *on_change_arg;
};

struct registry *registry_new(const struct registry_params *p)
{
	struct registry *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->domain = strdup(p->domain);
	r->ns_ip = p->ns_ip ? strdup(p->ns_ip) : NULL;
	r->ttl = p->ttl;
	r->negative_ttl = p->negative_ttl;
	if (r->domain == NULL || (p->ns_ip && r->ns_ip == NULL)) {
		registry_free(r);
		return NULL;
	}
	return r;
}

void registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->norigins; i++) {
		free(r->origins[i].name);
		recset_free(r->origins[i].rs);
	}
	free(r->origins);
	snapshot_free(r->current);
	free(r->domain);
	free(r->ns_ip);
	free(r);
}

static struct origin *find_origin(struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->norigins; i++)
		if (strcmp(r->origins[i].name, name) == 0)
			return &r->origins[i];
	return NULL;
}

static int add_origin(struct registry *r, const char *origin, struct recset *rs)
{
	if (r->norigins == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct origin *grown = realloc(r->origins, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		r->origins = grown;
		r->cap = cap;
	}
	char *name = strdup(origin);
	if (name == NULL)
		return -ENOMEM;
	r->origins[r->norigins++] = (struct origin){ .name = name, .rs = rs };
	return 0;
}

void registry_set(struct registry *r, const char *origin, struct recset *rs)
{
	struct origin *o = find_origin(r, origin);
	if (o != NULL) {
		recset_free(o->rs);
		if (rs != NULL) {
			o->rs = rs;
		} else {
			free(o->name);
			*o = r->origins[--r->norigins];
		}
	} else if (rs != NULL && add_origin(r, origin, rs) != 0) {
		log_error("registry", "out of memory: records of %s dropped", origin);
		recset_free(rs);
		return;
	}
	if (r->on_change != NULL)
		r->on_change(r->on_change_arg);
}

void registry_on_change(struct registry *r, void (*cb)(void *arg), void *arg)
{
	r->on_change = cb;
	r->on_change_arg = arg;
}

/* SOA, NS and the name server's address at the apex of berth's domain. */
static struct recset *zone_records(struct registry *r, uint32_t serial)
{
	struct recset *rs = recset_new();
	if (rs == NULL)
		return NULL;
	char ns[KNOT_DNAME_TXT_MAXLEN + 8], mbox[KNOT_DNAME_TXT_MAXLEN + 16];
	snprintf(ns, sizeof(ns), "ns.%s.", r->domain);
	snprintf(mbox, sizeof(mbox), "hostmaster.%s.", r->domain);
	uint8_t rdata[2 * KNOT_DNAME_MAXLEN + 20];
	uint8_t apex[KNOT_DNAME_MAXLEN];
	if (knot_dname_from_str(apex, r->domain, sizeof(apex)) == NULL)
		goto fail;
	int l1 = knot_dname_size(knot_dname_from_str(rdata, ns, KNOT_DNAME_MAXLEN));
	int l2 = knot_dname_size(knot_dname_from_str(rdata + l1, mbox, KNOT_DNAME_MAXLEN));
	uint8_t *p = rdata + l1 + l2;
	uint32_t times[5] = { serial, 3600, 600, 86400, r->negative_ttl };
	for (int i = 0; i < 5; i++) {
		p[0] = (uint8_t)(times[i] >> 24);
		p[1] = (uint8_t)(times[i] >> 16);
		p[2] = (uint8_t)(times[i] >> 8);
		p[3] = (uint8_t)times[i];
		p += 4;
	}
	if (recset_add(rs, apex, KNOT_RRTYPE_SOA, r->ttl, rdata, (uint16_t)(p - rdata)) != 0 ||
	    recset_add_name_rr(rs, r->domain, KNOT_RRTYPE_NS, ns, r->ttl) != 0)
		goto fail;
	if (r->ns_ip != NULL && recset_add_addr(rs, ns, r->ns_ip, r->ttl) != 0)
		log_warn("registry", "cannot use %s as the address of %s", r->ns_ip, ns);
	return rs;
fail:
	recset_free(rs);
	return NULL;
}

int registry_publish(struct registry *r)
{
	/* Serials grow with time and never go back, so secondaries see every change. */
	uint32_t now = (uint32_t)time(NULL);
	r->serial = now > r->serial ? now : r->serial + 1;
	struct recset *zone = zone_records(r, r->serial);
	const struct recset **sets = malloc((r->norigins + 1) * sizeof(*sets));
	if (zone == NULL || sets == NULL) {
		recset_free(zone);
		free(sets);
		return -ENOMEM;
	}
	sets[0] = zone;
	for (size_t i = 0; i < r->norigins; i++)
		sets[i + 1] = r->origins[i].rs;
	uint8_t apex[KNOT_DNAME_MAXLEN];
	knot_dname_from_str(apex, r->domain, sizeof(apex));
	const uint8_t *apexes[1] = { apex };
	struct snapshot *s = snapshot_build(sets, r->norigins + 1, apexes, 1, r->serial);
	free(sets);
	recset_free(zone);
	if (s == NULL)
		return -ENOMEM;
	struct snapshot *old = rcu_xchg_pointer(&r->current, s);
	if (old != NULL) {
		synchronize_rcu();
		snapshot_free(old);
	}
	/* Building left freed memory scattered through the heap (the old
	 * snapshot, parse buffers): give its pages back. A few ms at 100,000
	 * names; without it RSS there is 1.5 times larger. */
	malloc_trim(0);
	log_debug("registry", "published serial %u: %u names, %u records", r->serial, s->nnodes,
	          s->nrecords);
	return 0;
}

const struct snapshot *registry_current(struct registry *r)
{
	return rcu_dereference(r->current);
}

size_t registry_origin_count(const struct registry *r)
{
	return r->norigins;
}

void registry_foreach(const struct registry *r,
                      void (*fn)(void *arg, const char *origin, const struct recset *rs), void *arg)
{
	for (size_t i = 0; i < r->norigins; i++)
		fn(arg, r->origins[i].name, r->origins[i].rs);
}
