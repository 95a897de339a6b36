/* SPDX-License-Identifier: MIT */
/* Unit tests of the HTTP API's pure parts (tokens, filters, record JSON) and of
 * manual services: validation, the names they give, and their state file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <jansson.h>
#include <libknot/libknot.h>
#include <urcu.h>

#include "http/internal.h"
#include "sources/manual.h"
#include "store/registry.h"

/* --- helpers --- */

static json_t *j(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	if (v == NULL)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return v;
}

static json_t *parse(const char *text, const json_t *base, char *err, size_t errlen)
{
	json_t *in = j(text);
	json_t *out = (json_t *)1;
	int ret = manual_service_parse(in, base, &out, err, errlen);
	json_decref(in);
	/* NULL exactly when refused, and then for a reason. */
	assert_true(ret == 0 ? out != NULL : ret == -EINVAL && out == NULL);
	return out;
}

/* "owner TYPE value" of every record, sorted, joined by '\n'. */
static char *dump(const struct recset *rs)
{
	size_t n = recset_count(rs);
	char **lines = calloc(n + 1, sizeof(*lines));
	size_t total = 1;
	char *out;

	for (size_t i = 0; i < n; i++) {
		const struct rec *r = recset_get(rs, i);
		char owner[KNOT_DNAME_TXT_MAXLEN + 1];
		char ip[64] = "?";
		knot_dname_to_str(owner, r->owner, sizeof(owner));
		inet_ntop(r->type == KNOT_RRTYPE_A ? AF_INET : AF_INET6, r->rdata, ip, sizeof(ip));
		lines[i] = malloc(1200);
		snprintf(lines[i], 1200, "%s %s %s %u", owner,
			 r->type == KNOT_RRTYPE_A ? "A" : "AAAA", ip, r->ttl);
		total += strlen(lines[i]) + 1;
	}
	for (size_t i = 1; i < n; i++) /* insertion sort: tiny sets */
		for (size_t k = i; k > 0 && strcmp(lines[k - 1], lines[k]) > 0; k--) {
			char *t = lines[k];
			lines[k] = lines[k - 1];
			lines[k - 1] = t;
		}
	out = calloc(1, total);
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
		free(lines[i]);
	}
	free(lines);
	return out;
}

/* --- manual_service_parse --- */

static void test_id(void **state)
{
	assert_true(manual_id_valid("abc"));
	assert_true(manual_id_valid("web-1_a.b"));
	assert_true(manual_id_valid(
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(manual_id_valid(""));
	assert_false(manual_id_valid(NULL));
	assert_false(manual_id_valid("."));
	assert_false(manual_id_valid(".."));
	assert_false(manual_id_valid("a/b"));
	assert_false(manual_id_valid("a b"));
	assert_false(manual_id_valid("é"));
	char big[MANUAL_ID_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(manual_id_valid(big));
	big[MANUAL_ID_MAX] = '\0';
	assert_true(manual_id_valid(big));
}

static void test_parse_put(void **state)
{
	char err[256] = "";
	json_t *s = parse("{\"name\":\"manual\",\"image\":\"m\",\"ips\":[\"10.5.5.5\"]}", NULL, err,
			  sizeof(err));
	assert_non_null(s);
	char *text = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(text, "{\"aliases\":[],\"image\":\"m\",\"ips\":[\"10.5.5.5\"],"
				  "\"name\":\"manual\",\"ttl\":-1}");
	free(text);
	json_decref(s);

	/* Everything, with dnsdock's capitalised keys, duplicate and IPv6 addresses. */
	s = parse("{\"Name\":\"web\",\"IMAGE\":\"nginx\",\"Ips\":[\"10.0.0.1\",\"2001:DB8::1\","
		  "\"10.0.0.1\"],\"TTL\":30,\"aliases\":[\"www.example.com.\",\"*.w.test\"]}",
		  NULL, err, sizeof(err));
	assert_non_null(s);
	text = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(text,
			    "{\"aliases\":[\"www.example.com\",\"*.w.test\"],\"image\":\"nginx\","
			    "\"ips\":[\"10.0.0.1\",\"2001:db8::1\"],\"name\":\"web\",\"ttl\":30}");
	free(text);
	json_decref(s);

	/* Older dnsdock's single "ip". */
	s = parse("{\"name\":\"a\",\"image\":\"b\",\"ip\":\"192.0.2.1\",\"ttl\":null}", NULL, err,
		  sizeof(err));
	assert_non_null(s);
	assert_string_equal(json_string_value(json_array_get(json_object_get(s, "ips"), 0)),
			    "192.0.2.1");
	assert_int_equal(json_integer_value(json_object_get(s, "ttl")), -1);
	json_decref(s);

	/* Dotted names are names too. */
	s = parse("{\"name\":\"a.b\",\"image\":\"c-d_e\",\"ips\":[\"192.0.2.1\"]}", NULL, err,
		  sizeof(err));
	assert_non_null(s);
	json_decref(s);
}

static void expect_error(const char *body, const char *fragment)
{
	char err[256] = "";
	json_t *s = parse(body, NULL, err, sizeof(err));
	if (s != NULL)
		fail_msg("accepted: %s", body);
	if (strstr(err, fragment) == NULL)
		fail_msg("%s: error \"%s\" does not say \"%s\"", body, err, fragment);
}

static void test_parse_errors(void **state)
{
	expect_error("[1]", "JSON object");
	expect_error("\"x\"", "JSON object");
	expect_error("{\"image\":\"m\",\"ips\":[\"10.5.5.5\"]}", "\"name\" is required");
	expect_error("{\"name\":\"m\",\"ips\":[\"10.5.5.5\"]}", "\"image\" is required");
	expect_error("{\"name\":\"m\",\"image\":\"m\"}", "\"ips\" is required");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[]}", "at least one");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":\"10.0.0.1\"}", "list");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.256\"]}", "10.0.0.256");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"fe80::1%eth0\"]}", "not an IPv4");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[7]}", "strings");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ip\":\"10.0.0.1\",\"ips\":[\"10.0.0.1\"]}",
		     "not both");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"],\"nope\":1}",
		     "unknown field \"nope\"");
	expect_error("{\"name\":\"m\",\"Name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"]}",
		     "given twice");
	expect_error("{\"name\":\"a b\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"]}",
		     "\"name\" must be");
	expect_error("{\"name\":\"a..b\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"]}",
		     "\"name\" must be");
	expect_error("{\"name\":\"*\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"]}", "\"name\" must be");
	expect_error("{\"name\":\"\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"]}", "\"name\" must be");
	expect_error("{\"name\":1,\"image\":\"m\",\"ips\":[\"10.0.0.1\"]}", "\"name\" must be");
	expect_error("{\"name\":\"m\",\"image\":\"m/x\",\"ips\":[\"10.0.0.1\"]}",
		     "\"image\" must be");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"],\"ttl\":-2}",
		     "\"ttl\"");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"],\"ttl\":2147483648}",
		     "\"ttl\"");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"],\"ttl\":1.5}",
		     "\"ttl\"");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"],\"ttl\":\"5\"}",
		     "\"ttl\"");
	expect_error("{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"],\"aliases\":\"a.b\"}",
		     "\"aliases\"");
	expect_error(
		"{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"],\"aliases\":[\"a b\"]}",
		"\"aliases\": \"a b\"");
	expect_error(
		"{\"name\":\"m\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"],\"aliases\":[\"a.*.b\"]}",
		"\"aliases\"");

	char label[100];
	char body[300];
	memset(label, 'x', 64);
	label[64] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"image\":\"m\",\"ips\":[\"10.0.0.1\"]}",
		 label);
	expect_error(body, "\"name\" must be");
}

static void test_parse_patch(void **state)
{
	char err[256] = "";
	json_t *base = parse("{\"name\":\"web\",\"image\":\"nginx\",\"ips\":[\"10.0.0.1\"],"
			     "\"aliases\":[\"a.test\"]}",
			     NULL, err, sizeof(err));
	assert_non_null(base);
	json_t *p = parse("{\"ttl\":0}", base, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(json_integer_value(json_object_get(p, "ttl")), 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")), "web");
	assert_int_equal(json_array_size(json_object_get(p, "aliases")), 1);
	json_decref(p);

	p = parse("{\"ips\":[\"10.0.0.2\"],\"aliases\":null}", base, err, sizeof(err));
	assert_non_null(p);
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "ips"), 0)),
			    "10.0.0.2");
	assert_int_equal(json_array_size(json_object_get(p, "aliases")), 0);
	json_decref(p);

	p = parse("{}", base, err, sizeof(err));
	assert_non_null(p);
	assert_true(json_equal(p, base));
	json_decref(p);

	assert_null(parse("{\"ips\":[]}", base, err, sizeof(err)));
	assert_null(parse("{\"bad\":1}", base, err, sizeof(err)));
	/* base is untouched by a failed patch */
	assert_string_equal(json_string_value(json_array_get(json_object_get(base, "ips"), 0)),
			    "10.0.0.1");
	json_decref(base);
}

static void test_parse_http_port(void **state)
{
	char err[256] = "";
	(void)state;
	json_t *a = parse("{\"name\":\"web\",\"image\":\"x\",\"ips\":[\"10.0.0.1\"],"
			  "\"http_port\":8080}",
			  NULL, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a, "http_port")), 8080);
	/* Not given: not there (a PUT without it has no route). */
	json_t *b = parse("{\"name\":\"web\",\"image\":\"x\",\"ips\":[\"10.0.0.1\"]}", NULL, err,
			  sizeof(err));
	assert_non_null(b);
	assert_null(json_object_get(b, "http_port"));
	json_decref(b);
	/* A PATCH keeps it, changes it, or takes it away with null. */
	b = parse("{\"ttl\":5}", a, err, sizeof(err));
	assert_int_equal(json_integer_value(json_object_get(b, "http_port")), 8080);
	json_decref(b);
	b = parse("{\"HTTP_Port\":443}", a, err, sizeof(err));
	assert_int_equal(json_integer_value(json_object_get(b, "http_port")), 443);
	json_decref(b);
	b = parse("{\"http_port\":null}", a, err, sizeof(err));
	assert_non_null(b);
	assert_null(json_object_get(b, "http_port"));
	json_decref(b);
	const char *bad[] = { "0", "65536", "-1", "\"80\"", "80.5", "true", "[80]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"http_port\":%s}", bad[i]);
		err[0] = '\0';
		assert_null(parse(body, a, err, sizeof(err)));
		assert_non_null(strstr(err, "\"http_port\" must be a port"));
	}
	json_decref(a);
}

/* --- manual_service_records --- */

static void test_records(void **state)
{
	char err[256];
	struct manual_naming nm = { .domain = "docker", .environment = "" };
	json_t *s = parse("{\"name\":\"manual\",\"image\":\"m\",\"ips\":[\"10.5.5.5\"]}", NULL, err,
			  sizeof(err));
	struct recset *rs = recset_new();
	assert_int_equal(manual_service_records(s, &nm, 10, rs), 0);
	char *d = dump(rs);
	assert_string_equal(d, "*.manual.m.docker. A 10.5.5.5 10\n"
			       "m.docker. A 10.5.5.5 10\n"
			       "manual.m.docker. A 10.5.5.5 10\n");
	free(d);
	recset_free(rs);
	json_decref(s);

	/* Environment, both families, an explicit TTL, aliases as full names. */
	nm.environment = "prod";
	s = parse("{\"name\":\"Web\",\"image\":\"nginx\",\"ips\":[\"10.0.0.1\",\"2001:db8::1\"],"
		  "\"ttl\":0,\"aliases\":[\"www.example.com\"]}",
		  NULL, err, sizeof(err));
	rs = recset_new();
	assert_int_equal(manual_service_records(s, &nm, 10, rs), 0);
	d = dump(rs);
	assert_string_equal(d, "*.web.nginx.prod.docker. A 10.0.0.1 0\n"
			       "*.web.nginx.prod.docker. AAAA 2001:db8::1 0\n"
			       "nginx.prod.docker. A 10.0.0.1 0\n"
			       "nginx.prod.docker. AAAA 2001:db8::1 0\n"
			       "prod.docker. A 10.0.0.1 0\n"
			       "prod.docker. AAAA 2001:db8::1 0\n"
			       "web.nginx.prod.docker. A 10.0.0.1 0\n"
			       "web.nginx.prod.docker. AAAA 2001:db8::1 0\n"
			       "www.example.com. A 10.0.0.1 0\n"
			       "www.example.com. AAAA 2001:db8::1 0\n");
	free(d);
	recset_free(rs);
	json_decref(s);

	/* Parts that are fine alone but too long together. */
	char part[200];
	char body[600];
	memset(part, 'a', sizeof(part));
	for (int i = 60; i < 199; i += 61)
		part[i] = '.';
	part[199] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"image\":\"%s\",\"ips\":[\"10.0.0.1\"]}",
		 part, part);
	s = parse(body, NULL, err, sizeof(err));
	assert_non_null(s);
	rs = recset_new();
	assert_int_equal(manual_service_records(s, &nm, 10, rs), -EINVAL);
	recset_free(rs);
	json_decref(s);
}

/* --- the source and its file --- */

struct env {
	char dir[64];
	struct registry *reg;
};

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct registry_params p = { .domain = "docker", .ttl = 60, .negative_ttl = 5 };
	strcpy(e->dir, "/tmp/berth-test-http-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->reg = registry_new(&p);
	assert_non_null(e->reg);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	DIR *d = opendir(e->dir);
	struct dirent *de;
	char path[400];
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || de->d_name[1] == '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", e->dir, de->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(e->dir);
	registry_free(e->reg);
	free(e);
	return 0;
}

struct count {
	size_t origins;
	size_t records;
	char last[128];
};

static void count_one(void *arg, enum origin_kind kind, const char *origin, const struct recset *rs)
{
	struct count *c = arg;
	if (strncmp(origin, "manual:", 7) != 0)
		return;
	c->origins++;
	c->records += recset_count(rs);
	snprintf(c->last, sizeof(c->last), "%s", origin);
}

static struct count count(struct registry *r)
{
	struct count c = { 0 };
	registry_foreach(r, count_one, &c);
	return c;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static size_t files_like(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	if (d != NULL)
		closedir(d);
	return n;
}

static void test_source_persists(void **state)
{
	struct env *e = *state;
	struct manual_naming nm = { .domain = "docker", .environment = "" };
	char err[256] = "";
	bool created = false;
	struct manual_source *ms;
	assert_int_equal(manual_source_new(e->reg, e->dir, &nm, 10, &ms), 0);

	assert_non_null(ms);
	assert_int_equal(manual_count(ms), 0);
	json_t *s = parse("{\"name\":\"manual\",\"image\":\"m\",\"ips\":[\"10.5.5.5\"]}", NULL, err,
			  sizeof(err));
	assert_int_equal(manual_put(ms, "m1", s, &created, err, sizeof(err)), 0);
	assert_true(created);
	s = parse("{\"name\":\"other\",\"image\":\"m\",\"ips\":[\"10.5.5.6\"],\"ttl\":5}", NULL,
		  err, sizeof(err));
	assert_int_equal(manual_put(ms, "m2", s, &created, err, sizeof(err)), 0);
	s = parse("{\"name\":\"manual\",\"image\":\"m\",\"ips\":[\"10.5.5.7\"]}", NULL, err,
		  sizeof(err));
	assert_int_equal(manual_put(ms, "m1", s, &created, err, sizeof(err)), 0);
	assert_false(created);
	assert_int_equal(manual_set_ttl(ms, 42, err, sizeof(err)), 0);
	assert_int_equal(manual_default_ttl(ms), 42);
	assert_int_equal(manual_delete(ms, "m2", err, sizeof(err)), 0);
	assert_int_equal(manual_delete(ms, "m2", err, sizeof(err)), -ENOENT);
	assert_int_equal(count(e->reg).origins, 1);
	/* No temporary file is left behind. */
	assert_int_equal(files_like(e->dir, ".manual.json"), 0);
	manual_source_free(ms);

	/* A new source (a restart) reads it all back. */
	registry_set(e->reg, ORIGIN_MANUAL, "m1", NULL);
	assert_int_equal(manual_source_new(e->reg, e->dir, &nm, 10, &ms), 0);
	assert_non_null(ms);
	assert_int_equal(manual_count(ms), 1);
	assert_int_equal(manual_default_ttl(ms), 42);
	const json_t *m1 = manual_get(ms, "m1");
	assert_non_null(m1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(m1, "ips"), 0)),
			    "10.5.5.7");
	struct count c = count(e->reg);
	assert_int_equal(c.origins, 1);
	assert_int_equal(c.records, 3);
	assert_string_equal(c.last, "manual:m1");
	json_t *st = manual_status(ms);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "ok");
	json_decref(st);
	manual_source_free(ms);
}

static void test_source_bad_file(void **state)
{
	struct env *e = *state;
	struct manual_naming nm = { .domain = "docker", .environment = "" };
	char path[128];
	char err[256] = "";
	bool created;

	snprintf(path, sizeof(path), "%s/manual.json", e->dir);
	write_file(path, "{\"version\":1,\"services\":{\"a\":{\"name\":\"x\",");
	struct manual_source *ms;
	assert_int_equal(manual_source_new(e->reg, e->dir, &nm, 10, &ms), 0);
	assert_non_null(ms);
	assert_int_equal(manual_count(ms), 0);
	/* Moved aside, not lost; the state says why. */
	assert_int_equal(files_like(e->dir, "manual.json.bad-"), 1);
	json_t *st = manual_status(ms);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "degraded");
	assert_non_null(strstr(json_string_value(json_object_get(st, "error")), "not valid JSON"));
	json_decref(st);
	/* Writing works again, and clears the state. */
	json_t *s = parse("{\"name\":\"n\",\"image\":\"i\",\"ips\":[\"10.0.0.1\"]}", NULL, err,
			  sizeof(err));
	assert_int_equal(manual_put(ms, "ok", s, &created, err, sizeof(err)), 0);
	st = manual_status(ms);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "ok");
	json_decref(st);
	manual_source_free(ms);
}

static void test_source_partly_bad(void **state)
{
	struct env *e = *state;
	struct manual_naming nm = { .domain = "docker", .environment = "" };
	char path[128];

	snprintf(path, sizeof(path), "%s/manual.json", e->dir);
	write_file(path, "{\"version\":1,\"ttl\":7,\"services\":{"
			 "\"good\":{\"name\":\"n\",\"image\":\"i\",\"ips\":[\"10.0.0.1\"]},"
			 "\"bad\":{\"name\":\"n\",\"image\":\"i\",\"ips\":[\"nope\"]},"
			 "\"bad/id\":{\"name\":\"n\",\"image\":\"i\",\"ips\":[\"10.0.0.2\"]}}}");
	struct manual_source *ms;
	assert_int_equal(manual_source_new(e->reg, e->dir, &nm, 10, &ms), 0);
	assert_non_null(ms);
	assert_int_equal(manual_count(ms), 1);
	assert_non_null(manual_get(ms, "good"));
	assert_int_equal(manual_default_ttl(ms), 7);
	assert_int_equal(files_like(e->dir, "manual.json.bad-"), 1);
	manual_source_free(ms);

	/* What was valid was saved again at once. */
	assert_int_equal(manual_source_new(e->reg, e->dir, &nm, 10, &ms), 0);
	assert_int_equal(manual_count(ms), 1);
	assert_int_equal(files_like(e->dir, "manual.json.bad-"), 1);
	manual_source_free(ms);
}

static void test_source_unwritable(void **state)
{
	struct env *e = *state;
	struct manual_naming nm = { .domain = "docker", .environment = "" };
	char dir[128];
	char err[256] = "";
	bool created;

	/* A state dir under a regular file can never be created. */
	snprintf(dir, sizeof(dir), "%s/file", e->dir);
	write_file(dir, "x");
	snprintf(dir, sizeof(dir), "%s/file/state", e->dir);
	struct manual_source *ms;
	assert_int_equal(manual_source_new(e->reg, dir, &nm, 10, &ms), 0);
	assert_non_null(ms);
	json_t *s = parse("{\"name\":\"n\",\"image\":\"i\",\"ips\":[\"10.0.0.1\"]}", NULL, err,
			  sizeof(err));
	assert_int_equal(manual_put(ms, "x", s, &created, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "cannot create the directory"));
	/* Nothing changed: not in memory, not in DNS. */
	assert_int_equal(manual_count(ms), 0);
	assert_int_equal(count(e->reg).origins, 0);
	assert_int_equal(manual_set_ttl(ms, 3, err, sizeof(err)), -EIO);
	assert_int_equal(manual_default_ttl(ms), 10);
	json_t *st = manual_status(ms);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "degraded");
	json_decref(st);
	manual_source_free(ms);
	snprintf(dir, sizeof(dir), "%s/file", e->dir);
	unlink(dir);

	/* A state file that cannot be read is never overwritten. */
	snprintf(dir, sizeof(dir), "%s/manual.json", e->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(manual_source_new(e->reg, e->dir, &nm, 10, &ms), 0);
	s = parse("{\"name\":\"n\",\"image\":\"i\",\"ips\":[\"10.0.0.1\"]}", NULL, err,
		  sizeof(err));
	assert_int_equal(manual_put(ms, "x", s, &created, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "cannot read it"));
	st = manual_status(ms);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "degraded");
	json_decref(st);
	manual_source_free(ms);
	rmdir(dir);
}

static void test_source_memory_only(void **state)
{
	struct env *e = *state;
	struct manual_naming nm = { .domain = "docker", .environment = NULL };
	char err[256] = "";
	bool created;
	struct manual_source *ms;
	assert_int_equal(manual_source_new(e->reg, NULL, &nm, 10, &ms), 0);
	json_t *s = parse("{\"name\":\"n\",\"image\":\"i\",\"ips\":[\"10.0.0.1\"]}", NULL, err,
			  sizeof(err));
	assert_int_equal(manual_put(ms, "x", s, &created, err, sizeof(err)), 0);
	assert_false(manual_put(ms, "bad id", json_object(), &created, err, sizeof(err)) == 0);
	json_t *all = manual_services(ms);
	assert_int_equal(json_object_size(all), 1);
	json_decref(all);
	manual_source_free(ms);
}

/* --- the HTTP pieces --- */

static void test_token(void **state)
{
	assert_true(http_token_matches("Bearer s3cret", "s3cret"));
	assert_true(http_token_matches("bearer s3cret", "s3cret"));
	assert_true(http_token_matches("BEARER \t s3cret  ", "s3cret"));
	assert_false(http_token_matches("Bearer s3cre", "s3cret"));
	assert_false(http_token_matches("Bearer s3cret2", "s3cret"));
	assert_false(http_token_matches("Bearer S3CRET", "s3cret"));
	assert_false(http_token_matches("Bearer ", "s3cret"));
	assert_false(http_token_matches("Bearers3cret", "s3cret"));
	assert_false(http_token_matches("Basic s3cret", "s3cret"));
	assert_false(http_token_matches("s3cret", "s3cret"));
	assert_false(http_token_matches(NULL, "s3cret"));
	assert_false(http_token_matches("Bearer x", NULL));
	assert_false(http_token_matches("Bearer ", ""));
	assert_false(http_token_matches("Bearer x", ""));
}

/* DNS rebinding: which Host headers are served. */
static void test_host_allowed(void **state)
{
	struct addr lo, any6;
	const char *names[] = { "berth.lan" };
	assert_int_equal(addr_parse(&lo, "127.0.0.1:8053", 0), 0);
	assert_int_equal(addr_parse(&any6, "[::]:8053", 0), 0);
	static const char *const good[] = { "127.0.0.1",   "127.0.0.1:8053", "localhost",
					    "LocalHost.",  "localhost:1",    "berth.lan",
					    "BERTH.LAN:80" };
	static const char *const bad[] = {
		"evil.example",
		"evil.example:8053",
		"127.0.0.2",
		"[::1]",
		"",
		":8053",
		"127.0.0.1:",
		"127.0.0.1:x",
		"127.0.0.1:123456",
		"a:b:c",
		"[::1",
		"localhost.evil.example",
		"berth.lan.evil",
		"berth.lan:99999",
		"[127.0.0.1]x",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!http_host_allowed(good[i], &lo, names, 1))
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_host_allowed(bad[i], &lo, names, 1))
			fail_msg("allowed %s", bad[i]);
	assert_false(http_host_allowed(NULL, &lo, NULL, 0));
	assert_false(http_host_allowed("berth.lan", &lo, NULL, 0));
	/* a wildcard listener: any address, still no foreign name */
	assert_true(http_host_allowed("[::1]:8053", &any6, NULL, 0));
	assert_true(http_host_allowed("192.0.2.7", &any6, NULL, 0));
	assert_false(http_host_allowed("evil.example", &any6, NULL, 0));
}

static void test_origin_kind(void **state)
{
	char k[16];
	http_origin_kind("hosts:/etc/hosts.d/a", k, sizeof(k));
	assert_string_equal(k, "hosts");
	http_origin_kind("docker:abc", k, sizeof(k));
	assert_string_equal(k, "docker");
	http_origin_kind("plain", k, sizeof(k));
	assert_string_equal(k, "plain");
	http_origin_kind("averyveryverylongkind:x", k, sizeof(k));
	assert_string_equal(k, "averyveryverylo");
}

static void test_filter(void **state)
{
	struct http_filter f;
	char err[256];

	assert_int_equal(http_filter_parse(&f, NULL, err, sizeof(err)), 0);
	assert_true(http_filter_match(&f, "hosts:/x", "a.docker", KNOT_RRTYPE_A));

	assert_int_equal(http_filter_parse(&f, "name=Alpha.docker.&type=aaaa&source=hosts", err,
					   sizeof(err)),
			 0);
	assert_int_equal(f.type, KNOT_RRTYPE_AAAA);
	assert_true(http_filter_match(&f, "hosts:/x", "alpha.docker", KNOT_RRTYPE_AAAA));
	assert_false(http_filter_match(&f, "hosts:/x", "alpha.docker", KNOT_RRTYPE_A));
	assert_false(http_filter_match(&f, "records:/x", "alpha.docker", KNOT_RRTYPE_AAAA));
	assert_false(http_filter_match(&f, "hosts:/x", "xalpha.docker", KNOT_RRTYPE_AAAA));

	assert_int_equal(http_filter_parse(&f, "name=*.docker&source=hosts:/x", err, sizeof(err)),
			 0);
	assert_true(http_filter_match(&f, "hosts:/x", "b.docker", KNOT_RRTYPE_TXT));
	assert_false(http_filter_match(&f, "hosts:/y", "b.docker", KNOT_RRTYPE_TXT));
	assert_false(http_filter_match(&f, "hosts:/x", "b.example", KNOT_RRTYPE_TXT));

	assert_int_equal(http_filter_parse(&f, "type=NOPE", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NOPE"));
	assert_int_equal(http_filter_parse(&f, "type=", err, sizeof(err)), -EINVAL);
	assert_int_equal(http_filter_parse(&f, "color=red", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "color"));
}

static void test_record_json(void **state)
{
	struct recset *rs = recset_new();
	const char *txt[] = { "hello world" };
	char scratch[1024];
	char *text;

	assert_int_equal(recset_add_addr(rs, "A.Docker", "192.0.2.1", 10), 0);
	assert_int_equal(recset_add_addr(rs, "b.docker", "2001:db8::1", 20), 0);
	assert_int_equal(recset_add_txt(rs, "t.docker", txt, 1, 30), 0);
	assert_int_equal(recset_add_mx(rs, "m.docker", 10, "mx.docker", 40), 0);

	json_t *v = http_record_json("hosts:/x", recset_get(rs, 0), scratch, sizeof(scratch));
	text = json_dumps(v, JSON_COMPACT);
	assert_string_equal(text,
			    "{\"hostname\":\"a.docker\",\"ip_address\":\"192.0.2.1\",\"ttl\":10,"
			    "\"type\":\"A\",\"value\":\"192.0.2.1\",\"source\":\"hosts:/x\"}");
	free(text);
	json_decref(v);

	v = http_record_json("s", recset_get(rs, 1), scratch, sizeof(scratch));
	assert_string_equal(json_string_value(json_object_get(v, "ip_address")), "2001:db8::1");
	assert_string_equal(json_string_value(json_object_get(v, "type")), "AAAA");
	json_decref(v);

	v = http_record_json("s", recset_get(rs, 2), scratch, sizeof(scratch));
	assert_true(json_is_null(json_object_get(v, "ip_address")));
	assert_string_equal(json_string_value(json_object_get(v, "value")), "\"hello world\"");
	json_decref(v);

	v = http_record_json("s", recset_get(rs, 3), scratch, sizeof(scratch));
	assert_string_equal(json_string_value(json_object_get(v, "value")), "10 mx.docker.");
	assert_int_equal(json_integer_value(json_object_get(v, "ttl")), 40);
	json_decref(v);

	/* A value longer than the scratch buffer still comes out whole. */
	char big[1500];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *bigs[] = { big, big };
	assert_int_equal(recset_add_txt(rs, "big.docker", bigs, 1, 30), 0);
	v = http_record_json("s", recset_get(rs, 4), scratch, 64);
	assert_non_null(v);
	assert_true(strlen(json_string_value(json_object_get(v, "value"))) > 200);
	json_decref(v);
	recset_free(rs);
}

static void test_prom_escape(void **state)
{
	char out[64];
	http_prom_escape("a\"b\\c\nd", out, sizeof(out));
	assert_string_equal(out, "a\\\"b\\\\c\\nd");
	http_prom_escape("/etc/hosts", out, 6);
	assert_string_equal(out, "/et");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_parse_put),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_patch),
		cmocka_unit_test(test_parse_http_port),
		cmocka_unit_test(test_records),
		cmocka_unit_test_setup_teardown(test_source_persists, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_source_bad_file, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_source_partly_bad, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_source_unwritable, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_source_memory_only, env_setup, env_teardown),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_host_allowed),
		cmocka_unit_test(test_origin_kind),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_record_json),
		cmocka_unit_test(test_prom_escape),
	};
	int rc;

	rcu_register_thread();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return rc;
}
