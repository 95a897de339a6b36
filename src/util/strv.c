/* SPDX-License-Identifier: MIT */
/* A growable, NULL-terminated vector of owned strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/strv.h"

int strv_push(struct strv *s, const char *str)
{
	char *dup;

	if (!s || !str)
		return -EINVAL;
	/* Room for the new string and the terminating NULL. */
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	dup = strdup(str);
	if (!dup)
		return -ENOMEM;
	s->v[s->n++] = dup;
	s->v[s->n] = NULL;
	return 0;
}

void strv_clear(struct strv *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->cap = 0;
}
