/* SPDX-License-Identifier: MIT */
/* Unit tests of berth provision's pure parts: shell-style splitting, container names, the plan
 * and the options. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/lookup.h"
#include "provision/options.h"
#include "provision/plan.h"
#include "util/err.h"
#include "util/log.h"

/* ---- splitting ---------------------------------------------------------- */

#define MAXW 6
static const struct {
	const char *in;
	int ret;
	const char *words[MAXW]; /* NULL-terminated */
} split_cases[] = {
	{ "quay.io/coreos/etcd", 0, { "quay.io/coreos/etcd" } },
	{ "ubuntu:wily sleep 60", 0, { "ubuntu:wily", "sleep", "60" } },
	{ "  a \t b\n c  ", 0, { "a", "b", "c" } },
	{ "", 0, { NULL } },
	{ "   ", 0, { NULL } },
	{ "echo HelloDNS!", 0, { "echo", "HelloDNS!" } },
	{ "sh -c 'echo a  b; exit 3'", 0, { "sh", "-c", "echo a  b; exit 3" } },
	{ "x \"a b\" c", 0, { "x", "a b", "c" } },
	{ "x '' \"\"", 0, { "x", "", "" } },
	{ "x a''b \"c\"'d'e", 0, { "x", "ab", "cde" } },
	{ "x a\\ b", 0, { "x", "a b" } },
	{ "x \\'q\\'", 0, { "x", "'q'" } },
	{ "x '\\n'", 0, { "x", "\\n" } },
	{ "x \"\\\" \\\\ \\$ \\` \\n\"", 0, { "x", "\" \\ $ ` \\n" } },
	{ "x \"it's\"", 0, { "x", "it's" } },
	{ "x '\"'", 0, { "x", "\"" } },
	{ "x $HOME `id` $(id) *", 0, { "x", "$HOME", "`id`", "$(id)", "*" } },
	{ "x a\\\nb", 0, { "x", "ab" } },
	{ "x 'open", BERTH_EPARSE, { NULL } },
	{ "x \"open", BERTH_EPARSE, { NULL } },
	{ "x \"a\\\"", BERTH_EPARSE, { NULL } },
	{ "x trailing\\", BERTH_EPARSE, { NULL } },
};

static void test_split_table(void **state)
{
	for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		struct strv v = { 0 };
		int ret = provision_split(split_cases[i].in, &v);
		size_t n = 0;
		while (n < MAXW && split_cases[i].words[n])
			n++;
		if (ret != split_cases[i].ret || v.n != n)
			fail_msg("case %zu \"%s\": ret %d (want %d), %zu words (want %zu)", i,
				 split_cases[i].in, ret, split_cases[i].ret, v.n, n);
		for (size_t k = 0; k < n; k++)
			if (strcmp(v.v[k], split_cases[i].words[k]) != 0)
				fail_msg("case %zu word %zu: \"%s\", want \"%s\"", i, k, v.v[k],
					 split_cases[i].words[k]);
		strv_clear(&v);
	}
}

static void test_split_error_leaves_out_alone(void **state)
{
	struct strv v = { 0 };
	assert_int_equal(strv_push(&v, "kept"), 0);
	assert_int_equal(provision_split("a b 'c", &v), BERTH_EPARSE);
	assert_int_equal(v.n, 1);
	assert_int_equal(provision_split("a b", &v), 0);
	assert_int_equal(v.n, 3);
	assert_string_equal(v.v[2], "b");
	strv_clear(&v);
}

/* ---- names and zones ---------------------------------------------------- */

static void test_names(void **state)
{
	const char *good[] = { "etcd", "bash-sleeper", "a", "A.b_c-d", "0x", "web.1" };
	const char *bad[] = { "", "-x", ".x", "_x", "bad/name", "a b", "a:b", "é", "x?" };
	char longname[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!provision_name_valid(good[i]))
			fail_msg("\"%s\" should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (provision_name_valid(bad[i]))
			fail_msg("\"%s\" should be invalid", bad[i]);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(provision_name_valid(longname));
	longname[255] = '\0';
	assert_true(provision_name_valid(longname));
}

static void test_zones(void **state)
{
	assert_true(provision_zone_valid("docker.will-desktop"));
	assert_true(provision_zone_valid("example.test."));
	assert_true(provision_zone_valid("local"));
	assert_false(provision_zone_valid(""));
	assert_false(provision_zone_valid("."));
	assert_false(provision_zone_valid("a..b"));
	assert_false(provision_zone_valid("a b"));
	assert_false(provision_zone_valid("a\"; local-zone: x"));
}

/* ---- the plan ----------------------------------------------------------- */

#define CMD_A "img sleep 60"
#define CMD_B "img sleep 61"

static const struct provision_container containers[] = {
	{ "id-keep", "keep", CMD_A, true },       { "id-stopped", "stopped", CMD_A, false },
	{ "id-changed", "changed", CMD_A, true }, { "id-foreign", "foreign", NULL, true },
	{ "id-gone", "gone", CMD_A, true },       { "id-norecord", "norecord", CMD_A, true },
	{ "id-other", "other", NULL, true }, /* not ours, not listed: never touched */
};

static const struct provision_entry entries[] = {
	{ "keep", CMD_A, NULL },
	{ "stopped", CMD_A, NULL },
	{ "changed", CMD_B, NULL },
	{ "foreign", CMD_A, NULL },
	{ "new", CMD_B, NULL },
	{ "norecord", NULL, "no command record" },
	{ "bad/name", CMD_A, NULL },
	{ "unparsable", "img 'sleep", NULL },
	{ "empty", "  ", NULL },
	{ "keep", CMD_B, NULL }, /* a repeated name: the first one counts */
};

static const struct provision_action *find(const struct provision_action *v, size_t n,
					   const char *name)
{
	const struct provision_action *hit = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0) {
			if (hit != NULL)
				fail_msg("two actions for %s", name);
			hit = &v[i];
		}
	if (hit == NULL)
		fail_msg("no action for %s", name);
	return hit;
}

static void check(const struct provision_action *v, size_t n, const char *name,
		  enum provision_kind kind)
{
	const struct provision_action *a = find(v, n, name);
	if (a->kind != kind)
		fail_msg("%s: %s (%s), want %s", name, provision_kind_name(a->kind), a->reason,
			 provision_kind_name(kind));
}

static void run_plan(bool complete, bool adopt, struct provision_action **v, size_t *n)
{
	struct provision_listing l = { entries, sizeof(entries) / sizeof(entries[0]), complete };
	assert_int_equal(provision_plan(&l, containers, sizeof(containers) / sizeof(containers[0]),
					adopt, v, n),
			 0);
}

static void test_plan_complete(void **state)
{
	struct provision_action *v;
	size_t n;
	run_plan(true, false, &v, &n);
	assert_int_equal(n, 10);
	check(v, n, "keep", PROVISION_KEEP);
	check(v, n, "stopped", PROVISION_START);
	check(v, n, "changed", PROVISION_REPLACE);
	assert_string_equal(find(v, n, "changed")->id, "id-changed");
	assert_string_equal(find(v, n, "changed")->cmdline, CMD_B);
	check(v, n, "foreign", PROVISION_FOREIGN);
	check(v, n, "new", PROVISION_CREATE);
	check(v, n, "norecord", PROVISION_SKIP); /* listed: kept, never removed */
	assert_string_equal(find(v, n, "norecord")->reason, "no command record");
	check(v, n, "bad/name", PROVISION_SKIP);
	check(v, n, "unparsable", PROVISION_SKIP);
	check(v, n, "empty", PROVISION_SKIP);
	check(v, n, "gone", PROVISION_REMOVE);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(v[i].name, "other");
	free(v);
}

static void test_plan_incomplete_removes_nothing(void **state)
{
	struct provision_action *v;
	size_t n;
	run_plan(false, false, &v, &n);
	check(v, n, "gone", PROVISION_SKIP);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(v[i].kind, PROVISION_REMOVE);
	free(v);

	/* An empty, incomplete listing (resolver down): every container of ours stays. */
	struct provision_listing l = { NULL, 0, false };
	assert_int_equal(provision_plan(&l, containers, 7, false, &v, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].kind, PROVISION_SKIP);
	free(v);
}

static void test_plan_adopt(void **state)
{
	struct provision_action *v;
	size_t n;
	run_plan(true, true, &v, &n);
	check(v, n, "foreign", PROVISION_REPLACE);
	assert_string_equal(find(v, n, "foreign")->id, "id-foreign");
	free(v);
}

static void test_plan_seed_label(void **state)
{
	/* A container labelled by the seed tool counts as ours, by its command line. */
	const struct provision_container cs[] = { { "id1", "etcd", "quay.io/coreos/etcd", true },
						  { "id2", "bash-sleeper", "ubuntu:wily sleep 60",
						    true } };
	const struct provision_entry es[] = { { "etcd", "quay.io/coreos/etcd", NULL } };
	struct provision_listing l = { es, 1, true };
	struct provision_action *v;
	size_t n;
	assert_int_equal(provision_plan(&l, cs, 2, false, &v, &n), 0);
	assert_int_equal(n, 2);
	check(v, n, "etcd", PROVISION_KEEP);
	check(v, n, "bash-sleeper", PROVISION_REMOVE);
	free(v);
}

/* ---- options ------------------------------------------------------------ */

/* 0 (run), 1 (--help or --version printed) or provision_conf_parse's negative code. */
static int popts(struct provision_conf *c, char *err, size_t errlen, ...)
{
	char *argv[40];
	int argc = 0;
	const char *a;
	va_list ap;

	argv[argc++] = (char *)"provision";
	va_start(ap, errlen);
	while ((a = va_arg(ap, const char *)) && argc < 39)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	bool exited = true;
	int ret = provision_conf_parse(c, argc, argv, &exited, err, errlen);
	return ret < 0 ? ret : exited ? 1 : 0;
}

static void test_options(void **state)
{
	static const char *const vars[] = { "BERTH_ZONE", "BERTH_RESOLVER", "BERTH_DRY_RUN",
					    "BERTH_INTERVAL", "BERTH_LOG_FORMAT" };
	struct provision_conf c;
	char err[256] = "", addr[64];

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	/* Defaults, and the zone in one spelling. */
	assert_int_equal(popts(&c, err, sizeof(err), "--zone", "Example.COM.", NULL), 0);
	assert_string_equal(c.zone, "example.com");
	assert_int_equal(c.nresolvers, 0);
	assert_int_equal(c.stop_timeout, 10);
	assert_int_equal(c.timeout, 5);
	assert_int_equal(c.interval, 0);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_false(c.dry_run || c.once || c.adopt || c.pull || c.json || c.log_json);
	assert_string_equal(c.docker, "");

	assert_int_equal(popts(&c, err, sizeof(err), "--zone=z", "--resolver", "127.0.0.1:5300",
			       "--resolver", "[::1]", "--dry-run", "--once", "--adopt", "--pull",
			       "--json", "--interval", "30", "--stop-timeout", "0", "--timeout",
			       "300", "--docker", "tcp://127.0.0.1:2375", "--network", "host",
			       "--log-format", "json", NULL),
			 0);
	assert_int_equal(c.nresolvers, 2);
	assert_string_equal(addr_str(&c.resolvers[1], addr, sizeof(addr)), "[::1]:53");
	assert_true(c.dry_run && c.once && c.adopt && c.pull && c.json && c.log_json);
	assert_int_equal(c.interval, 30);
	assert_int_equal(c.stop_timeout, 0);
	assert_int_equal(c.timeout, 300);
	assert_string_equal(c.docker, "tcp://127.0.0.1:2375");
	assert_string_equal(c.network, "host");

	/* The environment, and the command line over it: its resolvers replace the list. */
	setenv("BERTH_ZONE", "env.zone", 1);
	setenv("BERTH_RESOLVER", "127.0.0.1, 127.0.0.2", 1);
	setenv("BERTH_DRY_RUN", "yes", 1);
	assert_int_equal(popts(&c, err, sizeof(err), NULL), 0);
	assert_string_equal(c.zone, "env.zone");
	assert_int_equal(c.nresolvers, 2);
	assert_true(c.dry_run);
	assert_int_equal(
		popts(&c, err, sizeof(err), "--resolver", "127.0.0.3", "--dry-run=false", NULL), 0);
	assert_int_equal(c.nresolvers, 1);
	assert_string_equal(addr_str(&c.resolvers[0], addr, sizeof(addr)), "127.0.0.3:53");
	assert_false(c.dry_run);
	/* A bad variable is no matter when the command line gives the option. */
	setenv("BERTH_INTERVAL", "soon", 1);
	assert_int_equal(popts(&c, err, sizeof(err), "--interval", "5", NULL), 0);
	assert_int_equal(popts(&c, err, sizeof(err), NULL), -EINVAL);
	assert_string_equal(err, "BERTH_INTERVAL: \"soon\" is not a number of seconds (1..86400)");
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);

	/* Errors name the option. */
	assert_int_equal(popts(&c, err, sizeof(err), NULL), -EINVAL);
	assert_string_equal(err, "--zone is required (or BERTH_ZONE)");
	assert_int_equal(popts(&c, err, sizeof(err), "--zone", "a..b", NULL), -EINVAL);
	assert_true(strncmp(err, "--zone: \"a..b\" is not a DNS zone", 32) == 0);
	assert_int_equal(
		popts(&c, err, sizeof(err), "--zone", "z", "--docker", "/run/d.sock", NULL),
		-EINVAL);
	assert_true(strncmp(err, "--docker: \"/run/d.sock\" is not a Docker endpoint", 48) == 0);
	assert_int_equal(popts(&c, err, sizeof(err), "--zone", "z", "--stop-timeout", "601", NULL),
			 -EINVAL);
	assert_string_equal(err, "--stop-timeout: \"601\" is not a number of seconds (0..600)");
	assert_int_equal(popts(&c, err, sizeof(err), "--zone", "z", "--resolver", "127.0.0.1",
			       "--resolver", "127.0.0.2", "--resolver", "127.0.0.3", "--resolver",
			       "127.0.0.4", "--resolver", "127.0.0.5", "--resolver", "127.0.0.6",
			       NULL),
			 0);
	setenv("BERTH_RESOLVER",
	       "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,"
	       "127.0.0.9",
	       1);
	assert_int_equal(popts(&c, err, sizeof(err), "--zone", "z", NULL), -EINVAL);
	assert_string_equal(err,
			    "BERTH_RESOLVER: \"127.0.0.9\" is one resolver too many (at most 8)");
	unsetenv("BERTH_RESOLVER");
	assert_int_equal(popts(&c, err, sizeof(err), "--zone", "z", "--bogus", NULL), -EINVAL);
	assert_string_equal(err, "--bogus: unknown option (see --help)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_table),
		cmocka_unit_test(test_split_error_leaves_out_alone),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_plan_complete),
		cmocka_unit_test(test_plan_incomplete_removes_nothing),
		cmocka_unit_test(test_plan_adopt),
		cmocka_unit_test(test_plan_seed_label),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
