/* SPDX-License-Identifier: MIT */
/* Levelled logging to stderr, as text or one JSON object per line. */
#pragma once

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Parse "error|warn|info|debug"; returns the level or -1. */
int log_level_parse(const char *s);
/* Set the threshold and the format (json != 0 for JSON lines). Thread-safe to call once at start. */
void log_setup(enum log_level level, int json);
int log_enabled(enum log_level level);

/* Bad lines of one file logged on each read of it; then one line with the count. */
#define LOG_BAD_LINES 10
/* Warnings and errors from one place (module and format) go out at most
 * LOG_REPEAT_MAX times in LOG_REPEAT_WINDOW_S seconds; the rest are counted, and
 * the count is logged with the first one let through again. */
#define LOG_REPEAT_MAX 10
#define LOG_REPEAT_WINDOW_S 60

/* log_msg(LOG_WARN, "hosts", "bad line %d", n): module names the part of berth speaking. */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...)                                   \
	do {                                                  \
		if (log_enabled(LOG_DEBUG))                   \
			log_msg(LOG_DEBUG, mod, __VA_ARGS__); \
	} while (0)
