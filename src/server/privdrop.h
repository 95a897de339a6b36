/* SPDX-License-Identifier: MIT */
/* `berth serve --user NAME`: bind every socket as root, then run as NAME. */
#pragma once
#include <stddef.h>

#include "conf/options.h"

/* With --user (a no-op without): bind every listen socket (one UDP socket per
 * worker and one TCP socket per --listen address) and the HTTP one, then set
 * the groups (the user's own and --group or the Docker socket's), the user,
 * and keep no capability (CAP_NET_BIND_SERVICE with --keep-net-bind-service).
 * Call it before any thread starts: credentials and capabilities set here are
 * what every later thread inherits. 0, or a negative code with err. */
int privdrop_start(const struct serve_conf *c, char *err, size_t errlen);

/* A socket that privdrop_start bound for this address and type (SOCK_DGRAM,
 * SOCK_STREAM), handed out once; -1 when there is none. */
int privdrop_take_socket(const struct addr *a, int type);

/* Close the sockets never taken. */
void privdrop_clear(void);
