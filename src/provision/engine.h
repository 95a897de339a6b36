/* SPDX-License-Identifier: MIT */
/* berth provision's Docker side: blocking calls over the shared Docker client, each run on a
 * private event loop until it finishes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "provision/plan.h"

struct provision_engine;

/* endpoint as docker_endpoint_conf (NULL: $DOCKER_HOST, else the default socket); timeout_ms
 * bounds each request. 0 or a negative error with err set. */
int provision_engine_new(const char *endpoint, long timeout_ms, struct provision_engine **out,
			 char *err, size_t errlen);
void provision_engine_free(struct provision_engine *e);
const char *provision_engine_describe(const struct provision_engine *e);

/* GET /version and speak the engine's API version from then on. */
int provision_engine_connect(struct provision_engine *e, char *err, size_t errlen);

/* Every container (all=1), with their labels read into provision_container. One whose
 * PROVISION_ZONE_LABEL names another zone than zone gets label NULL: it is not ours. */
struct provision_containers {
	struct provision_container *v;
	size_t n;
	void *doc; /* the parsed answer the strings point into */
};
int provision_engine_list(struct provision_engine *e, const char *zone,
			  struct provision_containers *out, char *err, size_t errlen);
void provision_containers_clear(struct provision_containers *cs);

/* 0 when image is present locally; else, with pull, POST /images/create first. -ENOENT when it
 * is (still) absent, with the reason in err. */
int provision_engine_image(struct provision_engine *e, const char *image, bool pull, char *err,
			   size_t errlen);
/* Create container name from argv (argv[0] the image, the rest its command; none: the image's
 * own) labelled PROVISION_LABEL=cmdline and PROVISION_ZONE_LABEL=zone. The new ID goes to id (at least 65 bytes). -ENOENT
 * when the image is not present, -EEXIST when the name is taken. network: NULL or "" for the
 * engine's default. */
int provision_engine_create(struct provision_engine *e, const char *name, const struct strv *argv,
			    const char *cmdline, const char *zone, const char *network, char *id,
			    size_t idlen, char *err, size_t errlen);
int provision_engine_start(struct provision_engine *e, const char *id, char *err, size_t errlen);
/* Stop (waiting stop_timeout seconds before the kill), then remove with its anonymous volumes. */
int provision_engine_remove(struct provision_engine *e, const char *id, int stop_timeout, char *err,
			    size_t errlen);
