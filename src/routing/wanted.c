/* SPDX-License-Identifier: MIT */
/* Routes to a proxy's maps and servers, and the commands between two such states. */
#include "routing/wanted.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const wanted_map_names[MAPS] = { "hosts.map", "paths.map", "sni.map" };

void proxy_state_clear(struct proxy_state *s)
{
	for (int i = 0; i < MAPS; i++) {
		strmap_clear(&s->maps[i], free);
		strmap_clear(&s->strays[i], free);
	}
	strmap_clear(&s->servers, free);
}

void slots_clear(struct slots *s)
{
	strmap_clear(&s->of_group, free);
}

void cmdlist_clear(struct cmdlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct cmdlist){ 0 };
}

bool wanted_is_slot(const char *backend)
{
	return strncmp(backend, "berth_http_", 11) == 0 || strncmp(backend, "berth_tls_", 10) == 0;
}

__attribute__((format(printf, 2, 3))) static int cmd(struct cmdlist *l, const char *fmt, ...)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&l->v[l->n], fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	l->n++;
	return 0;
}

static int put(struct strmap *m, const char *key, const char *val)
{
	char *v = strdup(val);
	void *old;
	if (v == NULL || strmap_put(m, key, v, &old) != 0) {
		free(v);
		return -ENOMEM;
	}
	free(old);
	return 0;
}

static int by_origin(const void *a, const void *b)
{
	return strcmp(((const struct route_set *)a)->origin, ((const struct route_set *)b)->origin);
}

/* A server's name in its slot: stable for one origin and backend address. */
static void server_name(const char *origin, const char *addr, uint16_t port, char out[16])
{
	uint64_t h = 14695981039346656037ull;
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s %s %u", origin, addr, (unsigned)port);
	for (int i = 0; i < n && i < (int)sizeof(buf); i++) {
		h ^= (uint8_t)buf[i];
		h *= 1099511628211ull;
	}
	snprintf(out, 16, "s%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

struct group {
	char service[ROUTE_SERVICE_MAX + 1];
	bool used;
};

/* Drop the slots of groups that are gone (noting them as freed) and slots the proxy no
 * longer has; note the ones in use. */
struct sweep {
	struct strmap *groups;
	struct strmap *taken;
	struct strmap *freed;
	const struct slots *slots;
};

static bool slot_exists(const struct slots *slots, const char *name)
{
	unsigned i;
	char c;
	if (sscanf(name, "berth_http_%u%c", &i, &c) == 1)
		return i < slots->http;
	if (sscanf(name, "berth_tls_%u%c", &i, &c) == 1)
		return i < slots->tls;
	return false;
}

static bool sweep_one(void *arg, const char *key, void *val)
{
	struct sweep *s = arg;
	if (strmap_get(s->groups, key) == NULL) {
		strmap_put(s->freed, val, s, NULL);
		free(val);
		return true;
	}
	if (!slot_exists(s->slots, val)) {
		free(val); /* the proxy lost it: the group gets another */
		return true;
	}
	strmap_put(s->taken, val, val, NULL);
	return false;
}

/* The group's slot: the one it had, else a free one, preferring slots that were not just
 * freed (a slot freed now still holds the old group's servers until the commands remove
 * them: reused at once, the new name would reach them for a moment). */
static const char *slot_for(struct slots *slots, struct strmap *taken, struct strmap *freed,
			    const char *gkey, enum route_kind kind)
{
	const char *have = strmap_get(&slots->of_group, gkey);
	if (have != NULL)
		return have;
	unsigned count = kind == ROUTE_HTTP ? slots->http : slots->tls;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < count; i++) {
			char name[32];
			snprintf(name, sizeof(name), "berth_%s_%u",
				 kind == ROUTE_HTTP ? "http" : "tls", i);
			if (strmap_get(taken, name) != NULL ||
			    (pass == 0 && strmap_get(freed, name) != NULL))
				continue;
			char *v = strdup(name);
			if (v == NULL || strmap_put(&slots->of_group, gkey, v, NULL) != 0) {
				free(v);
				return NULL;
			}
			strmap_put(taken, v, v, NULL);
			return v;
		}
	}
	return NULL;
}

static void free_group(void *g)
{
	free(g);
}

int wanted_compute(const struct route_set *sets, size_t n, struct slots *slots,
		   struct proxy_state *out, conflict_fn conflict, void *arg)
{
	int ret = -ENOMEM;
	struct route_set *sorted = n > 0 ? malloc(n * sizeof(*sorted)) : NULL;
	struct strmap groups = { 0 }, taken = { 0 }, freed = { 0 };
	proxy_state_clear(out);
	if (n > 0 && sorted == NULL)
		return -ENOMEM;
	if (n > 0)
		memcpy(sorted, sets, n * sizeof(*sorted));
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), by_origin);

	/* Pass 1: every group and its service (the first origin's). */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sorted[i].n; k++) {
			const struct route *r = &sorted[i].routes[k];
			char gkey[ROUTE_HOST_MAX + ROUTE_PATH_MAX + 8];
			snprintf(gkey, sizeof(gkey), "%d %s%s", (int)r->kind, r->host, r->path);
			if (strmap_get(&groups, gkey) != NULL)
				continue;
			struct group *g = calloc(1, sizeof(*g));
			if (g == NULL || strmap_put(&groups, gkey, g, NULL) != 0) {
				free(g);
				goto out;
			}
			snprintf(g->service, sizeof(g->service), "%s", r->service);
		}
	}
	/* Slots: the groups that had one keep it; new ones take a free one. */
	struct sweep sw = { &groups, &taken, &freed, slots };
	strmap_foreach_del(&slots->of_group, sweep_one, &sw);

	/* Pass 2: maps and servers. */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sorted[i].n; k++) {
			const struct route *r = &sorted[i].routes[k];
			char gkey[ROUTE_HOST_MAX + ROUTE_PATH_MAX + 8];
			snprintf(gkey, sizeof(gkey), "%d %s%s", (int)r->kind, r->host, r->path);
			struct group *g = strmap_get(&groups, gkey);
			if (strcmp(g->service, r->service) != 0) {
				if (conflict != NULL)
					conflict(arg, sorted[i].origin, r, g->service);
				continue;
			}
			const char *slot = slot_for(slots, &taken, &freed, gkey, r->kind);
			if (slot == NULL) {
				if (conflict != NULL && !g->used)
					conflict(arg, sorted[i].origin, r,
						 "(no free backend slot)");
				g->used = true;
				continue;
			}
			g->used = true;
			int m = r->kind == ROUTE_TLS ? MAP_SNI :
				r->path[0] != '\0'   ? MAP_PATHS :
						       MAP_HOSTS;
			char key[ROUTE_HOST_MAX + ROUTE_PATH_MAX + 2];
			snprintf(key, sizeof(key), "%s%s", r->host, r->path);
			char sname[16], skey[64], addr[64];
			server_name(sorted[i].origin, r->addr, r->port, sname);
			snprintf(skey, sizeof(skey), "%s/%s", slot, sname);
			snprintf(addr, sizeof(addr), strchr(r->addr, ':') ? "[%s]:%u" : "%s:%u",
				 r->addr, (unsigned)r->port);
			if (put(&out->maps[m], key, slot) != 0 ||
			    put(&out->servers, skey, addr) != 0)
				goto out;
		}
	}
	ret = 0;
out:
	strmap_clear(&groups, free_group);
	strmap_clear(&taken, NULL);
	strmap_clear(&freed, NULL);
	free(sorted);
	if (ret != 0)
		proxy_state_clear(out);
	return ret;
}

/* --- the diff --- */

struct diff {
	const struct proxy_state *have, *want;
	const char *const *map_ids;
	struct cmdlist *cmds;
	int map;
	int err;
};

/* A dynamic server goes in two steps: maintenance, then delete. */
static int server_out(struct cmdlist *l, const char *key)
{
	int ret = cmd(l, "disable server %s", key);
	return ret != 0 ? ret : cmd(l, "del server %s", key);
}

static void add_servers(void *arg, const char *key, void *val)
{
	struct diff *d = arg;
	const char *had = strmap_get(&d->have->servers, key);
	if (d->err != 0 || (had != NULL && strcmp(had, val) == 0))
		return;
	size_t n = strlen(val);
	if (had != NULL && strncmp(had, val, n) == 0 && strcmp(had + n, WANTED_MAINT) == 0) {
		/* Left in maintenance (a removal HAProxy refused while it held connections, then
		 * wanted again): back in service. */
		d->err = cmd(d->cmds, "enable server %s", key);
		return;
	}
	if (had != NULL) /* moved: out first */
		d->err = server_out(d->cmds, key);
	if (d->err == 0)
		d->err = cmd(d->cmds, "add server %s %s", key, (const char *)val);
	if (d->err == 0)
		d->err = cmd(d->cmds, "enable server %s", key);
}

static void set_entries(void *arg, const char *key, void *val)
{
	struct diff *d = arg;
	const char *had = strmap_get(&d->have->maps[d->map], key);
	/* The same already, or somebody else's entry (not one of berth's slots): a name routed
	 * by hand in HAProxy's map stays as it was put there. */
	if (d->err != 0 || (had != NULL && (strcmp(had, val) == 0 || !wanted_is_slot(had))))
		return;
	d->err = cmd(d->cmds, "%s map %s %s %s", had != NULL ? "set" : "add", d->map_ids[d->map],
		     key, (const char *)val);
}

static void del_entries(void *arg, const char *key, void *val)
{
	struct diff *d = arg;
	if (d->err != 0 || !wanted_is_slot(val) || strmap_get(&d->want->maps[d->map], key) != NULL)
		return;
	d->err = cmd(d->cmds, "del map %s %s", d->map_ids[d->map], key);
}

static void del_strays(void *arg, const char *ref, void *key)
{
	struct diff *d = arg;
	(void)key;
	if (d->err == 0)
		d->err = cmd(d->cmds, "del map %s %s", d->map_ids[d->map], ref);
}

static void del_servers(void *arg, const char *key, void *val)
{
	struct diff *d = arg;
	(void)val;
	if (d->err != 0 || !wanted_is_slot(key) || strmap_get(&d->want->servers, key) != NULL)
		return;
	d->err = server_out(d->cmds, key);
}

int wanted_diff(const struct proxy_state *have, const struct proxy_state *want,
		const char *const map_ids[MAPS], struct cmdlist *cmds)
{
	struct diff d = { have, want, map_ids, cmds, 0, 0 };
	strmap_foreach(&want->servers, add_servers, &d);
	for (d.map = 0; d.map < MAPS; d.map++)
		strmap_foreach(&want->maps[d.map], set_entries, &d);
	for (d.map = 0; d.map < MAPS; d.map++) {
		strmap_foreach(&have->maps[d.map], del_entries, &d);
		strmap_foreach(&have->strays[d.map], del_strays, &d);
	}
	strmap_foreach(&have->servers, del_servers, &d);
	return d.err;
}
