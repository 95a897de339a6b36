/* SPDX-License-Identifier: MIT */
/* Unit tests of the HTTP client against an in-process evhttp server on 127.0.0.1: methods,
 * bodies and headers, streams seen line by line as they arrive, body limits, endpoint
 * failover and cancelling a stream. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "net/http_client.h"

#define TOKEN "Authorization: token-4711"
#define BODY "{\"key\":\"a2V5\",\"value\":\"dmFs\"}"
#define STREAM_LINES 3
#define BIG_LEN 10000

/* The server side: evhttp on the test's own loop. */
struct server {
	struct event_base *base;
	struct evhttp *http;
	int port;
	char url[64];
	unsigned hits;
	/* the stream being served */
	struct evhttp_request *sreq;
	struct event *tick;
	unsigned sent;    /* lines sent so far */
	unsigned limit;   /* lines to send before the end; 0 = until the client goes */
	bool client_gone; /* the stream's connection closed */
	char stream_body[128];
};

static struct server srv;

static void reply(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, text, strlen(text));
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad", b);
	evbuffer_free(b);
}

static void body_of(struct evhttp_request *req, char *out, size_t outlen)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	if (n >= outlen)
		n = outlen - 1;
	evbuffer_remove(in, out, n);
	out[n] = '\0';
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	char line[32];
	if (srv.sreq == NULL)
		return;
	int n = snprintf(line, sizeof(line), "line %u\n", ++srv.sent);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, line, (size_t)n);
	evhttp_send_reply_chunk(srv.sreq, b);
	evbuffer_free(b);
	if (srv.limit && srv.sent >= srv.limit) {
		evhttp_send_reply_end(srv.sreq);
		srv.sreq = NULL;
		return;
	}
	struct timeval tv = { 0, 60 * 1000 };
	evtimer_add(srv.tick, &tv);
}

static void on_stream_closed(struct evhttp_connection *conn, void *arg)
{
	srv.client_gone = true;
	/* A reply in progress when the client went is ours to end (which frees it) once libevent
	 * has let go of it; while still attached, libevent frees it with the connection. */
	if (srv.sreq && evhttp_request_get_connection(srv.sreq) == NULL)
		evhttp_send_reply_end(srv.sreq);
	srv.sreq = NULL;
	evtimer_del(srv.tick);
}

static void start_stream(struct evhttp_request *req, unsigned limit)
{
	body_of(req, srv.stream_body, sizeof(srv.stream_body));
	srv.sreq = req;
	srv.sent = 0;
	srv.limit = limit;
	srv.client_gone = false;
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_stream_closed, NULL);
	evhttp_send_reply_start(req, 200, "OK");
	struct timeval tv = { 0, 60 * 1000 };
	evtimer_add(srv.tick, &tv);
}

static void handle(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char body[4096], out[4200];

	srv.hits++;
	if (strcmp(uri, "/hello") == 0 && cmd == EVHTTP_REQ_GET) {
		reply(req, 200, "hello");
	} else if (strcmp(uri, "/v9/hello") == 0) {
		reply(req, 200, "prefixed");
	} else if (strcmp(uri, "/echo") == 0) {
		const char *auth = evhttp_find_header(h, "Authorization");
		const char *ct = evhttp_find_header(h, "Content-Type");
		body_of(req, body, sizeof(body));
		if (cmd != EVHTTP_REQ_POST)
			reply(req, 400, "not a POST");
		else if (auth == NULL || strcmp(auth, "token-4711") != 0)
			reply(req, 401, "no token");
		else if (ct == NULL || strcmp(ct, "application/json") != 0)
			reply(req, 400, "not JSON");
		else if (strcmp(body, BODY) != 0)
			reply(req, 400, "wrong body");
		else {
			snprintf(out, sizeof(out), "got %s", body);
			reply(req, 200, out);
		}
	} else if (strcmp(uri, "/method") == 0) {
		body_of(req, body, sizeof(body));
		snprintf(out, sizeof(out), "%s %s",
			 cmd == EVHTTP_REQ_PUT    ? "PUT" :
			 cmd == EVHTTP_REQ_DELETE ? "DELETE" :
						    "other",
			 body);
		reply(req, 200, out);
	} else if (strcmp(uri, "/big") == 0) {
		char *big = malloc(BIG_LEN + 1);
		memset(big, 'x', BIG_LEN);
		big[BIG_LEN] = '\0';
		reply(req, 200, big);
		free(big);
	} else if (strcmp(uri, "/watch") == 0 && cmd == EVHTTP_REQ_POST) {
		start_stream(req, STREAM_LINES);
	} else if (strcmp(uri, "/forever") == 0) {
		start_stream(req, 0);
	} else {
		reply(req, 404, "no such thing");
	}
}

static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd); /* nothing listens there now: connecting is refused */
	return ntohs(a.sin_port);
}

static int setup(void **state)
{
	memset(&srv, 0, sizeof(srv));
	srv.base = event_base_new();
	srv.http = evhttp_new(srv.base);
	srv.tick = evtimer_new(srv.base, on_tick, NULL);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
	if (bs == NULL)
		return -1;
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&a, &alen);
	srv.port = ntohs(a.sin_port);
	snprintf(srv.url, sizeof(srv.url), "http://127.0.0.1:%d", srv.port);
	evhttp_set_gencb(srv.http, handle, NULL);
	return 0;
}

static void run_for(int ms);

static int teardown(void **state)
{
	/* Let the server see the client's connections close, so it frees their requests. */
	run_for(100);
	evtimer_del(srv.tick);
	evhttp_free(srv.http); /* may call on_stream_closed: the timer must still be there */
	event_free(srv.tick);
	event_base_free(srv.base);
	return 0;
}

/* ---- the client side ---- */

struct result {
	int calls;
	int err;
	int status;
	char body[16384];
	size_t len;
	char endpoint[64];
	struct hc_req *req;
};

static void on_body(int err, int status, const char *body, size_t len, void *arg)
{
	struct result *r = arg;
	r->calls++;
	r->err = err;
	r->status = status;
	r->len = len;
	snprintf(r->body, sizeof(r->body), "%s", body);
	snprintf(r->endpoint, sizeof(r->endpoint), "%s", hc_req_endpoint(r->req));
}

static bool timed_out;
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	timed_out = true;
}

/* Run the loop until *done or ms pass; false on the deadline. */
static bool run_until(const int *done, int ms)
{
	struct event *t = evtimer_new(srv.base, on_deadline, NULL);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	timed_out = false;
	evtimer_add(t, &tv);
	while (!*done && !timed_out)
		event_base_loop(srv.base, EVLOOP_ONCE);
	event_free(t);
	return *done;
}

static void run_for(int ms)
{
	int never = 0;
	run_until(&never, ms);
}

static struct hc_client *client_of(const char *const *eps, size_t n)
{
	struct hc_conf conf = { .endpoints = eps, .n_endpoints = n, .connect_ms = 2000 };
	struct hc_client *c = NULL;
	char err[256];
	int rc = hc_client_new(srv.base, &conf, &c, err, sizeof(err));
	if (rc < 0)
		fail_msg("hc_client_new: %d %s", rc, err);
	return c;
}

static struct hc_client *client(void)
{
	const char *eps[] = { srv.url };
	return client_of(eps, 1);
}

static void test_get(void **state)
{
	struct hc_client *c = client();
	struct result r = { 0 };
	r.req = hc_get(c, "/hello", on_body, &r);
	assert_non_null(r.req);
	assert_int_equal(hc_client_active(c), 1);
	assert_true(run_until(&r.calls, 5000));
	run_for(50);
	assert_int_equal(r.calls, 1); /* exactly once */
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_int_equal(r.len, 5);
	assert_int_equal(hc_client_active(c), 0);
	/* a prefix goes before the path */
	assert_int_equal(hc_client_set_prefix(c, "/v9"), 0);
	assert_int_equal(hc_client_set_prefix(c, "v9"), -EINVAL);
	assert_int_equal(hc_client_set_prefix(c, "/a?b"), -EINVAL);
	memset(&r, 0, sizeof(r));
	r.req = hc_get(c, "/hello", on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_string_equal(r.body, "prefixed");
	hc_client_set_prefix(c, NULL);
	/* an unknown path is an HTTP status, not an error */
	memset(&r, 0, sizeof(r));
	r.req = hc_get(c, "/nothing", on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "no such thing");
	hc_client_free(c);
}

static void test_post_body_and_header(void **state)
{
	struct hc_client *c = client();
	const char *headers[] = { TOKEN, NULL };
	struct hc_opts o = { .method = "POST", .body = BODY, .headers = headers };
	struct result r = { 0 };
	r.req = hc_send(c, "/echo", &o, on_body, &r);
	assert_non_null(r.req);
	assert_true(run_until(&r.calls, 5000));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "got " BODY);

	/* the server does check: without the header it refuses */
	struct hc_opts bare = { .body = BODY }; /* a body alone means POST */
	memset(&r, 0, sizeof(r));
	r.req = hc_send(c, "/echo", &bare, on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 401);

	/* other methods, with and without a body */
	struct hc_opts put = { .method = "PUT", .body = "v1", .content_type = "text/plain" };
	memset(&r, 0, sizeof(r));
	r.req = hc_send(c, "/method", &put, on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_string_equal(r.body, "PUT v1");
	memset(&r, 0, sizeof(r));
	r.req = hc_request(c, "DELETE", "/method", NULL, on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_string_equal(r.body, "DELETE ");

	/* headers that could smuggle another header are refused, with no callback */
	const char *evil[] = { "X-A: 1\r\nX-B: 2", NULL };
	struct hc_opts bad = { .headers = evil };
	assert_null(hc_send(c, "/hello", &bad, on_body, &r));
	const char *nocolon[] = { "X-A", NULL };
	bad.headers = nocolon;
	assert_null(hc_send(c, "/hello", &bad, on_body, &r));
	assert_int_equal(hc_client_active(c), 0);
	hc_client_free(c);
}

struct stream {
	int opened, lines, ended;
	int end_err, end_status;
	char end_msg[64];
	unsigned sent_at[16]; /* lines the server had sent when each one arrived */
	char line[16][32];
	int cancel_after;
	struct hc_req *req;
};

static void s_open(void *arg)
{
	((struct stream *)arg)->opened++;
}

static void s_line(const char *line, size_t len, void *arg)
{
	struct stream *s = arg;
	if (s->lines < 16) {
		s->sent_at[s->lines] = srv.sent;
		snprintf(s->line[s->lines], sizeof(s->line[0]), "%s", line);
	}
	s->lines++;
	if (s->cancel_after && s->lines == s->cancel_after)
		hc_cancel(s->req);
}

static void s_end(int err, int status, const char *msg, void *arg)
{
	struct stream *s = arg;
	s->ended++;
	s->end_err = err;
	s->end_status = status;
	snprintf(s->end_msg, sizeof(s->end_msg), "%s", msg);
}

static void test_stream_post_lines_as_they_come(void **state)
{
	struct hc_client *c = client();
	struct hc_opts o = { .method = "POST", .body = "{\"create_request\":{}}" };
	struct stream s = { 0 };
	s.req = hc_stream(c, "/watch", &o, s_open, s_line, s_end, &s);
	assert_non_null(s.req);
	assert_true(run_until(&s.ended, 5000));
	assert_int_equal(s.opened, 1);
	assert_int_equal(s.lines, STREAM_LINES);
	assert_int_equal(s.ended, 1);
	assert_int_equal(s.end_err, 0);
	assert_int_equal(s.end_status, 0);
	assert_string_equal(srv.stream_body, "{\"create_request\":{}}");
	for (int i = 0; i < STREAM_LINES; i++) {
		char want[32];
		snprintf(want, sizeof(want), "line %d", i + 1);
		assert_string_equal(s.line[i], want);
		/* Line i+1 arrived before the server sent line i+2: not buffered to the end. */
		assert_int_equal(s.sent_at[i], i + 1);
	}
	/* a refused stream is no error: its HTTP status, and the body as the message */
	memset(&s, 0, sizeof(s));
	s.req = hc_stream(c, "/nothing", NULL, s_open, s_line, s_end, &s);
	assert_true(run_until(&s.ended, 5000));
	assert_int_equal(s.opened, 0);
	assert_int_equal(s.lines, 0);
	assert_int_equal(s.end_err, 0);
	assert_int_equal(s.end_status, 404);
	assert_string_equal(s.end_msg, "no such thing");
	hc_client_free(c);
}

static void test_body_limit(void **state)
{
	struct hc_client *c = client();
	struct hc_opts small = { .max_body = 1000 };
	struct hc_opts enough = { .max_body = BIG_LEN };
	struct result r = { 0 };

	r.req = hc_send(c, "/big", &small, on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_int_equal(r.err, -EFBIG);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.body, "limit of 1000 bytes"));
	run_for(50);
	assert_int_equal(r.calls, 1);

	memset(&r, 0, sizeof(r));
	r.req = hc_send(c, "/big", &enough, on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, BIG_LEN);

	/* a stream line over the limit ends a strict stream */
	struct hc_opts strict = { .method = "POST", .max_body = 4, .flags = HC_STRICT_LINES };
	struct stream s = { 0 };
	s.req = hc_stream(c, "/watch", &strict, s_open, s_line, s_end, &s);
	assert_true(run_until(&s.ended, 5000));
	assert_int_equal(s.end_err, -EFBIG);
	assert_int_equal(s.end_status, 0);
	assert_int_equal(s.lines, 0);
	hc_client_free(c);
}

static void test_failover(void **state)
{
	char dead[64];
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", closed_port());
	const char *eps[] = { dead, "unix:///nonexistent/berth-test.sock", srv.url };
	struct hc_client *c = client_of(eps, 3);
	struct result r = { 0 };

	assert_string_equal(hc_client_endpoint(c), dead);
	r.req = hc_get(c, "/hello", on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.endpoint, srv.url);
	assert_string_equal(hc_client_endpoint(c), srv.url);
	assert_int_equal(hc_client_endpoint_index(c), 2);

	/* the next request goes straight to the one that worked */
	unsigned hits = srv.hits;
	memset(&r, 0, sizeof(r));
	r.req = hc_get(c, "/hello", on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(srv.hits, hits + 1);

	/* a stream broken by the caller restarts elsewhere: skip wraps to the first, dead one,
	 * and the stream still opens on the live one */
	assert_string_equal(hc_client_skip(c), dead);
	struct stream s = { 0 };
	s.req = hc_stream(c, "/watch", &(struct hc_opts){ .method = "POST" }, s_open, s_line, s_end,
			  &s);
	assert_true(run_until(&s.ended, 5000));
	assert_int_equal(s.opened, 1);
	assert_int_equal(s.lines, STREAM_LINES);
	assert_string_equal(hc_client_endpoint(c), srv.url);
	hc_client_free(c);

	/* every endpoint down: one callback, the last error */
	const char *none[] = { dead, dead };
	c = client_of(none, 2);
	memset(&r, 0, sizeof(r));
	r.req = hc_get(c, "/hello", on_body, &r);
	assert_true(run_until(&r.calls, 5000));
	run_for(50);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.err, -ECONNREFUSED);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.body, "cannot connect to"));
	hc_client_free(c);
}

static void test_cancel_stream(void **state)
{
	struct hc_client *c = client();
	struct stream s = { .cancel_after = 2 };
	s.req = hc_stream(c, "/forever", NULL, s_open, s_line, s_end, &s);
	assert_non_null(s.req);
	for (int i = 0; s.lines < 2; i++) {
		if (i > 250)
			fail_msg("no two lines in 5 s");
		run_for(20);
	}
	assert_int_equal(hc_client_active(c), 0); /* gone at once */
	run_for(300);                             /* the server goes on ticking... */
	assert_int_equal(s.lines, 2);             /* ...but nothing more arrives */
	assert_int_equal(s.ended, 0);             /* and no end callback */
	assert_true(srv.client_gone);             /* the connection was closed */

	/* cancel outside a callback, and of a request still connecting */
	memset(&s, 0, sizeof(s));
	s.req = hc_stream(c, "/forever", NULL, s_open, s_line, s_end, &s);
	hc_cancel(s.req);
	assert_int_equal(hc_client_active(c), 0);
	run_for(200);
	assert_int_equal(s.opened + s.lines + s.ended, 0);
	hc_client_free(c);
}

static void test_conf_errors(void **state)
{
	struct hc_client *c = NULL;
	char err[256];
	const char *bad[] = { "ftp://x" };
	struct hc_conf conf = { .endpoints = bad, .n_endpoints = 1, .what = "etcd" };
	assert_int_equal(hc_client_new(srv.base, &conf, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "etcd endpoint ftp://x: not supported"));
	const char *plain[] = { "http://127.0.0.1:1" };
	conf = (struct hc_conf){ .endpoints = plain, .n_endpoints = 1, .tls_ca = "/etc/hostname" };
	assert_int_equal(hc_client_new(srv.base, &conf, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "plain http://"));
	const char *tls[] = { "https://127.0.0.1:1/" };
	conf = (struct hc_conf){ .endpoints = tls, .n_endpoints = 1, .tls_ca = "/nonexistent" };
	assert_int_equal(hc_client_new(srv.base, &conf, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "TLS CA /nonexistent"));
	conf.tls_ca = NULL;
	assert_int_equal(hc_client_new(srv.base, &conf, &c, err, sizeof(err)), 0);
	assert_string_equal(hc_client_describe(c), "https://127.0.0.1:1 (TLS, CA system store)");
	hc_client_free(c);
	conf.n_endpoints = 0;
	assert_int_equal(hc_client_new(srv.base, &conf, &c, err, sizeof(err)), -EINVAL);
}

static void test_urlencode(void **state)
{
	char out[16];
	assert_int_equal(hc_urlencode("a b/{c}", out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b%2F%7Bc%7D");
	assert_int_equal(hc_urlencode("{{{{{{", out, sizeof(out)), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_body_and_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_post_lines_as_they_come, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_errors, setup, teardown),
		cmocka_unit_test(test_urlencode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
