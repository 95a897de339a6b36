/* SPDX-License-Identifier: MIT */
/* dnsmasq record lines: a parser with dnsmasq's quoting and field rules, and a file source. */
#include "sources/records.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libknot/libknot.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sources/watch.h"
#include "store/registry.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_TTL 2147483647u /* RFC 2181 */

/* One line after dnsmasq's quote processing: chars, and which came from quotes. */
struct line {
	char *c;
	bool *q;
	size_t n;
	bool bad; /* the line is bad and skipped: msg says why */
	char msg[160];
};

/* Mark the line bad with the reason in l->msg. Returns 0: a bad line is skipped, not an error of
 * the file, so a handler ends with `return reject(l, ...)`. */
static int reject(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reject(struct line *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
	l->bad = true;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* dnsmasq reads "..." with \" \\ \t \n \r \b \e escapes, strips the quotes
 * and protects what was inside from comma splitting, space trimming and '#'.
 * Unquoted whitespace is a space, and '#' after whitespace starts a comment.
 * A NUL byte or a missing closing quote makes the line bad (reject). */
static void unquote(struct line *l, const char *s, size_t len)
{
	static const char esc[] = "\"\\tnebr";
	static const char to[] = "\"\\\t\n\033\b\r";
	bool white = true;
	l->n = 0;
	if (memchr(s, '\0', len) != NULL) {
		reject(l, "NUL byte in line");
		return;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				const char *e = i + 1 < len ? strchr(esc, s[i + 1]) : NULL;
				c = s[i];
				if (c == '\\' && e != NULL) {
					c = to[e - esc];
					i++;
				}
				l->c[l->n] = c;
				l->q[l->n++] = true;
			}
			if (i == len) {
				reject(l, "missing \"");
				return;
			}
			white = false;
			continue;
		}
		if (is_space(c)) {
			c = ' ';
			white = true;
		} else if (white && c == '#') {
			break;
		} else {
			white = false;
		}
		l->c[l->n] = c;
		l->q[l->n++] = false;
	}
	l->c[l->n] = '\0';
}

static bool plain(const struct line *l, size_t i, char c)
{
	return l->c[i] == c && !l->q[i];
}

/* Split [start, end) on unquoted commas into NUL-terminated fields; with trim,
 * unquoted spaces around each field go, as dnsmasq's split() does. */
static size_t split(struct line *l, size_t start, size_t end, bool trim, char **f, size_t max)
{
	size_t n = 0;
	size_t i = start;
	for (;;) {
		size_t s = i;
		while (i < end && !plain(l, i, ','))
			i++;
		size_t e = i;
		if (trim) {
			while (s < e && plain(l, s, ' '))
				s++;
			while (e > s && plain(l, e - 1, ' '))
				e--;
		}
		if (n < max)
			f[n] = l->c + s;
		n++;
		l->c[e] = '\0';
		if (i >= end)
			break;
		i++;
	}
	return n;
}

static bool digits(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

static bool number(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (!digits(s) || strlen(s) > 10)
		return false;
	for (; *s != '\0'; s++)
		v = v * 10 + (unsigned long)(*s - '0');
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool name_ok(const char *s)
{
	uint8_t wire[KNOT_DNAME_MAXLEN];
	if (*s == '\0')
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return false;
	return knot_dname_from_str(wire, s, sizeof(wire)) != NULL;
}

/* reject with "what \"val\"", val cut to 40 bytes and anything unprintable in it as '?'. */
static int bad(struct line *l, const char *what, const char *val)
{
	char shown[48];
	size_t o = 0;
	for (size_t i = 0; val[i] != '\0' && o + 4 < sizeof(shown); i++) {
		if (i == 40) {
			memcpy(shown + o, "...", 3);
			o += 3;
			break;
		}
		unsigned char c = (unsigned char)val[i];
		shown[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	shown[o] = '\0';
	return reject(l, "%s \"%s\"", what, shown);
}

static int too_many(struct line *l, const char *key)
{
	return reject(l, "%s: too many fields", key);
}

static int parse_ip(const char *s, uint8_t *bin)
{
	if (inet_pton(AF_INET, s, bin) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, bin) == 1)
		return AF_INET6;
	return 0;
}

/* Digits and dots, or any colon: meant as an address, never a host name. */
static bool addr_like(const char *s)
{
	if (strchr(s, ':') != NULL)
		return true;
	return strspn(s, "0123456789.") == strlen(s);
}

/* host-record=<name>[,<name>...],[IPv4],[IPv6][,<TTL>]: fields are told apart
 * by their form, as dnsmasq does (all digits: TTL, an address, else a name). */
static int host_record(struct recset *out, struct line *l, char **f, size_t n, uint32_t ttl)
{
	uint8_t bin[16];
	const char *first = NULL;
	size_t nnames = 0;
	size_t naddrs = 0;
	unsigned long v;
	if (n < 2)
		return reject(l, "host-record needs a name and an address");
	for (size_t i = 0; i < n; i++) {
		if (f[i][0] == '\0')
			continue;
		if (digits(f[i])) {
			if (!number(f[i], MAX_TTL, &v))
				return bad(l, "host-record: bad TTL", f[i]);
			ttl = (uint32_t)v;
		} else if (parse_ip(f[i], bin) != 0) {
			naddrs++;
		} else if (addr_like(f[i])) {
			return bad(l, "host-record: bad address", f[i]);
		} else if (name_ok(f[i])) {
			if (first == NULL)
				first = f[i];
			nnames++;
		} else {
			return bad(l, "host-record: bad name", f[i]);
		}
	}
	if (nnames == 0 || naddrs == 0)
		return reject(l, "host-record needs a name and an address");
	for (size_t a = 0; a < n; a++) {
		if (f[a][0] == '\0' || digits(f[a]) || parse_ip(f[a], bin) == 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (f[i][0] == '\0' || digits(f[i]) || parse_ip(f[i], bin) != 0)
				continue;
			int ret = recset_add_addr(out, f[i], f[a], ttl);
			if (ret < 0)
				return ret;
		}
		/* dnsmasq: one PTR per address, to the first name given for it. */
		int ret = recset_add_reverse_first(out, f[a], first, ttl);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* txt-record=<name>[[,<text>],<text>]: each comma-separated text is one string,
 * split into 255-byte chunks; spaces after the first comma are dropped, others
 * kept, as in dnsmasq. No text at all is one empty string. */
static int txt_record(struct recset *out, struct line *l, size_t start, uint32_t ttl)
{
	char *name[1];
	char **texts = NULL;
	size_t i = start;
	int ret;
	while (i < l->n && !plain(l, i, ','))
		i++;
	size_t nameend = i;
	split(l, start, nameend, true, name, 1);
	if (!name_ok(name[0])) {
		ret = bad(l, "txt-record: bad name", name[0]);
		goto out;
	}
	if (nameend >= l->n) {
		ret = recset_add_txt(out, name[0], NULL, 0, ttl);
		goto out;
	}
	i = nameend + 1;
	while (i < l->n && plain(l, i, ' '))
		i++;
	size_t max = 1;
	for (size_t k = i; k < l->n; k++)
		if (plain(l, k, ','))
			max++;
	texts = calloc(max, sizeof(*texts));
	if (texts == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	size_t n = split(l, i, l->n, false, texts, max);
	ret = recset_add_txt(out, name[0], (const char *const *)texts, n, ttl);
	if (ret == BERTH_ETOOLONG)
		ret = reject(l, "txt-record: text longer than 65535 bytes");
out:
	free(texts);
	return ret;
}

/* srv-host=<_service>.<_prot>.[<domain>],[<target>[,<port>[,<priority>[,<weight>]]]]:
 * port 1, priority and weight 0 by default; no target is ".", "no such service". */
static int srv_host(struct recset *out, struct line *l, char **f, size_t n, uint32_t ttl)
{
	unsigned long v[3] = { 1, 0, 0 };
	static const char *const what[3] = { "srv-host: bad port", "srv-host: bad priority",
					     "srv-host: bad weight" };
	if (n > 5)
		return too_many(l, "srv-host");
	if (!name_ok(f[0]))
		return bad(l, "srv-host: bad name", f[0]);
	if (n >= 2 && !name_ok(f[1]))
		return bad(l, "srv-host: bad target", f[1]);
	for (size_t i = 2; i < n; i++)
		if (!number(f[i], UINT16_MAX, &v[i - 2]))
			return bad(l, what[i - 2], f[i]);
	return recset_add_srv(out, f[0], (uint16_t)v[1], (uint16_t)v[2], (uint16_t)v[0],
			      n >= 2 ? f[1] : ".", ttl);
}

/* ptr-record=<name>[,<target>]; without a target dnsmasq answers the root name. */
static int ptr_record(struct recset *out, struct line *l, char **f, size_t n, uint32_t ttl)
{
	if (n > 2)
		return too_many(l, "ptr-record");
	if (!name_ok(f[0]))
		return bad(l, "ptr-record: bad name", f[0]);
	if (n == 2 && !name_ok(f[1]))
		return bad(l, "ptr-record: bad target", f[1]);
	return recset_add_name_rr(out, f[0], KNOT_RRTYPE_PTR, n == 2 ? f[1] : ".", ttl);
}

static bool has_cname(const struct recset *rs, const char *name)
{
	uint8_t wire[KNOT_DNAME_MAXLEN];
	if (knot_dname_from_str(wire, name, sizeof(wire)) == NULL)
		return false;
	knot_dname_to_lower(wire);
	size_t len = knot_dname_size(wire);
	for (size_t i = 0; i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		if (r->type == KNOT_RRTYPE_CNAME && knot_dname_size(r->owner) == len &&
		    memcmp(r->owner, wire, len) == 0)
			return true;
	}
	return false;
}

/* cname=<cname>,[<cname>,]<target>[,<TTL>]: a numeric last field after at
 * least two others is the TTL; an alias defined twice is an error. */
static int cname(struct recset *out, struct line *l, char **f, size_t n, uint32_t ttl)
{
	unsigned long v;
	if (n < 2)
		return reject(l, "cname needs an alias and a target");
	if (n >= 3 && digits(f[n - 1])) {
		if (!number(f[n - 1], MAX_TTL, &v))
			return bad(l, "cname: bad TTL", f[n - 1]);
		ttl = (uint32_t)v;
		n--;
	}
	const char *target = f[n - 1];
	if (!name_ok(target))
		return bad(l, "cname: bad target", target);
	for (size_t i = 0; i + 1 < n; i++) {
		if (!name_ok(f[i]))
			return bad(l, "cname: bad name", f[i]);
		if (has_cname(out, f[i]))
			return bad(l, "cname: duplicate CNAME for", f[i]);
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(f[k], f[i]) == 0)
				return bad(l, "cname: duplicate CNAME for", f[i]);
	}
	for (size_t i = 0; i + 1 < n; i++) {
		int ret = recset_add_name_rr(out, f[i], KNOT_RRTYPE_CNAME, target, ttl);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* mx-host=<mx name>[[,<hostname>],<preference>]: preference 1 and this
 * machine's host name by default. A lone numeric second field is the preference. */
static int mx_host(struct recset *out, struct line *l, char **f, size_t n, uint32_t ttl)
{
	char host[HOST_NAME_MAX + 1];
	const char *target = NULL;
	unsigned long pref = 1;
	if (n > 3)
		return too_many(l, "mx-host");
	if (!name_ok(f[0]))
		return bad(l, "mx-host: bad name", f[0]);
	if (n == 3 || (n == 2 && !digits(f[1])))
		target = f[1];
	if (n >= 2 && target == NULL && !number(f[n - 1], UINT16_MAX, &pref))
		return bad(l, "mx-host: bad preference", f[n - 1]);
	if (n == 3 && !number(f[2], UINT16_MAX, &pref))
		return bad(l, "mx-host: bad preference", f[2]);
	if (target == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		target = host;
	}
	if (!name_ok(target))
		return bad(l, "mx-host: bad target", target);
	return recset_add_mx(out, f[0], (uint16_t)pref, target, ttl);
}

/* A record line's handler, given its n fields f: 0, with l->bad when the line is bad (reject);
 * or a negative error. */
typedef int (*line_fn)(struct recset *out, struct line *l, char **f, size_t n, uint32_t ttl);

static const struct {
	const char *key;
	line_fn fn; /* NULL: txt-record, which splits its own way */
} kinds[] = {
	{ "host-record", host_record }, { "txt-record", NULL }, { "srv-host", srv_host },
	{ "ptr-record", ptr_record },   { "cname", cname },     { "mx-host", mx_host },
};

/* One unquoted line: 0, with l->bad when it is bad (nothing is wrong with the file); or a
 * negative error. Blank lines are nothing. */
static int parse_line(struct recset *out, struct line *l, uint32_t ttl)
{
	size_t nkinds = sizeof(kinds) / sizeof(kinds[0]);
	size_t start = 0;
	size_t end = l->n;
	size_t k;
	while (start < end && plain(l, start, ' '))
		start++;
	while (end > start && plain(l, end - 1, ' '))
		end--;
	if (start == end)
		return 0;
	l->n = end;
	l->c[end] = '\0';
	size_t eq = start;
	while (eq < end && !plain(l, eq, '='))
		eq++;
	size_t kend = eq;
	while (kend > start && plain(l, kend - 1, ' '))
		kend--;
	for (k = 0; k < nkinds; k++)
		if (strlen(kinds[k].key) == kend - start &&
		    memcmp(kinds[k].key, l->c + start, kend - start) == 0)
			break;
	l->c[kend] = '\0';
	if (k == nkinds)
		return bad(l, "not a record line:", l->c + start);
	if (eq == end)
		return reject(l, "%s: missing \"=value\"", kinds[k].key);
	size_t v = eq + 1;
	while (v < end && plain(l, v, ' '))
		v++;
	if (kinds[k].fn == NULL)
		return txt_record(out, l, v, ttl);
	size_t max = 1;
	for (size_t i = v; i < end; i++)
		if (plain(l, i, ','))
			max++;
	char **f = calloc(max, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	size_t n = split(l, v, end, true, f, max);
	int ret = kinds[k].fn(out, l, f, n, ttl);
	if (ret == -EINVAL) /* checked above; a recset refusal is still this line's fault */
		ret = reject(l, "%s: invalid value", kinds[k].key);
	free(f);
	return ret;
}

int records_parse(struct recset *out, const char *file, const char *text, size_t len, uint32_t ttl,
		  parse_error_fn on_error, void *arg)
{
	struct line l = { 0 };
	unsigned lineno = 0;
	int bad_lines = 0;
	size_t pos = 0;
	int ret = 0;
	if (out == NULL || (text == NULL && len > 0))
		return -EINVAL;
	l.c = malloc(len + 1);
	l.q = malloc(len + 1);
	if (l.c == NULL || l.q == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL ? 1 : 0);
		lineno++;
		l.bad = false;
		unquote(&l, s, n);
		int r = l.bad ? 0 : parse_line(out, &l, ttl);
		if (r < 0) {
			ret = r;
			goto out;
		}
		if (l.bad) {
			bad_lines++;
			if (on_error != NULL)
				on_error(arg, file, lineno, l.msg);
		}
	}
	ret = bad_lines;
out:
	free(l.c);
	free(l.q);
	return ret;
}

struct records_source {
	struct registry *reg;
	struct watch *watch;
	char *path;
	char *dir;
	char *base;
	uint32_t ttl;
	bool loaded; /* the origin is in the registry */
	size_t records;
	unsigned bad;
	unsigned logged; /* bad lines logged of this read */
	char last_error[256];
};

static void log_bad_line(void *arg, const char *file, unsigned line, const char *msg)
{
	struct records_source *rs = arg;
	if (rs->logged++ < LOG_BAD_LINES)
		log_warn("records", "%s:%u: %s", file, line, msg);
	snprintf(rs->last_error, sizeof(rs->last_error), "%.150s:%u: %.90s", file, line, msg);
}

static void file_status(const struct records_source *rs, struct source_status *out)
{
	memset(out, 0, sizeof(*out));
	out->files = rs->loaded ? 1 : 0;
	out->records = rs->loaded ? rs->records : 0;
	out->bad_lines = rs->bad;
	snprintf(out->last_error, sizeof(out->last_error), "%s", rs->last_error);
}

/* Read and publish the file. A file that is gone takes its records with it;
 * one that cannot be read or parsed keeps them. */
static int load(struct records_source *rs)
{
	char *text = NULL;
	size_t len = 0;
	struct recset *set = NULL;
	int ret = watch_read_file(rs->path, &text, &len);
	if (ret == -ENOENT && rs->loaded) {
		int r = registry_set(rs->reg, ORIGIN_RECORDS, rs->path, NULL);
		if (r < 0) {
			log_error("records",
				  "%s: removed, but its records stay until the next reload (%s)",
				  rs->path, berth_strerror(r));
			ret = r;
			goto out;
		}
		rs->loaded = false;
		log_info("records", "%s: removed", rs->path);
	}
	if (ret < 0) {
		if (ret != -ENOENT || rs->loaded)
			log_warn("records", "%s: cannot read (%s)%s", rs->path, strerror(-ret),
				 rs->loaded ? "; keeping its records" : "");
		snprintf(rs->last_error, sizeof(rs->last_error), "%.170s: cannot read (%.60s)",
			 rs->path, strerror(-ret));
		goto out;
	}
	set = recset_new();
	if (set == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rs->logged = 0;
	ret = records_parse(set, rs->path, text, len, rs->ttl, log_bad_line, rs);
	if (ret < 0) {
		log_error("records", "%s: %s; keeping its records", rs->path, strerror(-ret));
		goto out;
	}
	if (ret > LOG_BAD_LINES)
		log_warn("records", "%s: %d bad lines, the first %d logged", rs->path, ret,
			 LOG_BAD_LINES);
	unsigned bad = (unsigned)ret;
	size_t count = recset_count(set);
	ret = registry_set(rs->reg, ORIGIN_RECORDS, rs->path, set); /* takes set, even on failure */
	set = NULL;
	if (ret < 0) {
		log_error("records", "%s: %s; keeping its records", rs->path, strerror(-ret));
		goto out;
	}
	log_info("records", "%s: %zu records%s", rs->path, count,
		 bad > 0 ? ", bad lines skipped" : "");
	rs->records = count;
	rs->bad = bad;
	rs->loaded = true;
out:
	recset_free(set);
	free(text);
	return ret;
}

static void on_event(void *arg, const char *dir, const char *name, enum watch_kind kind)
{
	struct records_source *rs = arg;
	if (name == NULL || strcmp(name, rs->base) == 0)
		load(rs);
}

void records_source_reload(struct records_source *rs)
{
	if (rs != NULL)
		load(rs);
}

int records_source_new(struct event_base *base, struct registry *reg, const char *path,
		       uint32_t ttl, struct records_source **out, char *err, size_t errlen)
{
	struct records_source *rs = calloc(1, sizeof(*rs));
	int ret;

	*out = NULL;
	if (rs == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	rs->reg = reg;
	rs->ttl = ttl;
	const char *slash = strrchr(path, '/');
	rs->path = strdup(path);
	rs->base = strdup(slash != NULL ? slash + 1 : path);
	rs->dir = slash == NULL ? strdup(".") :
		  slash == path ? strdup("/") :
				  strndup(path, (size_t)(slash - path));
	if (rs->path == NULL || rs->base == NULL || rs->dir == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	if (rs->base[0] == '\0') {
		ret = -EISDIR;
		goto fail;
	}
	/* Watch the directory, not the file, so a rename over it is seen. */
	ret = watch_new(base, rs->dir, on_event, rs, &rs->watch);
	if (ret < 0)
		goto fail;
	ret = load(rs);
	if (ret < 0)
		goto fail;
	*out = rs;
	return 0;
fail:
	records_source_free(rs);
	return berth_fail(err, errlen, ret, "%s: %s", path, berth_strerror(ret));
}

void records_source_free(struct records_source *rs)
{
	if (rs == NULL)
		return;
	watch_free(rs->watch);
	free(rs->path);
	free(rs->dir);
	free(rs->base);
	free(rs);
}

/* ---- struct source_ops ---- */

static void ops_reload(void *self)
{
	records_source_reload(self);
}

static json_t *ops_status(const void *self)
{
	const struct records_source *rs = self;
	struct source_status st;
	file_status(rs, &st);
	return source_file_json(records_source_ops.kind, rs->path, &st);
}

static void ops_free(void *self)
{
	records_source_free(self);
}

const struct source_ops records_source_ops = {
	.kind = "records",
	.reload = ops_reload,
	.status = ops_status,
	.free = ops_free,
};
