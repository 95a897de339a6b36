/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the Docker event stream parser: one input is one line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/docker/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_event ev;
	memset(&ev, 0xa5, sizeof(ev));
	int ret = docker_event_parse((const char *)data, size, &ev);
	if (ret == 0) {
		/* an event we act on names a container: hex, NUL-terminated */
		if (memchr(ev.id, '\0', sizeof(ev.id)) == NULL)
			abort();
		if (ev.kind != DOCKER_EVENT_IGNORE && ev.id[0] == '\0')
			abort();
	}
	return 0;
}
