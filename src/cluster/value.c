/* SPDX-License-Identifier: MIT */
/* Published values: records to JSON and back, every field checked on the way in. */
#include "cluster/value.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libknot/libknot.h>

#include "util/b64.h"
#include "util/err.h"

static bool publishable(uint16_t type)
{
	switch (type) {
	case KNOT_RRTYPE_A:
	case KNOT_RRTYPE_AAAA:
	case KNOT_RRTYPE_CNAME:
	case KNOT_RRTYPE_PTR:
	case KNOT_RRTYPE_SRV:
	case KNOT_RRTYPE_TXT:
	case KNOT_RRTYPE_MX:
		return true;
	default:
		return false;
	}
}

static uint64_t fnv64(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static json_t *record_json(const struct rec *r)
{
	char name[KNOT_DNAME_TXT_MAXLEN + 1];
	char type[32];
	if (knot_dname_to_str(name, r->owner, sizeof(name)) == NULL ||
	    knot_rrtype_to_string(r->type, type, sizeof(type)) < 0)
		return NULL;
	char *data = b64_encode_new(r->rdata, r->rdlen);
	if (data == NULL)
		return NULL;
	json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "name", name, "type", type, "ttl",
			      (json_int_t)r->ttl, "data", data);
	free(data);
	if (o != NULL && r->prefix != 0 &&
	    json_object_set_new(o, "prefix", json_integer(r->prefix)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int cluster_records_json(const struct recset *rs, char **out, size_t *len, uint64_t *digest)
{
	size_t n = recset_count(rs);
	if (n > CLUSTER_VALUE_MAX_RECORDS)
		return -EFBIG;
	json_t *a = json_array();
	if (a == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct rec *r = recset_get(rs, i);
		if (!publishable(r->type))
			continue; /* a source's own SOA or NS, say: nobody else's to answer */
		if (json_array_append_new(a, record_json(r)) != 0) {
			json_decref(a);
			return -ENOMEM;
		}
	}
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		return -ENOMEM;
	size_t l = strlen(text);
	if (l > CLUSTER_VALUE_MAX - 512) {
		free(text);
		return -EFBIG;
	}
	*out = text;
	*len = l;
	*digest = fnv64(text, l);
	return 0;
}

char *cluster_value_wrap(const char *node, const char *origin, int64_t stamp_ms,
			 const char *records, size_t records_len, size_t *len)
{
	return cluster_value_wrap_routes(node, origin, stamp_ms, records, records_len, NULL, 0,
					 len);
}

char *cluster_routes_json(const struct route *r, size_t n, size_t *len)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "kind",
						       r[i].kind == ROUTE_TLS ? "tls" : "http",
						       "host", r[i].host, "path", r[i].path,
						       "service", r[i].service, "addr", r[i].addr,
						       "port", (int)r[i].port)) != 0) {
			json_decref(a);
			return NULL;
		}
	char *text = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	if (text != NULL)
		*len = strlen(text);
	return text;
}

int cluster_value_routes(const char *text, size_t len, struct route **out, size_t *n, char *err,
			 size_t errlen)
{
	*out = NULL;
	*n = 0;
	json_t *v = json_loadb(text, len, 0, NULL);
	json_t *a = json_object_get(v, "routes");
	int ret = 0;
	if (a == NULL)
		goto done;
	if (!json_is_array(a) || json_array_size(a) > ROUTES_MAX) {
		ret = berth_fail(err, errlen, BERTH_EPARSE,
				 "\"routes\" is not an array of at most %d", ROUTES_MAX);
		goto done;
	}
	struct route *r = calloc(json_array_size(a) + 1, sizeof(*r));
	if (r == NULL) {
		ret = -ENOMEM;
		goto done;
	}
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o)
	{
		const char *kind, *host, *path, *service, *addr;
		int port;
		unsigned char bin[16];
		json_error_t je;
		if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:s, s:i}", "kind",
				   &kind, "host", &host, "path", &path, "service", &service, "addr",
				   &addr, "port", &port) != 0) {
			ret = berth_fail(err, errlen, BERTH_EPARSE, "route %zu: %s", i, je.text);
			break;
		}
		bool tls = strcmp(kind, "tls") == 0;
		if ((!tls && strcmp(kind, "http") != 0) || !route_host_ok(host) ||
		    strlen(path) > ROUTE_PATH_MAX || (path[0] != '\0' && path[0] != '/') ||
		    strpbrk(path, " \t;#?") != NULL || strlen(service) > ROUTE_SERVICE_MAX ||
		    strlen(addr) >= sizeof(r[i].addr) ||
		    (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1) ||
		    port < 1 || port > 65535) {
			ret = berth_fail(err, errlen, BERTH_EPARSE, "route %zu: a bad field", i);
			break;
		}
		r[i].kind = tls ? ROUTE_TLS : ROUTE_HTTP;
		snprintf(r[i].host, sizeof(r[i].host), "%s", host);
		snprintf(r[i].path, sizeof(r[i].path), "%s", path);
		snprintf(r[i].service, sizeof(r[i].service), "%s", service);
		snprintf(r[i].addr, sizeof(r[i].addr), "%s", addr);
		r[i].port = (uint16_t)port;
	}
	if (ret != 0) {
		free(r);
		goto done;
	}
	*out = r;
	*n = json_array_size(a);
done:
	json_decref(v);
	return ret;
}

char *cluster_value_wrap_routes(const char *node, const char *origin, int64_t stamp_ms,
				const char *records, size_t records_len, const char *routes,
				size_t routes_len, size_t *len)
{
	/* The records are already JSON: the envelope is printed around them. */
	json_t *head = json_pack("{s:i, s:s, s:s, s:I}", "v", CLUSTER_VALUE_VERSION, "node", node,
				 "origin", origin, "stamp", (json_int_t)stamp_ms);
	char *h = head != NULL ? json_dumps(head, JSON_COMPACT) : NULL;
	json_decref(head);
	if (h == NULL)
		return NULL;
	size_t hl = strlen(h); /* "{...}" */
	size_t total = hl - 1 + strlen(",\"records\":") + records_len + 1 +
		       (routes != NULL ? strlen(",\"routes\":") + routes_len : 0);
	char *v = malloc(total + 1);
	if (v != NULL) {
		memcpy(v, h, hl - 1);
		size_t o = hl - 1;
		memcpy(v + o, ",\"records\":", 11);
		o += 11;
		memcpy(v + o, records, records_len);
		o += records_len;
		if (routes != NULL) {
			memcpy(v + o, ",\"routes\":", 10);
			o += 10;
			memcpy(v + o, routes, routes_len);
			o += routes_len;
		}
		v[o++] = '}';
		v[o] = '\0';
		*len = o;
	}
	free(h);
	return v;
}

/* Is rdata[0..len) a well-formed rdata of type? Names must fill their place exactly. */
static bool rdata_ok(uint16_t type, const uint8_t *d, size_t len)
{
	size_t skip = 0;
	switch (type) {
	case KNOT_RRTYPE_A:
		return len == 4;
	case KNOT_RRTYPE_AAAA:
		return len == 16;
	case KNOT_RRTYPE_MX:
		skip = 2;
		break;
	case KNOT_RRTYPE_SRV:
		skip = 6;
		break;
	case KNOT_RRTYPE_CNAME:
	case KNOT_RRTYPE_PTR:
		break;
	case KNOT_RRTYPE_TXT:
		if (len == 0)
			return false;
		for (size_t i = 0; i < len; i += 1 + d[i])
			if (i + 1 + d[i] > len)
				return false;
		return true;
	default:
		return false;
	}
	if (len <= skip)
		return false;
	int n = knot_dname_wire_check(d + skip, d + len, NULL);
	return n > 0 && (size_t)n == len - skip;
}

static int decode_record(json_t *r, struct recset *rs, size_t i, char *err, size_t errlen)
{
	const char *name = NULL, *type = NULL, *data = NULL;
	json_int_t ttl = -1, prefix = 0;
	json_error_t je;
	if (json_unpack_ex(r, &je, JSON_STRICT, "{s:s, s:s, s:I, s:s, s?:I}", "name", &name, "type",
			   &type, "ttl", &ttl, "data", &data, "prefix", &prefix) != 0)
		return berth_fail(err, errlen, BERTH_EPARSE, "record %zu: %s", i, je.text);
	uint8_t owner[KNOT_DNAME_MAXLEN];
	uint16_t t;
	if (knot_dname_from_str(owner, name, sizeof(owner)) == NULL)
		return berth_fail(err, errlen, BERTH_EPARSE, "record %zu: bad name", i);
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return berth_fail(err, errlen, BERTH_EPARSE, "record %zu: bad name", i);
	if (knot_rrtype_from_string(type, &t) != 0 || !publishable(t))
		return berth_fail(err, errlen, BERTH_EPARSE,
				  "record %zu: type %.16s may not be published", i, type);
	if (ttl < 0 || ttl > 2147483647 || prefix < 0 || prefix > 128)
		return berth_fail(err, errlen, BERTH_EPARSE, "record %zu: bad ttl or prefix", i);
	uint8_t *rd;
	size_t rdlen;
	int ret = b64_decode_new(data, strlen(data), &rd, &rdlen);
	if (ret == -ENOMEM)
		return ret;
	if (ret < 0 || rdlen > 65535 || !rdata_ok(t, rd, rdlen)) {
		if (ret == 0)
			free(rd);
		return berth_fail(err, errlen, BERTH_EPARSE, "record %zu: bad %s data", i, type);
	}
	ret = recset_add_net(rs, owner, t, (uint32_t)ttl, rd, (uint16_t)rdlen, (uint8_t)prefix);
	free(rd);
	if (ret < 0)
		return ret == -ENOMEM ?
			       ret :
			       berth_fail(err, errlen, BERTH_EPARSE, "record %zu: refused", i);
	return 0;
}

int cluster_value_decode(const char *text, size_t len, const char *node, const char *origin,
			 struct recset **out, int64_t *stamp_ms, char *err, size_t errlen)
{
	if (len > CLUSTER_VALUE_MAX)
		return berth_fail(err, errlen, -EFBIG, "value of %zu bytes (limit %u)", len,
				  CLUSTER_VALUE_MAX);
	json_error_t je;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL)
		return berth_fail(err, errlen, BERTH_EPARSE, "not JSON: %s", je.text);
	json_int_t version = 0, stamp = 0;
	const char *vn = NULL, *vo = NULL;
	json_t *recs = NULL;
	int ret = BERTH_EPARSE;
	struct recset *rs = NULL;
	if (json_unpack_ex(v, &je, 0, "{s:I}", "v", &version) != 0) {
		berth_fail(err, errlen, ret, "not a berth value: %s", je.text);
		goto out;
	}
	if (version != CLUSTER_VALUE_VERSION) {
		berth_fail(err, errlen, ret, "value version %lld (this berth reads %d)",
			   (long long)version, CLUSTER_VALUE_VERSION);
		goto out;
	}
	if (json_unpack_ex(v, &je, 0, "{s:s, s:s, s:I, s:o}", "node", &vn, "origin", &vo, "stamp",
			   &stamp, "records", &recs) != 0) {
		berth_fail(err, errlen, ret, "not a berth value: %s", je.text);
		goto out;
	}
	if (strcmp(vn, node) != 0 || strcmp(vo, origin) != 0) {
		berth_fail(err, errlen, ret, "value claims node %.64s origin %.128s", vn, vo);
		goto out;
	}
	if (!json_is_array(recs) || json_array_size(recs) > CLUSTER_VALUE_MAX_RECORDS) {
		berth_fail(err, errlen, ret, "\"records\" is not an array of at most %d",
			   CLUSTER_VALUE_MAX_RECORDS);
		goto out;
	}
	if ((rs = recset_new()) == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		if ((ret = decode_record(r, rs, i, err, errlen)) < 0)
			goto out;
	}
	*out = rs;
	*stamp_ms = stamp;
	rs = NULL;
	ret = 0;
out:
	recset_free(rs);
	json_decref(v);
	return ret;
}
