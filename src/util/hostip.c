/* SPDX-License-Identifier: MIT */
/* Detecting the host's address from the default route, as joyride's HOSTIP does. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/hostip.h"

/* The interface of the default route in /proc/net/route format, or "". */
static void default_iface(const char *route_path, char *iface, size_t len)
{
	iface[0] = '\0';
	FILE *f = fopen(route_path, "r");
	if (f == NULL)
		return;
	char line[256], name[IF_NAMESIZE + 1];
	unsigned dest, flags;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* Iface Destination Gateway Flags ...: destination 0 and RTF_UP */
		if (sscanf(line, "%16s %x %*x %x", name, &dest, &flags) == 3 && dest == 0 &&
		    (flags & 1)) {
			snprintf(iface, len, "%s", name);
			break;
		}
	}
	fclose(f);
}

int hostip_detect(const char *route_path, char *buf, size_t len)
{
	char iface[IF_NAMESIZE + 1];
	default_iface(route_path, iface, sizeof(iface));
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) != 0)
		return -errno;
	int ret = -ENOENT;
	/* First pass: the default route's interface; second: any non-loopback. */
	for (int pass = 0; pass < 2 && ret != 0; pass++) {
		for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
			if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			if (pass == 0 && strcmp(i->ifa_name, iface) != 0)
				continue;
			const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;
			if (inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len) != NULL) {
				ret = 0;
				break;
			}
		}
	}
	freeifaddrs(ifs);
	return ret;
}
