/* SPDX-License-Identifier: MIT */
/* Messages for berth's error codes and negative errno values. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

const char *berth_strerror(int err)
{
	const char *s;

	switch (err) {
	case BERTH_EOK:
		return "success";
	case BERTH_ERROR:
		return "failure";
	case BERTH_EPARSE:
		return "input could not be parsed";
	case BERTH_ETOOLONG:
		return "name or value too long";
	default:
		break;
	}
	/* strerrordesc_np returns static text, so this is thread-safe, unlike
	 * strerror for unknown codes. */
	s = strerrordesc_np(err < 0 ? -err : err);
	return s ? s : "unknown error";
}

int berth_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return code;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}
