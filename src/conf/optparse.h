/* SPDX-License-Identifier: MIT */
/* The option engine of every subcommand: a table of options drives the command line, the
 * BERTH_* environment variables, --help, --version and the error messages. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct optparse_opt;

/* Store v into conf for o. 0, or a negative code (-EINVAL, -ENOMEM) with the reason in why, worded to follow the value:
 * `--ttl: "abc" <why>`, e.g. "is not a number of seconds (0..10)". */
typedef int (*optparse_setter)(void *conf, const struct optparse_opt *o, const char *v, char *why,
			       size_t n);

enum optparse_kind {
	/* No argument: the bool at off becomes true. --name=BOOL and BERTH_NAME=BOOL take
	 * true/false, 1/0, yes/no, on/off (any case). */
	OPTPARSE_FLAG,
	/* Decimal digits only, min..max, times scale (0 = 1), stored at off in an unsigned
	 * field of size bytes (1, 2, 4 or 8; an int field of 4 bytes holds 0..INT_MAX too).
	 * The error says "is not <what> (min..max)". */
	OPTPARSE_NUM,
	/* One of the NULL-terminated choices; its index is stored as a NUM is. The error
	 * says "is not <what> (a, b, ...)". */
	OPTPARSE_CHOICE,
	/* The setter does it all. */
	OPTPARSE_FUNC,
};

struct optparse_opt {
	const char
		*name; /* long name without the dashes; the variable is BERTH_<NAME>, '-' as '_' */
	const char *arg;  /* metavariable for --help and errors; NULL for a flag */
	const char *def;  /* default as --help shows it; '\n' breaks the line */
	const char *help; /* one sentence; --help wraps it */
	enum optparse_kind kind;
	bool repeat;      /* repeatable: a list; in the environment split on commas and spaces */
	size_t off, size; /* FLAG, NUM, CHOICE: where the value goes (OPTPARSE_AT) */
	unsigned long min, max, scale; /* NUM */
	const char *what;              /* NUM, CHOICE: "a number of seconds", "a log format" */
	const char *const *choices;    /* CHOICE */
	optparse_setter set;           /* FUNC */
};

/* off and size of a field, for a table entry: OPTPARSE_AT(struct x, ttl). */
#define OPTPARSE_AT(type, field) .off = offsetof(type, field), .size = sizeof(((type *)0)->field)

struct optparse_cmd {
	const char *usage; /* "berth provision --zone ZONE [OPTION]...", after "Usage: " */
	const char *about; /* lines under the usage line, each ending in '\n' */
	const char *notes; /* printed after the options, or NULL */
	const struct optparse_opt *opts;
	size_t nopts;
};

/* Apply argv (argv[0] is the subcommand or program name) and the BERTH_* variables to conf,
 * which the caller has filled with defaults. The command line is read first, so --help and
 * --version (-h too) work whatever the environment holds; a variable is read only for an
 * option the command line leaves out, so the command line wins, and a repeatable option given
 * there replaces the environment's list. Variables are applied in table order, then the
 * command line in its order. An empty variable counts as unset.
 * 0 with *exited false: run. 0 with *exited true: --help or --version was printed on stdout,
 * nothing else was applied, exit 0. A negative code (-EINVAL bad usage, -ENOMEM) with the
 * message in err naming the option or variable: exit 2; conf may hold part of the values,
 * and the caller clears it. */
int optparse_parse(const struct optparse_cmd *cmd, void *conf, int argc, char **argv, bool *exited,
		   char *err, size_t errlen);

/* Print the --help text of cmd to f: usage, about, the options with their variables and
 * defaults, --help and --version, the notes. Lines stay within 80 columns. */
void optparse_usage(const struct optparse_cmd *cmd, FILE *f);

/* BERTH_ and o's name upper-cased, '-' as '_', into buf. */
void optparse_env_name(const struct optparse_opt *o, char *buf, size_t len);

/* Helpers for setters. */

/* Format the reason into why and return -EINVAL. */
int optparse_why(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Decimal digits only, within lo..hi: 0 and *out, or -EINVAL. */
int optparse_number(const char *v, unsigned long lo, unsigned long hi, unsigned long *out);
/* true/false, 1/0, yes/no, on/off in any case: 0 and *out, or -EINVAL. */
int optparse_bool(const char *v, bool *out);
/* Replace the string *field with a copy of v. */
int optparse_set_str(char **field, const char *v, char *why, size_t n);
/* A setter for --log-level: error, warn, info or debug into the int at o->off. */
int optparse_set_log_level(void *conf, const struct optparse_opt *o, const char *v, char *why,
			   size_t n);
