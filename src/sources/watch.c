/* SPDX-License-Identifier: MIT */
/* inotify on a libevent loop: per-name pending events, released by one timer once they settle. */
#include "sources/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"

#define SETTLE_MS 50     /* quiet time after a name's last event */
#define CREATE_MS 500    /* a bare create: wait for the writer to close */
#define MAX_WAIT_MS 500  /* cap on coalescing from a name's first event */
#define RETRY_MS 1000    /* re-add the watch after the directory vanished */
#define MAX_PENDING 4096 /* beyond this, forget names and rescan */
#define MAX_FILE (64u << 20)

#define DIR_MASK                                                                            \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB | \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct pending {
	char *name;
	int64_t first; /* ms, monotonic */
	int64_t due;
	enum watch_kind kind;
};

struct watch {
	char *dir;
	watch_fn fn;
	void *arg;
	int fd;
	int wd;
	struct event *ev;
	struct event *timer;
	struct event *retry;
	struct pending *pend;
	size_t npend;
	size_t cap;
	bool rescan;
	int64_t rescan_due;
};

static void arm(struct event *ev, int64_t ms)
{
	struct timeval tv = {
		.tv_sec = ms < 0 ? 0 : (time_t)(ms / 1000),
		.tv_usec = ms < 0 ? 0 : (suseconds_t)(ms % 1000) * 1000,
	};
	evtimer_add(ev, &tv);
}

static void clear_pending(struct watch *w)
{
	for (size_t i = 0; i < w->npend; i++)
		free(w->pend[i].name);
	w->npend = 0;
}

static void flag_rescan(struct watch *w, int64_t now)
{
	if (!w->rescan)
		w->rescan_due = now + SETTLE_MS;
	w->rescan = true;
}

/* Events were lost: names no longer matter, the rescan sees everything. */
static void want_rescan(struct watch *w, int64_t now)
{
	clear_pending(w);
	flag_rescan(w, now);
}

/* Record one event for name; weak = a bare create. */
static void note(struct watch *w, const char *name, enum watch_kind kind, bool weak, int64_t now)
{
	if (w->rescan)
		return; /* the rescan will see it */
	struct pending *p = NULL;
	for (size_t i = 0; i < w->npend; i++) {
		if (strcmp(w->pend[i].name, name) == 0) {
			p = &w->pend[i];
			break;
		}
	}
	if (p != NULL) {
		if (weak) {
			/* a stronger event is pending; a create after a removal
			 * still means the name is back */
			p->kind = WATCH_CHANGED;
			return;
		}
		p->kind = kind;
		p->due = now + SETTLE_MS;
		if (p->due > p->first + MAX_WAIT_MS)
			p->due = p->first + MAX_WAIT_MS;
		return;
	}
	if (w->npend >= MAX_PENDING) {
		want_rescan(w, now);
		return;
	}
	if (w->npend == w->cap) {
		size_t cap = w->cap == 0 ? 8 : w->cap * 2;
		struct pending *np = realloc(w->pend, cap * sizeof(*np));
		if (np == NULL) {
			want_rescan(w, now);
			return;
		}
		w->pend = np;
		w->cap = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL) {
		want_rescan(w, now);
		return;
	}
	w->pend[w->npend++] = (struct pending){
		.name = copy,
		.first = now,
		.due = now + (weak ? CREATE_MS : SETTLE_MS),
		.kind = kind,
	};
}

static void schedule(struct watch *w, int64_t now)
{
	int64_t due = INT64_MAX;
	if (w->rescan)
		due = w->rescan_due;
	for (size_t i = 0; i < w->npend; i++)
		if (w->pend[i].due < due)
			due = w->pend[i].due;
	if (due == INT64_MAX)
		evtimer_del(w->timer);
	else
		arm(w->timer, due - now);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	int64_t now = mono_ms();
	size_t keep = 0;
	for (size_t i = 0; i < w->npend; i++) {
		struct pending p = w->pend[i];
		if (p.due <= now) {
			w->fn(w->arg, w->dir, p.name, p.kind);
			free(p.name);
		} else {
			w->pend[keep++] = p;
		}
	}
	w->npend = keep;
	/* After the names: a directory removed with its files reports the files
	 * gone before the rescan finds nothing to list. */
	if (w->rescan && w->rescan_due <= now) {
		w->rescan = false;
		w->fn(w->arg, w->dir, NULL, WATCH_RESCAN);
	}
	schedule(w, mono_ms());
}

static void lost(struct watch *w, int64_t now)
{
	if (w->wd < 0)
		return;
	inotify_rm_watch(w->fd, w->wd);
	w->wd = -1;
	log_warn("watch", "%s: directory moved or removed; retrying every %d ms", w->dir, RETRY_MS);
	flag_rescan(w, now);
	arm(w->retry, RETRY_MS);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	int wd = inotify_add_watch(w->fd, w->dir, DIR_MASK);
	if (wd < 0) {
		arm(w->retry, RETRY_MS);
		return;
	}
	w->wd = wd;
	log_info("watch", "%s: watching again", w->dir);
	int64_t now = mono_ms();
	flag_rescan(w, now);
	schedule(w, now);
}

static void handle(struct watch *w, const struct inotify_event *e, int64_t now)
{
	if (e->mask & IN_Q_OVERFLOW) {
		log_warn("watch", "%s: inotify queue overflow, rescanning", w->dir);
		want_rescan(w, now);
		return;
	}
	if (e->wd != w->wd)
		return; /* a watch we already dropped */
	if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		lost(w, now);
		return;
	}
	if (e->len == 0 || e->name[0] == '\0')
		return;
	if (e->mask & (IN_DELETE | IN_MOVED_FROM))
		note(w, e->name, WATCH_REMOVED, false, now);
	else if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB))
		note(w, e->name, WATCH_CHANGED, false, now);
	else if ((e->mask & IN_CREATE) && !(e->mask & IN_ISDIR))
		note(w, e->name, WATCH_CHANGED, true, now);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t now = mono_ms();
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("watch", "%s: read: %s", w->dir, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e = (const void *)(buf + off);
			handle(w, e, now);
			off += (ssize_t)(sizeof(*e) + e->len);
		}
	}
	schedule(w, now);
}

int watch_new(struct event_base *base, const char *dir, watch_fn fn, void *arg, struct watch **out)
{
	struct watch *w = NULL;
	int ret;
	if (base == NULL || dir == NULL || fn == NULL || out == NULL)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->fd = -1;
	w->wd = -1;
	w->fn = fn;
	w->arg = arg;
	w->dir = strdup(dir);
	if (w->dir == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		ret = -errno;
		goto fail;
	}
	w->wd = inotify_add_watch(w->fd, dir, DIR_MASK);
	if (w->wd < 0) {
		ret = -errno;
		goto fail;
	}
	w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, on_read, w);
	w->timer = evtimer_new(base, on_timer, w);
	w->retry = evtimer_new(base, on_retry, w);
	if (w->ev == NULL || w->timer == NULL || w->retry == NULL || event_add(w->ev, NULL) < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	watch_free(w);
	return ret;
}

void watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->timer != NULL)
		event_free(w->timer);
	if (w->retry != NULL)
		event_free(w->retry);
	if (w->fd >= 0)
		close(w->fd);
	clear_pending(w);
	free(w->pend);
	free(w->dir);
	free(w);
}

int watch_read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t cap = 0;
	size_t n = 0;
	int ret;
	/* O_NONBLOCK: a FIFO dropped into a watched directory must not hang the loop. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > MAX_FILE) {
		ret = -EFBIG;
		goto out;
	}
	/* The size is a hint: the file may grow while we read. */
	cap = (size_t)st.st_size + 1;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > MAX_FILE) {
				ret = -EFBIG;
				goto out;
			}
			size_t ncap = cap < 4096 ? 4096 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		} else if (buf == NULL) {
			buf = malloc(cap);
			if (buf == NULL) {
				ret = -ENOMEM;
				goto out;
			}
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}
