/* SPDX-License-Identifier: MIT */
/* A growable, NULL-terminated vector of owned strings. */
#pragma once
#include <stddef.h>

struct strv {
	char **v;
	size_t n;
	size_t cap;
};

int strv_push(struct strv *s, const char *str);
void strv_clear(struct strv *s);
