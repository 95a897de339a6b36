/* SPDX-License-Identifier: MIT */
/* Unit tests of the option engine on a table of its own: repeatable options, the environment
 * against the command line, unknown options, missing values, numbers, flags, choices, --help. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/optparse.h"
#include "util/log.h"
#include "util/strv.h"

#define MAXARGS 32

struct toy {
	bool flag;
	unsigned num;
	uint16_t port;
	uint32_t ms;
	int big;
	bool json;
	int mode;
	int level;
	struct strv items;
	char *name;
};

/* Items are pushed in the order they arrive, so a test sees what was applied when. */
static int set_item(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct toy *t = conf;

	if (!*v)
		return optparse_why(why, n, "is not an item");
	if (strv_push(&t->items, v) < 0)
		return optparse_why(why, n, "could not be stored: out of memory");
	return 0;
}

/* "bad" is refused with a reason, "mute" without one. */
static int set_name(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct toy *t = conf;

	if (strcmp(v, "bad") == 0)
		return optparse_why(why, n, "is a bad name");
	if (strcmp(v, "mute") == 0)
		return -EINVAL;
	return optparse_set_str(&t->name, v, why, n);
}

static const char *const formats[] = { "text", "json", NULL };
static const char *const modes[] = { "a", "b", "c", NULL };

#define AT(field) OPTPARSE_AT(struct toy, field)

static const struct optparse_opt opts[] = {
	{ .name = "toy-flag", .def = "off", .help = "A flag.", .kind = OPTPARSE_FLAG, AT(flag) },
	{ .name = "toy-num",
	  .arg = "N",
	  .def = "0",
	  .help = "A number.",
	  .kind = OPTPARSE_NUM,
	  AT(num),
	  .min = 1,
	  .max = 100,
	  .what = "a number of things" },
	{ .name = "toy-port",
	  .arg = "PORT",
	  .help = "Sixteen bits.",
	  .kind = OPTPARSE_NUM,
	  AT(port),
	  .max = 65535,
	  .what = "a port" },
	{ .name = "toy-secs",
	  .arg = "SECONDS",
	  .help = "Stored in milliseconds.",
	  .kind = OPTPARSE_NUM,
	  AT(ms),
	  .min = 1,
	  .max = 86400,
	  .scale = 1000,
	  .what = "a number of seconds" },
	{ .name = "toy-big",
	  .arg = "N",
	  .help = "An int field.",
	  .kind = OPTPARSE_NUM,
	  AT(big),
	  .max = INT_MAX,
	  .what = "a big number" },
	{ .name = "toy-format",
	  .arg = "text|json",
	  .help = "A choice into a bool.",
	  .kind = OPTPARSE_CHOICE,
	  AT(json),
	  .what = "a format",
	  .choices = formats },
	{ .name = "toy-mode",
	  .arg = "a|b|c",
	  .help = "A choice into an int.",
	  .kind = OPTPARSE_CHOICE,
	  AT(mode),
	  .what = "a mode",
	  .choices = modes },
	{ .name = "toy-level",
	  .arg = "LEVEL",
	  .help = "A log level.",
	  .kind = OPTPARSE_FUNC,
	  AT(level),
	  .set = optparse_set_log_level },
	{ .name = "toy-item",
	  .arg = "ITEM",
	  .def = "(none)",
	  .help = "Repeatable. This help is long enough that --help has to wrap it over more "
		  "than one line, and a word longer than a line, "
		  "averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword, "
		  "stands alone.",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_item },
	{ .name = "toy-name",
	  .arg = "NAME",
	  .help = "A string.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_name },
};

static const struct optparse_cmd cmd = {
	.usage = "berth toy [OPTION]...",
	.about = "A table for the tests.\n",
	.notes = "Notes after the options.\n",
	.opts = opts,
	.nopts = sizeof(opts) / sizeof(opts[0]),
};

static void toy_clear(struct toy *t)
{
	strv_clear(&t->items);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

static int clean_env(void **state)
{
	char name[64];

	for (size_t i = 0; i < cmd.nopts; i++) {
		optparse_env_name(&opts[i], name, sizeof(name));
		unsetenv(name);
	}
	return 0;
}

/* What optparse_parse's 0-or-negative return and its *exited say together. */
enum outcome { PARSED, EXITED, FAILED };

static enum outcome parse_v(struct toy *t, char *err, size_t errlen, va_list ap)
{
	char *argv[MAXARGS];
	int argc = 0;
	const char *a;

	memset(t, 0, sizeof(*t));
	argv[argc++] = (char *)"toy";
	while ((a = va_arg(ap, const char *)) && argc < MAXARGS - 1)
		argv[argc++] = (char *)a;
	argv[argc] = NULL;
	bool exited = true;
	int ret = optparse_parse(&cmd, t, argc, argv, &exited, err, errlen);
	if (ret < 0) {
		assert_true(ret == -EINVAL || ret == -ENOMEM);
		return FAILED;
	}
	assert_int_equal(ret, 0);
	return exited ? EXITED : PARSED;
}

/* Parse a NULL-terminated argument list, expecting success; the caller clears t. */
static void ok(struct toy *t, ...)
{
	char err[256] = "";
	enum outcome r;
	va_list ap;

	va_start(ap, t);
	r = parse_v(t, err, sizeof(err), ap);
	va_end(ap);
	if (r != PARSED)
		fail_msg("parse failed: %d '%s'", r, err);
}

/* Parse, expecting FAILED with exactly the message want. */
static void fails(const char *want, ...)
{
	struct toy t;
	char err[256] = "";
	enum outcome r;
	va_list ap;

	va_start(ap, want);
	r = parse_v(&t, err, sizeof(err), ap);
	va_end(ap);
	toy_clear(&t);
	if (r != FAILED || strcmp(err, want) != 0)
		fail_msg("want error '%s', got %d '%s'", want, r, err);
}

static void test_repeatable(void **state)
{
	struct toy t;

	ok(&t, "--toy-item", "a", "--toy-item=b", "--toy-item", "a", NULL);
	assert_int_equal(t.items.n, 3);
	assert_string_equal(t.items.v[0], "a");
	assert_string_equal(t.items.v[1], "b");
	assert_string_equal(t.items.v[2], "a");
	toy_clear(&t);

	/* In the environment: a list split on commas and blanks, empty parts dropped. */
	setenv("BERTH_TOY_ITEM", " x, y,,z\tw ", 1);
	ok(&t, NULL);
	assert_int_equal(t.items.n, 4);
	assert_string_equal(t.items.v[0], "x");
	assert_string_equal(t.items.v[3], "w");
	toy_clear(&t);

	/* Given on the command line, the option replaces the environment's list. */
	ok(&t, "--toy-item", "c", NULL);
	assert_int_equal(t.items.n, 1);
	assert_string_equal(t.items.v[0], "c");
	toy_clear(&t);

	/* A bad value on the command line is refused though the environment is fine. */
	setenv("BERTH_TOY_ITEM", "x", 1);
	fails("--toy-item: \"\" is not an item", "--toy-item=", NULL);
	unsetenv("BERTH_TOY_ITEM");

	/* A non-repeatable option given twice: the last wins. */
	ok(&t, "--toy-num", "3", "--toy-num=4", "--toy-name", "a", "--toy-name", "b", NULL);
	assert_int_equal(t.num, 4);
	assert_string_equal(t.name, "b");
	toy_clear(&t);
}

static void test_env_and_flags(void **state)
{
	struct toy t;

	setenv("BERTH_TOY_NUM", "5", 1);
	setenv("BERTH_TOY_NAME", "from-env", 1);
	ok(&t, NULL);
	assert_int_equal(t.num, 5);
	assert_string_equal(t.name, "from-env");
	toy_clear(&t);

	/* The command line wins, and options it leaves out still come from the environment. */
	ok(&t, "--toy-num", "7", NULL);
	assert_int_equal(t.num, 7);
	assert_string_equal(t.name, "from-env");
	toy_clear(&t);

	/* A bad variable is an error naming it, unless the command line gives the option. */
	setenv("BERTH_TOY_NUM", "junk", 1);
	fails("BERTH_TOY_NUM: \"junk\" is not a number of things (1..100)", NULL);
	ok(&t, "--toy-num", "8", NULL);
	assert_int_equal(t.num, 8);
	toy_clear(&t);

	/* An empty variable counts as unset. */
	setenv("BERTH_TOY_NUM", "", 1);
	ok(&t, NULL);
	assert_int_equal(t.num, 0);
	toy_clear(&t);
	unsetenv("BERTH_TOY_NUM");
	unsetenv("BERTH_TOY_NAME");

	/* Flags: bare is true; with a value, or in the environment, a boolean word. */
	ok(&t, "--toy-flag", NULL);
	assert_true(t.flag);
	toy_clear(&t);
	setenv("BERTH_TOY_FLAG", "YES", 1);
	ok(&t, NULL);
	assert_true(t.flag);
	toy_clear(&t);
	ok(&t, "--toy-flag=off", NULL);
	assert_false(t.flag);
	toy_clear(&t);
	setenv("BERTH_TOY_FLAG", "maybe", 1);
	fails("BERTH_TOY_FLAG: \"maybe\" is not true or false", NULL);
	unsetenv("BERTH_TOY_FLAG");
	fails("--toy-flag: \"2\" is not true or false", "--toy-flag=2", NULL);
	/* A flag never takes the next argument as its value. */
	fails("unexpected argument \"true\" (see --help)", "--toy-flag", "true", NULL);
}

static void test_unknown_and_stray(void **state)
{
	struct toy t;

	fails("--nope: unknown option (see --help)", "--nope", NULL);
	fails("--nope: unknown option (see --help)", "--nope=1", NULL);
	/* No abbreviations. */
	fails("--toy: unknown option (see --help)", "--toy", NULL);
	fails("--toy-nu: unknown option (see --help)", "--toy-nu", "1", NULL);
	fails("unexpected argument \"stray\" (see --help)", "stray", NULL);
	fails("unexpected argument \"-x\" (see --help)", "-x", NULL);
	fails("unexpected argument \"after\" (see --help)", "--", "after", NULL);
	/* An unknown option fails even when the environment is fine, and before it is read. */
	setenv("BERTH_TOY_NUM", "junk", 1);
	fails("--nope: unknown option (see --help)", "--nope", NULL);
	unsetenv("BERTH_TOY_NUM");
	/* "--" alone ends the options. */
	ok(&t, "--toy-num", "2", "--", NULL);
	assert_int_equal(t.num, 2);
	toy_clear(&t);
}

static void test_missing_value(void **state)
{
	fails("--toy-num: needs a value (N)", "--toy-num", NULL);
	fails("--toy-name: needs a value (NAME)", "--toy-flag", "--toy-name", NULL);
	/* The next argument is the value, whatever it looks like. */
	fails("--toy-num: \"--toy-flag\" is not a number of things (1..100)", "--toy-num",
	      "--toy-flag", NULL);
}

static void test_numbers(void **state)
{
	static const char *const bad[] = {
		"",    "abc", "-1",   "+1",  " 1", "1 ", "0",
		"101", "1e2", "0x10", "1.0", "a",  "1:", "99999999999999999999999999"
	};
	char want[128];
	struct toy t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "--toy-num: \"%s\" is not a number of things (1..100)",
			 bad[i]);
		fails(want, "--toy-num", bad[i], NULL);
	}
	ok(&t, "--toy-num", "1", "--toy-port", "65535", "--toy-secs", "3", "--toy-big",
	   "2147483647", NULL);
	assert_int_equal(t.num, 1);
	assert_int_equal(t.port, 65535);
	assert_int_equal(t.ms, 3000);
	assert_int_equal(t.big, INT_MAX);
	toy_clear(&t);
	ok(&t, "--toy-num", "100", "--toy-port", "0", "--toy-num", "007", NULL);
	assert_int_equal(t.num, 7);
	assert_int_equal(t.port, 0);
	toy_clear(&t);
	fails("--toy-port: \"65536\" is not a port (0..65535)", "--toy-port", "65536", NULL);
	fails("--toy-secs: \"86401\" is not a number of seconds (1..86400)", "--toy-secs", "86401",
	      NULL);
	fails("--toy-big: \"2147483648\" is not a big number (0..2147483647)", "--toy-big",
	      "2147483648", NULL);
}

static void test_choices_and_setters(void **state)
{
	struct toy t;

	ok(&t, "--toy-format", "json", "--toy-mode", "c", "--toy-level", "DEBUG", NULL);
	assert_true(t.json);
	assert_int_equal(t.mode, 2);
	assert_int_equal(t.level, LOG_DEBUG);
	toy_clear(&t);
	ok(&t, "--toy-format=text", "--toy-mode=a", NULL);
	assert_false(t.json);
	assert_int_equal(t.mode, 0);
	toy_clear(&t);
	fails("--toy-mode: \"d\" is not a mode (a, b, c)", "--toy-mode", "d", NULL);
	/* Choices are spelled exactly. */
	fails("--toy-format: \"JSON\" is not a format (text, json)", "--toy-format", "JSON", NULL);
	fails("--toy-level: \"loud\" is not a log level (error, warn, info, debug)", "--toy-level",
	      "loud", NULL);
	fails("--toy-name: \"bad\" is a bad name", "--toy-name", "bad", NULL);
	fails("--toy-name: \"mute\" is not valid (want NAME)", "--toy-name", "mute", NULL);
	/* Long values are cut in the message, which always fits err. */
	char longv[400], err[64];
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	char *argv[] = { (char *)"toy", (char *)"--toy-num", longv, NULL };
	memset(&t, 0, sizeof(t));
	bool exited;
	assert_int_equal(optparse_parse(&cmd, &t, 3, argv, &exited, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(strncmp(err, "--toy-num: \"xxx", 15), 0);
	/* And err may be absent. */
	assert_int_equal(optparse_parse(&cmd, &t, 3, argv, &exited, NULL, 0), -EINVAL);
	toy_clear(&t);
}

/* Parse argv with stdout sent to a file; *out gets what was printed. */
static enum outcome captured(char **out, ...)
{
	char path[] = "/tmp/berth-optparse-XXXXXX", err[256];
	struct toy t;
	enum outcome r;
	int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
	va_list ap;
	FILE *f;
	long len;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	va_start(ap, out);
	r = parse_v(&t, err, sizeof(err), ap);
	va_end(ap);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	toy_clear(&t);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*out = calloc(1, (size_t)len + 1);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return r;
}

static void test_help_version(void **state)
{
	char *mem = NULL, *text;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	assert_non_null(f);
	optparse_usage(&cmd, f);
	fclose(f);
	assert_true(strncmp(mem, "Usage: berth toy [OPTION]...\nA table for the tests.\n\n", 52) ==
		    0);
	assert_non_null(strstr(mem, "  --toy-num N                    BERTH_TOY_NUM\n"
				    "      A number.\n"
				    "      default: 0\n"));
	assert_non_null(strstr(mem, "  --toy-flag                     BERTH_TOY_FLAG\n"));
	assert_non_null(strstr(mem, "BERTH_TOY_ITEM (repeatable)\n"));
	/* No default given: (none). */
	assert_non_null(strstr(mem, "      A string.\n      default: (none)\n"));
	assert_non_null(strstr(mem, "\n  -h, --help    Print this help and exit.\n"
				    "      --version Print the version and exit.\n"
				    "\nNotes after the options.\n"));
	/* Long help is wrapped within 80 columns; only an overlong word may pass them. */
	assert_non_null(strstr(mem, "\n      averyvery"));
	for (char *line = mem, *nl; (nl = strchr(line, '\n')); line = nl + 1)
		if (nl - line > 80 && !strstr(line, "averyvery"))
			fail_msg("--help line too long: %.*s", (int)(nl - line), line);

	/* --help and -h print it and say exit; --help wins over a bad environment and over
	 * what follows it, not over what comes before it. */
	setenv("BERTH_TOY_NUM", "junk", 1);
	assert_int_equal(captured(&text, "--toy-num", "5", "--help", "--nope", NULL), EXITED);
	assert_string_equal(text, mem);
	free(text);
	assert_int_equal(captured(&text, "-h", NULL), EXITED);
	assert_string_equal(text, mem);
	free(text);
	assert_int_equal(captured(&text, "--nope", "--help", NULL), FAILED);
	assert_string_equal(text, "");
	free(text);
	unsetenv("BERTH_TOY_NUM");
	free(mem);

	assert_int_equal(captured(&text, "--version", NULL), EXITED);
	assert_string_equal(text, "berth " BERTH_VERSION "\n");
	free(text);
	fails("--help: takes no value", "--help=yes", NULL);
	fails("--version: takes no value", "--version=1", NULL);
}

static void test_helpers(void **state)
{
	struct optparse_opt o = { .name = "a-long-name" };
	unsigned long x = 42;
	char buf[64];
	bool b = false;

	optparse_env_name(&o, buf, sizeof(buf));
	assert_string_equal(buf, "BERTH_A_LONG_NAME");
	optparse_env_name(&o, buf, 10);
	assert_string_equal(buf, "BERTH_A_L");
	optparse_env_name(&o, buf, 3);
	assert_string_equal(buf, "BE");

	assert_int_equal(optparse_number("0", 0, 0, &x), 0);
	assert_int_equal(x, 0);
	/* No wrap-around, whatever the upper bound. */
	snprintf(buf, sizeof(buf), "%lu", ULONG_MAX);
	assert_int_equal(optparse_number(buf, 0, ULONG_MAX, &x), 0);
	assert_true(x == ULONG_MAX);
	strcat(buf, "0");
	assert_int_equal(optparse_number(buf, 0, ULONG_MAX / 10, &x), -EINVAL);
	assert_int_equal(optparse_number(buf, 0, ULONG_MAX, &x), -EINVAL);
	/* ULONG_MAX + 1 wraps to 0 in a naive loop. */
	assert_int_equal(optparse_number("18446744073709551616", 0, ULONG_MAX / 10, &x), -EINVAL);
	assert_int_equal(optparse_number(NULL, 0, 1, &x), -EINVAL);
	assert_int_equal(optparse_bool("On", &b), 0);
	assert_true(b);
	assert_int_equal(optparse_bool("0", &b), 0);
	assert_false(b);
	assert_int_equal(optparse_bool("", &b), -EINVAL);
	assert_int_equal(optparse_bool(NULL, &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_repeatable, clean_env),
		cmocka_unit_test_setup(test_env_and_flags, clean_env),
		cmocka_unit_test_setup(test_unknown_and_stray, clean_env),
		cmocka_unit_test_setup(test_missing_value, clean_env),
		cmocka_unit_test_setup(test_numbers, clean_env),
		cmocka_unit_test_setup(test_choices_and_setters, clean_env),
		cmocka_unit_test_setup(test_help_version, clean_env),
		cmocka_unit_test_setup(test_helpers, clean_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
