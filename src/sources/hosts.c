/* SPDX-License-Identifier: MIT */
/* Hosts files: the line parser, and a source keeping one origin per file of a watched dir. */
#include "sources/hosts.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/watch.h"
#include "store/registry.h"
#include "util/err.h"
#include "util/hostname.h"
#include "util/log.h"

#define MAX_TOKENS 256 /* address + names on one line */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A host name: labels of letters, digits, '-' and '_' (1-63 bytes each), at
 * most 253 bytes, one optional trailing dot. */
static bool host_name_ok(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	return len <= 253 && hostname_labels_ok(s, len);
}

/* Quote a token for an error message: bounded, printable. */
static void show(char *out, size_t outlen, const char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 4 < outlen; i++) {
		if (i == 40) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
}

struct tok {
	const char *s;
	size_t len;
};

/* One line, comments already cut. 0, with *bad true and the reason in msg when the line is
 * bad (nothing added); or a negative error. */
static int parse_line(struct recset *out, const char *line, size_t len, uint32_t ttl, bool *bad,
		      char *msg, size_t msglen)
{
	struct tok t[MAX_TOKENS];
	size_t n = 0;
	char ip[INET6_ADDRSTRLEN];
	char name[256];
	char first[256];
	char shown[48];
	uint8_t bin[16];
	size_t i = 0;
	while (i < len) {
		while (i < len && is_space(line[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !is_space(line[i]))
			i++;
		if (n == MAX_TOKENS) {
			*bad = true;
			snprintf(msg, msglen, "more than %d names", MAX_TOKENS - 1);
			return 0;
		}
		t[n++] = (struct tok){ line + start, i - start };
	}
	if (n == 0)
		return 0;
	if (t[0].len >= sizeof(ip)) {
		show(shown, sizeof(shown), t[0].s, t[0].len);
		*bad = true;
		snprintf(msg, msglen, "invalid address \"%s\"", shown);
		return 0;
	}
	memcpy(ip, t[0].s, t[0].len);
	ip[t[0].len] = '\0';
	if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1) {
		show(shown, sizeof(shown), t[0].s, t[0].len);
		*bad = true;
		snprintf(msg, msglen, "invalid address \"%s\"", shown);
		return 0;
	}
	if (n == 1) {
		show(shown, sizeof(shown), t[0].s, t[0].len);
		*bad = true;
		snprintf(msg, msglen, "address \"%s\" without a name", shown);
		return 0;
	}
	/* Check every name before adding any: a bad line adds nothing. */
	for (size_t k = 1; k < n; k++) {
		if (!host_name_ok(t[k].s, t[k].len)) {
			show(shown, sizeof(shown), t[k].s, t[k].len);
			*bad = true;
			snprintf(msg, msglen, "invalid name \"%s\"", shown);
			return 0;
		}
	}
	memcpy(first, t[1].s, t[1].len);
	first[t[1].len] = '\0';
	for (size_t k = 1; k < n; k++) {
		memcpy(name, t[k].s, t[k].len);
		name[t[k].len] = '\0';
		int ret = recset_add_addr(out, name, ip, ttl);
		if (ret < 0)
			return ret;
	}
	/* As in glibc and dnsmasq, the first line naming an address gives its PTR. */
	int ret = recset_add_reverse_first(out, ip, first, ttl);
	return ret < 0 ? ret : 0;
}

int hosts_parse(struct recset *out, const char *file, const char *text, size_t len, uint32_t ttl,
		parse_error_fn on_error, void *arg)
{
	char msg[160];
	unsigned lineno = 0;
	int bad = 0;
	size_t pos = 0;
	if (out == NULL || (text == NULL && len > 0))
		return -EINVAL;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t linelen = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += linelen + (nl != NULL ? 1 : 0);
		lineno++;
		const char *hash = memchr(line, '#', linelen);
		if (hash != NULL)
			linelen = (size_t)(hash - line);
		bool bad_line = false;
		int ret = parse_line(out, line, linelen, ttl, &bad_line, msg, sizeof(msg));
		if (ret < 0)
			return ret;
		if (bad_line) {
			bad++;
			if (on_error != NULL)
				on_error(arg, file, lineno, msg);
		}
	}
	return bad;
}

struct known {
	char *name;
	unsigned gen;
	size_t records;
	unsigned bad;
};

struct hosts_source {
	struct registry *reg;
	struct watch *watch;
	char *dir;
	uint32_t ttl;
	unsigned gen;
	struct known *files; /* files whose origin is in the registry */
	size_t nfiles;
	size_t cap;
	unsigned logged; /* bad lines logged of the file being read */
	char last_error[256];
};

static void log_bad_line(void *arg, const char *file, unsigned line, const char *msg)
{
	struct hosts_source *hs = arg;
	if (hs->logged++ < LOG_BAD_LINES)
		log_warn("hosts", "%.150s:%u: %.90s", file, line, msg);
	snprintf(hs->last_error, sizeof(hs->last_error), "%.150s:%u: %.90s", file, line, msg);
}

static void file_status(const struct hosts_source *hs, struct source_status *out)
{
	memset(out, 0, sizeof(*out));
	out->files = (unsigned)hs->nfiles;
	for (size_t i = 0; i < hs->nfiles; i++) {
		out->records += hs->files[i].records;
		out->bad_lines += hs->files[i].bad;
	}
	snprintf(out->last_error, sizeof(out->last_error), "%s", hs->last_error);
}

static struct known *find_known(struct hosts_source *hs, const char *name)
{
	for (size_t i = 0; i < hs->nfiles; i++)
		if (strcmp(hs->files[i].name, name) == 0)
			return &hs->files[i];
	return NULL;
}

static int add_known(struct hosts_source *hs, const char *name)
{
	if (find_known(hs, name) != NULL)
		return 0;
	if (hs->nfiles == hs->cap) {
		size_t cap = hs->cap == 0 ? 8 : hs->cap * 2;
		struct known *f = realloc(hs->files, cap * sizeof(*f));
		if (f == NULL)
			return -ENOMEM;
		hs->files = f;
		hs->cap = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL)
		return -ENOMEM;
	hs->files[hs->nfiles++] = (struct known){ .name = copy, .gen = hs->gen };
	return 0;
}

/* 0, or -ENOMEM when the registry could not drop the records: the file stays known, and the
 * next reload tries again. */
static int forget(struct hosts_source *hs, const char *name)
{
	char origin[PATH_MAX + 8];
	struct known *k = find_known(hs, name);
	int ret;
	if (k == NULL)
		return 0;
	snprintf(origin, sizeof(origin), "%s/%s", hs->dir, name);
	if ((ret = registry_set(hs->reg, ORIGIN_HOSTS, origin, NULL)) < 0) {
		log_error("hosts",
			  "%s/%s: removed, but its records stay until the next reload (%s)",
			  hs->dir, name, berth_strerror(ret));
		return ret;
	}
	log_info("hosts", "%s/%s: removed", hs->dir, name);
	free(k->name);
	*k = hs->files[--hs->nfiles];
	return 0;
}

/* Bring one name in line with the directory: load it, or forget it if it is
 * gone or no longer a regular file. A file that cannot be read keeps what it had.
 * 0, or a negative code, already logged. */
static int sync_file(struct hosts_source *hs, const char *name)
{
	char path[PATH_MAX];
	char origin[PATH_MAX + 8];
	char *text = NULL;
	size_t len = 0;
	struct recset *rs = NULL;
	if (name[0] == '.')
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", hs->dir, name) >= sizeof(path))
		return 0; /* no such file can exist */
	int ret = watch_read_file(path, &text, &len);
	if (ret == -ENOENT || ret == -EINVAL) {
		ret = forget(hs, name);
		goto out;
	}
	if (ret < 0) {
		log_warn("hosts", "%s: cannot read (%s); keeping its records", path,
			 strerror(-ret));
		snprintf(hs->last_error, sizeof(hs->last_error), "%.170s: cannot read (%.60s)",
			 path, strerror(-ret));
		goto out;
	}
	rs = recset_new();
	if (rs == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	hs->logged = 0;
	ret = hosts_parse(rs, path, text, len, hs->ttl, log_bad_line, hs);
	if (ret < 0)
		goto fail;
	if (ret > LOG_BAD_LINES)
		log_warn("hosts", "%s: %d bad lines, the first %d logged", path, ret,
			 LOG_BAD_LINES);
	if (add_known(hs, name) < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	unsigned bad = (unsigned)ret;
	size_t count = recset_count(rs);
	snprintf(origin, sizeof(origin), "%s", path);
	/* Complete set, one swap: names never vanish. The registry takes rs, even on failure. */
	ret = registry_set(hs->reg, ORIGIN_HOSTS, origin, rs);
	rs = NULL;
	if (ret < 0)
		goto fail;
	log_info("hosts", "%s: %zu records%s", path, count, bad > 0 ? ", bad lines skipped" : "");
	struct known *k = find_known(hs, name);
	k->records = count;
	k->bad = bad;
	goto out;
fail:
	log_error("hosts", "%s: %s; keeping its records", path, strerror(-ret));
out:
	recset_free(rs);
	free(text);
	return ret < 0 ? ret : 0;
}

void hosts_source_reload(struct hosts_source *hs)
{
	if (hs == NULL)
		return;
	DIR *d = opendir(hs->dir);
	if (d == NULL) {
		log_warn("hosts", "%s: cannot list (%s); keeping its records", hs->dir,
			 strerror(errno));
		return;
	}
	unsigned gen = ++hs->gen;
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		sync_file(hs, de->d_name);
		struct known *k = find_known(hs, de->d_name);
		if (k != NULL)
			k->gen = gen;
	}
	int err = errno;
	closedir(d);
	if (err != 0) {
		log_warn("hosts", "%s: listing failed (%s); keeping its records", hs->dir,
			 strerror(err));
		return;
	}
	/* Names not seen in this listing are gone. */
	for (size_t i = 0; i < hs->nfiles;) {
		if (hs->files[i].gen != gen && forget(hs, hs->files[i].name) == 0)
			continue; /* the last entry moved into i */
		i++;
	}
}

static void on_event(void *arg, const char *dir, const char *name, enum watch_kind kind)
{
	struct hosts_source *hs = arg;
	if (kind == WATCH_RESCAN || name == NULL)
		hosts_source_reload(hs);
	else
		(void)sync_file(hs, name); /* the file's state decides; a failure is logged */
}

int hosts_source_new(struct event_base *base, struct registry *reg, const char *dir, uint32_t ttl,
		     struct hosts_source **out, char *err, size_t errlen)
{
	struct hosts_source *hs = calloc(1, sizeof(*hs));
	int ret;

	*out = NULL;
	if (hs == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	hs->reg = reg;
	hs->ttl = ttl;
	hs->dir = realpath(dir, NULL);
	if (hs->dir == NULL) {
		ret = -errno;
		goto fail;
	}
	/* Watch first, then list: nothing changes unseen in between. */
	ret = watch_new(base, hs->dir, on_event, hs, &hs->watch);
	if (ret < 0)
		goto fail;
	hosts_source_reload(hs);
	*out = hs;
	return 0;
fail:
	hosts_source_free(hs);
	return berth_fail(err, errlen, ret, "%s: %s", dir, berth_strerror(ret));
}

void hosts_source_free(struct hosts_source *hs)
{
	if (hs == NULL)
		return;
	watch_free(hs->watch);
	for (size_t i = 0; i < hs->nfiles; i++)
		free(hs->files[i].name);
	free(hs->files);
	free(hs->dir);
	free(hs);
}

/* ---- struct source_ops ---- */

static void ops_reload(void *self)
{
	hosts_source_reload(self);
}

static json_t *ops_status(const void *self)
{
	const struct hosts_source *hs = self;
	struct source_status st;
	file_status(hs, &st);
	return source_file_json(hosts_source_ops.kind, hs->dir, &st);
}

static void ops_free(void *self)
{
	hosts_source_free(self);
}

const struct source_ops hosts_source_ops = {
	.kind = "hosts",
	.reload = ops_reload,
	.status = ops_status,
	.free = ops_free,
};
