/* SPDX-License-Identifier: MIT */
/* Tell the service manager (systemd's Type=notify, through $NOTIFY_SOCKET) how
 * berth is doing. Without $NOTIFY_SOCKET every call does nothing. */
#pragma once

/* Every listen socket is bound and answering: READY=1, with a STATUS= line. */
void notify_ready(const char *status);
/* SIGHUP: RELOADING=1 (notify_ready follows once the reload was started). */
void notify_reloading(void);
/* SIGTERM/SIGINT: STOPPING=1. */
void notify_stopping(void);
