/* SPDX-License-Identifier: MIT */
/* Unit tests for hosts files: the line parser, and the directory source (its records against a
 * fake registry, and its /status object). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <libknot/libknot.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sources/hosts.h"
#include "store/registry.h"
#include "util/log.h"

/* ---- fakes: the registry and the log, so the test links only what it needs ---- */

struct registry {
	int unused;
};

#define MAX_ORIGINS 32
static struct {
	char *origin[MAX_ORIGINS];
	struct recset *rs[MAX_ORIGINS];
	size_t n;
	unsigned removes;
} reg;

int registry_set(struct registry *r, enum origin_kind kind, const char *name, struct recset *rs)
{
	char origin[4200];
	size_t i;
	assert_int_equal(kind, ORIGIN_HOSTS);
	snprintf(origin, sizeof(origin), "hosts:%s", name);
	for (i = 0; i < reg.n; i++)
		if (strcmp(reg.origin[i], origin) == 0)
			break;
	if (i < reg.n) {
		recset_free(reg.rs[i]);
		if (rs == NULL) {
			reg.removes++;
			free(reg.origin[i]);
			reg.n--;
			reg.origin[i] = reg.origin[reg.n];
			reg.rs[i] = reg.rs[reg.n];
		} else {
			reg.rs[i] = rs;
		}
		return 0;
	}
	if (rs == NULL)
		return 0;
	assert_true(reg.n < MAX_ORIGINS);
	reg.origin[reg.n] = strdup(origin);
	reg.rs[reg.n++] = rs;
	return 0;
}

static void reg_clear(void)
{
	for (size_t i = 0; i < reg.n; i++) {
		free(reg.origin[i]);
		recset_free(reg.rs[i]);
	}
	memset(&reg, 0, sizeof(reg));
}

static char logbuf[8192];

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	size_t o = strlen(logbuf);
	va_list ap;
	if (o + 256 > sizeof(logbuf))
		return;
	o += (size_t)snprintf(logbuf + o, sizeof(logbuf) - o, "%s: ", module);
	va_start(ap, fmt);
	o += (size_t)vsnprintf(logbuf + o, sizeof(logbuf) - o, fmt, ap);
	va_end(ap);
	snprintf(logbuf + o, sizeof(logbuf) - o, "\n");
}

/* ---- helpers ---- */

/* One line per record: "owner TYPE data". */
static void dump(const struct recset *rs, char *out, size_t len)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; rs != NULL && i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		char owner[KNOT_DNAME_TXT_MAXLEN + 1];
		char data[KNOT_DNAME_TXT_MAXLEN + 1];
		assert_non_null(knot_dname_to_str(owner, r->owner, sizeof(owner)));
		const char *type = "?";
		if (r->type == KNOT_RRTYPE_A) {
			type = "A";
			inet_ntop(AF_INET, r->rdata, data, sizeof(data));
		} else if (r->type == KNOT_RRTYPE_AAAA) {
			type = "AAAA";
			inet_ntop(AF_INET6, r->rdata, data, sizeof(data));
		} else if (r->type == KNOT_RRTYPE_PTR) {
			type = "PTR";
			assert_non_null(knot_dname_to_str(data, r->rdata, sizeof(data)));
		} else {
			snprintf(data, sizeof(data), "type%u", r->type);
		}
		o += (size_t)snprintf(out + o, len - o, "%s %s %s %u\n", owner, type, data, r->ttl);
		assert_true(o < len);
	}
}

struct err {
	unsigned line;
	char msg[160];
};

static struct {
	struct err e[16];
	size_t n;
} errs;

static void on_error(void *arg, const char *file, unsigned line, const char *msg)
{
	assert_string_equal(file, "test.hosts");
	assert_true(errs.n < 16);
	errs.e[errs.n].line = line;
	snprintf(errs.e[errs.n].msg, sizeof(errs.e[0].msg), "%s", msg);
	errs.n++;
}

/* ---- the parser ---- */

static void test_parse_lines(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "192.0.2.1 web\n", "web. A 192.0.2.1 7\n1.2.0.192.in-addr.arpa. PTR web. 7\n" },
		{ "192.0.2.1\tWeb.Example   alias\n",
		  "web.example. A 192.0.2.1 7\nalias. A 192.0.2.1 7\n"
		  "1.2.0.192.in-addr.arpa. PTR web.example. 7\n" },
		{ "2001:db8::5 six # a comment\n",
		  "six. AAAA 2001:db8::5 7\n"
		  "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR six. 7\n" },
		{ "# only a comment\n\n   \n\t\n", "" },
		{ "192.0.2.1 a#comment right after\n",
		  "a. A 192.0.2.1 7\n1.2.0.192.in-addr.arpa. PTR a. 7\n" },
		{ "192.0.2.2 x.example.\r\n",
		  "x.example. A 192.0.2.2 7\n2.2.0.192.in-addr.arpa. PTR x.example. 7\n" },
		{ "192.0.2.3 no-newline",
		  "no-newline. A 192.0.2.3 7\n3.2.0.192.in-addr.arpa. PTR no-newline. 7\n" },
		{ "  192.0.2.4 _srv-ok  \n",
		  "_srv-ok. A 192.0.2.4 7\n4.2.0.192.in-addr.arpa. PTR _srv-ok. 7\n" },
		/* the first line naming an address gives its PTR */
		{ "10.0.0.1 one\n10.0.0.1 two\n",
		  "one. A 10.0.0.1 7\n1.0.0.10.in-addr.arpa. PTR one. 7\ntwo. A 10.0.0.1 7\n" },
		/* both families for one name */
		{ "::1 localhost ip6-localhost\n127.0.0.1 localhost\n",
		  "localhost. AAAA ::1 7\nip6-localhost. AAAA ::1 7\n"
		  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. PTR localhost. 7\n"
		  "localhost. A 127.0.0.1 7\n1.0.0.127.in-addr.arpa. PTR localhost. 7\n" },
	};
	char got[4096];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct recset *rs = recset_new();
		errs.n = 0;
		int bad = hosts_parse(rs, "test.hosts", cases[i].text, strlen(cases[i].text), 7,
				      on_error, NULL);
		assert_int_equal(bad, 0);
		assert_int_equal(errs.n, 0);
		dump(rs, got, sizeof(got));
		assert_string_equal(got, cases[i].want);
		recset_free(rs);
	}
}

static void test_bad_lines(void **state)
{
	char longname[300];
	static const char good[] = "192.0.2.10 good\n";
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
		{ "300.1.2.3 x\n", "invalid address \"300.1.2.3\"" },
		{ "192.0.2 x\n", "invalid address \"192.0.2\"" },
		{ "web 192.0.2.1\n", "invalid address \"web\"" },
		{ "fe80::1%eth0 link\n", "invalid address \"fe80::1%eth0\"" },
		{ "192.0.2.1\n", "address \"192.0.2.1\" without a name" },
		{ "192.0.2.1 # name commented out\n", "address \"192.0.2.1\" without a name" },
		{ "192.0.2.1 ok bad..name\n", "invalid name \"bad..name\"" },
		{ "192.0.2.1 .lead\n", "invalid name \".lead\"" },
		{ "192.0.2.1 sp@ce\n", "invalid name \"sp@ce\"" },
		{ "192.0.2.1 caf\xc3\xa9\n", "invalid name \"caf??\"" },
		{ "192.0.2.1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  "invalid name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
		{ "2001:db8::zz host\n", "invalid address \"2001:db8::zz\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* good, bad, good: the bad line is reported with its number and skipped */
		char text[512];
		snprintf(text, sizeof(text), "%s%s%s", good, cases[i].line, "\n192.0.2.11 after\n");
		struct recset *rs = recset_new();
		errs.n = 0;
		int bad = hosts_parse(rs, "test.hosts", text, strlen(text), 7, on_error, NULL);
		assert_int_equal(bad, 1);
		assert_int_equal(errs.n, 1);
		assert_int_equal(errs.e[0].line, 2);
		assert_string_equal(errs.e[0].msg, cases[i].msg);
		assert_int_equal(recset_count(rs), 4); /* good and after: A + PTR each */
		recset_free(rs);
	}

	/* a name over 253 bytes */
	char text[512];
	memset(longname, 0, sizeof(longname));
	for (size_t i = 0; i < 260; i++)
		longname[i] = (i % 50 == 49) ? '.' : 'n';
	snprintf(text, sizeof(text), "# x\n\n192.0.2.1 %s\n", longname);
	struct recset *rs = recset_new();
	errs.n = 0;
	assert_int_equal(hosts_parse(rs, "test.hosts", text, strlen(text), 7, on_error, NULL), 1);
	assert_int_equal(errs.e[0].line, 3);
	assert_int_equal(recset_count(rs), 0);

	/* several bad lines: each reported, line numbers count blank and comment lines */
	static const char multi[] = "bad1\n# c\n\n192.0.2.1 ok\nbad2 x\n192.0.2.2\n";
	errs.n = 0;
	assert_int_equal(hosts_parse(rs, "test.hosts", multi, strlen(multi), 7, on_error, NULL), 3);
	assert_int_equal(errs.e[0].line, 1);
	assert_int_equal(errs.e[1].line, 5);
	assert_int_equal(errs.e[2].line, 6);
	assert_int_equal(recset_count(rs), 2);

	/* NUL bytes and no error callback */
	static const char nul[] = "192.0.2.1 a\0b\n192.0.2.2 c\n";
	assert_int_equal(hosts_parse(rs, "test.hosts", nul, sizeof(nul) - 1, 7, NULL, NULL), 1);
	assert_int_equal(recset_count(rs), 4);
	assert_int_equal(hosts_parse(rs, "test.hosts", NULL, 0, 7, NULL, NULL), 0);
	assert_int_equal(hosts_parse(NULL, "test.hosts", "", 0, 7, NULL, NULL), -EINVAL);
	recset_free(rs);
}

/* ---- the directory source ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char dir[256];

static void origin_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "hosts:%s/%s", dir, name);
}

static const struct recset *lookup(const char *name)
{
	char origin[512];
	origin_of(origin, sizeof(origin), name);
	for (size_t i = 0; i < reg.n; i++)
		if (strcmp(reg.origin[i], origin) == 0)
			return reg.rs[i];
	return NULL;
}

static bool has(const char *name, const char *needle)
{
	char got[4096];
	const struct recset *rs = lookup(name);
	if (rs == NULL)
		return false;
	if (needle == NULL)
		return true;
	dump(rs, got, sizeof(got));
	return strstr(got, needle) != NULL;
}

/* Run the loop until file name's origin is present (with needle) or absent
 * (want == false); within ms. */
static bool wait_for(struct event_base *base, const char *name, const char *needle, bool want,
		     int ms)
{
	int64_t end = now_ms() + ms;
	while (has(name, needle) != want) {
		if (now_ms() > end)
			return false;
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return true;
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void test_source(void **state)
{
	char p1[512];
	char p2[512];
	struct registry fake = { 0 };
	struct event_base *base = event_base_new();
	assert_non_null(base);
	snprintf(dir, sizeof(dir), "/tmp/berth-test-hosts-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char *real = realpath(dir, NULL); /* origins use the resolved path */
	snprintf(dir, sizeof(dir), "%s", real);
	free(real);
	reg_clear();
	logbuf[0] = '\0';

	write_file("a", "192.0.2.1 alpha\n");
	write_file(".hidden", "192.0.2.9 hidden\n");
	write_file("bad", "nonsense\n192.0.2.2 bravo\n");
	path_of(p1, sizeof(p1), "sub");
	assert_int_equal(mkdir(p1, 0755), 0);

	struct hosts_source *hs = (struct hosts_source *)1;
	char err[256] = "";
	assert_int_equal(hosts_source_new(base, (struct registry *)&fake, "/nonexistent/berth", 1,
					  &hs, err, sizeof(err)),
			 -ENOENT);
	assert_null(hs);
	assert_string_equal(err, "/nonexistent/berth: No such file or directory");
	assert_int_equal(
		hosts_source_new(base, (struct registry *)&fake, dir, 30, &hs, err, sizeof(err)),
		0);
	assert_non_null(hs);
	assert_int_equal(reg.n, 2);
	assert_true(has("a", "alpha. A 192.0.2.1 30"));
	assert_true(has("bad", "bravo. A 192.0.2.2"));
	char want[600];
	snprintf(want, sizeof(want), "hosts: %s/bad:1: invalid address \"nonsense\"", dir);
	assert_non_null(strstr(logbuf, want));

	/* atomic replace: a complete new set, never a removal in between */
	write_file(".a.tmp", "192.0.2.1 alpha2\n");
	path_of(p1, sizeof(p1), ".a.tmp");
	path_of(p2, sizeof(p2), "a");
	assert_int_equal(rename(p1, p2), 0);
	assert_true(wait_for(base, "a", "alpha2.", true, 1000));
	assert_int_equal(reg.removes, 0);

	/* edit in place */
	write_file("a", "192.0.2.1 alpha3\n2001:db8::1 alpha3\n");
	assert_true(wait_for(base, "a", "alpha3. AAAA 2001:db8::1", true, 1000));

	/* a new file, then renamed: the old name goes, the new one comes */
	write_file("c", "192.0.2.3 charlie\n");
	assert_true(wait_for(base, "c", "charlie.", true, 1000));
	path_of(p1, sizeof(p1), "c");
	path_of(p2, sizeof(p2), "d");
	assert_int_equal(rename(p1, p2), 0);
	assert_true(wait_for(base, "d", "charlie.", true, 1000));
	assert_true(wait_for(base, "c", NULL, false, 1000));

	/* removal */
	path_of(p1, sizeof(p1), "bad");
	assert_int_equal(unlink(p1), 0);
	assert_true(wait_for(base, "bad", NULL, false, 1000));

	/* a new empty file, and a symlink (only IN_CREATE) */
	path_of(p1, sizeof(p1), "e");
	int fd = open(p1, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_true(wait_for(base, "e", NULL, true, 1000));
	assert_int_equal(recset_count(lookup("e")), 0);
	path_of(p1, sizeof(p1), "d");
	path_of(p2, sizeof(p2), "f");
	assert_int_equal(symlink(p1, p2), 0);
	assert_true(wait_for(base, "f", "charlie.", true, 1000));

	/* dotfiles never load */
	write_file(".hidden2", "192.0.2.9 hidden\n");
	assert_false(wait_for(base, ".hidden2", NULL, true, 200));

	/* reload (SIGHUP) notices a file gone without waiting for the watcher */
	path_of(p1, sizeof(p1), "e");
	assert_int_equal(unlink(p1), 0);
	hosts_source_reload(hs);
	assert_false(has("e", NULL));
	assert_true(has("a", "alpha3."));

	/* an unreadable file keeps its records (root reads anything: skip then) */
	if (geteuid() != 0) {
		path_of(p1, sizeof(p1), "a");
		assert_int_equal(chmod(p1, 0), 0);
		hosts_source_reload(hs);
		assert_true(has("a", "alpha3."));
		assert_non_null(strstr(logbuf, "cannot read"));
	}

	hosts_source_free(hs);
	reg_clear();
	event_base_free(base);
	static const char *const names[] = { "a", ".hidden", ".hidden2", "d", "f", "sub" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(p1, sizeof(p1), names[i]);
		remove(p1);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* The source's /status object, compact, keys in the order it builds them. */
static char *status_text(const struct hosts_source *hs)
{
	json_t *o = hosts_source_ops.status(hs);
	assert_non_null(o);
	char *text = json_dumps(o, JSON_COMPACT);
	assert_non_null(text);
	json_decref(o);
	return text;
}

/* /status shows the source through struct source_ops: "ok" with what it holds, then
 * "degraded" naming the bad line once one is read, while the good lines stay counted. */
static void test_source_status(void **state)
{
	char p1[512];
	char want[2048];
	struct registry fake = { 0 };
	struct event_base *base = event_base_new();
	assert_non_null(base);
	snprintf(dir, sizeof(dir), "/tmp/berth-test-hosts-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char *real = realpath(dir, NULL); /* name and path are the resolved directory */
	snprintf(dir, sizeof(dir), "%s", real);
	free(real);
	reg_clear();
	logbuf[0] = '\0';

	assert_string_equal(hosts_source_ops.kind, "hosts");
	assert_non_null(hosts_source_ops.reload);
	assert_non_null(hosts_source_ops.free);
	write_file("a", "192.0.2.1 alpha\n");
	struct hosts_source *hs;
	assert_int_equal(hosts_source_new(base, (struct registry *)&fake, dir, 30, &hs, NULL, 0),
			 0);
	assert_non_null(hs);
	char *text = status_text(hs);
	snprintf(want, sizeof(want),
		 "{\"name\":\"%s\",\"kind\":\"hosts\",\"state\":\"ok\",\"required\":false,"
		 "\"error\":null,\"path\":\"%s\",\"files\":1,\"records\":2,\"bad_lines\":0}",
		 dir, dir);
	assert_string_equal(text, want);
	free(text);

	write_file("b", "192.0.2.2 bravo\nnonsense\n");
	hosts_source_ops.reload(hs);
	text = status_text(hs);
	snprintf(want, sizeof(want),
		 "{\"name\":\"%s\",\"kind\":\"hosts\",\"state\":\"degraded\",\"required\":false,"
		 "\"error\":\"%s/b:2: invalid address \\\"nonsense\\\"\",\"path\":\"%s\","
		 "\"files\":2,\"records\":4,\"bad_lines\":1}",
		 dir, dir, dir);
	assert_string_equal(text, want);
	free(text);

	hosts_source_ops.free(hs);
	reg_clear();
	event_base_free(base);
	static const char *const names[] = { "a", "b" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(p1, sizeof(p1), names[i]);
		remove(p1);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lines),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_source_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
