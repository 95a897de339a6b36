/* SPDX-License-Identifier: MIT */
/* One line of the engine's event stream (GET /events) reduced to what the Docker source does
 * about it; pure, so it is unit-tested and fuzzed without an engine. */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum docker_event_kind {
	DOCKER_EVENT_IGNORE = 0, /* not ours (exec_*, kill, volume, image, ...) */
	DOCKER_EVENT_CHANGED,    /* look at the container again: start, pause, health_status,
	                            rename, ... */
	DOCKER_EVENT_NETWORK,    /* network connect/disconnect: its addresses changed */
	DOCKER_EVENT_CREATED,    /* created, not started: matters only with --all */
	DOCKER_EVENT_STOPPED,    /* die/stop: no longer running */
	DOCKER_EVENT_GONE,       /* destroy (Docker) / remove (Podman): forget it */
};

struct docker_event {
	enum docker_event_kind kind;
	char id[65];     /* the container's ID (lowercase hex), "" when kind is IGNORE */
	int64_t time_ns; /* engine clock, Unix nanoseconds; 0 when the event had no time */
};

/* Parse one line (a JSON object, no '\n'). 0 with ev filled (kind may be IGNORE), or
 * BERTH_EPARSE when the line is not a JSON object, or names no usable type, action or
 * container ID for an event we would act on (ev->time_ns is still set when the line had
 * one). Never reads past len; line need not be NUL-terminated. */
int docker_event_parse(const char *line, size_t len, struct docker_event *ev);
