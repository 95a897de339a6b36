/* SPDX-License-Identifier: MIT */
/* Event stream lines -> what to do: Docker's actions and Podman's compatible ones. */
#include "sources/docker/events.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "util/err.h"

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* "health_status: healthy" is the action "health_status". */
static bool action_is(const char *action, size_t alen, const char *name)
{
	return alen == strlen(name) && strncmp(action, name, alen) == 0;
}

static enum docker_event_kind container_kind(const char *a, size_t n)
{
	static const char *const changed[] = { "start", "restart", "unpause", "pause", "rename",
					       "update", "health_status",
					       /* Podman: after an exit, sometimes with no die */
					       "cleanup" };
	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++)
		if (action_is(a, n, changed[i]))
			return DOCKER_EVENT_CHANGED;
	if (action_is(a, n, "create"))
		return DOCKER_EVENT_CREATED;
	/* kill is a signal, not an end: die follows if the container ends. */
	if (action_is(a, n, "die") || action_is(a, n, "died") || action_is(a, n, "stop"))
		return DOCKER_EVENT_STOPPED;
	if (action_is(a, n, "destroy") || action_is(a, n, "remove"))
		return DOCKER_EVENT_GONE;
	return DOCKER_EVENT_IGNORE;
}

int docker_event_parse(const char *line, size_t len, struct docker_event *ev)
{
	json_t *root = json_loadb(line, len, 0, NULL);
	const char *type, *action, *id = NULL;
	int rc = BERTH_EPARSE;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(root))
		goto out;
	json_t *tn = json_object_get(root, "timeNano");
	json_t *ts = json_object_get(root, "time");
	if (json_is_integer(tn) && json_integer_value(tn) > 0)
		ev->time_ns = json_integer_value(tn);
	else if (json_is_integer(ts) && json_integer_value(ts) > 0 &&
		 json_integer_value(ts) < INT64_MAX / 1000000000)
		ev->time_ns = json_integer_value(ts) * 1000000000;

	type = json_string_value(json_object_get(root, "Type"));
	action = json_string_value(json_object_get(root, "Action"));
	json_t *actor = json_object_get(root, "Actor");
	json_t *attrs = json_object_get(actor, "Attributes");
	if (type == NULL || action == NULL)
		goto out;
	size_t alen = strcspn(action, ":");
	enum docker_event_kind kind = DOCKER_EVENT_IGNORE;
	if (strcmp(type, "container") == 0) {
		kind = container_kind(action, alen);
		id = json_string_value(json_object_get(actor, "ID"));
	} else if (strcmp(type, "network") == 0 &&
		   (action_is(action, alen, "connect") || action_is(action, alen, "disconnect"))) {
		kind = DOCKER_EVENT_NETWORK;
		/* Docker names the container in the attributes; Podman makes it the actor. */
		id = json_string_value(json_object_get(attrs, "container"));
		if (id == NULL)
			id = json_string_value(json_object_get(actor, "ID"));
	}
	if (kind != DOCKER_EVENT_IGNORE) {
		if (id == NULL || !id_ok(id))
			goto out;
		snprintf(ev->id, sizeof(ev->id), "%s", id);
	}
	ev->kind = kind;
	rc = 0;
out:
	json_decref(root);
	return rc;
}
