/* SPDX-License-Identifier: MIT */
/* The host's own address, found from the interface of the default route. */
#pragma once
#include <stddef.h>

/* Write the IPv4 address of the default route's interface into buf (e.g.
 * "192.168.1.10"); falls back to the first non-loopback IPv4 address. 0 or
 * -ENOENT when the host has none. route_path is normally "/proc/net/route". */
int hostip_detect(const char *route_path, char *buf, size_t len);
