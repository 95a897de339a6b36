/* SPDX-License-Identifier: MIT */
/* Tests of the forwarder against a real dnsmasq on loopback: answers, cache,
 * failover, SERVFAIL, truncation, cancellation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libknot/libknot.h>

#include "forward/forward.h"

#define NTXT 8 /* TXT records of big.test: together over 1232 bytes */
#define TXT_LEN 200
#define WAIT_MS 10000 /* the longest any test waits for one answer */

struct upstream {
	pid_t pid;
	uint16_t port;
};

struct fixture {
	struct event_base *base;
	struct upstream dns; /* dnsmasq serving example.test, nx.test, big.test */
	char dnsmasq[256];   /* its path, empty when not installed */
};

/* What done() saw. */
struct result {
	struct event_base *base;
	int calls;
	double at; /* when done() ran, now_ms() */
	size_t len;
	uint8_t wire[KNOT_WIRE_MAX_PKTSIZE];
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static struct addr loopback_family(int family, uint16_t port)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		a.len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.len = sizeof(*sin);
	}
	return a;
}

static struct addr loopback(uint16_t port)
{
	return loopback_family(AF_INET, port);
}

/* A loopback port free for both UDP and TCP just now; 0 if the family has
 * no loopback here. */
static uint16_t free_port_family(int family)
{
	for (int tries = 0; tries < 50; tries++) {
		struct addr a = loopback_family(family, 0);
		socklen_t len = a.len;
		int u = socket(family, SOCK_DGRAM, 0);
		int t = socket(family, SOCK_STREAM, 0);
		uint16_t port = 0;
		bool bound = u >= 0 && bind(u, (struct sockaddr *)&a.ss, a.len) == 0;

		if (bound && getsockname(u, (struct sockaddr *)&a.ss, &len) == 0 && t >= 0 &&
		    bind(t, (struct sockaddr *)&a.ss, a.len) == 0)
			port = addr_port(&a);
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (port)
			return port;
		if (!bound)
			break;
	}
	return 0;
}

static uint16_t free_port(void)
{
	uint16_t port = free_port_family(AF_INET);

	if (!port)
		fail_msg("no free loopback port");
	return port;
}

/* A bound UDP socket that never reads: queries to it vanish. */
static int black_hole(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A query for name (case kept) with the given ID, RD, and an OPT of
 * edns bytes unless edns is 0. Returns its length. */
static size_t make_query(uint8_t *buf, size_t size, uint16_t id, const char *name, uint16_t type,
			 uint16_t edns)
{
	uint8_t dname[KNOT_DNAME_MAXLEN];
	knot_pkt_t *pkt = knot_pkt_new(buf, (uint16_t)size, NULL);
	size_t len;

	assert_non_null(pkt);
	knot_pkt_clear(pkt);
	assert_non_null(knot_dname_from_str(dname, name, sizeof(dname)));
	knot_wire_set_id(pkt->wire, id);
	knot_wire_set_rd(pkt->wire);
	assert_int_equal(knot_pkt_put_question(pkt, dname, KNOT_CLASS_IN, type), KNOT_EOK);
	if (edns) {
		knot_rrset_t opt;

		assert_int_equal(knot_edns_init(&opt, edns, 0, 0, NULL), KNOT_EOK);
		assert_int_equal(knot_pkt_begin(pkt, KNOT_ADDITIONAL), KNOT_EOK);
		assert_int_equal(knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_FREE),
				 KNOT_EOK);
	}
	len = pkt->size;
	knot_pkt_free(pkt);
	return len;
}

/* Parse a response (a copy of it): the caller frees with knot_pkt_free. */
static knot_pkt_t *parse(const uint8_t *wire, size_t len, uint8_t *copy)
{
	knot_pkt_t *pkt;

	memcpy(copy, wire, len);
	pkt = knot_pkt_new(copy, (uint16_t)len, NULL);
	assert_non_null(pkt);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	return pkt;
}

/* Ask the server on port directly until it answers: dnsmasq is up. */
static bool answers(int family, uint16_t port, int timeout_ms)
{
	struct addr a = loopback_family(family, port);
	uint8_t q[512];
	uint8_t r[4096];
	size_t qlen = make_query(q, sizeof(q), 0x4242, "example.test.", KNOT_RRTYPE_A, 0);
	double end = now_ms() + timeout_ms;
	bool ok = false;
	int fd = socket(family, SOCK_DGRAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a.ss, a.len) != 0)
		goto out;
	while (!ok && now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (send(fd, q, qlen, 0) < 0)
			usleep(50000);
		else if (poll(&pfd, 1, 100) == 1 && recv(fd, r, sizeof(r), 0) >= 12)
			ok = true;
	}
out:
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool find_dnsmasq(char *path, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin",
					    "/usr/local/sbin" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, len, "%s/dnsmasq", dirs[i]);
		if (access(path, X_OK) == 0)
			return true;
	}
	path[0] = '\0';
	return false;
}

static void stop_upstream(struct upstream *u)
{
	int status;

	if (u->pid <= 0)
		return;
	kill(u->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(u->pid, &status, WNOHANG) == u->pid) {
			u->pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(u->pid, SIGKILL);
	waitpid(u->pid, &status, 0);
	u->pid = 0;
}

/* Start dnsmasq on a free loopback port of family (or on port when non-zero)
 * and wait until it answers. */
static bool start_dnsmasq(const char *path, struct upstream *u, int family, uint16_t port)
{
	char txt[NTXT][TXT_LEN + 64];
	char portarg[32];
	const char *argv[32 + NTXT];
	size_t n = 0;

	for (int attempt = 0; attempt < 3; attempt++) {
		u->port = port ? port : free_port_family(family);
		if (!u->port)
			return false;
		snprintf(portarg, sizeof(portarg), "--port=%u", (unsigned)u->port);
		n = 0;
		argv[n++] = path;
		/* Not --no-daemon: it serves TCP in the main process, so unbound's
		 * kept-open TCP connection would stall every UDP query. */
		argv[n++] = "--keep-in-foreground";
		argv[n++] = "--log-facility=-";
		if (geteuid() == 0)
			argv[n++] = "--user=root";
		/* A TTL, so the forwarder's cache keeps the answers. */
		argv[n++] = "--local-ttl=300";
		argv[n++] = "--conf-file=/dev/null";
		argv[n++] = "--no-resolv";
		argv[n++] = "--no-hosts";
		argv[n++] = portarg;
		argv[n++] =
			family == AF_INET6 ? "--listen-address=::1" : "--listen-address=127.0.0.1";
		argv[n++] = "--bind-interfaces";
		argv[n++] = "--pid-file";
		argv[n++] = "--address=/example.test/192.0.2.7";
		argv[n++] = "--address=/nx.test/";
		argv[n++] = "--address=/printer.home.arpa/192.168.0.1";
		argv[n++] = "--ptr-record=1.0.168.192.in-addr.arpa,printer.home.arpa";
		for (int i = 0; i < NTXT; i++) {
			char fill[TXT_LEN + 1];

			memset(fill, 'a' + i, TXT_LEN);
			fill[TXT_LEN] = '\0';
			snprintf(txt[i], sizeof(txt[i]), "--txt-record=big.test,\"%s\"", fill);
			argv[n++] = txt[i];
		}
		argv[n] = NULL;

		u->pid = fork();
		if (u->pid < 0)
			return false;
		if (u->pid == 0) {
			int null = open("/dev/null", O_RDWR);

			/* Never outlive the test, even if it crashes. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (null >= 0) {
				dup2(null, STDIN_FILENO);
				dup2(null, STDOUT_FILENO);
				dup2(null, STDERR_FILENO);
			}
			execv(path, (char *const *)argv);
			_exit(127);
		}
		if (answers(family, u->port, 5000))
			return true;
		stop_upstream(u);
		if (port)
			break;
	}
	return false;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	fx->base = event_base_new();
	if (!fx->base)
		return -1;
	if (!find_dnsmasq(fx->dnsmasq, sizeof(fx->dnsmasq))) {
		print_message("dnsmasq is not installed (apt-get install dnsmasq-base): "
			      "the tests that need an upstream are skipped\n");
	} else if (!start_dnsmasq(fx->dnsmasq, &fx->dns, AF_INET, 0)) {
		print_message("dnsmasq did not start on 127.0.0.1\n");
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (!fx)
		return 0;
	stop_upstream(&fx->dns);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

static void need_dnsmasq(const struct fixture *fx)
{
	if (!fx->dnsmasq[0]) {
		print_message("skipped: dnsmasq is not installed\n");
		skip();
	}
}

static void on_done(void *arg, const uint8_t *resp, size_t len)
{
	struct result *r = arg;

	r->calls++;
	r->at = now_ms();
	assert_true(len <= sizeof(r->wire));
	memcpy(r->wire, resp, len);
	r->len = len;
	event_base_loopbreak(r->base);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Run the loop until done() was called or ms passed. */
static void run_loop(struct event_base *base, const struct result *r, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *timer = evtimer_new(base, on_timer, base);

	assert_non_null(timer);
	evtimer_add(timer, &tv);
	if (!r || r->calls == 0)
		event_base_dispatch(base);
	event_free(timer);
}

/* Forward one query and wait for the answer; returns the elapsed ms. */
static double ask(struct fixture *fx, struct forwarder *f, struct result *r, uint16_t id,
		  const char *name, uint16_t type, uint16_t edns, uint16_t max_size)
{
	uint8_t q[512];
	size_t qlen = make_query(q, sizeof(q), id, name, type, edns);
	double start = now_ms();

	memset(r, 0, sizeof(*r));
	r->base = fx->base;
	forwarder_query(f, q, qlen, max_size, on_done, r);
	run_loop(fx->base, r, WAIT_MS);
	assert_int_equal(r->calls, 1);
	return now_ms() - start;
}

static struct forwarder *make_forwarder(struct fixture *fx, const uint16_t *ports, size_t n)
{
	struct addr ups[4];
	char err[256] = "";
	struct forwarder *f;

	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++)
		ups[i] = loopback(ports[i]);
	if (forwarder_new(fx->base, ups, n, 1232, &f, err, sizeof(err)) != 0)
		fail_msg("forwarder_new: %s", err);
	return f;
}

/* Response checks: the client's ID and question verbatim, QR and RA. */
static void check_header(const uint8_t *wire, size_t len, uint16_t id, const char *name,
			 uint8_t rcode)
{
	uint8_t dname[KNOT_DNAME_MAXLEN];
	size_t dlen;

	assert_non_null(knot_dname_from_str(dname, name, sizeof(dname)));
	dlen = knot_dname_size(dname);
	assert_true(len >= KNOT_WIRE_HEADER_SIZE + dlen + 4);
	assert_int_equal(knot_wire_get_id(wire), id);
	assert_true(knot_wire_get_qr(wire));
	assert_true(knot_wire_get_ra(wire));
	assert_true(knot_wire_get_rd(wire));
	assert_false(knot_wire_get_aa(wire));
	assert_int_equal(knot_wire_get_rcode(wire), rcode);
	assert_int_equal(knot_wire_get_qdcount(wire), 1);
	/* Byte for byte, so the case of the name is the client's. */
	assert_memory_equal(wire + KNOT_WIRE_HEADER_SIZE, dname, dlen);
}

static void check_a(const uint8_t *wire, size_t len, const char *ip)
{
	uint8_t copy[KNOT_WIRE_MAX_PKTSIZE];
	knot_pkt_t *pkt = parse(wire, len, copy);
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	struct in_addr want;
	bool found = false;

	assert_int_equal(inet_pton(AF_INET, ip, &want), 1);
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);

		if (rr->type == KNOT_RRTYPE_A && rr->rrs.rdata->len == 4 &&
		    memcmp(rr->rrs.rdata->data, &want, 4) == 0)
			found = true;
	}
	knot_pkt_free(pkt);
	assert_true(found);
}

static void test_answer(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	uint8_t copy[KNOT_WIRE_MAX_PKTSIZE];
	struct forward_stats st;
	struct forwarder *f;
	knot_pkt_t *pkt;

	need_dnsmasq(fx);
	f = make_forwarder(fx, &fx->dns.port, 1);
	ask(fx, f, &r, 0x1234, "ExAmPlE.TeSt.", KNOT_RRTYPE_A, 1232, 1232);
	check_header(r.wire, r.len, 0x1234, "ExAmPlE.TeSt.", KNOT_RCODE_NOERROR);
	check_a(r.wire, r.len, "192.0.2.7");
	pkt = parse(r.wire, r.len, copy);
	assert_non_null(pkt->opt_rr);
	assert_int_equal(knot_edns_get_payload(pkt->opt_rr), 1232);
	assert_false(knot_wire_get_tc(r.wire));
	knot_pkt_free(pkt);

	/* Again, in another case and without EDNS: no OPT back. */
	ask(fx, f, &r, 0xbeef, "example.TEST.", KNOT_RRTYPE_A, 0, 512);
	check_header(r.wire, r.len, 0xbeef, "example.TEST.", KNOT_RCODE_NOERROR);
	check_a(r.wire, r.len, "192.0.2.7");
	pkt = parse(r.wire, r.len, copy);
	assert_null(pkt->opt_rr);
	knot_pkt_free(pkt);

	/* done is called once: nothing more arrives later. */
	run_loop(fx->base, NULL, 200);
	assert_int_equal(r.calls, 1);

	forwarder_stats(f, &st);
	assert_int_equal(st.queries, 2);
	assert_int_equal(st.answered, 2);
	assert_int_equal(st.failed, 0);
	forwarder_free(f);
}

static void test_nxdomain(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	uint8_t copy[KNOT_WIRE_MAX_PKTSIZE];
	struct forwarder *f;
	knot_pkt_t *pkt;

	need_dnsmasq(fx);
	f = make_forwarder(fx, &fx->dns.port, 1);
	ask(fx, f, &r, 7, "Gone.Nx.Test.", KNOT_RRTYPE_A, 1232, 1232);
	check_header(r.wire, r.len, 7, "Gone.Nx.Test.", KNOT_RCODE_NXDOMAIN);
	pkt = parse(r.wire, r.len, copy);
	assert_int_equal(knot_pkt_section(pkt, KNOT_ANSWER)->count, 0);
	knot_pkt_free(pkt);
	forwarder_free(f);
}

static void test_failover(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	double worst = 0;
	int slow = 0;
	uint16_t hole_port;
	int hole;

	need_dnsmasq(fx);
	hole = black_hole(&hole_port);
	/* A fresh forwarder each round: unbound knows nothing about the
	 * upstreams yet and picks one at random, so over the rounds the dead
	 * one is tried first in some (each round: one chance in two). */
	for (int round = 0; round < 8; round++) {
		uint16_t dead = free_port();
		uint16_t ports[2];
		struct forwarder *f;
		double ms;

		/* A refused port first or second, or a silent one. */
		ports[0] = round < 3 ? dead : round < 5 ? fx->dns.port : hole_port;
		ports[1] = round < 3 ? fx->dns.port : round < 5 ? dead : fx->dns.port;
		f = make_forwarder(fx, ports, 2);
		ms = ask(fx, f, &r, (uint16_t)(100 + round), "example.test.", KNOT_RRTYPE_A, 1232,
			 1232);
		check_header(r.wire, r.len, (uint16_t)(100 + round), "example.test.",
			     KNOT_RCODE_NOERROR);
		check_a(r.wire, r.len, "192.0.2.7");
		print_message("failover round %d (%s port): answered in %.0f ms\n", round,
			      round < 5 ? "refused" : "silent", ms);
		if (ms > worst)
			worst = ms;
		if (ms > 300)
			slow++;

		/* Once learnt, the dead upstream is not waited for again (that
		 * costs 400 ms). */
		ms = ask(fx, f, &r, 200, "Other.Nx.Test.", KNOT_RRTYPE_A, 0, 512);
		check_header(r.wire, r.len, 200, "Other.Nx.Test.", KNOT_RCODE_NXDOMAIN);
		if (ms >= 300)
			print_message("failover round %d: second query took %.0f ms\n", round, ms);
		assert_true(ms < 300);
		forwarder_free(f);
	}
	close(hole);
	print_message("failover: %d of 8 rounds tried the dead upstream first; worst %.0f ms\n",
		      slow, worst);
	assert_true(worst < 2000);
}

static void test_all_dead(void **state)
{
	struct fixture *fx = *state;
	static struct result r[2];
	struct forward_stats st;
	uint16_t hole_port;
	int hole = black_hole(&hole_port);
	uint16_t refused[2] = { free_port(), 0 };
	uint16_t silent[2] = { hole_port, refused[0] };
	struct forwarder *f[2];
	uint8_t q[2][512];
	size_t qlen[2];
	double start = now_ms();

	refused[1] = free_port();
	while (refused[1] == refused[0])
		refused[1] = free_port();
	/* Two refused ports, and a silent one with a refused one, side by side:
	 * unbound keeps retrying both; berth's deadline answers SERVFAIL. */
	f[0] = make_forwarder(fx, refused, 2);
	f[1] = make_forwarder(fx, silent, 2);
	qlen[0] = make_query(q[0], sizeof(q[0]), 0x5151, "Down.Example.", KNOT_RRTYPE_A, 1232);
	qlen[1] = make_query(q[1], sizeof(q[1]), 0x5252, "silent.example.", KNOT_RRTYPE_AAAA, 0);
	for (int i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].base = fx->base;
		forwarder_query(f[i], q[i], qlen[i], i ? 512 : 1232, on_done, &r[i]);
	}
	while ((r[0].calls == 0 || r[1].calls == 0) && now_ms() - start < WAIT_MS)
		run_loop(fx->base, NULL, 100);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[1].calls, 1);
	print_message("all upstreams refused: SERVFAIL in %.0f ms\n", r[0].at - start);
	print_message("silent and refused upstreams: SERVFAIL in %.0f ms\n", r[1].at - start);
	check_header(r[0].wire, r[0].len, 0x5151, "Down.Example.", KNOT_RCODE_SERVFAIL);
	check_header(r[1].wire, r[1].len, 0x5252, "silent.example.", KNOT_RCODE_SERVFAIL);
	assert_true(r[0].at - start < 6000);
	assert_true(r[1].at - start < 6000);
	forwarder_stats(f[0], &st);
	assert_int_equal(st.queries, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.answered, 0);
	forwarder_free(f[0]);
	forwarder_free(f[1]);
	close(hole);
}

/* Names unbound would answer itself: the ones a site's resolver may serve go
 * through to the upstream, localhost and .onion stay local. */
static void test_reserved_names(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	uint8_t copy[KNOT_WIRE_MAX_PKTSIZE];
	struct forwarder *f;
	knot_pkt_t *pkt;
	const knot_pktsection_t *an;

	need_dnsmasq(fx);
	f = make_forwarder(fx, &fx->dns.port, 1);
	ask(fx, f, &r, 1, "Printer.Home.Arpa.", KNOT_RRTYPE_A, 0, 512);
	check_header(r.wire, r.len, 1, "Printer.Home.Arpa.", KNOT_RCODE_NOERROR);
	check_a(r.wire, r.len, "192.168.0.1");

	ask(fx, f, &r, 2, "1.0.168.192.in-addr.arpa.", KNOT_RRTYPE_PTR, 0, 512);
	check_header(r.wire, r.len, 2, "1.0.168.192.in-addr.arpa.", KNOT_RCODE_NOERROR);
	pkt = parse(r.wire, r.len, copy);
	an = knot_pkt_section(pkt, KNOT_ANSWER);
	assert_int_equal(an->count, 1);
	assert_int_equal(knot_pkt_rr(an, 0)->type, KNOT_RRTYPE_PTR);
	knot_pkt_free(pkt);

	ask(fx, f, &r, 3, "localhost.", KNOT_RRTYPE_A, 0, 512);
	check_header(r.wire, r.len, 3, "localhost.", KNOT_RCODE_NOERROR);
	check_a(r.wire, r.len, "127.0.0.1");

	ask(fx, f, &r, 4, "hidden.onion.", KNOT_RRTYPE_A, 0, 512);
	check_header(r.wire, r.len, 4, "hidden.onion.", KNOT_RCODE_NXDOMAIN);
	forwarder_free(f);
}

static void test_cache(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	struct upstream own = { 0, 0 };
	struct forwarder *f;

	need_dnsmasq(fx);
	if (!start_dnsmasq(fx->dnsmasq, &own, AF_INET, 0))
		fail_msg("dnsmasq did not start");
	f = make_forwarder(fx, &own.port, 1);
	ask(fx, f, &r, 1, "example.test.", KNOT_RRTYPE_A, 0, 512);
	check_a(r.wire, r.len, "192.0.2.7");

	/* The upstream is gone; the answer is still known. */
	stop_upstream(&own);
	ask(fx, f, &r, 2, "EXAMPLE.test.", KNOT_RRTYPE_A, 0, 512);
	check_header(r.wire, r.len, 2, "EXAMPLE.test.", KNOT_RCODE_NOERROR);
	check_a(r.wire, r.len, "192.0.2.7");
	forwarder_free(f);
}

static void test_ipv6_upstream(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	struct upstream own = { 0, 0 };
	struct addr up;
	char err[256] = "";
	struct forwarder *f;

	need_dnsmasq(fx);
	if (!free_port_family(AF_INET6)) {
		print_message("skipped: no IPv6 loopback here\n");
		skip();
	}
	if (!start_dnsmasq(fx->dnsmasq, &own, AF_INET6, 0))
		fail_msg("dnsmasq did not start on ::1");
	up = loopback_family(AF_INET6, own.port);
	if (forwarder_new(fx->base, &up, 1, 1232, &f, err, sizeof(err)) != 0) {
		stop_upstream(&own);
		fail_msg("forwarder_new: %s", err);
	}
	ask(fx, f, &r, 0x6666, "V6.Example.Test.", KNOT_RRTYPE_A, 1232, 1232);
	stop_upstream(&own);
	check_header(r.wire, r.len, 0x6666, "V6.Example.Test.", KNOT_RCODE_NOERROR);
	check_a(r.wire, r.len, "192.0.2.7");
	forwarder_free(f);
}

static void test_recovery(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	struct upstream late = { 0, 0 };
	uint16_t port = free_port();
	struct forwarder *f;
	double ms;

	need_dnsmasq(fx);
	/* The only upstream is down: SERVFAIL, and unbound marks it slow. */
	f = make_forwarder(fx, &port, 1);
	ms = ask(fx, f, &r, 0x0a0a, "example.test.", KNOT_RRTYPE_A, 1232, 1232);
	check_header(r.wire, r.len, 0x0a0a, "example.test.", KNOT_RCODE_SERVFAIL);

	/* It comes back: the next query is answered, and soon. */
	if (!start_dnsmasq(fx->dnsmasq, &late, AF_INET, port))
		fail_msg("dnsmasq did not start again on port %u", (unsigned)port);
	ms = ask(fx, f, &r, 0x0b0b, "example.test.", KNOT_RRTYPE_A, 1232, 1232);
	print_message("upstream back after being down: answered in %.0f ms\n", ms);
	stop_upstream(&late);
	check_header(r.wire, r.len, 0x0b0b, "example.test.", KNOT_RCODE_NOERROR);
	check_a(r.wire, r.len, "192.0.2.7");
	assert_true(ms < 3000);
	forwarder_free(f);
}

static void test_truncation(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	uint8_t copy[KNOT_WIRE_MAX_PKTSIZE];
	struct forwarder *f;
	knot_pkt_t *pkt;
	const knot_pktsection_t *an;
	size_t txt = 0;

	need_dnsmasq(fx);
	f = make_forwarder(fx, &fx->dns.port, 1);

	/* Over 1232 bytes: dnsmasq truncates over UDP, unbound retries over TCP. */
	ask(fx, f, &r, 0x7777, "BIG.test.", KNOT_RRTYPE_TXT, 0, 65535);
	check_header(r.wire, r.len, 0x7777, "BIG.test.", KNOT_RCODE_NOERROR);
	assert_false(knot_wire_get_tc(r.wire));
	pkt = parse(r.wire, r.len, copy);
	an = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = 0; i < an->count; i++)
		txt += knot_pkt_rr(an, i)->rrs.count;
	assert_int_equal(txt, NTXT);
	assert_true(r.len > 1232);
	knot_pkt_free(pkt);

	/* The same answer for a client that takes 512 bytes: TC, no records. */
	ask(fx, f, &r, 0x7778, "Big.Test.", KNOT_RRTYPE_TXT, 0, 512);
	check_header(r.wire, r.len, 0x7778, "Big.Test.", KNOT_RCODE_NOERROR);
	assert_true(knot_wire_get_tc(r.wire));
	assert_true(r.len <= 512);
	assert_int_equal(knot_wire_get_ancount(r.wire), 0);
	assert_int_equal(knot_wire_get_nscount(r.wire), 0);
	assert_int_equal(knot_wire_get_arcount(r.wire), 0);

	/* With EDNS the OPT survives the truncation. */
	ask(fx, f, &r, 0x7779, "big.test.", KNOT_RRTYPE_TXT, 1232, 1232);
	check_header(r.wire, r.len, 0x7779, "big.test.", KNOT_RCODE_NOERROR);
	assert_true(knot_wire_get_tc(r.wire));
	assert_true(r.len <= 1232);
	assert_int_equal(knot_wire_get_ancount(r.wire), 0);
	pkt = parse(r.wire, r.len, copy);
	assert_non_null(pkt->opt_rr);
	knot_pkt_free(pkt);
	forwarder_free(f);
}

static void test_free_pending(void **state)
{
	struct fixture *fx = *state;
	static struct result r[3];
	uint16_t hole_port;
	int hole = black_hole(&hole_port);
	struct forwarder *f = make_forwarder(fx, &hole_port, 1);
	uint8_t q[512];

	/* Queries in flight when the forwarder goes: nobody is called back. */
	for (int i = 0; i < 3; i++) {
		char name[64];
		size_t qlen;

		snprintf(name, sizeof(name), "pending%d.example.", i);
		qlen = make_query(q, sizeof(q), (uint16_t)i, name, KNOT_RRTYPE_A, 1232);
		memset(&r[i], 0, sizeof(r[i]));
		r[i].base = fx->base;
		forwarder_query(f, q, qlen, 1232, on_done, &r[i]);
	}
	run_loop(fx->base, NULL, 300);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].calls, 0);
	forwarder_free(f);
	run_loop(fx->base, NULL, 300);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].calls, 0);
	close(hole);
}

static void test_bad_input(void **state)
{
	struct fixture *fx = *state;
	static struct result r;
	struct addr none[1];
	char err[128] = "";
	struct forwarder *f;
	uint16_t port = free_port();
	uint8_t q[512];
	size_t qlen;

	/* No upstream, no forwarder. */
	f = (struct forwarder *)1;
	assert_int_equal(forwarder_new(fx->base, none, 0, 1232, &f, err, sizeof(err)), -EINVAL);
	assert_null(f);
	assert_true(strlen(err) > 0);
	forwarder_free(NULL);

	/* Nothing is sent for these: the answers come at once. */
	f = make_forwarder(fx, &port, 1);
	memset(&r, 0, sizeof(r));
	r.base = fx->base;
	q[0] = 0xab;
	q[1] = 0xcd;
	forwarder_query(f, q, 5, 512, on_done, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.len, KNOT_WIRE_HEADER_SIZE);
	assert_int_equal(knot_wire_get_id(r.wire), 0xabcd);
	assert_int_equal(knot_wire_get_rcode(r.wire), KNOT_RCODE_FORMERR);

	/* A question count that lies. */
	qlen = make_query(q, sizeof(q), 0x0102, "example.test.", KNOT_RRTYPE_A, 0);
	knot_wire_set_qdcount(q, 2);
	memset(&r, 0, sizeof(r));
	forwarder_query(f, q, qlen, 512, on_done, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(knot_wire_get_id(r.wire), 0x0102);
	assert_int_equal(knot_wire_get_rcode(r.wire), KNOT_RCODE_FORMERR);

	/* Zone transfers are not forwarded. */
	qlen = make_query(q, sizeof(q), 0x0103, "Example.Test.", KNOT_RRTYPE_AXFR, 0);
	memset(&r, 0, sizeof(r));
	forwarder_query(f, q, qlen, 512, on_done, &r);
	assert_int_equal(r.calls, 1);
	check_header(r.wire, r.len, 0x0103, "Example.Test.", KNOT_RCODE_REFUSED);
	forwarder_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),         cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_reserved_names), cmocka_unit_test(test_cache),
		cmocka_unit_test(test_ipv6_upstream),  cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_failover),       cmocka_unit_test(test_all_dead),
		cmocka_unit_test(test_recovery),       cmocka_unit_test(test_free_pending),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
