/* SPDX-License-Identifier: MIT */
/* One error convention: 0 is success, negative errno-style codes, and berth's own below -1000. */
#pragma once
#include <errno.h>

enum berth_err {
	BERTH_EOK = 0,
	BERTH_ERROR = -1000, /* generic failure */
	BERTH_EPARSE = -1001, /* input could not be parsed */
	BERTH_ETOOLONG = -1002, /* a name or value exceeds its limit */
};

/* Message for a berth or errno-style negative code. */
const char *berth_strerror(int err);
