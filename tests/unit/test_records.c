/* SPDX-License-Identifier: MIT */
/* Unit tests for dnsmasq record lines: every form, quoting, TXT splitting, errors, the source. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <libknot/libknot.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sources/records.h"
#include "store/registry.h"
#include "util/log.h"

/* ---- fakes: the registry and the log, so the test links only what it needs ---- */

struct registry {
	int unused;
};

static struct {
	char *origin;
	struct recset *rs;
	unsigned sets;
	unsigned removes;
} reg;

int registry_set(struct registry *r, enum origin_kind kind, const char *name, struct recset *rs)
{
	char origin[4200];
	assert_int_equal(kind, ORIGIN_RECORDS);
	snprintf(origin, sizeof(origin), "records:%s", name);
	recset_free(reg.rs);
	reg.rs = rs;
	free(reg.origin);
	reg.origin = rs != NULL ? strdup(origin) : NULL;
	if (rs != NULL)
		reg.sets++;
	else
		reg.removes++;
	return 0;
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

static size_t put_name(char *out, size_t len, const uint8_t *name)
{
	assert_non_null(knot_dname_to_str(out, name, len));
	return strlen(out);
}

/* One line per record: "owner TYPE data TTL"; TXT strings quoted, long ones
 * shown as their length. */
static void dump(const struct recset *rs, char *out, size_t len)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; rs != NULL && i < recset_count(rs); i++) {
		const struct rec *r = recset_get(rs, i);
		const uint8_t *d = r->rdata;
		char data[1024];
		char owner[KNOT_DNAME_TXT_MAXLEN + 1];
		size_t p = 0;
		put_name(owner, sizeof(owner), r->owner);
		switch (r->type) {
		case KNOT_RRTYPE_A:
			p += (size_t)snprintf(data, sizeof(data), "A ");
			inet_ntop(AF_INET, d, data + p, (socklen_t)(sizeof(data) - p));
			break;
		case KNOT_RRTYPE_AAAA:
			p += (size_t)snprintf(data, sizeof(data), "AAAA ");
			inet_ntop(AF_INET6, d, data + p, (socklen_t)(sizeof(data) - p));
			break;
		case KNOT_RRTYPE_PTR:
		case KNOT_RRTYPE_CNAME:
			p += (size_t)snprintf(data, sizeof(data), "%s ",
					      r->type == KNOT_RRTYPE_PTR ? "PTR" : "CNAME");
			put_name(data + p, sizeof(data) - p, d);
			break;
		case KNOT_RRTYPE_MX:
			p += (size_t)snprintf(data, sizeof(data), "MX %u ", knot_wire_read_u16(d));
			put_name(data + p, sizeof(data) - p, d + 2);
			break;
		case KNOT_RRTYPE_SRV:
			p += (size_t)snprintf(data, sizeof(data), "SRV %u %u %u ",
					      knot_wire_read_u16(d), knot_wire_read_u16(d + 2),
					      knot_wire_read_u16(d + 4));
			put_name(data + p, sizeof(data) - p, d + 6);
			break;
		case KNOT_RRTYPE_TXT:
			p += (size_t)snprintf(data, sizeof(data), "TXT");
			for (size_t off = 0; off < r->rdlen; off += 1 + (size_t)d[off]) {
				assert_true(off + 1 + d[off] <= r->rdlen);
				if (d[off] > 40)
					p += (size_t)snprintf(data + p, sizeof(data) - p, " <%u>",
							      d[off]);
				else
					p += (size_t)snprintf(data + p, sizeof(data) - p,
							      " \"%.*s\"", d[off],
							      (const char *)d + off + 1);
			}
			break;
		default:
			snprintf(data, sizeof(data), "type%u", r->type);
		}
		o += (size_t)snprintf(out + o, len - o, "%s %s %u\n", owner, data, r->ttl);
		assert_true(o < len);
	}
}

static struct {
	unsigned line[32];
	char msg[32][160];
	size_t n;
} errs;

static void on_error(void *arg, const char *file, unsigned line, const char *msg)
{
	assert_string_equal(file, "test.conf");
	assert_true(errs.n < 32);
	errs.line[errs.n] = line;
	snprintf(errs.msg[errs.n], sizeof(errs.msg[0]), "%s", msg);
	errs.n++;
}

static char host[256];

/* ---- the parser ---- */

static void test_lines(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		/* the seed's lines, unchanged */
		{ "txt-record=containers.docker.will-desktop,etcd\n",
		  "containers.docker.will-desktop. TXT \"etcd\" 5\n" },
		{ "txt-record=bash-sleeper.containers.docker.will-desktop,\"ubuntu:wily sleep 60\"\n",
		  "bash-sleeper.containers.docker.will-desktop. TXT \"ubuntu:wily sleep 60\" 5\n" },
		/* TXT: strings, quoting, spaces, comments */
		{ "txt-record=t.example,a,b,c", "t.example. TXT \"a\" \"b\" \"c\" 5\n" },
		{ "txt-record=t.example,\"a,b\",c", "t.example. TXT \"a,b\" \"c\" 5\n" },
		{ "txt-record=t.example,foo\"bar,baz\"", "t.example. TXT \"foobar,baz\" 5\n" },
		{ "txt-record=t.example", "t.example. TXT \"\" 5\n" },
		{ "txt-record=t.example,", "t.example. TXT \"\" 5\n" },
		{ "txt-record=t.example,a,", "t.example. TXT \"a\" \"\" 5\n" },
		{ "  txt-record = t.example ,  a, b  ", "t.example. TXT \"a\" \" b\" 5\n" },
		{ "txt-record=t.example,a#b", "t.example. TXT \"a#b\" 5\n" },
		{ "txt-record=t.example,a # a comment", "t.example. TXT \"a\" 5\n" },
		{ "txt-record=t.example,\"a # not a comment\"",
		  "t.example. TXT \"a # not a comment\" 5\n" },
		{ "txt-record=t.example,\"say \\\"hi\\\" \\\\o/\"",
		  "t.example. TXT \"say \"hi\" \\o/\" 5\n" },
		{ "txt-record=t.example,\"tab\\there\"", "t.example. TXT \"tab\there\" 5\n" },
		{ "txt-record=T.Example,\"v=spf1 a mx -all\"",
		  "t.example. TXT \"v=spf1 a mx -all\" 5\n" },
		/* host-record */
		{ "host-record=laptop,laptop.thekelleys.org,192.168.0.1,1234::100",
		  "laptop. A 192.168.0.1 5\nlaptop.thekelleys.org. A 192.168.0.1 5\n"
		  "1.0.168.192.in-addr.arpa. PTR laptop. 5\n"
		  "laptop. AAAA 1234::100 5\nlaptop.thekelleys.org. AAAA 1234::100 5\n"
		  "0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.3.2.1.ip6.arpa. PTR laptop. 5\n" },
		{ "host-record=h.example,192.0.2.1,3600",
		  "h.example. A 192.0.2.1 3600\n1.2.0.192.in-addr.arpa. PTR h.example. 3600\n" },
		{ "host-record=h.example,,2001:db8::1",
		  "h.example. AAAA 2001:db8::1 5\n"
		  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR h.example. 5\n" },
		{ "host-record = 192.0.2.5 , H5.example",
		  "h5.example. A 192.0.2.5 5\n5.2.0.192.in-addr.arpa. PTR h5.example. 5\n" },
		/* one PTR per address: the first name that gave it */
		{ "host-record=one,10.0.0.1\nhost-record=two,10.0.0.1",
		  "one. A 10.0.0.1 5\n1.0.0.10.in-addr.arpa. PTR one. 5\ntwo. A 10.0.0.1 5\n" },
		/* srv-host: port 1, priority and weight 0 by default; no target is "." */
		{ "srv-host=_ldap._tcp.example.com,ldapserver.example.com,389",
		  "_ldap._tcp.example.com. SRV 0 0 389 ldapserver.example.com. 5\n" },
		{ "srv-host=_a._tcp.example.com", "_a._tcp.example.com. SRV 0 0 1 . 5\n" },
		{ "srv-host=_b._tcp.example.com,t.example.com",
		  "_b._tcp.example.com. SRV 0 0 1 t.example.com. 5\n" },
		{ "srv-host=_c._udp.example.com,t.example.com,80,10,20",
		  "_c._udp.example.com. SRV 10 20 80 t.example.com. 5\n" },
		{ "srv-host=_ldap._tcp,ldap", "_ldap._tcp. SRV 0 0 1 ldap. 5\n" },
		/* ptr-record */
		{ "ptr-record=1.2.0.192.in-addr.arpa,h.example",
		  "1.2.0.192.in-addr.arpa. PTR h.example. 5\n" },
		{ "ptr-record=_http._tcp.dns-sd-services,\"New Office Printer._http._tcp.dns-sd-services\"",
		  "_http._tcp.dns-sd-services. PTR new\\032office\\032printer._http._tcp.dns-sd-services. 5\n" },
		{ "ptr-record=x.example", "x.example. PTR . 5\n" },
		/* cname */
		{ "cname=www.example,web.example", "www.example. CNAME web.example. 5\n" },
		{ "cname=a.example,b.example,target.example",
		  "a.example. CNAME target.example. 5\nb.example. CNAME target.example. 5\n" },
		{ "cname=a.example,target.example,600", "a.example. CNAME target.example. 600\n" },
		{ "cname=a.example,300", "a.example. CNAME 300. 5\n" },
		/* mx-host: preference 1, target this host by default */
		{ "mx-host=example.com,mail.example.com,10",
		  "example.com. MX 10 mail.example.com. 5\n" },
		{ "mx-host=example.com,mail.example.com",
		  "example.com. MX 1 mail.example.com. 5\n" },
		{ "mx-host=example.com", "example.com. MX 1 %HOST%. 5\n" },
		{ "mx-host=example.com,5", "example.com. MX 5 %HOST%. 5\n" },
		/* blank lines, comments, CRLF */
		{ "# comment\n\n   \n\t# indented comment\r\ncname=x.example,y.example\r\n",
		  "x.example. CNAME y.example. 5\n" },
	};
	char got[4096];
	char want[4096];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct recset *rs = recset_new();
		errs.n = 0;
		int bad = records_parse(rs, "test.conf", cases[i].text, strlen(cases[i].text), 5,
					on_error, NULL);
		if (bad != 0)
			fail_msg("case %zu: %s: %s", i, cases[i].text, errs.msg[0]);
		dump(rs, got, sizeof(got));
		const char *mark = strstr(cases[i].want, "%HOST%");
		if (mark != NULL)
			snprintf(want, sizeof(want), "%.*s%s%s", (int)(mark - cases[i].want),
				 cases[i].want, host, mark + 6);
		else
			snprintf(want, sizeof(want), "%s", cases[i].want);
		if (strcmp(got, want) != 0)
			fail_msg("case %zu: %s\nwant: %sgot:  %s", i, cases[i].text, want, got);
		recset_free(rs);
	}
}

static void test_long_txt(void **state)
{
	/* the seed's long etcd line: one string, split into 255-byte chunks */
	static const char line[] =
		"txt-record=etcd.containers.docker.will-desktop,\"quay.io/coreos/etcd --discovery-srv "
		"will-desktop --initial-advertise-peer-urls http://will-desktop:2380 "
		"--initial-cluster-token will-desktop-cluster-1 --initial-cluster-state new "
		"--advertise-client-urls http://will-desktop:2379 --listen-client-urls "
		"http://will-desktop:2379 --listen-peer-urls http://will-desktop:2380\"\n";
	char got[512];
	struct recset *rs = recset_new();
	assert_int_equal(records_parse(rs, "test.conf", line, strlen(line), 5, on_error, NULL), 0);
	dump(rs, got, sizeof(got));
	size_t text =
		strlen(line) - strlen("txt-record=etcd.containers.docker.will-desktop,\"\"\n");
	char want[128];
	snprintf(want, sizeof(want), "etcd.containers.docker.will-desktop. TXT <255> <%zu> 5\n",
		 text - 255);
	assert_string_equal(got, want);
	recset_free(rs);

	/* exactly 255 stays one string; a text of 65536 bytes cannot be one record */
	char *big = malloc(70000);
	int n = snprintf(big, 70000, "txt-record=t,");
	memset(big + n, 'x', 255);
	big[n + 255] = '\0';
	rs = recset_new();
	assert_int_equal(records_parse(rs, "test.conf", big, strlen(big), 5, on_error, NULL), 0);
	dump(rs, got, sizeof(got));
	assert_string_equal(got, "t. TXT <255> 5\n");
	memset(big + n, 'x', 65536);
	big[n + 65536] = '\0';
	errs.n = 0;
	assert_int_equal(records_parse(rs, "test.conf", big, strlen(big), 5, on_error, NULL), 1);
	assert_string_equal(errs.msg[0], "txt-record: text longer than 65535 bytes");
	assert_int_equal(recset_count(rs), 1);
	recset_free(rs);
	free(big);
}

static void test_bad_lines(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
		{ "foo=bar", "not a record line: \"foo\"" },
		{ "address=/x/192.0.2.1", "not a record line: \"address\"" },
		{ "just text", "not a record line: \"just text\"" },
		{ "Host-Record=h,192.0.2.1", "not a record line: \"Host-Record\"" },
		{ "host-record", "host-record: missing \"=value\"" },
		{ "host-record=h", "host-record needs a name and an address" },
		{ "host-record=h,h2", "host-record needs a name and an address" },
		{ "host-record=192.0.2.1,10.0.0.1", "host-record needs a name and an address" },
		{ "host-record=bad..name,192.0.2.1", "host-record: bad name \"bad..name\"" },
		{ "host-record=h,192.0.2.300", "host-record: bad address \"192.0.2.300\"" },
		{ "host-record=h,2001:db8::g", "host-record: bad address \"2001:db8::g\"" },
		{ "host-record=h,192.0.2.1,99999999999", "host-record: bad TTL \"99999999999\"" },
		{ "txt-record=bad..n,x", "txt-record: bad name \"bad..n\"" },
		{ "txt-record=,x", "txt-record: bad name \"\"" },
		{ "txt-record=n,\"unterminated", "missing \"" },
		{ "srv-host=_a._tcp.x,t,70000", "srv-host: bad port \"70000\"" },
		{ "srv-host=_a._tcp.x,t,1,x", "srv-host: bad priority \"x\"" },
		{ "srv-host=_a._tcp.x,t,1,2,-3", "srv-host: bad weight \"-3\"" },
		{ "srv-host=_a._tcp.x,t,1,2,3,4", "srv-host: too many fields" },
		{ "srv-host=_a._tcp.x,,80", "srv-host: bad target \"\"" },
		{ "srv-host=_a._tcp.x,", "srv-host: bad target \"\"" },
		{ "ptr-record=a,b,c", "ptr-record: too many fields" },
		{ "ptr-record=a..b", "ptr-record: bad name \"a..b\"" },
		{ "ptr-record=a,b..c", "ptr-record: bad target \"b..c\"" },
		{ "cname=only", "cname needs an alias and a target" },
		{ "cname=a,b..c", "cname: bad target \"b..c\"" },
		{ "cname=a..b,c", "cname: bad name \"a..b\"" },
		{ "cname=a,a,t", "cname: duplicate CNAME for \"a\"" },
		{ "cname=a,t,99999999999", "cname: bad TTL \"99999999999\"" },
		{ "mx-host=ex,mail,pref", "mx-host: bad preference \"pref\"" },
		{ "mx-host=ex,mail,1,2", "mx-host: too many fields" },
		{ "mx-host=ex,70000", "mx-host: bad preference \"70000\"" },
		{ "mx-host=ex,,5", "mx-host: bad target \"\"" },
		{ "mx-host=a..b", "mx-host: bad name \"a..b\"" },
		{ "cname=x\001y,t", "cname: bad name \"x?y\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* good, bad, good: the bad line is reported with its number, the rest load */
		char text[512];
		snprintf(text, sizeof(text), "cname=before.x,t.x\n%s\ncname=after.x,t.x\n",
			 cases[i].line);
		struct recset *rs = recset_new();
		errs.n = 0;
		int bad = records_parse(rs, "test.conf", text, strlen(text), 5, on_error, NULL);
		if (bad != 1 || errs.n != 1 || strcmp(errs.msg[0], cases[i].msg) != 0)
			fail_msg("case %zu: %s: bad %d, msg \"%s\"", i, cases[i].line, bad,
				 errs.n ? errs.msg[0] : "");
		assert_int_equal(errs.line[0], 2);
		assert_int_equal(recset_count(rs), 2);
		recset_free(rs);
	}

	/* several errors: line numbers count blank and comment lines; a CNAME
	 * defined twice is an error on its second line */
	static const char multi[] = "# records\n\ncname=a.x,t.x\nnope\n\ncname=A.X,u.x\n"
				    "txt-record=ok,1\ncname=b.x,t.x # fine\nmx-host=\n";
	struct recset *rs = recset_new();
	errs.n = 0;
	assert_int_equal(records_parse(rs, "test.conf", multi, strlen(multi), 5, on_error, NULL),
			 3);
	assert_int_equal(errs.line[0], 4);
	assert_int_equal(errs.line[1], 6);
	assert_string_equal(errs.msg[1], "cname: duplicate CNAME for \"A.X\"");
	assert_int_equal(errs.line[2], 9);
	assert_int_equal(recset_count(rs), 3);

	/* NUL bytes, no callback, empty input */
	static const char nul[] = "cname=a\0b,t\ncname=c.x,t.x\n";
	assert_int_equal(records_parse(rs, "test.conf", nul, sizeof(nul) - 1, 5, NULL, NULL), 1);
	assert_int_equal(records_parse(rs, "test.conf", NULL, 0, 5, NULL, NULL), 0);
	assert_int_equal(records_parse(NULL, "test.conf", "", 0, 5, NULL, NULL), -EINVAL);
	assert_int_equal(recset_count(rs), 4);
	recset_free(rs);
}

/* ---- the file source ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool has(const char *needle)
{
	char got[4096];
	if (reg.rs == NULL)
		return false;
	if (needle == NULL)
		return true;
	dump(reg.rs, got, sizeof(got));
	return strstr(got, needle) != NULL;
}

static bool wait_for(struct event_base *base, const char *needle, bool want, int ms)
{
	int64_t end = now_ms() + ms;
	while (has(needle) != want) {
		if (now_ms() > end)
			return false;
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return true;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_source(void **state)
{
	char dir[64];
	char path[128];
	char tmp[128];
	char origin[160];
	char want[256];
	struct registry fake = { 0 };
	struct event_base *base = event_base_new();
	assert_non_null(base);
	snprintf(dir, sizeof(dir), "/tmp/berth-test-records-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/records.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s/records.conf.new", dir);
	snprintf(origin, sizeof(origin), "records:%s", path);
	logbuf[0] = '\0';

	struct records_source *src = (struct records_source *)1;
	char err[600] = "", msg[600];
	assert_int_equal(
		records_source_new(base, (struct registry *)&fake, path, 5, &src, err, sizeof(err)),
		-ENOENT);
	assert_null(src);
	snprintf(msg, sizeof(msg), "%s: No such file or directory", path);
	assert_string_equal(err, msg);
	write_file(path, "txt-record=t.example,one\nbogus\n");
	assert_int_equal(
		records_source_new(base, (struct registry *)&fake, path, 5, &src, err, sizeof(err)),
		0);
	assert_non_null(src);
	assert_string_equal(reg.origin, origin);
	assert_true(has("TXT \"one\""));
	snprintf(want, sizeof(want), "records: %s:2: not a record line: \"bogus\"", path);
	assert_non_null(strstr(logbuf, want));

	/* rename over the file: a new complete set, no removal in between */
	write_file(tmp, "txt-record=t.example,two\n");
	assert_int_equal(rename(tmp, path), 0);
	assert_true(wait_for(base, "TXT \"two\"", true, 1000));
	assert_int_equal(reg.removes, 0);

	/* edit in place */
	write_file(path, "txt-record=t.example,three\n");
	assert_true(wait_for(base, "TXT \"three\"", true, 1000));

	/* other files in the directory are none of its business */
	unsigned sets = reg.sets;
	write_file(tmp, "txt-record=t.example,other\n");
	assert_false(wait_for(base, "TXT \"other\"", true, 200));
	assert_int_equal(reg.sets, sets);
	assert_int_equal(unlink(tmp), 0);

	/* SIGHUP reload reads the file at once */
	write_file(path, "txt-record=t.example,four\n");
	records_source_reload(src);
	assert_true(has("TXT \"four\""));

	/* replaced by something unreadable (a directory): keeps its records */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	records_source_reload(src);
	assert_true(has("TXT \"four\""));
	assert_non_null(strstr(logbuf, "keeping its records"));
	assert_int_equal(rmdir(path), 0);

	/* removed: its records go; back: they return */
	records_source_reload(src);
	assert_false(has(NULL));
	write_file(path, "txt-record=t.example,five\n");
	assert_true(wait_for(base, "TXT \"five\"", true, 1000));
	assert_int_equal(unlink(path), 0);
	assert_true(wait_for(base, NULL, false, 1000));

	records_source_free(src);
	registry_set(NULL, ORIGIN_RECORDS, "", NULL);
	event_base_free(base);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	if (gethostname(host, sizeof(host)) < 0)
		return 1;
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_txt),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
