/* SPDX-License-Identifier: MIT */
/* UDP workers answering batches of queries; forwarded queries go to the answer loop. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libknot/libknot.h>
#include <urcu.h>

#include "server/rrl.h"
#include "server/udp.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define BATCH 64
#define CMSG_SPACE_PKTINFO 64
#define FORWARD_MAX_PENDING 4096

struct udp_worker {
	struct udp_server *server;
	pthread_t thread;
	int fd;
	bool started;
	bool pktinfo; /* bound to a wildcard: reply from the address asked */
	struct dns_worker *dns;
	/* preallocated batch buffers: no malloc per query */
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec in_iov[BATCH], out_iov[BATCH];
	struct sockaddr_storage peer[BATCH];
	uint8_t in_cmsg[BATCH][CMSG_SPACE_PKTINFO];
	/* BATCH queries, then BATCH answers, each buf_size (--max-udp-size)
	 * bytes: berth advertises that size in its OPT record as what it can
	 * receive, and never answers with more. A larger query is truncated
	 * (MSG_TRUNC) and dropped. */
	size_t buf_size;
	uint8_t *bufs;
};

static uint8_t *in_buf(struct udp_worker *w, int i)
{
	return w->bufs + (size_t)i * w->buf_size;
}

static uint8_t *out_buf(struct udp_worker *w, int i)
{
	return w->bufs + (size_t)(BATCH + i) * w->buf_size;
}

/* A query handed from a worker to the answer loop, and back as an answer. */
struct pending {
	struct pending *next, *prev; /* queue (next only), then the in-flight list */
	struct udp_server *server;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	size_t cmsg_len;
	uint8_t cmsg[CMSG_SPACE_PKTINFO];
	uint16_t max_size;
	size_t len;
	uint8_t query[];
};

struct udp_server {
	struct server_ctx *ctx;
	struct udp_worker **workers;
	size_t nworkers;
	atomic_bool stopping;
	int wake_fd; /* eventfd: workers -> answer loop */
	struct event *wake_ev;
	pthread_mutex_t lock; /* guards queue and npending */
	struct pending *queue;
	size_t npending;          /* queued or upstream */
	struct pending *inflight; /* handed to the forwarder (answer loop only) */
	struct rrl *rrl;          /* --rate-limit, shared by the workers; NULL: off */
};

static void forward_done(void *arg, const uint8_t *resp, size_t len)
{
	struct pending *p = arg;
	struct udp_server *u = p->server;
	struct iovec iov = { .iov_base = (void *)resp, .iov_len = len };
	struct msghdr mh = { .msg_name = &p->peer,
			     .msg_namelen = p->peer_len,
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = p->cmsg_len ? p->cmsg : NULL,
			     .msg_controllen = p->cmsg_len };
	if (sendmsg(p->fd, &mh, MSG_DONTWAIT) < 0)
		log_debug("udp", "cannot send a forwarded answer: %s", strerror(errno));
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		u->inflight = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	pthread_mutex_lock(&u->lock);
	u->npending--;
	pthread_mutex_unlock(&u->lock);
	free(p);
}

/* Answer loop: take every queued query and give it to the forwarder. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct udp_server *u = arg;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("udp", "eventfd: %s", strerror(errno));
	pthread_mutex_lock(&u->lock);
	struct pending *list = u->queue;
	u->queue = NULL;
	pthread_mutex_unlock(&u->lock);
	while (list != NULL) {
		struct pending *p = list;
		list = p->next;
		p->prev = NULL;
		p->next = u->inflight;
		if (u->inflight != NULL)
			u->inflight->prev = p;
		u->inflight = p;
		forwarder_query(u->ctx->fwd, p->query, p->len, p->max_size, forward_done, p);
	}
}

static size_t reply_cmsg(struct msghdr *in);

static void enqueue_forward(struct udp_worker *w, struct msghdr *in, size_t len, uint16_t max_size)
{
	struct udp_server *u = w->server;
	pthread_mutex_lock(&u->lock);
	bool full = u->npending >= FORWARD_MAX_PENDING;
	if (!full)
		u->npending++;
	pthread_mutex_unlock(&u->lock);
	if (full)
		return; /* the client retries; memory stays bounded under a flood */
	struct pending *p = malloc(sizeof(*p) + len);
	if (p == NULL) {
		pthread_mutex_lock(&u->lock);
		u->npending--;
		pthread_mutex_unlock(&u->lock);
		return;
	}
	p->server = u;
	p->fd = w->fd;
	memcpy(&p->peer, in->msg_name, in->msg_namelen);
	p->peer_len = in->msg_namelen;
	p->cmsg_len = w->pktinfo ? reply_cmsg(in) : 0;
	if (p->cmsg_len > sizeof(p->cmsg))
		p->cmsg_len = 0;
	if (p->cmsg_len)
		memcpy(p->cmsg, in->msg_control, p->cmsg_len);
	p->max_size = max_size;
	p->len = len;
	memcpy(p->query, in->msg_iov[0].iov_base, len);
	pthread_mutex_lock(&u->lock);
	p->next = u->queue;
	u->queue = p;
	pthread_mutex_unlock(&u->lock);
	uint64_t one = 1;
	if (write(u->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("udp", "eventfd: %s", strerror(errno));
}

/* Turn the received packet-info into the one to send with, so the answer
 * leaves from the address the query came to. */
static size_t reply_cmsg(struct msghdr *in)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c != NULL; c = CMSG_NXTHDR(in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);
			pi->ipi_spec_dst = pi->ipi_addr;
			pi->ipi_ifindex = 0;
			return in->msg_controllen;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			return in->msg_controllen;
		}
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct udp_worker *w = arg;
	struct udp_server *u = w->server;
	const struct serve_conf *conf = u->ctx->conf;
	const char *nsid = conf_nsid(conf);
	rcu_register_thread();
	for (int i = 0; i < BATCH; i++) {
		w->in_iov[i] = (struct iovec){ .iov_base = in_buf(w, i), .iov_len = w->buf_size };
		w->out_iov[i] = (struct iovec){ .iov_base = out_buf(w, i) };
	}
	while (!atomic_load_explicit(&u->stopping, memory_order_relaxed)) {
		for (int i = 0; i < BATCH; i++) {
			w->in[i].msg_hdr = (struct msghdr){
				.msg_name = &w->peer[i],
				.msg_namelen = sizeof(w->peer[i]),
				.msg_iov = &w->in_iov[i],
				.msg_iovlen = 1,
				.msg_control = w->pktinfo ? w->in_cmsg[i] : NULL,
				.msg_controllen = w->pktinfo ? CMSG_SPACE_PKTINFO : 0,
			};
		}
		int n = recvmmsg(w->fd, w->in, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (!atomic_load(&u->stopping))
				log_error("udp", "receive: %s", strerror(errno));
			break;
		}
		uint64_t t0 = mono_ns();
		int nout = 0;
		rcu_read_lock();
		const struct snapshot *snap = registry_current(u->ctx->reg);
		for (int i = 0; i < n; i++) {
			struct msghdr *in = &w->in[i].msg_hdr;
			if (in->msg_flags & MSG_TRUNC)
				continue;
			struct dns_query_info qi = {
				.tcp = false,
				.may_forward = server_may_forward(u->ctx, in->msg_name),
				.servfail_miss = conf->miss == MISS_SERVFAIL,
				.udp_cap = conf->udp_size,
				.client = in->msg_name,
				.nsid = nsid,
			};
			size_t len = 0;
			enum dns_action act =
				dns_answer(w->dns, snap, in_buf(w, i), w->in[i].msg_len,
					   out_buf(w, nout), w->buf_size, &qi, &len);
			enum rrl_verdict v =
				act == DNS_DROP ? RRL_PASS : rrl_check(u->rrl, in->msg_name, t0);
			if (v != RRL_PASS) {
				dns_worker_rate_limited(w->dns, v == RRL_SLIP);
				if (v == RRL_DROP)
					continue;
				/* Slip: header and question, TC; a real client asks over TCP. */
				len = dns_error_response(in_buf(w, i), w->in[i].msg_len,
							 KNOT_RCODE_NOERROR, conf->udp_size, nsid,
							 out_buf(w, nout), w->buf_size);
				if (len == 0)
					continue;
				knot_wire_set_tc(out_buf(w, nout));
				act = DNS_REPLY;
			}
			if (act == DNS_FORWARD) {
				enqueue_forward(w, in, w->in[i].msg_len, qi.max_size);
			} else if (act == DNS_REPLY) {
				w->out_iov[nout].iov_base = out_buf(w, nout);
				w->out_iov[nout].iov_len = len;
				w->out[nout].msg_hdr = (struct msghdr){
					.msg_name = in->msg_name,
					.msg_namelen = in->msg_namelen,
					.msg_iov = &w->out_iov[nout],
					.msg_iovlen = 1,
				};
				size_t clen = w->pktinfo ? reply_cmsg(in) : 0;
				if (clen) {
					w->out[nout].msg_hdr.msg_control = in->msg_control;
					w->out[nout].msg_hdr.msg_controllen = clen;
				}
				nout++;
			}
		}
		rcu_read_unlock();
		for (int sent = 0; sent < nout;) {
			int r = sendmmsg(w->fd, w->out + sent, (unsigned)(nout - sent), 0);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				sent++; /* skip the one that failed (e.g. unreachable peer) */
				continue;
			}
			sent += r;
		}
		dns_worker_latency(w->dns, mono_ns() - t0, (uint64_t)nout);
	}
	rcu_unregister_thread();
	return NULL;
}

int udp_server_new(struct server_ctx *ctx, struct udp_server **out, char *err, size_t errlen)
{
	struct udp_server *u = calloc(1, sizeof(*u));
	int ret;

	*out = NULL;
	if (u == NULL)
		goto nomem;
	u->ctx = ctx;
	u->wake_fd = -1;
	pthread_mutex_init(&u->lock, NULL);
	size_t threads = ctx->conf->threads ? ctx->conf->threads : 1;
	u->workers = calloc(ctx->conf->nlisten * threads, sizeof(*u->workers));
	if (u->workers == NULL)
		goto nomem;
	for (size_t l = 0; l < ctx->conf->nlisten; l++) {
		for (size_t t = 0; t < threads; t++) {
			struct udp_worker *w = calloc(1, sizeof(*w));
			if (w == NULL)
				goto nomem;
			u->workers[u->nworkers++] = w;
			w->server = u;
			w->fd = -1;
			w->dns = dns_worker_new();
			w->buf_size = ctx->conf->udp_size;
			w->bufs = calloc(2 * BATCH, w->buf_size);
			if (w->dns == NULL || w->bufs == NULL)
				goto nomem;
			w->fd = server_bind(&ctx->conf->listen[l], SOCK_DGRAM, err, errlen);
			if (w->fd < 0) {
				ret = w->fd;
				goto fail;
			}
			w->pktinfo = addr_is_any(&ctx->conf->listen[l]);
			if (w->pktinfo) {
				int on = 1;
				if (ctx->conf->listen[l].ss.ss_family == AF_INET)
					setsockopt(w->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
				else
					setsockopt(w->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
						   sizeof(on));
			}
		}
	}
	u->rrl = rrl_new(ctx->conf->rate_limit);
	if (ctx->conf->rate_limit > 0 && u->rrl == NULL)
		goto nomem;
	u->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->wake_fd < 0)
		goto nomem;
	u->wake_ev = event_new(ctx->base, u->wake_fd, EV_READ | EV_PERSIST, on_wake, u);
	if (u->wake_ev == NULL || event_add(u->wake_ev, NULL) != 0)
		goto nomem;
	*out = u;
	return 0;
nomem:
	ret = berth_fail(err, errlen, errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM,
			 "UDP server: out of memory or descriptors");
fail:
	udp_server_free(u);
	return ret;
}

int udp_server_start(struct udp_server *u)
{
	for (size_t i = 0; i < u->nworkers; i++) {
		struct udp_worker *w = u->workers[i];
		int ret = pthread_create(&w->thread, NULL, worker_main, w);
		if (ret != 0)
			return -ret;
		w->started = true;
	}
	return 0;
}

void udp_server_stop(struct udp_server *u)
{
	if (u == NULL)
		return;
	atomic_store(&u->stopping, true);
	/* shutdown() wakes a thread blocked in recvmmsg, even on an unconnected socket. */
	for (size_t i = 0; i < u->nworkers; i++)
		if (u->workers[i]->fd >= 0)
			shutdown(u->workers[i]->fd, SHUT_RDWR);
	for (size_t i = 0; i < u->nworkers; i++) {
		struct udp_worker *w = u->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void udp_server_free(struct udp_server *u)
{
	if (u == NULL)
		return;
	udp_server_stop(u);
	for (size_t i = 0; i < u->nworkers; i++) {
		struct udp_worker *w = u->workers[i];
		if (w->fd >= 0)
			close(w->fd);
		dns_worker_free(w->dns);
		free(w->bufs);
		free(w);
	}
	free(u->workers);
	/* The forwarder is gone by now: answers still queued or in flight are dropped. */
	for (struct pending *lists[2] = { u->queue, u->inflight }, **l = lists; l < lists + 2;
	     l++) {
		while (*l != NULL) {
			struct pending *p = *l;
			*l = p->next;
			free(p);
		}
	}
	if (u->wake_ev != NULL)
		event_free(u->wake_ev);
	if (u->wake_fd >= 0)
		close(u->wake_fd);
	rrl_free(u->rrl);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

void udp_server_counters(const struct udp_server *u, struct dns_counters *out)
{
	for (size_t i = 0; i < u->nworkers; i++)
		dns_counters_add(out, dns_worker_counters(u->workers[i]->dns));
}
