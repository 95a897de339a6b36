/* SPDX-License-Identifier: MIT */
/* A small inotify watcher of one directory on a libevent loop, bursts coalesced per name. */
#pragma once
#include <stddef.h>

struct event_base;

enum watch_kind {
	WATCH_CHANGED, /* written and closed, created, moved in, attributes changed */
	WATCH_REMOVED, /* deleted or moved away */
	WATCH_RESCAN,  /* events were lost, or the directory came back: look at
	                  everything (name is NULL) */
};

/* dir is the watched directory as given to watch_new; name a file in it. */
typedef void (*watch_fn)(void *arg, const char *dir, const char *name, enum watch_kind kind);

struct watch;

/* Watch dir on base. Events for one name are coalesced: fn is called once with
 * the last kind, about 50 ms after the name's last event (500 ms after a bare
 * create, so a file still being written is read once it is closed), and never
 * later than 500 ms after its first event. If the directory goes away, the
 * watch retries every second and reports WATCH_RESCAN when it is back.
 * fn must not free the watch. 0 or a negative errno. */
int watch_new(struct event_base *base, const char *dir, watch_fn fn, void *arg, struct watch **out);
void watch_free(struct watch *w);

/* Read a whole regular file (at most 64 MiB) into a NUL-terminated buffer the
 * caller frees. 0, or -ENOENT (gone), -EINVAL (not a regular file), -EFBIG,
 * or another negative errno (e.g. -EACCES). */
int watch_read_file(const char *path, char **text, size_t *len);
