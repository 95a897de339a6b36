/* SPDX-License-Identifier: MIT */
/* Manual records (dnsdock's services API): validation, the names they give, and
 * a source that keeps them in the registry and in one atomically written file. */
#include "sources/manual.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sources/watch.h"
#include "store/registry.h"
#include "util/err.h"
#include "util/hostname.h"
#include "util/log.h"

#define PART_MAX 200 /* bytes in "name", "image" or an alias */

struct manual_source {
	struct registry *reg;
	char *dir;  /* NULL: memory only */
	char *path; /* <dir>/manual.json */
	char *domain;
	char *env;
	uint32_t conf_ttl; /* --ttl */
	int64_t api_ttl;   /* PUT /set/ttl, -1 when never set */
	json_t *services;  /* {"id": canonical service} */
	bool no_writes;    /* the file exists but could not be read: never overwrite it */
	char error[512];   /* the last problem with the file, "" when none */
};

bool manual_id_valid(const char *id)
{
	size_t len = id == NULL ? 0 : strlen(id);
	if (len == 0 || len > MANUAL_ID_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* Dotted labels of letters, digits, '-' and '_', 1..63 bytes each; a trailing
 * dot is allowed when trailing_dot, a leading "*." when wild. */
static bool name_ok(const char *s, bool wild, bool trailing_dot)
{
	size_t len = strlen(s);

	if (trailing_dot && len > 1 && s[len - 1] == '.')
		len--;
	if (wild && len > 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	return len <= PART_MAX && hostname_labels_ok(s, len);
}

/* A string field that must be a name. */
static json_t *parse_part(const char *field, const json_t *v, char *err, size_t errlen)
{
	if (!json_is_string(v) || !name_ok(json_string_value(v), false, false)) {
		berth_fail(err, errlen, -EINVAL,
			   "\"%s\" must be a DNS name: labels of letters, digits, '-' or '_' "
			   "separated by dots, at most %d bytes",
			   field, PART_MAX);
		return NULL;
	}
	return json_string(json_string_value(v));
}

static int add_ip(json_t *ips, const json_t *v, char *err, size_t errlen)
{
	unsigned char bin[16];
	char text[INET6_ADDRSTRLEN];
	const char *s = json_string_value(v);
	int af;
	size_t i;
	json_t *have;

	if (s == NULL) {
		return berth_fail(err, errlen, -EINVAL,
				  "\"ips\" must be a list of IPv4 or IPv6 addresses (strings)");
	}
	af = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, s, bin) != 1 || inet_ntop(af, bin, text, sizeof(text)) == NULL) {
		return berth_fail(err, errlen, -EINVAL,
				  "\"ips\": \"%.64s\" is not an IPv4 or IPv6 address", s);
	}
	json_array_foreach(ips, i,
			   have) if (strcmp(json_string_value(have), text) ==
				     0) return 0; /* the same address twice is one address */
	if (json_array_size(ips) >= MANUAL_MAX_IPS) {
		return berth_fail(err, errlen, -EINVAL, "\"ips\": at most %d addresses",
				  MANUAL_MAX_IPS);
	}
	return json_array_append_new(ips, json_string(text)) == 0 ? 0 : -ENOMEM;
}

static json_t *parse_ips(const json_t *v, bool single, char *err, size_t errlen)
{
	json_t *ips = json_array();
	size_t i;
	json_t *e;

	if (ips == NULL)
		return NULL;
	if (single) {
		if (add_ip(ips, v, err, errlen) != 0)
			goto fail;
		return ips;
	}
	if (!json_is_array(v)) {
		berth_fail(err, errlen, -EINVAL,
			   "\"ips\" must be a list of IPv4 or IPv6 addresses");
		goto fail;
	}
	json_array_foreach(v, i, e) if (add_ip(ips, e, err, errlen) != 0) goto fail;
	if (json_array_size(ips) == 0) {
		berth_fail(err, errlen, -EINVAL, "\"ips\" must hold at least one address");
		goto fail;
	}
	return ips;
fail:
	json_decref(ips);
	return NULL;
}

static json_t *parse_aliases(const json_t *v, char *err, size_t errlen)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;

	if (out == NULL)
		return NULL;
	if (json_is_null(v))
		return out;
	if (!json_is_array(v) || json_array_size(v) > MANUAL_MAX_ALIASES) {
		berth_fail(err, errlen, -EINVAL, "\"aliases\" must be a list of at most %d names",
			   MANUAL_MAX_ALIASES);
		goto fail;
	}
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);
		if (s == NULL || !name_ok(s, true, true)) {
			berth_fail(
				err, errlen, -EINVAL,
				"\"aliases\": \"%.64s\" is not a DNS name (labels of letters, digits, "
				"'-' or '_', optionally \"*.\" in front)",
				s == NULL ? "(not a string)" : s);
			goto fail;
		}
		size_t len = strlen(s);
		if (len > 1 && s[len - 1] == '.')
			len--;
		if (json_array_append_new(out, json_stringn(s, len)) != 0)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

static json_t *parse_ttl(const json_t *v, char *err, size_t errlen)
{
	if (json_is_null(v))
		return json_integer(-1);
	if (json_is_integer(v)) {
		json_int_t t = json_integer_value(v);
		if (t >= -1 && t <= (json_int_t)MANUAL_TTL_MAX)
			return json_integer(t);
	}
	berth_fail(err, errlen, -EINVAL,
		   "\"ttl\" must be an integer from 0 to %u seconds, or -1 for the default",
		   MANUAL_TTL_MAX);
	return NULL;
}

enum field { F_NAME, F_IMAGE, F_IPS, F_IP, F_TTL, F_ALIASES, F_HTTP_PORT, F_COUNT };
static const char *const field_names[F_COUNT] = { "name", "image",   "ips",      "ip",
						  "ttl",  "aliases", "http_port" };

/* "http_port": the port HAProxy reaches the service's addresses on (null: none). */
static json_t *parse_http_port(const json_t *v, char *err, size_t errlen)
{
	if (json_is_null(v))
		return json_null();
	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 65535)
		return json_integer(json_integer_value(v));
	berth_fail(err, errlen, -EINVAL, "\"http_port\" must be a port (1 to 65535), or null");
	return NULL;
}

/* manual_service_parse with the reason always written (err is never NULL here). */
static json_t *parse_service(const json_t *in, const json_t *base, char *err, size_t errlen)
{
	const json_t *given[F_COUNT] = { 0 };
	const char *key;
	json_t *v;
	json_t *out = NULL;

	if (!json_is_object(in)) {
		berth_fail(err, errlen, -EINVAL,
			   "the body must be a JSON object with \"name\", \"image\", "
			   "\"ips\", and optionally \"ttl\" and \"aliases\"");
		return NULL;
	}
	json_object_foreach((json_t *)in, key, v)
	{
		int f;
		for (f = 0; f < F_COUNT; f++)
			if (strcasecmp(key, field_names[f]) == 0)
				break;
		if (f == F_COUNT) {
			berth_fail(
				err, errlen, -EINVAL,
				"unknown field \"%.40s\": a service has \"name\", \"image\", \"ips\", "
				"\"ttl\", \"aliases\" and \"http_port\"",
				key);
			return NULL;
		}
		if (given[f] != NULL) {
			berth_fail(err, errlen, -EINVAL, "field \"%s\" is given twice",
				   field_names[f]);
			return NULL;
		}
		given[f] = v;
	}
	if (given[F_IP] != NULL && given[F_IPS] != NULL) {
		berth_fail(err, errlen, -EINVAL, "give \"ips\" (a list) or \"ip\", not both");
		return NULL;
	}
	if (base == NULL) {
		for (int f = F_NAME; f <= F_IPS; f++) {
			if (given[f] == NULL && !(f == F_IPS && given[F_IP] != NULL)) {
				berth_fail(err, errlen, -EINVAL, "field \"%s\" is required",
					   field_names[f]);
				return NULL;
			}
		}
		out = json_pack("{s:s, s:s, s:[], s:i, s:[]}", "name", "", "image", "", "ips",
				"ttl", -1, "aliases");
	} else {
		out = json_deep_copy(base);
	}
	if (out == NULL) {
		berth_fail(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}

	json_t *parsed[F_COUNT] = { 0 };
	if (given[F_NAME] && !(parsed[F_NAME] = parse_part("name", given[F_NAME], err, errlen)))
		goto fail;
	if (given[F_IMAGE] && !(parsed[F_IMAGE] = parse_part("image", given[F_IMAGE], err, errlen)))
		goto fail;
	if (given[F_IPS] && !(parsed[F_IPS] = parse_ips(given[F_IPS], false, err, errlen)))
		goto fail;
	if (given[F_IP] && !(parsed[F_IPS] = parse_ips(given[F_IP], true, err, errlen)))
		goto fail;
	if (given[F_TTL] && !(parsed[F_TTL] = parse_ttl(given[F_TTL], err, errlen)))
		goto fail;
	if (given[F_ALIASES] && !(parsed[F_ALIASES] = parse_aliases(given[F_ALIASES], err, errlen)))
		goto fail;
	if (given[F_HTTP_PORT] &&
	    !(parsed[F_HTTP_PORT] = parse_http_port(given[F_HTTP_PORT], err, errlen)))
		goto fail;
	for (int f = 0; f < F_COUNT; f++) {
		if (parsed[f] == NULL)
			continue;
		if (json_is_null(parsed[f])) { /* a field taken away */
			json_object_del(out, field_names[f]);
			json_decref(parsed[f]);
			parsed[f] = NULL;
			continue;
		}
		if (json_object_set_new(out, field_names[f], parsed[f]) != 0) {
			parsed[f] = NULL;
			berth_fail(err, errlen, -ENOMEM, "out of memory");
			goto fail;
		}
		parsed[f] = NULL;
	}
	return out;
fail:
	for (int f = 0; f < F_COUNT; f++)
		json_decref(parsed[f]);
	json_decref(out);
	return NULL;
}

static int add_all(struct recset *out, const json_t *ips, uint32_t ttl, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A or AAAA for every address at one owner name (printf-style). */
static int add_all(struct recset *out, const json_t *ips, uint32_t ttl, const char *fmt, ...)
{
	char owner[512];
	va_list ap;
	size_t i;
	json_t *ip;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(owner, sizeof(owner), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(owner))
		return -EINVAL;
	json_array_foreach(ips, i, ip)
	{
		int ret = recset_add_addr(out, owner, json_string_value(ip), ttl);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int manual_service_records(const json_t *svc, const struct manual_naming *nm, uint32_t default_ttl,
			   struct recset *out)
{
	const char *name = json_string_value(json_object_get(svc, "name"));
	const char *image = json_string_value(json_object_get(svc, "image"));
	const json_t *ips = json_object_get(svc, "ips");
	const json_t *aliases = json_object_get(svc, "aliases");
	json_int_t t = json_integer_value(json_object_get(svc, "ttl"));
	const char *env = nm->environment != NULL ? nm->environment : "";
	char suffix[300];
	uint32_t ttl = t < 0 ? default_ttl : (uint32_t)t;
	size_t i;
	json_t *a;
	int ret;

	if (name == NULL || image == NULL || !json_is_array(ips) || nm->domain == NULL)
		return -EINVAL;
	if (env[0] != '\0')
		ret = snprintf(suffix, sizeof(suffix), "%s.%s", env, nm->domain);
	else
		ret = snprintf(suffix, sizeof(suffix), "%s", nm->domain);
	if (ret < 0 || (size_t)ret >= sizeof(suffix))
		return -EINVAL;

	if ((ret = add_all(out, ips, ttl, "%s.%s.%s", name, image, suffix)) < 0 ||
	    (ret = add_all(out, ips, ttl, "*.%s.%s.%s", name, image, suffix)) < 0 ||
	    (ret = add_all(out, ips, ttl, "%s.%s", image, suffix)) < 0)
		return ret;
	if (env[0] != '\0' && (ret = add_all(out, ips, ttl, "%s", suffix)) < 0)
		return ret;
	json_array_foreach(aliases, i, a) if ((ret = add_all(out, ips, ttl, "%s",
							     json_string_value(a))) < 0) return ret;
	return 0;
}

int manual_service_parse(const json_t *in, const json_t *base, json_t **out, char *err,
			 size_t errlen)
{
	char why[256] = "";

	*out = parse_service(in, base, why, sizeof(why));
	if (*out != NULL)
		return 0;
	/* Every refusal says why; only a failed allocation in jansson may not. */
	if (why[0] == '\0' || strcmp(why, "out of memory") == 0)
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	return berth_fail(err, errlen, -EINVAL, "%s", why);
}

/* --- The source --- */

uint32_t manual_default_ttl(const struct manual_source *ms)
{
	return ms->api_ttl >= 0 ? (uint32_t)ms->api_ttl : ms->conf_ttl;
}

size_t manual_count(const struct manual_source *ms)
{
	return json_object_size(ms->services);
}

static struct recset *build(const struct manual_source *ms, const json_t *svc)
{
	struct manual_naming nm = { .domain = ms->domain, .environment = ms->env };
	struct recset *rs = recset_new();
	if (rs != NULL && manual_service_records(svc, &nm, manual_default_ttl(ms), rs) != 0) {
		recset_free(rs);
		rs = NULL;
	}
	return rs;
}

/* Give the registry the service's records (rs taken, NULL removes them). 0, or -ENOMEM
 * (logged): the registry keeps what it had for id. */
static int publish(struct manual_source *ms, const char *id, struct recset *rs)
{
	int ret = registry_set(ms->reg, ORIGIN_MANUAL, id, rs);
	if (ret < 0)
		log_error("manual", "service %s: its records cannot be %s (%s)", id,
			  rs != NULL ? "served" : "removed", berth_strerror(ret));
	return ret;
}

/* Write data to path through a temporary file in the same directory: fsync the
 * file, rename it over path, fsync the directory. A crash leaves the old file
 * or the new one, never a mix. */
static int write_atomic(const char *dir, const char *path, const char *data, size_t len, char *err,
			size_t errlen)
{
	char tmp[4096];
	int fd = -1;
	int dfd = -1;
	int e = 0;
	const char *what = "create a temporary file in";

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		e = errno;
		what = "create the directory";
		goto fail;
	}
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, MANUAL_FILE) >= (int)sizeof(tmp)) {
		e = ENAMETOOLONG;
		goto fail;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		goto fail;
	}
	what = "write";
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			goto fail_unlink;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		e = errno;
		goto fail_unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		e = errno;
		goto fail_unlink;
	}
	fd = -1;
	what = "rename the new file into";
	if (rename(tmp, path) != 0) {
		e = errno;
		goto fail_unlink;
	}
	/* The rename is durable only once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		e = errno;
		what = "fsync";
		if (dfd >= 0)
			close(dfd);
		goto fail;
	}
	close(dfd);
	return 0;
fail_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
fail:
	return berth_fail(err, errlen, -EIO, "cannot %s %s: %s", what, dir, strerror(e));
}

static int save(struct manual_source *ms, char *err, size_t errlen)
{
	json_t *doc;
	char *text;
	int ret;

	if (ms->path == NULL)
		return 0;
	if (ms->no_writes) {
		return berth_fail(err, errlen, -EIO, "%s", ms->error);
	}
	/* o takes the ttl's reference, O adds one to the services'. */
	doc = json_pack("{s:i, s:o, s:O}", "version", 1, "ttl",
			ms->api_ttl >= 0 ? json_integer(ms->api_ttl) : json_null(), "services",
			ms->services);
	text = doc == NULL ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	/* One newline at the end, as editors expect. */
	char *full = text == NULL ? NULL : malloc(strlen(text) + 2);
	if (full == NULL) {
		free(text);
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	}
	size_t len = strlen(text);
	memcpy(full, text, len);
	full[len] = '\n';
	full[len + 1] = '\0';
	free(text);
	ret = write_atomic(ms->dir, ms->path, full, len + 1, err, errlen);
	free(full);
	if (ret != 0) {
		snprintf(ms->error, sizeof(ms->error), "%s", err);
		log_error("manual", "%s: not saved: %s", ms->path, err);
	} else {
		ms->error[0] = '\0';
	}
	return ret;
}

int manual_put(struct manual_source *ms, const char *id, json_t *svc, bool *created, char *err,
	       size_t errlen)
{
	json_t *old = NULL;
	struct recset *rs = NULL;
	int ret;

	if (!manual_id_valid(id)) {
		json_decref(svc);
		return berth_fail(err, errlen, -EINVAL, "\"%.40s\" is not a service ID", id);
	}
	old = json_incref(json_object_get(ms->services, id));
	*created = old == NULL;
	if (old == NULL && json_object_size(ms->services) >= MANUAL_MAX_SERVICES) {
		json_decref(svc);
		return berth_fail(err, errlen, -ENOSPC, "too many manual services (at most %d)",
				  MANUAL_MAX_SERVICES);
	}
	rs = build(ms, svc);
	if (rs == NULL) {
		json_decref(svc);
		json_decref(old);
		return berth_fail(err, errlen, -EINVAL,
				  "the service's names are too long for DNS (a name holds at most "
				  "253 bytes with the domain)");
	}
	if (json_object_set_new(ms->services, id, svc) != 0) {
		ret = -ENOMEM;
		berth_fail(err, errlen, -ENOMEM, "out of memory");
		goto undo;
	}
	if ((ret = save(ms, err, errlen)) != 0)
		goto undo;
	json_decref(old);
	if ((ret = publish(ms, id, rs)) < 0)
		return berth_fail(err, errlen, ret,
				  "saved, but not served until a restart: out of memory");
	log_info("manual", "%s service %s", *created ? "added" : "replaced", id);
	return 0;
undo:
	if (old != NULL)
		json_object_set(ms->services, id, old);
	else
		json_object_del(ms->services, id);
	json_decref(old);
	recset_free(rs);
	return ret;
}

int manual_delete(struct manual_source *ms, const char *id, char *err, size_t errlen)
{
	json_t *old = json_incref(json_object_get(ms->services, id));
	int ret;

	if (old == NULL) {
		return berth_fail(err, errlen, -ENOENT, "no service \"%.*s\"", MANUAL_ID_MAX, id);
	}
	json_object_del(ms->services, id);
	if ((ret = save(ms, err, errlen)) != 0) {
		json_object_set(ms->services, id, old);
		json_decref(old);
		return ret;
	}
	json_decref(old);
	if ((ret = publish(ms, id, NULL)) < 0)
		return berth_fail(err, errlen, ret,
				  "removed from the file, but still served until a restart: out of "
				  "memory");
	log_info("manual", "removed service %s", id);
	return 0;
}

/* Give every service that follows the default TTL its records again. A service whose
 * records cannot be rebuilt keeps its old ones (logged). 0, or the first failure. */
static int republish_defaults(struct manual_source *ms)
{
	const char *id;
	json_t *svc;
	int first = 0;

	json_object_foreach(ms->services, id, svc)
	{
		int ret;
		if (json_integer_value(json_object_get(svc, "ttl")) >= 0)
			continue;
		struct recset *rs = build(ms, svc);
		if (rs != NULL) {
			ret = publish(ms, id, rs);
		} else {
			ret = -ENOMEM;
			log_error("manual",
				  "service %s: cannot rebuild its records (out of memory)", id);
		}
		if (first == 0)
			first = ret;
	}
	return first;
}

int manual_set_ttl(struct manual_source *ms, uint32_t ttl, char *err, size_t errlen)
{
	int64_t old = ms->api_ttl;
	int ret;

	if (ttl > MANUAL_TTL_MAX) {
		return berth_fail(err, errlen, -EINVAL, "the TTL must be at most %u",
				  MANUAL_TTL_MAX);
	}
	ms->api_ttl = ttl;
	if ((ret = save(ms, err, errlen)) != 0) {
		ms->api_ttl = old;
		return ret;
	}
	if ((ret = republish_defaults(ms)) < 0)
		return berth_fail(err, errlen, ret,
				  "saved, but some services keep their old TTL until a restart: "
				  "out of memory");
	log_info("manual", "default TTL of manual services is now %u", ttl);
	return 0;
}

json_t *manual_services(const struct manual_source *ms)
{
	return json_deep_copy(ms->services);
}

const json_t *manual_get(const struct manual_source *ms, const char *id)
{
	return json_object_get(ms->services, id);
}

json_t *manual_status(const struct manual_source *ms)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:s?, s:s?}", "name", "manual", "kind",
			 "manual", "state", ms->error[0] ? "degraded" : "ok", "required", 0,
			 "services", (json_int_t)json_object_size(ms->services), "default_ttl",
			 (json_int_t)manual_default_ttl(ms), "file", ms->path, "error",
			 ms->error[0] ? ms->error : NULL);
}

/* Move a file berth cannot use out of the way, so a later save does not destroy
 * what a person may want to repair. */
static void move_aside(struct manual_source *ms, const char *why)
{
	char bad[4096];
	snprintf(bad, sizeof(bad), "%s.bad-%lld", ms->path, (long long)time(NULL));
	if (rename(ms->path, bad) == 0) {
		log_error("manual", "%s: %s; moved it to %s", ms->path, why, bad);
		snprintf(ms->error, sizeof(ms->error), "%.150s: %.150s; moved to %.180s", ms->path,
			 why, bad);
	} else {
		log_error("manual", "%s: %s, and it cannot be moved aside (%s): not writing it",
			  ms->path, why, strerror(errno));
		snprintf(ms->error, sizeof(ms->error), "%.150s: %.150s; cannot be moved aside (%s)",
			 ms->path, why, strerror(errno));
		ms->no_writes = true;
	}
}

static void load(struct manual_source *ms)
{
	char *text = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *doc = NULL;
	json_t *services;
	json_t *ttl;
	const char *id;
	json_t *v;
	char why[300];
	unsigned bad = 0;
	int ret = watch_read_file(ms->path, &text, &len);

	if (ret == -ENOENT || ret == -ENOTDIR)
		return; /* no file yet (a missing directory is made at the first save) */
	if (ret != 0) {
		const char *reason = ret == -EINVAL ? "not a regular file" : strerror(-ret);
		log_error("manual",
			  "%s: cannot read it (%s): manual services cannot be changed until it "
			  "can be read (then restart berth)",
			  ms->path, reason);
		snprintf(ms->error, sizeof(ms->error), "%.300s: cannot read it: %s", ms->path,
			 reason);
		ms->no_writes = true;
		return;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (doc == NULL) {
		snprintf(why, sizeof(why), "not valid JSON (line %d, column %d: %s)", jerr.line,
			 jerr.column, jerr.text);
		move_aside(ms, why);
		return;
	}
	services = json_object_get(doc, "services");
	ttl = json_object_get(doc, "ttl");
	if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1 ||
	    !json_is_object(services) ||
	    !(ttl == NULL || json_is_null(ttl) ||
	      (json_is_integer(ttl) && json_integer_value(ttl) >= 0 &&
	       json_integer_value(ttl) <= (json_int_t)MANUAL_TTL_MAX))) {
		move_aside(ms, "not a berth manual-services file (version 1)");
		json_decref(doc);
		return;
	}
	if (json_is_integer(ttl))
		ms->api_ttl = json_integer_value(ttl);
	json_object_foreach(services, id, v)
	{
		char err[256];
		json_t *svc = NULL;
		struct recset *rs = NULL;
		const char *problem = NULL;
		if (manual_service_parse(v, NULL, &svc, err, sizeof(err)) < 0)
			problem = err;
		else if (!manual_id_valid(id))
			problem = "not a valid service ID";
		else if (json_object_size(ms->services) >= MANUAL_MAX_SERVICES)
			problem = "too many services";
		else if ((rs = build(ms, svc)) == NULL)
			problem = "its names are too long for DNS";
		if (problem != NULL) {
			log_error("manual", "%s: service \"%.*s\" skipped: %s", ms->path,
				  MANUAL_ID_MAX, id, problem);
			json_decref(svc);
			bad++;
			continue;
		}
		if (json_object_set_new(ms->services, id, svc) != 0) {
			recset_free(rs);
			bad++;
			continue;
		}
		(void)publish(ms, id, rs); /* logged; kept in the file and served after a restart */
	}
	json_decref(doc);
	log_info("manual", "%s: %zu services", ms->path, json_object_size(ms->services));
	if (bad > 0) {
		char err[512];
		snprintf(why, sizeof(why), "%u services could not be loaded", bad);
		move_aside(ms, why);
		if (!ms->no_writes && save(ms, err, sizeof(err)) == 0)
			snprintf(ms->error, sizeof(ms->error), "%s: %s; the file was moved aside",
				 ms->path, why);
	}
}

int manual_source_new(struct registry *reg, const char *state_dir, const struct manual_naming *nm,
		      uint32_t default_ttl, struct manual_source **out)
{
	struct manual_source *ms = calloc(1, sizeof(*ms));

	*out = NULL;
	if (ms == NULL)
		return -ENOMEM;
	ms->reg = reg;
	ms->conf_ttl = default_ttl;
	ms->api_ttl = -1;
	ms->services = json_object();
	ms->domain = strdup(nm->domain != NULL ? nm->domain : "docker");
	ms->env = strdup(nm->environment != NULL ? nm->environment : "");
	if (ms->services == NULL || ms->domain == NULL || ms->env == NULL)
		goto fail;
	if (state_dir != NULL) {
		size_t n = strlen(state_dir) + sizeof(MANUAL_FILE) + 2;
		ms->dir = strdup(state_dir);
		ms->path = malloc(n);
		if (ms->dir == NULL || ms->path == NULL)
			goto fail;
		snprintf(ms->path, n, "%s/%s", state_dir, MANUAL_FILE);
		load(ms);
	}
	*out = ms;
	return 0;
fail:
	manual_source_free(ms);
	return -ENOMEM;
}

void manual_source_free(struct manual_source *ms)
{
	if (ms == NULL)
		return;
	json_decref(ms->services);
	free(ms->dir);
	free(ms->path);
	free(ms->domain);
	free(ms->env);
	free(ms);
}

/* ---- struct source_ops ---- */

static json_t *ops_status(const void *self)
{
	return manual_status(self);
}

static void ops_free(void *self)
{
	manual_source_free(self);
}

const struct source_ops manual_source_ops = {
	.kind = "manual",
	.reload = NULL,
	.status = ops_status,
	.free = ops_free,
};
