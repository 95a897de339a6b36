/* SPDX-License-Identifier: MIT */
/* One error convention: 0 is success, negative errno-style codes, and berth's own below -1000. */
#pragma once
#include <errno.h>
#include <stddef.h>

/* The convention, for every function that can fail:
 * - it returns int: 0 on success, or a negative code: -errno (-ENOMEM, -EINVAL, ...) or one
 *   of berth's own below (BERTH_E*); berth_strerror() gives the text of either;
 * - results come back through out-parameters (struct x **out, bool *exited, int *status),
 *   set only on success unless the header says otherwise; a constructor is
 *   int x_new(..., struct x **out[, char *err, size_t errlen]);
 * - a function that also gives a message takes `char *err, size_t errlen` last, and
 *   writes it (with berth_fail) whenever it returns a negative code; err may be NULL;
 * - positive returns are never errors: where one was a third state ("ignored", "help
 *   printed"), it is a bool out-parameter instead.
 * Exceptions are named where they are declared: counts (>= 0 or negative), and
 * functions that cannot fail (void, bool predicates, lookups returning NULL for "none"). */
enum berth_err {
	BERTH_EOK = 0,
	BERTH_ERROR = -1000,    /* generic failure */
	BERTH_EPARSE = -1001,   /* input could not be parsed */
	BERTH_ETOOLONG = -1002, /* a name or value exceeds its limit */
};

/* Message for a berth or errno-style negative code (static text, thread-safe). */
const char *berth_strerror(int err);

/* Write the printf-style message into err (when err != NULL and errlen > 0; always
 * NUL-terminated, cut to fit) and return code: `return berth_fail(err, errlen, -EINVAL,
 * "bad %s", x);`. */
int berth_fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
