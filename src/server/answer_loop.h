/* SPDX-License-Identifier: MIT */
/* The answer loop: one thread with its own libevent loop, apart from the control
 * loop, for the answers that need a loop (TCP, and forwarding through libunbound). */
#pragma once

struct event_base;
struct answer_loop;

/* A loop not yet running: register its events on answer_loop_base() first,
 * from the calling thread. 0 and *out, or -ENOMEM, or -EMFILE and the like (descriptors). */
int answer_loop_new(struct answer_loop **out);
/* The loop's event_base. Once answer_loop_start has returned 0, only the loop's
 * own thread touches it (libevent here is not built thread-safe), until
 * answer_loop_stop has returned. */
struct event_base *answer_loop_base(const struct answer_loop *l);
/* Start the thread, an RCU reader thread (liburcu). 0 or a negative errno. */
int answer_loop_start(struct answer_loop *l);
/* Ask the loop to stop and join its thread; the loop's events stay registered.
 * Idempotent, and a no-op when it never started. */
void answer_loop_stop(struct answer_loop *l);
/* Stop, then free the base: everything on it must have been freed first. */
void answer_loop_free(struct answer_loop *l);
