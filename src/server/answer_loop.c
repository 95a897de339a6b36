/* SPDX-License-Identifier: MIT */
/* The answer loop's thread: an RCU reader running its own event_base until told to stop. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <urcu.h>

#include "server/answer_loop.h"
#include "util/err.h"
#include "util/log.h"

struct answer_loop {
	struct event_base *base;
	int stop_fd; /* eventfd: any thread -> the loop, "stop" */
	struct event *stop_ev;
	pthread_t thread;
	bool started;
};

/* On the loop's own thread: the only safe place to break it, since the base
 * has no locks for other threads. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct answer_loop *l = arg;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("answer", "eventfd: %s", strerror(errno));
	event_base_loopbreak(l->base);
}

static void *loop_main(void *arg)
{
	struct answer_loop *l = arg;
	rcu_register_thread();
	/* Keep running with no event pending (e.g. every TCP listener gone). */
	if (event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
		log_error("answer", "the answer loop failed: TCP and forwarding stop");
	rcu_unregister_thread();
	return NULL;
}

int answer_loop_new(struct answer_loop **out)
{
	struct answer_loop *l = calloc(1, sizeof(*l));
	int ret = -ENOMEM;

	*out = NULL;
	if (l == NULL)
		return -ENOMEM;
	l->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->stop_fd < 0) {
		ret = -errno;
		goto fail;
	}
	l->base = event_base_new();
	if (l->base == NULL)
		goto fail;
	l->stop_ev = event_new(l->base, l->stop_fd, EV_READ | EV_PERSIST, on_stop, l);
	if (l->stop_ev == NULL || event_add(l->stop_ev, NULL) != 0)
		goto fail;
	*out = l;
	return 0;
fail:
	answer_loop_free(l);
	return ret;
}

struct event_base *answer_loop_base(const struct answer_loop *l)
{
	return l->base;
}

int answer_loop_start(struct answer_loop *l)
{
	int ret = pthread_create(&l->thread, NULL, loop_main, l);
	if (ret != 0)
		return -ret;
	l->started = true;
	return 0;
}

void answer_loop_stop(struct answer_loop *l)
{
	if (l == NULL || !l->started)
		return;
	uint64_t one = 1;
	/* An eventfd write fails only when the counter would overflow: a stop
	 * is then pending already. */
	if (write(l->stop_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("answer", "eventfd: %s", strerror(errno));
	pthread_join(l->thread, NULL);
	l->started = false;
}

void answer_loop_free(struct answer_loop *l)
{
	if (l == NULL)
		return;
	answer_loop_stop(l);
	if (l->stop_ev != NULL)
		event_free(l->stop_ev);
	if (l->base != NULL)
		event_base_free(l->base);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	free(l);
}
