/* SPDX-License-Identifier: MIT */
/* DNS over TCP on the answer loop, with pipelining, limits and an idle timeout. */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <urcu.h>

#include "server/tcp.h"
#include "util/err.h"
#include "util/log.h"

#define TCP_MAX_CONNS 512
#define TCP_MAX_PENDING 32       /* forwarded queries in flight per connection */
#define TCP_OUT_MAX (256 * 1024) /* stop reading while this much is unsent */

struct conn {
	struct tcp_server *server;
	struct bufferevent *bev; /* NULL once closed */
	struct conn *next, *prev;
	struct sockaddr_storage peer;
	unsigned pending; /* forwarded queries not yet answered */
	bool eof;         /* the client is done sending: close once all is answered */
};

struct tcp_server {
	struct server_ctx *ctx;
	struct evconnlistener **listeners;
	size_t nlisteners;
	struct dns_worker *dns;
	struct conn *conns;
	size_t nconns;
	uint8_t out[2 + UINT16_MAX];
};

static void conn_unlink_free(struct conn *c)
{
	struct tcp_server *t = c->server;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	t->nconns--;
	free(c);
}

static void conn_close(struct conn *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->pending == 0)
		conn_unlink_free(c);
	/* else: freed when the last forwarded answer comes back */
}

/* After end-of-file: close once every answer is out (on_write) and none is pending. */
static void close_if_done(struct conn *c)
{
	if (c->eof && c->pending == 0 && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_close(c);
}

static void send_msg(struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add(out, hdr, 2);
	evbuffer_add(out, msg, len);
}

static void forward_done(void *arg, const uint8_t *resp, size_t len)
{
	struct conn *c = arg;
	c->pending--;
	if (c->bev == NULL) {
		if (c->pending == 0)
			conn_unlink_free(c);
		return;
	}
	send_msg(c, resp, len);
}

/* Reading stops while answers pile up unsent; on_write resumes it. */
static bool output_full(struct conn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <= TCP_OUT_MAX)
		return false;
	bufferevent_disable(c->bev, EV_READ);
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct tcp_server *t = c->server;
	struct evbuffer *in = bufferevent_get_input(bev);
	const struct serve_conf *conf = t->ctx->conf;
	for (;;) {
		if (output_full(c))
			return; /* a client that does not read its answers waits */
		uint8_t hdr[2];
		if (evbuffer_copyout(in, hdr, 2) < 2)
			return;
		size_t len = (size_t)hdr[0] << 8 | hdr[1];
		if (evbuffer_get_length(in) < 2 + len)
			return;
		if (len == 0) {
			conn_close(c);
			return;
		}
		evbuffer_drain(in, 2);
		uint8_t *q = evbuffer_pullup(in, (ev_ssize_t)len);
		struct dns_query_info qi = {
			.tcp = true,
			.may_forward = server_may_forward(t->ctx, (struct sockaddr *)&c->peer),
			.servfail_miss = conf->miss == MISS_SERVFAIL,
			.udp_cap = conf->udp_size,
			.client = (struct sockaddr *)&c->peer,
			.nsid = conf_nsid(conf),
		};
		size_t outlen = 0;
		rcu_read_lock();
		enum dns_action act = dns_answer(t->dns, registry_current(t->ctx->reg), q, len,
						 t->out, UINT16_MAX, &qi, &outlen);
		rcu_read_unlock();
		if (act == DNS_REPLY) {
			send_msg(c, t->out, outlen);
		} else if (act == DNS_FORWARD) {
			if (c->pending >= TCP_MAX_PENDING) {
				outlen =
					dns_error_response(q, len, 2 /* SERVFAIL */, conf->udp_size,
							   qi.nsid, t->out, UINT16_MAX);
				if (outlen > 0)
					send_msg(c, t->out, outlen);
			} else {
				c->pending++;
				forwarder_query(t->ctx->fwd, q, len, UINT16_MAX, forward_done, c);
			}
		} else {
			evbuffer_drain(in, len);
			conn_close(c); /* garbage on TCP: hang up */
			return;
		}
		evbuffer_drain(in, len);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->eof) {
		close_if_done(c);
		return;
	}
	/* Output drained below the low mark: go on with queries left waiting. */
	bufferevent_enable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		on_read(bev, arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* A half-close: the client still gets every answer, forwarded ones too. */
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		close_if_done(c);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(c);
}

/* Room for a new connection: when the server is full, the oldest connection
 * with nothing in flight makes way, so a flood of idle connections cannot lock
 * everyone out of TCP (which every truncated UDP answer depends on). A limit
 * per address would lock out the host itself: its clients all share 127.0.0.1. */
static bool make_room(struct tcp_server *t)
{
	if (t->nconns < TCP_MAX_CONNS)
		return true;
	struct conn *oldest = NULL;
	for (struct conn *c = t->conns; c != NULL; c = c->next)
		if (c->bev != NULL && c->pending == 0)
			oldest =
				c; /* new connections go to the head: the last match is the oldest */
	if (oldest == NULL)
		return false;
	conn_close(oldest);
	return true;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct tcp_server *t = arg;
	if (!make_room(t)) {
		close(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->server = t;
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ? (size_t)salen : sizeof(c->peer));
	c->bev = bufferevent_socket_new(t->ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->next = t->conns;
	if (t->conns != NULL)
		t->conns->prev = c;
	t->conns = c;
	t->nconns++;
	uint32_t ms = t->ctx->conf->tcp_idle_ms;
	struct timeval idle = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* Never buffer more than one message ahead of what is answered, and hear
	 * from on_write while half the output limit is still queued. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 + UINT16_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, TCP_OUT_MAX / 2, 0);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int tcp_server_new(struct server_ctx *ctx, struct tcp_server **out, char *err, size_t errlen)
{
	struct tcp_server *t = calloc(1, sizeof(*t));
	int ret;

	*out = NULL;
	if (t == NULL)
		goto nomem;
	t->ctx = ctx;
	t->dns = dns_worker_new();
	t->listeners = calloc(ctx->conf->nlisten, sizeof(*t->listeners));
	if (t->dns == NULL || t->listeners == NULL)
		goto nomem;
	for (size_t i = 0; i < ctx->conf->nlisten; i++) {
		int fd = server_bind(&ctx->conf->listen[i], SOCK_STREAM, err, errlen);
		if (fd < 0) {
			ret = fd;
			goto fail;
		}
		struct evconnlistener *l =
			evconnlistener_new(ctx->base, on_accept, t,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
		if (l == NULL) {
			close(fd);
			goto nomem;
		}
		t->listeners[t->nlisteners++] = l;
	}
	*out = t;
	return 0;
nomem:
	ret = berth_fail(err, errlen, errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM,
			 "TCP server: out of memory or descriptors");
fail:
	tcp_server_free(t);
	return ret;
}

void tcp_server_free(struct tcp_server *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nlisteners; i++)
		evconnlistener_free(t->listeners[i]);
	free(t->listeners);
	/* The forwarder is gone by now: no answer will come back for pending queries. */
	while (t->conns != NULL) {
		struct conn *c = t->conns;
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		conn_unlink_free(c);
	}
	dns_worker_free(t->dns);
	free(t);
}

void tcp_server_counters(const struct tcp_server *t, struct dns_counters *out)
{
	dns_counters_add(out, dns_worker_counters(t->dns));
}
