/* SPDX-License-Identifier: MIT */
/* berth provision without I/O: command splitting, name rules and the plan. */
#include "provision/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

#define MAX_NAME 255

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int provision_split(const char *s, struct strv *out)
{
	size_t n = strlen(s);
	char *word = malloc(n + 1);
	struct strv tmp = { 0 };
	size_t w = 0;
	bool in_word = false;
	int ret = 0;

	if (word == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n;) {
		char ch = s[i];
		if (is_blank(ch)) {
			if (in_word) {
				word[w] = '\0';
				if ((ret = strv_push(&tmp, word)) < 0)
					goto out;
				w = 0;
				in_word = false;
			}
			i++;
		} else if (ch == '\\') {
			if (i + 1 >= n) {
				ret = BERTH_EPARSE; /* nothing left to escape */
				goto out;
			}
			/* \<newline> is a line continuation: it vanishes. */
			if (s[i + 1] != '\n') {
				word[w++] = s[i + 1];
				in_word = true;
			}
			i += 2;
		} else if (ch == '\'') {
			const char *end = strchr(s + i + 1, '\'');
			if (end == NULL) {
				ret = BERTH_EPARSE;
				goto out;
			}
			size_t len = (size_t)(end - (s + i + 1));
			memcpy(word + w, s + i + 1, len);
			w += len;
			in_word = true;
			i += len + 2;
		} else if (ch == '"') {
			i++;
			in_word = true;
			for (;;) {
				if (i >= n) {
					ret = BERTH_EPARSE;
					goto out;
				}
				if (s[i] == '"') {
					i++;
					break;
				}
				if (s[i] == '\\' && i + 1 < n &&
				    strchr("\"\\$`\n", s[i + 1]) != NULL) {
					if (s[i + 1] != '\n')
						word[w++] = s[i + 1];
					i += 2;
					continue;
				}
				word[w++] = s[i++];
			}
		} else {
			word[w++] = ch;
			in_word = true;
			i++;
		}
	}
	if (in_word) {
		word[w] = '\0';
		if ((ret = strv_push(&tmp, word)) < 0)
			goto out;
	}
	for (size_t i = 0; i < tmp.n; i++)
		if ((ret = strv_push(out, tmp.v[i])) < 0)
			goto out;
out:
	strv_clear(&tmp);
	free(word);
	return ret;
}

bool provision_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

const char *provision_kind_name(enum provision_kind k)
{
	static const char *const names[] = { "keep",   "start",   "create", "replace",
					     "remove", "foreign", "skip" };
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static const struct provision_container *find_container(const struct provision_container *cs,
							size_t ncs, const char *name)
{
	for (size_t i = 0; i < ncs; i++)
		if (cs[i].name && strcmp(cs[i].name, name) == 0)
			return &cs[i];
	return NULL;
}

static bool listed_before(const struct provision_listing *l, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return true;
	return false;
}

static void set_reason(struct provision_action *a, const char *fmt, const char *arg)
{
	snprintf(a->reason, sizeof(a->reason), fmt, arg);
}

/* The action for one listed name. */
static void plan_entry(const struct provision_entry *e, const struct provision_container *cs,
		       size_t ncs, bool adopt, struct provision_action *a)
{
	const struct provision_container *c;
	struct strv argv = { 0 };
	int ret;

	a->name = e->name;
	a->kind = PROVISION_SKIP;
	if (!provision_name_valid(e->name)) {
		set_reason(a, "not a valid container name%s", "");
		return;
	}
	if (e->cmdline == NULL) {
		set_reason(a, "%s", e->problem ? e->problem : "no command record");
		return;
	}
	a->cmdline = e->cmdline;
	ret = provision_split(e->cmdline, &argv);
	if (ret < 0 || argv.n == 0 || argv.v[0][0] == '\0') {
		set_reason(a, "%s",
			   ret == -ENOMEM ? "out of memory" :
			   ret < 0        ? "unparsable command (unterminated quote or "
					    "trailing backslash)" :
					    "empty command (no image)");
		strv_clear(&argv);
		return;
	}
	strv_clear(&argv);
	c = find_container(cs, ncs, e->name);
	if (c == NULL) {
		a->kind = PROVISION_CREATE;
		set_reason(a, "absent%s", "");
		return;
	}
	a->id = c->id;
	if (c->label == NULL) {
		a->kind = adopt ? PROVISION_REPLACE : PROVISION_FOREIGN;
		set_reason(a, "%s",
			   adopt ? "adopted: the container had no provision label" :
				   "a container without the provision label has this name "
				   "(--adopt takes it over)");
	} else if (strcmp(c->label, e->cmdline) != 0) {
		a->kind = PROVISION_REPLACE;
		set_reason(a, "command changed from \"%.100s\"", c->label);
	} else if (!c->running) {
		a->kind = PROVISION_START;
		set_reason(a, "as listed, but stopped%s", "");
	} else {
		a->kind = PROVISION_KEEP;
		set_reason(a, "as listed%s", "");
	}
}

int provision_plan(const struct provision_listing *l, const struct provision_container *cs,
		   size_t ncs, bool adopt, struct provision_action **out, size_t *nout)
{
	struct provision_action *v = calloc(l->n + ncs + 1, sizeof(*v));
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		if (listed_before(l, i, l->v[i].name))
			continue;
		plan_entry(&l->v[i], cs, ncs, adopt, &v[n++]);
	}
	for (size_t i = 0; i < ncs; i++) {
		const struct provision_container *c = &cs[i];
		bool listed = false;
		if (c->label == NULL || c->name == NULL)
			continue;
		for (size_t j = 0; j < l->n && !listed; j++)
			listed = strcmp(l->v[j].name, c->name) == 0;
		if (listed)
			continue;
		struct provision_action *a = &v[n++];
		a->name = c->name;
		a->id = c->id;
		if (l->complete) {
			a->kind = PROVISION_REMOVE;
			set_reason(a, "no longer listed%s", "");
		} else {
			a->kind = PROVISION_SKIP;
			set_reason(a, "not listed, but the listing is incomplete: not removed%s",
				   "");
		}
	}
	*out = v;
	*nout = n;
	return 0;
}
