/* SPDX-License-Identifier: MIT */
/* sd_notify from libsystemd: READY=1, RELOADING=1, STOPPING=1. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "server/notify.h"
#include "util/log.h"

static void send_state(const char *state)
{
	/* 0: not under a service manager; nothing to say. */
	int ret = sd_notify(0, state);
	if (ret < 0)
		log_warn("serve", "cannot tell the service manager \"%s\": %s", state,
			 strerror(-ret));
}

void notify_ready(const char *status)
{
	char msg[300];
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status != NULL ? status : "running");
	send_state(msg);
}

void notify_reloading(void)
{
	/* MONOTONIC_USEC lets a newer systemd (Type=notify-reload) match it to the request. */
	struct timespec ts;
	char msg[80];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
			 (unsigned long long)ts.tv_nsec / 1000);
	send_state(msg);
}

void notify_stopping(void)
{
	send_state("STOPPING=1");
}
