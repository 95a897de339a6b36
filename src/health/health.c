/* SPDX-License-Identifier: MIT */
/* `berth health [--http ADDR:PORT] [--timeout SECONDS]`: GET /health of the
 * berth listening there (the same option, variable and default as `berth
 * serve --http`), exit 0 only when it says it is healthy. No curl needed in an
 * image: HEALTHCHECK CMD ["berth", "health"]. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "conf/optparse.h"
#include "health/health.h"
#include "util/addr.h"
#include "util/err.h"

#define MAX_ANSWER 65536

struct health_conf {
	struct addr http;
	unsigned timeout; /* seconds */
};

static int set_http(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct health_conf *c = conf;
	if (addr_parse(&c->http, v, 8053) < 0)
		return optparse_why(why, n,
				    "is not an address with a port (127.0.0.1:8053 or [::1]:8053)");
	return 0;
}

static const struct optparse_opt opts[] = {
	{ .name = "http",
	  .arg = "ADDR:PORT",
	  .def = "127.0.0.1:8053",
	  .help = "Where the berth to ask serves HTTP (its --http; 0.0.0.0 and :: are asked "
		  "on loopback).",
	  .kind = OPTPARSE_FUNC,
	  .set = set_http },
	{ .name = "timeout",
	  .arg = "SECONDS",
	  .def = "3",
	  .help = "Give up when no whole answer came within this long.",
	  .kind = OPTPARSE_NUM,
	  OPTPARSE_AT(struct health_conf, timeout),
	  .min = 1,
	  .max = 300,
	  .what = "a number of seconds" },
};

static const struct optparse_cmd health_cmd = {
	.usage = "berth health [OPTION]...",
	.about = "Ask a running berth whether it is healthy (GET /health): exit 0 when it is,\n"
		 "1 when it is not or does not answer, with the reason on stderr.\n",
	.opts = opts,
	.nopts = sizeof(opts) / sizeof(opts[0]),
};

/* A wildcard address is asked on the loopback of its family. */
static void to_loopback(struct addr *a)
{
	if (!addr_is_any(a))
		return;
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_addr = in6addr_loopback;
}

/* The whole answer of GET /health into buf (NUL-terminated). 0, or a negative code with err. */
static int fetch(const struct health_conf *c, char *buf, size_t len, char *err, size_t errlen)
{
	char text[80];
	struct timeval tv = { .tv_sec = (time_t)c->timeout };
	int fd = socket(c->http.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_fail(err, errlen, -errno, "cannot make a socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	const char *where = addr_str(&c->http, text, sizeof(text));
	if (connect(fd, (const struct sockaddr *)&c->http.ss, c->http.len) != 0) {
		int e = errno;
		close(fd);
		return berth_fail(err, errlen, -e, "no berth answers HTTP on %s: %s", where,
				  strerror(e));
	}
	/* Host is the address asked: berth's HTTP refuses any other (DNS rebinding). */
	char req[160];
	int rlen = snprintf(req, sizeof(req),
			    "GET /health HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", where);
	size_t got = 0;
	int ret = 0;
	if (rlen < 0 || (size_t)rlen >= sizeof(req) ||
	    send(fd, req, (size_t)rlen, MSG_NOSIGNAL) != (ssize_t)rlen) {
		ret = berth_fail(err, errlen, -EIO, "cannot ask %s: %s", where, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf + got, len - 1 - got, 0);
		if (n == 0)
			break;
		if (n < 0) {
			ret = berth_fail(err, errlen, -errno, "no whole answer from %s: %s", where,
					 errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		got += (size_t)n;
		if (got == len - 1) {
			ret = berth_fail(err, errlen, -EFBIG, "the answer of %s is too long",
					 where);
			goto out;
		}
	}
out:
	buf[got] = '\0';
	close(fd);
	return ret;
}

int health_main(int argc, char **argv)
{
	struct health_conf c = { .timeout = 3 };
	char err[300];
	bool exited;
	if (addr_parse(&c.http, "127.0.0.1:8053", 8053) < 0 ||
	    optparse_parse(&health_cmd, &c, argc, argv, &exited, err, sizeof(err)) < 0) {
		fprintf(stderr, "berth health: %s\n", err);
		return 2;
	}
	if (exited)
		return 0;
	to_loopback(&c.http);
	static char buf[MAX_ANSWER];
	if (fetch(&c, buf, sizeof(buf), err, sizeof(err)) < 0) {
		fprintf(stderr, "berth health: %s\n", err);
		return 1;
	}
	int status = 0;
	const char *body = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/%*d.%*d %d", &status) != 1 || body == NULL) {
		fprintf(stderr, "berth health: not an HTTP answer\n");
		return 1;
	}
	body += 4;
	bool healthy = status == 200 && strstr(body, "\"status\":\"healthy\"") != NULL;
	size_t blen = strcspn(body, "\r\n");
	if (!healthy) {
		fprintf(stderr, "berth health: not healthy (HTTP %d): %.*s\n", status,
			blen > 500 ? 500 : (int)blen, body);
		return 1;
	}
	printf("healthy\n");
	return 0;
}
