/* SPDX-License-Identifier: MIT */
/* One HAProxy driven through its Runtime API (a stats socket at level admin), on the control
 * loop: one connection per command, as the API is meant to be used by programs. When it
 * connects (at start, and after HAProxy restarted) it reads what HAProxy holds (its maps, its
 * servers, berth's backend slots), then sends what differs from the wanted state, in order;
 * later changes go out as they come. A command that fails, or an answer that is not
 * understood, is reported and everything is read and reconciled again after a backoff:
 * nothing is dropped silently. Entries berth did not add are left alone. */
#pragma once
#include <stdbool.h>

#include <jansson.h>

#include "routing/wanted.h"

struct event_base;
struct hap;

/* addr: a unix socket path ("/run/haproxy/berth.sock") or "host:port" (TCP). on_change (may be
 * NULL) runs when the proxy's slots become known or its state changes. */
int hap_new(struct event_base *base, const char *addr, void (*on_change)(void *arg), void *arg,
	    struct hap **out, char *err, size_t errlen);
void hap_free(struct hap *h);

/* What the proxy must hold from now on (copied). 0 or -ENOMEM. */
int hap_want(struct hap *h, const struct proxy_state *want);
/* The backend slots the proxy has (0 until it was read). */
void hap_slots(const struct hap *h, unsigned *http, unsigned *tls);
bool hap_synced(const struct hap *h); /* it holds what is wanted */

/* {"name": addr, "kind": "haproxy", "state": "ok"|"starting"|"degraded"|"down",
 *  "required": false, "error", "routes": n, "servers": n, "counters": {"commands", "failures",
 *  "reconnects"}} */
json_t *hap_status(const struct hap *h);
