/* SPDX-License-Identifier: MIT */
/* berth provision's DNS side: TXT queries through libunbound (asynchronous, with a deadline),
 * configured like berth's forwarder so loopback and reserved names work. */
#include "provision/lookup.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <unbound.h>

#include "util/clock.h"

#define TYPE_TXT 16
#define CLASS_IN 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3

struct query {
	char qname[300];
	bool done;
	int err; /* libunbound error, or -ETIMEDOUT */
	int rcode;
	bool havedata;
	int nrecords;
	char *text;     /* listing: unused; command: the one record's strings, joined */
	char **strings; /* listing: every string of every record */
	size_t nstrings;
	uint32_t ttl;
	int async_id;
	bool bad_bytes; /* a command with a NUL byte or invalid UTF-8 */
};

bool provision_zone_valid(const char *zone)
{
	size_t n = strlen(zone), label = 0;
	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = zone[i];
		if (ch == '.') {
			if (label == 0 && i + 1 != n)
				return false;
			label = 0;
			continue;
		}
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
		if (!ok || ++label > 63)
			return false;
	}
	return zone[0] != '.';
}

/* A TXT string as a C string; bytes a name cannot hold become '?' (the name is then invalid and
 * reported, with something printable to show). */
static char *printable(const unsigned char *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		s[i] = p[i] < 0x20 || p[i] >= 0x7f ? '?' : (char)p[i];
	s[len] = '\0';
	return s;
}

static void on_result(void *arg, int err, struct ub_result *res)
{
	struct query *q = arg;
	q->done = true;
	q->err = err;
	if (err != 0 || res == NULL)
		goto out;
	q->rcode = res->rcode;
	q->havedata = res->havedata;
	q->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
	for (int i = 0; res->havedata && res->data[i]; i++) {
		const unsigned char *p = (const unsigned char *)res->data[i];
		size_t len = (size_t)res->len[i], off = 0, joined = 0;
		char *text = malloc(len + 1);
		if (text == NULL)
			break;
		q->nrecords++;
		while (off < len) {
			size_t sl = p[off++];
			if (sl > len - off)
				sl = len - off;
			memcpy(text + joined, p + off, sl);
			joined += sl;
			char **v = realloc(q->strings, (q->nstrings + 1) * sizeof(*v));
			if (v != NULL) {
				q->strings = v;
				if ((v[q->nstrings] = printable(p + off, sl)) != NULL)
					q->nstrings++;
			}
			off += sl;
		}
		text[joined] = '\0';
		/* A label value must be a JSON string: no NUL, valid UTF-8. */
		json_t *js = memchr(text, '\0', joined) ? NULL : json_string(text);
		q->bad_bytes = js == NULL;
		json_decref(js);
		free(q->text);
		q->text = text;
	}
out:
	ub_resolve_free(res);
}

static void query_clear(struct query *q)
{
	for (size_t i = 0; i < q->nstrings; i++)
		free(q->strings[i]);
	free(q->strings);
	free(q->text);
}

/* Wait for every query, at most timeout_ms; those still out are cancelled and time out. */
static void wait_all(struct ub_ctx *ctx, struct query *qs, size_t n, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		size_t pending = 0;
		for (size_t i = 0; i < n; i++)
			pending += !qs[i].done;
		int64_t left = deadline - mono_ms();
		if (pending == 0 || left <= 0)
			break;
		struct pollfd pfd = { .fd = ub_fd(ctx), .events = POLLIN };
		if (poll(&pfd, 1, (int)left) > 0)
			ub_process(ctx);
	}
	for (size_t i = 0; i < n; i++) {
		if (qs[i].done)
			continue;
		ub_cancel(ctx, qs[i].async_id);
		qs[i].done = true;
		qs[i].err = -ETIMEDOUT;
	}
}

static const char *query_problem(const struct query *q, char *buf, size_t len)
{
	if (q->err == -ETIMEDOUT)
		return "lookup timed out";
	if (q->err != 0) {
		snprintf(buf, len, "lookup failed: %s", ub_strerror(q->err));
		return buf;
	}
	if (q->rcode == RCODE_NXDOMAIN)
		return "no such name (NXDOMAIN)";
	if (q->rcode == RCODE_SERVFAIL)
		return "lookup failed (SERVFAIL)";
	if (q->rcode != 0) {
		snprintf(buf, len, "lookup failed (rcode %d)", q->rcode);
		return buf;
	}
	if (!q->havedata)
		return "no TXT record";
	return NULL;
}

static struct ub_ctx *make_ctx(const struct provision_lookup_conf *conf, char *err, size_t errlen)
{
	char zone[260], spec[80], ip[64];
	struct ub_ctx *ctx = ub_ctx_create();
	int ret = 0;
	const char *opts[][2] = {
		{ "do-not-query-localhost:", "no" }, /* resolvers are often on loopback */
		{ "module-config:", "iterator" },    /* no DNSSEC validation */
		{ "local-zone:", "test. transparent" },
		{ "local-zone:", "home.arpa. transparent" },
		{ "unblock-lan-zones:", "yes" },
		{ "qname-minimisation:", "no" },
		/* The zone itself may sit under a name unbound answers alone (local, invalid). */
		{ "local-zone:", zone },
	};

	if (ctx == NULL) {
		snprintf(err, errlen, "cannot create the libunbound context");
		return NULL;
	}
	snprintf(zone, sizeof(zone), "%s%s transparent", conf->zone,
		 conf->zone[strlen(conf->zone) - 1] == '.' ? "" : ".");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]) && ret == 0; i++) {
		ret = ub_ctx_set_option(ctx, opts[i][0], opts[i][1]);
		if (ret != 0)
			snprintf(err, errlen, "libunbound option %s %s: %s", opts[i][0], opts[i][1],
				 ub_strerror(ret));
	}
	for (size_t i = 0; i < conf->nresolvers && ret == 0; i++) {
		addr_ip_str(&conf->resolvers[i], ip, sizeof(ip));
		snprintf(spec, sizeof(spec), "%s@%u", ip, (unsigned)addr_port(&conf->resolvers[i]));
		ret = ub_ctx_set_fwd(ctx, spec);
		if (ret != 0)
			snprintf(err, errlen, "resolver %s: %s", spec, ub_strerror(ret));
	}
	if (ret == 0 && conf->nresolvers == 0) {
		const char *rc = conf->resolv_conf ? conf->resolv_conf : "/etc/resolv.conf";
		ret = ub_ctx_resolvconf(ctx, rc);
		if (ret != 0)
			snprintf(err, errlen, "%s: %s", rc, ub_strerror(ret));
	}
	if (ret == 0)
		ret = ub_ctx_async(ctx, 1); /* a thread, not a forked process */
	if (ret != 0) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	return ctx;
}

static int start(struct ub_ctx *ctx, struct query *q)
{
	return ub_resolve_async(ctx, q->qname, TYPE_TXT, CLASS_IN, q, on_result, &q->async_id);
}

static void take_ttl(struct provision_dns *d, const struct query *q)
{
	if (q->err == 0 && q->havedata && (d->min_ttl == 0 || q->ttl < d->min_ttl))
		d->min_ttl = q->ttl;
}

static char *keep(struct provision_dns *d, const char *s)
{
	char *copy = strdup(s);
	if (copy == NULL)
		return NULL;
	d->strings[d->nstrings++] = copy;
	return copy;
}

int provision_lookup(const struct provision_lookup_conf *conf, struct provision_dns *out, char *err,
		     size_t errlen)
{
	struct query list = { 0 }, *qs = NULL;
	const char *dot = conf->zone[strlen(conf->zone) - 1] == '.' ? "" : ".";
	char buf[120];
	struct ub_ctx *ctx;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	ctx = make_ctx(conf, err, errlen);
	if (ctx == NULL)
		return -EINVAL;
	snprintf(list.qname, sizeof(list.qname), "containers.%s%s", conf->zone, dot);
	if (start(ctx, &list) != 0) {
		snprintf(err, errlen, "cannot send the query for %s", list.qname);
		ret = -EIO;
		goto out;
	}
	wait_all(ctx, &list, 1, conf->timeout_ms);
	const char *why = query_problem(&list, buf, sizeof(buf));
	if (why != NULL) {
		snprintf(out->problem, sizeof(out->problem), "TXT %s: %s", list.qname, why);
		ret = 0;
		goto out;
	}
	out->complete = true;
	take_ttl(out, &list);
	qs = calloc(list.nstrings + 1, sizeof(*qs));
	out->v = calloc(list.nstrings + 1, sizeof(*out->v));
	out->strings = calloc(2 * list.nstrings + 1, sizeof(*out->strings));
	if (qs == NULL || out->v == NULL || out->strings == NULL)
		goto out;
	for (size_t i = 0; i < list.nstrings; i++) {
		const char *name = list.strings[i];
		struct provision_entry *e = &out->v[out->n];
		qs[i].done = true; /* until its query is sent */
		if (name[0] == '\0')
			continue;
		if ((e->name = keep(out, name)) == NULL)
			goto out;
		out->n++;
		if (!provision_name_valid(name))
			continue; /* the plan reports it */
		if (strlen(name) > 63) {
			e->problem = "name too long for a DNS label";
			continue;
		}
		snprintf(qs[i].qname, sizeof(qs[i].qname), "%s.containers.%s%s", name, conf->zone,
			 dot);
		qs[i].done = false;
		if (start(ctx, &qs[i]) != 0) {
			qs[i].done = true;
			qs[i].err = UB_SERVFAIL;
		}
	}
	wait_all(ctx, qs, list.nstrings, conf->timeout_ms);
	for (size_t i = 0, k = 0; i < list.nstrings; i++) {
		struct query *q = &qs[i];
		if (list.strings[i][0] == '\0')
			continue;
		struct provision_entry *e = &out->v[k++];
		if (q->qname[0] == '\0')
			continue;
		why = query_problem(q, buf, sizeof(buf));
		take_ttl(out, q);
		if (why != NULL && q->err == 0 && (q->rcode == RCODE_NXDOMAIN || !q->havedata))
			e->problem = "no command record";
		else if (why != NULL)
			e->problem = keep(out, why);
		else if (q->nrecords > 1)
			e->problem = "several command records";
		else if (q->bad_bytes)
			e->problem = "the command record holds a NUL byte or invalid UTF-8";
		else if ((e->cmdline = keep(out, q->text)) == NULL)
			goto out;
		if (e->cmdline == NULL && e->problem == NULL)
			goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; qs && i < list.nstrings; i++)
		query_clear(&qs[i]);
	free(qs);
	query_clear(&list);
	ub_ctx_delete(ctx);
	if (ret < 0) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		provision_dns_clear(out);
	}
	return ret;
}

void provision_dns_clear(struct provision_dns *d)
{
	for (size_t i = 0; i < d->nstrings; i++)
		free(d->strings[i]);
	free(d->strings);
	free(d->v);
	memset(d, 0, sizeof(*d));
}
