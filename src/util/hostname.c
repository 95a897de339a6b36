/* SPDX-License-Identifier: MIT */
/* Checking host names from hosts files and the manual-records API. */
#include "util/hostname.h"

bool hostname_labels_ok(const char *s, size_t len)
{
	size_t label = 0;
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}
