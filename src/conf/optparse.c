/* SPDX-License-Identifier: MIT */
/* The option engine: command line, BERTH_* variables, --help and --version from one table. */
#include "conf/optparse.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

#define WHY_MAX 160
#define ENV_MAX 64
#define WIDTH 80

int optparse_why(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!why || n == 0)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int optparse_number(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
	unsigned long x = 0;

	if (!v || !*v)
		return -EINVAL;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned long d = (unsigned long)(*p - '0');

		if (x > (ULONG_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
		if (x > hi)
			return -EINVAL;
	}
	if (x < lo)
		return -EINVAL;
	*out = x;
	return 0;
}

int optparse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; v && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int optparse_set_str(char **field, const char *v, char *why, size_t n)
{
	char *dup = strdup(v);

	if (!dup)
		return optparse_why(why, n, "could not be stored: out of memory");
	free(*field);
	*field = dup;
	return 0;
}

int optparse_set_log_level(void *conf, const struct optparse_opt *o, const char *v, char *why,
			   size_t n)
{
	int level = log_level_parse(v);

	if (level < 0)
		return optparse_why(why, n, "is not a log level (error, warn, info, debug)");
	*(int *)(void *)((char *)conf + o->off) = level;
	return 0;
}

void optparse_env_name(const struct optparse_opt *o, char *buf, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	i = (size_t)snprintf(buf, len, "BERTH_");
	for (const char *p = o->name; *p && i + 1 < len; p++)
		buf[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[i < len ? i : len - 1] = '\0';
}

/* x into the field of o: size 1 is a bool, else an unsigned integer of that size. */
static int store(void *conf, const struct optparse_opt *o, unsigned long x, char *why, size_t n)
{
	char *p = (char *)conf + o->off;
	uint16_t u16 = (uint16_t)x;
	uint32_t u32 = (uint32_t)x;
	uint64_t u64 = x;

	switch (o->size) {
	case sizeof(bool):
		*(bool *)(void *)p = x != 0;
		return 0;
	case sizeof(u16):
		memcpy(p, &u16, sizeof(u16));
		return 0;
	case sizeof(u32):
		memcpy(p, &u32, sizeof(u32));
		return 0;
	case sizeof(u64):
		memcpy(p, &u64, sizeof(u64));
		return 0;
	}
	return optparse_why(why, n, "cannot be stored (field of %zu bytes)", o->size);
}

static int set_num(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	unsigned long x, scale = o->scale ? o->scale : 1;

	if (optparse_number(v, o->min, o->max, &x) < 0)
		return optparse_why(why, n, "is not %s (%lu..%lu)", o->what ? o->what : "a number",
				    o->min, o->max);
	return store(conf, o, x * scale, why, n);
}

static int set_choice(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	char list[WHY_MAX] = "";
	size_t len = 0;

	for (size_t i = 0; o->choices[i]; i++)
		if (strcmp(v, o->choices[i]) == 0)
			return store(conf, o, i, why, n);
	for (size_t i = 0; o->choices[i] && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
					o->choices[i]);
	return optparse_why(why, n, "is not %s (%s)", o->what ? o->what : "a choice", list);
}

/* Run one value through its option; v is NULL for a flag given bare. src names where the value
 * came from, for the error. */
static int apply(void *conf, const struct optparse_opt *o, const char *v, const char *src,
		 char *err, size_t errlen)
{
	char why[WHY_MAX] = "";
	bool b;
	int ret = -EINVAL;

	switch (o->kind) {
	case OPTPARSE_FLAG:
		if (!v)
			ret = store(conf, o, 1, why, sizeof(why));
		else if (optparse_bool(v, &b) == 0)
			ret = store(conf, o, b, why, sizeof(why));
		else
			optparse_why(why, sizeof(why), "is not true or false");
		break;
	case OPTPARSE_NUM:
		ret = set_num(conf, o, v, why, sizeof(why));
		break;
	case OPTPARSE_CHOICE:
		ret = set_choice(conf, o, v, why, sizeof(why));
		break;
	case OPTPARSE_FUNC:
		ret = o->set(conf, o, v, why, sizeof(why));
		break;
	}
	if (ret == 0)
		return 0;
	if (!why[0])
		snprintf(why, sizeof(why), "is not valid (want %s)", o->arg ? o->arg : "a flag");
	return berth_fail(err, errlen, ret < 0 ? ret : -EINVAL, "%s: \"%.200s\" %s", src,
			  v ? v : "", why);
}

/* Apply BERTH_<NAME> when set and not empty; lists split on commas and spaces. */
static int apply_env(void *conf, const struct optparse_opt *o, char *err, size_t errlen)
{
	char name[ENV_MAX], *copy, *save = NULL;
	const char *v;
	int ret = 0;

	optparse_env_name(o, name, sizeof(name));
	v = getenv(name);
	if (!v || !*v)
		return 0;
	if (!o->repeat)
		return apply(conf, o, v, name, err, errlen);
	copy = strdup(v);
	if (!copy) {
		return berth_fail(err, errlen, -ENOMEM, "%s: out of memory", name);
	}
	for (char *t = strtok_r(copy, ", \t\n", &save); t; t = strtok_r(NULL, ", \t\n", &save)) {
		ret = apply(conf, o, t, name, err, errlen);
		if (ret < 0)
			break;
	}
	free(copy);
	return ret;
}

/* text after indent columns of the current line, wrapped at spaces within WIDTH; later
 * lines start with indent spaces. A word longer than a line stands alone on one. */
static void wrap(FILE *f, const char *text, int indent)
{
	size_t col = (size_t)indent;

	while (*text) {
		size_t word = strcspn(text, " ");

		if (col > (size_t)indent && col + 1 + word > WIDTH) {
			fprintf(f, "\n%*s", indent, "");
			col = (size_t)indent;
		} else if (col > (size_t)indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, word, f);
		col += word;
		text += word;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

void optparse_usage(const struct optparse_cmd *cmd, FILE *f)
{
	char env[ENV_MAX], left[64];

	fprintf(f, "Usage: %s\n%s\n", cmd->usage, cmd->about);
	fprintf(f, "Every option can also be set in the environment variable shown beside it;\n"
		   "the command line wins. Repeatable options take a list there, separated by\n"
		   "commas or spaces; given on the command line, they replace that list.\n"
		   "\n");
	for (size_t i = 0; i < cmd->nopts; i++) {
		const struct optparse_opt *o = &cmd->opts[i];

		optparse_env_name(o, env, sizeof(env));
		if (o->arg)
			snprintf(left, sizeof(left), "--%s %s", o->name, o->arg);
		else
			snprintf(left, sizeof(left), "--%s", o->name);
		fprintf(f, "  %-30s %s%s\n      ", left, env, o->repeat ? " (repeatable)" : "");
		wrap(f, o->help, 6);
		fputs("      default: ", f);
		/* Long defaults carry line breaks: indent what follows them. */
		for (const char *p = o->def ? o->def : "(none)"; *p; p++) {
			fputc(*p, f);
			if (*p == '\n')
				fputs("               ", f);
		}
		fputc('\n', f);
	}
	fprintf(f, "\n  -h, --help    Print this help and exit.\n"
		   "      --version Print the version and exit.\n");
	if (cmd->notes)
		fprintf(f, "\n%s", cmd->notes);
}

static const struct optparse_opt *find(const struct optparse_cmd *cmd, const char *name, size_t len)
{
	for (size_t i = 0; i < cmd->nopts; i++)
		if (strlen(cmd->opts[i].name) == len && strncmp(cmd->opts[i].name, name, len) == 0)
			return &cmd->opts[i];
	return NULL;
}

static bool given(const struct optparse_opt *o, const struct optparse_opt *const *toks,
		  size_t ntoks)
{
	for (size_t i = 0; i < ntoks; i++)
		if (toks[i] == o)
			return true;
	return false;
}

int optparse_parse(const struct optparse_cmd *cmd, void *conf, int argc, char **argv, bool *exited,
		   char *err, size_t errlen)
{
	const struct optparse_opt **opt = NULL;
	const char **val = NULL;
	int ret = -EINVAL;
	size_t ntoks = 0, cap = argc > 0 ? (size_t)argc : 1;
	char src[ENV_MAX];

	*exited = false;
	if (err && errlen)
		err[0] = '\0';
	opt = calloc(cap, sizeof(*opt));
	val = calloc(cap, sizeof(*val));
	if (!opt || !val) {
		ret = berth_fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}

	/* First the command line into (option, value) pairs, so that --help works whatever the
	 * environment holds and the environment is read only for the options the command line
	 * leaves out. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *name;
		const struct optparse_opt *o;
		size_t len;

		if (strcmp(a, "-h") == 0)
			a = "--help";
		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc) {
				berth_fail(err, errlen, -EINVAL,
					   "unexpected argument \"%.200s\" (see --help)",
					   argv[i + 1]);
				goto out;
			}
			break;
		}
		if (strncmp(a, "--", 2) != 0) {
			berth_fail(err, errlen, -EINVAL,
				   "unexpected argument \"%.200s\" (see --help)", a);
			goto out;
		}
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if ((len == 4 && !strncmp(name, "help", 4)) ||
		    (len == 7 && !strncmp(name, "version", 7))) {
			if (eq) {
				berth_fail(err, errlen, -EINVAL, "--%.*s: takes no value", (int)len,
					   name);
				goto out;
			}
			if (len == 4)
				optparse_usage(cmd, stdout);
			else
				printf("berth %s\n", BERTH_VERSION);
			fflush(stdout);
			*exited = true;
			ret = 0;
			goto out;
		}
		o = find(cmd, name, len);
		if (!o) {
			berth_fail(err, errlen, -EINVAL, "--%.*s: unknown option (see --help)",
				   (int)(len > 100 ? 100 : len), name);
			goto out;
		}
		if (eq) {
			val[ntoks] = eq + 1;
		} else if (o->kind == OPTPARSE_FLAG) {
			val[ntoks] = NULL;
		} else if (i + 1 < argc) {
			val[ntoks] = argv[++i];
		} else {
			berth_fail(err, errlen, -EINVAL, "--%s: needs a value (%s)", o->name,
				   o->arg ? o->arg : "a value");
			goto out;
		}
		opt[ntoks++] = o;
	}

	for (size_t i = 0; i < cmd->nopts; i++)
		if (!given(&cmd->opts[i], opt, ntoks) &&
		    (ret = apply_env(conf, &cmd->opts[i], err, errlen)) < 0)
			goto out;
	for (size_t i = 0; i < ntoks; i++) {
		snprintf(src, sizeof(src), "--%s", opt[i]->name);
		if ((ret = apply(conf, opt[i], val[i], src, err, errlen)) < 0)
			goto out;
	}
	ret = 0;
out:
	free(val);
	free(opt);
	return ret;
}
