/* SPDX-License-Identifier: MIT */
/* berth provision without I/O: shell-style splitting of a command record, container name rules,
 * and the plan that turns a DNS listing and the engine's containers into actions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/strv.h"

/* The labels that mark a container as provisioned: berth's own, and the seed's
 * (docker-dns-provision). Either holds the TXT command line the container was made from. */
#define PROVISION_LABEL "berth.provision"
#define PROVISION_SEED_LABEL "docker-dns-provision.command"
/* The zone a container was provisioned from: a container of another zone is not ours (several
 * zones, or several berth provision runs, may share one engine). */
#define PROVISION_ZONE_LABEL "berth.provision.zone"

/* Split s as a POSIX shell splits words, without any expansion: blanks separate words, '...'
 * keeps everything literally, "..." keeps everything but \" \\ \$ \` and \<newline>, a backslash
 * outside quotes escapes the next character (and \<newline> vanishes). "" and '' make an empty
 * word. Words are appended to out. 0, or BERTH_EPARSE (unterminated quote, trailing backslash)
 * with out unchanged, or -ENOMEM. */
int provision_split(const char *s, struct strv *out);

/* A Docker container name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 bytes. */
bool provision_name_valid(const char *name);

/* One name listed in DNS. cmdline is the command record, or NULL with problem saying why there is
 * none ("no command record", "lookup failed: SERVFAIL"). */
struct provision_entry {
	const char *name;
	const char *cmdline;
	const char *problem;
};

struct provision_listing {
	const struct provision_entry *v;
	size_t n;
	/* false when the list of names itself could not be read completely: nothing is removed. */
	bool complete;
};

/* A container the engine has. label is the value of PROVISION_LABEL, else of
 * PROVISION_SEED_LABEL, else NULL (not ours). */
struct provision_container {
	const char *id;
	const char *name;
	const char *label;
	bool running;
};

enum provision_kind {
	PROVISION_KEEP,    /* as listed */
	PROVISION_START,   /* as listed but stopped: start it */
	PROVISION_CREATE,  /* listed, absent */
	PROVISION_REPLACE, /* listed, command changed (or adopted): stop, remove, create, start */
	PROVISION_REMOVE,  /* ours, no longer listed */
	PROVISION_FOREIGN, /* listed, but the name belongs to a container without our label */
	PROVISION_SKIP,    /* cannot act on this name (reason says why) */
};

struct provision_action {
	enum provision_kind kind;
	const char *name;    /* points into the listing or the containers */
	const char *cmdline; /* CREATE, REPLACE, KEEP, START: the listed command line */
	const char *id;      /* the existing container, if any */
	char reason[160];
};

/* "keep", "start", "create", "replace", "remove", "foreign", "skip". */
const char *provision_kind_name(enum provision_kind k);

/* The actions that make containers match the listing: one per distinct listed name (in listing
 * order), then one REMOVE per container of ours that is not listed (a SKIP instead when the
 * listing is incomplete). With adopt, a listed name held by a container without our label is
 * REPLACEd instead of reported as FOREIGN. *out is malloc'ed (free it); 0 or -ENOMEM. */
int provision_plan(const struct provision_listing *listing, const struct provision_container *cs,
		   size_t ncs, bool adopt, struct provision_action **out, size_t *nout);
