/* SPDX-License-Identifier: MIT */
/* Levelled logging to stderr, as text lines or one JSON object per line. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define MSG_MAX 2048
#define LINE_MAX_ 16384 /* room for MSG_MAX bytes escaped as JSON */

static const char *const names[] = { "error", "warn", "info", "debug" };

/* Set once at start-up, read by every thread: plain ints behind relaxed
 * atomics are enough. */
static int threshold = LOG_INFO;
static int json_fmt;

int log_level_parse(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

void log_setup(enum log_level level, int json)
{
	if ((int)level < LOG_ERROR)
		level = LOG_ERROR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	__atomic_store_n(&threshold, (int)level, __ATOMIC_RELAXED);
	__atomic_store_n(&json_fmt, json ? 1 : 0, __ATOMIC_RELAXED);
}

int log_enabled(enum log_level level)
{
	return (int)level <= __atomic_load_n(&threshold, __ATOMIC_RELAXED);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Messages may quote hostile input (file lines, names from Docker): in place,
 * invalid UTF-8 becomes '?', and for text output control characters too, so one
 * message is always one clean line. */
static void sanitize(char *s, bool text)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		size_t len = utf8_len((const unsigned char *)s + i, n - i);

		if (len == 0) {
			s[i++] = '?';
			continue;
		}
		if (text && len == 1 && (ch < 0x20 || ch == 0x7f) && ch != '\t')
			s[i] = '?';
		i += len;
	}
}

/* Append src to dst at *off, never past cap; returns false when truncated. */
static bool put(char *dst, size_t cap, size_t *off, const char *src)
{
	size_t n = strlen(src);
	bool fits = *off + n < cap;

	if (!fits)
		n = cap - 1 - *off;
	memcpy(dst + *off, src, n);
	*off += n;
	dst[*off] = '\0';
	return fits;
}

static size_t format_json(char *line, size_t cap, const char *ts, const char *level,
			  const char *module, const char *msg)
{
	json_t *o;
	size_t n = 0;

	o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level, "module", module, "msg",
		      msg);
	if (o)
		n = json_dumpb(o, line, cap - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0 || n >= cap - 1) {
		/* Out of memory or too long even after truncating msg: say so, in JSON. */
		n = (size_t)snprintf(line, cap,
				     "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"log\","
				     "\"msg\":\"message could not be formatted\"}",
				     ts, level);
		if (n >= cap - 1)
			n = cap - 2;
	}
	line[n++] = '\n';
	return n;
}

/* One call site's warnings or errors in the current window. */
struct repeat {
	const void *fmt; /* the call site's format: compared, never read */
	char module[32];
	double start; /* monotonic seconds the window began */
	unsigned sent;
	unsigned held;
};

#define REPEAT_SLOTS 64
static struct repeat repeats[REPEAT_SLOTS];
static pthread_mutex_t repeat_lock = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* May this line of module and fmt go out? *held: how many like it were held
 * back in the window that just ended (to be said first); *first_held: this is
 * the first held back in this window (to be said once). */
static bool repeat_ok(const char *module, const char *fmt, unsigned *held, bool *first_held)
{
	double now = now_s();
	struct repeat *r = NULL, *oldest = &repeats[0];
	bool ok;

	*held = 0;
	*first_held = false;
	pthread_mutex_lock(&repeat_lock);
	for (size_t i = 0; i < REPEAT_SLOTS; i++) {
		struct repeat *x = &repeats[i];
		if (x->fmt == fmt && strncmp(x->module, module, sizeof(x->module) - 1) == 0) {
			r = x;
			break;
		}
		/* else the slot to take: an empty one, or the oldest window */
		if (oldest->fmt != NULL && (x->fmt == NULL || x->start < oldest->start))
			oldest = x;
	}
	if (r == NULL) {
		r = oldest;
		*r = (struct repeat){ .fmt = fmt, .start = now };
		snprintf(r->module, sizeof(r->module), "%s", module);
	} else if (now - r->start >= LOG_REPEAT_WINDOW_S) {
		*held = r->held;
		r->start = now;
		r->sent = 0;
		r->held = 0;
	}
	ok = r->sent < LOG_REPEAT_MAX;
	if (ok)
		r->sent++;
	else
		*first_held = r->held++ == 0;
	pthread_mutex_unlock(&repeat_lock);
	return ok;
}

/* Write one message as a line. */
static void emit(enum log_level level, const char *module, const char *msg_in)
{
	char msg[MSG_MAX], line[LINE_MAX_], ts[32];
	const char *lname = names[level];
	int json = __atomic_load_n(&json_fmt, __ATOMIC_RELAXED);
	struct tm tm;
	time_t now;
	size_t n = 0;

	snprintf(msg, sizeof(msg), "%s", msg_in);
	sanitize(msg, !json);

	now = time(NULL);
	if (!gmtime_r(&now, &tm) || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(ts, "1970-01-01T00:00:00Z");

	if (json) {
		char mod[128];

		snprintf(mod, sizeof(mod), "%s", module);
		sanitize(mod, false);
		n = format_json(line, sizeof(line), ts, lname, mod, msg);
	} else {
		put(line, sizeof(line) - 1, &n, ts);
		put(line, sizeof(line) - 1, &n, " ");
		put(line, sizeof(line) - 1, &n, lname);
		put(line, sizeof(line) - 1, &n, " ");
		put(line, sizeof(line) - 1, &n, module);
		put(line, sizeof(line) - 1, &n, ": ");
		put(line, sizeof(line) - 1, &n, msg);
		line[n++] = '\n';
	}

	/* One write per line so that lines of concurrent threads never interleave. */
	for (size_t off = 0; off < n;) {
		ssize_t w = write(STDERR_FILENO, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char msg[MSG_MAX];
	int saved = errno;
	va_list ap;

	if ((int)level < LOG_ERROR || level > LOG_DEBUG || !log_enabled(level))
		goto out;
	if (!module)
		module = "berth";
	if (level <= LOG_WARN && fmt != NULL) {
		unsigned held;
		bool first_held;
		bool ok = repeat_ok(module, fmt, &held, &first_held);
		if (held > 0) {
			snprintf(msg, sizeof(msg),
				 "%u more lines like the next were not logged in the last %d s",
				 held, LOG_REPEAT_WINDOW_S);
			emit(level, module, msg);
		}
		if (first_held) {
			snprintf(msg, sizeof(msg),
				 "%d lines like the last in %d s: more are held back and counted",
				 LOG_REPEAT_MAX, LOG_REPEAT_WINDOW_S);
			emit(level, module, msg);
		}
		if (!ok)
			goto out;
	}

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) >= (int)sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	va_end(ap);
	emit(level, module, msg);
out:
	errno = saved;
}
