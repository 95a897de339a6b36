/* SPDX-License-Identifier: MIT */
/* `berth provision`: each round reads the listing from DNS and the containers from Docker, plans,
 * applies (unless --dry-run) and reports, as lines for people or one JSON document. */
#include "provision/provision.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "provision/engine.h"
#include "provision/lookup.h"
#include "provision/options.h"
#include "provision/plan.h"
#include "util/log.h"

#define MAX_INTERVAL 60

/* What one round did, for the summary and the exit status. */
struct tally {
	unsigned kept, started, created, replaced, removed, skipped, foreign, failed;
};

struct round {
	const struct provision_conf *conf;
	struct provision_engine *engine;
	struct tally t;
	json_t *doc, *plan, *actions, *errors; /* --json only */
};

static void error_line(struct round *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error_line(struct round *r, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->errors)
		json_array_append_new(r->errors, json_string(msg));
	else
		printf("error: %s\n", msg);
}

static void plan_out(struct round *r, const struct provision_action *a)
{
	if (r->plan) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "action", provision_kind_name(a->kind),
				      "name", a->name, "reason", a->reason);
		if (o && a->cmdline)
			json_object_set_new(o, "command", json_string(a->cmdline));
		if (o && a->id)
			json_object_set_new(o, "id", json_string(a->id));
		json_array_append_new(r->plan, o);
	} else if (r->conf->dry_run) {
		printf("plan: %-7s %s: %s%s%s\n", provision_kind_name(a->kind), a->name, a->reason,
		       a->cmdline && a->kind != PROVISION_SKIP ? " -- " : "",
		       a->cmdline && a->kind != PROVISION_SKIP ? a->cmdline : "");
	}
}

/* The outcome of one action: a line, or an entry of "actions". */
static void outcome(struct round *r, const struct provision_action *a, const char *done,
		    const char *id, int ret, const char *err)
{
	if (r->actions) {
		json_t *o = json_pack("{s:s, s:s, s:b}", "action", provision_kind_name(a->kind),
				      "name", a->name, "ok", ret == 0);
		if (o && id && *id)
			json_object_set_new(o, "id", json_string(id));
		if (o && ret < 0)
			json_object_set_new(o, "error", json_string(err));
		else if (o && (a->kind == PROVISION_SKIP || a->kind == PROVISION_FOREIGN))
			json_object_set_new(o, "reason", json_string(a->reason));
		json_array_append_new(r->actions, o);
		return;
	}
	if (ret < 0)
		printf("failed  %s %s: %s\n", provision_kind_name(a->kind), a->name, err);
	else if (a->kind == PROVISION_SKIP || a->kind == PROVISION_FOREIGN)
		printf("%-7s %s: %s\n", done, a->name, a->reason);
	else
		printf("%-7s %s%s%.12s%s\n", done, a->name, id && *id ? " (" : "", id ? id : "",
		       id && *id ? ")" : "");
}

/* Make the container of a CREATE or REPLACE: the image must be there before anything of the
 * old container goes, so a replace never removes what it cannot re-create. */
static int make(struct round *r, const struct provision_action *a, char *id, size_t idlen,
		char *err, size_t errlen, bool *skipped)
{
	struct strv argv = { 0 };
	struct provision_engine *e = r->engine;
	int ret = provision_split(a->cmdline, &argv);

	if (ret < 0 || argv.n == 0) {
		snprintf(err, errlen, "unparsable command");
		ret = ret < 0 ? ret : -EINVAL;
		goto out;
	}
	ret = provision_engine_image(e, argv.v[0], r->conf->pull, err, errlen);
	if (ret < 0) {
		*skipped = ret == -ENOENT;
		goto out;
	}
	if (a->kind == PROVISION_REPLACE &&
	    (ret = provision_engine_remove(e, a->id, r->conf->stop_timeout, err, errlen)) < 0)
		goto out;
	ret = provision_engine_create(e, a->name, &argv, a->cmdline, r->conf->zone,
				      r->conf->network, id, idlen, err, errlen);
	if (ret == 0)
		ret = provision_engine_start(e, id, err, errlen);
out:
	strv_clear(&argv);
	return ret;
}

static void apply(struct round *r, const struct provision_action *a)
{
	char err[400] = "", id[80] = "";
	bool skipped = false;
	int ret = 0;

	switch (a->kind) {
	case PROVISION_KEEP:
		r->t.kept++;
		outcome(r, a, "kept", a->id, 0, NULL);
		return;
	case PROVISION_SKIP:
		r->t.skipped++;
		outcome(r, a, "skipped", NULL, 0, NULL);
		return;
	case PROVISION_FOREIGN:
		r->t.foreign++;
		outcome(r, a, "foreign", a->id, 0, NULL);
		return;
	case PROVISION_START:
		ret = provision_engine_start(r->engine, a->id, err, sizeof(err));
		r->t.started += ret == 0;
		outcome(r, a, "started", a->id, ret, err);
		break;
	case PROVISION_REMOVE:
		ret = provision_engine_remove(r->engine, a->id, r->conf->stop_timeout, err,
					      sizeof(err));
		r->t.removed += ret == 0;
		outcome(r, a, "removed", a->id, ret, err);
		break;
	case PROVISION_CREATE:
	case PROVISION_REPLACE:
		ret = make(r, a, id, sizeof(id), err, sizeof(err), &skipped);
		if (ret == 0 && a->kind == PROVISION_CREATE)
			r->t.created++;
		else if (ret == 0)
			r->t.replaced++;
		outcome(r, a, a->kind == PROVISION_CREATE ? "created" : "replaced", id, ret, err);
		break;
	}
	if (ret < 0 && skipped)
		r->t.skipped++;
	else if (ret < 0)
		r->t.failed++;
}

/* Count what a dry run would do, as if it went well. */
static void tally_plan(struct tally *t, const struct provision_action *a)
{
	unsigned *slot[] = { &t->kept,    &t->started, &t->created, &t->replaced,
			     &t->removed, &t->foreign, &t->skipped };
	(*slot[a->kind])++;
}

static bool converged(const struct round *r, bool complete, bool engine_ok)
{
	const struct tally *t = &r->t;
	if (!complete || !engine_ok || t->skipped || t->foreign || t->failed)
		return false;
	/* A dry run is "as listed" only when there is nothing to do. */
	return !r->conf->dry_run || t->started + t->created + t->replaced + t->removed == 0;
}

static void summary(struct round *r, size_t listed, bool complete, bool ok, unsigned ttl)
{
	const struct tally *t = &r->t;
	const char *verb = r->conf->dry_run ? "would be " : "";
	if (r->doc) {
		json_object_set_new(r->doc, "converged", json_boolean(ok));
		json_object_set_new(r->doc, "complete", json_boolean(complete));
		json_object_set_new(r->doc, "ttl", json_integer(ttl));
		json_object_set_new(r->doc, "summary",
				    json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
					      "listed", (int)listed, "kept", t->kept, "started",
					      t->started, "created", t->created, "replaced",
					      t->replaced, "removed", t->removed, "skipped",
					      t->skipped, "foreign", t->foreign, "failed",
					      t->failed));
		char *s = json_dumps(r->doc, JSON_COMPACT);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		printf("summary: zone %s: %zu listed%s; %s%u created, %u replaced, %u removed, "
		       "%u started, %u kept, %u skipped, %u foreign, %u failed; %s\n",
		       r->conf->zone, listed, complete ? "" : " (listing incomplete)", verb,
		       t->created, t->replaced, t->removed, t->started, t->kept, t->skipped,
		       t->foreign, t->failed, ok ? "as listed" : "not as listed");
	}
	fflush(stdout);
}

/* One round. Returns whether all is as listed; *ttl is the smallest record TTL seen. */
static bool run_round(const struct provision_conf *conf, struct provision_engine *engine,
		      unsigned *ttl)
{
	struct provision_lookup_conf lc = { conf->zone, conf->resolvers, conf->nresolvers, NULL,
					    conf->timeout * 1000 };
	struct round r = { .conf = conf, .engine = engine };
	struct provision_dns dns = { 0 };
	struct provision_containers cs = { 0 };
	struct provision_action *plan = NULL;
	size_t nplan = 0;
	char err[400] = "";
	bool engine_ok = false, ok;

	if (conf->json) {
		r.doc = json_pack("{s:s, s:b}", "zone", conf->zone, "dry_run", conf->dry_run);
		r.plan = json_array();
		r.actions = json_array();
		r.errors = json_array();
		json_object_set(r.doc, "plan", r.plan);
		json_object_set(r.doc, "actions", r.actions);
		json_object_set(r.doc, "errors", r.errors);
	}
	*ttl = 0;
	if (provision_lookup(&lc, &dns, err, sizeof(err)) < 0) {
		error_line(&r, "DNS: %s", err);
	} else {
		*ttl = dns.min_ttl;
		if (!dns.complete)
			error_line(&r, "%s: the listing is incomplete, nothing is removed",
				   dns.problem);
	}
	if (provision_engine_connect(engine, err, sizeof(err)) < 0 ||
	    provision_engine_list(engine, conf->zone, &cs, err, sizeof(err)) < 0)
		error_line(&r, "Docker (%s): %s: nothing is changed",
			   provision_engine_describe(engine), err);
	else
		engine_ok = true;
	struct provision_listing l = { dns.v, dns.n, dns.complete };
	if (engine_ok && provision_plan(&l, cs.v, cs.n, conf->adopt, &plan, &nplan) < 0) {
		error_line(&r, "out of memory");
		engine_ok = false;
	}
	for (size_t i = 0; engine_ok && i < nplan; i++) {
		plan_out(&r, &plan[i]);
		if (conf->dry_run)
			tally_plan(&r.t, &plan[i]);
		else
			apply(&r, &plan[i]);
	}
	ok = converged(&r, dns.complete, engine_ok);
	summary(&r, dns.n, dns.complete, ok, *ttl);
	free(plan);
	provision_containers_clear(&cs);
	provision_dns_clear(&dns);
	json_decref(r.plan);
	json_decref(r.actions);
	json_decref(r.errors);
	json_decref(r.doc);
	return ok;
}

int provision_main(int argc, char **argv)
{
	struct provision_conf conf;
	struct provision_engine *engine = NULL;
	char err[400];
	sigset_t sigs;
	int status = 0;

	bool exited;
	if (provision_conf_parse(&conf, argc, argv, &exited, err, sizeof(err)) < 0) {
		fprintf(stderr, "berth provision: %s\n", err);
		fprintf(stderr, "Try `berth provision --help`.\n");
		return 2;
	}
	if (exited)
		return 0;
	log_setup(conf.log_level, conf.log_json);
	/* Stopping a container may take stop-timeout seconds: the request must outlive it. */
	if (provision_engine_new(conf.docker[0] ? conf.docker : NULL,
				 (conf.stop_timeout + 30) * 1000L, &engine, err, sizeof(err)) < 0) {
		fprintf(stderr, "berth provision: --docker: %s\n", err);
		return 2;
	}
	/* Signals wait, blocked, for the pause between rounds: a round is never cut in half. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (!conf.once)
		sigprocmask(SIG_BLOCK, &sigs, NULL);
	for (;;) {
		unsigned ttl = 0;
		bool ok = run_round(&conf, engine, &ttl);
		if (conf.once) {
			status = ok ? 0 : 1;
			break;
		}
		int wait = conf.interval > 0             ? conf.interval :
			   ttl > 0 && ttl < MAX_INTERVAL ? (int)ttl :
							   MAX_INTERVAL;
		struct timespec ts = { wait, 0 };
		log_debug("provision", "next round in %d s", wait);
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("provision", "stopping on signal %d", sig);
			break;
		}
		if (sig == SIGHUP)
			log_info("provision", "SIGHUP: converging now");
	}
	provision_engine_free(engine);
	return status;
}
